//! Certificate-chain checks for the OMS `certificate` method, mirroring what model_signing
//! asks OpenSSL to do: build a path from the signing (leaf) certificate through the bundle's
//! other certificates to a self-signed certificate the user trusts, verifying every signature
//! and every validity period at the leaf's `notBefore` (model_signing's stand-in for the
//! signing time), requiring CA basic constraints (and `keyCertSign` when key usage is present)
//! on issuers, honouring path-length limits, rejecting unknown critical extensions, and
//! requiring the leaf to allow `digitalSignature` or the `codeSigning` extended key usage.
//!
//! Not checked (as with model_signing's OpenSSL store): revocation (CRL/OCSP), name
//! constraints (a critical one fails the chain), certificate policies, and the current time.

use const_oid::ObjectIdentifier;
use der::{Decode as _, Encode as _};
use sha2::Digest as _;
use x509_cert::Certificate;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage};

use crate::keys::VerifyingKey;

const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const ECDSA_WITH_SHA_256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_WITH_SHA_384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const ECDSA_WITH_SHA_512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");
const SHA_256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const SHA_384_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const SHA_512_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
const ID_KP_CODE_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");
/// Extensions this module understands, or that OpenSSL accepts as critical without acting
/// on them in a way that matters here (key identifiers, alternative names, policies).
const KNOWN_EXTENSIONS: [&str; 8] = ["2.5.29.15", "2.5.29.19", "2.5.29.37", "2.5.29.17", "2.5.29.14", "2.5.29.35", "2.5.29.32", "2.5.29.18"];
/// Longest chain followed (leaf included).
const MAX_DEPTH: usize = 10;

/// Why a certificate chain was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ChainError(pub String);

/// The result of a successful chain check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedChain {
    /// The leaf's public key, to check the envelope signature with.
    pub leaf_key: VerifyingKey,
    /// Subjects from the leaf up to the trusted root, for the report.
    pub subjects: Vec<String>,
}

/// Parses DER certificates, naming the first bad one.
pub fn parse_all(ders: &[Vec<u8>], what: &str) -> Result<Vec<Certificate>, ChainError> {
    ders.iter().enumerate().map(|(i, d)| Certificate::from_der(d).map_err(|e| ChainError(format!("{what} certificate #{} is not valid DER X.509: {e}", i + 1)))).collect()
}

/// Verifies `chain` (leaf first, then untrusted intermediates) up to one of `roots`.
pub fn verify_chain(chain: &[Certificate], roots: &[Certificate]) -> Result<VerifiedChain, ChainError> {
    let leaf = chain.first().ok_or_else(|| ChainError("the bundle holds no certificate".into()))?;
    let at = leaf.tbs_certificate().validity().not_before.to_unix_duration();
    check_extensions(leaf, "the signing certificate")?;
    check_signing_usage(leaf)?;
    let leaf_key = VerifyingKey::from_spki_der(&spki_der(leaf)?).map_err(|e| ChainError(format!("signing certificate: {e}")))?;

    let mut subjects = vec![leaf.tbs_certificate().subject().to_string()];
    let mut current = leaf;
    let mut intermediates_below = 0usize;
    for _ in 0..MAX_DEPTH {
        check_validity(current, at)?;
        if is_trusted_root(current, roots) {
            return Ok(VerifiedChain { leaf_key, subjects });
        }
        let issuer = find_issuer(current, roots)
            .or_else(|| find_issuer(current, &chain[1..]))
            .ok_or_else(|| ChainError(format!("no trusted issuer found for `{}` (issuer `{}`)", current.tbs_certificate().subject(), current.tbs_certificate().issuer())))?;
        check_issuer(issuer, intermediates_below)?;
        if !std::ptr::eq(current, leaf) && !self_issued(current) {
            intermediates_below += 1;
        }
        subjects.push(issuer.tbs_certificate().subject().to_string());
        current = issuer;
    }
    Err(ChainError(format!("the chain is longer than {MAX_DEPTH} certificates")))
}

