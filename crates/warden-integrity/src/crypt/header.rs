//! The age v1 header, written and checked by the `age` crate. The crate keeps the file key to
//! itself and only offers a sequential payload stream, so recipients and identities are wrapped
//! in thin decorators that see the file key go by; the payload key is then derived exactly as
//! age does (HKDF-SHA-256, salt = the 16-byte nonce after the header, info = "payload") and the
//! payload is handled by [`super::payload`] on every core.

use std::collections::HashSet;
use std::io::{self, Read};
use std::sync::Mutex;

use age::secrecy::ExposeSecret;
use age_core::format::{FileKey, Stanza};
use zeroize::Zeroizing;

use super::payload::PayloadKey;
use super::CryptError;

/// Bytes of the payload nonce that follows the header.
const NONCE_SIZE: usize = 16;

/// Bounds on an untrusted header.
#[derive(Debug, Clone, Copy)]
pub struct HeaderLimits {
    /// Largest header accepted, in bytes (recipient stanzas included).
    pub max_header_bytes: usize,
    /// Largest scrypt work factor (log2 N) accepted from a passphrase-encrypted file.
    pub max_work_factor: u8,
}

impl Default for HeaderLimits {
    fn default() -> Self {
        // 22 is the age CLI's own bound (about 4 GiB of scrypt memory-time); 1 MiB holds
        // thousands of recipients.
        HeaderLimits { max_header_bytes: 1 << 20, max_work_factor: 22 }
    }
}

/// Remembers the file key the `age` crate hands to a recipient or identity.
#[derive(Default)]
struct FileKeySlot(Mutex<Option<Zeroizing<[u8; 16]>>>);

impl FileKeySlot {
    fn put(&self, key: &FileKey) {
        let mut slot = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *slot = Some(Zeroizing::new(*key.expose_secret()));
    }

    fn take(&self) -> Option<Zeroizing<[u8; 16]>> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take()
    }
}

struct SeeingRecipient<'a> {
    inner: &'a dyn age::Recipient,
    slot: &'a FileKeySlot,
}

impl age::Recipient for SeeingRecipient<'_> {
    fn wrap_file_key(&self, file_key: &FileKey) -> Result<(Vec<Stanza>, HashSet<String>), age::EncryptError> {
        self.slot.put(file_key);
        self.inner.wrap_file_key(file_key)
    }
}

struct SeeingIdentity<'a> {
    inner: &'a dyn age::Identity,
    slot: &'a FileKeySlot,
}

impl age::Identity for SeeingIdentity<'_> {
    fn unwrap_stanza(&self, stanza: &Stanza) -> Option<Result<FileKey, age::DecryptError>> {
        self.inner.unwrap_stanza(stanza)
    }

    fn unwrap_stanzas(&self, stanzas: &[Stanza]) -> Option<Result<FileKey, age::DecryptError>> {
        let result = self.inner.unwrap_stanzas(stanzas);
        if let Some(Ok(key)) = &result {
            self.slot.put(key);
        }
        result
    }
}

/// Builds a header for `recipients`: returns the header and payload nonce bytes to write first,
/// and the key of the payload that follows them.
pub fn seal_header(recipients: &[&dyn age::Recipient]) -> Result<(Vec<u8>, PayloadKey), CryptError> {
    let slot = FileKeySlot::default();
    let seeing: Vec<SeeingRecipient<'_>> = recipients.iter().map(|inner| SeeingRecipient { inner: *inner, slot: &slot }).collect();
    let encryptor = age::Encryptor::with_recipients(seeing.iter().map(|r| r as &dyn age::Recipient)).map_err(|e| CryptError::Recipients(e.to_string()))?;
    let mut bytes = Vec::new();
    // The crate writes the header and nonce at once; its stream writer is dropped unused.
    drop(encryptor.wrap_output(&mut bytes)?);
    let file_key = slot.take().ok_or_else(|| CryptError::Recipients("no recipient wrapped the file key".into()))?;
    let key = payload_key(&bytes, &file_key)?;
    Ok((bytes, key))
}

