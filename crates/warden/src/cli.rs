//! Argument definitions (clap derive). Each doc comment is the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use warden_core::Severity;

const EXIT_CODES: &str = "\
Exit codes:
  0  success: no finding at or above --fail-on
  1  findings at or above --fail-on
  2  error: bad arguments, an unreadable input, or a file the scanner could not inspect";

const SERVE_EXIT_CODES: &str = "\
Exit codes:
  0  stopped cleanly (SIGINT or SIGTERM; requests in flight were finished)
  2  could not start: the address is taken, the database or data directory is unusable, a key file is unsafe";

/// warden protects AI systems across their lifecycle: it scans model artifacts before anyone
/// loads them, signs and encrypts models, finds PII and poisoning in datasets, watches drift,
/// fairness and attacks in production, and assesses threats and compliance.
#[derive(Debug, Parser)]
#[command(name = "warden", version, about, long_about = None, after_help = EXIT_CODES, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub global: GlobalArgs,
}

/// Flags every command accepts.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// More logging on stderr (-v info, -vv debug, -vvv trace); `WARDEN_LOG` overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors on stderr, no progress bar.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan model files and directories for code execution, tampering and malformed data.
    #[command(after_help = EXIT_CODES)]
    Scan(ScanArgs),
    /// List the rules warden can report, with their severity and ATLAS techniques.
    Rules(RulesArgs),
    /// Digest a model file or directory (SHA-256 or BLAKE3, sharded, parallel).
    Hash(crate::commands::hash::HashArgs),
    /// Sign a model file or directory as an OpenSSF Model Signing bundle.
    Sign(crate::commands::sign::SignArgs),
    /// Verify a model against an OpenSSF Model Signing bundle.
    Verify(crate::commands::verify::VerifyArgs),
    /// Generate signing (ECDSA) or encryption (age X25519) keys.
    Keygen(crate::commands::keygen::KeygenArgs),
    /// Encrypt a file or model directory in the age format.
    Encrypt(crate::commands::encrypt::EncryptArgs),
    /// Decrypt age-encrypted files or directories.
    Decrypt(crate::commands::decrypt::DecryptArgs),
    /// Datasets: find and anonymise PII, validate, profile, detect poisoning.
    Data(crate::commands::data::DataArgs),
    /// Per-column drift between a reference and a current dataset.
    Drift(crate::commands::drift::DriftArgs),
    /// Fairness metrics across groups, and mitigation.
    Fairness(crate::commands::fairness::FairnessArgs),
    /// Watch inference traffic for extraction, evasion and inversion attacks.
    Monitor(crate::commands::monitor::MonitorArgs),
    /// Threat model, risk register and compliance views of an AI system description.
    Assess(crate::commands::assess::AssessArgs),
    /// Manage the local MITRE ATLAS threat catalogue.
    Atlas(crate::commands::atlas::AtlasArgs),
    /// Run the platform server: inventory, model registry, access control, audit log, web UI.
    #[command(after_help = SERVE_EXIT_CODES)]
    Serve(Box<crate::commands::serve::ServeArgs>),
    /// Verify an exported audit log offline against a signed checkpoint.
    #[command(after_help = EXIT_CODES)]
    Audit(crate::commands::audit::AuditArgs),
}

/// Output formats for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// A table for humans.
    Table,
    /// The versioned JSON report.
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other dashboards.
    Sarif,
}

/// Severity threshold names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SeverityArg {
    Info,
    Low,
    Medium,
    High,
    Critical,
    /// Never fail because of findings.
    Never,
}

impl SeverityArg {
    /// The severity this names, or `None` for `never`.
    pub fn threshold(self) -> Option<Severity> {
        match self {
            SeverityArg::Info => Some(Severity::Info),
            SeverityArg::Low => Some(Severity::Low),
            SeverityArg::Medium => Some(Severity::Medium),
            SeverityArg::High => Some(Severity::High),
            SeverityArg::Critical => Some(Severity::Critical),
            SeverityArg::Never => None,
        }
    }
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files or directories to scan (directories recursively). Formats are detected from
    /// content, never from file names.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "table", env = "WARDEN_FORMAT")]
    pub format: FormatArg,
    /// Exit with code 1 when a finding is at or above this severity.
    #[arg(long, value_enum, default_value = "medium", env = "WARDEN_FAIL_ON")]
    pub fail_on: SeverityArg,
    /// Leave findings below this severity out of the report.
    #[arg(long, value_enum, default_value = "info")]
    pub min_severity: SeverityArg,
    /// Worker threads for scanning several files (default: every core).
    #[arg(long, short = 'j', value_name = "N", env = "WARDEN_JOBS")]
    pub jobs: Option<usize>,
    /// Extra pickle policy file(s) (TOML) that extend or override the shipped allow/deny lists.
    #[arg(long, value_name = "FILE")]
    pub policy: Vec<PathBuf>,
    /// Write the report to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Never show a progress bar.
    #[arg(long)]
    pub no_progress: bool,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Bounds on untrusted input; a file that exceeds one gets a `scan.limit-exceeded` finding.
#[derive(Debug, Args)]
#[command(next_help_heading = "Limits")]
pub struct LimitArgs {
    /// Largest archive member or compressed stream inflated into memory, in bytes [default: 1 GiB].
    #[arg(long, value_name = "BYTES")]
    pub max_member_size: Option<u64>,
    /// Total bytes inflated from one input file [default: 4 GiB].
    #[arg(long, value_name = "BYTES")]
    pub max_inflated: Option<u64>,
    /// Largest compression ratio once a member passes 16 MiB [default: 100].
    #[arg(long, value_name = "N")]
    pub max_ratio: Option<u64>,
    /// Deepest nesting of archives and embedded files [default: 8].
    #[arg(long, value_name = "N")]
    pub max_depth: Option<usize>,
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    /// Output format (`table` or `json`).
    #[arg(long, short = 'f', value_enum, default_value = "table")]
    pub format: FormatArg,
}
