//! The incidents' web UI: the list (real incidents, drills apart) with a form to open one by
//! hand, the incident page (status, facts, timeline, findings, assets, playbook runs, and the
//! forms that move it forward, assign, comment, edit, record root cause and lessons, and link
//! findings and assets), and the printable post-incident review.
//!
//! The review is a self-contained HTML document: its stylesheet is inline (allowed by the
//! response's own content security policy through the stylesheet's hash), it loads nothing and
//! runs no script, and it prints cleanly.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, Method, header};
use axum::response::IntoResponse;
use base64::Engine;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use warden_core::Severity;

use super::api::{ListQuery, check_asset_readable, target_status};
use super::lifecycle::{self, Assignment, IncidentUpdate, LinkRequest, ManualIncident};
use super::review::{self, Review};
use super::store::{self, Incident};
use super::{Status, metrics};
use crate::actor::Actor;
use crate::authz::actions;
use crate::error::ApiError;
use crate::findings::StoredFinding;
use crate::gate::Caller;
use crate::routes::Route;
use crate::state::AppState;
use crate::ui::{self, Chrome, UiResult};

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    vec![
        Route::ui(Method::GET, "/ui/incidents", actions::INCIDENT_READ, list_page),
        Route::ui(Method::POST, "/ui/incidents", actions::INCIDENT_WRITE, create_form),
        Route::ui(Method::GET, "/ui/incidents/{id}", actions::INCIDENT_READ, incident_page),
        Route::ui(Method::POST, "/ui/incidents/{id}/advance", actions::INCIDENT_MANAGE, advance_form),
        Route::ui(Method::POST, "/ui/incidents/{id}/assign", actions::INCIDENT_WRITE, assign_form),
        Route::ui(Method::POST, "/ui/incidents/{id}/comments", actions::INCIDENT_WRITE, comment_form),
        Route::ui(Method::POST, "/ui/incidents/{id}/edit", actions::INCIDENT_WRITE, edit_form),
        Route::ui(Method::POST, "/ui/incidents/{id}/links", actions::INCIDENT_WRITE, link_form),
        Route::ui(Method::GET, "/ui/incidents/{id}/review", actions::INCIDENT_READ, review_page),
    ]
}

const SEVERITIES: [&str; 5] = ["info", "low", "medium", "high", "critical"];

/// The list page's query: the API's filters and the notice.
#[derive(Debug, Default, Deserialize)]
struct ListPageQuery {
    #[serde(flatten)]
    filter: ListQuery,
    notice: Option<String>,
}

#[derive(Template)]
#[template(path = "incidents.html")]
struct IncidentsPage {
    chrome: Chrome,
    incidents: Vec<Incident>,
    metrics: metrics::Summary,
    rules: super::rules::RulesInForce,
    status: String,
    severity: String,
    asset: String,
    open_only: bool,
    drills: bool,
    statuses: [Status; 6],
    severities: [&'static str; 5],
}

async fn list_page(State(app): State<AppState>, caller: Caller, Query(q): Query<ListPageQuery>) -> UiResult {
    let mut filter = q.filter.filter()?;
    filter.limit = 500;
    let incidents = store::list(&mut *app.store.read.acquire().await?, &filter).await?;
    let title = if filter.drills { "Drills" } else { "Incidents" };
    let page = IncidentsPage {
        chrome: Chrome::new(title, &caller).with_notice(q.notice),
        incidents,
        metrics: metrics::summary(&app).await?,
        rules: app.config.incident_rules_in_force(),
        status: q.filter.status.unwrap_or_default(),
        severity: q.filter.severity.unwrap_or_default(),
        asset: q.filter.asset.unwrap_or_default(),
        open_only: filter.open_only,
        drills: filter.drills,
        statuses: Status::ALL,
        severities: SEVERITIES,
    };
    Ok(ui::render(&page))
}

fn severity_field(text: Option<&str>) -> Result<Option<Severity>, ApiError> {
    match text.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => s.parse::<Severity>().map(Some).map_err(|e| ApiError::BadRequest(e.to_string())),
        None => Ok(None),
    }
}

/// The form that opens an incident by hand.
#[derive(Debug, Deserialize)]
struct CreateForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    summary: String,
    severity: Option<String>,
    asset_id: Option<String>,
}

async fn create_form(State(app): State<AppState>, caller: Caller, Form(form): Form<CreateForm>) -> UiResult {
    let asset_id = form.asset_id.map(|a| a.trim().to_owned()).filter(|a| !a.is_empty());
    if let Some(asset) = &asset_id {
        check_asset_readable(&app, &caller, asset).await?;
    }
    let request = ManualIncident { title: form.title, summary: form.summary, severity: severity_field(form.severity.as_deref())?, asset_id, finding_ids: Vec::new() };
    let incident = lifecycle::create(&app, Actor::Caller(&caller), &request).await?;
    Ok(ui::see_other(&format!("/ui/incidents/{}", incident.id), Some("Incident opened.")))
}

