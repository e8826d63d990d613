//! `warden data validate`: check a dataset against a declarative expectations file (or a saved
//! profile) in one streaming pass.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use warden_data::quality::{self, Expectations, ValidateSettings};

use super::poison::finish;
use crate::cli::{FormatArg, GlobalArgs, SeverityArg};
use crate::commands::ExitStatus;

/// Arguments of `warden data validate`.
#[derive(Debug, Args)]
#[command(after_help = "Exit codes:\n  0  every expectation holds (no finding at or above --fail-on)\n  1  some expectation failed\n  2  error: unreadable data or a malformed expectations file")]
pub struct ValidateArgs {
    /// The dataset (CSV, JSONL or Parquet; gzip/zstd accepted; format sniffed from content).
    #[arg(value_name = "DATA")]
    pub data: PathBuf,
    /// Expectations file (TOML or JSON), or a profile saved by `warden data profile`.
    #[arg(long, short = 'e', value_name = "FILE")]
    pub expectations: PathBuf,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "table", env = "WARDEN_FORMAT")]
    pub format: FormatArg,
    /// Exit with code 1 when a finding is at or above this severity.
    #[arg(long, value_enum, default_value = "medium", env = "WARDEN_FAIL_ON")]
    pub fail_on: SeverityArg,
    /// Write the report to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Example rows shown per failed check.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub examples: usize,
    /// Distinct values remembered per `unique` column (8 bytes of hash + 8 of row each).
    #[arg(long, default_value_t = 5_000_000, value_name = "N")]
    pub max_unique_values: usize,
}

/// Runs `warden data validate`.
pub fn run(args: &ValidateArgs, _global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    let text = std::fs::read_to_string(&args.expectations)
        .with_context(|| format!("reading `{}`", args.expectations.display()))?;
    let expectations =
        Expectations::parse(&text).with_context(|| format!("in `{}`", args.expectations.display()))?;
    let settings = ValidateSettings { examples: args.examples, max_unique_values: args.max_unique_values };
    let shown = args.data.display().to_string();
    let options = quality::io::read_options();
    let (findings, format) = quality::io::validate_path(&args.data, &shown, expectations, &options, settings)
        .with_context(|| format!("validating `{shown}`"))?;
    finish(findings, &shown, format.name(), args.format, args.fail_on, args.output.as_deref(), quality::rules::RULES)
}
