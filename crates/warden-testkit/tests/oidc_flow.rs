//! The OIDC provider driven end to end by the `openidconnect` crate, the relying-party library
//! warden-server uses: discovery, PKCE, code exchange and ID token verification.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdTokenClaims, CoreProviderMetadata, CoreTokenResponse, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthType, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse as _, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse as _,
};
use reqwest::{StatusCode, Url};
use warden_testkit::oidc::{ClientAuth, IdTokenFault, OidcProvider, OidcUser, SigningAlg};

type Client =
    CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointMaybeSet>;

const REDIRECT_URI: &str = "http://127.0.0.1:9/auth/callback";

/// A relying party: the provider, an HTTP client that never follows redirects, and an
/// openidconnect client configured from discovery.
struct RelyingParty {
    idp: OidcProvider,
    http: reqwest::Client,
    client: Client,
}

/// One login in progress.
struct Login {
    auth_url: Url,
    csrf: CsrfToken,
    nonce: Nonce,
    verifier: PkceCodeVerifier,
}

fn users() -> Vec<OidcUser> {
    vec![
        OidcUser::new("alice", "alice@example.com")
            .with_name("Alice Liddell")
            .with_groups(["security-engineers", "auditors"]),
        OidcUser::new("bob", "bob@example.com"),
    ]
}

async fn relying_party() -> RelyingParty {
    let idp = OidcProvider::start(users()).expect("provider starts");
    idp.set_redirect_uri(REDIRECT_URI);
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let issuer = IssuerUrl::new(idp.issuer()).expect("issuer URL");
    let metadata = CoreProviderMetadata::discover_async(issuer, &http).await.expect("discovery");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(idp.client_id()),
        Some(ClientSecret::new(idp.client_secret())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.to_owned()).expect("redirect URL"));
    RelyingParty { idp, http, client }
}

impl RelyingParty {
    fn begin(&self, login_hint: Option<&str>) -> Login {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = self
            .client
            .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
            .add_scope(Scope::new("email".to_owned()))
            .add_scope(Scope::new("profile".to_owned()))
            .set_pkce_challenge(challenge);
        if let Some(hint) = login_hint {
            request = request.add_extra_param("login_hint", hint);
        }
        let (auth_url, csrf, nonce) = request.url();
        Login { auth_url, csrf, nonce, verifier }
    }

    /// Follows the provider's redirect and returns the code, checking `state`.
    async fn authorize(&self, login: &Login) -> AuthorizationCode {
        let query = self.redirect_query(login.auth_url.clone()).await;
        assert_eq!(query_param(&query, "state").as_deref(), Some(login.csrf.secret().as_str()));
        AuthorizationCode::new(query_param(&query, "code").unwrap_or_else(|| panic!("no code in {query}")))
    }

    /// The query of the 302 the provider answers `url` with.
    async fn redirect_query(&self, url: Url) -> Url {
        let response = self.http.get(url).send().await.expect("authorize request");
        assert_eq!(response.status(), StatusCode::FOUND, "{:?}", response.text().await);
        let location = response.headers()["location"].to_str().expect("text").to_owned();
        assert!(location.starts_with(REDIRECT_URI), "{location}");
        Url::parse(&location).expect("location URL")
    }

    async fn exchange(&self, code: AuthorizationCode, verifier: PkceCodeVerifier) -> Result<CoreTokenResponse, String> {
        self.client
            .exchange_code(code)
            .expect("token endpoint discovered")
            .set_pkce_verifier(verifier)
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                openidconnect::RequestTokenError::ServerResponse(response) => response.to_string(),
                other => other.to_string(),
            })
    }

    /// A whole login; the token response and the verified claims.
    async fn login(&self) -> (CoreTokenResponse, Result<CoreIdTokenClaims, ClaimsVerificationError>) {
        let login = self.begin(None);
        let code = self.authorize(&login).await;
        let tokens = self.exchange(code, login.verifier).await.expect("code exchange");
        let id_token = tokens.id_token().expect("an ID token");
        let claims = id_token.claims(&self.client.id_token_verifier(), &login.nonce).cloned();
        (tokens, claims)
    }
}

fn query_param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

