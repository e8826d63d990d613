//! Threat-mapping rules as data (`data/rules.yaml`): conditions over element attributes, the
//! ATLAS and OWASP ids they map to, base scores, modifiers and mitigating controls.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::system::ElementKind;

/// Attributes of one element, as rules see them (booleans and strings).
pub type Attributes = BTreeMap<String, Value>;

/// Lifecycle stages, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum Stage {
    DataCollection,
    DataPreparation,
    Training,
    Deployment,
    PostDeployment,
}

impl Stage {
    /// Every stage in lifecycle order.
    pub const ALL: [Stage; 5] =
        [Stage::DataCollection, Stage::DataPreparation, Stage::Training, Stage::Deployment, Stage::PostDeployment];

    /// Human title.
    pub fn title(self) -> &'static str {
        match self {
            Stage::DataCollection => "Data collection",
            Stage::DataPreparation => "Data preparation",
            Stage::Training => "Training",
            Stage::Deployment => "Deployment",
            Stage::PostDeployment => "Post-deployment monitoring",
        }
    }
}

/// A condition over attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// `attr`: true, or a non-empty string other than `none`.
    Truthy(String),
    /// `!attr`.
    Falsy(String),
    /// `attr == v`.
    Equals(String, String),
    /// `attr != v`.
    NotEquals(String, String),
    /// `attr in [a, b]`.
    In(String, Vec<String>),
    /// `attr not in [a, b]`.
    NotIn(String, Vec<String>),
}

/// A condition that could not be parsed.
#[derive(Debug, thiserror::Error)]
#[error("invalid condition `{0}`")]
pub struct ConditionError(String);

fn text(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Null) | None => "none".into(),
        Some(other) => other.to_string(),
    }
}

fn is_ident(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Condition {
    /// Parses the rule-file syntax.
    pub fn parse(src: &str) -> Result<Condition, ConditionError> {
        let err = || ConditionError(src.to_owned());
        let s = src.trim();
        let list = |rest: &str| -> Result<Vec<String>, ConditionError> {
            let inner = rest.trim().strip_prefix('[').and_then(|r| r.strip_suffix(']')).ok_or_else(err)?;
            Ok(inner.split(',').map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()).collect())
        };
        let cond = if let Some((a, rest)) = s.split_once(" not in ") {
            Condition::NotIn(a.trim().into(), list(rest)?)
        } else if let Some((a, rest)) = s.split_once(" in ") {
            Condition::In(a.trim().into(), list(rest)?)
        } else if let Some((a, v)) = s.split_once("!=") {
            Condition::NotEquals(a.trim().into(), v.trim().into())
        } else if let Some((a, v)) = s.split_once("==") {
            Condition::Equals(a.trim().into(), v.trim().into())
        } else if let Some(a) = s.strip_prefix('!') {
            Condition::Falsy(a.trim().into())
        } else {
            Condition::Truthy(s.into())
        };
        if is_ident(cond.attribute()) { Ok(cond) } else { Err(err()) }
    }

    /// The attribute it reads.
    pub fn attribute(&self) -> &str {
        match self {
            Condition::Truthy(a)
            | Condition::Falsy(a)
            | Condition::Equals(a, _)
            | Condition::NotEquals(a, _)
            | Condition::In(a, _)
            | Condition::NotIn(a, _) => a,
        }
    }

    /// Whether it holds for `attrs` (a missing attribute is false / `none`).
    pub fn holds(&self, attrs: &Attributes) -> bool {
        let value = attrs.get(self.attribute());
        let truthy = match value {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => !s.is_empty() && s != "none",
            _ => false,
        };
        match self {
            Condition::Truthy(_) => truthy,
            Condition::Falsy(_) => !truthy,
            Condition::Equals(_, v) => text(value) == *v,
            Condition::NotEquals(_, v) => text(value) != *v,
            Condition::In(_, vs) => vs.contains(&text(value)),
            Condition::NotIn(_, vs) => !vs.contains(&text(value)),
        }
    }

    /// How the condition was met, for the reasoning shown to users: `origin = public-hub`.
    pub fn explain(&self, attrs: &Attributes) -> String {
        format!("{} = {}", self.attribute(), text(attrs.get(self.attribute())))
    }
}

/// A score change applied when its condition holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Modifier {
    /// Condition text.
    pub when: String,
    /// Added to likelihood.
    #[serde(default)]
    pub likelihood: u8,
    /// Added to impact.
    #[serde(default)]
    pub impact: u8,
    /// Why, in a phrase.
    pub reason: String,
}

/// A control that lowers the score when present.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mitigation {
    /// Control id (see `data/controls.yaml`).
    pub control: String,
    /// Subtracted from likelihood.
    #[serde(default)]
    pub likelihood: u8,
    /// Subtracted from impact.
    #[serde(default)]
    pub impact: u8,
}

/// Attribute sets a rule must and must not match.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Examples {
    /// Must match.
    #[serde(rename = "match", default)]
    pub matches: Vec<Attributes>,
    /// Must not match.
    #[serde(default)]
    pub no_match: Vec<Attributes>,
}

/// One threat-mapping rule.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// `assess.<kebab>`.
    pub id: String,
    /// One line.
    pub title: String,
    /// Kind of element inspected.
    pub element: ElementKind,
    /// Lifecycle stage where the threat is introduced or realised.
    pub stage: Stage,
    /// Conditions that must all hold.
    pub when: Vec<String>,
    /// Why the threat applies, in a sentence.
    pub rationale: String,
    /// ATLAS technique ids.
    pub atlas: Vec<String>,
    /// OWASP ML / LLM Top 10 ids.
    pub owasp: Vec<String>,
    /// Inherent likelihood 1-5.
    pub likelihood: u8,
    /// Inherent impact 1-5.
    pub impact: u8,
    /// Conditional raises.
    #[serde(default)]
    pub modifiers: Vec<Modifier>,
    /// Controls that lower the score.
    #[serde(default)]
    pub mitigations: Vec<Mitigation>,
    /// Self-test data.
    #[serde(default)]
    pub examples: Examples,
}

