//! Signed tree heads: C2SP tlog-checkpoint bodies (`<origin>\n<size>\n<base64 root>\n`) signed as
//! C2SP signed notes with Ed25519.
//!
//! The key name is the log's origin: a checkpoint signed by key `warden.example/audit` must say
//! `warden.example/audit` on its first line. Keys use the signed-note text encodings:
//! `PRIVATE+KEY+<name>+<keyid>+<base64>` (secret) and `<name>+<keyid>+<base64>` (public).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use signed_note::{Note, NoteError, StandardSigner, StandardVerifier, VerifierList};

use crate::tree::{Hash, hash_to_base64};

/// Largest signed checkpoint note accepted (a checkpoint is a few hundred bytes).
pub const MAX_NOTE_BYTES: usize = 64 * 1024;

/// Why a key could not be loaded or a checkpoint could not be signed or verified.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The key string is not a signed-note Ed25519 key.
    #[error("malformed {kind} key: expected {expected}")]
    MalformedKey {
        /// `signing` or `verifier`.
        kind: &'static str,
        /// The expected shape.
        expected: &'static str,
    },
    /// A key name is not a valid origin.
    #[error("invalid key name `{0}`: it must be non-empty and contain no spaces, `+` or control characters")]
    InvalidName(String),
    /// The note is not a well-formed signed note.
    #[error("malformed signed note (expected text, a blank line, then `— <name> <signature>` lines)")]
    MalformedNote,
    /// The note is not signed by the trusted key.
    #[error("checkpoint is not signed by the trusted key {expected}; it carries signatures from: {found}")]
    UnknownKey {
        /// The trusted key's name and id.
        expected: String,
        /// Names and ids of the keys that did sign.
        found: String,
    },
    /// A signature by the trusted key does not verify.
    #[error("bad signature from {key}: the checkpoint was altered or signed by another key with the same id")]
    BadSignature {
        /// The key's name and id.
        key: String,
    },
    /// The signed text is not a checkpoint body.
    #[error("signed text is not a checkpoint (expected `<origin>\\n<size>\\n<base64 root>\\n`)")]
    MalformedBody,
    /// The checkpoint is for another log.
    #[error("checkpoint is for origin `{found}`, expected `{expected}`")]
    WrongOrigin {
        /// The trusted origin.
        expected: String,
        /// The origin in the checkpoint.
        found: String,
    },
    /// Signing failed.
    #[error("signing failed: {0}")]
    Signing(String),
}

/// A tree head: the log's origin, its size and its root hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The log's name (the signing key's name).
    pub origin: String,
    /// Number of entries the tree covers.
    pub size: u64,
    /// RFC 6962 root of those entries, base64 in JSON.
    #[serde(with = "base64_hash")]
    pub root: Hash,
}

mod base64_hash {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    use crate::tree::{Hash, hash_from_base64, hash_to_base64};

    pub fn serialize<S: Serializer>(hash: &Hash, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hash_to_base64(hash))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Hash, D::Error> {
        let text = String::deserialize(d)?;
        hash_from_base64(&text).ok_or_else(|| D::Error::custom("expected base64 of a 32-byte hash"))
    }
}

impl Checkpoint {
    /// The C2SP checkpoint body: `<origin>\n<size>\n<base64 root>\n`.
    pub fn body(&self) -> String {
        format!("{}\n{}\n{}\n", self.origin, self.size, hash_to_base64(&self.root))
    }

    /// Parses a checkpoint body (extension lines after the root are allowed and ignored).
    pub fn parse_body(text: &[u8]) -> Result<Checkpoint, CheckpointError> {
        if text.len() > MAX_NOTE_BYTES {
            return Err(CheckpointError::MalformedBody);
        }
        let parsed = tlog_tiles::Checkpoint::from_bytes(text).map_err(|_| CheckpointError::MalformedBody)?;
        Ok(Checkpoint { origin: parsed.origin().to_owned(), size: parsed.size(), root: *parsed.hash() })
    }
}

fn check_name(name: &str) -> Result<(), CheckpointError> {
    // signed_note rejects spaces and `+`; control characters would make the note unsignable.
    if !signed_note::is_key_name_valid(name) || name.chars().any(char::is_control) {
        return Err(CheckpointError::InvalidName(name.to_owned()));
    }
    Ok(())
}

/// Signs checkpoints with an Ed25519 signed-note key.
#[derive(Clone)]
pub struct CheckpointSigner {
    signer: StandardSigner,
    origin: String,
    verifier_key: String,
}

impl std::fmt::Debug for CheckpointSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret key.
        f.debug_struct("CheckpointSigner").field("verifier_key", &self.verifier_key).finish_non_exhaustive()
    }
}

const SKEY_SHAPE: &str = "PRIVATE+KEY+<name>+<8 hex digit key id>+<base64 Ed25519 seed>";
const VKEY_SHAPE: &str = "<name>+<8 hex digit key id>+<base64 Ed25519 public key>";

