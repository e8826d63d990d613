//! API keys: `wdn_<32 hex id>_<secret>`, the secret shown once at creation and kept only as its
//! SHA-256 (see [`super::verify_api_key`]). A key is scoped to action groups and can never do more
//! than its owner's roles allow through a key, nor more than the request that created it could do;
//! Cedar still decides every request on the owner's roles and the key's scopes (`api-key-scope`).
//! Keys of people expire within a year; only service accounts may hold keys that never expire.
//! Revocation takes effect on the next request.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::Row;
use warden_audit::AccountChangeKind;

use super::actor::{self, Actor};
use super::{API_KEY_PREFIX, random_token, sha256_hex, split_roles};
use crate::authz::{Group, PrincipalRef, RequestFacts, ResourceRef, actions};
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonBody;
use crate::gate::Caller;
use crate::routes::Route;
use crate::state::AppState;
use crate::store::now_ms;

/// The longest lifetime of a key, in days.
pub const MAX_DAYS: i64 = 365;
const DAY_MS: i64 = 86_400_000;

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    vec![
        Route::api(Method::GET, "/api/v1/keys", actions::KEY_LIST, list_json).returns_list::<KeyView>(),
        Route::api(Method::POST, "/api/v1/keys", actions::KEY_CREATE, create_json).accepts::<KeyRequest>().returns::<CreatedKey>().status(201),
        Route::api(Method::DELETE, "/api/v1/keys/{id}", actions::KEY_REVOKE, revoke_json).accepts_optional::<RevokeRequest>().status(204),
    ]
}

/// An API key as listed: never its secret.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KeyView {
    /// The public id (the `<id>` in `wdn_<id>_<secret>`).
    pub id: String,
    /// What it is for.
    pub name: String,
    /// The action groups it may use.
    pub scopes: Vec<String>,
    /// The owner's user id.
    pub owner_id: String,
    /// The owner's user name.
    pub owner: String,
    /// Created (unix ms).
    pub created_at: i64,
    /// Stops working at (unix ms); `None` never (service accounts only).
    pub expires_at: Option<i64>,
    /// Revoked at (unix ms).
    pub revoked_at: Option<i64>,
    /// Last used (unix ms, updated at most once a minute).
    pub last_used_at: Option<i64>,
}

impl KeyView {
    /// Usable now: neither revoked nor expired.
    pub fn active(&self) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|t| t > now_ms())
    }

    /// `active`, `revoked` or `expired`.
    pub fn status(&self) -> &'static str {
        if self.revoked_at.is_some() {
            "revoked"
        } else if self.active() {
            "active"
        } else {
            "expired"
        }
    }
}

/// `POST /api/v1/keys` body.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct KeyRequest {
    /// What the key is for (1 to 100 characters).
    pub name: String,
    /// Action groups (`read`, `write`, `download`, ...; see `GET /api/v1/policies/schema`).
    pub scopes: Vec<String>,
    /// Lifetime in days, 1 to 365; required except for service accounts.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 365)]
    pub expires_in_days: Option<i64>,
    /// Create the key for this user (a service account) instead of oneself: needs `user.update`.
    #[serde(default)]
    pub user_id: Option<String>,
}

/// A new key: the only time its secret is shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreatedKey {
    /// The whole key, `wdn_<id>_<secret>`: store it now, it cannot be shown again.
    pub key: String,
    /// The key's details.
    #[serde(flatten)]
    pub view: KeyView,
}

const KEY_COLUMNS: &str = "k.id, k.name, k.scopes, k.user_id, u.username, k.created_at, k.expires_at, k.revoked_at, k.last_used_at";

fn key_from_row(row: &sqlx::any::AnyRow) -> ApiResult<KeyView> {
    Ok(KeyView {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        scopes: split_roles(&row.try_get::<String, _>(2)?),
        owner_id: row.try_get(3)?,
        owner: row.try_get(4)?,
        created_at: row.try_get(5)?,
        expires_at: row.try_get(6)?,
        revoked_at: row.try_get(7)?,
        last_used_at: row.try_get(8)?,
    })
}

/// The keys `caller` may see: their own, or everyone's when Cedar lets them list users
/// (administrators, auditors). Newest first.
pub async fn list_keys(app: &AppState, caller: &Caller) -> ApiResult<Vec<KeyView>> {
    if sees_all_keys(app, caller) { list_all(app).await } else { list_for_user(app, caller.user_id().unwrap_or("")).await }
}

/// Whether `caller` sees everyone's keys: Cedar lets them list users.
pub fn sees_all_keys(app: &AppState, caller: &Caller) -> bool {
    app.authz.decide(&caller.principal, actions::USER_LIST, &ResourceRef::Server, &caller.facts()).allowed
}

/// Every key of `user_id`, newest first.
pub async fn list_for_user(app: &AppState, user_id: &str) -> ApiResult<Vec<KeyView>> {
    let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.user_id = $1 ORDER BY k.created_at DESC, k.id");
    let rows = sqlx::query(&sql).bind(user_id).fetch_all(&app.store.read).await?;
    rows.iter().map(key_from_row).collect()
}

