//! The journal of playbook runs: every step start, retry, outcome, approval and notification is a
//! row of `playbook_events` and an audit entry, written in the transaction of the state change it
//! describes. The rows are also the outbox of the incident timeline: after the commit they are
//! posted to the incident with `incidents::record_event` under a short claim, and a row whose
//! posting failed (or whose poster crashed) is posted again by the runner, so nothing a playbook
//! did is missing from the incident.

use serde::Serialize;
use serde_json::{Value, json};
use sqlx::{Any, Row, Transaction};

use crate::actor::Actor;
use crate::audit::Change;
use crate::error::ApiResult;
use crate::incidents::{self, IncidentEvent};
use crate::state::AppState;
use crate::store::{new_id, now_ms};

/// How long one instance holds an event it is posting.
const CLAIM_MS: i64 = 30_000;

/// What a journal entry is about: a run of a playbook on an incident.
#[derive(Debug, Clone)]
pub struct RunRef<'a> {
    /// The run.
    pub run_id: &'a str,
    /// The playbook.
    pub playbook_id: &'a str,
    /// The incident.
    pub incident_id: &'a str,
    /// A dry run (drill).
    pub dry_run: bool,
}

impl RunRef<'_> {
    /// The automation name the audit log and the timeline show (`playbook:<id>`).
    pub fn actor_name(&self) -> String {
        format!("playbook:{}", self.playbook_id)
    }
}

/// One journal entry.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Dotted kind: `playbook.step.succeeded`, `playbook.approval.requested`, ...
    pub kind: &'static str,
    /// The step it concerns, if any.
    pub step: Option<i64>,
    /// For people.
    pub text: String,
    /// Details (a JSON object).
    pub data: Value,
}

/// Appends `entry` about `run` inside `tx`: a journal row and a system audit entry.
pub async fn write(app: &AppState, tx: &mut Transaction<'static, Any>, run: &RunRef<'_>, entry: Entry) -> ApiResult<()> {
    let mut data = entry.data;
    if let Some(map) = data.as_object_mut() {
        map.insert("run_id".into(), json!(run.run_id));
        map.insert("playbook_id".into(), json!(run.playbook_id));
        if let Some(step) = entry.step {
            map.insert("step".into(), json!(step));
        }
        if run.dry_run {
            map.insert("dry_run".into(), json!(true));
        }
    }
    let now = now_ms();
    sqlx::query("INSERT INTO playbook_events (id, run_id, incident_id, step_idx, kind, text, data, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
        .bind(new_id())
        .bind(run.run_id)
        .bind(run.incident_id)
        .bind(entry.step)
        .bind(entry.kind)
        .bind(&entry.text)
        .bind(data.to_string())
        .bind(now)
        .execute(&mut **tx)
        .await?;
    let mut detail = data;
    if let Some(map) = detail.as_object_mut() {
        map.insert("text".into(), json!(entry.text));
    }
    let change = Change::update(entry.kind, "playbook_run", run.run_id).also("incident", run.incident_id).detail(detail);
    let who = run.actor_name();
    Actor::System(&who).record(app, tx, change).await?;
    Ok(())
}

/// One journal row, as the run page and the drill report show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JournalRow {
    /// Dotted kind.
    pub kind: String,
    /// The step, if any.
    pub step: Option<i64>,
    /// For people.
    pub text: String,
    /// Details.
    #[schema(value_type = Object)]
    pub data: Value,
    /// When (unix ms).
    pub at: i64,
    /// Whether it is in the incident's timeline yet.
    pub posted: bool,
}

impl JournalRow {
    /// When, for people.
    pub fn when(&self) -> String {
        crate::ui::fmt_time(self.at)
    }
}

/// The journal of run `run_id`, oldest first.
pub async fn of_run(app: &AppState, run_id: &str) -> ApiResult<Vec<JournalRow>> {
    let rows = sqlx::query("SELECT kind, step_idx, text, data, created_at, posted_at FROM playbook_events WHERE run_id = $1 ORDER BY created_at, id")
        .bind(run_id)
        .fetch_all(&app.store.read)
        .await?;
    rows.iter()
        .map(|row| {
            let data: String = row.try_get(3)?;
            Ok(JournalRow {
                kind: row.try_get(0)?,
                step: row.try_get(1)?,
                text: row.try_get(2)?,
                data: serde_json::from_str(&data).unwrap_or(Value::Null),
                at: row.try_get(4)?,
                posted: row.try_get::<Option<i64>, _>(5)?.is_some(),
            })
        })
        .collect()
}

/// Posts one journal row: a status change as `incidents::advance` (which records it on the
/// timeline itself), anything else as a timeline event.
async fn post(app: &AppState, incident_id: &str, event: IncidentEvent) -> ApiResult<()> {
    if event.kind != super::progress::ADVANCE {
        return incidents::record_event(app, incident_id, event).await;
    }
    let to = event.data.get("to").and_then(Value::as_str).and_then(incidents::Status::parse);
    let Some(to) = to else { return Ok(()) };
    let note = event.data.get("note").and_then(Value::as_str).unwrap_or_default().to_owned();
    incidents::advance(app, Actor::System(&event.actor), incident_id, to, &note).await?;
    Ok(())
}

/// Posts journal rows not yet in their incident's timeline (all of them, or only `run_id`'s),
/// oldest first. Failures are logged and left for the next call.
pub async fn post_pending(app: &AppState, run_id: Option<&str>) {
    if let Err(err) = try_post_pending(app, run_id).await {
        tracing::warn!(%err, "posting playbook events to incident timelines failed; retrying later");
    }
}

async fn try_post_pending(app: &AppState, run_id: Option<&str>) -> ApiResult<()> {
    let now = now_ms();
    let rows = sqlx::query(
        "SELECT e.id, e.incident_id, e.kind, e.text, e.data, r.playbook_id FROM playbook_events e JOIN playbook_runs r ON r.id = e.run_id \
         WHERE e.posted_at IS NULL AND e.claim_until < $1 AND ($2 = '' OR e.run_id = $2) ORDER BY e.created_at, e.id LIMIT 200",
    )
    .bind(now)
    .bind(run_id.unwrap_or(""))
    .fetch_all(&app.store.read)
    .await?;
    for row in rows {
        let id: String = row.try_get(0)?;
        let claimed = sqlx::query("UPDATE playbook_events SET claim_until = $1 WHERE id = $2 AND posted_at IS NULL AND claim_until < $3")
            .bind(now_ms() + CLAIM_MS)
            .bind(&id)
            .bind(now_ms())
            .execute(app.store.writer())
            .await?
            .rows_affected();
        if claimed == 0 {
            continue;
        }
        let incident_id: String = row.try_get(1)?;
        let data: String = row.try_get(4)?;
        let event = IncidentEvent {
            kind: row.try_get(2)?,
            actor: format!("playbook:{}", row.try_get::<String, _>(5)?),
            text: row.try_get(3)?,
            data: serde_json::from_str(&data).unwrap_or_else(|_| json!({})),
        };
        match post(app, &incident_id, event).await {
            Ok(()) => {
                sqlx::query("UPDATE playbook_events SET posted_at = $1 WHERE id = $2").bind(now_ms()).bind(&id).execute(app.store.writer()).await?;
            }
            Err(err) => {
                sqlx::query("UPDATE playbook_events SET claim_until = 0 WHERE id = $1").bind(&id).execute(app.store.writer()).await?;
                return Err(err);
            }
        }
    }
    Ok(())
}
