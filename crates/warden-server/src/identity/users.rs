//! User administration: list, create, change roles, disable and enable, reset the second factor,
//! set a password. Every change is an audited account change in the transaction that makes it.
//!
//! Invariants: there is always an active administrator (no change may leave none: 409), and an
//! administrator cannot disable themselves. Disabling a user ends their sessions at once and makes
//! their API keys fail on the next request (authentication refuses disabled owners); enabling them
//! again brings back keys that were not revoked.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::{Any, Row, Transaction};
use warden_audit::AccountChangeKind;

use super::actor::{self, Actor};
use super::{password, split_roles, validate_username};
use crate::audit::Change;
use crate::authz::{ROLES, actions};
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonBody;
use crate::gate::Caller;
use crate::routes::Route;
use crate::state::AppState;
use crate::store::{is_unique_violation, new_id, now_ms};

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    vec![
        Route::api(Method::GET, "/api/v1/users", actions::USER_LIST, list_json).returns_list::<UserView>(),
        Route::api(Method::POST, "/api/v1/users", actions::USER_CREATE, create_json).accepts::<NewUser>().returns::<UserView>().status(201),
        Route::api(Method::GET, "/api/v1/users/{id}", actions::USER_LIST, get_json).returns::<UserView>(),
        Route::api(Method::PATCH, "/api/v1/users/{id}", actions::USER_UPDATE, patch_json).accepts::<UserPatch>().returns::<UserView>(),
        Route::api(Method::POST, "/api/v1/users/{id}/reset-mfa", actions::USER_UPDATE, reset_mfa_json).returns::<UserView>(),
        Route::api(Method::POST, "/api/v1/users/{id}/password", actions::USER_UPDATE, password_json).accepts::<PasswordSet>().status(204),
    ]
}

/// A user as administrators see them (never a password hash or TOTP seed).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UserView {
    /// User id.
    pub id: String,
    /// Sign-in name.
    pub username: String,
    /// Name shown in the UI.
    pub display_name: String,
    /// Email (lower case), used to link a first single sign-on to a pre-created user.
    pub email: Option<String>,
    /// Roles.
    pub roles: Vec<String>,
    /// Disabled users cannot sign in and their keys do not work.
    pub disabled: bool,
    /// A TOTP second factor is enrolled.
    pub totp_enabled: bool,
    /// The user can sign in with a password.
    pub has_password: bool,
    /// The single sign-on provider that knows them.
    pub oidc_issuer: Option<String>,
    /// Their subject at that provider.
    pub oidc_subject: Option<String>,
    /// Created (unix ms).
    pub created_at: i64,
    /// Last changed (unix ms).
    pub updated_at: i64,
}

impl UserView {
    /// Whether the user holds `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

const USER_COLUMNS: &str = "id, username, display_name, email, roles, disabled, totp_enabled, \
    CAST(CASE WHEN password_hash IS NULL THEN 0 ELSE 1 END AS BIGINT), oidc_issuer, oidc_subject, created_at, updated_at";

fn user_from_row(row: &sqlx::any::AnyRow) -> ApiResult<UserView> {
    Ok(UserView {
        id: row.try_get(0)?,
        username: row.try_get(1)?,
        display_name: row.try_get(2)?,
        email: row.try_get(3)?,
        roles: split_roles(&row.try_get::<String, _>(4)?),
        disabled: row.try_get::<i64, _>(5)? != 0,
        totp_enabled: row.try_get::<i64, _>(6)? != 0,
        has_password: row.try_get::<i64, _>(7)? != 0,
        oidc_issuer: row.try_get(8)?,
        oidc_subject: row.try_get(9)?,
        created_at: row.try_get(10)?,
        updated_at: row.try_get(11)?,
    })
}

/// Every user, by name.
pub async fn list_users(app: &AppState) -> ApiResult<Vec<UserView>> {
    let rows = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY username")).fetch_all(&app.store.read).await?;
    rows.iter().map(user_from_row).collect()
}

/// One user.
pub async fn get_user(app: &AppState, id: &str) -> ApiResult<UserView> {
    let mut conn = app.store.read.acquire().await?;
    find(&mut conn, id).await?.ok_or_else(|| ApiError::not_found("user", id))
}

async fn find(conn: &mut sqlx::AnyConnection, id: &str) -> ApiResult<Option<UserView>> {
    let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1")).bind(id).fetch_optional(&mut *conn).await?;
    row.as_ref().map(user_from_row).transpose()
}

/// Roles from [`ROLES`], without repeats, in catalogue order.
pub fn validate_roles(roles: &[String]) -> ApiResult<Vec<String>> {
    let mut out = Vec::new();
    for role in roles {
        let role = role.trim();
        if !ROLES.contains(&role) {
            return Err(ApiError::BadRequest(format!("unknown role `{role}`; roles are {}", ROLES.join(", "))));
        }
        if !out.iter().any(|r: &String| r == role) {
            out.push(role.to_owned());
        }
    }
    out.sort_by_key(|r| ROLES.iter().position(|x| x == r));
    Ok(out)
}

/// An email address, trimmed and lower-cased; `None` when empty.
pub fn validate_email(email: Option<&str>) -> ApiResult<Option<String>> {
    let Some(email) = email.map(str::trim).filter(|e| !e.is_empty()) else { return Ok(None) };
    let ok = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.') && !domain.contains('@'));
    if ok { Ok(Some(email.to_lowercase())) } else { Err(ApiError::BadRequest(format!("`{email}` is not an email address"))) }
}

fn validate_display_name(name: &str) -> ApiResult<String> {
    let name = name.trim();
    if name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::BadRequest("a display name has at most 100 printable characters".into()));
    }
    Ok(name.to_owned())
}

