//! Reports from other warden commands, recognised by their shape and turned into evidence.
//!
//! A report may name its kind in a top-level `kind` (or `command`) field: `scan`, `verify`,
//! `data-scan`, `drift`, `fairness`. Otherwise the shape decides: `warden drift --format json`
//! has `columns` + `dataset_drift`; `warden verify` is a findings report with `integrity.*` rule
//! ids (`integrity.verified` on success) or an object with a boolean `verified`; `warden data
//! scan` is a findings report with a `pii` object, `pii.*`/`data.*` rule ids or tabular files;
//! `warden fairness` has `fairness.*` rule ids; any other findings report is a model scan.

use serde::Serialize;
use serde_json::Value;

/// The command a report came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum EvidenceKind {
    Scan,
    Verify,
    DataScan,
    Drift,
    Fairness,
}

impl EvidenceKind {
    /// The control a report of this kind evidences.
    pub fn control(self) -> &'static str {
        match self {
            EvidenceKind::Scan => "artifact-scanning",
            EvidenceKind::Verify => "model-signing",
            EvidenceKind::DataScan => "pii-scanning",
            EvidenceKind::Drift => "drift-monitoring",
            EvidenceKind::Fairness => "fairness-testing",
        }
    }
}

/// What a report says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// Report path as given.
    pub path: String,
    /// Its kind.
    pub kind: EvidenceKind,
    /// Whether the check passed (no finding at medium or above, or verified).
    pub passed: bool,
    /// One line.
    pub summary: String,
    /// Files the report is about (to match model artifacts and dataset paths).
    pub subjects: Vec<String>,
    /// Element ids it applies to (resolved by the assessment).
    pub applies_to: Vec<String>,
}

/// Why a report was not recognised.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct EvidenceError {
    /// Report path.
    pub path: String,
    /// Why.
    pub reason: String,
}

const SERIOUS: [&str; 3] = ["medium", "high", "critical"];

