//! Test support: start a real server (SQLite in a temp dir, or PostgreSQL from warden-testkit),
//! and an HTTP client that keeps cookies and knows its CSRF token.

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
        tweak(&mut config);
        let server = start(config).await.expect("server starts");
        TestServer { server, dir }
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