/// `POST /api/v1/users` body.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct NewUser {
    /// Sign-in name.
    pub username: String,
    /// Password (12 characters or more); leave out for single-sign-on-only and service accounts.
    #[serde(default)]
    pub password: Option<String>,
    /// Roles (admin, security_engineer, data_scientist, auditor, service).
    #[serde(default)]
    pub roles: Vec<String>,
    /// Name shown in the UI (defaults to the user name).
    #[serde(default)]
    pub display_name: Option<String>,
    /// Email; a first single sign-on with this verified email links to this user.
    #[serde(default)]
    pub email: Option<String>,
}

/// A user row about to be inserted (administrators and single sign-on both create users).
#[derive(Debug, Clone)]
pub(crate) struct UserRecord {
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub password_hash: Option<String>,
    pub roles: Vec<String>,
    pub oidc: Option<(String, String)>,
}

/// Inserts `record` and records its creation; returns the new id.
pub(crate) async fn insert(app: &AppState, tx: &mut Transaction<'static, Any>, actor: &Actor<'_>, record: &UserRecord) -> ApiResult<String> {
    if let Some(email) = &record.email {
        let taken: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE email = $1").bind(email).fetch_one(&mut **tx).await?;
        if taken > 0 {
            return Err(ApiError::Conflict(format!("another user has the email `{email}`")));
        }
    }
    let id = new_id();
    let now = now_ms();
    let (issuer, subject) = record.oidc.clone().unzip();
    let inserted = sqlx::query(
        "INSERT INTO users (id, username, display_name, email, password_hash, roles, oidc_issuer, oidc_subject, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
    )
    .bind(&id)
    .bind(&record.username)
    .bind(&record.display_name)
    .bind(&record.email)
    .bind(&record.password_hash)
    .bind(record.roles.join(","))
    .bind(&issuer)
    .bind(&subject)
    .bind(now)
    .execute(&mut **tx)
    .await;
    if let Err(err) = inserted {
        return Err(if is_unique_violation(&err) { ApiError::Conflict(format!("user `{}` exists", record.username)) } else { err.into() });
    }
    let details = json!({
        "roles": record.roles,
        "email": record.email,
        "password": record.password_hash.is_some(),
        "oidc_issuer": issuer,
        "oidc_subject": subject,
        "created_by": actor.name(),
    });
    actor::record(app, tx, actor, AccountChangeKind::UserCreated, &id, &record.username, details).await?;
    Ok(id)
}

/// Creates a user (administrators).
pub async fn create_user(app: &AppState, caller: &Caller, new: &NewUser) -> ApiResult<UserView> {
    let username = new.username.trim().to_owned();
    validate_username(&username)?;
    let roles = validate_roles(&new.roles)?;
    let display_name = validate_display_name(new.display_name.as_deref().unwrap_or(""))?;
    let email = validate_email(new.email.as_deref())?;
    let password_hash = match new.password.as_deref().filter(|p| !p.is_empty()) {
        Some(text) => {
            password::check_policy(&username, text)?;
            Some(password::hash(text.to_owned()).await?)
        }
        None => None,
    };
    let record = UserRecord {
        display_name: if display_name.is_empty() { username.clone() } else { display_name },
        username,
        email,
        password_hash,
        roles,
        oidc: None,
    };
    let mut tx = app.store.begin().await?;
    let id = insert(app, &mut tx, &Actor::Caller(caller), &record).await?;
    tx.commit().await?;
    get_user(app, &id).await
}

