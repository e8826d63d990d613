//! Renderers for the assessment document: a terminal table, Markdown, and self-contained HTML
//! with an SVG data-flow diagram. SARIF and the findings JSON go through `warden_core::render`
//! via [`crate::assess::to_report`].

pub mod html;
pub mod markdown;
pub mod svg;

use std::fmt::Write;

use crate::assess::{Assessment, Risk};

/// The risk register as a plain-text table.
pub fn table(a: &Assessment) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}: {} element(s), {} risk(s)", a.system.name, a.summary.elements, a.summary.risks);
    if a.risks.is_empty() {
        out.push_str("no risks\n");
        return out;
    }
    let el_w = a.risks.iter().map(|r| r.element.len()).max().unwrap_or(7).max(7);
    let _ = writeln!(out, "{:<5}  {:<8}  {:>5}  {:<16}  {:<el_w$}  THREAT", "RISK", "SEVERITY", "L x I", "STAGE", "ELEMENT");
    for r in &a.risks {
        let _ = writeln!(
            out,
            "{:<5}  {:<8}  {:>5}  {:<16}  {:<el_w$}  {}",
            r.id,
            r.severity.as_str().to_uppercase(),
            format!("{}x{}", r.residual.likelihood, r.residual.impact),
            stage_key(r),
            r.element,
            r.title
        );
        let pad = " ".repeat(5 + 2 + 8 + 2 + 5 + 2 + 16 + 2 + el_w + 2);
        let ids: Vec<&str> = r.techniques.iter().map(|t| t.id.as_str()).chain(r.owasp.iter().map(|o| o.id.as_str())).collect();
        let _ = writeln!(out, "{pad}{}", ids.join(" "));
        let missing = missing_mitigations(r);
        if !missing.is_empty() {
            let _ = writeln!(out, "{pad}add: {}", missing.join(", "));
        }
    }
    let s = &a.summary.by_severity;
    let _ = writeln!(
        out,
        "\n{} risk(s): {} critical, {} high, {} medium, {} low, {} info",
        a.summary.risks, s["critical"], s["high"], s["medium"], s["low"], s["info"]
    );
    out
}

fn stage_key(r: &Risk) -> String {
    serde_json::to_value(r.stage).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// Missing mitigations as `control (command)`.
pub fn missing_mitigations(r: &Risk) -> Vec<String> {
    r.mitigations
        .iter()
        .filter(|m| !m.in_place)
        .map(|m| match &m.command {
            Some(cmd) => format!("{} ({cmd})", m.control),
            None => m.control.clone(),
        })
        .collect()
}

/// The assessment document as pretty JSON.
pub fn json(a: &Assessment) -> String {
    serde_json::to_string_pretty(a).unwrap_or_default() + "\n"
}
