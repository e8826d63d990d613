//! The OCSF 1.3 JSON layout of an entry: [`encode`] writes it, [`decode`] reads back the parts
//! verification and the API need.
//!
//! Field order is the order of the `Wire` struct below, so the same event always gives the same
//! bytes; `details` objects are written with their keys sorted whatever map type serde_json uses.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use crate::entry::{
    AccountChangeKind, Activity, ActorAuth, ApiActivity, AuditEvent, AuthActivity, AuthMethod,
    Decision, EntryError, Outcome, User, MAX_DETAILS_DEPTH, MAX_ENTRY_BYTES, MAX_ENTRY_DEPTH,
    check_prev,
};
use crate::tree::Hash;

/// The OCSF schema version every entry declares.
pub const OCSF_VERSION: &str = "1.3.0";
/// `metadata.product.name` and `vendor_name`.
pub const PRODUCT_NAME: &str = "warden";

/// OCSF class 6003 API Activity.
pub const CLASS_API_ACTIVITY: u32 = 6003;
/// OCSF class 3002 Authentication.
pub const CLASS_AUTHENTICATION: u32 = 3002;
/// OCSF class 3001 Account Change.
pub const CLASS_ACCOUNT_CHANGE: u32 = 3001;

fn skip<T>(o: &Option<T>) -> bool {
    o.is_none()
}

#[derive(Serialize)]
struct Wire<'a> {
    metadata: Metadata<'a>,
    time: i64,
    category_uid: u32,
    category_name: &'static str,
    class_uid: u32,
    class_name: &'static str,
    activity_id: u32,
    activity_name: &'static str,
    type_uid: u64,
    type_name: String,
    severity_id: u8,
    severity: &'static str,
    status_id: u8,
    status: &'static str,
    #[serde(skip_serializing_if = "skip")]
    status_detail: Option<&'a str>,
    #[serde(skip_serializing_if = "skip")]
    message: Option<&'a str>,
    actor: WireActor<'a>,
    #[serde(skip_serializing_if = "skip")]
    api: Option<WireApi<'a>>,
    #[serde(skip_serializing_if = "skip")]
    user: Option<WireUser<'a>>,
    #[serde(skip_serializing_if = "skip")]
    is_mfa: Option<bool>,
    #[serde(skip_serializing_if = "skip")]
    auth_protocol_id: Option<u8>,
    #[serde(skip_serializing_if = "skip")]
    auth_protocol: Option<&'static str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    auth_factors: Vec<AuthFactor>,
    #[serde(skip_serializing_if = "skip")]
    service: Option<Named<'a>>,
    #[serde(skip_serializing_if = "skip")]
    policy: Option<Named<'a>>,
    #[serde(skip_serializing_if = "skip")]
    src_endpoint: Option<Endpoint<'a>>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    resources: Vec<WireResource<'a>>,
    unmapped: Unmapped<'a>,
}

#[derive(Serialize)]
struct Metadata<'a> {
    version: &'static str,
    product: Product,
    uid: &'a str,
    sequence: u64,
    log_name: &'static str,
}

#[derive(Serialize)]
struct Product {
    name: &'static str,
    vendor_name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct WireActor<'a> {
    #[serde(skip_serializing_if = "skip")]
    user: Option<WireUser<'a>>,
    #[serde(skip_serializing_if = "skip")]
    session: Option<Session<'a>>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    authorizations: Vec<WireAuthorization<'a>>,
}

#[derive(Serialize, Default)]
struct WireUser<'a> {
    #[serde(skip_serializing_if = "skip")]
    uid: Option<&'a str>,
    #[serde(skip_serializing_if = "skip")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "skip")]
    credential_uid: Option<&'a str>,
    #[serde(skip_serializing_if = "skip")]
    type_id: Option<u8>,
    #[serde(rename = "type", skip_serializing_if = "skip")]
    kind: Option<&'static str>,
}

#[derive(Serialize)]
struct Session<'a> {
    #[serde(skip_serializing_if = "skip")]
    uid: Option<&'a str>,
    #[serde(skip_serializing_if = "skip")]
    credential_uid: Option<&'a str>,
}

#[derive(Serialize)]
struct WireAuthorization<'a> {
    decision: &'static str,
    #[serde(skip_serializing_if = "skip")]
    policy: Option<PolicyUid<'a>>,
}

#[derive(Serialize)]
struct PolicyUid<'a> {
    uid: &'a str,
}

#[derive(Serialize)]
struct WireApi<'a> {
    operation: &'a str,
    #[serde(skip_serializing_if = "skip")]
    request: Option<RequestUid<'a>>,
    service: Named<'a>,
}

