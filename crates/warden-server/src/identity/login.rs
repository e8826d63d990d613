//! Signing in and out: password, then the TOTP code when the user enrolled one; the same steps as
//! a form (UI) and as JSON (API clients and tests).

use askama::Template;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::session::{self, NewSession};
use super::{Via, password};
use crate::audit::LoginRecord;
use crate::authz::actions;
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonBody;
use crate::gate::Caller;
use crate::routes::Route;
use crate::state::AppState;
use crate::store::now_ms;
use crate::ui::{self, Chrome};

/// Failed attempts for one user name within [`LOCKOUT_WINDOW_MS`] after which logins are refused.
pub const LOCKOUT_FAILURES: i64 = 10;
/// The lockout window.
pub const LOCKOUT_WINDOW_MS: i64 = 15 * 60 * 1000;

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    vec![
        Route::ui(Method::GET, "/login", actions::AUTH_LOGIN, login_page),
        Route::ui(Method::POST, "/login", actions::AUTH_LOGIN, login_form),
        Route::ui(Method::GET, "/login/totp", actions::AUTH_LOGIN, totp_page),
        Route::ui(Method::POST, "/login/totp", actions::AUTH_LOGIN, totp_form),
        Route::ui(Method::POST, "/logout", actions::AUTH_LOGOUT, logout_form),
        Route::api(Method::POST, "/api/v1/login", actions::AUTH_LOGIN, login_json).accepts::<LoginRequest>().returns::<LoginResponse>(),
        Route::api(Method::POST, "/api/v1/logout", actions::AUTH_LOGOUT, logout_json).status(204),
    ]
}

/// What a password step led to.
enum Outcome {
    /// Signed in.
    Done(session::CreatedSession),
    /// Password right; the TOTP code is next (a pending session was created).
    NeedsTotp(session::CreatedSession),
}

/// The user fields a login needs.
struct LoginUser {
    id: String,
    password_hash: Option<String>,
    totp_enabled: bool,
    disabled: bool,
}

async fn find_user(app: &AppState, username: &str) -> ApiResult<Option<LoginUser>> {
    let row = sqlx::query("SELECT id, password_hash, totp_enabled, disabled FROM users WHERE username = $1")
        .bind(username)
        .fetch_optional(&app.store.read)
        .await?;
    Ok(match row {
        Some(row) => Some(LoginUser {
            id: row.try_get(0)?,
            password_hash: row.try_get(1)?,
            totp_enabled: row.try_get::<i64, _>(2)? != 0,
            disabled: row.try_get::<i64, _>(3)? != 0,
        }),
        None => None,
    })
}

async fn recent_failures(app: &AppState, username: &str) -> ApiResult<i64> {
    let since = now_ms() - LOCKOUT_WINDOW_MS;
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM access_events WHERE kind = 'login_failed' AND username = $1 AND ts > $2")
        .bind(username)
        .bind(since)
        .fetch_one(&app.store.read)
        .await?)
}

/// The password step.
async fn password_step(app: &AppState, caller: &Caller, username: &str, password_text: &str) -> ApiResult<Outcome> {
    let username = username.trim();
    if username.is_empty() || username.len() > 128 {
        return Err(ApiError::BadRequest("a user name is needed".into()));
    }
    if recent_failures(app, username).await? >= LOCKOUT_FAILURES {
        crate::alerts::login_failed(app, caller, username, None, "locked out").await?;
        return Err(ApiError::TooManyRequests("too many failed sign-ins for this user; try again in 15 minutes".into()));
    }
    let user = find_user(app, username).await?;
    let stored = user.as_ref().filter(|u| !u.disabled).and_then(|u| u.password_hash.clone());
    if !password::verify(password_text.to_owned(), stored).await {
        let user_id = user.as_ref().map(|u| u.id.as_str());
        crate::alerts::login_failed(app, caller, username, user_id, "wrong user name or password").await?;
        return Err(ApiError::Unauthorized("wrong user name or password".into()));
    }
    let Some(user) = user else { return Err(ApiError::Unauthorized("wrong user name or password".into())) };
    let new = NewSession {
        user_id: &user.id,
        method: "password",
        mfa: false,
        pending_mfa: user.totp_enabled,
        ip: caller.ip,
        device_id: caller.device_id.as_deref(),
    };
    let created = session::create(app, new).await?;
    if user.totp_enabled {
        return Ok(Outcome::NeedsTotp(created));
    }
    crate::alerts::login_succeeded(app, caller, &user.id, username, "password", false, &created.device_id).await?;
    Ok(Outcome::Done(created))
}