/// Every key of every user, newest first.
pub async fn list_all(app: &AppState) -> ApiResult<Vec<KeyView>> {
    let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys k JOIN users u ON u.id = k.user_id ORDER BY k.created_at DESC, k.id");
    let rows = sqlx::query(&sql).fetch_all(&app.store.read).await?;
    rows.iter().map(key_from_row).collect()
}

async fn find_key(conn: &mut sqlx::AnyConnection, key_id: &str) -> ApiResult<Option<KeyView>> {
    let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.id = $1");
    let row = sqlx::query(&sql).bind(key_id).fetch_optional(&mut *conn).await?;
    row.as_ref().map(key_from_row).transpose()
}

/// Validates scope names: known action groups, not `public`, at least one; sorted, no repeats.
pub fn parse_scopes(names: &[String]) -> ApiResult<Vec<Group>> {
    let mut groups = Vec::new();
    for name in names {
        let name = name.trim();
        let group = Group::from_name(name).filter(|g| *g != Group::Public).ok_or_else(|| {
            let known: Vec<&str> = Group::ALL.iter().filter(|g| **g != Group::Public).map(|g| g.name()).collect();
            ApiError::BadRequest(format!("unknown scope `{name}`; scopes are action groups: {}", known.join(", ")))
        })?;
        if !groups.contains(&group) {
            groups.push(group);
        }
    }
    if groups.is_empty() {
        return Err(ApiError::BadRequest("a key needs at least one scope (e.g. `read`)".into()));
    }
    groups.sort_by_key(|g| Group::ALL.iter().position(|x| x == g));
    Ok(groups)
}

/// Whether `principal` in circumstances `facts` may do at least one action of `group`.
fn group_allowed(app: &AppState, principal: &PrincipalRef, group: Group, facts: &RequestFacts) -> bool {
    actions::ALL.iter().filter(|a| a.group == group).any(|a| app.authz.decide(principal, *a, &ResourceRef::Server, facts).allowed)
}

/// Refuses a scope the owner's roles do not grant through a key, or that the creating request
/// could not use itself (so a key never widens what created it: no admin key from a session
/// without a second factor, no `admin` scope minted by a `read` key).
fn check_ceiling(app: &AppState, caller: &Caller, owner: &PrincipalRef, group: Group) -> ApiResult<()> {
    // The key will carry the creating session's second factor (see `mfa` on `api_keys`).
    let as_key = RequestFacts { via: "api_key", mfa: caller.via.mfa(), device_known: false, scopes: vec![group.name().to_owned()], ..caller.facts() };
    if !group_allowed(app, owner, group, &as_key) {
        return Err(ApiError::Forbidden(format!(
            "scope `{}` is not granted to `{}` by their roles ({}); a key cannot have it",
            group.name(),
            owner.name,
            owner.roles.join(", ")
        )));
    }
    if !group_allowed(app, &caller.principal, group, &caller.facts()) {
        return Err(ApiError::Forbidden(format!(
            "scope `{}` is more than this request may do itself; create the key from a session that used a second factor",
            group.name()
        )));
    }
    Ok(())
}

fn validate_name(name: &str) -> ApiResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::BadRequest("a key name has 1 to 100 printable characters".into()));
    }
    Ok(name.to_owned())
}

