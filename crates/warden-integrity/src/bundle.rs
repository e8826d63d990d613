//! The Sigstore bundle (v0.3 JSON) that carries an OMS signature, and the DSSE envelope inside
//! it: writing them as model_signing does, and reading them from untrusted bytes with size
//! limits and precise errors.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

/// The bundle media type model_signing writes and requires.
pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// The DSSE payload type of an in-toto statement.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// Largest bundle file read by default (a sharded manifest of a huge model stays far below).
pub const DEFAULT_MAX_BUNDLE_BYTES: u64 = 64 << 20;

/// DSSE pre-authentication encoding: what is actually signed.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!("DSSEv1 {} {} {} ", payload_type.len(), payload_type, payload.len()).into_bytes();
    out.extend_from_slice(payload);
    out
}

/// How a bundle says its signature can be checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerificationMaterial {
    /// A bare public key, identified by `hint` (SHA-256 hex of its SPKI PEM), possibly empty.
    PublicKey {
        /// The key hint, if present.
        hint: Option<String>,
    },
    /// A signing certificate followed by the rest of its chain, DER.
    CertificateChain(Vec<Vec<u8>>),
    /// A single (Fulcio) certificate with transparency-log entries: Sigstore keyless signing.
    Keyless,
}

/// A parsed bundle: the verification material plus the DSSE envelope's contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    /// How to check the signature.
    pub material: VerificationMaterial,
    /// The envelope's payload type.
    pub payload_type: String,
    /// The decoded payload (the statement JSON).
    pub payload: Vec<u8>,
    /// The first signature, decoded (DER ECDSA).
    pub signature: Vec<u8>,
}

/// Why a bundle could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed signature bundle: {0}")]
pub struct BundleError(pub String);

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BundleJson {
    media_type: String,
    verification_material: MaterialJson,
    dsse_envelope: EnvelopeJson,
}

#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct MaterialJson {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    public_key: Option<PublicKeyJson>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    x509_certificate_chain: Option<ChainJson>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    certificate: Option<CertJson>,
    #[serde(default)]
    tlog_entries: Vec<serde_json::Value>,
}

#[derive(Serialize, Deserialize)]
struct PublicKeyJson {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    hint: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct ChainJson {
    certificates: Vec<CertJson>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CertJson {
    raw_bytes: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EnvelopeJson {
    payload: String,
    payload_type: String,
    signatures: Vec<SignatureJson>,
}

#[derive(Serialize, Deserialize)]
struct SignatureJson {
    sig: String,
    #[serde(default)]
    keyid: Option<String>,
}

impl Bundle {
    /// Serialises the bundle as compact JSON, field for field as model_signing writes it.
    pub fn to_json(&self) -> Vec<u8> {
        let material = match &self.material {
            VerificationMaterial::PublicKey { hint } => MaterialJson { public_key: Some(PublicKeyJson { hint: hint.clone() }), ..Default::default() },
            VerificationMaterial::CertificateChain(chain) => MaterialJson {
                x509_certificate_chain: Some(ChainJson { certificates: chain.iter().map(|der| CertJson { raw_bytes: B64.encode(der) }).collect() }),
                ..Default::default()
            },
            VerificationMaterial::Keyless => MaterialJson::default(),
        };
        let json = BundleJson {
            media_type: BUNDLE_MEDIA_TYPE.into(),
            verification_material: material,
            dsse_envelope: EnvelopeJson {
                payload: B64.encode(&self.payload),
                payload_type: self.payload_type.clone(),
                signatures: vec![SignatureJson { sig: B64.encode(&self.signature), keyid: Some(String::new()) }],
            },
        };
        serde_json::to_vec(&json).expect("plain structs serialise")
    }

    /// Parses bundle bytes. Checks the media type and that exactly one kind of verification
    /// material and at least one signature are present; does not check any signature.
    pub fn from_json(bytes: &[u8]) -> Result<Self, BundleError> {
        let err = |m: String| BundleError(m);
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(err("the file is empty".into()));
        }
        let json: BundleJson = serde_json::from_slice(bytes).map_err(|e| err(e.to_string()))?;
        if json.media_type != BUNDLE_MEDIA_TYPE {
            return Err(err(format!("media type `{}`, expected `{BUNDLE_MEDIA_TYPE}`", json.media_type)));
        }
        let m = json.verification_material;
        let material = match (m.public_key, m.x509_certificate_chain, m.certificate) {
            (Some(key), None, None) => VerificationMaterial::PublicKey { hint: key.hint.filter(|h| !h.is_empty()) },
            (None, Some(chain), None) => {
                if chain.certificates.is_empty() {
                    return Err(err("the certificate chain is empty".into()));
                }
                let ders = chain.certificates.iter().map(|c| B64.decode(c.raw_bytes.as_bytes()).map_err(|e| err(format!("certificate is not base64: {e}")))).collect::<Result<_, _>>()?;
                VerificationMaterial::CertificateChain(ders)
            }
            (None, None, Some(_)) => VerificationMaterial::Keyless,
            (None, None, None) => return Err(err("no verification material (public key, certificate chain or certificate)".into())),
            _ => return Err(err("more than one kind of verification material".into())),
        };
        let env = json.dsse_envelope;
        let first = env.signatures.first().ok_or_else(|| err("the DSSE envelope has no signature".into()))?;
        let payload = B64.decode(env.payload.as_bytes()).map_err(|e| err(format!("the DSSE payload is not base64: {e}")))?;
        let signature = B64.decode(first.sig.as_bytes()).map_err(|e| err(format!("the DSSE signature is not base64: {e}")))?;
        Ok(Bundle { material, payload_type: env.payload_type, payload, signature })
    }

    /// The bytes the signature covers.
    pub fn signed_bytes(&self) -> Vec<u8> {
        pae(PAYLOAD_TYPE, &self.payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_dsse_spec_example() {
        // From the DSSE protocol document.
        assert_eq!(pae("http://example.com/HelloWorld", b"hello world"), b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec());
    }

    #[test]
    fn bundles_round_trip() {
        let b = Bundle {
            material: VerificationMaterial::CertificateChain(vec![vec![1, 2], vec![3]]),
            payload_type: PAYLOAD_TYPE.into(),
            payload: b"{}".to_vec(),
            signature: vec![9; 70],
        };
        assert_eq!(Bundle::from_json(&b.to_json()).unwrap(), b);
        let k = Bundle { material: VerificationMaterial::PublicKey { hint: Some("ab".into()) }, ..b };
        let text = String::from_utf8(k.to_json()).unwrap();
        assert!(text.starts_with(r#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"ab"},"tlogEntries":[]},"dsseEnvelope":{"payload":"#), "{text}");
        assert_eq!(Bundle::from_json(text.as_bytes()).unwrap(), k);
    }

    #[test]
    fn broken_bundles_are_errors() {
        assert!(Bundle::from_json(b"").is_err());
        assert!(Bundle::from_json(b"{\"mediaType\":\"x\"}").is_err());
        assert!(Bundle::from_json(br#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{},"dsseEnvelope":{"payload":"","payloadType":"x","signatures":[]}}"#).is_err());
    }
}
