//! `warden rules`: the catalogue of rules, generated from the rule definitions themselves.

use std::fmt::Write;

use crate::cli::{FormatArg, RulesArgs};
use crate::commands::ExitStatus;
use crate::output;

/// Runs `warden rules`.
pub fn run(args: &RulesArgs) -> anyhow::Result<ExitStatus> {
    let rules = warden_scan::rules::all();
    let text = match args.format {
        FormatArg::Json | FormatArg::Sarif => {
            let list: Vec<serde_json::Value> = rules
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "id": r.id,
                        "severity": r.severity.as_str(),
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
                let _ = writeln!(out, "{:<width$}  {:<8}  {}", rule.id, rule.severity.as_str(), rule.title);
            }
            out
        }
    };
    output::write(None, &text)?;
    Ok(ExitStatus::Success)
}
