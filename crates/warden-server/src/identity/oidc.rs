//! OpenID Connect single sign-on: the authorization-code flow with PKCE (S256), `state` and
//! `nonce`, against the provider in [`crate::config::OidcConfig`].
//!
//! `GET /auth/oidc/start` discovers the provider (metadata and keys cached in memory after the
//! first success), stores the login in `oidc_logins` (keyed by the SHA-256 of `state`, with the
//! PKCE verifier sealed by the server key; single use, ten minutes), binds it to the browser with a
//! short cookie, and redirects to the provider. `GET /auth/oidc/callback` consumes the login,
//! exchanges the code, verifies the ID token (signature, issuer, audience, expiry, nonce), then
//! finds the user by issuer and subject ([`super::sso_accounts`]) and opens a session of method
//! `oidc`. Every refusal is a sign-in failure on record (audit log and alert detectors) and a
//! login page that says what went wrong; none is a panic.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, PoisonError};
use std::time::{Duration, Instant};

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AdditionalClaims, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, DiscoveryError, EndpointMaybeSet, EndpointNotSet, EndpointSet, IdToken,
    IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope, TokenResponse as _,
};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::session::{self, NewSession};
use super::sso_accounts::{self, SsoIdentity};
use super::{Via, constant_time_eq, cookie, sha256_hex};
use crate::authz::actions;
use crate::config::OidcConfig;
use crate::error::ApiError;
use crate::gate::Caller;
use crate::routes::Route;
use crate::state::AppState;
use crate::store::now_ms;
use crate::ui::{self, Chrome};

/// How long a started sign-in may take.
const LOGIN_TTL_MS: i64 = 10 * 60 * 1000;
/// The cookie binding a sign-in to the browser that started it (against login CSRF).
const STATE_COOKIE: &str = "warden_oidc";
/// The sealing label of stored PKCE verifiers.
const SEAL_LABEL: &str = "oidc-pkce";
/// How long discovered provider metadata (and its keys) is reused.
const METADATA_TTL: Duration = Duration::from_secs(3600);

/// The relying-party client as built from discovery.
type Client = CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointMaybeSet>;

/// The claims beyond the standard ones that warden reads: the provider's `groups`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct GroupClaims {
    /// A list of strings at most providers; anything else is ignored.
    #[serde(default)]
    groups: Option<serde_json::Value>,
}

impl AdditionalClaims for GroupClaims {}

type WardenIdToken = IdToken<GroupClaims, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>;

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    vec![
        Route::ui(Method::GET, "/auth/oidc/start", actions::AUTH_LOGIN, start),
        Route::ui(Method::GET, "/auth/oidc/callback", actions::AUTH_LOGIN, callback),
    ]
}

/// A refused single sign-on: what the person sees, and what the records say.
#[derive(Debug)]
pub struct SsoFailure {
    /// The error shown on the login page (its status is the response's).
    pub error: ApiError,
    /// The reason on record.
    pub reason: String,
    /// Who it was about, when known (the provider's user name or subject).
    pub username: String,
    /// The matching warden user, when known.
    pub user_id: Option<String>,
}

impl SsoFailure {
    fn new(error: ApiError, reason: impl Into<String>) -> SsoFailure {
        SsoFailure { error, reason: reason.into(), username: "sso".into(), user_id: None }
    }

    fn provider(detail: impl std::fmt::Display) -> SsoFailure {
        SsoFailure::new(
            ApiError::Unavailable("the single sign-on provider cannot be reached or answered wrongly; try again later or sign in with a password".into()),
            format!("provider unavailable: {detail}"),
        )
    }

    fn state(detail: &str) -> SsoFailure {
        SsoFailure::new(ApiError::BadRequest(format!("this sign-in is not valid ({detail}); start again")), format!("bad state: {detail}"))
    }

    fn token(detail: impl std::fmt::Display) -> SsoFailure {
        SsoFailure::new(
            ApiError::Unauthorized("the provider's answer could not be verified; start again, and tell an administrator if it keeps failing".into()),
            format!("ID token refused: {detail}"),
        )
    }
}

impl From<ApiError> for SsoFailure {
    fn from(error: ApiError) -> Self {
        let reason = error.to_string();
        SsoFailure::new(error, reason)
    }
}

impl From<sqlx::Error> for SsoFailure {
    fn from(error: sqlx::Error) -> Self {
        ApiError::from(error).into()
    }
}

