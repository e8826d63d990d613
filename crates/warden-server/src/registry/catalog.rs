//! What the registry keeps in the database: model assets, their versions and the stage history,
//! read and written through one connection (`&mut AnyConnection`: a pooled one or a transaction).

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::error::{ApiError, ApiResult};
use crate::store::{new_id, now_ms};

/// The stage of a model version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Freshly uploaded.
    Development,
    /// Being evaluated before release.
    Staging,
    /// Serving; at most one version of a model at a time.
    Production,
    /// Was in production and was replaced, rolled back or quarantined.
    Archived,
}

impl Stage {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Development => "development",
            Stage::Staging => "staging",
            Stage::Production => "production",
            Stage::Archived => "archived",
        }
    }

    /// The stage named `text`.
    pub fn parse(text: &str) -> Option<Stage> {
        [Stage::Development, Stage::Staging, Stage::Production, Stage::Archived].into_iter().find(|s| s.as_str() == text)
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A model asset as the registry needs it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ModelAsset {
    /// The asset id.
    pub id: String,
    /// The model's name.
    pub name: String,
    /// Its owner.
    pub owner: String,
    /// 0 public ... 3 restricted.
    pub sensitivity: i64,
    /// Uploads and promotions are refused while set.
    pub frozen: bool,
    /// The asset was retired from the inventory.
    pub retired: bool,
}

impl ModelAsset {
    /// The sensitivity's name (public, internal, confidential, restricted).
    pub fn sensitivity_name(&self) -> &'static str {
        match self.sensitivity {
            i64::MIN..=0 => "public",
            1 => "internal",
            2 => "confidential",
            _ => "restricted",
        }
    }
}

/// One uploaded version of a model.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ModelVersion {
    /// Row id (also names the encrypted blob).
    pub id: String,
    /// The model asset.
    pub asset_id: String,
    /// The version string given at upload (`1.2.0`).
    pub version: String,
    /// The uploaded file's name.
    pub filename: String,
    /// Plaintext size in bytes.
    pub size: i64,
    /// SHA-256 of the plaintext, lowercase hex.
    pub sha256: String,
    /// development, staging, production or archived.
    pub stage: String,
    /// Quarantined versions are neither downloaded nor promoted.
    pub quarantined: bool,
    /// Why it was quarantined (empty otherwise).
    pub quarantine_reason: String,
    /// `clean`, `flagged` (findings of medium severity or above), `unrecognised` (no known model
    /// format inside, nothing inspected) or `error`.
    pub scan_status: String,
    /// The highest severity among the scan's findings.
    pub max_severity: Option<String>,
    /// Who uploaded it.
    pub created_by: String,
    /// When (unix ms).
    pub created_at: i64,
    /// The blob's path relative to the data directory.
    #[serde(skip)]
    pub blob: String,
}

impl ModelVersion {
    /// Upload time for people.
    pub fn when(&self) -> String {
        crate::ui::fmt_time(self.created_at)
    }

    /// The size for people (`1.4 MiB`).
    pub fn size_text(&self) -> String {
        human_size(self.size)
    }

    /// The first 12 hex digits of the digest.
    pub fn short_digest(&self) -> &str {
        self.sha256.get(..12).unwrap_or(&self.sha256)
    }

    /// In the production stage.
    pub fn in_production(&self) -> bool {
        self.stage == Stage::Production.as_str()
    }
}

/// Bytes for people.
pub fn human_size(bytes: i64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    #[allow(clippy::cast_precision_loss)]
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}

const VERSION_COLUMNS: &str = "id, asset_id, version, filename, size, sha256, stage, quarantined, quarantine_reason, scan_status, max_severity, created_by, created_at, blob";

fn version_from_row(row: &AnyRow) -> Result<ModelVersion, sqlx::Error> {
    Ok(ModelVersion {
        id: row.try_get(0)?,
        asset_id: row.try_get(1)?,
        version: row.try_get(2)?,
        filename: row.try_get(3)?,
        size: row.try_get(4)?,
        sha256: row.try_get(5)?,
        stage: row.try_get(6)?,
        quarantined: row.try_get::<i64, _>(7)? != 0,
        quarantine_reason: row.try_get(8)?,
        scan_status: row.try_get(9)?,
        max_severity: row.try_get(10)?,
        created_by: row.try_get(11)?,
        created_at: row.try_get(12)?,
        blob: row.try_get(13)?,
    })
}

