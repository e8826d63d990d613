//! The gateway's web UI: the block list across deployments (`/ui/gateway`), one deployment's
//! blocks with the forms to block and lift (`/ui/gateway/{id}`), and the traffic and drift page of
//! a model, deployment or dataset (`/ui/traffic/{id}`: ingestion counts, this instance's
//! detectors, the findings they raised, the reference profile, drift reports and the threshold).
//! Forms post to the same functions as the JSON API, so the checks and audit entries are the same.

use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::Method;
use serde::Deserialize;

use super::api::{self, TrafficSummary};
use super::blocks::{self, AssetRef, BlockQuery, BlockRequest, BlockView};
use super::drift::{self, DriftReport, DriftSummary};
use super::profile::{self, ProfileUpload};
use crate::actor::Actor;
use crate::authz::actions;
use crate::error::ApiError;
use crate::findings::{self, FindingQuery, StoredFinding};
use crate::gate::Caller;
use crate::routes::Route;
use crate::state::AppState;
use crate::ui::{self, Chrome, UiResult};

/// The routes of the UI.
pub fn routes() -> Vec<Route> {
    vec![
        Route::ui(Method::GET, "/ui/gateway", actions::GATEWAY_READ, gateway_page),
        Route::ui(Method::GET, "/ui/gateway/{id}", actions::GATEWAY_READ, deployment_page).on_asset("id"),
        Route::ui(Method::POST, "/ui/gateway/{id}/blocks", actions::GATEWAY_BLOCK, block_form).on_asset("id"),
        Route::ui(Method::POST, "/ui/gateway/{id}/blocks/{block_id}/lift", actions::GATEWAY_LIFT, lift_form).on_asset("id"),
        Route::ui(Method::GET, "/ui/traffic/{id}", actions::ASSET_READ, traffic_page).on_asset("id"),
        Route::ui(Method::POST, "/ui/traffic/{id}/threshold", actions::ASSET_UPDATE, threshold_form).on_asset("id"),
        Route::ui(Method::POST, "/ui/traffic/{id}/drift", actions::DRIFT_REPORT, drift_form).on_asset("id"),
        Route::ui(Method::POST, "/ui/traffic/{id}/profile", actions::ASSET_UPDATE, profile_form).on_asset("id"),
        Route::ui(Method::POST, "/ui/traffic/{id}/profile/remove", actions::ASSET_UPDATE, remove_profile_form).on_asset("id"),
    ]
}

/// Query of the block list pages.
#[derive(Debug, Default, Deserialize)]
struct BlocksPageQuery {
    #[serde(default)]
    all: Option<String>,
    notice: Option<String>,
}

impl BlocksPageQuery {
    fn all(&self) -> bool {
        matches!(self.all.as_deref(), Some("1" | "true" | "on"))
    }
}

#[derive(Template)]
#[template(path = "gateway.html")]
struct GatewayPage {
    chrome: Chrome,
    blocks: Vec<BlockView>,
    all: bool,
    deployments: Vec<(String, String)>,
}

async fn gateway_page(State(app): State<AppState>, caller: Caller, Query(q): Query<BlocksPageQuery>) -> UiResult {
    let all = q.all();
    let blocks = api::list_readable(&app, &caller, &BlockQuery { all, limit: Some(500), ..BlockQuery::default() }, "/ui/gateway").await?;
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT id, name FROM assets WHERE kind = 'deployment' AND retired_at IS NULL ORDER BY name")
        .fetch_all(&app.store.read)
        .await
        .map_err(ApiError::from)?;
    let mut access = crate::inventory::access::ReadFilter::new(&app, &caller);
    let mut visible = Vec::new();
    for (id, name) in rows {
        if access.allows_id(&id).await? {
            visible.push((id, name));
        }
    }
    access.finish("GET", "/ui/gateway").await?;
    let page = GatewayPage { chrome: Chrome::new("Gateway", &caller).with_notice(q.notice), blocks, all, deployments: visible };
    Ok(ui::render(&page))
}

#[derive(Template)]
#[template(path = "gateway_deployment.html")]
struct DeploymentPage {
    chrome: Chrome,
    deployment: AssetRef,
    blocks: Vec<BlockView>,
    all: bool,
    summary: TrafficSummary,
}