/// The TOTP step of a pending login: on success the pending session is replaced by a full one
/// (a new token, so a token seen before the second factor is worth nothing after it).
async fn totp_step(app: &AppState, caller: &Caller, code: &str) -> ApiResult<session::CreatedSession> {
    let Via::Anonymous { pending: Some(pending) } = &caller.via else {
        return Err(ApiError::Unauthorized("no sign-in is waiting for a code; start again".into()));
    };
    let row = sqlx::query("SELECT username, totp_secret, totp_last_step FROM users WHERE id = $1 AND disabled = 0")
        .bind(&pending.user_id)
        .fetch_optional(&app.store.read)
        .await?
        .ok_or_else(|| ApiError::Unauthorized("the account is not available".into()))?;
    let username: String = row.try_get(0)?;
    let sealed: Option<String> = row.try_get(1)?;
    let last_step: i64 = row.try_get(2)?;
    if recent_failures(app, &username).await? >= LOCKOUT_FAILURES {
        return Err(ApiError::TooManyRequests("too many failed sign-ins for this user; try again in 15 minutes".into()));
    }
    let sealed = sealed.ok_or_else(|| ApiError::Unauthorized("no second factor is enrolled".into()))?;
    let step = crate::identity::totp_check(app, &username, &sealed, code, last_step)?;
    let Some(step) = step else {
        crate::alerts::login_failed(app, caller, &username, Some(&pending.user_id), "wrong TOTP code").await?;
        return Err(ApiError::Unauthorized("wrong or already used code".into()));
    };
    // Consuming the step in the same statement that checks it stops a replay racing us.
    let consumed = sqlx::query("UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1")
        .bind(step)
        .bind(&pending.user_id)
        .execute(app.store.writer())
        .await?;
    if consumed.rows_affected() == 0 {
        return Err(ApiError::Unauthorized("wrong or already used code".into()));
    }
    session::delete(app, &pending.id_hash).await?;
    let new = NewSession {
        user_id: &pending.user_id,
        method: "password+totp",
        mfa: true,
        pending_mfa: false,
        ip: caller.ip,
        device_id: caller.device_id.as_deref(),
    };
    let created = session::create(app, new).await?;
    crate::alerts::login_succeeded(app, caller, &pending.user_id, &username, "password+totp", true, &created.device_id).await?;
    Ok(created)
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    chrome: Chrome,
    next: String,
    error: Option<String>,
    sso: Option<String>,
}

#[derive(Template)]
#[template(path = "totp.html")]
struct TotpPage {
    chrome: Chrome,
    next: String,
    error: Option<String>,
}

/// Query of the login pages.
#[derive(Debug, Default, Deserialize)]
struct NextQuery {
    next: Option<String>,
}

fn login_view(app: &AppState, next: &str, error: Option<String>, status: StatusCode) -> Response {
    let page = LoginPage {
        chrome: Chrome::public("Sign in"),
        next: ui::safe_next(next),
        error,
        sso: app.config.oidc.as_ref().map(|o| o.display_name.clone()),
    };
    (status, ui::render(&page)).into_response()
}

async fn login_page(State(app): State<AppState>, Query(q): Query<NextQuery>) -> Response {
    login_view(&app, q.next.as_deref().unwrap_or("/"), None, StatusCode::OK)
}

/// The login form's fields.
#[derive(Debug, Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    next: String,
}

async fn login_form(State(app): State<AppState>, caller: Caller, headers: HeaderMap, axum::Form(form): axum::Form<LoginForm>) -> Response {
    if let Err(reason) = same_origin(&app, &headers) {
        return ui::error_page(&ApiError::Forbidden(reason));
    }
    match password_step(&app, &caller, &form.username, &form.password).await {
        Ok(Outcome::Done(created)) => redirect_with_cookies(&ui::safe_next(&form.next), &created.cookies),
        Ok(Outcome::NeedsTotp(created)) => {
            let target = format!("/login/totp?next={}", url::form_urlencoded::byte_serialize(ui::safe_next(&form.next).as_bytes()).collect::<String>());
            redirect_with_cookies(&target, &created.cookies)
        }
        Err(err) => login_view(&app, &form.next, Some(err.public_message()), err.status()),
    }
}

async fn totp_page(Query(q): Query<NextQuery>) -> Response {
    let page = TotpPage { chrome: Chrome::public("Second factor"), next: ui::safe_next(q.next.as_deref().unwrap_or("/")), error: None };
    ui::render(&page)
}

/// The TOTP form's fields.
#[derive(Debug, Deserialize)]
struct TotpForm {
    code: String,
    #[serde(default)]
    next: String,
}

