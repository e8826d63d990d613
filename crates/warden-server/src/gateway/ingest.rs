//! Inference-traffic ingestion: `POST /api/v1/deployments/{id}/events` takes the JSON lines
//! `warden monitor` reads (`{"ts", "client_id", "input", "output"}`), streamed and bounded
//! ([`IngestLimits`]: line length, events per request, total bytes), and feeds them to the
//! deployment's detectors in this instance ([`super::memory`]).
//!
//! A request is all or nothing: every line is read and checked before any event reaches the
//! detectors, so a rejected request (400/413 naming the line) can be fixed and sent again without
//! counting its events twice. Events of clients blocked at the gateway are refused (named in the
//! answer) and not fed. Every alert becomes a finding (source `traffic`) on the deployment about
//! `client:<deployment>:<client>`, unless the same rule was raised about the same client within
//! the alert window (the detectors of another instance, or of this one before a restart, may have
//! raised it already); new findings go to incident intake once committed.

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Bytes;
use futures_util::{Stream, StreamExt};
use serde::Serialize;
use serde_json::json;
use sqlx::Row;
use warden_core::Finding;
use warden_monitor::detect::{Event, EventError, EventLimits, Input, parse_event};

use super::blocks::{self, BlockStatus, check_client_id, client_subject, require_deployment};
use super::memory::{self, MonitorStats};
use super::profile::{self, MAX_DIMS};
use crate::audit::Change;
use crate::error::{ApiError, ApiResult};
use crate::findings::{self, Attach, Source};
use crate::gate::Caller;
use crate::state::AppState;
use crate::store::now_ms;

/// Bounds on one ingestion request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IngestLimits {
    /// Longest event line, in bytes.
    pub max_line_bytes: usize,
    /// Most events per request.
    pub max_events: usize,
    /// Largest body, in bytes.
    pub max_body_bytes: usize,
}

impl Default for IngestLimits {
    fn default() -> Self {
        IngestLimits { max_line_bytes: 256 << 10, max_events: 10_000, max_body_bytes: 16 << 20 }
    }
}

impl IngestLimits {
    fn event_limits(&self) -> EventLimits {
        EventLimits { max_line_bytes: self.max_line_bytes, max_dims: MAX_DIMS, max_classes: 1024, max_client_id: blocks::MAX_CLIENT_ID }
    }
}

/// Most refused events named one by one in an answer (all are counted).
pub const MAX_NAMED_REFUSALS: usize = 1000;

/// Splits a streamed body into checked events, line by line, within the limits.
#[derive(Debug)]
pub struct EventReader {
    limits: IngestLimits,
    event_limits: EventLimits,
    pending: Vec<u8>,
    bytes: usize,
    line: u64,
    events: Vec<(u64, Event)>,
}

impl EventReader {
    /// A reader within `limits`.
    pub fn new(limits: IngestLimits) -> EventReader {
        EventReader { event_limits: limits.event_limits(), limits, pending: Vec::new(), bytes: 0, line: 0, events: Vec::new() }
    }

    /// Takes the next piece of the body.
    pub fn push(&mut self, mut chunk: &[u8]) -> ApiResult<()> {
        self.bytes = self.bytes.saturating_add(chunk.len());
        if self.bytes > self.limits.max_body_bytes {
            return Err(ApiError::TooLarge(format!(
                "the body is larger than {} bytes (reached within line {}); send the events in several requests",
                self.limits.max_body_bytes,
                self.line + 1
            )));
        }
        while let Some(end) = chunk.iter().position(|b| *b == b'\n') {
            self.append(&chunk[..end])?;
            let line = std::mem::take(&mut self.pending);
            self.take_line(&line)?;
            chunk = &chunk[end + 1..];
        }
        self.append(chunk)
    }

