//! Runs and their steps in the database: starting a run (once per playbook and incident), and
//! reading runs for the API, the pages and the runner. A run carries a snapshot of what it acts on
//! ([`RunContext`]) and each step a snapshot of its definition, so editing a playbook never
//! changes a run already started.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::Row;
use sqlx::any::AnyRow;
use warden_core::Severity;

use super::catalog::StoredPlaybook;
use super::journal::{self, Entry, RunRef};
use super::spec::Step;
use crate::error::{ApiError, ApiResult};
use crate::findings::StoredFinding;
use crate::incidents::IncidentTrigger;
use crate::state::AppState;
use crate::store::{new_id, now_ms};

/// A finding as a run remembers it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContextFinding {
    /// The finding's row id (a drill finding's id for drills).
    pub id: String,
    /// Its rule.
    pub rule_id: String,
    /// Its severity.
    pub severity: Severity,
    /// Its title.
    pub title: String,
    /// Its source (`registry_scan`, `alert`, ...).
    pub source: String,
    /// The asset it is about.
    pub asset_id: Option<String>,
    /// The model version it is about.
    pub version_id: Option<String>,
    /// The alert subject (`user:alice`, `client:<deployment>:<client>`).
    pub subject: String,
    /// The client of a traffic finding.
    pub client_id: Option<String>,
}

impl ContextFinding {
    /// The run's memory of `finding`.
    pub fn of(finding: &StoredFinding) -> ContextFinding {
        let source = serde_json::to_value(finding.source).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        ContextFinding {
            id: finding.id.clone(),
            rule_id: finding.finding.rule_id.as_str().to_owned(),
            severity: finding.finding.severity,
            title: finding.finding.title.clone(),
            source,
            asset_id: finding.asset_id.clone(),
            version_id: finding.version_id.clone(),
            subject: finding.subject.clone(),
            client_id: finding.finding.location.client_id.clone(),
        }
    }
}

/// What a run acts on: the incident as the trigger described it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunContext {
    /// The incident.
    pub incident_id: String,
    /// Its asset.
    pub asset_id: Option<String>,
    /// Its subject.
    pub subject: String,
    /// Its severity.
    pub severity: Severity,
    /// The findings that started the run.
    pub findings: Vec<ContextFinding>,
}

impl RunContext {
    /// The context of `trigger`.
    pub fn of(trigger: &IncidentTrigger) -> RunContext {
        RunContext {
            incident_id: trigger.incident_id.clone(),
            asset_id: trigger.asset_id.clone(),
            subject: trigger.subject.clone(),
            severity: trigger.severity,
            findings: trigger.findings.iter().map(ContextFinding::of).collect(),
        }
    }

    /// A title for people: the most severe finding's title.
    pub fn title(&self) -> String {
        self.findings.iter().max_by_key(|f| f.severity).map_or_else(|| "incident".to_owned(), |f| f.title.clone())
    }
}

/// A run's status.
pub mod status {
    /// Steps are being executed.
    pub const RUNNING: &str = "running";
    /// Waiting for a person to approve.
    pub const WAITING: &str = "waiting";
    /// Every step succeeded (or had nothing to do).
    pub const SUCCEEDED: &str = "succeeded";
    /// A step failed after its attempts.
    pub const FAILED: &str = "failed";
    /// An approver said no; the remaining steps were not run.
    pub const REJECTED: &str = "rejected";
}

/// A step's status.
pub mod step_status {
    /// Not reached yet, or due for another attempt.
    pub const PENDING: &str = "pending";
    /// An instance holds its lease and executes it.
    pub const RUNNING: &str = "running";
    /// Waiting for an approval or a webhook delivery.
    pub const WAITING: &str = "waiting";
    /// Done.
    pub const SUCCEEDED: &str = "succeeded";
    /// Nothing to act on (said why).
    pub const SKIPPED: &str = "skipped";
    /// Failed after its attempts.
    pub const FAILED: &str = "failed";
    /// An approver said no.
    pub const REJECTED: &str = "rejected";
    /// Not run: the run stopped before it.
    pub const CANCELLED: &str = "cancelled";
}

