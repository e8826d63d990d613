//! The gateway's JSON API: the check an inference gateway makes before serving a client, the
//! block list (list, block, lift), event and drift ingestion, reference profiles and drift
//! thresholds. Handlers are thin: the work is in [`super::blocks`], [`super::ingest`],
//! [`super::profile`] and [`super::drift`].

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::blocks::{self, BlockOutcome, BlockQuery, BlockRequest, BlockView};
use super::drift::{self, DriftOutcome, DriftReport, DriftSummary};
use super::ingest::{self, IngestLimits, IngestReport};
use super::memory::{self, MonitorStats};
use super::profile::{self, ProfileUpload, StoredProfile};
use crate::actor::Actor;
use crate::authz::actions;
use crate::error::{ApiError, ApiResult};
use crate::gate::Caller;
use crate::routes::Route;
use crate::state::AppState;

/// The routes of the API.
pub fn routes() -> Vec<Route> {
    vec![
        Route::api(Method::GET, "/api/v1/gateway/{id}/clients", actions::GATEWAY_CHECK, blocklist).on_asset("id").returns::<blocks::Blocklist>(),
        Route::api(Method::GET, "/api/v1/gateway/{id}/clients/{client_id}", actions::GATEWAY_CHECK, check).on_asset("id").returns::<CheckAnswer>(),
        Route::api(Method::POST, "/api/v1/gateway/{id}/clients/{client_id}/lift", actions::GATEWAY_LIFT, lift)
            .on_asset("id")
            .accepts::<LiftRequest>()
            .returns::<BlockOutcome>(),
        Route::api(Method::GET, "/api/v1/gateway/{id}/blocks", actions::GATEWAY_READ, list_for_deployment)
            .on_asset("id")
            .query::<BlockQuery>()
            .returns_list::<BlockView>(),
        Route::api(Method::POST, "/api/v1/gateway/{id}/blocks", actions::GATEWAY_BLOCK, block)
            .on_asset("id")
            .accepts::<BlockRequest>()
            .returns::<BlockOutcome>()
            .status(201),
        Route::api(Method::GET, "/api/v1/gateway/blocks", actions::GATEWAY_READ, list_all).query::<BlockQuery>().returns_list::<BlockView>(),
        Route::api(Method::POST, "/api/v1/deployments/{id}/events", actions::TRAFFIC_INGEST, events)
            .on_asset("id")
            .accepts_raw("application/x-ndjson")
            .returns::<IngestReport>(),
        Route::api(Method::GET, "/api/v1/deployments/{id}/traffic", actions::ASSET_READ, traffic).on_asset("id").returns::<TrafficSummary>(),
        Route::api(Method::GET, "/api/v1/deployments/{id}/profile", actions::ASSET_READ, get_profile).on_asset("id").returns::<StoredProfile>(),
        Route::api(Method::PUT, "/api/v1/deployments/{id}/profile", actions::ASSET_UPDATE, put_profile).on_asset("id").accepts::<ProfileUpload>().returns::<ProfileSaved>(),
        Route::api(Method::DELETE, "/api/v1/deployments/{id}/profile", actions::ASSET_UPDATE, delete_profile).on_asset("id").status(204),
        Route::api(Method::POST, "/api/v1/assets/{id}/drift", actions::DRIFT_REPORT, post_drift)
            .on_asset("id")
            .accepts::<DriftReport>()
            .returns::<DriftOutcome>()
            .status(201),
        Route::api(Method::GET, "/api/v1/assets/{id}/drift", actions::ASSET_READ, get_drift).on_asset("id").returns::<DriftList>(),
        Route::api(Method::PUT, "/api/v1/assets/{id}/drift/threshold", actions::ASSET_UPDATE, put_threshold)
            .on_asset("id")
            .accepts::<ThresholdRequest>()
            .returns::<ThresholdSaved>(),
    ]
}

/// The body, or the API's JSON error when it could not be read (too large, interrupted).
pub fn body_bytes(body: Result<Bytes, BytesRejection>) -> ApiResult<Bytes> {
    body.map_err(|e| if e.status() == StatusCode::PAYLOAD_TOO_LARGE { ApiError::TooLarge(e.body_text()) } else { ApiError::BadRequest(e.body_text()) })
}

