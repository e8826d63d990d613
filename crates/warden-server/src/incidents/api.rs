//! The incidents' JSON API: list, read, open by hand, move through the lifecycle, assign,
//! comment, edit, link findings and assets, the review in Markdown, the metrics, and the OCSF
//! export for a SIEM. Handlers are thin: they parse and call [`super::lifecycle`],
//! [`super::store`], [`super::review`] and [`super::ocsf`].

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use warden_core::Severity;

use super::lifecycle::{self, Assignment, IncidentUpdate, LinkRequest, ManualIncident};
use super::review::{self, RunSummary};
use super::store::{self, Incident, LinkedAsset, ListFilter, StoredEvent};
use super::{Status, metrics, ocsf};
use crate::actor::Actor;
use crate::authz::actions;
use crate::error::{ApiError, ApiResult};
use crate::extract::QueryParams;
use crate::findings::StoredFinding;
use crate::gate::Caller;
use crate::inventory::api::parse_body;
use crate::routes::Route;
use crate::state::AppState;

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    vec![
        Route::api(Method::GET, "/api/v1/incidents", actions::INCIDENT_READ, list),
        Route::api(Method::POST, "/api/v1/incidents", actions::INCIDENT_WRITE, create).accepts::<ManualIncident>().status(201),
        Route::api(Method::GET, "/api/v1/incidents/export", actions::INCIDENT_READ, export),
        Route::api(Method::GET, "/api/v1/incidents/metrics", actions::INCIDENT_READ, summary),
        Route::api(Method::GET, "/api/v1/incidents/rules", actions::INCIDENT_READ, rules_in_force).returns::<super::rules::RulesInForce>(),
        Route::api(Method::GET, "/api/v1/incidents/{id}", actions::INCIDENT_READ, read),
        Route::api(Method::PATCH, "/api/v1/incidents/{id}", actions::INCIDENT_WRITE, update).accepts::<IncidentUpdate>(),
        Route::api(Method::POST, "/api/v1/incidents/{id}/advance", actions::INCIDENT_MANAGE, advance).accepts::<AdvanceRequest>(),
        Route::api(Method::POST, "/api/v1/incidents/{id}/assign", actions::INCIDENT_WRITE, assign).accepts::<Assignment>(),
        Route::api(Method::POST, "/api/v1/incidents/{id}/comments", actions::INCIDENT_WRITE, comment).accepts::<CommentRequest>().status(201),
        Route::api(Method::POST, "/api/v1/incidents/{id}/links", actions::INCIDENT_WRITE, link).accepts::<LinkRequest>(),
        Route::api(Method::GET, "/api/v1/incidents/{id}/review.md", actions::INCIDENT_READ, review_markdown),
    ]
}

/// Filters of the incident list, as text (an unknown value is a 400 that says what is allowed).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct ListQuery {
    /// detected, triaged, contained, mitigated, recovered or closed.
    pub status: Option<String>,
    /// At or above this severity.
    pub severity: Option<String>,
    /// About or linked to this asset.
    pub asset: Option<String>,
    /// `true`: only those not closed.
    pub open: Option<String>,
    /// `true`: drills instead of real incidents.
    pub drills: Option<String>,
    /// At most this many (default 200, at most 1000).
    pub limit: Option<String>,
}

fn flag(value: Option<&str>) -> bool {
    matches!(value.map(str::trim), Some("1" | "true" | "yes" | "on"))
}

fn nonempty(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

impl ListQuery {
    /// The store filter, or a 400 naming the bad value.
    pub fn filter(&self) -> ApiResult<ListFilter> {
        let status = match nonempty(self.status.as_deref()) {
            Some(text) => Some(Status::parse(text).ok_or_else(|| {
                ApiError::BadRequest(format!("unknown status `{text}` (expected detected, triaged, contained, mitigated, recovered or closed)"))
            })?),
            None => None,
        };
        let min_severity = match nonempty(self.severity.as_deref()) {
            Some(text) => Some(text.parse::<Severity>().map_err(|e| ApiError::BadRequest(e.to_string()))?),
            None => None,
        };
        Ok(ListFilter {
            status,
            min_severity,
            asset_id: match nonempty(self.asset.as_deref()) {
                Some(asset) if !super::store::plain_id(asset) => return Err(ApiError::BadRequest("`asset` is an asset id".into())),
                other => other.map(str::to_owned),
            },
            open_only: flag(self.open.as_deref()),
            drills: flag(self.drills.as_deref()),
            updated_since: None,
            limit: match nonempty(self.limit.as_deref()) {
                Some(text) => text.parse::<i64>().map_err(|_| ApiError::BadRequest(format!("`limit` is a number, not `{text}`")))?.clamp(1, 1000),
                None => 200,
            },
        })
    }
}

async fn list(State(app): State<AppState>, QueryParams(q): QueryParams<ListQuery>) -> ApiResult<Json<Vec<Incident>>> {
    let filter = q.filter()?;
    let mut conn = app.store.read.acquire().await?;
    Ok(Json(store::list(&mut conn, &filter).await?))
}

async fn create(State(app): State<AppState>, caller: Caller, body: Bytes) -> ApiResult<Response> {
    let request: ManualIncident = parse_body(&body, "incident")?;
    let incident = lifecycle::create(&app, Actor::Caller(&caller), &request).await?;
    let location = format!("/api/v1/incidents/{}", incident.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(incident)).into_response())
}

