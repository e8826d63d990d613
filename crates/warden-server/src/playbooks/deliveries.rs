//! Webhook deliveries: every notification is a row, sent by the runner with a short timeout,
//! retried with exponential backoff when the receiver fails or does not answer, and dead-lettered
//! after its last attempt — then visible (with the error) in the dead-letter view, where a person
//! can send it again. A delivery made for a playbook step settles that step: delivered, the step
//! succeeds; dead-lettered, it fails and the run reports it.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::journal::{self, Entry};
use super::progress::{self, Holder, StepEnd};
use super::runs::{self, step_status};
use super::webhooks::{self, WebhookTarget};
use crate::actor::Actor;
use crate::audit::Change;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{new_id, now_ms};

/// A delivery's status.
pub mod status {
    /// Due (now or at `next_at`).
    pub const PENDING: &str = "pending";
    /// An instance is sending it.
    pub const SENDING: &str = "sending";
    /// The receiver answered 2xx.
    pub const DELIVERED: &str = "delivered";
    /// Every attempt failed: in the dead letters.
    pub const DEAD: &str = "dead";
}

/// One delivery.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Delivery {
    /// Its id (also sent as `x-warden-delivery`).
    pub id: String,
    /// The target's id.
    pub target_id: String,
    /// The target's name.
    pub target: String,
    /// The incident it is about.
    pub incident_id: Option<String>,
    /// The run that sent it.
    pub run_id: Option<String>,
    /// The step of that run.
    pub step_idx: Option<i64>,
    /// The JSON body sent.
    pub body: String,
    /// pending, sending, delivered or dead.
    pub status: String,
    /// Attempts so far.
    pub attempts: i64,
    /// Attempts allowed.
    pub max_attempts: i64,
    /// Next attempt (unix ms), while pending.
    pub next_at: i64,
    /// The receiver's last HTTP status.
    pub last_status: Option<i64>,
    /// The last error.
    pub last_error: String,
    /// Created (unix ms).
    pub created_at: i64,
    /// Delivered (unix ms).
    pub delivered_at: Option<i64>,
    /// Dead-lettered (unix ms).
    pub dead_at: Option<i64>,
}

impl Delivery {
    /// Created, for people.
    pub fn when(&self) -> String {
        crate::ui::fmt_time(self.created_at)
    }
}

const COLUMNS: &str = "d.id, d.target_id, t.name, d.incident_id, d.run_id, d.step_idx, d.body, d.status, d.attempts, d.max_attempts, d.next_at, d.last_status, d.last_error, d.created_at, d.delivered_at, d.dead_at";

fn from_row(row: &AnyRow) -> ApiResult<Delivery> {
    Ok(Delivery {
        id: row.try_get(0)?,
        target_id: row.try_get(1)?,
        target: row.try_get(2)?,
        incident_id: row.try_get(3)?,
        run_id: row.try_get(4)?,
        step_idx: row.try_get(5)?,
        body: row.try_get(6)?,
        status: row.try_get(7)?,
        attempts: row.try_get(8)?,
        max_attempts: row.try_get(9)?,
        next_at: row.try_get(10)?,
        last_status: row.try_get(11)?,
        last_error: row.try_get(12)?,
        created_at: row.try_get(13)?,
        delivered_at: row.try_get(14)?,
        dead_at: row.try_get(15)?,
    })
}

/// Filters of [`list`].
#[derive(Debug, Default, Clone, Deserialize, utoipa::IntoParams)]
pub struct DeliveryQuery {
    /// Only this status (`dead` for the dead letters).
    pub status: Option<String>,
    /// Only this incident's.
    pub incident: Option<String>,
    /// At most this many, newest first (default 100, at most 500).
    pub limit: Option<i64>,
}

/// Deliveries matching `query`, newest first.
pub async fn list(app: &AppState, query: &DeliveryQuery) -> ApiResult<Vec<Delivery>> {
    runs::check_filter("status", query.status.as_deref())?;
    runs::check_filter("incident", query.incident.as_deref())?;
    let sql = format!(
        "SELECT {COLUMNS} FROM webhook_deliveries d JOIN webhook_targets t ON t.id = d.target_id \
         WHERE ($1 = '' OR d.status = $1) AND ($2 = '' OR d.incident_id = $2) ORDER BY d.created_at DESC, d.id DESC LIMIT $3"
    );
    let rows = sqlx::query(&sql)
        .bind(query.status.as_deref().unwrap_or(""))
        .bind(query.incident.as_deref().unwrap_or(""))
        .bind(query.limit.unwrap_or(100).clamp(1, 500))
        .fetch_all(&app.store.read)
        .await?;
    rows.iter().map(from_row).collect()
}

