//! [`Rule`]: the fixed parts of every finding a data-quality or poisoning check produces
//! (shared by `quality` and `poison`; the same shape as `warden_scan::rules::Rule`).

use warden_core::render::RuleInfo;
use warden_core::{Finding, Location, Severity};

/// A rule: id, default severity, title, why it matters, ATLAS ids and remediation.
#[derive(Debug)]
pub struct Rule {
    /// Stable id, `data.<area>.<kebab-name>`.
    pub id: &'static str,
    /// Default severity.
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
    pub fn finding(&'static self, message: String, location: Location) -> Finding {
        let mut f = Finding::new(self.id, self.severity, self.title, message, location);
        f.atlas = self.atlas.iter().map(|s| (*s).to_owned()).collect();
        f.remediation = Some(self.remediation.to_owned());
        f
    }

    /// The rule as the SARIF renderer needs it.
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
