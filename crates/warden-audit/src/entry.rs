//! Audit entries: the typed [`AuditEvent`] the server records, and the exact bytes it becomes.
//!
//! An entry is one OCSF 1.3 event serialised as compact JSON on one line; those bytes are the
//! Merkle leaf data, so [`encode`] is deterministic (fixed field order, object keys of `details`
//! sorted) and [`decode`] reads back only what verification needs, with size and depth bounds.
//! The JSON layout lives in [`crate::ocsf`].

use serde_json::Value;

use crate::tree::Hash;

pub use crate::ocsf::{decode, encode, ParsedEntry};

/// Largest entry accepted by [`encode`] and [`decode`] (one line of an export).
pub const MAX_ENTRY_BYTES: usize = 1 << 20;
/// Deepest JSON nesting accepted by [`decode`].
pub const MAX_ENTRY_DEPTH: usize = 64;
/// Deepest nesting allowed inside [`AuditEvent::details`], so encoded entries stay decodable.
pub const MAX_DETAILS_DEPTH: usize = 32;

/// Why an event could not be encoded or an entry could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum EntryError {
    /// The entry is over [`MAX_ENTRY_BYTES`].
    #[error("entry is {len} bytes, over the {max}-byte limit")]
    TooLarge {
        /// Size of the entry.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The JSON nests deeper than allowed.
    #[error("entry nests deeper than {max} levels")]
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// `details` is not a JSON object.
    #[error("event details must be a JSON object")]
    DetailsNotObject,
    /// Entry 0 has no predecessor; every later entry must name one.
    #[error("entry {seq}: {problem}")]
    Chain {
        /// The sequence number being encoded.
        seq: u64,
        /// What is wrong with `prev`.
        problem: &'static str,
    },
    /// The bytes are not an OCSF audit entry.
    #[error("not an audit entry: {0}")]
    Invalid(String),
}

/// One thing that happened in warden, before it gets its place in the log.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    /// Unique id of the event (`metadata.uid`), chosen by the caller (a UUID).
    pub uid: String,
    /// When it happened, Unix epoch milliseconds (`time`).
    pub time_ms: i64,
    /// Who did it and how they were authorised.
    pub actor: Actor,
    /// Where the request came from (`src_endpoint.ip`).
    pub src_ip: Option<String>,
    /// Whether it succeeded (`status_id`).
    pub outcome: Outcome,
    /// Why it failed, or other status detail (`status_detail`).
    pub status_detail: Option<String>,
    /// A human-readable summary (`message`).
    pub message: Option<String>,
    /// The class-specific part: API call, authentication or account change.
    pub activity: Activity,
    /// Free warden-specific fields, stored under `unmapped.warden.details`; must be an object.
    pub details: Option<Value>,
}

/// Success or failure of the recorded action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The action happened.
    Success,
    /// The action was attempted and refused or failed.
    Failure,
}

/// Who performed an action.
#[derive(Debug, Clone, PartialEq)]
pub struct Actor {
    /// The user, when known (`actor.user`).
    pub user: Option<User>,
    /// How the request was authenticated.
    pub auth: ActorAuth,
    /// The access-control decision taken for this request (`actor.authorizations`).
    pub authorization: Option<Authorization>,
}

/// A user account (`user` objects).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct User {
    /// Stable account id (`uid`).
    pub uid: Option<String>,
    /// Login name (`name`).
    pub name: Option<String>,
}

/// How a request was authenticated. Identifiers only: never a token or key secret.
#[derive(Debug, Clone, PartialEq)]
pub enum ActorAuth {
    /// A browser or CLI session (`actor.session.uid`).
    Session {
        /// The session's id (not its cookie value).
        session_uid: Option<String>,
    },
    /// An API key (`actor.session.credential_uid`).
    ApiKey {
        /// The key's public id.
        key_uid: String,
    },
    /// No credentials were presented.
    Anonymous,
}

