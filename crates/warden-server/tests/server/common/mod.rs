//! Test support: start a real server and an HTTP client that keeps cookies and knows its CSRF
//! token. The database is SQLite in a temporary directory, or, with `WARDEN_TEST_DB=postgres`, a
//! fresh database in a throwaway PostgreSQL cluster (warden-testkit): `scripts/test` runs every
//! server test file both ways.

#![allow(dead_code)]

use std::path::PathBuf;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use warden_server::app::{RunningServer, start};
use warden_server::config::ServerConfig;

/// A server under test and its data directory.
pub struct TestServer {
    pub server: RunningServer,
    pub dir: tempfile::TempDir,
}

impl TestServer {
    /// A server on SQLite in a fresh directory.
    pub async fn sqlite() -> TestServer {
        Self::with(|_| {}).await
    }

    /// A server with the config adjusted by `tweak`.
    pub async fn with(tweak: impl FnOnce(&mut ServerConfig)) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), dir.path().join("data"));
        config.database_url = test_database_url();
        tweak(&mut config);
        let server = start(config).await.expect("server starts");
        TestServer { server, dir }
    }

    /// Another server instance on the same database and data directory (a second node behind a
    /// load balancer).
    pub async fn sibling(&self) -> RunningServer {
        let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), self.data_dir());
        config.database_url = Some(self.server.state.config.database_url());
        start(config).await.expect("second instance starts")
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.server.addr, path)
    }

    /// A fresh client with no cookies.
    pub fn client(&self) -> Client {
        Client::new(self.url(""))
    }

    /// Creates the first administrator, enrols their TOTP and returns a client whose session
    /// used the second factor.
    pub async fn admin(&self) -> Client {
        let token = self.server.bootstrap_token.clone().expect("a bootstrap token");
        let client = self.client();
        let (status, body) = client
            .json(Method::POST, "/api/v1/bootstrap", json!({"token": token, "username": "admin", "password": ADMIN_PASSWORD}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        client.login("admin", ADMIN_PASSWORD, None).await;
        let (status, enrol) = client.json(Method::POST, "/api/v1/me/totp", json!({})).await;
        assert_eq!(status, StatusCode::OK, "{enrol}");
        let secret = enrol["secret"].as_str().unwrap().to_owned();
        let code = totp_now(&secret);
        let (status, confirmed) = client.json(Method::POST, "/api/v1/me/totp/confirm", json!({"code": code})).await;
        assert_eq!(status, StatusCode::OK, "{confirmed}");
        client.set_csrf(confirmed["csrf_token"].as_str().unwrap());
        *client.totp_secret.lock().unwrap() = Some(secret);
        client
    }
}

impl TestServer {
    /// Creates a user with `roles` directly in the database (no second factor) and returns their
    /// id and a signed-in client.
    pub async fn user(&self, username: &str, roles: &[&str]) -> (String, Client) {
        let id = uuid::Uuid::now_v7().to_string();
        let hash = warden_server::identity::password::hash(USER_PASSWORD.to_owned()).await.unwrap();
        let now = warden_server::store::now_ms();
        sqlx::query("INSERT INTO users (id, username, display_name, password_hash, roles, created_at, updated_at) VALUES ($1, $2, $2, $3, $4, $5, $5)")
            .bind(&id)
            .bind(username)
            .bind(hash)
            .bind(roles.join(","))
            .bind(now)
            .execute(self.server.state.store.writer())
            .await
            .unwrap();
        let client = self.client();
        client.login(username, USER_PASSWORD, None).await;
        (id, client)
    }

    /// An API key for `user_id` with `scopes`, inserted directly; returns the `wdn_...` token.
    pub async fn api_key(&self, user_id: &str, scopes: &[&str]) -> String {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let secret = warden_server::identity::random_token();
        let now = warden_server::store::now_ms();
        sqlx::query("INSERT INTO api_keys (id, user_id, name, secret_hash, scopes, created_at, expires_at) VALUES ($1, $2, 'test', $3, $4, $5, $6)")
            .bind(&id)
            .bind(user_id)
            .bind(warden_server::identity::sha256_hex(secret.as_bytes()))
            .bind(scopes.join(","))
            .bind(now)
            .bind(now + 3_600_000)
            .execute(self.server.state.store.writer())
            .await
            .unwrap();
        format!("wdn_{id}_{secret}")
    }

    /// Inserts an asset directly and returns its id.
    pub async fn asset(&self, kind: &str, name: &str, sensitivity: i64) -> String {
        let id = uuid::Uuid::now_v7().to_string();
        let now = warden_server::store::now_ms();
        sqlx::query("INSERT INTO assets (id, kind, name, owner, sensitivity, lifecycle, environment, tags, created_at, updated_at) VALUES ($1, $2, $3, 'admin', $4, 'design', 'development', '[]', $5, $5)")
            .bind(&id)
            .bind(kind)
            .bind(name)
            .bind(sensitivity)
            .bind(now)
            .execute(self.server.state.store.writer())
            .await
            .unwrap();
        id
    }

    /// How many entries the audit log holds.
    pub async fn audit_size(&self) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_entries").fetch_one(&self.server.state.store.read).await.unwrap()
    }
}