async fn deployment_page(State(app): State<AppState>, caller: Caller, Path(id): Path<String>, Query(q): Query<BlocksPageQuery>) -> UiResult {
    let deployment = blocks::require_deployment(&app, &id).await?;
    let all = q.all();
    let blocks = blocks::list(&app, &BlockQuery { deployment: Some(id.clone()), all, limit: Some(500), ..BlockQuery::default() }).await?;
    let summary = api::traffic_summary(&app, &id).await?;
    let page = DeploymentPage { chrome: Chrome::new(format!("Gateway of {}", deployment.name), &caller).with_notice(q.notice), deployment, blocks, all, summary };
    Ok(ui::render(&page))
}

/// The block form.
#[derive(Debug, Default, Deserialize)]
struct BlockForm {
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    incident_id: String,
    /// Hours until it lifts by itself; empty: until lifted.
    #[serde(default)]
    hours: String,
}

async fn block_form(State(app): State<AppState>, caller: Caller, Path(id): Path<String>, axum::Form(form): axum::Form<BlockForm>) -> UiResult {
    let hours = form.hours.trim();
    let expires_in_secs = if hours.is_empty() {
        None
    } else {
        let hours: f64 = hours.parse().map_err(|_| ApiError::BadRequest(format!("`{hours}` is not a number of hours; leave it empty to block until lifted")))?;
        if !(hours.is_finite() && hours > 0.0 && hours <= 24.0 * 366.0) {
            return Err(ApiError::BadRequest("block for more than 0 and at most 8784 hours (a year), or leave it empty".into()).into());
        }
        // Bounded above, so the product fits.
        #[allow(clippy::cast_possible_truncation)]
        Some((hours * 3600.0).round().max(1.0) as i64)
    };
    let incident = form.incident_id.trim();
    let request = BlockRequest {
        client_id: form.client_id.trim().to_owned(),
        reason: form.reason,
        incident_id: (!incident.is_empty()).then(|| incident.to_owned()),
        expires_in_secs,
    };
    let outcome = blocks::block(&app, Actor::Caller(&caller), &id, &request).await?;
    Ok(ui::see_other(&format!("/ui/gateway/{id}"), Some(&outcome.message)))
}

/// The lift form.
#[derive(Debug, Default, Deserialize)]
struct LiftForm {
    #[serde(default)]
    reason: String,
}

async fn lift_form(State(app): State<AppState>, caller: Caller, Path((id, block_id)): Path<(String, String)>, axum::Form(form): axum::Form<LiftForm>) -> UiResult {
    let block = blocks::get(&app, &block_id).await?.filter(|b| b.deployment_id == id && b.active);
    let Some(block) = block else {
        return Err(ApiError::NotFound(format!("no block `{block_id}` in force at this deployment (lifted or expired already?)")).into());
    };
    let outcome = blocks::lift(&app, Actor::Caller(&caller), &id, &block.client_id, &form.reason).await?;
    Ok(ui::see_other(&format!("/ui/gateway/{id}"), Some(&outcome.message)))
}

#[derive(Template)]
#[template(path = "traffic.html")]
struct TrafficPage {
    chrome: Chrome,
    asset: AssetRef,
    is_deployment: bool,
    summary: Option<TrafficSummary>,
    findings: Vec<StoredFinding>,
    threshold: String,
    reports: Vec<DriftSummary>,
}

async fn traffic_page(State(app): State<AppState>, caller: Caller, Path(id): Path<String>, Query(q): Query<ui::NoticeQuery>) -> UiResult {
    let asset = drift::require_drift_asset(&app, &id).await?;
    let is_deployment = asset.kind == "deployment";
    let summary = if is_deployment { Some(api::traffic_summary(&app, &id).await?) } else { None };
    let mut found = Vec::new();
    for source in ["traffic", "drift"] {
        found.extend(findings::list(&app, &FindingQuery { asset: Some(id.clone()), source: Some(source.into()), limit: Some(100), ..FindingQuery::default() }).await?);
    }
    found.sort_by_key(|f| std::cmp::Reverse(f.created_at));
    let threshold = drift::threshold(&app, &id).await?.map(|t| format!("{}", (t * 100.0 * 1000.0).round() / 1000.0)).unwrap_or_default();
    let page = TrafficPage {
        chrome: Chrome::new(format!("Traffic and drift of {}", asset.name), &caller).with_notice(q.notice),
        reports: drift::list(&app, &id, 50).await?,
        asset,
        is_deployment,
        summary,
        findings: found,
        threshold,
    };
    Ok(ui::render(&page))
}

