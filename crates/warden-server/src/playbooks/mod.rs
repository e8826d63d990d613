//! Incident-response playbooks: declarative YAML files ([`spec`]) that say which incidents they
//! answer and what to do, stored with every version ([`catalog`]; warden ships five defaults).
//! When an incident gets findings, [`on_incident`] starts one run of every enabled playbook whose
//! trigger matches (never two runs of one playbook on one incident). The [`runner`] on every
//! instance executes the runs' steps ([`steps`], [`notify`]) as
//! `Actor::System("playbook:<id>")`, claiming each with a lease ([`progress`]); every step's start,
//! retry and outcome goes to the incident's timeline and the audit log ([`journal`]).
//! Notifications are signed webhook deliveries, retried and dead-lettered ([`webhooks`],
//! [`deliveries`]); approvals park a run until a person decides ([`approvals`]); drills run a
//! playbook as a dry run against a simulated incident ([`drill`]).
//!
//! Invariants: a run's state lives in the database, so any instance may carry it on after a
//! restart; a step's actions are idempotent, so a step executed again (a retry, a lease taken over)
//! changes nothing twice; a dry run changes nothing but its own run, journal and the drill incident.

mod api;
pub mod approvals;
pub mod catalog;
pub mod deliveries;
pub mod drill;
pub mod freeze;
pub mod journal;
pub mod notify;
mod pages;
pub mod progress;
pub mod runner;
pub mod runs;
pub mod spec;
pub mod steps;
pub mod targets;
mod webhook_pages;
pub mod webhooks;

use axum::http::Method;

pub use freeze::freeze_asset;
pub use runner::{start, wake};

use crate::authz::actions;
use crate::error::ApiResult;
use crate::gate::Caller;
use crate::identity::Via;
use crate::incidents::IncidentTrigger;
use crate::routes::Route;
use crate::state::AppState;

/// Starts a run of every enabled playbook whose trigger matches the incident of `trigger` (a dry
/// run when the incident is a drill) and wakes the runner; returns the ids of the runs started.
/// A playbook that already ran on this incident is not started again.
pub async fn on_incident(app: &AppState, trigger: &IncidentTrigger) -> ApiResult<Vec<String>> {
    let asset = match &trigger.asset_id {
        Some(id) => targets::asset(app, id).await?,
        None => None,
    };
    let asset = asset.map(|a| spec::AssetFacts { kind: a.kind, tags: a.tags, sensitivity: a.sensitivity });
    let findings: Vec<spec::FindingFacts> = trigger
        .findings
        .iter()
        .map(runs::ContextFinding::of)
        .map(|f| spec::FindingFacts { rule_id: f.rule_id, severity: f.severity, source: f.source })
        .collect();
    let mut started = Vec::new();
    for playbook in catalog::enabled(app).await? {
        if let Ok(why) = playbook.playbook.trigger.matches(&findings, asset.as_ref(), &trigger.subject)
            && let Some(run_id) = runs::start(app, &playbook, trigger, &why).await?
        {
            journal::post_pending(app, Some(&run_id)).await;
            started.push(run_id);
        }
    }
    if !started.is_empty() {
        runner::wake();
    }
    Ok(started)
}

