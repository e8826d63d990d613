//! Tests of the OCSF entry encoding: field layout per class, the chain, bounds on decoding.

use serde_json::{Value, json};

use super::*;
use crate::entry::{AccountChangeKind, Actor, AuditEvent, User};
use crate::testutil::event;
use crate::tree::leaf_hash;

fn prev() -> Hash {
    leaf_hash(b"the entry before")
}

fn as_json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

#[test]
fn entries_snapshot_one_per_class() {
    let lines: Vec<String> = (0..5)
        .map(|i| {
            let p = (i > 0).then(prev);
            String::from_utf8(encode(i, p.as_ref(), &event(i)).unwrap()).unwrap()
        })
        .collect();
    insta::assert_snapshot!(lines.join("\n"));
}

#[test]
fn encoding_is_deterministic_and_sorts_detail_keys() {
    let a = event(0).with_details(json!({"zeta": 1, "alpha": {"y": 2, "b": [3, {"d": 4, "c": 5}]}}));
    let bytes = encode(7, Some(&prev()), &a).unwrap();
    assert_eq!(bytes, encode(7, Some(&prev()), &a.clone()).unwrap());
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains(r#""details":{"alpha":{"b":[3,{"c":5,"d":4}],"y":2},"zeta":1}"#), "{text}");
}

#[test]
fn ocsf_ids_follow_the_schema() {
    let cases = [(0, 6003, 6, 3), (1, 6003, 6, 4), (2, 3002, 3, 1), (4, 3001, 3, 7)];
    for (i, class, category, activity) in cases {
        let v = as_json(&encode(i, (i > 0).then(prev).as_ref(), &event(i)).unwrap());
        assert_eq!(v["class_uid"], class, "event {i}");
        assert_eq!(v["category_uid"], category);
        assert_eq!(v["activity_id"], activity);
        assert_eq!(v["type_uid"], class * 100 + activity);
        assert_eq!(v["metadata"]["version"], "1.3.0");
        assert_eq!(v["metadata"]["sequence"], i);
        assert_eq!(v["metadata"]["uid"], format!("evt-{i}"));
    }
    let denied = as_json(&encode(1, Some(&prev()), &event(1)).unwrap());
    assert_eq!(denied["status_id"], 2);
    assert_eq!(denied["severity_id"], 2);
    assert_eq!(denied["actor"]["authorizations"], json!([{"decision": "deny"}]));
    assert_eq!(denied["actor"]["session"]["credential_uid"], "key-42");
    assert_eq!(denied["unmapped"]["warden"]["auth"], "api_key");
    let logon = as_json(&encode(2, Some(&prev()), &event(2)).unwrap());
    assert_eq!(logon["is_mfa"], true);
    assert_eq!(logon["auth_factors"][0]["factor_type_id"], 11);
    assert_eq!(logon["auth_factors"][1]["factor_type_id"], 7);
}

#[test]
fn api_keys_and_anonymous_callers_are_encoded() {
    let created = AuditEvent::account_change(
        "e",
        1,
        Actor::anonymous(),
        AccountChangeKind::ApiKeyCreated { key_uid: "key-7".into() },
        User::new("u-1", "alice"),
    );
    let v = as_json(&encode(0, None, &created).unwrap());
    assert_eq!(v["activity_id"], 99);
    assert_eq!(v["activity_name"], "API Key Create");
    assert_eq!(v["user"]["credential_uid"], "key-7");
    assert_eq!(v["actor"]["user"]["type"], "Anonymous");
    assert_eq!(v["unmapped"]["warden"]["auth"], "anonymous");
    assert!(v["unmapped"]["warden"].get("prev").is_none());
}

#[test]
fn encode_refuses_broken_chains_and_bad_details() {
    assert!(matches!(encode(0, Some(&prev()), &event(0)), Err(EntryError::Chain { seq: 0, .. })));
    assert!(matches!(encode(3, None, &event(0)), Err(EntryError::Chain { seq: 3, .. })));
    let list = event(0).with_details(json!([1, 2]));
    assert!(matches!(encode(0, None, &list), Err(EntryError::DetailsNotObject)));
    let mut deep = json!(1);
    for _ in 0..40 {
        deep = json!({ "x": deep });
    }
    assert!(matches!(encode(0, None, &event(0).with_details(deep)), Err(EntryError::TooDeep { .. })));
    let huge = event(0).with_details(json!({ "blob": "a".repeat(MAX_ENTRY_BYTES) }));
    assert!(matches!(encode(0, None, &huge), Err(EntryError::TooLarge { .. })));
}

#[test]
fn decode_reads_back_what_encode_wrote() {
    let bytes = encode(12, Some(&prev()), &event(0)).unwrap();
    let parsed = decode(&bytes).unwrap();
    assert_eq!(parsed.seq, 12);
    assert_eq!(parsed.prev_hash(), Some(prev()));
    assert_eq!(parsed.uid, "evt-0");
    assert_eq!(parsed.version, OCSF_VERSION);
    assert_eq!(parsed.time_ms, 1_717_000_000_000);
    assert_eq!(parsed.class_uid, CLASS_API_ACTIVITY);
    assert_eq!(parsed.activity_id, 3);
    assert_eq!(parsed.status_id, Some(1));
    assert_eq!(parsed.operation.as_deref(), Some("registry.version.quarantine"));
    let first = decode(&encode(0, None, &event(2)).unwrap()).unwrap();
    assert_eq!((first.prev, first.class_uid, first.operation), (None, CLASS_AUTHENTICATION, None));
}

#[test]
fn decode_rejects_what_is_not_an_entry() {
    let too_big = vec![b' '; MAX_ENTRY_BYTES + 1];
    assert!(matches!(decode(&too_big), Err(EntryError::TooLarge { .. })));
    let deep = format!("{}{}", "[".repeat(MAX_ENTRY_DEPTH + 1), "]".repeat(MAX_ENTRY_DEPTH + 1));
    assert!(matches!(decode(deep.as_bytes()), Err(EntryError::TooDeep { .. })));
    // Brackets inside strings do not count as nesting.
    let quoted = format!(r#"{{"x":"{}"}}"#, "[".repeat(200));
    assert!(matches!(decode(quoted.as_bytes()), Err(EntryError::Invalid(_))));
    let bads: [&[u8]; 6] = [b"not json", b"{}", b"[]", b"\xff\xfe", b"", br#"{"metadata":{"sequence":-1}}"#];
    for bad in bads {
        assert!(matches!(decode(bad), Err(EntryError::Invalid(_))), "{:?}", String::from_utf8_lossy(bad));
    }
    // A repeated key could show one value to us and another to a different parser.
    let text = String::from_utf8(encode(1, Some(&prev()), &event(1)).unwrap()).unwrap();
    let doubled = text.replacen(r#""time":"#, r#""time":1,"time":"#, 1);
    assert!(decode(doubled.as_bytes()).is_err());
}

#[test]
fn a_garbled_prev_is_kept_but_is_no_hash() {
    let text = String::from_utf8(encode(1, Some(&prev()), &event(1)).unwrap()).unwrap();
    let encoded = crate::tree::hash_to_base64(&prev());
    let garbled = text.replace(&encoded, "not-base64!");
    let parsed = decode(garbled.as_bytes()).unwrap();
    assert_eq!(parsed.prev.as_deref(), Some("not-base64!"));
    assert_eq!(parsed.prev_hash(), None);
}
