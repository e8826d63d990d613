//! The runner: a background task on every instance that executes the due steps of playbook runs,
//! sends due webhook deliveries, times out approvals nobody decided, and posts journal entries to
//! incident timelines. It wakes at once when [`wake`] is called (a new run, an approval, a settled
//! delivery) and otherwise polls the database every [`POLL`] or when the next retry is due.
//!
//! All state is in the database: work is claimed with conditional UPDATEs and leases
//! ([`super::progress`]), so several instances share the work without running a step twice, and
//! a restarted instance carries on where the runs stand.

use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use serde_json::json;
use tokio::sync::Notify;

use super::journal::{self, Entry};
use super::progress::{self, Holder, StepEnd};
use super::runs::{self, Run, RunStep, step_status};
use super::steps::{self, Exec, Outcome};
use super::{catalog, deliveries};
use crate::error::ApiResult;
use crate::state::AppState;
use crate::store::{new_id, now_ms};

/// The longest sleep between two looks at the database.
pub const POLL: Duration = Duration::from_secs(2);
/// How long one execution of a step may take before it counts as a failed attempt.
const STEP_TIMEOUT: Duration = Duration::from_secs(45);
/// How long a step or delivery whose execution could not be recorded waits before it is taken again.
const RELEASE_DELAY_MS: i64 = 1_000;
/// Most steps or deliveries taken per pass.
const BATCH: i64 = 50;

/// The runners of this process, woken by [`wake`].
static RUNNERS: Mutex<Vec<Weak<Notify>>> = Mutex::new(Vec::new());

/// Wakes every runner of this process at once (new runs, approvals, retried deliveries); each
/// keeps the wake-up until it next waits, so none is lost while it is busy.
pub fn wake() {
    let mut runners = RUNNERS.lock().unwrap_or_else(PoisonError::into_inner);
    runners.retain(|weak| match weak.upgrade() {
        Some(notify) => {
            notify.notify_one();
            true
        }
        None => false,
    });
}

/// Installs the shipped playbooks and starts this instance's runner. Called once at start-up.
pub async fn start(app: &AppState) -> ApiResult<()> {
    catalog::install_shipped(app).await?;
    let notify = Arc::new(Notify::new());
    RUNNERS.lock().unwrap_or_else(PoisonError::into_inner).push(Arc::downgrade(&notify));
    tokio::spawn(run(app.clone(), notify));
    Ok(())
}

async fn run(app: AppState, notify: Arc<Notify>) {
    let owner = new_id();
    loop {
        let busy = match pass(&app, &owner).await {
            Ok(busy) => busy,
            Err(err) => {
                tracing::warn!(%err, "the playbook runner's pass failed; trying again shortly");
                false
            }
        };
        journal::post_pending(&app, None).await;
        if busy {
            tokio::task::yield_now().await;
            continue;
        }
        let sleep = next_due(&app).await.unwrap_or(POLL);
        tokio::select! {
            () = notify.notified() => {}
            () = tokio::time::sleep(sleep) => {}
        }
    }
}

/// How long until the next retry or delivery is due (at most [`POLL`]).
async fn next_due(app: &AppState) -> ApiResult<Duration> {
    // Only the current step of a running run can be due: later steps wait for their turn.
    let steps: Option<i64> = sqlx::query_scalar(
        "SELECT MIN(s.next_at) FROM playbook_steps s JOIN playbook_runs r ON r.id = s.run_id WHERE r.status = 'running' AND s.idx = r.current_step AND s.status = 'pending'",
    )
    .fetch_one(&app.store.read)
    .await?;
    let sends: Option<i64> = sqlx::query_scalar("SELECT MIN(next_at) FROM webhook_deliveries WHERE status = 'pending'").fetch_one(&app.store.read).await?;
    let next = [steps, sends].into_iter().flatten().min();
    let wait = next.map_or(POLL, |at| Duration::from_millis(u64::try_from((at - now_ms()).max(10)).unwrap_or(10)));
    Ok(wait.min(POLL))
}

