//! Integrity and confidentiality of model artifacts.
//!
//! This crate owns parallel sharded hashing of model files ([`hash`]), OpenSSF Model Signing
//! (OMS) v1.0 bundles ([`sign`], [`verify`]) compatible with the `model_signing` Python package,
//! and age encryption at rest (`crypt`). It never touches the network and never follows symbolic
//! links inside a model.
//!
//! ```no_run
//! use warden_integrity::{HashAlgorithm, HashOptions, Method, hash_model};
//! let manifest = hash_model("model/".as_ref(), &HashOptions::new(HashAlgorithm::Sha256, Method::Files))?;
//! for (name, digest) in manifest.resource_lines() {
//!     println!("{digest}  {name}");
//! }
//! # Ok::<(), warden_integrity::Error>(())
//! ```

pub mod bundle;
pub mod crypt;
pub mod digest;
pub mod error;
pub mod hash;
pub mod keys;
pub mod manifest;
pub mod rules;
pub mod sign;
pub mod statement;
pub mod verify;
pub mod x509;
pub mod walk;

pub use digest::HashAlgorithm;
pub use error::{Error, Result};
pub use hash::{HashOptions, hash_model};
pub use manifest::{Manifest, Method};
pub use sign::{Signer, sign_model};
pub use verify::{Trust, Verification, VerifyOptions, verify_model};
