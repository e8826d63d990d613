//! The web UI of webhooks: targets (create, enable/disable, rotate the secret, delete) and
//! deliveries, dead letters first, each with its error and a button that sends it again. A new or
//! rotated secret is shown once, on the page that answers the form.

use askama::Template;
use axum::extract::{Path, Query, State};
use serde::Deserialize;

use super::deliveries::{self, Delivery, DeliveryQuery};
use super::webhooks::{self, CreatedWebhook, WebhookRequest, WebhookTarget};
use crate::actor::Actor;
use crate::gate::Caller;
use crate::state::AppState;
use crate::ui::{self, Chrome, UiResult};

#[derive(Template)]
#[template(path = "webhooks.html")]
struct WebhooksPage {
    chrome: Chrome,
    targets: Vec<WebhookTarget>,
    dead: Vec<Delivery>,
    recent: Vec<Delivery>,
    formats: [(&'static str, &'static str); 3],
}

/// The formats offered by the forms, with what each is for.
const FORMATS: [(&str, &str); 3] = [
    ("json", "JSON record with a text line (Slack accepts it too)"),
    ("slack", "Slack (Block Kit)"),
    ("teams", "Microsoft Teams (Adaptive Card, for a Workflows webhook)"),
];

/// A notice after a redirect.
#[derive(Debug, Default, Deserialize)]
pub(super) struct NoticeQuery {
    notice: Option<String>,
}

pub(super) async fn page(State(app): State<AppState>, caller: Caller, Query(q): Query<NoticeQuery>) -> UiResult {
    let page = WebhooksPage {
        chrome: Chrome::new("Webhooks", &caller).with_notice(q.notice),
        targets: webhooks::list(&app).await?,
        dead: deliveries::list(&app, &DeliveryQuery { status: Some(deliveries::status::DEAD.into()), limit: Some(200), ..DeliveryQuery::default() }).await?,
        recent: deliveries::list(&app, &DeliveryQuery { limit: Some(50), ..DeliveryQuery::default() }).await?,
        formats: FORMATS,
    };
    Ok(ui::render(&page))
}

#[derive(Template)]
#[template(path = "webhook_created.html")]
struct CreatedPage {
    chrome: Chrome,
    created: CreatedWebhook,
    rotated: bool,
}

/// The create form, and the edit form (which has no name: a target's name never changes).
#[derive(Debug, Default, Deserialize)]
pub(super) struct CreateForm {
    #[serde(default)]
    name: String,
    url: String,
    #[serde(default)]
    format: String,
    #[serde(default)]
    max_attempts: String,
    #[serde(default)]
    backoff_seconds: String,
    #[serde(default)]
    timeout_seconds: String,
}

fn number(text: &str, what: &str) -> Result<Option<i64>, crate::error::ApiError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse().map(Some).map_err(|_| crate::error::ApiError::BadRequest(format!("{what} must be a whole number")))
}

impl CreateForm {
    /// The API request the form stands for; `name` only when creating.
    fn request(self, with_name: bool) -> Result<WebhookRequest, crate::error::ApiError> {
        Ok(WebhookRequest {
            name: with_name.then_some(self.name),
            url: Some(self.url),
            format: Some(webhooks::WebhookFormat::parse(&self.format)?),
            max_attempts: number(&self.max_attempts, "attempts")?,
            backoff_seconds: number(&self.backoff_seconds, "backoff")?,
            timeout_seconds: number(&self.timeout_seconds, "timeout")?,
            enabled: None,
        })
    }
}

pub(super) async fn create_form(State(app): State<AppState>, caller: Caller, axum::Form(form): axum::Form<CreateForm>) -> UiResult {
    let request = form.request(true)?;
    let created = webhooks::create(&app, Actor::Caller(&caller), &request).await?;
    let page = CreatedPage { chrome: Chrome::new("Webhook created", &caller), created, rotated: false };
    Ok(ui::render(&page))
}

pub(super) async fn rotate_form(State(app): State<AppState>, caller: Caller, Path(id): Path<String>) -> UiResult {
    let created = webhooks::rotate_secret(&app, Actor::Caller(&caller), &id).await?;
    let page = CreatedPage { chrome: Chrome::new("New webhook secret", &caller), created, rotated: true };
    Ok(ui::render(&page))
}

/// The enable/disable form.
#[derive(Debug, Default, Deserialize)]
pub(super) struct EnabledForm {
    enabled: String,
}

pub(super) async fn enabled_form(State(app): State<AppState>, caller: Caller, Path(id): Path<String>, axum::Form(form): axum::Form<EnabledForm>) -> UiResult {
    let enabled = form.enabled == "1";
    let request = WebhookRequest { enabled: Some(enabled), ..WebhookRequest::default() };
    let target = webhooks::update(&app, Actor::Caller(&caller), &id, &request).await?;
    let notice = format!("Webhook `{}` {}.", target.name, if enabled { "enabled" } else { "disabled" });
    Ok(ui::see_other("/ui/webhooks", Some(&notice)))
}

/// Changes a target's URL, format and retry settings (empty numbers keep the current ones).
pub(super) async fn edit_form(State(app): State<AppState>, caller: Caller, Path(id): Path<String>, axum::Form(form): axum::Form<CreateForm>) -> UiResult {
    let target = webhooks::update(&app, Actor::Caller(&caller), &id, &form.request(false)?).await?;
    Ok(ui::see_other("/ui/webhooks", Some(&format!("Webhook `{}` changed.", target.name))))
}

pub(super) async fn delete_form(State(app): State<AppState>, caller: Caller, Path(id): Path<String>) -> UiResult {
    webhooks::delete(&app, Actor::Caller(&caller), &id).await?;
    Ok(ui::see_other("/ui/webhooks", Some("Webhook target deleted.")))
}

pub(super) async fn retry_form(State(app): State<AppState>, caller: Caller, Path(id): Path<String>) -> UiResult {
    let delivery = deliveries::retry_dead(&app, Actor::Caller(&caller), &id).await?;
    let notice = format!("The notification to `{}` is queued again ({} more attempts).", delivery.target, delivery.max_attempts - delivery.attempts);
    Ok(ui::see_other("/ui/webhooks", Some(&notice)))
}
