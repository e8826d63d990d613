//! The server's own secrets, kept in `<data dir>/keys/` (mode 0700, files 0600) and created on
//! first start: a master key that seals secrets stored in the database (TOTP seeds), the age
//! identity that encrypts registry blobs at rest, and the Ed25519 key that signs audit checkpoints.
//!
//! Several instances sharing one PostgreSQL database must share these files too (the same data
//! directory on shared storage, or copies of `keys/`): a blob sealed by one must open on another.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use age::secrecy::ExposeSecret;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use hmac::Mac;
use zeroize::Zeroizing;

/// Errors loading or creating the server keys.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading or writing a key file failed.
    #[error("`{path}`: {source}")]
    Io {
        /// The key file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A key file exists but is not what it should be.
    #[error("`{path}`: {reason}")]
    Invalid {
        /// The key file.
        path: PathBuf,
        /// Why it was refused (never its content).
        reason: String,
    },
    /// A sealed value did not open (wrong master key or tampered data).
    #[error("a sealed secret does not open with this server's master key")]
    Unseal,
}

/// The loaded server keys.
pub struct ServerKeys {
    master: Zeroizing<[u8; 32]>,
    /// Encrypts registry blobs.
    pub blob_recipient: age::x25519::Recipient,
    blob_identity: age::x25519::Identity,
    /// The signed-note private key of audit checkpoints (`PRIVATE+KEY+...`).
    pub audit_signer: Zeroizing<String>,
    /// The matching verifier key, published at `/api/v1/audit/key`.
    pub audit_verifier: String,
}

impl std::fmt::Debug for ServerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerKeys").field("audit_verifier", &self.audit_verifier).finish_non_exhaustive()
    }
}

impl ServerKeys {
    /// Loads the keys from `<data_dir>/keys`, creating missing ones. `audit_origin` names the
    /// checkpoint key when it is created.
    pub fn load_or_create(data_dir: &Path, audit_origin: &str) -> Result<ServerKeys, KeyError> {
        let dir = data_dir.join("keys");
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|source| KeyError::Io { path: dir.clone(), source })?;
        let master_path = dir.join("master.key");
        let master_hex = read_or_create(&master_path, || {
            let mut bytes = Zeroizing::new([0u8; 32]);
            getrandom::fill(&mut *bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
            Ok(Zeroizing::new(hex::encode(*bytes)))
        })?;
        let mut master = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(master_hex.trim(), &mut *master)
            .map_err(|_| KeyError::Invalid { path: master_path.clone(), reason: "not 64 hex digits".into() })?;

        let blob_path = dir.join("registry.age");
        let blob_text = read_or_create(&blob_path, || {
            let pair = warden_integrity::crypt::keygen::age_key_pair(std::time::SystemTime::now());
            Ok(pair.identity_file)
        })?;
        let secret_line = blob_text.lines().find(|l| l.starts_with("AGE-SECRET-KEY-")).ok_or_else(|| KeyError::Invalid {
            path: blob_path.clone(),
            reason: "no AGE-SECRET-KEY line".into(),
        })?;
        let blob_identity = age::x25519::Identity::from_str(secret_line)
            .map_err(|e| KeyError::Invalid { path: blob_path.clone(), reason: e.to_string() })?;
        let blob_recipient = blob_identity.to_public();

        let audit_path = dir.join("audit-checkpoint.key");
        let audit_signer = read_or_create(&audit_path, || {
            let (signer, _verifier) = warden_audit::CheckpointSigner::generate(audit_origin)
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            Ok(Zeroizing::new(format!("{signer}\n")))
        })?;
        let audit_signer = Zeroizing::new(audit_signer.trim().to_owned());
        let signer = warden_audit::CheckpointSigner::new(&audit_signer)
            .map_err(|e| KeyError::Invalid { path: audit_path.clone(), reason: e.to_string() })?;
        let audit_verifier = signer.verifier_key().to_owned();
        Ok(ServerKeys { master, blob_recipient, blob_identity, audit_signer, audit_verifier })
    }

    /// The identity that opens registry blobs.
    pub fn blob_identity(&self) -> &age::x25519::Identity {
        &self.blob_identity
    }

    /// The blob identity as age's `AGE-SECRET-KEY-1...` text (for operators who open a blob with `age -d`).
    pub fn blob_identity_text(&self) -> Zeroizing<String> {
        Zeroizing::new(self.blob_identity.to_string().expose_secret().to_owned())
    }

