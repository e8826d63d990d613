//! Incident rows and what hangs off them (linked findings and assets, assignees, events, drill
//! findings): reading and writing, one SQL text for SQLite and PostgreSQL. Nothing here records
//! audit entries: the callers ([`super::intake`], [`super::lifecycle`]) do, in the same transaction.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use warden_core::{Finding, Severity};

use super::{IncidentEvent, Status};
use crate::error::{ApiError, ApiResult};
use crate::findings::{Source, StoredFinding};
use crate::store::{new_id, now_ms};

/// An incident as the server stores and returns it.
#[derive(Debug, Clone, Serialize)]
pub struct Incident {
    /// Row id.
    pub id: String,
    /// One line for people.
    pub title: String,
    /// What is known, for people.
    pub summary: String,
    /// The highest severity of its findings (or as set by hand).
    pub severity: Severity,
    /// Where it is in the lifecycle.
    pub status: Status,
    /// What groups findings into it: `asset:<id>` or `subject:<subject>`.
    pub group_key: String,
    /// The asset it is about, if any.
    pub asset_id: Option<String>,
    /// Who or what it is about when no asset is.
    pub subject: String,
    /// The incident rule that opened it (`manual` when opened by hand, `drill` for drills).
    pub rule_id: String,
    /// The user name responsible (empty until assigned).
    pub owner: String,
    /// Other people working on it.
    pub assignees: Vec<String>,
    /// A simulated incident (a drill).
    pub drill: bool,
    /// For drills: the playbook rehearsed.
    pub playbook_id: Option<String>,
    /// Why it happened, once known.
    pub root_cause: String,
    /// What to change so it does not happen again.
    pub lessons: String,
    /// Who opened it (a user name, or `system:incident-rules`).
    pub created_by: String,
    /// When it was detected (unix ms).
    pub created_at: i64,
    /// Last change (unix ms).
    pub updated_at: i64,
    /// When it was triaged, if it was.
    pub triaged_at: Option<i64>,
    /// When it was contained, if it was.
    pub contained_at: Option<i64>,
    /// When it was mitigated, if it was.
    pub mitigated_at: Option<i64>,
    /// When it recovered, if it did.
    pub recovered_at: Option<i64>,
    /// When it was closed, if it was.
    pub closed_at: Option<i64>,
}

impl Incident {
    /// When the incident reached `status` (`None` for a step not reached or skipped).
    pub fn reached_at(&self, status: Status) -> Option<i64> {
        match status {
            Status::Detected => Some(self.created_at),
            Status::Triaged => self.triaged_at,
            Status::Contained => self.contained_at,
            Status::Mitigated => self.mitigated_at,
            Status::Recovered => self.recovered_at,
            Status::Closed => self.closed_at,
        }
    }

    /// Milliseconds from detection to containment.
    pub fn time_to_contain_ms(&self) -> Option<i64> {
        self.contained_at.map(|t| t - self.created_at)
    }

    /// Milliseconds from detection to recovery.
    pub fn time_to_recover_ms(&self) -> Option<i64> {
        self.recovered_at.map(|t| t - self.created_at)
    }

    /// Not closed yet.
    pub fn is_open(&self) -> bool {
        self.status != Status::Closed
    }

    /// When it was detected, for people.
    pub fn when(&self) -> String {
        crate::ui::fmt_time(self.created_at)
    }

    /// `when(status)` for people, or an em dash.
    pub fn when_reached(&self, status: &Status) -> String {
        self.reached_at(*status).map_or_else(|| "—".to_owned(), crate::ui::fmt_time)
    }

    /// Time to contain for people.
    pub fn ttc(&self) -> String {
        self.time_to_contain_ms().map_or_else(|| "—".to_owned(), fmt_duration)
    }

    /// Time to recover for people.
    pub fn ttr(&self) -> String {
        self.time_to_recover_ms().map_or_else(|| "—".to_owned(), fmt_duration)
    }
}

/// A duration in milliseconds as `2 h 05 min`, `3 min 20 s` or `12 s`.
pub fn fmt_duration(ms: i64) -> String {
    let secs = ms.max(0) / 1000;
    let (days, hours, minutes, seconds) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60, secs % 60);
    if days > 0 {
        format!("{days} d {hours:02} h")
    } else if hours > 0 {
        format!("{hours} h {minutes:02} min")
    } else if minutes > 0 {
        format!("{minutes} min {seconds:02} s")
    } else if ms < 1000 && ms > 0 {
        format!("{ms} ms")
    } else {
        format!("{seconds} s")
    }
}

