//! The audit log over HTTP: entries, signed checkpoints, inclusion and consistency proofs, and
//! the JSON-lines export (`warden audit verify` checks it offline against a checkpoint).

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{Method, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::Row;
use warden_audit::tree;
use warden_audit::{ConsistencyProof, InclusionProof};

use super::read_hashes;
use crate::authz::actions;
use crate::error::{ApiError, ApiResult};
use crate::extract::QueryParams;
use crate::routes::Route;
use crate::state::AppState;

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    vec![
        Route::api(Method::GET, "/api/v1/audit/entries", actions::AUDIT_READ, entries).query::<Page>().returns_list::<EntryView>(),
        Route::api(Method::GET, "/api/v1/audit/checkpoint", actions::AUDIT_READ, checkpoint).returns_raw("text/plain"),
        Route::api(Method::GET, "/api/v1/audit/checkpoints", actions::AUDIT_READ, checkpoints).query::<CheckpointPage>().returns_list::<CheckpointView>(),
        Route::api(Method::GET, "/api/v1/audit/key", actions::AUDIT_READ, verifier_key).returns_raw("text/plain"),
        Route::api(Method::GET, "/api/v1/audit/proof/inclusion", actions::AUDIT_READ, inclusion).query::<InclusionQuery>().returns::<InclusionAnswer>(),
        Route::api(Method::GET, "/api/v1/audit/proof/consistency", actions::AUDIT_READ, consistency)
            .query::<ConsistencyQuery>()
            .returns::<ConsistencyAnswer>(),
        Route::api(Method::GET, "/api/v1/audit/export", actions::AUDIT_EXPORT, export).query::<ExportQuery>().returns_raw("application/x-ndjson"),
    ]
}

/// Paging of entries.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
struct Page {
    /// First sequence number (default 0).
    from: Option<i64>,
    /// How many (default 100, at most 1000).
    limit: Option<i64>,
    /// Newest first instead.
    #[serde(default)]
    newest: bool,
}

/// One audit entry as the API returns it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EntryView {
    /// Position in the log.
    pub seq: i64,
    /// RFC 6962 leaf hash, hex.
    pub leaf_hash: String,
    /// The entry (an OCSF event).
    #[schema(value_type = Object)]
    pub entry: Value,
}

/// Reads entries.
pub async fn list_entries(app: &AppState, from: i64, limit: i64, newest: bool) -> ApiResult<Vec<EntryView>> {
    let limit = limit.clamp(1, 1000);
    let sql = if newest {
        "SELECT seq, leaf_hash, data FROM audit_entries ORDER BY seq DESC LIMIT $1"
    } else {
        "SELECT seq, leaf_hash, data FROM audit_entries WHERE seq >= $2 ORDER BY seq LIMIT $1"
    };
    let mut query = sqlx::query(sql).bind(limit);
    if !newest {
        query = query.bind(from.max(0));
    }
    let rows = query.fetch_all(&app.store.read).await?;
    rows.iter()
        .map(|row| {
            let data: String = row.try_get(2)?;
            Ok(EntryView { seq: row.try_get(0)?, leaf_hash: row.try_get(1)?, entry: serde_json::from_str(&data).unwrap_or(Value::String(data)) })
        })
        .collect()
}

async fn entries(State(app): State<AppState>, QueryParams(page): QueryParams<Page>) -> ApiResult<Json<Vec<EntryView>>> {
    Ok(Json(list_entries(&app, page.from.unwrap_or(0), page.limit.unwrap_or(100), page.newest).await?))
}

/// The newest checkpoint: (size, signed note).
pub async fn latest_checkpoint(app: &AppState) -> ApiResult<Option<(i64, String)>> {
    let row = sqlx::query("SELECT size, note FROM audit_checkpoints ORDER BY size DESC LIMIT 1").fetch_optional(&app.store.read).await?;
    Ok(match row {
        Some(row) => Some((row.try_get(0)?, row.try_get(1)?)),
        None => None,
    })
}

async fn checkpoint(State(app): State<AppState>) -> ApiResult<Response> {
    let (_, note) = latest_checkpoint(&app).await?.ok_or_else(|| ApiError::NotFound("the audit log is empty".into()))?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], note).into_response())
}

/// A stored checkpoint: a C2SP signed note over the tree of the first `size` entries.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct CheckpointView {
    /// The tree size.
    size: i64,
    /// The RFC 6962 root hash, hex.
    root: String,
    /// The signed note (verify it with `GET /api/v1/audit/key`).
    note: String,
    /// When it was signed (unix ms).
    ts: i64,
}

/// Paging of checkpoints.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
struct CheckpointPage {
    /// Smallest tree size (default 0).
    from_size: Option<i64>,
    /// How many (default 100, at most 1000).
    limit: Option<i64>,
}

async fn checkpoints(State(app): State<AppState>, QueryParams(page): QueryParams<CheckpointPage>) -> ApiResult<Json<Vec<CheckpointView>>> {
    let rows = sqlx::query("SELECT size, root, note, ts FROM audit_checkpoints WHERE size >= $1 ORDER BY size LIMIT $2")
        .bind(page.from_size.unwrap_or(0))
        .bind(page.limit.unwrap_or(100).clamp(1, 1000))
        .fetch_all(&app.store.read)
        .await?;
    let views = rows
        .iter()
        .map(|row| Ok(CheckpointView { size: row.try_get(0)?, root: row.try_get(1)?, note: row.try_get(2)?, ts: row.try_get(3)? }))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(views))
}

async fn verifier_key(State(app): State<AppState>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{}\n", app.audit.verifier_key())).into_response()
}

