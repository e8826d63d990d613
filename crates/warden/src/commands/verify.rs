//! `warden verify`: check a model against an OpenSSF Model Signing bundle and report what
//! differs as findings (exit 1), or say that it matches (exit 0).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use warden_core::Severity;
use warden_core::render::{ToolInfo, json, sarif, table};
use warden_integrity::bundle::DEFAULT_MAX_BUNDLE_BYTES;
use warden_integrity::keys::{VerifyingKey, pem_blocks};
use warden_integrity::walk::relative_inside;
use warden_integrity::{Trust, VerifyOptions, verify_model};

use super::ExitStatus;
use super::hash::{default_signature_path, ignore_set, read_limited, read_text};
use crate::cli::{FormatArg, GlobalArgs};
use crate::output;

const EXIT_CODES: &str = "\
Exit codes:
  0  the model matches its signature
  1  it does not: a file was added, removed or changed, or the signature, certificate or
     bundle is invalid (see the findings)
  2  error: unreadable model, key or certificate files, or an unsupported (keyless) bundle";

/// Arguments of `warden verify`.
#[derive(Debug, Args)]
#[command(after_help = EXIT_CODES)]
#[command(group = clap::ArgGroup::new("trust").required(true).args(["public_key", "certificate_chain"]))]
pub struct VerifyArgs {
    /// The model: a file or a directory.
    pub path: PathBuf,
    /// The bundle (default: `model.sig` in the model directory, or beside a single-file model).
    #[arg(long, value_name = "SIG")]
    pub signature: Option<PathBuf>,
    /// The `key` method: the signer's ECDSA public key (SPKI PEM).
    #[arg(long, value_name = "KEY.pub")]
    pub public_key: Option<PathBuf>,
    /// The `certificate` method: trusted root certificates (PEM; repeatable, several per file).
    #[arg(long = "certificate-chain", value_name = "ROOTS.pem")]
    pub certificate_chain: Vec<PathBuf>,
    /// More paths to leave out, relative to the model; repeatable.
    #[arg(long = "ignore", value_name = "PATH")]
    pub ignore: Vec<PathBuf>,
    /// Check `.git`, `.gitattributes`, `.github` and `.gitignore` too.
    #[arg(long)]
    pub no_ignore_git_paths: bool,
    /// Hashing threads (default: one per core).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..1025))]
    pub jobs: Option<u64>,
    /// Report format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: FormatArg,
    /// Write the report to this file instead of stdout.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

/// Runs `warden verify`.
pub fn run(args: &VerifyArgs, _global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    let trust = match &args.public_key {
        Some(path) => Trust::PublicKey(VerifyingKey::from_pem(&read_text(path, "public key")?).with_context(|| format!("loading `{}`", path.display()))?),
        None => {
            let mut roots = Vec::new();
            for path in &args.certificate_chain {
                let blocks = pem_blocks(&read_text(path, "certificate")?).with_context(|| format!("loading `{}`", path.display()))?;
                let before = roots.len();
                roots.extend(blocks.into_iter().filter(|b| b.label == "CERTIFICATE").map(|b| b.der));
                if roots.len() == before {
                    anyhow::bail!("`{}` holds no PEM certificate", path.display());
                }
            }
            Trust::Roots(roots)
        }
    };
    let signature = args.signature.clone().unwrap_or_else(|| default_signature_path(&args.path));
    let bundle = read_limited(&signature, DEFAULT_MAX_BUNDLE_BYTES, "signature")?;
    let mut ignore = ignore_set(&args.path, &args.ignore, !args.no_ignore_git_paths);
    if let Some(rel) = relative_inside(&args.path, &signature) {
        ignore.insert(&rel);
    }
    let options = VerifyOptions { trust, ignore, threads: args.jobs.map(|j| j as usize), label: args.path.display().to_string() };
    let verification = verify_model(&args.path, &bundle, &signature.display().to_string(), &options).with_context(|| format!("verifying `{}`", args.path.display()))?;
    let report = &verification.report;
    let text = match args.format {
        FormatArg::Table => table::to_string(report),
        FormatArg::Json => json::to_string(report)? + "\n",
        FormatArg::Sarif => sarif::to_string(report, &tool_info())? + "\n",
    };
    output::write(args.output.as_deref(), &text)?;
    Ok(if report.has_at_or_above(Severity::Low) { ExitStatus::Findings } else { ExitStatus::Success })
}

fn tool_info() -> ToolInfo {
    ToolInfo { name: "warden", version: env!("CARGO_PKG_VERSION"), rules: warden_integrity::rules::rule_infos() }
}
