//! The OpenAPI document (`GET /api/v1/openapi.json`): valid OpenAPI 3.1 by the OpenAPI
//! Initiative's own schema (fetched by `scripts/openapi-schema`), every schema in it a valid JSON
//! Schema 2020-12, every `$ref` resolving, every route of the table in it with its path
//! parameters, every write declaring its body, and what a running server answers matching what
//! the document says it answers.

use crate::common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use warden_server::routes::Surface;
use warden_server::system::{openapi_document, path_params};

use common::TestServer;

/// API writes that take no body, each with the reason.
const WRITES_WITHOUT_BODY: &[(&str, &str, &str)] = &[
    // Ends the caller's own session: there is nothing to say.
    ("POST", "/api/v1/logout", "the session is the cookie"),
    // The server makes the seed; the client only asks for one.
    ("POST", "/api/v1/me/totp", "the server chooses the seed"),
    // The path names the user; resetting has no options.
    ("POST", "/api/v1/users/{id}/reset-mfa", "the path names the user"),
    // The server makes the new secret and shows it once in the answer.
    ("POST", "/api/v1/webhooks/{id}/secret", "the server chooses the secret"),
    // The path names the dead letter; it is sent again as it was.
    ("POST", "/api/v1/webhook-deliveries/{id}/retry", "the path names the delivery"),
];

/// The official OpenAPI 3.1 schema from `WARDEN_OPENAPI_SCHEMA_DIR` or `target/openapi-schema`
/// (both written by `scripts/openapi-schema`), if present.
fn openapi_validator() -> Option<jsonschema::Validator> {
    let dir = std::env::var_os("WARDEN_OPENAPI_SCHEMA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/openapi-schema"));
    let file = dir.join("schema-3.1.json");
    let text = std::fs::read_to_string(&file).ok()?;
    let schema: Value = serde_json::from_str(&text).expect("the OpenAPI 3.1 schema is JSON");
    Some(jsonschema::draft202012::new(&schema).expect("the OpenAPI 3.1 schema compiles"))
}

#[test]
#[allow(clippy::print_stderr)] // says why the schema check is skipped
fn the_document_is_valid_openapi_3_1() {
    let doc = openapi_document();
    assert_eq!(doc["openapi"], "3.1.0");
    match openapi_validator() {
        Some(validator) => {
            let errors: Vec<String> = validator.iter_errors(&doc).map(|e| format!("{e} at {}", e.instance_path())).collect();
            assert!(errors.is_empty(), "the document is not valid OpenAPI 3.1:\n{}", errors.join("\n"));
            // The validator is not vacuous: an operation without responses is refused.
            let mut broken = doc.clone();
            broken["paths"]["/healthz"]["get"].as_object_mut().unwrap().remove("responses");
            broken["paths"]["/healthz"]["get"]["parameters"] = json!([{"name": "x", "in": "nowhere"}]);
            assert!(!validator.is_valid(&broken));
        }
        None => {
            assert!(
                std::env::var("WARDEN_REQUIRE_OPENAPI_SCHEMA").as_deref() != Ok("1"),
                "the OpenAPI schema check is required but the schema is missing: run scripts/openapi-schema"
            );
            eprintln!("skipping the OpenAPI 3.1 schema check: run scripts/openapi-schema (or set WARDEN_OPENAPI_SCHEMA_DIR)");
        }
    }
}

