//! The registry's pages: the list of models, one model's versions with their scan findings and
//! the forms that upload, promote, quarantine, release, roll back and download. Forms post with the
//! session's CSRF token in their action URL and redirect back with a notice; refusals (403 from the
//! gate, 409 for a quarantined version) are HTML error pages.

use askama::Template;
use axum::Form;
use axum::extract::multipart::{Field, MultipartRejection};
use axum::extract::{Multipart, Path, Query, State};
use serde::Deserialize;

use super::api::{self, ModelDetail, PromoteBody};
use super::catalog::{self, ModelSummary, ModelVersion, StageEvent};
use super::stages::{self, Actor, Outcome};
use super::upload::{self, UploadRequest};
use crate::error::ApiError;
use crate::findings::StoredFinding;
use crate::gate::Caller;
use crate::routes::Surface;
use crate::state::AppState;
use crate::ui::{Chrome, NoticeQuery, UiResult, render, see_other};

#[derive(Template)]
#[template(path = "models.html")]
struct ModelsPage {
    chrome: Chrome,
    models: Vec<ModelSummary>,
}

pub(super) async fn models_page(State(app): State<AppState>, caller: Caller, Query(q): Query<NoticeQuery>) -> UiResult {
    let models = catalog::summaries(&mut *app.store.read.acquire().await?).await?;
    Ok(render(&ModelsPage { chrome: Chrome::new("Model registry", &caller).with_notice(q.notice), models }))
}

/// A version with its findings, as the model page shows it.
struct VersionRow {
    version: ModelVersion,
    findings: Vec<StoredFinding>,
}

#[derive(Template)]
#[template(path = "model.html")]
struct ModelPage {
    chrome: Chrome,
    detail: ModelDetail,
    rows: Vec<VersionRow>,
    history: Vec<StageEvent>,
    max_upload: String,
}

pub(super) async fn model_page(State(app): State<AppState>, caller: Caller, Path(asset_id): Path<String>, Query(q): Query<NoticeQuery>) -> UiResult {
    let mut detail = api::model_detail(&app, &asset_id).await?;
    let history = std::mem::take(&mut detail.history);
    let mut rows = Vec::with_capacity(detail.versions.len());
    for version in &detail.versions {
        rows.push(VersionRow { version: version.clone(), findings: api::version_findings(&app, version).await? });
    }
    let max_upload = catalog::human_size(i64::try_from(app.config.max_upload_bytes).unwrap_or(i64::MAX));
    let chrome = Chrome::new(format!("Model {}", detail.model.name), &caller).with_notice(q.notice);
    Ok(render(&ModelPage { chrome, detail, rows, history, max_upload }))
}

fn model_url(asset_id: &str) -> String {
    format!("/ui/models/{}", url::form_urlencoded::byte_serialize(asset_id.as_bytes()).collect::<String>())
}

fn done(asset_id: &str, outcome: &Outcome) -> UiResult {
    Ok(see_other(&model_url(asset_id), Some(&outcome.message)))
}

/// The longest text field read from an upload form.
const MAX_FORM_FIELD: usize = 256;

async fn small_field(mut field: Field<'_>) -> Result<String, ApiError> {
    let mut text = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| ApiError::BadRequest(format!("the form is malformed: {e}")))? {
        text.extend_from_slice(&chunk);
        if text.len() > MAX_FORM_FIELD {
            return Err(ApiError::BadRequest(format!("a form field is longer than {MAX_FORM_FIELD} bytes")));
        }
    }
    String::from_utf8(text).map_err(|_| ApiError::BadRequest("a form field is not UTF-8 text".into()))
}

/// The browser upload: a multipart form with `version` then `file`, streamed like the API upload.
pub(super) async fn upload_form(
    State(app): State<AppState>,
    caller: Caller,
    Path(asset_id): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> UiResult {
    let mut multipart = multipart.map_err(|e| ApiError::BadRequest(format!("expected a multipart form upload: {e}")))?;
    let mut version = None;
    while let Some(field) = multipart.next_field().await.map_err(|e| ApiError::BadRequest(format!("the form is malformed: {e}")))? {
        match field.name() {
            Some("version") => version = Some(small_field(field).await?.trim().to_owned()),
            Some("file") => {
                let filename = field.file_name().unwrap_or_default().to_owned();
                if filename.is_empty() {
                    return Err(ApiError::BadRequest("choose a model file to upload".into()).into());
                }
                let version = version.take().ok_or_else(|| ApiError::BadRequest("the form must send `version` before `file`".into()))?;
                let request = UploadRequest { asset_id: asset_id.clone(), version, filename };
                upload::precheck(&app, &request).await?;
                let received = upload::receive(&app, field).await?;
                let uploaded = upload::ingest(&app, &caller, request, received).await?;
                let severity = uploaded.version.max_severity.as_deref().map_or(String::new(), |s| format!(", highest severity {s}"));
                let notice = format!(
                    "version {} uploaded: scan {} ({} findings{severity})",
                    uploaded.version.version, uploaded.version.scan_status, uploaded.findings
                );
                return Ok(see_other(&model_url(&asset_id), Some(&notice)));
            }
            // Anything else is ignored (and skipped unread by the next call).
            _ => {}
        }
    }
    Err(ApiError::BadRequest("choose a model file to upload".into()).into())
}

/// The promote form.
#[derive(Debug, Deserialize)]
pub(super) struct PromoteForm {
    stage: String,
    #[serde(default)]
    reason: String,
}

pub(super) async fn promote_form(
    State(app): State<AppState>,
    caller: Caller,
    Path((asset_id, version)): Path<(String, String)>,
    Form(form): Form<PromoteForm>,
) -> UiResult {
    let body = PromoteBody { stage: form.stage, reason: form.reason };
    let outcome = api::promote_checked(&app, &caller, &asset_id, &version, &body, Surface::Ui).await?;
    done(&asset_id, &outcome)
}

/// The quarantine, release and rollback forms.
#[derive(Debug, Deserialize)]
pub(super) struct ReasonForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    from_version: Option<String>,
}

pub(super) async fn quarantine_form(
    State(app): State<AppState>,
    caller: Caller,
    Path((asset_id, version)): Path<(String, String)>,
    Form(form): Form<ReasonForm>,
) -> UiResult {
    let outcome = stages::quarantine(&app, Actor::Caller(&caller), &asset_id, &version, &form.reason).await?;
    done(&asset_id, &outcome)
}

pub(super) async fn release_form(
    State(app): State<AppState>,
    caller: Caller,
    Path((asset_id, version)): Path<(String, String)>,
    Form(form): Form<ReasonForm>,
) -> UiResult {
    let outcome = stages::release(&app, Actor::Caller(&caller), &asset_id, &version, &form.reason).await?;
    done(&asset_id, &outcome)
}

pub(super) async fn rollback_form(State(app): State<AppState>, caller: Caller, Path(asset_id): Path<String>, Form(form): Form<ReasonForm>) -> UiResult {
    let from = form.from_version.as_deref().filter(|v| !v.is_empty());
    let outcome = stages::rollback(&app, Actor::Caller(&caller), &asset_id, from, &form.reason).await?;
    done(&asset_id, &outcome)
}

pub(super) async fn download_page(State(app): State<AppState>, caller: Caller, Path((asset_id, version)): Path<(String, String)>) -> UiResult {
    Ok(super::download::download(&app, &caller, &asset_id, &version).await?)
}