static PROVIDERS: LazyLock<Mutex<HashMap<String, (Instant, CoreProviderMetadata)>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// The issuer as configured, then with or without the trailing slash `Url` adds to a bare host
/// (providers differ; discovery insists on the exact string).
fn issuer_candidates(issuer: &url::Url) -> Vec<String> {
    let text = issuer.as_str().to_owned();
    if issuer.path() == "/" && issuer.query().is_none() {
        vec![text.trim_end_matches('/').to_owned(), text]
    } else {
        vec![text]
    }
}

/// The provider's metadata and keys: from the cache, or discovered now.
async fn provider(app: &AppState, config: &OidcConfig) -> Result<CoreProviderMetadata, SsoFailure> {
    let key = config.issuer.as_str().to_owned();
    if let Some((at, metadata)) = PROVIDERS.lock().unwrap_or_else(PoisonError::into_inner).get(&key)
        && at.elapsed() < METADATA_TTL
    {
        return Ok(metadata.clone());
    }
    let mut last = String::new();
    for candidate in issuer_candidates(&config.issuer) {
        let issuer = IssuerUrl::new(candidate).map_err(|e| SsoFailure::provider(format!("issuer URL: {e}")))?;
        match CoreProviderMetadata::discover_async(issuer, &app.http).await {
            Ok(metadata) => {
                PROVIDERS.lock().unwrap_or_else(PoisonError::into_inner).insert(key, (Instant::now(), metadata.clone()));
                return Ok(metadata);
            }
            Err(DiscoveryError::Validation(detail)) => last = detail,
            Err(err) => return Err(SsoFailure::provider(format!("discovery: {}", error_chain(&err)))),
        }
    }
    Err(SsoFailure::provider(format!("discovery: {last}")))
}

/// An error with its sources, for the record.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `<public_url>auth/oidc/callback`, the redirect URI registered at the provider.
pub fn redirect_uri(app: &AppState) -> Result<url::Url, ApiError> {
    app.public_url.join("auth/oidc/callback").map_err(|e| ApiError::Internal(format!("redirect URI: {e}")))
}

fn client(app: &AppState, config: &OidcConfig, metadata: CoreProviderMetadata) -> Result<Client, SsoFailure> {
    let redirect = RedirectUrl::from_url(redirect_uri(app)?);
    Ok(CoreClient::from_provider_metadata(metadata, ClientId::new(config.client_id.clone()), Some(ClientSecret::new(config.client_secret.clone())))
        .set_redirect_uri(redirect))
}

/// `?next=` of the start route.
#[derive(Debug, Default, Deserialize)]
struct StartQuery {
    next: Option<String>,
}

async fn start(State(app): State<AppState>, caller: Caller, Query(q): Query<StartQuery>) -> Response {
    let Some(config) = app.config.oidc.as_ref() else {
        return ui::error_page(&ApiError::NotFound("single sign-on is not configured on this server".into()));
    };
    let next = ui::safe_next(q.next.as_deref().unwrap_or("/"));
    match begin(&app, config, &next).await {
        Ok((target, state)) => {
            let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, target)]).into_response();
            let max_age = u64::try_from(LOGIN_TTL_MS / 1000).unwrap_or(600);
            response.headers_mut().append(header::SET_COOKIE, session::cookie_header(&app, STATE_COOKIE, &state, max_age));
            response
        }
        Err(failure) => refuse(&app, &caller, failure, &next).await,
    }
}