#[derive(Template)]
#[template(path = "incident.html")]
struct IncidentPage {
    chrome: Chrome,
    review: Review,
    incident: Incident,
    findings: Vec<StoredFinding>,
    next: Vec<Status>,
    statuses: [Status; 6],
    severities: [&'static str; 5],
}

async fn incident_page(State(app): State<AppState>, caller: Caller, Path(id): Path<String>, Query(q): Query<ui::NoticeQuery>) -> UiResult {
    let review = review::assemble(&app, &id).await?;
    let incident = review.incident.clone();
    let title = if incident.drill { format!("Drill: {}", incident.title) } else { incident.title.clone() };
    let page = IncidentPage {
        chrome: Chrome::new(title, &caller).with_notice(q.notice),
        findings: review.findings.clone(),
        next: incident.status.later(),
        incident,
        review,
        statuses: Status::ALL,
        severities: SEVERITIES,
    };
    Ok(ui::render(&page))
}

fn back(id: &str, notice: &str) -> axum::response::Response {
    ui::see_other(&format!("/ui/incidents/{id}"), Some(notice))
}

/// The status form.
#[derive(Debug, Deserialize)]
struct AdvanceForm {
    #[serde(default)]
    to: String,
    #[serde(default)]
    note: String,
}

async fn advance_form(State(app): State<AppState>, caller: Caller, Path(id): Path<String>, Form(form): Form<AdvanceForm>) -> UiResult {
    let to = target_status(&form.to)?;
    let changed = lifecycle::advance(&app, Actor::Caller(&caller), &id, to, &form.note).await?;
    let notice = if changed { format!("The incident is now {to}.") } else { format!("The incident was {to} or beyond already; nothing changed.") };
    Ok(back(&id, &notice))
}

/// The assignment form: the owner and a comma- or space-separated list of assignees.
#[derive(Debug, Deserialize)]
struct AssignForm {
    #[serde(default)]
    owner: String,
    #[serde(default)]
    assignees: String,
}

async fn assign_form(State(app): State<AppState>, caller: Caller, Path(id): Path<String>, Form(form): Form<AssignForm>) -> UiResult {
    let assignees = form.assignees.split([',', ' ', '\n']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
    let assignment = Assignment { owner: Some(form.owner), assignees: Some(assignees) };
    lifecycle::assign(&app, Actor::Caller(&caller), &id, &assignment).await?;
    Ok(back(&id, "Assignment saved."))
}

/// The comment form.
#[derive(Debug, Deserialize)]
struct CommentForm {
    #[serde(default)]
    text: String,
}

async fn comment_form(State(app): State<AppState>, caller: Caller, Path(id): Path<String>, Form(form): Form<CommentForm>) -> UiResult {
    lifecycle::comment(&app, Actor::Caller(&caller), &id, &form.text).await?;
    Ok(back(&id, "Comment added."))
}

/// The edit and review forms: fields a form does not carry stay as they are.
#[derive(Debug, Deserialize)]
struct EditForm {
    title: Option<String>,
    summary: Option<String>,
    severity: Option<String>,
    root_cause: Option<String>,
    lessons: Option<String>,
}

async fn edit_form(State(app): State<AppState>, caller: Caller, Path(id): Path<String>, Form(form): Form<EditForm>) -> UiResult {
    let update = IncidentUpdate {
        title: form.title,
        summary: form.summary,
        severity: severity_field(form.severity.as_deref())?,
        root_cause: form.root_cause,
        lessons: form.lessons,
    };
    lifecycle::update(&app, Actor::Caller(&caller), &id, &update).await?;
    Ok(back(&id, "Saved."))
}

/// The link form: a finding id or an asset id.
#[derive(Debug, Deserialize)]
struct LinkForm {
    finding_id: Option<String>,
    asset_id: Option<String>,
}

async fn link_form(State(app): State<AppState>, caller: Caller, Path(id): Path<String>, Form(form): Form<LinkForm>) -> UiResult {
    let request = LinkRequest {
        finding_id: form.finding_id.filter(|f| !f.trim().is_empty()),
        asset_id: form.asset_id.filter(|a| !a.trim().is_empty()),
    };
    if let Some(asset) = &request.asset_id {
        check_asset_readable(&app, &caller, asset.trim()).await?;
    }
    let linked = lifecycle::link(&app, Actor::Caller(&caller), &id, &request).await?;
    Ok(back(&id, if linked { "Linked." } else { "It was linked already." }))
}

/// The review's stylesheet: screen and print.
const REVIEW_CSS: &str = "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#1d232b;max-width:60rem;margin:1.5rem auto;padding:0 1rem}\
h1{font-size:1.5rem;margin:.2rem 0 1rem}h2{font-size:1.1rem;margin:1.4rem 0 .5rem;border-bottom:1px solid #d9dee5;padding-bottom:.2rem}\
table{width:100%;border-collapse:collapse;margin:.4rem 0}th,td{text-align:left;padding:.3rem .45rem;border:1px solid #d9dee5;vertical-align:top}\
th{background:#eef1f5}table.facts{width:auto}table.facts th{width:12rem}.mono{font-family:ui-monospace,Menlo,monospace;font-size:.85em;word-break:break-all}\
.muted{color:#5b6675}.text{white-space:pre-wrap}.src{font-size:.8em;text-transform:uppercase;letter-spacing:.03em;color:#5b6675}\
@media print{body{margin:0;max-width:none;font-size:11px}a{color:inherit;text-decoration:none}tr,li{break-inside:avoid}h2{break-after:avoid}.noprint{display:none}}";

#[derive(Template)]
#[template(path = "incident_review.html")]
struct ReviewPage {
    review: Review,
    incident: Incident,
    statuses: [Status; 6],
    css: &'static str,
    generated: String,
}

/// The content security policy of the review: nothing but its own inline stylesheet.
fn review_csp() -> String {
    let digest = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(REVIEW_CSS.as_bytes()));
    format!("default-src 'none'; style-src 'sha256-{digest}'; img-src data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'")
}

async fn review_page(State(app): State<AppState>, Path(id): Path<String>) -> UiResult {
    let review = review::assemble(&app, &id).await?;
    let page = ReviewPage {
        incident: review.incident.clone(),
        review,
        statuses: Status::ALL,
        css: REVIEW_CSS,
        generated: ui::fmt_time(crate::store::now_ms()),
    };
    let mut response = ui::render(&page).into_response();
    if let Ok(csp) = HeaderValue::from_str(&review_csp()) {
        response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    Ok(response)
}

