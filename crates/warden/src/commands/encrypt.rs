//! `warden encrypt`: a file or model directory to age recipients or a passphrase. Also holds the
//! passphrase input shared with `warden decrypt` (file, environment, terminal prompt; never argv).

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use warden_integrity::crypt::files::{self, Overwrite};
use warden_integrity::crypt::keys::{self, RecipientSet};
use warden_integrity::crypt::{EncryptOptions, SecretString};

use super::ExitStatus;
use crate::cli::GlobalArgs;

/// Environment variable holding a passphrase, for automation.
pub const PASSPHRASE_ENV: &str = "WARDEN_PASSPHRASE";

/// Arguments of `warden encrypt`.
#[derive(Debug, Args)]
#[command(after_help = "\
A directory becomes a directory of the same shape holding one standalone `<name>.age` file per
file, so any single file can be decrypted with `age -d`. Outputs are written to a temporary path
and renamed into place when complete.

Passphrases are never taken from the command line: use --passphrase-file, the WARDEN_PASSPHRASE
environment variable, or the terminal prompt.

Exit codes:
  0  encrypted
  2  error (bad recipient, unreadable input, output exists without --force, ...)")]
pub struct EncryptArgs {
    /// File or model directory to encrypt.
    #[arg(value_name = "PATH")]
    pub input: PathBuf,
    /// Output file (or directory, for a directory input) [default: PATH.age].
    #[arg(long, short = 'o', value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Encrypt to this age public key (`age1...`); repeatable.
    #[arg(long = "recipient", short = 'r', value_name = "RECIPIENT")]
    pub recipients: Vec<String>,
    /// Encrypt to every public key listed in FILE (one per line, `#` comments); repeatable.
    #[arg(long = "recipients-file", short = 'R', value_name = "FILE")]
    pub recipients_files: Vec<PathBuf>,
    /// Encrypt with a passphrase (scrypt): prompted on the terminal unless --passphrase-file or
    /// WARDEN_PASSPHRASE gives it.
    #[arg(long, short = 'p')]
    pub passphrase: bool,
    /// Read the passphrase from the first line of FILE (implies --passphrase).
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// scrypt work factor (log2 N) for passphrase encryption; 18 is the age CLI's choice.
    #[arg(long, value_name = "LOG_N", default_value_t = keys::DEFAULT_WORK_FACTOR)]
    pub work_factor: u8,
    /// Write PEM-style ASCII armor instead of binary.
    #[arg(long, short = 'a')]
    pub armor: bool,
    /// Replace the output if it exists.
    #[arg(long)]
    pub force: bool,
}

/// Runs `warden encrypt`.
pub fn run(args: &EncryptArgs, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    let use_passphrase = args.passphrase || args.passphrase_file.is_some();
    let has_keys = !args.recipients.is_empty() || !args.recipients_files.is_empty();
    let recipients = match (use_passphrase, has_keys) {
        (true, true) => anyhow::bail!("age files hold either public-key recipients or one passphrase, not both: drop -r/-R or --passphrase"),
        (false, false) => anyhow::bail!("nobody could decrypt this: give a recipient (-r age1..., -R FILE) or --passphrase"),
        (true, false) => {
            let passphrase = read_passphrase(args.passphrase_file.as_deref(), true)?;
            RecipientSet::Passphrase(keys::passphrase_recipient(passphrase, args.work_factor)?)
        }
        (false, true) => {
            let mut all = Vec::new();
            for text in &args.recipients {
                all.push(keys::parse_recipient(text)?);
            }
            for file in &args.recipients_files {
                all.extend(keys::parse_recipients_file(file)?);
            }
            RecipientSet::Keys(all)
        }
    };
    let output = match &args.output {
        Some(path) => path.clone(),
        None => files::default_encrypted_name(&args.input)?,
    };
    let options = EncryptOptions { armor: args.armor, ..EncryptOptions::default() };
    let overwrite = if args.force { Overwrite::Replace } else { Overwrite::Never };
    let outcome = files::encrypt_path(&args.input, &output, &recipients.as_dyn(), &options, overwrite)
        .with_context(|| format!("encrypting `{}`", args.input.display()))?;
    if !global.quiet {
        #[allow(clippy::print_stderr)]
        {
            eprintln!("warden: encrypted {} file(s), {} bytes, to `{}`", outcome.files, outcome.bytes, outcome.output.display());
        }
    }
    Ok(ExitStatus::Success)
}

/// A passphrase from `file` (first line), else `WARDEN_PASSPHRASE`, else the terminal (asked
/// twice when `confirm`). An empty passphrase is refused.
pub fn read_passphrase(file: Option<&Path>, confirm: bool) -> anyhow::Result<SecretString> {
    let text = if let Some(path) = file {
        let content = std::fs::read_to_string(path).with_context(|| format!("reading the passphrase file `{}`", path.display()))?;
        content.lines().next().unwrap_or_default().to_owned()
    } else if let Ok(value) = std::env::var(PASSPHRASE_ENV) {
        value
    } else {
        let first = rpassword::prompt_password("Enter passphrase: ")
            .context("no terminal to ask for a passphrase; use --passphrase-file FILE or the WARDEN_PASSPHRASE environment variable")?;
        if confirm {
            let second = rpassword::prompt_password("Confirm passphrase: ").context("reading the passphrase from the terminal")?;
            anyhow::ensure!(first == second, "the passphrases do not match");
        }
        first
    };
    anyhow::ensure!(!text.is_empty(), "the passphrase is empty");
    Ok(SecretString::from(text))
}
