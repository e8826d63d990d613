//! Stored playbooks: every version of each playbook's YAML text, which version is current, and
//! whether it is enabled. The shipped playbooks (`crates/warden-server/playbooks/*.yaml`) are
//! installed at start; a shipped playbook nobody has edited follows the shipped text of newer
//! releases, one an administrator replaced keeps the administrator's version.

use serde::Serialize;
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::spec::{self, Playbook};
use crate::actor::Actor;
use crate::audit::Change;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{is_unique_violation, now_ms};

/// The playbooks warden ships, by id.
pub const SHIPPED: [(&str, &str); 5] = [
    ("malicious-model-upload", include_str!("../../playbooks/malicious-model-upload.yaml")),
    ("pii-in-training-data", include_str!("../../playbooks/pii-in-training-data.yaml")),
    ("drift-beyond-threshold", include_str!("../../playbooks/drift-beyond-threshold.yaml")),
    ("extraction-attack", include_str!("../../playbooks/extraction-attack.yaml")),
    ("suspicious-logins", include_str!("../../playbooks/suspicious-logins.yaml")),
];

/// Who installs the shipped playbooks.
const SHIPPED_BY: &str = "warden";

/// A playbook at its current version.
#[derive(Debug, Clone, Serialize)]
pub struct StoredPlaybook {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The current version (1, 2, ...).
    pub version: i64,
    /// Whether incidents start it.
    pub enabled: bool,
    /// The current version is the shipped text.
    pub shipped: bool,
    /// Who wrote the current version.
    pub updated_by: String,
    /// When (unix ms).
    pub updated_at: i64,
    /// The YAML text.
    pub source: String,
    /// The parsed playbook.
    pub playbook: Playbook,
}

impl StoredPlaybook {
    /// Last change, for people.
    pub fn when(&self) -> String {
        crate::ui::fmt_time(self.updated_at)
    }
}

/// One version of a playbook.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlaybookVersion {
    /// The version number.
    pub version: i64,
    /// The shipped text.
    pub shipped: bool,
    /// Who wrote it.
    pub created_by: String,
    /// When (unix ms).
    pub created_at: i64,
}

impl PlaybookVersion {
    /// When, for people.
    pub fn when(&self) -> String {
        crate::ui::fmt_time(self.created_at)
    }
}

const COLUMNS: &str = "p.id, p.name, p.current_version, p.enabled, v.shipped, v.created_by, v.created_at, v.source";

fn from_row(row: &AnyRow) -> ApiResult<StoredPlaybook> {
    let id: String = row.try_get(0)?;
    let source: String = row.try_get(7)?;
    let playbook = spec::parse(&source)
        .map_err(|issues| ApiError::Internal(format!("stored playbook `{id}` no longer parses: {}", spec::describe(&issues))))?;
    Ok(StoredPlaybook {
        id,
        name: row.try_get(1)?,
        version: row.try_get(2)?,
        enabled: row.try_get::<i64, _>(3)? != 0,
        shipped: row.try_get::<i64, _>(4)? != 0,
        updated_by: row.try_get(5)?,
        updated_at: row.try_get(6)?,
        source,
        playbook,
    })
}

/// Every playbook at its current version, by name.
pub async fn list(app: &AppState) -> ApiResult<Vec<StoredPlaybook>> {
    let sql = format!("SELECT {COLUMNS} FROM playbooks p JOIN playbook_versions v ON v.playbook_id = p.id AND v.version = p.current_version ORDER BY p.name, p.id");
    let rows = sqlx::query(&sql).fetch_all(&app.store.read).await?;
    rows.iter().map(from_row).collect()
}

/// The enabled playbooks, at their current versions.
pub async fn enabled(app: &AppState) -> ApiResult<Vec<StoredPlaybook>> {
    Ok(list(app).await?.into_iter().filter(|p| p.enabled).collect())
}

