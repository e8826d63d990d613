//! Errors that stop a scan from starting at all. Anything wrong *inside* a file is a finding.

use std::path::PathBuf;

/// Why a scan could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A path given on the command line does not exist or cannot be read.
    #[error("cannot read `{path}`")]
    Io {
        /// The path.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A policy file could not be read or is invalid.
    #[error("invalid policy `{path}`: {message}")]
    Policy {
        /// The policy file.
        path: PathBuf,
        /// What is wrong, with the line where known.
        message: String,
    },
    /// The worker pool could not be created.
    #[error("cannot start {jobs} worker threads: {message}")]
    Threads {
        /// Requested number of workers.
        jobs: usize,
        /// The reason.
        message: String,
    },
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