/// A run as stored.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Run {
    /// Its id.
    pub id: String,
    /// The playbook.
    pub playbook_id: String,
    /// The playbook's version it runs.
    pub playbook_version: i64,
    /// The playbook's name.
    pub playbook_name: String,
    /// The incident.
    pub incident_id: String,
    /// A dry run (drill): nothing real is changed.
    pub dry_run: bool,
    /// running, waiting, succeeded, failed or rejected.
    pub status: String,
    /// The step being executed (or the count when done).
    pub current_step: i64,
    /// How many steps.
    pub step_count: i64,
    /// How many steps failed.
    pub failed_steps: i64,
    /// What it acts on.
    #[schema(value_type = Object)]
    pub context: Value,
    /// Why the trigger matched.
    pub matched: String,
    /// Started (unix ms).
    pub created_at: i64,
    /// Last change (unix ms).
    pub updated_at: i64,
    /// Finished (unix ms).
    pub finished_at: Option<i64>,
}

impl Run {
    /// The journal reference of this run.
    pub fn reference(&self) -> RunRef<'_> {
        RunRef { run_id: &self.id, playbook_id: &self.playbook_id, incident_id: &self.incident_id, dry_run: self.dry_run }
    }

    /// The context, typed.
    pub fn typed_context(&self) -> ApiResult<RunContext> {
        serde_json::from_value(self.context.clone()).map_err(|e| ApiError::Internal(format!("run `{}` has an unreadable context: {e}", self.id)))
    }

    /// Whether it has finished.
    pub fn finished(&self) -> bool {
        self.finished_at.is_some()
    }

    /// Started, for people.
    pub fn when(&self) -> String {
        crate::ui::fmt_time(self.created_at)
    }

    /// Run time so far or in all, in milliseconds.
    pub fn duration_ms(&self) -> i64 {
        self.finished_at.unwrap_or_else(now_ms) - self.created_at
    }
}

/// A step of a run as stored.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RunStep {
    /// Its position (0-based).
    pub idx: i64,
    /// Its action.
    pub action: String,
    /// Its definition.
    #[schema(value_type = Object)]
    pub spec: Value,
    /// Its status.
    pub status: String,
    /// Attempts so far.
    pub attempts: i64,
    /// When it is due again (unix ms), while pending.
    pub next_at: i64,
    /// What it decided to act on (kept between attempts, so a retry acts on the same thing).
    #[schema(value_type = Object)]
    pub plan: Value,
    /// What it did (or, in a dry run, would do).
    pub outcome: String,
    /// The last error.
    pub error: String,
    /// Who approved or rejected (approval steps).
    pub decided_by: Option<String>,
    /// Their note.
    pub decision_note: String,
    /// First started (unix ms).
    pub started_at: Option<i64>,
    /// Finished (unix ms).
    pub finished_at: Option<i64>,
}

impl RunStep {
    /// The definition, typed.
    pub fn step(&self) -> ApiResult<Step> {
        serde_json::from_value(self.spec.clone()).map_err(|e| ApiError::Internal(format!("step {} has an unreadable definition: {e}", self.idx)))
    }

    /// The label for people.
    pub fn label(&self) -> String {
        self.step().map_or_else(|_| self.action.clone(), |s| s.label())
    }

    /// How long it took (or has taken), in milliseconds.
    pub fn duration_ms(&self) -> Option<i64> {
        self.started_at.map(|start| self.finished_at.unwrap_or_else(now_ms) - start)
    }
}

const RUN_COLUMNS: &str = "id, playbook_id, playbook_version, playbook_name, incident_id, dry_run, status, current_step, step_count, failed_steps, context, matched, created_at, updated_at, finished_at";

fn run_from_row(row: &AnyRow) -> ApiResult<Run> {
    let context: String = row.try_get(10)?;
    Ok(Run {
        id: row.try_get(0)?,
        playbook_id: row.try_get(1)?,
        playbook_version: row.try_get(2)?,
        playbook_name: row.try_get(3)?,
        incident_id: row.try_get(4)?,
        dry_run: row.try_get::<i64, _>(5)? != 0,
        status: row.try_get(6)?,
        current_step: row.try_get(7)?,
        step_count: row.try_get(8)?,
        failed_steps: row.try_get(9)?,
        context: serde_json::from_str(&context).unwrap_or(Value::Null),
        matched: row.try_get(11)?,
        created_at: row.try_get(12)?,
        updated_at: row.try_get(13)?,
        finished_at: row.try_get(14)?,
    })
}

