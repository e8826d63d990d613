//! Probes, metrics and the OpenAPI document.

use axum::Json;
use axum::extract::State;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};

use crate::authz::actions;
use crate::routes::{DocSchema, Route, Surface, Target};
use crate::state::AppState;

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    vec![
        Route::api(Method::GET, "/healthz", actions::SYSTEM_HEALTH, healthz).returns::<Health>(),
        Route::api(Method::GET, "/readyz", actions::SYSTEM_HEALTH, readyz).returns::<Health>(),
        Route::api(Method::GET, "/metrics", actions::SYSTEM_METRICS, metrics).returns_raw("application/openmetrics-text"),
        Route::api(Method::GET, "/api/v1/openapi.json", actions::SYSTEM_OPENAPI, openapi).returns_raw("application/json"),
    ]
}

/// A probe's answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok` (alive), `ready` (the database answers) or `unavailable`.
    pub status: String,
    /// What is unavailable (`database`), when not ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Liveness: the process answers.
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok".into(), reason: None })
}

/// Readiness: the database answers.
async fn readyz(State(app): State<AppState>) -> Response {
    match app.store.ping().await {
        Ok(()) => Json(Health { status: "ready".into(), reason: None }).into_response(),
        Err(err) => {
            tracing::warn!(%err, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, Json(Health { status: "unavailable".into(), reason: Some("database".into()) })).into_response()
        }
    }
}

async fn metrics(State(app): State<AppState>) -> Response {
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], app.metrics.render()).into_response()
}

async fn openapi() -> Json<Value> {
    Json(openapi_document())
}

/// The fallback for paths no route matches.
pub async fn not_found() -> Response {
    crate::gate::not_found_response()
}

/// The error answers every API route may give: the gate refuses (401, 403), the request is wrong
/// (400), names nothing (404) or clashes with the state (409), the database is away (503).
const ERRORS: [(&str, &str); 6] = [
    ("400", "the request is malformed or invalid"),
    ("401", "no credentials, or a wrong, expired or revoked API key"),
    ("403", "the access policies refuse it (or a browser write lacks its CSRF token)"),
    ("404", "no such thing"),
    ("409", "the state does not allow it (duplicate, quarantined, frozen, retired...)"),
    ("503", "the database or the audit log is unavailable; try again"),
];

/// Collects the component schemas the operations refer to.
#[derive(Default)]
struct Components {
    schemas: serde_json::Map<String, Value>,
    /// Names two different types claimed (`#[schema(as = ...)]` tells them apart).
    clashes: Vec<String>,
}

impl Components {
    /// Adds `doc` and what it refers to; returns the schema to put in an operation.
    fn reference(&mut self, doc: DocSchema) -> Value {
        let one = json!({"$ref": format!("#/components/schemas/{}", doc.name)});
        let list = doc.list;
        for (name, schema) in doc.components.into_iter().chain([(doc.name, doc.schema)]) {
            match self.schemas.get(&name) {
                Some(known) if *known != schema => self.clashes.push(name),
                Some(_) => {}
                None => {
                    self.schemas.insert(name, schema);
                }
            }
        }
        if list { json!({"type": "array", "items": one}) } else { one }
    }
}

/// Schema names that two different types of the route table claim: the document can describe
/// only one of them (a test keeps this empty).
pub fn openapi_schema_clashes() -> Vec<String> {
    let mut clashes = build_document().1;
    clashes.sort();
    clashes.dedup();
    clashes
}

/// The schema of a body or answer that is not JSON, by its content type.
fn raw_schema(content_type: &str) -> Value {
    if content_type.ends_with("json") {
        json!({"type": "object"})
    } else if content_type.starts_with("text/") || content_type.ends_with("ndjson") || content_type.starts_with("application/openmetrics") {
        json!({"type": "string"})
    } else {
        json!({"type": "string", "format": "binary"})
    }
}

/// The OpenAPI 3.1 description of the JSON API, generated from the route table so that it
/// lists every route, the action each needs, how to authenticate, and what each accepts and
/// answers (the routes' `accepts`/`returns`/`query` declarations).
pub fn openapi_document() -> Value {
    build_document().0
}

