//! The block list: clients an inference gateway must refuse at a deployment. A block has a reason,
//! the incident that caused it (if any), who or what blocked, and an optional expiry; it can be
//! lifted. Blocking and lifting are functions over an [`Actor`], so people (through the API and
//! the UI) and playbooks run the same code, each in one transaction with its audit entry.
//!
//! Idempotent: blocking a client that is already blocked, or lifting a block that is not there,
//! changes nothing and answers `false`. The partial unique index on open blocks makes two
//! instances racing to block the same client end with one block.

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::memory;
use crate::actor::Actor;
use crate::audit::Change;
use crate::error::{ApiError, ApiResult};
use crate::inventory::model::AssetKind;
use crate::state::AppState;
use crate::store::{is_unique_violation, new_id, now_ms};

/// Longest client id (the detectors' limit too).
pub const MAX_CLIENT_ID: usize = 256;
/// Longest reason kept.
pub const MAX_REASON: usize = 2000;
/// Longest block one request may ask for (a year); longer means "until lifted".
pub const MAX_EXPIRY_MS: i64 = 366 * 86_400_000;

/// An open block as the gateway check reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct BlockStatus {
    /// The block's id.
    pub id: String,
    /// Why.
    pub reason: String,
    /// Since when (unix ms).
    pub since: i64,
    /// Until when (unix ms); `None` until lifted.
    pub expires_at: Option<i64>,
    /// The incident that caused it.
    pub incident_id: Option<String>,
    /// Who or what blocked (a user name, `system:playbook:<id>`).
    pub blocked_by: String,
}

impl BlockStatus {
    fn in_force(&self, now: i64) -> bool {
        self.expires_at.is_none_or(|until| until > now)
    }
}

/// A block as listed, open or lifted.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BlockView {
    /// Its id.
    pub id: String,
    /// The deployment.
    pub deployment_id: String,
    /// The deployment's name.
    pub deployment: String,
    /// The client.
    pub client_id: String,
    /// Why.
    pub reason: String,
    /// The incident that caused it.
    pub incident_id: Option<String>,
    /// Who or what blocked.
    pub blocked_by: String,
    /// When (unix ms).
    pub created_at: i64,
    /// When it ends by itself (unix ms).
    pub expires_at: Option<i64>,
    /// When it was lifted (unix ms).
    pub lifted_at: Option<i64>,
    /// Who lifted it.
    pub lifted_by: Option<String>,
    /// Why it was lifted.
    pub lift_reason: String,
    /// Whether the gateway refuses the client now.
    pub active: bool,
}

impl BlockView {
    /// Creation time, for people.
    pub fn created(&self) -> String {
        crate::ui::fmt_time(self.created_at)
    }

    /// Expiry, for people.
    pub fn expires(&self) -> String {
        self.expires_at.map_or_else(|| "until lifted".to_owned(), crate::ui::fmt_time)
    }

    /// Lifting, for people.
    pub fn lifted(&self) -> String {
        match (&self.lifted_at, &self.lifted_by) {
            (Some(at), Some(by)) => format!("{} by {by}", crate::ui::fmt_time(*at)),
            (Some(at), None) => crate::ui::fmt_time(*at),
            _ if !self.active => "expired".to_owned(),
            _ => String::new(),
        }
    }
}

/// A block to make.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockRequest {
    /// The client to refuse.
    pub client_id: String,
    /// Why (kept in the audit log and shown to whoever lifts it).
    pub reason: String,
    /// The incident that caused it.
    #[serde(default)]
    pub incident_id: Option<String>,
    /// Lift by itself after this many seconds (default: until lifted).
    #[serde(default)]
    pub expires_in_secs: Option<i64>,
}

/// What a block or lift did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BlockOutcome {
    /// Whether anything changed (`false`: the state asked for already held).
    pub changed: bool,
    /// What happened, for people.
    pub message: String,
    /// The block concerned, as it is now.
    pub block: Option<BlockView>,
}

/// The subject of findings and incidents about `client_id` of `deployment_id`.
pub fn client_subject(deployment_id: &str, client_id: &str) -> String {
    format!("client:{deployment_id}:{client_id}")
}

/// Checks a client id: 1 to 256 bytes, no control characters.
pub fn check_client_id(client_id: &str) -> ApiResult<()> {
    if client_id.is_empty() || client_id.len() > MAX_CLIENT_ID {
        return Err(ApiError::BadRequest(format!("a client id has 1 to {MAX_CLIENT_ID} bytes")));
    }
    if client_id.chars().any(char::is_control) {
        return Err(ApiError::BadRequest("a client id may not contain control characters".into()));
    }
    Ok(())
}

