//! Events and logs shared by the unit tests.

use serde_json::json;

use crate::entry::{
    AccountChangeKind, Actor, ApiActivity, AuditEvent, AuthActivity, AuthMethod, Decision, Resource, User,
};
use crate::memory::MemoryLog;

/// One event of each shape the server records, varied by `i`.
pub fn event(i: u64) -> AuditEvent {
    let alice = User::new(format!("u-{}", i % 3), "alice");
    let time = 1_717_000_000_000 + i as i64 * 1000;
    match i % 5 {
        0 => AuditEvent::api(
            format!("evt-{i}"),
            time,
            Actor::session(alice, Some(format!("sess-{i}"))).authorized(Decision::Allow, vec!["policy0".into()]),
            ApiActivity::Update,
            "registry.version.quarantine",
        )
        .with_src_ip("192.0.2.7")
        .with_request_uid(format!("req-{i}"))
        .with_resource(Resource { uid: format!("mv-{i}"), kind: "model_version".into(), name: Some("resnet 1.2".into()) })
        .with_details(json!({"reason": "pickle scan failed", "finding_count": i})),
        1 => AuditEvent::api(
            format!("evt-{i}"),
            time,
            Actor::api_key(User::new("svc-1", "ci"), "key-42").authorized(Decision::Deny, vec![]),
            ApiActivity::Delete,
            "registry.model.delete",
        )
        .failed("forbidden"),
        2 => AuditEvent::authentication(format!("evt-{i}"), time, AuthActivity::Logon, alice, AuthMethod::Password, true)
            .with_src_ip("198.51.100.2"),
        3 => AuditEvent::authentication(format!("evt-{i}"), time, AuthActivity::Logon, alice, AuthMethod::Oidc, false)
            .failed("INVALID_CREDENTIALS"),
        _ => AuditEvent::account_change(
            format!("evt-{i}"),
            time,
            Actor::session(User::new("u-0", "admin"), None),
            AccountChangeKind::RoleChanged { role: "auditor".into(), previous: Some("data_scientist".into()) },
            User::new("u-2", "bob"),
        ),
    }
}

/// A log of `n` entries built from [`event`].
pub fn log_of(n: u64) -> MemoryLog {
    let mut log = MemoryLog::new();
    for i in 0..n {
        log.append(&event(i)).expect("sample events encode");
    }
    log
}

/// The export of `log` as lines (without their newlines).
pub fn lines_of(log: &MemoryLog) -> Vec<Vec<u8>> {
    log.entries().map(<[u8]>::to_vec).collect()
}

/// Lines joined into an export.
pub fn join(lines: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in lines {
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out
}
