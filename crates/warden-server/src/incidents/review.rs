//! The post-incident review: a timeline assembled from the incident's own events, its findings
//! (when each was raised), the playbook runs' journal (entries not yet posted to the incident
//! included) and the audit log entries that concern the incident — its id, its assets, its
//! findings' model versions, the users of its alert subjects and the ids its events name — within
//! the incident's time range (bounded: an indexed time range, at most [`MAX_AUDIT`] entries).
//! Rendered as Markdown here and as printable HTML by [`super::pages`].

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;
use sqlx::Row;

use super::store::{Incident, LinkedAsset, StoredEvent};
use super::Status;
use crate::error::ApiResult;
use crate::findings::StoredFinding;
use crate::state::AppState;
use crate::store::now_ms;

/// Most audit entries one review reads.
pub const MAX_AUDIT: i64 = 1000;
/// Most ids searched for in the audit log.
const MAX_NEEDLES: usize = 40;
/// How far before detection the review looks (the upload or sign-ins that led to it).
const LOOKBACK_MS: i64 = 3_600_000;

/// One line of the timeline.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineEntry {
    /// When (unix ms).
    pub ts: i64,
    /// `incident`, `finding`, `playbook` or `audit`.
    pub source: &'static str,
    /// What kind of thing happened (`status`, `comment`, `pickle.dangerous-global`, `registry.quarantine`).
    pub kind: String,
    /// Who.
    pub actor: String,
    /// What, for people.
    pub text: String,
}

impl TimelineEntry {
    /// When, for people.
    pub fn when(&self) -> String {
        crate::ui::fmt_time(self.ts)
    }
}

/// A playbook run on the incident, with its steps (read from the playbooks' tables).
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// Run id.
    pub id: String,
    /// The playbook.
    pub playbook_id: String,
    /// Its name.
    pub playbook_name: String,
    /// pending, running, waiting_approval, succeeded, failed, ...
    pub status: String,
    /// A dry run (drill).
    pub dry_run: bool,
    /// Steps in the playbook.
    pub step_count: i64,
    /// Steps that failed.
    pub failed_steps: i64,
    /// Started (unix ms).
    pub created_at: i64,
    /// The steps.
    pub steps: Vec<StepSummary>,
}

/// One step of a run.
#[derive(Debug, Clone, Serialize)]
pub struct StepSummary {
    /// Position.
    pub idx: i64,
    /// The action (`quarantine_version`, ...).
    pub action: String,
    /// Its status.
    pub status: String,
    /// Attempts made.
    pub attempts: i64,
    /// What it did.
    pub outcome: String,
    /// Its last error.
    pub error: String,
}

/// Everything the review shows.
#[derive(Debug, Clone, Serialize)]
pub struct Review {
    /// The incident.
    pub incident: Incident,
    /// Its findings.
    pub findings: Vec<StoredFinding>,
    /// Its assets.
    pub assets: Vec<LinkedAsset>,
    /// Playbook runs on it.
    pub runs: Vec<RunSummary>,
    /// The timeline, oldest first.
    pub timeline: Vec<TimelineEntry>,
    /// Whether the audit search hit its bound (the timeline may miss older audit entries).
    pub audit_truncated: bool,
}

/// The playbook runs on incident `id`, newest first.
pub async fn runs(app: &AppState, id: &str) -> ApiResult<Vec<RunSummary>> {
    let rows = sqlx::query(
        "SELECT id, playbook_id, playbook_name, status, dry_run, step_count, failed_steps, created_at FROM playbook_runs WHERE incident_id = $1 ORDER BY created_at DESC, id",
    )
    .bind(id)
    .fetch_all(&app.store.read)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let run_id: String = row.try_get(0)?;
        let steps = sqlx::query("SELECT idx, action, status, attempts, outcome, error FROM playbook_steps WHERE run_id = $1 ORDER BY idx")
            .bind(&run_id)
            .fetch_all(&app.store.read)
            .await?
            .iter()
            .map(|s| {
                Ok(StepSummary {
                    idx: s.try_get(0)?,
                    action: s.try_get(1)?,
                    status: s.try_get(2)?,
                    attempts: s.try_get(3)?,
                    outcome: s.try_get(4)?,
                    error: s.try_get(5)?,
                })
            })
            .collect::<ApiResult<Vec<_>>>()?;
        out.push(RunSummary {
            id: run_id,
            playbook_id: row.try_get(1)?,
            playbook_name: row.try_get(2)?,
            status: row.try_get(3)?,
            dry_run: row.try_get::<i64, _>(4)? != 0,
            step_count: row.try_get(5)?,
            failed_steps: row.try_get(6)?,
            created_at: row.try_get(7)?,
            steps,
        });
    }
    Ok(out)
}

