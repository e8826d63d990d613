//! Model-artifact scanning: find code execution, tampering and malformed data in model files
//! before anyone loads them.
//!
//! The entry point is [`scan_paths`]: it walks files and directories, decides each file's format
//! from its content ([`sniff`]), opens archives and compressed streams within [`Limits`], and runs
//! one scanner per format. Pickles (standalone or inside PyTorch, NumPy and joblib files) are run on
//! a symbolic pickle machine that resolves every callable the real unpickler would import, judged
//! by a [`Policy`] that users can extend.
//!
//! This crate never executes, imports or deserialises anything from a scanned file, does no
//! network I/O, and turns malformed input into findings rather than errors or panics.
//!
//! ```
//! use warden_scan::{ScanSettings, scan_bytes};
//!
//! // protocol-0 pickle of `os.system("id")`
//! let payload = b"cos\nsystem\n(S'id'\ntR.";
//! let (record, findings) = scan_bytes("evil.pkl", payload, &ScanSettings::default());
//! assert_eq!(record.format, "pickle");
//! assert!(findings.iter().any(|f| f.severity == warden_core::Severity::Critical));
//! ```

pub mod context;
mod dispatch;
mod encoding;
pub mod error;
pub mod formats;
pub mod pickle;
pub mod policy;
pub mod rules;
pub mod settings;
pub mod sniff;
mod walk;

pub use error::{Error, Result};
pub use policy::Policy;
pub use settings::{Limits, ScanSettings};
pub use walk::{scan_bytes, scan_bytes_as, scan_file, scan_paths};
