//! The inventory over HTTP: assets (create, read, change, retire, with audit entries), their
//! validation, lineage (kinds, self-loops, cycles, the graph), findings imported from a real
//! scanner report, the CycloneDX 1.6 ML-BOM export (checked against the official schema when
//! `scripts/cyclonedx-schema` has fetched it), list filtering through Cedar, and the UI pages.

use crate::common;

use std::path::PathBuf;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use common::{Client, TestServer};

async fn create(client: &Client, body: Value) -> Value {
    let (status, asset) = client.json(Method::POST, "/api/v1/assets", body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body} -> {asset}");
    asset
}

fn id(asset: &Value) -> String {
    asset["id"].as_str().expect("an asset id").to_owned()
}

async fn edge(client: &Client, from: &str, to: &str, relation: Option<&str>) -> (StatusCode, Value) {
    let mut body = json!({"from": from, "to": to});
    if let Some(r) = relation {
        body["relation"] = json!(r);
    }
    client.json(Method::POST, "/api/v1/lineage", body).await
}

/// The newest audit entry of `operation` that names `uid` among its resources.
async fn audit_entry(admin: &Client, operation: &str, uid: &str) -> Value {
    let (status, entries) = admin.get("/api/v1/audit/entries?newest=true&limit=1000").await;
    assert_eq!(status, StatusCode::OK, "{entries}");
    entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["entry"].clone())
        .find(|e| e["api"]["operation"] == operation && e["resources"].as_array().is_some_and(|rs| rs.iter().any(|r| r["uid"] == uid)))
        .unwrap_or_else(|| panic!("no `{operation}` audit entry for {uid}"))
}

fn error_message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or_default()
}

/// A user with `roles` and no second factor, inserted directly, signed in.
async fn sign_in_as(t: &TestServer, username: &str, roles: &str) -> Client {
    const PASSWORD: &str = "a long password for tests";
    let now = warden_server::store::now_ms();
    let hash = warden_server::identity::password::hash(PASSWORD.to_owned()).await.unwrap();
    sqlx::query("INSERT INTO users (id, username, display_name, password_hash, roles, created_at, updated_at) VALUES ($1, $2, $2, $3, $4, $5, $5)")
        .bind(warden_server::store::new_id())
        .bind(username)
        .bind(hash)
        .bind(roles)
        .bind(now)
        .execute(t.server.state.store.writer())
        .await
        .unwrap();
    let client = t.client();
    client.login(username, PASSWORD, None).await;
    client
}

