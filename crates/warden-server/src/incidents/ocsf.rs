//! Incidents for a SIEM: OCSF 1.3 events, one JSON object per line. Each incident becomes an
//! **Incident Finding** (class 2005) listing its findings in `finding_info_list`; each of its
//! findings becomes a **Detection Finding** (class 2004). Drills are never exported.

use serde_json::{Value, json};
use warden_core::Severity;

use super::Status;
use super::store::Incident;
use crate::findings::StoredFinding;

/// The OCSF schema version of every event.
pub const OCSF_VERSION: &str = "1.3.0";
/// OCSF category 2, Findings.
pub const CATEGORY_FINDINGS: u64 = 2;
/// OCSF class 2004, Detection Finding.
pub const CLASS_DETECTION_FINDING: u64 = 2004;
/// OCSF class 2005, Incident Finding.
pub const CLASS_INCIDENT_FINDING: u64 = 2005;

/// OCSF `severity_id`: 1 Informational, 2 Low, 3 Medium, 4 High, 5 Critical.
fn severity_id(severity: Severity) -> (u64, &'static str) {
    match severity {
        Severity::Info => (1, "Informational"),
        Severity::Low => (2, "Low"),
        Severity::Medium => (3, "Medium"),
        Severity::High => (4, "High"),
        Severity::Critical => (5, "Critical"),
    }
}

/// OCSF `priority_id` and `impact_id`: 1 Low, 2 Medium, 3 High, 4 Critical.
fn priority_id(severity: Severity) -> (u64, &'static str) {
    match severity {
        Severity::Info | Severity::Low => (1, "Low"),
        Severity::Medium => (2, "Medium"),
        Severity::High => (3, "High"),
        Severity::Critical => (4, "Critical"),
    }
}

/// Incident Finding `status_id`: 1 New, 2 In Progress, 4 Resolved, 5 Closed.
fn incident_status(status: Status) -> (u64, &'static str) {
    match status {
        Status::Detected => (1, "New"),
        Status::Triaged | Status::Contained | Status::Mitigated => (2, "In Progress"),
        Status::Recovered => (4, "Resolved"),
        Status::Closed => (5, "Closed"),
    }
}

fn metadata(uid: &str, modified: i64) -> Value {
    json!({
        "version": OCSF_VERSION,
        "product": {"name": "warden", "vendor_name": "warden", "version": env!("CARGO_PKG_VERSION")},
        "uid": uid,
        "modified_time": modified,
        "log_name": "incidents",
    })
}

fn finding_info(finding: &StoredFinding) -> Value {
    let mut info = json!({
        "uid": finding.id,
        "title": finding.finding.title,
        "desc": finding.finding.message,
        "created_time": finding.created_at,
        "types": [finding.finding.rule_id.as_str()],
        "data_sources": [serde_json::to_value(finding.source).unwrap_or(Value::Null)],
    });
    if !finding.finding.atlas.is_empty() {
        // MITRE ATLAS technique ids have the ATT&CK shape; OCSF's `attacks` carries them.
        info["attacks"] = finding.finding.atlas.iter().map(|id| json!({"technique": {"uid": id}, "version": "ATLAS"})).collect();
    }
    info
}