    /// A key derived from the master key for one purpose (`label`).
    pub fn derive(&self, label: &str) -> Zeroizing<[u8; 32]> {
        let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(&*self.master).expect("HMAC takes any key length");
        mac.update(label.as_bytes());
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(&mac.finalize().into_bytes());
        out
    }

    /// Encrypts a small secret for storage in the database (base64 of nonce || ciphertext).
    pub fn seal(&self, label: &str, plaintext: &[u8]) -> String {
        let key = self.derive(label);
        let cipher = ChaCha20Poly1305::new_from_slice(&*key).expect("32-byte key");
        let mut nonce = [0u8; 12];
        // getrandom failing means the OS has no entropy source at all; nothing can be sealed then.
        getrandom::fill(&mut nonce).expect("the operating system's random source");
        let mut out = nonce.to_vec();
        out.extend(cipher.encrypt(Nonce::from_slice(&nonce), plaintext).expect("ChaCha20-Poly1305 never fails to seal"));
        B64.encode(out)
    }

    /// Opens what [`ServerKeys::seal`] produced with the same label.
    pub fn unseal(&self, label: &str, sealed: &str) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        let bytes = B64.decode(sealed).map_err(|_| KeyError::Unseal)?;
        if bytes.len() < 12 + 16 {
            return Err(KeyError::Unseal);
        }
        let key = self.derive(label);
        let cipher = ChaCha20Poly1305::new_from_slice(&*key).expect("32-byte key");
        let (nonce, ciphertext) = bytes.split_at(12);
        cipher.decrypt(Nonce::from_slice(nonce), ciphertext).map(Zeroizing::new).map_err(|_| KeyError::Unseal)
    }
}

/// Reads `path`, or creates it with `make()` (0600, exclusive: two instances starting together
/// keep the first file written and both read it back).
fn read_or_create(path: &Path, make: impl FnOnce() -> std::io::Result<Zeroizing<String>>) -> Result<Zeroizing<String>, KeyError> {
    let io = |source| KeyError::Io { path: path.to_owned(), source };
    match fs::read_to_string(path) {
        Ok(text) => {
            let mode = fs::metadata(path).map_err(io)?.permissions().mode();
            if mode & 0o077 != 0 {
                return Err(KeyError::Invalid {
                    path: path.to_owned(),
                    reason: format!("readable by others (mode {:o}); run `chmod 600` on it", mode & 0o777),
                });
            }
            return Ok(Zeroizing::new(text));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    let text = make().map_err(io)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut temp = tempfile::Builder::new().prefix(".key-").tempfile_in(dir).map_err(io)?;
    temp.write_all(text.as_bytes()).map_err(io)?;
    temp.as_file().sync_all().map_err(io)?;
    match temp.persist_noclobber(path) {
        Ok(_) => Ok(text),
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
            fs::read_to_string(path).map(Zeroizing::new).map_err(io)
        }
        Err(e) => Err(io(e.error)),
    }
}

/// Opens `path` for writing a new private file (0600), failing if it exists.
pub fn create_private(path: &Path) -> std::io::Result<fs::File> {
    fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_created_once_private_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let first = ServerKeys::load_or_create(dir.path(), "warden.test").unwrap();
        let again = ServerKeys::load_or_create(dir.path(), "warden.test").unwrap();
        assert_eq!(first.audit_verifier, again.audit_verifier);
        assert_eq!(first.blob_recipient.to_string(), again.blob_recipient.to_string());
        for name in ["master.key", "registry.age", "audit-checkpoint.key"] {
            let mode = fs::metadata(dir.path().join("keys").join(name)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
        let sealed = first.seal("totp", b"JBSWY3DPEHPK3PXP");
        assert_eq!(&again.unseal("totp", &sealed).unwrap()[..], b"JBSWY3DPEHPK3PXP");
        assert!(matches!(again.unseal("other", &sealed), Err(KeyError::Unseal)));
    }

    #[test]
    fn a_world_readable_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        ServerKeys::load_or_create(dir.path(), "warden.test").unwrap();
        let master = dir.path().join("keys/master.key");
        fs::set_permissions(&master, fs::Permissions::from_mode(0o644)).unwrap();
        let err = ServerKeys::load_or_create(dir.path(), "warden.test").unwrap_err();
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }
}