fn event_entry(event: &StoredEvent) -> TimelineEntry {
    let source = if event.kind.starts_with("playbook") || event.actor.starts_with("playbook:") { "playbook" } else { "incident" };
    TimelineEntry { ts: event.ts, source, kind: event.kind.clone(), actor: event.actor.clone(), text: event.text.clone() }
}

fn finding_entry(finding: &StoredFinding) -> TimelineEntry {
    TimelineEntry {
        ts: finding.created_at,
        source: "finding",
        kind: finding.finding.rule_id.as_str().to_owned(),
        actor: finding.source_name().to_owned(),
        text: format!("[{}] {}: {}", finding.finding.severity, finding.finding.title, finding.finding.message),
    }
}

/// Ids named in an event's data: string values of `*_id` keys and string items of `*_ids` lists.
fn ids_in(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match v {
                    Value::String(s) if key.ends_with("_id") && !s.is_empty() => {
                        out.insert(s.clone());
                    }
                    Value::Array(items) if key.ends_with("_ids") => {
                        out.extend(items.iter().filter_map(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned));
                    }
                    Value::Object(_) => ids_in(v, out),
                    _ => {}
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| ids_in(v, out)),
        _ => {}
    }
}

/// What the audit log is searched for: exact JSON strings (`"<id>"`) and user names as actors.
fn needles(incident: &Incident, findings: &[StoredFinding], assets: &[LinkedAsset], events: &[StoredEvent]) -> Vec<String> {
    let mut ids = BTreeSet::new();
    ids.insert(incident.id.clone());
    ids.extend(assets.iter().map(|a| a.id.clone()));
    ids.extend(incident.asset_id.clone());
    for finding in findings {
        ids.extend(finding.asset_id.clone());
        ids.extend(finding.version_id.clone());
    }
    for event in events {
        ids_in(&event.data, &mut ids);
    }
    // Finding ids only appear in incident entries, which the incident's own events already show.
    for finding in findings {
        ids.remove(&finding.id);
    }
    let mut out: Vec<String> = ids.into_iter().filter(|id| id.len() >= 8).map(|id| format!("\"{id}\"")).collect();
    let users: BTreeSet<&str> = findings
        .iter()
        .map(|f| f.subject.as_str())
        .chain(std::iter::once(incident.subject.as_str()))
        .filter_map(|s| s.strip_prefix("user:"))
        .map(|s| s.split(':').next().unwrap_or(s))
        .filter(|s| !s.is_empty())
        .collect();
    out.extend(users.into_iter().map(|name| format!("\"name\":{}", Value::String(name.to_owned()))));
    out.truncate(MAX_NEEDLES);
    out
}

/// LIKE pattern matching `needle` anywhere (LIKE's own wildcards are confirmed by the exact check after).
fn like(needle: &str) -> String {
    format!("%{needle}%")
}

/// The audit entry as a timeline line, or `None` for entries the review leaves out: the
/// incident's and playbooks' own entries (their events are in the timeline already) and allowed
/// reads at the gate (page views).
fn audit_entry(seq: i64, data: &str) -> Option<TimelineEntry> {
    let entry: Value = serde_json::from_str(data).ok()?;
    let operation = entry["api"]["operation"].as_str().unwrap_or("");
    if operation.starts_with("incident.") || operation.starts_with("playbook.") {
        return None;
    }
    let phase = entry["unmapped"]["warden"]["details"]["phase"].as_str().unwrap_or("");
    let failed = entry["status"].as_str() == Some("Failure");
    let denied = entry["actor"]["authorizations"].as_array().is_some_and(|a| a.iter().any(|x| x["decision"] == "deny"));
    if phase == "authorization" && !failed && !denied && operation != "registry.download" {
        return None;
    }
    let class = entry["class_name"].as_str().unwrap_or("event");
    let activity = entry["activity_name"].as_str().unwrap_or("");
    let kind = if operation.is_empty() { format!("{class}: {activity}") } else { operation.to_owned() };
    let actor = entry["actor"]["user"]["name"].as_str().or(entry["actor"]["user"]["type"].as_str()).unwrap_or("unknown").to_owned();
    let resources: Vec<String> = entry["resources"]
        .as_array()
        .map(|list| list.iter().map(|r| format!("{} {}", r["type"].as_str().unwrap_or(""), r["name"].as_str().or(r["uid"].as_str()).unwrap_or(""))).collect())
        .unwrap_or_default();
    let mut text = match entry["message"].as_str() {
        Some(message) => message.to_owned(),
        None if phase == "authorization" => format!("{} {}", if denied { "denied" } else { "allowed" }, operation),
        None => format!("{activity} {}", resources.join(", ")).trim().to_owned(),
    };
    if failed {
        text.push_str(&format!(" (failed: {})", entry["status_detail"].as_str().unwrap_or("")));
    }
    if let Some(user) = entry["user"]["name"].as_str() {
        text.push_str(&format!(" — user {user}"));
    }
    text.push_str(&format!(" [audit #{seq}]"));
    Some(TimelineEntry { ts: entry["time"].as_i64().unwrap_or(0), source: "audit", kind, actor, text })
}

