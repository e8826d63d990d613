//! Decisions about individual assets inside one request: the gate authorised the route (`asset.list`,
//! `lineage.write`, ...); these ask Cedar about each asset the request touches, so a list shows
//! only what the principal may read and a write is checked against the asset as it would become.
//!
//! Every such decision is recorded in the audit log; a list records one entry naming what it hid
//! rather than one per row.

use std::collections::{BTreeSet, HashMap};

use crate::authz::{Action, AssetAttrs, Decision, ResourceRef, actions};
use crate::error::{ApiError, ApiResult};
use crate::gate::Caller;
use crate::routes::{RouteMeta, Surface, Target};
use crate::state::AppState;

/// At most this many hidden asset ids are named in the audit entry of one list.
const MAX_NAMED: usize = 50;

fn meta(method: &'static str, path: &'static str, action: Action) -> RouteMeta {
    RouteMeta { method, path, action, target: Target::Server, surface: Surface::Api }
}

/// Asks Cedar whether `caller` may do `action` on the asset described by `attrs`, records the
/// decision, and answers 403 when it is refused. Call it before opening a write transaction (the
/// audit writer needs the database's write connection).
pub async fn require(app: &AppState, caller: &Caller, action: Action, attrs: &AssetAttrs, route: (&'static str, &'static str)) -> ApiResult<()> {
    let decision = app.authz.decide(&caller.principal, action, &ResourceRef::Asset(attrs.clone()), &caller.facts());
    let note = if decision.errors.is_empty() { "decided within the request".to_owned() } else { decision.errors.join("; ") };
    app.audit
        .record_decision(&caller.principal, &caller.via, caller.ip, &meta(route.0, route.1, action), Some(&attrs.id), &decision, &caller.request_id, &note)
        .await?;
    if decision.allowed {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "`{}` is not allowed on asset `{}` (decided by: {})",
            action.name,
            attrs.id,
            decision.reason().join(", ")
        )))
    }
}

/// Filters rows of a list through Cedar's `asset.read`, one decision per asset (cached), and
/// records what it hid when [`ReadFilter::finish`] is called.
pub struct ReadFilter<'a> {
    app: &'a AppState,
    caller: &'a Caller,
    seen: HashMap<String, bool>,
    hidden: Vec<String>,
    deciding: BTreeSet<String>,
    policy_version: i64,
}

impl<'a> ReadFilter<'a> {
    /// A filter for `caller`'s request.
    pub fn new(app: &'a AppState, caller: &'a Caller) -> ReadFilter<'a> {
        ReadFilter { app, caller, seen: HashMap::new(), hidden: Vec::new(), deciding: BTreeSet::new(), policy_version: 0 }
    }

    /// Whether the caller may read the asset described by `attrs`.
    pub fn allows(&mut self, attrs: &AssetAttrs) -> bool {
        if let Some(known) = self.seen.get(&attrs.id) {
            return *known;
        }
        let decision: Decision = self.app.authz.decide(&self.caller.principal, actions::ASSET_READ, &ResourceRef::Asset(attrs.clone()), &self.caller.facts());
        if !decision.allowed {
            self.hidden.push(attrs.id.clone());
            self.deciding.extend(decision.reason());
            self.policy_version = decision.policy_version;
        }
        self.seen.insert(attrs.id.clone(), decision.allowed);
        decision.allowed
    }

    /// Whether the caller may read asset `id` (looked up; a missing asset is not readable).
    pub async fn allows_id(&mut self, id: &str) -> ApiResult<bool> {
        if let Some(known) = self.seen.get(id) {
            return Ok(*known);
        }
        match super::asset_attrs(self.app, id).await? {
            Some(attrs) => Ok(self.allows(&attrs)),
            None => {
                self.seen.insert(id.to_owned(), false);
                Ok(false)
            }
        }
    }

    /// How many assets were hidden.
    pub fn hidden(&self) -> usize {
        self.hidden.len()
    }

    /// Records one audit entry naming the hidden assets (nothing when none was hidden).
    pub async fn finish(self, method: &'static str, path: &'static str) -> ApiResult<()> {
        if self.hidden.is_empty() {
            return Ok(());
        }
        let decision = Decision { allowed: false, policies: self.deciding.into_iter().collect(), errors: Vec::new(), policy_version: self.policy_version };
        let named: Vec<&str> = self.hidden.iter().take(MAX_NAMED).map(String::as_str).collect();
        let more = self.hidden.len().saturating_sub(MAX_NAMED);
        let note = if more > 0 {
            format!("hid {} assets from the answer: {} and {more} more", self.hidden.len(), named.join(", "))
        } else {
            format!("hid {} assets from the answer: {}", self.hidden.len(), named.join(", "))
        };
        let caller = self.caller;
        self.app
            .audit
            .record_decision(&caller.principal, &caller.via, caller.ip, &meta(method, path, actions::ASSET_READ), None, &decision, &caller.request_id, &note)
            .await?;
        Ok(())
    }
}
