//! `warden scan`: scan files and directories, render the report, pick the exit code.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{ProgressBar, ProgressStyle};
use warden_core::render::{ToolInfo, json, sarif, table};
use warden_core::{FileStatus, Report};
use warden_scan::{Limits, Policy, ScanSettings};

use crate::cli::{FormatArg, GlobalArgs, ScanArgs};
use crate::commands::ExitStatus;
use crate::output;

/// Runs `warden scan`.
pub fn run(args: &ScanArgs, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    if args.jobs == Some(0) {
        anyhow::bail!("`--jobs` must be at least 1");
    }
    let policy = load_policy(&args.policy)?;
    let mut limits = Limits::default();
    let given = &args.limits;
    limits.max_member_bytes = given.max_member_size.unwrap_or(limits.max_member_bytes);
    limits.max_inflated_total = given.max_inflated.unwrap_or(limits.max_inflated_total);
    limits.max_ratio = given.max_ratio.unwrap_or(limits.max_ratio);
    limits.max_depth = given.max_depth.unwrap_or(limits.max_depth);
    let settings = ScanSettings { limits, policy, jobs: args.jobs };

    let show_progress = !args.no_progress && !global.quiet && global.verbose == 0 && std::io::stderr().is_terminal();
    let progress = if show_progress {
        let bar = ProgressBar::new_spinner();
        bar.set_style(ProgressStyle::with_template("{spinner} scanned {pos} file(s) {msg}").expect("static template"));
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Some(bar)
    } else {
        None
    };
    let done = AtomicU64::new(0);
    let on_file = |record: &warden_core::FileRecord| {
        done.fetch_add(1, Ordering::Relaxed);
        if let Some(bar) = &progress {
            bar.inc(1);
            bar.set_message(record.path.clone());
        }
    };
    let mut report = warden_scan::scan_paths(&args.paths, &settings, &on_file)?;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }

    if let Some(min) = args.min_severity.threshold() {
        report.findings.retain(|f| f.severity >= min);
    }
    let failed: Vec<&str> = report.files.iter().filter(|f| f.status == FileStatus::Error).map(|f| f.path.as_str()).collect();
    for path in &failed {
        tracing::error!("could not scan `{path}`; see its findings");
    }
    output::write(args.output.as_deref(), &render(&report, args.format)?)?;

    Ok(if !failed.is_empty() {
        ExitStatus::Error
    } else if args.fail_on.threshold().is_some_and(|t| report.has_at_or_above(t)) {
        ExitStatus::Findings
    } else {
        ExitStatus::Success
    })
}

/// The shipped policy with each `--policy` file stacked on top, later files winning.
fn load_policy(paths: &[std::path::PathBuf]) -> anyhow::Result<Policy> {
    let mut policy = Policy::default();
    for path in paths {
        policy.merge(Policy::from_file(path)?);
    }
    Ok(policy)
}

fn render(report: &Report, format: FormatArg) -> anyhow::Result<String> {
    Ok(match format {
        FormatArg::Table => table::to_string(report),
        FormatArg::Json => json::to_string(report)? + "\n",
        FormatArg::Sarif => sarif::to_string(report, &tool_info())? + "\n",
    })
}

/// The tool description SARIF needs, with every scan rule.
pub fn tool_info() -> ToolInfo {
    ToolInfo { name: "warden", version: env!("CARGO_PKG_VERSION"), rules: warden_scan::rules::rule_infos() }
}

