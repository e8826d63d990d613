//! Changes to an incident: status (forward only), events from playbooks, comments, owner and
//! assignees, title/summary/severity/root cause/lessons, findings and assets linked by hand, and
//! incidents opened by hand. Each is a function over the application state and an [`Actor`], runs
//! in one write transaction, and writes an incident event and an audit entry in it.

use serde::Serialize;
use serde_json::json;
use warden_core::Severity;

use super::store::{self, Incident, NewIncident};
use super::{IncidentEvent, Status};
use crate::actor::Actor;
use crate::audit::Change;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{new_id, now_ms};

/// Longest title.
pub const MAX_TITLE: usize = 200;
/// Longest summary, comment, root cause or lessons text.
pub const MAX_TEXT: usize = 20_000;
/// Longest note on a status change.
pub const MAX_NOTE: usize = 4000;
/// Most assignees.
pub const MAX_ASSIGNEES: usize = 20;

fn bounded(text: &str, max: usize, what: &str) -> ApiResult<String> {
    let text = text.trim();
    if text.contains('\0') {
        return Err(ApiError::BadRequest(format!("the {what} contains a NUL character")));
    }
    if text.chars().count() > max {
        return Err(ApiError::BadRequest(format!("the {what} may have at most {max} characters")));
    }
    Ok(text.to_owned())
}

fn required(text: &str, max: usize, what: &str) -> ApiResult<String> {
    let text = bounded(text, max, what)?;
    if text.is_empty() {
        return Err(ApiError::BadRequest(format!("the {what} is empty")));
    }
    Ok(text)
}

/// Appends `event` to incident `incident_id`'s timeline and the audit log, in one transaction.
/// For playbooks and other automation; 404 when there is no such incident.
pub async fn record_event(app: &AppState, incident_id: &str, event: IncidentEvent) -> ApiResult<()> {
    if !event.data.is_null() && !event.data.is_object() {
        return Err(ApiError::BadRequest("an incident event's data is a JSON object".into()));
    }
    let mut tx = app.store.begin().await?;
    let incident = store::existing(&mut tx, incident_id).await?;
    store::insert_event(&mut tx, incident_id, &event).await?;
    store::touch(&mut tx, incident_id).await?;
    let change = Change::update("incident.event", "incident", incident_id)
        .named(incident.title)
        .detail(json!({"kind": event.kind, "actor": event.actor, "text": event.text, "data": event.data, "drill": incident.drill}))
        .message(format!("{}: {}", event.actor, event.text.chars().take(500).collect::<String>()));
    app.audit.system_change(&mut tx, change).await?;
    tx.commit().await?;
    Ok(())
}

/// Appends `event` to incident `incident_id`'s timeline inside the caller's transaction, for a
/// caller whose own audit entry in that transaction already records the change.
pub async fn record_event_in(conn: &mut sqlx::AnyConnection, incident_id: &str, event: &IncidentEvent) -> ApiResult<String> {
    let id = store::insert_event(conn, incident_id, event).await?;
    store::touch(conn, incident_id).await?;
    Ok(id)
}

fn status_column(to: Status) -> &'static str {
    match to {
        Status::Detected => "created_at",
        Status::Triaged => "triaged_at",
        Status::Contained => "contained_at",
        Status::Mitigated => "mitigated_at",
        Status::Recovered => "recovered_at",
        Status::Closed => "closed_at",
    }
}

