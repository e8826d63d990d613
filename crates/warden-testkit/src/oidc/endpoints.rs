//! The provider's HTTP endpoints. Handlers parse the raw query or form themselves so that every
//! malformed request gets an OAuth error (not an extractor rejection) and is still recorded.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use url::{Url, form_urlencoded};

use super::keys::{access_token_hash, pkce_s256, random_token};
use super::{
    AuthorizeRequest, ClientAuth, IdTokenFault, IssuedAccessToken, IssuedCode, OidcUser, ProviderState, Shared,
    SigningAlg, TokenRequest, param,
};

type Params = Vec<(String, String)>;

pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/authorize", get(authorize_get).post(authorize_post))
        .route("/token", post(token))
        .route("/userinfo", get(userinfo).post(userinfo))
        .with_state(shared)
}

async fn discovery(State(shared): State<Arc<Shared>>) -> Response {
    let issuer = &shared.issuer;
    axum::Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [SigningAlg::Rs256.name(), SigningAlg::Es256.name()],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "email", "profile", "groups"],
        "claims_supported": [
            "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash",
            "email", "email_verified", "name", "preferred_username", "groups",
        ],
    }))
    .into_response()
}

async fn jwks(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(shared.keys.published.jwks()).into_response()
}

async fn authorize_get(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Response {
    authorize(&shared, "GET", parse_form(query.unwrap_or_default().as_bytes()))
}

async fn authorize_post(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    authorize(&shared, "POST", parse_form(&body))
}

fn authorize(shared: &Shared, method: &str, params: Params) -> Response {
    let mut state = shared.lock();
    state.authorize_requests.push(AuthorizeRequest { method: method.to_owned(), params: params.clone() });

    // Without a known client and its registered redirect URI there is nowhere safe to send an
    // error (OpenID Connect Core 3.1.2.6): answer here.
    let client_id = single(&params, "client_id");
    if client_id != Some(state.config.client_id.as_str()) {
        return error_page(format!("unknown client_id {client_id:?}"));
    }
    let redirect_uri = single(&params, "redirect_uri");
    if redirect_uri != Some(state.config.redirect_uri.as_str()) {
        return error_page(format!(
            "redirect_uri {redirect_uri:?} is not the registered {:?}",
            state.config.redirect_uri
        ));
    }
    let Ok(redirect_uri) = Url::parse(&state.config.redirect_uri) else {
        return error_page(format!("the registered redirect_uri {:?} is not a URL", state.config.redirect_uri));
    };
    let client_state = param(&params, "state");
    let fail = |error: &str, description: &str| {
        redirect_to(redirect_uri.clone(), &[("error", error), ("error_description", description)], client_state)
    };

    if let Some(name) = repeated(&params) {
        return fail("invalid_request", &format!("parameter {name} is repeated"));
    }
    if param(&params, "response_type") != Some("code") {
        return fail("unsupported_response_type", "only response_type=code is supported");
    }
    let scope = param(&params, "scope").unwrap_or_default();
    if !scope.split(' ').any(|s| s == "openid") {
        return fail("invalid_scope", "scope must include openid");
    }
    let Some(_) = client_state else {
        return fail("invalid_request", "state is required");
    };
    let Some(nonce) = param(&params, "nonce") else {
        return fail("invalid_request", "nonce is required");
    };
    let Some(code_challenge) = param(&params, "code_challenge") else {
        return fail("invalid_request", "code_challenge is required (PKCE)");
    };
    match param(&params, "code_challenge_method") {
        Some("S256") => {}
        Some(other) => {
            return fail("invalid_request", &format!("code_challenge_method {other} is not supported: use S256"));
        }
        None => {
            return fail("invalid_request", "code_challenge_method is required: the default, plain, is not accepted");
        }
    }
    if code_challenge.len() != 43 || !code_challenge.bytes().all(is_base64url) {
        return fail("invalid_request", "code_challenge must be a base64url SHA-256 (43 characters)");
    }
    let user = match param(&params, "login_hint").or(state.config.default_user.as_deref()) {
        None => return fail("login_required", "no login_hint and no default user"),
        Some(hint) => match state.users.iter().find(|u| u.answers_to(hint)) {
            Some(user) => user.clone(),
            None => return fail("access_denied", &format!("no user {hint}")),
        },
    };

    let code = random_token();
    let issued = IssuedCode {
        client_id: state.config.client_id.clone(),
        redirect_uri: state.config.redirect_uri.clone(),
        code_challenge: code_challenge.to_owned(),
        nonce: nonce.to_owned(),
        scope: scope.to_owned(),
        user,
        expires: Instant::now() + state.config.code_lifetime,
        redeemed: false,
        access_token: None,
    };
    state.codes.insert(code.clone(), issued);
    redirect_to(redirect_uri, &[("code", &code)], client_state)
}

async fn token(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let params = parse_form(&body);
    let basic = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Basic "));
    let post_secret = param(&params, "client_secret");
    let client_auth = match (basic, post_secret) {
        (Some(_), Some(_)) => ClientAuth::Both,
        (Some(_), None) => ClientAuth::Basic,
        (None, Some(_)) => ClientAuth::Post,
        (None, None) => ClientAuth::None,
    };
    let mut state = shared.lock();
    state.token_requests.push(TokenRequest { client_auth, params: params.clone() });

    let credentials = match client_auth {
        ClientAuth::Both => return oauth_error("invalid_request", "use one client authentication method, not two"),
        ClientAuth::None => return invalid_client(false, "client authentication is required"),
        ClientAuth::Basic => match basic.and_then(decode_basic) {
            Some(credentials) => credentials,
            None => return invalid_client(true, "malformed Basic credentials"),
        },
        ClientAuth::Post => {
            (param(&params, "client_id").unwrap_or_default().to_owned(), post_secret.unwrap_or_default().to_owned())
        }
    };
    let basic_used = client_auth == ClientAuth::Basic;
    if credentials.0 != state.config.client_id || credentials.1 != state.config.client_secret {
        return invalid_client(basic_used, "unknown client or wrong secret");
    }
    if param(&params, "client_id").is_some_and(|id| id != credentials.0) {
        return oauth_error("invalid_request", "client_id does not match the authenticated client");
    }
    if let Some(name) = repeated(&params) {
        return oauth_error("invalid_request", &format!("parameter {name} is repeated"));
    }
    if param(&params, "grant_type") != Some("authorization_code") {
        return oauth_error("unsupported_grant_type", "only grant_type=authorization_code is supported");
    }
    let Some(code) = param(&params, "code") else {
        return oauth_error("invalid_request", "code is required");
    };
    match exchange(&mut state, &shared, code, &params) {
        Ok(body) => {
            let no_store = [(header::CACHE_CONTROL, "no-store"), (header::PRAGMA, "no-cache")];
            (no_store, axum::Json(body)).into_response()
        }
        Err(description) => oauth_error("invalid_grant", &description),
    }
}

/// Redeems `code`: the `invalid_grant` description on failure.
fn exchange(
    state: &mut ProviderState,
    shared: &Shared,
    code: &str,
    params: &[(String, String)],
) -> Result<Value, String> {
    let Some(issued) = state.codes.get_mut(code) else {
        return Err("unknown authorization code".to_owned());
    };
    if issued.redeemed {
        if let Some(token) = issued.access_token.take() {
            state.access_tokens.remove(&token);
        }
        return Err("authorization code already used; its access token is revoked".to_owned());
    }
    issued.redeemed = true;
    if Instant::now() > issued.expires {
        return Err("authorization code expired".to_owned());
    }
    if issued.client_id != state.config.client_id {
        return Err("authorization code was issued to another client".to_owned());
    }
    if param(params, "redirect_uri") != Some(issued.redirect_uri.as_str()) {
        return Err("redirect_uri does not match the authorization request".to_owned());
    }
    let Some(verifier) = param(params, "code_verifier") else {
        return Err("code_verifier is required (PKCE)".to_owned());
    };
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    if !well_formed || pkce_s256(verifier) != issued.code_challenge {
        return Err("code_verifier does not match the code_challenge".to_owned());
    }

    let access_token = random_token();
    issued.access_token = Some(access_token.clone());
    let (user, nonce, scope) = (issued.user.clone(), issued.nonce.clone(), issued.scope.clone());
    let lifetime = state.config.token_lifetime;
    let id_token = id_token(state, shared, &user, &nonce, &access_token);
    let expires = Instant::now() + lifetime;
    state.access_tokens.insert(access_token.clone(), IssuedAccessToken { user, expires });
    Ok(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": lifetime.as_secs(),
        "id_token": id_token,
        "scope": scope,
    }))
}