const STEP_COLUMNS: &str = "idx, action, spec, status, attempts, next_at, plan, outcome, error, decided_by, decision_note, started_at, finished_at";

fn step_from_row(row: &AnyRow) -> ApiResult<RunStep> {
    let spec: String = row.try_get(2)?;
    let plan: String = row.try_get(6)?;
    Ok(RunStep {
        idx: row.try_get(0)?,
        action: row.try_get(1)?,
        spec: serde_json::from_str(&spec).unwrap_or(Value::Null),
        status: row.try_get(3)?,
        attempts: row.try_get(4)?,
        next_at: row.try_get(5)?,
        plan: serde_json::from_str(&plan).unwrap_or_else(|_| json!({})),
        outcome: row.try_get(7)?,
        error: row.try_get(8)?,
        decided_by: row.try_get(9)?,
        decision_note: row.try_get(10)?,
        started_at: row.try_get(11)?,
        finished_at: row.try_get(12)?,
    })
}

/// Whether `id` can name a row: 1 to 64 bytes without NUL (which PostgreSQL cannot even compare),
/// so anything else is answered "not found" without asking the database.
pub fn plain_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && !id.contains('\0')
}

/// Refuses a list filter PostgreSQL could not compare (a NUL character).
pub fn check_filter(name: &str, value: Option<&str>) -> ApiResult<()> {
    if value.is_some_and(|v| v.contains('\0') || v.len() > 200) {
        return Err(ApiError::BadRequest(format!("`{name}` must be at most 200 bytes without NUL characters")));
    }
    Ok(())
}

/// Run `id`, read on `conn`.
pub async fn get_in(conn: &mut sqlx::AnyConnection, id: &str) -> ApiResult<Option<Run>> {
    if !plain_id(id) {
        return Ok(None);
    }
    let row = sqlx::query(&format!("SELECT {RUN_COLUMNS} FROM playbook_runs WHERE id = $1")).bind(id).fetch_optional(&mut *conn).await?;
    row.as_ref().map(run_from_row).transpose()
}

/// Run `id`, or a 404.
pub async fn require(app: &AppState, id: &str) -> ApiResult<Run> {
    get_in(&mut *app.store.read.acquire().await?, id).await?.ok_or_else(|| ApiError::not_found("playbook run", id))
}

/// The steps of run `run_id`, in order, read on `conn`.
pub async fn steps_in(conn: &mut sqlx::AnyConnection, run_id: &str) -> ApiResult<Vec<RunStep>> {
    let rows = sqlx::query(&format!("SELECT {STEP_COLUMNS} FROM playbook_steps WHERE run_id = $1 ORDER BY idx")).bind(run_id).fetch_all(&mut *conn).await?;
    rows.iter().map(step_from_row).collect()
}

/// The steps of run `run_id`, in order.
pub async fn steps(app: &AppState, run_id: &str) -> ApiResult<Vec<RunStep>> {
    if !plain_id(run_id) {
        return Ok(Vec::new());
    }
    steps_in(&mut *app.store.read.acquire().await?, run_id).await
}

/// Step `idx` of run `run_id`, read on `conn`.
pub async fn step_in(conn: &mut sqlx::AnyConnection, run_id: &str, idx: i64) -> ApiResult<Option<RunStep>> {
    if !plain_id(run_id) {
        return Ok(None);
    }
    let row = sqlx::query(&format!("SELECT {STEP_COLUMNS} FROM playbook_steps WHERE run_id = $1 AND idx = $2"))
        .bind(run_id)
        .bind(idx)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(step_from_row).transpose()
}

/// Filters of [`list`].
#[derive(Debug, Default, Clone, Deserialize, utoipa::IntoParams)]
pub struct RunQuery {
    /// Only runs on this incident.
    pub incident: Option<String>,
    /// Only runs of this playbook.
    pub playbook: Option<String>,
    /// Only runs in this status.
    pub status: Option<String>,
    /// Only drills (`true`) or only real runs (`false`).
    pub dry_run: Option<bool>,
    /// At most this many, newest first (default 100, at most 500).
    pub limit: Option<i64>,
}

