//! Drift statistics, fairness metrics and streaming detectors for attacks in inference traffic.
//!
//! - [`drift::drift`] compares a current dataset with a reference, column by column, with the
//!   tests users know from Evidently and scipy ([`stats`]).
//! - [`fairness::fairness`] computes Fairlearn's group metrics and their disparities, plus
//!   reweighing weights and per-group thresholds.
//! - [`detect::Monitor`] is fed inference events one at a time (by the CLI or, later, the server)
//!   and raises [`warden_core::Finding`]s for extraction, adversarial search, inversion/membership
//!   probing and out-of-distribution inputs, with bounded per-client state.
//!
//! This crate reads no files itself (datasets arrive as Arrow batches from `warden-table`) and
//! knows nothing about the terminal or HTTP.

pub mod columns;
pub mod drift;
pub mod detect;
pub mod fairness;
pub mod html;
pub mod rule;
mod sort;
pub mod stats;
pub mod traffic;

/// Seeded randomness shared by the detectors and the traffic generator.
mod detect_rng {
    pub(crate) use crate::detect::lsh_rng::{gaussian, splitmix, uniform};
}

/// Why an analysis could not run.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// A requested column is absent.
    #[error("column {0:?} not found")]
    MissingColumn(String),
    /// A column has a type the analysis cannot use.
    #[error("column {0:?} has an unsupported type: {1}")]
    ColumnType(String, String),
    /// No column to compare.
    #[error("the two datasets have no column in common")]
    NoColumns,
    /// A column has no non-null value in one of the datasets.
    #[error("column {0:?} has no values in one of the datasets")]
    EmptyColumn(String),
    /// A numeric-only test was forced on a categorical column.
    #[error("column {0:?} is categorical; the {1:?} test needs numbers")]
    TestNeedsNumbers(String, drift::DriftTest),
    /// Invalid input for a metric.
    #[error("{0}")]
    Invalid(String),
}
