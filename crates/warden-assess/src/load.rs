//! Reading and validating a system description: YAML syntax, field types, then references.
//!
//! Errors name the field by path (`models[1].origin`), give the line and column when the parser
//! knows them, and say what was expected. Input is bounded ([`Limits`]); the YAML parser's own
//! budget rejects alias bombs and deep nesting.

use std::collections::{BTreeMap, BTreeSet};

use serde::de::DeserializeOwned;

use crate::controls;
use crate::system::SystemDescription;

/// Bounds on an untrusted description.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest description file, in bytes.
    pub max_bytes: usize,
    /// Most elements (of all kinds together).
    pub max_elements: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_bytes: 16 * 1024 * 1024, max_elements: 100_000 }
    }
}

/// One problem in a description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Path to the field, such as `endpoints[0].serves`; empty for the document itself.
    pub path: String,
    /// 1-based line and column, when known.
    pub position: Option<(u64, u64)>,
    /// What is wrong and what was expected.
    pub message: String,
}

impl std::fmt::Display for Issue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = if self.path.is_empty() { "(document)" } else { &self.path };
        match self.position {
            Some((line, column)) => write!(f, "{path} (line {line}, column {column}): {}", self.message),
            None => write!(f, "{path}: {}", self.message),
        }
    }
}

/// Why a description could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file is larger than [`Limits::max_bytes`].
    #[error("the description is {size} bytes, more than the limit of {limit}")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// YAML syntax or a field of the wrong type.
    #[error("{0}")]
    Parse(Issue),
    /// The document parsed but breaks the format's rules.
    #[error("{} problem(s):\n  {}", .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  "))]
    Invalid(Vec<Issue>),
}

/// Parses YAML text into `T`, reporting the failing field's path and position.
pub fn parse_yaml<T: DeserializeOwned>(text: &str, max_bytes: usize) -> Result<T, LoadError> {
    if text.len() > max_bytes {
        return Err(LoadError::TooLarge { size: text.len(), limit: max_bytes });
    }
    let mut options = serde_saphyr::Options::default();
    options.with_snippet = false;
    let mut track = serde_path_to_error::Track::new();
    let result = serde_saphyr::with_deserializer_from_str_with_options(text, options, |de| {
        T::deserialize(serde_path_to_error::Deserializer::new(de, &mut track))
    });
    result.map_err(|err| {
        let position = err.location().map(|l| (l.line(), l.column())).filter(|(l, _)| *l > 0);
        let path = track.path().to_string();
        // `?` marks a key the tracker could not name (such as a duplicate key).
        let path = path.trim_end_matches(".?").trim_end_matches('?').to_owned();
        let path = if path == "." { String::new() } else { path };
        LoadError::Parse(Issue { path, position, message: clean_message(&err.to_string()) })
    })
}

/// The parser's message without its own position suffix (we print the position ourselves).
fn clean_message(message: &str) -> String {
    let first = message.lines().next().unwrap_or(message).trim();
    let cut = [" at line ", " at ", ", line "].iter().filter_map(|pat| first.find(pat)).min();
    let trimmed = match cut {
        Some(idx) if first[idx..].chars().any(|c| c.is_ascii_digit()) => &first[..idx],
        _ => first,
    };
    if trimmed == "expected string scalar" {
        return "expected a single value here, not a list or a mapping".to_owned();
    }
    // Drop hints addressed to programmers using the parser rather than to the user.
    let trimmed = trimmed.split(", set DuplicateKeyPolicy").next().unwrap_or(trimmed);
    trimmed.trim_end_matches(':').to_owned()
}

/// Parses and validates a description.
pub fn parse_system(text: &str, limits: Limits) -> Result<SystemDescription, LoadError> {
    let system: SystemDescription = parse_yaml(text, limits.max_bytes)?;
    let issues = validate(&system, limits);
    if issues.is_empty() { Ok(system) } else { Err(LoadError::Invalid(issues)) }
}

fn issue(path: String, message: String) -> Issue {
    Issue { path, position: None, message }
}

