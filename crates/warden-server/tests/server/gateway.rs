//! The gateway area end to end over HTTP: blocks made by automation seen by every instance,
//! lifting, inference-event ingestion into the attack detectors (an extraction attacker among
//! benign clients), ingestion limits, drift reports, and the audit trail of all of it.

use crate::common;

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use warden_monitor::detect::{Event, Input};
use warden_monitor::traffic::{ClientKind, event_json, generate};
use warden_server::actor::Actor;
use warden_server::gateway;

use common::{Client, TestServer};

/// A service account's key with the `read` scope, as an inference gateway holds it.
async fn gateway_key(t: &TestServer, name: &str, scopes: &[&str]) -> String {
    let (id, _) = t.user(name, &["service"]).await;
    t.api_key(&id, scopes).await
}

/// The audit entries of state changes named `operation` (not the gate's decisions).
async fn audit_ops(t: &TestServer, operation: &str) -> Vec<Value> {
    let rows: Vec<String> = sqlx::query_scalar("SELECT data FROM audit_entries ORDER BY seq")
        .fetch_all(&t.server.state.store.read)
        .await
        .unwrap();
    rows.iter()
        .map(|r| serde_json::from_str::<Value>(r).unwrap())
        .filter(|e| e.to_string().contains(&format!("\"{operation}\"")) && !e.to_string().contains("\"phase\":\"authorization\""))
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

    // The instance that blocked knows at once; the other once its cached answer (1 s) expires.
    // The test allows 5 s: CI machines are slow and shared.
    let (_, body) = here.get(&check).await;
    assert_eq!(body["blocked"], true, "{body}");
    let started = Instant::now();
    let seen = loop {
        let (status, body) = there.get(&check).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if body["blocked"] == true {
            break body;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "the second instance did not see the block within five seconds");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(seen["reason"], "extraction attack");
    assert_eq!(seen["incident_id"], "inc-1");
    assert!(seen["since"].as_i64().unwrap() > 0);

    // A busy gateway fetches the whole blocklist instead, from either instance.
    for client in [&here, &there] {
        let (status, list) = client.get(&format!("/api/v1/gateway/{deployment}/clients")).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        assert_eq!(list["complete"], true);
        assert_eq!(list["deployment_id"], deployment.as_str());
        let clients = list["clients"].as_array().unwrap();
        assert_eq!(clients.len(), 1, "{list}");
        assert_eq!((&clients[0]["client_id"], &clients[0]["incident_id"]), (&json!("mallory-1"), &json!("inc-1")));
    }
    assert_eq!(here.get(&format!("/api/v1/gateway/{model}/clients")).await.0, StatusCode::BAD_REQUEST, "only deployments have a blocklist");

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

    // Lifting needs a reason, works once, and both instances agree soon after.
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
        assert!(started.elapsed() < Duration::from_secs(5), "the lift did not reach the second instance within five seconds");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, list) = there.get(&format!("/api/v1/gateway/{deployment}/clients")).await;
    assert_eq!(list["clients"], json!([]), "lifted blocks leave the blocklist at once: {list}");
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
    assert_eq!(status, StatusCode::CONFLICT, "already blocked: {body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("already blocked"), "{body}");
    let check = format!("/api/v1/gateway/{deployment}/clients/bot-7");
    assert_eq!(admin.get(&check).await.1["blocked"], true);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(admin.get(&check).await.1["blocked"], false, "the block expired");
    let (_, list) = admin.get(&format!("/api/v1/gateway/{deployment}/clients")).await;
    assert_eq!(list["clients"], json!([]), "an expired block is not on the blocklist: {list}");
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

    // Text PostgreSQL cannot store is refused as bad input, never a server error.
    let (status, body) = admin.json(Method::POST, &path, json!({"client_id": "bot-8", "reason": "a\u{0}b"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(admin.get(&format!("/api/v1/gateway/{deployment}/clients/a%00b")).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(admin.get(&format!("{path}?client_id=a%00b")).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(admin.get(&format!("{path}?all=maybe")).await.0, StatusCode::BAD_REQUEST);
    let mut drift = json!({"columns": [{"name": "a\u{0}", "test": "ks", "drifted": true}], "drifted_share": 1.0, "dataset_drift": true});
    let dataset = t.asset("dataset", "nul-dataset", 1).await;
    assert_eq!(admin.json(Method::POST, &format!("/api/v1/assets/{dataset}/drift"), drift.clone()).await.0, StatusCode::BAD_REQUEST);
    drift["columns"][0]["name"] = json!("a");
    assert_eq!(admin.json(Method::POST, &format!("/api/v1/assets/{dataset}/drift"), drift).await.0, StatusCode::CREATED);
    let nul_client = r#"{"ts":1,"client_id":"a\u0000b","input":[1]}"#;
    let (status, body) = send_events(&admin, &deployment, nul_client.into()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    t.server.shutdown().await.unwrap();
}

/// Real (not drill) incidents about `asset_id`.
async fn incidents_about(t: &TestServer, asset_id: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM incidents WHERE asset_id = $1 AND drill = 0").bind(asset_id).fetch_one(&t.server.state.store.read).await.unwrap()
}

/// Posts JSON lines to a deployment's event endpoint.
async fn send_events(client: &Client, deployment: &str, body: String) -> (StatusCode, Value) {
    let response = client.request(Method::POST, &format!("/api/v1/deployments/{deployment}/events")).body(body).send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn lines(events: &[Event]) -> String {
    events.iter().map(|e| event_json(e) + "\n").collect()
}

async fn traffic_findings(t: &TestServer, deployment: &str) -> Vec<Value> {
    let admin_view: Vec<(String, String, String)> = sqlx::query_as("SELECT rule_id, subject, location FROM findings WHERE source = 'traffic' AND asset_id = $1 ORDER BY created_at")
        .bind(deployment)
        .fetch_all(&t.server.state.store.read)
        .await
        .unwrap();
    admin_view
        .into_iter()
        .map(|(rule, subject, location)| json!({"rule_id": rule, "subject": subject, "location": serde_json::from_str::<Value>(&location).unwrap()}))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extraction_attacker_is_flagged_by_client_and_benign_clients_are_not() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let deployment = t.asset("deployment", "pricing-endpoint", 1).await;
    let key = gateway_key(&t, "traffic-svc", &["read", "write"]).await;
    let feeder = Client::with_key(t.url(""), &key);
    // A client blocked before the traffic arrives: its events are refused, by line.
    assert!(gateway::block_client(&t.server.state, Actor::System("test"), &deployment, "scraper-9", "scraping", None, false).await.unwrap());

    let traffic = generate(7, &[(ClientKind::Benign, 8), (ClientKind::Extraction, 1)], 300);
    let mut first: Vec<Event> = traffic.events[..1000].to_vec();
    for i in 0..3u32 {
        first.insert(10 * i as usize, Event { ts: 1.7e9, client_id: "scraper-9".into(), input: Input::Vector(vec![0.0; 16]), output: None });
    }
    let (status, report) = send_events(&feeder, &deployment, lines(&first)).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["received"], 1003);
    assert_eq!(report["refused"], 3);
    assert_eq!(report["accepted"], 1000);
    let refused: Vec<u64> = report["refused_events"].as_array().unwrap().iter().map(|r| r["line"].as_u64().unwrap()).collect();
    assert_eq!(refused, vec![1, 11, 21]);
    assert_eq!(report["blocked_clients"][0]["client_id"], "scraper-9");
    assert_eq!(report["blocked_clients"][0]["block"]["reason"], "scraping");

    // The rest, in two more requests: the detectors keep each client's state between requests.
    for chunk in traffic.events[1000..].chunks(1000) {
        let (status, report) = send_events(&feeder, &deployment, lines(chunk)).await;
        assert_eq!(status, StatusCode::OK, "{report}");
        assert_eq!(report["refused"], 0, "{report}");
    }
    let found = traffic_findings(&t, &deployment).await;
    let extraction: Vec<&Value> = found.iter().filter(|f| f["rule_id"] == "monitor.model-extraction").collect();
    assert_eq!(extraction.len(), 1, "{found:#?}");
    assert_eq!(extraction[0]["location"]["client_id"], "extraction-0");
    assert_eq!(extraction[0]["subject"], format!("client:{deployment}:extraction-0"));
    for f in &found {
        let client = f["location"]["client_id"].as_str().unwrap();
        assert!(!client.starts_with("benign"), "benign client flagged: {f}");
        assert_eq!(f["subject"], format!("client:{deployment}:{client}"));
    }
    // The finding is visible through the findings API with its source, and the change is audited.
    let (_, listed) = admin.get("/api/v1/findings?source=traffic&rule_id=monitor.model-extraction").await;
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["asset_id"], deployment.as_str());
    assert!(listed[0]["finding"]["atlas"].as_array().unwrap().iter().any(|a| a == "AML.T0024.002"));
    let audited = audit_ops(&t, "traffic.alert").await;
    assert!(audited.iter().any(|e| e.to_string().contains("extraction-0")), "{audited:?}");
    // Incident intake saw it: one incident about the deployment.
    assert_eq!(incidents_about(&t, &deployment).await, 1);

    // Another instance's detectors see the same client again: no second finding.
    let sibling = t.sibling().await;
    let there = Client::with_key(format!("http://{}", sibling.addr), &key);
    let (status, report) = send_events(&there, &deployment, lines(&traffic.events[..2000])).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    for alert in report["alerts"].as_array().unwrap() {
        if alert["client_id"] == "extraction-0" && alert["rule_id"] == "monitor.model-extraction" {
            assert_eq!(alert["deduplicated"], true, "{alert}");
        }
    }
    let again = traffic_findings(&t, &deployment).await;
    assert_eq!(again.iter().filter(|f| f["rule_id"] == "monitor.model-extraction").count(), 1);

    // The counts add up over instances.
    let (status, summary) = admin.get(&format!("/api/v1/deployments/{deployment}/traffic")).await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    assert_eq!(summary["requests"], 4);
    assert_eq!(summary["refused"].as_i64().unwrap() + summary["events"].as_i64().unwrap(), 2700 + 3 + 2000);
    sibling.shutdown().await.unwrap();
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingestion_limits_name_the_line_and_reject_the_whole_request() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let deployment = t.asset("deployment", "limits-endpoint", 1).await;
    let model = t.asset("model", "limits-model", 1).await;
    let event = r#"{"ts":1700000000,"client_id":"c-1","input":[0.1,0.2],"output":[0.4,0.6]}"#;

    let long = format!("{event}\n{{\"ts\":1,\"client_id\":\"c-2\",\"input\":\"{}\"}}\n", "a".repeat(300 << 10));
    let (status, body) = send_events(&admin, &deployment, long).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("line 2 is longer than 262144 bytes"), "{body}");

    let many: String = (0..10_001).map(|_| format!("{event}\n")).collect();
    let (status, body) = send_events(&admin, &deployment, many).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("more than 10000 events in one request (line 10001)"), "{body}");

    let broken = format!("{event}\n{event}\n{{\"ts\": 1, \"client_id\": \"c-3\"}}\n");
    let (status, body) = send_events(&admin, &deployment, broken).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().starts_with("line 3: not an event"), "{body}");

    let (status, body) = send_events(&admin, &deployment, "\n\n".into()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = send_events(&admin, &model, format!("{event}\n")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "only deployments take traffic");
    let (status, _) = send_events(&admin, "no-such-deployment", format!("{event}\n")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Nothing of the rejected requests reached the detectors or the counts.
    let (_, summary) = admin.get(&format!("/api/v1/deployments/{deployment}/traffic")).await;
    assert_eq!(summary["events"], 0, "{summary}");
    assert_eq!(summary["requests"], 0);
    let (status, report) = send_events(&admin, &deployment, format!("{event}\n{event}")).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["accepted"], 2, "the last line needs no newline");
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reference_profile_lets_the_detectors_flag_out_of_distribution_inputs() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let deployment = t.asset("deployment", "ood-endpoint", 1).await;
    let reference = generate(11, &[(ClientKind::Benign, 5)], 200);
    let rows: Vec<Vec<f64>> = reference.events.iter().map(|e| match &e.input {
        Input::Vector(v) => v.clone(),
        Input::Text(_) => unreachable!(),
    }).collect();
    let path = format!("/api/v1/deployments/{deployment}/profile");
    assert_eq!(admin.get(&path).await.0, StatusCode::NOT_FOUND);
    let (status, body) = admin.json(Method::PUT, &path, json!({"rows": rows})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["dimensions"], 16);
    let (_, profile) = admin.get(&path).await;
    assert_eq!(profile["mean"].as_array().unwrap().len(), 16);
    let (status, body) = admin.json(Method::PUT, &path, json!({"mean": [0.0], "std": [1.0, 2.0]})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    let ood: String = (0..10u32)
        .map(|i| {
            let x: Vec<f64> = (0..16).map(|d| if d == 3 { 40.0 } else { f64::from(i) * 0.01 }).collect();
            json!({"ts": 2e9 + f64::from(i), "client_id": "odd-one", "input": x}).to_string() + "\n"
        })
        .collect();
    let (status, report) = send_events(&admin, &deployment, ood.clone()).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let rules: Vec<&str> = report["alerts"].as_array().unwrap().iter().map(|a| a["rule_id"].as_str().unwrap()).collect();
    assert_eq!(rules, vec!["monitor.input-anomaly"], "{report}");
    assert_eq!(report["alerts"][0]["deduplicated"], false);
    let first = report["alerts"][0]["finding_id"].clone();

    // A second instance builds its own detectors with the stored profile and raises the same
    // alert about the same client: it joins the first finding instead of making another.
    let sibling = t.sibling().await;
    let there = Client::with_key(format!("http://{}", sibling.addr), &gateway_key(&t, "ood-svc", &["write"]).await);
    let (status, report) = send_events(&there, &deployment, ood.clone()).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["alerts"][0]["rule_id"], "monitor.input-anomaly", "{report}");
    assert_eq!(report["alerts"][0]["deduplicated"], true, "{report}");
    assert_eq!(report["alerts"][0]["finding_id"], first);
    assert_eq!(traffic_findings(&t, &deployment).await.len(), 1);
    sibling.shutdown().await.unwrap();
    let (status, body) = admin.json(Method::DELETE, &path, Value::Null).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(audit_ops(&t, "traffic.profile").await.len(), 2);
    t.server.shutdown().await.unwrap();
}

fn drift_report(columns: &[(&str, bool)], dataset_drift: bool) -> Value {
    let drifted = columns.iter().filter(|c| c.1).count();
    json!({
        "columns": columns.iter().map(|(name, drifted)| json!({
            "name": name, "kind": "numerical", "test": "ks",
            "statistic": if *drifted { 0.41 } else { 0.03 }, "p_value": if *drifted { 0.0001 } else { 0.6 },
            "threshold": 0.05, "drifted": drifted,
        })).collect::<Vec<_>>(),
        "drifted_share": drifted as f64 / columns.len() as f64,
        "dataset_drift": dataset_drift,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drifting_report_raises_a_finding_and_a_steady_one_does_not() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let dataset = t.asset("dataset", "loans-2026", 1).await;
    let steady = t.asset("model", "loans-model", 1).await;
    let source = t.asset("data_source", "loans-db", 1).await;

    let (status, outcome) = admin.json(Method::POST, &format!("/api/v1/assets/{dataset}/drift"), drift_report(&[("age", true), ("income", true), ("city", false)], true)).await;
    assert_eq!(status, StatusCode::CREATED, "{outcome}");
    assert_eq!(outcome["drifted"], true);
    assert_eq!(outcome["decided_by"], "report verdict");
    let finding_id = outcome["finding_id"].as_str().unwrap().to_owned();
    let (_, found) = admin.get(&format!("/api/v1/assets/{dataset}/findings?source=drift")).await;
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    let finding = &found[0];
    assert_eq!(finding["id"], finding_id.as_str());
    assert_eq!(finding["finding"]["rule_id"], "drift.dataset-drift");
    assert_eq!(finding["finding"]["severity"], "high");
    assert_eq!(finding["finding"]["atlas"], json!(["AML.T0020", "AML.T0031"]));
    let evidence = finding["finding"]["evidence"].as_str().unwrap();
    assert!(evidence.contains("age (ks statistic=0.4100 p=0.0001 threshold=0.05)") && evidence.contains("income") && !evidence.contains("city"), "{evidence}");
    assert_eq!(incidents_about(&t, &dataset).await, 1, "the drift finding went to incident intake");

    // A second drifting report within the window joins the first finding.
    let (_, again) = admin.json(Method::POST, &format!("/api/v1/assets/{dataset}/drift"), drift_report(&[("age", true), ("city", false)], true)).await;
    assert_eq!(again["deduplicated"], true, "{again}");
    assert_eq!(again["finding_id"], finding_id.as_str());

    // No drift, no finding.
    let (status, outcome) = admin.json(Method::POST, &format!("/api/v1/assets/{steady}/drift"), drift_report(&[("age", true), ("income", false), ("city", false)], false)).await;
    assert_eq!(status, StatusCode::CREATED, "{outcome}");
    assert_eq!(outcome["drifted"], false);
    assert!(outcome["finding_id"].is_null());
    let (_, none) = admin.get(&format!("/api/v1/assets/{steady}/findings")).await;
    assert!(none.as_array().unwrap().is_empty(), "{none}");
    assert_eq!(incidents_about(&t, &steady).await, 0);

    // The asset's threshold decides once set: a third of the columns is enough here.
    let (status, body) = admin.json(Method::PUT, &format!("/api/v1/assets/{steady}/drift/threshold"), json!({"threshold": 0.3})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, outcome) = admin.json(Method::POST, &format!("/api/v1/assets/{steady}/drift"), drift_report(&[("age", true), ("income", false), ("city", false)], false)).await;
    assert_eq!(outcome["drifted"], true, "{outcome}");
    assert_eq!(outcome["decided_by"], "asset threshold");
    let (_, listed) = admin.get(&format!("/api/v1/assets/{steady}/drift")).await;
    assert_eq!(listed["threshold"], 0.3);
    assert_eq!(listed["reports"].as_array().unwrap().len(), 2);
    let (status, _) = admin.json(Method::PUT, &format!("/api/v1/assets/{steady}/drift/threshold"), json!({"threshold": 1.5})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Reports that cannot be right, or on assets drift does not apply to, are refused.
    let mut lying = drift_report(&[("age", true), ("income", false)], true);
    lying["drifted_share"] = json!(0.0);
    let (status, body) = admin.json(Method::POST, &format!("/api/v1/assets/{dataset}/drift"), lying).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = admin.json(Method::POST, &format!("/api/v1/assets/{source}/drift"), drift_report(&[("a", true)], true)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = admin.json(Method::POST, &format!("/api/v1/assets/{dataset}/drift"), json!({"findings": []})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Every report and the threshold change are audited.
    assert_eq!(audit_ops(&t, "drift.report").await.len(), 4);
    assert_eq!(audit_ops(&t, "drift.threshold").await.len(), 1);
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imported_monitor_reports_name_the_client_in_the_subject() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let (status, asset) = admin.json(Method::POST, "/api/v1/assets", json!({"kind": "deployment", "name": "import-endpoint"})).await;
    assert_eq!(status, StatusCode::CREATED, "{asset}");
    let id = asset["id"].as_str().unwrap();
    let mut location = warden_core::Location::file("events.jsonl");
    location.client_id = Some("extraction-0".into());
    let finding = warden_monitor::detect::EXTRACTION.finding("query distances are not normal", location);
    let (status, body) = admin.json(Method::POST, &format!("/api/v1/assets/{id}/findings"), json!({"findings": [finding]})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, found) = admin.get(&format!("/api/v1/assets/{id}/findings")).await;
    assert_eq!(found[0]["subject"], format!("client:{id}:extraction-0"));
    assert_eq!(found[0]["source"], "import");
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_pages_block_and_lift_through_forms() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let deployment = t.asset("deployment", "ui-endpoint", 1).await;
    let (status, page) = admin.get("/ui/gateway").await;
    assert_eq!(status, StatusCode::OK);
    let page = page.as_str().unwrap().to_owned();
    assert!(page.contains("id=\"gateway-empty\"") && page.contains("ui-endpoint"), "{page}");

    let response = admin
        .request(Method::POST, &format!("/ui/gateway/{deployment}/blocks"))
        .form(&[("client_id", "bot-<1>"), ("reason", "scraping the catalogue"), ("incident_id", ""), ("hours", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, page) = admin.get(&format!("/ui/gateway/{deployment}")).await;
    let page = page.as_str().unwrap().to_owned();
    assert!(page.contains("bot-&#60;1&#62;") && !page.contains("bot-<1>"), "escaped: {page}");
    assert!(page.contains("scraping the catalogue"));
    assert!(gateway::is_blocked(&t.server.state, &deployment, "bot-<1>").await.unwrap());
    let (_, blocks) = admin.get(&format!("/api/v1/gateway/{deployment}/blocks")).await;
    let block_id = blocks[0]["id"].as_str().unwrap();
    assert!(page.contains(&format!("id=\"lift-{block_id}\"")));

    let response = admin
        .request(Method::POST, &format!("/ui/gateway/{deployment}/blocks/{block_id}/lift"))
        .form(&[("reason", "it was our crawler")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(!gateway::is_blocked(&t.server.state, &deployment, "bot-<1>").await.unwrap());
    let (status, page) = admin.get(&format!("/ui/traffic/{deployment}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.as_str().unwrap().contains("id=\"profile-state\""));
    let response = admin.request(Method::POST, &format!("/ui/traffic/{deployment}/threshold")).form(&[("percent", "40")]).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, listed) = admin.get(&format!("/api/v1/assets/{deployment}/drift")).await;
    assert_eq!(listed["threshold"], 0.4);
    // Without the CSRF token a browser post is refused.
    let bare = admin.http.post(t.url(&format!("/ui/gateway/{deployment}/blocks"))).form(&[("client_id", "x"), ("reason", "y")]).send().await.unwrap();
    assert_eq!(bare.status(), StatusCode::FORBIDDEN);
    t.server.shutdown().await.unwrap();
}
