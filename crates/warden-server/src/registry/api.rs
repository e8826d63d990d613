//! The registry's JSON API: list models and versions, upload (raw body), download, and the stage
//! operations. Handlers are thin: they parse, then call [`super::upload`], [`super::download`] or
//! [`super::stages`].

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::catalog::{self, ModelSummary, ModelVersion, Stage, StageEvent};
use super::stages::{self, Actor, Outcome};
use super::upload::{self, UploadRequest};
use crate::authz::{ResourceRef, actions};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, QueryParams};
use crate::findings::{self, FindingQuery, StoredFinding};
use crate::gate::Caller;
use crate::routes::{RouteMeta, Surface, Target};
use crate::state::AppState;

/// `?version=...&filename=...` of an upload.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct UploadQuery {
    /// The version string (e.g. `1.2.0`), unique within the model.
    #[param(required = true, value_type = String)]
    pub version: Option<String>,
    /// The file's name (its extension is a hint only: the content decides the format).
    #[param(required = true, value_type = String)]
    pub filename: Option<String>,
}

pub(super) async fn upload(
    State(app): State<AppState>,
    caller: Caller,
    Path(asset_id): Path<String>,
    QueryParams(query): QueryParams<UploadQuery>,
    headers: axum::http::HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let request = UploadRequest {
        asset_id,
        version: query.version.ok_or_else(|| ApiError::BadRequest("add `?version=` (e.g. 1.2.0) to the upload URL".into()))?,
        filename: query.filename.ok_or_else(|| ApiError::BadRequest("add `?filename=` (the model file's name) to the upload URL".into()))?,
    };
    upload::precheck(&app, &request).await?;
    let declared = headers.get(axum::http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > app.config.max_upload_bytes) {
        return Err(upload::too_large(app.config.max_upload_bytes));
    }
    let received = upload::receive(&app, body.into_data_stream()).await?;
    let uploaded = upload::ingest(&app, &caller, request, received).await?;
    Ok((StatusCode::CREATED, Json(uploaded)).into_response())
}

pub(super) async fn list_models(State(app): State<AppState>) -> ApiResult<Json<Vec<ModelSummary>>> {
    Ok(Json(catalog::summaries(&mut *app.store.read.acquire().await?).await?))
}

/// A model with its versions and stage history.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ModelDetail {
    /// The model asset.
    pub model: catalog::ModelAsset,
    /// Its versions, newest first.
    pub versions: Vec<ModelVersion>,
    /// The version string in production.
    pub production: Option<String>,
    /// The most recent stage changes, newest first.
    pub history: Vec<StageEvent>,
}

/// Everything the model page and `GET /api/v1/models/{id}/versions` show.
pub async fn model_detail(app: &AppState, asset_id: &str) -> ApiResult<ModelDetail> {
    let mut conn = app.store.read.acquire().await?;
    let model = catalog::model_asset(&mut conn, asset_id).await?;
    let versions = catalog::versions(&mut conn, asset_id).await?;
    let production = versions.iter().find(|v| v.in_production()).map(|v| v.version.clone());
    let history = catalog::stage_history(&mut conn, asset_id, 50).await?;
    Ok(ModelDetail { model, versions, production, history })
}

pub(super) async fn list_versions(State(app): State<AppState>, Path(asset_id): Path<String>) -> ApiResult<Json<ModelDetail>> {
    Ok(Json(model_detail(&app, &asset_id).await?))
}

/// One version with the findings its scan attached.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VersionDetail {
    /// The version.
    #[serde(flatten)]
    pub version: ModelVersion,
    /// Its scan findings, most severe first.
    pub findings: Vec<StoredFinding>,
}

/// A version's scan findings, most severe first.
pub async fn version_findings(app: &AppState, version: &ModelVersion) -> ApiResult<Vec<StoredFinding>> {
    let query = FindingQuery { version: Some(version.id.clone()), source: Some("registry_scan".into()), limit: Some(1000), ..Default::default() };
    let mut found = findings::list(app, &query).await?;
    found.sort_by(|a, b| b.finding.severity.cmp(&a.finding.severity).then_with(|| a.finding.rule_id.as_str().cmp(b.finding.rule_id.as_str())));
    Ok(found)
}

pub(super) async fn get_version(State(app): State<AppState>, Path((asset_id, version)): Path<(String, String)>) -> ApiResult<Json<VersionDetail>> {
    let stored = {
        let mut conn = app.store.read.acquire().await?;
        let model = catalog::model_asset(&mut conn, &asset_id).await?;
        catalog::existing_version(&mut conn, &model, &version).await?
    };
    let findings = version_findings(&app, &stored).await?;
    Ok(Json(VersionDetail { version: stored, findings }))
}