/// Posts an HTML form (the session's CSRF token rides in the query, as the UI's forms do it).
async fn post_form(client: &Client, path: &str, csrf: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
    let sep = if path.contains('?') { '&' } else { '?' };
    client
        .http
        .post(format!("{}{path}{sep}csrf={csrf}", client.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn page(client: &Client, path: &str) -> String {
    let response = client.request(Method::GET, path).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.text().await.unwrap()
}

/// The session's CSRF token, as every page's forms carry it (read from the dashboard).
async fn csrf_of(client: &Client) -> String {
    let html = page(client, "/").await;
    let start = html.find("csrf=").map(|i| i + 5).unwrap_or_else(|| panic!("no csrf in the page:\n{html}"));
    html[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}

/// A warden JSON report of a real scan of a malicious pickle.
fn scanner_report() -> String {
    let payload = b"cos\nsystem\n(S'id'\ntR.";
    let (record, findings) = warden_scan::scan_bytes("evil.pkl", payload, &warden_scan::ScanSettings::default());
    assert!(findings.iter().any(|f| f.severity == warden_core::Severity::Critical), "{findings:?}");
    let mut report = warden_core::Report { findings, files: vec![record] };
    report.sort();
    warden_core::render::json::to_string(&report).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assets_are_created_read_changed_and_retired_with_audit_entries() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let model = create(
        &admin,
        json!({"kind": "model", "name": "claims-classifier", "description": "triages claims", "sensitivity": "confidential",
               "lifecycle": "training", "environment": "Staging", "tags": ["fraud", "nlp", "fraud"],
               "properties": {"license": "apache-2.0", "model_card": {"task": "text-classification"}}}),
    )
    .await;
    let model_id = id(&model);
    assert_eq!(model["sensitivity"], "confidential");
    assert_eq!(model["environment"], "staging", "environments are folded to lowercase slugs");
    assert_eq!(model["tags"], json!(["fraud", "nlp"]));
    assert_eq!(model["owner"], "admin", "the owner defaults to whoever registers it");
    let created = audit_entry(&admin, "asset.create", &model_id).await;
    assert_eq!(created["unmapped"]["warden"]["details"]["sensitivity"], "confidential");

    let (status, detail) = admin.get(&format!("/api/v1/assets/{model_id}")).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["asset"]["name"], "claims-classifier");
    assert_eq!(detail["upstream"], json!([]));
    assert_eq!(detail["findings"]["critical"], 0);
    assert_eq!(detail["versions"], json!([]));

    let (status, changed) = admin
        .json(Method::PATCH, &format!("/api/v1/assets/{model_id}"), json!({"sensitivity": "restricted", "lifecycle": "validation", "owner": "admin"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["sensitivity"], "restricted");
    assert_eq!(changed["lifecycle"], "validation");
    let updated = audit_entry(&admin, "asset.update", &model_id).await;
    let changes = &updated["unmapped"]["warden"]["details"]["changes"];
    assert_eq!(changes["sensitivity"], json!({"old": "confidential", "new": "restricted"}));
    assert_eq!(changes["lifecycle"], json!({"old": "training", "new": "validation"}));
    assert!(changes.get("owner").is_none(), "unchanged fields are not recorded: {changes}");

    // A patch that changes nothing changes nothing.
    let (status, same) = admin.json(Method::PATCH, &format!("/api/v1/assets/{model_id}"), json!({"lifecycle": "validation"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(same["updated_at"], changed["updated_at"]);

    let (status, retired) = admin.json(Method::DELETE, &format!("/api/v1/assets/{model_id}"), Value::Null).await;
    assert_eq!(status, StatusCode::OK, "{retired}");
    assert_eq!(retired["lifecycle"], "retired");
    assert!(retired["retired_at"].as_i64().is_some());
    let gone = audit_entry(&admin, "asset.delete", &model_id).await;
    assert_eq!(gone["unmapped"]["warden"]["details"]["changes"]["lifecycle"], json!({"old": "validation", "new": "retired"}));

    // Retired assets are kept, hidden from lists unless asked for, and no longer change.
    let (status, detail) = admin.get(&format!("/api/v1/assets/{model_id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(detail["asset"]["lifecycle"], "retired");
    let (_, list) = admin.get("/api/v1/assets").await;
    assert!(list.as_array().unwrap().iter().all(|a| a["id"] != model_id.as_str()), "{list}");
    let (_, list) = admin.get("/api/v1/assets?include_retired=true&kind=model").await;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    let (status, body) = admin.json(Method::PATCH, &format!("/api/v1/assets/{model_id}"), json!({"description": "x"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(error_message(&body).contains("retired"), "{body}");
    let (status, _) = admin.json(Method::DELETE, &format!("/api/v1/assets/{model_id}"), Value::Null).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = admin.get("/api/v1/assets/01234567-no-such-asset").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_assets_are_refused_with_clear_messages() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let cases = [
        (json!({"kind": "spreadsheet", "name": "x"}), "unknown asset kind `spreadsheet`: expected one of data_source, dataset, model, deployment"),
        (json!({"kind": "dataset", "name": "x", "sensitivity": "secret"}), "unknown sensitivity `secret`"),
        (json!({"kind": "dataset", "name": "x", "lifecycle": "retired"}), "retired with DELETE"),
        (json!({"kind": "dataset", "name": "x", "environment": "prod env"}), "not a slug"),
        (json!({"kind": "dataset", "name": "x", "tags": ["ok", "not ok"]}), "tag `not ok` is not a slug"),
        (json!({"kind": "dataset", "name": "   "}), "needs a name"),
        (json!({"kind": "dataset", "name": "x", "owner": "no spaces allowed"}), "owner:"),
        (json!({"kind": "dataset", "name": "x", "properties": {"blob": "x".repeat(70_000)}}), "at most 65536"),
        (json!({"kind": "dataset", "name": "x", "properties": ["not", "an", "object"]}), "must be a JSON object"),
        (json!({"kind": "dataset", "name": "x", "properties": {"personal_data": "yes"}}), "personal_data must be true or false"),
        (json!({"kind": "model", "name": "x", "properties": {"model_card": {"metrics": "great"}}}), "model_card.metrics"),
        (json!({"kind": "dataset", "name": "x", "sensitivty": "public"}), "unknown field `sensitivty`"),
    ];
    for (body, expected) in cases {
        let (status, answer) = admin.json(Method::POST, "/api/v1/assets", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} -> {answer}");
        assert!(error_message(&answer).contains(expected), "{body}: expected `{expected}` in {answer}");
    }
    let first = create(&admin, json!({"kind": "dataset", "name": "claims-2024"})).await;
    let (status, answer) = admin.json(Method::POST, "/api/v1/assets", json!({"kind": "dataset", "name": "claims-2024"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert!(error_message(&answer).contains("a dataset named `claims-2024` is already registered"), "{answer}");
    // Names are unique per kind only.
    create(&admin, json!({"kind": "model", "name": "claims-2024"})).await;
    let other = create(&admin, json!({"kind": "dataset", "name": "claims-2025"})).await;
    let (status, answer) = admin.json(Method::PATCH, &format!("/api/v1/assets/{}", id(&other)), json!({"name": "claims-2024"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    let (status, answer) = admin.json(Method::PATCH, &format!("/api/v1/assets/{}", id(&first)), json!({"kind": "model"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(error_message(&answer).contains("kind cannot change"), "{answer}");
    let response = admin.request(Method::POST, "/api/v1/assets").body("{not json").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lineage_is_validated_and_the_graph_is_queried() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let source = id(&create(&admin, json!({"kind": "data_source", "name": "claims-db"})).await);
    let raw = id(&create(&admin, json!({"kind": "dataset", "name": "claims-raw"})).await);
    let clean = id(&create(&admin, json!({"kind": "dataset", "name": "claims-clean"})).await);
    let base = id(&create(&admin, json!({"kind": "model", "name": "base-lm"})).await);
    let tuned = id(&create(&admin, json!({"kind": "model", "name": "claims-lm"})).await);
    let api = id(&create(&admin, json!({"kind": "deployment", "name": "claims-api"})).await);

    let (status, feeds) = edge(&admin, &source, &raw, None).await;
    assert_eq!(status, StatusCode::CREATED, "{feeds}");
    assert_eq!(feeds["relation"], "feeds", "the relation follows from the kinds");
    assert_eq!(feeds["from"]["name"], "claims-db");
    for (from, to, relation) in [(&raw, &clean, "derives"), (&clean, &tuned, "trains"), (&base, &tuned, "fine_tunes"), (&tuned, &api, "deploys")] {
        let (status, body) = edge(&admin, from, to, Some(relation)).await;
        assert_eq!(status, StatusCode::CREATED, "{relation}: {body}");
    }
    let added = audit_entry(&admin, "lineage.add", &source).await;
    assert_eq!(added["unmapped"]["warden"]["details"]["relation"], "feeds");

    let refused = [
        (edge(&admin, &source, &tuned, None).await, StatusCode::BAD_REQUEST, "no lineage relation goes from a data source to a model"),
        (edge(&admin, &clean, &tuned, Some("feeds")).await, StatusCode::BAD_REQUEST, "`feeds` links a data source to a dataset"),
        (edge(&admin, &api, &tuned, None).await, StatusCode::BAD_REQUEST, "no lineage relation goes from a deployment to a model"),
        (edge(&admin, &raw, &raw, None).await, StatusCode::BAD_REQUEST, "its own lineage"),
        (edge(&admin, &source, &raw, None).await, StatusCode::CONFLICT, "already feeds"),
        (edge(&admin, &clean, &raw, None).await, StatusCode::CONFLICT, "would close a cycle: `claims-raw` -> `claims-clean` -> `claims-raw`"),
        (edge(&admin, &tuned, &base, None).await, StatusCode::CONFLICT, "would close a cycle"),
        (edge(&admin, &source, "no-such-asset", None).await, StatusCode::NOT_FOUND, "no asset (to)"),
        (edge(&admin, &source, &raw, Some("poisons")).await, StatusCode::BAD_REQUEST, "unknown lineage relation `poisons`"),
    ];
    for ((status, body), want_status, want_message) in refused {
        assert_eq!(status, want_status, "{body}");
        assert!(error_message(&body).contains(want_message), "expected `{want_message}` in {body}");
    }

    // The graph around the tuned model, one step each way: its parents and its deployment.
    let (status, graph) = admin.get(&format!("/api/v1/lineage?root={tuned}&depth=1")).await;
    assert_eq!(status, StatusCode::OK, "{graph}");
    let mut names: Vec<&str> = graph["nodes"].as_array().unwrap().iter().map(|n| n["name"].as_str().unwrap()).collect();
    names.sort_unstable();
    assert_eq!(names, ["base-lm", "claims-api", "claims-clean", "claims-lm"]);
    assert_eq!(graph["edges"].as_array().unwrap().len(), 3, "{graph}");
    let (_, graph) = admin.get(&format!("/api/v1/lineage?root={tuned}")).await;
    assert_eq!(graph["nodes"].as_array().unwrap().len(), 6);
    let (_, whole) = admin.get("/api/v1/lineage").await;
    assert_eq!(whole["edges"].as_array().unwrap().len(), 5);
    let (status, _) = admin.get("/api/v1/lineage?root=no-such-asset").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The asset shows its lineage in and out.
    let (_, detail) = admin.get(&format!("/api/v1/assets/{tuned}")).await;
    let upstream: Vec<&str> = detail["upstream"].as_array().unwrap().iter().map(|e| e["from"]["name"].as_str().unwrap()).collect();
    assert_eq!(upstream, ["claims-clean", "base-lm"]);
    assert_eq!(detail["downstream"][0]["to"]["name"], "claims-api");
    assert_eq!(detail["downstream"][0]["relation"], "deploys");

    // Removing an edge: audited, gone from the graph, and the cycle it prevented is now allowed.
    let edge_id = detail["upstream"][1]["id"].as_str().unwrap().to_owned();
    let (status, removed) = admin.json(Method::DELETE, &format!("/api/v1/lineage/{edge_id}"), Value::Null).await;
    assert_eq!(status, StatusCode::OK, "{removed}");
    audit_entry(&admin, "lineage.remove", &edge_id).await;
    let (status, _) = admin.json(Method::DELETE, &format!("/api/v1/lineage/{edge_id}"), Value::Null).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = edge(&admin, &tuned, &base, None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // Retired assets keep their lineage but take no new edges.
    admin.json(Method::DELETE, &format!("/api/v1/assets/{api}"), Value::Null).await;
    let other = id(&create(&admin, json!({"kind": "model", "name": "other"})).await);
    let (status, body) = edge(&admin, &other, &api, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (_, whole) = admin.get("/api/v1/lineage").await;
    assert!(whole["nodes"].as_array().unwrap().iter().all(|n| n["id"] != api.as_str()), "retired assets are left out by default");
    let (_, whole) = admin.get("/api/v1/lineage?include_retired=true").await;
    assert!(whole["edges"].as_array().unwrap().iter().any(|e| e["to"] == api.as_str()));
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn findings_of_a_real_scanner_report_are_imported_and_listed() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let model = id(&create(&admin, json!({"kind": "model", "name": "pickled"})).await);
    let report = scanner_report();
    let response = admin.request(Method::POST, &format!("/api/v1/assets/{model}/findings")).body(report.clone()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let imported: Value = response.json().await.unwrap();
    assert!(imported["imported"].as_u64().unwrap() >= 1, "{imported}");
    assert_eq!(imported["max_severity"], "critical");
    let entry = audit_entry(&admin, "finding.import", &model).await;
    assert_eq!(entry["unmapped"]["warden"]["details"]["max_severity"], "critical");

    let (status, high) = admin.get("/api/v1/findings?min_severity=high").await;
    assert_eq!(status, StatusCode::OK, "{high}");
    let ours: Vec<&Value> = high.as_array().unwrap().iter().filter(|f| f["asset_id"] == model.as_str()).collect();
    assert!(!ours.is_empty(), "{high}");
    assert!(ours.iter().all(|f| f["source"] == "import"));
    assert!(ours.iter().any(|f| f["finding"]["severity"] == "critical" && f["finding"]["location"]["path"] == "evil.pkl"), "{high}");
    let (_, detail) = admin.get(&format!("/api/v1/assets/{model}")).await;
    assert!(detail["findings"]["critical"].as_i64().unwrap() >= 1, "{detail}");
    let (_, listed) = admin.get(&format!("/api/v1/assets/{model}/findings")).await;
    assert_eq!(listed.as_array().unwrap().len() as u64, imported["imported"].as_u64().unwrap());

    // The same report uploaded through the asset page's form.
    let csrf = csrf_of(&admin).await;
    let boundary = "wardenTestBoundary7MA4YWxk";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"report\"; filename=\"scan.json\"\r\nContent-Type: application/json\r\n\r\n{report}\r\n--{boundary}--\r\n"
    );
    let response = admin
        .http
        .post(format!("{}/ui/assets/{model}/findings?csrf={csrf}", admin.base))
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(&format!("/ui/assets/{model}?notice=Imported")), "{location}");
    let html = page(&admin, &location).await;
    assert!(html.contains("id=\"findings-table\"") && html.contains("evil.pkl") && html.contains("sev-critical"), "{html}");
    let (_, listed) = admin.get(&format!("/api/v1/assets/{model}/findings")).await;
    assert_eq!(listed.as_array().unwrap().len() as u64, 2 * imported["imported"].as_u64().unwrap());

    // Not a report: refused with the reason.
    let response = admin.request(Method::POST, &format!("/api/v1/assets/{model}/findings")).body("{\"results\": []}").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = page(&admin, "/ui/findings?severity=critical&source=import").await;
    assert!(html.contains("id=\"findings-table\"") && html.contains("evil.pkl"), "{html}");
    t.server.shutdown().await.unwrap();
}

/// The official CycloneDX 1.6 schema (with the schemas it refers to), from
/// `WARDEN_CYCLONEDX_SCHEMA_DIR` or `target/cyclonedx-schema` (both written by
/// `scripts/cyclonedx-schema`), if present.
fn cyclonedx_validator() -> Option<jsonschema::Validator> {
    let dir = std::env::var_os("WARDEN_CYCLONEDX_SCHEMA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/cyclonedx-schema"));
    let main = dir.join("bom-1.6.SNAPSHOT.schema.json");
    if !main.exists() {
        return None;
    }
    struct Local(PathBuf);
    impl jsonschema::Retrieve for Local {
        fn retrieve(&self, uri: &jsonschema::Uri<String>) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
            let name = uri.as_str().rsplit('/').next().unwrap_or_default().split('#').next().unwrap_or_default();
            Ok(serde_json::from_str(&std::fs::read_to_string(self.0.join(name))?)?)
        }
    }
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&main).unwrap()).unwrap();
    Some(jsonschema::options().with_draft(jsonschema::Draft::Draft7).with_retriever(Local(dir)).build(&schema).expect("the CycloneDX schema compiles"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::print_stderr)] // says why the schema check is skipped
async fn cyclonedx_export_describes_the_chain_with_model_cards_and_dependencies() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let source = id(&create(&admin, json!({"kind": "data_source", "name": "claims-db", "properties": {"provenance": "internal"}})).await);
    let dataset = id(&create(
        &admin,
        json!({"kind": "dataset", "name": "claims-2024", "sensitivity": "confidential", "owner": "dana",
               "properties": {"personal_data": true, "source": "s3://claims/2024/"}}),
    )
    .await);
    let card = json!({
        "task": "text-classification", "architecture_family": "transformer", "approach": "supervised",
        "intended_use": "triage incoming insurance claims", "limitations": ["English only", "claims after 2019"],
        "ethical_considerations": ["may disadvantage non-native writers"], "training_data": "claims 2019-2024, de-identified",
        "metrics": [{"type": "f1", "value": 0.91, "slice": "all claims"}]
    });
    let model = id(&create(
        &admin,
        json!({"kind": "model", "name": "claims-classifier", "properties": {"license": "Apache-2.0", "source": "https://models.example/claims", "model_card": card}}),
    )
    .await);
    let deployment = id(&create(&admin, json!({"kind": "deployment", "name": "claims-api", "environment": "production"})).await);
    for (from, to) in [(&source, &dataset), (&dataset, &model), (&model, &deployment)] {
        assert_eq!(edge(&admin, from, to, None).await.0, StatusCode::CREATED);
    }
    let retired = id(&create(&admin, json!({"kind": "dataset", "name": "old"})).await);
    admin.json(Method::DELETE, &format!("/api/v1/assets/{retired}"), Value::Null).await;

    let response = admin.request(Method::GET, "/api/v1/inventory/cyclonedx").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/vnd.cyclonedx+json"));
    let bom: Value = response.json().await.unwrap();
    assert_eq!(bom["bomFormat"], "CycloneDX");
    assert_eq!(bom["specVersion"], "1.6");
    assert_eq!(bom["version"], 1);
    let serial = bom["serialNumber"].as_str().unwrap();
    assert!(serial.starts_with("urn:uuid:") && uuid::Uuid::parse_str(&serial[9..]).is_ok(), "{serial}");
    let stamp = bom["metadata"]["timestamp"].as_str().unwrap();
    assert!(stamp.len() == 20 && stamp.ends_with('Z') && &stamp[10..11] == "T", "{stamp}");
    assert_eq!(bom["metadata"]["tools"]["components"][0]["name"], "warden");

    let components = bom["components"].as_array().unwrap();
    let summary: Vec<(&str, &str)> = components.iter().map(|c| (c["type"].as_str().unwrap(), c["bom-ref"].as_str().unwrap())).collect();
    assert_eq!(
        summary,
        [("data", source.as_str()), ("data", dataset.as_str()), ("machine-learning-model", model.as_str()), ("application", deployment.as_str())],
        "four components, the retired dataset left out"
    );
    let data = &components[1]["data"][0];
    assert_eq!(data["type"], "dataset");
    assert_eq!(data["name"], "claims-2024");
    assert_eq!(data["classification"], "confidential");
    assert_eq!(data["contents"]["url"], "s3://claims/2024/");
    assert_eq!(data["sensitiveData"], json!(["personal data"]));
    assert_eq!(data["governance"]["owners"][0]["contact"]["name"], "dana");
    let m = &components[2];
    assert_eq!(m["name"], "claims-classifier");
    assert_eq!(m["licenses"][0]["license"]["name"], "Apache-2.0");
    assert_eq!(m["externalReferences"][0], json!({"type": "distribution", "url": "https://models.example/claims"}));
    let card = &m["modelCard"];
    assert_eq!(card["modelParameters"]["task"], "text-classification");
    assert_eq!(card["modelParameters"]["architectureFamily"], "transformer");
    assert_eq!(card["modelParameters"]["approach"]["type"], "supervised");
    assert_eq!(card["modelParameters"]["datasets"], json!([{"ref": dataset}]));
    assert_eq!(card["quantitativeAnalysis"]["performanceMetrics"], json!([{"type": "f1", "value": "0.91", "slice": "all claims"}]));
    assert_eq!(card["considerations"]["useCases"], json!(["triage incoming insurance claims"]));
    assert_eq!(card["considerations"]["technicalLimitations"], json!(["English only", "claims after 2019"]));
    assert_eq!(card["considerations"]["ethicalConsiderations"], json!([{"name": "may disadvantage non-native writers"}]));
    let deps: Vec<(&str, Vec<&str>)> = bom["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["ref"].as_str().unwrap(), d["dependsOn"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect()))
        .collect();
    assert_eq!(
        deps,
        [(source.as_str(), vec![]), (dataset.as_str(), vec![source.as_str()]), (model.as_str(), vec![dataset.as_str()]), (deployment.as_str(), vec![model.as_str()])]
    );

    match cyclonedx_validator() {
        Some(validator) => {
            let errors: Vec<String> = validator.iter_errors(&bom).map(|e| format!("{e} at {}", e.instance_path())).collect();
            assert!(errors.is_empty(), "the BOM does not validate against CycloneDX 1.6:\n{}", errors.join("\n"));
            // The validator is not vacuous: a component without a name is refused.
            let mut broken = bom.clone();
            broken["components"][0].as_object_mut().unwrap().remove("name");
            assert!(!validator.is_valid(&broken));
        }
        None => {
            assert!(
                std::env::var("WARDEN_REQUIRE_CYCLONEDX_SCHEMA").as_deref() != Ok("1"),
                "the CycloneDX schema check is required but the schema is missing: run scripts/cyclonedx-schema"
            );
            eprintln!("skipping the schema check: run scripts/cyclonedx-schema (or set WARDEN_CYCLONEDX_SCHEMA_DIR) to fetch the CycloneDX 1.6 schema");
        }
    }
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_show_a_data_scientist_only_the_assets_policies_let_them_read() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let (_, current) = admin.get("/api/v1/policies").await;
    let policies = format!(
        "{}\n@id(\"data-scientist-no-restricted-read\")\nforbid (principal in Warden::Role::\"data_scientist\", action == Warden::Action::\"asset.read\", resource is Warden::Asset)\nwhen {{ resource.sensitivity >= 3 }};\n",
        current["text"].as_str().unwrap()
    );
    let response = admin.request(Method::PUT, "/api/v1/policies").body(policies).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text().await.unwrap());

    let secret = id(&create(&admin, json!({"kind": "dataset", "name": "patient-records", "sensitivity": "restricted"})).await);
    let open = id(&create(&admin, json!({"kind": "model", "name": "triage-model", "sensitivity": "internal"})).await);
    assert_eq!(edge(&admin, &secret, &open, None).await.0, StatusCode::CREATED);
    let response = admin.request(Method::POST, &format!("/api/v1/assets/{secret}/findings")).body(scanner_report()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);

    let scientist = sign_in_as(&t, "dana", "data_scientist").await;
    let (status, list) = scientist.get("/api/v1/assets").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["triage-model"], "the restricted dataset is filtered out");
    let (_, all) = admin.get("/api/v1/assets").await;
    assert_eq!(all.as_array().unwrap().len(), 2, "the administrator sees both");

    let (status, _) = scientist.get(&format!("/api/v1/assets/{secret}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, detail) = scientist.get(&format!("/api/v1/assets/{open}")).await;
    assert_eq!(detail["upstream"], json!([]), "an edge to an unreadable asset is not shown: {detail}");
    let (_, graph) = scientist.get("/api/v1/lineage").await;
    assert_eq!(graph["nodes"].as_array().unwrap().len(), 1, "{graph}");
    assert_eq!(graph["edges"], json!([]));
    let (_, bom) = scientist.get("/api/v1/inventory/cyclonedx").await;
    assert!(bom["components"].as_array().unwrap().iter().all(|c| c["bom-ref"] != secret.as_str()), "{bom}");
    let (_, findings) = scientist.get("/api/v1/findings").await;
    assert!(findings.as_array().unwrap().iter().all(|f| f["asset_id"] != secret.as_str()), "{findings}");
    let (_, findings) = admin.get("/api/v1/findings").await;
    assert!(findings.as_array().unwrap().iter().any(|f| f["asset_id"] == secret.as_str()));
    let html = page(&scientist, "/ui/assets").await;
    assert!(html.contains("triage-model") && !html.contains("patient-records"), "{html}");

    // What was hidden is on record, with the policy that hid it.
    let (_, entries) = admin.get("/api/v1/audit/entries?newest=true&limit=200").await;
    let hidden = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["entry"])
        .find(|e| e["api"]["operation"] == "asset.read" && e["unmapped"]["warden"]["details"]["note"].as_str().is_some_and(|n| n.contains(&secret)))
        .expect("an audit entry naming the hidden asset");
    assert!(hidden.to_string().contains("data-scientist-no-restricted-read"), "{hidden}");

    // Data scientists may not register restricted assets (the shipped policies forbid their
    // writes on them); the check is made on the asset as it would be.
    let (status, body) = scientist.json(Method::POST, "/api/v1/assets", json!({"kind": "dataset", "name": "more-records", "sensitivity": "restricted"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = scientist.json(Method::POST, "/api/v1/assets", json!({"kind": "dataset", "name": "public-records", "sensitivity": "public"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = scientist.json(Method::PATCH, &format!("/api/v1/assets/{}", id(&body)), json!({"sensitivity": "restricted"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "raising an asset to restricted is a write on a restricted asset: {body}");
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ui_pages_render_and_their_forms_change_the_inventory() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let csrf = csrf_of(&admin).await;

    let html = page(&admin, "/ui/assets").await;
    assert!(html.contains("id=\"asset-form\""), "{html}");
    let response = post_form(
        &admin,
        "/ui/assets",
        &csrf,
        &[("kind", "model"), ("name", "<b>bold</b> model"), ("sensitivity", "confidential"), ("lifecycle", "training"), ("environment", "staging"), ("tags", "nlp, fraud"), ("properties", r#"{"model_card": {"task": "classification", "intended_use": "triage"}}"#)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let model = location.trim_start_matches("/ui/assets/").split('?').next().unwrap().to_owned();
    let dataset = id(&create(&admin, json!({"kind": "dataset", "name": "claims"})).await);

    let html = page(&admin, "/ui/assets").await;
    assert!(html.contains("id=\"assets-table\"") && html.contains("bold&#60;/b&#62; model") && !html.contains("<b>bold</b>"), "{html}");
    let html = page(&admin, "/ui/assets?kind=dataset").await;
    assert!(html.contains("claims") && !html.contains("bold"), "the kind filter applies");

    let html = page(&admin, &location).await;
    for wanted in ["id=\"asset-edit-form\"", "id=\"asset-retire\"", "id=\"lineage-add-upstream\"", "id=\"import-form\"", "id=\"findings-table\"", "id=\"model-card\"", "triage", "href=\"/ui/models/"] {
        assert!(html.contains(wanted), "`{wanted}` missing from the asset page:\n{html}");
    }

    // Add an edge from the page, see it, and draw it.
    let response = post_form(&admin, &format!("/ui/assets/{model}/lineage"), &csrf, &[("direction", "upstream"), ("other", &dataset)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let html = page(&admin, &format!("/ui/assets/{model}")).await;
    assert!(html.contains("id=\"lineage-upstream\"") && html.contains(&format!("/ui/assets/{dataset}")), "{html}");
    let html = page(&admin, "/ui/lineage").await;
    assert!(html.contains("<svg") && html.contains("id=\"lineage-svg\"") && html.contains(">trains</text>"), "{html}");
    assert!(html.contains(&format!("href=\"/ui/assets/{model}\"")) && html.contains("&lt;b&gt;bold&lt;/b&gt; model") && !html.contains("<b>bold</b>"), "{html}");

    // Edit, then retire, from the page.
    let response = post_form(
        &admin,
        &format!("/ui/assets/{model}"),
        &csrf,
        &[("name", "plain model"), ("description", "now described"), ("owner", "admin"), ("sensitivity", "internal"), ("lifecycle", "validation"), ("environment", "staging"), ("tags", "nlp"), ("properties", "{}")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, detail) = admin.get(&format!("/api/v1/assets/{model}")).await;
    assert_eq!(detail["asset"]["name"], "plain model");
    assert_eq!(detail["asset"]["lifecycle"], "validation");
    assert_eq!(detail["asset"]["tags"], json!(["nlp"]));
    let response = post_form(&admin, &format!("/ui/assets/{model}"), &csrf, &[("name", "x"), ("properties", "{broken")]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("properties are not valid JSON"));
    let response = post_form(&admin, &format!("/ui/assets/{model}/retire"), &csrf, &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let html = page(&admin, &format!("/ui/assets/{model}")).await;
    assert!(html.contains("id=\"asset-retired\"") && !html.contains("id=\"asset-edit-form\""), "{html}");

    // A form without the CSRF token is refused.
    let bare = admin.http.post(format!("{}/ui/assets", admin.base)).form_body("kind=dataset&name=sneaky").send().await.unwrap();
    assert_eq!(bare.status(), StatusCode::FORBIDDEN);

    let html = page(&admin, "/ui/findings").await;
    assert!(html.contains("id=\"findings-table\"") && html.contains("id=\"findings-filter\""), "{html}");
    let html = page(&admin, "/ui/alerts").await;
    assert!(html.contains("id=\"alerts-filter\""), "{html}");
    let html = page(&admin, &format!("/ui/lineage?root={dataset}")).await;
    assert!(html.contains("id=\"lineage-graph\""), "{html}");
    t.server.shutdown().await.unwrap();
}

/// Sends a urlencoded body without going through reqwest's `form` (kept off in this workspace).
trait FormBody {
    fn form_body(self, body: &'static str) -> Self;
}

impl FormBody for reqwest::RequestBuilder {
    fn form_body(self, body: &'static str) -> Self {
        self.header("content-type", "application/x-www-form-urlencoded").body(body)
    }
}