/// The asset `id` if it is a model: 404 when there is no such asset, 400 when it is another kind.
pub async fn model_asset(conn: &mut AnyConnection, id: &str) -> ApiResult<ModelAsset> {
    let row = sqlx::query("SELECT id, kind, name, owner, sensitivity, frozen, retired_at FROM assets WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| ApiError::not_found("model", id))?;
    let kind: String = row.try_get(1)?;
    if kind != "model" {
        return Err(ApiError::BadRequest(format!("asset `{id}` is a {kind}, not a model: only models have versions in the registry")));
    }
    Ok(ModelAsset {
        id: row.try_get(0)?,
        name: row.try_get(2)?,
        owner: row.try_get(3)?,
        sensitivity: row.try_get(4)?,
        frozen: row.try_get::<i64, _>(5)? != 0,
        retired: row.try_get::<Option<i64>, _>(6)?.is_some(),
    })
}

/// Takes the model's row lock inside a write transaction, so concurrent stage changes of one model
/// (on several PostgreSQL-backed instances) run one after the other; returns the model.
pub async fn lock_model(conn: &mut AnyConnection, id: &str) -> ApiResult<ModelAsset> {
    sqlx::query("UPDATE assets SET frozen = frozen WHERE id = $1").bind(id).execute(&mut *conn).await?;
    model_asset(conn, id).await
}

/// Every version of a model, newest first.
pub async fn versions(conn: &mut AnyConnection, asset_id: &str) -> ApiResult<Vec<ModelVersion>> {
    let sql = format!("SELECT {VERSION_COLUMNS} FROM model_versions WHERE asset_id = $1 ORDER BY created_at DESC, id DESC");
    let rows = sqlx::query(&sql).bind(asset_id).fetch_all(&mut *conn).await?;
    Ok(rows.iter().map(version_from_row).collect::<Result<_, _>>()?)
}

/// Version `version` of a model, if uploaded.
pub async fn version(conn: &mut AnyConnection, asset_id: &str, version: &str) -> ApiResult<Option<ModelVersion>> {
    let sql = format!("SELECT {VERSION_COLUMNS} FROM model_versions WHERE asset_id = $1 AND version = $2");
    let row = sqlx::query(&sql).bind(asset_id).bind(version).fetch_optional(&mut *conn).await?;
    Ok(row.as_ref().map(version_from_row).transpose()?)
}

/// Version `version` of a model, or 404 saying which model has no such version.
pub async fn existing_version(conn: &mut AnyConnection, model: &ModelAsset, wanted: &str) -> ApiResult<ModelVersion> {
    version(conn, &model.id, wanted)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("model `{}` has no version `{wanted}`", model.name)))
}

/// The version with row id `id`.
pub async fn version_by_id(conn: &mut AnyConnection, id: &str) -> ApiResult<Option<ModelVersion>> {
    let sql = format!("SELECT {VERSION_COLUMNS} FROM model_versions WHERE id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(&mut *conn).await?;
    Ok(row.as_ref().map(version_from_row).transpose()?)
}

/// The version of a model now in production, if any.
pub async fn production(conn: &mut AnyConnection, asset_id: &str) -> ApiResult<Option<ModelVersion>> {
    let sql = format!("SELECT {VERSION_COLUMNS} FROM model_versions WHERE asset_id = $1 AND stage = 'production' ORDER BY created_at DESC LIMIT 1");
    let row = sqlx::query(&sql).bind(asset_id).fetch_optional(&mut *conn).await?;
    Ok(row.as_ref().map(version_from_row).transpose()?)
}

/// Sets a version's stage.
pub async fn set_stage(conn: &mut AnyConnection, version_id: &str, stage: Stage) -> ApiResult<()> {
    sqlx::query("UPDATE model_versions SET stage = $1 WHERE id = $2").bind(stage.as_str()).bind(version_id).execute(&mut *conn).await?;
    Ok(())
}

/// Sets or lifts a version's quarantine.
pub async fn set_quarantine(conn: &mut AnyConnection, version_id: &str, quarantined: bool, reason: &str) -> ApiResult<()> {
    sqlx::query("UPDATE model_versions SET quarantined = $1, quarantine_reason = $2 WHERE id = $3")
        .bind(i64::from(quarantined))
        .bind(reason)
        .bind(version_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Why a stage changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The version was uploaded (into development).
    Upload,
    /// Someone promoted (or demoted) it.
    Promote,
    /// Another version was promoted to production over it.
    Displaced,
    /// It was quarantined while in production.
    Quarantine,
    /// Production was rolled back (from it, or to it).
    Rollback,
}

impl Cause {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Upload => "upload",
            Cause::Promote => "promote",
            Cause::Displaced => "displaced",
            Cause::Quarantine => "quarantine",
            Cause::Rollback => "rollback",
        }
    }
}

/// One row of the stage history.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StageEvent {
    /// The version string.
    pub version: String,
    /// The stage before (empty for an upload).
    pub from_stage: String,
    /// The stage after.
    pub to_stage: String,
    /// upload, promote, displaced, quarantine or rollback.
    pub cause: String,
    /// Who did it (a user name, or `system:<what>`).
    pub actor: String,
    /// The reason given.
    pub reason: String,
    /// When (unix ms).
    pub ts: i64,
}

impl StageEvent {
    /// When, for people.
    pub fn when(&self) -> String {
        crate::ui::fmt_time(self.ts)
    }
}