const COLUMNS: &str = "id, title, summary, severity, status, group_key, asset_id, subject, rule_id, owner, drill, playbook_id, root_cause, lessons, \
                       created_by, created_at, updated_at, triaged_at, contained_at, mitigated_at, recovered_at, closed_at";

fn from_row(row: &AnyRow) -> ApiResult<Incident> {
    let severity: String = row.try_get(3)?;
    let status: String = row.try_get(4)?;
    Ok(Incident {
        id: row.try_get(0)?,
        title: row.try_get(1)?,
        summary: row.try_get(2)?,
        severity: severity.parse().unwrap_or(Severity::Medium),
        status: Status::parse(&status).unwrap_or(Status::Detected),
        group_key: row.try_get(5)?,
        asset_id: row.try_get(6)?,
        subject: row.try_get(7)?,
        rule_id: row.try_get(8)?,
        owner: row.try_get(9)?,
        assignees: Vec::new(),
        drill: row.try_get::<i64, _>(10)? != 0,
        playbook_id: row.try_get(11)?,
        root_cause: row.try_get(12)?,
        lessons: row.try_get(13)?,
        created_by: row.try_get(14)?,
        created_at: row.try_get(15)?,
        updated_at: row.try_get(16)?,
        triaged_at: row.try_get(17)?,
        contained_at: row.try_get(18)?,
        mitigated_at: row.try_get(19)?,
        recovered_at: row.try_get(20)?,
        closed_at: row.try_get(21)?,
    })
}

/// The numeric rank of a severity (info 0 .. critical 4), stored for filtering and ordering.
pub fn severity_rank(severity: Severity) -> i64 {
    match severity {
        Severity::Info => 0,
        Severity::Low => 1,
        Severity::Medium => 2,
        Severity::High => 3,
        Severity::Critical => 4,
    }
}

/// Whether `id` can name a row: at most 64 bytes, no control characters (PostgreSQL cannot even
/// compare text holding U+0000, so such ids are answered as unknown before any query).
pub fn plain_id(id: &str) -> bool {
    id.len() <= 64 && !id.chars().any(char::is_control)
}

/// Incident `id` with its assignees, or `None`.
pub async fn get(conn: &mut AnyConnection, id: &str) -> ApiResult<Option<Incident>> {
    if !plain_id(id) {
        return Ok(None);
    }
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM incidents WHERE id = $1")).bind(id).fetch_optional(&mut *conn).await?;
    let Some(row) = row else { return Ok(None) };
    let mut incident = from_row(&row)?;
    incident.assignees = assignees(conn, id).await?;
    Ok(Some(incident))
}

/// Incident `id`, or 404.
pub async fn existing(conn: &mut AnyConnection, id: &str) -> ApiResult<Incident> {
    get(conn, id).await?.ok_or_else(|| ApiError::not_found("incident", id))
}

/// The open incident holding group key `key`.
pub async fn open_for_key(conn: &mut AnyConnection, key: &str) -> ApiResult<Option<Incident>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM incidents WHERE open_key = $1")).bind(key).fetch_optional(&mut *conn).await?;
    row.as_ref().map(from_row).transpose()
}

async fn assignees(conn: &mut AnyConnection, id: &str) -> ApiResult<Vec<String>> {
    Ok(sqlx::query_scalar("SELECT username FROM incident_assignees WHERE incident_id = $1 ORDER BY assigned_at, username")
        .bind(id)
        .fetch_all(&mut *conn)
        .await?)
}

/// Filters of [`list`].
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Only in this status.
    pub status: Option<Status>,
    /// Only at or above this severity.
    pub min_severity: Option<Severity>,
    /// Only about (or linked to) this asset.
    pub asset_id: Option<String>,
    /// Only those not closed.
    pub open_only: bool,
    /// Drills instead of real incidents.
    pub drills: bool,
    /// Only those changed at or after this time (unix ms).
    pub updated_since: Option<i64>,
    /// At most this many.
    pub limit: i64,
}