/// Moves incident `incident_id` forward to `to` with `note`. Skipped steps keep no time. `false`
/// (and nothing recorded) when it is already there or beyond. Closing frees the incident's group,
/// so later findings open a new incident.
pub async fn advance(app: &AppState, actor: Actor<'_>, incident_id: &str, to: Status, note: &str) -> ApiResult<bool> {
    let note = bounded(note, MAX_NOTE, "note")?;
    let mut tx = app.store.begin().await?;
    let incident = store::existing(&mut tx, incident_id).await?;
    if incident.status >= to {
        return Ok(false);
    }
    let now = now_ms();
    let sql = format!(
        "UPDATE incidents SET status = $1, status_rank = $2, {} = $3, updated_at = $3, open_key = CASE WHEN $2 = 5 THEN NULL ELSE open_key END \
         WHERE id = $4 AND status_rank < $2",
        status_column(to)
    );
    let done = sqlx::query(&sql).bind(to.as_str()).bind(to.rank()).bind(now).bind(incident_id).execute(&mut *tx).await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    let skipped: Vec<&str> = Status::ALL.into_iter().filter(|s| *s > incident.status && *s < to).map(Status::as_str).collect();
    let who = actor.name();
    let mut text = format!("{} → {}", incident.status, to);
    if !skipped.is_empty() {
        text.push_str(&format!(" (skipped {})", skipped.join(", ")));
    }
    if !note.is_empty() {
        text.push_str(&format!(": {note}"));
    }
    let data = json!({"from": incident.status.as_str(), "to": to.as_str(), "note": note, "skipped": skipped, "at": now});
    store::insert_event(&mut tx, incident_id, &IncidentEvent { kind: "status".into(), actor: who, text: text.clone(), data: data.clone() }).await?;
    let change = Change::update("incident.advance", "incident", incident_id).named(incident.title.clone()).detail(data).message(text);
    actor.record(app, &mut tx, change).await?;
    tx.commit().await?;
    app.metrics.event(&format!("incident.{to}"));
    if !incident.drill {
        let elapsed = now - incident.created_at;
        match to {
            Status::Contained => app.metrics.incident_contained(elapsed),
            Status::Recovered => app.metrics.incident_recovered(elapsed),
            _ => {}
        }
        super::metrics::refresh(app).await;
    }
    Ok(true)
}

/// An incident opened by hand.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct ManualIncident {
    /// One line for people.
    #[serde(default)]
    pub title: String,
    /// What is known.
    #[serde(default)]
    pub summary: String,
    /// How bad: info, low, medium (the default), high or critical.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub severity: Option<Severity>,
    /// The asset it is about, if any.
    #[serde(default)]
    pub asset_id: Option<String>,
    /// Findings to link at once.
    #[serde(default)]
    pub finding_ids: Vec<String>,
}

/// Opens an incident by hand. It takes its asset's open slot when no incident is open for the
/// asset (later findings then join it); otherwise it stands beside the open one.
pub async fn create(app: &AppState, actor: Actor<'_>, request: &ManualIncident) -> ApiResult<Incident> {
    let title = required(&request.title, MAX_TITLE, "title")?;
    let summary = bounded(&request.summary, MAX_TEXT, "summary")?;
    let severity = request.severity.unwrap_or(Severity::Medium);
    let asset_id = request.asset_id.as_deref().map(str::trim).filter(|a| !a.is_empty());
    if request.finding_ids.len() > 1000 {
        return Err(ApiError::TooLarge("link at most 1000 findings at once".into()));
    }
    let id = new_id();
    let who = actor.name();
    let mut tx = app.store.begin().await?;
    if let Some(asset) = asset_id {
        let exists: Option<String> = if store::plain_id(asset) {
            sqlx::query_scalar("SELECT id FROM assets WHERE id = $1").bind(asset).fetch_optional(&mut *tx).await?
        } else {
            None
        };
        if exists.is_none() {
            return Err(ApiError::not_found("asset", asset));
        }
    }
    let group_key = asset_id.map_or_else(|| format!("manual:{id}"), |a| format!("asset:{a}"));
    let holds = asset_id.is_some() && store::open_for_key(&mut tx, &group_key).await?.is_none();
    let new = NewIncident {
        id: &id,
        title: &title,
        summary: &summary,
        severity,
        group_key: &group_key,
        holds_open_key: holds,
        asset_id,
        subject: "",
        rule_id: "manual",
        owner: actor.user_id().map_or("", |_| who.as_str()),
        drill: false,
        playbook_id: None,
        created_by: &who,
    };
    store::insert(&mut tx, &new).await.map_err(|err| {
        if crate::store::is_unique_violation(&err) {
            ApiError::Conflict("another incident was just opened for this asset; open it instead, or try again".into())
        } else {
            err.into()
        }
    })?;
    if let Some(asset) = asset_id {
        store::link_asset(&mut tx, &id, asset, &who).await?;
    }
    let found = store::findings_by_ids(&mut tx, &request.finding_ids).await?;
    if found.len() != request.finding_ids.len() {
        return Err(ApiError::NotFound("one of the findings to link does not exist".into()));
    }
    for finding in &found {
        store::link_finding(&mut tx, &id, &finding.stored.id, &who).await?;
    }
    let data = json!({"severity": severity.as_str(), "asset_id": asset_id, "finding_ids": request.finding_ids});
    let text = format!("Opened by hand by {who}");
    store::insert_event(&mut tx, &id, &IncidentEvent { kind: "opened".into(), actor: who.clone(), text: text.clone(), data: data.clone() }).await?;
    let mut change = Change::create("incident.create", "incident", &id).named(title).detail(data).message(text);
    if let Some(asset) = asset_id {
        change = change.also("asset", asset);
    }
    actor.record(app, &mut tx, change).await?;
    let incident = store::existing(&mut tx, &id).await?;
    tx.commit().await?;
    app.metrics.event("incident.create");
    super::metrics::refresh(app).await;
    Ok(incident)
}

