//! PII recognition: entity types, recognizers as data, checksum validators, dictionaries for
//! names and places, and the [`Detector`] that combines them with context scoring.

pub mod detector;
pub mod entity;
pub mod mask;
pub mod names;
pub mod recognizer;
pub mod validate;

pub use detector::{DetectOptions, Detection, Detector};
pub use entity::Entity;
