//! Freezing an asset: "halt model updates". A frozen model takes no uploads and no promotions (the
//! registry refuses them), and a frozen asset of any kind refuses edits and lineage changes until
//! the freeze is lifted. Playbooks freeze as `Actor::System`; security engineers and
//! administrators freeze and lift through the API and the playbooks page.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::json;

use crate::actor::Actor;
use crate::audit::Change;
use crate::error::{ApiError, ApiResult};
use crate::gate::Caller;
use super::targets::{self, Asset};
use crate::state::AppState;
use crate::store::now_ms;

/// Longest reason kept.
const MAX_REASON: usize = 2000;

/// Freezes (or, with `frozen == false`, lifts the freeze of) asset `asset_id`, with its audit
/// entry; returns whether anything changed (`false`: it already was so, nothing is recorded).
pub async fn freeze_asset(app: &AppState, actor: Actor<'_>, asset_id: &str, frozen: bool, reason: &str) -> ApiResult<bool> {
    let reason = reason.trim();
    if reason.chars().count() > MAX_REASON {
        return Err(ApiError::BadRequest(format!("the reason may have at most {MAX_REASON} characters")));
    }
    let mut tx = app.store.begin().await?;
    let asset = targets::asset_in(&mut tx, asset_id).await?.ok_or_else(|| ApiError::not_found("asset", asset_id))?;
    let changed = sqlx::query("UPDATE assets SET frozen = $1, updated_at = $2 WHERE id = $3 AND frozen <> $1")
        .bind(i64::from(frozen))
        .bind(now_ms())
        .bind(asset_id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
        > 0;
    if !changed {
        return Ok(false);
    }
    let operation = if frozen { "asset.freeze" } else { "asset.unfreeze" };
    let change = Change::update(operation, "asset", asset_id)
        .named(asset.name.clone())
        .detail(json!({"kind": asset.kind, "frozen": frozen, "reason": reason}));
    actor.record(app, &mut tx, change).await?;
    tx.commit().await?;
    app.metrics.event(operation);
    Ok(true)
}

/// What freezing `asset` would do, for people (drills and step outcomes).
pub fn describe(asset: &Asset) -> String {
    let what = if asset.kind == "model" { "uploads and promotions" } else { "changes" };
    if asset.frozen {
        format!("{} `{}` is already frozen; nothing would change", asset.label(), asset.name)
    } else {
        format!("{} `{}` would be frozen ({what} refused until the freeze is lifted)", asset.label(), asset.name)
    }
}

/// `POST /api/v1/assets/{id}/freeze` body.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct FreezeRequest {
    /// `true` to freeze, `false` to lift the freeze.
    #[serde(default)]
    pub frozen: Option<bool>,
    /// Why, for the audit log.
    #[serde(default)]
    pub reason: Option<String>,
}

/// `POST /api/v1/assets/{id}/freeze`: freezes or lifts; answers the asset.
pub async fn freeze_json(State(app): State<AppState>, caller: Caller, Path(id): Path<String>, crate::extract::JsonBody(body): crate::extract::JsonBody<FreezeRequest>) -> ApiResult<Json<serde_json::Value>> {
    let frozen = body.frozen.ok_or_else(|| ApiError::BadRequest("say `\"frozen\": true` to freeze or `false` to lift the freeze".into()))?;
    let changed = freeze_asset(&app, Actor::Caller(&caller), &id, frozen, body.reason.as_deref().unwrap_or("")).await?;
    let asset = targets::asset(&app, &id).await?.ok_or_else(|| ApiError::not_found("asset", &id))?;
    Ok(Json(json!({"id": asset.id, "name": asset.name, "frozen": asset.frozen, "changed": changed})))
}