/// Adds a comment to the timeline.
pub async fn comment(app: &AppState, actor: Actor<'_>, incident_id: &str, text: &str) -> ApiResult<()> {
    let text = required(text, MAX_TEXT, "comment")?;
    let mut tx = app.store.begin().await?;
    let incident = store::existing(&mut tx, incident_id).await?;
    let who = actor.name();
    store::insert_event(&mut tx, incident_id, &IncidentEvent { kind: "comment".into(), actor: who, text: text.clone(), data: json!({}) }).await?;
    store::touch(&mut tx, incident_id).await?;
    let change = Change::update("incident.comment", "incident", incident_id).named(incident.title).detail(json!({"text": text}));
    actor.record(app, &mut tx, change).await?;
    tx.commit().await?;
    Ok(())
}

async fn check_user(conn: &mut sqlx::AnyConnection, username: &str) -> ApiResult<()> {
    if !store::plain_id(username) {
        return Err(ApiError::BadRequest(format!("there is no user `{}`", username.escape_default())));
    }
    let disabled: Option<i64> = sqlx::query_scalar("SELECT disabled FROM users WHERE username = $1").bind(username).fetch_optional(&mut *conn).await?;
    match disabled {
        None => Err(ApiError::BadRequest(format!("there is no user `{username}`"))),
        Some(1) => Err(ApiError::BadRequest(format!("user `{username}` is disabled"))),
        Some(_) => Ok(()),
    }
}

/// Who an incident is assigned to.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct Assignment {
    /// The owner's user name (empty: nobody).
    #[serde(default)]
    pub owner: Option<String>,
    /// Everyone else working on it (replaces the list).
    #[serde(default)]
    pub assignees: Option<Vec<String>>,
}

