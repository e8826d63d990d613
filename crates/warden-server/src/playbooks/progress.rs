//! How a run moves: claiming a due step (a conditional UPDATE with a lease, so two instances never
//! execute one step at once and a crashed instance's lease expires), and ending a step — succeeded,
//! skipped, failed, waiting, retried, approved or rejected — in one transaction with its journal
//! entries, the run's next step and, at the end, the run's status.
//!
//! Incident status changes ride on the journal: an entry of kind [`ADVANCE`] is posted to the
//! incident as `incidents::advance` instead of a timeline event, so it survives a crash between
//! the commit and the call. A run moves its incident to `contained` once its containment steps
//! (quarantine, revoke, disable, freeze, block) are behind it with at least one done and none
//! failed, and to `contained` then `recovered` when a rollback is done. Dry runs only say so.

use serde_json::{Value, json};
use sqlx::{Any, Row, Transaction};

use super::journal::{self, Entry};
use super::runs::{self, Run, RunStep, status, step_status};
use super::spec::{OnFailure, Step, StepKind};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::now_ms;

/// How long a claimed step is held before another instance may take it over.
pub const LEASE_MS: i64 = 60_000;

/// The journal kind whose posting moves the incident's status (`data.to`).
pub const ADVANCE: &str = "playbook.incident.advance";

/// Claims step `idx` of run `run_id` for `owner` if it is due (or its holder's lease expired);
/// writes the "started" entry on its first attempt. `None`: someone else has it, or it is not due.
pub async fn claim(app: &AppState, owner: &str, run_id: &str, idx: i64) -> ApiResult<Option<(Run, RunStep)>> {
    let now = now_ms();
    let mut tx = app.store.begin().await?;
    let claimed = sqlx::query(
        "UPDATE playbook_steps SET status = 'running', lease_owner = $1, lease_until = $2, attempts = attempts + 1, started_at = COALESCE(started_at, $3) \
         WHERE run_id = $4 AND idx = $5 AND ((status = 'pending' AND next_at <= $3) OR (status = 'running' AND lease_until < $3)) \
         AND EXISTS (SELECT 1 FROM playbook_runs r WHERE r.id = $4 AND r.current_step = $5 AND r.status = 'running')",
    )
    .bind(owner)
    .bind(now + LEASE_MS)
    .bind(now)
    .bind(run_id)
    .bind(idx)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if claimed == 0 {
        return Ok(None);
    }
    let run = runs::get_in(&mut tx, run_id).await?.ok_or_else(|| ApiError::not_found("playbook run", run_id))?;
    let step = runs::step_in(&mut tx, run_id, idx).await?.ok_or_else(|| ApiError::Internal(format!("run `{run_id}` lost step {idx}")))?;
    let spec = step.step()?;
    let (kind, text) = if step.attempts == 1 {
        ("playbook.step.started", format!("Step {} ({}) started{}", idx + 1, spec.label(), dry_note(&run)))
    } else {
        ("playbook.step.attempt", format!("Step {} ({}): attempt {} of {}", idx + 1, spec.label(), step.attempts, spec.attempts))
    };
    journal::write(app, &mut tx, &run.reference(), Entry { kind, step: Some(idx), text, data: json!({"action": spec.action, "attempt": step.attempts}) }).await?;
    tx.commit().await?;
    Ok(Some((run, step)))
}

fn dry_note(run: &Run) -> &'static str {
    if run.dry_run { " (dry run: nothing will be changed)" } else { "" }
}

/// Keeps what the step decided to act on, so a retry acts on the same thing (only while `owner`
/// holds the lease).
pub async fn save_plan(app: &AppState, owner: &str, run_id: &str, idx: i64, plan: &Value) -> ApiResult<()> {
    let saved = sqlx::query("UPDATE playbook_steps SET plan = $1 WHERE run_id = $2 AND idx = $3 AND lease_owner = $4 AND status = 'running'")
        .bind(plan.to_string())
        .bind(run_id)
        .bind(idx)
        .bind(owner)
        .execute(app.store.writer())
        .await?
        .rows_affected();
    if saved == 0 {
        return Err(ApiError::Conflict("this instance lost the step's lease; another one carries on".into()));
    }
    Ok(())
}

