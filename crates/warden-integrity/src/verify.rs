//! Verifying a model against an OMS bundle, reporting every problem as a
//! [`warden_core::Finding`]: first the bundle and its signature (key hint, certificate chain,
//! DSSE signature over the PAE), then the statement (types, subject digest), then the model
//! itself, re-hashed with the manifest's own algorithm and serialisation and compared file by
//! file. A tampered signature stops there: an unauthenticated manifest is never compared.

use std::collections::BTreeSet;
use std::path::Path;

use warden_core::{FileRecord, FileStatus, Finding, Location, Report};

use crate::bundle::{Bundle, PAYLOAD_TYPE, VerificationMaterial};
use crate::digest::to_hex;
use crate::error::{Error, Result};
use crate::hash::{HashOptions, hash_model};
use crate::keys::VerifyingKey;
use crate::manifest::{Manifest, Method, Resource};
use crate::rules::{self, Rule};
use crate::statement::{self, StatementError};
use crate::walk::IgnoreSet;
use crate::x509;

/// What the user trusts.
#[derive(Debug, Clone)]
pub enum Trust {
    /// The `key` method: this public key.
    PublicKey(VerifyingKey),
    /// The `certificate` method: these self-signed root certificates (DER).
    Roots(Vec<Vec<u8>>),
}

/// How to verify.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The trust anchor.
    pub trust: Trust,
    /// Paths ignored on top of the manifest's own `ignore_paths` (git files, the signature).
    pub ignore: IgnoreSet,
    /// Hashing threads (`None`: one per core).
    pub threads: Option<usize>,
    /// How the model is named in finding locations (the path as the user gave it).
    pub label: String,
}

/// The outcome: the report, and the signed manifest when the signature verified.
#[derive(Debug, Clone)]
pub struct Verification {
    /// Findings (an `integrity.verified` info finding when everything matched).
    pub report: Report,
    /// The authenticated manifest, if the signature and statement were valid.
    pub manifest: Option<Manifest>,
}

impl Verification {
    /// Whether the model matched its signature.
    pub fn is_verified(&self) -> bool {
        self.report.findings.iter().all(|f| f.rule_id.as_str() == rules::VERIFIED.id)
    }
}

fn finding(rule: &Rule, location: Location, message: String) -> Finding {
    let mut f = Finding::new(rule.id, rule.severity, rule.title, message, location);
    f.atlas = rule.atlas.iter().map(|s| (*s).to_owned()).collect();
    f.remediation = (!rule.remediation.is_empty()).then(|| rule.remediation.to_owned());
    f
}