/// The query string, or the API's JSON 400 naming what does not parse.
fn query<T>(query: Result<Query<T>, QueryRejection>) -> ApiResult<T> {
    query.map(|Query(q)| q).map_err(|e| ApiError::BadRequest(e.body_text()))
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

/// Every client blocked at the deployment now, for gateways that refresh a local copy.
async fn blocklist(State(app): State<AppState>, Path(deployment_id): Path<String>) -> ApiResult<Json<blocks::Blocklist>> {
    Ok(Json(blocks::blocklist(&app, &deployment_id).await?))
}

async fn block(State(app): State<AppState>, caller: Caller, Path(deployment_id): Path<String>, body: Result<Bytes, BytesRejection>) -> ApiResult<Response> {
    let request: BlockRequest = parse_body(&body_bytes(body)?, "expected {\"client_id\", \"reason\", \"incident_id\"?, \"expires_in_secs\"?}")?;
    let outcome = blocks::block(&app, Actor::Caller(&caller), &deployment_id, &request).await?;
    if !outcome.changed {
        return Err(ApiError::Conflict(outcome.message));
    }
    Ok((StatusCode::CREATED, Json(outcome)).into_response())
}

/// The body of a lift.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LiftRequest {
    /// Why (kept in the audit log).
    #[serde(default)]
    pub reason: String,
}

async fn lift(State(app): State<AppState>, caller: Caller, Path((deployment_id, client_id)): Path<(String, String)>, body: Result<Bytes, BytesRejection>) -> ApiResult<Response> {
    let request: LiftRequest = parse_body(&body_bytes(body)?, "expected {\"reason\"}")?;
    let outcome = blocks::lift(&app, Actor::Caller(&caller), &deployment_id, &client_id, &request.reason).await?;
    if !outcome.changed {
        return Err(ApiError::Conflict(outcome.message));
    }
    Ok(Json(outcome).into_response())
}

async fn list_for_deployment(State(app): State<AppState>, Path(deployment_id): Path<String>, q: Result<Query<BlockQuery>, QueryRejection>) -> ApiResult<Json<Vec<BlockView>>> {
    let mut query = query(q)?;
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

async fn list_all(State(app): State<AppState>, caller: Caller, q: Result<Query<BlockQuery>, QueryRejection>) -> ApiResult<Json<Vec<BlockView>>> {
    Ok(Json(list_readable(&app, &caller, &query(q)?, "/api/v1/gateway/blocks").await?))
}

async fn events(State(app): State<AppState>, caller: Caller, Path(deployment_id): Path<String>, body: axum::body::Body) -> ApiResult<Json<IngestReport>> {
    // Refuse before reading a body that cannot be used.
    let deployment = blocks::require_deployment(&app, &deployment_id).await?;
    if deployment.retired {
        return Err(ApiError::Conflict(format!("deployment `{}` is retired; it serves no traffic", deployment.name)));
    }
    let events = ingest::read_events(body.into_data_stream(), IngestLimits::default()).await?;
    Ok(Json(ingest::ingest(&app, &caller, &deployment_id, events).await?))
}

/// A deployment's traffic: all instances' counts, this instance's detectors, its profile and blocks.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TrafficSummary {
    /// Ingestion requests, all instances together.
    pub requests: i64,
    /// Events fed to the detectors, all instances together.
    pub events: i64,
    /// Events refused because their client was blocked.
    pub refused: i64,
    /// Findings the detectors raised.
    pub alerts: i64,
    /// The last ingestion (unix ms).
    pub last_at: Option<i64>,
    /// This instance's detectors (per-client state is per instance).
    pub detectors: Option<MonitorStats>,
    /// Input dimensions of the reference profile, when one is set.
    pub profile_dims: Option<usize>,
    /// Clients blocked now.
    pub blocked_clients: usize,
}

/// The traffic summary of `deployment_id`.
pub async fn traffic_summary(app: &AppState, deployment_id: &str) -> ApiResult<TrafficSummary> {
    let (requests, events, refused, alerts, last_at) = ingest::counts(app, deployment_id).await?;
    let settings = profile::settings(app, deployment_id).await?;
    let blocked = blocks::list(app, &BlockQuery { deployment: Some(deployment_id.to_owned()), limit: Some(1000), ..BlockQuery::default() }).await?;
    Ok(TrafficSummary {
        requests,
        events,
        refused,
        alerts,
        last_at,
        detectors: memory::of(app).monitor_stats(deployment_id),
        profile_dims: settings.profile.map(|p| p.mean.len()),
        blocked_clients: blocked.len(),
    })
}

