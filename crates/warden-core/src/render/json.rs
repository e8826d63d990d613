//! The JSON report: `{"version":1,"findings":[...],"files":[...],"summary":{...}}`.
//!
//! This is a stable machine contract: fields are only ever added, and `version` changes when an
//! existing field changes meaning.

use serde::Serialize;

use crate::{FileRecord, Finding, Report, Severity};

/// The version of the JSON report layout.
pub const JSON_REPORT_VERSION: u32 = 1;

#[derive(Serialize)]
struct JsonReport<'a> {
    version: u32,
    findings: &'a [Finding],
    files: &'a [FileRecord],
    summary: Summary,
}

#[derive(Serialize)]
struct Summary {
    files: usize,
    findings: usize,
    max_severity: Option<Severity>,
    by_severity: std::collections::BTreeMap<&'static str, usize>,
}

/// Renders `report` as pretty JSON.
pub fn to_string(report: &Report) -> serde_json::Result<String> {
    let counts = report.counts();
    let summary = Summary {
        files: report.files.len(),
        findings: report.findings.len(),
        max_severity: report.max_severity(),
        by_severity: Severity::ALL.iter().map(|s| (s.as_str(), counts[*s as usize])).collect(),
    };
    serde_json::to_string_pretty(&JsonReport {
        version: JSON_REPORT_VERSION,
        findings: &report.findings,
        files: &report.files,
        summary,
    })
}