/// How a step ended.
#[derive(Debug, Clone)]
pub struct StepEnd {
    /// One of the final step statuses (succeeded, skipped, failed, rejected).
    pub status: &'static str,
    /// What it did, for people.
    pub outcome: String,
    /// The error, when it failed.
    pub error: String,
    /// Details for the journal.
    pub data: Value,
}

/// Which row a step end applies to: the lease holder's running step, or a waiting step.
#[derive(Debug, Clone, Copy)]
pub enum Holder<'a> {
    /// The instance holding the lease.
    Lease(&'a str),
    /// A step waiting for an approval or a delivery.
    Waiting,
    /// A notification step whose delivery settled: waiting for it, or still running on the
    /// instance that queued the delivery (another instance can send and settle it before that
    /// one has recorded the wait; the late wait then finds the step ended and changes nothing).
    Delivery,
}

/// Ends step `idx` of `run` as `end` inside `tx`: the step row (only if still held as `holder`
/// says; `false` otherwise, and nothing is written), the journal, the next step or the end of
/// the run.
pub async fn end_step(app: &AppState, tx: &mut Transaction<'static, Any>, run: &Run, idx: i64, end: StepEnd, holder: Holder<'_>) -> ApiResult<bool> {
    let now = now_ms();
    let (condition, owner) = match holder {
        Holder::Lease(owner) => ("status = 'running' AND lease_owner = $7", Some(owner)),
        Holder::Waiting => ("status = 'waiting'", None),
        Holder::Delivery => ("status IN ('waiting', 'running')", None),
    };
    let sql = format!(
        "UPDATE playbook_steps SET status = $1, outcome = $2, error = $3, finished_at = $4, lease_owner = NULL, lease_until = 0 WHERE run_id = $5 AND idx = $6 AND {condition}"
    );
    let mut query = sqlx::query(&sql).bind(end.status).bind(&end.outcome).bind(&end.error).bind(now).bind(&run.id).bind(idx);
    if let Some(owner) = owner {
        query = query.bind(owner);
    }
    let updated = query.execute(&mut **tx).await?.rows_affected();
    if updated == 0 {
        return Ok(false);
    }
    let step = runs::step_in(tx, &run.id, idx).await?.ok_or_else(|| ApiError::Internal(format!("run `{}` lost step {idx}", run.id)))?;
    let spec = step.step()?;
    let reference = run.reference();
    let label = spec.label();
    let kind = match (end.status, run.dry_run) {
        (step_status::SUCCEEDED, true) => "playbook.step.dry_run",
        (step_status::SUCCEEDED, false) => "playbook.step.succeeded",
        (step_status::SKIPPED, _) => "playbook.step.skipped",
        (step_status::REJECTED, _) => "playbook.approval.rejected",
        _ => "playbook.step.failed",
    };
    let text = match end.status {
        step_status::FAILED => format!("Step {} ({label}) failed after {} attempt(s): {}", idx + 1, step.attempts, end.error),
        step_status::SKIPPED => format!("Step {} ({label}) had nothing to do: {}", idx + 1, end.outcome),
        _ => format!("Step {} ({label}): {}", idx + 1, end.outcome),
    };
    let mut data = end.data.clone();
    if let Some(map) = data.as_object_mut() {
        map.insert("action".into(), json!(spec.action));
        map.insert("status".into(), json!(end.status));
        map.insert("attempts".into(), json!(step.attempts));
        map.insert("duration_ms".into(), json!(step.duration_ms()));
    }
    journal::write(app, tx, &reference, Entry { kind, step: Some(idx), text, data }).await?;
    if end.status == step_status::FAILED {
        app.metrics.event(if run.dry_run { "playbook.drill.step_failed" } else { "playbook.step.failed" });
        sqlx::query("UPDATE playbook_runs SET failed_steps = failed_steps + 1 WHERE id = $1").bind(&run.id).execute(&mut **tx).await?;
    }
    let stop = end.status == step_status::REJECTED || (end.status == step_status::FAILED && spec.on_failure == OnFailure::Stop);
    if end.status == step_status::SUCCEEDED && spec.action.recovers() {
        advance(app, tx, run, idx, "contained", "the rollback took the bad version out of production").await?;
        advance(app, tx, run, idx, "recovered", "the rollback restored the last good version").await?;
    }
    if !stop && spec.action.contains() {
        containment_check(app, tx, run, idx).await?;
    }
    if stop {
        finish(app, tx, run, idx, Some(end.status)).await?;
    } else {
        next_step(app, tx, run, idx).await?;
    }
    Ok(true)
}

