//! The provider's signing keys (RSA 2048 for RS256, P-256 for ES256), their JWKS and compact JWS
//! signing. Written out rather than through a JWT crate: the whole format is three base64url
//! parts, and owning it lets a test provider sign with the wrong key on purpose.

use std::sync::OnceLock;
use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::signature::{SignatureEncoding as _, Signer as _};
use rsa::traits::PublicKeyParts as _;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::SigningAlg;
use crate::error::{Error, Result};

/// One RSA and one P-256 key with their key ids.
pub(crate) struct KeyPair {
    rsa: rsa::pkcs1v15::SigningKey<Sha256>,
    rsa_kid: String,
    ec: p256::ecdsa::SigningKey,
    ec_kid: String,
}

impl KeyPair {
    fn generate() -> Result<Self> {
        let started = Instant::now();
        let rsa = rsa::PrivateKey::new(&mut getrandom::SysRng, 2048)
            .map_err(|e| Error::KeyGeneration { alg: "RSA 2048", reason: e.to_string() })?;
        tracing::debug!("generated an RSA 2048 test key in {:?}", started.elapsed());
        let mut scalar = [0u8; 32];
        getrandom::fill(&mut scalar).map_err(|e| Error::KeyGeneration { alg: "P-256", reason: e.to_string() })?;
        let ec = p256::ecdsa::SigningKey::from_slice(&scalar)
            .map_err(|e| Error::KeyGeneration { alg: "P-256", reason: e.to_string() })?;
        let rsa_kid = format!("rsa-{}", short_hash(&rsa.n_bytes()));
        let ec_kid = format!("ec-{}", short_hash(&ec.verifying_key().to_sec1_point(false).to_bytes()));
        Ok(Self { rsa: rsa::pkcs1v15::SigningKey::new(rsa), rsa_kid, ec, ec_kid })
    }

    /// The public keys as a JWK Set.
    pub(crate) fn jwks(&self) -> Value {
        let rsa = self.rsa.as_ref();
        let point = self.ec.verifying_key().to_sec1_point(false);
        let coordinate = |c: Option<&[u8]>| URL_SAFE_NO_PAD.encode(c.unwrap_or_default());
        json!({ "keys": [
            {
                "kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.rsa_kid,
                "n": URL_SAFE_NO_PAD.encode(rsa.n_bytes()),
                "e": URL_SAFE_NO_PAD.encode(rsa.e_bytes()),
            },
            {
                "kty": "EC", "use": "sig", "alg": "ES256", "kid": self.ec_kid, "crv": "P-256",
                "x": coordinate(point.x().map(|x| x.as_slice())),
                "y": coordinate(point.y().map(|y| y.as_slice())),
            },
        ]})
    }

    /// A compact JWS of `claims`. `kid_of` names the key id to put in the header, so an impostor
    /// key can claim to be the published one.
    pub(crate) fn sign(&self, alg: SigningAlg, claims: &Value, kid_of: &KeyPair) -> String {
        let kid = match alg {
            SigningAlg::Rs256 => &kid_of.rsa_kid,
            SigningAlg::Es256 => &kid_of.ec_kid,
        };
        let header = json!({ "alg": alg.name(), "typ": "JWT", "kid": kid });
        let input = format!("{}.{}", encode_json(&header), encode_json(claims));
        let signature = match alg {
            SigningAlg::Rs256 => self.rsa.sign(input.as_bytes()).to_vec(),
            SigningAlg::Es256 => {
                let signature: p256::ecdsa::Signature = self.ec.sign(input.as_bytes());
                signature.to_bytes().to_vec()
            }
        };
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}

/// A provider's keys: its own published pair (fresh per provider, so one provider's tokens never
/// verify against another's JWKS) and an impostor pair that no provider publishes, generated once
/// per process.
pub(crate) struct Keys {
    pub(crate) published: KeyPair,
    pub(crate) impostor: &'static KeyPair,
}

impl Keys {
    pub(crate) fn generate() -> Result<Self> {
        static IMPOSTOR: OnceLock<Result<KeyPair, String>> = OnceLock::new();
        let impostor = IMPOSTOR
            .get_or_init(|| KeyPair::generate().map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|reason| Error::KeyGeneration { alg: "impostor", reason: reason.clone() })?;
        Ok(Self { published: KeyPair::generate()?, impostor })
    }
}

fn encode_json(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

fn short_hash(bytes: &[u8]) -> String {
    Sha256::digest(bytes)[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// `at_hash`: the left half of the access token's SHA-256, base64url (both algorithms use
/// SHA-256).
pub(crate) fn access_token_hash(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(&Sha256::digest(access_token.as_bytes())[..16])
}

/// `BASE64URL(SHA256(verifier)) == challenge` (RFC 7636 S256).
pub(crate) fn pkce_s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A random, URL-safe token for codes and access tokens.
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    // The OS generator failing is not something a test can recover from.
    getrandom::fill(&mut bytes).expect("the OS random number generator works");
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_rfc_7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(pkce_s256(verifier), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn jwks_publishes_both_keys_with_their_kids() {
        let keys = Keys::generate().expect("keys");
        let jwks = keys.published.jwks();
        let kids: Vec<&str> = jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
        assert_eq!(kids, [keys.published.rsa_kid.as_str(), keys.published.ec_kid.as_str()]);
        assert_eq!(jwks["keys"][0]["e"], "AQAB");
        assert_eq!(URL_SAFE_NO_PAD.decode(jwks["keys"][0]["n"].as_str().unwrap()).unwrap().len(), 256);
        assert_eq!(URL_SAFE_NO_PAD.decode(jwks["keys"][1]["x"].as_str().unwrap()).unwrap().len(), 32);
        assert_ne!(keys.published.rsa_kid, keys.impostor.rsa_kid);
        let other_provider = Keys::generate().expect("keys");
        assert_ne!(other_provider.published.rsa_kid, keys.published.rsa_kid);
        assert_eq!(other_provider.impostor.rsa_kid, keys.impostor.rsa_kid);
    }

    #[test]
    fn es256_signatures_are_64_bytes_of_r_and_s() {
        let keys = Keys::generate().expect("keys");
        let token = keys.published.sign(SigningAlg::Es256, &json!({"sub": "a"}), &keys.published);
        let signature = token.rsplit('.').next().unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(signature).unwrap().len(), 64);
    }
}
