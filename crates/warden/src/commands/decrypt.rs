//! `warden decrypt`: age files or directories of `.age` files, with identity files or a
//! passphrase. Plaintext appears at the output path only once every chunk authenticated.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use warden_integrity::crypt::files::{self, Overwrite};
use warden_integrity::crypt::keys::DecryptKeys;
use warden_integrity::crypt::{CryptError, DecryptOptions, HeaderLimits, SecretString};

use super::ExitStatus;
use super::encrypt::read_passphrase;
use crate::cli::GlobalArgs;

/// Arguments of `warden decrypt`.
#[derive(Debug, Args)]
#[command(after_help = "\
Files encrypted to public keys need -i; passphrase-protected files ask for the passphrase on the
terminal unless --passphrase-file or WARDEN_PASSPHRASE gives it. A wrong key, a wrong passphrase,
or a modified, truncated or extended file is an error and leaves no output behind.

Exit codes:
  0  decrypted and authenticated
  2  error (wrong key or passphrase, tampered or truncated file, output exists, ...)")]
pub struct DecryptArgs {
    /// An age file, or a directory of `.age` files (as written by `warden encrypt DIR`).
    #[arg(value_name = "PATH")]
    pub input: PathBuf,
    /// Output file or directory [default: PATH without `.age`].
    #[arg(long, short = 'o', value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Identity file (`AGE-SECRET-KEY-1...` lines, as written by age-keygen); repeatable.
    #[arg(long = "identity", short = 'i', value_name = "FILE")]
    pub identities: Vec<PathBuf>,
    /// Read the passphrase from the first line of FILE.
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// Accepted for symmetry with encrypt: passphrase files are detected from their header.
    #[arg(long, short = 'p')]
    pub passphrase: bool,
    /// Largest scrypt work factor (log2 N) accepted from a file; a hostile header cannot ask
    /// for more work than this.
    #[arg(long, value_name = "LOG_N", default_value_t = HeaderLimits::default().max_work_factor)]
    pub max_work_factor: u8,
    /// Replace the output if it exists.
    #[arg(long)]
    pub force: bool,
}

/// Runs `warden decrypt`.
pub fn run(args: &DecryptArgs, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    let output = match &args.output {
        Some(path) => path.clone(),
        None => files::default_decrypted_name(&args.input)?,
    };
    let passphrase_file = args.passphrase_file.clone();
    let mut ask = move || -> Result<SecretString, CryptError> {
        read_passphrase(passphrase_file.as_deref(), false).map_err(|e| CryptError::Io(std::io::Error::other(format!("{e:#}"))))
    };
    let mut keys = DecryptKeys::new(args.identities.clone(), Some(&mut ask), args.max_work_factor);
    let mut options = DecryptOptions::default();
    options.limits.max_work_factor = args.max_work_factor;
    let overwrite = if args.force { Overwrite::Replace } else { Overwrite::Never };
    let outcome = files::decrypt_path(&args.input, &output, &mut keys, &options, overwrite)
        .with_context(|| format!("decrypting `{}`", args.input.display()))?;
    if !global.quiet {
        #[allow(clippy::print_stderr)]
        {
            eprintln!("warden: decrypted {} file(s), {} bytes, to `{}`", outcome.files, outcome.bytes, outcome.output.display());
        }
    }
    Ok(ExitStatus::Success)
}
