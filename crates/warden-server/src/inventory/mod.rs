//! The inventory: AI assets (data sources, datasets, models, deployments) with owner, sensitivity,
//! lifecycle stage and environment; lineage edges between them; export as a CycloneDX ML-BOM.
//!
//! [`model`] holds the vocabulary and field checks, [`assets`] and [`lineage`] the changes (each
//! authorised per asset by Cedar and audited in its transaction), [`bom`] the CycloneDX document,
//! [`svg`] the lineage drawing, [`related`] the findings and versions shown with an asset, [`access`]
//! the per-asset Cedar decisions, [`api`] and [`pages`] the JSON API and the web UI. Invariant: an
//! asset row is never deleted (retiring keeps it), so findings and audit entries always resolve.

pub mod access;
pub mod api;
pub mod assets;
pub mod bom;
pub mod lineage;
pub mod model;
pub mod pages;
pub mod related;
pub mod svg;

use sqlx::Row;

use crate::authz::AssetAttrs;
use crate::error::ApiResult;
use crate::routes::Route;
use crate::state::AppState;

/// The attributes Cedar policies see for asset `id`, or `None` when it does not exist.
pub async fn asset_attrs(app: &AppState, id: &str) -> ApiResult<Option<AssetAttrs>> {
    // PostgreSQL refuses NUL in text: such an id names nothing.
    if id.len() > 64 || id.contains('\0') {
        return Ok(None);
    }
    let row = sqlx::query("SELECT id, kind, sensitivity, owner, environment, lifecycle, tags FROM assets WHERE id = $1")
        .bind(id)
        .fetch_optional(&app.store.read)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let tags: String = row.try_get(6)?;
    Ok(Some(AssetAttrs {
        id: row.try_get(0)?,
        kind: row.try_get(1)?,
        sensitivity: row.try_get(2)?,
        owner: row.try_get(3)?,
        environment: row.try_get(4)?,
        lifecycle: row.try_get(5)?,
        tags: serde_json::from_str(&tags).unwrap_or_default(),
    }))
}

/// Whether asset `id` exists.
pub async fn asset_exists(app: &AppState, id: &str) -> ApiResult<bool> {
    Ok(asset_attrs(app, id).await?.is_some())
}

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    let mut routes = crate::findings::routes();
    routes.extend(api::routes());
    routes.extend(pages::routes());
    routes
}
