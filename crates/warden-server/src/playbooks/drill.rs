//! Drills: a playbook run against a simulated incident (opened by `incidents::open_drill`, kept
//! apart from real incidents) as a dry run. Every step finds its targets and checks them as a real
//! run would, then records what it would do and why; approvals are simulated and say so; nothing
//! real changes. The drill report lists each step's decision and timing.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use warden_core::{Finding, Location, Severity};

use super::catalog::{self, StoredPlaybook};
use super::journal::{self, JournalRow};
use super::runs::{self, Run, RunStep};
use super::spec;
use crate::actor::Actor;
use crate::error::{ApiError, ApiResult};
use crate::gate::Caller;
use crate::incidents;
use crate::state::AppState;

/// `POST /api/v1/playbooks/{id}/drill` body; every field optional.
#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DrillRequest {
    /// The asset the simulated incident concerns.
    #[serde(default)]
    pub asset_id: Option<String>,
    /// A version of that model, named by the simulated findings (for `quarantine_version`).
    #[serde(default)]
    pub version: Option<String>,
    /// Who or what the incident is about: `user:<name>`, or `client:<deployment>:<client>`.
    #[serde(default)]
    pub subject: Option<String>,
    /// The simulated findings (default: one matching the playbook's trigger).
    #[serde(default)]
    #[schema(value_type = Option<Vec<Object>>)]
    pub findings: Option<Vec<Finding>>,
}

/// A started drill.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DrillStarted {
    /// The dry run.
    pub run_id: String,
    /// The simulated incident.
    pub incident_id: String,
    /// Whether the trigger would have started the playbook on a real incident like this, and why.
    pub trigger: String,
}

/// A finding that the playbook's trigger matches, for a drill without findings of its own.
fn simulated_finding(playbook: &StoredPlaybook, subject: Option<&str>) -> Finding {
    let trigger = &playbook.playbook.trigger;
    let rule = trigger.rules.first().or(trigger.alert_kinds.first()).map_or_else(|| "drill.simulated".to_owned(), |g| g.replace('*', "drill").replace('?', "x"));
    let severity = trigger.min_severity.max(Severity::High);
    let location = Location { path: "warden-drill".into(), client_id: subject.map(str::to_owned), ..Location::default() };
    Finding::new(rule, severity, format!("Simulated finding for a drill of {}", playbook.name), "No real event: a drill rehearses the playbook.", location)
}

/// Opens a simulated incident for playbook `id` and starts its dry run as `caller`.
pub async fn start(app: &AppState, caller: &Caller, id: &str, request: &DrillRequest) -> ApiResult<DrillStarted> {
    let playbook = catalog::require(app, id).await?;
    let asset = match request.asset_id.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        Some(asset_id) => Some(super::targets::asset(app, asset_id).await?.ok_or_else(|| ApiError::not_found("asset", asset_id))?),
        None => None,
    };
    let version_id = match (&asset, request.version.as_deref().map(str::trim).filter(|v| !v.is_empty())) {
        (Some(asset), Some(version)) => {
            crate::registry::upload::validate_version(version)?;
            let found = crate::registry::catalog::version(&mut *app.store.read.acquire().await?, &asset.id, version).await?;
            Some(found.ok_or_else(|| ApiError::NotFound(format!("`{}` has no version `{version}`", asset.name)))?.id)
        }
        (None, Some(_)) => return Err(ApiError::BadRequest("a version belongs to a model: give `asset_id` too".into())),
        _ => None,
    };
    let subject = request.subject.as_deref().map(str::trim).filter(|s| !s.is_empty());
    if subject.is_some_and(|s| s.len() > 300 || s.chars().any(char::is_control)) {
        return Err(ApiError::BadRequest("a subject has at most 300 printable characters".into()));
    }
    let findings = match &request.findings {
        Some(findings) if !findings.is_empty() => findings.clone(),
        _ => vec![simulated_finding(&playbook, subject)],
    };
    let mut trigger = incidents::open_drill(app, Actor::Caller(caller), &playbook.id, findings, asset.as_ref().map(|a| a.id.as_str())).await?;
    for finding in &mut trigger.findings {
        if version_id.is_some() {
            finding.version_id.clone_from(&version_id);
        }
        if let Some(subject) = subject {
            subject.clone_into(&mut finding.subject);
        }
    }
    if let Some(subject) = subject {
        subject.clone_into(&mut trigger.subject);
    }
    let facts: Vec<spec::FindingFacts> = trigger
        .findings
        .iter()
        .map(runs::ContextFinding::of)
        .map(|f| spec::FindingFacts { rule_id: f.rule_id, severity: f.severity, source: f.source })
        .collect();
    let asset_facts = asset.as_ref().map(|a| spec::AssetFacts { kind: a.kind.clone(), tags: a.tags.clone(), sensitivity: a.sensitivity });
    let matched = match playbook.playbook.trigger.matches(&facts, asset_facts.as_ref(), &trigger.subject) {
        Ok(why) => format!("drill; on a real incident the trigger would match: {why}"),
        Err(why) => format!("drill; on a real incident the trigger would NOT start this playbook: {why}"),
    };
    let run_id = runs::start(app, &playbook, &trigger, &matched)
        .await?
        .ok_or_else(|| ApiError::Conflict("this drill's incident already has a run of the playbook".into()))?;
    journal::post_pending(app, Some(&run_id)).await;
    super::runner::wake();
    Ok(DrillStarted { run_id, incident_id: trigger.incident_id, trigger: matched })
}