/// Incidents matching `filter`, newest first (by `updated_since`: oldest change first).
pub async fn list(conn: &mut AnyConnection, filter: &ListFilter) -> ApiResult<Vec<Incident>> {
    let order = if filter.updated_since.is_some() { "updated_at, id" } else { "created_at DESC, id DESC" };
    let sql = format!(
        "SELECT {COLUMNS} FROM incidents WHERE drill = $1 AND ($2 = '' OR status = $2) AND severity_rank >= $3 \
         AND ($4 = '' OR asset_id = $4 OR id IN (SELECT incident_id FROM incident_assets WHERE asset_id = $4)) \
         AND ($5 = 0 OR status_rank < 5) AND updated_at >= $6 ORDER BY {order} LIMIT $7"
    );
    let rows = sqlx::query(&sql)
        .bind(i64::from(filter.drills))
        .bind(filter.status.map_or("", Status::as_str))
        .bind(filter.min_severity.map_or(0, severity_rank))
        .bind(filter.asset_id.as_deref().unwrap_or(""))
        .bind(i64::from(filter.open_only))
        .bind(filter.updated_since.unwrap_or(0))
        .bind(filter.limit.clamp(1, 10_000))
        .fetch_all(&mut *conn)
        .await?;
    let mut incidents = rows.iter().map(from_row).collect::<ApiResult<Vec<_>>>()?;
    for incident in &mut incidents {
        incident.assignees = assignees(conn, &incident.id).await?;
    }
    Ok(incidents)
}

/// A new incident row.
#[derive(Debug, Clone)]
pub struct NewIncident<'a> {
    /// Its id.
    pub id: &'a str,
    /// Title.
    pub title: &'a str,
    /// Summary.
    pub summary: &'a str,
    /// Severity.
    pub severity: Severity,
    /// Group key.
    pub group_key: &'a str,
    /// Whether it holds the group's open slot.
    pub holds_open_key: bool,
    /// Asset.
    pub asset_id: Option<&'a str>,
    /// Subject.
    pub subject: &'a str,
    /// Incident rule id, `manual` or `drill`.
    pub rule_id: &'a str,
    /// Owner user name.
    pub owner: &'a str,
    /// A drill?
    pub drill: bool,
    /// The rehearsed playbook, for drills.
    pub playbook_id: Option<&'a str>,
    /// Who opened it.
    pub created_by: &'a str,
}

/// Inserts an incident in status `detected`. The raw error is returned so a lost race for the
/// group's open slot (a unique violation) can be told apart.
pub async fn insert(conn: &mut AnyConnection, new: &NewIncident<'_>) -> Result<i64, sqlx::Error> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO incidents (id, title, summary, severity, severity_rank, status, status_rank, group_key, open_key, asset_id, subject, rule_id, owner, drill, playbook_id, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 'detected', 0, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)",
    )
    .bind(new.id)
    .bind(new.title)
    .bind(new.summary)
    .bind(new.severity.as_str())
    .bind(severity_rank(new.severity))
    .bind(new.group_key)
    .bind(new.holds_open_key.then_some(new.group_key))
    .bind(new.asset_id)
    .bind(new.subject)
    .bind(new.rule_id)
    .bind(new.owner)
    .bind(i64::from(new.drill))
    .bind(new.playbook_id)
    .bind(new.created_by)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(now)
}

/// Raises the incident's severity to `severity` if it is lower; returns the severity after.
pub async fn raise_severity(conn: &mut AnyConnection, id: &str, current: Severity, severity: Severity) -> ApiResult<Severity> {
    if severity <= current {
        return Ok(current);
    }
    sqlx::query("UPDATE incidents SET severity = $1, severity_rank = $2, updated_at = $3 WHERE id = $4 AND severity_rank < $2")
        .bind(severity.as_str())
        .bind(severity_rank(severity))
        .bind(now_ms())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(severity)
}

/// Marks the incident changed now.
pub async fn touch(conn: &mut AnyConnection, id: &str) -> ApiResult<()> {
    sqlx::query("UPDATE incidents SET updated_at = $1 WHERE id = $2").bind(now_ms()).bind(id).execute(&mut *conn).await?;
    Ok(())
}

