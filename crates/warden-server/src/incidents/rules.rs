//! The incident rules in force. The rule format and matching live in `warden_response::rules`
//! (re-exported here); the server adds the shipped rules (`incidents/rules.yaml`, compiled in), an
//! operator's replacement file (`warden serve --incident-rules`) and their description for people.

use std::sync::OnceLock;

use serde::Serialize;

pub use warden_response::rules::*;

/// The shipped rules file.
pub const SHIPPED: &str = include_str!("../../incidents/rules.yaml");

/// The incident rules in force, as the API and the incidents page show them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RulesInForce {
    /// `shipped` (compiled in) or `operator` (`warden serve --incident-rules FILE`).
    pub origin: &'static str,
    /// The rules, in the order they are tried: the first that matches a finding decides.
    pub rules: Vec<RuleView>,
}

/// One rule in plain words.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RuleView {
    /// Its id, recorded on the incidents it opens.
    pub id: String,
    /// The title its incidents get.
    pub title: String,
    /// What it is for.
    pub description: String,
    /// Its conditions, one line each; all must hold (none: every finding matches).
    pub conditions: Vec<String>,
}

impl RulesInForce {
    /// Describes `set`, which came from `origin`.
    pub fn of(set: &RuleSet, origin: &'static str) -> RulesInForce {
        let rules = set.rules.iter().map(|rule| RuleView { id: rule.id.clone(), title: rule.title.clone(), description: rule.description.clone(), conditions: rule.when.describe() }).collect();
        RulesInForce { origin, rules }
    }
}

/// Reads and checks an operator's rules file (`warden serve --incident-rules FILE`); the error
/// names the file and every problem in it. Files over 1 MiB are refused without being read whole.
pub fn read(path: &std::path::Path) -> Result<RuleSet, String> {
    use std::io::Read;
    let at = |e: &dyn std::fmt::Display| format!("`{}`: {e}", path.display());
    let file = std::fs::File::open(path).map_err(|e| at(&e))?;
    let mut text = String::new();
    file.take(MAX_BYTES as u64 + 1).read_to_string(&mut text).map_err(|e| at(&e))?;
    RuleSet::parse(&text).map_err(|e| at(&e))
}

/// The shipped rules, parsed once. A broken shipped file is a build defect the tests catch; at
/// run time it leaves the rule set empty (logged), so findings are still stored.
pub fn shipped() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| {
        RuleSet::parse(SHIPPED).unwrap_or_else(|err| {
            tracing::error!(%err, "the shipped incident rules do not load; no incident will be opened automatically");
            RuleSet { rules: Vec::new() }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_core::Severity;

    #[test]
    fn rules_are_described_in_plain_words() {
        let view = RulesInForce::of(shipped(), "shipped");
        assert_eq!(view.rules.len(), shipped().rules.len());
        let pii = view.rules.iter().find(|r| r.id == "pii-in-training-data").unwrap();
        assert_eq!(pii.conditions, ["severity medium or worse", "rule id pii.*", "rule id not pii.unreadable-input", "asset kind dataset or data_source"]);
        let upload = view.rules.iter().find(|r| r.id == "malicious-model-upload").unwrap();
        assert_eq!(upload.conditions, ["severity high or worse", "source registry_scan"]);
        assert!(view.rules.iter().any(|r| r.conditions.iter().any(|c| c == "asset sensitivity restricted or higher")), "{view:?}");
    }

    #[test]
    fn an_operators_file_is_read_bounded_and_its_problems_named() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("rules.yaml");
        std::fs::write(&good, SHIPPED).unwrap();
        assert_eq!(read(&good).unwrap().rules.len(), shipped().rules.len());
        let bad = dir.path().join("bad.yaml");
        std::fs::write(&bad, "rules:\n  - id: Bad Id\n    title: x\n    when: {sources: [email]}\n").unwrap();
        let err = read(&bad).unwrap_err();
        assert!(err.starts_with(&format!("`{}`", bad.display())), "{err}");
        assert!(err.contains("ids are lowercase") && err.contains("unknown source `email`") && err.contains("no_match"), "{err}");
        let big = dir.path().join("big.yaml");
        std::fs::write(&big, "#".repeat(2 << 20)).unwrap();
        assert!(read(&big).unwrap_err().contains("larger than 1 MiB"));
        assert!(read(&dir.path().join("missing.yaml")).is_err());
    }

    #[test]
    fn shipped_rules_load_and_every_example_behaves() {
        let set = RuleSet::parse(SHIPPED).unwrap_or_else(|e| panic!("{e}"));
        assert!(set.rules.len() >= 8);
        assert_eq!(shipped().rules.len(), set.rules.len());
    }

    fn candidate<'a>(rule_id: &'a str, severity: Severity, source: &'a str, asset: Option<&'a AssetFacts>) -> Candidate<'a> {
        Candidate { rule_id, severity, source, asset }
    }

    #[test]
    fn the_first_matching_rule_decides() {
        let set = shipped();
        let model = AssetFacts { kind: "model".into(), sensitivity: 1, tags: Vec::new() };
        let dataset = AssetFacts { kind: "dataset".into(), sensitivity: 3, tags: Vec::new() };
        let pick = |c: Candidate<'_>| set.first_match(&c).map(|r| r.id.clone());
        assert_eq!(pick(candidate("pickle.dangerous-global", Severity::Critical, "registry_scan", Some(&model))).as_deref(), Some("malicious-model-upload"));
        assert_eq!(pick(candidate("pii.email", Severity::Medium, "import", Some(&dataset))).as_deref(), Some("pii-in-training-data"));
        assert_eq!(pick(candidate("server.login-burst", Severity::High, "alert", None)).as_deref(), Some("suspicious-sign-in"));
        assert_eq!(pick(candidate("pickle.unknown-global", Severity::Medium, "registry_scan", Some(&model))), None);
        // A medium finding on a restricted dataset is caught by the sensitivity rule.
        assert_eq!(pick(candidate("data.validate.nulls", Severity::Medium, "import", Some(&dataset))).as_deref(), Some("restricted-asset"));
        assert_eq!(pick(candidate("server.new-device", Severity::Low, "alert", None)), None);
    }

}