/// One step of a run report.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReportStep {
    /// Position (1-based, as people count).
    pub number: i64,
    /// Label.
    pub label: String,
    /// Action.
    pub action: String,
    /// Final status.
    pub status: String,
    /// What it did or would do, or why it failed.
    pub decision: String,
    /// Attempts.
    pub attempts: i64,
    /// Started (unix ms).
    pub started_at: Option<i64>,
    /// Finished (unix ms).
    pub finished_at: Option<i64>,
    /// How long it took.
    pub duration_ms: Option<i64>,
}

/// A run's report: the decisions and timings of its steps, and its journal.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RunReport {
    /// The run.
    pub run: Run,
    /// Its steps.
    pub steps: Vec<ReportStep>,
    /// From start to end (or to now).
    pub total_ms: i64,
    /// Every entry of its journal.
    pub journal: Vec<JournalRow>,
}

/// The report of run `id`.
pub async fn report(app: &AppState, id: &str) -> ApiResult<RunReport> {
    let run = runs::require(app, id).await?;
    let steps = runs::steps(app, id).await?.iter().map(report_step).collect();
    let journal = journal::of_run(app, id).await?;
    Ok(RunReport { total_ms: run.duration_ms(), run, steps, journal })
}

fn report_step(step: &RunStep) -> ReportStep {
    let decision = if step.error.is_empty() { step.outcome.clone() } else { step.error.clone() };
    ReportStep {
        number: step.idx + 1,
        label: step.label(),
        action: step.action.clone(),
        status: step.status.clone(),
        decision,
        attempts: step.attempts,
        started_at: step.started_at,
        finished_at: step.finished_at,
        duration_ms: step.duration_ms(),
    }
}

/// The report as Markdown (for pasting into a ticket or a review).
pub fn markdown(report: &RunReport) -> String {
    let mut out = format!(
        "# {} of playbook `{}` (version {})\n\nIncident `{}` · status **{}** · {} ms\n\n{}\n\n| # | Step | Status | Decision | Attempts | Time (ms) |\n|---|---|---|---|---|---|\n",
        if report.run.dry_run { "Drill" } else { "Run" },
        report.run.playbook_id,
        report.run.playbook_version,
        report.run.incident_id,
        report.run.status,
        report.total_ms,
        report.run.matched,
    );
    for step in &report.steps {
        let decision = step.decision.replace('|', "\\|").replace('\n', " ");
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            step.number,
            step.label,
            step.status,
            decision,
            step.attempts,
            step.duration_ms.map_or_else(|| "-".to_owned(), |d| d.to_string())
        ));
    }
    out
}

/// The JSON value of a report (for the API).
pub fn to_json(report: &RunReport) -> Value {
    serde_json::to_value(report).unwrap_or(Value::Null)
}