/// Playbook `id` at its current version.
pub async fn get(app: &AppState, id: &str) -> ApiResult<Option<StoredPlaybook>> {
    if !spec::is_slug(id) {
        return Ok(None);
    }
    let sql = format!("SELECT {COLUMNS} FROM playbooks p JOIN playbook_versions v ON v.playbook_id = p.id AND v.version = p.current_version WHERE p.id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(&app.store.read).await?;
    row.as_ref().map(from_row).transpose()
}

/// Playbook `id`, or a 404.
pub async fn require(app: &AppState, id: &str) -> ApiResult<StoredPlaybook> {
    get(app, id).await?.ok_or_else(|| ApiError::not_found("playbook", id))
}

/// Every version of playbook `id`, newest first.
pub async fn versions(app: &AppState, id: &str) -> ApiResult<Vec<PlaybookVersion>> {
    if !spec::is_slug(id) {
        return Ok(Vec::new());
    }
    let rows = sqlx::query("SELECT version, shipped, created_by, created_at FROM playbook_versions WHERE playbook_id = $1 ORDER BY version DESC")
        .bind(id)
        .fetch_all(&app.store.read)
        .await?;
    rows.iter()
        .map(|row| {
            Ok(PlaybookVersion {
                version: row.try_get(0)?,
                shipped: row.try_get::<i64, _>(1)? != 0,
                created_by: row.try_get(2)?,
                created_at: row.try_get(3)?,
            })
        })
        .collect()
}

/// The YAML text of version `version` of playbook `id`.
pub async fn source_of(app: &AppState, id: &str, version: i64) -> ApiResult<String> {
    if !spec::is_slug(id) {
        return Err(ApiError::not_found("playbook", id));
    }
    sqlx::query_scalar("SELECT source FROM playbook_versions WHERE playbook_id = $1 AND version = $2")
        .bind(id)
        .bind(version)
        .fetch_optional(&app.store.read)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("playbook `{id}` has no version {version}")))
}

/// Parses `text` as a playbook, or a 400 listing every problem with its field and line.
pub fn parse_or_400(text: &str) -> ApiResult<Playbook> {
    spec::parse(text).map_err(|issues| ApiError::BadRequest(format!("the playbook is not valid: {}", spec::describe(&issues))))
}

/// How [`save`] treats an existing playbook of the same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveMode {
    /// Only a new playbook (409 if the id exists).
    Create,
    /// Only a new version of an existing playbook (404 if missing).
    Replace,
    /// Either.
    Upsert,
}

