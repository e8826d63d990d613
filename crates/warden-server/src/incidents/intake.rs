//! From findings to incidents. [`intake`] runs after the transaction that stored findings has
//! committed: it applies the incident rules, groups the matching findings by asset (else by
//! subject), attaches each group to the open incident of its group or opens one, and then hands
//! every incident that got findings to the playbooks. [`open_drill`] opens a simulated incident.
//!
//! One open incident per group holds across server instances: the group key is stored in the
//! unique `open_key` column while the incident is open, and an instance that loses the race to
//! open it retries and joins the winner's incident.

use std::collections::HashMap;

use serde_json::json;
use warden_core::{Finding, Severity};

use super::rules::{AssetFacts, Candidate, IncidentRule};
use super::store::{self, LoadedFinding, NewIncident};
use super::{IncidentEvent, IncidentTrigger};
use crate::actor::Actor;
use crate::audit::Change;
use crate::error::{ApiError, ApiResult};
use crate::findings::StoredFinding;
use crate::state::AppState;
use crate::store::{is_unique_violation, new_id};

/// How the incident rules appear in histories (`system:incident-rules`).
pub const RULES_ACTOR: &str = "incident-rules";

/// Most finding ids named in one audit entry or event (the count is always given).
const MAX_NAMED: usize = 50;

/// Findings of one group, with the rule that matched the first of them.
struct Group<'r> {
    key: String,
    asset_id: Option<String>,
    rule: &'r IncidentRule,
    findings: Vec<StoredFinding>,
}

/// The group key of a finding: its asset, else its subject, else its rule.
pub fn group_key(finding: &StoredFinding) -> String {
    match (&finding.asset_id, finding.subject.is_empty()) {
        (Some(asset), _) => format!("asset:{asset}"),
        (None, false) => format!("subject:{}", finding.subject),
        (None, true) => format!("rule:{}", finding.finding.rule_id.as_str()),
    }
}

/// Applies the incident rules to the findings `finding_ids` (already committed), opens or joins
/// incidents, and starts the playbooks of every incident that got findings. A finding already
/// linked to an incident is skipped, so calling this twice changes nothing the second time.
/// Playbook errors are logged and recorded on the incident; they never undo it.
pub async fn intake(app: &AppState, finding_ids: &[String]) -> ApiResult<Vec<IncidentTrigger>> {
    if finding_ids.is_empty() {
        return Ok(Vec::new());
    }
    let set = app.config.incident_rules();
    let mut conn = app.store.read.acquire().await?;
    let loaded = store::findings_by_ids(&mut conn, finding_ids).await?;
    let linked = store::already_linked(&mut conn, finding_ids).await?;
    drop(conn);
    let mut assets: HashMap<String, Option<AssetFacts>> = HashMap::new();
    let mut groups: Vec<Group<'_>> = Vec::new();
    for LoadedFinding { stored, source } in loaded {
        if linked.contains(&stored.id) {
            continue;
        }
        let facts = match &stored.asset_id {
            Some(id) => {
                if !assets.contains_key(id) {
                    let attrs = crate::inventory::asset_attrs(app, id).await?;
                    assets.insert(id.clone(), attrs.map(|a| AssetFacts { kind: a.kind, sensitivity: a.sensitivity, tags: a.tags }));
                }
                assets.get(id).cloned().flatten()
            }
            None => None,
        };
        let candidate = Candidate { rule_id: stored.finding.rule_id.as_str(), severity: stored.finding.severity, source: &source, asset: facts.as_ref() };
        let Some(rule) = set.first_match(&candidate) else { continue };
        let key = group_key(&stored);
        match groups.iter_mut().find(|g| g.key == key) {
            Some(group) => group.findings.push(stored),
            None => groups.push(Group { key, asset_id: stored.asset_id.clone(), rule, findings: vec![stored] }),
        }
    }
    let mut triggers = Vec::new();
    for group in &groups {
        if let Some(trigger) = attach_with_retry(app, group).await? {
            triggers.push(trigger);
        }
    }
    mark_taken_in(app, finding_ids).await?;
    for trigger in &triggers {
        start_playbooks(app, trigger).await;
    }
    if !triggers.is_empty() {
        super::metrics::refresh(app).await;
    }
    Ok(triggers)
}