/// Refuses text with control characters other than line breaks and tabs (PostgreSQL cannot
/// even store U+0000).
pub fn check_text(text: &str, what: &str) -> ApiResult<()> {
    if text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(ApiError::BadRequest(format!("the {what} may not contain control characters")));
    }
    Ok(())
}

fn clean_reason(reason: &str, what: &str) -> ApiResult<String> {
    check_text(reason, "reason")?;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(ApiError::BadRequest(format!("give a reason for the {what}: it is kept in the audit log and shown to whoever reviews it")));
    }
    if reason.chars().count() > MAX_REASON {
        return Err(ApiError::BadRequest(format!("the reason may have at most {MAX_REASON} characters")));
    }
    Ok(reason.to_owned())
}

/// What this area needs to know of an asset: its kind, name and whether it is retired (read
/// without the inventory's full validation, so any stored asset row answers).
#[derive(Debug, Clone)]
pub struct AssetRef {
    /// Its id.
    pub id: String,
    /// Its kind (`deployment`, `model`, `dataset`, `data_source`).
    pub kind: String,
    /// Its name.
    pub name: String,
    /// Whether it is retired.
    pub retired: bool,
}

/// Asset `id`, or a 404.
pub async fn require_asset(app: &AppState, id: &str) -> ApiResult<AssetRef> {
    if id.len() > 64 || id.contains('\0') {
        return Err(ApiError::not_found("asset", id));
    }
    let row = sqlx::query("SELECT id, kind, name, retired_at FROM assets WHERE id = $1").bind(id).fetch_optional(&app.store.read).await?;
    let Some(row) = row else { return Err(ApiError::not_found("asset", id)) };
    Ok(AssetRef { id: row.try_get(0)?, kind: row.try_get(1)?, name: row.try_get(2)?, retired: row.try_get::<Option<i64>, _>(3)?.is_some() })
}

/// The deployment `id`, or a 404 (no such asset) / 400 (another kind of asset).
pub async fn require_deployment(app: &AppState, id: &str) -> ApiResult<AssetRef> {
    let asset = require_asset(app, id).await?;
    if asset.kind != AssetKind::Deployment.as_str() {
        return Err(ApiError::BadRequest(format!(
            "asset `{}` is a {}; blocks and inference traffic belong to deployments (assets of kind `deployment`)",
            asset.name,
            asset.kind.replace('_', " ")
        )));
    }
    Ok(asset)
}

/// Answers whether `id` is a deployment from this instance's memory, asking the database once.
async fn ensure_deployment(app: &AppState, id: &str) -> ApiResult<()> {
    if id.len() > 64 || id.contains('\0') {
        return Err(ApiError::not_found("deployment", id));
    }
    let memory = memory::of(app);
    let known = match memory.known_deployment(id) {
        Some(known) => known,
        None => {
            let Some(attrs) = crate::inventory::asset_attrs(app, id).await? else {
                return Err(ApiError::not_found("deployment", id));
            };
            let is_deployment = attrs.kind == AssetKind::Deployment.as_str();
            memory.remember_deployment(id, is_deployment);
            is_deployment
        }
    };
    if known { Ok(()) } else { Err(ApiError::BadRequest(format!("asset `{id}` is not a deployment"))) }
}

/// Blocks `client_id` at `deployment_id`'s gateway until lifted. Returns `false` when it was
/// already blocked (nothing changed). With `dry_run`, checks everything a real block checks and
/// answers whether it would block, changing nothing.
pub async fn block_client(
    app: &AppState,
    actor: Actor<'_>,
    deployment_id: &str,
    client_id: &str,
    reason: &str,
    incident_id: Option<&str>,
    dry_run: bool,
) -> ApiResult<bool> {
    let request = BlockRequest { client_id: client_id.to_owned(), reason: reason.to_owned(), incident_id: incident_id.map(str::to_owned), expires_in_secs: None };
    if dry_run {
        return Ok(plan_block(app, deployment_id, &request).await?.changed);
    }
    Ok(block(app, actor, deployment_id, &request).await?.changed)
}

