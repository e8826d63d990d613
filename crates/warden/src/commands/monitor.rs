//! `warden monitor`: streaming attack detectors over inference events (JSONL file or stdin).

use std::io::BufRead;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use warden_core::render::{ToolInfo, json, sarif, table};
use warden_core::Report;
use warden_monitor::detect::{EventLimits, Monitor, MonitorConfig, ReferenceProfile, parse_event};
use warden_table::ReadOptions;

use super::ExitStatus;
use crate::cli::{FormatArg, GlobalArgs, SeverityArg};
use crate::output;

/// Arguments of `warden monitor`.
#[derive(Debug, Args)]
#[command(after_help = "Each line is an event {\"ts\": seconds or RFC 3339, \"client_id\": \"...\", \"input\": [numbers] or \
\"text\", \"output\": [class probabilities] or \"label\"}. Invalid lines are reported on stderr and skipped.\n\n\
Exit status: 0 no alert at or above --fail-on, 1 alerts, 2 error.")]
pub struct MonitorArgs {
    /// The events file (JSONL, optionally gzip/zstd), or `-` for stdin.
    pub events: PathBuf,
    /// Reference dataset whose numeric columns (in order) profile normal inputs, for input anomalies.
    #[arg(long, value_name = "DATA")]
    pub reference: Option<PathBuf>,
    /// Most clients tracked at once (least recently seen are forgotten).
    #[arg(long, default_value_t = 100_000)]
    pub max_clients: usize,
    /// Alert when a client exceeds this many queries per minute (0: off).
    #[arg(long, default_value_t = 0.0)]
    pub max_rate: f64,
    /// PRADA: alert when Shapiro-Wilk W of a client's query distances falls below this.
    #[arg(long, default_value_t = 0.80)]
    pub prada_threshold: f64,
    /// Report format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: FormatArg,
    /// Exit with 1 when an alert is at or above this severity.
    #[arg(long, value_enum, default_value = "medium")]
    pub fail_on: SeverityArg,
    /// Write the report to this file (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

fn reference_profile(path: &std::path::Path) -> anyhow::Result<ReferenceProfile> {
    let opts = ReadOptions { infer_types: true, ..ReadOptions::default() };
    let (schema, batches) = warden_table::read_all(path, &opts).with_context(|| format!("reading `{}`", path.display()))?;
    let numeric: Vec<String> = schema
        .fields()
        .iter()
        .filter(|f| matches!(f.data_type(), arrow_schema::DataType::Int64 | arrow_schema::DataType::Float64))
        .map(|f| f.name().clone())
        .collect();
    let columns: Vec<Vec<f64>> = numeric
        .iter()
        .map(|c| warden_monitor::columns::numeric(&batches, c))
        .collect::<Result<_, _>>()?;
    let rows = columns.first().map_or(0, Vec::len);
    if columns.iter().any(|c| c.len() != rows) {
        anyhow::bail!("`{}`: numeric reference columns have missing values", path.display());
    }
    let vectors: Vec<Vec<f64>> = (0..rows).map(|i| columns.iter().map(|c| c[i]).collect()).collect();
    ReferenceProfile::from_rows(vectors.iter().map(Vec::as_slice))
        .with_context(|| format!("`{}` needs at least two rows of numeric columns", path.display()))
}

/// Runs `warden monitor`.
pub fn run(args: &MonitorArgs, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    let reference = args.reference.as_deref().map(reference_profile).transpose()?;
    let config = MonitorConfig { max_clients: args.max_clients.max(1), max_rate: args.max_rate, prada_w: args.prada_threshold, ..MonitorConfig::default() };
    let source = args.events.display().to_string();
    let input: Box<dyn BufRead> = if source == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        warden_table::open_decompressed(&args.events).with_context(|| format!("reading `{source}`"))?.1
    };
    let limits = EventLimits::default();
    let mut monitor = Monitor::new(config, reference, source.clone());
    let mut report = Report::default();
    let (mut line_no, mut invalid) = (0u64, 0u64);
    let mut buf = Vec::new();
    let mut input = std::io::Read::take(input, u64::MAX);
    loop {
        buf.clear();
        // Bound the line: read at most max_line_bytes + 1 before giving up on it.
        input.set_limit(limits.max_line_bytes as u64 + 1);
        let n = input.read_until(b'\n', &mut buf).with_context(|| format!("reading `{source}`"))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        if !buf.ends_with(b"\n") && n > limits.max_line_bytes {
            // Skip the rest of an over-long line.
            input.set_limit(u64::MAX);
            let mut sink = Vec::new();
            while !sink.ends_with(b"\n") {
                sink.clear();
                input.set_limit(64 * 1024);
                if input.read_until(b'\n', &mut sink)? == 0 {
                    break;
                }
            }
            invalid += 1;
            tracing::warn!("{source}:{line_no}: event longer than {} bytes, skipped", limits.max_line_bytes);
            continue;
        }
        let line = buf.trim_ascii();
        if line.is_empty() {
            continue;
        }
        match parse_event(line, &limits) {
            Ok(event) => report.findings.extend(monitor.observe(&event, Some(line_no)).into_iter().map(|a| a.finding)),
            Err(e) => {
                invalid += 1;
                tracing::warn!("{source}:{line_no}: {e}");
            }
        }
    }
    tracing::info!(
        "{} events, {} invalid, {} clients tracked, {} evicted, {} alerts",
        monitor.events(),
        invalid,
        monitor.tracked_clients(),
        monitor.evicted_clients(),
        report.findings.len()
    );
    if invalid > 0 && !global.quiet {
        tracing::warn!("{invalid} invalid event line(s) skipped");
    }
    report.sort();
    let text = match args.format {
        FormatArg::Table => table::to_string(&report),
        FormatArg::Json => json::to_string(&report)? + "\n",
        FormatArg::Sarif => {
            let tool = ToolInfo { name: "warden", version: env!("CARGO_PKG_VERSION"), rules: warden_monitor::rule::rule_infos() };
            sarif::to_string(&report, &tool)? + "\n"
        }
    };
    output::write(args.output.as_deref(), &text)?;
    let fail = args.fail_on.threshold();
    Ok(if fail.is_some_and(|t| report.has_at_or_above(t)) { ExitStatus::Findings } else { ExitStatus::Success })
}
