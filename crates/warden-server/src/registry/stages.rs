//! Stage changes: promote, quarantine, release and roll back. Each is a function over the
//! application state and an [`Actor`], so the HTTP handlers and the server's own automation
//! (incident-response playbooks) run the same code; each runs in one write transaction with its
//! stage-history rows and audit entries, and answers what it changed in an [`Outcome`].
//!
//! Only one version of a model is in production at a time. Every promotion to production records
//! the version it displaced; rolling back follows that chain to the most recent earlier production
//! version that is not quarantined. Asking for a state that already holds changes nothing and says
//! so (`changed: false`), so retried calls are harmless.

use serde::Serialize;
use serde_json::json;
use sqlx::{Any, Transaction};

use super::catalog::{self, Cause, ModelAsset, ModelVersion, NewStageEvent, Stage};
use crate::audit::Change;
use crate::error::{ApiError, ApiResult};
pub use crate::actor::Actor;
use crate::state::AppState;

/// One version's move from one stage to another.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StageMove {
    /// The version string.
    pub version: String,
    /// The stage before.
    pub from: String,
    /// The stage after.
    pub to: String,
}

/// What a stage operation did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Outcome {
    /// Whether anything changed (`false`: the state asked for already held).
    pub changed: bool,
    /// What happened, for people.
    pub message: String,
    /// The stage moves made, in order.
    pub moves: Vec<StageMove>,
    /// The version in production afterwards.
    pub production: Option<String>,
}

impl Outcome {
    fn unchanged(message: String, production: Option<&ModelVersion>) -> Outcome {
        Outcome { changed: false, message, moves: Vec::new(), production: production.map(|v| v.version.clone()) }
    }
}

/// Longest reason kept.
const MAX_REASON: usize = 2000;

fn clean_reason(reason: &str, required: bool, what: &str) -> ApiResult<String> {
    let reason = reason.trim();
    if required && reason.is_empty() {
        return Err(ApiError::BadRequest(format!("give a reason for the {what}: it is kept in the audit log and shown to whoever lifts it")));
    }
    if reason.chars().count() > MAX_REASON {
        return Err(ApiError::BadRequest(format!("the reason may have at most {MAX_REASON} characters")));
    }
    Ok(reason.to_owned())
}

/// Moves `version` from its stage to `to`, records the history row, and returns the move.
async fn move_stage(
    tx: &mut Transaction<'static, Any>,
    actor: &str,
    version: &ModelVersion,
    to: Stage,
    cause: Cause,
    reason: &str,
    previous: Option<&str>,
) -> ApiResult<StageMove> {
    catalog::set_stage(tx, &version.id, to).await?;
    let event = NewStageEvent {
        asset_id: &version.asset_id,
        version_id: &version.id,
        from: &version.stage,
        to,
        cause,
        actor,
        reason,
        previous_version_id: previous,
    };
    catalog::record_stage(tx, &event).await?;
    Ok(StageMove { version: version.version.clone(), from: version.stage.clone(), to: to.as_str().to_owned() })
}

fn frozen_error() -> ApiError {
    ApiError::Conflict("uploads and promotions of this model are frozen".into())
}

fn quarantined_error(model: &ModelAsset, version: &ModelVersion, what: &str) -> ApiError {
    ApiError::Conflict(format!(
        "version `{}` of `{}` is quarantined ({}): it cannot be {what}; a security engineer must release it first",
        version.version, model.name, version.quarantine_reason
    ))
}

