//! The reference profile of a deployment: the per-dimension mean and standard deviation of normal
//! inputs, which the input-anomaly detector measures traffic against. `warden monitor --reference`
//! builds it from a dataset's numeric columns; here it is uploaded as the profile itself
//! (`{"mean": [...], "std": [...]}`) or as reference rows (`{"rows": [[...], ...]}`) the server
//! profiles the same way. Changing it rebuilds the deployment's detectors (their per-client state
//! starts again) on every instance at its next batch of events.

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::Row;
use warden_monitor::detect::ReferenceProfile;

use super::blocks::require_deployment;
use super::memory;
use crate::actor::Actor;
use crate::audit::Change;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::now_ms;

/// Most input dimensions a profile (and an event) may have on the server.
pub const MAX_DIMS: usize = 1024;
/// Most reference rows one upload may carry.
pub const MAX_ROWS: usize = 100_000;

/// A profile upload: the profile itself, or rows to profile.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileUpload {
    /// Means per input dimension.
    #[serde(default)]
    pub mean: Option<Vec<f64>>,
    /// Standard deviations per input dimension.
    #[serde(default)]
    pub std: Option<Vec<f64>>,
    /// Reference inputs (each a feature vector of the same length), instead of `mean`/`std`.
    #[serde(default)]
    pub rows: Option<Vec<Vec<f64>>>,
}

/// A deployment's profile as stored and returned.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StoredProfile {
    /// Means per input dimension.
    pub mean: Vec<f64>,
    /// Standard deviations per input dimension.
    pub std: Vec<f64>,
}

/// What a deployment's detectors are built from: the settings row's version and the profile.
#[derive(Debug, Clone, Default)]
pub struct TrafficSettings {
    /// `updated_at` of the settings row (0 without one): a change rebuilds the detectors.
    pub version: i64,
    /// The reference profile, if one was uploaded.
    pub profile: Option<StoredProfile>,
}

impl StoredProfile {
    /// The detectors' form of it.
    pub fn reference(&self) -> ReferenceProfile {
        ReferenceProfile { mean: self.mean.clone(), std: self.std.clone() }
    }
}

/// Checks an upload and turns it into a profile.
pub fn build(upload: ProfileUpload) -> ApiResult<StoredProfile> {
    let profile = match (upload.mean, upload.std, upload.rows) {
        (Some(mean), Some(std), None) => {
            if mean.len() != std.len() {
                return Err(ApiError::BadRequest(format!("`mean` has {} values and `std` {}: give one of each per input dimension", mean.len(), std.len())));
            }
            if std.iter().any(|s| *s < 0.0) {
                return Err(ApiError::BadRequest("a standard deviation cannot be negative".into()));
            }
            // The detectors divide by it: floor it as `ReferenceProfile::from_rows` does.
            StoredProfile { mean, std: std.into_iter().map(|s| s.max(1e-9)).collect() }
        }
        (None, None, Some(rows)) => {
            if rows.len() > MAX_ROWS {
                return Err(ApiError::TooLarge(format!("at most {MAX_ROWS} reference rows per upload; send the profile (`mean`, `std`) instead")));
            }
            if let Some(width) = rows.first().map(Vec::len)
                && let Some(bad) = rows.iter().position(|r| r.len() != width)
            {
                return Err(ApiError::BadRequest(format!("row {} has {} values and row 1 has {width}: every row needs one per input dimension", bad + 1, rows[bad].len())));
            }
            let reference = ReferenceProfile::from_rows(rows.iter().map(Vec::as_slice))
                .ok_or_else(|| ApiError::BadRequest("a profile needs at least two reference rows".into()))?;
            StoredProfile { mean: reference.mean, std: reference.std }
        }
        _ => return Err(ApiError::BadRequest("send either `mean` and `std`, or `rows` (reference inputs)".into())),
    };
    if profile.mean.is_empty() || profile.mean.len() > MAX_DIMS {
        return Err(ApiError::BadRequest(format!("a profile has 1 to {MAX_DIMS} input dimensions")));
    }
    if profile.mean.iter().chain(&profile.std).any(|v| !v.is_finite()) {
        return Err(ApiError::BadRequest("a profile's values must be finite numbers".into()));
    }
    Ok(profile)
}

