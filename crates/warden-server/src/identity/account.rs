//! One's own account: who am I, enrol a TOTP second factor, change the password.

use axum::Json;
use axum::extract::State;
use axum::http::{Method, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use warden_audit::AccountChangeKind;

use super::session::{self, NewSession};
use super::{Via, password, totp};
use crate::authz::actions;
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonBody;
use crate::gate::Caller;
use crate::routes::Route;
use crate::state::AppState;
use crate::store::now_ms;

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    vec![
        Route::api(Method::GET, "/api/v1/me", actions::SELF_READ, me).returns::<Me>(),
        Route::api(Method::POST, "/api/v1/me/totp", actions::SELF_UPDATE, totp_start_json).returns::<TotpEnrolment>(),
        Route::api(Method::POST, "/api/v1/me/totp/confirm", actions::SELF_UPDATE, totp_confirm_json).accepts::<CodeRequest>().returns::<Confirmed>(),
        Route::api(Method::POST, "/api/v1/me/password", actions::SELF_UPDATE, password_json).accepts::<PasswordChange>().status(204),
    ]
}

/// The signed-in user as the API shows them.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    /// User id.
    pub id: String,
    /// User name.
    pub username: String,
    /// Roles.
    pub roles: Vec<String>,
    /// `session` or `api_key`.
    pub via: String,
    /// A second factor was used for this session.
    pub mfa: bool,
    /// A TOTP second factor is enrolled.
    pub totp_enabled: bool,
}

/// Reads `caller`'s account.
pub async fn load_me(app: &AppState, caller: &Caller) -> ApiResult<Me> {
    let id = caller.user_id().ok_or_else(|| ApiError::Unauthorized("not signed in".into()))?;
    let row = sqlx::query("SELECT totp_enabled FROM users WHERE id = $1").bind(id).fetch_one(&app.store.read).await?;
    Ok(Me {
        id: id.to_owned(),
        username: caller.principal.name.clone(),
        roles: caller.principal.roles.clone(),
        via: caller.via.name().to_owned(),
        mfa: caller.via.mfa(),
        totp_enabled: row.try_get::<i64, _>(0)? != 0,
    })
}

async fn me(State(app): State<AppState>, caller: Caller) -> ApiResult<Json<Me>> {
    Ok(Json(load_me(&app, &caller).await?))
}

/// A TOTP enrolment in progress: shown once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TotpEnrolment {
    /// The seed in base32, for typing into an authenticator app.
    pub secret: String,
    /// The `otpauth://` URI (what a QR code would carry).
    pub otpauth_url: String,
}

/// Starts (or restarts) enrolment: a new seed is stored, not yet in force.
pub async fn totp_start(app: &AppState, caller: &Caller) -> ApiResult<TotpEnrolment> {
    let id = caller.user_id().ok_or_else(|| ApiError::Unauthorized("not signed in".into()))?;
    if !matches!(caller.via, Via::Session(_)) {
        return Err(ApiError::Forbidden("a second factor is enrolled from a browser session, not with an API key".into()));
    }
    let enabled: i64 = sqlx::query_scalar("SELECT totp_enabled FROM users WHERE id = $1").bind(id).fetch_one(&app.store.read).await?;
    if enabled != 0 {
        return Err(ApiError::Conflict("a second factor is already enrolled; an administrator can reset it".into()));
    }
    let seed = totp::new_seed();
    let generator = totp::generator(&seed, &caller.principal.name)?;
    sqlx::query("UPDATE users SET totp_secret = $1, updated_at = $2 WHERE id = $3 AND totp_enabled = 0")
        .bind(app.keys.seal(totp::SEAL_LABEL, &seed))
        .bind(now_ms())
        .bind(id)
        .execute(app.store.writer())
        .await?;
    Ok(TotpEnrolment { secret: generator.get_secret_base32(), otpauth_url: generator.get_url() })
}

async fn totp_start_json(State(app): State<AppState>, caller: Caller) -> ApiResult<Json<TotpEnrolment>> {
    Ok(Json(totp_start(&app, &caller).await?))
}