/// The threshold form: a percentage of columns, empty to follow each report's verdict.
#[derive(Debug, Default, Deserialize)]
struct ThresholdForm {
    #[serde(default)]
    percent: String,
}

async fn threshold_form(State(app): State<AppState>, caller: Caller, Path(id): Path<String>, axum::Form(form): axum::Form<ThresholdForm>) -> UiResult {
    let text = form.percent.trim().trim_end_matches('%');
    let threshold = if text.is_empty() {
        None
    } else {
        let percent: f64 = text.parse().map_err(|_| ApiError::BadRequest(format!("`{text}` is not a percentage; leave it empty to follow each report's verdict")))?;
        Some(percent / 100.0)
    };
    let changed = drift::set_threshold(&app, Actor::Caller(&caller), &id, threshold).await?;
    let notice = match (changed, threshold) {
        (false, _) => "The threshold was already that.".to_owned(),
        (true, Some(t)) => format!("Drift now means at least {:.1}% of the columns drifted.", t * 100.0),
        (true, None) => "Each report's own verdict now decides.".to_owned(),
    };
    Ok(ui::see_other(&format!("/ui/traffic/{id}"), Some(&notice)))
}

/// The first file field named `name` of a multipart form.
async fn file_field(form: &mut Multipart, name: &str, what: &str) -> Result<axum::body::Bytes, ApiError> {
    let mut found = None;
    while let Some(field) = form.next_field().await.map_err(|e| ApiError::BadRequest(format!("unreadable upload: {e}")))? {
        if field.name() == Some(name) {
            found = Some(field.bytes().await.map_err(|e| ApiError::BadRequest(format!("unreadable upload: {e}")))?);
        }
    }
    found.filter(|b| !b.is_empty()).ok_or_else(|| ApiError::BadRequest(format!("choose {what} to upload")))
}

async fn drift_form(State(app): State<AppState>, caller: Caller, Path(id): Path<String>, mut form: Multipart) -> UiResult {
    let body = file_field(&mut form, "report", "a drift report (warden drift --format json)").await?;
    let report: DriftReport = api::parse_body(&body, "not a drift report (expected what `warden drift --format json` writes)")?;
    let outcome = drift::record(&app, Actor::Caller(&caller), &id, report).await?;
    let notice = match (outcome.drifted, outcome.deduplicated) {
        (true, false) => format!("Drift: {:.0}% of the columns drifted; a finding was raised.", outcome.drifted_share * 100.0),
        (true, true) => format!("Drift: {:.0}% of the columns drifted; the recent drift finding stands.", outcome.drifted_share * 100.0),
        (false, _) => format!("No drift ({:.0}% of the columns drifted).", outcome.drifted_share * 100.0),
    };
    Ok(ui::see_other(&format!("/ui/traffic/{id}"), Some(&notice)))
}

async fn profile_form(State(app): State<AppState>, caller: Caller, Path(id): Path<String>, mut form: Multipart) -> UiResult {
    let body = file_field(&mut form, "profile", "a reference profile (JSON)").await?;
    let upload: ProfileUpload = api::parse_body(&body, "expected {\"mean\": [...], \"std\": [...]} or {\"rows\": [[...], ...]}")?;
    let built = profile::build(upload)?;
    let dims = built.mean.len();
    profile::set(&app, Actor::Caller(&caller), &id, Some(built)).await?;
    Ok(ui::see_other(&format!("/ui/traffic/{id}"), Some(&format!("Reference profile set ({dims} input dimensions); the detectors start again with it."))))
}

async fn remove_profile_form(State(app): State<AppState>, caller: Caller, Path(id): Path<String>) -> UiResult {
    let changed = profile::set(&app, Actor::Caller(&caller), &id, None).await?;
    let notice = if changed { "Reference profile removed; input anomalies are no longer checked." } else { "There was no reference profile." };
    Ok(ui::see_other(&format!("/ui/traffic/{id}"), Some(notice)))
}