/// Delivery `id`, read on `conn`.
pub async fn get_in(conn: &mut sqlx::AnyConnection, id: &str) -> ApiResult<Option<Delivery>> {
    if !runs::plain_id(id) {
        return Ok(None);
    }
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM webhook_deliveries d JOIN webhook_targets t ON t.id = d.target_id WHERE d.id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Where a new delivery comes from.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    /// Unique per notification: a retried step finds its earlier delivery instead of sending twice.
    pub idempotency_key: &'a str,
    /// The incident.
    pub incident_id: &'a str,
    /// The run.
    pub run_id: &'a str,
    /// The step.
    pub step_idx: i64,
}

/// Queues `body` for `target` (or finds the delivery queued earlier under the same key).
pub async fn enqueue(app: &AppState, target: &WebhookTarget, origin: Origin<'_>, body: &Value) -> ApiResult<Delivery> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO webhook_deliveries (id, target_id, idempotency_key, incident_id, run_id, step_idx, body, status, attempts, max_attempts, next_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8, $9, $9, $9) ON CONFLICT (idempotency_key) DO NOTHING",
    )
    .bind(new_id())
    .bind(&target.id)
    .bind(origin.idempotency_key)
    .bind(origin.incident_id)
    .bind(origin.run_id)
    .bind(origin.step_idx)
    .bind(body.to_string())
    .bind(target.max_attempts)
    .bind(now)
    .execute(app.store.writer())
    .await?;
    let id: String = sqlx::query_scalar("SELECT id FROM webhook_deliveries WHERE idempotency_key = $1")
        .bind(origin.idempotency_key)
        .fetch_one(app.store.writer())
        .await?;
    get_in(&mut *app.store.writer().acquire().await?, &id).await?.ok_or_else(|| ApiError::Internal("a queued delivery vanished".into()))
}