async fn totp_form(State(app): State<AppState>, caller: Caller, headers: HeaderMap, axum::Form(form): axum::Form<TotpForm>) -> Response {
    if let Err(reason) = same_origin(&app, &headers) {
        return ui::error_page(&ApiError::Forbidden(reason));
    }
    match totp_step(&app, &caller, &form.code).await {
        Ok(created) => redirect_with_cookies(&ui::safe_next(&form.next), &created.cookies),
        Err(err) => {
            let page = TotpPage { chrome: Chrome::public("Second factor"), next: ui::safe_next(&form.next), error: Some(err.public_message()) };
            (err.status(), ui::render(&page)).into_response()
        }
    }
}

async fn logout_form(State(app): State<AppState>, caller: Caller) -> ApiResult<Response> {
    end_session(&app, &caller).await?;
    let mut response = ui::see_other("/login", None);
    response.headers_mut().append(header::SET_COOKIE, session::clear_session_cookie(&app));
    Ok(response)
}

async fn end_session(app: &AppState, caller: &Caller) -> ApiResult<()> {
    if let Via::Session(s) = &caller.via {
        session::delete(app, &s.id_hash).await?;
        app.audit.login_event(LoginRecord::logout(caller)).await?;
    }
    Ok(())
}

/// `POST /api/v1/login` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    /// The user name.
    pub username: String,
    /// The password.
    pub password: String,
    /// The current TOTP code, for users who enrolled one.
    #[serde(default)]
    pub totp: Option<String>,
}

/// `POST /api/v1/login` answer (the session itself is the `warden_session` cookie).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    /// Echo this in `x-csrf-token` on writes made with the session cookie.
    pub csrf_token: String,
    /// Whether a second factor was used.
    pub mfa: bool,
}

async fn login_json(State(app): State<AppState>, caller: Caller, headers: HeaderMap, JsonBody(body): JsonBody<LoginRequest>) -> ApiResult<Response> {
    same_origin(&app, &headers).map_err(ApiError::Forbidden)?;
    let outcome = password_step(&app, &caller, &body.username, &body.password).await?;
    let created = match outcome {
        Outcome::Done(created) => created,
        Outcome::NeedsTotp(pending) => {
            let Some(code) = body.totp.as_deref() else {
                session::delete(&app, &crate::identity::sha256_hex(pending.token.as_bytes())).await?;
                return Err(ApiError::Unauthorized("this account needs a TOTP code (`totp`)".into()));
            };
            let pending_caller = Caller {
                via: Via::Anonymous {
                    pending: Some(super::PendingLogin {
                        id_hash: crate::identity::sha256_hex(pending.token.as_bytes()),
                        user_id: pending_user(&app, &pending.token).await?,
                    }),
                },
                device_id: Some(pending.device_id.clone()),
                ..caller.clone()
            };
            totp_step(&app, &pending_caller, code).await?
        }
    };
    let mfa = body.totp.is_some();
    let mut response = (StatusCode::OK, Json(LoginResponse { csrf_token: created.csrf.clone(), mfa })).into_response();
    for cookie in &created.cookies {
        response.headers_mut().append(header::SET_COOKIE, cookie.clone());
    }
    Ok(response)
}

async fn pending_user(app: &AppState, token: &str) -> ApiResult<String> {
    Ok(sqlx::query_scalar("SELECT user_id FROM sessions WHERE id_hash = $1")
        .bind(crate::identity::sha256_hex(token.as_bytes()))
        .fetch_one(app.store.writer())
        .await?)
}

async fn logout_json(State(app): State<AppState>, caller: Caller) -> ApiResult<Response> {
    end_session(&app, &caller).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().append(header::SET_COOKIE, session::clear_session_cookie(&app));
    Ok(response)
}

fn redirect_with_cookies(location: &str, cookies: &[HeaderValue]) -> Response {
    let mut response = ui::see_other(location, None);
    for cookie in cookies {
        response.headers_mut().append(header::SET_COOKIE, cookie.clone());
    }
    response
}

/// A login form must be posted from our own pages (login CSRF): refuse a foreign `Origin`.
pub fn same_origin(app: &AppState, headers: &HeaderMap) -> Result<(), String> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return Ok(()) };
    if origin == app.public_url.origin().ascii_serialization() {
        return Ok(());
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let origin_host = origin.split_once("://").map_or("", |(_, rest)| rest);
    if !host.is_empty() && origin_host == host {
        return Ok(());
    }
    Err(format!("origin `{origin}` is not this server"))
}
