//! Single sign-on against the test OpenID Connect provider (warden-testkit): the full
//! authorization-code flow with PKCE through the real server, user creation with mapped roles,
//! linking by verified email only, and refusal of every faulty answer.

use crate::common;

use std::collections::BTreeMap;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use warden_server::config::OidcConfig;
use warden_testkit::oidc::{IdTokenFault, OidcProvider, OidcUser};

use common::{Client, TestServer};

fn people() -> Vec<OidcUser> {
    vec![
        OidcUser::new("alice-sub", "alice@example.com").with_name("Alice Liddell").with_groups(["security-engineers"]),
        OidcUser::new("bob-sub", "bob@example.com"),
    ]
}

/// A provider and a server configured to use it.
async fn setup(users: Vec<OidcUser>) -> (OidcProvider, TestServer) {
    let idp = OidcProvider::start(users).expect("provider starts");
    let config = OidcConfig {
        issuer: url::Url::parse(&idp.issuer()).unwrap(),
        client_id: idp.client_id(),
        client_secret: idp.client_secret(),
        display_name: "Test IdP".into(),
        default_roles: vec!["data_scientist".into()],
        group_roles: BTreeMap::from([("security-engineers".to_owned(), "security_engineer".to_owned())]),
    };
    let t = TestServer::with(|c| c.oidc = Some(config)).await;
    idp.set_redirect_uri(t.url("/auth/oidc/callback"));
    (idp, t)
}

fn location(response: &reqwest::Response) -> String {
    response.headers().get("location").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

/// Starts a sign-in in `client` and lets the provider sign in `hint`; returns the callback URL the
/// provider redirected to (not yet visited).
async fn authorize(client: &Client, hint: &str) -> String {
    let start = client.request(Method::GET, "/auth/oidc/start?next=/ui/account").send().await.unwrap();
    assert_eq!(start.status(), StatusCode::SEE_OTHER, "{:?}", start.text().await);
    let mut provider_url = url::Url::parse(&location(&start)).unwrap();
    provider_url.query_pairs_mut().append_pair("login_hint", hint);
    let answer = client.http.get(provider_url).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::FOUND, "{:?}", answer.text().await);
    location(&answer)
}

/// Visits the callback URL; returns status, `Location` and body.
async fn callback(client: &Client, url: &str) -> (StatusCode, String, String) {
    let response = client.http.get(url).send().await.unwrap();
    let status = response.status();
    let target = location(&response);
    (status, target, response.text().await.unwrap())
}

/// A whole sign-in of `hint` in a fresh client; returns the client and who `/api/v1/me` says.
async fn sign_in(t: &TestServer, hint: &str) -> (Client, Value) {
    let client = t.client();
    let url = authorize(&client, hint).await;
    let (status, target, body) = callback(&client, &url).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(target, "/ui/account");
    let (status, me) = client.get("/api/v1/me").await;
    assert_eq!(status, StatusCode::OK, "{me}");
    (client, me)
}