/// Ids of deliveries due now (pending, or sending with an expired lease), oldest first.
pub async fn due(app: &AppState, limit: i64) -> ApiResult<Vec<String>> {
    let now = now_ms();
    Ok(sqlx::query_scalar(
        "SELECT id FROM webhook_deliveries WHERE (status = 'pending' AND next_at <= $1) OR (status = 'sending' AND lease_until < $1) ORDER BY next_at, id LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(&app.store.read)
    .await?)
}

/// Claims delivery `id` for `owner` and sends it once; settles it (and its step) afterwards.
pub async fn attempt(app: &AppState, owner: &str, id: &str) -> ApiResult<()> {
    let now = now_ms();
    let claimed = sqlx::query(
        "UPDATE webhook_deliveries SET status = 'sending', lease_owner = $1, lease_until = $2, attempts = attempts + 1, updated_at = $3 \
         WHERE id = $4 AND ((status = 'pending' AND next_at <= $3) OR (status = 'sending' AND lease_until < $3))",
    )
    .bind(owner)
    .bind(now + 120_000)
    .bind(now)
    .bind(id)
    .execute(app.store.writer())
    .await?
    .rows_affected();
    if claimed == 0 {
        return Ok(());
    }
    let delivery = get_in(&mut *app.store.read.acquire().await?, id).await?.ok_or_else(|| ApiError::not_found("delivery", id))?;
    let target = webhooks::get(app, &delivery.target_id).await?.ok_or_else(|| ApiError::not_found("webhook target", &delivery.target_id))?;
    let result = if target.enabled { send(app, &target, &delivery).await } else { Err((None, format!("webhook target `{}` is disabled", target.name), false)) };
    settle(app, owner, &delivery, &target, result).await
}

/// Hands back delivery `id` claimed by `owner` when its attempt could not be recorded (a
/// database error), so it is tried again after `delay_ms` rather than when its 2-minute lease
/// ends. Delivery is at least once: receivers can tell a repeat by `x-warden-delivery`.
pub async fn release(app: &AppState, owner: &str, id: &str, delay_ms: i64) -> ApiResult<bool> {
    let updated = sqlx::query("UPDATE webhook_deliveries SET status = 'pending', next_at = $1, lease_owner = NULL, lease_until = 0 WHERE id = $2 AND status = 'sending' AND lease_owner = $3")
        .bind(now_ms() + delay_ms)
        .bind(id)
        .bind(owner)
        .execute(app.store.writer())
        .await?
        .rows_affected();
    Ok(updated > 0)
}

/// Sends one delivery: `Ok(status)` on 2xx, else the status (if any), the error and whether
/// another attempt may help.
async fn send(app: &AppState, target: &WebhookTarget, delivery: &Delivery) -> Result<u16, (Option<u16>, String, bool)> {
    let secret = webhooks::secret_of(app, &target.id).await.map_err(|e| (None, e.to_string(), false))?;
    let timestamp = now_ms() / 1000;
    let signature = webhooks::sign(&secret, timestamp, delivery.body.as_bytes());
    let timeout = Duration::from_secs(u64::try_from(target.timeout_seconds).unwrap_or(5));
    let response = app
        .http
        .post(&target.url)
        .timeout(timeout)
        .header("content-type", "application/json")
        .header("user-agent", concat!("warden/", env!("CARGO_PKG_VERSION")))
        .header("x-warden-signature", signature)
        .header("x-warden-timestamp", timestamp.to_string())
        .header("x-warden-delivery", &delivery.id)
        .header("x-warden-event", "incident.notification")
        .body(delivery.body.clone())
        .send()
        .await;
    match response {
        Ok(response) if response.status().is_success() => Ok(response.status().as_u16()),
        Ok(response) => {
            let code = response.status().as_u16();
            let text: String = response.text().await.unwrap_or_default().chars().take(200).collect();
            Err((Some(code), format!("the receiver answered HTTP {code}: {}", text.trim()), true))
        }
        Err(err) if err.is_timeout() => Err((None, format!("no answer within {} s", timeout.as_secs()), true)),
        Err(err) => Err((None, format!("could not reach the receiver: {err}"), true)),
    }
}

async fn settle(app: &AppState, owner: &str, delivery: &Delivery, target: &WebhookTarget, result: Result<u16, (Option<u16>, String, bool)>) -> ApiResult<()> {
    let now = now_ms();
    let attempts = delivery.attempts;
    let mut tx = app.store.begin().await?;
    let (new_status, code, error) = match &result {
        Ok(code) => (status::DELIVERED, Some(*code), String::new()),
        Err((code, error, retry)) if *retry && attempts < delivery.max_attempts => (status::PENDING, *code, error.clone()),
        Err((code, error, _)) => (status::DEAD, *code, error.clone()),
    };
    let backoff = backoff_ms(target.backoff_seconds, attempts);
    let updated = sqlx::query(
        "UPDATE webhook_deliveries SET status = $1, last_status = $2, last_error = $3, next_at = $4, lease_owner = NULL, lease_until = 0, updated_at = $5, \
         delivered_at = CASE WHEN $1 = 'delivered' THEN $5 ELSE delivered_at END, dead_at = CASE WHEN $1 = 'dead' THEN $5 ELSE dead_at END \
         WHERE id = $6 AND status = 'sending' AND lease_owner = $7",
    )
    .bind(new_status)
    .bind(code.map(i64::from))
    .bind(&error)
    .bind(now + backoff)
    .bind(now)
    .bind(&delivery.id)
    .bind(owner)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated == 0 {
        return Ok(());
    }
    app.metrics.event(match new_status {
        status::DELIVERED => "webhook.delivered",
        status::PENDING => "webhook.retry",
        _ => "webhook.dead_letter",
    });
    if let Some(run_id) = &delivery.run_id {
        record_on_run(app, &mut tx, run_id, delivery, target, new_status, code, &error, backoff).await?;
    }
    tx.commit().await?;
    if let Some(run_id) = &delivery.run_id {
        journal::post_pending(app, Some(run_id)).await;
    }
    super::runner::wake();
    Ok(())
}

/// The journal entries of a settled attempt, and the end of the step that waits for it.
#[allow(clippy::too_many_arguments)]
async fn record_on_run(
    app: &AppState,
    tx: &mut Transaction<'static, Any>,
    run_id: &str,
    delivery: &Delivery,
    target: &WebhookTarget,
    new_status: &str,
    code: Option<u16>,
    error: &str,
    backoff: i64,
) -> ApiResult<()> {
    let Some(run) = runs::get_in(tx, run_id).await? else { return Ok(()) };
    let attempts = delivery.attempts;
    let data = json!({"delivery_id": delivery.id, "webhook": target.name, "attempt": attempts, "http_status": code, "error": error});
    let (kind, text) = match new_status {
        status::DELIVERED => ("webhook.delivered", format!("Notification delivered to webhook `{}` (HTTP {}) at attempt {attempts}", target.name, code.unwrap_or(200))),
        status::PENDING => (
            "webhook.retry",
            format!("Notification to webhook `{}` failed at attempt {attempts} of {}: {error}; retrying in {} s", target.name, delivery.max_attempts, backoff / 1000),
        ),
        _ => ("webhook.dead_letter", format!("Notification to webhook `{}` dead-lettered after {attempts} attempt(s): {error}", target.name)),
    };
    journal::write(app, tx, &run.reference(), Entry { kind, step: delivery.step_idx, text, data: data.clone() }).await?;
    let Some(idx) = delivery.step_idx else { return Ok(()) };
    let end = match new_status {
        status::DELIVERED => StepEnd {
            status: step_status::SUCCEEDED,
            outcome: format!("notified webhook `{}` (delivered at attempt {attempts})", target.name),
            error: String::new(),
            data,
        },
        status::DEAD => StepEnd {
            status: step_status::FAILED,
            outcome: String::new(),
            error: format!("the notification to webhook `{}` was dead-lettered after {attempts} attempt(s): {error}", target.name),
            data,
        },
        _ => return Ok(()),
    };
    progress::end_step(app, tx, &run, idx, end, Holder::Delivery).await?;
    Ok(())
}

/// The wait before the attempt after attempt `attempt`: base x 2^(attempt-1), at most an hour.
fn backoff_ms(base_seconds: i64, attempt: i64) -> i64 {
    let exponent = u32::try_from((attempt - 1).clamp(0, 16)).unwrap_or(16);
    base_seconds.max(0).saturating_mul(1 << exponent).min(3600).saturating_mul(1000)
}

/// Sends a dead-lettered delivery again (a full new round of attempts), as `actor`.
pub async fn retry_dead(app: &AppState, actor: Actor<'_>, id: &str) -> ApiResult<Delivery> {
    let delivery = get_in(&mut *app.store.read.acquire().await?, id).await?.ok_or_else(|| ApiError::not_found("webhook delivery", id))?;
    if delivery.status != status::DEAD {
        return Err(ApiError::Conflict(format!("delivery `{id}` is {}, not dead-lettered; only dead letters are sent again by hand", delivery.status)));
    }
    let target = webhooks::get(app, &delivery.target_id).await?.ok_or_else(|| ApiError::not_found("webhook target", &delivery.target_id))?;
    let now = now_ms();
    let mut tx = app.store.begin().await?;
    let updated = sqlx::query("UPDATE webhook_deliveries SET status = 'pending', next_at = $1, max_attempts = attempts + $2, dead_at = NULL, updated_at = $1 WHERE id = $3 AND status = 'dead'")
        .bind(now)
        .bind(target.max_attempts)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if updated == 0 {
        return Err(ApiError::Conflict(format!("delivery `{id}` was sent again meanwhile")));
    }
    let change = Change::update("webhook.retry", "webhook_delivery", id)
        .named(target.name.clone())
        .detail(json!({"webhook": target.name, "incident_id": delivery.incident_id, "run_id": delivery.run_id, "previous_error": delivery.last_error}));
    let change = match &delivery.incident_id {
        Some(incident) => change.also("incident", incident),
        None => change,
    };
    actor.record(app, &mut tx, change).await?;
    tx.commit().await?;
    if let Some(incident) = &delivery.incident_id {
        let event = crate::incidents::IncidentEvent {
            kind: "webhook.requeued".into(),
            actor: actor.name(),
            text: format!("{} sent the dead-lettered notification to webhook `{}` again", actor.name(), target.name),
            data: json!({"delivery_id": id, "webhook": target.name}),
        };
        if let Err(err) = crate::incidents::record_event(app, incident, event).await {
            tracing::warn!(%err, "could not record a webhook retry on its incident");
        }
    }
    super::runner::wake();
    get_in(&mut *app.store.read.acquire().await?, id).await?.ok_or_else(|| ApiError::not_found("webhook delivery", id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_backoff_doubles_and_is_capped() {
        assert_eq!(backoff_ms(2, 1), 2000);
        assert_eq!(backoff_ms(2, 2), 4000);
        assert_eq!(backoff_ms(2, 3), 8000);
        assert_eq!(backoff_ms(0, 3), 0);
        assert_eq!(backoff_ms(60, 30), 3_600_000);
    }
}