/// Links a finding; `false` when it was linked already.
pub async fn link_finding(conn: &mut AnyConnection, incident_id: &str, finding_id: &str, by: &str) -> ApiResult<bool> {
    let done = sqlx::query("INSERT INTO incident_findings (incident_id, finding_id, linked_by, linked_at) VALUES ($1, $2, $3, $4) ON CONFLICT (incident_id, finding_id) DO NOTHING")
        .bind(incident_id)
        .bind(finding_id)
        .bind(by)
        .bind(now_ms())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Links an asset; `false` when it was linked already.
pub async fn link_asset(conn: &mut AnyConnection, incident_id: &str, asset_id: &str, by: &str) -> ApiResult<bool> {
    let done = sqlx::query("INSERT INTO incident_assets (incident_id, asset_id, linked_by, linked_at) VALUES ($1, $2, $3, $4) ON CONFLICT (incident_id, asset_id) DO NOTHING")
        .bind(incident_id)
        .bind(asset_id)
        .bind(by)
        .bind(now_ms())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Which of `finding_ids` are linked to some real incident already.
pub async fn already_linked(conn: &mut AnyConnection, finding_ids: &[String]) -> ApiResult<std::collections::HashSet<String>> {
    let mut linked = std::collections::HashSet::new();
    for chunk in finding_ids.chunks(200) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!("SELECT finding_id FROM incident_findings WHERE finding_id IN ({})", placeholders.join(", "));
        let mut query = sqlx::query_scalar::<_, String>(&sql);
        for id in chunk {
            query = query.bind(id);
        }
        linked.extend(query.fetch_all(&mut *conn).await?);
    }
    Ok(linked)
}

/// A stored finding with its source as stored (rules match on it, including sources this build's
/// [`Source`] may not name).
#[derive(Debug, Clone)]
pub struct LoadedFinding {
    /// The finding.
    pub stored: StoredFinding,
    /// `registry_scan`, `import`, `alert`, `traffic`, `drift`, ...
    pub source: String,
}

const FINDING_COLUMNS: &str = crate::findings::COLUMNS;

/// A finding row with its source as stored (the incident rules match on the text).
fn finding_from_row(row: &AnyRow) -> ApiResult<LoadedFinding> {
    let stored = crate::findings::from_row(row)?;
    let source: String = row.try_get(3)?;
    Ok(LoadedFinding { stored, source })
}

/// The findings with these ids (unknown ids are skipped), oldest first.
pub async fn findings_by_ids(conn: &mut AnyConnection, ids: &[String]) -> ApiResult<Vec<LoadedFinding>> {
    let mut out = Vec::new();
    let ids: Vec<&String> = ids.iter().filter(|id| plain_id(id)).collect();
    for chunk in ids.chunks(200) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!("SELECT {FINDING_COLUMNS} FROM findings WHERE id IN ({})", placeholders.join(", "));
        let mut query = sqlx::query(&sql);
        for id in chunk {
            query = query.bind(id);
        }
        for row in query.fetch_all(&mut *conn).await? {
            out.push(finding_from_row(&row)?);
        }
    }
    out.sort_by(|a, b| (a.stored.created_at, &a.stored.id).cmp(&(b.stored.created_at, &b.stored.id)));
    Ok(out)
}

/// The findings linked to an incident (for drills, its simulated findings), oldest first.
pub async fn incident_findings(conn: &mut AnyConnection, incident: &Incident) -> ApiResult<Vec<StoredFinding>> {
    if incident.drill {
        return drill_findings(conn, &incident.id).await;
    }
    let ids: Vec<String> = sqlx::query_scalar("SELECT finding_id FROM incident_findings WHERE incident_id = $1")
        .bind(&incident.id)
        .fetch_all(&mut *conn)
        .await?;
    Ok(findings_by_ids(conn, &ids).await?.into_iter().map(|f| f.stored).collect())
}

/// Stores a drill's simulated finding; returns it as stored.
pub async fn insert_drill_finding(conn: &mut AnyConnection, incident_id: &str, asset_id: Option<&str>, finding: Finding) -> ApiResult<StoredFinding> {
    let id = new_id();
    let now = now_ms();
    let subject = finding.location.client_id.clone().unwrap_or_default();
    let text = serde_json::to_string(&finding).map_err(|e| ApiError::Internal(format!("drill finding: {e}")))?;
    sqlx::query("INSERT INTO drill_findings (id, incident_id, asset_id, subject, finding, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&id)
        .bind(incident_id)
        .bind(asset_id)
        .bind(&subject)
        .bind(text)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(drill_stored(id, asset_id.map(str::to_owned), subject, now, finding))
}

/// A drill finding has no real source: those about an asset read as an imported report, the
/// others as an alert (what they would have been).
fn drill_stored(id: String, asset_id: Option<String>, subject: String, created_at: i64, finding: Finding) -> StoredFinding {
    let source = if asset_id.is_some() { Source::Import } else { Source::Alert };
    StoredFinding { id, asset_id, version_id: None, source, subject, created_at, finding }
}

async fn drill_findings(conn: &mut AnyConnection, incident_id: &str) -> ApiResult<Vec<StoredFinding>> {
    let rows = sqlx::query("SELECT id, asset_id, subject, finding, created_at FROM drill_findings WHERE incident_id = $1 ORDER BY created_at, id")
        .bind(incident_id)
        .fetch_all(&mut *conn)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let text: String = row.try_get(3)?;
        let Ok(finding) = serde_json::from_str::<Finding>(&text) else { continue };
        out.push(drill_stored(row.try_get(0)?, row.try_get(1)?, row.try_get(2)?, row.try_get(4)?, finding));
    }
    Ok(out)
}