/// Moves a version to `to` (development, staging or production). A promotion to production
/// archives the version that was there. The caller has already decided that the actor may promote
/// to production (see `registry.promote.production`).
pub async fn promote(app: &AppState, actor: Actor<'_>, asset_id: &str, version: &str, to: Stage, reason: &str) -> ApiResult<Outcome> {
    if to == Stage::Archived {
        return Err(ApiError::BadRequest("promote to development, staging or production; versions reach `archived` by being replaced or rolled back".into()));
    }
    let reason = clean_reason(reason, false, "promotion")?;
    let mut tx = app.store.begin().await?;
    let model = catalog::lock_model(&mut tx, asset_id).await?;
    if model.frozen {
        return Err(frozen_error());
    }
    let target = catalog::existing_version(&mut tx, &model, version).await?;
    if target.quarantined {
        return Err(quarantined_error(&model, &target, "promoted"));
    }
    let current = catalog::production(&mut tx, asset_id).await?;
    if target.stage == to.as_str() {
        let message = format!("version `{}` of `{}` is already in {to}; nothing changed", target.version, model.name);
        return Ok(Outcome::unchanged(message, current.as_ref()));
    }
    let who = actor.name();
    let mut moves = Vec::new();
    let displaced = current.filter(|c| to == Stage::Production && c.id != target.id);
    if let Some(old) = &displaced {
        moves.push(move_stage(&mut tx, &who, old, Stage::Archived, Cause::Displaced, &reason, None).await?);
    }
    moves.push(move_stage(&mut tx, &who, &target, to, Cause::Promote, &reason, displaced.as_ref().map(|d| d.id.as_str())).await?);
    let mut change = Change::update("registry.promote", "model_version", &target.id)
        .named(format!("{} {}", model.name, target.version))
        .also("asset", &model.id)
        .detail(json!({"version": target.version, "from": target.stage, "to": to.as_str(), "reason": reason, "moves": moves}));
    if let Some(old) = &displaced {
        change = change.also("model_version", &old.id);
    }
    actor.record(app, &mut tx, change).await?;
    tx.commit().await?;
    app.metrics.event("registry.promote");
    let message = match &displaced {
        Some(old) => format!("version `{}` of `{}` is now in production; `{}` was archived", target.version, model.name, old.version),
        None => format!("version `{}` of `{}` moved from {} to {to}", target.version, model.name, target.stage),
    };
    let production = if to == Stage::Production {
        Some(target.version.clone())
    } else if target.in_production() {
        None
    } else {
        catalog::production(&mut *app.store.read.acquire().await?, asset_id).await?.map(|v| v.version)
    };
    Ok(Outcome { changed: true, message, moves, production })
}

/// Quarantines a version: it can no longer be downloaded or promoted. If it was in production,
/// production rolls back to the previous good version (or is left empty when there is none); the
/// outcome says which.
pub async fn quarantine(app: &AppState, actor: Actor<'_>, asset_id: &str, version: &str, reason: &str) -> ApiResult<Outcome> {
    let reason = clean_reason(reason, true, "quarantine")?;
    let mut tx = app.store.begin().await?;
    let model = catalog::lock_model(&mut tx, asset_id).await?;
    let target = catalog::existing_version(&mut tx, &model, version).await?;
    if target.quarantined {
        let current = catalog::production(&mut tx, asset_id).await?;
        let message = format!("version `{}` of `{}` was already quarantined ({}); nothing changed", target.version, model.name, target.quarantine_reason);
        return Ok(Outcome::unchanged(message, current.as_ref()));
    }
    let who = actor.name();
    catalog::set_quarantine(&mut tx, &target.id, true, &reason).await?;
    let mut moves = Vec::new();
    let mut restored = None;
    if target.in_production() {
        moves.push(move_stage(&mut tx, &who, &target, Stage::Archived, Cause::Quarantine, &reason, None).await?);
        restored = catalog::previous_good(&mut tx, &target.id).await?;
        if let Some(good) = &restored {
            moves.push(move_stage(&mut tx, &who, good, Stage::Production, Cause::Rollback, &reason, None).await?);
        }
    }
    let was_production = target.in_production();
    let mut change = Change::update("registry.quarantine", "model_version", &target.id)
        .named(format!("{} {}", model.name, target.version))
        .also("asset", &model.id)
        .detail(json!({
            "version": target.version,
            "reason": reason,
            "was_production": was_production,
            "rolled_back_to": restored.as_ref().map(|v| &v.version),
            "moves": moves,
        }));
    if let Some(good) = &restored {
        change = change.also("model_version", &good.id);
    }
    actor.record(app, &mut tx, change).await?;
    tx.commit().await?;
    app.metrics.event("registry.quarantine");
    let message = match (&restored, was_production) {
        (Some(good), _) => format!(
            "version `{}` of `{}` is quarantined; production rolled back to `{}`",
            target.version, model.name, good.version
        ),
        (None, true) => format!(
            "version `{}` of `{}` is quarantined and out of production; no earlier good version exists, so production is now empty",
            target.version, model.name
        ),
        (None, false) => format!("version `{}` of `{}` is quarantined", target.version, model.name),
    };
    let production = if was_production {
        restored.map(|v| v.version)
    } else {
        catalog::production(&mut *app.store.read.acquire().await?, asset_id).await?.map(|v| v.version)
    };
    Ok(Outcome { changed: true, message, moves, production })
}

