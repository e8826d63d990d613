//! The one error type of the test kit: every variant says what was being done and what went wrong.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// What went wrong while starting or driving a fixture.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The PostgreSQL server programs are not installed where we looked.
    #[error(
        "PostgreSQL server programs not found: {missing} is not in {dir}. Install them \
         (Debian/Ubuntu: `apt-get install postgresql-15`) or set WARDEN_PG_BIN to the directory \
         holding initdb, postgres, pg_isready and createdb"
    )]
    PostgresMissing {
        /// The directory searched.
        dir: PathBuf,
        /// The first program that was missing.
        missing: String,
    },

    /// The tests run as root, PostgreSQL refuses to, and there is no user to run it as.
    #[error(
        "running as root, but PostgreSQL refuses to run as root and there is no `postgres` \
         system user in /etc/passwd to run it as (installing the postgresql package creates it)"
    )]
    NoServerUser,

    /// A program could not be started at all.
    #[error("could not run {program}: {source}")]
    Spawn {
        /// The program.
        program: PathBuf,
        /// Why it could not be started.
        source: io::Error,
    },

    /// A helper program (initdb, createdb...) ran and failed.
    #[error("{action} failed ({status}):\n{output}")]
    CommandFailed {
        /// What the program was asked to do.
        action: String,
        /// Its exit status.
        status: String,
        /// Its standard output and error.
        output: String,
    },

    /// The PostgreSQL server did not come up.
    #[error("PostgreSQL did not start: {reason}\n--- server log (last lines) ---\n{log_tail}")]
    PostgresStart {
        /// What was observed.
        reason: String,
        /// The end of the server's log.
        log_tail: String,
    },

    /// A database name the kit will not pass to `createdb`.
    #[error(
        "invalid database name {0:?}: use 1 to 63 characters from a-z, 0-9 and _, not starting \
         with a digit"
    )]
    InvalidDatabaseName(String),

    /// The process-wide cluster failed to start earlier (the first error is kept for everyone).
    #[error("the shared PostgreSQL cluster could not be started: {0}")]
    SharedCluster(String),

    /// A file-system operation failed.
    #[error("{action}: {source}")]
    Io {
        /// What was being done, with the path.
        action: String,
        /// The underlying error.
        source: io::Error,
    },

    /// An async `start` was called outside a tokio runtime.
    #[error(
        "no tokio runtime: call `start` from inside a tokio runtime (e.g. a #[tokio::test]) or \
         use `start_blocking`, which runs its own"
    )]
    NoRuntime,

    /// A signing key could not be generated.
    #[error("could not generate a {alg} signing key: {reason}")]
    KeyGeneration {
        /// The algorithm.
        alg: &'static str,
        /// Why.
        reason: String,
    },

    /// Fewer webhook deliveries arrived than a test waited for.
    #[error("waited {timeout:?} for {expected} webhook request(s), received {received}")]
    WebhookTimeout {
        /// How many were expected.
        expected: usize,
        /// How many arrived.
        received: usize,
        /// How long the test waited.
        timeout: Duration,
    },
}

/// Results of the test kit.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(action: impl Into<String>, source: io::Error) -> Self {
        Self::Io { action: action.into(), source }
    }
}
