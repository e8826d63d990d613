//! Drift reports: `POST /api/v1/assets/{id}/drift` takes what `warden drift --format json`
//! writes (`{"columns": [...], "drifted_share", "dataset_drift"}`) for a model, deployment or
//! dataset and keeps it. The asset's drift threshold (a drifted-column share, set per asset)
//! decides whether the data drifted; without one the report's own verdict does. Drift becomes a
//! `drift.dataset-drift` finding (one per asset within the alert window) with the drifted columns
//! as evidence, which then goes to incident intake.

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::Row;
use warden_core::{Location, Rule, Severity};

use super::blocks::{AssetRef, check_text, require_asset};
use crate::actor::Actor;
use crate::audit::Change;
use crate::error::{ApiError, ApiResult};
use crate::findings::{self, Attach, Source};
use crate::state::AppState;
use crate::store::{new_id, now_ms};

/// The data an asset sees drifted from its reference.
pub static DATASET_DRIFT: Rule = Rule {
    id: "drift.dataset-drift",
    severity: Severity::High,
    title: "Dataset drift beyond the threshold",
    description: "The share of columns whose distribution drifted from the reference reached the threshold. \
                  Drift degrades a model silently, and deliberate drift is how poisoned or adversarial data \
                  erodes a model over time (ATLAS lists drift monitoring as a detection of both).",
    atlas: &["AML.T0020", "AML.T0031"],
    remediation: "Compare the drifted columns with their sources; if the change is not explained, roll the model back \
                  to its last good version and check the training and input data for tampering.",
};

/// Most columns one report may carry.
pub const MAX_COLUMNS: usize = 10_000;
/// Longest column name kept.
const MAX_NAME: usize = 512;
/// Evidence is cut after this many characters.
const MAX_EVIDENCE: usize = 4000;
/// Asset kinds drift reports belong to.
pub const KINDS: [&str; 3] = ["model", "deployment", "dataset"];

/// One column of a drift report.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DriftColumn {
    /// The column.
    pub name: String,
    /// `numerical` or `categorical`.
    #[serde(default)]
    pub kind: Option<String>,
    /// The test (`ks`, `chisquare`, `z`, `jensenshannon`, `wasserstein`, `psi`).
    pub test: String,
    /// The statistic (the distance for distance tests; `null` when not a number).
    #[serde(default)]
    pub statistic: Option<f64>,
    /// The p-value of p-value tests.
    #[serde(default)]
    pub p_value: Option<f64>,
    /// The threshold applied.
    #[serde(default)]
    pub threshold: Option<f64>,
    /// Whether the column drifted.
    pub drifted: bool,
}

/// A drift report, as `warden drift --format json` writes it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DriftReport {
    /// Per-column results.
    pub columns: Vec<DriftColumn>,
    /// Share of the columns that drifted.
    pub drifted_share: f64,
    /// The report's verdict.
    pub dataset_drift: bool,
}

/// What the server made of a report.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DriftOutcome {
    /// The stored report.
    pub id: String,
    /// Whether the data drifted (by the asset's threshold, else the report's verdict).
    pub drifted: bool,
    /// Share of the columns that drifted.
    pub drifted_share: f64,
    /// The asset's threshold, when one is set.
    pub threshold: Option<f64>,
    /// What decided: `asset threshold` or `report verdict`.
    pub decided_by: String,
    /// The drifted columns.
    pub drifted_columns: Vec<String>,
    /// The `drift.dataset-drift` finding (an earlier one when deduplicated).
    pub finding_id: Option<String>,
    /// The asset had a drift finding within the alert window: no new one.
    pub deduplicated: bool,
}

/// A stored report, as listed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DriftSummary {
    /// Its id.
    pub id: String,
    /// Columns compared.
    pub columns: i64,
    /// Columns drifted.
    pub drifted_columns: i64,
    /// Share drifted.
    pub drifted_share: f64,
    /// The report's own verdict.
    pub report_verdict: bool,
    /// The asset's threshold then.
    pub threshold: Option<f64>,
    /// Whether it counted as drift.
    pub drifted: bool,
    /// The finding it raised or joined.
    pub finding_id: Option<String>,
    /// Who sent it.
    pub created_by: String,
    /// When (unix ms).
    pub created_at: i64,
}

impl DriftSummary {
    /// When, for people.
    pub fn when(&self) -> String {
        crate::ui::fmt_time(self.created_at)
    }

