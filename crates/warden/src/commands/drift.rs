//! `warden drift`: per-column drift between a reference and a current dataset.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, ValueEnum};
use warden_monitor::drift::{DriftOptions, DriftTest};
use warden_table::ReadOptions;

use super::ExitStatus;
use crate::cli::GlobalArgs;
use crate::output;

/// Report formats of `warden drift`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DriftFormat {
    /// A table for humans.
    Table,
    /// `{"columns":[...],"drifted_share","dataset_drift"}`.
    Json,
    /// A self-contained HTML page with a histogram per column.
    Html,
}

/// Drift tests that can be forced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TestArg {
    /// Two-sample Kolmogorov-Smirnov (p-value).
    Ks,
    /// Chi-square on category counts (p-value).
    Chisquare,
    /// Two-proportion Z-test (p-value).
    Z,
    /// Jensen-Shannon distance.
    Jensenshannon,
    /// Wasserstein distance normalised by the reference standard deviation.
    Wasserstein,
    /// Population Stability Index.
    Psi,
}

/// Arguments of `warden drift`.
#[derive(Debug, Args)]
#[command(after_help = "Tests are chosen per column as Evidently does unless --test is given: with at most 1000 \
reference rows, numerical columns with more than 5 unique values use Kolmogorov-Smirnov, others chi-square \
(the Z-test when binary), drift when p < 0.05; with more rows, numerical columns use the Wasserstein distance \
normalised by the reference standard deviation and others the Jensen-Shannon distance, drift when >= 0.1. \
The dataset drifts when at least --drift-share of the columns drift.\n\n\
Exit status: 0 no dataset drift, 1 dataset drift, 2 error.")]
pub struct DriftArgs {
    /// The reference dataset (CSV, JSONL or Parquet, optionally gzip/zstd; sniffed from content).
    pub reference: PathBuf,
    /// The current dataset.
    pub current: PathBuf,
    /// Only compare these columns (repeatable; default: every column in both).
    #[arg(long = "column", value_name = "NAME")]
    pub columns: Vec<String>,
    /// Force one test for every column.
    #[arg(long, value_enum)]
    pub test: Option<TestArg>,
    /// Threshold for the test (p-value below it, or distance at or above it, means drift).
    #[arg(long)]
    pub threshold: Option<f64>,
    /// Share of drifted columns that makes the dataset drift.
    #[arg(long, default_value_t = 0.5)]
    pub drift_share: f64,
    /// Report format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: DriftFormat,
    /// Write the report to this file (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

fn test(arg: TestArg) -> DriftTest {
    match arg {
        TestArg::Ks => DriftTest::Ks,
        TestArg::Chisquare => DriftTest::Chisquare,
        TestArg::Z => DriftTest::Z,
        TestArg::Jensenshannon => DriftTest::Jensenshannon,
        TestArg::Wasserstein => DriftTest::Wasserstein,
        TestArg::Psi => DriftTest::Psi,
    }
}

/// Reads a whole dataset with inferred column types.
pub fn read_dataset(path: &Path) -> anyhow::Result<(Vec<String>, Vec<warden_table::RecordBatch>)> {
    let opts = ReadOptions { infer_types: true, ..ReadOptions::default() };
    let (schema, batches) = warden_table::read_all(path, &opts).with_context(|| format!("reading `{}`", path.display()))?;
    Ok((schema.fields().iter().map(|f| f.name().clone()).collect(), batches))
}

/// Runs `warden drift`.
pub fn run(args: &DriftArgs, _global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    if !(0.0..=1.0).contains(&args.drift_share) {
        anyhow::bail!("`--drift-share` must be between 0 and 1");
    }
    let (reference, current) = rayon::join(|| read_dataset(&args.reference), || read_dataset(&args.current));
    let (ref_cols, ref_batches) = reference?;
    let (cur_cols, cur_batches) = current?;
    let opts = DriftOptions {
        columns: (!args.columns.is_empty()).then(|| args.columns.clone()),
        test: args.test.map(test),
        threshold: args.threshold,
        drift_share: Some(args.drift_share),
        histograms: args.format == DriftFormat::Html,
    };
    let report = warden_monitor::drift::drift(&ref_batches, &cur_batches, &ref_cols, &cur_cols, &opts)?;
    let text = match args.format {
        DriftFormat::Table => warden_monitor::html::drift_table(&report),
        DriftFormat::Json => serde_json::to_string_pretty(&report)? + "\n",
        DriftFormat::Html => warden_monitor::html::drift_html(
            &report,
            &args.reference.display().to_string(),
            &args.current.display().to_string(),
        ),
    };
    output::write(args.output.as_deref(), &text)?;
    Ok(if report.dataset_drift { ExitStatus::Findings } else { ExitStatus::Success })
}