    fn append(&mut self, piece: &[u8]) -> ApiResult<()> {
        if self.pending.len() + piece.len() > self.limits.max_line_bytes {
            return Err(ApiError::TooLarge(format!(
                "line {} is longer than {} bytes: one event per line, each at most that long",
                self.line + 1,
                self.limits.max_line_bytes
            )));
        }
        self.pending.extend_from_slice(piece);
        Ok(())
    }

    fn take_line(&mut self, raw: &[u8]) -> ApiResult<()> {
        self.line += 1;
        let line = raw.trim_ascii();
        if line.is_empty() {
            return Ok(());
        }
        let n = self.line;
        if self.events.len() >= self.limits.max_events {
            return Err(ApiError::TooLarge(format!(
                "more than {} events in one request (line {n}); send them in several requests",
                self.limits.max_events
            )));
        }
        let event = parse_event(line, &self.event_limits).map_err(|e| match e {
            EventError::Limit(what, limit) => ApiError::TooLarge(format!("line {n}: the event's {what} exceeds the limit of {limit}")),
            EventError::Invalid(why) => ApiError::BadRequest(format!(
                "line {n}: not an event ({why}); each line is {{\"ts\": seconds or RFC 3339, \"client_id\": \"...\", \"input\": [numbers] or \"text\", \"output\": [probabilities] or \"label\"}}"
            )),
        })?;
        check_client_id(&event.client_id).map_err(|e| ApiError::BadRequest(format!("line {n}: {e}")))?;
        self.events.push((n, event));
        Ok(())
    }

    /// The events read, once the body has ended.
    pub fn finish(mut self) -> ApiResult<Vec<(u64, Event)>> {
        if !self.pending.is_empty() {
            let last = std::mem::take(&mut self.pending);
            self.take_line(&last)?;
        }
        if self.events.is_empty() {
            return Err(ApiError::BadRequest("no events: send JSON lines, one event {\"ts\", \"client_id\", \"input\", \"output\"} per line".into()));
        }
        Ok(self.events)
    }
}

/// Reads a streamed body into events within `limits`.
pub async fn read_events<S, E>(body: S, limits: IngestLimits) -> ApiResult<Vec<(u64, Event)>>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: std::fmt::Display,
{
    let mut reader = EventReader::new(limits);
    let mut body = std::pin::pin!(body);
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest(format!("the body was interrupted: {e}")))?;
        reader.push(&chunk)?;
    }
    reader.finish()
}

/// An event the gateway should not have served: its client is blocked.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RefusedEvent {
    /// Its line in the request.
    pub line: u64,
    /// The blocked client.
    pub client_id: String,
}

/// A blocked client that sent events in the request.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BlockedClient {
    /// The client.
    pub client_id: String,
    /// Its events in the request, all refused.
    pub events: usize,
    /// The block in force.
    pub block: BlockStatus,
}

/// An alert the detectors raised in this request.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AlertOutcome {
    /// The stored finding (the earlier one when deduplicated).
    pub finding_id: String,
    /// The rule.
    pub rule_id: String,
    /// Its severity.
    pub severity: String,
    /// The client.
    pub client_id: String,
    /// `client:<deployment>:<client>`.
    pub subject: String,
    /// The same rule was raised about the client within the alert window: no new finding.
    pub deduplicated: bool,
}

/// The answer to an ingestion.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IngestReport {
    /// Events in the request.
    pub received: usize,
    /// Events fed to the detectors.
    pub accepted: usize,
    /// Events refused because their client is blocked.
    pub refused: usize,
    /// The refused events (the first 1000).
    pub refused_events: Vec<RefusedEvent>,
    /// The blocked clients that sent them.
    pub blocked_clients: Vec<BlockedClient>,
    /// Alerts raised.
    pub alerts: Vec<AlertOutcome>,
    /// What the detectors could not use (e.g. inputs whose dimensions differ from the profile's).
    pub warnings: Vec<String>,
    /// This instance's detectors for the deployment after the request.
    pub detectors: MonitorStats,
}

/// Above this many clients not in the cache, the open blocks of the deployment are read at once.
const BULK_BLOCK_LOOKUP: usize = 32;

