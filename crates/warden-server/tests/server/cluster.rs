//! Several server instances on one database (PostgreSQL in CI: `WARDEN_TEST_DB=postgres`):
//! each sees the others' writes, policies saved on one are enforced by all, and the audit log
//! they append to together stays one consistent, verifiable tree.

use crate::common;

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;

use common::{Client, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_share_state_policies_and_one_audit_log() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let second = t.sibling().await;
    let second_base = format!("http://{}", second.addr);

    // The session made on the first instance is valid on the second (sessions live in the database).
    let admin_b = Client::new(second_base.clone());
    let (status, me) = {
        let url = format!("{second_base}/api/v1/me");
        let response = admin.http.get(url).send().await.unwrap();
        (response.status(), response.json::<serde_json::Value>().await.unwrap())
    };
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["username"], "admin");
    drop(admin_b);

    // A policy saved on the first instance is enforced by the second within seconds.
    let (_, current) = admin.get("/api/v1/policies").await;
    let stricter = current["text"].as_str().unwrap().to_owned()
        + "\n@id(\"no-policy-reads\")\nforbid (principal, action == Warden::Action::\"policy.read\", resource);\n";
    let response = admin.request(Method::PUT, "/api/v1/policies").body(stricter).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut enforced = false;
    for _ in 0..40 {
        let response = admin.http.get(format!("{second_base}/api/v1/policies")).send().await.unwrap();
        if response.status() == StatusCode::FORBIDDEN {
            enforced = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(enforced, "the second instance picked up the new policy version");

    // Both instances append to the audit log at the same time.
    let mut tasks = Vec::new();
    for i in 0..60 {
        let http = admin.http.clone();
        let base = if i % 2 == 0 { t.url("") } else { second_base.clone() };
        tasks.push(tokio::spawn(async move { http.get(format!("{base}/api/v1/me")).send().await.map(|r| r.status()) }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), StatusCode::OK);
    }

    // One tree: the checkpoint either instance serves is signed by the shared key and the export
    // reproduces it, with consecutive sequence numbers from both writers.
    let key = admin.request(Method::GET, "/api/v1/audit/key").send().await.unwrap().text().await.unwrap();
    let verifier = warden_audit::CheckpointVerifier::new(key.trim()).unwrap();
    let note = admin.http.get(format!("{second_base}/api/v1/audit/checkpoint")).send().await.unwrap().text().await.unwrap();
    let checkpoint = verifier.verify(note.as_bytes()).unwrap();
    let export = admin.request(Method::GET, "/api/v1/audit/export").send().await.unwrap().bytes().await.unwrap();
    let report = warden_audit::verify_export("export", &export[..], &checkpoint, &[], &warden_audit::Limits::default()).unwrap();
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    assert!(report.entries >= checkpoint.size && checkpoint.size > 60);

    // Writes on the second instance are visible on the first: failed sign-ins there raise a
    // burst alert that the first instance lists.
    let stranger = Client::new(second_base.clone());
    for _ in 0..5 {
        let (status, _) = stranger.json(Method::POST, "/api/v1/login", json!({"username": "ghost", "password": "wrong password 123"})).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, alerts) = admin.get("/api/v1/alerts").await;
    assert_eq!(status, StatusCode::OK, "{alerts}");
    let alerts = alerts.as_array().unwrap();
    assert!(alerts.iter().any(|a| a["finding"]["rule_id"] == "server.login-burst" && a["subject"] == "user:ghost"), "{alerts:?}");
    second.shutdown().await.unwrap();
    t.server.shutdown().await.unwrap();
}
