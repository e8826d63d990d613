//! Accounts, API keys and user administration, driven over HTTP against a real server: keys are
//! shown once, stored hashed, scoped, expiring and revocable at once; disabling a user stops their
//! sessions and keys on the next request; the last administrator is protected; the account and
//! users pages work without scripts (TOTP enrolment with a server-rendered QR code).

use crate::common;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use warden_server::identity::{Actor, keys, users};

use common::{Client, TestServer, totp_now};

const PASSWORD: &str = "a long enough password";

/// Creates a user through the API as `admin`; returns the id.
async fn create_user(admin: &Client, username: &str, roles: &[&str], email: Option<&str>) -> String {
    let (status, user) = admin
        .json(Method::POST, "/api/v1/users", json!({"username": username, "password": PASSWORD, "roles": roles, "email": email}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    user["id"].as_str().unwrap().to_owned()
}

/// A signed-in client of an existing user.
async fn signed_in(t: &TestServer, username: &str) -> Client {
    let client = t.client();
    client.login(username, PASSWORD, None).await;
    client
}

/// Creates a key through the API; returns (status, body).
async fn new_key(client: &Client, scopes: &[&str], days: Option<i64>) -> (StatusCode, Value) {
    client.json(Method::POST, "/api/v1/keys", json!({"name": "test key", "scopes": scopes, "expires_in_days": days})).await
}

fn key_client(t: &TestServer, key: &str) -> Client {
    Client::with_key(t.url(""), key)
}

/// Whether an audit entry mentions every one of `needles`.
async fn audited(t: &TestServer, needles: &[&str]) -> bool {
    let rows: Vec<String> = sqlx::query_scalar("SELECT data FROM audit_entries").fetch_all(&t.server.state.store.read).await.unwrap();
    rows.iter().any(|data| needles.iter().all(|n| data.contains(n)))
}

async fn text(client: &Client, path: &str) -> (StatusCode, String) {
    let response = client.request(Method::GET, path).send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

/// Posts a browser form (the CSRF token in the URL, as the pages do) and returns status, the
/// `Location` header and the body.
async fn post_form(client: &Client, path: &str, csrf: &str, form: &[(&str, &str)]) -> (StatusCode, String, String) {
    let sep = if path.contains('?') { '&' } else { '?' };
    let response = client.http.post(format!("{}{path}{sep}csrf={csrf}", client.base)).form(form).send().await.unwrap();
    let location = response.headers().get("location").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (response.status(), location, response.text().await.unwrap())
}

/// The CSRF token a page's forms carry.
fn csrf_of(html: &str) -> String {
    let start = html.find("csrf=").expect("a form with a CSRF token") + 5;
    html[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}

/// The text of the element with `id` (up to the next tag).
fn element_text(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let open = at + html[at..].find('>')? + 1;
    let close = open + html[open..].find('<')?;
    Some(html[open..close].trim().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_key_is_refused_on_the_next_request() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let (status, created) = new_key(&admin, &["read"], Some(30)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let key = created["key"].as_str().unwrap();
    assert!(key.starts_with(&format!("wdn_{}_", created["id"].as_str().unwrap())), "{key}");
    let bot = key_client(&t, key);
    assert_eq!(bot.get("/api/v1/findings").await.0, StatusCode::OK);

    let path = format!("/api/v1/keys/{}", created["id"].as_str().unwrap());
    assert_eq!(admin.json(Method::DELETE, &path, json!({"reason": "leaked in a log"})).await.0, StatusCode::NO_CONTENT);
    assert_eq!(bot.get("/api/v1/findings").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(admin.json(Method::DELETE, &path, Value::Null).await.0, StatusCode::CONFLICT);
    assert!(audited(&t, &["API Key Revoke", "leaked in a log"]).await);
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_key_is_refused() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let (_, created) = new_key(&admin, &["read"], Some(1)).await;
    let bot = key_client(&t, created["key"].as_str().unwrap());
    assert_eq!(bot.get("/api/v1/findings").await.0, StatusCode::OK);
    let expires = created["expires_at"].as_i64().unwrap();
    let day = 86_400_000;
    assert!((expires - created["created_at"].as_i64().unwrap() - day).abs() < 1000, "one day: {created}");
    sqlx::query("UPDATE api_keys SET expires_at = $1 WHERE id = $2")
        .bind(warden_server::store::now_ms() - 1)
        .bind(created["id"].as_str().unwrap())
        .execute(t.server.state.store.writer())
        .await
        .unwrap();
    assert_eq!(bot.get("/api/v1/findings").await.0, StatusCode::UNAUTHORIZED);
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_scopes_are_enforced_and_capped_by_roles() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let (_, read_key) = new_key(&admin, &["read"], Some(30)).await;
    let reader = key_client(&t, read_key["key"].as_str().unwrap());
    let (status, body) = reader.json(Method::POST, "/api/v1/users", json!({"username": "eve", "roles": ["admin"]})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a read key of an administrator cannot create users: {body}");
    // ... nor mint itself a wider key.
    let (status, body) = new_key(&reader, &["admin"], Some(30)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    let (_, admin_key) = new_key(&admin, &["admin"], Some(30)).await;
    let (status, body) = key_client(&t, admin_key["key"].as_str().unwrap())
        .json(Method::POST, "/api/v1/users", json!({"username": "svc-ci", "roles": ["service"]}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "an admin-scoped key can: {body}");

    create_user(&admin, "dana", &["data_scientist"], None).await;
    let dana = signed_in(&t, "dana").await;
    let (status, body) = new_key(&dana, &["admin"], Some(30)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a data scientist's roles do not grant `admin`: {body}");
    assert_eq!(new_key(&dana, &["public"], Some(30)).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(new_key(&dana, &["everything"], Some(30)).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(new_key(&dana, &["read"], None).await.0, StatusCode::BAD_REQUEST, "people's keys expire");
    assert_eq!(new_key(&dana, &["read"], Some(366)).await.0, StatusCode::BAD_REQUEST);
    let (status, body) = new_key(&dana, &["read", "write"], Some(365)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // A service account's key may never expire; an administrator creates it for them.
    let service_id = body_id(&admin.get("/api/v1/users").await.1, "svc-ci");
    let (status, body) = admin
        .json(Method::POST, "/api/v1/keys", json!({"name": "ci", "scopes": ["read", "write"], "user_id": service_id}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["owner"], "svc-ci");
    assert!(body["expires_at"].is_null());
    let service = key_client(&t, body["key"].as_str().unwrap());
    assert_eq!(service.get("/api/v1/findings").await.0, StatusCode::OK);
    // Someone else's account is out of a data scientist's reach.
    let (status, _) = dana.json(Method::POST, "/api/v1/keys", json!({"name": "x", "scopes": ["read"], "user_id": service_id})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    t.server.shutdown().await.unwrap();
}

fn body_id(users: &Value, username: &str) -> String {
    users.as_array().unwrap().iter().find(|u| u["username"] == username).unwrap()["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_secrets_are_shown_once_and_stored_hashed() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    create_user(&admin, "dana", &["data_scientist"], None).await;
    let dana = signed_in(&t, "dana").await;
    let (_, mine) = new_key(&dana, &["read"], Some(30)).await;
    let (_, theirs) = new_key(&admin, &["read"], Some(30)).await;
    // `wdn_<id>_<secret>`: the secret is base64url and may itself contain `_`, so split at the first one after the id.
    let secrets: Vec<String> = [&mine, &theirs]
        .iter()
        .map(|k| k["key"].as_str().unwrap().strip_prefix("wdn_").unwrap().split_once('_').unwrap().1.to_owned())
        .collect();
    assert!(secrets.iter().all(|s| s.len() == 43), "{secrets:?}");

    let (status, listed) = dana.get("/api/v1/keys").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed.as_array().unwrap().len(), 1, "a data scientist sees their own keys: {listed}");
    let (_, all) = admin.get("/api/v1/keys").await;
    let owners: Vec<&str> = all.as_array().unwrap().iter().map(|k| k["owner"].as_str().unwrap()).collect();
    assert!(owners.contains(&"dana") && owners.contains(&"admin"), "{all}");
    for listing in [listed.to_string(), all.to_string(), text(&admin, "/ui/keys").await.1, text(&dana, "/ui/account").await.1] {
        assert!(!listing.contains("\"key\""), "{listing}");
        for secret in &secrets {
            assert!(!listing.contains(secret.as_str()), "a secret was listed");
        }
    }

    if t.server.state.config.database_url().starts_with("sqlite://") {
        let mut bytes = Vec::new();
        for entry in std::fs::read_dir(t.data_dir()).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().unwrap().to_string_lossy().starts_with("warden.db") {
                bytes.extend(std::fs::read(path).unwrap());
            }
        }
        assert!(bytes.len() > 4096);
        for secret in &secrets {
            assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "a key secret is in the database file");
        }
    }
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabling_a_user_stops_their_sessions_and_keys_at_once() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let id = create_user(&admin, "dana", &["data_scientist"], None).await;
    let dana = signed_in(&t, "dana").await;
    let (_, key) = new_key(&dana, &["read"], Some(30)).await;
    let bot = key_client(&t, key["key"].as_str().unwrap());
    assert_eq!(dana.get("/api/v1/me").await.0, StatusCode::OK);
    assert_eq!(bot.get("/api/v1/findings").await.0, StatusCode::OK);

    let (status, user) = admin.json(Method::PATCH, &format!("/api/v1/users/{id}"), json!({"disabled": true, "reason": "left the company"})).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["disabled"], true);
    assert_eq!(dana.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED, "the session ended");
    assert_eq!(bot.get("/api/v1/findings").await.0, StatusCode::UNAUTHORIZED, "the key stopped");
    let (status, _) = t.client().json(Method::POST, "/api/v1/login", json!({"username": "dana", "password": PASSWORD})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(audited(&t, &["Disable", "left the company"]).await);

    let (status, _) = admin.json(Method::PATCH, &format!("/api/v1/users/{id}"), json!({"disabled": false})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bot.get("/api/v1/findings").await.0, StatusCode::OK, "an unrevoked key works again");
    signed_in(&t, "dana").await;
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playbooks_revoke_keys_and_disable_users_without_a_request() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let id = create_user(&admin, "dana", &["data_scientist"], None).await;
    let dana = signed_in(&t, "dana").await;
    let (_, key) = new_key(&dana, &["read"], Some(30)).await;
    let bot = key_client(&t, key["key"].as_str().unwrap());
    let app = &t.server.state;
    assert!(keys::revoke_key(app, Actor::System("playbook:test"), key["id"].as_str().unwrap(), "mass download alert").await.unwrap());
    assert!(!keys::revoke_key(app, Actor::System("playbook:test"), key["id"].as_str().unwrap(), "again").await.unwrap(), "already revoked");
    assert_eq!(bot.get("/api/v1/findings").await.0, StatusCode::UNAUTHORIZED);
    assert!(users::set_disabled(app, Actor::System("playbook:test"), &id, true, "incident 42").await.unwrap());
    assert_eq!(dana.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
    assert!(audited(&t, &["key.revoke", "mass download alert", "\"system\""]).await);
    assert!(audited(&t, &["user.disable", "incident 42"]).await);
    // The last administrator stays, even against the system.
    let admin_id = admin.get("/api/v1/me").await.1["id"].as_str().unwrap().to_owned();
    let err = users::set_disabled(app, Actor::System("playbook:test"), &admin_id, true, "x").await.unwrap_err();
    assert_eq!(err.status(), StatusCode::CONFLICT);
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_change_at_once_and_are_validated() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let id = create_user(&admin, "dana", &["data_scientist"], Some("Dana@Example.com")).await;
    let dana = signed_in(&t, "dana").await;
    assert_eq!(dana.get("/api/v1/users").await.0, StatusCode::FORBIDDEN);
    let path = format!("/api/v1/users/{id}");
    assert_eq!(admin.json(Method::PATCH, &path, json!({"roles": ["root"]})).await.0, StatusCode::BAD_REQUEST);
    let (status, user) = admin.json(Method::PATCH, &path, json!({"roles": ["auditor", "data_scientist"], "display_name": "Dana S."})).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["roles"], json!(["data_scientist", "auditor"]));
    assert_eq!(user["email"], "dana@example.com");
    assert_eq!(user["display_name"], "Dana S.");
    assert_eq!(dana.get("/api/v1/users").await.0, StatusCode::OK, "an auditor lists users");
    let (_, user) = admin.json(Method::PATCH, &path, json!({"roles": ["auditor"]})).await;
    assert_eq!(user["roles"], json!(["auditor"]));
    assert!(audited(&t, &["Attach Policy", "auditor"]).await);
    assert!(audited(&t, &["Detach Policy", "data_scientist"]).await);

    // Duplicates and bad input are refused.
    let (status, _) = admin.json(Method::POST, "/api/v1/users", json!({"username": "dana", "roles": []})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = admin.json(Method::POST, "/api/v1/users", json!({"username": "d2", "roles": [], "email": "dana@example.com"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "emails identify users for single sign-on");
    let (status, _) = admin.json(Method::POST, "/api/v1/users", json!({"username": "x y", "roles": []})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = admin.json(Method::POST, "/api/v1/users", json!({"username": "shorty", "password": "short", "roles": []})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(admin.json(Method::PATCH, "/api/v1/users/nobody", json!({"disabled": true})).await.0, StatusCode::NOT_FOUND);
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_active_administrator_is_protected() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let me = admin.get("/api/v1/me").await.1["id"].as_str().unwrap().to_owned();
    let mine = format!("/api/v1/users/{me}");
    assert_eq!(admin.json(Method::PATCH, &mine, json!({"disabled": true})).await.0, StatusCode::CONFLICT);
    assert_eq!(admin.json(Method::PATCH, &mine, json!({"roles": ["auditor"]})).await.0, StatusCode::CONFLICT);

    let other = create_user(&admin, "second-admin", &["admin"], None).await;
    assert_eq!(admin.json(Method::PATCH, &mine, json!({"disabled": true})).await.0, StatusCode::CONFLICT, "never oneself");
    let (status, _) = admin.json(Method::PATCH, &format!("/api/v1/users/{other}"), json!({"disabled": true})).await;
    assert_eq!(status, StatusCode::OK, "another administrator may be disabled while one remains");
    assert_eq!(admin.json(Method::PATCH, &mine, json!({"roles": ["auditor"]})).await.0, StatusCode::CONFLICT, "the other one is disabled");
    let (status, _) = admin.json(Method::PATCH, &format!("/api/v1/users/{other}"), json!({"disabled": false})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, user) = admin.json(Method::PATCH, &mine, json!({"roles": ["admin", "auditor"]})).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    let (status, user) = admin.json(Method::PATCH, &mine, json!({"roles": ["auditor"]})).await;
    assert_eq!(status, StatusCode::OK, "with another active administrator one may step down: {user}");
    assert_eq!(admin.json(Method::POST, "/api/v1/users", json!({"username": "late", "roles": []})).await.0, StatusCode::FORBIDDEN);
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn administrators_reset_second_factors_and_set_passwords() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let id = create_user(&admin, "dana", &["data_scientist"], None).await;
    let dana = signed_in(&t, "dana").await;
    let (status, enrol) = dana.json(Method::POST, "/api/v1/me/totp", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{enrol}");
    let code = totp_now(enrol["secret"].as_str().unwrap());
    let (status, confirmed) = dana.json(Method::POST, "/api/v1/me/totp/confirm", json!({"code": code})).await;
    assert_eq!(status, StatusCode::OK, "{confirmed}");
    dana.set_csrf(confirmed["csrf_token"].as_str().unwrap());
    assert_eq!(dana.get("/api/v1/me").await.1["totp_enabled"], true);

    let (status, user) = admin.json(Method::POST, &format!("/api/v1/users/{id}/reset-mfa"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["totp_enabled"], false);
    assert_eq!(dana.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED, "sessions end with the reset");
    assert!(audited(&t, &["MFA Factor Disable", "dana"]).await);
    let dana = signed_in(&t, "dana").await;
    assert_eq!(dana.get("/api/v1/me").await.1["totp_enabled"], false, "no code asked until they enrol again");

    let new_password = "a brand new password";
    let path = format!("/api/v1/users/{id}/password");
    assert_eq!(admin.json(Method::POST, &path, json!({"password": "short"})).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(admin.json(Method::POST, &path, json!({"password": new_password})).await.0, StatusCode::NO_CONTENT);
    assert_eq!(dana.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
    let (status, _) = t.client().json(Method::POST, "/api/v1/login", json!({"username": "dana", "password": PASSWORD})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    t.client().login("dana", new_password, None).await;
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totp_enrolment_through_the_account_page() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    create_user(&admin, "dana", &["data_scientist"], None).await;
    let dana = signed_in(&t, "dana").await;
    let (status, page) = text(&dana, "/ui/account").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(element_text(&page, "totp-status").as_deref(), Some("not enrolled"));
    assert_eq!(element_text(&page, "session-mfa").as_deref(), Some("no"));
    let csrf = csrf_of(&page);

    let (status, _, _) = post_form(&dana, "/ui/account/totp", "wrong", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "forms need the session's CSRF token");
    let (status, _, page) = post_form(&dana, "/ui/account/totp", &csrf, &[]).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let secret = element_text(&page, "totp-secret").expect("the seed is shown");
    assert!(page.contains("id=\"totp-qr\"><svg") && page.contains("<path d=\"M"), "a server-rendered QR code");
    assert!(element_text(&page, "totp-uri").unwrap().starts_with("otpauth://totp/"));
    assert!(!text(&dana, "/ui/account").await.1.contains(&secret), "the seed is shown only once");

    let (status, _, page) = post_form(&dana, "/ui/account/totp/confirm", &csrf, &[("code", "000000")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(element_text(&page, "account-error").is_some() && !page.contains(&secret));
    let (status, location, _) = post_form(&dana, "/ui/account/totp/confirm", &csrf, &[("code", &totp_now(&secret))]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.starts_with("/ui/account"), "{location}");
    let (_, page) = text(&dana, "/ui/account").await;
    assert_eq!(element_text(&page, "totp-status").as_deref(), Some("enrolled"));
    assert_eq!(element_text(&page, "session-mfa").as_deref(), Some("yes"), "the replaced session used the factor");
    assert_ne!(csrf_of(&page), csrf, "a new session, a new CSRF token");
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_change_ends_other_sessions() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    create_user(&admin, "dana", &["data_scientist"], None).await;
    let here = signed_in(&t, "dana").await;
    let elsewhere = signed_in(&t, "dana").await;
    let csrf = csrf_of(&text(&here, "/ui/account").await.1);
    let new_password = "another long password";
    let (status, _, page) = post_form(&here, "/ui/account/password", &csrf, &[("current", "wrong one entirely"), ("new", new_password), ("confirm", new_password)]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
    let (status, _, _) = post_form(&here, "/ui/account/password", &csrf, &[("current", PASSWORD), ("new", new_password), ("confirm", "different")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, location, _) = post_form(&here, "/ui/account/password", &csrf, &[("current", PASSWORD), ("new", new_password), ("confirm", new_password)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.starts_with("/ui/account"));
    assert_eq!(here.get("/api/v1/me").await.0, StatusCode::OK, "this session stays");
    assert_eq!(elsewhere.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED, "the other one ended");
    assert!(audited(&t, &["Password Change", "dana"]).await);
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_are_created_and_revoked_on_the_account_page() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    create_user(&admin, "dana", &["data_scientist"], None).await;
    let dana = signed_in(&t, "dana").await;
    let csrf = csrf_of(&text(&dana, "/ui/account").await.1);
    let form = [("name", "notebook"), ("scope", "read"), ("scope", "download"), ("expires_in_days", "30")];
    let (status, _, page) = post_form(&dana, "/ui/account/keys", &csrf, &form).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let key = element_text(&page, "new-api-key").expect("the new key is shown");
    assert!(key.starts_with("wdn_"));
    let bot = key_client(&t, &key);
    assert_eq!(bot.get("/api/v1/findings").await.0, StatusCode::OK);
    let (_, page) = text(&dana, "/ui/account").await;
    assert!(!page.contains(&key) && !page.contains("new-api-key"), "shown once");
    assert!(page.contains("notebook"));

    let (status, _, page) = post_form(&dana, "/ui/account/keys", &csrf, &[("name", "x"), ("scope", "admin"), ("expires_in_days", "30")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(element_text(&page, "account-error").is_some());

    let id = key.split('_').nth(1).unwrap();
    let (status, location, _) = post_form(&dana, &format!("/ui/keys/{id}/revoke"), &csrf, &[("back", "/ui/account")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.starts_with("/ui/account"));
    assert_eq!(bot.get("/api/v1/findings").await.0, StatusCode::UNAUTHORIZED);
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_page_manages_users_and_is_for_administrators() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    for path in ["/ui/account", "/ui/users", "/ui/keys"] {
        assert_eq!(text(&admin, path).await.0, StatusCode::OK, "{path}");
    }
    let (_, page) = text(&admin, "/ui/users").await;
    let csrf = csrf_of(&page);
    let form = [("username", "erin"), ("display_name", "Erin"), ("email", "erin@example.com"), ("password", PASSWORD), ("role", "data_scientist")];
    let (status, location, _) = post_form(&admin, "/ui/users", &csrf, &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.starts_with("/ui/users"));
    let (status, _, page) = post_form(&admin, "/ui/users", &csrf, &form).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(element_text(&page, "users-error").unwrap().contains("erin"));

    let (_, users) = admin.get("/api/v1/users").await;
    let erin = body_id(&users, "erin");
    let erin_client = signed_in(&t, "erin").await;
    for path in ["/ui/users"] {
        assert_eq!(text(&erin_client, path).await.0, StatusCode::FORBIDDEN, "a data scientist may not see {path}");
    }
    assert_eq!(text(&erin_client, "/ui/account").await.0, StatusCode::OK);
    assert_eq!(text(&erin_client, "/ui/keys").await.0, StatusCode::OK);

    let (status, _, _) = post_form(&admin, &format!("/ui/users/{erin}/roles"), &csrf, &[("role", "data_scientist"), ("role", "auditor")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(text(&erin_client, "/ui/users").await.0, StatusCode::OK, "an auditor may read the users page");
    let (status, _, _) = post_form(&admin, &format!("/ui/users/{erin}/disable"), &csrf, &[("reason", "offboarding")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(erin_client.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
    let (_, page) = text(&admin, "/ui/users").await;
    assert!(page.contains("id=\"user-erin\"") && page.contains("<span class=\"quarantined\">disabled</span>"));
    let (status, _, _) = post_form(&admin, &format!("/ui/users/{erin}/enable"), &csrf, &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _, _) = post_form(&admin, &format!("/ui/users/{erin}/password"), &csrf, &[("password", "a third long password")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    t.client().login("erin", "a third long password", None).await;
    let (status, _, _) = post_form(&admin, &format!("/ui/users/{erin}/reset-mfa"), &csrf, &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    t.server.shutdown().await.unwrap();
}
