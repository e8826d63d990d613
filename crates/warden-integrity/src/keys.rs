//! ECDSA keys for the OMS `key` and `certificate` methods: P-256 with SHA-256 and P-384 with
//! SHA-384 (the hash follows the curve, as in model_signing). Private keys are read from
//! PKCS#8 (`PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`) PEM, public keys from SPKI PEM.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _, EncodePublicKey as _};

use crate::digest::{HashAlgorithm, to_hex};
use crate::error::Error;

/// One PEM block: its label and decoded bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PemBlock {
    /// The text after `BEGIN ` (`PUBLIC KEY`, `CERTIFICATE`...).
    pub label: String,
    /// The decoded DER.
    pub der: Vec<u8>,
}

/// Every PEM block in `text`, skipping any text around them (OpenSSL and GnuTLS dumps put
/// human-readable text before the block).
pub fn pem_blocks(text: &str) -> Result<Vec<PemBlock>, Error> {
    let mut blocks = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(label) = line.trim().strip_prefix("-----BEGIN ").and_then(|l| l.strip_suffix("-----")) else {
            continue;
        };
        let end = format!("-----END {label}-----");
        let mut body = String::new();
        let mut closed = false;
        for inner in lines.by_ref() {
            let inner = inner.trim();
            if inner == end {
                closed = true;
                break;
            }
            if inner.contains(':') {
                return Err(Error::Key(format!("the PEM block `{label}` has headers (a legacy encrypted key?); use an unencrypted PKCS#8 key")));
            }
            body.push_str(inner);
        }
        if !closed {
            return Err(Error::Key(format!("the PEM block `{label}` has no END line")));
        }
        let der = B64.decode(body.as_bytes()).map_err(|e| Error::Key(format!("the PEM block `{label}` is not valid base64: {e}")))?;
        blocks.push(PemBlock { label: label.to_owned(), der });
    }
    Ok(blocks)
}

/// A private key warden can sign with.
#[derive(Clone)]
pub enum SigningKey {
    /// P-256, signs SHA-256.
    P256(p256::ecdsa::SigningKey),
    /// P-384, signs SHA-384.
    P384(p384::ecdsa::SigningKey),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.verifying_key().curve())
    }
}

impl SigningKey {
    /// Reads a PEM private key (PKCS#8 or SEC1, unencrypted).
    pub fn from_pem(text: &str) -> Result<Self, Error> {
        let blocks = pem_blocks(text)?;
        let block = blocks
            .iter()
            .find(|b| b.label.ends_with("PRIVATE KEY"))
            .ok_or_else(|| Error::Key("no `PRIVATE KEY` PEM block found".into()))?;
        match block.label.as_str() {
            "PRIVATE KEY" => {
                if let Ok(k) = p256::SecretKey::from_pkcs8_der(&block.der) {
                    Ok(SigningKey::P256(k.into()))
                } else if let Ok(k) = p384::SecretKey::from_pkcs8_der(&block.der) {
                    Ok(SigningKey::P384(k.into()))
                } else {
                    Err(Error::Key("the private key is not an ECDSA P-256 or P-384 key (other curves and RSA are not supported)".into()))
                }
            }
            "EC PRIVATE KEY" => {
                if let Ok(k) = p256::SecretKey::from_sec1_der(&block.der) {
                    Ok(SigningKey::P256(k.into()))
                } else if let Ok(k) = p384::SecretKey::from_sec1_der(&block.der) {
                    Ok(SigningKey::P384(k.into()))
                } else {
                    Err(Error::Key("the EC private key is not on P-256 or P-384".into()))
                }
            }
            "ENCRYPTED PRIVATE KEY" => Err(Error::Key("encrypted private keys are not supported yet; decrypt it first (openssl pkcs8)".into())),
            other => Err(Error::Key(format!("unsupported private key type `{other}`"))),
        }
    }

    /// The matching public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        match self {
            SigningKey::P256(k) => VerifyingKey::P256(*k.verifying_key()),
            SigningKey::P384(k) => VerifyingKey::P384(*k.verifying_key()),
        }
    }

    /// Signs `message` (hashed with the curve's hash), returning a DER signature.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            SigningKey::P256(k) => {
                let sig: p256::ecdsa::Signature = k.sign(message);
                sig.to_der().as_bytes().to_vec()
            }
            SigningKey::P384(k) => {
                let sig: p384::ecdsa::Signature = k.sign(message);
                sig.to_der().as_bytes().to_vec()
            }
        }
    }
}