/// Assembles the review of incident `id`.
pub async fn assemble(app: &AppState, id: &str) -> ApiResult<Review> {
    let super::api::IncidentDetail { incident, findings, assets, events, playbook_runs: runs } = super::api::detail(app, id).await?;
    let mut timeline: Vec<TimelineEntry> = events.iter().map(event_entry).collect();
    timeline.extend(findings.iter().map(finding_entry));
    // Journal entries the playbooks have not posted to the incident yet.
    let pending = sqlx::query("SELECT kind, text, created_at, run_id FROM playbook_events WHERE incident_id = $1 AND posted_at IS NULL ORDER BY created_at LIMIT 1000")
        .bind(id)
        .fetch_all(&app.store.read)
        .await?;
    for row in &pending {
        let run: String = row.try_get(3)?;
        let playbook = runs.iter().find(|r| r.id == run).map_or_else(|| "playbook".to_owned(), |r| format!("playbook:{}", r.playbook_id));
        timeline.push(TimelineEntry { ts: row.try_get(2)?, source: "playbook", kind: row.try_get(0)?, actor: playbook, text: format!("{} (not yet posted)", row.try_get::<String, _>(1)?) });
    }
    let start = findings.iter().map(|f| f.created_at).min().unwrap_or(incident.created_at).min(incident.created_at) - LOOKBACK_MS;
    let end = incident.closed_at.unwrap_or_else(now_ms) + 300_000;
    let needles = needles(&incident, &findings, &assets, &events);
    let clauses: Vec<String> = (0..needles.len()).map(|i| format!("data LIKE ${}", i + 3)).collect();
    let sql = format!("SELECT seq, data FROM audit_entries WHERE ts >= $1 AND ts <= $2 AND ({}) ORDER BY seq LIMIT {}", clauses.join(" OR "), MAX_AUDIT);
    let mut query = sqlx::query(&sql).bind(start).bind(end);
    for needle in &needles {
        query = query.bind(like(needle));
    }
    let rows = query.fetch_all(&app.store.read).await?;
    let audit_truncated = rows.len() as i64 >= MAX_AUDIT;
    for row in &rows {
        let data: String = row.try_get(1)?;
        if needles.iter().any(|n| data.contains(n.as_str()))
            && let Some(entry) = audit_entry(row.try_get(0)?, &data)
        {
            timeline.push(entry);
        }
    }
    timeline.sort_by_key(|e| e.ts);
    Ok(Review { incident, findings, assets, runs, timeline, audit_truncated })
}

/// A table cell: no line breaks, no column separators.
fn cell(text: &str) -> String {
    text.replace('\\', "\\\\").replace('|', "\\|").replace(['\r', '\n'], " ")
}

/// A block of user text, or a placeholder.
fn block(text: &str, missing: &str) -> String {
    if text.trim().is_empty() { format!("_{missing}_") } else { text.trim().to_owned() }
}