/// Remembers which API key uploaded model version `version_id` (none for a browser session), so
/// a playbook can revoke the key that uploaded a malicious version. Runs in the upload's transaction.
pub async fn remember_upload_key(conn: &mut sqlx::AnyConnection, caller: &Caller, version_id: &str) -> ApiResult<()> {
    if let Via::ApiKey(key) = &caller.via {
        sqlx::query("UPDATE model_versions SET uploaded_key_id = $1 WHERE id = $2").bind(&key.id).bind(version_id).execute(&mut *conn).await?;
    }
    Ok(())
}

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    vec![
        Route::api(Method::GET, "/api/v1/playbooks", actions::PLAYBOOK_READ, api::list).returns_list::<api::PlaybookView>(),
        Route::api(Method::POST, "/api/v1/playbooks", actions::PLAYBOOK_WRITE, api::create).accepts::<api::PlaybookText>().returns::<api::PlaybookView>().status(201),
        Route::api(Method::POST, "/api/v1/playbooks/validate", actions::PLAYBOOK_READ, api::validate).accepts::<api::PlaybookText>().returns::<api::Validation>(),
        Route::api(Method::GET, "/api/v1/playbooks/{id}", actions::PLAYBOOK_READ, api::detail).returns::<api::PlaybookDetail>(),
        Route::api(Method::PUT, "/api/v1/playbooks/{id}", actions::PLAYBOOK_WRITE, api::replace).accepts::<api::PlaybookText>().returns::<api::PlaybookView>(),
        Route::api(Method::PATCH, "/api/v1/playbooks/{id}", actions::PLAYBOOK_WRITE, api::patch).accepts::<api::PlaybookPatch>().returns::<api::PlaybookView>(),
        Route::api(Method::GET, "/api/v1/playbooks/{id}/versions/{version}", actions::PLAYBOOK_READ, api::version),
        Route::api(Method::POST, "/api/v1/playbooks/{id}/drill", actions::PLAYBOOK_DRILL, api::start_drill).accepts_optional::<drill::DrillRequest>().returns::<drill::DrillStarted>().status(201),
        Route::api(Method::GET, "/api/v1/playbook-runs", actions::PLAYBOOK_READ, api::list_runs).returns_list::<runs::Run>(),
        Route::api(Method::GET, "/api/v1/playbook-runs/{id}", actions::PLAYBOOK_READ, api::run_detail).returns::<api::RunDetail>(),
        Route::api(Method::GET, "/api/v1/playbook-runs/{id}/report", actions::PLAYBOOK_READ, api::run_report).returns::<drill::RunReport>(),
        Route::api(Method::POST, "/api/v1/playbook-runs/{id}/steps/{idx}/approve", actions::PLAYBOOK_APPROVE, api::approve).accepts::<approvals::DecisionRequest>().returns::<runs::Run>(),
        Route::api(Method::POST, "/api/v1/playbook-runs/{id}/steps/{idx}/reject", actions::PLAYBOOK_APPROVE, api::reject).accepts::<approvals::DecisionRequest>().returns::<runs::Run>(),
        Route::api(Method::GET, "/api/v1/approvals", actions::PLAYBOOK_READ, api::list_approvals).returns_list::<approvals::PendingApproval>(),
        Route::api(Method::GET, "/api/v1/webhooks", actions::WEBHOOK_READ, api::list_webhooks).returns_list::<webhooks::WebhookTarget>(),
        Route::api(Method::POST, "/api/v1/webhooks", actions::WEBHOOK_WRITE, api::create_webhook).accepts::<webhooks::WebhookRequest>().returns::<webhooks::CreatedWebhook>().status(201),
        Route::api(Method::PATCH, "/api/v1/webhooks/{id}", actions::WEBHOOK_WRITE, api::update_webhook).accepts::<webhooks::WebhookRequest>().returns::<webhooks::WebhookTarget>(),
        Route::api(Method::DELETE, "/api/v1/webhooks/{id}", actions::WEBHOOK_WRITE, api::delete_webhook),
        Route::api(Method::POST, "/api/v1/webhooks/{id}/secret", actions::WEBHOOK_WRITE, api::rotate_webhook).returns::<webhooks::CreatedWebhook>(),
        Route::api(Method::GET, "/api/v1/webhook-deliveries", actions::WEBHOOK_READ, api::list_deliveries).returns_list::<deliveries::Delivery>(),
        Route::api(Method::POST, "/api/v1/webhook-deliveries/{id}/retry", actions::WEBHOOK_RETRY, api::retry_delivery).returns::<deliveries::Delivery>(),
        Route::api(Method::POST, "/api/v1/assets/{id}/freeze", actions::ASSET_FREEZE, freeze::freeze_json).on_asset("id").accepts::<freeze::FreezeRequest>(),
        Route::ui(Method::GET, "/ui/playbooks", actions::PLAYBOOK_READ, pages::list),
        Route::ui(Method::POST, "/ui/playbooks", actions::PLAYBOOK_WRITE, pages::save_form),
        Route::ui(Method::POST, "/ui/playbooks/validate", actions::PLAYBOOK_READ, pages::validate_form),
        Route::ui(Method::GET, "/ui/playbooks/{id}", actions::PLAYBOOK_READ, pages::detail),
        Route::ui(Method::POST, "/ui/playbooks/{id}/enabled", actions::PLAYBOOK_WRITE, pages::enabled_form),
        Route::ui(Method::POST, "/ui/playbooks/{id}/drill", actions::PLAYBOOK_DRILL, pages::drill_form),
        Route::ui(Method::GET, "/ui/playbook-runs/{id}", actions::PLAYBOOK_READ, pages::run),
        Route::ui(Method::POST, "/ui/playbook-runs/{id}/steps/{idx}/approve", actions::PLAYBOOK_APPROVE, pages::approve_form),
        Route::ui(Method::POST, "/ui/playbook-runs/{id}/steps/{idx}/reject", actions::PLAYBOOK_APPROVE, pages::reject_form),
        Route::ui(Method::POST, "/ui/assets/{id}/freeze", actions::ASSET_FREEZE, pages::freeze_form).on_asset("id"),
        Route::ui(Method::GET, "/ui/webhooks", actions::WEBHOOK_READ, webhook_pages::page),
        Route::ui(Method::POST, "/ui/webhooks", actions::WEBHOOK_WRITE, webhook_pages::create_form),
        Route::ui(Method::POST, "/ui/webhooks/{id}/enabled", actions::WEBHOOK_WRITE, webhook_pages::enabled_form),
        Route::ui(Method::POST, "/ui/webhooks/{id}/edit", actions::WEBHOOK_WRITE, webhook_pages::edit_form),
        Route::ui(Method::POST, "/ui/webhooks/{id}/secret", actions::WEBHOOK_WRITE, webhook_pages::rotate_form),
        Route::ui(Method::POST, "/ui/webhooks/{id}/delete", actions::WEBHOOK_WRITE, webhook_pages::delete_form),
        Route::ui(Method::POST, "/ui/webhook-deliveries/{id}/retry", actions::WEBHOOK_RETRY, webhook_pages::retry_form),
    ]
}