fn payload(jwt: &str) -> serde_json::Value {
    let payload = jwt.split('.').nth(1).expect("three parts");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_flow_with_pkce_yields_a_verified_id_token() {
    let rp = relying_party().await;
    let (tokens, claims) = rp.login().await;
    let claims = claims.expect("the ID token verifies");
    assert_eq!(claims.subject().as_str(), "alice");
    assert_eq!(claims.email().map(|e| e.as_str()), Some("alice@example.com"));
    assert_eq!(claims.email_verified(), Some(true));
    assert_eq!(claims.preferred_username().map(|u| u.as_str()), Some("alice"));
    assert_eq!(claims.name().and_then(|n| n.get(None)).map(|n| n.as_str()), Some("Alice Liddell"));

    let id_token = tokens.id_token().expect("ID token");
    let verifier = rp.client.id_token_verifier();
    let expected_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().expect("alg"),
        id_token.signing_key(&verifier).expect("key"),
    )
    .expect("hash");
    assert_eq!(claims.access_token_hash(), Some(&expected_hash));
    assert_eq!(payload(&id_token.to_string())["groups"], serde_json::json!(["security-engineers", "auditors"]));
    assert_eq!(tokens.token_type().as_ref(), "bearer");

    let userinfo: CoreUserInfoClaims = rp
        .client
        .user_info(tokens.access_token().clone(), None)
        .expect("userinfo endpoint discovered")
        .request_async(&rp.http)
        .await
        .expect("userinfo");
    assert_eq!(userinfo.subject().as_str(), "alice");

    let authorize = rp.idp.last_authorize_request().expect("recorded");
    assert!(authorize.uses_pkce_s256(), "{authorize:?}");
    assert_eq!(authorize.param("redirect_uri"), Some(REDIRECT_URI));
    assert_eq!(rp.idp.last_token_request().expect("recorded").client_auth, ClientAuth::Basic);
}

#[tokio::test]
async fn login_hint_chooses_the_user_and_client_secret_post_is_accepted() {
    let mut rp = relying_party().await;
    rp.client = rp.client.set_auth_type(AuthType::RequestBody);
    let login = rp.begin(Some("bob@example.com"));
    let code = rp.authorize(&login).await;
    let tokens = rp.exchange(code, login.verifier).await.expect("exchange");
    let claims =
        tokens.id_token().expect("ID token").claims(&rp.client.id_token_verifier(), &login.nonce).expect("valid");
    assert_eq!(claims.subject().as_str(), "bob");
    let token_request = rp.idp.last_token_request().expect("recorded");
    assert_eq!(token_request.client_auth, ClientAuth::Post);
    assert_eq!(token_request.param("client_secret"), Some(OidcProvider::DEFAULT_CLIENT_SECRET));
}

#[tokio::test]
async fn es256_id_tokens_verify_against_the_published_ec_key() {
    let rp = relying_party().await;
    rp.idp.set_signing_alg(SigningAlg::Es256);
    let (tokens, claims) = rp.login().await;
    claims.expect("ES256 token verifies");
    let header = tokens.id_token().expect("ID token").to_string();
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header.split('.').next().unwrap()).unwrap()).unwrap();
    assert_eq!(header["alg"], "ES256");
}

#[tokio::test]
async fn every_fault_makes_id_token_verification_fail() {
    let rp = relying_party().await;
    for fault in [
        IdTokenFault::WrongAudience,
        IdTokenFault::Expired,
        IdTokenFault::BadSignature,
        IdTokenFault::WrongNonce,
        IdTokenFault::WrongIssuer,
    ] {
        rp.idp.set_fault(Some(fault));
        let (_, claims) = rp.login().await;
        let error = claims.expect_err("a faulty ID token must not verify");
        let expected = match fault {
            IdTokenFault::WrongAudience => matches!(error, ClaimsVerificationError::InvalidAudience(_)),
            IdTokenFault::Expired => matches!(error, ClaimsVerificationError::Expired(_)),
            IdTokenFault::BadSignature => matches!(error, ClaimsVerificationError::SignatureVerification(_)),
            IdTokenFault::WrongNonce => matches!(error, ClaimsVerificationError::InvalidNonce(_)),
            IdTokenFault::WrongIssuer => matches!(error, ClaimsVerificationError::InvalidIssuer(_)),
        };
        assert!(expected, "{fault:?} gave {error:?}");
    }
    rp.idp.set_fault(None);
    rp.login().await.1.expect("well-formed again");
}

#[tokio::test]
async fn a_wrong_pkce_verifier_is_rejected_and_burns_the_code() {
    let rp = relying_party().await;
    let login = rp.begin(None);
    let code = rp.authorize(&login).await;
    let wrong = PkceCodeChallenge::new_random_sha256().1;
    let error = rp.exchange(code.clone(), wrong).await.expect_err("wrong verifier");
    assert!(error.contains("invalid_grant") && error.contains("code_verifier"), "{error}");
    let error = rp.exchange(code, login.verifier).await.expect_err("the code was burned");
    assert!(error.contains("already used"), "{error}");
}

#[tokio::test]
async fn a_code_cannot_be_redeemed_twice_and_reuse_revokes_its_token() {
    let rp = relying_party().await;
    let login = rp.begin(None);
    let code = rp.authorize(&login).await;
    let verifier_secret = login.verifier.secret().clone();
    let tokens = rp.exchange(code.clone(), login.verifier).await.expect("first exchange");
    let userinfo = |token: String| rp.http.get(format!("{}/userinfo", rp.idp.issuer())).bearer_auth(token).send();
    assert_eq!(userinfo(tokens.access_token().secret().clone()).await.unwrap().status(), StatusCode::OK);

    let error = rp.exchange(code, PkceCodeVerifier::new(verifier_secret)).await.expect_err("second exchange");
    assert!(error.contains("invalid_grant"), "{error}");
    let response = userinfo(tokens.access_token().secret().clone()).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers()["www-authenticate"].to_str().unwrap().contains("invalid_token"));
}