    /// The share as a percentage, for people.
    pub fn share(&self) -> String {
        format!("{:.0}%", self.drifted_share * 100.0)
    }
}

fn ppm(share: f64) -> i64 {
    // A share is in [0, 1]: the product fits easily.
    #[allow(clippy::cast_possible_truncation)]
    let ppm = (share * 1_000_000.0).round() as i64;
    ppm
}

fn share(ppm: i64) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let share = ppm as f64 / 1_000_000.0;
    share
}

/// Checks a report: bounded, a share in [0, 1] that agrees with its columns.
pub fn check(report: &DriftReport) -> ApiResult<()> {
    if report.columns.len() > MAX_COLUMNS {
        return Err(ApiError::TooLarge(format!("at most {MAX_COLUMNS} columns per drift report")));
    }
    if !(0.0..=1.0).contains(&report.drifted_share) {
        return Err(ApiError::BadRequest(format!("drifted_share is {}; a share is between 0 and 1", report.drifted_share)));
    }
    if let Some(long) = report.columns.iter().find(|c| c.name.chars().count() > MAX_NAME) {
        return Err(ApiError::BadRequest(format!("column name `{}…` is longer than {MAX_NAME} characters", long.name.chars().take(40).collect::<String>())));
    }
    for column in &report.columns {
        check_text(&column.name, "column name")?;
        check_text(&column.test, "test name")?;
        if column.test.len() > 32 || column.kind.as_ref().is_some_and(|k| k.len() > 32 || k.chars().any(char::is_control)) {
            return Err(ApiError::BadRequest(format!("column `{}`: the test and kind are short names (ks, chisquare, numerical...)", column.name)));
        }
    }
    if !report.columns.is_empty() {
        let drifted = report.columns.iter().filter(|c| c.drifted).count();
        #[allow(clippy::cast_precision_loss)]
        let computed = drifted as f64 / report.columns.len() as f64;
        if (computed - report.drifted_share).abs() > 1e-6 {
            return Err(ApiError::BadRequest(format!(
                "drifted_share is {} but {drifted} of {} columns are marked drifted ({computed:.4}); send the report as warden drift wrote it",
                report.drifted_share,
                report.columns.len()
            )));
        }
    }
    Ok(())
}

fn evidence(report: &DriftReport) -> String {
    let mut text = String::from("drifted columns: ");
    let drifted: Vec<&DriftColumn> = report.columns.iter().filter(|c| c.drifted).collect();
    for (i, column) in drifted.iter().enumerate() {
        let mut part = format!("{} ({}", column.name, column.test);
        if let Some(statistic) = column.statistic {
            part.push_str(&format!(" statistic={statistic:.4}"));
        }
        if let Some(p) = column.p_value {
            part.push_str(&format!(" p={p:.4}"));
        }
        if let Some(threshold) = column.threshold {
            part.push_str(&format!(" threshold={threshold}"));
        }
        part.push(')');
        if text.len() + part.len() > MAX_EVIDENCE {
            text.push_str(&format!("and {} more", drifted.len() - i));
            return text;
        }
        if i > 0 {
            text.push_str(", ");
        }
        text.push_str(&part);
    }
    if drifted.is_empty() {
        text.push_str("none marked (the verdict came from the share)");
    }
    text
}

/// The drift threshold of asset `asset_id` (a share), if set.
pub async fn threshold(app: &AppState, asset_id: &str) -> ApiResult<Option<f64>> {
    let ppm: Option<i64> = sqlx::query_scalar("SELECT threshold_ppm FROM drift_settings WHERE asset_id = $1").bind(asset_id).fetch_optional(&app.store.read).await?;
    Ok(ppm.map(share))
}

/// The asset `asset_id`, checked to be one drift reports belong to.
pub async fn require_drift_asset(app: &AppState, asset_id: &str) -> ApiResult<AssetRef> {
    let asset = require_asset(app, asset_id).await?;
    if !KINDS.contains(&asset.kind.as_str()) {
        return Err(ApiError::BadRequest(format!("asset `{}` is a {}; drift reports belong to models, deployments and datasets", asset.name, asset.kind.replace('_', " "))));
    }
    Ok(asset)
}

