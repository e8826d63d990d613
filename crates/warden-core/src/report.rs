//! A [`Report`]: the findings of one run plus what happened to each input file.

use serde::{Deserialize, Serialize};

use crate::finding::{Finding, Severity};

/// What warden did with one input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileStatus {
    /// Fully inspected.
    Scanned,
    /// Deliberately not inspected (unrecognised content, over a size limit); see the findings.
    Skipped,
    /// Could not be read or inspected at all.
    Error,
}

/// One input file and the format its content was recognised as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    /// The path as given or found while walking a directory.
    pub path: String,
    /// The outermost format detected from content (`pickle`, `pytorch-zip`, `zip`, `unknown`...).
    pub format: String,
    /// What happened to it.
    pub status: FileStatus,
}

/// Everything one run learned: findings plus the files they came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// All findings, sorted by [`Report::sort`] before rendering.
    pub findings: Vec<Finding>,
    /// Every input file, in walk order.
    pub files: Vec<FileRecord>,
}

impl Report {
    /// The highest severity among the findings, if any.
    pub fn max_severity(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    /// True when some finding is at or above `threshold`.
    pub fn has_at_or_above(&self, threshold: Severity) -> bool {
        self.findings.iter().any(|f| f.severity >= threshold)
    }

    /// Orders files by path and findings by path, member, offset, then severity (highest first),
    /// so output is stable whatever order parallel workers finished in.
    pub fn sort(&mut self) {
        self.files.sort_by(|a, b| a.path.cmp(&b.path));
        self.findings.sort_by(|a, b| {
            (&a.location.path, &a.location.member, a.location.offset, std::cmp::Reverse(a.severity), &a.rule_id)
                .cmp(&(&b.location.path, &b.location.member, b.location.offset, std::cmp::Reverse(b.severity), &b.rule_id))
                .then_with(|| a.message.cmp(&b.message))
        });
    }

    /// Number of findings at each severity, lowest first (same order as [`Severity::ALL`]).
    pub fn counts(&self) -> [usize; 5] {
        let mut counts = [0; 5];
        for finding in &self.findings {
            counts[finding.severity as usize] += 1;
        }
        counts
    }
}
