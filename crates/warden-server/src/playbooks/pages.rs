//! The web UI of playbooks: the list with the YAML editor (validate, save), pending approvals,
//! recent runs and frozen assets; one playbook's page (versions, enable/disable, drill); and a
//! run's page (steps with decisions and timings, approve/reject, journal, drill report).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;

use super::api::validate_text;
use super::approvals::{self, PendingApproval};
use super::catalog::{self, PlaybookVersion, SaveMode, StoredPlaybook};
use super::drill::{self, DrillRequest, RunReport};
use super::runs::{self, Run, RunQuery, RunStep};
use super::spec::Issue;
use crate::actor::Actor;
use crate::error::ApiError;
use crate::gate::Caller;
use super::targets::{self, Asset};
use crate::state::AppState;
use crate::ui::{self, Chrome, UiResult};

/// A notice after a redirect.
#[derive(Debug, Default, Deserialize)]
pub(super) struct NoticeQuery {
    notice: Option<String>,
    version: Option<i64>,
}

#[derive(Template)]
#[template(path = "playbooks.html")]
struct PlaybooksPage {
    chrome: Chrome,
    playbooks: Vec<StoredPlaybook>,
    approvals: Vec<PendingApproval>,
    runs: Vec<Run>,
    frozen: Vec<Asset>,
    editor: String,
    issues: Vec<Issue>,
    validated: bool,
}

const TEMPLATE: &str = "id: my-playbook\nname: My playbook\ndescription: What it is for.\ntrigger:\n  rules: [\"pickle.*\"]\n  min_severity: high\n  asset_kinds: [model]\nsteps:\n  - action: quarantine_version\n  - action: notify_webhook\n    webhook: security\n    on_failure: continue\n";

async fn playbooks_page(app: &AppState, caller: &Caller, notice: Option<String>, editor: String, issues: Vec<Issue>, validated: bool) -> Result<PlaybooksPage, ApiError> {
    let frozen = targets::all_assets(app, true).await?;
    Ok(PlaybooksPage {
        chrome: Chrome::new("Playbooks", caller).with_notice(notice),
        playbooks: catalog::list(app).await?,
        approvals: approvals::pending(app).await?,
        runs: runs::list(app, &RunQuery { limit: Some(50), ..RunQuery::default() }).await?,
        frozen,
        editor,
        issues,
        validated,
    })
}

pub(super) async fn list(State(app): State<AppState>, caller: Caller, Query(q): Query<NoticeQuery>) -> UiResult {
    Ok(ui::render(&playbooks_page(&app, &caller, q.notice, TEMPLATE.to_owned(), Vec::new(), false).await?))
}

/// The editor's form.
#[derive(Debug, Deserialize)]
pub(super) struct EditorForm {
    yaml: String,
}

pub(super) async fn validate_form(State(app): State<AppState>, caller: Caller, axum::Form(form): axum::Form<EditorForm>) -> UiResult {
    let validation = validate_text(&form.yaml);
    let notice = validation.valid.then(|| format!("The playbook `{}` is valid ({} steps). Save it to use it.", validation.id.clone().unwrap_or_default(), validation.steps.len()));
    Ok(ui::render(&playbooks_page(&app, &caller, notice, form.yaml, validation.issues, true).await?))
}

pub(super) async fn save_form(State(app): State<AppState>, caller: Caller, axum::Form(form): axum::Form<EditorForm>) -> UiResult {
    let validation = validate_text(&form.yaml);
    if !validation.valid {
        let page = playbooks_page(&app, &caller, None, form.yaml, validation.issues, true).await?;
        return Ok((StatusCode::BAD_REQUEST, ui::render(&page)).into_response());
    }
    let stored = catalog::save(&app, Actor::Caller(&caller), &form.yaml, SaveMode::Upsert, None).await?;
    let notice = format!("Saved `{}` as version {}.", stored.id, stored.version);
    Ok(ui::see_other(&format!("/ui/playbooks/{}", stored.id), Some(&notice)))
}

#[derive(Template)]
#[template(path = "playbook.html")]
struct PlaybookPage {
    chrome: Chrome,
    playbook: StoredPlaybook,
    versions: Vec<PlaybookVersion>,
    shown_version: i64,
    shown_source: String,
    runs: Vec<Run>,
    models: Vec<Asset>,
}

