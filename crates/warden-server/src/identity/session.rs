//! Browser sessions: a random token in an `HttpOnly` cookie, its SHA-256 in the `sessions` table
//! with the user, the CSRF token, whether a second factor was used, and an absolute expiry.

use std::net::IpAddr;

use axum::http::HeaderValue;
use sqlx::Row;

use super::{Authenticated, DEVICE_COOKIE, PendingLogin, SESSION_COOKIE, SessionInfo, Via, random_token, sha256_hex, split_roles};
use crate::authz::PrincipalRef;
use crate::error::ApiResult;
use crate::state::AppState;
use crate::store::now_ms;

/// How long a password login may wait for its TOTP code.
const PENDING_TTL_MS: i64 = 5 * 60 * 1000;
/// How long the device cookie lives.
const DEVICE_TTL_S: u64 = 400 * 24 * 3600;

/// What a new session needs to know.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    /// The user.
    pub user_id: &'a str,
    /// `password`, `password+totp` or `oidc`.
    pub method: &'a str,
    /// A second factor or single sign-on was used.
    pub mfa: bool,
    /// Waiting for a TOTP code: not signed in yet.
    pub pending_mfa: bool,
    /// The client address.
    pub ip: IpAddr,
    /// The device cookie (a new one is made when absent).
    pub device_id: Option<&'a str>,
}

/// A created session: the token for the cookie, and the cookies to set.
#[derive(Debug, Clone)]
pub struct CreatedSession {
    /// The session token (only ever in the cookie).
    pub token: String,
    /// The CSRF token of the session.
    pub csrf: String,
    /// The device id in use.
    pub device_id: String,
    /// `Set-Cookie` values to send.
    pub cookies: Vec<HeaderValue>,
}

/// Creates a session row and the cookies that carry it.
pub async fn create(app: &AppState, new: NewSession<'_>) -> ApiResult<CreatedSession> {
    let token = random_token();
    let csrf = random_token();
    let device_id = new.device_id.map_or_else(|| uuid::Uuid::new_v4().simple().to_string(), str::to_owned);
    let now = now_ms();
    let ttl = if new.pending_mfa { PENDING_TTL_MS } else { i64::try_from(app.config.session_ttl.as_millis()).unwrap_or(i64::MAX) };
    sqlx::query(
        "INSERT INTO sessions (id_hash, user_id, csrf, method, mfa, pending_mfa, device_id, ip, created_at, expires_at, last_seen) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(sha256_hex(token.as_bytes()))
    .bind(new.user_id)
    .bind(&csrf)
    .bind(new.method)
    .bind(i64::from(new.mfa))
    .bind(i64::from(new.pending_mfa))
    .bind(&device_id)
    .bind(new.ip.to_string())
    .bind(now)
    .bind(now.saturating_add(ttl))
    .bind(now)
    .execute(app.store.writer())
    .await?;
    let max_age = u64::try_from(ttl / 1000).unwrap_or(0);
    let cookies = vec![cookie_header(app, SESSION_COOKIE, &token, max_age), cookie_header(app, DEVICE_COOKIE, &device_id, DEVICE_TTL_S)];
    Ok(CreatedSession { token, csrf, device_id, cookies })
}

/// Finds the live session for `token`; `None` when unknown, expired or its user is disabled.
pub async fn lookup(app: &AppState, token: &str, device_id: Option<&str>) -> ApiResult<Option<Authenticated>> {
    if token.len() > 64 {
        return Ok(None);
    }
    let id_hash = sha256_hex(token.as_bytes());
    let row = sqlx::query(
        "SELECT s.csrf, s.method, s.mfa, s.pending_mfa, s.expires_at, u.id, u.username, u.roles, u.disabled, \
         (SELECT COUNT(*) FROM known_devices d WHERE d.user_id = u.id AND d.device_id = $2) \
         FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1",
    )
    .bind(&id_hash)
    .bind(device_id.unwrap_or(""))
    .fetch_optional(&app.store.read)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let expires_at: i64 = row.try_get(4)?;
    let disabled: i64 = row.try_get(8)?;
    if expires_at <= now_ms() || disabled != 0 {
        return Ok(None);
    }
    let user_id: String = row.try_get(5)?;
    let pending: i64 = row.try_get(3)?;
    if pending != 0 {
        return Ok(Some(Authenticated {
            principal: PrincipalRef::anonymous(),
            via: Via::Anonymous { pending: Some(PendingLogin { id_hash, user_id }) },
            device_id: device_id.map(str::to_owned),
            device_known: false,
        }));
    }
    let known: i64 = row.try_get(9)?;
    let mfa: i64 = row.try_get(2)?;
    Ok(Some(Authenticated {
        principal: PrincipalRef { id: user_id, name: row.try_get(6)?, roles: split_roles(&row.try_get::<String, _>(7)?) },
        via: Via::Session(SessionInfo { id_hash, csrf: row.try_get(0)?, mfa: mfa != 0, method: row.try_get(1)? }),
        device_id: device_id.map(str::to_owned),
        device_known: known > 0,
    }))
}

/// Ends a session (logout, or a pending login that finished).
pub async fn delete(app: &AppState, id_hash: &str) -> ApiResult<()> {
    sqlx::query("DELETE FROM sessions WHERE id_hash = $1").bind(id_hash).execute(app.store.writer()).await?;
    Ok(())
}

/// Ends every session of a user (disabled, password or second factor changed).
pub async fn delete_all_for_user(app: &AppState, user_id: &str) -> ApiResult<()> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id).execute(app.store.writer()).await?;
    Ok(())
}

