//! Reading, validating and replacing the access policies (API and UI). A new policy set is
//! validated against the schema first, stored as a new version (old versions are kept), installed
//! here at once and picked up by other instances within seconds ([`watch`]).

use std::str::FromStr;
use std::time::Duration;

use askama::Template;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::{PolicyError, ResourceRef, actions};
use crate::audit::Change;
use crate::error::{ApiError, ApiResult};
use crate::gate::Caller;
use crate::routes::Route;
use crate::state::AppState;
use crate::store::now_ms;
use crate::ui::{self, Chrome, NoticeQuery, UiResult};

/// Largest policy text accepted.
const MAX_POLICY_BYTES: usize = 256 * 1024;

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    vec![
        Route::api(Method::GET, "/api/v1/policies", actions::POLICY_READ, get_policies).returns::<PoliciesView>(),
        Route::api(Method::GET, "/api/v1/policies/schema", actions::POLICY_READ, get_schema).returns_raw("text/plain"),
        Route::api(Method::POST, "/api/v1/policies/validate", actions::POLICY_READ, validate).accepts_raw("text/plain").returns::<Validation>(),
        Route::api(Method::PUT, "/api/v1/policies", actions::POLICY_UPDATE, put_policies).accepts_raw("text/plain").returns::<Saved>(),
        Route::ui(Method::GET, "/ui/policies", actions::POLICY_READ, policies_page),
        Route::ui(Method::POST, "/ui/policies", actions::POLICY_UPDATE, policies_form),
    ]
}

/// Loads the newest stored policy set into the authorizer (at start and when another instance
/// saved one). Returns the version in force.
pub async fn load_latest(app: &AppState) -> ApiResult<i64> {
    let row = sqlx::query("SELECT version, text FROM policy_sets ORDER BY version DESC LIMIT 1").fetch_optional(&app.store.read).await?;
    if let Some(row) = row {
        let version: i64 = row.try_get(0)?;
        let text: String = row.try_get(1)?;
        if version > app.authz.current().version {
            app.authz.install(version, &text).map_err(|e| ApiError::Internal(format!("stored policy version {version} no longer validates: {e}")))?;
            tracing::info!(version, "access policies loaded");
        }
    }
    Ok(app.authz.current().version)
}

/// Polls for policy sets saved by other instances.
pub async fn watch(app: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    loop {
        tick.tick().await;
        if let Err(err) = load_latest(&app).await {
            tracing::warn!(%err, "could not refresh the access policies");
        }
    }
}

/// Validates and stores `text` as the next version; returns it.
pub async fn save(app: &AppState, caller: &Caller, text: &str) -> ApiResult<i64> {
    if text.len() > MAX_POLICY_BYTES {
        return Err(ApiError::TooLarge(format!("policies are limited to {MAX_POLICY_BYTES} bytes")));
    }
    require_text(text)?;
    let set = app.authz.compile(text).map_err(policy_error)?;
    // Policies that take away their author's own `policy.update` (an empty text denies everything)
    // could not be changed back through the API or the UI by anyone.
    if !app.authz.would_allow(&set, &caller.principal, actions::POLICY_UPDATE, &ResourceRef::Server, &caller.facts()) {
        return Err(ApiError::BadRequest(
            "these policies would take away your own `policy.update`, so nobody could change them back here; keep a policy that permits it".into(),
        ));
    }
    // Two instances saving at once may pick the same version number; the loser tries the next.
    let mut attempt = 0;
    let version = loop {
        attempt += 1;
        match insert_version(app, caller, text).await {
            Err(ApiError::Conflict(_)) if attempt < 5 => continue,
            other => break other?,
        }
    };
    app.authz.install(version, text).map_err(policy_error)?;
    app.metrics.event("policy.update");
    Ok(version)
}

async fn insert_version(app: &AppState, caller: &Caller, text: &str) -> ApiResult<i64> {
    let mut tx = app.store.begin().await?;
    let current: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM policy_sets").fetch_one(&mut *tx).await?;
    let version = current.unwrap_or(0) + 1;
    let inserted = sqlx::query("INSERT INTO policy_sets (version, text, created_at, created_by) VALUES ($1, $2, $3, $4)")
        .bind(version)
        .bind(text)
        .bind(now_ms())
        .bind(&caller.principal.name)
        .execute(&mut *tx)
        .await;
    if let Err(err) = inserted {
        return Err(if crate::store::is_unique_violation(&err) { ApiError::Conflict("policy version taken".into()) } else { err.into() });
    }
    let ids: Vec<String> = policy_ids(text);
    app.audit
        .change(&mut tx, caller, Change::update("policy.update", "policy_set", &version.to_string()).detail(serde_json::json!({"version": version, "policy_ids": ids})))
        .await?;
    tx.commit().await?;
    Ok(version)
}

