//! `warden data anonymize`: write an anonymised copy of a table (CSV, JSONL, Parquet; gzip/zstd
//! kept) with operators from a TOML config, optionally with a k-anonymity / l-diversity report.

use std::fmt::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use warden_data::anon::{AnonConfig, AnonOptions, AnonSummary, Keys, anonymize_file};

use crate::cli::{FormatArg, GlobalArgs};
use crate::commands::ExitStatus;
use crate::output;

/// Arguments of `warden data anonymize`.
#[derive(Debug, Args)]
#[command(after_help = "The config is TOML ([key], [defaults], [entities], [columns]); see docs.\n\
Exit codes: 0 written (and k-anonymous for --k when quasi-identifiers are given), 1 written but \
below --k, 2 error (nothing written).")]
pub struct AnonymizeArgs {
    /// The table to anonymise (CSV, JSONL or Parquet, optionally gzip/zstd).
    #[arg(value_name = "INPUT")]
    pub input: PathBuf,
    /// Where to write the anonymised copy (same format and compression as the input).
    #[arg(long, short = 'o', value_name = "OUTPUT")]
    pub output: PathBuf,
    /// The operators config (TOML).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: PathBuf,
    /// Read the key (at least 16 bytes) from this file; overrides `[key]` in the config.
    #[arg(long, value_name = "FILE", conflicts_with = "key_env")]
    pub key_file: Option<PathBuf>,
    /// Read the key from this environment variable; overrides `[key]` in the config.
    #[arg(long, value_name = "VAR")]
    pub key_env: Option<String>,
    /// Decrypt the FPE columns of a file this config anonymised (other columns pass through).
    #[arg(long)]
    pub reverse: bool,
    /// Quasi-identifier columns for a k-anonymity report (comma separated).
    #[arg(long, value_delimiter = ',', value_name = "COLUMNS")]
    pub quasi_identifiers: Vec<String>,
    /// Sensitive column for an l-diversity report.
    #[arg(long, value_name = "COLUMN", requires = "quasi_identifiers")]
    pub sensitive: Option<String>,
    /// The k the output must reach (exit code 1 below it).
    #[arg(long, default_value_t = 5)]
    pub k: u64,
    /// Summary format on stdout.
    #[arg(long, short = 'f', value_enum, default_value = "table")]
    pub format: FormatArg,
}

/// Runs `warden data anonymize`.
pub fn run(args: &AnonymizeArgs, _global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    let text = std::fs::read_to_string(&args.config).with_context(|| format!("reading `{}`", args.config.display()))?;
    let cfg = AnonConfig::from_toml(&text).with_context(|| format!("in `{}`", args.config.display()))?;
    let keys = load_key(args, &cfg)?;
    let opts = AnonOptions {
        reverse: args.reverse,
        quasi_identifiers: args.quasi_identifiers.clone(),
        sensitive: args.sensitive.clone(),
        k_target: args.k,
    };
    let summary = anonymize_file(&args.input, &args.output, &cfg, keys.as_ref(), &opts)
        .with_context(|| format!("anonymising `{}`", args.input.display()))?;
    output::write(None, &render(&summary, args.format)?)?;
    Ok(match &summary.k_anonymity {
        Some(k) if k.k < k.k_target => ExitStatus::Findings,
        _ => ExitStatus::Success,
    })
}

fn load_key(args: &AnonymizeArgs, cfg: &AnonConfig) -> anyhow::Result<Option<Keys>> {
    let material: Option<Vec<u8>> = if let Some(path) = &args.key_file {
        Some(std::fs::read(path).with_context(|| format!("reading key file `{}`", path.display()))?)
    } else if let Some(var) = args.key_env.as_ref().or(cfg.key.env.as_ref()) {
        Some(std::env::var(var).with_context(|| format!("environment variable `{var}` (the anonymisation key) is not set"))?.into_bytes())
    } else if let Some(path) = &cfg.key.file {
        Some(std::fs::read(path).with_context(|| format!("reading key file `{}`", path.display()))?)
    } else {
        None
    };
    match material {
        Some(m) => Ok(Some(Keys::derive(&m)?)),
        None if cfg.needs_key() => anyhow::bail!("the config uses pseudonymize or fpe: give a key with --key-file, --key-env or [key]"),
        None => Ok(None),
    }
}

fn render(s: &AnonSummary, format: FormatArg) -> anyhow::Result<String> {
    if format != FormatArg::Table {
        return Ok(serde_json::to_string_pretty(s)? + "\n");
    }
    let mut out = String::new();
    let _ = writeln!(out, "wrote {} row(s) as {} ({} compression)", s.rows, s.format, s.compression);
    for c in &s.columns {
        let _ = writeln!(out, "  {:<24} {:<13} {} cell(s) changed", c.column, c.operator, c.cells_changed);
    }
    for (e, n) in &s.entities_replaced {
        let _ = writeln!(out, "  detected {e}: {n} replaced");
    }
    if let Some(k) = &s.k_anonymity {
        let _ = writeln!(
            out,
            "k-anonymity over [{}]: k = {} (target {}), {} class(es), {} below target covering {} row(s)",
            k.quasi_identifiers.join(", "),
            k.k,
            k.k_target,
            k.equivalence_classes,
            k.classes_below_target,
            k.rows_below_target
        );
        if let (Some(l), Some(col)) = (k.l, &k.sensitive) {
            let _ = writeln!(out, "l-diversity of `{col}`: l = {l}");
        }
    }
    Ok(out)
}
