//! [`Rule`]: the fixed parts of every finding a check produces. Every capability crate declares
//! its rules as `static Rule` values, so `warden rules` and SARIF list them all one way.

use crate::render::RuleInfo;
use crate::{Finding, Location, Severity};

/// A rule: stable id, default severity, title, why it matters, ATLAS ids and remediation.
#[derive(Debug)]
pub struct Rule {
    /// Stable id, `<area>.<kebab-name>`.
    pub id: &'static str,
    /// Default severity (a policy may raise or lower it for one finding).
    pub severity: Severity,
    /// One-line title.
    pub title: &'static str,
    /// Why it matters, for docs and SARIF.
    pub description: &'static str,
    /// MITRE ATLAS technique ids.
    pub atlas: &'static [&'static str],
    /// What to do about it.
    pub remediation: &'static str,
}

impl Rule {
    /// A finding of this rule with its severity, title, ATLAS ids and remediation filled in.
    pub fn finding(&self, message: impl Into<String>, location: Location) -> Finding {
        let mut f = Finding::new(self.id, self.severity, self.title, message, location);
        f.atlas = self.atlas.iter().map(|s| (*s).to_owned()).collect();
        f.remediation = Some(self.remediation.to_owned());
        f
    }

    /// The rule as renderers (SARIF, `warden rules`) need it.
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

#[cfg(test)]
mod tests {
    use super::*;

    static EXAMPLE: Rule = Rule {
        id: "example.rule",
        severity: Severity::High,
        title: "Example",
        description: "An example rule.",
        atlas: &["AML.T0010"],
        remediation: "Fix it.",
    };

    #[test]
    fn findings_carry_the_rules_fixed_parts() {
        let f = EXAMPLE.finding("seen", Location::file("x")).with_evidence("why");
        assert_eq!(f.rule_id.as_str(), "example.rule");
        assert_eq!(f.severity, Severity::High);
        assert_eq!(f.atlas, vec!["AML.T0010".to_owned()]);
        assert_eq!(f.remediation.as_deref(), Some("Fix it."));
        assert_eq!(f.evidence.as_deref(), Some("why"));
        assert_eq!(EXAMPLE.info().id, "example.rule");
    }
}
