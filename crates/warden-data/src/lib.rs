//! PII discovery and anonymisation, dataset validation and profiling, poisoning detection.
//!
//! - [`pii`]: recognizers (as data, with checksum validators and context scoring) and the
//!   [`pii::Detector`] that finds personal data and secrets in one text;
//! - [`scan`]: `warden data scan` over text files and tables (findings, per-column verdicts);
//! - [`anon`]: `warden data anonymize` operators, config and the k-anonymity report;
//! - [`synth`]: a deterministic generator of labelled PII text and tables for tests and benchmarks.
//!
//! This crate never writes outside the paths it is given and never uses the network.
//!
//! ```
//! use warden_data::pii::{DetectOptions, Detector, Entity};
//! let found = Detector::shipped().detect("card 4111 1111 1111 1111", None, &DetectOptions::default());
//! assert_eq!(found[0].entity, Entity::CreditCard);
//! ```

pub mod anon;
pub mod synth;
pub mod pii;
pub mod poison;
pub mod scan;
pub mod quality;
