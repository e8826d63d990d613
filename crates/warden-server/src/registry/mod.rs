//! The model registry: versions of model assets uploaded, scanned with `warden-scan`, encrypted at
//! rest with the server key, promoted through stages, quarantined and rolled back.
//!
//! - [`upload`]: streaming an upload to a private temporary file, scanning, encrypting, recording.
//! - [`download`]: streaming decryption with the digest checked on the way out.
//! - [`stages`]: promote, quarantine, release, rollback — callable without a request
//!   ([`Actor::System`]) by the server's own automation.
//! - [`catalog`]: the SQL over `model_versions` and `stage_events`.
//! - `api` and `ui`: the JSON API and the pages.
//!
//! Invariants: plaintext model bytes exist on disk only in `<data dir>/tmp/` (0700) for the time of
//! one upload's scan and encryption; at most one version of a model is in production; a
//! quarantined version is never downloaded or promoted; every stage change writes a
//! `stage_events` row and an audit entry in the transaction that makes it.

mod api;
pub mod catalog;
pub mod download;
pub mod stages;
mod ui;
pub mod upload;

use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::Method;

pub use api::{ModelDetail, VersionDetail, model_detail, version_findings};
pub use catalog::{ModelSummary, ModelVersion, Stage};
pub use stages::{Actor, Outcome, StageMove, promote, quarantine, release, rollback};

use crate::authz::actions;
use crate::routes::Route;

/// The API route of a promotion (named in the audit entry of the production sub-decision).
const API_PROMOTE: &str = "/api/v1/models/{id}/versions/{version}/promote";
/// The UI route of a promotion.
const UI_PROMOTE: &str = "/ui/models/{id}/versions/{version}/promote";

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    // Uploads are streamed and bounded by `max_upload_bytes`, not by the default body limit.
    let api_upload = api::upload.layer(DefaultBodyLimit::disable());
    let ui_upload = ui::upload_form.layer(DefaultBodyLimit::disable());
    vec![
        Route::api(Method::GET, "/api/v1/models", actions::REGISTRY_READ, api::list_models).returns_list::<ModelSummary>(),
        Route::api(Method::GET, "/api/v1/models/{id}/versions", actions::REGISTRY_READ, api::list_versions).on_asset("id").returns::<ModelDetail>(),
        Route::api(Method::POST, "/api/v1/models/{id}/versions", actions::REGISTRY_UPLOAD, api_upload)
            .on_asset("id")
            .query::<api::UploadQuery>()
            .accepts_raw("application/octet-stream")
            .returns::<upload::Uploaded>()
            .status(201),
        Route::api(Method::GET, "/api/v1/models/{id}/versions/{version}", actions::REGISTRY_READ, api::get_version).on_asset("id").returns::<VersionDetail>(),
        Route::api(Method::GET, "/api/v1/models/{id}/versions/{version}/download", actions::REGISTRY_DOWNLOAD, api::download)
            .on_asset("id")
            .returns_raw("application/octet-stream"),
        Route::api(Method::POST, API_PROMOTE, actions::REGISTRY_PROMOTE, api::promote).on_asset("id").accepts::<api::PromoteBody>().returns::<Outcome>(),
        Route::api(Method::POST, "/api/v1/models/{id}/versions/{version}/quarantine", actions::REGISTRY_QUARANTINE, api::quarantine)
            .on_asset("id")
            .accepts::<api::ReasonBody>()
            .returns::<Outcome>(),
        Route::api(Method::POST, "/api/v1/models/{id}/versions/{version}/release", actions::REGISTRY_RELEASE, api::release)
            .on_asset("id")
            .accepts_optional::<api::ReasonBody>()
            .returns::<Outcome>(),
        Route::api(Method::POST, "/api/v1/models/{id}/rollback", actions::REGISTRY_ROLLBACK, api::rollback)
            .on_asset("id")
            .accepts_optional::<api::RollbackBody>()
            .returns::<Outcome>(),
        Route::ui(Method::GET, "/ui/models", actions::REGISTRY_READ, ui::models_page),
        Route::ui(Method::GET, "/ui/models/{id}", actions::REGISTRY_READ, ui::model_page).on_asset("id"),
        Route::ui(Method::POST, "/ui/models/{id}/versions", actions::REGISTRY_UPLOAD, ui_upload).on_asset("id"),
        Route::ui(Method::GET, "/ui/models/{id}/versions/{version}/download", actions::REGISTRY_DOWNLOAD, ui::download_page).on_asset("id"),
        Route::ui(Method::POST, UI_PROMOTE, actions::REGISTRY_PROMOTE, ui::promote_form).on_asset("id"),
        Route::ui(Method::POST, "/ui/models/{id}/versions/{version}/quarantine", actions::REGISTRY_QUARANTINE, ui::quarantine_form).on_asset("id"),
        Route::ui(Method::POST, "/ui/models/{id}/versions/{version}/release", actions::REGISTRY_RELEASE, ui::release_form).on_asset("id"),
        Route::ui(Method::POST, "/ui/models/{id}/rollback", actions::REGISTRY_ROLLBACK, ui::rollback_form).on_asset("id"),
    ]
}