/// A public key warden can verify with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyingKey {
    /// P-256 / SHA-256.
    P256(p256::ecdsa::VerifyingKey),
    /// P-384 / SHA-384.
    P384(p384::ecdsa::VerifyingKey),
}

impl VerifyingKey {
    /// Reads the first `PUBLIC KEY` PEM block of `text`.
    pub fn from_pem(text: &str) -> Result<Self, Error> {
        let blocks = pem_blocks(text)?;
        let block = blocks.iter().find(|b| b.label == "PUBLIC KEY").ok_or_else(|| Error::Key("no `PUBLIC KEY` PEM block found".into()))?;
        Self::from_spki_der(&block.der)
    }

    /// Reads a DER SubjectPublicKeyInfo.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, Error> {
        if let Ok(k) = p256::ecdsa::VerifyingKey::from_public_key_der(der) {
            Ok(VerifyingKey::P256(k))
        } else if let Ok(k) = p384::ecdsa::VerifyingKey::from_public_key_der(der) {
            Ok(VerifyingKey::P384(k))
        } else {
            Err(Error::Key("the public key is not an ECDSA P-256 or P-384 key".into()))
        }
    }

    /// `P-256` or `P-384`.
    pub fn curve(&self) -> &'static str {
        match self {
            VerifyingKey::P256(_) => "P-256",
            VerifyingKey::P384(_) => "P-384",
        }
    }

    /// The DER SubjectPublicKeyInfo.
    pub fn spki_der(&self) -> Vec<u8> {
        let doc = match self {
            VerifyingKey::P256(k) => k.to_public_key_der(),
            VerifyingKey::P384(k) => k.to_public_key_der(),
        };
        doc.expect("a valid curve point encodes").as_bytes().to_vec()
    }

    /// The SPKI PEM exactly as OpenSSL / Python `cryptography` write it.
    pub fn spki_pem(&self) -> String {
        let body = B64.encode(self.spki_der());
        let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
        for chunk in body.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
            pem.push('\n');
        }
        pem.push_str("-----END PUBLIC KEY-----\n");
        pem
    }

    /// model_signing's key hint: SHA-256 hex of [`VerifyingKey::spki_pem`].
    pub fn hint(&self) -> String {
        to_hex(&HashAlgorithm::Sha256.digest(self.spki_pem().as_bytes()))
    }

    /// Checks a DER ECDSA signature over `message` (hashed with the curve's hash).
    pub fn verify(&self, message: &[u8], der_signature: &[u8]) -> bool {
        match self {
            VerifyingKey::P256(k) => p256::ecdsa::Signature::from_der(der_signature).is_ok_and(|s| k.verify(message, &s).is_ok()),
            VerifyingKey::P384(k) => p384::ecdsa::Signature::from_der(der_signature).is_ok_and(|s| k.verify(message, &s).is_ok()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE_PUB: &str = include_str!("../../../../shared/data/oms/model-transparency-fixtures/keys/signing-key-pub.pem");

    #[test]
    fn fixture_key_hint_matches_model_signing() {
        let key = VerifyingKey::from_pem(FIXTURE_PUB).unwrap();
        assert_eq!(key.curve(), "P-384");
        assert_eq!(key.hint(), "e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e");
    }

    #[test]
    fn sign_then_verify_on_both_curves() {
        let p256 = SigningKey::P256(p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap());
        let p384 = SigningKey::P384(p384::ecdsa::SigningKey::from_slice(&[7u8; 48]).unwrap());
        for key in [p256, p384] {
            let sig = key.sign(b"message");
            assert!(key.verifying_key().verify(b"message", &sig));
            assert!(!key.verifying_key().verify(b"messagE", &sig));
            assert!(!key.verifying_key().verify(b"message", &sig[1..]));
            let round = VerifyingKey::from_pem(&key.verifying_key().spki_pem()).unwrap();
            assert_eq!(round, key.verifying_key());
        }
    }

    #[test]
    fn unusable_pem_is_a_clear_error() {
        assert!(SigningKey::from_pem("nothing here").is_err());
        assert!(SigningKey::from_pem("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n").is_err());
        assert!(VerifyingKey::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n").is_err());
    }
}