/// Moves `run` from step `idx` to the next (or finishes it).
async fn next_step(app: &AppState, tx: &mut Transaction<'static, Any>, run: &Run, idx: i64) -> ApiResult<()> {
    if idx + 1 >= run.step_count {
        return finish(app, tx, run, idx, None).await;
    }
    sqlx::query("UPDATE playbook_runs SET current_step = $1, status = $2, updated_at = $3 WHERE id = $4 AND current_step = $5")
        .bind(idx + 1)
        .bind(status::RUNNING)
        .bind(now_ms())
        .bind(&run.id)
        .bind(idx)
        .execute(&mut **tx)
        .await?;
    sqlx::query("UPDATE playbook_steps SET next_at = $1 WHERE run_id = $2 AND idx = $3 AND status = 'pending'").bind(now_ms()).bind(&run.id).bind(idx + 1).execute(&mut **tx).await?;
    Ok(())
}

/// Ends `run` after step `idx`: the remaining steps are cancelled when it stopped early
/// (`stopped_by` is the status that stopped it), and the run's status says how it went.
async fn finish(app: &AppState, tx: &mut Transaction<'static, Any>, run: &Run, idx: i64, stopped_by: Option<&str>) -> ApiResult<()> {
    let now = now_ms();
    sqlx::query("UPDATE playbook_steps SET status = 'cancelled', finished_at = $1 WHERE run_id = $2 AND idx > $3 AND status = 'pending'")
        .bind(now)
        .bind(&run.id)
        .bind(idx)
        .execute(&mut **tx)
        .await?;
    let failed: i64 = sqlx::query_scalar("SELECT failed_steps FROM playbook_runs WHERE id = $1").bind(&run.id).fetch_one(&mut **tx).await?;
    let final_status = match stopped_by {
        Some(step_status::REJECTED) => status::REJECTED,
        _ if failed > 0 => status::FAILED,
        _ => status::SUCCEEDED,
    };
    sqlx::query("UPDATE playbook_runs SET status = $1, current_step = $2, updated_at = $3, finished_at = $3 WHERE id = $4 AND finished_at IS NULL")
        .bind(final_status)
        .bind(run.step_count)
        .bind(now)
        .bind(&run.id)
        .execute(&mut **tx)
        .await?;
    let cancelled = run.step_count - idx - 1;
    let how = match final_status {
        status::REJECTED => format!("stopped: an approver rejected it; {cancelled} step(s) not run"),
        status::FAILED if stopped_by.is_some() => format!("failed: a step failed and the playbook says stop; {cancelled} step(s) not run"),
        status::FAILED => format!("finished with {failed} failed step(s)"),
        _ => "finished: every step done".to_owned(),
    };
    let text = format!("Playbook `{}` {}{how} in {} ms", run.playbook_name, if run.dry_run { "(dry run) " } else { "" }, now - run.created_at);
    let data = json!({"status": final_status, "failed_steps": failed, "cancelled_steps": cancelled, "duration_ms": now - run.created_at});
    journal::write(app, tx, &run.reference(), Entry { kind: "playbook.run.finished", step: None, text, data }).await?;
    let metric = match (run.dry_run, final_status) {
        (true, _) => "playbook.drill.finished",
        (false, status::SUCCEEDED) => "playbook.run.succeeded",
        (false, status::REJECTED) => "playbook.run.rejected",
        (false, _) => "playbook.run.failed",
    };
    app.metrics.event(metric);
    Ok(())
}

/// After containment step `idx`: when no containment step follows, at least one succeeded and
/// none failed, the incident is contained.
async fn containment_check(app: &AppState, tx: &mut Transaction<'static, Any>, run: &Run, idx: i64) -> ApiResult<()> {
    let rows = sqlx::query("SELECT idx, action, status FROM playbook_steps WHERE run_id = $1 ORDER BY idx").bind(&run.id).fetch_all(&mut **tx).await?;
    let mut done = false;
    for row in &rows {
        let at: i64 = row.try_get(0)?;
        let action: String = row.try_get(1)?;
        let state: String = row.try_get(2)?;
        let contains = serde_json::from_value::<StepKind>(json!(action)).is_ok_and(StepKind::contains);
        if !contains {
            continue;
        }
        if at > idx {
            return Ok(());
        }
        if state == step_status::FAILED {
            return Ok(());
        }
        done |= state == step_status::SUCCEEDED;
    }
    if done {
        advance(app, tx, run, idx, "contained", "the playbook's containment steps are done").await?;
    }
    Ok(())
}