#[tokio::test]
async fn an_expired_code_is_rejected() {
    let rp = relying_party().await;
    rp.idp.set_code_lifetime(Duration::ZERO);
    let login = rp.begin(None);
    let code = rp.authorize(&login).await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let error = rp.exchange(code, login.verifier).await.expect_err("expired");
    assert!(error.contains("expired"), "{error}");
}

#[tokio::test]
async fn authorize_redirects_errors_for_requests_a_strict_provider_refuses() {
    let rp = relying_party().await;
    let valid = rp.begin(None).auth_url;
    let cases: [(&str, Option<&str>, &str); 8] = [
        ("code_challenge", None, "invalid_request"),
        ("code_challenge_method", None, "invalid_request"),
        ("code_challenge_method", Some("plain"), "invalid_request"),
        ("nonce", None, "invalid_request"),
        ("state", None, "invalid_request"),
        ("scope", Some("email profile"), "invalid_scope"),
        ("response_type", Some("token"), "unsupported_response_type"),
        ("login_hint", Some("mallory"), "access_denied"),
    ];
    for (name, value, expected) in cases {
        let url = with_param(&valid, name, value);
        let query = rp.redirect_query(url).await;
        assert_eq!(query_param(&query, "error").as_deref(), Some(expected), "{name}={value:?}: {query}");
        assert!(query_param(&query, "code").is_none());
        if name != "state" {
            assert_eq!(query_param(&query, "state"), query_param(&valid, "state"), "errors echo state");
        }
    }
    // No redirect to an unregistered URI or for an unknown client: an error page instead.
    for (name, value) in [("redirect_uri", "http://evil.example/cb"), ("client_id", "someone-else")] {
        let response = rp.http.get(with_param(&valid, name, Some(value))).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{name}");
        assert!(response.headers().get("location").is_none());
    }
    assert_eq!(rp.idp.authorize_requests().len(), 10, "every request is recorded");
}

/// `url` with parameter `name` replaced by `value` (or removed).
fn with_param(url: &Url, name: &str, value: Option<&str>) -> Url {
    let mut pairs: Vec<(String, String)> = url.query_pairs().into_owned().filter(|(k, _)| k != name).collect();
    if let Some(value) = value {
        pairs.push((name.to_owned(), value.to_owned()));
    }
    let mut changed = url.clone();
    changed.query_pairs_mut().clear().extend_pairs(pairs);
    changed
}

#[tokio::test]
async fn the_token_endpoint_authenticates_the_client() {
    let rp = relying_party().await;
    let token_url = format!("{}/token", rp.idp.issuer());
    let form = [("grant_type", "authorization_code"), ("code", "x"), ("redirect_uri", REDIRECT_URI)];
    let client_id = rp.idp.client_id();

    let wrong = rp.http.post(&token_url).basic_auth(&client_id, Some("wrong")).form(&form).send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers().contains_key("www-authenticate"));
    assert_eq!(wrong.json::<serde_json::Value>().await.unwrap()["error"], "invalid_client");

    let anonymous = rp.http.post(&token_url).form(&form).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    let secret = rp.idp.client_secret();
    let mut both = form.to_vec();
    both.push(("client_secret", &secret));
    let both = rp.http.post(&token_url).basic_auth(&client_id, Some(&secret)).form(&both).send().await.unwrap();
    assert_eq!(both.status(), StatusCode::BAD_REQUEST);

    let unknown_code = rp.http.post(&token_url).basic_auth(&client_id, Some(&secret)).form(&form).send().await.unwrap();
    assert_eq!(unknown_code.json::<serde_json::Value>().await.unwrap()["error"], "invalid_grant");
    let auths: Vec<ClientAuth> = rp.idp.token_requests().iter().map(|r| r.client_auth).collect();
    assert_eq!(auths, [ClientAuth::Basic, ClientAuth::None, ClientAuth::Both, ClientAuth::Basic]);
}

#[test]
fn the_blocking_provider_serves_synchronous_tests() {
    let idp = OidcProvider::start_blocking(users()).expect("provider starts");
    assert!(matches!(OidcProvider::start(users()), Err(warden_testkit::Error::NoRuntime)));
    // Any client works; a separate runtime stands in for a synchronous caller here.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let discovery: serde_json::Value =
        runtime.block_on(async { reqwest::get(idp.discovery_url()).await.unwrap().json().await.unwrap() });
    assert_eq!(discovery["issuer"], idp.issuer());
    assert_eq!(discovery["code_challenge_methods_supported"], serde_json::json!(["S256"]));
    drop(idp);
}
