//! Turning what happens in the server into audit events: authorisation decisions, state changes,
//! sign-ins and account changes.

use std::net::IpAddr;

use serde_json::{Value, json};
use sqlx::{Any, Transaction};
use warden_audit::{AccountChangeKind, Actor, ApiActivity, AuditEvent, AuthActivity, AuthMethod, Decision as AuditDecision, Resource, User};

use super::AuditLog;
use crate::authz::{Decision, PrincipalRef};
use crate::error::ApiResult;
use crate::gate::Caller;
use crate::identity::Via;
use crate::routes::RouteMeta;
use crate::store::now_ms;

fn actor_for(principal: &PrincipalRef, via: &Via) -> Actor {
    let user = User::new(principal.id.clone(), principal.name.clone());
    match via {
        Via::Session(session) => Actor::session(user, Some(session.id_hash.chars().take(16).collect())),
        Via::ApiKey(key) => Actor::api_key(user, key.id.clone()),
        Via::Anonymous { .. } => Actor::anonymous(),
    }
}

/// The actor of an allowed request, with the decision that let it through.
pub fn caller_actor(caller: &Caller) -> Actor {
    actor_for(&caller.principal, &caller.via).authorized(AuditDecision::Allow, caller.decision.reason())
}

fn activity_for_method(method: &str) -> ApiActivity {
    match method {
        "GET" | "HEAD" => ApiActivity::Read,
        "POST" => ApiActivity::Create,
        "PUT" | "PATCH" => ApiActivity::Update,
        "DELETE" => ApiActivity::Delete,
        _ => ApiActivity::Other,
    }
}

/// A state change to record with [`AuditLog::change`].
#[derive(Debug, Clone)]
pub struct Change {
    kind: ApiActivity,
    operation: String,
    resources: Vec<Resource>,
    details: Option<Value>,
    message: Option<String>,
}

impl Change {
    fn new(kind: ApiActivity, operation: &str, resource_kind: &str, resource_id: &str) -> Change {
        Change {
            kind,
            operation: operation.to_owned(),
            resources: vec![Resource { uid: resource_id.to_owned(), kind: resource_kind.to_owned(), name: None }],
            details: None,
            message: None,
        }
    }

    /// Something was created.
    pub fn create(operation: &str, resource_kind: &str, resource_id: &str) -> Change {
        Change::new(ApiActivity::Create, operation, resource_kind, resource_id)
    }

    /// Something was changed.
    pub fn update(operation: &str, resource_kind: &str, resource_id: &str) -> Change {
        Change::new(ApiActivity::Update, operation, resource_kind, resource_id)
    }

    /// Something was removed or retired.
    pub fn delete(operation: &str, resource_kind: &str, resource_id: &str) -> Change {
        Change::new(ApiActivity::Delete, operation, resource_kind, resource_id)
    }

    /// Details of the change (a JSON object).
    #[must_use]
    pub fn detail(mut self, details: Value) -> Change {
        self.details = Some(details);
        self
    }

    /// The display name of the main resource.
    #[must_use]
    pub fn named(mut self, name: impl Into<String>) -> Change {
        if let Some(first) = self.resources.first_mut() {
            first.name = Some(name.into());
        }
        self
    }

    /// One more resource touched by the change.
    #[must_use]
    pub fn also(mut self, resource_kind: &str, resource_id: &str) -> Change {
        self.resources.push(Resource { uid: resource_id.to_owned(), kind: resource_kind.to_owned(), name: None });
        self
    }

    /// A one-line summary for people.
    #[must_use]
    pub fn message(mut self, message: impl Into<String>) -> Change {
        self.message = Some(message.into());
        self
    }
}

impl Change {
    /// The change as an API Activity event by `actor`, its details marked `phase: change`.
    fn into_event(self, actor: Actor) -> AuditEvent {
        let mut event = AuditEvent::api(new_uid(), now_ms(), actor, self.kind, self.operation);
        for resource in self.resources {
            event = event.with_resource(resource);
        }
        let mut details = self.details.unwrap_or_else(|| json!({}));
        if let Some(map) = details.as_object_mut() {
            map.insert("phase".into(), json!("change"));
        }
        event = event.with_details(details);
        event.message = self.message;
        event
    }
}

/// A sign-in, failed sign-in or sign-out.
#[derive(Debug, Clone)]
pub struct LoginRecord {
    event: AuditEvent,
}

impl LoginRecord {
    /// A successful sign-in.
    pub fn success(caller: &Caller, user_id: &str, username: &str, method: &str, mfa: bool) -> LoginRecord {
        let event = AuditEvent::authentication(new_uid(), now_ms(), AuthActivity::Logon, User::new(user_id, username), auth_method(method), mfa)
            .with_src_ip(caller.ip.to_string())
            .with_details(json!({"method": method, "device": caller.device_id, "user_agent": caller.user_agent}));
        LoginRecord { event }
    }