/// An incident with everything that hangs off it.
#[derive(Debug, Serialize)]
pub struct IncidentDetail {
    /// The incident.
    #[serde(flatten)]
    pub incident: Incident,
    /// Its findings, oldest first.
    pub findings: Vec<StoredFinding>,
    /// Its assets.
    pub assets: Vec<LinkedAsset>,
    /// Its events, oldest first.
    pub events: Vec<StoredEvent>,
    /// Playbook runs on it.
    pub playbook_runs: Vec<RunSummary>,
}

/// Incident `id` with its findings, assets, events and playbook runs.
pub async fn detail(app: &AppState, id: &str) -> ApiResult<IncidentDetail> {
    let mut conn = app.store.read.acquire().await?;
    let incident = store::existing(&mut conn, id).await?;
    let findings = store::incident_findings(&mut conn, &incident).await?;
    let assets = store::linked_assets(&mut conn, id).await?;
    let events = store::events(&mut conn, id).await?;
    drop(conn);
    let playbook_runs = review::runs(app, id).await?;
    Ok(IncidentDetail { incident, findings, assets, events, playbook_runs })
}

async fn read(State(app): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<IncidentDetail>> {
    Ok(Json(detail(&app, &id).await?))
}

async fn update(State(app): State<AppState>, caller: Caller, Path(id): Path<String>, body: Bytes) -> ApiResult<Json<Incident>> {
    let request: IncidentUpdate = parse_body(&body, "incident change")?;
    Ok(Json(lifecycle::update(&app, Actor::Caller(&caller), &id, &request).await?))
}

/// A status change.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct AdvanceRequest {
    /// Where to: triaged, contained, mitigated, recovered or closed.
    #[serde(default)]
    to: String,
    /// Why, for the timeline.
    #[serde(default)]
    note: String,
}

/// The answer to a status change.
#[derive(Debug, Serialize)]
struct AdvanceAnswer {
    /// `false`: the incident was there or beyond already.
    changed: bool,
    /// The incident afterwards.
    incident: Incident,
}

/// Parses a target status, refusing `detected` (where every incident starts).
pub fn target_status(text: &str) -> ApiResult<Status> {
    match Status::parse(text) {
        Some(Status::Detected) => Err(ApiError::BadRequest("every incident starts detected; move it to triaged, contained, mitigated, recovered or closed".into())),
        Some(status) => Ok(status),
        None => Err(ApiError::BadRequest(format!("`to` must be triaged, contained, mitigated, recovered or closed, not `{}`", text.chars().take(40).collect::<String>()))),
    }
}

async fn advance(State(app): State<AppState>, caller: Caller, Path(id): Path<String>, body: Bytes) -> ApiResult<Json<AdvanceAnswer>> {
    let request: AdvanceRequest = parse_body(&body, "status change")?;
    let to = target_status(&request.to)?;
    let changed = lifecycle::advance(&app, Actor::Caller(&caller), &id, to, &request.note).await?;
    let incident = store::existing(&mut *app.store.read.acquire().await?, &id).await?;
    if !changed && incident.status > to {
        return Err(ApiError::Conflict(format!("the incident is {} already; incidents only move forward", incident.status)));
    }
    Ok(Json(AdvanceAnswer { changed, incident }))
}

async fn assign(State(app): State<AppState>, caller: Caller, Path(id): Path<String>, body: Bytes) -> ApiResult<Json<Incident>> {
    let request: Assignment = parse_body(&body, "assignment")?;
    Ok(Json(lifecycle::assign(&app, Actor::Caller(&caller), &id, &request).await?))
}

