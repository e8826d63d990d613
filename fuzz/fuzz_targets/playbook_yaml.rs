//! Fuzz target: the YAML of playbooks (administrators upload them through the API) and of
//! incident rules. Arbitrary text must give a playbook or a list of problems, and rules or an
//! error: never a panic, a hang or unbounded memory (alias bombs included). A playbook that
//! parses is matched against a finding and serialised, as the server does with it.
#![no_main]

use warden_core::Severity;
use warden_response::playbook::{self as spec, FindingFacts};
use warden_response::rules::{AssetFacts, Candidate, RuleSet};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let asset = AssetFacts { kind: "model".into(), sensitivity: 2, tags: vec!["production".into()] };
    let findings = [FindingFacts { rule_id: "pickle.dangerous-global".into(), severity: Severity::Critical, source: "registry_scan".into() }];
    match spec::parse(&text) {
        Ok(playbook) => {
            let _ = playbook.trigger.matches(&findings, Some(&asset), "asset:fuzz");
            serde_json::to_string(&playbook).expect("a valid playbook serialises");
        }
        Err(issues) => {
            assert!(!issues.is_empty(), "a refused playbook names at least one problem");
            let _ = spec::describe(&issues);
        }
    }
    if let Ok(rules) = RuleSet::parse(&text) {
        let candidate = Candidate { rule_id: "pickle.dangerous-global", severity: Severity::High, source: "registry_scan", asset: Some(&asset) };
        let _ = rules.first_match(&candidate);
    }
});