/// A stage change to record.
#[derive(Debug, Clone)]
pub struct NewStageEvent<'a> {
    /// The model.
    pub asset_id: &'a str,
    /// The version row.
    pub version_id: &'a str,
    /// Before (`""` for an upload).
    pub from: &'a str,
    /// After.
    pub to: Stage,
    /// Why.
    pub cause: Cause,
    /// Who.
    pub actor: &'a str,
    /// The reason given.
    pub reason: &'a str,
    /// For a promotion to production: the version it displaced.
    pub previous_version_id: Option<&'a str>,
}

/// Appends a row to the stage history.
pub async fn record_stage(conn: &mut AnyConnection, event: &NewStageEvent<'_>) -> ApiResult<()> {
    sqlx::query(
        "INSERT INTO stage_events (id, asset_id, version_id, from_stage, to_stage, actor, reason, ts, cause, previous_version_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(new_id())
    .bind(event.asset_id)
    .bind(event.version_id)
    .bind(event.from)
    .bind(event.to.as_str())
    .bind(event.actor)
    .bind(event.reason)
    .bind(now_ms())
    .bind(event.cause.as_str())
    .bind(event.previous_version_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The stage history of a model, newest first (at most `limit` rows).
pub async fn stage_history(conn: &mut AnyConnection, asset_id: &str, limit: i64) -> ApiResult<Vec<StageEvent>> {
    let rows = sqlx::query(
        "SELECT v.version, e.from_stage, e.to_stage, e.cause, e.actor, e.reason, e.ts FROM stage_events e \
         JOIN model_versions v ON v.id = e.version_id WHERE e.asset_id = $1 ORDER BY e.ts DESC, e.id DESC LIMIT $2",
    )
    .bind(asset_id)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(StageEvent {
                version: row.try_get(0)?,
                from_stage: row.try_get(1)?,
                to_stage: row.try_get(2)?,
                cause: row.try_get(3)?,
                actor: row.try_get(4)?,
                reason: row.try_get(5)?,
                ts: row.try_get(6)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

/// The version that production should fall back to from `current_id`: the version its latest
/// promotion to production displaced, skipping quarantined (or vanished) ones by following their own
/// promotions further back. `None` when the chain ends without a good version.
pub async fn previous_good(conn: &mut AnyConnection, current_id: &str) -> ApiResult<Option<ModelVersion>> {
    let mut visited = vec![current_id.to_owned()];
    let mut cursor = current_id.to_owned();
    // Each step moves one promotion back; a model has far fewer promotions than this.
    for _ in 0..10_000 {
        let previous: Option<Option<String>> = sqlx::query_scalar(
            "SELECT previous_version_id FROM stage_events WHERE version_id = $1 AND to_stage = 'production' AND cause = 'promote' \
             ORDER BY ts DESC, id DESC LIMIT 1",
        )
        .bind(&cursor)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(Some(previous)) = previous else { return Ok(None) };
        if visited.contains(&previous) {
            return Ok(None);
        }
        visited.push(previous.clone());
        if let Some(candidate) = version_by_id(conn, &previous).await?
            && !candidate.quarantined
        {
            return Ok(Some(candidate));
        }
        cursor = previous;
    }
    Ok(None)
}

/// A model in the registry list: the asset with its version counts and notable versions.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ModelSummary {
    /// The model asset.
    #[serde(flatten)]
    pub model: ModelAsset,
    /// How many versions were uploaded.
    pub versions: i64,
    /// How many of them are quarantined.
    pub quarantined: i64,
    /// The newest version string.
    pub latest: Option<String>,
    /// The version string in production.
    pub production: Option<String>,
}

/// Every model not retired, by name, with its counts.
pub async fn summaries(conn: &mut AnyConnection) -> ApiResult<Vec<ModelSummary>> {
    let rows = sqlx::query(
        "SELECT a.id, a.name, a.owner, a.sensitivity, a.frozen, \
         (SELECT COUNT(*) FROM model_versions v WHERE v.asset_id = a.id), \
         (SELECT COUNT(*) FROM model_versions v WHERE v.asset_id = a.id AND v.quarantined = 1), \
         (SELECT v.version FROM model_versions v WHERE v.asset_id = a.id ORDER BY v.created_at DESC, v.id DESC LIMIT 1), \
         (SELECT v.version FROM model_versions v WHERE v.asset_id = a.id AND v.stage = 'production' LIMIT 1) \
         FROM assets a WHERE a.kind = 'model' AND a.retired_at IS NULL ORDER BY a.name",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(ModelSummary {
                model: ModelAsset {
                    id: row.try_get(0)?,
                    name: row.try_get(1)?,
                    owner: row.try_get(2)?,
                    sensitivity: row.try_get(3)?,
                    frozen: row.try_get::<i64, _>(4)? != 0,
                    retired: false,
                },
                versions: row.try_get(5)?,
                quarantined: row.try_get(6)?,
                latest: row.try_get(7)?,
                production: row.try_get(8)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(5 << 30), "5.0 GiB");
    }

    #[test]
    fn stages_round_trip() {
        for stage in [Stage::Development, Stage::Staging, Stage::Production, Stage::Archived] {
            assert_eq!(Stage::parse(stage.as_str()), Some(stage));
        }
        assert_eq!(Stage::parse("prod"), None);
    }
}
