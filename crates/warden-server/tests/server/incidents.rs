//! Incidents over HTTP: findings from registry scans, imported reports and alerts open one
//! incident per attack (asset or alert subject) by the shipped incident rules; the lifecycle moves
//! forward only with a time for each step and the time-to-contain/recover metrics; every change
//! is an event and an audit entry; the review (Markdown and printable HTML), the OCSF export, the
//! UI pages, drills kept apart, and one open incident per group across two instances.

use crate::common;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use warden_core::{Finding, Location, Severity};
use warden_server::actor::Actor;

use common::{Client, EVIL_PICKLE, TestServer, benign_pickle};

async fn upload(client: &Client, asset: &str, version: &str, bytes: &[u8]) -> Value {
    let path = format!("/api/v1/models/{asset}/versions?version={version}&filename=model.pkl");
    let response = client.request(Method::POST, &path).body(bytes.to_vec()).send().await.unwrap();
    let status = response.status();
    let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap_or(Value::Null);
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

/// Registers an asset through the API (as people do), returning its id.
async fn asset(client: &Client, kind: &str, name: &str, sensitivity: &str) -> String {
    let (status, body) = client.json(Method::POST, "/api/v1/assets", json!({"kind": kind, "name": name, "sensitivity": sensitivity})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

async fn incidents(client: &Client, query: &str) -> Vec<Value> {
    let (status, list) = client.get(&format!("/api/v1/incidents{query}")).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array().unwrap().clone()
}

async fn detail(client: &Client, id: &str) -> Value {
    let (status, detail) = client.get(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    detail
}

/// Keeps the shipped playbooks from acting (freezing a model would refuse the next upload).
async fn disable_playbooks(t: &TestServer) {
    sqlx::query("UPDATE playbooks SET enabled = 0").execute(t.server.state.store.writer()).await.unwrap();
}

fn report(findings: &[(&str, &str)]) -> Value {
    let findings: Vec<Value> = findings
        .iter()
        .map(|(rule, severity)| json!({"rule_id": rule, "severity": severity, "title": format!("{rule} found"), "message": format!("{rule} in column email"), "location": {"path": "train.csv", "column": "email"}}))
        .collect();
    json!({"findings": findings})
}

async fn audit_operations(client: &Client) -> Vec<String> {
    let (status, entries) = client.get("/api/v1/audit/entries?newest=true&limit=1000").await;
    assert_eq!(status, StatusCode::OK, "{entries}");
    entries.as_array().unwrap().iter().filter_map(|e| e["entry"]["api"]["operation"].as_str().map(str::to_owned)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malicious_upload_opens_one_incident_and_starts_its_playbook_while_a_benign_one_opens_none() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let model = asset(&admin, "model", "fraud-scorer", "internal").await;
    upload(&admin, &model, "1.0.0", &benign_pickle()).await;
    assert!(incidents(&admin, "").await.is_empty(), "a benign upload opens no incident");

    let version = upload(&admin, &model, "2.0.0", EVIL_PICKLE).await;
    let list = incidents(&admin, "").await;
    assert_eq!(list.len(), 1, "{list:?}");
    let incident = &list[0];
    assert_eq!(incident["asset_id"], model.as_str());
    assert_eq!(incident["rule_id"], "malicious-model-upload");
    assert_eq!(incident["severity"], "critical");
    assert_eq!(incident["drill"], false);
    assert!(incident["title"].as_str().unwrap().contains("fraud-scorer"), "{incident}");
    let detail = detail(&admin, incident["id"].as_str().unwrap()).await;
    let findings = detail["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    assert!(findings.iter().all(|f| f["version_id"] == version["id"]), "{findings:?}");
    assert!(findings.iter().any(|f| f["finding"]["rule_id"].as_str().unwrap().starts_with("pickle.")));
    assert_eq!(detail["assets"][0]["id"], model.as_str());
    assert_eq!(detail["events"][0]["kind"], "opened");
    assert_eq!(detail["events"][0]["actor"], "system:incident-rules");
    let runs = detail["playbook_runs"].as_array().unwrap();
    assert!(runs.iter().any(|r| r["playbook_id"] == "malicious-model-upload"), "the incident was handed to the playbooks: {runs:?}");
    assert!(audit_operations(&admin).await.iter().any(|op| op == "incident.open"));
    let (_, in_force) = admin.get("/api/v1/incidents/rules").await;
    assert_eq!(in_force["origin"], "shipped");
    assert_eq!(in_force["rules"][0]["id"], "malicious-model-upload", "the rules are listed in the order they are tried");
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operators_incident_rules_replace_the_shipped_ones() {
    // Only malicious uploads to restricted models open incidents, under the operator's title.
    let rules = r#"
rules:
  - id: restricted-model-tampered
    title: Tampered restricted model
    when:
      min_severity: high
      sources: [registry_scan]
      asset_kinds: [model]
      min_sensitivity: 3
    examples:
      match:
        - { rule_id: pickle.dangerous-global, severity: critical, source: registry_scan, asset_kind: model, sensitivity: 3 }
      no_match:
        - { rule_id: pickle.dangerous-global, severity: critical, source: registry_scan, asset_kind: model, sensitivity: 1 }
"#;
    let set = warden_server::incidents::rules::RuleSet::parse(rules).unwrap();
    let t = TestServer::with(|c| c.incident_rules = Some(std::sync::Arc::new(set))).await;
    disable_playbooks(&t).await;
    let admin = t.admin().await;
    let internal = asset(&admin, "model", "internal-scorer", "internal").await;
    let restricted = asset(&admin, "model", "restricted-scorer", "restricted").await;
    upload(&admin, &internal, "1.0.0", EVIL_PICKLE).await;
    assert!(incidents(&admin, "").await.is_empty(), "the shipped malicious-upload rule is not in force");
    upload(&admin, &restricted, "1.0.0", EVIL_PICKLE).await;
    let list = incidents(&admin, "").await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["rule_id"], "restricted-model-tampered");
    assert_eq!(list[0]["asset_id"], restricted.as_str());
    assert!(list[0]["title"].as_str().unwrap().starts_with("Tampered restricted model"), "{}", list[0]);

    // The API and the incidents page say which rules are in force.
    let (status, in_force) = admin.get("/api/v1/incidents/rules").await;
    assert_eq!(status, StatusCode::OK, "{in_force}");
    assert_eq!(in_force["origin"], "operator");
    assert_eq!(in_force["rules"].as_array().unwrap().len(), 1, "{in_force}");
    assert_eq!(
        in_force["rules"][0]["conditions"],
        json!(["severity high or worse", "source registry_scan", "asset kind model", "asset sensitivity restricted or higher"])
    );
    let page = admin.request(Method::GET, "/ui/incidents").send().await.unwrap().text().await.unwrap();
    assert!(page.contains("id=\"incident-rule-restricted-model-tampered\""), "{page}");
    assert!(page.contains("operator&#x27;s file") || page.contains("operator's file"), "{page}");
    assert!(!page.contains("incident-rule-malicious-model-upload"));
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_malicious_upload_joins_the_open_incident_and_a_closed_one_is_not_reopened() {
    let t = TestServer::sqlite().await;
    disable_playbooks(&t).await;
    let admin = t.admin().await;
    let model = asset(&admin, "model", "ranker", "internal").await;
    let other = asset(&admin, "model", "other", "internal").await;
    upload(&admin, &model, "1", EVIL_PICKLE).await;
    upload(&admin, &model, "2", EVIL_PICKLE).await;
    let list = incidents(&admin, "").await;
    assert_eq!(list.len(), 1, "one attack on one model is one incident: {list:?}");
    let id = list[0]["id"].as_str().unwrap().to_owned();
    let detail = detail(&admin, &id).await;
    let versions: std::collections::BTreeSet<&str> = detail["findings"].as_array().unwrap().iter().map(|f| f["version_id"].as_str().unwrap()).collect();
    assert_eq!(versions.len(), 2, "both versions' findings are linked");
    assert!(detail["events"].as_array().unwrap().iter().any(|e| e["kind"] == "findings.joined"));

    // Another model is another incident.
    upload(&admin, &other, "1", EVIL_PICKLE).await;
    assert_eq!(incidents(&admin, "").await.len(), 2);

    // Once closed, the incident stays closed: the next upload opens a new one.
    let (status, body) = admin.json(Method::POST, &format!("/api/v1/incidents/{id}/advance"), json!({"to": "closed", "note": "false alarm"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    upload(&admin, &model, "3", EVIL_PICKLE).await;
    let open = incidents(&admin, &format!("?asset={model}&open=true")).await;
    assert_eq!(open.len(), 1);
    assert_ne!(open[0]["id"], id.as_str());
    assert_eq!(incidents(&admin, &format!("?asset={model}")).await.len(), 2);
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_pii_report_on_a_dataset_opens_one_incident_and_on_a_model_none() {
    let t = TestServer::sqlite().await;
    disable_playbooks(&t).await;
    let admin = t.admin().await;
    let dataset = asset(&admin, "dataset", "customers", "internal").await;
    let model = asset(&admin, "model", "churn", "internal").await;
    let body = report(&[("pii.email", "medium"), ("pii.credit_card", "high"), ("pii.ip_address", "low")]);
    let (status, answer) = admin.json(Method::POST, &format!("/api/v1/assets/{dataset}/findings"), body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let (status, _) = admin.json(Method::POST, &format!("/api/v1/assets/{model}/findings"), report(&[("pii.email", "medium")])).await;
    assert_eq!(status, StatusCode::CREATED);
    let list = incidents(&admin, "").await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["asset_id"], dataset.as_str());
    assert_eq!(list[0]["rule_id"], "pii-in-training-data");
    assert_eq!(list[0]["severity"], "high");
    let detail = detail(&admin, list[0]["id"].as_str().unwrap()).await;
    let mut rules: Vec<&str> = detail["findings"].as_array().unwrap().iter().map(|f| f["finding"]["rule_id"].as_str().unwrap()).collect();
    rules.sort_unstable();
    assert_eq!(rules, ["pii.credit_card", "pii.email"], "only findings an incident rule matched are linked");
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_burst_opens_one_incident_for_the_user() {
    let t = TestServer::sqlite().await;
    disable_playbooks(&t).await;
    let admin = t.admin().await;
    let stranger = t.client();
    for _ in 0..7 {
        let (status, _) = stranger.json(Method::POST, "/api/v1/login", json!({"username": "ghost", "password": "wrong password 123"})).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let list = incidents(&admin, "").await;
    let ghost: Vec<&Value> = list.iter().filter(|i| i["subject"] == "user:ghost").collect();
    assert_eq!(ghost.len(), 1, "{list:?}");
    assert_eq!(ghost[0]["rule_id"], "suspicious-sign-in");
    assert_eq!(ghost[0]["asset_id"], Value::Null);
    assert_eq!(ghost[0]["severity"], "high");
    let detail = detail(&admin, ghost[0]["id"].as_str().unwrap()).await;
    assert_eq!(detail["findings"][0]["finding"]["rule_id"], "server.login-burst");
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lifecycle_moves_forward_only_with_a_time_for_each_step_and_metrics() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let (status, incident) = admin.json(Method::POST, "/api/v1/incidents", json!({"title": "Weights seen on a paste site", "severity": "high"})).await;
    assert_eq!(status, StatusCode::CREATED, "{incident}");
    let id = incident["id"].as_str().unwrap().to_owned();
    assert_eq!(incident["status"], "detected");
    assert_eq!(incident["owner"], "admin", "who opens an incident by hand owns it");
    let advance = |to: &'static str| {
        let admin = &admin;
        let id = id.clone();
        async move { admin.json(Method::POST, &format!("/api/v1/incidents/{id}/advance"), json!({"to": to, "note": format!("now {to}")})).await }
    };
    let (status, body) = advance("triaged").await;
    assert_eq!((status, body["changed"].as_bool()), (StatusCode::OK, Some(true)), "{body}");
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    let (status, body) = advance("contained").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Skipping mitigated is allowed; its time stays empty.
    let (status, body) = advance("recovered").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let i = &body["incident"];
    assert_eq!(i["status"], "recovered");
    assert_eq!(i["mitigated_at"], Value::Null);
    let created = i["created_at"].as_i64().unwrap();
    let contained = i["contained_at"].as_i64().unwrap();
    assert!(i["triaged_at"].as_i64().unwrap() >= created && contained >= created + 30);
    assert!(i["recovered_at"].as_i64().unwrap() >= contained);

    // Backwards is refused; the same step again changes nothing.
    let (status, body) = advance("triaged").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = advance("recovered").await;
    assert_eq!((status, body["changed"].as_bool()), (StatusCode::OK, Some(false)));
    let (status, _) = advance("detected").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = advance("sideways").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, metrics) = admin.get("/api/v1/incidents/metrics").await;
    assert_eq!(status, StatusCode::OK, "{metrics}");
    assert_eq!(metrics["median_time_to_contain_ms"], contained - created);
    assert_eq!(metrics["contained"], 1);
    assert_eq!(metrics["open"], 1);
    let (status, body) = advance("closed").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["incident"]["closed_at"].is_i64());
    let (_, metrics) = admin.get("/api/v1/incidents/metrics").await;
    assert_eq!(metrics["open"], 0);

    let prometheus = admin.request(Method::GET, "/metrics").send().await.unwrap().text().await.unwrap();
    assert!(prometheus.contains("warden_incident_time_to_contain_seconds_count 1"), "{prometheus}");
    assert!(prometheus.contains("warden_incident_time_to_recover_seconds_count 1"));
    assert!(prometheus.contains("warden_incident_time_to_contain_median_seconds"));
    assert!(prometheus.contains("warden_incidents_open{severity=\"high\"} 0"));

    let detail = detail(&admin, &id).await;
    let statuses: Vec<&str> = detail["events"].as_array().unwrap().iter().filter(|e| e["kind"] == "status").map(|e| e["data"]["to"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["triaged", "contained", "recovered", "closed"]);
    let dashboard = admin.request(Method::GET, "/").send().await.unwrap().text().await.unwrap();
    assert!(dashboard.contains("id=\"incident-metrics\"") && dashboard.contains("id=\"dashboard-ttc\""), "the dashboard shows incident metrics");
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comments_assignment_root_cause_and_links_are_events_audit_entries_and_in_the_review() {
    let t = TestServer::sqlite().await;
    disable_playbooks(&t).await;
    let admin = t.admin().await;
    let (_, _) = t.user("bob", &["security_engineer"]).await;
    let dataset = asset(&admin, "dataset", "claims", "restricted").await;
    let (status, incident) = admin.json(Method::POST, "/api/v1/incidents", json!({"title": "Suspected poisoning", "summary": "labels flipped"})).await;
    assert_eq!(status, StatusCode::CREATED, "{incident}");
    let id = incident["id"].as_str().unwrap().to_owned();
    let audit_before = t.audit_size().await;

    let (status, body) = admin.json(Method::POST, &format!("/api/v1/incidents/{id}/comments"), json!({"text": "looking at the last import"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = admin.json(Method::POST, &format!("/api/v1/incidents/{id}/assign"), json!({"owner": "bob", "assignees": ["admin"]})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["owner"].as_str(), body["assignees"][0].as_str()), (Some("bob"), Some("admin")));
    let (status, body) = admin.json(Method::POST, &format!("/api/v1/incidents/{id}/assign"), json!({"owner": "nobody-here"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = admin
        .json(Method::PATCH, &format!("/api/v1/incidents/{id}"), json!({"root_cause": "an unreviewed labelling vendor", "lessons": "review imports of labels", "severity": "critical"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["severity"], "critical");
    let (status, body) = admin.json(Method::POST, &format!("/api/v1/incidents/{id}/links"), json!({"asset_id": dataset})).await;
    assert_eq!((status, body["linked"].as_bool()), (StatusCode::OK, Some(true)), "{body}");
    let (status, _) = admin.json(Method::POST, &format!("/api/v1/incidents/{id}/links"), json!({"finding_id": "no-such-finding"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = admin.json(Method::PATCH, &format!("/api/v1/incidents/{id}"), json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "an empty change is refused");

    let operations = audit_operations(&admin).await;
    for op in ["incident.create", "incident.comment", "incident.assign", "incident.update", "incident.link"] {
        assert!(operations.iter().any(|o| o == op), "{op} is audited: {operations:?}");
    }
    assert!(t.audit_size().await > audit_before + 4);

    let response = admin.request(Method::GET, &format!("/api/v1/incidents/{id}/review.md")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/markdown"));
    let markdown = response.text().await.unwrap();
    let detail = detail(&admin, &id).await;
    for event in detail["events"].as_array().unwrap() {
        let text = event["text"].as_str().unwrap().replace('|', "\\|");
        assert!(markdown.contains(&text), "the review has event `{text}`:\n{markdown}");
    }
    for expected in ["## Root cause\n\nan unreviewed labelling vendor", "## Lessons learned\n\nreview imports of labels", "claims", "| Owner | bob |"] {
        assert!(markdown.contains(expected), "{expected}:\n{markdown}");
    }
    // The audit entries of linked assets are in the timeline.
    assert!(markdown.contains("| audit |"), "{markdown}");

    // NUL characters (which PostgreSQL cannot hold) are refused, never failed on.
    assert_eq!(admin.get("/api/v1/incidents/a%00b").await.0, StatusCode::NOT_FOUND);
    assert_eq!(admin.get("/api/v1/incidents?asset=a%00b").await.0, StatusCode::BAD_REQUEST);
    let (status, _) = admin.json(Method::POST, &format!("/api/v1/incidents/{id}/comments"), json!({"text": "a\u{0}b"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = admin.json(Method::POST, &format!("/api/v1/incidents/{id}/links"), json!({"asset_id": "a\u{0}b"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = admin.json(Method::POST, &format!("/api/v1/incidents/{id}/assign"), json!({"owner": "a\u{0}b"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // An auditor reads incidents but cannot act; a data scientist cannot read them.
    let (_, auditor) = t.user("audrey", &["auditor"]).await;
    assert_eq!(auditor.get(&format!("/api/v1/incidents/{id}")).await.0, StatusCode::OK);
    let (status, _) = auditor.json(Method::POST, &format!("/api/v1/incidents/{id}/comments"), json!({"text": "x"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, scientist) = t.user("dana", &["data_scientist"]).await;
    assert_eq!(scientist.get("/api/v1/incidents").await.0, StatusCode::FORBIDDEN);
    t.server.shutdown().await.unwrap();
}

/// The attributes OCSF 1.3 requires of every event and of Findings classes.
fn assert_ocsf(event: &Value, class: u64, required: &[&str]) {
    for field in ["metadata", "time", "category_uid", "class_uid", "activity_id", "type_uid", "severity_id"].iter().chain(required) {
        assert!(event.get(*field).is_some_and(|v| !v.is_null()), "{field} missing: {event}");
    }
    assert_eq!(event["class_uid"], class);
    assert_eq!(event["category_uid"], 2);
    assert_eq!(event["type_uid"].as_u64().unwrap(), class * 100 + event["activity_id"].as_u64().unwrap());
    assert_eq!(event["metadata"]["version"], "1.3.0");
    assert_eq!(event["metadata"]["product"]["name"], "warden");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ocsf_export_has_incident_and_detection_findings_and_no_drills() {
    let t = TestServer::sqlite().await;
    disable_playbooks(&t).await;
    let admin = t.admin().await;
    let model = asset(&admin, "model", "exported", "internal").await;
    let before = warden_server::store::now_ms();
    upload(&admin, &model, "1", EVIL_PICKLE).await;
    let finding = Finding::new("monitor.model-extraction", Severity::High, "extraction", "client c1 walks the decision boundary", Location::default());
    warden_server::incidents::open_drill(&t.server.state, Actor::System("test"), "extraction-attack", vec![finding], None).await.unwrap();

    let response = admin.request(Method::GET, &format!("/api/v1/incidents/export?since={before}")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    let text = response.text().await.unwrap();
    let events: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let incidents: Vec<&Value> = events.iter().filter(|e| e["class_uid"] == 2005).collect();
    let detections: Vec<&Value> = events.iter().filter(|e| e["class_uid"] == 2004).collect();
    assert_eq!(incidents.len(), 1, "the drill is not exported: {text}");
    assert!(!detections.is_empty());
    assert_eq!(incidents[0]["finding_info_list"].as_array().unwrap().len(), detections.len());
    assert_ocsf(incidents[0], 2005, &["finding_info_list", "status_id"]);
    assert_eq!(incidents[0]["severity_id"], 5);
    assert!(incidents[0]["src_url"].as_str().unwrap().ends_with(&format!("/ui/incidents/{}", incidents[0]["metadata"]["uid"].as_str().unwrap())));
    for detection in &detections {
        assert_ocsf(detection, 2004, &["finding_info"]);
        assert!(detection["finding_info"]["uid"].is_string() && detection["finding_info"]["title"].is_string());
        assert_eq!(detection["resources"][0]["uid"], model.as_str());
    }
    let later = warden_server::store::now_ms() + 60_000;
    let text = admin.request(Method::GET, &format!("/api/v1/incidents/export?since={later}")).send().await.unwrap().text().await.unwrap();
    assert!(text.is_empty(), "nothing changed since: {text}");
    let (status, _) = admin.get("/api/v1/incidents/export?since=yesterday").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drills_stay_apart_from_real_incidents_and_findings() {
    let t = TestServer::sqlite().await;
    disable_playbooks(&t).await;
    let admin = t.admin().await;
    let model = asset(&admin, "model", "drilled", "internal").await;
    let findings_before = admin.get("/api/v1/findings").await.1.as_array().unwrap().len();
    let finding = Finding::new("pickle.dangerous-global", Severity::Critical, "pickle imports a dangerous callable", "os.system", Location::file("model.pkl"));
    let trigger = warden_server::incidents::open_drill(&t.server.state, Actor::System("drill"), "malicious-model-upload", vec![finding], Some(&model)).await.unwrap();
    assert!(trigger.drill && trigger.created);
    assert_eq!(trigger.severity, Severity::Critical);
    assert_eq!(trigger.findings.len(), 1);

    assert!(incidents(&admin, "").await.is_empty(), "drills are not among real incidents");
    let drills = incidents(&admin, "?drills=true").await;
    assert_eq!(drills.len(), 1);
    assert_eq!(drills[0]["id"], trigger.incident_id.as_str());
    assert_eq!(drills[0]["playbook_id"], "malicious-model-upload");
    assert_eq!(admin.get("/api/v1/findings").await.1.as_array().unwrap().len(), findings_before, "simulated findings are not real findings");
    let detail = detail(&admin, &trigger.incident_id).await;
    assert_eq!(detail["findings"][0]["finding"]["rule_id"], "pickle.dangerous-global");

    // A drill moves through the lifecycle, but never counts in the metrics.
    assert!(warden_server::incidents::advance(&t.server.state, Actor::System("drill"), &trigger.incident_id, warden_server::incidents::Status::Contained, "would quarantine").await.unwrap());
    let (_, metrics) = admin.get("/api/v1/incidents/metrics").await;
    assert_eq!((metrics["open"].as_i64(), metrics["detected"].as_i64()), (Some(0), Some(0)), "{metrics}");
    // A real upload's incident does not join the drill.
    upload(&admin, &model, "1", EVIL_PICKLE).await;
    let real = incidents(&admin, "").await;
    assert_eq!(real.len(), 1);
    assert_ne!(real[0]["id"], trigger.incident_id.as_str());
    let page = admin.request(Method::GET, "/ui/incidents").send().await.unwrap().text().await.unwrap();
    assert!(!page.contains(&trigger.incident_id));
    let page = admin.request(Method::GET, "/ui/incidents?drills=1").send().await.unwrap().text().await.unwrap();
    assert!(page.contains(&trigger.incident_id));
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incident_pages_render_with_their_ids_and_forms_walk_the_lifecycle() {
    let t = TestServer::sqlite().await;
    disable_playbooks(&t).await;
    let admin = t.admin().await;
    let csrf = admin.get("/api/v1/me").await.1["csrf_token"].as_str().map(str::to_owned);
    let model = asset(&admin, "model", "paged", "internal").await;
    upload(&admin, &model, "1", EVIL_PICKLE).await;
    let id = incidents(&admin, "").await[0]["id"].as_str().unwrap().to_owned();

    let page = admin.request(Method::GET, "/ui/incidents").send().await.unwrap().text().await.unwrap();
    assert!(page.contains("id=\"incidents-table\"") && page.contains(&id), "{page}");
    assert!(page.contains("href=\"/ui/incidents\">Incidents</a>"), "the navigation links incidents");
    let page = admin.request(Method::GET, &format!("/ui/incidents/{id}")).send().await.unwrap().text().await.unwrap();
    for element in ["incident-status", "incident-timeline", "advance-form", "comment-form", "review-link"] {
        assert!(page.contains(&format!("id=\"{element}\"")), "#{element} on the incident page");
    }
    assert!(!page.contains("<script"));

    // The forms post with the CSRF token in their action URL (the client also sends the header).
    let token = csrf.unwrap_or_default();
    let form = |path: String, fields: Vec<(&'static str, &'static str)>| {
        let admin = &admin;
        let token = token.clone();
        async move { admin.request(Method::POST, &format!("{path}?csrf={token}")).form(&fields).send().await.unwrap() }
    };
    for (to, note) in [("triaged", "looked"), ("contained", "quarantined"), ("mitigated", "removed"), ("recovered", "rolled back"), ("closed", "done")] {
        let response = form(format!("/ui/incidents/{id}/advance"), vec![("to", to), ("note", note)]).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{to}");
    }
    let response = form(format!("/ui/incidents/{id}/comments"), vec![("text", "all clear")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let response = form(format!("/ui/incidents/{id}/edit"), vec![("root_cause", "a poisoned upstream checkpoint"), ("lessons", "pin checkpoints by digest")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let page = admin.request(Method::GET, &format!("/ui/incidents/{id}")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("id=\"incident-status\">closed<"), "closed on the page");
    assert!(page.contains("id=\"advance-done\""), "no forward move is offered once closed");
    assert!(page.contains("all clear") && page.contains("a poisoned upstream checkpoint"));

    let response = admin.request(Method::GET, &format!("/ui/incidents/{id}/review")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let csp = response.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("style-src 'sha256-") && !csp.contains("script"), "{csp}");
    let review = response.text().await.unwrap();
    assert!(!review.contains("<script") && !review.contains("<link"), "self-contained");
    assert!(review.contains("@media print"));
    for text in ["pin checkpoints by digest", "a poisoned upstream checkpoint", "all clear", "rolled back", "pickle."] {
        assert!(review.contains(text), "{text} in the review");
    }
    assert_eq!(admin.request(Method::GET, "/ui/incidents/no-such-incident").send().await.unwrap().status(), StatusCode::NOT_FOUND);
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_taking_findings_of_one_asset_at_once_open_one_incident() {
    let t = TestServer::sqlite().await;
    disable_playbooks(&t).await;
    let admin = t.admin().await;
    let second = t.sibling().await;
    let dataset = asset(&admin, "dataset", "shared", "internal").await;
    let mut ids = Vec::new();
    for _ in 0..6 {
        let finding = Finding::new("pii.email", Severity::Medium, "email address", "an email address", Location::file("x.csv"));
        let mut conn = t.server.state.store.writer().acquire().await.unwrap();
        let attach = warden_server::findings::Attach { asset_id: Some(&dataset), ..Default::default() };
        ids.push(warden_server::findings::insert(&mut conn, warden_server::findings::Source::Import, &attach, &finding).await.unwrap());
    }
    let (a, b) = (t.server.state.clone(), second.state.clone());
    let (first_half, second_half) = (ids[..3].to_vec(), ids[3..].to_vec());
    let (x, y) = tokio::join!(
        async move { warden_server::incidents::intake(&a, &first_half).await },
        async move { warden_server::incidents::intake(&b, &second_half).await },
    );
    let (x, y) = (x.unwrap(), y.unwrap());
    assert_eq!(x.len() + y.len(), 2);
    assert_eq!(x.iter().chain(&y).filter(|t| t.created).count(), 1, "one opened it, the other joined");
    let list = incidents(&admin, "").await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(detail(&admin, list[0]["id"].as_str().unwrap()).await["findings"].as_array().unwrap().len(), 6);
    // Taking the same findings again changes nothing.
    assert!(warden_server::incidents::intake(&t.server.state, &ids).await.unwrap().is_empty());
    second.shutdown().await.unwrap();
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn findings_an_intake_missed_are_taken_in_by_the_sweep() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    disable_playbooks(&t).await;
    let model = asset(&admin, "model", "swept", "internal").await;
    // A critical finding stored without an intake (as when the intake after a commit failed).
    let finding = Finding::new("pickle.dangerous-global", Severity::Critical, "dangerous callable", "os.system", Location::file("m.pkl"));
    let mut conn = t.server.state.store.writer().acquire().await.unwrap();
    let attach = warden_server::findings::Attach { asset_id: Some(&model), version_id: None, subject: "" };
    let id = warden_server::findings::insert(&mut conn, warden_server::findings::Source::Import, &attach, &finding).await.unwrap();
    drop(conn);
    assert!(incidents(&admin, "").await.is_empty());
    // Younger than a minute: left for the intake that is (normally) running right now.
    assert_eq!(warden_server::incidents::intake::sweep(&t.server.state).await.unwrap(), 0);
    sqlx::query("UPDATE findings SET created_at = created_at - 120000 WHERE id = $1").bind(&id).execute(t.server.state.store.writer()).await.unwrap();
    assert_eq!(warden_server::incidents::intake::sweep(&t.server.state).await.unwrap(), 1);
    let open = incidents(&admin, "").await;
    assert_eq!(open.len(), 1, "{open:?}");
    // Taken in once: the next sweep has nothing to do.
    assert_eq!(warden_server::incidents::intake::sweep(&t.server.state).await.unwrap(), 0);
    t.server.shutdown().await.unwrap();
}