/// A rule with its conditions parsed.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    /// The rule as written.
    pub rule: Rule,
    /// Parsed `when`.
    pub when: Vec<Condition>,
    /// Parsed modifier conditions, index-aligned with `rule.modifiers`.
    pub modifiers: Vec<Condition>,
}

impl CompiledRule {
    /// Whether the rule applies to an element of `kind` with `attrs`.
    pub fn matches(&self, kind: ElementKind, attrs: &Attributes) -> bool {
        self.rule.element == kind && self.when.iter().all(|c| c.holds(attrs))
    }
}

/// Why the rules file is unusable.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// YAML or types.
    #[error("rules file: {0}")]
    Load(#[from] crate::load::LoadError),
    /// A condition.
    #[error("rule `{rule}`: {source}")]
    Condition {
        /// Rule id.
        rule: String,
        /// The bad condition.
        source: ConditionError,
    },
}

/// Parses a rules file.
pub fn compile(text: &str) -> Result<Vec<CompiledRule>, RulesError> {
    let rules: Vec<Rule> = crate::load::parse_yaml(text, 4 << 20)?;
    rules
        .into_iter()
        .map(|rule| {
            let parse = |s: &String| Condition::parse(s).map_err(|source| RulesError::Condition { rule: rule.id.clone(), source });
            let when = rule.when.iter().map(parse).collect::<Result<_, _>>()?;
            let modifiers = rule.modifiers.iter().map(|m| parse(&m.when)).collect::<Result<_, _>>()?;
            Ok(CompiledRule { rule, when, modifiers })
        })
        .collect()
}

const RULES_YAML: &str = include_str!("../data/rules.yaml");

/// The shipped rules.
pub fn shipped() -> &'static [CompiledRule] {
    static RULES: OnceLock<Vec<CompiledRule>> = OnceLock::new();
    // Shipped in the binary and checked by `shipped_rules_*` tests.
    RULES.get_or_init(|| compile(RULES_YAML).expect("data/rules.yaml is valid"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attributes;

    #[test]
    fn conditions_parse_and_evaluate() {
        let attrs: Attributes = [("origin".to_string(), Value::from("public-hub")), ("signed".into(), Value::from(false))].into();
        assert!(Condition::parse("origin in [public-hub, vendor]").unwrap().holds(&attrs));
        assert!(!Condition::parse("origin not in [public-hub]").unwrap().holds(&attrs));
        assert!(Condition::parse("!signed").unwrap().holds(&attrs));
        assert!(Condition::parse("origin != internal").unwrap().holds(&attrs));
        assert!(!Condition::parse("missing").unwrap().holds(&attrs));
        assert!(Condition::parse("missing == none").unwrap().holds(&attrs));
        assert!(Condition::parse("bad attr").is_err());
        assert!(Condition::parse("a in b").is_err());
    }

    #[test]
    fn shipped_rules_match_their_examples() {
        for compiled in shipped() {
            let rule = &compiled.rule;
            assert!(!rule.examples.matches.is_empty() && !rule.examples.no_match.is_empty(), "{}: needs examples", rule.id);
            for example in &rule.examples.matches {
                assert!(compiled.matches(rule.element, example), "{} should match {example:?}", rule.id);
            }
            for example in &rule.examples.no_match {
                assert!(!compiled.matches(rule.element, example), "{} should not match {example:?}", rule.id);
            }
        }
    }

    #[test]
    fn shipped_rules_are_well_formed() {
        let taxonomy = crate::taxonomy::shipped();
        let mut ids = std::collections::BTreeSet::new();
        for compiled in shipped() {
            let rule = &compiled.rule;
            assert!(ids.insert(rule.id.clone()), "duplicate {}", rule.id);
            assert!(rule.id.starts_with("assess.") && rule.id[7..].chars().all(|c| c.is_ascii_lowercase() || c == '-'));
            assert!((1..=5).contains(&rule.likelihood) && (1..=5).contains(&rule.impact), "{}", rule.id);
            assert!(!rule.atlas.is_empty(), "{}: no ATLAS technique", rule.id);
            let known = attributes::known(rule.element);
            for cond in compiled.when.iter().chain(&compiled.modifiers) {
                assert!(known.contains(&cond.attribute()), "{}: unknown attribute `{}`", rule.id, cond.attribute());
            }
            for example in rule.examples.matches.iter().chain(&rule.examples.no_match) {
                for key in example.keys() {
                    assert!(known.contains(&key.as_str()), "{}: example uses unknown attribute `{key}`", rule.id);
                }
            }
            for m in &rule.mitigations {
                assert!(crate::controls::find(&m.control).is_some(), "{}: unknown control {}", rule.id, m.control);
                assert!(m.likelihood + m.impact > 0, "{}: mitigation {} lowers nothing", rule.id, m.control);
            }
            for t in &rule.atlas {
                assert!(taxonomy.technique(t).is_some(), "{}: technique {t} has no shipped name", rule.id);
            }
            for o in &rule.owasp {
                assert!(taxonomy.owasp(o).is_some(), "{}: unknown OWASP id {o}", rule.id);
            }
        }
    }
}