/// Sets the owner and/or the assignees.
pub async fn assign(app: &AppState, actor: Actor<'_>, incident_id: &str, assignment: &Assignment) -> ApiResult<Incident> {
    if assignment.owner.is_none() && assignment.assignees.is_none() {
        return Err(ApiError::BadRequest("give an `owner`, `assignees`, or both".into()));
    }
    let mut tx = app.store.begin().await?;
    let incident = store::existing(&mut tx, incident_id).await?;
    let owner = assignment.owner.as_deref().map(str::trim).unwrap_or(&incident.owner).to_owned();
    if !owner.is_empty() {
        check_user(&mut tx, &owner).await?;
    }
    let mut assignees: Vec<String> = match &assignment.assignees {
        Some(list) => list.iter().map(|a| a.trim().to_owned()).filter(|a| !a.is_empty()).collect(),
        None => incident.assignees.clone(),
    };
    assignees.sort();
    assignees.dedup();
    if assignees.len() > MAX_ASSIGNEES {
        return Err(ApiError::BadRequest(format!("at most {MAX_ASSIGNEES} assignees")));
    }
    for name in &assignees {
        check_user(&mut tx, name).await?;
    }
    let who = actor.name();
    let now = now_ms();
    sqlx::query("UPDATE incidents SET owner = $1, updated_at = $2 WHERE id = $3").bind(&owner).bind(now).bind(incident_id).execute(&mut *tx).await?;
    sqlx::query("DELETE FROM incident_assignees WHERE incident_id = $1").bind(incident_id).execute(&mut *tx).await?;
    for name in &assignees {
        sqlx::query("INSERT INTO incident_assignees (incident_id, username, assigned_by, assigned_at) VALUES ($1, $2, $3, $4)")
            .bind(incident_id)
            .bind(name)
            .bind(&who)
            .bind(now)
            .execute(&mut *tx)
            .await?;
    }
    let data = json!({"owner": {"from": incident.owner, "to": owner}, "assignees": {"from": incident.assignees, "to": assignees}});
    let shown = |s: &str| if s.is_empty() { "nobody".to_owned() } else { s.to_owned() };
    let text = format!("Owner {}; assignees {}", shown(&owner), if assignees.is_empty() { "none".to_owned() } else { assignees.join(", ") });
    store::insert_event(&mut tx, incident_id, &IncidentEvent { kind: "assigned".into(), actor: who, text: text.clone(), data: data.clone() }).await?;
    let change = Change::update("incident.assign", "incident", incident_id).named(incident.title).detail(data).message(text);
    actor.record(app, &mut tx, change).await?;
    let updated = store::existing(&mut tx, incident_id).await?;
    tx.commit().await?;
    Ok(updated)
}

/// Fields changed by hand (absent fields stay as they are).
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct IncidentUpdate {
    /// New title.
    #[serde(default)]
    pub title: Option<String>,
    /// New summary.
    #[serde(default)]
    pub summary: Option<String>,
    /// New severity: info, low, medium, high or critical.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub severity: Option<Severity>,
    /// Why it happened.
    #[serde(default)]
    pub root_cause: Option<String>,
    /// What to change.
    #[serde(default)]
    pub lessons: Option<String>,
}

/// What one field change was.
#[derive(Debug, Clone, Serialize)]
struct FieldChange {
    field: &'static str,
    from: String,
    to: String,
}

/// Changes title, summary, severity, root cause and/or lessons.
pub async fn update(app: &AppState, actor: Actor<'_>, incident_id: &str, update: &IncidentUpdate) -> ApiResult<Incident> {
    let mut tx = app.store.begin().await?;
    let incident = store::existing(&mut tx, incident_id).await?;
    let mut changes = Vec::new();
    let mut set = |field: &'static str, from: &str, to: String| {
        if from != to {
            changes.push(FieldChange { field, from: from.to_owned(), to });
        }
    };
    if let Some(title) = &update.title {
        set("title", &incident.title, required(title, MAX_TITLE, "title")?);
    }
    if let Some(summary) = &update.summary {
        set("summary", &incident.summary, bounded(summary, MAX_TEXT, "summary")?);
    }
    if let Some(severity) = update.severity {
        set("severity", incident.severity.as_str(), severity.as_str().to_owned());
    }
    if let Some(root_cause) = &update.root_cause {
        set("root_cause", &incident.root_cause, bounded(root_cause, MAX_TEXT, "root cause")?);
    }
    if let Some(lessons) = &update.lessons {
        set("lessons", &incident.lessons, bounded(lessons, MAX_TEXT, "lessons")?);
    }
    if update.title.is_none() && update.summary.is_none() && update.severity.is_none() && update.root_cause.is_none() && update.lessons.is_none() {
        return Err(ApiError::BadRequest("nothing to change: give title, summary, severity, root_cause or lessons".into()));
    }
    if changes.is_empty() {
        return Ok(incident);
    }
    let now = now_ms();
    for change in &changes {
        // Column names come from the fixed list above, never from the request.
        let sql = format!("UPDATE incidents SET {} = $1, updated_at = $2 WHERE id = $3", change.field);
        sqlx::query(&sql).bind(&change.to).bind(now).bind(incident_id).execute(&mut *tx).await?;
        if change.field == "severity" {
            let rank = change.to.parse::<Severity>().map(store::severity_rank).unwrap_or(2);
            sqlx::query("UPDATE incidents SET severity_rank = $1 WHERE id = $2").bind(rank).bind(incident_id).execute(&mut *tx).await?;
        }
    }
    let fields: Vec<&str> = changes.iter().map(|c| c.field).collect();
    let who = actor.name();
    let text = match changes.as_slice() {
        [one] if one.field == "severity" => format!("Severity {} → {}", one.from, one.to),
        _ => format!("Changed {}", fields.join(", ")),
    };
    let data = json!({"changes": changes});
    store::insert_event(&mut tx, incident_id, &IncidentEvent { kind: "updated".into(), actor: who, text: text.clone(), data: data.clone() }).await?;
    let change = Change::update("incident.update", "incident", incident_id).named(incident.title).detail(data).message(text);
    actor.record(app, &mut tx, change).await?;
    let updated = store::existing(&mut tx, incident_id).await?;
    tx.commit().await?;
    Ok(updated)
}

