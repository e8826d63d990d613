//! A plain-text table for terminals; readable without colour.

use std::fmt::Write;

use crate::{FileStatus, Report};

/// Renders `report` as a table of findings followed by a one-line summary.
pub fn to_string(report: &Report) -> String {
    let mut out = String::new();
    if report.findings.is_empty() {
        out.push_str("no findings\n");
    } else {
        let sev_w = 8;
        let rule_w = report.findings.iter().map(|f| f.rule_id.as_str().len()).max().unwrap_or(4).max(4);
        let _ = writeln!(out, "{:<sev_w$}  {:<rule_w$}  LOCATION / MESSAGE", "SEVERITY", "RULE");
        for finding in &report.findings {
            let _ = writeln!(
                out,
                "{:<sev_w$}  {:<rule_w$}  {}",
                finding.severity.as_str().to_uppercase(),
                finding.rule_id.as_str(),
                finding.location.display()
            );
            let _ = writeln!(out, "{:<sev_w$}  {:<rule_w$}    {}", "", "", finding.message);
            if let Some(remediation) = &finding.remediation {
                let _ = writeln!(out, "{:<sev_w$}  {:<rule_w$}    fix: {}", "", "", remediation);
            }
        }
    }
    let counts = report.counts();
    let skipped = report.files.iter().filter(|f| f.status == FileStatus::Skipped).count();
    let errors = report.files.iter().filter(|f| f.status == FileStatus::Error).count();
    let _ = writeln!(
        out,
        "\n{} file(s) ({} skipped, {} failed), {} finding(s): {} critical, {} high, {} medium, {} low, {} info",
        report.files.len(),
        skipped,
        errors,
        report.findings.len(),
        counts[4],
        counts[3],
        counts[2],
        counts[1],
        counts[0],
    );
    out
}