/// `PATCH /api/v1/users/{id}` body: what to change.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct UserPatch {
    /// The complete new set of roles.
    #[serde(default)]
    pub roles: Option<Vec<String>>,
    /// Disable (true) or enable (false).
    #[serde(default)]
    pub disabled: Option<bool>,
    /// A new display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Why, for the audit log.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Serialises changes that could remove the last administrator: every such transaction first
/// writes this one settings row, so on PostgreSQL a concurrent one waits for it to commit and then
/// counts what it committed (SQLite has one writer anyway).
async fn take_admin_guard(tx: &mut Transaction<'static, Any>) -> ApiResult<()> {
    sqlx::query("INSERT INTO settings (key, value) VALUES ('identity.admin_guard', '0') ON CONFLICT (key) DO NOTHING").execute(&mut **tx).await?;
    sqlx::query("UPDATE settings SET value = $1 WHERE key = 'identity.admin_guard'").bind(now_ms().to_string()).execute(&mut **tx).await?;
    Ok(())
}

/// Active administrators other than `except`.
async fn other_active_admins(tx: &mut Transaction<'static, Any>, except: &str) -> ApiResult<usize> {
    let rows = sqlx::query("SELECT id, roles FROM users WHERE disabled = 0").fetch_all(&mut **tx).await?;
    let mut count = 0;
    for row in &rows {
        let id: String = row.try_get(0)?;
        if id != except && split_roles(&row.try_get::<String, _>(1)?).iter().any(|r| r == "admin") {
            count += 1;
        }
    }
    Ok(count)
}