/// What to link to an incident by hand.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct LinkRequest {
    /// A finding id.
    #[serde(default)]
    pub finding_id: Option<String>,
    /// An asset id.
    #[serde(default)]
    pub asset_id: Option<String>,
}

/// Links a finding or an asset by hand; `false` when it was linked already.
pub async fn link(app: &AppState, actor: Actor<'_>, incident_id: &str, request: &LinkRequest) -> ApiResult<bool> {
    let finding = request.finding_id.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let asset = request.asset_id.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let (kind, target) = match (finding, asset) {
        (Some(f), None) => ("finding", f),
        (None, Some(a)) => ("asset", a),
        _ => return Err(ApiError::BadRequest("give either a `finding_id` or an `asset_id` to link".into())),
    };
    let mut tx = app.store.begin().await?;
    let incident = store::existing(&mut tx, incident_id).await?;
    if incident.drill {
        return Err(ApiError::Conflict("a drill's findings are simulated; nothing real can be linked to it".into()));
    }
    let who = actor.name();
    let linked = if kind == "finding" {
        let found = store::findings_by_ids(&mut tx, &[target.to_owned()]).await?;
        let Some(found) = found.into_iter().next() else { return Err(ApiError::not_found("finding", &target.escape_default().to_string())) };
        let added = store::link_finding(&mut tx, incident_id, target, &who).await?;
        if added && found.stored.finding.severity > incident.severity {
            store::raise_severity(&mut tx, incident_id, incident.severity, found.stored.finding.severity).await?;
        }
        added
    } else {
        let exists: Option<String> = if store::plain_id(target) {
            sqlx::query_scalar("SELECT id FROM assets WHERE id = $1").bind(target).fetch_optional(&mut *tx).await?
        } else {
            None
        };
        if exists.is_none() {
            return Err(ApiError::not_found("asset", target.escape_default().to_string().as_str()));
        }
        store::link_asset(&mut tx, incident_id, target, &who).await?
    };
    if !linked {
        return Ok(false);
    }
    let text = format!("Linked {kind} `{target}`");
    let data = json!({ format!("{kind}_id"): target });
    store::insert_event(&mut tx, incident_id, &IncidentEvent { kind: format!("linked.{kind}"), actor: who, text: text.clone(), data: data.clone() }).await?;
    store::touch(&mut tx, incident_id).await?;
    let change = Change::update("incident.link", "incident", incident_id).named(incident.title).also(kind, target).detail(data).message(text);
    actor.record(app, &mut tx, change).await?;
    tx.commit().await?;
    Ok(true)
}