/// Verifies the model at `root` against `bundle_bytes` (the signature file's content, read by
/// the caller with a size limit). `Err` only when verification cannot run at all: an
/// unsupported (keyless) bundle, or a model that cannot be read.
pub fn verify_model(root: &Path, bundle_bytes: &[u8], signature_label: &str, options: &VerifyOptions) -> Result<Verification> {
    let sig_loc = Location::file(signature_label);
    let fail = |rule: &Rule, message: String| Verification { report: Report { findings: vec![finding(rule, sig_loc.clone(), message)], files: vec![] }, manifest: None };

    let bundle = match Bundle::from_json(bundle_bytes) {
        Ok(b) => b,
        Err(e) => return Ok(fail(&rules::BUNDLE_MALFORMED, e.to_string())),
    };
    let key = match (&bundle.material, &options.trust) {
        (VerificationMaterial::Keyless, _) => {
            return Err(Error::Unsupported(
                "this bundle was signed keyless (Sigstore: a Fulcio certificate and Rekor log entries); warden does not verify keyless signatures yet. Use `model_signing verify sigstore`, or sign with a key or certificate".into(),
            ));
        }
        (VerificationMaterial::PublicKey { hint: Some(hint) }, Trust::PublicKey(key)) if *hint != key.hint() => {
            return Ok(fail(&rules::KEY_MISMATCH, format!("the bundle was signed with the key whose hint is {hint}, not with the given key (hint {})", key.hint())));
        }
        (_, Trust::PublicKey(key)) => key.clone(),
        (VerificationMaterial::CertificateChain(ders), Trust::Roots(roots)) => {
            let checked = x509::parse_all(ders, "bundle").and_then(|chain| Ok((chain, x509::parse_all(roots, "trusted")?))).and_then(|(chain, roots)| x509::verify_chain(&chain, &roots));
            match checked {
                Ok(chain) => {
                    tracing::info!(subjects = ?chain.subjects, "certificate chain verified");
                    chain.leaf_key
                }
                Err(e) => return Ok(fail(&rules::CERTIFICATE_INVALID, e.to_string())),
            }
        }
        (VerificationMaterial::PublicKey { .. }, Trust::Roots(_)) => {
            return Ok(fail(&rules::CERTIFICATE_INVALID, "the bundle was signed with a bare key, not a certificate; verify it with --public-key".into()));
        }
    };
    if !key.verify(&bundle.signed_bytes(), &bundle.signature) {
        return Ok(fail(&rules::SIGNATURE_INVALID, format!("the DSSE signature does not verify with the {} key {}", key.curve(), key.hint())));
    }
    if bundle.payload_type != PAYLOAD_TYPE {
        return Ok(fail(&rules::BUNDLE_MALFORMED, format!("DSSE payload type `{}`, expected `{PAYLOAD_TYPE}`", bundle.payload_type)));
    }
    let expected = match statement::from_json(&bundle.payload) {
        Ok(m) => m,
        Err(e @ StatementError::Inconsistent { .. }) => return Ok(fail(&rules::MANIFEST_INCONSISTENT, e.to_string())),
        Err(e) => return Ok(fail(&rules::BUNDLE_MALFORMED, e.to_string())),
    };

    let mut ignore = options.ignore.clone();
    for p in &expected.serialization.ignore_paths {
        ignore.insert(p);
    }
    let hash_options = HashOptions { hash: expected.serialization.hash, method: expected.serialization.method, ignore, threads: options.threads };
    let actual = hash_model(root, &hash_options)?;
    let mut report = Report { findings: compare(&expected, &actual, &options.label), files: Vec::new() };
    let names: BTreeSet<&str> = actual.resources.iter().map(|r| r.key.path.as_str()).collect();
    report.files = names.iter().map(|n| FileRecord { path: location_path(&options.label, n), format: "model-file".into(), status: FileStatus::Scanned }).collect();
    if report.findings.is_empty() {
        let method = match expected.serialization.method {
            Method::Files => "one per file".to_owned(),
            Method::Shards { shard_size } => format!("shards of {shard_size} bytes"),
        };
        let signer = match &bundle.material {
            VerificationMaterial::CertificateChain(_) => "a certificate chaining to a trusted root".to_owned(),
            _ => format!("the {} key {}", key.curve(), key.hint()),
        };
        let message = format!(
            "{} file(s) match the manifest signed by {signer} ({} {} entries, {method})",
            names.len(),
            expected.resources.len(),
            expected.serialization.hash,
        );
        report.findings.push(finding(&rules::VERIFIED, Location::file(options.label.clone()), message));
    }
    report.sort();
    Ok(Verification { report, manifest: Some(expected) })
}

fn location_path(label: &str, name: &str) -> String {
    if name == "." { label.to_owned() } else { format!("{}/{name}", label.trim_end_matches('/')) }
}

/// File-by-file differences between the signed and the recomputed manifest.
pub fn compare(expected: &Manifest, actual: &Manifest, label: &str) -> Vec<Finding> {
    let want = expected.by_path();
    let have = actual.by_path();
    let mut findings = Vec::new();
    for (path, found) in &have {
        let location = Location::file(location_path(label, path));
        match want.get(path) {
            None => findings.push(finding(&rules::FILE_ADDED, location, format!("`{path}` is not in the signed manifest"))),
            Some(signed) if !same(signed, found) => findings.push(finding(&rules::FILE_CHANGED, location, describe_change(path, signed, found))),
            Some(_) => {}
        }
    }
    for path in want.keys().filter(|p| !have.contains_key(*p)) {
        findings.push(finding(&rules::FILE_REMOVED, Location::file(location_path(label, path)), format!("`{path}` is in the signed manifest but not in the model")));
    }
    findings
}

fn same(a: &[&Resource], b: &[&Resource]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.key == y.key && x.digest == y.digest)
}

fn describe_change(path: &str, signed: &[&Resource], found: &[&Resource]) -> String {
    if let ([s], [f]) = (signed, found)
        && s.key.range.is_none()
        && f.key.range.is_none()
    {
        return format!("`{path}` has digest {}, the signed manifest says {}", to_hex(&f.digest), to_hex(&s.digest));
    }
    let end = |rs: &[&Resource]| rs.iter().filter_map(|r| r.key.range.map(|(_, e)| e)).max().unwrap_or(0);
    let (signed_len, found_len) = (end(signed), end(found));
    let differing: Vec<String> = signed
        .iter()
        .filter(|s| !found.iter().any(|f| f.key == s.key && f.digest == s.digest))
        .filter_map(|s| s.key.range.map(|(a, b)| format!("{a}..{b}")))
        .collect();
    let mut message = format!("`{path}` differs from the signed manifest");
    if signed_len != found_len {
        message.push_str(&format!(" (size {found_len}, signed {signed_len})"));
    }
    if !differing.is_empty() {
        let shown: Vec<_> = differing.iter().take(8).cloned().collect();
        message.push_str(&format!("; signed shard(s) not matching: {}{}", shown.join(", "), if differing.len() > 8 { ", ..." } else { "" }));
    }
    message
}
