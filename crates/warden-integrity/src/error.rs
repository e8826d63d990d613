//! The error type of `warden-integrity`: everything that stops hashing, signing or verification
//! from starting or finishing. A model that does not match its signature is not an error: it is
//! reported as findings (see [`crate::verify`]).

use std::path::PathBuf;

/// Why an integrity operation could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O error on a named path.
    #[error("cannot read `{path}`: {source}")]
    Io {
        /// The path being read or written.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A symbolic link inside (or as) the model: following it could leave the model directory.
    #[error("`{0}` is a symbolic link; warden refuses to follow links inside a model (copy the target in instead)")]
    Symlink(PathBuf),
    /// A socket, FIFO or device inside the model.
    #[error("`{0}` is neither a regular file nor a directory")]
    SpecialFile(PathBuf),
    /// A path that is not valid UTF-8 cannot be named in an OMS manifest.
    #[error("`{0}` is not valid UTF-8 and cannot be named in an OMS manifest")]
    NonUtf8Path(PathBuf),
    /// A file changed size while it was being hashed.
    #[error("`{0}` changed while it was being hashed")]
    ChangedWhileHashing(PathBuf),
    /// A file name that the `shards` serialisation cannot represent.
    #[error("`{0}` contains `:`, which the `shards` serialisation cannot represent; use `--serialization files`")]
    UnshardableName(String),
    /// Bad option values (shard size 0, unknown algorithm...).
    #[error("{0}")]
    InvalidOption(String),
    /// A key or certificate file that cannot be used.
    #[error("{0}")]
    Key(String),
    /// A bundle whose verification method warden does not implement (keyless Sigstore).
    #[error("{0}")]
    Unsupported(String),
}

impl Error {
    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
