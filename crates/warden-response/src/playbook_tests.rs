//! Unit tests of the playbook format: mistakes are named with their
//! field and line, and triggers match as documented.

use super::*;
use crate::glob::glob;

#[test]
fn unknown_fields_are_named_with_their_line() {
    let text = "id: x\nname: X\ntrigger:\n  rules: [a]\nsteps:\n  - action: quarantine_version\n    colour: red\n";
    let issues = parse(text).unwrap_err();
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert!(issues[0].path.starts_with("steps[0]"), "{issues:?}");
    assert_eq!(issues[0].line, Some(7), "{issues:?}");
    assert!(issues[0].message.contains("colour"), "{issues:?}");
}

#[test]
fn unknown_actions_list_the_known_ones() {
    let text = "id: x\nname: X\ntrigger: {}\nsteps:\n  - action: launch_missiles\n";
    let issues = parse(text).unwrap_err();
    assert!(issues[0].message.contains("quarantine_version"), "{issues:?}");
    assert_eq!(issues[0].line, Some(5), "{issues:?}");
}

#[test]
fn parameters_belong_to_their_action() {
    let text = "id: x\nname: X\ntrigger: {}\nsteps:\n  - action: freeze_asset\n  - action: quarantine_version\n    webhook: security\n";
    let issues = parse(text).unwrap_err();
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].path, "steps[1].webhook");
    assert_eq!(issues[0].line, Some(6));
    assert!(issues[0].message.contains("notify_webhook"), "{}", issues[0].message);
}

#[test]
fn every_semantic_problem_is_reported_at_once() {
    let text = "id: Not A Slug\nname: ''\ntrigger:\n  asset_kinds: [robot]\n  sources: [telepathy]\nsteps:\n  - action: revoke_api_key\n  - action: require_approval\n    roles: [janitor]\n    attempts: 0\n";
    let issues = parse(text).unwrap_err();
    let paths: Vec<&str> = issues.iter().map(|i| i.path.as_str()).collect();
    for wanted in ["id", "name", "trigger.asset_kinds", "trigger.sources", "steps[0].target", "steps[1].roles", "steps[1].attempts"] {
        assert!(paths.contains(&wanted), "{wanted} missing from {paths:?}");
    }
}

#[test]
fn oversized_text_is_refused_before_parsing() {
    let text = format!("id: x\nname: X\ndescription: {}\n", "a".repeat(MAX_BYTES));
    let issues = parse(&text).unwrap_err();
    assert!(issues[0].message.contains("limit"), "{issues:?}");
}

#[test]
fn globs_match_any_text_for_star_and_one_character_for_question_mark() {
    assert!(glob("pickle.*", "pickle.dangerous-global"));
    assert!(glob("*", ""));
    assert!(glob("pii.*", "pii.email"));
    assert!(!glob("pii.*", "data.pii"));
    assert!(glob("monitor.drift*", "monitor.drift"));
    assert!(glob("a?c", "abc"));
    assert!(!glob("a?c", "ac"));
    assert!(glob("*.model-*", "monitor.model-extraction"));
    assert!(!glob("pickle", "pickle.x"));
}

fn finding(rule: &str, severity: Severity, source: &str) -> FindingFacts {
    FindingFacts { rule_id: rule.into(), severity, source: source.into() }
}

#[test]
fn triggers_check_severity_rules_sources_and_the_asset() {
    let text = "id: x\nname: X\ntrigger:\n  rules: ['pickle.*']\n  min_severity: high\n  sources: [registry_scan]\n  asset_kinds: [model]\n  min_sensitivity: internal\nsteps:\n  - action: freeze_asset\n";
    let trigger = parse(text).unwrap().trigger;
    let model = AssetFacts { kind: "model".into(), tags: vec![], sensitivity: 1 };
    let hit = [finding("pickle.dangerous-global", Severity::Critical, "registry_scan")];
    assert!(trigger.matches(&hit, Some(&model), "asset:x").is_ok());
    assert!(trigger.matches(&[finding("pickle.dangerous-global", Severity::Medium, "registry_scan")], Some(&model), "asset:x").is_err());
    assert!(trigger.matches(&[finding("pickle.dangerous-global", Severity::High, "import")], Some(&model), "asset:x").is_err());
    assert!(trigger.matches(&[finding("keras.lambda-layer", Severity::High, "registry_scan")], Some(&model), "asset:x").is_err());
    let dataset = AssetFacts { kind: "dataset".into(), ..model.clone() };
    assert!(trigger.matches(&hit, Some(&dataset), "asset:x").unwrap_err().contains("dataset"));
    let public = AssetFacts { sensitivity: 0, ..model };
    assert!(trigger.matches(&hit, Some(&public), "asset:x").is_err());
    assert!(trigger.matches(&hit, None, "asset:x").is_err());
}

#[test]
fn alert_kinds_match_only_alerts() {
    let text = "id: x\nname: X\ntrigger:\n  alert_kinds: [server.login-burst]\nsteps:\n  - action: disable_user\n";
    let trigger = parse(text).unwrap().trigger;
    assert!(trigger.matches(&[finding("server.login-burst", Severity::High, "alert")], None, "user:bob").is_ok());
    assert!(trigger.matches(&[finding("server.login-burst", Severity::High, "import")], None, "user:bob").is_err());
}

#[test]
fn subjects_narrow_a_trigger_to_who_the_incident_is_about() {
    let text = "id: x\nname: X\ntrigger:\n  alert_kinds: [server.login-burst]\n  subjects: ['user:*']\nsteps:\n  - action: disable_user\n";
    let trigger = parse(text).unwrap().trigger;
    let burst = [finding("server.login-burst", Severity::High, "alert")];
    assert!(trigger.matches(&burst, None, "user:bob").is_ok());
    assert!(trigger.matches(&burst, None, "ip:10.0.0.1").unwrap_err().contains("ip:10.0.0.1"));
}

#[test]
fn backoff_doubles_and_is_capped() {
    let step: Step = serde_json::from_value(serde_json::json!({"action": "freeze_asset", "backoff_seconds": 2})).unwrap();
    assert_eq!(step.backoff_ms(1), 2000);
    assert_eq!(step.backoff_ms(2), 4000);
    assert_eq!(step.backoff_ms(3), 8000);
    assert_eq!(step.backoff_ms(40), 3_600_000);
    assert_eq!(step.attempts, 3);
    assert_eq!(step.on_failure, OnFailure::Stop);
}