async fn traffic(State(app): State<AppState>, Path(deployment_id): Path<String>) -> ApiResult<Json<TrafficSummary>> {
    blocks::require_deployment(&app, &deployment_id).await?;
    Ok(Json(traffic_summary(&app, &deployment_id).await?))
}

async fn get_profile(State(app): State<AppState>, Path(deployment_id): Path<String>) -> ApiResult<Json<StoredProfile>> {
    let deployment = blocks::require_deployment(&app, &deployment_id).await?;
    let settings = profile::settings(&app, &deployment_id).await?;
    settings.profile.map(Json).ok_or_else(|| ApiError::NotFound(format!("deployment `{}` has no reference profile", deployment.name)))
}

async fn put_profile(State(app): State<AppState>, caller: Caller, Path(deployment_id): Path<String>, body: Result<Bytes, BytesRejection>) -> ApiResult<Response> {
    let upload: ProfileUpload = parse_body(&body_bytes(body)?, "expected {\"mean\": [...], \"std\": [...]} or {\"rows\": [[...], ...]}")?;
    let built = profile::build(upload)?;
    let dims = built.mean.len();
    profile::set(&app, Actor::Caller(&caller), &deployment_id, Some(built)).await?;
    Ok(Json(ProfileSaved { dimensions: dims }).into_response())
}

/// The answer to a profile upload.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProfileSaved {
    /// Input dimensions of the profile now in force.
    pub dimensions: usize,
}

async fn delete_profile(State(app): State<AppState>, caller: Caller, Path(deployment_id): Path<String>) -> ApiResult<Response> {
    if profile::set(&app, Actor::Caller(&caller), &deployment_id, None).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::NotFound(format!("deployment `{deployment_id}` has no reference profile")))
    }
}

async fn post_drift(State(app): State<AppState>, caller: Caller, Path(asset_id): Path<String>, body: Result<Bytes, BytesRejection>) -> ApiResult<Response> {
    let report: DriftReport = parse_body(&body_bytes(body)?, "not a drift report (expected what `warden drift --format json` writes: {\"columns\", \"drifted_share\", \"dataset_drift\"})")?;
    let outcome = drift::record(&app, Actor::Caller(&caller), &asset_id, report).await?;
    Ok((StatusCode::CREATED, Json(outcome)).into_response())
}

/// An asset's drift threshold and latest reports.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DriftList {
    /// The share of drifted columns that counts as drift; `None`: each report's verdict.
    pub threshold: Option<f64>,
    /// The latest reports, newest first.
    pub reports: Vec<DriftSummary>,
}

async fn get_drift(State(app): State<AppState>, Path(asset_id): Path<String>) -> ApiResult<Json<DriftList>> {
    drift::require_drift_asset(&app, &asset_id).await?;
    Ok(Json(DriftList { threshold: drift::threshold(&app, &asset_id).await?, reports: drift::list(&app, &asset_id, 100).await? }))
}

/// The body of a threshold change.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ThresholdRequest {
    /// A share of columns in (0, 1], or `null` to follow each report's verdict.
    pub threshold: Option<f64>,
}

async fn put_threshold(State(app): State<AppState>, caller: Caller, Path(asset_id): Path<String>, body: Result<Bytes, BytesRejection>) -> ApiResult<Response> {
    let request: ThresholdRequest = parse_body(&body_bytes(body)?, "expected {\"threshold\": a share between 0 and 1, or null}")?;
    let changed = drift::set_threshold(&app, Actor::Caller(&caller), &asset_id, request.threshold).await?;
    Ok(Json(ThresholdSaved { threshold: request.threshold, changed }).into_response())
}

/// The answer to a threshold change.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ThresholdSaved {
    /// The threshold in force (`None`: each report's verdict).
    pub threshold: Option<f64>,
    /// Whether it differs from before.
    pub changed: bool,
}
