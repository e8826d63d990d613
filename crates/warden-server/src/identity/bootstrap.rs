//! The first administrator: while no administrator exists, each start issues a one-time token
//! (printed as a link, valid 24 hours, stored only as a digest) that creates one.

use askama::Template;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::session::{self, NewSession};
use super::{password, random_token, sha256_hex};
use crate::authz::actions;
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonBody;
use crate::gate::Caller;
use crate::routes::Route;
use crate::state::AppState;
use crate::store::{is_unique_violation, new_id, now_ms};
use crate::ui::{self, Chrome};

/// How long a bootstrap token stays valid.
const TOKEN_TTL_MS: i64 = 24 * 3600 * 1000;

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    vec![
        Route::ui(Method::GET, "/bootstrap", actions::AUTH_BOOTSTRAP, bootstrap_page),
        Route::ui(Method::POST, "/bootstrap", actions::AUTH_BOOTSTRAP, bootstrap_form),
        Route::api(Method::POST, "/api/v1/bootstrap", actions::AUTH_BOOTSTRAP, bootstrap_json).accepts::<BootstrapRequest>().returns::<BootstrapResponse>().status(201),
    ]
}

/// Whether an administrator exists.
pub async fn admin_exists(app: &AppState) -> ApiResult<bool> {
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE disabled = 0 AND (roles = 'admin' OR roles LIKE 'admin,%' OR roles LIKE '%,admin' OR roles LIKE '%,admin,%')")
        .fetch_one(&app.store.read)
        .await?;
    Ok(count > 0)
}

/// Issues a bootstrap token when no administrator exists (`preset` is an operator-chosen one).
/// Returns the token to print, or `None` when the server already has an administrator.
pub async fn issue_token(app: &AppState, preset: Option<&str>) -> ApiResult<Option<String>> {
    if admin_exists(app).await? {
        return Ok(None);
    }
    let token = preset.map_or_else(random_token, str::to_owned);
    let now = now_ms();
    sqlx::query("INSERT INTO bootstrap_tokens (token_hash, created_at, expires_at) VALUES ($1, $2, $3) ON CONFLICT (token_hash) DO NOTHING")
        .bind(sha256_hex(token.as_bytes()))
        .bind(now)
        .bind(now + TOKEN_TTL_MS)
        .execute(app.store.writer())
        .await?;
    Ok(Some(token))
}

/// Creates the first administrator with `token`; returns the new user's id.
async fn create_admin(app: &AppState, caller: &Caller, token: &str, username: &str, password_text: &str) -> ApiResult<String> {
    let username = username.trim();
    super::validate_username(username)?;
    password::check_policy(username, password_text)?;
    let hash = password::hash(password_text.to_owned()).await?;
    let now = now_ms();
    let mut tx = app.store.begin().await?;
    // Claim the token and check there is still no administrator in one transaction.
    let claimed = sqlx::query("UPDATE bootstrap_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1")
        .bind(now)
        .bind(sha256_hex(token.as_bytes()))
        .execute(&mut *tx)
        .await?;
    if claimed.rows_affected() != 1 {
        return Err(ApiError::Forbidden("the bootstrap link is invalid, used or expired; restart the server for a new one".into()));
    }
    let admins: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE roles LIKE '%admin%'").fetch_one(&mut *tx).await?;
    if admins > 0 {
        return Err(ApiError::Conflict("an administrator already exists; sign in instead".into()));
    }
    let id = new_id();
    let inserted = sqlx::query(
        "INSERT INTO users (id, username, display_name, password_hash, roles, created_at, updated_at) VALUES ($1, $2, $2, $3, 'admin', $4, $4)",
    )
    .bind(&id)
    .bind(username)
    .bind(&hash)
    .bind(now)
    .execute(&mut *tx)
    .await;
    if let Err(err) = inserted {
        return Err(if is_unique_violation(&err) { ApiError::Conflict(format!("user `{username}` exists")) } else { err.into() });
    }
    app.audit.account_created(&mut tx, caller, &id, username, "admin").await?;
    tx.commit().await?;
    // Every other outstanding bootstrap token dies with this one.
    sqlx::query("UPDATE bootstrap_tokens SET used_at = $1 WHERE used_at IS NULL").bind(now).execute(app.store.writer()).await?;
    tracing::info!(%username, "first administrator created");
    Ok(id)
}

#[derive(Template)]
#[template(path = "bootstrap.html")]
struct BootstrapPage {
    chrome: Chrome,
    token: String,
    error: Option<String>,
}

/// `?token=` of the bootstrap link.
#[derive(Debug, Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: String,
}

async fn bootstrap_page(State(app): State<AppState>, Query(q): Query<TokenQuery>) -> ApiResult<Response> {
    if admin_exists(&app).await? {
        return Ok(ui::see_other("/login", None));
    }
    Ok(ui::render(&BootstrapPage { chrome: Chrome::public("Set up warden"), token: q.token, error: None }))
}

/// The bootstrap form's and JSON body's fields.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct BootstrapRequest {
    /// The one-time token from the start-up link.
    pub token: String,
    /// The administrator's user name.
    pub username: String,
    /// Their password (12 characters or more).
    pub password: String,
}

async fn bootstrap_form(State(app): State<AppState>, caller: Caller, headers: HeaderMap, axum::Form(form): axum::Form<BootstrapRequest>) -> Response {
    if let Err(reason) = super::login::same_origin(&app, &headers) {
        return ui::error_page(&ApiError::Forbidden(reason));
    }
    let result = async {
        let user_id = create_admin(&app, &caller, &form.token, &form.username, &form.password).await?;
        let new = NewSession { user_id: &user_id, method: "password", mfa: false, pending_mfa: false, ip: caller.ip, device_id: caller.device_id.as_deref() };
        session::create(&app, new).await
    }
    .await;
    match result {
        Ok(created) => {
            let mut response = ui::see_other("/ui/account", Some("Administrator created. Enrol a second factor now: administrators act only after using it."));
            for cookie in created.cookies {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            response
        }
        Err(err) => {
            let page = BootstrapPage { chrome: Chrome::public("Set up warden"), token: form.token, error: Some(err.public_message()) };
            (err.status(), ui::render(&page)).into_response()
        }
    }
}

/// The new administrator.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BootstrapResponse {
    /// The user id.
    pub user_id: String,
}

async fn bootstrap_json(State(app): State<AppState>, caller: Caller, JsonBody(body): JsonBody<BootstrapRequest>) -> ApiResult<Response> {
    let user_id = create_admin(&app, &caller, &body.token, &body.username, &body.password).await?;
    Ok((StatusCode::CREATED, Json(BootstrapResponse { user_id })).into_response())
}
