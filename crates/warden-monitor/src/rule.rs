//! The fixed parts of every finding this crate raises.

use warden_core::render::RuleInfo;
use warden_core::{Finding, Location, Severity};

/// A monitoring rule.
#[derive(Debug)]
pub struct Rule {
    /// Stable id, `<area>.<kebab-name>`.
    pub id: &'static str,
    /// Default severity.
    pub severity: Severity,
    /// One-line title.
    pub title: &'static str,
    /// Why it matters.
    pub description: &'static str,
    /// MITRE ATLAS technique ids.
    pub atlas: &'static [&'static str],
    /// What to do about it.
    pub remediation: &'static str,
}

impl Rule {
    /// A finding of this rule.
    pub fn finding(&self, message: String, location: Location, evidence: String) -> Finding {
        let mut f = Finding::new(self.id, self.severity, self.title, message, location);
        f.evidence = Some(evidence);
        f.atlas = self.atlas.iter().map(|s| (*s).to_owned()).collect();
        f.remediation = Some(self.remediation.to_owned());
        f
    }

    /// The SARIF description.
    pub fn info(&self) -> RuleInfo {
        RuleInfo {
            id: self.id.to_owned(),
            title: self.title.to_owned(),
            description: self.description.to_owned(),
            severity: self.severity,
            atlas: self.atlas.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}

/// Every rule of this crate.
pub fn rule_infos() -> Vec<RuleInfo> {
    crate::fairness::RULES.iter().chain(crate::detect::RULES).map(|r| r.info()).collect()
}