fn build_document() -> (Value, Vec<String>) {
    let mut paths = serde_json::Map::new();
    let mut components = Components::default();
    let error_body = components.reference(crate::routes::schema_of::<crate::error::ErrorBody>());
    for route in crate::routes::table() {
        if route.surface != Surface::Api {
            continue;
        }
        let mut operation = operation(&route, &mut components);
        let meta = route.meta();
        if meta.path == "/readyz" {
            // Load balancers read the probe's own body on 503 too.
            operation["responses"]["503"] = json!({"description": "the database does not answer", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}});
        }
        let entry = paths.entry(meta.path.to_owned()).or_insert_with(|| json!({}));
        entry[meta.method.to_lowercase()] = operation;
    }
    let document = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "warden",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Inventory, model registry, access control and the tamper-evident audit log of a warden server. Every operation is authorised by Cedar policies; `x-warden-action` names the action and `x-warden-scope` the API-key scope it needs."
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "apiKey": {"type": "http", "scheme": "bearer", "description": "An API key `wdn_...` created in the UI or with POST /api/v1/keys."},
                "session": {"type": "apiKey", "in": "cookie", "name": "warden_session", "description": "A browser session; writes also need the `x-csrf-token` header."}
            },
            "responses": {
                "Error": {
                    "description": "an error",
                    "content": {"application/json": {"schema": error_body}}
                }
            },
            "schemas": components.schemas
        },
        "security": [{"apiKey": []}, {"session": []}]
    });
    (document, components.clashes)
}

/// One operation of the document.
fn operation(route: &Route, components: &mut Components) -> Value {
    let meta = route.meta();
    let mut params: Vec<Value> = path_params(meta.path)
        .into_iter()
        .map(|name| {
            let description = if matches!(meta.target, Target::Asset(p) if p == name) { "the asset's id" } else { "an identifier" };
            json!({"name": name, "in": "path", "required": true, "description": description, "schema": {"type": "string"}})
        })
        .collect();
    if let Some(query) = route.query {
        params.extend(query().into_iter().filter_map(|p| serde_json::to_value(p).ok()));
    }
    let mut responses = serde_json::Map::new();
    let success = route.success.to_string();
    let answer = match (route.answer, route.raw_answer) {
        (Some(answer), _) => Some(("application/json", components.reference(answer()))),
        (None, Some(content_type)) => Some((content_type, raw_schema(content_type))),
        (None, None) => None,
    };
    responses.insert(
        success,
        match answer {
            Some((content_type, schema)) => json!({"description": "success", "content": {content_type: {"schema": schema}}}),
            None => json!({"description": "success, nothing to answer"}),
        },
    );
    let mut errors: Vec<&str> = ERRORS.iter().map(|(status, _)| *status).collect();
    if route.body.is_some() || route.raw_body.is_some() {
        errors.push("413");
    }
    if meta.action == actions::AUTH_LOGIN {
        errors.push("429");
    }
    for status in errors {
        responses.insert(status.to_owned(), json!({"$ref": "#/components/responses/Error"}));
    }
    let mut operation = json!({
        "summary": meta.action.description,
        "operationId": format!("{}:{}", meta.method.to_lowercase(), meta.path),
        "tags": [meta.action.name.split('.').next().unwrap_or("api")],
        "x-warden-action": meta.action.name,
        "x-warden-scope": meta.action.group.name(),
        "parameters": params,
        "responses": responses,
    });
    let body = match (route.body, route.raw_body) {
        (Some(body), _) => Some(("application/json", components.reference(body()))),
        (None, Some(content_type)) => Some((content_type, raw_schema(content_type))),
        (None, None) => None,
    };
    if let Some((content_type, schema)) = body {
        operation["requestBody"] = json!({"required": !route.body_optional, "content": {content_type: {"schema": schema}}});
    }
    if let Target::Asset(param) = meta.target {
        operation["x-warden-resource"] = json!(format!("Warden::Asset (path parameter `{param}`)"));
    }
    match meta.action.group {
        actions::Group::Public => operation["security"] = json!([]),
        // The shipped policies let Prometheus on the same host scrape without credentials.
        actions::Group::Metrics => operation["security"] = json!([{}, {"apiKey": []}, {"session": []}]),
        _ => {}
    }
    operation
}

/// The names of the `{parameters}` in a path pattern.
pub fn path_params(path: &str) -> Vec<&str> {
    path.split('/').filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}'))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openapi_lists_every_api_route_once() {
        let doc = openapi_document();
        let paths = doc["paths"].as_object().unwrap();
        let api_routes = crate::routes::table().into_iter().filter(|r| r.surface == Surface::Api).count();
        let operations: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
        assert_eq!(operations, api_routes);
        assert_eq!(doc["paths"]["/healthz"]["get"]["x-warden-action"], "system.health");
        assert_eq!(path_params("/api/v1/models/{id}/versions/{version}"), vec!["id", "version"]);
    }
}