/// [`intake`] for call sites whose own change has committed already: a failure is logged (with
/// the finding ids, so the findings can be linked by hand) rather than failing the request that
/// stored the findings.
pub async fn intake_after_commit(app: &AppState, finding_ids: &[String]) {
    if let Err(err) = intake(app, finding_ids).await {
        app.metrics.event("incident.intake_failed");
        tracing::error!(%err, findings = ?finding_ids.iter().take(MAX_NAMED).collect::<Vec<_>>(), "incident intake failed; link the findings to an incident by hand");
    }
}

/// Records that the incident rules have seen these findings (linked or not), so the sweep leaves
/// them alone.
async fn mark_taken_in(app: &AppState, finding_ids: &[String]) -> ApiResult<()> {
    let now = crate::store::now_ms();
    for chunk in finding_ids.chunks(200) {
        let placeholders: Vec<String> = (2..chunk.len() + 2).map(|i| format!("${i}")).collect();
        let sql = format!("UPDATE findings SET intake_at = $1 WHERE id IN ({})", placeholders.join(", "));
        let mut query = sqlx::query(&sql).bind(now);
        for id in chunk {
            query = query.bind(id);
        }
        query.execute(app.store.writer()).await?;
    }
    Ok(())
}

/// Takes in findings of the last day that no intake has seen (the intake after their commit
/// failed, or the process stopped in between). Run by the server's housekeeping every minute;
/// returns how many findings it looked at.
pub async fn sweep(app: &AppState) -> ApiResult<usize> {
    let now = crate::store::now_ms();
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM findings WHERE intake_at IS NULL AND created_at < $1 AND created_at > $2 ORDER BY created_at LIMIT 500",
    )
    .bind(now - 60_000)
    .bind(now - 24 * 3_600_000)
    .fetch_all(&app.store.read)
    .await?;
    if !ids.is_empty() {
        tracing::warn!(findings = ids.len(), "taking in findings an earlier intake missed");
        intake(app, &ids).await?;
    }
    Ok(ids.len())
}

/// Hands an incident to the playbooks; failures land in its timeline.
async fn start_playbooks(app: &AppState, trigger: &IncidentTrigger) {
    if let Err(err) = crate::playbooks::on_incident(app, trigger).await {
        tracing::error!(%err, incident = %trigger.incident_id, "the playbooks could not start");
        let event = IncidentEvent {
            kind: "playbook.error".into(),
            actor: "system:playbooks".into(),
            text: format!("the playbooks could not start: {err}"),
            data: json!({"error": err.to_string()}),
        };
        if let Err(err) = super::record_event(app, &trigger.incident_id, event).await {
            tracing::error!(%err, incident = %trigger.incident_id, "could not record the playbook failure on the incident");
        }
    }
}

enum Attempt {
    Done(Option<IncidentTrigger>),
    LostRace,
}

async fn attach_with_retry(app: &AppState, group: &Group<'_>) -> ApiResult<Option<IncidentTrigger>> {
    for _ in 0..4 {
        if let Attempt::Done(trigger) = attach(app, group).await? {
            return Ok(trigger);
        }
    }
    Err(ApiError::Unavailable(format!("could not open or join the incident of `{}` (busy); try again", group.key)))
}

async fn asset_name(conn: &mut sqlx::AnyConnection, asset_id: &str) -> ApiResult<Option<String>> {
    Ok(sqlx::query_scalar("SELECT name FROM assets WHERE id = $1").bind(asset_id).fetch_optional(&mut *conn).await?)
}

