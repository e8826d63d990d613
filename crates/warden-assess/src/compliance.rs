//! Compliance views: framework requirements (data files under `data/frameworks/`) checked
//! against the controls in place and the system's facts.
//!
//! A requirement lists the controls that satisfy it: all present is `met`, some is `partly`,
//! none is `gap`; its `applies_when` conditions over system facts decide `not-applicable`. The
//! pseudo-control `warden-assessment` is always present: this assessment itself.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::assess::{Assessment, controls_in_place};
use crate::evidence::Evidence;
use crate::rules::{Attributes, Condition};
use crate::system::{ModelKind, RiskTier, SystemDescription};

/// A framework catalogue file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Framework {
    /// `nist-ai-rmf`, `eu-ai-act`, `iso42001`, `gdpr`.
    pub id: String,
    /// Full name.
    pub title: String,
    /// Where the ids come from; titles are warden's own paraphrase.
    pub source: String,
    /// Requirements in order.
    pub requirements: Vec<Requirement>,
}

/// One requirement.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    /// Official id (`GOVERN 1.1`, `Art. 10`, `A.6.2.4`).
    pub id: String,
    /// Short title in our words.
    pub title: String,
    /// Controls that satisfy it.
    pub controls: Vec<String>,
    /// System conditions for it to apply.
    #[serde(default)]
    pub applies_when: Vec<String>,
}

/// Status of one requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum Status {
    Met,
    Partly,
    Gap,
    NotApplicable,
}

impl Status {
    /// Display word.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Met => "met",
            Status::Partly => "partly",
            Status::Gap => "gap",
            Status::NotApplicable => "not applicable",
        }
    }
}

/// One requirement's result.
#[derive(Debug, Clone, Serialize)]
pub struct RequirementView {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Status.
    pub status: Status,
    /// Controls in place with where they were established.
    pub evidence: Vec<String>,
    /// Controls missing, with the warden command that helps.
    pub missing: Vec<String>,
    /// Why it does not apply, when it does not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_applicable_because: Option<String>,
}

/// One framework's results.
#[derive(Debug, Clone, Serialize)]
pub struct FrameworkView {
    /// Framework id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Source note.
    pub source: String,
    /// Requirement results.
    pub requirements: Vec<RequirementView>,
    /// Count by status.
    pub counts: BTreeMap<&'static str, usize>,
}

const FILES: [&str; 4] = [
    include_str!("../data/frameworks/nist-ai-rmf.yaml"),
    include_str!("../data/frameworks/eu-ai-act.yaml"),
    include_str!("../data/frameworks/iso42001.yaml"),
    include_str!("../data/frameworks/gdpr.yaml"),
];

/// The shipped frameworks.
pub fn frameworks() -> &'static [Framework] {
    static ALL: OnceLock<Vec<Framework>> = OnceLock::new();
    // Shipped in the binary; `shipped_frameworks_are_consistent` parses every file.
    ALL.get_or_init(|| FILES.iter().map(|f| serde_saphyr::from_str(f).expect("framework file is valid")).collect())
}

/// Framework ids, for `--framework`.
pub fn framework_ids() -> Vec<&'static str> {
    frameworks().iter().map(|f| f.id.as_str()).collect()
}

