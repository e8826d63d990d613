//! Incident-response playbooks: declarative YAML files ([`spec`]) that say which incidents they
//! answer and what to do, stored with every version ([`catalog`]). When an incident gets findings,
//! [`on_incident`] starts one run of every enabled playbook whose trigger matches (never two runs
//! of one playbook on one incident); the [`runner`] executes the runs' steps as
//! `Actor::System("playbook:<id>")`, and every step's start, retry and outcome goes to the
//! incident's timeline and the audit log ([`journal`]).

pub mod catalog;
pub mod journal;
pub mod runner;
pub mod runs;
pub mod spec;

use crate::error::ApiResult;
use crate::incidents::IncidentTrigger;
use crate::state::AppState;

/// Starts a run of every enabled playbook whose trigger matches the incident of `trigger` (a dry
/// run when the incident is a drill) and wakes the runner; returns the ids of the runs started.
/// A playbook that already ran on this incident is not started again.
pub async fn on_incident(app: &AppState, trigger: &IncidentTrigger) -> ApiResult<Vec<String>> {
    let asset = match &trigger.asset_id {
        Some(id) => crate::inventory::assets::get(app, id).await?,
        None => None,
    };
    let asset = asset.map(|a| spec::AssetFacts { kind: a.kind.as_str().to_owned(), tags: a.tags, sensitivity: a.sensitivity.rank() });
    let findings: Vec<spec::FindingFacts> = trigger
        .findings
        .iter()
        .map(runs::ContextFinding::of)
        .map(|f| spec::FindingFacts { rule_id: f.rule_id, severity: f.severity, source: f.source })
        .collect();
    let mut started = Vec::new();
    for playbook in catalog::enabled(app).await? {
        if let Ok(why) = playbook.playbook.trigger.matches(&findings, asset.as_ref())
            && let Some(run_id) = runs::start(app, &playbook, trigger, &why).await?
        {
            journal::post_pending(app, Some(&run_id)).await;
            started.push(run_id);
        }
    }
    if !started.is_empty() {
        runner::wake();
    }
    Ok(started)
}