/// Every `(pointer, value)` under `value` whose key is `key`.
fn find_key<'a>(value: &'a Value, key: &str, at: String, out: &mut Vec<(String, &'a Value)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let here = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                if k == key {
                    out.push((here.clone(), v));
                }
                find_key(v, key, here, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                find_key(v, key, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn no_two_types_claim_one_schema_name() {
    let clashes = warden_server::system::openapi_schema_clashes();
    assert!(clashes.is_empty(), "schema names claimed by different types (rename one with #[schema(as = ...)]): {clashes:?}");
}

#[test]
fn every_reference_resolves() {
    let doc = openapi_document();
    let mut refs = Vec::new();
    find_key(&doc, "$ref", String::new(), &mut refs);
    assert!(refs.len() > 50, "the document refers to its components ({} references)", refs.len());
    let broken: Vec<String> = refs
        .iter()
        .filter_map(|(at, target)| {
            let target = target.as_str().unwrap_or_default();
            let resolved = target.strip_prefix('#').and_then(|pointer| doc.pointer(pointer));
            resolved.is_none().then(|| format!("{at}: {target}"))
        })
        .collect();
    assert!(broken.is_empty(), "references that do not resolve:\n{}", broken.join("\n"));
}

#[test]
fn every_schema_is_valid_json_schema_2020_12() {
    let doc = openapi_document();
    let mut schemas: Vec<(String, &Value)> =
        doc["components"]["schemas"].as_object().unwrap().iter().map(|(name, schema)| (format!("components/schemas/{name}"), schema)).collect();
    find_key(&doc["paths"], "schema", "paths".into(), &mut schemas);
    assert!(schemas.len() > 100);
    let invalid: Vec<String> = schemas
        .iter()
        .filter_map(|(at, schema)| jsonschema::draft202012::meta::validate(schema).err().map(|e| format!("{at}: {e}")))
        .collect();
    assert!(invalid.is_empty(), "schemas that are not JSON Schema 2020-12:\n{}", invalid.join("\n"));
}

#[test]
fn every_api_route_of_the_table_is_in_the_document_and_no_page_is() {
    let doc = openapi_document();
    let routes = warden_server::routes::table();
    let mut expected = BTreeSet::new();
    for route in &routes {
        let meta = route.meta();
        let operation = &doc["paths"][meta.path][meta.method.to_lowercase()];
        match route.surface {
            Surface::Api => {
                assert_eq!(operation["x-warden-action"], meta.action.name, "{} {} is missing or names another action", meta.method, meta.path);
                assert!(operation["responses"].as_object().is_some_and(|r| r.len() > 1), "{} {} documents its answers", meta.method, meta.path);
                expected.insert((meta.method.to_lowercase(), meta.path.to_owned()));
            }
            Surface::Ui => assert!(operation.is_null(), "the page {} {} is not part of the API", meta.method, meta.path),
        }
    }
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| item.as_object().unwrap().keys().map(move |method| (method.clone(), path.clone())))
        .collect();
    assert_eq!(documented, expected, "the document lists exactly the API routes of the table");
}

#[test]
fn every_api_write_declares_its_body_or_is_known_to_take_none() {
    let doc = openapi_document();
    let mut missing = Vec::new();
    let mut needless = Vec::new();
    for route in warden_server::routes::table().iter().filter(|r| r.surface == Surface::Api) {
        let meta = route.meta();
        if !matches!(meta.method, "POST" | "PUT" | "PATCH") {
            continue;
        }
        let declared = doc["paths"][meta.path][meta.method.to_lowercase()].get("requestBody").is_some();
        let exempt = WRITES_WITHOUT_BODY.iter().any(|(method, path, _)| *method == meta.method && *path == meta.path);
        match (declared, exempt) {
            (false, false) => missing.push(format!("{} {}", meta.method, meta.path)),
            (true, true) => needless.push(format!("{} {}", meta.method, meta.path)),
            _ => {}
        }
    }
    assert!(missing.is_empty(), "writes that do not document their body (declare it with .accepts/.accepts_raw, or list them in WRITES_WITHOUT_BODY with the reason):\n{}", missing.join("\n"));
    assert!(needless.is_empty(), "WRITES_WITHOUT_BODY lists writes that declare a body:\n{}", needless.join("\n"));
}

#[test]
fn every_path_parameter_is_declared_once_and_nothing_else_is_in_the_path() {
    let doc = openapi_document();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let wanted: BTreeSet<&str> = path_params(path).into_iter().collect();
        for (method, operation) in item.as_object().unwrap() {
            let declared: Vec<&str> = operation["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| p["in"] == "path")
                .map(|p| {
                    assert_eq!(p["required"], true, "{method} {path}: path parameters are required");
                    p["name"].as_str().unwrap()
                })
                .collect();
            assert_eq!(declared.len(), wanted.len(), "{method} {path}: {declared:?}");
            assert_eq!(declared.iter().copied().collect::<BTreeSet<_>>(), wanted, "{method} {path}");
            let names: Vec<(&str, &str)> =
                operation["parameters"].as_array().unwrap().iter().map(|p| (p["name"].as_str().unwrap(), p["in"].as_str().unwrap())).collect();
            let unique: BTreeSet<&(&str, &str)> = names.iter().collect();
            assert_eq!(unique.len(), names.len(), "{method} {path}: a parameter is declared twice: {names:?}");
        }
    }
}

#[test]
fn writes_and_answers_name_their_content_and_status() {
    let doc = openapi_document();
    let op = |method: &str, path: &str| doc["paths"][path][method].clone();
    let upload = op("post", "/api/v1/models/{id}/versions");
    assert!(upload["requestBody"]["content"]["application/octet-stream"].is_object(), "{upload}");
    assert!(upload["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].is_string());
    let query: Vec<&str> = upload["parameters"].as_array().unwrap().iter().filter(|p| p["in"] == "query").map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(query, ["version", "filename"]);
    assert!(op("put", "/api/v1/policies")["requestBody"]["content"]["text/plain"].is_object());
    assert!(op("get", "/api/v1/audit/export")["responses"]["200"]["content"]["application/x-ndjson"].is_object());
    assert!(op("get", "/api/v1/audit/checkpoint")["responses"]["200"]["content"]["text/plain"].is_object());
    let revoke = op("delete", "/api/v1/keys/{id}");
    assert_eq!(revoke["requestBody"]["required"], false);
    assert!(revoke["responses"]["204"].is_object() && revoke["responses"]["204"].get("content").is_none());
    assert_eq!(op("get", "/api/v1/assets")["responses"]["200"]["content"]["application/json"]["schema"]["type"], "array");
    assert!(op("post", "/api/v1/login")["responses"]["429"].is_object());
    assert_eq!(doc["components"]["schemas"]["AssetKind"]["enum"], json!(["data_source", "dataset", "model", "deployment"]));
    assert_eq!(doc["components"]["schemas"]["NewAsset"]["additionalProperties"], false);
}

/// A validator for the answer `method path` documents for `status`, its references resolved
/// against the document's components.
fn answer_validator(doc: &Value, method: &str, path: &str, status: u16) -> jsonschema::Validator {
    let schema = &doc["paths"][path][method]["responses"][status.to_string()]["content"]["application/json"]["schema"];
    assert!(schema.is_object(), "{method} {path} documents no JSON answer for {status}");
    let mut whole = schema.clone();
    whole["components"] = doc["components"].clone();
    jsonschema::draft202012::new(&whole).unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_server_answers_what_its_document_says() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let (status, served) = admin.get("/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(served, openapi_document());
    let doc = served;

    // Something to list: a lineage chain, a model with an uploaded version, an imported finding.
    let mut ids = Vec::new();
    for (kind, name) in [("dataset", "claims"), ("model", "claims-model")] {
        let (status, asset) = admin.json(Method::POST, "/api/v1/assets", json!({"kind": kind, "name": name, "properties": {"license": "MIT"}})).await;
        assert_eq!(status, StatusCode::CREATED, "{asset}");
        answer_validator(&doc, "post", "/api/v1/assets", 201).validate(&asset).unwrap_or_else(|e| panic!("POST /api/v1/assets: {e}"));
        ids.push(asset["id"].as_str().unwrap().to_owned());
    }
    let (dataset, model) = (&ids[0], &ids[1]);
    let (status, edge) = admin.json(Method::POST, "/api/v1/lineage", json!({"from": dataset, "to": model})).await;
    assert_eq!(status, StatusCode::CREATED, "{edge}");
    let response = admin
        .request(Method::POST, &format!("/api/v1/models/{model}/versions?version=1.0.0&filename=model.safetensors"))
        .header("content-type", "application/octet-stream")
        .body(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let uploaded: Value = response.json().await.unwrap();
    let upload_answer = answer_validator(&doc, "post", "/api/v1/models/{id}/versions", 201);
    assert!(upload_answer.is_valid(&uploaded), "{uploaded}");
    let report = json!({"findings": [{"rule_id": "test.rule", "severity": "high", "title": "t", "message": "m", "location": {"path": "x"}}]});
    let (status, imported) = admin.json(Method::POST, &format!("/api/v1/assets/{dataset}/findings"), report).await;
    assert_eq!(status, StatusCode::CREATED, "{imported}");

    let reads = [
        ("/healthz", "/healthz".to_owned()),
        ("/api/v1/me", "/api/v1/me".to_owned()),
        ("/api/v1/keys", "/api/v1/keys".to_owned()),
        ("/api/v1/users", "/api/v1/users".to_owned()),
        ("/api/v1/policies", "/api/v1/policies".to_owned()),
        ("/api/v1/assets", "/api/v1/assets".to_owned()),
        ("/api/v1/assets/{id}", format!("/api/v1/assets/{model}")),
        ("/api/v1/assets/{id}/findings", format!("/api/v1/assets/{dataset}/findings")),
        ("/api/v1/findings", "/api/v1/findings".to_owned()),
        ("/api/v1/alerts", "/api/v1/alerts".to_owned()),
        ("/api/v1/lineage", "/api/v1/lineage".to_owned()),
        ("/api/v1/models", "/api/v1/models".to_owned()),
        ("/api/v1/models/{id}/versions", format!("/api/v1/models/{model}/versions")),
        ("/api/v1/models/{id}/versions/{version}", format!("/api/v1/models/{model}/versions/1.0.0")),
        ("/api/v1/audit/entries", "/api/v1/audit/entries?limit=5".to_owned()),
        ("/api/v1/audit/checkpoints", "/api/v1/audit/checkpoints?limit=5".to_owned()),
        ("/api/v1/audit/proof/inclusion", "/api/v1/audit/proof/inclusion?index=0".to_owned()),
        ("/api/v1/audit/proof/consistency", "/api/v1/audit/proof/consistency?old=1".to_owned()),
    ];
    let mut wrong = Vec::new();
    for (pattern, path) in reads {
        let (status, body) = admin.get(&path).await;
        if status != StatusCode::OK {
            wrong.push(format!("GET {path}: {status} {body}"));
            continue;
        }
        let validator = answer_validator(&doc, "get", pattern, 200);
        wrong.extend(validator.iter_errors(&body).map(|e| format!("GET {path}: {e} at {}", e.instance_path())));
    }
    // Refusals are the documented error body, whoever refuses: the gate, an extractor or a handler.
    assert_eq!(doc["paths"]["/api/v1/assets"]["get"]["responses"]["400"]["$ref"], "#/components/responses/Error");
    let mut error_schema = doc["components"]["responses"]["Error"]["content"]["application/json"]["schema"].clone();
    error_schema["components"] = doc["components"].clone();
    let error = jsonschema::draft202012::new(&error_schema).unwrap();
    for (method, path, body) in [
        (Method::GET, "/api/v1/assets?include_retired=maybe".to_owned(), None),
        (Method::GET, "/api/v1/audit/proof/inclusion?index=-1".to_owned(), None),
        (Method::POST, "/api/v1/users".to_owned(), Some("{\"username\": 5}")),
        (Method::POST, "/api/v1/keys".to_owned(), Some("not json")),
        (Method::POST, format!("/api/v1/models/{model}/versions/1.0.0/promote"), Some("[]")),
    ] {
        let mut request = admin.request(method.clone(), &path).header("content-type", "application/json");
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let text = response.text().await.unwrap();
        let parsed: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status != StatusCode::BAD_REQUEST || !content_type.starts_with("application/json") || !error.is_valid(&parsed) {
            wrong.push(format!("{method} {path}: {status} {content_type} {text}"));
        }
    }
    assert!(wrong.is_empty(), "answers that differ from the document:\n{}", wrong.join("\n"));
    t.server.shutdown().await.unwrap();
}

// Regressions found by fuzzing the API with `scripts/schemathesis`.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policies_that_would_lock_their_author_out_are_refused() {
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let (_, before) = admin.get("/api/v1/policies").await;
    for (text, reason) in [("", "Cedar text"), ("  \n", "Cedar text"), ("// nothing permitted\n", "policy.update")] {
        let response = admin.request(Method::PUT, "/api/v1/policies").header("content-type", "text/plain").body(text).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body: Value = response.json().await.unwrap();
        assert!(body["error"]["message"].as_str().unwrap().contains(reason), "{body}");
    }
    let response = admin.request(Method::POST, "/api/v1/policies/validate").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "validating nothing is a mistake, not a valid policy set");
    let (status, after) = admin.get("/api/v1/policies").await;
    assert_eq!(status, StatusCode::OK, "the administrator still reads the policies");
    assert_eq!(after["version"], before["version"]);
    // The shipped policies themselves are accepted again.
    let response = admin.request(Method::PUT, "/api/v1/policies").body(before["text"].as_str().unwrap().to_owned()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_characters_in_ids_and_filters_are_never_a_server_error() {
    // PostgreSQL cannot store U+0000 in text; SQLite can. Either way it is the client's business.
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let mut wrong = Vec::new();
    for path in ["/api/v1/assets/a%00b", "/api/v1/users/a%00b", "/api/v1/findings?rule_id=a%00b", "/api/v1/models/a%00b/versions"] {
        let (status, body) = admin.get(path).await;
        if status.is_server_error() {
            wrong.push(format!("GET {path}: {status} {body}"));
        }
    }
    let anonymous = t.client();
    let (status, body) = anonymous.json(Method::POST, "/api/v1/login", json!({"username": "a\u{0}b", "password": "x"})).await;
    if status.is_server_error() {
        wrong.push(format!("POST /api/v1/login: {status} {body}"));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_bodies_are_objects_not_arrays_of_fields() {
    // serde reads a struct from an array of its fields; the API takes objects only.
    let t = TestServer::sqlite().await;
    let admin = t.admin().await;
    let me = admin.get("/api/v1/me").await.1["id"].as_str().unwrap().to_owned();
    let (_, model) = admin.json(Method::POST, "/api/v1/assets", json!({"kind": "model", "name": "m"})).await;
    let model = model["id"].as_str().unwrap().to_owned();
    for (method, path, body) in [
        (Method::PATCH, format!("/api/v1/users/{me}"), json!([null, null])),
        (Method::POST, "/api/v1/assets".to_owned(), json!(["model", "from-an-array"])),
        (Method::POST, format!("/api/v1/assets/{model}/findings"), json!([[]])),
        (Method::POST, "/api/v1/keys".to_owned(), json!(["k", ["read"], 1])),
        (Method::POST, format!("/api/v1/models/{model}/rollback"), json!(["why", null])),
    ] {
        let (status, answer) = admin.json(method.clone(), &path, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {path}: {answer}");
        assert!(answer["error"]["message"].as_str().unwrap().contains("JSON object"), "{answer}");
    }
    let (_, assets) = admin.get("/api/v1/assets").await;
    assert!(assets.as_array().unwrap().iter().all(|a| a["name"] != "from-an-array"));
    t.server.shutdown().await.unwrap();
}
