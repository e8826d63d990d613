//! `warden data scan`: find personal data and secrets in text files and tables.

use std::fmt::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use warden_core::render::{RuleInfo, ToolInfo, json, sarif, table};
use warden_data::pii::{DetectOptions, Entity};
use warden_data::scan::{InputKind, PiiScan, ScanOptions, scan_paths};

use crate::cli::{FormatArg, GlobalArgs, SeverityArg};
use crate::commands::ExitStatus;
use crate::output;

/// How to read the inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AsArg {
    /// Decide from content: Parquet, JSONL and consistently delimited files are tables.
    Auto,
    /// Plain text, line by line.
    Text,
    /// A table (CSV, JSONL or Parquet).
    Table,
}

/// Arguments of `warden data scan`.
#[derive(Debug, Args)]
#[command(after_help = "Exit codes: 0 nothing at or above --fail-on, 1 PII found at or above --fail-on, 2 error.\n\
Offsets: `start`/`end` are character (Unicode scalar) offsets within the line or cell, not bytes.")]
pub struct ScanArgs {
    /// Files or directories (CSV, JSONL, Parquet, text; gzip/zstd compressed or not).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "table")]
    pub format: FormatArg,
    /// Write the report here (atomically) instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Minimum confidence score (0..1) for a match to be reported.
    #[arg(long, default_value_t = 0.5, value_parser = parse_threshold)]
    pub threshold: f32,
    /// Scan at most N rows (tables) or lines (text) per file; verdicts are then marked sampled.
    #[arg(long, value_name = "N")]
    pub sample_rows: Option<u64>,
    /// Only these entities (comma separated: email,phone_number,credit_card,...).
    #[arg(long, value_delimiter = ',', value_name = "ENTITY")]
    pub entities: Vec<String>,
    /// Report every match; by default at most --max-findings per file, column and entity (counts stay exact).
    #[arg(long)]
    pub all_findings: bool,
    /// Findings kept per file, column and entity unless --all-findings.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub max_findings: u64,
    /// Treat inputs as text or tables instead of deciding from content.
    #[arg(long = "as", value_enum, default_value = "auto")]
    pub kind: AsArg,
    /// Exit with code 1 when a finding is at or above this severity.
    #[arg(long, value_enum, default_value = "medium")]
    pub fail_on: SeverityArg,
}

fn parse_threshold(s: &str) -> Result<f32, String> {
    let v: f32 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if (0.0..=1.0).contains(&v) { Ok(v) } else { Err("the threshold must be between 0 and 1".into()) }
}

/// Runs `warden data scan`.
pub fn run(args: &ScanArgs, _global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    let entities = args.entities.iter().map(|e| e.parse::<Entity>()).collect::<Result<Vec<_>, _>>()?;
    let opts = ScanOptions {
        detect: DetectOptions { threshold: args.threshold, entities },
        sample_rows: args.sample_rows,
        all_findings: args.all_findings,
        max_findings: args.max_findings,
        kind: match args.kind {
            AsArg::Auto => InputKind::Auto,
            AsArg::Text => InputKind::Text,
            AsArg::Table => InputKind::Table,
        },
        ..ScanOptions::default()
    };
    let scan = scan_paths(&args.paths, &opts)?;
    output::write(args.output.as_deref(), &render(&scan, args.format, args.threshold)?)?;
    let failed = scan.report.files.iter().any(|f| f.status == warden_core::FileStatus::Error);
    let threshold = args.fail_on.threshold();
    Ok(if failed {
        ExitStatus::Error
    } else if threshold.is_some_and(|t| scan.report.has_at_or_above(t)) {
        ExitStatus::Findings
    } else {
        ExitStatus::Success
    })
}


/// Renders the scan; JSON adds a `pii` object (columns, exact counts) to the standard report.
pub fn render(scan: &PiiScan, format: FormatArg, threshold: f32) -> anyhow::Result<String> {
    Ok(match format {
        FormatArg::Json => {
            let mut doc: serde_json::Value = serde_json::from_str(&json::to_string(&scan.report)?)?;
            doc["pii"] = serde_json::json!({
                "threshold": threshold,
                "records_scanned": scan.records_scanned,
                "findings_capped": scan.capped(),
                "columns": scan.columns,
                "counts": scan.counts,
            });
            serde_json::to_string_pretty(&doc)? + "\n"
        }
        FormatArg::Sarif => sarif::to_string(&scan.report, &tool_info())? + "\n",
        FormatArg::Table => {
            let mut out = table::to_string(&scan.report);
            if !scan.columns.is_empty() {
                let _ = writeln!(out, "\nCOLUMN VERDICTS");
                for c in &scan.columns {
                    let verdict = c.entity.map_or("-".to_owned(), |e| e.to_string());
                    let hint = c.name_hint.map_or(String::new(), |h| format!(" (name suggests {h})"));
                    let _ = writeln!(
                        out,
                        "  {}:{}  {verdict}  share {:.1}%  confidence {:.2}{hint}{}",
                        c.path,
                        c.column,
                        c.share * 100.0,
                        c.confidence,
                        if c.sampled { "  [sampled]" } else { "" }
                    );
                }
            }
            let total: u64 = scan.counts.iter().map(|c| c.matches).sum();
            let _ = writeln!(
                out,
                "{} record(s) scanned, {total} PII match(es), {} not listed (see --all-findings)",
                scan.records_scanned,
                scan.capped()
            );
            out
        }
    })
}

fn tool_info() -> ToolInfo {
    let rules = Entity::ALL
        .iter()
        .map(|e| RuleInfo {
            id: e.rule_id(),
            title: e.title().to_owned(),
            description: format!("{} found by warden's PII recognizers (checksums, context words, dictionaries).", e.title()),
            severity: e.severity(),
            atlas: Vec::new(),
        })
        .collect();
    ToolInfo { name: "warden", version: env!("CARGO_PKG_VERSION"), rules }
}