/// What a header needs to be opened.
pub enum HeaderKind {
    /// One scrypt stanza: the file is protected by a passphrase.
    Passphrase,
    /// Recipient stanzas (X25519 or others): an identity file is needed.
    Recipients,
}

/// Reads and authenticates the header at the start of `reader`, leaving `reader` at the first
/// payload byte. `identities_for` gets the kind of header and returns the identities to try.
pub fn open_header<R: Read>(
    reader: &mut R,
    limits: &HeaderLimits,
    identities_for: &mut dyn FnMut(HeaderKind) -> Result<Vec<Box<dyn age::Identity + Send + Sync>>, CryptError>,
) -> Result<PayloadKey, CryptError> {
    let mut recording = RecordingReader { inner: reader, bytes: Vec::new(), limit: limits.max_header_bytes + NONCE_SIZE };
    let decryptor = age::Decryptor::new(&mut recording).map_err(|e| header_error(e, false, limits))?;
    let passphrase = decryptor.is_scrypt();
    let identities = identities_for(if passphrase { HeaderKind::Passphrase } else { HeaderKind::Recipients })?;
    let slot = FileKeySlot::default();
    let seeing: Vec<SeeingIdentity<'_>> = identities.iter().map(|inner| SeeingIdentity { inner: inner.as_ref(), slot: &slot }).collect();
    // Success means one identity unwrapped the file key and the header MAC verified.
    let stream = decryptor.decrypt(seeing.iter().map(|i| i as &dyn age::Identity)).map_err(|e| header_error(e, passphrase, limits))?;
    drop(stream);
    let file_key = slot.take().ok_or(CryptError::NoMatchingIdentity)?;
    payload_key(&recording.bytes, &file_key)
}

/// HKDF-SHA-256(salt = nonce, info = "payload", ikm = file key), as in the age spec.
fn payload_key(header_and_nonce: &[u8], file_key: &[u8; 16]) -> Result<PayloadKey, CryptError> {
    let nonce = header_and_nonce.len().checked_sub(NONCE_SIZE).map(|at| &header_and_nonce[at..]).ok_or(CryptError::TruncatedHeader)?;
    Ok(PayloadKey::from_bytes(age_core::primitives::hkdf(nonce, b"payload", file_key)))
}

fn header_error(err: age::DecryptError, passphrase: bool, limits: &HeaderLimits) -> CryptError {
    use age::DecryptError as E;
    match err {
        E::DecryptionFailed | E::KeyDecryptionFailed if passphrase => CryptError::WrongPassphrase,
        E::DecryptionFailed | E::KeyDecryptionFailed => CryptError::NoMatchingIdentity,
        E::NoMatchingKeys => CryptError::NoMatchingIdentity,
        E::ExcessiveWork { required, .. } => CryptError::ExcessiveWork { required, limit: limits.max_work_factor },
        E::InvalidMac => CryptError::HeaderMac,
        E::InvalidHeader => CryptError::InvalidHeader,
        E::UnknownFormat => CryptError::UnknownVersion,
        E::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof => CryptError::TruncatedHeader,
        E::Io(e) if e.kind() == io::ErrorKind::FileTooLarge => CryptError::HeaderTooLarge(limits.max_header_bytes),
        E::Io(e) => CryptError::Io(e),
        other => CryptError::InvalidHeaderDetail(other.to_string()),
    }
}

/// Keeps a copy of everything read (the header and nonce), refusing to grow past `limit`.
struct RecordingReader<'a, R> {
    inner: &'a mut R,
    bytes: Vec<u8>,
    limit: usize,
}

impl<R: Read> Read for RecordingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let room = self.limit.saturating_sub(self.bytes.len());
        if room == 0 {
            return Err(io::Error::new(io::ErrorKind::FileTooLarge, "age header too large"));
        }
        let take = buf.len().min(room);
        let n = self.inner.read(&mut buf[..take])?;
        self.bytes.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}