/// Lifts a quarantine. The version keeps its stage: it does not return to production by itself.
pub async fn release(app: &AppState, actor: Actor<'_>, asset_id: &str, version: &str, reason: &str) -> ApiResult<Outcome> {
    let reason = clean_reason(reason, false, "release")?;
    let mut tx = app.store.begin().await?;
    let model = catalog::lock_model(&mut tx, asset_id).await?;
    let target = catalog::existing_version(&mut tx, &model, version).await?;
    let current = catalog::production(&mut tx, asset_id).await?;
    if !target.quarantined {
        let message = format!("version `{}` of `{}` is not quarantined; nothing changed", target.version, model.name);
        return Ok(Outcome::unchanged(message, current.as_ref()));
    }
    catalog::set_quarantine(&mut tx, &target.id, false, "").await?;
    let change = Change::update("registry.release", "model_version", &target.id)
        .named(format!("{} {}", model.name, target.version))
        .also("asset", &model.id)
        .detail(json!({"version": target.version, "quarantine_reason": target.quarantine_reason, "reason": reason, "stage": target.stage}));
    actor.record(app, &mut tx, change).await?;
    tx.commit().await?;
    app.metrics.event("registry.release");
    let message = format!(
        "version `{}` of `{}` is released from quarantine; it stays in {} (promote it to use it again)",
        target.version, model.name, target.stage
    );
    Ok(Outcome { changed: true, message, moves: Vec::new(), production: current.map(|v| v.version) })
}

/// Rolls production back: the version in production is archived and the most recent earlier
/// production version that is not quarantined returns. With `from_version`, nothing happens
/// unless that version is the one in production (a retried rollback does not roll back twice).
pub async fn rollback(app: &AppState, actor: Actor<'_>, asset_id: &str, from_version: Option<&str>, reason: &str) -> ApiResult<Outcome> {
    let reason = clean_reason(reason, false, "rollback")?;
    let mut tx = app.store.begin().await?;
    let model = catalog::lock_model(&mut tx, asset_id).await?;
    let Some(current) = catalog::production(&mut tx, asset_id).await? else {
        return Err(ApiError::Conflict(format!(
            "no version of `{}` is in production, so there is nothing to roll back; promote a version to production instead",
            model.name
        )));
    };
    if let Some(expected) = from_version.filter(|v| *v != current.version) {
        let message = format!(
            "production of `{}` is at `{}`, not `{expected}`: nothing rolled back (already done by an earlier call?)",
            model.name, current.version
        );
        return Ok(Outcome::unchanged(message, Some(&current)));
    }
    let Some(good) = catalog::previous_good(&mut tx, &current.id).await? else {
        return Err(ApiError::Conflict(format!(
            "`{}` has no earlier production version that is not quarantined; production stays at `{}` (quarantine it to take it out of production)",
            model.name, current.version
        )));
    };
    let who = actor.name();
    let moves = vec![
        move_stage(&mut tx, &who, &current, Stage::Archived, Cause::Rollback, &reason, None).await?,
        move_stage(&mut tx, &who, &good, Stage::Production, Cause::Rollback, &reason, None).await?,
    ];
    let change = Change::update("registry.rollback", "asset", &model.id)
        .named(model.name.clone())
        .also("model_version", &current.id)
        .also("model_version", &good.id)
        .detail(json!({"from": current.version, "to": good.version, "reason": reason, "moves": moves}));
    actor.record(app, &mut tx, change).await?;
    tx.commit().await?;
    app.metrics.event("registry.rollback");
    let message = format!("production of `{}` rolled back from `{}` to `{}`", model.name, current.version, good.version);
    Ok(Outcome { changed: true, message, moves, production: Some(good.version) })
}
