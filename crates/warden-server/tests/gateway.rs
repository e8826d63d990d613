//! The gateway area end to end over HTTP: blocks made by automation seen by every instance,
//! lifting, inference-event ingestion into the attack detectors (an extraction attacker among
//! benign clients), ingestion limits, drift reports, and the audit trail of all of it.

mod common;

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use warden_server::actor::Actor;
use warden_server::gateway;

use common::{Client, TestServer};

/// A service account's key with the `read` scope, as an inference gateway holds it.
async fn gateway_key(t: &TestServer, name: &str, scopes: &[&str]) -> String {
    let (id, _) = t.user(name, &["service"]).await;
    t.api_key(&id, scopes).await
}

async fn audit_ops(t: &TestServer, operation: &str) -> Vec<Value> {
    let rows: Vec<String> = sqlx::query_scalar("SELECT data FROM audit_entries ORDER BY seq")
        .fetch_all(&t.server.state.store.read)
        .await
        .unwrap();
    rows.iter()
        .map(|r| serde_json::from_str::<Value>(r).unwrap())
        .filter(|e| e.to_string().contains(&format!("\"{operation}\"")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_by_automation_is_seen_by_another_instance_and_lifting_is_audited() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let deployment = t.asset("deployment", "fraud-endpoint", 1).await;
    let model = t.asset("model", "fraud-model", 1).await;
    let sibling = t.sibling().await;
    let key = gateway_key(&t, "gateway-svc", &["read"]).await;
    let here = Client::with_key(t.url(""), &key);
    let there = Client::with_key(format!("http://{}", sibling.addr), &key);
    let check = format!("/api/v1/gateway/{deployment}/clients/mallory-1");

    // Both instances answer (and cache) "not blocked" first.
    for client in [&here, &there] {
        let (status, body) = client.get(&check).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["blocked"], false);
    }

    let app = &t.server.state;
    let changed = gateway::block_client(app, Actor::System("playbook:extraction-attack"), &deployment, "mallory-1", "extraction attack", Some("inc-1"), false)
        .await
        .unwrap();
    assert!(changed);
    // Idempotent: the second call changes nothing.
    assert!(!gateway::block_client(app, Actor::System("playbook:extraction-attack"), &deployment, "mallory-1", "extraction attack", Some("inc-1"), false).await.unwrap());
    assert!(gateway::is_blocked(app, &deployment, "mallory-1").await.unwrap());

    // The instance that blocked knows at once; the other within two seconds.
    let (_, body) = here.get(&check).await;
    assert_eq!(body["blocked"], true, "{body}");
    let started = Instant::now();
    let seen = loop {
        let (status, body) = there.get(&check).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if body["blocked"] == true {
            break body;
        }
        assert!(started.elapsed() < Duration::from_secs(2), "the second instance did not see the block within two seconds");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(seen["reason"], "extraction attack");
    assert_eq!(seen["incident_id"], "inc-1");
    assert!(seen["since"].as_i64().unwrap() > 0);

    // Only deployments have gateways; unknown ones are 404.
    assert_eq!(here.get(&format!("/api/v1/gateway/{model}/clients/mallory-1")).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(admin.get("/api/v1/gateway/no-such-deployment/clients/mallory-1").await.0, StatusCode::NOT_FOUND);

    // A dry run validates and changes nothing.
    assert!(gateway::block_client(app, Actor::System("playbook:drill"), &deployment, "eve-2", "drill", None, true).await.unwrap());
    assert!(!gateway::is_blocked(app, &deployment, "eve-2").await.unwrap());
    assert!(gateway::block_client(app, Actor::System("playbook:drill"), &model, "eve-2", "drill", None, true).await.is_err());

    // Listing: the block with who made it.
    let (status, blocks) = admin.get(&format!("/api/v1/gateway/{deployment}/blocks")).await;
    assert_eq!(status, StatusCode::OK, "{blocks}");
    assert_eq!(blocks.as_array().unwrap().len(), 1);
    assert_eq!(blocks[0]["blocked_by"], "system:playbook:extraction-attack");
    // The gateway's key may check but not lift.
    let (status, _) = here.json(Method::POST, &format!("{check}/lift"), json!({"reason": "false positive"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Lifting needs a reason, works once, and both instances agree within two seconds.
    let (status, body) = admin.json(Method::POST, &format!("{check}/lift"), json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = admin.json(Method::POST, &format!("{check}/lift"), json!({"reason": "false positive: a load test"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["block"]["lifted_by"], "admin");
    let (status, _) = admin.json(Method::POST, &format!("{check}/lift"), json!({"reason": "again"})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(here.get(&check).await.1["blocked"], false);
    let started = Instant::now();
    while there.get(&check).await.1["blocked"] != false {
        assert!(started.elapsed() < Duration::from_secs(2), "the lift did not reach the second instance");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, history) = admin.get(&format!("/api/v1/gateway/{deployment}/blocks?all=true")).await;
    assert_eq!(history[0]["lift_reason"], "false positive: a load test");
    assert_eq!(history[0]["active"], false);

    // Both changes are in the audit log, the automatic one marked as such.
    let blocked = audit_ops(&t, "gateway.block").await;
    assert!(blocked.iter().any(|e| e.to_string().contains("automatic: playbook:extraction-attack")), "{blocked:?}");
    let lifted = audit_ops(&t, "gateway.lift").await;
    assert!(lifted.iter().any(|e| e.to_string().contains("false positive: a load test")), "{lifted:?}");

    sibling.shutdown().await.unwrap();
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_by_hand_expire_and_name_their_incident() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let deployment = t.asset("deployment", "chat-endpoint", 1).await;
    let path = format!("/api/v1/gateway/{deployment}/blocks");
    let (status, body) = admin.json(Method::POST, &path, json!({"client_id": "bot-7"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a reason is required: {body}");
    let (status, body) = admin.json(Method::POST, &path, json!({"client_id": "bot-7", "reason": "scraping", "expires_in_secs": 1, "incident_id": "inc-9"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["block"]["incident_id"], "inc-9");
    let (status, body) = admin.json(Method::POST, &path, json!({"client_id": "bot-7", "reason": "scraping"})).await;
    assert_eq!(status, StatusCode::OK, "already blocked: {body}");
    assert_eq!(body["changed"], false);
    let check = format!("/api/v1/gateway/{deployment}/clients/bot-7");
    assert_eq!(admin.get(&check).await.1["blocked"], true);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(admin.get(&check).await.1["blocked"], false, "the block expired");
    // Blocking again after expiry opens a new block.
    let (status, body) = admin.json(Method::POST, &path, json!({"client_id": "bot-7", "reason": "scraping again"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, all) = admin.get(&format!("{path}?all=true")).await;
    assert_eq!(all.as_array().unwrap().len(), 2, "{all}");
    let (_, open) = admin.get(&path).await;
    assert_eq!(open.as_array().unwrap().len(), 1);
    assert_eq!(open[0]["reason"], "scraping again");
    let (_, everywhere) = admin.get("/api/v1/gateway/blocks").await;
    assert_eq!(everywhere.as_array().unwrap().len(), 1);
    t.server.shutdown().await.unwrap();
}