    /// A refused sign-in.
    pub fn failure(caller: &Caller, user_id: Option<&str>, username: &str, reason: &str) -> LoginRecord {
        let user = User { uid: user_id.map(str::to_owned), name: Some(username.to_owned()) };
        let event = AuditEvent::authentication(new_uid(), now_ms(), AuthActivity::Logon, user, AuthMethod::Password, false)
            .failed(reason)
            .with_src_ip(caller.ip.to_string())
            .with_details(json!({"device": caller.device_id, "user_agent": caller.user_agent}));
        LoginRecord { event }
    }

    /// A sign-out.
    pub fn logout(caller: &Caller) -> LoginRecord {
        let user = User::new(caller.principal.id.clone(), caller.principal.name.clone());
        let event = AuditEvent::authentication(new_uid(), now_ms(), AuthActivity::Logoff, user, AuthMethod::Password, caller.via.mfa())
            .with_src_ip(caller.ip.to_string());
        LoginRecord { event }
    }
}

fn auth_method(method: &str) -> AuthMethod {
    match method {
        "oidc" => AuthMethod::Oidc,
        "password+totp" => AuthMethod::Totp,
        "api_key" => AuthMethod::ApiKey,
        _ => AuthMethod::Password,
    }
}

fn new_uid() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl AuditLog {
    /// Records the gate's decision on a request (waits until it is committed).
    #[allow(clippy::too_many_arguments)]
    pub async fn record_decision(
        &self,
        principal: &PrincipalRef,
        via: &Via,
        ip: IpAddr,
        route: &RouteMeta,
        resource_id: Option<&str>,
        decision: &Decision,
        request_id: &str,
        note: &str,
    ) -> ApiResult<u64> {
        let verdict = if decision.allowed { AuditDecision::Allow } else { AuditDecision::Deny };
        let actor = actor_for(principal, via).authorized(verdict, decision.reason());
        let mut event = AuditEvent::api(new_uid(), now_ms(), actor, activity_for_method(route.method), route.action.name)
            .with_request_uid(request_id)
            .with_src_ip(ip.to_string())
            .with_details(json!({
                "phase": "authorization",
                "method": route.method,
                "route": route.path,
                "policy_version": decision.policy_version,
                "errors": decision.errors,
                "note": note,
            }));
        if let Some(id) = resource_id {
            event = event.with_resource(Resource { uid: id.to_owned(), kind: "asset".into(), name: None });
        }
        if !decision.allowed {
            event = event.failed(format!("denied by {}", decision.reason().join(", ")));
        }
        self.record(event).await
    }

    /// Records a state change made by `caller`, inside the transaction that makes it.
    pub async fn change(&self, tx: &mut Transaction<'static, Any>, caller: &Caller, change: Change) -> ApiResult<u64> {
        let event = change.into_event(caller_actor(caller)).with_request_uid(caller.request_id.clone()).with_src_ip(caller.ip.to_string());
        Ok(self.append_in(tx, &[event]).await?.first_seq)
    }

    /// Records a state change made by the server itself (playbooks, start-up), outside any request.
    pub async fn system_change(&self, tx: &mut Transaction<'static, Any>, change: Change) -> ApiResult<u64> {
        let actor = Actor { user: Some(User::new("system", "warden")), auth: warden_audit::ActorAuth::Anonymous, authorization: None };
        let event = change.into_event(actor);
        Ok(self.append_in(tx, &[event]).await?.first_seq)
    }

    /// Records a sign-in or sign-out (waits until committed).
    pub async fn login_event(&self, record: LoginRecord) -> ApiResult<u64> {
        self.record(record.event).await
    }

    /// Records an account change made by `caller`, inside the transaction that makes it.
    pub async fn account(&self, tx: &mut Transaction<'static, Any>, caller: &Caller, change: AccountChangeKind, user_id: &str, username: &str) -> ApiResult<u64> {
        let event = AuditEvent::account_change(new_uid(), now_ms(), caller_actor(caller), change, User::new(user_id, username))
            .with_src_ip(caller.ip.to_string());
        Ok(self.append_in(tx, &[event]).await?.first_seq)
    }

    /// Records the creation of a user with `roles`.
    pub async fn account_created(&self, tx: &mut Transaction<'static, Any>, caller: &Caller, user_id: &str, username: &str, roles: &str) -> ApiResult<u64> {
        let event = AuditEvent::account_change(new_uid(), now_ms(), caller_actor(caller), AccountChangeKind::UserCreated, User::new(user_id, username))
            .with_src_ip(caller.ip.to_string())
            .with_details(json!({"roles": roles}));
        Ok(self.append_in(tx, &[event]).await?.first_seq)
    }
}