/// A code from the authenticator.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CodeRequest {
    /// Six digits.
    pub code: String,
}

/// Confirms enrolment with a current code. The session that proved the factor is replaced by a
/// new one that counts as having used it; the user's other sessions end.
pub async fn totp_confirm(app: &AppState, caller: &Caller, code: &str) -> ApiResult<session::CreatedSession> {
    let id = caller.user_id().ok_or_else(|| ApiError::Unauthorized("not signed in".into()))?;
    if !matches!(caller.via, Via::Session(_)) {
        return Err(ApiError::Forbidden("a second factor is enrolled from a browser session".into()));
    }
    let row = sqlx::query("SELECT totp_secret, totp_enabled, totp_last_step FROM users WHERE id = $1").bind(id).fetch_one(&app.store.read).await?;
    let sealed: Option<String> = row.try_get(0)?;
    if row.try_get::<i64, _>(1)? != 0 {
        return Err(ApiError::Conflict("a second factor is already enrolled".into()));
    }
    let sealed = sealed.ok_or_else(|| ApiError::BadRequest("start the enrolment first".into()))?;
    let step = totp::check(app, &caller.principal.name, &sealed, code, row.try_get(2)?)?
        .ok_or_else(|| ApiError::BadRequest("the code does not match; check the device's clock and try the next code".into()))?;
    let mut tx = app.store.begin().await?;
    sqlx::query("UPDATE users SET totp_enabled = 1, totp_last_step = $1, updated_at = $2 WHERE id = $3")
        .bind(step)
        .bind(now_ms())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
    app.audit.account(&mut tx, caller, AccountChangeKind::MfaEnabled, id, &caller.principal.name).await?;
    tx.commit().await?;
    session::create(
        app,
        NewSession { user_id: id, method: "password+totp", mfa: true, pending_mfa: false, ip: caller.ip, device_id: caller.device_id.as_deref() },
    )
    .await
}

/// Answer to a confirmed enrolment.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Confirmed {
    /// The new session's CSRF token (the session cookie was replaced).
    pub csrf_token: String,
}

async fn totp_confirm_json(State(app): State<AppState>, caller: Caller, JsonBody(body): JsonBody<CodeRequest>) -> ApiResult<Response> {
    let created = totp_confirm(&app, &caller, &body.code).await?;
    let mut response = Json(Confirmed { csrf_token: created.csrf.clone() }).into_response();
    for cookie in created.cookies {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

/// A password change.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PasswordChange {
    /// The current password.
    pub current: String,
    /// The new one (12 characters or more).
    pub new: String,
}

/// Changes `caller`'s password after checking the current one; every other session ends.
pub async fn change_password(app: &AppState, caller: &Caller, change: &PasswordChange) -> ApiResult<()> {
    let id = caller.user_id().ok_or_else(|| ApiError::Unauthorized("not signed in".into()))?;
    let stored: Option<String> = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1").bind(id).fetch_one(&app.store.read).await?;
    if !password::verify(change.current.clone(), stored).await {
        return Err(ApiError::Forbidden("the current password is wrong".into()));
    }
    password::check_policy(&caller.principal.name, &change.new)?;
    let hash = password::hash(change.new.clone()).await?;
    let mut tx = app.store.begin().await?;
    sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3").bind(hash).bind(now_ms()).bind(id).execute(&mut *tx).await?;
    let keep = match &caller.via {
        Via::Session(s) => s.id_hash.clone(),
        _ => String::new(),
    };
    sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2").bind(id).bind(keep).execute(&mut *tx).await?;
    app.audit.account(&mut tx, caller, AccountChangeKind::PasswordChanged, id, &caller.principal.name).await?;
    tx.commit().await?;
    Ok(())
}

async fn password_json(State(app): State<AppState>, caller: Caller, JsonBody(body): JsonBody<PasswordChange>) -> ApiResult<Response> {
    change_password(&app, &caller, &body).await?;
    Ok(axum::http::StatusCode::NO_CONTENT.into_response())
}
