//! The web pages of one's own account (`/ui/account`: who am I, second factor enrolment with a QR
//! code, password, own API keys) and the API-key list (`/ui/keys`, everyone's for administrators).
//! Secrets — a new key, a TOTP seed — appear only on the response to the action that made them.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::account::{self, PasswordChange};
use super::keys::{self, CreatedKey, KeyRequest, KeyView};
use super::users::{self, UserView};
use super::{Actor, Via, qr};
use crate::authz::{Group, actions};
use crate::error::{ApiError, ApiResult};
use crate::gate::Caller;
use crate::routes::Route;
use crate::state::AppState;
use crate::ui::{self, Chrome, NoticeQuery, UiResult, fmt_time};

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    vec![
        Route::ui(Method::GET, "/ui/account", actions::SELF_READ, account_page),
        Route::ui(Method::POST, "/ui/account/totp", actions::SELF_UPDATE, totp_start_form),
        Route::ui(Method::POST, "/ui/account/totp/confirm", actions::SELF_UPDATE, totp_confirm_form),
        Route::ui(Method::POST, "/ui/account/password", actions::SELF_UPDATE, password_form),
        Route::ui(Method::POST, "/ui/account/keys", actions::KEY_CREATE, key_create_form),
        Route::ui(Method::GET, "/ui/keys", actions::KEY_LIST, keys_page),
        Route::ui(Method::POST, "/ui/keys/{id}/revoke", actions::KEY_REVOKE, key_revoke_form),
    ]
}

/// The fields of a posted form, in order; repeated names (check boxes) are kept.
pub fn form_fields(body: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body.as_bytes()).into_owned().collect()
}

/// The first value of field `name`, or "".
pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
}

/// Every value of field `name` (a group of check boxes).
pub fn field_values(fields: &[(String, String)], name: &str) -> Vec<String> {
    fields.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect()
}

/// One API key as a table row.
pub struct KeyRow {
    /// The key.
    pub key: KeyView,
    /// Created, formatted.
    pub created: String,
    /// Expiry, formatted (`never`).
    pub expires: String,
    /// Last use, formatted (`never`).
    pub last_used: String,
}

impl KeyRow {
    fn new(key: KeyView) -> KeyRow {
        let when = |t: Option<i64>| t.map_or_else(|| "never".to_owned(), fmt_time);
        KeyRow { created: fmt_time(key.created_at), expires: when(key.expires_at), last_used: when(key.last_used_at), key }
    }
}

/// A TOTP enrolment just started: shown this once.
pub struct Enrolment {
    /// Base32 seed.
    pub secret: String,
    /// `otpauth://` URI.
    pub uri: String,
    /// The URI as an inline SVG QR code (numbers only, see [`qr::svg`]).
    pub qr_svg: String,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    chrome: Chrome,
    user: UserView,
    session_mfa: bool,
    session_method: String,
    via: String,
    enrolment: Option<Enrolment>,
    awaiting_code: bool,
    error: Option<String>,
    new_key: Option<CreatedKey>,
    keys: Vec<KeyRow>,
    show_owner: bool,
    back: &'static str,
    scopes: Vec<&'static str>,
    default_days: i64,
}

async fn account_view(app: &AppState, caller: &Caller, notice: Option<String>) -> ApiResult<AccountPage> {
    let id = caller.user_id().ok_or_else(|| ApiError::Unauthorized("sign in first".into()))?;
    let user = users::get_user(app, id).await?;
    let keys = keys::list_for_user(app, id).await?.into_iter().map(KeyRow::new).collect();
    let session_method = match &caller.via {
        Via::Session(s) => s.method.clone(),
        _ => String::new(),
    };
    Ok(AccountPage {
        chrome: Chrome::new("Your account", caller).with_notice(notice),
        session_mfa: caller.via.mfa(),
        session_method,
        via: caller.via.name().to_owned(),
        enrolment: None,
        awaiting_code: false,
        error: None,
        new_key: None,
        keys,
        show_owner: false,
        back: "/ui/account",
        scopes: Group::ALL.iter().filter(|g| **g != Group::Public).map(|g| g.name()).collect(),
        default_days: if user.has_role("service") { 365 } else { 90 },
        user,
    })
}

fn render_with(status: StatusCode, page: &AccountPage) -> Response {
    (status, ui::render(page)).into_response()
}

async fn account_page(State(app): State<AppState>, caller: Caller, Query(q): Query<NoticeQuery>) -> UiResult {
    Ok(ui::render(&account_view(&app, &caller, q.notice).await?))
}

/// Renders the account page with an error (the status of `err`), or `err` as an error page when
/// even the account cannot be read.
async fn account_error(app: &AppState, caller: &Caller, err: &ApiError, awaiting_code: bool) -> UiResult {
    let mut page = account_view(app, caller, None).await?;
    page.error = Some(err.public_message());
    page.awaiting_code = awaiting_code;
    Ok(render_with(err.status(), &page))
}

