//! SARIF 2.1.0 output, accepted by GitHub code scanning.
//!
//! Written with `serde_json` rather than a typed SARIF crate: the subset warden emits is small,
//! and a test validates it against the official OASIS schema.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::render::ToolInfo;
use crate::{Finding, Report, Severity};

/// The SARIF schema URI written into every log.
pub const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Renders `report` as a SARIF 2.1.0 log with one run.
pub fn to_string(report: &Report, tool: &ToolInfo) -> serde_json::Result<String> {
    serde_json::to_string_pretty(&to_value(report, tool))
}

/// Builds the SARIF log as a JSON value.
pub fn to_value(report: &Report, tool: &ToolInfo) -> Value {
    // Rules known up front plus any rule a finding names that the tool did not list.
    let mut rules: BTreeMap<String, Value> = tool
        .rules
        .iter()
        .map(|r| {
            (
                r.id.clone(),
                rule_value(&r.id, &r.title, &r.description, r.severity, &r.atlas),
            )
        })
        .collect();
    for finding in &report.findings {
        rules.entry(finding.rule_id.to_string()).or_insert_with(|| {
            rule_value(finding.rule_id.as_str(), &finding.title, &finding.title, finding.severity, &finding.atlas)
        });
    }
    let index: BTreeMap<&str, usize> = rules.keys().enumerate().map(|(i, k)| (k.as_str(), i)).collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| result_value(f, index[f.rule_id.as_str()]))
        .collect();
    json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": tool.name,
                "version": tool.version,
                "semanticVersion": tool.version,
                "informationUri": "https://github.com/warden-ai/warden",
                "rules": rules.into_values().collect::<Vec<_>>(),
            }},
            "results": results,
            "columnKind": "unicodeCodePoints",
        }]
    })
}

/// Percent-encodes a path into a URI reference (spaces, `%`, `#`, `?` and non-ASCII bytes), as
/// SARIF's `artifactLocation.uri` must be a valid URI.
fn uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub ranks alerts by `security-severity`, a CVSS-like score in a property bag.
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

fn rule_value(id: &str, title: &str, description: &str, severity: Severity, atlas: &[String]) -> Value {
    let mut tags = vec!["security".to_owned()];
    tags.extend(atlas.iter().cloned());
    json!({
        "id": id,
        "name": id,
        "shortDescription": {"text": title},
        "fullDescription": {"text": description},
        "defaultConfiguration": {"level": level(severity)},
        "properties": {"tags": tags, "security-severity": security_severity(severity)},
    })
}

fn result_value(finding: &Finding, rule_index: usize) -> Value {
    // SARIF artifact URIs are relative paths with forward slashes; archive members use `!/`.
    let path = finding.location.path.replace('\\', "/");
    let uri = uri_path(path.strip_prefix("./").unwrap_or(&path));
    // GitHub code scanning needs `startLine` in every region (its rule GH1003), even for binary
    // artifacts; the byte offset rides along where known.
    let mut region = json!({"startLine": finding.location.line.unwrap_or(1)});
    if let Some(offset) = finding.location.offset {
        region["byteOffset"] = json!(offset);
    }
    let physical = json!({"artifactLocation": {"uri": uri}, "region": region});
    let mut location = json!({"physicalLocation": physical});
    if let Some(member) = &finding.location.member {
        location["logicalLocations"] = json!([{"name": member, "kind": "module", "fullyQualifiedName": format!("{path}!/{member}")}]);
    }
    let mut text = finding.message.clone();
    if let Some(remediation) = &finding.remediation {
        text.push_str(" Remediation: ");
        text.push_str(remediation);
    }
    let mut properties = json!({"severity": finding.severity.as_str(), "atlas": finding.atlas});
    if let Some(evidence) = &finding.evidence {
        properties["evidence"] = json!(evidence);
    }
    json!({
        "ruleId": finding.rule_id.as_str(),
        "ruleIndex": rule_index,
        "level": level(finding.severity),
        "message": {"text": text},
        "locations": [location],
        "partialFingerprints": {"wardenLocation/v1": format!("{}|{}|{}", finding.rule_id, finding.location.display(), finding.message)},
        "properties": properties,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_percent_encoded() {
        assert_eq!(uri_path("models/my model#1.pt"), "models/my%20model%231.pt");
        assert_eq!(uri_path("/abs/ü.pkl"), "/abs/%C3%BC.pkl");
        assert_eq!(uri_path("a/b-c_d.e~f"), "a/b-c_d.e~f");
    }
}
