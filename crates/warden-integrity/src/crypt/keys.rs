//! Recipients (`age1...` public keys, recipients files), identity files (`AGE-SECRET-KEY-1...`,
//! the `age-keygen` format) and passphrases (scrypt).

use std::path::{Path, PathBuf};
use std::str::FromStr;

use age::secrecy::SecretString;

use super::{CryptError, HeaderKind};

/// The scrypt work factor (log2 N) used when encrypting with a passphrase; the age CLI's value.
pub const DEFAULT_WORK_FACTOR: u8 = 18;

/// Largest recipients or identity file read, in bytes.
const MAX_KEY_FILE_BYTES: u64 = 16 << 20;

/// Parses one `age1...` X25519 public key.
pub fn parse_recipient(text: &str) -> Result<age::x25519::Recipient, CryptError> {
    let text = text.trim();
    if text.starts_with("ssh-") {
        return Err(CryptError::InvalidRecipient { value: text.to_owned(), reason: "SSH keys are not supported".into() });
    }
    if text.starts_with("AGE-SECRET-KEY-") {
        // Never echo a secret key back.
        return Err(CryptError::InvalidRecipient { value: "AGE-SECRET-KEY-1...".into(), reason: "this is a secret key; give its public key".into() });
    }
    age::x25519::Recipient::from_str(text).map_err(|reason| CryptError::InvalidRecipient { value: text.to_owned(), reason: reason.to_owned() })
}

/// Parses a recipients file: one `age1...` key per line, `#` comments and blank lines ignored.
pub fn parse_recipients_file(path: &Path) -> Result<Vec<age::x25519::Recipient>, CryptError> {
    let text = read_key_file(path)?;
    let mut recipients = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let recipient = parse_recipient(line).map_err(|e| CryptError::IdentityFile { path: path.to_owned(), reason: format!("line {}: {e}", number + 1) })?;
        recipients.push(recipient);
    }
    if recipients.is_empty() {
        return Err(CryptError::IdentityFile { path: path.to_owned(), reason: "holds no recipient".into() });
    }
    Ok(recipients)
}

/// Reads the identities of an age identity file (as written by `age-keygen` or `warden keygen age`).
pub fn load_identity_file(path: &Path) -> Result<Vec<Box<dyn age::Identity + Send + Sync>>, CryptError> {
    let text = read_key_file(path)?;
    let fail = |reason: String| CryptError::IdentityFile { path: path.to_owned(), reason };
    let file = age::IdentityFile::from_buffer(text.as_bytes()).map_err(|e| fail(e.to_string()))?;
    let identities = file.into_identities().map_err(|e| fail(e.to_string()))?;
    if identities.is_empty() {
        return Err(fail("holds no identity (expected a line starting with AGE-SECRET-KEY-1)".into()));
    }
    Ok(identities)
}

fn read_key_file(path: &Path) -> Result<String, CryptError> {
    let fail = |reason: String| CryptError::IdentityFile { path: path.to_owned(), reason };
    let meta = std::fs::metadata(path).map_err(|e| fail(e.to_string()))?;
    if meta.len() > MAX_KEY_FILE_BYTES {
        return Err(fail(format!("larger than {MAX_KEY_FILE_BYTES} bytes")));
    }
    let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    String::from_utf8(bytes).map_err(|_| fail("is not UTF-8 text".into()))
}

/// A passphrase recipient with a fixed work factor (the crate would otherwise calibrate one).
pub fn passphrase_recipient(passphrase: SecretString, work_factor: u8) -> Result<age::scrypt::Recipient, CryptError> {
    if !(1..=30).contains(&work_factor) {
        return Err(CryptError::Recipients(format!("scrypt work factor {work_factor} is outside 1..=30")));
    }
    let mut recipient = age::scrypt::Recipient::new(passphrase);
    recipient.set_work_factor(work_factor);
    Ok(recipient)
}

/// A passphrase identity refusing work factors above `max_work_factor`.
pub fn passphrase_identity(passphrase: SecretString, max_work_factor: u8) -> age::scrypt::Identity {
    let mut identity = age::scrypt::Identity::new(passphrase);
    identity.set_max_work_factor(max_work_factor);
    identity
}

/// Who can open what `warden encrypt` writes: public keys, or one passphrase (age forbids mixing).
pub enum RecipientSet {
    /// X25519 public keys.
    Keys(Vec<age::x25519::Recipient>),
    /// A passphrase, stretched with scrypt.
    Passphrase(age::scrypt::Recipient),
}