/// One look at the database; `true` when something was done (so look again at once).
async fn pass(app: &AppState, owner: &str) -> ApiResult<bool> {
    let mut busy = false;
    let now = now_ms();
    let due: Vec<(String, i64)> = sqlx::query_as(
        "SELECT s.run_id, s.idx FROM playbook_steps s JOIN playbook_runs r ON r.id = s.run_id \
         WHERE r.status = 'running' AND s.idx = r.current_step AND ((s.status = 'pending' AND s.next_at <= $1) OR (s.status = 'running' AND s.lease_until < $1)) \
         ORDER BY s.next_at LIMIT $2",
    )
    .bind(now)
    .bind(BATCH)
    .fetch_all(&app.store.read)
    .await?;
    for (run_id, idx) in due {
        if let Some((run, step)) = progress::claim(app, owner, &run_id, idx).await? {
            busy = true;
            if let Err(err) = execute(app, owner, &run, &step).await {
                // Recording failed (the database was busy or away): hand the step back for a
                // retry soon rather than leaving it held until the lease runs out.
                tracing::warn!(%err, run = %run.id, step = idx, "a playbook step could not be recorded; it will be taken again");
                if let Err(err) = progress::release(app, &run.id, idx, owner, RELEASE_DELAY_MS).await {
                    tracing::warn!(%err, run = %run.id, step = idx, "could not hand the step back; it is taken again when its lease ends");
                }
                continue;
            }
            journal::post_pending(app, Some(&run.id)).await;
        }
    }
    busy |= expire_approvals(app).await?;
    for id in deliveries::due(app, BATCH).await? {
        let app = app.clone();
        let owner = owner.to_owned();
        // Deliveries wait on receivers: each runs on its own, so a slow one holds nothing up.
        tokio::spawn(async move {
            if let Err(err) = deliveries::attempt(&app, &owner, &id).await {
                tracing::warn!(%err, delivery = %id, "a webhook delivery attempt could not be recorded; it will be tried again");
                if let Err(err) = deliveries::release(&app, &owner, &id, RELEASE_DELAY_MS).await {
                    tracing::warn!(%err, delivery = %id, "could not hand the delivery back; it is tried again when its lease ends");
                }
            }
        });
    }
    Ok(busy)
}

/// Executes a claimed step and records how it went.
async fn execute(app: &AppState, owner: &str, run: &Run, step: &RunStep) -> ApiResult<()> {
    let spec = match step.step() {
        Ok(spec) => spec,
        Err(err) => return end(app, owner, run, step, failure(err.to_string())).await,
    };
    let ctx = match run.typed_context() {
        Ok(ctx) => ctx,
        Err(err) => return end(app, owner, run, step, failure(err.to_string())).await,
    };
    let x = Exec { app, run, step, spec: &spec, ctx: &ctx, owner };
    let outcome = match tokio::time::timeout(STEP_TIMEOUT, steps::execute(x)).await {
        Ok(outcome) => outcome,
        Err(_) => Outcome::Fail { error: format!("the step took longer than {} s", STEP_TIMEOUT.as_secs()), retry: true },
    };
    match outcome {
        Outcome::Done { text, data } => end(app, owner, run, step, StepEnd { status: step_status::SUCCEEDED, outcome: text, error: String::new(), data }).await,
        Outcome::Skipped { text } => end(app, owner, run, step, StepEnd { status: step_status::SKIPPED, outcome: text, error: String::new(), data: json!({}) }).await,
        Outcome::Wait { text, data, until, approval } => {
            let kind = if approval { "playbook.approval.requested" } else { "playbook.step.waiting" };
            let entry = Entry { kind, step: Some(step.idx), text, data };
            progress::wait(app, run, step, owner, until, entry, approval).await?;
            if approval {
                app.metrics.event("playbook.approval.requested");
            }
            Ok(())
        }
        Outcome::Fail { error, retry } => {
            let attempts = u32::try_from(step.attempts).unwrap_or(u32::MAX);
            if retry && attempts < spec.attempts {
                progress::retry_later(app, run, step, &spec, owner, &error).await?;
                Ok(())
            } else {
                let error = if retry { error } else { format!("{error} (not retried: another attempt cannot change this)") };
                end(app, owner, run, step, failure(error)).await
            }
        }
    }
}

fn failure(error: String) -> StepEnd {
    StepEnd { status: step_status::FAILED, outcome: String::new(), error, data: json!({}) }
}

async fn end(app: &AppState, owner: &str, run: &Run, step: &RunStep, end: StepEnd) -> ApiResult<()> {
    let mut tx = app.store.begin().await?;
    if progress::end_step(app, &mut tx, run, step.idx, end, Holder::Lease(owner)).await? {
        tx.commit().await?;
    }
    Ok(())
}

/// Fails the approval steps whose deadline passed with nobody deciding.
async fn expire_approvals(app: &AppState) -> ApiResult<bool> {
    let now = now_ms();
    let expired: Vec<(String, i64)> = sqlx::query_as("SELECT run_id, idx FROM playbook_steps WHERE status = 'waiting' AND action = 'require_approval' AND next_at <= $1 LIMIT $2")
        .bind(now)
        .bind(BATCH)
        .fetch_all(&app.store.read)
        .await?;
    let mut any = false;
    for (run_id, idx) in expired {
        let mut tx = app.store.begin().await?;
        let Some(run) = runs::get_in(&mut tx, &run_id).await? else { continue };
        let end = failure("nobody approved or rejected within the step's timeout".into());
        if progress::end_step(app, &mut tx, &run, idx, end, Holder::Waiting).await? {
            tx.commit().await?;
            journal::post_pending(app, Some(&run_id)).await;
            any = true;
        }
    }
    Ok(any)
}