/// The review as Markdown.
pub fn markdown(review: &Review) -> String {
    let i = &review.incident;
    let mut out = String::new();
    let title = if i.drill { format!("Drill review: {}", i.title) } else { format!("Incident review: {}", i.title) };
    out.push_str(&format!("# {}\n\n", cell(&title)));
    out.push_str("| | |\n|---|---|\n");
    out.push_str(&format!("| Incident | `{}` |\n", i.id));
    out.push_str(&format!("| Severity | {} |\n| Status | {} |\n", i.severity, i.status));
    out.push_str(&format!("| Opened by | {} (rule `{}`) |\n", cell(&i.created_by), cell(&i.rule_id)));
    out.push_str(&format!("| Owner | {} |\n", if i.owner.is_empty() { "—".to_owned() } else { cell(&i.owner) }));
    out.push_str(&format!("| Assignees | {} |\n", if i.assignees.is_empty() { "—".to_owned() } else { cell(&i.assignees.join(", ")) }));
    for status in Status::ALL {
        out.push_str(&format!("| {} | {} |\n", status.label(), i.when_reached(&status)));
    }
    out.push_str(&format!("| Time to contain | {} |\n| Time to recover | {} |\n\n", i.ttc(), i.ttr()));
    out.push_str(&format!("## Summary\n\n{}\n\n", block(&i.summary, "No summary.")));
    out.push_str(&format!("## Root cause\n\n{}\n\n", block(&i.root_cause, "Not recorded yet.")));
    out.push_str(&format!("## Lessons learned\n\n{}\n\n", block(&i.lessons, "Not recorded yet.")));
    out.push_str("## Assets\n\n");
    if review.assets.is_empty() {
        out.push_str("_None linked._\n\n");
    } else {
        for asset in &review.assets {
            out.push_str(&format!("- {} `{}` ({}, `{}`)\n", asset.kind, cell(&asset.name), crate::ui::fmt_time(asset.linked_at), asset.id));
        }
        out.push('\n');
    }
    out.push_str(&format!("## Findings ({})\n\n", review.findings.len()));
    if !review.findings.is_empty() {
        out.push_str("| Raised | Severity | Rule | Finding | Source |\n|---|---|---|---|---|\n");
        for f in &review.findings {
            out.push_str(&format!("| {} | {} | `{}` | {} | {} |\n", f.when(), f.finding.severity, f.finding.rule_id.as_str(), cell(&f.finding.message), f.source_name()));
        }
        out.push('\n');
    }
    out.push_str("## Playbook runs\n\n");
    if review.runs.is_empty() {
        out.push_str("_None._\n\n");
    } else {
        for run in &review.runs {
            let mode = if run.dry_run { " (dry run)" } else { "" };
            out.push_str(&format!("- **{}**{mode}: {} — {} step(s), {} failed\n", cell(&run.playbook_name), run.status, run.step_count, run.failed_steps));
            for step in &run.steps {
                let detail = if step.error.is_empty() { &step.outcome } else { &step.error };
                out.push_str(&format!("  {}. `{}` {} ({} attempt(s)) {}\n", step.idx + 1, step.action, step.status, step.attempts, cell(detail)));
            }
        }
        out.push('\n');
    }
    out.push_str("## Timeline\n\n| Time | Source | Who | What |\n|---|---|---|---|\n");
    for e in &review.timeline {
        out.push_str(&format!("| {} | {} | {} | **{}** {} |\n", e.when(), e.source, cell(&e.actor), cell(&e.kind), cell(&e.text)));
    }
    if review.audit_truncated {
        out.push_str(&format!("\n_The audit search stopped at {MAX_AUDIT} entries; see the audit log for the rest._\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn ids_are_found_in_event_data() {
        let mut out = BTreeSet::new();
        ids_in(&json!({"key_id": "k1", "run_id": "r1", "nested": {"version_id": "v1"}, "finding_ids": ["f1", "f2"], "text": "t", "user_id": ""}), &mut out);
        assert_eq!(out.into_iter().collect::<Vec<_>>(), ["f1", "f2", "k1", "r1", "v1"]);
    }

    #[test]
    fn markdown_cells_cannot_break_the_table() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
    }

    #[test]
    fn gate_reads_are_left_out_but_changes_and_downloads_kept() {
        let read = json!({"time": 5, "class_name": "API Activity", "activity_name": "Read", "status": "Success", "api": {"operation": "asset.read"}, "actor": {"user": {"name": "ada"}, "authorizations": [{"decision": "allow"}]}, "unmapped": {"warden": {"details": {"phase": "authorization"}}}});
        assert!(audit_entry(1, &read.to_string()).is_none());
        let mut download = read.clone();
        download["api"]["operation"] = json!("registry.download");
        assert_eq!(audit_entry(2, &download.to_string()).map(|e| e.kind), Some("registry.download".into()));
        let change = json!({"time": 7, "class_name": "API Activity", "activity_name": "Update", "status": "Success", "message": "automatic: playbook:x", "api": {"operation": "registry.quarantine"}, "actor": {"user": {"name": "warden"}}, "unmapped": {"warden": {"details": {"phase": "change"}}}});
        let entry = audit_entry(3, &change.to_string()).unwrap();
        assert_eq!((entry.ts, entry.actor.as_str(), entry.kind.as_str()), (7, "warden", "registry.quarantine"));
        assert!(entry.text.contains("[audit #3]"));
        let mut own = change;
        own["api"]["operation"] = json!("incident.advance");
        assert!(audit_entry(4, &own.to_string()).is_none());
    }
}
