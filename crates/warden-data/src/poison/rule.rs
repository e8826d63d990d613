//! [`Rule`]: the fixed parts of every finding a data-quality or poisoning check produces
//! (shared by `quality` and `poison`).

/// A data rule (the shared shape from `warden-core`).
pub use warden_core::Rule;