/// Applies `patch` to user `id` in one transaction; returns whether anything changed.
pub async fn update_user(app: &AppState, actor: Actor<'_>, id: &str, patch: &UserPatch) -> ApiResult<bool> {
    let new_roles = patch.roles.as_deref().map(validate_roles).transpose()?;
    let new_display = patch.display_name.as_deref().map(validate_display_name).transpose()?;
    let reason = patch.reason.as_deref().map(str::trim).unwrap_or("");
    let mut tx = app.store.begin().await?;
    take_admin_guard(&mut tx).await?;
    let user = find(&mut tx, id).await?.ok_or_else(|| ApiError::not_found("user", id))?;
    let roles = new_roles.unwrap_or_else(|| user.roles.clone());
    let disabled = patch.disabled.unwrap_or(user.disabled);
    let display_name = new_display.filter(|d| !d.is_empty()).unwrap_or_else(|| user.display_name.clone());
    if disabled && !user.disabled && actor.user_id() == Some(id) {
        return Err(ApiError::Conflict("you cannot disable your own account; ask another administrator".into()));
    }
    let was_admin = !user.disabled && user.has_role("admin");
    let stays_admin = !disabled && roles.iter().any(|r| r == "admin");
    if was_admin && !stays_admin && other_active_admins(&mut tx, id).await? == 0 {
        return Err(ApiError::Conflict(format!(
            "`{}` is the last active administrator; make someone else an administrator first",
            user.username
        )));
    }
    if roles == user.roles && disabled == user.disabled && display_name == user.display_name {
        return Ok(false);
    }
    sqlx::query("UPDATE users SET roles = $1, disabled = $2, display_name = $3, updated_at = $4 WHERE id = $5")
        .bind(roles.join(","))
        .bind(i64::from(disabled))
        .bind(&display_name)
        .bind(now_ms())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let previous = (!user.roles.is_empty()).then(|| user.roles.join(","));
    for role in roles.iter().filter(|r| !user.roles.contains(r)) {
        let kind = AccountChangeKind::RoleChanged { role: role.clone(), previous: previous.clone() };
        actor::record(app, &mut tx, &actor, kind, id, &user.username, json!({"roles": roles, "reason": reason})).await?;
    }
    for role in user.roles.iter().filter(|r| !roles.contains(r)) {
        let kind = AccountChangeKind::RoleRevoked { role: role.clone() };
        actor::record(app, &mut tx, &actor, kind, id, &user.username, json!({"roles": roles, "reason": reason})).await?;
    }
    if disabled != user.disabled {
        if disabled {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
        }
        let kind = if disabled { AccountChangeKind::UserDisabled } else { AccountChangeKind::UserEnabled };
        actor::record(app, &mut tx, &actor, kind, id, &user.username, json!({"reason": reason})).await?;
    }
    if display_name != user.display_name {
        let change = Change::update("user.update", "user", id).named(&user.username).detail(json!({"display_name": display_name}));
        actor::record_change(app, &mut tx, &actor, change).await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// Disables or enables user `user_id` (callable by playbooks as [`Actor::System`]). Disabling
/// ends every session at once and stops the user's API keys on their next request. Returns
/// whether anything changed.
pub async fn set_disabled(app: &AppState, actor: Actor<'_>, user_id: &str, disabled: bool, reason: &str) -> ApiResult<bool> {
    let patch = UserPatch { disabled: Some(disabled), reason: Some(reason.to_owned()), ..UserPatch::default() };
    update_user(app, actor, user_id, &patch).await
}

/// Clears user `id`'s second factor so they enrol again at their next sign-in; ends their sessions.
pub async fn reset_mfa(app: &AppState, actor: Actor<'_>, id: &str) -> ApiResult<()> {
    let mut tx = app.store.begin().await?;
    let user = find(&mut tx, id).await?.ok_or_else(|| ApiError::not_found("user", id))?;
    sqlx::query("UPDATE users SET totp_secret = NULL, totp_enabled = 0, totp_last_step = 0, updated_at = $1 WHERE id = $2")
        .bind(now_ms())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
    let details = json!({"was_enrolled": user.totp_enabled});
    actor::record(app, &mut tx, &actor, AccountChangeKind::MfaDisabled, id, &user.username, details).await?;
    tx.commit().await?;
    Ok(())
}

/// Sets user `id`'s password (administrators); ends their sessions.
pub async fn set_password(app: &AppState, actor: Actor<'_>, id: &str, password_text: &str) -> ApiResult<()> {
    let user = get_user(app, id).await?;
    password::check_policy(&user.username, password_text)?;
    let hash = password::hash(password_text.to_owned()).await?;
    let mut tx = app.store.begin().await?;
    sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3").bind(hash).bind(now_ms()).bind(id).execute(&mut *tx).await?;
    sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
    actor::record(app, &mut tx, &actor, AccountChangeKind::PasswordChanged, id, &user.username, json!({"set_by": actor.name()})).await?;
    tx.commit().await?;
    Ok(())
}

async fn list_json(State(app): State<AppState>) -> ApiResult<Json<Vec<UserView>>> {
    Ok(Json(list_users(&app).await?))
}

async fn get_json(State(app): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<UserView>> {
    Ok(Json(get_user(&app, &id).await?))
}

async fn create_json(State(app): State<AppState>, caller: Caller, JsonBody(body): JsonBody<NewUser>) -> ApiResult<Response> {
    let user = create_user(&app, &caller, &body).await?;
    Ok((StatusCode::CREATED, Json(user)).into_response())
}

async fn patch_json(State(app): State<AppState>, caller: Caller, Path(id): Path<String>, JsonBody(body): JsonBody<UserPatch>) -> ApiResult<Json<UserView>> {
    update_user(&app, Actor::Caller(&caller), &id, &body).await?;
    Ok(Json(get_user(&app, &id).await?))
}

async fn reset_mfa_json(State(app): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<UserView>> {
    reset_mfa(&app, Actor::Caller(&caller), &id).await?;
    Ok(Json(get_user(&app, &id).await?))
}

/// `POST /api/v1/users/{id}/password` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PasswordSet {
    /// The new password (12 characters or more).
    pub password: String,
}

async fn password_json(State(app): State<AppState>, caller: Caller, Path(id): Path<String>, JsonBody(body): JsonBody<PasswordSet>) -> ApiResult<Response> {
    set_password(&app, Actor::Caller(&caller), &id, &body.password).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_validated_and_ordered() {
        let roles = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(validate_roles(&roles(&["auditor", "admin", "admin"])).unwrap(), roles(&["admin", "auditor"]));
        assert!(validate_roles(&roles(&["root"])).is_err());
        assert!(validate_roles(&[]).unwrap().is_empty());
    }

    #[test]
    fn emails_are_checked_and_lower_cased() {
        assert_eq!(validate_email(Some(" Alice@Example.COM ")).unwrap().as_deref(), Some("alice@example.com"));
        assert_eq!(validate_email(Some("")).unwrap(), None);
        assert!(validate_email(Some("not-an-email")).is_err());
        assert!(validate_email(Some("a b@example.com")).is_err());
        assert!(validate_email(Some("a@localhost")).is_err());
    }
}