/// The Incident Finding of `incident` with its `findings`; `base_url` makes `src_url`.
pub fn incident_finding(incident: &Incident, findings: &[StoredFinding], base_url: &str) -> Value {
    let (activity_id, activity_name) = match incident.status {
        Status::Closed => (3, "Close"),
        _ if incident.updated_at > incident.created_at => (2, "Update"),
        _ => (1, "Create"),
    };
    let (severity_id, severity) = severity_id(incident.severity);
    let (status_id, status) = incident_status(incident.status);
    let (priority_id, priority) = priority_id(incident.severity);
    let warden = json!({
        "title": incident.title,
        "lifecycle": incident.status.as_str(),
        "rule": incident.rule_id,
        "asset_id": incident.asset_id,
        "subject": incident.subject,
        "assignees": incident.assignees,
        "detected_at": incident.created_at,
        "triaged_at": incident.triaged_at,
        "contained_at": incident.contained_at,
        "mitigated_at": incident.mitigated_at,
        "recovered_at": incident.recovered_at,
        "closed_at": incident.closed_at,
        "time_to_contain_ms": incident.time_to_contain_ms(),
        "time_to_recover_ms": incident.time_to_recover_ms(),
        "root_cause": incident.root_cause,
        "lessons": incident.lessons,
    });
    let time = incident.updated_at;
    let mut event = json!({
        "metadata": metadata(&incident.id, incident.updated_at),
        "time": time,
        "category_uid": CATEGORY_FINDINGS,
        "category_name": "Findings",
        "class_uid": CLASS_INCIDENT_FINDING,
        "class_name": "Incident Finding",
        "activity_id": activity_id,
        "activity_name": activity_name,
        "type_uid": CLASS_INCIDENT_FINDING * 100 + activity_id,
        "type_name": format!("Incident Finding: {activity_name}"),
        "severity_id": severity_id,
        "severity": severity,
        "status_id": status_id,
        "status": status,
        "status_detail": incident.status.as_str(),
        "priority_id": priority_id,
        "priority": priority,
        "impact_id": priority_id,
        "impact": priority,
        "desc": if incident.summary.is_empty() { incident.title.clone() } else { incident.summary.clone() },
        "src_url": format!("{}/ui/incidents/{}", base_url.trim_end_matches('/'), incident.id),
        "start_time": findings.iter().map(|f| f.created_at).min().unwrap_or(incident.created_at),
        "end_time": findings.iter().map(|f| f.created_at).max().unwrap_or(incident.created_at),
        "finding_info_list": findings.iter().map(finding_info).collect::<Vec<_>>(),
        "assignee_group": {"name": "warden incident responders"},
        "unmapped": {"warden": warden},
    });
    if !incident.owner.is_empty() {
        event["assignee"] = json!({"name": incident.owner});
    }
    // A critical incident is treated as a suspected breach.
    if incident.severity == Severity::Critical {
        event["is_suspected_breach"] = json!(true);
    }
    event
}

/// The Detection Finding of one of `incident`'s findings.
pub fn detection_finding(incident: &Incident, finding: &StoredFinding) -> Value {
    let (severity_id, severity) = severity_id(finding.finding.severity);
    let (status_id, status) = if incident.status >= Status::Recovered { (4, "Resolved") } else { (2, "In Progress") };
    let mut event = json!({
        "metadata": metadata(&finding.id, incident.updated_at),
        "time": finding.created_at,
        "category_uid": CATEGORY_FINDINGS,
        "category_name": "Findings",
        "class_uid": CLASS_DETECTION_FINDING,
        "class_name": "Detection Finding",
        "activity_id": 1,
        "activity_name": "Create",
        "type_uid": CLASS_DETECTION_FINDING * 100 + 1,
        "type_name": "Detection Finding: Create",
        "severity_id": severity_id,
        "severity": severity,
        "status_id": status_id,
        "status": status,
        "is_alert": finding.finding.severity >= Severity::High,
        "message": finding.finding.message,
        "finding_info": finding_info(finding),
        "unmapped": {"warden": {
            "incident_uid": incident.id,
            "rule_id": finding.finding.rule_id.as_str(),
            "location": finding.finding.location,
            "evidence": finding.finding.evidence,
            "subject": finding.subject,
            "version_id": finding.version_id,
        }},
    });
    if let Some(asset) = &finding.asset_id {
        event["resources"] = json!([{"uid": asset, "type": "ai_asset"}]);
    }
    if let Some(remediation) = &finding.finding.remediation {
        event["remediation"] = json!({"desc": remediation});
    }
    event
}

