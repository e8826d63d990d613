//! Helpers of the playbook tests: webhook targets on a test receiver, signature checks, waiting
//! for runs, and reading incidents and their timelines straight from the database.

#![allow(dead_code)]

use std::time::{Duration, Instant};

use hmac::{KeyInit, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use warden_testkit::webhook::{ReceivedRequest, WebhookReceiver};

use crate::common::{Client, TestServer};

pub use crate::common::{EVIL_PICKLE, benign_pickle};


/// Registers an asset through the API (so it passes the inventory's checks); returns its id.
pub async fn asset(admin: &Client, kind: &str, name: &str, sensitivity: &str) -> String {
    let (status, body) = admin.json(Method::POST, "/api/v1/assets", json!({"kind": kind, "name": name, "sensitivity": sensitivity})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

/// Uploads `bytes` as `version` of model `asset`.
pub async fn upload(client: &Client, asset: &str, version: &str, bytes: &[u8]) -> (StatusCode, Value) {
    let path = format!("/api/v1/models/{asset}/versions?version={version}&filename=model.pkl");
    let response = client.request(Method::POST, &path).body(bytes.to_vec()).send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Creates webhook target `name` posting to `receiver`; returns its secret.
pub async fn webhook(admin: &Client, receiver: &WebhookReceiver, name: &str, max_attempts: i64, backoff_seconds: i64) -> String {
    let body = json!({"name": name, "url": receiver.url(&format!("/hooks/{name}")), "max_attempts": max_attempts, "backoff_seconds": backoff_seconds, "timeout_seconds": 2});
    let (status, created) = admin.json(Method::POST, "/api/v1/webhooks", body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["secret"].as_str().unwrap().to_owned()
}

/// Whether `request` carries a valid signature by `secret` over its timestamp and body.
pub fn signed_by(request: &ReceivedRequest, secret: &str) -> bool {
    let (Some(signature), Some(timestamp)) = (request.header("x-warden-signature"), request.header("x-warden-timestamp")) else { return false };
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(&request.body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    let fresh = timestamp.parse::<i64>().is_ok_and(|ts| (warden_server::store::now_ms() / 1000 - ts).abs() < 300);
    signature == expected && fresh
}

/// Polls `check` every 50 ms until it answers `Some` (or panics after 30 s, saying `what`).
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The runs of `playbook` (newest first).
pub async fn runs_of(admin: &Client, playbook: &str) -> Vec<Value> {
    let (status, runs) = admin.get(&format!("/api/v1/playbook-runs?playbook={playbook}")).await;
    assert_eq!(status, StatusCode::OK, "{runs}");
    runs.as_array().unwrap().clone()
}

/// Waits until `playbook` has a run in `status` and returns it with its steps and journal.
pub async fn run_in(admin: &Client, playbook: &str, status: &str) -> Value {
    run_about(admin, playbook, status, None).await
}

/// [`run_in`] for the run whose incident is about `subject` (when given).
pub async fn run_about(admin: &Client, playbook: &str, status: &str, subject: Option<&str>) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let runs = runs_of(admin, playbook).await;
        if let Some(run) = runs.iter().find(|r| r["status"] == status && subject.is_none_or(|s| r["context"]["subject"] == s)) {
            return detail(admin, run["id"].as_str().unwrap()).await;
        }
        if Instant::now() > deadline {
            let mut details = Vec::new();
            for run in &runs {
                details.push(detail(admin, run["id"].as_str().unwrap()).await);
            }
            panic!("no run of {playbook} in status {status}: {details:#?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A run with its steps and journal.
pub async fn detail(admin: &Client, run_id: &str) -> Value {
    let (status, detail) = admin.get(&format!("/api/v1/playbook-runs/{run_id}")).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    detail
}

/// The statuses of a run's steps, in order.
pub fn step_statuses(detail: &Value) -> Vec<String> {
    detail["steps"].as_array().unwrap().iter().map(|s| s["status"].as_str().unwrap().to_owned()).collect()
}

/// Real (not drill) incidents: (id, status, asset_id, subject).
pub async fn incidents(t: &TestServer) -> Vec<(String, String, Option<String>, String)> {
    sqlx::query_as("SELECT id, status, asset_id, subject FROM incidents WHERE drill = 0 ORDER BY created_at")
        .fetch_all(&t.server.state.store.read)
        .await
        .unwrap()
}

/// The timeline of incident `id`: (kind, text), oldest first.
pub async fn timeline(t: &TestServer, id: &str) -> Vec<(String, String)> {
    sqlx::query_as("SELECT kind, text FROM incident_events WHERE incident_id = $1 ORDER BY ts, id").bind(id).fetch_all(&t.server.state.store.read).await.unwrap()
}

/// Waits until incident `id`'s timeline has an event of `kind`, and returns the timeline.
pub async fn timeline_with(t: &TestServer, id: &str, kind: &str) -> Vec<(String, String)> {
    eventually(&format!("a `{kind}` event on incident {id}"), || async {
        let events = timeline(t, id).await;
        events.iter().any(|(k, _)| k == kind).then_some(events)
    })
    .await
}

/// How many events of `kind` a timeline has.
pub fn count(events: &[(String, String)], kind: &str) -> usize {
    events.iter().filter(|(k, _)| k == kind).count()
}

/// The audit export verifies against the signed checkpoint; returns its text.
pub async fn audit_verifies(admin: &Client) -> String {
    let key = admin.request(Method::GET, "/api/v1/audit/key").send().await.unwrap().text().await.unwrap();
    let verifier = warden_audit::CheckpointVerifier::new(key.trim()).unwrap();
    let note = admin.request(Method::GET, "/api/v1/audit/checkpoint").send().await.unwrap().text().await.unwrap();
    let checkpoint = verifier.verify(note.as_bytes()).unwrap();
    let export = admin.request(Method::GET, "/api/v1/audit/export").send().await.unwrap().bytes().await.unwrap();
    let report = warden_audit::verify_export("export.jsonl", &export[..], &checkpoint, &[], &warden_audit::Limits::default()).unwrap();
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    String::from_utf8(export.to_vec()).unwrap()
}

/// Imports a report with one finding on asset `asset`.
pub async fn import_finding(client: &Client, asset: &str, rule: &str, severity: &str, client_id: Option<&str>) {
    let finding = json!({
        "rule_id": rule, "severity": severity, "title": format!("{rule} finding"), "message": "seen by a test",
        "location": {"path": "report.json", "member": null, "offset": null, "client_id": client_id},
    });
    let (status, body) = client.json(Method::POST, &format!("/api/v1/assets/{asset}/findings"), json!({"findings": [finding]})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// The key id of a `wdn_<id>_<secret>` token.
pub fn key_id(token: &str) -> String {
    token.trim_start_matches("wdn_").split('_').next().unwrap().to_owned()
}

/// A snapshot of everything a playbook could change: versions, freezes, keys, users, blocks,
/// deliveries.
pub async fn real_state(t: &TestServer) -> Vec<String> {
    let store = &t.server.state.store.read;
    let mut rows = Vec::new();
    let versions: Vec<(String, String, i64)> = sqlx::query_as("SELECT id, stage, quarantined FROM model_versions ORDER BY id").fetch_all(store).await.unwrap();
    rows.extend(versions.iter().map(|v| format!("version {v:?}")));
    let assets: Vec<(String, i64)> = sqlx::query_as("SELECT id, frozen FROM assets ORDER BY id").fetch_all(store).await.unwrap();
    rows.extend(assets.iter().map(|a| format!("asset {a:?}")));
    let keys: Vec<(String, Option<i64>)> = sqlx::query_as("SELECT id, revoked_at FROM api_keys ORDER BY id").fetch_all(store).await.unwrap();
    rows.extend(keys.iter().map(|k| format!("key {k:?}")));
    let users: Vec<(String, i64)> = sqlx::query_as("SELECT id, disabled FROM users ORDER BY id").fetch_all(store).await.unwrap();
    rows.extend(users.iter().map(|u| format!("user {u:?}")));
    let blocks: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM gateway_blocks").fetch_one(store).await.unwrap();
    rows.push(format!("blocks {blocks}"));
    let deliveries: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM webhook_deliveries").fetch_one(store).await.unwrap();
    rows.push(format!("deliveries {deliveries}"));
    let findings: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM findings").fetch_one(store).await.unwrap();
    rows.push(format!("findings {findings}"));
    rows
}