/// A comment.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct CommentRequest {
    /// The comment, for the timeline.
    #[serde(default)]
    text: String,
}

async fn comment(State(app): State<AppState>, caller: Caller, Path(id): Path<String>, body: Bytes) -> ApiResult<Response> {
    let request: CommentRequest = parse_body(&body, "comment")?;
    lifecycle::comment(&app, Actor::Caller(&caller), &id, &request.text).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({"commented": true}))).into_response())
}

async fn link(State(app): State<AppState>, caller: Caller, Path(id): Path<String>, body: Bytes) -> ApiResult<Json<serde_json::Value>> {
    let request: LinkRequest = parse_body(&body, "link")?;
    if let Some(asset) = request.asset_id.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        check_asset_readable(&app, &caller, asset).await?;
    }
    let linked = lifecycle::link(&app, Actor::Caller(&caller), &id, &request).await?;
    Ok(Json(serde_json::json!({"linked": linked})))
}

/// Linking an asset shows it on the incident: the caller must be allowed to read it (a second
/// Cedar decision, recorded like the gate's).
pub async fn check_asset_readable(app: &AppState, caller: &Caller, asset_id: &str) -> ApiResult<()> {
    if !super::store::plain_id(asset_id) {
        return Ok(());
    }
    let Some(attrs) = crate::inventory::asset_attrs(app, asset_id).await? else { return Ok(()) };
    let resource = crate::authz::ResourceRef::Asset(attrs);
    let decision = app.authz.decide(&caller.principal, actions::ASSET_READ, &resource, &caller.facts());
    let meta = crate::routes::RouteMeta {
        method: "POST",
        path: "/api/v1/incidents/{id}/links",
        action: actions::ASSET_READ,
        target: crate::routes::Target::Server,
        surface: crate::routes::Surface::Api,
    };
    app.audit.record_decision(&caller.principal, &caller.via, caller.ip, &meta, Some(asset_id), &decision, &caller.request_id, "link an asset to an incident").await?;
    if decision.allowed {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!("you may not read asset `{asset_id}`, so you cannot link it")))
    }
}

async fn review_markdown(State(app): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let review = review::assemble(&app, &id).await?;
    let text = review::markdown(&review);
    let disposition = format!("inline; filename=\"incident-{}.md\"", review.incident.id.chars().filter(char::is_ascii_alphanumeric).collect::<String>());
    Ok(([(header::CONTENT_TYPE, "text/markdown; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)], text).into_response())
}

/// Which findings open incidents: the rules in force, in the order they are tried.
async fn rules_in_force(State(app): State<AppState>) -> Json<super::rules::RulesInForce> {
    Json(app.config.incident_rules_in_force())
}

async fn summary(State(app): State<AppState>) -> ApiResult<Json<metrics::Summary>> {
    Ok(Json(metrics::summary(&app).await?))
}

/// The range of the export.
#[derive(Debug, Deserialize)]
struct ExportQuery {
    /// Incidents changed at or after this time (unix ms; default: all).
    since: Option<String>,
    /// At most this many incidents (default 1000, at most 10000).
    limit: Option<String>,
}

async fn export(State(app): State<AppState>, QueryParams(q): QueryParams<ExportQuery>) -> ApiResult<Response> {
    let number = |value: Option<&str>, what: &str| -> ApiResult<Option<i64>> {
        nonempty(value).map(|v| v.parse::<i64>().map_err(|_| ApiError::BadRequest(format!("`{what}` is a number (unix milliseconds for `since`)")))).transpose()
    };
    let since = number(q.since.as_deref(), "since")?.unwrap_or(0);
    let limit = number(q.limit.as_deref(), "limit")?.unwrap_or(1000).clamp(1, 10_000);
    let filter = ListFilter { updated_since: Some(since), limit, ..ListFilter::default() };
    let mut conn = app.store.read.acquire().await?;
    let incidents = store::list(&mut conn, &filter).await?;
    let mut with_findings = Vec::with_capacity(incidents.len());
    for incident in incidents {
        let findings = store::incident_findings(&mut conn, &incident).await?;
        with_findings.push((incident, findings));
    }
    drop(conn);
    let body = ocsf::export_lines(&with_findings, app.public_url.as_str());
    Ok((
        [(header::CONTENT_TYPE, "application/x-ndjson"), (header::CONTENT_DISPOSITION, "attachment; filename=\"warden-incidents.jsonl\"")],
        body,
    )
        .into_response())
}
