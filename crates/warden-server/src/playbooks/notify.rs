//! The two steps that involve people: `notify_webhook` (a Slack/Teams-style JSON message with the
//! incident, its findings and a link, queued as a signed delivery) and `require_approval` (the run
//! waits for a person with one of the step's roles). In a dry run neither reaches anyone: the
//! notification is shown as it would be sent, and the approval is simulated and says so.

use serde_json::{Value, json};

use super::deliveries::{self, Origin};
use super::runs::RunContext;
use super::steps::{Exec, Outcome};
use super::webhooks;
use crate::error::ApiResult;
use crate::state::AppState;
use crate::store::now_ms;

/// Most findings listed in one notification.
const MAX_LISTED: usize = 20;

/// The incident's page.
pub fn incident_link(app: &AppState, incident_id: &str) -> String {
    format!("{}ui/incidents/{incident_id}", app.public_url)
}

/// The notification body for the run of `x`.
pub async fn body(x: Exec<'_>) -> ApiResult<Value> {
    let ctx: &RunContext = x.ctx;
    let asset = match &ctx.asset_id {
        Some(id) => super::targets::asset(x.app, id).await?.map(|a| a.name),
        None => None,
    };
    let about = asset.clone().unwrap_or_else(|| ctx.subject.clone());
    let title = ctx.title();
    let link = incident_link(x.app, &ctx.incident_id);
    let default = "[{severity}] {title} ({asset}): playbook {playbook} acted. {link}";
    let template = x.spec.text.as_deref().unwrap_or(default);
    let mut text = template
        .replace("{incident}", &ctx.incident_id)
        .replace("{severity}", ctx.severity.as_str())
        .replace("{title}", &title)
        .replace("{asset}", &about)
        .replace("{subject}", &ctx.subject)
        .replace("{playbook}", &x.run.playbook_name)
        .replace("{link}", &link);
    if x.run.dry_run {
        text = format!("[DRILL] {text}");
    }
    let findings: Vec<Value> = ctx
        .findings
        .iter()
        .take(MAX_LISTED)
        .map(|f| json!({"id": f.id, "rule_id": f.rule_id, "severity": f.severity, "title": f.title, "source": f.source}))
        .collect();
    Ok(json!({
        "text": text,
        "incident_id": ctx.incident_id,
        "severity": ctx.severity,
        "title": title,
        "link": link,
        "incident": {
            "id": ctx.incident_id,
            "severity": ctx.severity,
            "title": title,
            "link": link,
            "asset_id": ctx.asset_id,
            "asset": asset,
            "subject": ctx.subject,
            "drill": x.run.dry_run,
        },
        "findings": findings,
        "findings_total": ctx.findings.len(),
        "playbook": {"id": x.run.playbook_id, "name": x.run.playbook_name, "run_id": x.run.id, "step": x.step.idx},
    }))
}

/// `notify_webhook`: queues the delivery (once per run and step) and waits for it to settle.
pub async fn notify(x: Exec<'_>) -> ApiResult<Outcome> {
    let name = x.spec.webhook.as_deref().unwrap_or("");
    // A notification nobody set up is skipped, and says so in the timeline: an unconfigured
    // channel must not mark the containment itself as failed.
    let Some(target) = webhooks::by_name(x.app, name).await? else {
        return Ok(Outcome::Skipped {
            text: format!("not notified: no webhook target `{name}` is configured (an administrator creates it at /ui/webhooks or with POST /api/v1/webhooks)"),
        });
    };
    if !target.enabled {
        return Ok(Outcome::Skipped { text: format!("not notified: webhook target `{name}` is disabled") });
    }
    let body = body(x).await?;
    let host = url::Url::parse(&target.url).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default();
    if x.run.dry_run {
        let text = body["text"].as_str().unwrap_or_default().to_owned();
        return Ok(Outcome::Done {
            text: format!("would notify webhook `{name}` ({host}), signed, with: {text}"),
            data: json!({"webhook": name, "body": body}),
        });
    }
    let key = format!("{}:{}", x.run.id, x.step.idx);
    let origin = Origin { idempotency_key: &key, incident_id: &x.ctx.incident_id, run_id: &x.run.id, step_idx: x.step.idx };
    let delivery = deliveries::enqueue(x.app, &target, origin, &body).await?;
    super::runner::wake();
    let data = json!({"webhook": name, "delivery_id": delivery.id});
    Ok(match delivery.status.as_str() {
        deliveries::status::DELIVERED => Outcome::Done { text: format!("notified webhook `{name}` (delivered earlier)"), data },
        deliveries::status::DEAD => Outcome::Fail { error: format!("the notification to webhook `{name}` was dead-lettered: {}", delivery.last_error), retry: false },
        _ => Outcome::Wait { text: format!("Notification to webhook `{name}` ({host}) queued as delivery {}", delivery.id), data, until: i64::MAX, approval: false },
    })
}

/// `require_approval`: parks the run until a person decides (simulated in a dry run).
pub fn approval(x: Exec<'_>) -> Outcome {
    let roles = x.spec.approver_roles().join(", ");
    let reason = x.spec.reason.clone().unwrap_or_else(|| "approve the next steps".into());
    if x.run.dry_run {
        return Outcome::Done {
            text: format!("approval would be requested from {roles} (\"{reason}\"); in a drill it is simulated as approved"),
            data: json!({"roles": x.spec.approver_roles(), "simulated": true}),
        };
    }
    let until = x.spec.timeout_minutes.map_or(i64::MAX, |m| now_ms().saturating_add(i64::try_from(m).unwrap_or(i64::MAX / 60_000).saturating_mul(60_000)));
    let deadline = if until == i64::MAX { String::new() } else { format!("; decide by {}", crate::ui::fmt_time(until)) };
    Outcome::Wait {
        text: format!("Approval requested from {roles}: {reason}{deadline}"),
        data: json!({"roles": x.spec.approver_roles(), "reason": reason, "deadline": (until != i64::MAX).then_some(until)}),
        until,
        approval: true,
    }
}