/// What [`block`] would do, changing nothing (for drills): the same checks, and the message says
/// whether the client is already blocked.
pub async fn plan_block(app: &AppState, deployment_id: &str, request: &BlockRequest) -> ApiResult<BlockOutcome> {
    let deployment = require_deployment(app, deployment_id).await?;
    check_request(request)?;
    let current = open_block(&mut *app.store.read.acquire().await?, deployment_id, &request.client_id).await?;
    let now = now_ms();
    Ok(match current {
        Some(block) if block.active => BlockOutcome {
            changed: false,
            message: format!("client `{}` of `{}` is already blocked ({}); nothing would change", request.client_id, deployment.name, block.reason),
            block: Some(block),
        },
        _ => BlockOutcome {
            changed: true,
            message: format!(
                "would block client `{}` of `{}` {} — currently not blocked",
                request.client_id,
                deployment.name,
                request.expires_in_secs.map_or_else(|| "until lifted".to_owned(), |s| format!("until {}", crate::ui::fmt_time(now + s * 1000)))
            ),
            block: None,
        },
    })
}

fn check_request(request: &BlockRequest) -> ApiResult<()> {
    check_client_id(&request.client_id)?;
    clean_reason(&request.reason, "block")?;
    if let Some(incident) = &request.incident_id
        && (incident.is_empty() || incident.len() > 64 || incident.chars().any(char::is_control))
    {
        return Err(ApiError::BadRequest("an incident id has 1 to 64 characters, none of them control characters".into()));
    }
    if let Some(secs) = request.expires_in_secs
        && !(1..=MAX_EXPIRY_MS / 1000).contains(&secs)
    {
        return Err(ApiError::BadRequest(format!("expires_in_secs must be between 1 and {} (a year); leave it out to block until lifted", MAX_EXPIRY_MS / 1000)));
    }
    Ok(())
}

