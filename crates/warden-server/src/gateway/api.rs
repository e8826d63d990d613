//! The gateway's JSON API: the check an inference gateway makes before serving a client, the
//! block list (list, block, lift), event and drift ingestion, reference profiles and drift
//! settings. Handlers are thin: the work is in [`super::blocks`], [`super::ingest`],
//! [`super::profile`] and [`super::drift`].

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::blocks::{self, BlockQuery, BlockRequest, BlockView};
use crate::actor::Actor;
use crate::authz::actions;
use crate::error::{ApiError, ApiResult};
use crate::gate::Caller;
use crate::routes::Route;
use crate::state::AppState;

/// The routes of the API.
pub fn routes() -> Vec<Route> {
    vec![
        Route::api(Method::GET, "/api/v1/gateway/{id}/clients/{client_id}", actions::GATEWAY_CHECK, check).on_asset("id"),
        Route::api(Method::POST, "/api/v1/gateway/{id}/clients/{client_id}/lift", actions::GATEWAY_LIFT, lift).on_asset("id"),
        Route::api(Method::GET, "/api/v1/gateway/{id}/blocks", actions::GATEWAY_READ, list_for_deployment).on_asset("id"),
        Route::api(Method::POST, "/api/v1/gateway/{id}/blocks", actions::GATEWAY_BLOCK, block).on_asset("id"),
        Route::api(Method::GET, "/api/v1/gateway/blocks", actions::GATEWAY_READ, list_all),
    ]
}

/// A JSON body read by hand, so a malformed one is a 400 that says what is wrong.
pub fn parse_body<T: DeserializeOwned>(body: &[u8], what: &str) -> ApiResult<T> {
    serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("{what}: {e}")))
}

/// The answer of the gateway check.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CheckAnswer {
    /// Whether the gateway must refuse the client.
    pub blocked: bool,
    /// Why, when blocked.
    pub reason: Option<String>,
    /// Blocked since (unix ms).
    pub since: Option<i64>,
    /// The incident that caused the block.
    pub incident_id: Option<String>,
    /// When the block ends by itself (unix ms); `None`: until lifted.
    pub expires_at: Option<i64>,
    /// The block's id.
    pub block_id: Option<String>,
}

async fn check(State(app): State<AppState>, Path((deployment_id, client_id)): Path<(String, String)>) -> ApiResult<Json<CheckAnswer>> {
    let status = blocks::block_status(&app, &deployment_id, &client_id).await?;
    Ok(Json(match status {
        Some(s) => CheckAnswer { blocked: true, reason: Some(s.reason), since: Some(s.since), incident_id: s.incident_id, expires_at: s.expires_at, block_id: Some(s.id) },
        None => CheckAnswer { blocked: false, reason: None, since: None, incident_id: None, expires_at: None, block_id: None },
    }))
}

async fn block(State(app): State<AppState>, caller: Caller, Path(deployment_id): Path<String>, body: Bytes) -> ApiResult<Response> {
    let request: BlockRequest = parse_body(&body, "expected {\"client_id\", \"reason\", \"incident_id\"?, \"expires_in_secs\"?}")?;
    let outcome = blocks::block(&app, Actor::Caller(&caller), &deployment_id, &request).await?;
    let status = if outcome.changed { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(outcome)).into_response())
}

/// The body of a lift.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LiftRequest {
    /// Why (kept in the audit log).
    #[serde(default)]
    pub reason: String,
}

async fn lift(State(app): State<AppState>, caller: Caller, Path((deployment_id, client_id)): Path<(String, String)>, body: Bytes) -> ApiResult<Response> {
    let request: LiftRequest = parse_body(&body, "expected {\"reason\"}")?;
    let outcome = blocks::lift(&app, Actor::Caller(&caller), &deployment_id, &client_id, &request.reason).await?;
    if !outcome.changed {
        return Err(ApiError::Conflict(outcome.message));
    }
    Ok(Json(outcome).into_response())
}

async fn list_for_deployment(State(app): State<AppState>, Path(deployment_id): Path<String>, Query(mut query): Query<BlockQuery>) -> ApiResult<Json<Vec<BlockView>>> {
    blocks::require_deployment(&app, &deployment_id).await?;
    query.deployment = Some(deployment_id);
    Ok(Json(blocks::list(&app, &query).await?))
}

/// Blocks matching `query` on deployments `caller` may read (one audit entry names what was hidden).
pub async fn list_readable(app: &AppState, caller: &Caller, query: &BlockQuery, path: &'static str) -> ApiResult<Vec<BlockView>> {
    let all = blocks::list(app, query).await?;
    let mut access = crate::inventory::access::ReadFilter::new(app, caller);
    let mut out = Vec::with_capacity(all.len());
    for block in all {
        if access.allows_id(&block.deployment_id).await? {
            out.push(block);
        }
    }
    access.finish("GET", path).await?;
    Ok(out)
}

async fn list_all(State(app): State<AppState>, caller: Caller, Query(query): Query<BlockQuery>) -> ApiResult<Json<Vec<BlockView>>> {
    Ok(Json(list_readable(&app, &caller, &query, "/api/v1/gateway/blocks").await?))
}
