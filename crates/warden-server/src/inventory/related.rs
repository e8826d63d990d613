//! What hangs off an asset without being part of it: its findings counted by severity (the
//! findings module owns the rows) and, for models, the registry's versions (the registry owns
//! the table); read here for the asset pages, lists and the CycloneDX export.

use std::collections::HashMap;

use serde::Serialize;
use sqlx::Row;

use crate::error::ApiResult;
use crate::state::AppState;

/// Counts of findings per asset and severity (`severity` names, only non-zero counts).
pub async fn finding_counts(app: &AppState, asset_id: Option<&str>) -> ApiResult<HashMap<String, SeverityCounts>> {
    let rows = sqlx::query(
        "SELECT asset_id, severity_rank, COUNT(*) FROM findings WHERE asset_id IS NOT NULL AND ($1 = '' OR asset_id = $1) GROUP BY asset_id, severity_rank",
    )
    .bind(asset_id.unwrap_or(""))
    .fetch_all(&app.store.read)
    .await?;
    let mut out: HashMap<String, SeverityCounts> = HashMap::new();
    for row in rows {
        let id: String = row.try_get(0)?;
        let rank: i64 = row.try_get(1)?;
        let count: i64 = row.try_get(2)?;
        out.entry(id).or_default().add(rank, count);
    }
    Ok(out)
}

/// How many findings an asset has at each severity.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct SeverityCounts {
    /// Critical.
    pub critical: i64,
    /// High.
    pub high: i64,
    /// Medium.
    pub medium: i64,
    /// Low.
    pub low: i64,
    /// Info.
    pub info: i64,
}

impl SeverityCounts {
    fn add(&mut self, rank: i64, count: i64) {
        match rank {
            4.. => self.critical += count,
            3 => self.high += count,
            2 => self.medium += count,
            1 => self.low += count,
            _ => self.info += count,
        }
    }

    /// All of them.
    pub fn total(&self) -> i64 {
        self.critical + self.high + self.medium + self.low + self.info
    }

    /// Non-zero counts as (severity, count), highest first, for the UI.
    pub fn nonzero(&self) -> Vec<(&'static str, i64)> {
        [("critical", self.critical), ("high", self.high), ("medium", self.medium), ("low", self.low), ("info", self.info)]
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}

/// A model version as the asset page lists it (the registry owns the table).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VersionSummary {
    /// Row id.
    pub id: String,
    /// The version label.
    pub version: String,
    /// development, staging or production.
    pub stage: String,
    /// Quarantined versions cannot be downloaded or promoted.
    pub quarantined: bool,
    /// The scan's state.
    pub scan_status: String,
    /// The highest severity the scan found.
    pub max_severity: Option<String>,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// When it was uploaded (unix ms).
    pub created_at: i64,
}

/// The versions of model `asset_id`, newest first.
pub async fn versions(app: &AppState, asset_id: &str) -> ApiResult<Vec<VersionSummary>> {
    let rows = sqlx::query(
        "SELECT id, version, stage, quarantined, scan_status, max_severity, sha256, created_at FROM model_versions WHERE asset_id = $1 ORDER BY created_at DESC, id DESC",
    )
    .bind(asset_id)
    .fetch_all(&app.store.read)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(VersionSummary {
                id: row.try_get(0)?,
                version: row.try_get(1)?,
                stage: row.try_get(2)?,
                quarantined: row.try_get::<i64, _>(3)? != 0,
                scan_status: row.try_get(4)?,
                max_severity: row.try_get(5)?,
                sha256: row.try_get(6)?,
                created_at: row.try_get(7)?,
            })
        })
        .collect()
}
