//! The JSON API of playbooks, runs, approvals, drills, webhook targets, deliveries and freezes.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::approvals::{self, DecisionRequest, PendingApproval};
use super::catalog::{self, PlaybookVersion, SaveMode, StoredPlaybook};
use super::deliveries::{self, Delivery, DeliveryQuery};
use super::drill::{self, DrillRequest, DrillStarted, RunReport};
use super::runs::{self, Run, RunQuery};
use super::spec::{self, Issue};
use super::webhooks::{self, CreatedWebhook, WebhookRequest, WebhookTarget};
use crate::actor::Actor;
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, QueryParams};
use crate::gate::Caller;
use crate::state::AppState;

/// A playbook as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlaybookView {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// The current version.
    pub version: i64,
    /// Whether incidents start it.
    pub enabled: bool,
    /// The current version is warden's shipped text.
    pub shipped: bool,
    /// Who wrote the current version.
    pub updated_by: String,
    /// When (unix ms).
    pub updated_at: i64,
    /// The trigger.
    #[schema(value_type = Object)]
    pub trigger: Value,
    /// The steps.
    #[schema(value_type = Vec<Object>)]
    pub steps: Vec<Value>,
    /// The YAML text.
    pub source: String,
}

impl PlaybookView {
    /// The view of `stored`.
    pub fn of(stored: &StoredPlaybook) -> PlaybookView {
        PlaybookView {
            id: stored.id.clone(),
            name: stored.name.clone(),
            description: stored.playbook.description.clone(),
            version: stored.version,
            enabled: stored.enabled,
            shipped: stored.shipped,
            updated_by: stored.updated_by.clone(),
            updated_at: stored.updated_at,
            trigger: serde_json::to_value(&stored.playbook.trigger).unwrap_or(Value::Null),
            steps: stored.playbook.steps.iter().map(|s| serde_json::to_value(s).unwrap_or(Value::Null)).collect(),
            source: stored.source.clone(),
        }
    }
}

/// A playbook with its versions.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlaybookDetail {
    /// The playbook.
    #[serde(flatten)]
    pub playbook: PlaybookView,
    /// Every version, newest first.
    pub versions: Vec<PlaybookVersion>,
}

/// `POST /api/v1/playbooks`, `PUT /api/v1/playbooks/{id}` and `POST /api/v1/playbooks/validate` body.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaybookText {
    /// The playbook as YAML.
    #[serde(default)]
    pub yaml: Option<String>,
}

impl PlaybookText {
    fn text(&self) -> ApiResult<&str> {
        self.yaml.as_deref().filter(|t| !t.trim().is_empty()).ok_or_else(|| ApiError::BadRequest("send the playbook's YAML text as `yaml`".into()))
    }
}

/// What validation found.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Validation {
    /// No problems.
    pub valid: bool,
    /// Every problem, with its field and line.
    pub issues: Vec<Issue>,
    /// The playbook's id, when valid.
    pub id: Option<String>,
    /// Its steps' actions, when valid.
    pub steps: Vec<String>,
}

/// `PATCH /api/v1/playbooks/{id}` body.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaybookPatch {
    /// Enable or disable.
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// A run with its steps.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RunDetail {
    /// The report (run, steps, journal, timings).
    #[serde(flatten)]
    pub report: RunReport,
    /// The steps as stored (plans, errors, decisions).
    pub step_rows: Vec<runs::RunStep>,
}

pub(super) async fn list(State(app): State<AppState>) -> ApiResult<Json<Vec<PlaybookView>>> {
    Ok(Json(catalog::list(&app).await?.iter().map(PlaybookView::of).collect()))
}