pub(super) async fn download(State(app): State<AppState>, caller: Caller, Path((asset_id, version)): Path<(String, String)>) -> ApiResult<Response> {
    super::download::download(&app, &caller, &asset_id, &version).await
}

/// Body of a promotion.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PromoteBody {
    /// development, staging or production.
    pub stage: String,
    /// Why (kept in the stage history and the audit log).
    #[serde(default)]
    pub reason: String,
}

/// Body of quarantine and release.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ReasonBody {
    /// Why (required for a quarantine).
    #[serde(default)]
    pub reason: String,
}

/// Body of a rollback.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RollbackBody {
    /// Why.
    #[serde(default)]
    pub reason: String,
    /// Roll back only if this version is the one in production (makes retries harmless).
    #[serde(default)]
    pub from_version: Option<String>,
}

/// The stage named in a request, or a 400 that lists the choices.
pub fn requested_stage(text: &str) -> ApiResult<Stage> {
    match Stage::parse(text.trim()) {
        Some(stage) if stage != Stage::Archived => Ok(stage),
        _ => Err(ApiError::BadRequest(format!("`{}` is not a stage: use development, staging or production", text.escape_default()))),
    }
}

/// Promotion to production needs `registry.promote.production` on top of `registry.promote`:
/// decided here, recorded in the audit log like the gate's decisions, 403 when refused.
pub async fn authorise_production(app: &AppState, caller: &Caller, asset_id: &str, surface: Surface) -> ApiResult<()> {
    let action = actions::REGISTRY_PROMOTE_PRODUCTION;
    let resource = match crate::inventory::asset_attrs(app, asset_id).await? {
        Some(attrs) => ResourceRef::Asset(attrs),
        None => ResourceRef::Server,
    };
    let decision = app.authz.decide(&caller.principal, action, &resource, &caller.facts());
    app.metrics.decision(decision.allowed);
    let path = match surface {
        Surface::Api => super::API_PROMOTE,
        Surface::Ui => super::UI_PROMOTE,
    };
    let route = RouteMeta { method: "POST", path, action, target: Target::Asset("id"), surface };
    let note = "promotion to production (decided inside registry.promote)";
    app.audit.record_decision(&caller.principal, &caller.via, caller.ip, &route, Some(asset_id), &decision, &caller.request_id, note).await?;
    if decision.allowed {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!("`{}` is not allowed (decided by: {})", action.name, decision.reason().join(", "))))
    }
}

/// Promotes after the production check; shared by the API and the UI.
pub async fn promote_checked(app: &AppState, caller: &Caller, asset_id: &str, version: &str, request: &PromoteBody, surface: Surface) -> ApiResult<Outcome> {
    let stage = requested_stage(&request.stage)?;
    if stage == Stage::Production {
        authorise_production(app, caller, asset_id, surface).await?;
    }
    stages::promote(app, Actor::Caller(caller), asset_id, version, stage, &request.reason).await
}

pub(super) async fn promote(
    State(app): State<AppState>,
    caller: Caller,
    Path((asset_id, version)): Path<(String, String)>,
    JsonBody(body): JsonBody<PromoteBody>,
) -> ApiResult<Json<Outcome>> {
    Ok(Json(promote_checked(&app, &caller, &asset_id, &version, &body, Surface::Api).await?))
}

pub(super) async fn quarantine(
    State(app): State<AppState>,
    caller: Caller,
    Path((asset_id, version)): Path<(String, String)>,
    JsonBody(body): JsonBody<ReasonBody>,
) -> ApiResult<Json<Outcome>> {
    Ok(Json(stages::quarantine(&app, Actor::Caller(&caller), &asset_id, &version, &body.reason).await?))
}

pub(super) async fn release(
    State(app): State<AppState>,
    caller: Caller,
    Path((asset_id, version)): Path<(String, String)>,
    body: Option<JsonBody<ReasonBody>>,
) -> ApiResult<Json<Outcome>> {
    let reason = body.map(|JsonBody(b)| b.reason).unwrap_or_default();
    Ok(Json(stages::release(&app, Actor::Caller(&caller), &asset_id, &version, &reason).await?))
}

pub(super) async fn rollback(State(app): State<AppState>, caller: Caller, Path(asset_id): Path<String>, body: Option<JsonBody<RollbackBody>>) -> ApiResult<Json<Outcome>> {
    let body = body.map(|JsonBody(b)| b).unwrap_or(RollbackBody { reason: String::new(), from_version: None });
    Ok(Json(stages::rollback(&app, Actor::Caller(&caller), &asset_id, body.from_version.as_deref(), &body.reason).await?))
}