/// Stores a new sign-in and returns the provider URL to send the browser to, and the `state`.
async fn begin(app: &AppState, config: &OidcConfig, next: &str) -> Result<(String, String), SsoFailure> {
    let client = client(app, config, provider(app, config).await?)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    sqlx::query("INSERT INTO oidc_logins (state, nonce, pkce_verifier, next_url, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(sha256_hex(state.secret().as_bytes()))
        .bind(nonce.secret())
        .bind(app.keys.seal(SEAL_LABEL, verifier.secret().as_bytes()))
        .bind(next)
        .bind(now_ms())
        .execute(app.store.writer())
        .await?;
    Ok((url.to_string(), state.secret().clone()))
}

/// The provider's answer.
#[derive(Debug, Default, Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

async fn callback(State(app): State<AppState>, caller: Caller, headers: HeaderMap, Query(q): Query<CallbackQuery>) -> Response {
    let Some(config) = app.config.oidc.as_ref() else {
        return ui::error_page(&ApiError::NotFound("single sign-on is not configured on this server".into()));
    };
    let mut response = match finish(&app, config, &caller, &headers, &q).await {
        Ok((next, cookies)) => {
            let mut response = ui::see_other(&next, None);
            for value in cookies {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            response
        }
        Err(failure) => refuse(&app, &caller, failure, "/").await,
    };
    response.headers_mut().append(header::SET_COOKIE, session::cookie_header(&app, STATE_COOKIE, "", 0));
    response
}

/// The stored half of a sign-in.
struct PendingSso {
    nonce: String,
    verifier: String,
    next: String,
}

/// Consumes the sign-in named by `state` (once: a replay finds nothing).
async fn claim(app: &AppState, headers: &HeaderMap, state: Option<&str>) -> Result<PendingSso, SsoFailure> {
    let state = state.filter(|s| !s.is_empty() && s.len() <= 256).ok_or_else(|| SsoFailure::state("no state"))?;
    let bound = cookie(headers, STATE_COOKIE).is_some_and(|c| constant_time_eq(c.as_bytes(), state.as_bytes()));
    if !bound {
        return Err(SsoFailure::state("it was started in another browser or has expired"));
    }
    let key = sha256_hex(state.as_bytes());
    let row = sqlx::query("SELECT nonce, pkce_verifier, next_url, created_at FROM oidc_logins WHERE state = $1")
        .bind(&key)
        .fetch_optional(app.store.writer())
        .await?
        .ok_or_else(|| SsoFailure::state("unknown or already used"))?;
    let consumed = sqlx::query("DELETE FROM oidc_logins WHERE state = $1").bind(&key).execute(app.store.writer()).await?;
    if consumed.rows_affected() != 1 {
        return Err(SsoFailure::state("already used"));
    }
    if row.try_get::<i64, _>(3)? + LOGIN_TTL_MS < now_ms() {
        return Err(SsoFailure::state("it took longer than ten minutes"));
    }
    let sealed: String = row.try_get(1)?;
    let verifier = app.keys.unseal(SEAL_LABEL, &sealed).map_err(|e| ApiError::Internal(format!("PKCE verifier: {e}")))?;
    let verifier = String::from_utf8(verifier.to_vec()).map_err(|_| ApiError::Internal("PKCE verifier is not text".into()))?;
    Ok(PendingSso { nonce: row.try_get(0)?, verifier, next: ui::safe_next(&row.try_get::<String, _>(2)?) })
}

/// The callback's work: returns where to go and the cookies of the new session.
async fn finish(app: &AppState, config: &OidcConfig, caller: &Caller, headers: &HeaderMap, q: &CallbackQuery) -> Result<(String, Vec<HeaderValue>), SsoFailure> {
    let pending = claim(app, headers, q.state.as_deref()).await?;
    if let Some(error) = &q.error {
        let description = q.error_description.as_deref().unwrap_or("");
        let shown: String = format!("{error} {description}").chars().filter(|c| !c.is_control()).take(200).collect();
        return Err(SsoFailure::new(ApiError::Unauthorized(format!("the provider refused the sign-in: {}", shown.trim())), format!("provider error: {shown}")));
    }
    let code = q.code.as_deref().filter(|c| !c.is_empty()).ok_or_else(|| SsoFailure::state("the provider sent no code"))?;
    let identity = verified_identity(app, config, code, &pending).await?;
    let (user_id, username) = match sso_accounts::resolve(app, config, caller, &identity).await {
        Ok(found) => found,
        Err(failure) => {
            return Err(SsoFailure { username: identity.display_username(), ..failure });
        }
    };
    if let Via::Session(old) = &caller.via {
        session::delete(app, &old.id_hash).await?;
    }
    let new = NewSession { user_id: &user_id, method: "oidc", mfa: identity.mfa, pending_mfa: false, ip: caller.ip, device_id: caller.device_id.as_deref() };
    let created = session::create(app, new).await?;
    crate::alerts::login_succeeded(app, caller, &user_id, &username, "oidc", identity.mfa, &created.device_id).await?;
    Ok((pending.next, created.cookies))
}

/// Exchanges the code (with the PKCE verifier) and verifies the ID token.
async fn verified_identity(app: &AppState, config: &OidcConfig, code: &str, pending: &PendingSso) -> Result<SsoIdentity, SsoFailure> {
    let client = client(app, config, provider(app, config).await?)?;
    let request = client.exchange_code(AuthorizationCode::new(code.to_owned())).map_err(|e| SsoFailure::provider(format!("no token endpoint: {e}")))?;
    let tokens = request.set_pkce_verifier(PkceCodeVerifier::new(pending.verifier.clone())).request_async(&app.http).await.map_err(|err| match err {
        RequestTokenError::ServerResponse(answer) => SsoFailure::token(format!("token endpoint: {answer}")),
        other => SsoFailure::provider(format!("token endpoint: {}", error_chain(&other))),
    })?;
    let raw = tokens.id_token().ok_or_else(|| SsoFailure::token("the token response has no ID token"))?.to_string();
    let id_token: WardenIdToken = raw.parse().map_err(|e| SsoFailure::token(format!("malformed ID token: {e}")))?;
    let claims = id_token.claims(&client.id_token_verifier(), &Nonce::new(pending.nonce.clone())).map_err(|e| {
        if matches!(e, ClaimsVerificationError::SignatureVerification(_)) {
            // The provider may have rotated its keys: discover again next time.
            PROVIDERS.lock().unwrap_or_else(PoisonError::into_inner).remove(config.issuer.as_str());
        }
        SsoFailure::token(error_chain(&e))
    })?;
    let groups = match &claims.additional_claims().groups {
        Some(serde_json::Value::Array(values)) => values.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
        Some(serde_json::Value::String(one)) => vec![one.clone()],
        _ => Vec::new(),
    };
    let amr: Vec<String> = claims.auth_method_refs().map(|refs| refs.iter().map(|r| r.as_str().to_owned()).collect()).unwrap_or_default();
    Ok(SsoIdentity {
        issuer: claims.issuer().as_str().to_owned(),
        subject: claims.subject().as_str().to_owned(),
        email: claims.email().map(|e| e.as_str().to_owned()),
        email_verified: claims.email_verified() == Some(true),
        preferred_username: claims.preferred_username().map(|u| u.as_str().to_owned()),
        name: claims.name().and_then(|n| n.get(None)).map(|n| n.as_str().to_owned()),
        groups,
        mfa: amr_means_mfa(&amr),
    })
}

/// Whether the provider says the person used more than a password (RFC 8176 `amr` values).
pub fn amr_means_mfa(amr: &[String]) -> bool {
    amr.iter().any(|m| matches!(m.as_str(), "mfa" | "otp" | "hwk" | "swk"))
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginAgainPage {
    chrome: Chrome,
    next: String,
    error: Option<String>,
    sso: Option<String>,
}

/// Records a refused sign-in and shows the login page with what went wrong.
async fn refuse(app: &AppState, caller: &Caller, failure: SsoFailure, next: &str) -> Response {
    tracing::warn!(reason = %failure.reason, "single sign-on refused");
    if let Err(err) = crate::alerts::login_failed(app, caller, &failure.username, failure.user_id.as_deref(), &failure.reason).await {
        return ui::error_page(&err);
    }
    let page = LoginAgainPage {
        chrome: Chrome::public("Sign in"),
        next: ui::safe_next(next),
        error: Some(format!("Single sign-on failed: {}", failure.error.public_message())),
        sso: app.config.oidc.as_ref().map(|o| o.display_name.clone()),
    };
    (failure.error.status(), ui::render(&page)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_second_factor_methods_count_as_mfa() {
        let amr = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(amr_means_mfa(&amr(&["pwd", "otp"])));
        assert!(amr_means_mfa(&amr(&["hwk"])));
        assert!(amr_means_mfa(&amr(&["mfa"])));
        assert!(!amr_means_mfa(&amr(&["pwd"])));
        assert!(!amr_means_mfa(&[]));
    }

    #[test]
    fn bare_host_issuers_are_tried_both_ways() {
        let bare = url::Url::parse("http://127.0.0.1:9").unwrap();
        assert_eq!(issuer_candidates(&bare), vec!["http://127.0.0.1:9".to_owned(), "http://127.0.0.1:9/".to_owned()]);
        let realm = url::Url::parse("https://kc.example/realms/ai").unwrap();
        assert_eq!(issuer_candidates(&realm), vec!["https://kc.example/realms/ai".to_owned()]);
    }
}
