//! Suspicious access: bursts of failed sign-ins, a sign-in from a new device or network, access
//! outside the allowed hours, mass downloads of models. Each becomes a finding (source `alert`)
//! the first time it happens in a window, so one burst is one alert, not one per attempt.
//!
//! Every sign-in attempt and download is also kept in `access_events`, the detectors' memory
//! (shared by all server instances through the database).

use axum::Json;
use axum::extract::{Query, State};
use axum::http::Method;
use serde::Deserialize;
use warden_core::{Location, Rule, Severity};

use crate::audit::LoginRecord;
use crate::authz::actions;
use crate::error::ApiResult;
use crate::findings::{self, Attach, Source, StoredFinding};
use crate::gate::Caller;
use crate::identity::session;
use crate::routes::Route;
use crate::state::AppState;
use crate::store::{new_id, now_ms};

/// Failed sign-ins beyond the threshold within the window (per user name or per address).
pub static LOGIN_BURST: Rule = Rule {
    id: "server.login-burst",
    severity: Severity::High,
    title: "burst of failed sign-ins",
    description: "Many failed sign-ins for one account or from one address in a short time: password guessing or credential stuffing.",
    atlas: &["AML.T0012"],
    remediation: "Check whether the account is being guessed; block the source address, reset the password if it may be known.",
};
/// A sign-in from a browser never seen for this user.
pub static NEW_DEVICE: Rule = Rule {
    id: "server.new-device",
    severity: Severity::Low,
    title: "sign-in from a new device",
    description: "A successful sign-in from a browser (device cookie) this user never used before.",
    atlas: &["AML.T0012"],
    remediation: "Confirm with the user that the sign-in was theirs.",
};
/// A sign-in from a network never seen for this user.
pub static NEW_NETWORK: Rule = Rule {
    id: "server.new-network",
    severity: Severity::Medium,
    title: "sign-in from a new network",
    description: "A successful sign-in from a network (/24 or /48) this user never signed in from before.",
    atlas: &["AML.T0012"],
    remediation: "Confirm with the user that the sign-in was theirs; consider a network condition in the access policies.",
};
/// Access outside the configured hours.
pub static OFF_HOURS: Rule = Rule {
    id: "server.off-hours-access",
    severity: Severity::Medium,
    title: "access outside allowed hours",
    description: "Sign-ins or downloads outside the hours the operator allowed (`--alert-hours`).",
    atlas: &["AML.T0012"],
    remediation: "Confirm the activity was expected; an access policy on `context.hour` can forbid it.",
};
/// Many model downloads by one principal in a short time.
pub static MASS_DOWNLOAD: Rule = Rule {
    id: "server.mass-download",
    severity: Severity::High,
    title: "mass download of models",
    description: "One principal downloaded many model versions within the window: a sign of weight exfiltration (model theft).",
    atlas: &["AML.T0025"],
    remediation: "Check whether weights are being exfiltrated; revoke the key or disable the user if not expected.",
};

/// Every alert rule.
pub static RULES: [&Rule; 5] = [&LOGIN_BURST, &NEW_DEVICE, &NEW_NETWORK, &OFF_HOURS, &MASS_DOWNLOAD];

