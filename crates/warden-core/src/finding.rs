//! A [`Finding`]: one thing warden learned about an AI system, with where and why.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How bad a finding is; ordered so `Severity::High > Severity::Medium`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing, no action needed.
    Info,
    /// Unusual but unlikely to be exploitable.
    Low,
    /// Needs a human to review before the artifact is trusted.
    Medium,
    /// Likely exploitable or a strong sign of tampering.
    High,
    /// Runs attacker-chosen code or equivalent.
    Critical,
}

impl Severity {
    /// Every severity, lowest first.
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The lowercase name used in every output format.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error returned when a string names no severity.
#[derive(Debug, thiserror::Error)]
#[error("unknown severity `{0}` (expected info, low, medium, high or critical)")]
pub struct ParseSeverityError(String);

impl FromStr for Severity {
    type Err = ParseSeverityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|sev| sev.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| ParseSeverityError(s.to_owned()))
    }
}

/// A stable rule identifier such as `pickle.dangerous-global`: dotted, lowercase, kebab words.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RuleId(String);

impl RuleId {
    /// The identifier as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for RuleId {
    fn from(s: &str) -> Self {
        RuleId(s.to_owned())
    }
}

impl From<String> for RuleId {
    fn from(s: String) -> Self {
        RuleId(s)
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a finding was seen. `path` is always set; the rest depends on what was inspected.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// The file on disk (or the stream name, `-` for stdin).
    pub path: String,
    /// The path inside an archive, nested archives joined with `!/`.
    pub member: Option<String>,
    /// Byte offset inside the innermost member or file.
    pub offset: Option<u64>,
    /// 0-based data row, for tables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row: Option<u64>,
    /// Column name, for tables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// 1-based line, for text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// Character offset where the match starts within the cell or line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<u64>,
    /// Character offset where the match ends within the cell or line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<u64>,
    /// The client that sent inference traffic, for monitoring findings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

impl Location {
    /// A location that names only a file.
    pub fn file(path: impl Into<String>) -> Self {
        Location { path: path.into(), ..Location::default() }
    }

    /// The same location inside archive member `member`.
    #[must_use]
    pub fn with_member(mut self, member: impl Into<String>) -> Self {
        self.member = Some(member.into());
        self
    }

    /// The same location at byte `offset`.
    #[must_use]
    pub fn with_offset(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }

    /// `path`, `path!/member` and `@offset` joined for humans.
    pub fn display(&self) -> String {
        let mut out = self.path.clone();
        if let Some(member) = &self.member {
            out.push_str("!/");
            out.push_str(member);
        }
        if let Some(offset) = self.offset {
            out.push_str(&format!("@{offset}"));
        }
        if let Some(row) = self.row {
            out.push_str(&format!(":row {row}"));
        }
        if let Some(column) = &self.column {
            out.push_str(&format!(":{column}"));
        }
        if let Some(line) = self.line {
            out.push_str(&format!(":{line}"));
        }
        out
    }
}

/// One thing warden learned: what rule fired, how bad it is, where, why, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable identifier of the rule that produced this finding.
    pub rule_id: RuleId,
    /// How bad it is.
    pub severity: Severity,
    /// One line naming the problem, the same for every finding of a rule.
    pub title: String,
    /// This occurrence, with the specifics (the callable, the member, the value).
    pub message: String,
    /// Where it was seen.
    pub location: Location,
    /// Supporting detail (an opcode trace, a header excerpt); never a full secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    /// MITRE ATLAS technique ids this relates to, such as `AML.T0010.003`.
    #[serde(default)]
    pub atlas: Vec<String>,
    /// What to do about it.
    #[serde(default)]
    pub remediation: Option<String>,
}

impl Finding {
    /// A finding with no evidence, ATLAS ids or remediation yet.
    pub fn new(
        rule_id: impl Into<RuleId>,
        severity: Severity,
        title: impl Into<String>,
        message: impl Into<String>,
        location: Location,
    ) -> Self {
        Finding {
            rule_id: rule_id.into(),
            severity,
            title: title.into(),
            message: message.into(),
            location,
            evidence: None,
            atlas: Vec::new(),
            remediation: None,
        }
    }

    /// The same finding with supporting detail attached.
    pub fn with_evidence(mut self, evidence: impl Into<String>) -> Self {
        self.evidence = Some(evidence.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_orders_and_parses() {
        assert!(Severity::Critical > Severity::High);
        assert!(Severity::Info < Severity::Low);
        assert_eq!("MEDIUM".parse::<Severity>().unwrap(), Severity::Medium);
        assert!("severe".parse::<Severity>().is_err());
        for sev in Severity::ALL {
            assert_eq!(sev.as_str().parse::<Severity>().unwrap(), sev);
        }
    }

    #[test]
    fn location_display_joins_member_and_offset() {
        let loc = Location::file("a.zip").with_member("b/data.pkl").with_offset(7);
        assert_eq!(loc.display(), "a.zip!/b/data.pkl@7");
    }
}