#[derive(Serialize)]
struct RequestUid<'a> {
    uid: &'a str,
}

#[derive(Serialize)]
struct Named<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct AuthFactor {
    factor_type: &'static str,
    factor_type_id: u8,
    #[serde(skip_serializing_if = "skip")]
    is_totp: Option<bool>,
}

#[derive(Serialize)]
struct Endpoint<'a> {
    ip: &'a str,
}

#[derive(Serialize)]
struct WireResource<'a> {
    uid: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(skip_serializing_if = "skip")]
    name: Option<&'a str>,
}

#[derive(Serialize)]
struct Unmapped<'a> {
    warden: WardenFields<'a>,
}

#[derive(Serialize)]
struct WardenFields<'a> {
    #[serde(skip_serializing_if = "skip")]
    prev: Option<String>,
    auth: &'static str,
    #[serde(skip_serializing_if = "skip")]
    previous_role: Option<&'a str>,
    #[serde(skip_serializing_if = "skip")]
    details: Option<Canonical<'a>>,
}

/// A JSON value written with object keys sorted, so `details` encodes the same way whichever
/// map type serde_json was built with.
struct Canonical<'a>(&'a Value);

impl Serialize for Canonical<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                let mut out = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    out.serialize_entry(k, &Canonical(v))?;
                }
                out.end()
            }
            Value::Array(items) => {
                let mut out = s.serialize_seq(Some(items.len()))?;
                for v in items {
                    out.serialize_element(&Canonical(v))?;
                }
                out.end()
            }
            other => other.serialize(s),
        }
    }
}

