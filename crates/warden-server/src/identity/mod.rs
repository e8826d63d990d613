//! Who is asking: sessions (password + TOTP, or single sign-on), API keys, bootstrap of the first
//! administrator, users and their roles.
//!
//! [`authenticate`] is what the gate calls on every request. Secrets are never stored: session
//! tokens and API-key secrets are kept as SHA-256 digests (they are 256-bit random values, so a
//! fast hash is enough), passwords as argon2id hashes, TOTP seeds sealed with the server key.

pub mod account;
pub mod actor;
pub mod bootstrap;
pub mod keys;
pub mod login;
pub mod oidc;
pub mod pages;
pub mod password;
pub mod qr;
pub mod session;
pub mod sso_accounts;
pub mod totp;
pub mod users;
pub mod users_page;

pub use actor::Actor;
pub use totp::check as totp_check;

use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::authz::PrincipalRef;
use crate::error::ApiError;
use crate::routes::Route;
use crate::state::AppState;
use crate::store::now_ms;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "warden_session";
/// The long-lived device cookie's name (new-device alerts and the `device_known` attribute).
pub const DEVICE_COOKIE: &str = "warden_device";
/// API keys start with this.
pub const API_KEY_PREFIX: &str = "wdn_";

/// How a request authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// Nobody; `pending` is a session waiting for its second factor.
    Anonymous {
        /// The half-finished login, if the browser has one.
        pending: Option<PendingLogin>,
    },
    /// A browser session.
    Session(SessionInfo),
    /// An API key.
    ApiKey(KeyInfo),
}

/// A password login waiting for its TOTP code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingLogin {
    /// SHA-256 of the session token (the row's key).
    pub id_hash: String,
    /// The user.
    pub user_id: String,
}

/// A signed-in browser session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// SHA-256 of the session token (the row's key).
    pub id_hash: String,
    /// The token browser writes must echo.
    pub csrf: String,
    /// A second factor or single sign-on was used.
    pub mfa: bool,
    /// `password`, `password+totp` or `oidc`.
    pub method: String,
}

/// An API key in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// The key id (the public part).
    pub id: String,
    /// What it may do (action groups).
    pub scopes: Vec<String>,
    /// The session that created it had used a second factor.
    pub mfa: bool,
}

impl Via {
    /// `session`, `api_key` or `anonymous`: the Cedar `context.via`.
    pub fn name(&self) -> &'static str {
        match self {
            Via::Anonymous { .. } => "anonymous",
            Via::Session(_) => "session",
            Via::ApiKey(_) => "api_key",
        }
    }

    /// A browser session.
    pub fn is_session(&self) -> bool {
        matches!(self, Via::Session(_))
    }

    /// A second factor or single sign-on was used (for a key: by the session that created it).
    pub fn mfa(&self) -> bool {
        match self {
            Via::Session(session) => session.mfa,
            Via::ApiKey(key) => key.mfa,
            Via::Anonymous { .. } => false,
        }
    }

    /// An API key's scopes; empty otherwise.
    pub fn scopes(&self) -> &[String] {
        match self {
            Via::ApiKey(key) => &key.scopes,
            _ => &[],
        }
    }

    /// The session's CSRF token, for pages that render forms.
    pub fn csrf(&self) -> &str {
        match self {
            Via::Session(s) => &s.csrf,
            _ => "",
        }
    }
}

/// The outcome of authentication.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The principal for Cedar.
    pub principal: PrincipalRef,
    /// How.
    pub via: Via,
    /// The device cookie, when sent.
    pub device_id: Option<String>,
    /// The device cookie is known for this user.
    pub device_known: bool,
}

