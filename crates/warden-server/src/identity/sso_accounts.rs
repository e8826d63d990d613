//! Which warden user a verified single sign-on is: the one linked to the provider's issuer and
//! subject; else a user an administrator pre-created with the same *verified* email and no
//! subject yet (linked now); else a new user with the configured default roles plus the roles the
//! provider's groups map to. An unverified email never links to anyone.

use serde_json::json;
use sqlx::Row;

use super::Actor;
use super::actor;
use super::oidc::SsoFailure;
use super::users::{self, UserRecord};
use crate::audit::Change;
use crate::authz::ROLES;
use crate::config::OidcConfig;
use crate::error::ApiError;
use crate::gate::Caller;
use crate::state::AppState;
use crate::store::now_ms;

/// What a verified ID token says about the person.
#[derive(Debug, Clone, Default)]
pub struct SsoIdentity {
    /// `iss`.
    pub issuer: String,
    /// `sub`.
    pub subject: String,
    /// `email`.
    pub email: Option<String>,
    /// `email_verified` is true.
    pub email_verified: bool,
    /// `preferred_username`.
    pub preferred_username: Option<String>,
    /// `name`.
    pub name: Option<String>,
    /// `groups`.
    pub groups: Vec<String>,
    /// `amr` names a second factor.
    pub mfa: bool,
}

impl SsoIdentity {
    /// The name to put on records about this person.
    pub fn display_username(&self) -> String {
        self.preferred_username.clone().or_else(|| self.email.clone()).unwrap_or_else(|| format!("sso:{}", self.subject))
    }
}

/// The roles a new user gets: the defaults plus every role a group maps to (unknown roles in the
/// configuration are skipped with a warning).
pub fn roles_for(config: &OidcConfig, groups: &[String]) -> Vec<String> {
    let mapped = groups.iter().filter_map(|g| config.group_roles.get(g));
    let mut roles: Vec<String> = Vec::new();
    for role in config.default_roles.iter().chain(mapped) {
        if !ROLES.contains(&role.as_str()) {
            tracing::warn!(%role, "single sign-on configuration names an unknown role; skipped");
        } else if !roles.contains(role) {
            roles.push(role.clone());
        }
    }
    roles.sort_by_key(|r| ROLES.iter().position(|x| x == r));
    roles
}

/// A user name from what the provider says: letters, digits and `._@-`, at most 64.
fn base_username(identity: &SsoIdentity) -> String {
    let clean = |text: &str| -> String { text.chars().filter(|c| c.is_ascii_alphanumeric() || "._@-".contains(*c)).take(64).collect() };
    let from_email = identity.email.as_deref().and_then(|e| e.split('@').next()).map(clean);
    match identity.preferred_username.as_deref().map(clean).filter(|n| n.len() >= 2).or(from_email.filter(|n| n.len() >= 2)) {
        Some(name) => name,
        None => format!("sso-{}", &super::sha256_hex(format!("{}\n{}", identity.issuer, identity.subject).as_bytes())[..12]),
    }
}

/// Finds, links or creates the user for `identity`; returns id and user name. A disabled user is
/// refused (403).
pub async fn resolve(app: &AppState, config: &OidcConfig, caller: &Caller, identity: &SsoIdentity) -> Result<(String, String), SsoFailure> {
    let mut tx = app.store.begin().await.map_err(ApiError::from)?;
    let known = sqlx::query("SELECT id, username, disabled FROM users WHERE oidc_issuer = $1 AND oidc_subject = $2")
        .bind(&identity.issuer)
        .bind(&identity.subject)
        .fetch_optional(&mut *tx)
        .await
        .map_err(ApiError::from)?;
    let email = if identity.email_verified { users::validate_email(identity.email.as_deref()).ok().flatten() } else { None };
    let (id, username, disabled) = if let Some(row) = known {
        (row.try_get::<String, _>(0).map_err(ApiError::from)?, row.try_get::<String, _>(1).map_err(ApiError::from)?, row.try_get::<i64, _>(2).map_err(ApiError::from)? != 0)
    } else if let Some(linked) = link_by_email(app, &mut tx, caller, identity, email.as_deref()).await? {
        linked
    } else {
        let username = free_username(&mut tx, &base_username(identity)).await?;
        let record = UserRecord {
            display_name: identity.name.clone().filter(|n| !n.trim().is_empty()).map_or_else(|| username.clone(), |n| n.chars().take(100).collect()),
            username: username.clone(),
            email,
            password_hash: None,
            roles: roles_for(config, &identity.groups),
            oidc: Some((identity.issuer.clone(), identity.subject.clone())),
        };
        let id = users::insert(app, &mut tx, &Actor::Caller(caller), &record).await?;
        (id, username, false)
    };
    tx.commit().await.map_err(ApiError::from)?;
    if disabled {
        return Err(SsoFailure {
            error: ApiError::Forbidden("this account is disabled; ask an administrator".into()),
            reason: "account disabled".into(),
            username: username.clone(),
            user_id: Some(id),
        });
    }
    Ok((id, username))
}