/// Runs matching `query`, newest first.
pub async fn list(app: &AppState, query: &RunQuery) -> ApiResult<Vec<Run>> {
    check_filter("incident", query.incident.as_deref())?;
    check_filter("playbook", query.playbook.as_deref())?;
    check_filter("status", query.status.as_deref())?;
    let dry = match query.dry_run {
        Some(true) => 1,
        Some(false) => 0,
        None => -1,
    };
    let sql = format!(
        "SELECT {RUN_COLUMNS} FROM playbook_runs WHERE ($1 = '' OR incident_id = $1) AND ($2 = '' OR playbook_id = $2) AND ($3 = '' OR status = $3) \
         AND ($4 < 0 OR dry_run = $4) ORDER BY created_at DESC, id DESC LIMIT $5"
    );
    let rows = sqlx::query(&sql)
        .bind(query.incident.as_deref().unwrap_or(""))
        .bind(query.playbook.as_deref().unwrap_or(""))
        .bind(query.status.as_deref().unwrap_or(""))
        .bind(dry)
        .bind(query.limit.unwrap_or(100).clamp(1, 500))
        .fetch_all(&app.store.read)
        .await?;
    rows.iter().map(run_from_row).collect()
}

/// Starts a run of `playbook` on the incident of `trigger` (a dry run for drills), unless one
/// exists already; returns the new run's id, or `None` when the playbook already ran on it.
pub async fn start(app: &AppState, playbook: &StoredPlaybook, trigger: &IncidentTrigger, matched: &str) -> ApiResult<Option<String>> {
    let context = RunContext::of(trigger);
    let id = new_id();
    let now = now_ms();
    let steps = &playbook.playbook.steps;
    let step_count = i64::try_from(steps.len()).unwrap_or(i64::MAX);
    let mut tx = app.store.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO playbook_runs (id, playbook_id, playbook_version, playbook_name, incident_id, dry_run, status, current_step, step_count, failed_steps, context, matched, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, 0, $9, $10, $11, $11) ON CONFLICT (playbook_id, incident_id) DO NOTHING",
    )
    .bind(&id)
    .bind(&playbook.id)
    .bind(playbook.version)
    .bind(&playbook.name)
    .bind(&trigger.incident_id)
    .bind(i64::from(trigger.drill))
    .bind(status::RUNNING)
    .bind(step_count)
    .bind(serde_json::to_string(&context).map_err(|e| ApiError::Internal(e.to_string()))?)
    .bind(matched)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(None);
    }
    for (idx, step) in steps.iter().enumerate() {
        let idx = i64::try_from(idx).unwrap_or(i64::MAX);
        sqlx::query("INSERT INTO playbook_steps (run_id, idx, action, spec, status, idempotency_key, next_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&id)
            .bind(idx)
            .bind(step.action.as_str())
            .bind(serde_json::to_string(step).map_err(|e| ApiError::Internal(e.to_string()))?)
            .bind(step_status::PENDING)
            .bind(format!("{id}:{idx}"))
            .bind(now)
            .execute(&mut *tx)
            .await?;
    }
    let run = RunRef { run_id: &id, playbook_id: &playbook.id, incident_id: &trigger.incident_id, dry_run: trigger.drill };
    let kind = if trigger.drill { "dry run (drill)" } else { "run" };
    let labels: Vec<String> = steps.iter().map(Step::label).collect();
    let entry = Entry {
        kind: "playbook.run.started",
        step: None,
        text: format!("Playbook `{}` (version {}) started a {kind}: {matched}; steps: {}", playbook.name, playbook.version, labels.join(" → ")),
        data: json!({"version": playbook.version, "steps": labels, "matched": matched}),
    };
    journal::write(app, &mut tx, &run, entry).await?;
    tx.commit().await?;
    app.metrics.event(if trigger.drill { "playbook.drill.started" } else { "playbook.run.started" });
    Ok(Some(id))
}
