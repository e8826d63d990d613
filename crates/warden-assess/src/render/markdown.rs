//! The assessment as Markdown: summary, risk register by lifecycle stage, threat model by
//! element with reasoning and mitigations, evidence, compliance views.

use std::fmt::Write;

use crate::assess::{Assessment, Risk};
use crate::rules::Stage;

fn esc(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn techniques(r: &Risk) -> String {
    r.techniques.iter().map(|t| format!("{} {}", t.id, t.name)).collect::<Vec<_>>().join("; ")
}

/// Renders the whole document.
pub fn render(a: &Assessment) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# Threat assessment: {}\n", esc(&a.system.name));
    if let Some(d) = &a.system.description {
        let _ = writeln!(o, "{}\n", esc(d));
    }
    let catalogue = match &a.catalogue.version {
        Some(v) => format!("MITRE ATLAS {v} (imported)"),
        None => "warden's shipped rules (no ATLAS catalogue imported)".to_owned(),
    };
    let _ = writeln!(o, "- Description: `{}`\n- Catalogue: {catalogue}", a.source);
    if let Some(owner) = &a.system.owner {
        let _ = writeln!(o, "- Owner: {}", esc(owner));
    }
    let s = &a.summary;
    let _ = writeln!(
        o,
        "- {} elements, {} risks ({} critical, {} high, {} medium, {} low, {} info), {} ATLAS techniques\n",
        s.elements, s.risks, s.by_severity["critical"], s.by_severity["high"], s.by_severity["medium"], s.by_severity["low"], s.by_severity["info"], s.techniques
    );

    let _ = writeln!(o, "## Risk register by lifecycle stage\n");
    for stage in Stage::ALL {
        let risks: Vec<&Risk> = a.risks.iter().filter(|r| r.stage == stage).collect();
        let _ = writeln!(o, "### {}\n", stage.title());
        if risks.is_empty() {
            let _ = writeln!(o, "No risks identified at this stage.\n");
            continue;
        }
        let _ = writeln!(o, "| Risk | Severity | L x I (inherent) | Element | Threat | ATLAS | OWASP |");
        let _ = writeln!(o, "|---|---|---|---|---|---|---|");
        for r in risks {
            let _ = writeln!(
                o,
                "| {} | {} | {}x{}={} ({}x{}) | `{}` | {} | {} | {} |",
                r.id,
                r.severity.as_str(),
                r.residual.likelihood,
                r.residual.impact,
                r.residual.score,
                r.inherent.likelihood,
                r.inherent.impact,
                r.element,
                esc(&r.title),
                r.techniques.iter().map(|t| t.id.as_str()).collect::<Vec<_>>().join(", "),
                r.owasp.iter().map(|t| t.id.as_str()).collect::<Vec<_>>().join(", ")
            );
        }
        o.push('\n');
    }

    let _ = writeln!(o, "## Threat model by element\n");
    for e in &a.elements {
        let risks: Vec<&Risk> = a.risks.iter().filter(|r| r.element == e.id).collect();
        let boundary = e.boundary.as_deref().map(|b| format!(", trust boundary `{b}`")).unwrap_or_default();
        let _ = writeln!(o, "### {} `{}` ({}{boundary})\n", esc(&e.name), e.id, e.kind.as_str());
        if risks.is_empty() {
            let _ = writeln!(o, "No threats matched.\n");
            continue;
        }
        for r in risks {
            let _ = writeln!(o, "#### {} {} ({}, {}x{}={})\n", r.id, esc(&r.title), r.severity.as_str(), r.residual.likelihood, r.residual.impact, r.residual.score);
            let _ = writeln!(o, "{} Applies because {}.\n", esc(&r.rationale), r.because.join(", "));
            let _ = writeln!(o, "- ATLAS: {}", esc(&techniques(r)));
            for t in r.techniques.iter().filter(|t| t.missing_from_catalogue) {
                let _ = writeln!(o, "  - note: {} is not in the imported catalogue", t.id);
            }
            if !r.owasp.is_empty() {
                let _ = writeln!(o, "- OWASP: {}", r.owasp.iter().map(|x| format!("{} {}", x.id, x.name)).collect::<Vec<_>>().join("; "));
            }
            let _ = writeln!(o, "- Scoring:");
            for step in &r.reasoning {
                let _ = writeln!(o, "  - likelihood {:+}, impact {:+}: {}", step.likelihood, step.impact, esc(&step.reason));
            }
            let _ = writeln!(o, "- Mitigations:");
            for m in &r.mitigations {
                let mark = if m.in_place { "x" } else { " " };
                let cmd = m.command.as_deref().map(|c| format!(" - `{c}`")).unwrap_or_default();
                let atlas = if m.atlas.is_empty() {
                    String::new()
                } else {
                    format!(" - ATLAS {}", m.atlas.iter().map(|(id, n)| if n.is_empty() { id.clone() } else { format!("{id} {n}") }).collect::<Vec<_>>().join(", "))
                };
                let src = m.source.as_deref().map(|s| format!(" ({s})")).unwrap_or_default();
                let _ = writeln!(o, "  - [{mark}] {}: {}{src}{cmd}{atlas}", m.control, esc(&m.title));
            }
            if !r.atlas_mitigations.is_empty() {
                let _ = writeln!(
                    o,
                    "- ATLAS mitigations for these techniques: {}",
                    r.atlas_mitigations.iter().map(|(id, n)| format!("{id} {n}")).collect::<Vec<_>>().join("; ")
                );
            }
            o.push('\n');
        }
    }

    if !a.evidence.is_empty() {
        let _ = writeln!(o, "## Evidence\n");
        for ev in &a.evidence {
            let verdict = if ev.passed { "passed" } else { "failed" };
            let _ = writeln!(o, "- `{}` ({:?}, {verdict}): {}; applies to {}", ev.path, ev.kind, ev.summary, if ev.applies_to.is_empty() { "no element".into() } else { ev.applies_to.join(", ") });
        }
        o.push('\n');
    }

    for f in &a.compliance {
        let _ = writeln!(o, "## Compliance: {}\n", esc(&f.title));
        let _ = writeln!(o, "Source: {}. Status: {}.\n", esc(&f.source), f.counts.iter().map(|(k, v)| format!("{v} {k}")).collect::<Vec<_>>().join(", "));
        let _ = writeln!(o, "| Requirement | Status | Evidence | Missing |");
        let _ = writeln!(o, "|---|---|---|---|");
        for r in &f.requirements {
            let missing = match &r.not_applicable_because {
                Some(why) => why.clone(),
                None => r.missing.join(", "),
            };
            let _ = writeln!(o, "| {} {} | {} | {} | {} |", r.id, esc(&r.title), r.status.as_str(), esc(&r.evidence.join(", ")), esc(&missing));
        }
        o.push('\n');
    }
    o
}