/// Stores `text` as a new playbook or as the next version of an existing one, with its audit
/// entry; returns the stored playbook. When `expected_id` is given, the text's id must be it.
pub async fn save(app: &AppState, actor: Actor<'_>, text: &str, mode: SaveMode, expected_id: Option<&str>) -> ApiResult<StoredPlaybook> {
    let playbook = parse_or_400(text)?;
    if let Some(expected) = expected_id
        && expected != playbook.id
    {
        return Err(ApiError::BadRequest(format!(
            "the text is playbook `{}`, not `{expected}`; change its `id` or save it as a new playbook",
            playbook.id
        )));
    }
    let now = now_ms();
    let who = actor.name();
    let mut tx = app.store.begin().await?;
    let exists = sqlx::query("UPDATE playbooks SET current_version = current_version + 1, name = $1, updated_at = $2 WHERE id = $3")
        .bind(&playbook.name)
        .bind(now)
        .bind(&playbook.id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
        > 0;
    match (exists, mode) {
        (true, SaveMode::Create) => {
            return Err(ApiError::Conflict(format!("a playbook `{}` exists already; replace it (PUT /api/v1/playbooks/{}) to add a version", playbook.id, playbook.id)));
        }
        (false, SaveMode::Replace) => return Err(ApiError::not_found("playbook", &playbook.id)),
        _ => {}
    }
    if !exists {
        let inserted = sqlx::query("INSERT INTO playbooks (id, name, current_version, enabled, created_at, updated_at) VALUES ($1, $2, 1, 1, $3, $3)")
            .bind(&playbook.id)
            .bind(&playbook.name)
            .bind(now)
            .execute(&mut *tx)
            .await;
        match inserted {
            Ok(_) => {}
            Err(err) if is_unique_violation(&err) => return Err(ApiError::Conflict(format!("playbook `{}` was created meanwhile; try again", playbook.id))),
            Err(err) => return Err(err.into()),
        }
    }
    let version: i64 = sqlx::query_scalar("SELECT current_version FROM playbooks WHERE id = $1").bind(&playbook.id).fetch_one(&mut *tx).await?;
    sqlx::query("INSERT INTO playbook_versions (playbook_id, version, source, shipped, created_by, created_at) VALUES ($1, $2, $3, 0, $4, $5)")
        .bind(&playbook.id)
        .bind(version)
        .bind(text)
        .bind(&who)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    let operation = if exists { "playbook.update" } else { "playbook.create" };
    let change = if exists { Change::update(operation, "playbook", &playbook.id) } else { Change::create(operation, "playbook", &playbook.id) };
    let steps: Vec<&str> = playbook.steps.iter().map(|s| s.action.as_str()).collect();
    actor.record(app, &mut tx, change.named(playbook.name.clone()).detail(json!({"version": version, "steps": steps, "bytes": text.len()}))).await?;
    tx.commit().await?;
    app.metrics.event(operation);
    require(app, &playbook.id).await
}

/// Enables or disables playbook `id`; returns whether anything changed.
pub async fn set_enabled(app: &AppState, actor: Actor<'_>, id: &str, enabled: bool) -> ApiResult<bool> {
    let playbook = require(app, id).await?;
    let mut tx = app.store.begin().await?;
    let changed = sqlx::query("UPDATE playbooks SET enabled = $1, updated_at = $2 WHERE id = $3 AND enabled <> $1")
        .bind(i64::from(enabled))
        .bind(now_ms())
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
        > 0;
    if !changed {
        return Ok(false);
    }
    let operation = if enabled { "playbook.enable" } else { "playbook.disable" };
    actor.record(app, &mut tx, Change::update(operation, "playbook", id).named(playbook.name).detail(json!({"enabled": enabled}))).await?;
    tx.commit().await?;
    Ok(true)
}

/// Installs the shipped playbooks that are missing, and moves shipped playbooks nobody edited to
/// the text of this release. Safe to run on several instances at once.
pub async fn install_shipped(app: &AppState) -> ApiResult<()> {
    let actor = Actor::System("playbooks.install");
    for (id, text) in SHIPPED {
        let playbook = parse_or_400(text).map_err(|e| ApiError::Internal(format!("shipped playbook `{id}`: {e}")))?;
        let now = now_ms();
        let mut tx = app.store.begin().await?;
        let created = sqlx::query("INSERT INTO playbooks (id, name, current_version, enabled, created_at, updated_at) VALUES ($1, $2, 0, 1, $3, $3) ON CONFLICT (id) DO NOTHING")
            .bind(id)
            .bind(&playbook.name)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        // Takes the row lock, so two instances do not both add the same shipped version.
        sqlx::query("UPDATE playbooks SET updated_at = updated_at WHERE id = $1").bind(id).execute(&mut *tx).await?;
        let latest = sqlx::query("SELECT v.version, v.shipped, v.source FROM playbooks p JOIN playbook_versions v ON v.playbook_id = p.id AND v.version = p.current_version WHERE p.id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let next = match &latest {
            None => 1,
            Some(row) if row.try_get::<i64, _>(1)? != 0 && row.try_get::<String, _>(2)? != text => row.try_get::<i64, _>(0)? + 1,
            Some(_) => continue,
        };
        sqlx::query("INSERT INTO playbook_versions (playbook_id, version, source, shipped, created_by, created_at) VALUES ($1, $2, $3, 1, $4, $5)")
            .bind(id)
            .bind(next)
            .bind(text)
            .bind(SHIPPED_BY)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE playbooks SET current_version = $1, name = $2, updated_at = $3 WHERE id = $4").bind(next).bind(&playbook.name).bind(now).bind(id).execute(&mut *tx).await?;
        let operation = if created { "playbook.install" } else { "playbook.upgrade" };
        actor.record(app, &mut tx, Change::update(operation, "playbook", id).named(playbook.name.clone()).detail(json!({"version": next, "shipped": true}))).await?;
        tx.commit().await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_playbooks_parse() {
        for (name, text) in SHIPPED {
            let playbook = crate::playbooks::spec::parse(text).unwrap_or_else(|e| panic!("{name}: {}", crate::playbooks::spec::describe(&e)));
            assert_eq!(&playbook.id, name);
            assert!(!playbook.steps.is_empty());
        }
    }
}
