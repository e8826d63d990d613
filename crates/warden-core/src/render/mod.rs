//! Renderers that turn a [`Report`](crate::Report) into what users read: a terminal table, JSON
//! (the stable machine contract) or SARIF 2.1.0 (for code-scanning dashboards).
//!
//! Renderers only format; they never filter or reorder findings (call `Report::sort` first).

pub mod json;
pub mod sarif;
pub mod table;

use std::fmt;
use std::str::FromStr;

/// The output formats every command offers through `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// A human-readable table.
    Table,
    /// The versioned JSON report.
    Json,
    /// SARIF 2.1.0.
    Sarif,
}

impl OutputFormat {
    /// Every format, for help text and parsing.
    pub const ALL: [OutputFormat; 3] = [OutputFormat::Table, OutputFormat::Json, OutputFormat::Sarif];

    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            OutputFormat::Table => "table",
            OutputFormat::Json => "json",
            OutputFormat::Sarif => "sarif",
        }
    }
}

impl fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OutputFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OutputFormat::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| format!("unknown format `{s}` (expected table, json or sarif)"))
    }
}

/// Facts about the tool that produced a report, needed by SARIF and the JSON header.
#[derive(Debug, Clone)]
pub struct ToolInfo {
    /// The tool name, `warden`.
    pub name: &'static str,
    /// The tool version.
    pub version: &'static str,
    /// Descriptions of every rule that may appear, for SARIF's `tool.driver.rules`.
    pub rules: Vec<RuleInfo>,
}

/// What SARIF needs to describe a rule.
#[derive(Debug, Clone)]
pub struct RuleInfo {
    /// The rule id.
    pub id: String,
    /// The rule's one-line title.
    pub title: String,
    /// A longer description with the why.
    pub description: String,
    /// Default severity.
    pub severity: crate::Severity,
    /// ATLAS technique ids.
    pub atlas: Vec<String>,
}