async fn remember(app: &AppState, kind: &str, user_id: Option<&str>, username: &str, caller: &Caller, subject: &str) -> ApiResult<()> {
    sqlx::query("INSERT INTO access_events (id, kind, user_id, username, ip, device_id, subject, ts) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
        .bind(new_id())
        .bind(kind)
        .bind(user_id)
        .bind(username)
        .bind(caller.ip.to_string())
        .bind(caller.device_id.as_deref().unwrap_or(""))
        .bind(subject)
        .bind(now_ms())
        .execute(app.store.writer())
        .await?;
    Ok(())
}

/// Raises `rule` about `subject` unless it was raised about it within the window already.
async fn raise(app: &AppState, rule: &Rule, subject: &str, message: String, evidence: String, asset_id: Option<&str>) -> ApiResult<Option<String>> {
    let since = now_ms() - i64::try_from(app.config.alerts.window.as_millis()).unwrap_or(i64::MAX);
    let recent: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM findings WHERE source = 'alert' AND rule_id = $1 AND subject = $2 AND created_at > $3")
        .bind(rule.id)
        .bind(subject)
        .bind(since)
        .fetch_one(app.store.writer())
        .await?;
    if recent > 0 {
        return Ok(None);
    }
    let location = Location { path: "warden-server".into(), client_id: Some(subject.to_owned()), ..Location::default() };
    let finding = rule.finding(message, location).with_evidence(evidence);
    let mut conn = app.store.writer().acquire().await?;
    let id = findings::insert(&mut conn, Source::Alert, &Attach { asset_id, version_id: None, subject }, &finding).await?;
    app.metrics.event(&format!("alert.{}", rule.id));
    tracing::warn!(rule = rule.id, %subject, "suspicious access");
    drop(conn);
    crate::incidents::intake_after_commit(app, std::slice::from_ref(&id)).await;
    Ok(Some(id))
}

/// A refused sign-in: recorded, audited, and checked for a burst.
pub async fn login_failed(app: &AppState, caller: &Caller, username: &str, user_id: Option<&str>, reason: &str) -> ApiResult<()> {
    remember(app, "login_failed", user_id, username, caller, "").await?;
    app.audit.login_event(LoginRecord::failure(caller, user_id, username, reason)).await?;
    let since = now_ms() - i64::try_from(app.config.alerts.window.as_millis()).unwrap_or(i64::MAX);
    let threshold = i64::from(app.config.alerts.failed_logins);
    let ip = caller.ip.to_string();
    let by_user: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM access_events WHERE kind = 'login_failed' AND username = $1 AND ts > $2")
        .bind(username)
        .bind(since)
        .fetch_one(app.store.writer())
        .await?;
    if by_user >= threshold {
        let message = format!("{by_user} failed sign-ins for user `{username}` within {} minutes", app.config.alerts.window.as_secs() / 60);
        raise(app, &LOGIN_BURST, &format!("user:{username}"), message, format!("last from {ip}: {reason}"), None).await?;
    }
    let by_ip: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM access_events WHERE kind = 'login_failed' AND ip = $1 AND ts > $2")
        .bind(&ip)
        .bind(since)
        .fetch_one(app.store.writer())
        .await?;
    if by_ip >= threshold {
        let message = format!("{by_ip} failed sign-ins from {ip} within {} minutes", app.config.alerts.window.as_secs() / 60);
        raise(app, &LOGIN_BURST, &format!("ip:{ip}"), message, format!("last user name tried: `{username}`"), None).await?;
    }
    Ok(())
}

/// A successful sign-in: recorded, audited, and checked for a new device or network and the hours.
pub async fn login_succeeded(app: &AppState, caller: &Caller, user_id: &str, username: &str, method: &str, mfa: bool, device_id: &str) -> ApiResult<()> {
    let earlier: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM access_events WHERE kind = 'login_ok' AND user_id = $1")
        .bind(user_id)
        .fetch_one(app.store.writer())
        .await?;
    remember(app, "login_ok", Some(user_id), username, caller, method).await?;
    app.audit.login_event(LoginRecord::success(caller, user_id, username, method, mfa)).await?;
    let (new_device, new_network) = session::remember_device(app, user_id, device_id, caller.ip).await?;
    // The first sign-in ever is new by definition; only later ones are news.
    if earlier > 0 && new_device {
        let message = format!("`{username}` signed in from a browser not seen before ({})", caller.user_agent);
        raise(app, &NEW_DEVICE, &format!("user:{username}:device:{device_id}"), message, format!("from {}", caller.ip), None).await?;
    }
    if earlier > 0 && new_network {
        let network = session::network_of(caller.ip);
        let message = format!("`{username}` signed in from network {network}, not seen for this user before");
        raise(app, &NEW_NETWORK, &format!("user:{username}:net:{network}"), message, format!("address {}", caller.ip), None).await?;
    }
    check_hours(app, caller, username).await
}

async fn check_hours(app: &AppState, caller: &Caller, username: &str) -> ApiResult<()> {
    let Some((start, end)) = app.config.alerts.allowed_hours else { return Ok(()) };
    let hour = caller.facts().hour;
    let inside = if start <= end { (i64::from(start)..i64::from(end)).contains(&hour) } else { hour >= i64::from(start) || hour < i64::from(end) };
    if !inside {
        let message = format!("`{username}` active at {hour:02}:xx UTC, outside the allowed {start:02}:00-{end:02}:00");
        raise(app, &OFF_HOURS, &format!("user:{username}"), message, format!("`{}` from {}", caller.action.name, caller.ip), None).await?;
    }
    Ok(())
}

/// A model download: recorded and checked for mass downloading.
pub async fn download(app: &AppState, caller: &Caller, asset_id: &str, version: &str) -> ApiResult<()> {
    let who = caller.principal.name.clone();
    remember(app, "download", caller.user_id(), &who, caller, &format!("{asset_id}@{version}")).await?;
    let since = now_ms() - i64::try_from(app.config.alerts.window.as_millis()).unwrap_or(i64::MAX);
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM access_events WHERE kind = 'download' AND username = $1 AND ts > $2")
        .bind(&who)
        .bind(since)
        .fetch_one(app.store.writer())
        .await?;
    if count >= i64::from(app.config.alerts.downloads) {
        let message = format!("`{who}` downloaded {count} model versions within {} minutes", app.config.alerts.window.as_secs() / 60);
        raise(app, &MASS_DOWNLOAD, &format!("user:{who}"), message, format!("latest: {asset_id} version {version} from {}", caller.ip), Some(asset_id)).await?;
    }
    check_hours(app, caller, &who).await
}

/// Filters of the alert list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
struct AlertQuery {
    /// At most this many, newest first (default 200, at most 1000).
    limit: Option<i64>,
    /// Only this detector's alerts.
    rule_id: Option<String>,
}

/// Alerts, newest first.
pub async fn list(app: &AppState, rule_id: Option<String>, limit: Option<i64>) -> ApiResult<Vec<StoredFinding>> {
    findings::list(app, &findings::FindingQuery { source: Some("alert".into()), rule_id, limit, ..Default::default() }).await
}

async fn list_json(State(app): State<AppState>, crate::extract::QueryParams(q): crate::extract::QueryParams<AlertQuery>) -> ApiResult<Json<Vec<StoredFinding>>> {
    Ok(Json(list(&app, q.rule_id, q.limit).await?))
}

#[derive(askama::Template)]
#[template(path = "alerts.html")]
struct AlertsPage {
    chrome: crate::ui::Chrome,
    alerts: Vec<StoredFinding>,
    rule_id: String,
    rules: Vec<(&'static str, &'static str)>,
}

/// Filters of the alerts page.
#[derive(Debug, Deserialize)]
struct AlertsPageQuery {
    rule_id: Option<String>,
    notice: Option<String>,
}

async fn alerts_page(State(app): State<AppState>, caller: Caller, Query(q): Query<AlertsPageQuery>) -> crate::ui::UiResult {
    let rule_id = q.rule_id.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
    let page = AlertsPage {
        chrome: crate::ui::Chrome::new("Alerts", &caller).with_notice(q.notice),
        alerts: list(&app, rule_id.clone(), Some(500)).await?,
        rule_id: rule_id.unwrap_or_default(),
        rules: RULES.iter().map(|r| (r.id, r.title)).collect(),
    };
    Ok(crate::ui::render(&page))
}

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    vec![
        Route::api(Method::GET, "/api/v1/alerts", actions::ALERT_LIST, list_json).query::<AlertQuery>().returns_list::<StoredFinding>(),
        Route::ui(Method::GET, "/ui/alerts", actions::ALERT_LIST, alerts_page),
    ]
}
