//! The audit log page: the latest signed checkpoint, the verifier key, the newest entries, and how
//! to verify an export offline.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::Method;
use serde::Deserialize;
use serde_json::Value;

use super::api::{latest_checkpoint, list_entries};
use crate::authz::actions;
use crate::gate::Caller;
use crate::routes::Route;
use crate::state::AppState;
use crate::ui::{self, Chrome, UiResult};

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    vec![Route::ui(Method::GET, "/ui/audit", actions::AUDIT_READ, audit_page)]
}

/// One entry as the page shows it.
pub struct EntryRow {
    /// Sequence number.
    pub seq: i64,
    /// When.
    pub when: String,
    /// `API Activity`, `Authentication`, ...
    pub class: String,
    /// The action or logon.
    pub operation: String,
    /// Who.
    pub actor: String,
    /// allow / deny, or success / failure.
    pub outcome: String,
    /// The deciding policies.
    pub policies: String,
    /// Source address.
    pub ip: String,
}

impl EntryRow {
    fn from_entry(seq: i64, entry: &Value) -> EntryRow {
        let text = |v: &Value| v.as_str().unwrap_or("").to_owned();
        let authorization = &entry["actor"]["authorizations"][0];
        let decision = text(&authorization["decision"]);
        let status = text(&entry["status"]);
        // One authorization object per deciding policy.
        let policies = entry["actor"]["authorizations"]
            .as_array()
            .map(|all| all.iter().filter_map(|a| a["policy"]["uid"].as_str()).collect::<Vec<_>>().join(", "))
            .unwrap_or_default();
        let user = entry["actor"]["user"]["name"].as_str().or_else(|| entry["user"]["name"].as_str()).unwrap_or("anonymous");
        let operation = entry["api"]["operation"].as_str().map_or_else(|| text(&entry["activity_name"]), str::to_owned);
        EntryRow {
            seq,
            when: ui::fmt_time(entry["time"].as_i64().unwrap_or(0)),
            class: text(&entry["class_name"]),
            operation,
            actor: user.to_owned(),
            outcome: if decision.is_empty() { status.to_lowercase() } else { format!("{decision} / {}", status.to_lowercase()) },
            policies,
            ip: text(&entry["src_endpoint"]["ip"]),
        }
    }
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    chrome: Chrome,
    size: i64,
    checkpoint: String,
    key: String,
    entries: Vec<EntryRow>,
    base: String,
}

/// Paging of the page.
#[derive(Debug, Deserialize)]
struct AuditQuery {
    /// Show entries from this sequence number instead of the newest.
    from: Option<i64>,
}

async fn audit_page(State(app): State<AppState>, caller: Caller, Query(q): Query<AuditQuery>) -> UiResult {
    let (size, checkpoint) = latest_checkpoint(&app).await?.unwrap_or((0, String::new()));
    let views = match q.from {
        Some(from) => list_entries(&app, from, 100, false).await?,
        None => list_entries(&app, 0, 100, true).await?,
    };
    let entries = views.iter().map(|v| EntryRow::from_entry(v.seq, &v.entry)).collect();
    Ok(ui::render(&AuditPage {
        chrome: Chrome::new("Audit log", &caller),
        size,
        checkpoint,
        key: app.audit.verifier_key().to_owned(),
        entries,
        base: app.public_url.as_str().trim_end_matches('/').to_owned(),
    }))
}
