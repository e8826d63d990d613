//! Dataset validation and profiling (`warden data validate`, `warden data profile`).
//!
//! Every dataset is streamed as text cells (see [`cell`]): [`profile::TableProfiler`] summarises
//! columns in bounded memory ([`sketch`]), [`expect::Expectations`] is the declarative file
//! (TOML or JSON; a saved profile is one, with tolerances derived by
//! [`expect::Expectations::from_profile`]), and [`validate::Validator`] checks rows batch by batch,
//! reporting each failed check as a `data.validation.*` finding ([`rules`]) with counts and
//! example rows. [`io`] wires both to `warden-table`'s readers.

pub mod cell;
pub mod expect;
pub mod io;
pub mod profile;
pub mod rules;
pub mod sketch;
pub mod validate;

pub use expect::Expectations;
pub use profile::{Profile, ProfileSettings};
pub use validate::{ValidateSettings, Validator};

/// Why profiling or validation could not run.
#[derive(Debug, thiserror::Error)]
pub enum QualityError {
    /// The expectations file is malformed or inconsistent.
    #[error("invalid expectations: {0}")]
    Expectations(String),
    /// The dataset could not be read.
    #[error(transparent)]
    Table(#[from] warden_table::TableError),
    /// A column could not be turned into text.
    #[error("{path}: column `{column}`: {message}")]
    Column {
        /// The dataset.
        path: String,
        /// The column.
        column: String,
        /// What went wrong.
        message: String,
    },
}

#[cfg(test)]
mod prop_tests;