/// Remembers that `user_id` signed in from `device_id` and from `ip`'s network; returns whether
/// the device and the network were new (for alerts).
pub async fn remember_device(app: &AppState, user_id: &str, device_id: &str, ip: IpAddr) -> ApiResult<(bool, bool)> {
    let now = now_ms();
    let network = network_of(ip);
    let device_seen: Option<i64> = sqlx::query_scalar("SELECT first_seen FROM known_devices WHERE user_id = $1 AND device_id = $2")
        .bind(user_id)
        .bind(device_id)
        .fetch_optional(app.store.writer())
        .await?;
    let network_seen: Option<i64> = sqlx::query_scalar("SELECT first_seen FROM known_networks WHERE user_id = $1 AND network = $2")
        .bind(user_id)
        .bind(&network)
        .fetch_optional(app.store.writer())
        .await?;
    sqlx::query(
        "INSERT INTO known_devices (user_id, device_id, first_seen, last_seen) VALUES ($1, $2, $3, $3) \
         ON CONFLICT (user_id, device_id) DO UPDATE SET last_seen = $3",
    )
    .bind(user_id)
    .bind(device_id)
    .bind(now)
    .execute(app.store.writer())
    .await?;
    sqlx::query(
        "INSERT INTO known_networks (user_id, network, first_seen, last_seen) VALUES ($1, $2, $3, $3) \
         ON CONFLICT (user_id, network) DO UPDATE SET last_seen = $3",
    )
    .bind(user_id)
    .bind(&network)
    .bind(now)
    .execute(app.store.writer())
    .await?;
    Ok((device_seen.is_none(), network_seen.is_none()))
}

/// The network a login came from: the /24 of an IPv4 address, the /48 of an IPv6 one.
pub fn network_of(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
    }
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Lax`, `Path=/`, and `Secure` where browsers accept it.
pub fn cookie_header(app: &AppState, name: &str, value: &str, max_age_s: u64) -> HeaderValue {
    let secure = if app.secure_cookies() { "; Secure" } else { "" };
    let text = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_s}{secure}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("warden_invalid=1; Max-Age=0"))
}

/// A `Set-Cookie` value that deletes the session cookie.
pub fn clear_session_cookie(app: &AppState) -> HeaderValue {
    cookie_header(app, SESSION_COOKIE, "", 0)
}

/// Loads a user's roles and name, for a session about to be created.
pub async fn user_summary(app: &AppState, user_id: &str) -> ApiResult<Option<(String, Vec<String>)>> {
    let row = sqlx::query("SELECT username, roles FROM users WHERE id = $1 AND disabled = 0")
        .bind(user_id)
        .fetch_optional(&app.store.read)
        .await?;
    Ok(match row {
        Some(row) => Some((row.try_get(0)?, split_roles(&row.try_get::<String, _>(1)?))),
        None => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_are_prefixes() {
        assert_eq!(network_of("203.0.113.77".parse().unwrap()), "203.0.113.0/24");
        assert_eq!(network_of("2001:db8:1:2::5".parse().unwrap()), "2001:db8:1::/48");
    }
}