/// System-level facts the `applies_when` conditions read.
pub fn system_facts(system: &SystemDescription) -> Attributes {
    let personal = system.data_sources.iter().any(|s| s.personal_data || s.special_category) || system.datasets.iter().any(|d| d.personal_data);
    let tier = system.system.risk_tier;
    [
        ("personal_data", Value::Bool(personal)),
        ("special_category", Value::Bool(system.data_sources.iter().any(|s| s.special_category))),
        ("high_risk", Value::Bool(tier == Some(RiskTier::High))),
        ("risk_tier", serde_json::to_value(tier).unwrap_or(Value::Null)),
        ("decisions_about_people", Value::Bool(system.system.decisions_about_people)),
        ("has_llm", Value::Bool(system.models.iter().any(|m| matches!(m.kind, ModelKind::Llm | ModelKind::Generative)))),
        ("deployed", Value::Bool(!system.endpoints.is_empty())),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Evaluates the chosen frameworks (`all` for every one).
pub fn evaluate(system: &SystemDescription, assessment: &Assessment, which: &[String]) -> Vec<FrameworkView> {
    let facts = system_facts(system);
    let evidence: &[Evidence] = &assessment.evidence;
    // Controls in place anywhere in the system, first source wins.
    let mut present: BTreeMap<String, String> = BTreeMap::new();
    present.insert("warden-assessment".into(), format!("this assessment ({} risks)", assessment.risks.len()));
    for element in &assessment.elements {
        for (control, source) in controls_in_place(system, evidence, &element.id) {
            let where_ = if source == "description" { format!("description, {}", element.id) } else { source };
            present.entry(control).or_insert(where_);
        }
    }
    for c in system.controls.iter().filter(|c| c.applies_to.is_empty()) {
        present.entry(c.control.clone()).or_insert_with(|| "description".into());
    }
    frameworks()
        .iter()
        .filter(|f| which.iter().any(|w| w == "all" || *w == f.id))
        .map(|f| {
            let requirements: Vec<RequirementView> = f
                .requirements
                .iter()
                .map(|r| {
                    let failing: Vec<&String> =
                        r.applies_when.iter().filter(|c| Condition::parse(c).map(|c| !c.holds(&facts)).unwrap_or(true)).collect();
                    if !failing.is_empty() {
                        return RequirementView {
                            id: r.id.clone(),
                            title: r.title.clone(),
                            status: Status::NotApplicable,
                            evidence: Vec::new(),
                            missing: Vec::new(),
                            not_applicable_because: Some(format!("requires {}", failing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "))),
                        };
                    }
                    let evidence: Vec<String> =
                        r.controls.iter().filter_map(|c| present.get(c).map(|src| format!("{c} ({src})"))).collect();
                    let missing: Vec<String> = r
                        .controls
                        .iter()
                        .filter(|c| !present.contains_key(*c))
                        .map(|c| match crate::controls::find(c).and_then(|x| x.command.as_deref()) {
                            Some(cmd) => format!("{c} ({cmd})"),
                            None => c.clone(),
                        })
                        .collect();
                    let status = match (evidence.len(), missing.len()) {
                        (_, 0) => Status::Met,
                        (0, _) => Status::Gap,
                        _ => Status::Partly,
                    };
                    RequirementView { id: r.id.clone(), title: r.title.clone(), status, evidence, missing, not_applicable_because: None }
                })
                .collect();
            let mut counts = BTreeMap::new();
            for s in [Status::Met, Status::Partly, Status::Gap, Status::NotApplicable] {
                counts.insert(s.as_str(), requirements.iter().filter(|r| r.status == s).count());
            }
            FrameworkView { id: f.id.clone(), title: f.title.clone(), source: f.source.clone(), requirements, counts }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_frameworks_are_consistent() {
        let facts = ["personal_data", "special_category", "high_risk", "risk_tier", "decisions_about_people", "has_llm", "deployed"];
        assert_eq!(framework_ids(), ["nist-ai-rmf", "eu-ai-act", "iso42001", "gdpr"]);
        for f in frameworks() {
            assert!(f.requirements.len() >= 7, "{}", f.id);
            let mut ids = std::collections::BTreeSet::new();
            for r in &f.requirements {
                assert!(ids.insert(&r.id), "{}: duplicate {}", f.id, r.id);
                assert!(!r.controls.is_empty(), "{} {}: no controls", f.id, r.id);
                for c in &r.controls {
                    assert!(c == "warden-assessment" || crate::controls::find(c).is_some(), "{} {}: unknown control {c}", f.id, r.id);
                }
                for cond in &r.applies_when {
                    let parsed = Condition::parse(cond).unwrap();
                    assert!(facts.contains(&parsed.attribute()), "{} {}: unknown fact in {cond}", f.id, r.id);
                }
            }
        }
    }
}