/// Recognises a report from its JSON text.
pub fn recognise(path: &str, text: &str) -> Result<Evidence, EvidenceError> {
    let fail = |reason: &str| EvidenceError { path: path.to_owned(), reason: reason.to_owned() };
    if text.len() > 256 << 20 {
        return Err(fail("report larger than 256 MiB"));
    }
    let value: Value = serde_json::from_str(text).map_err(|e| fail(&format!("not JSON: {e}")))?;
    let obj = value.as_object().ok_or_else(|| fail("not a JSON object"))?;
    let declared = obj.get("kind").or_else(|| obj.get("command")).and_then(Value::as_str);
    let findings = obj.get("findings").and_then(Value::as_array);
    let rule_ids: Vec<&str> = findings
        .into_iter()
        .flatten()
        .filter_map(|f| f.get("rule_id").and_then(Value::as_str))
        .collect();
    let subjects: Vec<String> = obj
        .get("files")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|f| f.get("path").and_then(Value::as_str).map(str::to_owned))
        .chain(["path", "model", "dataset", "subject"].iter().filter_map(|k| obj.get(*k).and_then(Value::as_str).map(str::to_owned)))
        .collect();
    let tabular = obj.get("files").and_then(Value::as_array).into_iter().flatten().any(|f| {
        f.get("format").and_then(Value::as_str).is_some_and(|fmt| ["csv", "jsonl", "parquet", "tsv", "arrow"].contains(&fmt))
    });
    let prefixed = |p: &[&str]| rule_ids.iter().any(|r| p.iter().any(|x| r.starts_with(x)));
    let verified = obj.get("verified").or_else(|| obj.get("valid")).and_then(Value::as_bool);

    let kind = match declared {
        Some("scan") => EvidenceKind::Scan,
        Some("verify") => EvidenceKind::Verify,
        Some("data-scan" | "data scan" | "data") => EvidenceKind::DataScan,
        Some("drift") => EvidenceKind::Drift,
        Some("fairness") => EvidenceKind::Fairness,
        Some(other) => return Err(fail(&format!("unknown report kind `{other}`"))),
        None if verified.is_some() => EvidenceKind::Verify,
        None if obj.contains_key("dataset_drift") && obj.contains_key("columns") => EvidenceKind::Drift,
        None if findings.is_none() => {
            return Err(fail("not a warden report: expected `findings` or `verified`, or a `kind` field"));
        }
        None if prefixed(&["drift."]) => EvidenceKind::Drift,
        None if prefixed(&["fairness."]) => EvidenceKind::Fairness,
        None if prefixed(&["integrity."]) => EvidenceKind::Verify,
        None if obj.contains_key("pii") || prefixed(&["data.", "pii.", "dataset."]) || tabular => EvidenceKind::DataScan,
        None => EvidenceKind::Scan,
    };
    let serious = findings
        .into_iter()
        .flatten()
        .filter(|f| f.get("severity").and_then(Value::as_str).is_some_and(|s| SERIOUS.contains(&s)))
        .count();
    let total = findings.map_or(0, Vec::len);
    let (passed, summary) = match kind {
        EvidenceKind::Verify => {
            let ok = verified.unwrap_or_else(|| rule_ids.contains(&"integrity.verified")) && serious == 0;
            (ok, if ok { "signature verified".to_owned() } else { "signature verification failed".to_owned() })
        }
        EvidenceKind::Drift if findings.is_none() => {
            let drifted = obj.get("dataset_drift").and_then(Value::as_bool).unwrap_or(false);
            let share = obj.get("drifted_share").and_then(Value::as_f64).unwrap_or(0.0);
            (!drifted, format!("{:.0}% of columns drifted{}", share * 100.0, if drifted { " (dataset drift)" } else { "" }))
        }
        _ => (serious == 0, format!("{total} finding(s), {serious} at medium or above")),
    };
    Ok(Evidence { path: path.to_owned(), kind, passed, summary, subjects, applies_to: Vec::new() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_recognised() {
        let scan = r#"{"version":1,"findings":[],"files":[{"path":"m.pkl","format":"pickle","status":"scanned"}]}"#;
        let e = recognise("s.json", scan).unwrap();
        assert_eq!((e.kind, e.passed), (EvidenceKind::Scan, true));
        assert_eq!(e.subjects, ["m.pkl"]);
        let bad = r#"{"findings":[{"rule_id":"pickle.dangerous-global","severity":"critical"}],"files":[]}"#;
        assert!(!recognise("s.json", bad).unwrap().passed);
        let data = r#"{"findings":[{"rule_id":"pii.email","severity":"high"}],"files":[]}"#;
        assert_eq!(recognise("d.json", data).unwrap().kind, EvidenceKind::DataScan);
        let verify = r#"{"verified":true,"model":"m.pkl"}"#;
        assert_eq!(recognise("v.json", verify).unwrap().kind, EvidenceKind::Verify);
        assert_eq!(recognise("x.json", r#"{"kind":"drift","findings":[]}"#).unwrap().kind, EvidenceKind::Drift);
        let signed = r#"{"version":1,"findings":[{"rule_id":"integrity.verified","severity":"info"}],"files":[]}"#;
        let e = recognise("v.json", signed).unwrap();
        assert_eq!((e.kind, e.passed), (EvidenceKind::Verify, true));
        let tampered = r#"{"version":1,"findings":[{"rule_id":"integrity.file-changed","severity":"critical"}],"files":[]}"#;
        assert!(!recognise("v.json", tampered).unwrap().passed);
        let drift = r#"{"columns":[],"drifted_share":0.5,"dataset_drift":true}"#;
        let e = recognise("d.json", drift).unwrap();
        assert_eq!((e.kind, e.passed), (EvidenceKind::Drift, false));
        let pii = r#"{"version":1,"findings":[],"files":[],"pii":{"columns":[]}}"#;
        assert_eq!(recognise("p.json", pii).unwrap().kind, EvidenceKind::DataScan);
        let fair = r#"{"findings":[{"rule_id":"fairness.four-fifths-violation","severity":"high"}]}"#;
        assert_eq!(recognise("f.json", fair).unwrap().kind, EvidenceKind::Fairness);
        assert!(recognise("x.json", r#"{"hello":1}"#).is_err());
        assert!(recognise("x.json", "[1]").is_err());
    }
}