/// Checks versions, ids and every reference between elements.
pub fn validate(system: &SystemDescription, limits: Limits) -> Vec<Issue> {
    let mut issues = Vec::new();
    if system.version != 1 {
        issues.push(issue("version".into(), format!("unsupported version {}; expected 1", system.version)));
    }
    // Every id lives in one namespace: kind by id.
    let mut kinds: BTreeMap<&str, &'static str> = BTreeMap::new();
    let mut declared: Vec<(String, &str, &'static str)> = Vec::new();
    declared.extend(system.data_sources.iter().enumerate().map(|(i, e)| (format!("data_sources[{i}].id"), e.id.as_str(), "data source")));
    declared.extend(system.datasets.iter().enumerate().map(|(i, e)| (format!("datasets[{i}].id"), e.id.as_str(), "dataset")));
    declared.extend(system.models.iter().enumerate().map(|(i, e)| (format!("models[{i}].id"), e.id.as_str(), "model")));
    declared.extend(system.environments.iter().enumerate().map(|(i, e)| (format!("environments[{i}].id"), e.id.as_str(), "environment")));
    declared.extend(system.endpoints.iter().enumerate().map(|(i, e)| (format!("endpoints[{i}].id"), e.id.as_str(), "endpoint")));
    declared.extend(system.trust_boundaries.iter().enumerate().map(|(i, e)| (format!("trust_boundaries[{i}].id"), e.id.as_str(), "trust boundary")));
    declared.extend(system.people.iter().enumerate().map(|(i, e)| (format!("people[{i}].id"), e.id.as_str(), "person")));
    let count = declared.len() + system.flows.len() + system.controls.len();
    if count > limits.max_elements {
        issues.push(issue(String::new(), format!("{count} elements, more than the limit of {}", limits.max_elements)));
        return issues;
    }
    for (path, id, kind) in declared {
        if id.is_empty() || id.len() > 128 || !id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
            issues.push(issue(path, format!("invalid id `{id}`: use 1-128 letters, digits, `-`, `_` or `.`")));
        } else if let Some(previous) = kinds.insert(id, kind) {
            issues.push(issue(path, format!("duplicate id `{id}` (already used by a {previous})")));
        }
    }

    let refs = |issues: &mut Vec<Issue>, path: String, target: &str, want: Option<&'static str>| {
        match (kinds.get(target), want) {
            (None, _) => {
                let hint = match want {
                    Some(kind) => {
                        let known: Vec<&str> = kinds.iter().filter(|(_, k)| **k == kind).map(|(id, _)| *id).take(8).collect();
                        format!("; known {kind} ids: {}", if known.is_empty() { "none".into() } else { known.join(", ") })
                    }
                    None => String::new(),
                };
                issues.push(issue(path, format!("refers to unknown id `{target}`{hint}")));
            }
            (Some(kind), Some(want)) if *kind != want => {
                issues.push(issue(path, format!("`{target}` is a {kind}; expected a {want}")));
            }
            _ => {}
        }
    };
    for (i, d) in system.datasets.iter().enumerate() {
        for (j, s) in d.sources.iter().enumerate() {
            refs(&mut issues, format!("datasets[{i}].sources[{j}]"), s, Some("data source"));
        }
    }
    for (i, m) in system.models.iter().enumerate() {
        if let Some(base) = &m.fine_tuned_from {
            refs(&mut issues, format!("models[{i}].fine_tuned_from"), base, Some("model"));
            if base == &m.id {
                issues.push(issue(format!("models[{i}].fine_tuned_from"), "a model cannot be fine-tuned from itself".into()));
            }
        }
        for (j, d) in m.trained_on.iter().enumerate() {
            refs(&mut issues, format!("models[{i}].trained_on[{j}]"), d, Some("dataset"));
        }
        for (j, d) in m.retrieves_from.iter().enumerate() {
            refs(&mut issues, format!("models[{i}].retrieves_from[{j}]"), d, Some("dataset"));
        }
    }
    for (i, e) in system.environments.iter().enumerate() {
        for (j, m) in e.runs.iter().enumerate() {
            refs(&mut issues, format!("environments[{i}].runs[{j}]"), m, Some("model"));
        }
    }
    for (i, e) in system.endpoints.iter().enumerate() {
        refs(&mut issues, format!("endpoints[{i}].serves"), &e.serves, Some("model"));
    }
    for (i, b) in system.trust_boundaries.iter().enumerate() {
        for (j, id) in b.elements.iter().enumerate() {
            refs(&mut issues, format!("trust_boundaries[{i}].elements[{j}]"), id, None);
        }
    }
    for (i, f) in system.flows.iter().enumerate() {
        refs(&mut issues, format!("flows[{i}].from"), &f.from, None);
        refs(&mut issues, format!("flows[{i}].to"), &f.to, None);
    }
    for (i, p) in system.people.iter().enumerate() {
        for (j, id) in p.access.iter().enumerate() {
            refs(&mut issues, format!("people[{i}].access[{j}]"), id, None);
        }
    }
    for (i, c) in system.controls.iter().enumerate() {
        if controls::find(&c.control).is_none() {
            issues.push(issue(
                format!("controls[{i}].control"),
                format!("unknown control `{}`; expected one of: {}", c.control, controls::ids().join(", ")),
            ));
        }
        for (j, id) in c.applies_to.iter().enumerate() {
            refs(&mut issues, format!("controls[{i}].applies_to[{j}]"), id, None);
        }
    }
    for (i, e) in system.evidence.iter().enumerate() {
        for (j, id) in e.applies_to.iter().enumerate() {
            refs(&mut issues, format!("evidence[{i}].applies_to[{j}]"), id, None);
        }
    }
    check_lineage_cycles(system, &mut issues);
    issues
}