/// Creates a key for `caller` (or, with `user_id` and `user.update`, for another user such as a
/// service account). The returned secret is never retrievable again.
pub async fn create_key(app: &AppState, caller: &Caller, request: &KeyRequest) -> ApiResult<CreatedKey> {
    let caller_id = caller.user_id().ok_or_else(|| ApiError::Unauthorized("sign in to create API keys".into()))?;
    let name = validate_name(&request.name)?;
    let groups = parse_scopes(&request.scopes)?;
    let owner_id = request.user_id.as_deref().map(str::trim).filter(|id| !id.is_empty()).unwrap_or(caller_id).to_owned();
    if owner_id != caller_id {
        actor::authorize(app, caller, actions::USER_UPDATE, "POST", "/api/v1/keys").await?;
    }
    let row = sqlx::query("SELECT username, roles, disabled FROM users WHERE id = $1")
        .bind(&owner_id)
        .fetch_optional(&app.store.read)
        .await?
        .ok_or_else(|| ApiError::not_found("user", &owner_id))?;
    let owner = PrincipalRef { id: owner_id.clone(), name: row.try_get(0)?, roles: split_roles(&row.try_get::<String, _>(1)?) };
    if row.try_get::<i64, _>(2)? != 0 {
        return Err(ApiError::Conflict(format!("user `{}` is disabled; enable them before creating keys", owner.name)));
    }
    let service = owner.roles.iter().any(|r| r == "service");
    let now = now_ms();
    let expires_at = match request.expires_in_days {
        Some(days) if (1..=MAX_DAYS).contains(&days) => Some(now + days * DAY_MS),
        Some(days) => return Err(ApiError::BadRequest(format!("expires_in_days must be 1 to {MAX_DAYS}, not {days}"))),
        None if service => None,
        None => {
            return Err(ApiError::BadRequest(format!(
                "expires_in_days is required (1 to {MAX_DAYS}); only service accounts may hold keys that never expire"
            )));
        }
    };
    for group in &groups {
        check_ceiling(app, caller, &owner, *group)?;
    }
    let scopes: Vec<String> = groups.iter().map(|g| g.name().to_owned()).collect();
    let mut id_bytes = [0u8; 16];
    getrandom::fill(&mut id_bytes).map_err(|e| ApiError::Internal(format!("random source: {e}")))?;
    let id = hex::encode(id_bytes);
    let secret = random_token();
    let mut tx = app.store.begin().await?;
    // The key carries its creator's second factor: a key made in a session without one does not
    // count as MFA (Cedar `context.mfa`), whatever it is later used for.
    sqlx::query("INSERT INTO api_keys (id, user_id, name, secret_hash, scopes, created_at, expires_at, mfa) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
        .bind(&id)
        .bind(&owner_id)
        .bind(&name)
        .bind(sha256_hex(secret.as_bytes()))
        .bind(scopes.join(","))
        .bind(now)
        .bind(expires_at)
        .bind(i64::from(caller.via.mfa()))
        .execute(&mut *tx)
        .await?;
    let details = json!({"key_id": id, "name": name, "scopes": scopes, "expires_at": expires_at, "created_by": caller.principal.name});
    actor::record(app, &mut tx, &Actor::Caller(caller), AccountChangeKind::ApiKeyCreated { key_uid: id.clone() }, &owner_id, &owner.name, details).await?;
    tx.commit().await?;
    app.metrics.event("key.create");
    let view = KeyView {
        id: id.clone(),
        name,
        scopes,
        owner_id,
        owner: owner.name,
        created_at: now,
        expires_at,
        revoked_at: None,
        last_used_at: None,
    };
    Ok(CreatedKey { key: format!("{API_KEY_PREFIX}{id}_{secret}"), view })
}

/// Revokes key `key_id`. A caller may revoke their own keys, and anyone's when Cedar allows them
/// `user.update`; the system (playbooks) may revoke any. Returns `false` when the key was already
/// revoked (nothing changes, nothing is recorded). Takes effect on the key's next request.
pub async fn revoke_key(app: &AppState, actor: Actor<'_>, key_id: &str, reason: &str) -> ApiResult<bool> {
    let key = {
        let mut conn = app.store.read.acquire().await?;
        find_key(&mut conn, key_id).await?.ok_or_else(|| ApiError::not_found("API key", key_id))?
    };
    if let Actor::Caller(caller) = actor
        && caller.user_id() != Some(key.owner_id.as_str())
    {
        actor::authorize(app, caller, actions::USER_UPDATE, "DELETE", "/api/v1/keys/{id}").await?;
    }
    let mut tx = app.store.begin().await?;
    let revoked = sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(now_ms())
        .bind(key_id)
        .execute(&mut *tx)
        .await?;
    if revoked.rows_affected() == 0 {
        return Ok(false);
    }
    let details = json!({"key_id": key.id, "name": key.name, "reason": reason, "revoked_by": actor.name()});
    actor::record(app, &mut tx, &actor, AccountChangeKind::ApiKeyRevoked { key_uid: key.id.clone() }, &key.owner_id, &key.owner, details).await?;
    tx.commit().await?;
    app.metrics.event("key.revoke");
    Ok(true)
}

async fn list_json(State(app): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<KeyView>>> {
    Ok(Json(list_keys(&app, &caller).await?))
}

async fn create_json(State(app): State<AppState>, caller: Caller, JsonBody(body): JsonBody<KeyRequest>) -> ApiResult<Response> {
    let created = create_key(&app, &caller, &body).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// `DELETE /api/v1/keys/{id}` body (optional).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct RevokeRequest {
    /// Why, for the audit log.
    #[serde(default)]
    pub reason: Option<String>,
}

async fn revoke_json(State(app): State<AppState>, caller: Caller, Path(id): Path<String>, body: Option<JsonBody<RevokeRequest>>) -> ApiResult<Response> {
    let reason = body.and_then(|JsonBody(b)| b.reason).unwrap_or_default();
    if revoke_key(&app, Actor::Caller(&caller), &id, reason.trim()).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::Conflict(format!("API key `{id}` is already revoked")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_action_groups_but_not_public() {
        let names = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(parse_scopes(&names(&["write", "read", "read"])).unwrap(), vec![Group::Read, Group::Write]);
        assert!(parse_scopes(&names(&["public"])).is_err());
        assert!(parse_scopes(&names(&["root"])).is_err());
        assert!(parse_scopes(&[]).is_err());
    }

    #[test]
    fn key_status_follows_revocation_and_expiry() {
        let mut key = KeyView {
            id: "0".repeat(32),
            name: "ci".into(),
            scopes: vec!["read".into()],
            owner_id: "u".into(),
            owner: "alice".into(),
            created_at: 0,
            expires_at: None,
            revoked_at: None,
            last_used_at: None,
        };
        assert_eq!(key.status(), "active");
        key.expires_at = Some(1);
        assert_eq!(key.status(), "expired");
        key.revoked_at = Some(2);
        assert_eq!(key.status(), "revoked");
    }
}