async fn failed_logins(t: &TestServer) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM access_events WHERE kind = 'login_failed'").fetch_one(&t.server.state.store.read).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sso_creates_a_user_with_mapped_roles_and_reuses_it() {
    let (idp, t) = setup(people()).await;
    let login_page = t.client().request(Method::GET, "/login").send().await.unwrap().text().await.unwrap();
    assert!(login_page.contains("Sign in with Test IdP"));

    let (client, me) = sign_in(&t, "alice-sub").await;
    assert_eq!(me["username"], "alice-sub", "the name comes from `preferred_username`");
    assert_eq!(me["roles"], json!(["security_engineer", "data_scientist"]));
    assert_eq!(me["via"], "session");
    assert_eq!(me["mfa"], false, "the provider sent no `amr` naming a second factor");
    let authorize = idp.last_authorize_request().unwrap();
    assert!(authorize.uses_pkce_s256(), "{authorize:?}");
    assert!(authorize.param("nonce").is_some_and(|n| n.len() >= 16));
    assert_eq!(authorize.param("redirect_uri"), Some(t.url("/auth/oidc/callback").as_str()));
    assert!(idp.last_token_request().unwrap().param("code_verifier").is_some());
    // The session can do what a security engineer does.
    assert_eq!(client.get("/api/v1/alerts").await.0, StatusCode::OK);

    let (_, again) = sign_in(&t, "alice-sub").await;
    assert_eq!(again["id"], me["id"], "the second sign-in is the same user");
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&t.server.state.store.read).await.unwrap();
    assert_eq!(users, 1, "one user for two sign-ins");
    let method: String = sqlx::query_scalar("SELECT method FROM sessions WHERE user_id = $1 LIMIT 1")
        .bind(me["id"].as_str().unwrap())
        .fetch_one(&t.server.state.store.read)
        .await
        .unwrap();
    assert_eq!(method, "oidc");
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pre_created_user_is_linked_by_verified_email_only() {
    let mut unverified = OidcUser::new("mallory-sub", "dave@example.com");
    unverified.email_verified = false;
    let carol = OidcUser::new("carol-sub", "Carol@Example.com");
    let (_idp, t) = setup(vec![carol, unverified]).await;
    let admin = t.admin().await;
    let mut ids = Vec::new();
    for (name, email) in [("carol.w", "carol@example.com"), ("dave", "dave@example.com")] {
        let (status, user) = admin.json(Method::POST, "/api/v1/users", json!({"username": name, "roles": ["auditor"], "email": email})).await;
        assert_eq!(status, StatusCode::CREATED, "{user}");
        ids.push(user["id"].as_str().unwrap().to_owned());
    }
    let (_, me) = sign_in(&t, "carol-sub").await;
    assert_eq!(me["id"], ids[0].as_str(), "linked to the pre-created user");
    assert_eq!(me["roles"], json!(["auditor"]), "the administrator's roles, not the SSO defaults");
    let (_, carol) = admin.get(&format!("/api/v1/users/{}", ids[0])).await;
    assert_eq!(carol["oidc_subject"], "carol-sub");

    let (_, me) = sign_in(&t, "mallory-sub").await;
    assert_ne!(me["id"], ids[1].as_str(), "an unverified email never links");
    assert_eq!(me["roles"], json!(["data_scientist"]));
    let (_, dave) = admin.get(&format!("/api/v1/users/{}", ids[1])).await;
    assert!(dave["oidc_subject"].is_null());
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faulty_id_tokens_are_refused() {
    let (idp, t) = setup(people()).await;
    let cases = [
        (IdTokenFault::WrongNonce, "nonce"),
        (IdTokenFault::WrongAudience, "audience"),
        (IdTokenFault::Expired, "xpired"),
        (IdTokenFault::BadSignature, "ignature"),
        (IdTokenFault::WrongIssuer, "ssuer"),
    ];
    for (fault, _) in cases {
        idp.set_fault(Some(fault));
        let client = t.client();
        let url = authorize(&client, "bob-sub").await;
        let before = failed_logins(&t).await;
        let (status, _, body) = callback(&client, &url).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{fault:?}: {body}");
        assert!(body.contains("id=\"login-error\"") && body.contains("Single sign-on failed"), "{fault:?}: {body}");
        assert_eq!(client.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED, "{fault:?} made no session");
        assert_eq!(failed_logins(&t).await, before + 1, "{fault:?} is on record");
    }
    let reasons: Vec<String> = sqlx::query_scalar("SELECT data FROM audit_entries").fetch_all(&t.server.state.store.read).await.unwrap();
    for (fault, needle) in cases {
        assert!(reasons.iter().any(|r| r.contains("ID token refused") && r.contains(needle)), "{fault:?} reason recorded");
    }
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&t.server.state.store.read).await.unwrap();
    assert_eq!(users, 0, "no user was created from a faulty token");
    idp.set_fault(None);
    sign_in(&t, "bob-sub").await;
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_or_foreign_state_is_refused() {
    let (_idp, t) = setup(people()).await;
    let client = t.client();
    let url = authorize(&client, "bob-sub").await;
    // The callback in a browser that did not start the sign-in (login CSRF) is refused ...
    let stranger = t.client();
    let (status, _, body) = callback(&stranger, &url).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("another browser"), "{body}");
    // ... and does not burn the real one.
    let (status, _, body) = callback(&client, &url).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    // Replaying it is refused, even from the same browser with a state cookie forged back in.
    let state = url::Url::parse(&url).unwrap().query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
    let replay = client.http.get(&url).header("cookie", format!("warden_oidc={state}")).send().await.unwrap();
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    assert!(replay.text().await.unwrap().contains("unknown or already used"));
    // A made-up state and a provider error are refused too.
    let (status, _, _) = callback(&t.client(), &t.url("/auth/oidc/callback?code=x&state=nonsense")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let other = t.client();
    let url = authorize(&other, "bob-sub").await;
    let state = url::Url::parse(&url).unwrap().query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
    let denied = t.url(&format!("/auth/oidc/callback?error=access_denied&error_description=user+cancelled&state={state}"));
    let (status, _, body) = callback(&other, &denied).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("access_denied"), "{body}");
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_sso_user_is_refused() {
    let (_idp, t) = setup(people()).await;
    let admin = t.admin().await;
    let (bob, me) = sign_in(&t, "bob-sub").await;
    let path = format!("/api/v1/users/{}", me["id"].as_str().unwrap());
    let (status, _) = admin.json(Method::PATCH, &path, json!({"disabled": true})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bob.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
    let client = t.client();
    let url = authorize(&client, "bob-sub").await;
    let (status, _, body) = callback(&client, &url).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("disabled"));
    assert_eq!(client.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_provider_is_a_clear_error() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let issuer = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let config = OidcConfig {
        issuer: url::Url::parse(&issuer).unwrap(),
        client_id: "warden".into(),
        client_secret: "secret".into(),
        display_name: "Down IdP".into(),
        default_roles: Vec::new(),
        group_roles: BTreeMap::new(),
    };
    let t = TestServer::with(|c| c.oidc = Some(config)).await;
    let response = t.client().request(Method::GET, "/auth/oidc/start").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = response.text().await.unwrap();
    assert!(body.contains("cannot be reached"), "{body}");
    assert_eq!(failed_logins(&t).await, 1);
    t.server.shutdown().await.unwrap();
}