/// The block in force for each of `clients`.
async fn blocked_among(app: &AppState, deployment_id: &str, clients: &BTreeSet<&str>) -> ApiResult<BTreeMap<String, BlockStatus>> {
    let memory = memory::of(app);
    let now = now_ms();
    let mut out = BTreeMap::new();
    let mut unknown = Vec::new();
    for client in clients {
        match memory.cached_block(deployment_id, client) {
            Some(Some(status)) if status.expires_at.is_none_or(|t| t > now) => {
                out.insert((*client).to_owned(), status);
            }
            Some(_) => {}
            None => unknown.push(*client),
        }
    }
    if unknown.len() <= BULK_BLOCK_LOOKUP {
        for client in unknown {
            if let Some(status) = blocks::block_status(app, deployment_id, client).await? {
                out.insert(client.to_owned(), status);
            }
        }
        return Ok(out);
    }
    let rows = sqlx::query("SELECT client_id, id, reason, created_at, expires_at, incident_id, blocked_by FROM gateway_blocks WHERE deployment_id = $1 AND lifted_at IS NULL")
        .bind(deployment_id)
        .fetch_all(&app.store.read)
        .await?;
    let mut open = BTreeMap::new();
    for row in &rows {
        let status = BlockStatus {
            id: row.try_get(1)?,
            reason: row.try_get(2)?,
            since: row.try_get(3)?,
            expires_at: row.try_get(4)?,
            incident_id: row.try_get(5)?,
            blocked_by: row.try_get(6)?,
        };
        open.insert(row.try_get::<String, _>(0)?, status);
    }
    for client in unknown {
        let status = open.remove(client);
        memory.remember_block(deployment_id, client, status.clone());
        if let Some(status) = status.filter(|s| s.expires_at.is_none_or(|t| t > now)) {
            out.insert(client.to_owned(), status);
        }
    }
    Ok(out)
}

fn dims(event: &Event) -> usize {
    match &event.input {
        Input::Vector(v) => v.len(),
        Input::Text(_) => warden_monitor::detect::text_features("").len(),
    }
}

/// Feeds the events of a request to `deployment_id`'s detectors and stores what they raise.
pub async fn ingest(app: &AppState, caller: &Caller, deployment_id: &str, events: Vec<(u64, Event)>) -> ApiResult<IngestReport> {
    let deployment = require_deployment(app, deployment_id).await?;
    if deployment.retired {
        return Err(ApiError::Conflict(format!("deployment `{}` is retired; it serves no traffic", deployment.name)));
    }
    let received = events.len();
    let clients: BTreeSet<&str> = events.iter().map(|(_, e)| e.client_id.as_str()).collect();
    let blocked = blocked_among(app, deployment_id, &clients).await?;
    let (refused, accepted): (Vec<_>, Vec<_>) = events.into_iter().partition(|(_, e)| blocked.contains_key(&e.client_id));
    let mut blocked_clients: Vec<BlockedClient> = blocked
        .into_iter()
        .map(|(client_id, block)| BlockedClient { events: refused.iter().filter(|(_, e)| e.client_id == client_id).count(), client_id, block })
        .collect();
    blocked_clients.sort_by(|a, b| a.client_id.cmp(&b.client_id));
    let refused_events = refused.iter().take(MAX_NAMED_REFUSALS).map(|(line, e)| RefusedEvent { line: *line, client_id: e.client_id.clone() }).collect();

    let settings = profile::settings(app, deployment_id).await?;
    let mut warnings = Vec::new();
    if let Some(profile) = &settings.profile {
        let expected = profile.mean.len();
        let off: Vec<u64> = accepted.iter().filter(|(_, e)| matches!(&e.input, Input::Vector(v) if v.len() != expected)).map(|(l, _)| *l).collect();
        if let Some(first) = off.first() {
            warnings.push(format!(
                "{} events (first on line {first}) have inputs of other dimensions than the reference profile's {expected}; the input-anomaly detector skipped them",
                off.len()
            ));
        }
    }
    let memory = memory::of(app);
    let accepted_count = accepted.len();
    let raised = match accepted.first() {
        // Nothing to feed: no detectors are built for refused traffic alone.
        None => Vec::new(),
        Some((_, first)) => {
            let reference = settings.profile.as_ref().map(profile::StoredProfile::reference);
            let monitor = memory.monitor(deployment_id, settings.version, dims(first), move || reference);
            // The detectors are CPU work (distances to earlier queries): off the async threads.
            tokio::task::spawn_blocking(move || {
                let mut monitor = memory::lock(&monitor);
                accepted.iter().flat_map(|(line, event)| monitor.observe(event, Some(*line))).map(|alert| alert.finding).collect::<Vec<Finding>>()
            })
            .await
            .map_err(|e| ApiError::Internal(format!("the detectors failed: {e}")))?
        }
    };

    let alerts = store_alerts(app, caller, &deployment, raised, accepted_count, refused.len()).await?;
    app.metrics.event("traffic.ingest");
    Ok(IngestReport {
        received,
        accepted: accepted_count,
        refused: refused.len(),
        refused_events,
        blocked_clients,
        alerts,
        warnings,
        detectors: memory.monitor_stats(deployment_id).unwrap_or_default(),
    })
}

