//! Probes, metrics and the OpenAPI document.

use axum::Json;
use axum::extract::State;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::authz::actions;
use crate::routes::{Route, Surface, Target};
use crate::state::AppState;

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    vec![
        Route::api(Method::GET, "/healthz", actions::SYSTEM_HEALTH, healthz),
        Route::api(Method::GET, "/readyz", actions::SYSTEM_HEALTH, readyz),
        Route::api(Method::GET, "/metrics", actions::SYSTEM_METRICS, metrics),
        Route::api(Method::GET, "/api/v1/openapi.json", actions::SYSTEM_OPENAPI, openapi),
    ]
}

/// Liveness: the process answers.
async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// Readiness: the database answers.
async fn readyz(State(app): State<AppState>) -> Response {
    match app.store.ping().await {
        Ok(()) => Json(json!({"status": "ready"})).into_response(),
        Err(err) => {
            tracing::warn!(%err, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "unavailable", "reason": "database"}))).into_response()
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

/// The OpenAPI 3.1 description of the JSON API, generated from the route table so that it
/// lists every route, the action each needs and how to authenticate.
pub fn openapi_document() -> Value {
    let mut paths = serde_json::Map::new();
    let mut schemas = serde_json::Map::new();
    schemas.insert(
        "ErrorBody".into(),
        json!({
            "type": "object",
            "required": ["error"],
            "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}
        }),
    );
    let mut reference = |doc: crate::routes::DocSchema| {
        for (name, schema) in doc.components {
            schemas.entry(name).or_insert(schema);
        }
        let name = doc.name.clone();
        schemas.entry(doc.name).or_insert(doc.schema);
        let one = json!({"$ref": format!("#/components/schemas/{name}")});
        if doc.list { json!({"type": "array", "items": one}) } else { one }
    };
    for route in crate::routes::table() {
        if route.surface != Surface::Api {
            continue;
        }
        let meta = route.meta();
        let params: Vec<Value> = path_params(meta.path)
            .into_iter()
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let public = meta.action.group == actions::Group::Public;
        let mut operation = json!({
            "summary": meta.action.description,
            "operationId": format!("{}:{}", meta.method.to_lowercase(), meta.path),
            "tags": [meta.action.name.split('.').next().unwrap_or("api")],
            "x-warden-action": meta.action.name,
            "x-warden-scope": meta.action.group.name(),
            "parameters": params,
            "responses": {
                "200": {"description": "success"},
                "400": {"$ref": "#/components/responses/Error"},
                "401": {"$ref": "#/components/responses/Error"},
                "403": {"$ref": "#/components/responses/Error"},
                "404": {"$ref": "#/components/responses/Error"}
            }
        });
        if let Some(body) = route.body {
            operation["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": reference(body())}}});
        }
        if let Some(answer) = route.answer {
            operation["responses"]["200"] = json!({"description": "success", "content": {"application/json": {"schema": reference(answer())}}});
        }
        if let Target::Asset(param) = meta.target {
            operation["x-warden-resource"] = json!(format!("Warden::Asset (path parameter `{param}`)"));
        }
        if public {
            operation["security"] = json!([]);
        }
        let entry = paths.entry(meta.path.to_owned()).or_insert_with(|| json!({}));
        entry[meta.method.to_lowercase()] = operation;
    }
    json!({
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
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
                }
            },
            "schemas": schemas
        },
        "security": [{"apiKey": []}, {"session": []}]
    })
}

fn path_params(path: &str) -> Vec<&str> {
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