/// Links the pre-created user with this verified email, if there is exactly one without a subject.
async fn link_by_email(
    app: &AppState,
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    caller: &Caller,
    identity: &SsoIdentity,
    email: Option<&str>,
) -> Result<Option<(String, String, bool)>, SsoFailure> {
    let Some(email) = email else { return Ok(None) };
    let rows = sqlx::query("SELECT id, username, disabled, oidc_subject FROM users WHERE email = $1").bind(email).fetch_all(&mut **tx).await.map_err(ApiError::from)?;
    let [row] = rows.as_slice() else {
        return if rows.is_empty() {
            Ok(None)
        } else {
            Err(ApiError::Conflict(format!("several users have the email `{email}`; ask an administrator to resolve it")).into())
        };
    };
    let id: String = row.try_get(0).map_err(ApiError::from)?;
    let username: String = row.try_get(1).map_err(ApiError::from)?;
    let disabled = row.try_get::<i64, _>(2).map_err(ApiError::from)? != 0;
    if row.try_get::<Option<String>, _>(3).map_err(ApiError::from)?.is_some() {
        return Err(ApiError::Conflict(format!("the user with the email `{email}` is linked to another single sign-on identity; ask an administrator")).into());
    }
    let linked = sqlx::query("UPDATE users SET oidc_issuer = $1, oidc_subject = $2, updated_at = $3 WHERE id = $4 AND oidc_subject IS NULL")
        .bind(&identity.issuer)
        .bind(&identity.subject)
        .bind(now_ms())
        .bind(&id)
        .execute(&mut **tx)
        .await
        .map_err(ApiError::from)?;
    if linked.rows_affected() != 1 {
        return Err(ApiError::Conflict("the account changed during sign-in; start again".into()).into());
    }
    let change = Change::update("user.sso.link", "user", &id)
        .named(&username)
        .detail(json!({"oidc_issuer": identity.issuer, "oidc_subject": identity.subject, "email": email}));
    actor::record_change(app, tx, &Actor::Caller(caller), change).await?;
    Ok(Some((id, username, disabled)))
}

/// `base`, or `base-2`, `base-3`, ... whichever no user has yet.
async fn free_username(tx: &mut sqlx::Transaction<'static, sqlx::Any>, base: &str) -> Result<String, SsoFailure> {
    let base: String = base.chars().take(60).collect();
    for n in 1..=50 {
        let candidate = if n == 1 { base.clone() } else { format!("{base}-{n}") };
        let taken: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE username = $1").bind(&candidate).fetch_one(&mut **tx).await.map_err(ApiError::from)?;
        if taken == 0 {
            return Ok(candidate);
        }
    }
    Err(ApiError::Conflict(format!("no free user name near `{base}`; ask an administrator to create the user")).into())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn config() -> OidcConfig {
        OidcConfig {
            issuer: url::Url::parse("https://idp.example").unwrap(),
            client_id: "warden".into(),
            client_secret: "s".into(),
            display_name: "IdP".into(),
            default_roles: vec!["data_scientist".into()],
            group_roles: BTreeMap::from([
                ("sec".to_owned(), "security_engineer".to_owned()),
                ("bad".to_owned(), "root".to_owned()),
                ("ds".to_owned(), "data_scientist".to_owned()),
            ]),
        }
    }

    #[test]
    fn groups_add_mapped_roles_to_the_defaults() {
        let groups = vec!["sec".to_owned(), "ds".to_owned(), "bad".to_owned(), "other".to_owned()];
        assert_eq!(roles_for(&config(), &groups), vec!["security_engineer".to_owned(), "data_scientist".to_owned()]);
        assert_eq!(roles_for(&config(), &[]), vec!["data_scientist".to_owned()]);
    }

    #[test]
    fn user_names_come_from_the_claims() {
        let mut identity = SsoIdentity { issuer: "i".into(), subject: "s".into(), ..SsoIdentity::default() };
        assert!(base_username(&identity).starts_with("sso-"));
        identity.email = Some("Bob.Smith@example.com".into());
        assert_eq!(base_username(&identity), "Bob.Smith");
        identity.preferred_username = Some("bob smith!".into());
        assert_eq!(base_username(&identity), "bobsmith");
    }
}