fn self_issued(cert: &Certificate) -> bool {
    cert.tbs_certificate().subject() == cert.tbs_certificate().issuer()
}

/// A trust anchor: one of `roots`, and self-signed (its own key verifies its signature, which
/// is stricter than OpenSSL's name and key-identifier match and rejects a trusted leaf).
fn is_trusted_root(cert: &Certificate, roots: &[Certificate]) -> bool {
    self_issued(cert) && roots.iter().any(|r| r == cert) && signature_valid(cert, cert).unwrap_or(false)
}

/// An issuer candidate: subject matches the issuer name and its key verifies the signature.
fn find_issuer<'a>(cert: &Certificate, candidates: &'a [Certificate]) -> Option<&'a Certificate> {
    candidates
        .iter()
        .filter(|c| c.tbs_certificate().subject() == cert.tbs_certificate().issuer())
        .find(|c| signature_valid(cert, c).unwrap_or(false))
}

fn check_validity(cert: &Certificate, at: std::time::Duration) -> Result<(), ChainError> {
    let v = cert.tbs_certificate().validity();
    if at < v.not_before.to_unix_duration() || at > v.not_after.to_unix_duration() {
        return Err(ChainError(format!(
            "`{}` is not valid at the signing certificate's start ({} .. {})",
            cert.tbs_certificate().subject(),
            v.not_before,
            v.not_after
        )));
    }
    Ok(())
}

fn check_extensions(cert: &Certificate, what: &str) -> Result<(), ChainError> {
    for ext in cert.tbs_certificate().extensions().into_iter().flatten() {
        if ext.critical && !KNOWN_EXTENSIONS.contains(&ext.extn_id.to_string().as_str()) {
            return Err(ChainError(format!("{what} has an unsupported critical extension {}", ext.extn_id)));
        }
    }
    Ok(())
}

fn check_issuer(issuer: &Certificate, intermediates_below: usize) -> Result<(), ChainError> {
    let subject = issuer.tbs_certificate().subject().to_string();
    check_extensions(issuer, &format!("`{subject}`"))?;
    let tbs = issuer.tbs_certificate();
    let bc = tbs.get_extension::<BasicConstraints>().map_err(|e| ChainError(format!("`{subject}`: bad basic constraints: {e}")))?;
    match bc {
        Some((_, bc)) if bc.ca => {
            if let Some(limit) = bc.path_len_constraint
                && intermediates_below > usize::from(limit)
            {
                return Err(ChainError(format!("`{subject}` allows {limit} intermediate CA(s) below it, the chain has {intermediates_below}")));
            }
        }
        _ => return Err(ChainError(format!("`{subject}` issued a certificate but is not a CA (basic constraints)"))),
    }
    let ku = tbs.get_extension::<KeyUsage>().map_err(|e| ChainError(format!("`{subject}`: bad key usage: {e}")))?;
    if let Some((_, ku)) = ku
        && !ku.key_cert_sign()
    {
        return Err(ChainError(format!("`{subject}` issued a certificate but its key usage lacks keyCertSign")));
    }
    Ok(())
}

/// model_signing's rule: key usage `digitalSignature`, or else extended key usage `codeSigning`.
fn check_signing_usage(leaf: &Certificate) -> Result<(), ChainError> {
    let tbs = leaf.tbs_certificate();
    let ku = tbs.get_extension::<KeyUsage>().map_err(|e| ChainError(format!("signing certificate: bad key usage: {e}")))?;
    if ku.is_some_and(|(_, ku)| ku.digital_signature()) {
        return Ok(());
    }
    let eku = tbs.get_extension::<ExtendedKeyUsage>().map_err(|e| ChainError(format!("signing certificate: bad extended key usage: {e}")))?;
    if eku.is_some_and(|(_, eku)| eku.0.contains(&ID_KP_CODE_SIGNING)) {
        return Ok(());
    }
    Err(ChainError("the signing certificate cannot be used for signing (no digitalSignature key usage, no codeSigning extended key usage)".into()))
}

