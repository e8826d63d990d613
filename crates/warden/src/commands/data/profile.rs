//! `warden data profile`: summarise a dataset's columns; the saved profile doubles as a baseline
//! expectations file for `warden data validate`.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use warden_data::quality::{self, Expectations, ProfileSettings};

use crate::cli::GlobalArgs;
use crate::commands::ExitStatus;
use crate::output;

/// Profile file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProfileFormat {
    /// TOML (the expectations format).
    Toml,
    /// JSON.
    Json,
}

/// Arguments of `warden data profile`.
#[derive(Debug, Args)]
pub struct ProfileArgs {
    /// The dataset (CSV, JSONL or Parquet; gzip/zstd accepted; format sniffed from content).
    #[arg(value_name = "DATA")]
    pub data: PathBuf,
    /// Write the profile to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Profile format [default: json when --output ends in .json, else toml].
    #[arg(long, short = 'f', value_enum)]
    pub format: Option<ProfileFormat>,
    /// Distinct values counted exactly per column before a HyperLogLog estimate takes over.
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    pub exact_distinct: usize,
}

/// Runs `warden data profile`.
pub fn run(args: &ProfileArgs, _global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    let settings = ProfileSettings { exact_distinct_cap: args.exact_distinct, ..ProfileSettings::default() };
    let (profile, format) = quality::io::profile_path(&args.data, &quality::io::read_options(), settings)
        .with_context(|| format!("profiling `{}`", args.data.display()))?;
    tracing::info!(rows = profile.rows, format = format.name(), "profiled");
    let expectations = Expectations::from_profile(&profile);
    let json = match args.format {
        Some(f) => f == ProfileFormat::Json,
        None => args.output.as_ref().is_some_and(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"))),
    };
    let text = if json { expectations.to_json()? + "\n" } else { expectations.to_toml()? };
    output::write(args.output.as_deref(), &text)?;
    Ok(ExitStatus::Success)
}