fn value_depth(v: &Value) -> usize {
    match v {
        Value::Object(m) => 1 + m.values().map(value_depth).max().unwrap_or(0),
        Value::Array(a) => 1 + a.iter().map(value_depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn wire_user(u: &User) -> WireUser<'_> {
    WireUser { uid: u.uid.as_deref(), name: u.name.as_deref(), ..WireUser::default() }
}

/// Class uid, class name, category uid, category name, activity id and activity name.
type Classification = (u32, &'static str, u32, &'static str, u32, &'static str);

fn classify(activity: &Activity) -> Classification {
    match activity {
        Activity::Api(call) => {
            let (id, name) = match call.kind {
                ApiActivity::Create => (1, "Create"),
                ApiActivity::Read => (2, "Read"),
                ApiActivity::Update => (3, "Update"),
                ApiActivity::Delete => (4, "Delete"),
                ApiActivity::Other => (99, "Other"),
            };
            (CLASS_API_ACTIVITY, "API Activity", 6, "Application Activity", id, name)
        }
        Activity::Authentication(a) => {
            let (id, name) = match a.kind {
                AuthActivity::Logon => (1, "Logon"),
                AuthActivity::Logoff => (2, "Logoff"),
            };
            (CLASS_AUTHENTICATION, "Authentication", 3, "Identity & Access Management", id, name)
        }
        Activity::AccountChange(c) => {
            let (id, name) = match &c.change {
                AccountChangeKind::UserCreated => (1, "Create"),
                AccountChangeKind::UserEnabled => (2, "Enable"),
                AccountChangeKind::PasswordChanged => (3, "Password Change"),
                AccountChangeKind::UserDisabled => (5, "Disable"),
                AccountChangeKind::UserDeleted => (6, "Delete"),
                AccountChangeKind::RoleChanged { .. } => (7, "Attach Policy"),
                AccountChangeKind::RoleRevoked { .. } => (8, "Detach Policy"),
                AccountChangeKind::MfaEnabled => (10, "MFA Factor Enable"),
                AccountChangeKind::MfaDisabled => (11, "MFA Factor Disable"),
                AccountChangeKind::ApiKeyCreated { .. } => (99, "API Key Create"),
                AccountChangeKind::ApiKeyRevoked { .. } => (99, "API Key Revoke"),
            };
            (CLASS_ACCOUNT_CHANGE, "Account Change", 3, "Identity & Access Management", id, name)
        }
    }
}

/// The entry bytes for `event` at position `seq`, chained to `prev` (the previous entry's leaf
/// hash; `None` only for entry 0). Deterministic: the same inputs give the same bytes.
pub fn encode(seq: u64, prev: Option<&Hash>, event: &AuditEvent) -> Result<Vec<u8>, EntryError> {
    check_prev(seq, prev)?;
    if let Some(details) = &event.details {
        if !details.is_object() {
            return Err(EntryError::DetailsNotObject);
        }
        if value_depth(details) > MAX_DETAILS_DEPTH {
            return Err(EntryError::TooDeep { max: MAX_DETAILS_DEPTH });
        }
    }
    let (class_uid, class_name, category_uid, category_name, activity_id, activity_name) =
        classify(&event.activity);
    let denied = matches!(&event.actor.authorization, Some(a) if a.decision == Decision::Deny);
    let failed = event.outcome == Outcome::Failure;
    let (severity_id, severity) = if failed || denied { (2, "Low") } else { (1, "Informational") };
    let (status_id, status) = if failed { (2, "Failure") } else { (1, "Success") };

    let (auth, session) = match &event.actor.auth {
        ActorAuth::Session { session_uid } => {
            ("session", session_uid.as_deref().map(|uid| Session { uid: Some(uid), credential_uid: None }))
        }
        ActorAuth::ApiKey { key_uid } => ("api_key", Some(Session { uid: None, credential_uid: Some(key_uid) })),
        ActorAuth::Anonymous => ("anonymous", None),
    };
    let actor_user = match (&event.actor.user, &event.actor.auth) {
        (Some(u), _) => Some(wire_user(u)),
        // OCSF wants at least one of user/session/app on an actor: name the caller's kind.
        (None, ActorAuth::Anonymous) => Some(WireUser { type_id: Some(99), kind: Some("Anonymous"), ..WireUser::default() }),
        (None, _) => None,
    };
    let authorizations = match &event.actor.authorization {
        None => Vec::new(),
        Some(a) => {
            let decision = if a.decision == Decision::Allow { "allow" } else { "deny" };
            if a.policy_ids.is_empty() {
                vec![WireAuthorization { decision, policy: None }]
            } else {
                a.policy_ids.iter().map(|uid| WireAuthorization { decision, policy: Some(PolicyUid { uid }) }).collect()
            }
        }
    };

    let mut wire = Wire {
        metadata: Metadata {
            version: OCSF_VERSION,
            product: Product { name: PRODUCT_NAME, vendor_name: PRODUCT_NAME, version: env!("CARGO_PKG_VERSION") },
            uid: &event.uid,
            sequence: seq,
            log_name: "audit",
        },
        time: event.time_ms,
        category_uid,
        category_name,
        class_uid,
        class_name,
        activity_id,
        activity_name,
        type_uid: u64::from(class_uid) * 100 + u64::from(activity_id),
        type_name: format!("{class_name}: {activity_name}"),
        severity_id,
        severity,
        status_id,
        status,
        status_detail: event.status_detail.as_deref(),
        message: event.message.as_deref(),
        actor: WireActor { user: actor_user, session, authorizations },
        api: None,
        user: None,
        is_mfa: None,
        auth_protocol_id: None,
        auth_protocol: None,
        auth_factors: Vec::new(),
        service: None,
        policy: None,
        src_endpoint: event.src_ip.as_deref().map(|ip| Endpoint { ip }),
        resources: Vec::new(),
        unmapped: Unmapped {
            warden: WardenFields {
                prev: prev.map(|h| BASE64.encode(h.0)),
                auth,
                previous_role: None,
                details: event.details.as_ref().map(Canonical),
            },
        },
    };
    match &event.activity {
        Activity::Api(call) => {
            wire.api = Some(WireApi {
                operation: &call.operation,
                request: call.request_uid.as_deref().map(|uid| RequestUid { uid }),
                service: Named { name: PRODUCT_NAME },
            });
            wire.resources = call
                .resources
                .iter()
                .map(|r| WireResource { uid: &r.uid, kind: &r.kind, name: r.name.as_deref() })
                .collect();
        }
        Activity::Authentication(a) => {
            wire.user = Some(wire_user(&a.user));
            wire.is_mfa = Some(a.mfa);
            let (protocol_id, protocol, factor) = match a.method {
                AuthMethod::Password => (99, "Password", Some(("Password", 11, None))),
                AuthMethod::Totp => (99, "TOTP", Some(("OTP", 7, Some(true)))),
                AuthMethod::Oidc => (4, "OpenID", None),
                AuthMethod::ApiKey => (99, "API Key", None),
            };
            wire.auth_protocol_id = Some(protocol_id);
            wire.auth_protocol = Some(protocol);
            let mut factors: Vec<AuthFactor> = factor
                .map(|(factor_type, factor_type_id, is_totp)| AuthFactor { factor_type, factor_type_id, is_totp })
                .into_iter()
                .collect();
            // warden's only second factor is TOTP.
            if a.mfa && a.method != AuthMethod::Totp {
                factors.push(AuthFactor { factor_type: "OTP", factor_type_id: 7, is_totp: Some(true) });
            }
            wire.auth_factors = factors;
            wire.service = Some(Named { name: PRODUCT_NAME });
        }
        Activity::AccountChange(c) => {
            let mut user = wire_user(&c.user);
            match &c.change {
                AccountChangeKind::RoleChanged { role, previous } => {
                    wire.policy = Some(Named { name: role });
                    wire.unmapped.warden.previous_role = previous.as_deref();
                }
                AccountChangeKind::RoleRevoked { role } => wire.policy = Some(Named { name: role }),
                AccountChangeKind::ApiKeyCreated { key_uid } | AccountChangeKind::ApiKeyRevoked { key_uid } => {
                    user.credential_uid = Some(key_uid);
                }
                _ => {}
            }
            wire.user = Some(user);
        }
    }
    let bytes = serde_json::to_vec(&wire).map_err(|e| EntryError::Invalid(e.to_string()))?;
    if bytes.len() > MAX_ENTRY_BYTES {
        return Err(EntryError::TooLarge { len: bytes.len(), max: MAX_ENTRY_BYTES });
    }
    Ok(bytes)
}

/// What [`decode`] reads back from an entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedEntry {
    /// `metadata.sequence`: the 0-based position in the log.
    pub seq: u64,
    /// `unmapped.warden.prev` as written (base64), if present and non-empty.
    pub prev: Option<String>,
    /// `metadata.uid`.
    pub uid: String,
    /// `metadata.version`.
    pub version: String,
    /// `time`, Unix epoch milliseconds.
    pub time_ms: i64,
    /// `class_uid` (6003, 3002, 3001 for entries warden writes).
    pub class_uid: u32,
    /// `activity_id`.
    pub activity_id: u32,
    /// `status_id`, if present.
    pub status_id: Option<u8>,
    /// `api.operation`, for API Activity entries.
    pub operation: Option<String>,
}

impl ParsedEntry {
    /// The previous entry's leaf hash, when `prev` is present and is base64 of 32 bytes.
    pub fn prev_hash(&self) -> Option<Hash> {
        let bytes = BASE64.decode(self.prev.as_deref()?).ok()?;
        Some(Hash(bytes.try_into().ok()?))
    }
}

#[derive(Deserialize)]
struct DecodeEntry {
    metadata: DecodeMetadata,
    time: i64,
    class_uid: u32,
    activity_id: u32,
    status_id: Option<u8>,
    api: Option<DecodeApi>,
    unmapped: Option<DecodeUnmapped>,
}

#[derive(Deserialize)]
struct DecodeMetadata {
    sequence: u64,
    uid: String,
    version: String,
}

#[derive(Deserialize)]
struct DecodeApi {
    operation: Option<String>,
}

#[derive(Deserialize)]
struct DecodeUnmapped {
    warden: Option<DecodeWarden>,
}

#[derive(Deserialize)]
struct DecodeWarden {
    prev: Option<String>,
}

/// True when `bytes` opens more than `max` JSON objects/arrays at once (strings are skipped).
fn nests_deeper_than(bytes: &[u8], max: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in bytes {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// Reads an entry back: size-bounded ([`MAX_ENTRY_BYTES`]) and depth-bounded
/// ([`MAX_ENTRY_DEPTH`]) before any JSON parsing. Unknown fields are ignored.
pub fn decode(bytes: &[u8]) -> Result<ParsedEntry, EntryError> {
    if bytes.len() > MAX_ENTRY_BYTES {
        return Err(EntryError::TooLarge { len: bytes.len(), max: MAX_ENTRY_BYTES });
    }
    if nests_deeper_than(bytes, MAX_ENTRY_DEPTH) {
        return Err(EntryError::TooDeep { max: MAX_ENTRY_DEPTH });
    }
    let raw: DecodeEntry = serde_json::from_slice(bytes).map_err(|e| EntryError::Invalid(e.to_string()))?;
    Ok(ParsedEntry {
        seq: raw.metadata.sequence,
        prev: raw.unmapped.and_then(|u| u.warden).and_then(|w| w.prev).filter(|p| !p.is_empty()),
        uid: raw.metadata.uid,
        version: raw.metadata.version,
        time_ms: raw.time,
        class_uid: raw.class_uid,
        activity_id: raw.activity_id,
        status_id: raw.status_id,
        operation: raw.api.and_then(|a| a.operation),
    })
}

#[cfg(test)]
#[path = "ocsf_tests.rs"]
mod tests;
