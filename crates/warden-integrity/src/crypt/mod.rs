//! Encryption at rest in the age v1 format (<https://age-encryption.org/v1>), readable by the
//! `age` and `rage` command-line tools and written by them.
//!
//! - [`header`]: the header (recipient stanzas, MAC) through the `age` crate.
//! - [`payload`]: the STREAM payload, sealed and opened chunk-parallel with bounded memory.
//! - [`keys`]: recipients, identity files and passphrases.
//! - [`files`]: files and directory trees, with outputs that appear whole or not at all.
//! - [`keygen`]: age X25519 identities and ECDSA signing keys, written with safe permissions.
//!
//! Invariant: decrypted bytes only reach their final path after the last chunk authenticated;
//! every error path removes the temporary output.

pub mod files;
pub mod header;
pub mod keygen;
pub mod keys;
pub mod payload;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::PathBuf;

use age::armor::{ArmoredReader, ArmoredWriter, Format};

pub use age::secrecy::SecretString;
pub use header::{HeaderKind, HeaderLimits};
pub use payload::{PayloadError, PayloadOptions};

/// Everything that can stop an encryption, decryption or key generation.
#[derive(Debug, thiserror::Error)]
pub enum CryptError {
    /// Reading or writing failed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The error happened while working on this path.
    #[error("`{path}`: {error}")]
    At {
        /// The file or directory concerned.
        path: PathBuf,
        /// What went wrong (shown in this error's message, so not repeated as its source).
        error: Box<CryptError>,
    },
    /// The recipients cannot be combined or used.
    #[error("cannot encrypt to these recipients: {0}")]
    Recipients(String),
    /// A recipient string is not an age X25519 public key.
    #[error("`{value}` is not an age recipient ({reason}); expected a public key starting with `age1`")]
    InvalidRecipient {
        /// The text given (a public key, never secret).
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// An identity file could not be read.
    #[error("identity file `{path}`: {reason}")]
    IdentityFile {
        /// The identity file.
        path: PathBuf,
        /// Why it was refused (never its content).
        reason: String,
    },
    /// No identity unwraps the file key.
    #[error("no identity matches this file: it was encrypted to a different recipient (wrong key), or its recipient stanza was modified")]
    NoMatchingIdentity,
    /// The passphrase does not open the file.
    #[error("wrong passphrase (or the passphrase stanza was modified)")]
    WrongPassphrase,
    /// A passphrase-encrypted file asks for more scrypt work than allowed.
    #[error("the file asks for scrypt work factor 2^{required}, above the limit 2^{limit}; raise --max-work-factor only for files you trust")]
    ExcessiveWork {
        /// log2 N from the header.
        required: u8,
        /// The configured bound.
        limit: u8,
    },
    /// The header MAC does not match: the header was modified.
    #[error("the header MAC does not match: the header was modified")]
    HeaderMac,
    /// The header is not well formed.
    #[error("not a valid age file: malformed header")]
    InvalidHeader,
    /// The header was refused for another reason given by the age crate.
    #[error("not a valid age file: {0}")]
    InvalidHeaderDetail(String),
    /// The file is not age v1.
    #[error("not a valid age v1 file: malformed header or unknown version line")]
    UnknownVersion,
    /// The file ends inside the header or nonce.
    #[error("the file is truncated inside the age header")]
    TruncatedHeader,
    /// The header is larger than the limit.
    #[error("the age header is larger than {0} bytes")]
    HeaderTooLarge(usize),
    /// The passphrase-protected file needs a passphrase and none was given, or the reverse.
    #[error("{0}")]
    KeyKind(&'static str),
    /// The payload failed to authenticate or was cut short.
    #[error(transparent)]
    Payload(#[from] PayloadError),
    /// ASCII armor is malformed.
    #[error("malformed ASCII armor: {0}")]
    Armor(String),
    /// The output exists and `force` was not given.
    #[error("`{0}` already exists; pass --force to replace it")]
    OutputExists(PathBuf),
    /// The output would overwrite (or sit inside) the input.
    #[error("the output `{output}` would overwrite or sit inside the input `{input}`")]
    OutputIsInput {
        /// The input path.
        input: PathBuf,
        /// The output path.
        output: PathBuf,
    },
    /// A symbolic link inside a directory tree.
    #[error("`{0}` is a symbolic link; refusing to follow it (copy the target into the tree instead)")]
    Symlink(PathBuf),
    /// A file without the `.age` suffix inside a directory being decrypted.
    #[error("`{0}` is not an `.age` file; a directory to decrypt must hold only `.age` files")]
    NotAgeFile(PathBuf),
    /// Neither a file nor a directory (device, socket, fifo).
    #[error("`{0}` is not a regular file or directory")]
    NotRegular(PathBuf),
    /// Cannot pick an output name.
    #[error("cannot derive an output name from `{0}`; pass -o")]
    NoOutputName(PathBuf),
    /// A key could not be generated or encoded.
    #[error("key generation failed: {0}")]
    Keygen(String),
}

impl CryptError {
    /// Attaches the path being worked on.
    pub fn at(self, path: impl Into<PathBuf>) -> CryptError {
        match self {
            already @ CryptError::At { .. } => already,
            other => CryptError::At { path: path.into(), error: Box::new(other) },
        }
    }
}

/// How to encrypt.
#[derive(Debug, Clone, Copy, Default)]
pub struct EncryptOptions {
    /// Write PEM-style ASCII armor instead of binary.
    pub armor: bool,
    /// Payload pipeline tuning.
    pub payload: PayloadOptions,
}

/// How to decrypt.
#[derive(Debug, Clone, Copy, Default)]
pub struct DecryptOptions {
    /// Bounds on the untrusted header.
    pub limits: HeaderLimits,
    /// Payload pipeline tuning.
    pub payload: PayloadOptions,
}

/// The first line of an armored age file.
const ARMOR_BEGIN: &[u8] = b"-----BEGIN AGE ENCRYPTED FILE-----";

/// Encrypts `reader` to `recipients` into `writer`; returns the plaintext size.
pub fn encrypt_stream<R: Read + Send, W: Write + Send>(recipients: &[&dyn age::Recipient], reader: R, writer: W, options: &EncryptOptions) -> Result<u64, CryptError> {
    let (header, key) = header::seal_header(recipients)?;
    if options.armor {
        let mut armored = ArmoredWriter::wrap_output(writer, Format::AsciiArmor)?;
        armored.write_all(&header)?;
        let size = payload::encrypt(&key, reader, &mut armored, options.payload)?;
        armored.finish()?.flush()?;
        Ok(size)
    } else {
        let mut writer = writer;
        writer.write_all(&header)?;
        let size = payload::encrypt(&key, reader, &mut writer, options.payload)?;
        writer.flush()?;
        Ok(size)
    }
}

/// Decrypts an age file (binary or armored) from `reader` into `writer`. `identities_for` is asked
/// for identities once the header says whether it needs a passphrase or recipient keys.
pub fn decrypt_stream<R: Read + Send, W: Write + Send>(
    reader: R,
    writer: W,
    identities_for: &mut dyn FnMut(HeaderKind) -> Result<Vec<Box<dyn age::Identity + Send + Sync>>, CryptError>,
    options: &DecryptOptions,
) -> Result<u64, CryptError> {
    let mut buffered = BufReader::new(reader);
    let armored = buffered.fill_buf()?.starts_with(ARMOR_BEGIN);
    if armored {
        let mut reader = ArmorErrors(ArmoredReader::new(buffered));
        let key = header::open_header(&mut reader, &options.limits, identities_for)?;
        let mut writer = writer;
        let size = payload::decrypt(&key, reader, &mut writer, options.payload).map_err(armor_error)?;
        writer.flush()?;
        Ok(size)
    } else {
        let key = header::open_header(&mut buffered, &options.limits, identities_for)?;
        let mut writer = writer;
        let size = payload::decrypt(&key, buffered, &mut writer, options.payload)?;
        writer.flush()?;
        Ok(size)
    }
}

/// Armor decoding errors arrive as `InvalidData` I/O errors; they are reported as armor errors.
struct ArmorErrors<R>(R);

impl<R: Read> Read for ArmorErrors<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).map_err(|e| if e.kind() == io::ErrorKind::InvalidData { io::Error::other(ArmorFault(e.to_string())) } else { e })
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct ArmorFault(String);

fn armor_error(err: PayloadError) -> CryptError {
    if let PayloadError::Io(io) = &err
        && let Some(fault) = io.get_ref().and_then(|inner| inner.downcast_ref::<ArmorFault>())
    {
        return CryptError::Armor(fault.0.clone());
    }
    CryptError::Payload(err)
}

#[cfg(test)]
mod tests;
