//! The model registry over HTTP: uploads are scanned, findings attached and blobs encrypted at
//! rest; downloads stream back the exact bytes; stages, quarantine and rollback keep one good
//! version in production; limits, duplicates, permissions, CSRF and mass-download alerts.

use crate::common;

use std::io::Read;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Row;

use common::{Client, EVIL_PICKLE, TestServer, benign_pickle};

async fn upload(client: &Client, asset: &str, version: &str, filename: &str, bytes: &[u8]) -> (StatusCode, Value) {
    let path = format!("/api/v1/models/{asset}/versions?version={version}&filename={filename}");
    let response = client.request(Method::POST, &path).body(bytes.to_vec()).send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn uploaded(client: &Client, asset: &str, version: &str, bytes: &[u8]) -> Value {
    let (status, body) = upload(client, asset, version, "model.pkl", bytes).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

async fn post(client: &Client, path: &str, body: Value) -> (StatusCode, Value) {
    client.json(Method::POST, path, body).await
}

async fn promote(client: &Client, asset: &str, version: &str, stage: &str) -> (StatusCode, Value) {
    post(client, &format!("/api/v1/models/{asset}/versions/{version}/promote"), json!({"stage": stage, "reason": "test"})).await
}

async fn production(client: &Client, asset: &str) -> Value {
    let (status, detail) = client.get(&format!("/api/v1/models/{asset}/versions")).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    detail["production"].clone()
}

fn tmp_files(t: &TestServer) -> Vec<String> {
    match std::fs::read_dir(t.data_dir().join("tmp")) {
        Ok(entries) => entries.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect(),
        Err(_) => Vec::new(),
    }
}

fn decrypt(t: &TestServer, blob: &[u8]) -> Vec<u8> {
    let identity = t.server.state.keys.blob_identity().clone();
    let decryptor = age::Decryptor::new_buffered(blob).unwrap();
    let mut reader = decryptor.decrypt(std::iter::once(&identity as &dyn age::Identity)).unwrap();
    let mut plain = Vec::new();
    reader.read_to_end(&mut plain).unwrap();
    plain
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn benign_upload_is_clean_encrypted_at_rest_and_downloads_exactly() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let model = t.asset("model", "fraud-detector", 1).await;
    let pickle = benign_pickle();

    let body = uploaded(&admin, &model, "1.0.0", &pickle).await;
    assert_eq!(body["scan_status"], "clean", "{body}");
    assert_eq!(body["format"], "pickle", "{body}");
    assert!(!matches!(body["max_severity"].as_str(), Some("high" | "critical")), "{body}");
    assert_eq!(body["stage"], "development");
    assert_eq!(body["size"], pickle.len());
    let digest = warden_server::identity::sha256_hex(&pickle);
    assert_eq!(body["sha256"], digest.as_str());
    assert!(tmp_files(&t).is_empty(), "plaintext left behind: {:?}", tmp_files(&t));

    // At rest: an age file that does not contain the plaintext and opens with the server identity.
    let id = body["id"].as_str().unwrap();
    let blob = std::fs::read(t.data_dir().join("blobs").join(&model).join(format!("{id}.age"))).unwrap();
    assert!(blob.starts_with(b"age-encryption.org/v1"));
    assert!(!blob.windows(20).any(|w| w == b"warden-benign-marker"), "the blob holds plaintext");
    assert_eq!(decrypt(&t, &blob), pickle);

    // Download: the exact bytes, the original name and the digest.
    let response = admin.request(Method::GET, &format!("/api/v1/models/{model}/versions/1.0.0/download")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-warden-sha256"], digest.as_str());
    let disposition = response.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(disposition.contains("filename=\"model.pkl\""), "{disposition}");
    assert_eq!(response.bytes().await.unwrap().to_vec(), pickle);

    // Reads.
    let (status, list) = admin.get("/api/v1/models").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let entry = list.as_array().unwrap().iter().find(|m| m["id"] == model.as_str()).unwrap();
    assert_eq!(entry["latest"], "1.0.0");
    assert_eq!(entry["versions"], 1);
    assert_eq!(entry["production"], Value::Null);
    let (status, detail) = admin.get(&format!("/api/v1/models/{model}/versions/1.0.0")).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["sha256"], digest.as_str());
    assert!(detail["findings"].as_array().unwrap().iter().all(|f| f["finding"]["severity"] != "critical"));
    let (status, _) = admin.get(&format!("/api/v1/models/{model}/versions/9.9.9")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malicious_pickle_gets_a_critical_finding_on_its_version() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let model = t.asset("model", "sentiment", 1).await;
    let (status, body) = upload(&admin, &model, "2.0.0", "evil.pkl", EVIL_PICKLE).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["scan_status"], "flagged");
    assert_eq!(body["max_severity"], "critical");
    let version_id = body["id"].as_str().unwrap().to_owned();

    let (_, detail) = admin.get(&format!("/api/v1/models/{model}/versions/2.0.0")).await;
    let findings = detail["findings"].as_array().unwrap();
    let critical = findings
        .iter()
        .find(|f| f["finding"]["severity"] == "critical" && f["finding"]["rule_id"].as_str().unwrap().starts_with("pickle."))
        .unwrap_or_else(|| panic!("no critical pickle finding: {detail}"));
    assert_eq!(critical["version_id"], version_id.as_str());
    assert_eq!(critical["asset_id"], model.as_str());
    assert_eq!(critical["source"], "registry_scan");
    assert_eq!(critical["finding"]["location"]["path"], "evil.pkl");

    // The findings are on the asset too, and on the model page.
    let (_, on_asset) = admin.get(&format!("/api/v1/findings?asset={model}&min_severity=critical")).await;
    assert!(!on_asset.as_array().unwrap().is_empty(), "{on_asset}");
    let page = admin.request(Method::GET, &format!("/ui/models/{model}")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("id=\"findings-2.0.0\""), "{page}");
    assert!(page.contains("sev-critical"), "{page}");

    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quarantined_version_cannot_be_downloaded_or_promoted() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let model = t.asset("model", "recommender", 1).await;
    uploaded(&admin, &model, "1.0", &benign_pickle()).await;
    let (status, body) = post(&admin, &format!("/api/v1/models/{model}/versions/1.0/quarantine"), json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a quarantine needs a reason: {body}");
    let (status, body) = post(&admin, &format!("/api/v1/models/{model}/versions/1.0/quarantine"), json!({"reason": "backdoor suspected"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["changed"], true);
    // Again: nothing changes, and it says so.
    let (status, again) = post(&admin, &format!("/api/v1/models/{model}/versions/1.0/quarantine"), json!({"reason": "again"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["changed"], false, "{again}");

    let (status, refused) = admin.get(&format!("/api/v1/models/{model}/versions/1.0/download")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(refused["error"]["message"].as_str().unwrap().contains("backdoor suspected"), "{refused}");
    let page = admin.request(Method::GET, &format!("/ui/models/{model}/versions/1.0/download")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::CONFLICT);
    assert!(page.text().await.unwrap().contains("quarantined"));
    let model_page = admin.request(Method::GET, &format!("/ui/models/{model}")).send().await.unwrap().text().await.unwrap();
    assert!(model_page.contains("id=\"download-refused-1.0\""), "{model_page}");

    for stage in ["staging", "production"] {
        let (status, body) = promote(&admin, &model, "1.0", stage).await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert!(body["error"]["message"].as_str().unwrap().contains("quarantined"), "{body}");
    }

    // Released, it downloads again but stays where it was.
    let (status, body) = post(&admin, &format!("/api/v1/models/{model}/versions/1.0/release"), json!({"reason": "false alarm"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let response = admin.request(Method::GET, &format!("/api/v1/models/{model}/versions/1.0/download")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.bytes().await.unwrap().to_vec(), benign_pickle());
    let (_, detail) = admin.get(&format!("/api/v1/models/{model}/versions/1.0")).await;
    assert_eq!(detail["stage"], "development");
    assert_eq!(detail["quarantined"], false);

    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quarantining_production_rolls_back_to_the_previous_good_version() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let model = t.asset("model", "vision", 1).await;
    for version in ["1", "2", "3"] {
        uploaded(&admin, &model, version, &benign_pickle()).await;
        let (status, body) = promote(&admin, &model, version, "production").await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert_eq!(production(&admin, &model).await, "3");
    let (_, two) = admin.get(&format!("/api/v1/models/{model}/versions/2")).await;
    assert_eq!(two["stage"], "archived", "the displaced version is archived");

    // 2 is bad too, but not in production: production stays.
    let (_, body) = post(&admin, &format!("/api/v1/models/{model}/versions/2/quarantine"), json!({"reason": "poisoned data"})).await;
    assert_eq!(body["production"], "3", "{body}");

    // Quarantining 3 skips the quarantined 2 and restores 1.
    let (status, body) = post(&admin, &format!("/api/v1/models/{model}/versions/3/quarantine"), json!({"reason": "exfiltration hook"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["production"], "1", "{body}");
    assert!(body["message"].as_str().unwrap().contains("rolled back to `1`"), "{body}");
    assert_eq!(production(&admin, &model).await, "1");
    let (_, three) = admin.get(&format!("/api/v1/models/{model}/versions/3")).await;
    assert_eq!(three["stage"], "archived");
    assert_eq!(three["quarantined"], true);

    // Quarantining 1 leaves production empty, and says so.
    let (_, body) = post(&admin, &format!("/api/v1/models/{model}/versions/1/quarantine"), json!({"reason": "same backdoor"})).await;
    assert_eq!(body["production"], Value::Null, "{body}");
    assert!(body["message"].as_str().unwrap().contains("production is now empty"), "{body}");
    assert_eq!(production(&admin, &model).await, Value::Null);

    // Each stage change left a history row.
    let (_, detail) = admin.get(&format!("/api/v1/models/{model}/versions")).await;
    let causes: Vec<&str> = detail["history"].as_array().unwrap().iter().map(|e| e["cause"].as_str().unwrap()).collect();
    assert_eq!(causes.iter().filter(|c| **c == "quarantine").count(), 2, "{causes:?}");
    assert_eq!(causes.iter().filter(|c| **c == "rollback").count(), 1, "{causes:?}");

    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_returns_to_the_previous_production_version_once_per_request() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let model = t.asset("model", "ranker", 1).await;
    let path = format!("/api/v1/models/{model}/rollback");
    let (status, body) = post(&admin, &path, json!({"reason": "nothing yet"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("nothing to roll back"), "{body}");

    for version in ["a", "b", "c"] {
        uploaded(&admin, &model, version, &benign_pickle()).await;
        promote(&admin, &model, version, "production").await;
    }
    let (status, body) = post(&admin, &path, json!({"reason": "latency regression", "from_version": "c"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["production"], "b");
    assert_eq!(body["changed"], true);
    // The same request retried does not roll back twice.
    let (status, body) = post(&admin, &path, json!({"reason": "latency regression", "from_version": "c"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["changed"], false);
    assert_eq!(production(&admin, &model).await, "b");

    let (_, body) = post(&admin, &path, json!({"reason": "b is bad too"})).await;
    assert_eq!(body["production"], "a", "{body}");
    let (status, body) = post(&admin, &path, json!({"reason": "and a?"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("production stays at `a`"), "{body}");
    assert_eq!(production(&admin, &model).await, "a");

    // Promoting again over a rolled-back version chains from the current one.
    promote(&admin, &model, "c", "production").await;
    let (_, body) = post(&admin, &path, json!({})).await;
    assert_eq!(body["production"], "a", "{body}");

    // The audit log has the rollbacks.
    let rows = sqlx::query("SELECT data FROM audit_entries").fetch_all(&t.server.state.store.read).await.unwrap();
    let rollbacks = rows.iter().filter(|r| r.get::<String, _>(0).contains("\"registry.rollback\"") && r.get::<String, _>(0).contains("\"phase\":\"change\"")).count();
    assert_eq!(rollbacks, 3);

    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_promotion_needs_a_security_engineer() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let model = t.asset("model", "churn", 1).await;
    let scientist = t.user("dana", &["data_scientist"]).await.1;
    let engineer = t.user("sam", &["security_engineer"]).await.1;
    uploaded(&scientist, &model, "1.0", &benign_pickle()).await;

    let (status, body) = promote(&scientist, &model, "1.0", "staging").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = promote(&scientist, &model, "1.0", "production").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("registry.promote.production"), "{body}");
    assert_eq!(production(&admin, &model).await, Value::Null);
    let (status, _) = post(&scientist, &format!("/api/v1/models/{model}/versions/1.0/quarantine"), json!({"reason": "x"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, body) = promote(&engineer, &model, "1.0", "production").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(production(&admin, &model).await, "1.0");
    let (status, body) = promote(&engineer, &model, "1.0", "production").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["changed"], false, "promoting twice changes nothing: {body}");

    // Both sub-decisions are in the audit log, the refusal marked as such.
    let rows = sqlx::query("SELECT data FROM audit_entries").fetch_all(&t.server.state.store.read).await.unwrap();
    let decisions: Vec<String> = rows.iter().map(|r| r.get::<String, _>(0)).filter(|d| d.contains("registry.promote.production")).collect();
    assert!(decisions.len() >= 3, "{decisions:?}");
    assert!(decisions.iter().any(|d| d.contains("dana") && d.contains("default-deny")), "{decisions:?}");

    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_over_the_limit_is_refused_and_leaves_no_temp_file() {
    let t = TestServer::with(|c| c.max_upload_bytes = 1024).await;
    let admin = t.admin().await;
    let model = t.asset("model", "big", 1).await;
    let (status, body) = upload(&admin, &model, "1", "big.bin", &vec![7u8; 4096]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("1024 bytes"), "{body}");
    // Through the browser form the size is only known while streaming.
    let (status, text) = multipart_upload(&t, &admin, &model, "1", "big.bin", &vec![7u8; 4096], true).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{text}");
    assert!(tmp_files(&t).is_empty(), "{:?}", tmp_files(&t));
    let (_, detail) = admin.get(&format!("/api/v1/models/{model}/versions")).await;
    assert!(detail["versions"].as_array().unwrap().is_empty(), "{detail}");
    // Just under the limit is fine.
    let (status, body) = upload(&admin, &model, "1", "small.bin", &[7u8; 1024]).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_duplicate_frozen_and_non_model_uploads_are_refused() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let model = t.asset("model", "translator", 1).await;
    uploaded(&admin, &model, "1.2.0", &benign_pickle()).await;
    let (status, body) = upload(&admin, &model, "1.2.0", "model.pkl", &benign_pickle()).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("already has a version `1.2.0`"), "{body}");

    for (version, filename) in [("1%202", "m.bin"), ("", "m.bin"), ("2", "..%2Fetc%2Fpasswd"), ("2", "a..b"), ("2", "")] {
        let (status, body) = upload(&admin, &model, version, filename, b"x").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{version} {filename}: {body}");
    }
    let dataset = t.asset("dataset", "customers", 1).await;
    let (status, body) = upload(&admin, &dataset, "1", "m.bin", b"x").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("not a model"), "{body}");

    sqlx::query("UPDATE assets SET frozen = 1 WHERE id = $1").bind(&model).execute(t.server.state.store.writer()).await.unwrap();
    let (status, body) = upload(&admin, &model, "2", "m.bin", b"x").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["message"], "uploads and promotions of this model are frozen");
    let (status, _) = promote(&admin, &model, "1.2.0", "staging").await;
    assert_eq!(status, StatusCode::CONFLICT);
    // A frozen model can still be quarantined: that is a security action.
    let (status, _) = post(&admin, &format!("/api/v1/models/{model}/versions/1.2.0/quarantine"), json!({"reason": "incident"})).await;
    assert_eq!(status, StatusCode::OK);

    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mass_download_raises_one_alert() {
    let t = TestServer::with(|c| c.alerts.downloads = 5).await;
    let admin = t.admin().await;
    let model = t.asset("model", "llm", 1).await;
    let reader = t.user("eve", &["data_scientist"]).await.1;
    uploaded(&admin, &model, "1", &benign_pickle()).await;
    for _ in 0..20 {
        let response = reader.request(Method::GET, &format!("/api/v1/models/{model}/versions/1/download")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.bytes().await.unwrap().len(), benign_pickle().len());
    }
    let (status, alerts) = admin.get("/api/v1/alerts?rule_id=server.mass-download").await;
    assert_eq!(status, StatusCode::OK, "{alerts}");
    let alerts = alerts.as_array().unwrap();
    assert_eq!(alerts.len(), 1, "one burst is one alert: {alerts:?}");
    assert_eq!(alerts[0]["subject"], "user:eve");
    assert_eq!(alerts[0]["asset_id"], model.as_str());

    t.server.shutdown().await.unwrap();
}

/// Posts a multipart form (`version`, then `file`) to the UI upload route, with or without the
/// CSRF token in the URL; never sends the `x-csrf-token` header.
async fn multipart_upload(t: &TestServer, client: &Client, model: &str, version: &str, filename: &str, bytes: &[u8], with_csrf: bool) -> (StatusCode, String) {
    let boundary = "warden-test-boundary-7d1f";
    let mut body = Vec::new();
    body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"version\"\r\n\r\n{version}\r\n").as_bytes());
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let csrf = client_csrf(client).await;
    let url = if with_csrf { t.url(&format!("/ui/models/{model}/versions?csrf={csrf}")) } else { t.url(&format!("/ui/models/{model}/versions")) };
    let response = client.http.post(url).header("content-type", format!("multipart/form-data; boundary={boundary}")).body(body).send().await.unwrap();
    let status = response.status();
    let location = response.headers().get("location").map(|v| v.to_str().unwrap().to_owned());
    (status, location.unwrap_or(response.text().await.unwrap()))
}

/// The session's CSRF token, read from the upload form on the model page.
async fn client_csrf(client: &Client) -> String {
    let page = client.request(Method::GET, "/ui/models").send().await.unwrap().text().await.unwrap();
    let start = page.find("csrf=").expect("a form with a CSRF token") + 5;
    page[start..].chars().take_while(|c| *c != '"').collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_upload_works_with_a_session_and_csrf_only() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let model = t.asset("model", "speech", 1).await;
    let (status, text) = multipart_upload(&t, &admin, &model, "0.1", "speech.pkl", EVIL_PICKLE, false).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{text}");
    let (status, location) = multipart_upload(&t, &admin, &model, "0.1", "speech.pkl", EVIL_PICKLE, true).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{location}");
    assert!(location.starts_with(&format!("/ui/models/{model}?notice=")), "{location}");
    assert!(location.contains("flagged"), "{location}");

    let (_, detail) = admin.get(&format!("/api/v1/models/{model}/versions/0.1")).await;
    assert_eq!(detail["filename"], "speech.pkl");
    assert_eq!(detail["max_severity"], "critical");
    let page = admin.request(Method::GET, &format!("/ui/models/{model}")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("id=\"upload-form\""));
    assert!(page.contains("id=\"version-0.1\""));

    // Quarantine from the page's form.
    let csrf = client_csrf(&admin).await;
    let response = admin
        .http
        .post(t.url(&format!("/ui/models/{model}/versions/0.1/quarantine?csrf={csrf}")))
        .form(&[("reason", "found by the scanner")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let list = admin.request(Method::GET, "/ui/models").send().await.unwrap().text().await.unwrap();
    assert!(list.contains("1 quarantined"), "{list}");

    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_blob_aborts_the_download() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let model = t.asset("model", "tamper", 1).await;
    let body = uploaded(&admin, &model, "1", &benign_pickle()).await;
    // Anyone who can write the data directory can encrypt another file to the (public) recipient.
    let path = t.data_dir().join("blobs").join(&model).join(format!("{}.age", body["id"].as_str().unwrap()));
    let mut forged = Vec::new();
    let recipient = t.server.state.keys.blob_recipient.clone();
    let encryptor = age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient)).unwrap();
    let mut writer = encryptor.wrap_output(&mut forged).unwrap();
    std::io::Write::write_all(&mut writer, &vec![b'A'; 300_000]).unwrap();
    writer.finish().unwrap();
    std::fs::write(&path, forged).unwrap();

    let response = admin.request(Method::GET, &format!("/api/v1/models/{model}/versions/1/download")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "the check happens while streaming");
    assert!(response.bytes().await.is_err(), "a forged blob must not download as a complete file");

    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_itself_can_quarantine_and_roll_back() {
    use warden_server::registry::{self, Actor};
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let model = t.asset("model", "automated", 1).await;
    for version in ["1", "2"] {
        uploaded(&admin, &model, version, &benign_pickle()).await;
        promote(&admin, &model, version, "production").await;
    }
    let app = &t.server.state;
    let outcome = registry::rollback(app, Actor::System("playbook:test"), &model, Some("2"), "drift alarm").await.unwrap();
    assert_eq!(outcome.production.as_deref(), Some("1"));
    let outcome = registry::quarantine(app, Actor::System("playbook:test"), &model, "1", "incident 42").await.unwrap();
    assert_eq!(outcome.production, None);
    let (_, detail) = admin.get(&format!("/api/v1/models/{model}/versions")).await;
    assert_eq!(detail["history"][0]["actor"], "system:playbook:test");
    let rows = sqlx::query("SELECT data FROM audit_entries").fetch_all(&app.store.read).await.unwrap();
    let system = rows.iter().map(|r| r.get::<String, _>(0)).filter(|d| d.contains("automatic: playbook:test")).count();
    assert_eq!(system, 2);

    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_uploads_stream_past_the_default_body_limit_and_download_exactly() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let model = t.asset("model", "large", 1).await;
    // 17 MiB of varied bytes: above the server's 16 MiB default body limit, many download chunks.
    let bytes: Vec<u8> = (0..17u32 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let (status, body) = upload(&admin, &model, "1", "weights.bin", &bytes).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["size"], bytes.len());
    let (status, location) = multipart_upload(&t, &admin, &model, "2", "weights.bin", &bytes, true).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{location}");
    for version in ["1", "2"] {
        let response = admin.request(Method::GET, &format!("/api/v1/models/{model}/versions/{version}/download")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let got = response.bytes().await.unwrap();
        assert!(got[..] == bytes[..], "version {version}: {} bytes back", got.len());
    }
    assert!(tmp_files(&t).is_empty(), "{:?}", tmp_files(&t));

    t.server.shutdown().await.unwrap();
}
