//! Incident metrics: time to contain (`contained_at - created_at`) and time to recover
//! (`recovered_at - created_at`), as medians and means over the incidents detected in the last 30
//! days, and the open incidents by severity. Drills never count. The dashboard reads
//! [`summary`]; [`refresh`] copies it into the Prometheus gauges after every incident change.

use serde::Serialize;
use sqlx::Row;
use warden_core::Severity;

use super::store::fmt_duration;
use crate::error::ApiResult;
use crate::state::AppState;
use crate::store::now_ms;

/// The window the medians and means cover.
pub const WINDOW_MS: i64 = 30 * 86_400_000;

/// Incident metrics for the dashboard and the API.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Incidents not closed.
    pub open: i64,
    /// Open incidents of high or critical severity.
    pub open_high: i64,
    /// Open incidents by severity, lowest first.
    pub open_by_severity: Vec<(String, i64)>,
    /// Incidents detected in the window.
    pub detected: i64,
    /// Of those, how many were contained.
    pub contained: i64,
    /// Of those, how many recovered.
    pub recovered: i64,
    /// Median time to contain (ms).
    pub median_time_to_contain_ms: Option<i64>,
    /// Mean time to contain (ms).
    pub mean_time_to_contain_ms: Option<i64>,
    /// Median time to recover (ms).
    pub median_time_to_recover_ms: Option<i64>,
    /// Mean time to recover (ms).
    pub mean_time_to_recover_ms: Option<i64>,
}

impl Summary {
    /// A duration for people, or an em dash.
    fn show(ms: Option<i64>) -> String {
        ms.map_or_else(|| "—".to_owned(), fmt_duration)
    }

    /// Median time to contain, for people.
    pub fn median_ttc(&self) -> String {
        Summary::show(self.median_time_to_contain_ms)
    }

    /// Mean time to contain, for people.
    pub fn mean_ttc(&self) -> String {
        Summary::show(self.mean_time_to_contain_ms)
    }

    /// Median time to recover, for people.
    pub fn median_ttr(&self) -> String {
        Summary::show(self.median_time_to_recover_ms)
    }

    /// Mean time to recover, for people.
    pub fn mean_ttr(&self) -> String {
        Summary::show(self.mean_time_to_recover_ms)
    }
}

/// The median of `values` (the mean of the middle two for an even count).
pub fn median(values: &mut [i64]) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 { values[mid] } else { values[mid - 1] + (values[mid] - values[mid - 1]) / 2 })
}

/// The mean of `values`, rounded down.
pub fn mean(values: &[i64]) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    let total: i128 = values.iter().map(|v| i128::from(*v)).sum();
    i64::try_from(total / values.len() as i128).ok()
}

/// Computes the metrics from the database.
pub async fn summary(app: &AppState) -> ApiResult<Summary> {
    let mut conn = app.store.read.acquire().await?;
    let rows = sqlx::query("SELECT severity, COUNT(*) FROM incidents WHERE drill = 0 AND status_rank < 5 GROUP BY severity")
        .fetch_all(&mut *conn)
        .await?;
    let mut by_severity = Vec::new();
    for row in &rows {
        let severity: String = row.try_get(0)?;
        by_severity.push((severity, row.try_get::<i64, _>(1)?));
    }
    by_severity.sort_by_key(|(s, _)| s.parse::<Severity>().map_or(0, super::store::severity_rank));
    let open = by_severity.iter().map(|(_, n)| n).sum();
    let open_high = by_severity.iter().filter(|(s, _)| s == "high" || s == "critical").map(|(_, n)| n).sum();
    let rows = sqlx::query("SELECT created_at, contained_at, recovered_at FROM incidents WHERE drill = 0 AND created_at >= $1")
        .bind(now_ms() - WINDOW_MS)
        .fetch_all(&mut *conn)
        .await?;
    let mut ttc = Vec::new();
    let mut ttr = Vec::new();
    for row in &rows {
        let created: i64 = row.try_get(0)?;
        if let Some(at) = row.try_get::<Option<i64>, _>(1)? {
            ttc.push(at - created);
        }
        if let Some(at) = row.try_get::<Option<i64>, _>(2)? {
            ttr.push(at - created);
        }
    }
    Ok(Summary {
        open,
        open_high,
        open_by_severity: by_severity,
        detected: i64::try_from(rows.len()).unwrap_or(i64::MAX),
        contained: i64::try_from(ttc.len()).unwrap_or(i64::MAX),
        recovered: i64::try_from(ttr.len()).unwrap_or(i64::MAX),
        mean_time_to_contain_ms: mean(&ttc),
        median_time_to_contain_ms: median(&mut ttc),
        mean_time_to_recover_ms: mean(&ttr),
        median_time_to_recover_ms: median(&mut ttr),
    })
}

/// Copies [`summary`] into the Prometheus gauges; a failure is logged (metrics never fail a change).
pub async fn refresh(app: &AppState) {
    match summary(app).await {
        Ok(s) => {
            let gauges = &app.metrics.incidents;
            for severity in Severity::ALL {
                let count = s.open_by_severity.iter().find(|(name, _)| name == severity.as_str()).map_or(0, |(_, n)| *n);
                gauges.open.get_or_create(&crate::metrics::SeverityLabels { severity: severity.as_str().to_owned() }).set(count);
            }
            let secs = |ms: Option<i64>| ms.map_or(0.0, |v| v as f64 / 1000.0);
            gauges.median_time_to_contain.set(secs(s.median_time_to_contain_ms));
            gauges.mean_time_to_contain.set(secs(s.mean_time_to_contain_ms));
            gauges.median_time_to_recover.set(secs(s.median_time_to_recover_ms));
            gauges.mean_time_to_recover.set(secs(s.mean_time_to_recover_ms));
        }
        Err(err) => tracing::warn!(%err, "could not refresh the incident metrics"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_means() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [5]), Some(5));
        assert_eq!(median(&mut [9, 1, 5]), Some(5));
        assert_eq!(median(&mut [4, 1, 3, 2]), Some(2));
        assert_eq!(median(&mut [10, 20]), Some(15));
        assert_eq!(mean(&[]), None);
        assert_eq!(mean(&[1, 2, 4]), Some(2));
        assert_eq!(mean(&[i64::MAX, i64::MAX]), Some(i64::MAX));
    }
}
