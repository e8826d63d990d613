//! Approvals: a `require_approval` step parks its run until a person decides. The route needs the
//! `playbook.approve` action (Cedar); the step then also needs the person to hold one of its
//! roles. Approving lets the run go on; rejecting stops it (the remaining steps are not run).
//! Either way the decision is in the incident's timeline and the audit log under the person's name.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::journal::{self, Entry};
use super::progress::{self, Holder, StepEnd};
use super::runs::{self, Run, RunStep, step_status};
use crate::audit::Change;
use crate::error::{ApiError, ApiResult};
use crate::gate::Caller;
use crate::state::AppState;

/// Longest note kept with a decision.
const MAX_NOTE: usize = 2000;

/// `POST .../approve` and `.../reject` body (optional).
#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
pub struct DecisionRequest {
    /// Why, kept with the decision.
    #[serde(default)]
    pub note: Option<String>,
}

/// An approval waiting for a decision.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PendingApproval {
    /// The run.
    pub run: Run,
    /// The step.
    pub step: RunStep,
    /// Who may decide.
    pub roles: Vec<String>,
    /// What the approver is asked.
    pub reason: String,
}

/// Every approval waiting for a decision, oldest first.
pub async fn pending(app: &AppState) -> ApiResult<Vec<PendingApproval>> {
    let rows: Vec<(String, i64)> = sqlx::query_as("SELECT run_id, idx FROM playbook_steps WHERE status = 'waiting' AND action = 'require_approval' ORDER BY started_at, run_id LIMIT 500")
        .fetch_all(&app.store.read)
        .await?;
    let mut out = Vec::new();
    for (run_id, idx) in rows {
        let mut conn = app.store.read.acquire().await?;
        let (Some(run), Some(step)) = (runs::get_in(&mut conn, &run_id).await?, runs::step_in(&mut conn, &run_id, idx).await?) else { continue };
        let spec = step.step()?;
        out.push(PendingApproval { roles: spec.approver_roles(), reason: spec.reason.clone().unwrap_or_default(), run, step });
    }
    Ok(out)
}

/// Approves (`approve`) or rejects step `idx` of run `run_id` as `caller`.
pub async fn decide(app: &AppState, caller: &Caller, run_id: &str, idx: i64, approve: bool, note: &str) -> ApiResult<Run> {
    let note = note.trim();
    if note.chars().count() > MAX_NOTE || note.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        return Err(ApiError::BadRequest(format!("the note has at most {MAX_NOTE} printable characters")));
    }
    let run = runs::require(app, run_id).await?;
    let step = runs::step_in(&mut *app.store.read.acquire().await?, run_id, idx).await?.ok_or_else(|| ApiError::NotFound(format!("run `{run_id}` has no step {idx}")))?;
    let spec = step.step()?;
    if spec.action != super::spec::StepKind::RequireApproval {
        return Err(ApiError::BadRequest(format!("step {} of run `{run_id}` is {}, not an approval", idx + 1, spec.action)));
    }
    if step.status != step_status::WAITING {
        return Err(ApiError::Conflict(format!("step {} of run `{run_id}` is {}: there is nothing to decide", idx + 1, step.status)));
    }
    let roles = spec.approver_roles();
    if !caller.principal.roles.iter().any(|r| roles.contains(r)) {
        return Err(ApiError::Forbidden(format!("this approval needs one of the roles {}; you have {}", roles.join(", "), caller.principal.roles.join(", "))));
    }
    let who = caller.principal.name.clone();
    let mut tx = app.store.begin().await?;
    let claimed = sqlx::query("UPDATE playbook_steps SET decided_by = $1, decision_note = $2 WHERE run_id = $3 AND idx = $4 AND status = 'waiting' AND decided_by IS NULL")
        .bind(&who)
        .bind(note)
        .bind(run_id)
        .bind(idx)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if claimed == 0 {
        return Err(ApiError::Conflict("someone decided this approval meanwhile".into()));
    }
    let verb = if approve { "approved" } else { "rejected" };
    let said = if note.is_empty() { String::new() } else { format!(": {note}") };
    let change = Change::update(if approve { "playbook.approve" } else { "playbook.reject" }, "playbook_run", run_id)
        .named(run.playbook_name.clone())
        .also("incident", &run.incident_id)
        .detail(json!({"step": idx, "decision": verb, "note": note, "roles": roles}));
    app.audit.change(&mut tx, caller, change).await?;
    let data = json!({"decided_by": who, "note": note, "decision": verb});
    if approve {
        let text = format!("{who} approved step {} ({}){said}", idx + 1, spec.label());
        journal::write(app, &mut tx, &run.reference(), Entry { kind: "playbook.approval.approved", step: Some(idx), text, data: data.clone() }).await?;
    }
    let end = StepEnd {
        status: if approve { step_status::SUCCEEDED } else { step_status::REJECTED },
        outcome: format!("{verb} by {who}{said}"),
        error: String::new(),
        data,
    };
    if !progress::end_step(app, &mut tx, &run, idx, end, Holder::Waiting).await? {
        return Err(ApiError::Conflict("someone decided this approval meanwhile".into()));
    }
    tx.commit().await?;
    app.metrics.event(if approve { "playbook.approval.approved" } else { "playbook.approval.rejected" });
    journal::post_pending(app, Some(run_id)).await;
    super::runner::wake();
    runs::require(app, run_id).await
}
