//! The user administration page (`/ui/users`): every user with their roles, state, second factor
//! and single sign-on identity; forms to create users, change roles, disable and enable, reset a
//! second factor and set a password. The forms call the same functions as the JSON API.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::Method;
use axum::response::IntoResponse;

use super::Actor;
use super::pages::{field, field_values, form_fields};
use super::users::{self, NewUser, UserPatch, UserView};
use crate::authz::{ROLES, ResourceRef, actions};
use crate::error::{ApiError, ApiResult};
use crate::gate::Caller;
use crate::routes::Route;
use crate::state::AppState;
use crate::ui::{self, Chrome, NoticeQuery, UiResult, fmt_time};

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    vec![
        Route::ui(Method::GET, "/ui/users", actions::USER_LIST, users_page),
        Route::ui(Method::POST, "/ui/users", actions::USER_CREATE, create_form),
        Route::ui(Method::POST, "/ui/users/{id}/roles", actions::USER_UPDATE, roles_form),
        Route::ui(Method::POST, "/ui/users/{id}/disable", actions::USER_UPDATE, disable_form),
        Route::ui(Method::POST, "/ui/users/{id}/enable", actions::USER_UPDATE, enable_form),
        Route::ui(Method::POST, "/ui/users/{id}/reset-mfa", actions::USER_UPDATE, reset_mfa_form),
        Route::ui(Method::POST, "/ui/users/{id}/password", actions::USER_UPDATE, password_form),
    ]
}

/// One user as a table row.
pub struct UserRow {
    /// The user.
    pub user: UserView,
    /// Created, formatted.
    pub created: String,
}

/// What the create form held, to show it again after an error (never the password).
#[derive(Debug, Default)]
pub struct CreateForm {
    /// User name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Email.
    pub email: String,
    /// Chosen roles.
    pub roles: Vec<String>,
}

impl CreateForm {
    /// Whether `role` was ticked.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    chrome: Chrome,
    users: Vec<UserRow>,
    roles: &'static [&'static str],
    can_manage: bool,
    me: String,
    error: Option<String>,
    form: CreateForm,
}

async fn page(app: &AppState, caller: &Caller, notice: Option<String>) -> ApiResult<UsersPage> {
    let users = users::list_users(app).await?.into_iter().map(|user| UserRow { created: fmt_time(user.created_at), user }).collect();
    // Only for showing the forms: each form's route is decided by the gate again.
    let can_manage = app.authz.decide(&caller.principal, actions::USER_UPDATE, &ResourceRef::Server, &caller.facts()).allowed;
    Ok(UsersPage {
        chrome: Chrome::new("Users", caller).with_notice(notice),
        users,
        roles: &ROLES,
        can_manage,
        me: caller.user_id().unwrap_or("").to_owned(),
        error: None,
        form: CreateForm::default(),
    })
}

async fn users_page(State(app): State<AppState>, caller: Caller, Query(q): Query<NoticeQuery>) -> UiResult {
    Ok(ui::render(&page(&app, &caller, q.notice).await?))
}

/// The users page again with `err` on top (and its status).
async fn with_error(app: &AppState, caller: &Caller, err: &ApiError, form: CreateForm) -> UiResult {
    let mut view = page(app, caller, None).await?;
    view.error = Some(err.public_message());
    view.form = form;
    Ok((err.status(), ui::render(&view)).into_response())
}

/// Redirects back with `notice`, or shows the page with the error.
async fn outcome(app: &AppState, caller: &Caller, result: ApiResult<String>) -> UiResult {
    match result {
        Ok(notice) => Ok(ui::see_other("/ui/users", Some(&notice))),
        Err(err) => with_error(app, caller, &err, CreateForm::default()).await,
    }
}

async fn create_form(State(app): State<AppState>, caller: Caller, body: String) -> UiResult {
    let fields = form_fields(&body);
    let form = CreateForm {
        username: field(&fields, "username").trim().to_owned(),
        display_name: field(&fields, "display_name").trim().to_owned(),
        email: field(&fields, "email").trim().to_owned(),
        roles: field_values(&fields, "role"),
    };
    let password = field(&fields, "password");
    let new = NewUser {
        username: form.username.clone(),
        password: (!password.is_empty()).then(|| password.to_owned()),
        roles: form.roles.clone(),
        display_name: Some(form.display_name.clone()),
        email: Some(form.email.clone()),
    };
    match users::create_user(&app, &caller, &new).await {
        Ok(user) => Ok(ui::see_other("/ui/users", Some(&format!("User `{}` created.", user.username)))),
        Err(err) => with_error(&app, &caller, &err, form).await,
    }
}

async fn roles_form(State(app): State<AppState>, caller: Caller, Path(id): Path<String>, body: String) -> UiResult {
    let fields = form_fields(&body);
    let patch = UserPatch { roles: Some(field_values(&fields, "role")), reason: Some("changed in the web UI".into()), ..UserPatch::default() };
    let result = async {
        let changed = users::update_user(&app, Actor::Caller(&caller), &id, &patch).await?;
        Ok(if changed { "Roles changed." } else { "The roles were already so." }.to_owned())
    }
    .await;
    outcome(&app, &caller, result).await
}

async fn set_disabled_form(app: &AppState, caller: &Caller, id: &str, disabled: bool, body: &str) -> UiResult {
    let fields = form_fields(body);
    let reason = field(&fields, "reason").trim();
    let reason = if reason.is_empty() { "changed in the web UI" } else { reason };
    let result = async {
        let changed = users::set_disabled(app, Actor::Caller(caller), id, disabled, reason).await?;
        Ok(match (changed, disabled) {
            (false, _) => "Nothing to change.",
            (true, true) => "User disabled: their sessions ended and their API keys stopped working.",
            (true, false) => "User enabled.",
        }
        .to_owned())
    }
    .await;
    outcome(app, caller, result).await
}

async fn disable_form(State(app): State<AppState>, caller: Caller, Path(id): Path<String>, body: String) -> UiResult {
    set_disabled_form(&app, &caller, &id, true, &body).await
}

async fn enable_form(State(app): State<AppState>, caller: Caller, Path(id): Path<String>, body: String) -> UiResult {
    set_disabled_form(&app, &caller, &id, false, &body).await
}

async fn reset_mfa_form(State(app): State<AppState>, caller: Caller, Path(id): Path<String>) -> UiResult {
    let result = async {
        users::reset_mfa(&app, Actor::Caller(&caller), &id).await?;
        Ok("Second factor reset: the user enrols a new one after signing in again.".to_owned())
    }
    .await;
    outcome(&app, &caller, result).await
}

async fn password_form(State(app): State<AppState>, caller: Caller, Path(id): Path<String>, body: String) -> UiResult {
    let fields = form_fields(&body);
    let result = async {
        users::set_password(&app, Actor::Caller(&caller), &id, field(&fields, "password")).await?;
        Ok("Password set; the user's sessions were signed out.".to_owned())
    }
    .await;
    outcome(&app, &caller, result).await
}
