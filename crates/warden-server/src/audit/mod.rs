//! The server's audit log: every state change and every authorisation decision, appended to an
//! RFC 6962 Merkle tree (with each entry also naming its predecessor's leaf hash) stored in the
//! database, with a signed C2SP checkpoint after every append. The cryptography is `warden-audit`;
//! this module stores it.
//!
//! Two ways in, one append path ([`append_batch`]):
//! - a state change is appended inside the handler's own transaction ([`AuditLog::change`]),
//!   so the change and its record commit together or not at all;
//! - authorisation decisions and sign-ins go through a queue to a writer task that appends
//!   whatever is waiting in one transaction (group commit); the request waits for its entry to be
//!   committed ([`AuditLog::record`]), so nothing is answered that is not on record.
//!
//! Appends are serialised across server instances by [`Store::serialize_audit`]. Tables:
//! `audit_entries` (seq, leaf hash, the exact entry bytes), `audit_hashes` (the tlog "stored
//! hashes": every complete subtree's hash, so proofs and tree heads need O(log n) reads) and
//! `audit_checkpoints` (the signed tree head of every size appended at).

pub mod api;
pub mod events;
pub mod pages;

use std::collections::HashMap;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use sqlx::{Any, Row, Transaction};
use tokio::sync::{mpsc, oneshot};
use warden_audit::tree::{self, PrefetchedHashes};
use warden_audit::{AuditEvent, CheckpointSigner, Hash};

pub use events::{Change, LoginRecord};

use crate::error::{ApiError, ApiResult};
use crate::store::Store;

/// Entries the writer task takes into one transaction at most.
const MAX_BATCH: usize = 512;
/// Queue length before callers wait.
const QUEUE: usize = 8192;

/// The audit log handle (cheap to clone).
#[derive(Clone)]
pub struct AuditLog {
    store: Store,
    signer: CheckpointSigner,
    queue: mpsc::Sender<Queued>,
    size_gauge: Gauge,
    appends: Counter,
}

struct Queued {
    event: AuditEvent,
    done: oneshot::Sender<Result<u64, String>>,
}

/// What an append produced.
#[derive(Debug, Clone)]
pub struct Appended {
    /// Sequence number of the first entry appended.
    pub first_seq: u64,
    /// The tree size after the append.
    pub size: u64,
}

impl AuditLog {
    /// Starts the writer task. Needs a running tokio runtime.
    pub fn start(store: Store, signer: CheckpointSigner, size_gauge: Gauge, appends: Counter) -> AuditLog {
        let (queue, receiver) = mpsc::channel(QUEUE);
        let log = AuditLog { store, signer, queue, size_gauge, appends };
        tokio::spawn(writer(log.clone(), receiver));
        log
    }

    /// The checkpoint signer's public verifier key (`<name>+<id>+<key>`).
    pub fn verifier_key(&self) -> &str {
        self.signer.verifier_key()
    }

    /// The log's origin line.
    pub fn origin(&self) -> &str {
        self.signer.origin()
    }

    /// Appends `event` through the writer task and waits until it is committed.
    pub async fn record(&self, event: AuditEvent) -> ApiResult<u64> {
        let (done, wait) = oneshot::channel();
        self.queue
            .send(Queued { event, done })
            .await
            .map_err(|_| ApiError::Unavailable("the audit log writer stopped".into()))?;
        match wait.await {
            Ok(Ok(seq)) => Ok(seq),
            Ok(Err(reason)) => Err(ApiError::Unavailable(format!("the audit log refused the entry: {reason}"))),
            Err(_) => Err(ApiError::Unavailable("the audit log writer stopped".into())),
        }
    }

    /// Appends `events` inside the caller's transaction (they commit with it).
    pub async fn append_in(&self, tx: &mut Transaction<'static, Any>, events: &[AuditEvent]) -> ApiResult<Appended> {
        let appended = append_batch(&self.store, tx, &self.signer, events).await?;
        self.appends.inc_by(events.len() as u64);
        self.size_gauge.set(i64::try_from(appended.size).unwrap_or(i64::MAX));
        Ok(appended)
    }
}

async fn writer(log: AuditLog, mut receiver: mpsc::Receiver<Queued>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let events: Vec<AuditEvent> = batch.iter().map(|q| q.event.clone()).collect();
        let result = async {
            let mut tx = log.store.begin().await?;
            let appended = log.append_in(&mut tx, &events).await?;
            tx.commit().await?;
            Ok::<_, ApiError>(appended)
        }
        .await;
        match result {
            Ok(appended) => {
                for (offset, queued) in batch.drain(..).enumerate() {
                    let _ = queued.done.send(Ok(appended.first_seq + offset as u64));
                }
            }
            Err(err) => {
                tracing::error!(%err, entries = batch.len(), "audit append failed");
                let reason = err.to_string();
                for queued in batch.drain(..) {
                    let _ = queued.done.send(Err(reason.clone()));
                }
            }
        }
    }
}

