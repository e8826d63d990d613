//! Signing a model: hash it, wrap the manifest in an in-toto statement, sign the statement's
//! DSSE pre-authentication encoding with an ECDSA key, and pack everything into a Sigstore
//! bundle (the OMS `key` method, or the `certificate` method when a chain is given).

use std::path::Path;

use crate::bundle::{Bundle, PAYLOAD_TYPE, VerificationMaterial, pae};
use crate::error::{Error, Result};
use crate::hash::{HashOptions, hash_model};
use crate::keys::{SigningKey, VerifyingKey, pem_blocks};
use crate::manifest::Manifest;
use crate::statement;

/// Who signs, and what the bundle says about them.
#[derive(Debug, Clone)]
pub enum Signer {
    /// A bare key: the bundle carries the public key's hint.
    Key(SigningKey),
    /// A key with its certificate: the bundle carries the certificate and its chain.
    Certificate {
        /// The private key matching the leaf certificate.
        key: SigningKey,
        /// DER certificates, signing certificate first.
        chain: Vec<Vec<u8>>,
    },
}

impl Signer {
    /// The certificate method: checks that the signing certificate holds `key`'s public key
    /// (model_signing refuses a mismatch too). `leaf_pem` and `chain_pem` are PEM text.
    pub fn with_certificate(key: SigningKey, leaf_pem: &str, chain_pem: &[String]) -> Result<Self> {
        use der::{Decode as _, Encode as _};
        let leaf = pem_blocks(leaf_pem)?
            .into_iter()
            .find(|b| b.label == "CERTIFICATE")
            .ok_or_else(|| Error::Key("no `CERTIFICATE` PEM block in the signing certificate file".into()))?;
        let cert = x509_cert::Certificate::from_der(&leaf.der).map_err(|e| Error::Key(format!("the signing certificate is not valid X.509: {e}")))?;
        let spki = cert.tbs_certificate().subject_public_key_info().to_der().map_err(|e| Error::Key(e.to_string()))?;
        if VerifyingKey::from_spki_der(&spki)? != key.verifying_key() {
            return Err(Error::Key("the signing certificate's public key does not match the private key".into()));
        }
        let mut chain = vec![leaf.der];
        for text in chain_pem {
            for block in pem_blocks(text)?.into_iter().filter(|b| b.label == "CERTIFICATE") {
                x509_cert::Certificate::from_der(&block.der).map_err(|e| Error::Key(format!("a chain certificate is not valid X.509: {e}")))?;
                chain.push(block.der);
            }
        }
        Ok(Signer::Certificate { key, chain })
    }

    fn key(&self) -> &SigningKey {
        match self {
            Signer::Key(key) | Signer::Certificate { key, .. } => key,
        }
    }
}

/// Signs an already computed manifest, returning the bundle.
pub fn sign_manifest(manifest: &Manifest, signer: &Signer) -> Bundle {
    let payload = statement::to_json(manifest);
    let signature = signer.key().sign(&pae(PAYLOAD_TYPE, &payload));
    let material = match signer {
        Signer::Key(key) => VerificationMaterial::PublicKey { hint: Some(key.verifying_key().hint()) },
        Signer::Certificate { chain, .. } => VerificationMaterial::CertificateChain(chain.clone()),
    };
    Bundle { material, payload_type: PAYLOAD_TYPE.into(), payload, signature }
}

/// Hashes the model at `root` and signs it; the caller writes [`Bundle::to_json`] out.
pub fn sign_model(root: &Path, options: &HashOptions, signer: &Signer) -> Result<(Manifest, Bundle)> {
    let manifest = hash_model(root, options)?;
    let bundle = sign_manifest(&manifest, signer);
    Ok((manifest, bundle))
}