async fn totp_start_form(State(app): State<AppState>, caller: Caller) -> UiResult {
    let started = match account::totp_start(&app, &caller).await {
        Ok(started) => started,
        Err(err) => return account_error(&app, &caller, &err, false).await,
    };
    let mut page = account_view(&app, &caller, None).await?;
    page.enrolment = Some(Enrolment { qr_svg: qr::svg(&started.otpauth_url)?, secret: started.secret, uri: started.otpauth_url });
    page.awaiting_code = true;
    Ok(ui::render(&page))
}

async fn totp_confirm_form(State(app): State<AppState>, caller: Caller, body: String) -> UiResult {
    let fields = form_fields(&body);
    match account::totp_confirm(&app, &caller, field(&fields, "code")).await {
        Ok(created) => {
            let mut response = ui::see_other("/ui/account", Some("Second factor enrolled; this session counts as having used it."));
            for cookie in created.cookies {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            Ok(response)
        }
        Err(err) => account_error(&app, &caller, &err, true).await,
    }
}

async fn password_form(State(app): State<AppState>, caller: Caller, body: String) -> UiResult {
    let fields = form_fields(&body);
    let change = PasswordChange { current: field(&fields, "current").to_owned(), new: field(&fields, "new").to_owned() };
    let result = if change.new == field(&fields, "confirm") {
        account::change_password(&app, &caller, &change).await
    } else {
        Err(ApiError::BadRequest("the new password and its confirmation differ".into()))
    };
    match result {
        Ok(()) => Ok(ui::see_other("/ui/account", Some("Password changed; your other sessions were signed out."))),
        Err(err) => account_error(&app, &caller, &err, false).await,
    }
}

/// The key form's fields as a request.
fn key_request(fields: &[(String, String)]) -> ApiResult<KeyRequest> {
    let days = field(fields, "expires_in_days").trim();
    let expires_in_days = if days.is_empty() || days == "never" {
        None
    } else {
        Some(days.parse::<i64>().map_err(|_| ApiError::BadRequest(format!("`{days}` is not a number of days")))?)
    };
    Ok(KeyRequest { name: field(fields, "name").to_owned(), scopes: field_values(fields, "scope"), expires_in_days, user_id: None })
}

async fn key_create_form(State(app): State<AppState>, caller: Caller, body: String) -> UiResult {
    let fields = form_fields(&body);
    let created = match key_request(&fields) {
        Ok(request) => keys::create_key(&app, &caller, &request).await,
        Err(err) => Err(err),
    };
    match created {
        Ok(created) => {
            let mut page = account_view(&app, &caller, Some(format!("API key `{}` created.", created.view.name))).await?;
            page.new_key = Some(created);
            Ok(ui::render(&page))
        }
        Err(err) => account_error(&app, &caller, &err, false).await,
    }
}

#[derive(Template)]
#[template(path = "keys.html")]
struct KeysPage {
    chrome: Chrome,
    keys: Vec<KeyRow>,
    show_owner: bool,
    back: &'static str,
}

async fn keys_page(State(app): State<AppState>, caller: Caller, Query(q): Query<NoticeQuery>) -> UiResult {
    let keys = keys::list_keys(&app, &caller).await?.into_iter().map(KeyRow::new).collect();
    let page = KeysPage { chrome: Chrome::new("API keys", &caller).with_notice(q.notice), keys, show_owner: keys::sees_all_keys(&app, &caller), back: "/ui/keys" };
    Ok(ui::render(&page))
}

/// Where a revoke button returns to.
#[derive(Debug, Deserialize)]
struct RevokeForm {
    #[serde(default)]
    back: String,
}

async fn key_revoke_form(State(app): State<AppState>, caller: Caller, Path(id): Path<String>, axum::Form(form): axum::Form<RevokeForm>) -> UiResult {
    let back = if form.back == "/ui/keys" { "/ui/keys" } else { "/ui/account" };
    let notice = if keys::revoke_key(&app, Actor::Caller(&caller), &id, "revoked in the web UI").await? {
        "API key revoked; it stops working on its next request."
    } else {
        "That API key was already revoked."
    };
    Ok(ui::see_other(back, Some(notice)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_boxes_keep_every_value() {
        let fields = form_fields("name=ci+key&scope=read&scope=write&expires_in_days=30");
        assert_eq!(field(&fields, "name"), "ci key");
        assert_eq!(field_values(&fields, "scope"), vec!["read".to_owned(), "write".to_owned()]);
        let request = key_request(&fields).unwrap();
        assert_eq!(request.expires_in_days, Some(30));
        assert!(key_request(&form_fields("expires_in_days=soon")).is_err());
        assert_eq!(key_request(&form_fields("expires_in_days=")).unwrap().expires_in_days, None);
    }
}
