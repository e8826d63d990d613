//! The two steps that involve people: `notify_webhook` (a message with the incident, its findings
//! and a link, shaped for the target's receiver — the whole JSON record, Slack Block Kit or a Teams
//! Adaptive Card — and queued as a signed delivery) and `require_approval` (the run
//! waits for a person with one of the step's roles). In a dry run neither reaches anyone: the
//! notification is shown as it would be sent, and the approval is simulated and says so.

use serde_json::{Value, json};

use super::deliveries::{self, Origin};
use super::runs::RunContext;
use super::steps::{Exec, Outcome};
use super::webhooks::{self, WebhookFormat};
use crate::error::ApiResult;
use crate::state::AppState;
use crate::store::now_ms;

/// Most findings listed in one notification.
const MAX_LISTED: usize = 20;
/// Most findings listed in a chat message (Slack or Teams), where people read them.
const MAX_CHAT_FINDINGS: usize = 10;
/// Slack limits a header block to 150 characters and a section's text to 3000.
const SLACK_HEADER_CHARS: usize = 150;
const SLACK_SECTION_CHARS: usize = 3000;

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
    let record = body(x).await?;
    let text = record["text"].as_str().unwrap_or_default().to_owned();
    let body = shape(target.format, &record);
    let host = url::Url::parse(&target.url).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default();
    if x.run.dry_run {
        return Ok(Outcome::Done {
            text: format!("would notify webhook `{name}` ({host}, {} format), signed, with: {text}", target.format),
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

/// Shapes the notification record from [`body`] for a receiver of `format`.
pub fn shape(format: WebhookFormat, record: &Value) -> Value {
    match format {
        WebhookFormat::Json => record.clone(),
        WebhookFormat::Slack => slack(&Message::of(record)),
        WebhookFormat::Teams => teams(&Message::of(record)),
    }
}

/// What a chat message says, read back from the record.
struct Message<'a> {
    text: &'a str,
    title: String,
    link: &'a str,
    facts: Vec<(&'static str, String)>,
    findings: Vec<String>,
    more: u64,
}

impl<'a> Message<'a> {
    fn of(record: &'a Value) -> Message<'a> {
        let str_of = |v: &'a Value| v.as_str().unwrap_or_default();
        let incident = &record["incident"];
        let drill = incident["drill"].as_bool().unwrap_or(false);
        let title = format!("{}{}", if drill { "[DRILL] " } else { "" }, str_of(&record["title"]));
        let about = incident["asset"].as_str().unwrap_or_else(|| str_of(&incident["subject"]));
        let mut facts = vec![("Severity", str_of(&record["severity"]).to_owned()), ("Incident", str_of(&record["incident_id"]).to_owned())];
        if !about.is_empty() {
            facts.push(("Asset", about.to_owned()));
        }
        facts.push(("Playbook", str_of(&record["playbook"]["name"]).to_owned()));
        let listed = record["findings"].as_array().map(Vec::as_slice).unwrap_or_default();
        let findings: Vec<String> = listed
            .iter()
            .take(MAX_CHAT_FINDINGS)
            .map(|f| format!("[{}] {} ({})", str_of(&f["severity"]), str_of(&f["title"]), str_of(&f["rule_id"])))
            .collect();
        let total = record["findings_total"].as_u64().unwrap_or(listed.len() as u64);
        Message { text: str_of(&record["text"]), title, link: str_of(&record["link"]), facts, more: total.saturating_sub(findings.len() as u64), findings }
    }

    fn more_line(&self) -> Option<String> {
        (self.more > 0).then(|| format!("and {} more finding{}", self.more, if self.more == 1 { "" } else { "s" }))
    }
}

/// Escapes text for Slack's mrkdwn (`&`, `<`, `>` are its control characters).
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// At most `max` characters, with an ellipsis when cut.
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// A Slack incoming-webhook message: `text` (the notification line, for notifications and
/// clients without blocks) and Block Kit blocks.
fn slack(m: &Message<'_>) -> Value {
    let facts: Vec<String> = m.facts.iter().map(|(k, v)| format!("*{k}:* {}", slack_escape(v))).collect();
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": clip(&m.title, SLACK_HEADER_CHARS)}}),
        json!({"type": "section", "text": {"type": "mrkdwn", "text": clip(&facts.join("\n"), SLACK_SECTION_CHARS)}}),
    ];
    if !m.findings.is_empty() {
        let mut lines: Vec<String> = m.findings.iter().map(|f| format!("• {}", slack_escape(f))).collect();
        lines.extend(m.more_line());
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": clip(&lines.join("\n"), SLACK_SECTION_CHARS)}}));
    }
    if !m.link.is_empty() {
        // A link's URL may not contain `|` or `>`; ours is built from ids, but stay safe.
        let url = m.link.replace('|', "%7C").replace('>', "%3E");
        blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": format!("<{url}|Open the incident in warden>")}]}));
    }
    json!({"text": m.text, "blocks": blocks})
}

/// A Teams message with one Adaptive Card (schema 1.4), the shape Teams Workflows webhooks post.
fn teams(m: &Message<'_>) -> Value {
    let facts: Vec<Value> = m.facts.iter().map(|(k, v)| json!({"title": k, "value": v})).collect();
    let mut body = vec![
        json!({"type": "TextBlock", "text": m.title, "size": "Large", "weight": "Bolder", "wrap": true}),
        json!({"type": "FactSet", "facts": facts}),
        json!({"type": "TextBlock", "text": m.text, "wrap": true}),
    ];
    let mut lines: Vec<String> = m.findings.iter().map(|f| format!("- {f}")).collect();
    lines.extend(m.more_line());
    if !lines.is_empty() {
        body.push(json!({"type": "TextBlock", "text": lines.join("\n"), "wrap": true, "isSubtle": true}));
    }
    let actions: Vec<Value> = if m.link.is_empty() { Vec::new() } else { vec![json!({"type": "Action.OpenUrl", "title": "Open the incident", "url": m.link})] };
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body,
                "actions": actions,
            },
        }],
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

#[cfg(test)]
mod tests {
    use super::*;

    fn record(findings: usize, drill: bool) -> Value {
        let listed: Vec<Value> = (0..findings.min(MAX_LISTED))
            .map(|i| json!({"id": format!("f{i}"), "rule_id": "pickle.global.deny", "severity": "critical", "title": format!("calls os.system <{i}> & more"), "source": "scan"}))
            .collect();
        json!({
            "text": "[critical] Malicious model upload (fraud-model): playbook malicious-model-upload acted. https://w.example/ui/incidents/inc1",
            "incident_id": "inc1",
            "severity": "critical",
            "title": "Malicious model upload",
            "link": "https://w.example/ui/incidents/inc1",
            "incident": {"id": "inc1", "asset": "fraud-model", "subject": "asset:a1", "drill": drill},
            "findings": listed,
            "findings_total": findings,
            "playbook": {"id": "malicious-model-upload", "name": "Malicious model upload", "run_id": "r1", "step": 3},
        })
    }

    #[test]
    fn json_is_the_record_itself() {
        let r = record(2, false);
        assert_eq!(shape(WebhookFormat::Json, &r), r);
    }

    #[test]
    fn slack_messages_have_text_blocks_and_escaped_findings() {
        let m = shape(WebhookFormat::Slack, &record(12, false));
        assert_eq!(m["text"], record(0, false)["text"]);
        let blocks = m["blocks"].as_array().unwrap();
        assert_eq!(blocks[0]["type"], "header");
        assert_eq!(blocks[0]["text"]["text"], "Malicious model upload");
        let facts = blocks[1]["text"]["text"].as_str().unwrap();
        assert!(facts.contains("*Severity:* critical") && facts.contains("*Asset:* fraud-model") && facts.contains("*Incident:* inc1"), "{facts}");
        let findings = blocks[2]["text"]["text"].as_str().unwrap();
        assert!(findings.contains("calls os.system &lt;0&gt; &amp; more"), "{findings}");
        assert!(!findings.contains("<0>"), "{findings}");
        assert_eq!(findings.lines().count(), MAX_CHAT_FINDINGS + 1);
        assert!(findings.ends_with("and 2 more findings"), "{findings}");
        assert_eq!(blocks[3]["elements"][0]["text"], "<https://w.example/ui/incidents/inc1|Open the incident in warden>");
        assert_eq!(m.as_object().unwrap().len(), 2, "nothing Slack does not know: {m}");
    }

    #[test]
    fn slack_limits_are_kept() {
        let mut r = record(1, true);
        r["title"] = json!("x".repeat(400));
        let m = shape(WebhookFormat::Slack, &r);
        let header = m["blocks"][0]["text"]["text"].as_str().unwrap();
        assert_eq!(header.chars().count(), SLACK_HEADER_CHARS);
        assert!(header.starts_with("[DRILL] x") && header.ends_with('…'));
    }

    #[test]
    fn teams_messages_carry_one_adaptive_card() {
        let m = shape(WebhookFormat::Teams, &record(1, true));
        assert_eq!(m["type"], "message");
        let attachments = m["attachments"].as_array().unwrap();
        assert_eq!(attachments.len(), 1);
        assert_eq!(attachments[0]["contentType"], "application/vnd.microsoft.card.adaptive");
        let card = &attachments[0]["content"];
        assert_eq!(card["type"], "AdaptiveCard");
        assert_eq!(card["version"], "1.4");
        assert_eq!(card["body"][0]["text"], "[DRILL] Malicious model upload");
        let facts = card["body"][1]["facts"].as_array().unwrap();
        assert!(facts.contains(&json!({"title": "Asset", "value": "fraud-model"})), "{facts:?}");
        assert_eq!(card["body"][3]["text"], "- [critical] calls os.system <0> & more (pickle.global.deny)");
        assert_eq!(card["actions"][0], json!({"type": "Action.OpenUrl", "title": "Open the incident", "url": "https://w.example/ui/incidents/inc1"}));
    }

    #[test]
    fn a_notification_without_findings_or_asset_still_reads_well() {
        let mut r = record(0, false);
        r["incident"]["asset"] = Value::Null;
        let slack = shape(WebhookFormat::Slack, &r);
        assert_eq!(slack["blocks"].as_array().unwrap().len(), 3, "{slack}");
        assert!(slack["blocks"][1]["text"]["text"].as_str().unwrap().contains("*Asset:* asset:a1"));
        let teams = shape(WebhookFormat::Teams, &r);
        assert_eq!(teams["attachments"][0]["content"]["body"].as_array().unwrap().len(), 3, "{teams}");
    }
}
