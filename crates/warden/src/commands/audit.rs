//! `warden audit verify`: check an exported audit log offline against a checkpoint kept earlier,
//! and name every edited, deleted, inserted or reordered entry.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use warden_audit::{Checkpoint, CheckpointVerifier, Limits, verify_export};
use warden_core::Report;
use warden_core::render::{ToolInfo, sarif, table};

use super::ExitStatus;
use crate::cli::{FormatArg, GlobalArgs};
use crate::output;

/// Arguments of `warden audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub action: AuditAction,
}

/// Subcommands of `warden audit`.
#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Verify an audit export (`GET /api/v1/audit/export`) against a signed checkpoint
    /// (`GET /api/v1/audit/checkpoint`, saved earlier). Exit 0: intact; 1: tampering found.
    Verify(VerifyAuditArgs),
}

/// Arguments of `warden audit verify`.
#[derive(Debug, Args)]
pub struct VerifyAuditArgs {
    /// The export: JSON lines, one entry per line (`-` for stdin).
    #[arg(value_name = "EXPORT.jsonl")]
    pub export: PathBuf,
    /// A checkpoint (signed note) saved earlier; the export must reproduce its tree head.
    #[arg(long, value_name = "FILE")]
    pub checkpoint: PathBuf,
    /// The server's checkpoint verifier key (`GET /api/v1/audit/key`), or a file holding it.
    #[arg(long, value_name = "KEY|FILE")]
    pub key: String,
    /// The server's checkpoint history (`GET /api/v1/audit/checkpoints` as JSON), to narrow down
    /// where a rewritten stretch of the log begins.
    #[arg(long, value_name = "FILE")]
    pub history: Option<PathBuf>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "table")]
    pub format: FormatArg,
    /// Write the report here instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Largest checkpoint or history file read.
const MAX_SMALL_FILE: u64 = 64 << 20;

/// Runs `warden audit`.
pub fn run(args: &AuditArgs, _global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    match &args.action {
        AuditAction::Verify(verify) => run_verify(verify),
    }
}

fn run_verify(args: &VerifyAuditArgs) -> anyhow::Result<ExitStatus> {
    let key_text = if Path::new(&args.key).is_file() { read_small(Path::new(&args.key))? } else { args.key.clone() };
    let verifier = CheckpointVerifier::new(key_text.trim()).context("the verifier key")?;
    let note = read_small(&args.checkpoint)?;
    let trusted = verifier
        .verify(note.as_bytes())
        .with_context(|| format!("`{}` is not a checkpoint signed by this key", args.checkpoint.display()))?;
    let history = match &args.history {
        Some(path) => load_history(path, &verifier)?,
        None => Vec::new(),
    };
    let name = args.export.display().to_string();
    let reader: Box<dyn BufRead> = if args.export.as_os_str() == "-" {
        Box::new(BufReader::new(std::io::stdin().lock()))
    } else {
        let file = std::fs::File::open(&args.export).with_context(|| format!("opening `{}`", args.export.display()))?;
        Box::new(BufReader::with_capacity(1 << 20, file))
    };
    let verified = verify_export(&name, reader, &trusted, &history, &Limits::default())?;
    let report = Report { findings: verified.findings.clone(), files: Vec::new() };
    let text = match args.format {
        FormatArg::Table => table::to_string(&report),
        FormatArg::Json => {
            let mut value = serde_json::to_value(&verified)?;
            value["version"] = serde_json::json!(1);
            serde_json::to_string_pretty(&value)? + "\n"
        }
        FormatArg::Sarif => {
            let tool = ToolInfo { name: "warden", version: env!("CARGO_PKG_VERSION"), rules: warden_audit::rules().iter().map(|r| r.info()).collect() };
            sarif::to_string(&report, &tool)? + "\n"
        }
    };
    output::write(args.output.as_deref(), &text)?;
    #[allow(clippy::print_stderr)]
    {
        if verified.findings.is_empty() && verified.complete {
            eprintln!(
                "warden: {} entries verified; the export reproduces the checkpoint of size {} (origin `{}`)",
                verified.entries, trusted.size, trusted.origin
            );
        } else {
            eprintln!(
                "warden: the export does NOT match: {} problem(s){}; intact up to size {}",
                verified.findings.len() as u64 + verified.omitted_findings,
                if verified.complete { "" } else { ", verification stopped at a limit" },
                verified.verified_size
            );
        }
    }
    Ok(if verified.findings.is_empty() && verified.omitted_findings == 0 && verified.complete {
        ExitStatus::Success
    } else {
        ExitStatus::Findings
    })
}

fn read_small(path: &Path) -> anyhow::Result<String> {
    let meta = std::fs::metadata(path).with_context(|| format!("reading `{}`", path.display()))?;
    anyhow::ensure!(meta.len() <= MAX_SMALL_FILE, "`{}` is larger than {} MiB", path.display(), MAX_SMALL_FILE >> 20);
    std::fs::read_to_string(path).with_context(|| format!("reading `{}`", path.display()))
}

/// One entry of `GET /api/v1/audit/checkpoints`.
#[derive(Debug, serde::Deserialize)]
struct HistoryEntry {
    note: String,
}

fn load_history(path: &Path, verifier: &CheckpointVerifier) -> anyhow::Result<Vec<Checkpoint>> {
    let text = read_small(path)?;
    let entries: Vec<HistoryEntry> =
        serde_json::from_str(&text).with_context(|| format!("`{}` is not the JSON of GET /api/v1/audit/checkpoints", path.display()))?;
    entries
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            verifier
                .verify(entry.note.as_bytes())
                .with_context(|| format!("checkpoint {} of `{}` is not signed by this key", i + 1, path.display()))
        })
        .collect()
}
