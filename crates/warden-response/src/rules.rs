//! Incident rules as data: which findings open an incident. Each rule lists conditions on the finding (minimum
//! severity, rule-id globs, source) and on the asset it concerns (kind, sensitivity, tags), and
//! carries positive and negative examples that the tests below check, Nosey Parker style.
//!
//! The first rule that matches a finding decides; a finding no rule matches opens nothing.

use serde::Deserialize;
use warden_core::Severity;

use crate::glob::glob;

/// The sources a finding can come from, as stored.
pub const SOURCES: [&str; 5] = ["registry_scan", "import", "alert", "traffic", "drift"];

/// The asset kinds of the inventory.
const ASSET_KINDS: [&str; 4] = ["data_source", "dataset", "model", "deployment"];

/// A rules file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSet {
    /// The rules, tried in order.
    pub rules: Vec<IncidentRule>,
}

/// One incident rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentRule {
    /// Stable id (`malicious-model-upload`), recorded on the incidents it opens.
    pub id: String,
    /// The incident title it gives (`Malicious model upload`).
    pub title: String,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// The conditions.
    #[serde(default)]
    pub when: Conditions,
    /// Findings that must and must not match.
    #[serde(default)]
    pub examples: Examples,
}

/// The conditions of a rule; all must hold, an empty one always holds.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    /// Lowest severity that matches.
    #[serde(default)]
    pub min_severity: Option<Severity>,
    /// Rule-id globs (`*` any text, `?` one character), any of which must match.
    #[serde(default)]
    pub rules: Vec<String>,
    /// Rule-id globs that never match.
    #[serde(default)]
    pub exclude_rules: Vec<String>,
    /// Sources, any of which must match.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Asset kinds, any of which must match (the finding must concern an asset).
    #[serde(default)]
    pub asset_kinds: Vec<String>,
    /// Lowest asset sensitivity (0 public .. 3 restricted).
    #[serde(default)]
    pub min_sensitivity: Option<i64>,
    /// Asset tags, any of which must be on the asset.
    #[serde(default)]
    pub asset_tags: Vec<String>,
}

/// Examples of a rule.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Examples {
    /// Must match.
    #[serde(default, rename = "match")]
    pub positive: Vec<Example>,
    /// Must not match.
    #[serde(default, rename = "no_match")]
    pub negative: Vec<Example>,
}

/// A finding described for an example.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    /// The finding's rule id.
    pub rule_id: String,
    /// Its severity.
    pub severity: Severity,
    /// Its source.
    pub source: String,
    /// The asset's kind, when it concerns one.
    #[serde(default)]
    pub asset_kind: Option<String>,
    /// The asset's sensitivity (default 1).
    #[serde(default)]
    pub sensitivity: Option<i64>,
    /// The asset's tags.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// The asset a finding concerns, as rules see it.
#[derive(Debug, Clone, Default)]
pub struct AssetFacts {
    /// Its kind.
    pub kind: String,
    /// 0 public .. 3 restricted.
    pub sensitivity: i64,
    /// Its tags.
    pub tags: Vec<String>,
}

/// A finding as rules see it.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// The finding's rule id.
    pub rule_id: &'a str,
    /// Its severity.
    pub severity: Severity,
    /// Where it came from (`registry_scan`, `import`, `alert`, `traffic`, `drift`).
    pub source: &'a str,
    /// The asset it concerns.
    pub asset: Option<&'a AssetFacts>,
}

impl Example {
    fn asset(&self) -> Option<AssetFacts> {
        self.asset_kind.as_ref().map(|kind| AssetFacts { kind: kind.clone(), sensitivity: self.sensitivity.unwrap_or(1), tags: self.tags.clone() })
    }
}

impl IncidentRule {
    /// Whether `finding` matches every condition of this rule.
    pub fn matches(&self, finding: &Candidate<'_>) -> bool {
        let when = &self.when;
        if when.min_severity.is_some_and(|min| finding.severity < min) {
            return false;
        }
        if !when.rules.is_empty() && !when.rules.iter().any(|g| glob(g, finding.rule_id)) {
            return false;
        }
        if when.exclude_rules.iter().any(|g| glob(g, finding.rule_id)) {
            return false;
        }
        if !when.sources.is_empty() && !when.sources.iter().any(|s| s == finding.source) {
            return false;
        }
        let needs_asset = !when.asset_kinds.is_empty() || when.min_sensitivity.is_some() || !when.asset_tags.is_empty();
        if !needs_asset {
            return true;
        }
        let Some(asset) = finding.asset else { return false };
        (when.asset_kinds.is_empty() || when.asset_kinds.contains(&asset.kind))
            && when.min_sensitivity.is_none_or(|min| asset.sensitivity >= min)
            && (when.asset_tags.is_empty() || when.asset_tags.iter().any(|t| asset.tags.contains(t)))
    }
}

