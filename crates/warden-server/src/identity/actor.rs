//! Who makes an account change — the caller of a request, or the server itself (incident-response
//! playbooks revoking a key or disabling a user) — and how the change is recorded: an OCSF account
//! change for a caller, a system change for the server, both in the transaction that makes it.

use serde_json::{Value, json};
use sqlx::{Any, Transaction};
use warden_audit::{AccountChangeKind, AuditEvent, User};

use crate::audit::Change;
use crate::audit::events::caller_actor;
use crate::authz::{Action, ResourceRef};
use crate::error::{ApiError, ApiResult};
use crate::gate::Caller;
use crate::routes::{RouteMeta, Surface, Target};
use crate::state::AppState;
use crate::store::now_ms;

pub use crate::actor::Actor;

/// The operation name of an account change (also the audit operation of a system change).
pub fn operation(kind: &AccountChangeKind) -> &'static str {
    match kind {
        AccountChangeKind::UserCreated => "user.create",
        AccountChangeKind::UserEnabled => "user.enable",
        AccountChangeKind::UserDisabled => "user.disable",
        AccountChangeKind::UserDeleted => "user.delete",
        AccountChangeKind::PasswordChanged => "user.password",
        AccountChangeKind::RoleChanged { .. } => "user.role.grant",
        AccountChangeKind::RoleRevoked { .. } => "user.role.revoke",
        AccountChangeKind::MfaEnabled => "user.mfa.enable",
        AccountChangeKind::MfaDisabled => "user.mfa.reset",
        AccountChangeKind::ApiKeyCreated { .. } => "key.create",
        AccountChangeKind::ApiKeyRevoked { .. } => "key.revoke",
    }
}

/// Records an account change of user `user_id` inside `tx`, with `details` (a JSON object).
pub async fn record(
    app: &AppState,
    tx: &mut Transaction<'static, Any>,
    actor: &Actor<'_>,
    kind: AccountChangeKind,
    user_id: &str,
    username: &str,
    details: Value,
) -> ApiResult<()> {
    match actor {
        Actor::Caller(caller) => {
            let event = AuditEvent::account_change(uuid::Uuid::new_v4().to_string(), now_ms(), caller_actor(caller), kind, User::new(user_id, username))
                .with_src_ip(caller.ip.to_string())
                .with_details(details);
            app.audit.append_in(tx, &[event]).await?;
        }
        Actor::System(_) => {
            let (resource_kind, resource_id) = match &kind {
                AccountChangeKind::ApiKeyCreated { key_uid } | AccountChangeKind::ApiKeyRevoked { key_uid } => ("api_key", key_uid.clone()),
                _ => ("user", user_id.to_owned()),
            };
            let mut details = details;
            if let Some(map) = details.as_object_mut() {
                map.insert("user".into(), json!({"uid": user_id, "name": username}));
            }
            let change = Change::update(operation(&kind), resource_kind, &resource_id).named(username).detail(details);
            actor.record(app, tx, change).await?;
        }
    }
    Ok(())
}

/// Records a change that is not an account change (a profile edit) inside `tx`.
pub async fn record_change(app: &AppState, tx: &mut Transaction<'static, Any>, actor: &Actor<'_>, change: Change) -> ApiResult<()> {
    actor.record(app, tx, change).await?;
    Ok(())
}

/// A second Cedar decision inside a handler: may `caller` do `action` on the server (used when a
/// change reaches beyond the caller's own account, e.g. revoking someone else's key). The decision
/// is recorded in the audit log like the gate's; a refusal is a 403.
pub async fn authorize(app: &AppState, caller: &Caller, action: Action, method: &'static str, path: &'static str) -> ApiResult<()> {
    let decision = app.authz.decide(&caller.principal, action, &ResourceRef::Server, &caller.facts());
    let route = RouteMeta { method, path, action, target: Target::Server, surface: Surface::Api };
    app.audit.record_decision(&caller.principal, &caller.via, caller.ip, &route, None, &decision, &caller.request_id, "second decision in the handler").await?;
    if decision.allowed {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!("`{}` is not allowed (decided by: {})", action.name, decision.reason().join(", "))))
    }
}