/// The JSON lines of `incidents` (each with its findings): the incident, then its findings.
pub fn export_lines(incidents: &[(Incident, Vec<StoredFinding>)], base_url: &str) -> String {
    let mut out = String::new();
    for (incident, findings) in incidents {
        out.push_str(&incident_finding(incident, findings, base_url).to_string());
        out.push('\n');
        for finding in findings {
            out.push_str(&detection_finding(incident, finding).to_string());
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use warden_core::{Finding, Location};

    use super::*;
    use crate::findings::Source;

    fn incident() -> Incident {
        Incident {
            id: "inc-1".into(),
            title: "Malicious model upload: fraud-scorer".into(),
            summary: "pickle imports os.system".into(),
            severity: Severity::Critical,
            status: Status::Contained,
            group_key: "asset:a1".into(),
            asset_id: Some("a1".into()),
            subject: String::new(),
            rule_id: "malicious-model-upload".into(),
            owner: "ada".into(),
            assignees: vec!["bob".into()],
            drill: false,
            playbook_id: None,
            root_cause: String::new(),
            lessons: String::new(),
            created_by: "system:incident-rules".into(),
            created_at: 1_000,
            updated_at: 5_000,
            triaged_at: None,
            contained_at: Some(5_000),
            mitigated_at: None,
            recovered_at: None,
            closed_at: None,
        }
    }

    fn finding() -> StoredFinding {
        let mut finding = Finding::new("pickle.dangerous-global", Severity::Critical, "pickle imports a dangerous callable", "os.system", Location::file("model.pkl"));
        finding.atlas = vec!["AML.T0010.003".into()];
        finding.remediation = Some("Do not load it.".into());
        StoredFinding { id: "f-1".into(), asset_id: Some("a1".into()), version_id: Some("v1".into()), source: Source::RegistryScan, subject: String::new(), created_at: 900, finding }
    }

    /// The attributes OCSF 1.3 requires of every event (base event) and of the class.
    fn assert_required(event: &Value, class: u64, extra: &[&str]) {
        for field in ["metadata", "time", "category_uid", "class_uid", "activity_id", "type_uid", "severity_id"].iter().chain(extra) {
            assert!(event.get(*field).is_some_and(|v| !v.is_null()), "missing {field} in {event}");
        }
        assert_eq!(event["class_uid"], class);
        assert_eq!(event["category_uid"], CATEGORY_FINDINGS);
        assert_eq!(event["type_uid"], class * 100 + event["activity_id"].as_u64().unwrap());
        assert_eq!(event["metadata"]["version"], OCSF_VERSION);
        assert!(event["metadata"]["product"]["name"].is_string());
        assert!((1..=6).contains(&event["severity_id"].as_u64().unwrap()));
    }

    #[test]
    fn an_incident_is_an_incident_finding_with_its_findings() {
        let event = incident_finding(&incident(), &[finding()], "https://warden.example/");
        assert_required(&event, CLASS_INCIDENT_FINDING, &["finding_info_list", "status_id"]);
        assert_eq!(event["activity_id"], 2, "an updated incident is an Update");
        assert_eq!(event["status_id"], 2, "contained is In Progress");
        assert_eq!(event["severity_id"], 5);
        assert_eq!(event["src_url"], "https://warden.example/ui/incidents/inc-1");
        assert_eq!(event["assignee"]["name"], "ada");
        let info = &event["finding_info_list"][0];
        assert_eq!(info["uid"], "f-1");
        assert_eq!(info["types"][0], "pickle.dangerous-global");
        assert_eq!(info["attacks"][0]["technique"]["uid"], "AML.T0010.003");
        assert_eq!(event["unmapped"]["warden"]["time_to_contain_ms"], 4_000);

        let mut closed = incident();
        closed.status = Status::Closed;
        let event = incident_finding(&closed, &[], "https://warden.example");
        assert_eq!((event["activity_id"].as_u64(), event["status_id"].as_u64()), (Some(3), Some(5)));
        assert_eq!(event["type_uid"], 200_503);
    }

    #[test]
    fn a_finding_is_a_detection_finding() {
        let event = detection_finding(&incident(), &finding());
        assert_required(&event, CLASS_DETECTION_FINDING, &["finding_info"]);
        assert_eq!(event["type_uid"], 200_401);
        assert_eq!(event["finding_info"]["uid"], "f-1");
        assert!(event["finding_info"]["title"].is_string());
        assert_eq!(event["resources"][0]["uid"], "a1");
        assert_eq!(event["remediation"]["desc"], "Do not load it.");
        assert_eq!(event["unmapped"]["warden"]["incident_uid"], "inc-1");
    }

    #[test]
    fn export_is_one_json_object_per_line() {
        let text = export_lines(&[(incident(), vec![finding(), finding()])], "http://x");
        let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0]["class_uid"], CLASS_INCIDENT_FINDING);
        assert!(lines[1..].iter().all(|l| l["class_uid"] == CLASS_DETECTION_FINDING));
    }
}