/// A Cedar authorisation decision and the policies that determined it.
#[derive(Debug, Clone, PartialEq)]
pub struct Authorization {
    /// Allow or deny.
    pub decision: Decision,
    /// Ids of the determining policies (empty for a default deny).
    pub policy_ids: Vec<String>,
}

/// The outcome of an authorisation check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The request was permitted.
    Allow,
    /// The request was forbidden.
    Deny,
}

/// The class-specific part of an event.
#[derive(Debug, Clone, PartialEq)]
pub enum Activity {
    /// OCSF 6003 API Activity: a state change or an authorisation decision on an API call.
    Api(ApiCall),
    /// OCSF 3002 Authentication: a logon or logoff.
    Authentication(Authentication),
    /// OCSF 3001 Account Change: a change to a user account, its keys or roles.
    AccountChange(AccountChange),
}

/// An API call (OCSF class 6003).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiCall {
    /// Create, read, update, delete or other (`activity_id`).
    pub kind: ApiActivity,
    /// The action name, such as `registry.version.quarantine` (`api.operation`).
    pub operation: String,
    /// The request id (`api.request.uid`).
    pub request_uid: Option<String>,
    /// What the call touched (`resources`).
    pub resources: Vec<Resource>,
}

/// OCSF API Activity activity ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiActivity {
    /// 1: Create.
    Create,
    /// 2: Read.
    Read,
    /// 3: Update.
    Update,
    /// 4: Delete.
    Delete,
    /// 99: Other.
    Other,
}

/// A resource an API call touched.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    /// Its id (`uid`).
    pub uid: String,
    /// Its kind, such as `model_version` (`type`).
    pub kind: String,
    /// Its display name (`name`).
    pub name: Option<String>,
}

/// A logon or logoff (OCSF class 3002).
#[derive(Debug, Clone, PartialEq)]
pub struct Authentication {
    /// Logon or logoff.
    pub kind: AuthActivity,
    /// The account being authenticated (`user`).
    pub user: User,
    /// The primary method used.
    pub method: AuthMethod,
    /// Whether a second factor was used (`is_mfa`).
    pub mfa: bool,
}

/// OCSF Authentication activity ids used by warden.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthActivity {
    /// 1: Logon.
    Logon,
    /// 2: Logoff.
    Logoff,
}

/// How a user authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// Local password (argon2).
    Password,
    /// Time-based one-time password.
    Totp,
    /// An OpenID Connect provider.
    Oidc,
    /// An API key.
    ApiKey,
}

/// A change to an account (OCSF class 3001).
#[derive(Debug, Clone, PartialEq)]
pub struct AccountChange {
    /// What changed.
    pub change: AccountChangeKind,
    /// The account that changed (`user`).
    pub user: User,
}

/// The account changes warden records.
#[derive(Debug, Clone, PartialEq)]
pub enum AccountChangeKind {
    /// 1: Create.
    UserCreated,
    /// 2: Enable.
    UserEnabled,
    /// 3: Password Change.
    PasswordChanged,
    /// 5: Disable.
    UserDisabled,
    /// 6: Delete.
    UserDeleted,
    /// 7: Attach Policy (the role is the policy); `previous` goes under `unmapped.warden`.
    RoleChanged {
        /// The role now held.
        role: String,
        /// The role held before, if any.
        previous: Option<String>,
    },
    /// 8: Detach Policy.
    RoleRevoked {
        /// The role removed.
        role: String,
    },
    /// 10: MFA Factor Enable.
    MfaEnabled,
    /// 11: MFA Factor Disable.
    MfaDisabled,
    /// 99: Other (`API Key Create`); the key id is `user.credential_uid`.
    ApiKeyCreated {
        /// The key's public id.
        key_uid: String,
    },
    /// 99: Other (`API Key Revoke`).
    ApiKeyRevoked {
        /// The key's public id.
        key_uid: String,
    },
}

impl AuditEvent {
    /// A successful API call by `actor` with no resources, source or details yet.
    pub fn api(
        uid: impl Into<String>,
        time_ms: i64,
        actor: Actor,
        kind: ApiActivity,
        operation: impl Into<String>,
    ) -> Self {
        let call = ApiCall { kind, operation: operation.into(), request_uid: None, resources: Vec::new() };
        Self::new(uid.into(), time_ms, actor, Activity::Api(call))
    }