/// `fine_tuned_from` must form a forest: a cycle would make lineage endless.
fn check_lineage_cycles(system: &SystemDescription, issues: &mut Vec<Issue>) {
    let parent: BTreeMap<&str, &str> =
        system.models.iter().filter_map(|m| m.fine_tuned_from.as_deref().map(|p| (m.id.as_str(), p))).collect();
    for (i, m) in system.models.iter().enumerate() {
        let mut seen = BTreeSet::new();
        let mut at = m.id.as_str();
        while let Some(next) = parent.get(at) {
            if !seen.insert(at) {
                issues.push(issue(format!("models[{i}].fine_tuned_from"), format!("fine-tuning lineage of `{}` loops", m.id)));
                break;
            }
            at = next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "version: 1\nsystem:\n  name: demo\nmodels:\n  - id: m\n    kind: classifier\n    format: onnx\n    origin: internal\n";

    #[test]
    fn minimal_description_loads() {
        let system = parse_system(MINIMAL, Limits::default()).unwrap();
        assert_eq!(system.models[0].id, "m");
    }

    #[test]
    fn wrong_enum_names_the_field_and_line() {
        let text = MINIMAL.replace("origin: internal", "origin: hub");
        let err = parse_system(&text, Limits::default()).unwrap_err();
        let LoadError::Parse(issue) = err else { panic!("expected a parse error") };
        assert_eq!(issue.path, "models[0].origin");
        assert_eq!(issue.position.map(|p| p.0), Some(8));
        assert!(issue.message.contains("public-hub"), "{}", issue.message);
    }

    #[test]
    fn dangling_reference_is_reported_with_known_ids() {
        let text = format!("{MINIMAL}endpoints:\n  - id: api\n    serves: missing\n    exposure: public\n    authentication: none\n");
        let err = parse_system(&text, Limits::default()).unwrap_err();
        assert!(err.to_string().contains("endpoints[0].serves: refers to unknown id `missing`; known model ids: m"), "{err}");
    }

    #[test]
    fn alias_bomb_is_rejected() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..12 {
            let prev = if i == 0 { "a".to_string() } else { format!("l{}", i - 1) };
            text.push_str(&format!("l{i}: &l{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        assert!(parse_yaml::<serde_json::Value>(&text, 1 << 20).is_err());
    }
}
