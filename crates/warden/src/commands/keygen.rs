//! `warden keygen`: age X25519 identities (`keygen age`) and ECDSA signing keys
//! (`keygen signing`), written atomically with mode 0600 (private) and 0644 (public).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use warden_integrity::crypt::files::Overwrite;
use warden_integrity::crypt::keygen::{self, Curve, KeyFile};

use super::ExitStatus;
use crate::cli::GlobalArgs;

/// Arguments of `warden keygen`.
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Which kind of key.
    #[command(subcommand)]
    pub kind: KeygenKind,
}

/// The kinds of keys warden generates.
#[derive(Debug, Subcommand)]
pub enum KeygenKind {
    /// An age X25519 identity for `warden encrypt`/`decrypt` (same file format as age-keygen).
    Age(AgeKeygenArgs),
    /// An ECDSA key pair for `warden sign` (PKCS#8 PEM private key, SPKI PEM public key).
    Signing(SigningKeygenArgs),
}

/// Arguments of `warden keygen age`.
#[derive(Debug, Args)]
#[command(after_help = "The public key (recipient) is printed on stderr as `Public key: age1...`.")]
pub struct AgeKeygenArgs {
    /// Write the identity to FILE (mode 0600) instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace an existing key file.
    #[arg(long)]
    pub force: bool,
}

/// Arguments of `warden keygen signing`.
#[derive(Debug, Args)]
pub struct SigningKeygenArgs {
    /// Elliptic curve.
    #[arg(long, value_enum, default_value = "p256")]
    pub curve: CurveArg,
    /// Private key file (PKCS#8 PEM, mode 0600); the public key goes beside it as `.pub`.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: PathBuf,
    /// Public key file (SPKI PEM, mode 0644) [default: the private key path with `.pub`].
    #[arg(long, value_name = "FILE")]
    pub public: Option<PathBuf>,
    /// Replace existing key files.
    #[arg(long)]
    pub force: bool,
}

/// Curves for signing keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CurveArg {
    /// NIST P-256.
    P256,
    /// NIST P-384.
    P384,
}

/// Runs `warden keygen`.
pub fn run(args: &KeygenArgs, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    match &args.kind {
        KeygenKind::Age(age) => age_key(age, global),
        KeygenKind::Signing(signing) => signing_key(signing, global),
    }
}

fn overwrite(force: bool) -> Overwrite {
    if force { Overwrite::Replace } else { Overwrite::Never }
}

fn age_key(args: &AgeKeygenArgs, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    let pair = keygen::age_key_pair(std::time::SystemTime::now());
    match &args.output {
        Some(path) => {
            keygen::write_key_files(&[KeyFile { path, text: &pair.identity_file, mode: 0o600 }], overwrite(args.force))
                .with_context(|| format!("writing `{}`", path.display()))?;
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(pair.identity_file.as_bytes())?;
            stdout.flush()?;
        }
    }
    if !global.quiet {
        #[allow(clippy::print_stderr)]
        {
            eprintln!("Public key: {}", pair.recipient);
        }
    }
    Ok(ExitStatus::Success)
}

fn signing_key(args: &SigningKeygenArgs, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    let curve = match args.curve {
        CurveArg::P256 => Curve::P256,
        CurveArg::P384 => Curve::P384,
    };
    let public = args.public.clone().unwrap_or_else(|| keygen::public_key_path(&args.output));
    anyhow::ensure!(public != args.output, "the public key path must differ from the private key path `{}`", args.output.display());
    let pair = keygen::signing_key_pair(curve)?;
    let files = [KeyFile { path: &args.output, text: &pair.private_pem, mode: 0o600 }, KeyFile { path: &public, text: &pair.public_pem, mode: 0o644 }];
    keygen::write_key_files(&files, overwrite(args.force)).context("writing the key pair")?;
    if !global.quiet {
        #[allow(clippy::print_stderr)]
        {
            eprintln!("warden: private key `{}` (0600), public key `{}` (0644)", args.output.display(), public.display());
        }
    }
    Ok(ExitStatus::Success)
}
