//! The dashboard: what the server holds and what needs attention, at a glance.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::Method;

use super::{Chrome, NoticeQuery, UiResult, render};
use crate::authz::actions;
use crate::findings::{FindingQuery, StoredFinding};
use crate::gate::Caller;
use crate::routes::Route;
use crate::state::AppState;

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    vec![Route::ui(Method::GET, "/", actions::SELF_READ, dashboard)]
}

/// One number on the dashboard.
pub struct Stat {
    /// What it counts.
    pub label: &'static str,
    /// The count.
    pub value: i64,
    /// Where to see them.
    pub link: &'static str,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    chrome: Chrome,
    stats: Vec<Stat>,
    findings: Vec<StoredFinding>,
    alerts: Vec<StoredFinding>,
    audit_size: i64,
    policy_version: i64,
    needs_mfa: bool,
    /// Incident metrics (drills excluded); `None` for those who may not read incidents.
    incidents: Option<crate::incidents::metrics::Summary>,
}

async fn count(app: &AppState, sql: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(sql).fetch_one(&app.store.read).await
}

async fn dashboard(State(app): State<AppState>, caller: Caller, Query(q): Query<NoticeQuery>) -> UiResult {
    let day_ago = crate::store::now_ms() - 24 * 3600 * 1000;
    let stats = vec![
        Stat { label: "Assets", value: count(&app, "SELECT COUNT(*) FROM assets WHERE retired_at IS NULL").await?, link: "/ui/assets" },
        Stat { label: "Model versions", value: count(&app, "SELECT COUNT(*) FROM model_versions").await?, link: "/ui/models" },
        Stat { label: "Quarantined versions", value: count(&app, "SELECT COUNT(*) FROM model_versions WHERE quarantined = 1").await?, link: "/ui/models" },
        Stat { label: "High or critical findings", value: count(&app, "SELECT COUNT(*) FROM findings WHERE severity_rank >= 3 AND source <> 'alert'").await?, link: "/ui/findings" },
        Stat {
            label: "Alerts in 24 h",
            value: sqlx::query_scalar("SELECT COUNT(*) FROM findings WHERE source = 'alert' AND created_at > $1").bind(day_ago).fetch_one(&app.store.read).await?,
            link: "/ui/alerts",
        },
        Stat { label: "Users", value: count(&app, "SELECT COUNT(*) FROM users WHERE disabled = 0").await?, link: "/ui/users" },
    ];
    // Only findings on assets this user may read (the asset filter records what it hid).
    let findings = crate::findings::list_readable(&app, &caller, &FindingQuery { min_severity: Some("medium".into()), limit: Some(10), ..Default::default() }, "/")
        .await?
        .into_iter()
        .filter(|f| f.source != crate::findings::Source::Alert)
        .collect();
    let alerts = crate::alerts::list(&app, None, Some(10)).await?;
    let audit_size = count(&app, "SELECT COUNT(*) FROM audit_entries").await?;
    let needs_mfa = caller.principal.roles.iter().any(|r| r == "admin") && !caller.via.mfa();
    // Incident metrics only for those who may read incidents (a second decision, recorded).
    let decision = app.authz.decide(&caller.principal, actions::INCIDENT_READ, &crate::authz::ResourceRef::Server, &caller.facts());
    let meta = crate::routes::RouteMeta { method: "GET", path: "/", action: actions::INCIDENT_READ, target: crate::routes::Target::Server, surface: crate::routes::Surface::Ui };
    app.audit.record_decision(&caller.principal, &caller.via, caller.ip, &meta, None, &decision, &caller.request_id, "incident metrics on the dashboard").await?;
    let incidents = if decision.allowed { Some(crate::incidents::metrics::summary(&app).await?) } else { None };
    let page = DashboardPage {
        chrome: Chrome::new("Dashboard", &caller).with_notice(q.notice),
        stats,
        findings,
        alerts,
        audit_size,
        policy_version: app.authz.current().version,
        needs_mfa,
        incidents,
    };
    Ok(render(&page))
}