/// Finds out who sent these headers. A malformed, unknown, expired or revoked API key is an error
/// (401); a stale session cookie just makes the request anonymous.
pub async fn authenticate(app: &AppState, headers: &HeaderMap) -> Result<Authenticated, ApiError> {
    let device_id = cookie(headers, DEVICE_COOKIE).filter(|d| d.len() <= 64).map(str::to_owned);
    if let Some(auth) = headers.get(axum::http::header::AUTHORIZATION) {
        let value = auth.to_str().map_err(|_| ApiError::Unauthorized("the Authorization header is not text".into()))?;
        let token = value
            .strip_prefix("Bearer ")
            .ok_or_else(|| ApiError::Unauthorized("expected `Authorization: Bearer wdn_...`".into()))?;
        let (principal, key) = verify_api_key(app, token.trim()).await?;
        return Ok(Authenticated { principal, via: Via::ApiKey(key), device_id, device_known: false });
    }
    if let Some(token) = cookie(headers, SESSION_COOKIE)
        && let Some(found) = session::lookup(app, token, device_id.as_deref()).await?
    {
        return Ok(found);
    }
    Ok(Authenticated { principal: PrincipalRef::anonymous(), via: Via::Anonymous { pending: None }, device_id, device_known: false })
}

/// Checks an API key `wdn_<id>_<secret>` and returns its owner.
async fn verify_api_key(app: &AppState, token: &str) -> Result<(PrincipalRef, KeyInfo), ApiError> {
    let bad = || ApiError::Unauthorized("invalid, expired or revoked API key".into());
    let rest = token.strip_prefix(API_KEY_PREFIX).ok_or_else(bad)?;
    let (id, secret) = rest.split_once('_').ok_or_else(bad)?;
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) || secret.len() > 128 {
        return Err(bad());
    }
    let row = sqlx::query(
        "SELECT k.secret_hash, k.scopes, k.expires_at, k.revoked_at, k.last_used_at, u.id, u.username, u.roles, u.disabled, k.mfa \
         FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.id = $1",
    )
    .bind(id)
    .fetch_optional(&app.store.read)
    .await?
    .ok_or_else(bad)?;
    let stored: String = row.try_get(0)?;
    if !constant_time_eq(sha256_hex(secret.as_bytes()).as_bytes(), stored.as_bytes()) {
        return Err(bad());
    }
    let now = now_ms();
    let expires_at: Option<i64> = row.try_get(2)?;
    let revoked_at: Option<i64> = row.try_get(3)?;
    let disabled: i64 = row.try_get(8)?;
    if revoked_at.is_some() || expires_at.is_some_and(|t| t <= now) || disabled != 0 {
        return Err(bad());
    }
    let last_used: Option<i64> = row.try_get(4)?;
    if last_used.is_none_or(|t| now - t > 60_000) {
        // Best effort, at most once a minute per key: a failed bookkeeping write must not refuse the request.
        let _ = sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2").bind(now).bind(id).execute(app.store.writer()).await;
    }
    let scopes: String = row.try_get(1)?;
    let principal = PrincipalRef { id: row.try_get(5)?, name: row.try_get(6)?, roles: split_roles(&row.try_get::<String, _>(7)?) };
    let mfa: i64 = row.try_get(9)?;
    Ok((principal, KeyInfo { id: id.to_owned(), scopes: split_roles(&scopes), mfa: mfa != 0 }))
}

/// User names: 2 to 64 characters of letters, digits and `._@-`.
pub fn validate_username(name: &str) -> Result<(), ApiError> {
    let ok = (2..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._@-".contains(&b));
    if ok { Ok(()) } else { Err(ApiError::BadRequest("a user name has 2 to 64 letters, digits, `.`, `_`, `@` or `-`".into())) }
}

/// The value of cookie `name` in the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Comma-separated list to values (roles, scopes).
pub fn split_roles(text: &str) -> Vec<String> {
    text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// A fresh 256-bit random token, base64url.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    B64URL.encode(bytes)
}

/// Compares secrets without revealing where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    let mut routes = login::routes();
    routes.extend(bootstrap::routes());
    routes.extend(account::routes());
    routes.extend(keys::routes());
    routes.extend(users::routes());
    routes.extend(pages::routes());
    routes.extend(users_page::routes());
    routes.extend(oidc::routes());
    routes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_several() {
        let mut headers = HeaderMap::new();
        headers.append("cookie", "a=1; warden_session=abc; b=2".parse().unwrap());
        headers.append("cookie", "warden_device=dev".parse().unwrap());
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, DEVICE_COOKIE), Some("dev"));
        assert_eq!(cookie(&headers, "missing"), None);
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }

    #[test]
    fn tokens_are_random_and_long() {
        let a = random_token();
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_token());
        assert_eq!(split_roles(" admin, ,auditor"), vec!["admin".to_owned(), "auditor".to_owned()]);
    }
}