impl RecipientSet {
    /// The recipients as the header writer takes them.
    pub fn as_dyn(&self) -> Vec<&dyn age::Recipient> {
        match self {
            RecipientSet::Keys(keys) => keys.iter().map(|k| k as &dyn age::Recipient).collect(),
            RecipientSet::Passphrase(recipient) => vec![recipient as &dyn age::Recipient],
        }
    }
}

/// Where a passphrase comes from, asked at most once.
pub type PassphraseSource<'a> = &'a mut dyn FnMut() -> Result<SecretString, CryptError>;

/// The keys `warden decrypt` may use: identity files, and a passphrase obtained on demand.
pub struct DecryptKeys<'a> {
    /// Identity files given with `-i`.
    pub identity_files: Vec<PathBuf>,
    /// Asked for a passphrase the first time a passphrase-protected file is met.
    pub passphrase: Option<PassphraseSource<'a>>,
    /// Largest scrypt work factor accepted.
    pub max_work_factor: u8,
    loaded: Option<Vec<std::sync::Arc<dyn age::Identity + Send + Sync>>>,
    cached_passphrase: Option<SecretString>,
}

impl<'a> DecryptKeys<'a> {
    /// Keys from identity files and/or a passphrase source.
    pub fn new(identity_files: Vec<PathBuf>, passphrase: Option<PassphraseSource<'a>>, max_work_factor: u8) -> Self {
        DecryptKeys { identity_files, passphrase, max_work_factor, loaded: None, cached_passphrase: None }
    }

    /// The identities to try on a header of this kind.
    pub fn identities_for(&mut self, kind: HeaderKind) -> Result<Vec<Box<dyn age::Identity + Send + Sync>>, CryptError> {
        match kind {
            HeaderKind::Passphrase => {
                if self.cached_passphrase.is_none() {
                    let source = self.passphrase.as_mut().ok_or(CryptError::KeyKind(
                        "this file is protected by a passphrase; decrypt with --passphrase (or --passphrase-file, WARDEN_PASSPHRASE)",
                    ))?;
                    self.cached_passphrase = Some(source()?);
                }
                let passphrase = self.cached_passphrase.clone().expect("set above");
                Ok(vec![Box::new(passphrase_identity(passphrase, self.max_work_factor))])
            }
            HeaderKind::Recipients => {
                if self.identity_files.is_empty() {
                    return Err(CryptError::KeyKind("this file is encrypted to public keys; give the identity file with -i KEY_FILE"));
                }
                if self.loaded.is_none() {
                    let mut all = Vec::new();
                    for path in &self.identity_files {
                        all.extend(load_identity_file(path)?.into_iter().map(std::sync::Arc::from));
                    }
                    self.loaded = Some(all);
                }
                let shared = self.loaded.as_ref().expect("loaded above");
                Ok(shared.iter().map(|identity| Box::new(Shared(identity.clone())) as Box<dyn age::Identity + Send + Sync>).collect())
            }
        }
    }
}

/// Lets one loaded identity serve every file of a directory.
struct Shared(std::sync::Arc<dyn age::Identity + Send + Sync>);

impl age::Identity for Shared {
    fn unwrap_stanza(&self, stanza: &age_core::format::Stanza) -> Option<Result<age_core::format::FileKey, age::DecryptError>> {
        self.0.unwrap_stanza(stanza)
    }

    fn unwrap_stanzas(&self, stanzas: &[age_core::format::Stanza]) -> Option<Result<age_core::format::FileKey, age::DecryptError>> {
        self.0.unwrap_stanzas(stanzas)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_refuse_secret_and_ssh_keys_without_echoing_secrets() {
        let secret = age::x25519::Identity::generate();
        let text = age::secrecy::ExposeSecret::expose_secret(&secret.to_string()).to_owned();
        let err = parse_recipient(&text).unwrap_err().to_string();
        assert!(!err.contains(&text[20..]), "{err}");
        assert!(parse_recipient("ssh-ed25519 AAAA").unwrap_err().to_string().contains("SSH"));
        assert!(parse_recipient("age1notakey").is_err());
        assert_eq!(parse_recipient(&secret.to_public().to_string()).unwrap().to_string(), secret.to_public().to_string());
    }
}