/// Journals a move of the incident to `to` (posted as `incidents::advance`; a dry run only says so).
async fn advance(app: &AppState, tx: &mut Transaction<'static, Any>, run: &Run, idx: i64, to: &str, why: &str) -> ApiResult<()> {
    let (kind, text) = if run.dry_run {
        ("playbook.incident.would_advance", format!("Would move the incident to {to}: {why}"))
    } else {
        (ADVANCE, format!("Incident moves to {to}: {why}"))
    };
    journal::write(app, tx, &run.reference(), Entry { kind, step: Some(idx), text, data: json!({"to": to, "note": why}) }).await
}

/// Hands back step `idx` held by `owner` after its execution could not be recorded (a database
/// error), so it is taken again after `delay_ms` instead of waiting out the lease; steps are
/// idempotent, so running it again is safe. `false`: the step was no longer ours.
pub async fn release(app: &AppState, run_id: &str, idx: i64, owner: &str, delay_ms: i64) -> ApiResult<bool> {
    let updated = sqlx::query("UPDATE playbook_steps SET status = 'pending', next_at = $1, lease_owner = NULL, lease_until = 0 WHERE run_id = $2 AND idx = $3 AND status = 'running' AND lease_owner = $4")
        .bind(now_ms() + delay_ms)
        .bind(run_id)
        .bind(idx)
        .bind(owner)
        .execute(app.store.writer())
        .await?
        .rows_affected();
    Ok(updated > 0)
}

/// Puts step `idx` back to pending for another attempt after `delay_ms`, journalling the error.
pub async fn retry_later(app: &AppState, run: &Run, step: &RunStep, spec: &Step, owner: &str, error: &str) -> ApiResult<bool> {
    let attempt = u32::try_from(step.attempts).unwrap_or(u32::MAX);
    let delay = spec.backoff_ms(attempt);
    let next_at = now_ms() + delay;
    let mut tx = app.store.begin().await?;
    let updated = sqlx::query("UPDATE playbook_steps SET status = 'pending', next_at = $1, error = $2, lease_owner = NULL, lease_until = 0 WHERE run_id = $3 AND idx = $4 AND status = 'running' AND lease_owner = $5")
        .bind(next_at)
        .bind(error)
        .bind(&run.id)
        .bind(step.idx)
        .bind(owner)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if updated == 0 {
        return Ok(false);
    }
    let text = format!("Step {} ({}) attempt {} of {} failed: {error}; retrying in {} s", step.idx + 1, spec.label(), step.attempts, spec.attempts, delay / 1000);
    let data = json!({"action": spec.action, "attempt": step.attempts, "error": error, "retry_in_ms": delay});
    journal::write(app, &mut tx, &run.reference(), Entry { kind: "playbook.step.retry", step: Some(step.idx), text, data }).await?;
    tx.commit().await?;
    app.metrics.event("playbook.step.retry");
    Ok(true)
}

/// Parks step `idx` (held by `owner`) until `until` (an approval's deadline, or never for a
/// delivery), journalling why; an approval also marks the run as waiting.
pub async fn wait(app: &AppState, run: &Run, step: &RunStep, owner: &str, until: i64, entry: Entry, approval: bool) -> ApiResult<bool> {
    let mut tx = app.store.begin().await?;
    let updated = sqlx::query("UPDATE playbook_steps SET status = 'waiting', next_at = $1, lease_owner = NULL, lease_until = 0 WHERE run_id = $2 AND idx = $3 AND status = 'running' AND lease_owner = $4")
        .bind(until)
        .bind(&run.id)
        .bind(step.idx)
        .bind(owner)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if updated == 0 {
        return Ok(false);
    }
    if approval {
        sqlx::query("UPDATE playbook_runs SET status = $1, updated_at = $2 WHERE id = $3").bind(status::WAITING).bind(now_ms()).bind(&run.id).execute(&mut *tx).await?;
    }
    journal::write(app, &mut tx, &run.reference(), entry).await?;
    tx.commit().await?;
    Ok(true)
}