fn spki_der(cert: &Certificate) -> Result<Vec<u8>, ChainError> {
    cert.tbs_certificate().subject_public_key_info().to_der().map_err(|e| ChainError(format!("cannot encode a public key: {e}")))
}

/// Whether `issuer`'s key verifies `cert`'s signature. `Err` for algorithms warden lacks.
fn signature_valid(cert: &Certificate, issuer: &Certificate) -> Result<bool, ChainError> {
    let tbs = cert.tbs_certificate().to_der().map_err(|e| ChainError(format!("cannot encode a certificate: {e}")))?;
    let sig = cert.signature().as_bytes().ok_or_else(|| ChainError("certificate signature has unused bits".into()))?;
    let alg = cert.signature_algorithm().oid;
    let spki = issuer.tbs_certificate().subject_public_key_info();
    let key_alg = spki.algorithm.oid;
    let hashed = match alg {
        ECDSA_WITH_SHA_256 | SHA_256_WITH_RSA => sha2::Sha256::digest(&tbs).to_vec(),
        ECDSA_WITH_SHA_384 | SHA_384_WITH_RSA => sha2::Sha384::digest(&tbs).to_vec(),
        ECDSA_WITH_SHA_512 | SHA_512_WITH_RSA => sha2::Sha512::digest(&tbs).to_vec(),
        other => return Err(ChainError(format!("unsupported certificate signature algorithm {other}"))),
    };
    let ecdsa = matches!(alg, ECDSA_WITH_SHA_256 | ECDSA_WITH_SHA_384 | ECDSA_WITH_SHA_512);
    if ecdsa && key_alg == ID_EC_PUBLIC_KEY {
        use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
        let key = VerifyingKey::from_spki_der(&spki_der(issuer)?).map_err(|e| ChainError(e.to_string()))?;
        return Ok(match key {
            VerifyingKey::P256(k) => p256::ecdsa::Signature::from_der(sig).is_ok_and(|s| k.verify_prehash(&hashed, &s).is_ok()),
            VerifyingKey::P384(k) => p384::ecdsa::Signature::from_der(sig).is_ok_and(|s| k.verify_prehash(&hashed, &s).is_ok()),
        });
    }
    if !ecdsa && key_alg == RSA_ENCRYPTION {
        use rsa::pkcs8::DecodePublicKey as _;
        let key = rsa::PublicKey::from_public_key_der(&spki_der(issuer)?).map_err(|e| ChainError(format!("bad RSA key: {e}")))?;
        let scheme = match alg {
            SHA_256_WITH_RSA => rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
            SHA_384_WITH_RSA => rsa::Pkcs1v15Sign::new::<sha2::Sha384>(),
            _ => rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
        };
        return Ok(key.verify(scheme, &hashed, sig).is_ok());
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::pem_blocks;

    const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/oms/model-transparency-fixtures/keys/");

    fn load(name: &str) -> Vec<Certificate> {
        let text = std::fs::read_to_string(format!("{KEYS}{name}")).unwrap();
        let ders: Vec<Vec<u8>> = pem_blocks(&text).unwrap().into_iter().map(|b| b.der).collect();
        parse_all(&ders, "test").unwrap()
    }

    #[test]
    fn fixture_chain_verifies_to_its_root() {
        let leaf = load("signing-key-cert.pem");
        let int = load("int-ca-cert.pem");
        let root = load("ca-cert.pem");
        let chain: Vec<_> = leaf.iter().chain(&int).cloned().collect();
        let ok = verify_chain(&chain, &root).unwrap();
        assert_eq!(ok.leaf_key.curve(), "P-384");
        assert_eq!(ok.subjects.len(), 3);
        // Without the intermediate, or trusting only the intermediate (not self-signed), it fails.
        assert!(verify_chain(&leaf, &root).is_err());
        assert!(verify_chain(&leaf, &int).is_err());
        // Trusting the leaf itself is not enough either: it is self-issued but not self-signed.
        assert!(verify_chain(&chain, &leaf).is_err());
    }
}