pub(super) async fn detail(State(app): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<PlaybookDetail>> {
    let stored = catalog::require(&app, &id).await?;
    Ok(Json(PlaybookDetail { playbook: PlaybookView::of(&stored), versions: catalog::versions(&app, &id).await? }))
}

pub(super) async fn version(State(app): State<AppState>, crate::extract::PathParams((id, version)): crate::extract::PathParams<(String, i64)>) -> ApiResult<Json<Value>> {
    let source = catalog::source_of(&app, &id, version).await?;
    Ok(Json(json!({"id": id, "version": version, "source": source})))
}

pub(super) async fn create(State(app): State<AppState>, caller: Caller, JsonBody(body): JsonBody<PlaybookText>) -> ApiResult<Response> {
    let stored = catalog::save(&app, Actor::Caller(&caller), body.text()?, SaveMode::Create, None).await?;
    Ok((StatusCode::CREATED, Json(PlaybookView::of(&stored))).into_response())
}

pub(super) async fn replace(State(app): State<AppState>, caller: Caller, Path(id): Path<String>, JsonBody(body): JsonBody<PlaybookText>) -> ApiResult<Json<PlaybookView>> {
    let stored = catalog::save(&app, Actor::Caller(&caller), body.text()?, SaveMode::Replace, Some(&id)).await?;
    Ok(Json(PlaybookView::of(&stored)))
}

pub(super) async fn patch(State(app): State<AppState>, caller: Caller, Path(id): Path<String>, JsonBody(body): JsonBody<PlaybookPatch>) -> ApiResult<Json<PlaybookView>> {
    let enabled = body.enabled.ok_or_else(|| ApiError::BadRequest("send `enabled: true` or `enabled: false`".into()))?;
    catalog::set_enabled(&app, Actor::Caller(&caller), &id, enabled).await?;
    Ok(Json(PlaybookView::of(&catalog::require(&app, &id).await?)))
}

/// Validates playbook text without storing it.
pub fn validate_text(text: &str) -> Validation {
    match spec::parse(text) {
        Ok(playbook) => Validation { valid: true, issues: Vec::new(), id: Some(playbook.id), steps: playbook.steps.iter().map(|s| s.action.as_str().to_owned()).collect() },
        Err(issues) => Validation { valid: false, issues, id: None, steps: Vec::new() },
    }
}

pub(super) async fn validate(JsonBody(body): JsonBody<PlaybookText>) -> ApiResult<Json<Validation>> {
    Ok(Json(validate_text(body.text()?)))
}

pub(super) async fn start_drill(State(app): State<AppState>, caller: Caller, Path(id): Path<String>, body: Option<JsonBody<DrillRequest>>) -> ApiResult<Response> {
    let request = body.map(|JsonBody(b)| b).unwrap_or_default();
    let started: DrillStarted = drill::start(&app, &caller, &id, &request).await?;
    Ok((StatusCode::CREATED, Json(started)).into_response())
}

pub(super) async fn list_runs(State(app): State<AppState>, QueryParams(query): QueryParams<RunQuery>) -> ApiResult<Json<Vec<Run>>> {
    Ok(Json(runs::list(&app, &query).await?))
}

pub(super) async fn run_detail(State(app): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<RunDetail>> {
    let report = drill::report(&app, &id).await?;
    let step_rows = runs::steps(&app, &id).await?;
    Ok(Json(RunDetail { report, step_rows }))
}

/// `?format=markdown` for the report as Markdown.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ReportQuery {
    format: Option<String>,
}

pub(super) async fn run_report(State(app): State<AppState>, Path(id): Path<String>, QueryParams(q): QueryParams<ReportQuery>) -> ApiResult<Response> {
    let report = drill::report(&app, &id).await?;
    match q.format.as_deref() {
        Some("markdown" | "md") => Ok(([(header::CONTENT_TYPE, "text/markdown; charset=utf-8")], drill::markdown(&report)).into_response()),
        Some("json") | None => Ok(Json(drill::to_json(&report)).into_response()),
        Some(other) => Err(ApiError::BadRequest(format!("unknown report format `{other}`: use json or markdown"))),
    }
}

pub(super) async fn list_approvals(State(app): State<AppState>) -> ApiResult<Json<Vec<PendingApproval>>> {
    Ok(Json(approvals::pending(&app).await?))
}

async fn decide(app: &AppState, caller: &Caller, run: &str, idx: i64, approve: bool, body: Option<JsonBody<DecisionRequest>>) -> ApiResult<Json<Run>> {
    let note = body.and_then(|JsonBody(b)| b.note).unwrap_or_default();
    Ok(Json(approvals::decide(app, caller, run, idx, approve, &note).await?))
}

pub(super) async fn approve(State(app): State<AppState>, caller: Caller, crate::extract::PathParams((run, idx)): crate::extract::PathParams<(String, i64)>, body: Option<JsonBody<DecisionRequest>>) -> ApiResult<Json<Run>> {
    decide(&app, &caller, &run, idx, true, body).await
}

pub(super) async fn reject(State(app): State<AppState>, caller: Caller, crate::extract::PathParams((run, idx)): crate::extract::PathParams<(String, i64)>, body: Option<JsonBody<DecisionRequest>>) -> ApiResult<Json<Run>> {
    decide(&app, &caller, &run, idx, false, body).await
}

pub(super) async fn list_webhooks(State(app): State<AppState>) -> ApiResult<Json<Vec<WebhookTarget>>> {
    Ok(Json(webhooks::list(&app).await?))
}

pub(super) async fn create_webhook(State(app): State<AppState>, caller: Caller, JsonBody(body): JsonBody<WebhookRequest>) -> ApiResult<Response> {
    let created: CreatedWebhook = webhooks::create(&app, Actor::Caller(&caller), &body).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

pub(super) async fn update_webhook(State(app): State<AppState>, caller: Caller, Path(id): Path<String>, JsonBody(body): JsonBody<WebhookRequest>) -> ApiResult<Json<WebhookTarget>> {
    Ok(Json(webhooks::update(&app, Actor::Caller(&caller), &id, &body).await?))
}

pub(super) async fn rotate_webhook(State(app): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<CreatedWebhook>> {
    Ok(Json(webhooks::rotate_secret(&app, Actor::Caller(&caller), &id).await?))
}

pub(super) async fn delete_webhook(State(app): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    webhooks::delete(&app, Actor::Caller(&caller), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn list_deliveries(State(app): State<AppState>, QueryParams(query): QueryParams<DeliveryQuery>) -> ApiResult<Json<Vec<Delivery>>> {
    Ok(Json(deliveries::list(&app, &query).await?))
}

pub(super) async fn retry_delivery(State(app): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Delivery>> {
    Ok(Json(deliveries::retry_dead(&app, Actor::Caller(&caller), &id).await?))
}
