//! Who makes a change: a request's caller (through the gate), or warden itself acting without a
//! request (incident-response playbooks, housekeeping). Functions that change state take an
//! [`Actor`], so the HTTP handlers and the server's automation run the same code and the audit log
//! records either one the same way.

use sqlx::{Any, Transaction};

use crate::audit::Change;
use crate::error::ApiResult;
use crate::gate::Caller;
use crate::state::AppState;

/// Who acts.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    /// A signed-in person or an API key, through the gate.
    Caller(&'a Caller),
    /// The server's own automation; the text says which (`playbook:malicious-model-upload`).
    System(&'a str),
}

impl Actor<'_> {
    /// The acting user's id; `None` for the system.
    pub fn user_id(&self) -> Option<&str> {
        match self {
            Actor::Caller(caller) => caller.user_id(),
            Actor::System(_) => None,
        }
    }

    /// The name kept in histories: the user name, or `system:<what>`.
    pub fn name(&self) -> String {
        match self {
            Actor::Caller(caller) => caller.principal.name.clone(),
            Actor::System(what) => format!("system:{what}"),
        }
    }

    /// Appends `change` to the audit log inside `tx`: as the caller's change, or as a system
    /// change whose message says which automation acted.
    pub async fn record(&self, app: &AppState, tx: &mut Transaction<'static, Any>, change: Change) -> ApiResult<u64> {
        match self {
            Actor::Caller(caller) => app.audit.change(tx, caller, change).await,
            Actor::System(what) => app.audit.system_change(tx, change.message(format!("automatic: {what}"))).await,
        }
    }
}