impl CheckpointSigner {
    /// Loads a signing key `PRIVATE+KEY+<name>+<keyid>+<base64>`; the name becomes the origin.
    pub fn new(skey: &str) -> Result<Self, CheckpointError> {
        let malformed = CheckpointError::MalformedKey { kind: "signing", expected: SKEY_SHAPE };
        let signer = StandardSigner::new(skey.trim()).map_err(|_| malformed)?;
        let origin = signed_note::Signer::name(&signer).to_owned();
        check_name(&origin)?;
        let verifier_key = verifier_key_for(skey.trim(), &origin)
            .ok_or(CheckpointError::MalformedKey { kind: "signing", expected: SKEY_SHAPE })?;
        Ok(CheckpointSigner { signer, origin, verifier_key })
    }

    /// Generates a new key pair for log `name`: `(signing key, verifier key)` strings.
    pub fn generate(name: &str) -> Result<(String, String), CheckpointError> {
        check_name(name)?;
        Ok(signed_note::generate_key(&mut rand_core::OsRng, name))
    }

    /// The origin every checkpoint this signer produces carries.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The matching verifier key string, to publish.
    pub fn verifier_key(&self) -> &str {
        &self.verifier_key
    }

    /// The signed note for the tree of `size` entries with `root`.
    pub fn sign(&self, size: u64, root: &Hash) -> Result<String, CheckpointError> {
        let body = Checkpoint { origin: self.origin.clone(), size, root: *root }.body();
        let mut note = Note::new(body.as_bytes(), &[]).map_err(|e| CheckpointError::Signing(e.to_string()))?;
        note.add_sigs(&[&self.signer]).map_err(|e| CheckpointError::Signing(e.to_string()))?;
        String::from_utf8(note.to_bytes()).map_err(|e| CheckpointError::Signing(e.to_string()))
    }
}

/// The verifier key for a signing key string (signed_note keeps the public key private).
fn verifier_key_for(skey: &str, name: &str) -> Option<String> {
    // Base64 may itself contain `+`: the key is whatever follows the fourth separator.
    let encoded = skey.splitn(5, '+').nth(4)?;
    let bytes = BASE64.decode(encoded).ok()?;
    let seed: [u8; 32] = bytes.get(1..)?.try_into().ok()?;
    let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
    Some(signed_note::new_ed25519_verifier_key(name, &public))
}

/// Verifies checkpoints signed by one trusted key.
#[derive(Clone)]
pub struct CheckpointVerifier {
    verifier: StandardVerifier,
    origin: String,
    key: String,
}

impl std::fmt::Debug for CheckpointVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckpointVerifier").field("key", &self.key).finish_non_exhaustive()
    }
}

impl CheckpointVerifier {
    /// Loads a verifier key `<name>+<keyid>+<base64>`; the name is the expected origin.
    pub fn new(vkey: &str) -> Result<Self, CheckpointError> {
        let verifier = StandardVerifier::new(vkey.trim())
            .map_err(|_| CheckpointError::MalformedKey { kind: "verifier", expected: VKEY_SHAPE })?;
        let origin = signed_note::Verifier::name(&verifier).to_owned();
        check_name(&origin)?;
        let key = format!("{}+{:08x}", origin, signed_note::Verifier::key_id(&verifier));
        Ok(CheckpointVerifier { verifier, origin, key })
    }

    /// The origin checkpoints must carry.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Checks the note's signature by the trusted key, then parses the checkpoint and checks its
    /// origin. Signatures by other keys are ignored.
    pub fn verify(&self, note: &[u8]) -> Result<Checkpoint, CheckpointError> {
        if note.len() > MAX_NOTE_BYTES {
            return Err(CheckpointError::MalformedNote);
        }
        let parsed = Note::from_bytes(note).map_err(|_| CheckpointError::MalformedNote)?;
        let known = VerifierList::new(vec![Box::new(self.verifier.clone())]);
        match parsed.verify(&known) {
            Ok(_) => {}
            Err(NoteError::UnverifiedNote) => {
                let found = signers_of(note).unwrap_or_else(|| "(none)".to_owned());
                return Err(CheckpointError::UnknownKey { expected: self.key.clone(), found });
            }
            Err(NoteError::InvalidSignature { .. }) => {
                return Err(CheckpointError::BadSignature { key: self.key.clone() });
            }
            Err(_) => return Err(CheckpointError::MalformedNote),
        }
        let checkpoint = Checkpoint::parse_body(parsed.text())?;
        if checkpoint.origin != self.origin {
            return Err(CheckpointError::WrongOrigin { expected: self.origin.clone(), found: checkpoint.origin });
        }
        Ok(checkpoint)
    }
}

/// `name+keyid` of every signature line, for error messages.
fn signers_of(note: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(note).ok()?;
    let (_, sigs) = text.rsplit_once("\n\n")?;
    let names: Vec<String> = sigs
        .lines()
        .filter_map(|line| signed_note::Signature::from_bytes(line.as_bytes()).ok())
        .map(|sig| format!("{}+{:08x}", sig.name(), sig.id()))
        .collect();
    (!names.is_empty()).then(|| names.join(", "))
}

#[cfg(test)]
#[path = "checkpoint_tests.rs"]
mod tests;