/// Stores `report` on asset `asset_id` and raises `drift.dataset-drift` when the data drifted, in
/// one transaction with the audit entry; then incident intake.
pub async fn record(app: &AppState, actor: Actor<'_>, asset_id: &str, report: DriftReport) -> ApiResult<DriftOutcome> {
    let asset = require_drift_asset(app, asset_id).await?;
    if asset.retired {
        return Err(ApiError::Conflict(format!("asset `{}` is retired; its record is kept as it was", asset.name)));
    }
    check(&report)?;
    let threshold = threshold(app, asset_id).await?;
    let share_ppm = ppm(report.drifted_share);
    let (drifted, decided_by) = match threshold {
        Some(t) => (share_ppm >= ppm(t), "asset threshold"),
        None => (report.dataset_drift, "report verdict"),
    };
    let drifted_columns: Vec<String> = report.columns.iter().filter(|c| c.drifted).map(|c| c.name.clone()).collect();
    let id = new_id();
    let now = now_ms();
    let mut tx = app.store.begin().await?;
    let (mut finding_id, mut deduplicated, mut new_finding) = (None, false, None);
    if drifted {
        app.store.serialize_audit(&mut tx).await?;
        let since = now - i64::try_from(app.config.alerts.window.as_millis()).unwrap_or(i64::MAX);
        let earlier: Option<String> = sqlx::query_scalar(
            "SELECT id FROM findings WHERE source = 'drift' AND rule_id = $1 AND asset_id = $2 AND created_at > $3 ORDER BY created_at DESC LIMIT 1",
        )
        .bind(DATASET_DRIFT.id)
        .bind(asset_id)
        .bind(since)
        .fetch_optional(&mut *tx)
        .await?;
        deduplicated = earlier.is_some();
        finding_id = match earlier {
            Some(id) => Some(id),
            None => {
                let why = match threshold {
                    Some(t) => format!("at or above the asset's threshold {:.0}%", t * 100.0),
                    None => "the report's verdict: dataset drift".to_owned(),
                };
                let message = format!(
                    "{} of {} columns of `{}` drifted ({:.0}%, {why})",
                    drifted_columns.len(),
                    report.columns.len(),
                    asset.name,
                    report.drifted_share * 100.0
                );
                let mut location = Location::file(format!("drift:{}", asset.name));
                location.column = drifted_columns.first().cloned();
                let finding = DATASET_DRIFT.finding(message, location).with_evidence(evidence(&report));
                let id = findings::insert(&mut tx, Source::Drift, &Attach { asset_id: Some(asset_id), ..Attach::default() }, &finding).await?;
                new_finding = Some(id.clone());
                Some(id)
            }
        };
    }
    let text = serde_json::to_string(&report).map_err(|e| ApiError::Internal(e.to_string()))?;
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    sqlx::query(
        "INSERT INTO drift_reports (id, asset_id, columns_compared, columns_drifted, drifted_share_ppm, report_verdict, threshold_ppm, drifted, finding_id, report, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&id)
    .bind(asset_id)
    .bind(count(report.columns.len()))
    .bind(count(drifted_columns.len()))
    .bind(share_ppm)
    .bind(i64::from(report.dataset_drift))
    .bind(threshold.map(ppm))
    .bind(i64::from(drifted))
    .bind(finding_id.as_deref())
    .bind(text)
    .bind(actor.name())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let change = Change::create("drift.report", "drift_report", &id)
        .also("asset", asset_id)
        .detail(json!({
            "asset": asset.name,
            "drifted_share": report.drifted_share,
            "report_verdict": report.dataset_drift,
            "threshold": threshold,
            "drifted": drifted,
            "drifted_columns": drifted_columns.iter().take(50).collect::<Vec<_>>(),
            "finding": finding_id,
            "deduplicated": deduplicated,
        }));
    actor.record(app, &mut tx, change).await?;
    tx.commit().await?;
    app.metrics.event("drift.report");
    if let Some(new) = new_finding {
        tracing::warn!(asset = %asset.name, share = report.drifted_share, "dataset drift");
        crate::incidents::intake_after_commit(app, &[new]).await;
    }
    Ok(DriftOutcome {
        id,
        drifted,
        drifted_share: report.drifted_share,
        threshold,
        decided_by: decided_by.to_owned(),
        drifted_columns,
        finding_id,
        deduplicated,
    })
}

/// Sets (`Some`, a share in (0, 1]) or removes the drift threshold of `asset_id`, audited.
/// Returns whether anything changed.
pub async fn set_threshold(app: &AppState, actor: Actor<'_>, asset_id: &str, threshold: Option<f64>) -> ApiResult<bool> {
    let asset = require_drift_asset(app, asset_id).await?;
    if let Some(t) = threshold
        && !(t > 0.0 && t <= 1.0)
    {
        return Err(ApiError::BadRequest(format!("a drift threshold is a share of columns above 0 and at most 1 (got {t}); remove it to follow the reports' verdicts")));
    }
    let before = self::threshold(app, asset_id).await?;
    if before.map(ppm) == threshold.map(ppm) {
        return Ok(false);
    }
    let who = actor.name();
    let mut tx = app.store.begin().await?;
    match threshold {
        Some(t) => {
            sqlx::query(
                "INSERT INTO drift_settings (asset_id, threshold_ppm, updated_by, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (asset_id) DO UPDATE SET threshold_ppm = $2, updated_by = $3, updated_at = $4",
            )
            .bind(asset_id)
            .bind(ppm(t))
            .bind(&who)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM drift_settings WHERE asset_id = $1").bind(asset_id).execute(&mut *tx).await?;
        }
    }
    let change = Change::update("drift.threshold", "asset", asset_id).named(asset.name.clone()).detail(json!({"before": before, "after": threshold}));
    actor.record(app, &mut tx, change).await?;
    tx.commit().await?;
    Ok(true)
}

/// The latest drift reports of `asset_id`, newest first.
pub async fn list(app: &AppState, asset_id: &str, limit: i64) -> ApiResult<Vec<DriftSummary>> {
    let rows = sqlx::query(
        "SELECT id, columns_compared, columns_drifted, drifted_share_ppm, report_verdict, threshold_ppm, drifted, finding_id, created_by, created_at \
         FROM drift_reports WHERE asset_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
    )
    .bind(asset_id)
    .bind(limit.clamp(1, 1000))
    .fetch_all(&app.store.read)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(DriftSummary {
                id: row.try_get(0)?,
                columns: row.try_get(1)?,
                drifted_columns: row.try_get(2)?,
                drifted_share: share(row.try_get(3)?),
                report_verdict: row.try_get::<i64, _>(4)? != 0,
                threshold: row.try_get::<Option<i64>, _>(5)?.map(share),
                drifted: row.try_get::<i64, _>(6)? != 0,
                finding_id: row.try_get(7)?,
                created_by: row.try_get(8)?,
                created_at: row.try_get(9)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, drifted: bool) -> DriftColumn {
        DriftColumn { name: name.into(), kind: Some("numerical".into()), test: "ks".into(), statistic: Some(0.4), p_value: Some(0.001), threshold: Some(0.05), drifted }
    }

    #[test]
    fn reports_must_agree_with_their_columns() {
        let report = DriftReport { columns: vec![column("a", true), column("b", false)], drifted_share: 0.5, dataset_drift: true };
        assert!(check(&report).is_ok());
        let lying = DriftReport { drifted_share: 0.0, ..report.clone() };
        assert!(check(&lying).unwrap_err().to_string().contains("1 of 2 columns"));
        assert!(check(&DriftReport { drifted_share: 1.5, ..report.clone() }).is_err());
        let nul = DriftReport { columns: vec![column("a\0", true), column("b", false)], ..report };
        assert!(check(&nul).unwrap_err().to_string().contains("control characters"));
    }

    #[test]
    fn the_json_warden_drift_writes_is_read() {
        let text = r#"{"columns":[{"name":"age","kind":"numerical","test":"ks","statistic":0.41,"p_value":0.0001,"threshold":0.05,"drifted":true},
            {"name":"city","kind":"categorical","test":"jensenshannon","statistic":0.02,"p_value":null,"threshold":0.1,"drifted":false}],
            "drifted_share":0.5,"dataset_drift":true}"#;
        let report: DriftReport = serde_json::from_str(text).unwrap();
        assert!(check(&report).is_ok());
        let evidence = evidence(&report);
        assert_eq!(evidence, "drifted columns: age (ks statistic=0.4100 p=0.0001 threshold=0.05)");
    }

    #[test]
    fn evidence_is_bounded() {
        let columns: Vec<DriftColumn> = (0..500).map(|i| column(&format!("column-{i}"), true)).collect();
        let report = DriftReport { columns, drifted_share: 1.0, dataset_drift: true };
        let text = evidence(&report);
        assert!(text.len() <= MAX_EVIDENCE + 20 && text.ends_with("more"), "{}", text.len());
    }

    #[test]
    fn shares_round_trip_through_parts_per_million() {
        assert_eq!(ppm(0.5), 500_000);
        assert_eq!(share(ppm(0.333_333_3)), 0.333_333);
    }
}
