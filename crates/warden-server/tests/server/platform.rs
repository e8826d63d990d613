//! End-to-end: boot the real server and drive it over HTTP — bootstrap, sign-in with a second
//! factor, policies, and the audit log's checkpoints, proofs and export.

use crate::common;

use reqwest::{Method, StatusCode};
use serde_json::json;

use common::{ADMIN_PASSWORD, TestServer, totp_now};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_login_mfa_policies_and_audit() {
    let t = TestServer::sqlite().await;
    let anon = t.client();
    assert_eq!(anon.get("/healthz").await.0, StatusCode::OK);
    assert_eq!(anon.get("/readyz").await.0, StatusCode::OK);
    assert_eq!(anon.get("/api/v1/findings").await.0, StatusCode::UNAUTHORIZED);
    let (status, _) = anon.get("/api/v1/policies").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let admin = t.admin().await;
    let (status, me) = admin.get("/api/v1/me").await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["mfa"], true);
    assert_eq!(me["totp_enabled"], true);

    // The bootstrap token is single use.
    let token = t.server.bootstrap_token.clone().unwrap();
    let (status, _) = anon
        .json(Method::POST, "/api/v1/bootstrap", json!({"token": token, "username": "mallory", "password": "another long password"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Without the second factor the administrator cannot administrate.
    let plain = t.client();
    let (status, _) = plain.json(Method::POST, "/api/v1/login", json!({"username": "admin", "password": ADMIN_PASSWORD})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a TOTP code is required once enrolled");
    let secret = admin.totp_secret.lock().unwrap().clone().unwrap();
    // The code used at enrolment cannot be replayed; wait for the next step.
    let mut code = totp_now(&secret);
    let (mut status, mut body) = plain
        .json(Method::POST, "/api/v1/login", json!({"username": "admin", "password": ADMIN_PASSWORD, "totp": code}))
        .await;
    if status == StatusCode::UNAUTHORIZED {
        tokio::time::sleep(std::time::Duration::from_secs(31)).await;
        code = totp_now(&secret);
        (status, body) = plain
            .json(Method::POST, "/api/v1/login", json!({"username": "admin", "password": ADMIN_PASSWORD, "totp": code}))
            .await;
    }
    assert_eq!(status, StatusCode::OK, "{body}");

    // Policies: a broken set is refused with the reason; a valid one becomes version 1.
    let (status, body) = admin.json(Method::PUT, "/api/v1/policies", json!("permit (principal, action, resource);")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (_, current) = admin.get("/api/v1/policies").await;
    let text = current["text"].as_str().unwrap().to_owned();
    let response = admin.request(Method::PUT, "/api/v1/policies").body(text.clone()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (_, current) = admin.get("/api/v1/policies").await;
    assert_eq!(current["version"], 1);

    // Writes with the session cookie but without the CSRF token are refused.
    let bare = admin.http.put(t.url("/api/v1/policies")).body(text).send().await.unwrap();
    assert_eq!(bare.status(), StatusCode::FORBIDDEN);

    // The audit log: signed checkpoint, proofs, and an export that verifies offline.
    let key = admin.request(Method::GET, "/api/v1/audit/key").send().await.unwrap().text().await.unwrap();
    let verifier = warden_audit::CheckpointVerifier::new(key.trim()).unwrap();
    let note = admin.request(Method::GET, "/api/v1/audit/checkpoint").send().await.unwrap().text().await.unwrap();
    let checkpoint = verifier.verify(note.as_bytes()).expect("the checkpoint is signed by the server key");
    assert!(checkpoint.size > 10, "every decision and change is logged: {}", checkpoint.size);
    let (status, proof) = admin.get(&format!("/api/v1/audit/proof/inclusion?index=0&size={}", checkpoint.size)).await;
    assert_eq!(status, StatusCode::OK, "{proof}");
    let inclusion: warden_audit::InclusionProof = serde_json::from_value(proof["proof"].clone()).unwrap();
    inclusion.verify(&checkpoint.root).expect("entry 0 is in the tree");
    let (status, proof) = admin.get(&format!("/api/v1/audit/proof/consistency?old=1&new={}", checkpoint.size)).await;
    assert_eq!(status, StatusCode::OK, "{proof}");

    let export = admin.request(Method::GET, "/api/v1/audit/export").send().await.unwrap().bytes().await.unwrap();
    let report = warden_audit::verify_export("export.jsonl", &export[..], &checkpoint, &[], &warden_audit::Limits::default()).unwrap();
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    assert!(report.verified_size >= checkpoint.size);

    // Tampering with one entry is pinpointed.
    let mut lines: Vec<String> = String::from_utf8(export.to_vec()).unwrap().lines().map(str::to_owned).collect();
    lines[3] = lines[3].replacen("\"time\":", "\"time\":1", 1);
    let tampered = lines.join("\n") + "\n";
    let report = warden_audit::verify_export("export.jsonl", tampered.as_bytes(), &checkpoint, &[], &warden_audit::Limits::default()).unwrap();
    assert!(report.findings.iter().any(|f| f.location.line == Some(4)), "{:?}", report.findings);

    t.server.shutdown().await.unwrap();
}
