//! `warden rules`: the catalogue of rules every capability can report, generated from the rule
//! definitions themselves.

use std::fmt::Write;

use warden_core::Rule;
use warden_data::pii::Entity;

use crate::cli::{FormatArg, RulesArgs};
use crate::commands::ExitStatus;
use crate::output;

/// One row of the catalogue.
struct Row {
    id: String,
    severity: &'static str,
    title: String,
    description: String,
    atlas: Vec<String>,
    remediation: Option<String>,
}

impl From<&Rule> for Row {
    fn from(r: &Rule) -> Self {
        Row {
            id: r.id.to_owned(),
            severity: r.severity.as_str(),
            title: r.title.to_owned(),
            description: r.description.to_owned(),
            atlas: r.atlas.iter().map(|s| (*s).to_owned()).collect(),
            remediation: Some(r.remediation.to_owned()),
        }
    }
}

/// Every rule: scanning, integrity, data (PII, validation, poisoning) and monitoring, by id.
fn catalogue() -> Vec<Row> {
    let statics = warden_scan::rules::all()
        .into_iter()
        .chain(warden_integrity::rules::RULES.iter().copied())
        .chain(warden_data::quality::rules::RULES.iter().copied())
        .chain(warden_data::poison::RULES.iter().copied())
        .chain(warden_monitor::fairness::RULES.iter().copied())
        .chain(warden_monitor::detect::RULES.iter().copied());
    let mut rows: Vec<Row> = statics.map(Row::from).collect();
    rows.extend(Entity::ALL.iter().map(|e| Row {
        id: e.rule_id(),
        severity: e.severity().as_str(),
        title: e.title().to_owned(),
        description: format!("{} found by warden's PII recognizers (checksums, context words, dictionaries).", e.title()),
        atlas: Vec::new(),
        remediation: Some("Remove or anonymise the value before training or sharing the data (`warden data anonymize`).".to_owned()),
    }));
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    rows
}

/// Runs `warden rules`.
pub fn run(args: &RulesArgs) -> anyhow::Result<ExitStatus> {
    let rules = catalogue();
    let text = match args.format {
        FormatArg::Json | FormatArg::Sarif => {
            let list: Vec<serde_json::Value> = rules
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "id": r.id,
                        "severity": r.severity,
                        "title": r.title,
                        "description": r.description,
                        "atlas": r.atlas,
                        "remediation": r.remediation,
                    })
                })
                .collect();
            serde_json::to_string_pretty(&list)? + "\n"
        }
        FormatArg::Table => {
            let width = rules.iter().map(|r| r.id.len()).max().unwrap_or(4);
            let mut out = String::new();
            for rule in &rules {
                let _ = writeln!(out, "{:<width$}  {:<8}  {}", rule.id, rule.severity, rule.title);
            }
            out
        }
    };
    output::write(None, &text)?;
    Ok(ExitStatus::Success)
}