fn id_token(state: &ProviderState, shared: &Shared, user: &OidcUser, nonce: &str, access_token: &str) -> String {
    let config = &state.config;
    let fault = config.fault;
    let now = unix_time();
    let (iat, exp) = match fault {
        Some(IdTokenFault::Expired) => (now - 7200, now - 3600),
        _ => (now, now + secs(config.token_lifetime)),
    };
    let mut claims = json!({
        "iss": if fault == Some(IdTokenFault::WrongIssuer) { "http://wrong-issuer.invalid" } else { &shared.issuer },
        "sub": user.sub,
        "aud": if fault == Some(IdTokenFault::WrongAudience) { "another-client" } else { &config.client_id },
        "exp": exp,
        "iat": iat,
        "auth_time": iat,
        "nonce": if fault == Some(IdTokenFault::WrongNonce) { "not-the-nonce-that-was-sent" } else { nonce },
        "email": user.email,
        "email_verified": user.email_verified,
        "name": user.name,
        "preferred_username": user.preferred_username,
        "groups": user.groups,
    });
    claims["at_hash"] = Value::String(access_token_hash(access_token));
    let keys = &shared.keys;
    let signer = if fault == Some(IdTokenFault::BadSignature) { keys.impostor } else { &keys.published };
    signer.sign(config.alg, &claims, &keys.published)
}

