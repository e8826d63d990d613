//! `warden data poison`: label issues, outliers, duplicates and backdoor triggers in a labelled
//! table (see `warden_data::poison`). Also holds the report helpers `validate` shares.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use warden_core::render::{ToolInfo, json, sarif, table};
use warden_core::{FileRecord, FileStatus, Finding, Report};
use warden_data::poison::{self, PoisonSettings};

use crate::cli::{FormatArg, GlobalArgs, SeverityArg};
use crate::commands::ExitStatus;
use crate::output;

/// Arguments of `warden data poison`.
#[derive(Debug, Args)]
#[command(after_help = "Exit codes:\n  0  no finding at or above --fail-on\n  1  findings at or above --fail-on\n  2  error")]
pub struct PoisonArgs {
    /// The labelled table (CSV, JSONL or Parquet; gzip/zstd accepted; format sniffed from content).
    #[arg(value_name = "DATA")]
    pub data: PathBuf,
    /// The label column.
    #[arg(long, value_name = "COL")]
    pub label: String,
    /// Feature columns (comma-separated or repeated); default: every column but the label and id.
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    pub features: Vec<String>,
    /// A column naming each row in reports (default: the 0-based row number).
    #[arg(long, value_name = "COL")]
    pub id: Option<String>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "table", env = "WARDEN_FORMAT")]
    pub format: FormatArg,
    /// Exit with code 1 when a finding is at or above this severity.
    #[arg(long, value_enum, default_value = "medium", env = "WARDEN_FAIL_ON")]
    pub fail_on: SeverityArg,
    /// Write the report to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write every flagged row as JSON lines (`row`, `id`, `rule`, `score`) to FILE.
    #[arg(long, value_name = "FILE")]
    pub flagged: Option<PathBuf>,
    /// Cross-validation folds for the out-of-fold model.
    #[arg(long, default_value_t = 5, value_name = "K")]
    pub folds: usize,
    /// Seed of every random choice (folds, forest, grids).
    #[arg(long, default_value_t = 0x00C1_EA17)]
    pub seed: u64,
    /// Isolation-forest score above which a row is an outlier [default: automatic].
    #[arg(long, value_name = "SCORE")]
    pub outlier_threshold: Option<f64>,
    /// Near-duplicate tolerance per numeric feature, in standard deviations (0 disables).
    #[arg(long, default_value_t = 0.01, value_name = "SD")]
    pub near_tolerance: f64,
    /// Fewest rows a trigger pattern must cover.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub trigger_min_support: usize,
    /// Largest share of rows a trigger pattern may cover.
    #[arg(long, default_value_t = 0.05, value_name = "SHARE")]
    pub trigger_max_share: f64,
    /// Test single values only, not pairs of values, for triggers.
    #[arg(long)]
    pub no_trigger_pairs: bool,
    /// Most rows listed in one finding (counts are always complete).
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub max_listed_rows: usize,
    /// Most data rows read; the table is held in memory (about 8 bytes per row per numeric
    /// feature and per one-hot category column, for the classifier's matrix).
    #[arg(long, default_value_t = 2_000_000, value_name = "N")]
    pub max_rows: u64,
}

/// Runs `warden data poison`.
pub fn run(args: &PoisonArgs, _global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    if args.folds < 2 {
        anyhow::bail!("`--folds` must be at least 2");
    }
    if !(0.0..=1.0).contains(&args.trigger_max_share) {
        anyhow::bail!("`--trigger-max-share` must be between 0 and 1");
    }
    if args.near_tolerance.is_nan() || args.near_tolerance < 0.0 {
        anyhow::bail!("`--near-tolerance` must be a non-negative number");
    }
    let mut options = warden_data::quality::io::read_options();
    options.limits.max_rows = Some(args.max_rows);
    let features = (!args.features.is_empty()).then_some(args.features.as_slice());
    let table = poison::io::read_labelled(&args.data, &options, &args.label, args.id.as_deref(), features)
        .with_context(|| format!("reading `{}`", args.data.display()))?;
    let mut settings = PoisonSettings { folds: args.folds, seed: args.seed, ..PoisonSettings::default() };
    settings.forest.seed ^= args.seed;
    settings.duplicates.seed ^= args.seed;
    settings.outlier_threshold = args.outlier_threshold;
    settings.duplicates.tolerance = args.near_tolerance;
    settings.triggers.min_support = args.trigger_min_support.max(2);
    settings.triggers.max_share = args.trigger_max_share;
    settings.triggers.pairs = !args.no_trigger_pairs;
    settings.max_listed_rows = args.max_listed_rows;
    tracing::info!(rows = table.rows(), features = table.features.len(), classes = table.classes.len(), "table read");

    let report = poison::analyse(&table, &settings);
    let shown = args.data.display().to_string();
    if let Some(path) = &args.flagged {
        let mut text = Vec::new();
        for row in report.flagged_rows(&table) {
            serde_json::to_writer(&mut text, &row)?;
            text.write_all(b"\n")?;
        }
        output::write(Some(path), &String::from_utf8(text)?)?;
    }
    let findings = report.findings(&table, &shown, &settings);
    finish(findings, &shown, "table", args.format, args.fail_on, args.output.as_deref(), poison::RULES)
}

/// Renders `findings` for one input, writes them, and picks the exit code.
pub(super) fn finish(
    findings: Vec<Finding>,
    path: &str,
    format_name: &str,
    format: FormatArg,
    fail_on: SeverityArg,
    output_path: Option<&Path>,
    rules: &[&warden_data::poison::Rule],
) -> anyhow::Result<ExitStatus> {
    let mut report = Report {
        findings,
        files: vec![FileRecord { path: path.to_owned(), format: format_name.to_owned(), status: FileStatus::Scanned }],
    };
    report.sort();
    let text = match format {
        FormatArg::Table => table::to_string(&report),
        FormatArg::Json => json::to_string(&report)? + "\n",
        FormatArg::Sarif => {
            let tool = ToolInfo {
                name: "warden",
                version: env!("CARGO_PKG_VERSION"),
                rules: rules.iter().map(|r| r.info()).collect(),
            };
            sarif::to_string(&report, &tool)? + "\n"
        }
    };
    output::write(output_path, &text)?;
    let threshold = fail_on.threshold();
    Ok(if threshold.is_some_and(|t| report.has_at_or_above(t)) { ExitStatus::Findings } else { ExitStatus::Success })
}