/// The traffic counts of `deployment_id`, all instances together: requests, events, refused
/// events, alerts and the last ingestion.
pub async fn counts(app: &AppState, deployment_id: &str) -> ApiResult<(i64, i64, i64, i64, Option<i64>)> {
    let row = sqlx::query("SELECT requests, events, refused, alerts, last_at FROM traffic_counts WHERE deployment_id = $1")
        .bind(deployment_id)
        .fetch_optional(&app.store.read)
        .await?;
    Ok(match row {
        Some(row) => (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?, row.try_get(3)?, Some(row.try_get(4)?)),
        None => (0, 0, 0, 0, None),
    })
}

/// Stores the detectors' findings (deduplicated per rule and client within the alert window) and
/// the deployment's traffic counts, in one transaction with the audit entry; then intake.
async fn store_alerts(app: &AppState, caller: &Caller, deployment: &blocks::AssetRef, raised: Vec<Finding>, accepted: usize, refused: usize) -> ApiResult<Vec<AlertOutcome>> {
    let now = now_ms();
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    let mut tx = app.store.begin().await?;
    let mut outcomes = Vec::with_capacity(raised.len());
    let mut new_ids = Vec::new();
    if !raised.is_empty() {
        // Instances check and insert one after another, so one client's alert is stored once.
        app.store.serialize_audit(&mut tx).await?;
    }
    let since = now - i64::try_from(app.config.alerts.window.as_millis()).unwrap_or(i64::MAX);
    for mut finding in raised {
        let client = finding.location.client_id.clone().unwrap_or_default();
        let subject = client_subject(&deployment.id, &client);
        let earlier: Option<String> = sqlx::query_scalar(
            "SELECT id FROM findings WHERE source = 'traffic' AND rule_id = $1 AND subject = $2 AND created_at > $3 ORDER BY created_at DESC LIMIT 1",
        )
        .bind(finding.rule_id.as_str())
        .bind(&subject)
        .bind(since)
        .fetch_optional(&mut *tx)
        .await?;
        let deduplicated = earlier.is_some();
        let finding_id = match earlier {
            Some(id) => id,
            None => {
                finding.message = format!("client `{client}` of `{}`: {}", deployment.name, finding.message);
                finding.location.path = format!("deployment:{}", deployment.name);
                if let Some(evidence) = &mut finding.evidence {
                    evidence.push_str("; detector state of one server instance");
                }
                let attach = Attach { asset_id: Some(&deployment.id), version_id: None, subject: &subject };
                let id = findings::insert(&mut tx, Source::Traffic, &attach, &finding).await?;
                new_ids.push(id.clone());
                app.metrics.event(&format!("traffic.{}", finding.rule_id));
                tracing::warn!(rule = %finding.rule_id, deployment = %deployment.name, %client, "attack pattern in inference traffic");
                id
            }
        };
        outcomes.push(AlertOutcome {
            finding_id,
            rule_id: finding.rule_id.to_string(),
            severity: finding.severity.as_str().to_owned(),
            client_id: client,
            subject,
            deduplicated,
        });
    }
    sqlx::query(
        "INSERT INTO traffic_counts (deployment_id, requests, events, refused, alerts, last_at) VALUES ($1, 1, $2, $3, $4, $5) \
         ON CONFLICT (deployment_id) DO UPDATE SET requests = traffic_counts.requests + 1, events = traffic_counts.events + $2, \
         refused = traffic_counts.refused + $3, alerts = traffic_counts.alerts + $4, last_at = $5",
    )
    .bind(&deployment.id)
    .bind(count(accepted))
    .bind(count(refused))
    .bind(count(new_ids.len()))
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if !new_ids.is_empty() {
        let raised: Vec<_> = outcomes.iter().filter(|o| !o.deduplicated).map(|o| json!({"finding": o.finding_id, "rule": o.rule_id, "client": o.client_id})).collect();
        let change = Change::create("traffic.alert", "asset", &deployment.id)
            .named(deployment.name.clone())
            .detail(json!({"findings": raised, "events": accepted, "refused": refused}));
        app.audit.change(&mut tx, caller, change).await?;
    }
    tx.commit().await?;
    crate::incidents::intake_after_commit(app, &new_ids).await;
    Ok(outcomes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(limits: IngestLimits, chunks: &[&[u8]]) -> ApiResult<Vec<(u64, Event)>> {
        let mut reader = EventReader::new(limits);
        for chunk in chunks {
            reader.push(chunk)?;
        }
        reader.finish()
    }

    const EVENT: &[u8] = br#"{"ts":1,"client_id":"c","input":[1,2],"output":[0.5,0.5]}"#;

    #[test]
    fn lines_split_across_chunks_are_joined_and_numbered() {
        let body = [EVENT, b"\n\n", EVENT].concat();
        let (a, b) = body.split_at(20);
        let events = read(IngestLimits::default(), &[a, b]).unwrap();
        assert_eq!(events.iter().map(|(l, _)| *l).collect::<Vec<_>>(), vec![1, 3], "blank lines count");
    }

    #[test]
    fn limits_name_the_line() {
        let long = [EVENT, b"\n", &[b' '; 300], EVENT].concat();
        let err = read(IngestLimits { max_line_bytes: 200, ..IngestLimits::default() }, &[&long]).unwrap_err();
        assert!(matches!(err, ApiError::TooLarge(_)) && err.to_string().contains("line 2 is longer than 200 bytes"), "{err}");
        let three = [EVENT, b"\n", EVENT, b"\n", EVENT].concat();
        let err = read(IngestLimits { max_events: 2, ..IngestLimits::default() }, &[&three]).unwrap_err();
        assert!(err.to_string().contains("more than 2 events in one request (line 3)"), "{err}");
        let err = read(IngestLimits { max_body_bytes: 100, ..IngestLimits::default() }, &[&three]).unwrap_err();
        assert!(matches!(err, ApiError::TooLarge(_)), "{err}");
        let bad = [EVENT, b"\n{\"ts\":1}\n"].concat();
        let err = read(IngestLimits::default(), &[&bad]).unwrap_err();
        assert!(matches!(err, ApiError::BadRequest(_)) && err.to_string().starts_with("line 2: not an event"), "{err}");
        let control = br#"{"ts":1,"client_id":"a\u0007b","input":[1]}"#;
        assert!(read(IngestLimits::default(), &[control]).unwrap_err().to_string().starts_with("line 1: "));
        assert!(read(IngestLimits::default(), &[b"\n \n"]).is_err(), "no events");
    }
}