/// An asset linked to an incident.
#[derive(Debug, Clone, Serialize)]
pub struct LinkedAsset {
    /// Asset id.
    pub id: String,
    /// Its kind.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// 0 public .. 3 restricted.
    pub sensitivity: i64,
    /// Who linked it (a user name or `system:incident-rules`).
    pub linked_by: String,
    /// When (unix ms).
    pub linked_at: i64,
}

/// The assets linked to incident `id`.
pub async fn linked_assets(conn: &mut AnyConnection, id: &str) -> ApiResult<Vec<LinkedAsset>> {
    let rows = sqlx::query(
        "SELECT a.id, a.kind, a.name, a.sensitivity, l.linked_by, l.linked_at FROM incident_assets l JOIN assets a ON a.id = l.asset_id \
         WHERE l.incident_id = $1 ORDER BY l.linked_at, a.name",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(LinkedAsset {
                id: row.try_get(0)?,
                kind: row.try_get(1)?,
                name: row.try_get(2)?,
                sensitivity: row.try_get(3)?,
                linked_by: row.try_get(4)?,
                linked_at: row.try_get(5)?,
            })
        })
        .collect()
}

/// An event of an incident's timeline, as stored.
#[derive(Debug, Clone, Serialize)]
pub struct StoredEvent {
    /// Row id.
    pub id: String,
    /// What happened.
    pub kind: String,
    /// Who did it.
    pub actor: String,
    /// For people.
    pub text: String,
    /// Details.
    pub data: serde_json::Value,
    /// When (unix ms).
    pub ts: i64,
}

/// Longest event text kept.
const MAX_TEXT: usize = 8000;

/// Appends an event to incident `incident_id`'s timeline.
pub async fn insert_event(conn: &mut AnyConnection, incident_id: &str, event: &IncidentEvent) -> ApiResult<String> {
    let id = new_id();
    let text: String = event.text.chars().take(MAX_TEXT).collect();
    let data = if event.data.is_null() { "{}".to_owned() } else { event.data.to_string() };
    sqlx::query("INSERT INTO incident_events (id, incident_id, kind, actor, text, data, ts) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(&id)
        .bind(incident_id)
        .bind(event.kind.chars().take(100).collect::<String>())
        .bind(event.actor.chars().take(200).collect::<String>())
        .bind(text)
        .bind(data)
        .bind(now_ms())
        .execute(&mut *conn)
        .await?;
    Ok(id)
}

/// Incident `id`'s events, oldest first.
pub async fn events(conn: &mut AnyConnection, id: &str) -> ApiResult<Vec<StoredEvent>> {
    let rows = sqlx::query("SELECT id, kind, actor, text, data, ts FROM incident_events WHERE incident_id = $1 ORDER BY ts, id LIMIT 5000")
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|row| {
            let data: String = row.try_get(4)?;
            Ok(StoredEvent {
                id: row.try_get(0)?,
                kind: row.try_get(1)?,
                actor: row.try_get(2)?,
                text: row.try_get(3)?,
                data: serde_json::from_str(&data).unwrap_or(serde_json::Value::Null),
                ts: row.try_get(5)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(fmt_duration(0), "0 s");
        assert_eq!(fmt_duration(250), "250 ms");
        assert_eq!(fmt_duration(12_000), "12 s");
        assert_eq!(fmt_duration(200_000), "3 min 20 s");
        assert_eq!(fmt_duration(7_500_000), "2 h 05 min");
        assert_eq!(fmt_duration(90_000_000), "1 d 01 h");
    }
}