/// The detectors' settings of `deployment_id` as stored.
pub async fn settings(app: &AppState, deployment_id: &str) -> ApiResult<TrafficSettings> {
    let row = sqlx::query("SELECT profile, updated_at FROM traffic_settings WHERE deployment_id = $1")
        .bind(deployment_id)
        .fetch_optional(&app.store.read)
        .await?;
    let Some(row) = row else { return Ok(TrafficSettings::default()) };
    let profile: Option<String> = row.try_get(0)?;
    let profile = match profile {
        Some(text) => Some(
            serde_json::from_str::<StoredProfile>(&text)
                .map_err(|e| ApiError::Internal(format!("the stored profile of `{deployment_id}` is unreadable: {e}")))?,
        ),
        None => None,
    };
    Ok(TrafficSettings { version: row.try_get(1)?, profile })
}

/// Sets (`Some`) or removes (`None`) the reference profile of `deployment_id`, in one transaction
/// with its audit entry. Returns whether anything changed.
pub async fn set(app: &AppState, actor: Actor<'_>, deployment_id: &str, profile: Option<StoredProfile>) -> ApiResult<bool> {
    let deployment = require_deployment(app, deployment_id).await?;
    let current = settings(app, deployment_id).await?;
    if current.profile.is_none() && profile.is_none() {
        return Ok(false);
    }
    let text = profile.as_ref().map(serde_json::to_string).transpose().map_err(|e| ApiError::Internal(e.to_string()))?;
    let dims = profile.as_ref().map_or(0, |p| p.mean.len());
    let who = actor.name();
    // Strictly increasing, so two changes within one millisecond still rebuild the detectors.
    let version = now_ms().max(current.version + 1);
    let mut tx = app.store.begin().await?;
    sqlx::query(
        "INSERT INTO traffic_settings (deployment_id, profile, profile_dims, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (deployment_id) DO UPDATE SET profile = $2, profile_dims = $3, updated_by = $4, updated_at = $5",
    )
    .bind(deployment_id)
    .bind(text)
    .bind(i64::try_from(dims).unwrap_or(i64::MAX))
    .bind(&who)
    .bind(version)
    .execute(&mut *tx)
    .await?;
    let change = match &profile {
        Some(_) => Change::update("traffic.profile", "asset", deployment_id).detail(json!({"dimensions": dims, "replaced": current.profile.is_some()})),
        None => Change::delete("traffic.profile", "asset", deployment_id).detail(json!({"removed": true})),
    };
    actor.record(app, &mut tx, change.named(deployment.name.clone())).await?;
    tx.commit().await?;
    memory::of(app).drop_monitor(deployment_id);
    app.metrics.event("traffic.profile");
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_come_from_statistics_or_rows() {
        let p = build(ProfileUpload { mean: Some(vec![0.0, 1.0]), std: Some(vec![1.0, 0.0]), rows: None }).unwrap();
        assert_eq!(p.std[1], 1e-9, "a zero deviation is floored");
        let p = build(ProfileUpload { rows: Some(vec![vec![0.0, 2.0], vec![2.0, 2.0]]), ..ProfileUpload::default() }).unwrap();
        assert_eq!(p.mean, vec![1.0, 2.0]);
        assert_eq!(p.std[0], 1.0);
    }

    #[test]
    fn malformed_profiles_are_refused_with_the_reason() {
        let err = build(ProfileUpload { mean: Some(vec![0.0]), std: Some(vec![1.0, 2.0]), rows: None }).unwrap_err();
        assert!(err.to_string().contains("`mean` has 1 values and `std` 2"), "{err}");
        let err = build(ProfileUpload { rows: Some(vec![vec![0.0, 1.0], vec![1.0]]), ..ProfileUpload::default() }).unwrap_err();
        assert!(err.to_string().contains("row 2 has 1 values"), "{err}");
        assert!(build(ProfileUpload { rows: Some(vec![vec![0.0]]), ..ProfileUpload::default() }).is_err());
        assert!(build(ProfileUpload::default()).is_err());
        assert!(build(ProfileUpload { mean: Some(vec![]), std: Some(vec![]), rows: None }).is_err());
        assert!(build(ProfileUpload { mean: Some(vec![0.0]), std: Some(vec![-1.0]), rows: None }).is_err());
    }
}
