//! Extractors for API handlers whose refusals are the API's own JSON errors: axum's `Json` and
//! `Query` answer a malformed body or query string with a plain-text 400/415/422, which the
//! OpenAPI document cannot describe and clients cannot parse like every other error. Request
//! bodies are JSON objects: serde would also read a struct from an array of its fields
//! (`[null, null]`), which no client means and the document does not allow.

use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequest, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ApiError;

/// A JSON object as the request body; a refusal is a JSON 400 (413 when too large) naming what
/// is wrong.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonBody<T>(pub T);

/// A query string; a refusal is a JSON 400 naming the parameter that does not parse.
#[derive(Debug, Clone, Copy, Default)]
pub struct QueryParams<T>(pub T);

fn refusal(status: StatusCode, text: String) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE { ApiError::TooLarge(text) } else { ApiError::BadRequest(text) }
}

/// `value` as a `T`, when it is a JSON object; `what` names the body in the refusal.
pub fn from_object<T: DeserializeOwned>(value: Value, what: &str) -> Result<T, ApiError> {
    if !value.is_object() {
        return Err(ApiError::BadRequest(format!("invalid {what}: expected a JSON object")));
    }
    serde_json::from_value(value).map_err(|e| ApiError::BadRequest(format!("invalid {what}: {e}")))
}

/// Parses `bytes` as a JSON object into a `T` (for handlers that read the raw body themselves).
pub fn parse_object<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, ApiError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| ApiError::BadRequest(format!("invalid {what}: {e}")))?;
    from_object(value, what)
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match <axum::Json<Value> as FromRequest<S>>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(JsonBody(from_object(value, "body")?)),
            Err(rejection) => Err(refusal(rejection.status(), rejection.body_text())),
        }
    }
}

impl<T: DeserializeOwned, S: Send + Sync> OptionalFromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    /// No body (no JSON content type) is `None`; a body that is not the JSON expected is refused.
    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, Self::Rejection> {
        match <axum::Json<Value> as OptionalFromRequest<S>>::from_request(req, state).await {
            Ok(Some(axum::Json(value))) => Ok(Some(JsonBody(from_object(value, "body")?))),
            Ok(None) => Ok(None),
            Err(rejection) => Err(refusal(rejection.status(), rejection.body_text())),
        }
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(QueryParams(value)),
            Err(rejection) => Err(refusal(rejection.status(), rejection.body_text())),
        }
    }
}

/// Path parameters; a parameter that does not parse (`/steps/x/approve`) is a JSON 400.
#[derive(Debug, Clone, Copy, Default)]
pub struct PathParams<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for PathParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(PathParams(value)),
            Err(rejection) => Err(refusal(StatusCode::BAD_REQUEST, rejection.body_text())),
        }
    }
}