/// Blocks a client as `request` says, in one transaction with its audit entry.
pub async fn block(app: &AppState, actor: Actor<'_>, deployment_id: &str, request: &BlockRequest) -> ApiResult<BlockOutcome> {
    let deployment = require_deployment(app, deployment_id).await?;
    check_request(request)?;
    let reason = clean_reason(&request.reason, "block")?;
    let client_id = request.client_id.as_str();
    let now = now_ms();
    let mut tx = app.store.begin().await?;
    let mut replaced = None;
    if let Some(current) = open_block(&mut tx, deployment_id, client_id).await? {
        if current.active {
            drop(tx);
            memory::of(app).forget_block(deployment_id, client_id);
            return Ok(BlockOutcome {
                changed: false,
                message: format!("client `{client_id}` of `{}` was already blocked ({}); nothing changed", deployment.name, current.reason),
                block: Some(current),
            });
        }
        // An expired block is closed before the new one opens (one open block per client).
        sqlx::query("UPDATE gateway_blocks SET lifted_at = $1, lift_reason = 'expired' WHERE id = $2 AND lifted_at IS NULL")
            .bind(now)
            .bind(&current.id)
            .execute(&mut *tx)
            .await?;
        replaced = Some(current.id);
    }
    let id = new_id();
    let expires_at = request.expires_in_secs.map(|s| now + s * 1000);
    let who = actor.name();
    let inserted = sqlx::query(
        "INSERT INTO gateway_blocks (id, deployment_id, client_id, reason, incident_id, blocked_by, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&id)
    .bind(deployment_id)
    .bind(client_id)
    .bind(&reason)
    .bind(request.incident_id.as_deref())
    .bind(&who)
    .bind(now)
    .bind(expires_at)
    .execute(&mut *tx)
    .await;
    match inserted {
        Ok(_) => {}
        // Another instance blocked the same client a moment ago.
        Err(err) if is_unique_violation(&err) => {
            drop(tx);
            memory::of(app).forget_block(deployment_id, client_id);
            return Ok(BlockOutcome { changed: false, message: format!("client `{client_id}` of `{}` was already blocked; nothing changed", deployment.name), block: None });
        }
        Err(err) => return Err(err.into()),
    }
    let change = Change::create("gateway.block", "gateway_block", &id)
        .named(client_id.to_owned())
        .also("asset", deployment_id)
        .detail(json!({
            "deployment": deployment.name,
            "client_id": client_id,
            "reason": reason,
            "incident_id": request.incident_id,
            "expires_at": expires_at,
            "replaced_expired_block": replaced,
        }))
        .message(format!("blocked client `{client_id}` of deployment `{}`", deployment.name));
    actor.record(app, &mut tx, change).await?;
    tx.commit().await?;
    app.metrics.event("gateway.block");
    let status = BlockStatus { id: id.clone(), reason: reason.clone(), since: now, expires_at, incident_id: request.incident_id.clone(), blocked_by: who.clone() };
    memory::of(app).remember_block(deployment_id, client_id, Some(status));
    tracing::warn!(deployment = %deployment.name, client = %client_id, by = %who, "client blocked at the gateway");
    let view = BlockView {
        id,
        deployment_id: deployment_id.to_owned(),
        deployment: deployment.name.clone(),
        client_id: client_id.to_owned(),
        reason,
        incident_id: request.incident_id.clone(),
        blocked_by: who,
        created_at: now,
        expires_at,
        lifted_at: None,
        lifted_by: None,
        lift_reason: String::new(),
        active: true,
    };
    let until = expires_at.map_or_else(|| "until lifted".to_owned(), |t| format!("until {}", crate::ui::fmt_time(t)));
    Ok(BlockOutcome { changed: true, message: format!("client `{client_id}` of `{}` is blocked {until}", deployment.name), block: Some(view) })
}

/// Lifts the open block of `client_id` at `deployment_id`, in one transaction with its audit
/// entry. `changed: false` when there was none.
pub async fn lift(app: &AppState, actor: Actor<'_>, deployment_id: &str, client_id: &str, reason: &str) -> ApiResult<BlockOutcome> {
    let deployment = require_deployment(app, deployment_id).await?;
    check_client_id(client_id)?;
    let reason = clean_reason(reason, "lift")?;
    let mut tx = app.store.begin().await?;
    let Some(current) = open_block(&mut tx, deployment_id, client_id).await? else {
        drop(tx);
        memory::of(app).forget_block(deployment_id, client_id);
        return Ok(BlockOutcome { changed: false, message: format!("client `{client_id}` of `{}` is not blocked; nothing changed", deployment.name), block: None });
    };
    let now = now_ms();
    let who = actor.name();
    let updated = sqlx::query("UPDATE gateway_blocks SET lifted_at = $1, lifted_by = $2, lift_reason = $3 WHERE id = $4 AND lifted_at IS NULL")
        .bind(now)
        .bind(&who)
        .bind(&reason)
        .bind(&current.id)
        .execute(&mut *tx)
        .await?;
    if updated.rows_affected() == 0 {
        drop(tx);
        memory::of(app).forget_block(deployment_id, client_id);
        return Ok(BlockOutcome { changed: false, message: format!("the block of `{client_id}` was lifted a moment ago; nothing changed"), block: None });
    }
    let change = Change::update("gateway.lift", "gateway_block", &current.id)
        .named(client_id.to_owned())
        .also("asset", deployment_id)
        .detail(json!({
            "deployment": deployment.name,
            "client_id": client_id,
            "reason": reason,
            "blocked_by": current.blocked_by,
            "blocked_for": current.reason,
            "incident_id": current.incident_id,
            "was_expired": !current.active,
        }))
        .message(format!("lifted the block of client `{client_id}` of deployment `{}`", deployment.name));
    actor.record(app, &mut tx, change).await?;
    tx.commit().await?;
    app.metrics.event("gateway.lift");
    memory::of(app).remember_block(deployment_id, client_id, None);
    let view = BlockView { lifted_at: Some(now), lifted_by: Some(who), lift_reason: reason, active: false, ..current };
    Ok(BlockOutcome { changed: true, message: format!("client `{client_id}` of `{}` is no longer blocked", deployment.name), block: Some(view) })
}

/// Whether the gateway of `deployment_id` must refuse `client_id` now.
pub async fn is_blocked(app: &AppState, deployment_id: &str, client_id: &str) -> ApiResult<bool> {
    Ok(block_status(app, deployment_id, client_id).await?.is_some())
}

/// The block in force for `client_id` at `deployment_id`, if any: from this instance's cache when
/// it is younger than [`memory::BLOCK_TTL`], else from the database.
pub async fn block_status(app: &AppState, deployment_id: &str, client_id: &str) -> ApiResult<Option<BlockStatus>> {
    check_client_id(client_id)?;
    ensure_deployment(app, deployment_id).await?;
    let memory = memory::of(app);
    let now = now_ms();
    if let Some(cached) = memory.cached_block(deployment_id, client_id) {
        return Ok(cached.filter(|s| s.in_force(now)));
    }
    let row = sqlx::query("SELECT id, reason, created_at, expires_at, incident_id, blocked_by FROM gateway_blocks WHERE deployment_id = $1 AND client_id = $2 AND lifted_at IS NULL")
        .bind(deployment_id)
        .bind(client_id)
        .fetch_optional(&app.store.read)
        .await?;
    let status = match row {
        Some(row) => Some(BlockStatus {
            id: row.try_get(0)?,
            reason: row.try_get(1)?,
            since: row.try_get(2)?,
            expires_at: row.try_get(3)?,
            incident_id: row.try_get(4)?,
            blocked_by: row.try_get(5)?,
        }),
        None => None,
    };
    memory.remember_block(deployment_id, client_id, status.clone());
    Ok(status.filter(|s| s.in_force(now)))
}

const VIEW_COLUMNS: &str = "b.id, b.deployment_id, a.name, b.client_id, b.reason, b.incident_id, b.blocked_by, b.created_at, b.expires_at, b.lifted_at, b.lifted_by, b.lift_reason";

fn view_from_row(row: &AnyRow, now: i64) -> ApiResult<BlockView> {
    let expires_at: Option<i64> = row.try_get(8)?;
    let lifted_at: Option<i64> = row.try_get(9)?;
    Ok(BlockView {
        id: row.try_get(0)?,
        deployment_id: row.try_get(1)?,
        deployment: row.try_get(2)?,
        client_id: row.try_get(3)?,
        reason: row.try_get(4)?,
        incident_id: row.try_get(5)?,
        blocked_by: row.try_get(6)?,
        created_at: row.try_get(7)?,
        expires_at,
        lifted_at,
        lifted_by: row.try_get(10)?,
        lift_reason: row.try_get(11)?,
        active: lifted_at.is_none() && expires_at.is_none_or(|until| until > now),
    })
}

/// Block `block_id`, open or lifted.
pub async fn get(app: &AppState, block_id: &str) -> ApiResult<Option<BlockView>> {
    if block_id.len() > 64 || block_id.contains('\0') {
        return Ok(None);
    }
    let row = sqlx::query(&format!("SELECT {VIEW_COLUMNS} FROM gateway_blocks b JOIN assets a ON a.id = b.deployment_id WHERE b.id = $1"))
        .bind(block_id)
        .fetch_optional(&app.store.read)
        .await?;
    row.as_ref().map(|r| view_from_row(r, now_ms())).transpose()
}

async fn open_block(conn: &mut sqlx::AnyConnection, deployment_id: &str, client_id: &str) -> ApiResult<Option<BlockView>> {
    let row = sqlx::query(&format!(
        "SELECT {VIEW_COLUMNS} FROM gateway_blocks b JOIN assets a ON a.id = b.deployment_id \
         WHERE b.deployment_id = $1 AND b.client_id = $2 AND b.lifted_at IS NULL"
    ))
    .bind(deployment_id)
    .bind(client_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(|r| view_from_row(r, now_ms())).transpose()
}

/// Most clients one blocklist answer carries; past it the answer says it is incomplete.
pub const MAX_BLOCKLIST: usize = 10_000;

/// Every client blocked at a deployment right now: what a busy gateway fetches about once a
/// second instead of asking per inference call (one audited request a second, whatever the traffic).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Blocklist {
    /// The deployment.
    pub deployment_id: String,
    /// When the list was read (unix ms, server clock).
    pub as_of: i64,
    /// The blocks in force, oldest first.
    pub clients: Vec<BlockStatusView>,
    /// `false` when more than [`MAX_BLOCKLIST`] clients are blocked and the list is cut: the
    /// gateway should then ask per client (`GET .../clients/{client}`) for those it does not find.
    pub complete: bool,
}

/// One block in force, as the blocklist lists it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BlockStatusView {
    /// The blocked client.
    pub client_id: String,
    /// Why.
    pub reason: String,
    /// Blocked since (unix ms).
    pub since: i64,
    /// When the block ends by itself (unix ms); `None`: until lifted.
    pub expires_at: Option<i64>,
    /// The incident that caused it.
    pub incident_id: Option<String>,
    /// The block's id.
    pub block_id: String,
}