/// The one append path: encodes each event with its sequence number and predecessor, stores the
/// entry and the tlog stored hashes, then signs and stores the checkpoint of the new size.
async fn append_batch(store: &Store, tx: &mut Transaction<'static, Any>, signer: &CheckpointSigner, events: &[AuditEvent]) -> ApiResult<Appended> {
    store.serialize_audit(tx).await?;
    let last = sqlx::query("SELECT seq, leaf_hash FROM audit_entries ORDER BY seq DESC LIMIT 1").fetch_optional(&mut **tx).await?;
    let (mut size, mut prev) = match last {
        Some(row) => {
            let seq: i64 = row.try_get(0)?;
            let leaf: String = row.try_get(1)?;
            (to_u64(seq)? + 1, Some(parse_hash(&leaf)?))
        }
        None => (0, None),
    };
    let first_seq = size;
    let mut known = PrefetchedHashes(HashMap::new());
    for event in events {
        let data = warden_audit::entry::encode(size, prev.as_ref(), event).map_err(|e| ApiError::Internal(format!("audit entry: {e}")))?;
        let leaf = tree::leaf_hash(&data);
        let needed = tree::indexes_for_append(size).map_err(tree_error)?;
        fetch_missing(tx, &mut known, &needed).await?;
        let stored = tree::stored_hashes_for_leaf(size, leaf, &known).map_err(tree_error)?;
        let base = tree::stored_hash_index(0, size);
        for (offset, hash) in stored.iter().enumerate() {
            let index = base + offset as u64;
            sqlx::query("INSERT INTO audit_hashes (idx, hash) VALUES ($1, $2)")
                .bind(to_i64(index)?)
                .bind(hex::encode(hash.0))
                .execute(&mut **tx)
                .await?;
            known.0.insert(index, *hash);
        }
        let text = String::from_utf8(data).map_err(|e| ApiError::Internal(format!("audit entry is not UTF-8: {e}")))?;
        sqlx::query("INSERT INTO audit_entries (seq, leaf_hash, data, ts) VALUES ($1, $2, $3, $4)")
            .bind(to_i64(size)?)
            .bind(hex::encode(leaf.0))
            .bind(text)
            .bind(event.time_ms)
            .execute(&mut **tx)
            .await?;
        prev = Some(leaf);
        size += 1;
    }
    let needed = tree::indexes_for_tree_hash(size).map_err(tree_error)?;
    fetch_missing(tx, &mut known, &needed).await?;
    let root = tree::tree_hash(size, &known).map_err(tree_error)?;
    let note = signer.sign(size, &root).map_err(|e| ApiError::Internal(format!("checkpoint: {e}")))?;
    sqlx::query("INSERT INTO audit_checkpoints (size, root, note, ts) VALUES ($1, $2, $3, $4)")
        .bind(to_i64(size)?)
        .bind(hex::encode(root.0))
        .bind(note)
        .bind(crate::store::now_ms())
        .execute(&mut **tx)
        .await?;
    Ok(Appended { first_seq, size })
}

/// Loads the stored hashes in `needed` that `known` lacks.
async fn fetch_missing(conn: &mut sqlx::AnyConnection, known: &mut PrefetchedHashes, needed: &[u64]) -> ApiResult<()> {
    let missing: Vec<u64> = needed.iter().copied().filter(|i| !known.0.contains_key(i)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    for chunk in missing.chunks(200) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!("SELECT idx, hash FROM audit_hashes WHERE idx IN ({})", placeholders.join(", "));
        let mut query = sqlx::query(&sql);
        for index in chunk {
            query = query.bind(to_i64(*index)?);
        }
        for row in query.fetch_all(&mut *conn).await? {
            let index: i64 = row.try_get(0)?;
            let hash: String = row.try_get(1)?;
            known.0.insert(to_u64(index)?, parse_hash(&hash)?);
        }
    }
    Ok(())
}

/// Reads stored hashes for proofs and tree heads (outside any transaction).
pub async fn read_hashes(store: &Store, needed: &[u64]) -> ApiResult<PrefetchedHashes> {
    let mut known = PrefetchedHashes(HashMap::new());
    let mut conn = store.read.acquire().await?;
    fetch_missing(&mut conn, &mut known, needed).await?;
    Ok(known)
}

fn parse_hash(text: &str) -> ApiResult<Hash> {
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(text, &mut bytes).map_err(|_| ApiError::Internal(format!("stored audit hash `{text}` is not 32 hex bytes")))?;
    Ok(Hash(bytes))
}

fn tree_error(err: warden_audit::TreeError) -> ApiError {
    ApiError::Internal(format!("audit tree: {err}"))
}

fn to_i64(value: u64) -> ApiResult<i64> {
    i64::try_from(value).map_err(|_| ApiError::Internal("audit index overflow".into()))
}

fn to_u64(value: i64) -> ApiResult<u64> {
    u64::try_from(value).map_err(|_| ApiError::Internal("negative audit index in the database".into()))
}

/// The routes of this module.
pub fn routes() -> Vec<crate::routes::Route> {
    let mut routes = api::routes();
    routes.extend(pages::routes());
    routes
}
