//! `warden sign`: sign a model file or directory as an OpenSSF Model Signing v1.0 bundle
//! (Sigstore bundle, DSSE envelope, in-toto statement), with an ECDSA key or a certificate.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use warden_integrity::keys::SigningKey;
use warden_integrity::walk::relative_inside;
use warden_integrity::{Signer, sign_model};

use super::ExitStatus;
use super::hash::{HashingArgs, default_signature_path, read_text};
use crate::cli::GlobalArgs;
use crate::output;

/// Arguments of `warden sign`.
#[derive(Debug, Args)]
#[command(after_help = "Exit codes:\n  0  signed\n  2  error")]
pub struct SignArgs {
    /// The model: a file or a directory.
    pub path: PathBuf,
    /// ECDSA P-256 or P-384 private key, PEM (PKCS#8 or SEC1, unencrypted).
    #[arg(long, value_name = "KEY.pem")]
    pub key: PathBuf,
    /// Signing certificate for the `certificate` method (its key must be `--key`).
    #[arg(long, value_name = "CERT.pem")]
    pub certificate: Option<PathBuf>,
    /// Further certificates of the chain (intermediates, root), PEM; repeatable.
    #[arg(long = "certificate-chain", value_name = "CHAIN.pem", requires = "certificate")]
    pub certificate_chain: Vec<PathBuf>,
    /// Where to write the bundle (default: `model.sig` in the model directory, or beside a
    /// single-file model). It is left out of the signed files.
    #[arg(long, value_name = "OUT")]
    pub signature: Option<PathBuf>,
    #[command(flatten)]
    pub hashing: HashingArgs,
}

/// Runs `warden sign`.
pub fn run(args: &SignArgs, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    let key = SigningKey::from_pem(&read_text(&args.key, "private key")?).with_context(|| format!("loading `{}`", args.key.display()))?;
    let signer = match &args.certificate {
        None => Signer::Key(key),
        Some(cert) => {
            let chain = args.certificate_chain.iter().map(|p| read_text(p, "certificate chain")).collect::<anyhow::Result<Vec<_>>>()?;
            Signer::with_certificate(key, &read_text(cert, "certificate")?, &chain).with_context(|| format!("loading `{}`", cert.display()))?
        }
    };
    let signature = args.signature.clone().unwrap_or_else(|| default_signature_path(&args.path));
    let inside: Vec<String> = relative_inside(&args.path, &signature).into_iter().collect();
    let options = args.hashing.options(&args.path, &inside);
    let (manifest, bundle) = sign_model(&args.path, &options, &signer).with_context(|| format!("signing `{}`", args.path.display()))?;
    let json = String::from_utf8(bundle.to_json()).expect("JSON is UTF-8");
    output::write(Some(&signature), &json)?;
    if !global.quiet {
        #[allow(clippy::print_stderr)]
        {
            eprintln!("warden: signed {} entries of `{}` into `{}`", manifest.resources.len(), args.path.display(), signature.display());
        }
    }
    Ok(ExitStatus::Success)
}
