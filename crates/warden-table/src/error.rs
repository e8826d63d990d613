//! The error type of table reading and writing.

use std::path::PathBuf;

/// Why a table could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// The file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The content is not a valid table of its format.
    #[error("{path}: {format} {}: {message}", .line.map(|l| format!("at line {l}")).unwrap_or_else(|| "data".to_owned()))]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The sniffed (or forced) format.
        format: &'static str,
        /// 1-based line (CSV/JSONL) or row where known.
        line: Option<u64>,
        /// What is wrong.
        message: String,
    },
    /// A bound in [`crate::TableLimits`] was exceeded.
    #[error("{path}: {what} exceeds the limit of {limit}")]
    Limit {
        /// The file.
        path: PathBuf,
        /// Which bound.
        what: &'static str,
        /// The bound.
        limit: u64,
    },
    /// A writer was given a batch whose schema differs from the one it was created with.
    #[error("{path}: {message}")]
    Schema {
        /// The file.
        path: PathBuf,
        /// What differs.
        message: String,
    },
}

impl TableError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        // Limit violations detected inside wrapped readers travel as io errors; unwrap them.
        if source.get_ref().is_some_and(|e| e.is::<LimitExceeded>()) {
            let inner = source.into_inner().and_then(|e| e.downcast::<LimitExceeded>().ok());
            if let Some(l) = inner {
                return Self::Limit { path: path.to_owned(), what: l.what, limit: l.limit };
            }
            return Self::Io { path: path.to_owned(), source: std::io::Error::other("limit exceeded") };
        }
        Self::Io { path: path.to_owned(), source }
    }

    pub(crate) fn malformed(
        path: &std::path::Path,
        format: &'static str,
        line: Option<u64>,
        message: impl Into<String>,
    ) -> Self {
        Self::Malformed { path: path.to_owned(), format, line, message: message.into() }
    }

    pub(crate) fn limit(path: &std::path::Path, what: &'static str, limit: u64) -> Self {
        Self::Limit { path: path.to_owned(), what, limit }
    }
}

/// A limit hit inside an `io::Read` adapter, carried through `io::Error`.
#[derive(Debug)]
pub(crate) struct LimitExceeded {
    pub what: &'static str,
    pub limit: u64,
}

impl std::fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} exceeds the limit of {}", self.what, self.limit)
    }
}

impl std::error::Error for LimitExceeded {}

impl LimitExceeded {
    pub(crate) fn into_io(self) -> std::io::Error {
        std::io::Error::other(self)
    }
}