/// The clients blocked at `deployment_id` now (at most [`MAX_BLOCKLIST`]), read from the database.
pub async fn blocklist(app: &AppState, deployment_id: &str) -> ApiResult<Blocklist> {
    ensure_deployment(app, deployment_id).await?;
    let now = now_ms();
    let rows = sqlx::query(
        "SELECT client_id, reason, created_at, expires_at, incident_id, id FROM gateway_blocks \
         WHERE deployment_id = $1 AND lifted_at IS NULL AND (expires_at IS NULL OR expires_at > $2) ORDER BY created_at, id LIMIT $3",
    )
    .bind(deployment_id)
    .bind(now)
    .bind(i64::try_from(MAX_BLOCKLIST + 1).unwrap_or(i64::MAX))
    .fetch_all(&app.store.read)
    .await?;
    let complete = rows.len() <= MAX_BLOCKLIST;
    let clients = rows
        .iter()
        .take(MAX_BLOCKLIST)
        .map(|row| {
            Ok(BlockStatusView {
                client_id: row.try_get(0)?,
                reason: row.try_get(1)?,
                since: row.try_get(2)?,
                expires_at: row.try_get(3)?,
                incident_id: row.try_get(4)?,
                block_id: row.try_get(5)?,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Blocklist { deployment_id: deployment_id.to_owned(), as_of: now, clients, complete })
}

/// Filters of [`list`].
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct BlockQuery {
    /// Only this deployment's blocks.
    pub deployment: Option<String>,
    /// Only this client's blocks.
    pub client_id: Option<String>,
    /// Lifted and expired blocks too (default: only those in force).
    #[serde(default)]
    pub all: bool,
    /// At most this many, newest first (default 200, at most 1000).
    pub limit: Option<i64>,
}

/// Blocks matching `query`, newest first.
pub async fn list(app: &AppState, query: &BlockQuery) -> ApiResult<Vec<BlockView>> {
    for (text, what) in [(&query.deployment, "deployment filter"), (&query.client_id, "client filter")] {
        if let Some(text) = text {
            check_text(text, what)?;
        }
    }
    let limit = query.limit.unwrap_or(200).clamp(1, 1000);
    let now = now_ms();
    let rows = sqlx::query(&format!(
        "SELECT {VIEW_COLUMNS} FROM gateway_blocks b JOIN assets a ON a.id = b.deployment_id \
         WHERE ($1 = '' OR b.deployment_id = $1) AND ($2 = '' OR b.client_id = $2) \
         AND ($3 = 1 OR (b.lifted_at IS NULL AND (b.expires_at IS NULL OR b.expires_at > $4))) \
         ORDER BY b.created_at DESC, b.id DESC LIMIT $5"
    ))
    .bind(query.deployment.as_deref().unwrap_or(""))
    .bind(query.client_id.as_deref().unwrap_or(""))
    .bind(i64::from(query.all))
    .bind(now)
    .bind(limit)
    .fetch_all(&app.store.read)
    .await?;
    rows.iter().map(|r| view_from_row(r, now)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_are_bounded_and_printable() {
        assert!(check_client_id("extraction-0").is_ok());
        assert!(check_client_id("").is_err());
        assert!(check_client_id(&"x".repeat(MAX_CLIENT_ID + 1)).is_err());
        assert!(check_client_id("a\nb").is_err());
    }

    #[test]
    fn requests_need_a_reason_and_a_sane_expiry() {
        let ok = BlockRequest { client_id: "c".into(), reason: "extraction".into(), ..BlockRequest::default() };
        assert!(check_request(&ok).is_ok());
        assert!(check_request(&BlockRequest { reason: "  ".into(), ..ok.clone() }).is_err());
        assert!(check_request(&BlockRequest { expires_in_secs: Some(0), ..ok.clone() }).is_err());
        assert!(check_request(&BlockRequest { expires_in_secs: Some(3600), ..ok.clone() }).is_ok());
        assert!(check_request(&BlockRequest { incident_id: Some(String::new()), ..ok.clone() }).is_err());
        assert!(check_request(&BlockRequest { reason: "a\0b".into(), ..ok.clone() }).is_err());
        assert!(check_request(&BlockRequest { reason: "two\nlines".into(), ..ok }).is_ok());
    }

    #[test]
    fn expired_blocks_are_not_in_force() {
        let status = BlockStatus { id: "b".into(), reason: "r".into(), since: 0, expires_at: Some(10), incident_id: None, blocked_by: "x".into() };
        assert!(status.in_force(9));
        assert!(!status.in_force(10));
        assert!(BlockStatus { expires_at: None, ..status }.in_force(i64::MAX));
    }
}