impl RuleSet {
    /// Parses and checks a rules file: ids unique and plain, sources and asset kinds known,
    /// sensitivities in range, and every example behaving as it says.
    pub fn parse(text: &str) -> Result<RuleSet, String> {
        if text.len() > MAX_BYTES {
            return Err("the incident rules file is larger than 1 MiB".into());
        }
        let set: RuleSet = serde_saphyr::from_str(text).map_err(|e| format!("incident rules: {e}"))?;
        let mut problems = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (i, rule) in set.rules.iter().enumerate() {
            let at = format!("rules[{i}] `{}`", rule.id);
            if rule.id.is_empty() || !rule.id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
                problems.push(format!("{at}: ids are lowercase letters, digits and `-`"));
            }
            if !seen.insert(rule.id.as_str()) {
                problems.push(format!("{at}: duplicate id"));
            }
            if rule.title.trim().is_empty() {
                problems.push(format!("{at}: give a title (it becomes the incident's title)"));
            }
            for source in &rule.when.sources {
                if !SOURCES.contains(&source.as_str()) {
                    problems.push(format!("{at}: unknown source `{source}` (expected one of {})", SOURCES.join(", ")));
                }
            }
            for kind in &rule.when.asset_kinds {
                if !ASSET_KINDS.contains(&kind.as_str()) {
                    problems.push(format!("{at}: unknown asset kind `{kind}` (expected one of {})", ASSET_KINDS.join(", ")));
                }
            }
            if rule.when.min_sensitivity.is_some_and(|s| !(0..=3).contains(&s)) {
                problems.push(format!("{at}: min_sensitivity is 0 (public) to 3 (restricted)"));
            }
            if rule.examples.positive.is_empty() || rule.examples.negative.is_empty() {
                problems.push(format!("{at}: give at least one `match` and one `no_match` example"));
            }
            problems.extend(rule.example_problems().into_iter().map(|p| format!("{at}: {p}")));
        }
        if problems.is_empty() { Ok(set) } else { Err(format!("incident rules: {}", problems.join("; "))) }
    }

    /// The first rule matching `finding`.
    pub fn first_match(&self, finding: &Candidate<'_>) -> Option<&IncidentRule> {
        self.rules.iter().find(|rule| rule.matches(finding))
    }

    /// The rule with id `id`.
    pub fn by_id(&self, id: &str) -> Option<&IncidentRule> {
        self.rules.iter().find(|rule| rule.id == id)
    }
}

impl IncidentRule {
    /// The examples that do not behave as they say.
    fn example_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (expected, examples) in [(true, &self.examples.positive), (false, &self.examples.negative)] {
            for example in examples {
                let asset = example.asset();
                let candidate = Candidate { rule_id: &example.rule_id, severity: example.severity, source: &example.source, asset: asset.as_ref() };
                if self.matches(&candidate) != expected {
                    let verb = if expected { "should match but does not" } else { "should not match but does" };
                    problems.push(format!("example {} ({}, {}) {verb}", example.rule_id, example.severity, example.source));
                }
            }
        }
        problems
    }
}

impl Conditions {
    /// The conditions in plain words, one per line (none: every finding matches).
    pub fn describe(&self) -> Vec<String> {
        let any = |label: &str, items: &[String]| (!items.is_empty()).then(|| format!("{label} {}", items.join(" or ")));
        let mut lines = Vec::new();
        lines.extend(self.min_severity.map(|s| format!("severity {s} or worse")));
        lines.extend(any("rule id", &self.rules));
        lines.extend((!self.exclude_rules.is_empty()).then(|| format!("rule id not {}", self.exclude_rules.join(" nor "))));
        lines.extend(any("source", &self.sources));
        lines.extend(any("asset kind", &self.asset_kinds));
        lines.extend(self.min_sensitivity.map(|s| format!("asset sensitivity {} or higher", SENSITIVITIES.get(usize::try_from(s).unwrap_or(0)).unwrap_or(&"?"))));
        lines.extend(any("asset tagged", &self.asset_tags));
        lines
    }
}

/// Sensitivity names by level.
const SENSITIVITIES: [&str; 4] = ["public", "internal", "confidential", "restricted"];

/// The largest rules file accepted, in bytes.
pub const MAX_BYTES: usize = 1024 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broken_rules_are_refused_with_the_reason() {
        let unknown_source = "rules:\n  - id: x\n    title: X\n    when: { sources: [email] }\n    examples:\n      match: [{rule_id: a, severity: high, source: email}]\n      no_match: [{rule_id: a, severity: high, source: alert}]\n";
        let err = RuleSet::parse(unknown_source).unwrap_err();
        assert!(err.contains("unknown source `email`"), "{err}");
        let wrong_example = "rules:\n  - id: x\n    title: X\n    when: { min_severity: high }\n    examples:\n      match: [{rule_id: a, severity: low, source: alert}]\n      no_match: [{rule_id: a, severity: info, source: alert}]\n";
        let err = RuleSet::parse(wrong_example).unwrap_err();
        assert!(err.contains("should match but does not"), "{err}");
        let no_examples = "rules:\n  - id: x\n    title: X\n";
        assert!(RuleSet::parse(no_examples).unwrap_err().contains("at least one"));
        assert!(RuleSet::parse("rules: [{id: x, title: X, colour: red}]").is_err());
    }
}