/// A protocol-2 pickle of `{"warden-benign-marker": 1}`: a clean model file.
pub fn benign_pickle() -> Vec<u8> {
    let key = b"warden-benign-marker";
    let mut bytes = vec![0x80, 0x02, b'}', b'q', 0, b'X'];
    bytes.extend_from_slice(&u32::try_from(key.len()).unwrap().to_le_bytes());
    bytes.extend_from_slice(key);
    bytes.extend_from_slice(&[b'q', 1, b'K', 1, b's', b'.']);
    bytes
}

/// A protocol-0 pickle that calls `os.system("echo pwned")` when loaded.
pub const EVIL_PICKLE: &[u8] = b"cos\nsystem\n(S'echo pwned'\ntR.";

/// The password of users created with [`TestServer::user`].
pub const USER_PASSWORD: &str = "a password for tests";

/// Which database the tests run on: `postgres` when `WARDEN_TEST_DB=postgres`, else SQLite.
pub fn on_postgres() -> bool {
    std::env::var("WARDEN_TEST_DB").is_ok_and(|v| v == "postgres")
}

/// A fresh PostgreSQL database for one server when running on PostgreSQL, `None` for SQLite.
fn test_database_url() -> Option<String> {
    if !on_postgres() {
        return None;
    }
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let cluster = warden_testkit::postgres::PgCluster::shared().expect("WARDEN_TEST_DB=postgres needs PostgreSQL 15 (apt-get install postgresql-15)");
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = format!("t{}_{}_{n}", std::process::id(), uuid::Uuid::new_v4().simple().to_string().get(..8).unwrap_or("x"));
    Some(cluster.new_database(&name).expect("create a test database"))
}

/// The administrator's password in tests.
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

/// The current TOTP code for a base32 seed.
pub fn totp_now(secret_base32: &str) -> String {
    let seed = totp_rs::Secret::Encoded(secret_base32.to_owned()).to_bytes().expect("base32 seed");
    let generator = warden_server::identity::totp::generator(&seed, "test").unwrap();
    generator.generate_current().unwrap()
}

/// An HTTP client with a cookie jar and the session's CSRF token.
pub struct Client {
    pub base: String,
    pub http: reqwest::Client,
    csrf: std::sync::Mutex<String>,
    pub bearer: std::sync::Mutex<Option<String>>,
    pub totp_secret: std::sync::Mutex<Option<String>>,
}

impl Client {
    pub fn new(base: String) -> Client {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Client { base, http, csrf: std::sync::Mutex::new(String::new()), bearer: std::sync::Mutex::new(None), totp_secret: Default::default() }
    }

    /// A client that authenticates with an API key only.
    pub fn with_key(base: String, key: &str) -> Client {
        let client = Client::new(base);
        *client.bearer.lock().unwrap() = Some(key.to_owned());
        client
    }

    pub fn set_csrf(&self, token: &str) {
        *self.csrf.lock().unwrap() = token.to_owned();
    }

    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut builder = self.http.request(method, format!("{}{}", self.base, path));
        let csrf = self.csrf.lock().unwrap().clone();
        if !csrf.is_empty() {
            builder = builder.header("x-csrf-token", csrf);
        }
        if let Some(key) = self.bearer.lock().unwrap().clone() {
            builder = builder.bearer_auth(key);
        }
        builder
    }

    /// Sends JSON (or nothing for GET/DELETE with a null body) and returns status and JSON body
    /// (`Value::Null` when the body is not JSON).
    pub async fn json(&self, method: Method, path: &str, body: Value) -> (StatusCode, Value) {
        let mut builder = self.request(method.clone(), path);
        if !body.is_null() {
            builder = builder.json(&body);
        }
        let response = builder.send().await.expect("request");
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.json(Method::GET, path, Value::Null).await
    }

    /// Signs in through the JSON API and keeps the CSRF token.
    pub async fn login(&self, username: &str, password: &str, totp: Option<&str>) {
        let mut body = json!({"username": username, "password": password});
        if let Some(code) = totp {
            body["totp"] = json!(code);
        }
        let (status, answer) = self.json(Method::POST, "/api/v1/login", body).await;
        assert_eq!(status, StatusCode::OK, "login of {username}: {answer}");
        self.set_csrf(answer["csrf_token"].as_str().unwrap());
    }
}