fn policy_ids(text: &str) -> Vec<String> {
    cedar_policy::PolicySet::from_str(text)
        .map(|set| set.policies().filter_map(|p| p.annotation("id").map(str::to_owned)).collect())
        .unwrap_or_default()
}

fn policy_error(err: PolicyError) -> ApiError {
    ApiError::BadRequest(err.to_string())
}

/// The policies in force.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PoliciesView {
    /// Version (0 = shipped defaults).
    pub version: i64,
    /// The Cedar text.
    pub text: String,
    /// The `@id`s of the policies, in order.
    pub policy_ids: Vec<String>,
}

async fn get_policies(State(app): State<AppState>) -> Json<PoliciesView> {
    let current = app.authz.current();
    Json(PoliciesView { version: current.version, policy_ids: policy_ids(&current.text), text: current.text.clone() })
}

async fn get_schema(State(app): State<AppState>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], app.authz.schema_text().to_owned()).into_response()
}

/// Outcome of validating a policy set.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = PolicyValidation)]
pub struct Validation {
    /// Whether the text would be accepted.
    pub valid: bool,
    /// Why not.
    pub errors: Vec<String>,
}

/// An empty body is a client that sent nothing, not a policy set that permits nothing.
fn require_text(text: &str) -> ApiResult<()> {
    if text.trim().is_empty() {
        return Err(ApiError::BadRequest("send the policies' Cedar text as the body (text/plain)".into()));
    }
    Ok(())
}

async fn validate(State(app): State<AppState>, body: String) -> ApiResult<Json<Validation>> {
    require_text(&body)?;
    Ok(match app.authz.compile(&body) {
        Ok(_) => Json(Validation { valid: true, errors: Vec::new() }),
        Err(err) => Json(Validation { valid: false, errors: vec![err.to_string()] }),
    })
}

/// Answer of a save.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Saved {
    /// The new version.
    pub version: i64,
}

async fn put_policies(State(app): State<AppState>, caller: Caller, body: String) -> ApiResult<Response> {
    let version = save(&app, &caller, &body).await?;
    Ok((StatusCode::OK, Json(Saved { version })).into_response())
}

#[derive(Template)]
#[template(path = "policies.html")]
struct PoliciesPage {
    chrome: Chrome,
    version: i64,
    text: String,
    ids: Vec<String>,
    error: Option<String>,
    schema: String,
}

async fn policies_page(State(app): State<AppState>, caller: Caller, Query(q): Query<NoticeQuery>) -> UiResult {
    let current = app.authz.current();
    Ok(ui::render(&PoliciesPage {
        chrome: Chrome::new("Access policies", &caller).with_notice(q.notice),
        version: current.version,
        ids: policy_ids(&current.text),
        text: current.text.clone(),
        error: None,
        schema: app.authz.schema_text().to_owned(),
    }))
}

/// The policy form.
#[derive(Debug, Deserialize)]
struct PolicyForm {
    text: String,
}

async fn policies_form(State(app): State<AppState>, caller: Caller, axum::Form(form): axum::Form<PolicyForm>) -> UiResult {
    // Browsers send CRLF line ends from a textarea.
    let text = form.text.replace("\r\n", "\n");
    match save(&app, &caller, &text).await {
        Ok(version) => Ok(ui::see_other("/ui/policies", Some(&format!("Saved as version {version}; in force now.")))),
        Err(ApiError::BadRequest(message)) => {
            let current = app.authz.current();
            let page = PoliciesPage {
                chrome: Chrome::new("Access policies", &caller),
                version: current.version,
                ids: policy_ids(&current.text),
                text,
                error: Some(message),
                schema: app.authz.schema_text().to_owned(),
            };
            Ok((StatusCode::BAD_REQUEST, ui::render(&page)).into_response())
        }
        Err(other) => Err(other.into()),
    }
}