/// Which inclusion proof.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
struct InclusionQuery {
    /// The entry's sequence number.
    index: u64,
    /// The tree size (default: the latest checkpoint's).
    size: Option<u64>,
}

/// An inclusion proof with the checkpoint it proves against.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct InclusionAnswer {
    /// The RFC 6962 inclusion proof (warden-audit's encoding).
    #[schema(value_type = Object)]
    proof: InclusionProof,
    /// The signed note of the tree the proof is against.
    checkpoint: String,
}

async fn inclusion(State(app): State<AppState>, QueryParams(q): QueryParams<InclusionQuery>) -> ApiResult<Json<InclusionAnswer>> {
    let (size, note) = checkpoint_at(&app, q.size).await?;
    if q.index >= size {
        return Err(ApiError::BadRequest(format!("entry {} is not in a tree of {size} entries", q.index)));
    }
    let needed = tree::indexes_for_inclusion(q.index, size).map_err(bad_proof)?;
    let hashes = read_hashes(&app.store, &needed).await?;
    let proof = tree::prove_inclusion(q.index, size, &hashes).map_err(bad_proof)?;
    Ok(Json(InclusionAnswer { proof, checkpoint: note }))
}

/// Which consistency proof.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
struct ConsistencyQuery {
    /// The older tree size.
    old: u64,
    /// The newer tree size (default: the latest checkpoint's).
    new: Option<u64>,
}

/// A consistency proof with both checkpoints.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ConsistencyAnswer {
    /// The RFC 6962 consistency proof (warden-audit's encoding).
    #[schema(value_type = Object)]
    proof: ConsistencyProof,
    /// The signed note of the older tree.
    old_checkpoint: String,
    /// The signed note of the newer tree.
    new_checkpoint: String,
}

async fn consistency(State(app): State<AppState>, QueryParams(q): QueryParams<ConsistencyQuery>) -> ApiResult<Json<ConsistencyAnswer>> {
    let (new_size, new_note) = checkpoint_at(&app, q.new).await?;
    if q.old == 0 || q.old > new_size {
        return Err(ApiError::BadRequest(format!("the old size must be between 1 and {new_size}")));
    }
    let (_, old_note) = checkpoint_at(&app, Some(q.old)).await?;
    let needed = tree::indexes_for_consistency(q.old, new_size).map_err(bad_proof)?;
    let hashes = read_hashes(&app.store, &needed).await?;
    let proof = tree::prove_consistency(q.old, new_size, &hashes).map_err(bad_proof)?;
    Ok(Json(ConsistencyAnswer { proof, old_checkpoint: old_note, new_checkpoint: new_note }))
}

/// The checkpoint of tree size `size` (the latest when `None`).
async fn checkpoint_at(app: &AppState, size: Option<u64>) -> ApiResult<(u64, String)> {
    let row = match size {
        Some(size) => {
            let size = i64::try_from(size).map_err(|_| ApiError::BadRequest("size too large".into()))?;
            sqlx::query("SELECT size, note FROM audit_checkpoints WHERE size = $1").bind(size).fetch_optional(&app.store.read).await?
        }
        None => sqlx::query("SELECT size, note FROM audit_checkpoints ORDER BY size DESC LIMIT 1").fetch_optional(&app.store.read).await?,
    };
    let row = row.ok_or_else(|| ApiError::NotFound("no checkpoint of that size (checkpoints exist for every size an append ended at)".into()))?;
    let size: i64 = row.try_get(0)?;
    Ok((u64::try_from(size).unwrap_or(0), row.try_get(1)?))
}

fn bad_proof(err: warden_audit::TreeError) -> ApiError {
    ApiError::BadRequest(format!("cannot prove that: {err}"))
}

/// Range of the export.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
struct ExportQuery {
    /// First sequence number (default 0).
    from: Option<i64>,
    /// One past the last (default: everything).
    to: Option<i64>,
}

async fn export(State(app): State<AppState>, QueryParams(q): QueryParams<ExportQuery>) -> Response {
    const PAGE: i64 = 1000;
    let end = q.to.unwrap_or(i64::MAX);
    let start = q.from.unwrap_or(0).max(0);
    let stream = futures_util::stream::unfold(Some(start), move |next| {
        let app = app.clone();
        async move {
            let from = next?;
            if from >= end {
                return None;
            }
            let rows = sqlx::query("SELECT seq, data FROM audit_entries WHERE seq >= $1 AND seq < $2 ORDER BY seq LIMIT $3")
                .bind(from)
                .bind(end)
                .bind(PAGE)
                .fetch_all(&app.store.read)
                .await;
            match rows {
                Ok(rows) if rows.is_empty() => None,
                Ok(rows) => {
                    let mut chunk = Vec::new();
                    let mut last = from;
                    for row in &rows {
                        last = row.try_get::<i64, _>(0).unwrap_or(last);
                        chunk.extend_from_slice(row.try_get::<String, _>(1).unwrap_or_default().as_bytes());
                        chunk.push(b'\n');
                    }
                    let more = (rows.len() as i64 == PAGE).then_some(last + 1);
                    Some((Ok::<Bytes, std::io::Error>(Bytes::from(chunk)), more))
                }
                Err(err) => Some((Err(std::io::Error::other(err.to_string())), None)),
            }
        }
    });
    (
        [(header::CONTENT_TYPE, "application/x-ndjson"), (header::CONTENT_DISPOSITION, "attachment; filename=\"warden-audit.jsonl\"")],
        Body::from_stream(stream),
    )
        .into_response()
}