async fn userinfo(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let bearer =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    let state = shared.lock();
    let user = bearer
        .and_then(|token| state.access_tokens.get(token))
        .filter(|issued| Instant::now() < issued.expires)
        .map(|issued| &issued.user);
    let Some(user) = user else {
        let challenge = if bearer.is_some() { r#"Bearer error="invalid_token""# } else { "Bearer" };
        return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, challenge)]).into_response();
    };
    axum::Json(json!({
        "sub": user.sub,
        "email": user.email,
        "email_verified": user.email_verified,
        "name": user.name,
        "preferred_username": user.preferred_username,
        "groups": user.groups,
    }))
    .into_response()
}

fn parse_form(bytes: &[u8]) -> Params {
    form_urlencoded::parse(bytes).into_owned().collect()
}

/// The value of a parameter that must appear exactly once.
fn single<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    let mut values = params.iter().filter(|(k, _)| k == name);
    match (values.next(), values.next()) {
        (Some((_, value)), None) => Some(value),
        _ => None,
    }
}

/// The first parameter that appears twice (RFC 6749 3.1: parameters must not be repeated).
fn repeated(params: &[(String, String)]) -> Option<&str> {
    params
        .iter()
        .enumerate()
        .find(|(i, (k, _))| params[..*i].iter().any(|(seen, _)| seen == k))
        .map(|(_, (k, _))| k.as_str())
}

/// `client_secret_basic`: base64 of `form-urlencoded(id):form-urlencoded(secret)`.
fn decode_basic(encoded: &str) -> Option<(String, String)> {
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((form_decode(id), form_decode(secret)))
}

fn form_decode(component: &str) -> String {
    let mut decoded = String::new();
    for (key, value) in form_urlencoded::parse(format!("v={}", component.replace('&', "%26")).as_bytes()) {
        if key == "v" {
            decoded = value.into_owned();
        }
    }
    decoded
}

fn is_base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

fn redirect_to(mut target: Url, pairs: &[(&str, &str)], state: Option<&str>) -> Response {
    {
        let mut query = target.query_pairs_mut();
        for (key, value) in pairs {
            query.append_pair(key, value);
        }
        if let Some(state) = state {
            query.append_pair("state", state);
        }
    }
    let location = HeaderValue::from_str(target.as_str()).unwrap_or(HeaderValue::from_static("/"));
    (StatusCode::FOUND, [(header::LOCATION, location), (header::CACHE_CONTROL, HeaderValue::from_static("no-store"))])
        .into_response()
}

fn error_page(message: String) -> Response {
    (StatusCode::BAD_REQUEST, format!("warden-testkit OIDC provider: {message}\n")).into_response()
}

fn oauth_error(error: &str, description: &str) -> Response {
    let body = json!({ "error": error, "error_description": description });
    (StatusCode::BAD_REQUEST, [(header::CACHE_CONTROL, "no-store")], axum::Json(body)).into_response()
}

fn invalid_client(basic_used: bool, description: &str) -> Response {
    let mut response = oauth_error("invalid_client", description);
    *response.status_mut() = StatusCode::UNAUTHORIZED;
    if basic_used {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(r#"Basic realm="warden-testkit""#));
    }
    response
}

fn unix_time() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, secs)
}

fn secs(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn repeated_parameters_are_found() {
        assert_eq!(repeated(&params(&[("a", "1"), ("b", "2"), ("a", "3")])), Some("a"));
        assert_eq!(repeated(&params(&[("a", "1"), ("b", "2")])), None);
        assert_eq!(single(&params(&[("a", "1"), ("a", "1")]), "a"), None);
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let header = STANDARD.encode("my%20client:s%3Acret+x%26y");
        assert_eq!(decode_basic(&header), Some(("my client".to_owned(), "s:cret x&y".to_owned())));
        assert_eq!(decode_basic("%%%"), None);
    }

    #[test]
    fn redirects_keep_the_registered_query_and_append_state() {
        let target = Url::parse("http://127.0.0.1:1/cb?tenant=a").unwrap();
        let response = redirect_to(target, &[("code", "c1")], Some("s 1"));
        assert_eq!(response.status(), StatusCode::FOUND);
        assert_eq!(response.headers()[header::LOCATION], "http://127.0.0.1:1/cb?tenant=a&code=c1&state=s+1");
    }
}