    /// A successful logon or logoff of `user`.
    pub fn authentication(
        uid: impl Into<String>,
        time_ms: i64,
        kind: AuthActivity,
        user: User,
        method: AuthMethod,
        mfa: bool,
    ) -> Self {
        let actor = Actor { user: Some(user.clone()), auth: ActorAuth::Anonymous, authorization: None };
        let auth = Authentication { kind, user, method, mfa };
        Self::new(uid.into(), time_ms, actor, Activity::Authentication(auth))
    }

    /// A successful change to `user`'s account made by `actor`.
    pub fn account_change(
        uid: impl Into<String>,
        time_ms: i64,
        actor: Actor,
        change: AccountChangeKind,
        user: User,
    ) -> Self {
        Self::new(uid.into(), time_ms, actor, Activity::AccountChange(AccountChange { change, user }))
    }

    fn new(uid: String, time_ms: i64, actor: Actor, activity: Activity) -> Self {
        AuditEvent {
            uid,
            time_ms,
            actor,
            src_ip: None,
            outcome: Outcome::Success,
            status_detail: None,
            message: None,
            activity,
            details: None,
        }
    }

    /// The same event marked as failed, with the reason as `status_detail`.
    #[must_use]
    pub fn failed(mut self, detail: impl Into<String>) -> Self {
        self.outcome = Outcome::Failure;
        self.status_detail = Some(detail.into());
        self
    }

    /// The same event with the caller's IP address.
    #[must_use]
    pub fn with_src_ip(mut self, ip: impl Into<String>) -> Self {
        self.src_ip = Some(ip.into());
        self
    }

    /// The same event with warden-specific details (a JSON object).
    #[must_use]
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// The same API event with one more resource; other classes are returned unchanged.
    #[must_use]
    pub fn with_resource(mut self, resource: Resource) -> Self {
        if let Activity::Api(call) = &mut self.activity {
            call.resources.push(resource);
        }
        self
    }

    /// The same API event with its request id; other classes are returned unchanged.
    #[must_use]
    pub fn with_request_uid(mut self, request_uid: impl Into<String>) -> Self {
        if let Activity::Api(call) = &mut self.activity {
            call.request_uid = Some(request_uid.into());
        }
        self
    }
}

impl Actor {
    /// A user acting through a session.
    pub fn session(user: User, session_uid: Option<String>) -> Self {
        Actor { user: Some(user), auth: ActorAuth::Session { session_uid }, authorization: None }
    }

    /// A user acting through an API key.
    pub fn api_key(user: User, key_uid: impl Into<String>) -> Self {
        Actor { user: Some(user), auth: ActorAuth::ApiKey { key_uid: key_uid.into() }, authorization: None }
    }

    /// A caller that presented no credentials.
    pub fn anonymous() -> Self {
        Actor { user: None, auth: ActorAuth::Anonymous, authorization: None }
    }

    /// The same actor with the authorisation decision taken for the request.
    #[must_use]
    pub fn authorized(mut self, decision: Decision, policy_ids: Vec<String>) -> Self {
        self.authorization = Some(Authorization { decision, policy_ids });
        self
    }
}

impl User {
    /// A user with both id and name.
    pub fn new(uid: impl Into<String>, name: impl Into<String>) -> Self {
        User { uid: Some(uid.into()), name: Some(name.into()) }
    }
}

/// The `prev` a new entry at `seq` must carry: `None` for entry 0, else the previous leaf hash.
pub(crate) fn check_prev(seq: u64, prev: Option<&Hash>) -> Result<(), EntryError> {
    match (seq, prev) {
        (0, Some(_)) => Err(EntryError::Chain { seq, problem: "the first entry has no predecessor" }),
        (1.., None) => Err(EntryError::Chain { seq, problem: "missing the previous entry's leaf hash" }),
        _ => Ok(()),
    }
}