/// One transaction: find or open the group's incident, link the findings and the asset, raise
/// the severity, record the event and the audit entry.
async fn attach(app: &AppState, group: &Group<'_>) -> ApiResult<Attempt> {
    let max = group.findings.iter().map(|f| f.finding.severity).max().unwrap_or(Severity::Medium);
    let subject = group.findings.iter().map(|f| f.subject.clone()).find(|s| !s.is_empty());
    let mut tx = app.store.begin().await?;
    let existing = store::open_for_key(&mut tx, &group.key).await?;
    let (incident_id, created, current, title) = match existing {
        Some(incident) => (incident.id, false, incident.severity, incident.title),
        None => {
            let about = match &group.asset_id {
                Some(asset) => asset_name(&mut tx, asset).await?.unwrap_or_else(|| asset.clone()),
                None => subject.clone().unwrap_or_else(|| group.key.clone()),
            };
            let title = format!("{}: {about}", group.rule.title);
            let id = new_id();
            let first = &group.findings[0];
            let summary = format!("{} ({}): {}", first.finding.title, first.finding.rule_id.as_str(), first.finding.message);
            let new = NewIncident {
                id: &id,
                title: &title,
                summary: &summary,
                severity: max,
                group_key: &group.key,
                holds_open_key: true,
                asset_id: group.asset_id.as_deref(),
                subject: subject.as_deref().unwrap_or(""),
                rule_id: &group.rule.id,
                owner: "",
                drill: false,
                playbook_id: None,
                created_by: &format!("system:{RULES_ACTOR}"),
            };
            match store::insert(&mut tx, &new).await {
                Ok(_) => {}
                Err(err) if is_unique_violation(&err) => return Ok(Attempt::LostRace),
                Err(err) => return Err(err.into()),
            }
            (id, true, max, title)
        }
    };
    let by = format!("system:{RULES_ACTOR}");
    let mut joined = Vec::new();
    for finding in &group.findings {
        if store::link_finding(&mut tx, &incident_id, &finding.id, &by).await? {
            joined.push(finding.clone());
        }
    }
    if joined.is_empty() {
        return Ok(Attempt::Done(None));
    }
    if let Some(asset) = &group.asset_id {
        store::link_asset(&mut tx, &incident_id, asset, &by).await?;
    }
    let severity = store::raise_severity(&mut tx, &incident_id, current, max).await?;
    store::touch(&mut tx, &incident_id).await?;
    let named: Vec<&str> = joined.iter().take(MAX_NAMED).map(|f| f.id.as_str()).collect();
    let rules_seen: Vec<&str> = {
        let mut ids: Vec<&str> = joined.iter().map(|f| f.finding.rule_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    };
    let data = json!({
        "rule": group.rule.id,
        "findings": joined.len(),
        "finding_ids": named,
        "finding_rules": rules_seen,
        "severity": severity.as_str(),
        "asset_id": group.asset_id,
    });
    let (kind, text) = if created {
        ("opened", format!("Opened by incident rule `{}` ({}): {} finding(s), {}", group.rule.id, group.rule.title, joined.len(), rules_seen.join(", ")))
    } else {
        ("findings.joined", format!("{} more finding(s) joined ({}); severity now {severity}", joined.len(), rules_seen.join(", ")))
    };
    store::insert_event(&mut tx, &incident_id, &IncidentEvent { kind: kind.into(), actor: by.clone(), text: text.clone(), data: data.clone() }).await?;
    let mut change = if created { Change::create("incident.open", "incident", &incident_id) } else { Change::update("incident.findings", "incident", &incident_id) };
    change = change.named(title).detail(data).message(text);
    if let Some(asset) = &group.asset_id {
        change = change.also("asset", asset);
    }
    for id in &named {
        change = change.also("finding", id);
    }
    Actor::System(RULES_ACTOR).record(app, &mut tx, change).await?;
    tx.commit().await?;
    app.metrics.event(if created { "incident.open" } else { "incident.findings" });
    Ok(Attempt::Done(Some(IncidentTrigger {
        incident_id,
        created,
        asset_id: group.asset_id.clone(),
        subject: subject.unwrap_or_else(|| group.asset_id.as_ref().map_or_else(|| group.key.clone(), |a| format!("asset:{a}"))),
        severity,
        findings: joined,
        drill: false,
    })))
}

/// Most simulated findings one drill may carry.
pub const MAX_DRILL_FINDINGS: usize = 1000;

/// Opens a simulated incident for a drill of playbook `playbook_id`: its findings are stored
/// apart from real ones and it is kept out of real incident lists, metrics and exports. The
/// caller (the drill runner) starts the dry run with the returned trigger; this does not call the
/// playbooks itself.
pub async fn open_drill(app: &AppState, actor: Actor<'_>, playbook_id: &str, findings: Vec<Finding>, asset_id: Option<&str>) -> ApiResult<IncidentTrigger> {
    if findings.len() > MAX_DRILL_FINDINGS {
        return Err(ApiError::TooLarge(format!("a drill may simulate at most {MAX_DRILL_FINDINGS} findings")));
    }
    let playbook_id = playbook_id.trim();
    if playbook_id.is_empty() || playbook_id.len() > 200 || playbook_id.chars().any(char::is_control) {
        return Err(ApiError::BadRequest("name the playbook the drill rehearses (1 to 200 characters)".into()));
    }
    let mut tx = app.store.begin().await?;
    let about = match asset_id {
        Some(asset) if !store::plain_id(asset) => return Err(ApiError::not_found("asset", &asset.escape_default().to_string())),
        Some(asset) => Some(asset_name(&mut tx, asset).await?.ok_or_else(|| ApiError::not_found("asset", asset))?),
        None => None,
    };
    let severity = findings.iter().map(|f| f.severity).max().unwrap_or(Severity::Medium);
    let subject = findings.iter().find_map(|f| f.location.client_id.clone()).unwrap_or_default();
    let what = findings.first().map_or_else(|| "simulated incident".to_owned(), |f| f.title.clone());
    let title = match &about {
        Some(name) => format!("Drill of `{playbook_id}`: {what} on {name}"),
        None => format!("Drill of `{playbook_id}`: {what}"),
    };
    let id = new_id();
    let group_key = match asset_id {
        Some(asset) => format!("asset:{asset}"),
        None if !subject.is_empty() => format!("subject:{subject}"),
        None => format!("drill:{id}"),
    };
    let who = actor.name();
    let new = NewIncident {
        id: &id,
        title: &title,
        summary: "A simulated incident: playbooks only record what they would do.",
        severity,
        group_key: &group_key,
        holds_open_key: false,
        asset_id,
        subject: &subject,
        rule_id: "drill",
        owner: actor.user_id().map_or("", |_| who.as_str()),
        drill: true,
        playbook_id: Some(playbook_id),
        created_by: &who,
    };
    store::insert(&mut tx, &new).await?;
    let mut stored = Vec::with_capacity(findings.len());
    for finding in findings {
        stored.push(store::insert_drill_finding(&mut tx, &id, asset_id, finding).await?);
    }
    if let Some(asset) = asset_id {
        store::link_asset(&mut tx, &id, asset, &who).await?;
    }
    let data = json!({"playbook_id": playbook_id, "findings": stored.len(), "severity": severity.as_str(), "asset_id": asset_id});
    let text = format!("Drill of playbook `{playbook_id}` opened with {} simulated finding(s)", stored.len());
    store::insert_event(&mut tx, &id, &IncidentEvent { kind: "drill.opened".into(), actor: who.clone(), text: text.clone(), data: data.clone() }).await?;
    let mut change = Change::create("incident.drill", "incident", &id).named(title).detail(data).message(text);
    if let Some(asset) = asset_id {
        change = change.also("asset", asset);
    }
    actor.record(app, &mut tx, change).await?;
    tx.commit().await?;
    app.metrics.event("incident.drill");
    Ok(IncidentTrigger {
        incident_id: id,
        created: true,
        asset_id: asset_id.map(str::to_owned),
        subject: if subject.is_empty() { asset_id.map_or(group_key, |a| format!("asset:{a}")) } else { subject },
        severity,
        findings: stored,
        drill: true,
    })
}
