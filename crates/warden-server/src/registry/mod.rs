//! The model registry: versions of model assets uploaded, scanned with `warden-scan`, encrypted at
//! rest with the server key, promoted through stages, quarantined and rolled back.

use crate::routes::Route;

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    Vec::new()
}