pub(super) async fn detail(State(app): State<AppState>, caller: Caller, Path(id): Path<String>, Query(q): Query<NoticeQuery>) -> UiResult {
    let playbook = catalog::require(&app, &id).await?;
    let shown_version = q.version.unwrap_or(playbook.version);
    let shown_source = if shown_version == playbook.version { playbook.source.clone() } else { catalog::source_of(&app, &id, shown_version).await? };
    let page = PlaybookPage {
        chrome: Chrome::new(playbook.name.clone(), &caller).with_notice(q.notice),
        versions: catalog::versions(&app, &id).await?,
        runs: runs::list(&app, &RunQuery { playbook: Some(id.clone()), limit: Some(50), ..RunQuery::default() }).await?,
        models: targets::all_assets(&app, false).await?,
        shown_version,
        shown_source,
        playbook,
    };
    Ok(ui::render(&page))
}

/// The enable/disable form.
#[derive(Debug, Deserialize)]
pub(super) struct EnabledForm {
    enabled: String,
}

pub(super) async fn enabled_form(State(app): State<AppState>, caller: Caller, Path(id): Path<String>, axum::Form(form): axum::Form<EnabledForm>) -> UiResult {
    let enabled = form.enabled == "1";
    catalog::set_enabled(&app, Actor::Caller(&caller), &id, enabled).await?;
    let notice = if enabled { "Enabled: incidents start this playbook." } else { "Disabled: incidents no longer start this playbook." };
    Ok(ui::see_other(&format!("/ui/playbooks/{id}"), Some(notice)))
}

/// The drill form: everything optional.
#[derive(Debug, Default, Deserialize)]
pub(super) struct DrillForm {
    #[serde(default)]
    asset_id: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    subject: String,
}

fn some(text: String) -> Option<String> {
    let text = text.trim().to_owned();
    (!text.is_empty()).then_some(text)
}

pub(super) async fn drill_form(State(app): State<AppState>, caller: Caller, Path(id): Path<String>, axum::Form(form): axum::Form<DrillForm>) -> UiResult {
    let request = DrillRequest { asset_id: some(form.asset_id), version: some(form.version), subject: some(form.subject), findings: None };
    let started = drill::start(&app, &caller, &id, &request).await?;
    Ok(ui::see_other(&format!("/ui/playbook-runs/{}", started.run_id), Some("Drill started: nothing real will change; every decision is recorded below.")))
}

#[derive(Template)]
#[template(path = "playbook_run.html")]
struct RunPage {
    chrome: Chrome,
    report: RunReport,
    steps: Vec<RunStep>,
    markdown: String,
}

pub(super) async fn run(State(app): State<AppState>, caller: Caller, Path(id): Path<String>, Query(q): Query<NoticeQuery>) -> UiResult {
    let report = drill::report(&app, &id).await?;
    let what = if report.run.dry_run { "Drill" } else { "Run" };
    let page = RunPage {
        chrome: Chrome::new(format!("{what} of {}", report.run.playbook_name), &caller).with_notice(q.notice),
        steps: runs::steps(&app, &id).await?,
        markdown: drill::markdown(&report),
        report,
    };
    Ok(ui::render(&page))
}

/// An approval decision's form.
#[derive(Debug, Default, Deserialize)]
pub(super) struct DecisionForm {
    #[serde(default)]
    note: String,
}

pub(super) async fn approve_form(State(app): State<AppState>, caller: Caller, crate::extract::PathParams((id, idx)): crate::extract::PathParams<(String, i64)>, axum::Form(form): axum::Form<DecisionForm>) -> UiResult {
    approvals::decide(&app, &caller, &id, idx, true, &form.note).await?;
    Ok(ui::see_other(&format!("/ui/playbook-runs/{id}"), Some("Approved: the run goes on.")))
}

pub(super) async fn reject_form(State(app): State<AppState>, caller: Caller, crate::extract::PathParams((id, idx)): crate::extract::PathParams<(String, i64)>, axum::Form(form): axum::Form<DecisionForm>) -> UiResult {
    approvals::decide(&app, &caller, &id, idx, false, &form.note).await?;
    Ok(ui::see_other(&format!("/ui/playbook-runs/{id}"), Some("Rejected: the run stopped; its remaining steps were not run.")))
}

/// The freeze form on the playbooks page.
#[derive(Debug, Default, Deserialize)]
pub(super) struct FreezeForm {
    frozen: String,
    #[serde(default)]
    reason: String,
}

pub(super) async fn freeze_form(State(app): State<AppState>, caller: Caller, Path(id): Path<String>, axum::Form(form): axum::Form<FreezeForm>) -> UiResult {
    let frozen = form.frozen == "1";
    super::freeze::freeze_asset(&app, Actor::Caller(&caller), &id, frozen, &form.reason).await?;
    let notice = if frozen { "Frozen." } else { "Freeze lifted: uploads, promotions and changes are accepted again." };
    Ok(ui::see_other("/ui/playbooks", Some(notice)))
}
