//! The vocabulary every warden capability speaks.
//!
//! Scanners, data checks, monitors and assessments all produce [`Finding`]s collected in a
//! [`Report`]; the renderers in [`render`] turn a report into a table, JSON or SARIF 2.1.0 so the
//! CLI and the server present results one way.
//!
//! This crate does no I/O beyond writing to a caller-supplied `io::Write` and knows nothing about
//! file formats, the terminal or HTTP.
//!
//! ```
//! use warden_core::{Finding, Location, Report, Severity};
//!
//! let mut report = Report::default();
//! report.findings.push(Finding::new(
//!     "pickle.dangerous-global",
//!     Severity::Critical,
//!     "dangerous callable in pickle",
//!     "the pickle calls `os.system`",
//!     Location::file("model.pkl").with_offset(2),
//! ));
//! assert_eq!(report.max_severity(), Some(Severity::Critical));
//! let json = warden_core::render::json::to_string(&report).unwrap();
//! assert!(json.contains("\"severity\": \"critical\""));
//! ```

pub mod finding;
pub mod render;
pub mod report;
pub mod rule;

pub use finding::{Finding, Location, RuleId, Severity};
pub use report::{FileRecord, FileStatus, Report};
pub use rule::Rule;
