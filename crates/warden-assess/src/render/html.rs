//! A self-contained HTML report: inline CSS, no script, no external resource; the data-flow
//! diagram is inline SVG.

use std::fmt::Write;

use crate::assess::{Assessment, Risk};
use crate::render::svg::{esc, render as svg, severity_colour};
use crate::rules::Stage;

const CSS: &str = "body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1200px;color:#0f172a;line-height:1.45;padding:0 1rem}\
h1{margin-bottom:.2rem}h2{border-bottom:2px solid #e2e8f0;padding-bottom:.3rem;margin-top:2.2rem}\
table{border-collapse:collapse;width:100%;font-size:.9rem;margin:.5rem 0 1rem}th,td{border:1px solid #e2e8f0;padding:.35rem .5rem;text-align:left;vertical-align:top}\
th{background:#f8fafc}.sev{color:#fff;border-radius:4px;padding:.05rem .4rem;font-size:.8rem;font-weight:600;white-space:nowrap}\
.cards{display:flex;gap:.8rem;flex-wrap:wrap}.card{border:1px solid #e2e8f0;border-radius:8px;padding:.6rem 1rem;min-width:8rem}\
.card b{font-size:1.6rem;display:block}.diagram{overflow-x:auto;border:1px solid #e2e8f0;border-radius:8px;padding:.5rem}\
details{border:1px solid #e2e8f0;border-radius:6px;margin:.4rem 0;padding:.4rem .8rem}summary{cursor:pointer;font-weight:600}\
.muted{color:#64748b}.met{color:#15803d;font-weight:600}.partly{color:#b45309;font-weight:600}.gap{color:#b91c1c;font-weight:600}\
code{background:#f1f5f9;padding:0 .25rem;border-radius:3px}@media print{details{break-inside:avoid}}";

fn badge(r: &Risk) -> String {
    format!(r#"<span class="sev" style="background:{}">{}</span>"#, severity_colour(r.severity), r.severity.as_str())
}

/// Renders the report.
pub fn render(a: &Assessment) -> String {
    let mut o = String::new();
    let title = format!("Threat assessment: {}", a.system.name);
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{}</title><style>{CSS}</style></head><body>\n",
        esc(&title)
    );
    let _ = writeln!(o, "<h1>{}</h1>", esc(&title));
    if let Some(d) = &a.system.description {
        let _ = writeln!(o, "<p>{}</p>", esc(d));
    }
    let catalogue = match &a.catalogue.version {
        Some(v) => format!("MITRE ATLAS {v} (imported)"),
        None => "warden's shipped rules".to_owned(),
    };
    let _ = writeln!(
        o,
        "<p class=\"muted\">Description <code>{}</code> &middot; catalogue: {} &middot; owner: {}</p>",
        esc(&a.source),
        esc(&catalogue),
        esc(a.system.owner.as_deref().unwrap_or("not stated"))
    );
    o.push_str("<div class=\"cards\">");
    let _ = write!(o, "<div class=\"card\"><b>{}</b>elements</div><div class=\"card\"><b>{}</b>risks</div><div class=\"card\"><b>{}</b>ATLAS techniques</div>", a.summary.elements, a.summary.risks, a.summary.techniques);
    for (sev, n) in a.summary.by_severity.iter().rev() {
        let _ = write!(o, "<div class=\"card\"><b>{n}</b>{sev}</div>");
    }
    o.push_str("</div>\n");

    let _ = writeln!(o, "<h2>Data flow</h2><div class=\"diagram\">{}</div>", svg(a));
    o.push_str("<p class=\"muted\">Boxes are elements, arrows data flows, dashed groups trust boundaries; a badge gives the number of risks, coloured by the worst.</p>\n");

    o.push_str("<h2>Risk register by lifecycle stage</h2>\n");
    for stage in Stage::ALL {
        let risks: Vec<&Risk> = a.risks.iter().filter(|r| r.stage == stage).collect();
        let _ = writeln!(o, "<h3>{} <span class=\"muted\">({})</span></h3>", stage.title(), risks.len());
        if risks.is_empty() {
            continue;
        }
        o.push_str("<table><tr><th>Risk</th><th>Severity</th><th>L&times;I</th><th>Inherent</th><th>Element</th><th>Threat</th><th>ATLAS</th><th>OWASP</th></tr>\n");
        for r in risks {
            let _ = writeln!(
                o,
                "<tr><td><a href=\"#{id}\">{id}</a></td><td>{}</td><td>{}&times;{}={}</td><td>{}&times;{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                badge(r),
                r.residual.likelihood,
                r.residual.impact,
                r.residual.score,
                r.inherent.likelihood,
                r.inherent.impact,
                esc(&r.element),
                esc(&r.title),
                esc(&r.techniques.iter().map(|t| t.id.as_str()).collect::<Vec<_>>().join(", ")),
                esc(&r.owasp.iter().map(|t| t.id.as_str()).collect::<Vec<_>>().join(", ")),
                id = esc(&r.id)
            );
        }
        o.push_str("</table>\n");
    }

    o.push_str("<h2>Threat model</h2>\n");
    for r in &a.risks {
        let _ = writeln!(o, "<details id=\"{}\"><summary>{} {} {} &mdash; <code>{}</code></summary>", esc(&r.id), esc(&r.id), badge(r), esc(&r.title), esc(&r.element));
        let _ = writeln!(o, "<p>{} <span class=\"muted\">Applies because {}.</span></p>", esc(&r.rationale), esc(&r.because.join(", ")));
        o.push_str("<ul>");
        for t in &r.techniques {
            let tactics = if t.tactics.is_empty() { String::new() } else { format!(" <span class=\"muted\">({})</span>", esc(&t.tactics.join(", "))) };
            let _ = write!(o, "<li><code>{}</code> {}{tactics}</li>", esc(&t.id), esc(&t.name));
        }
        for x in &r.owasp {
            let _ = write!(o, "<li><code>{}</code> {} <span class=\"muted\">({})</span></li>", esc(&x.id), esc(&x.name), esc(x.list));
        }
        o.push_str("</ul><table><tr><th>Scoring step</th><th>Likelihood</th><th>Impact</th></tr>");
        for s in &r.reasoning {
            let _ = write!(o, "<tr><td>{}</td><td>{:+}</td><td>{:+}</td></tr>", esc(&s.reason), s.likelihood, s.impact);
        }
        o.push_str("</table><table><tr><th>Mitigation</th><th>Status</th><th>warden command</th><th>ATLAS</th></tr>");
        for m in &r.mitigations {
            let status = match &m.source {
                Some(src) => format!("<span class=\"met\">in place</span> ({})", esc(src)),
                None => "<span class=\"gap\">missing</span>".to_owned(),
            };
            let atlas: Vec<String> = m.atlas.iter().map(|(id, n)| if n.is_empty() { id.clone() } else { format!("{id} {n}") }).collect();
            let _ = write!(
                o,
                "<tr><td><b>{}</b>: {}</td><td>{status}</td><td>{}</td><td>{}</td></tr>",
                esc(&m.control),
                esc(&m.title),
                m.command.as_deref().map(|c| format!("<code>{}</code>", esc(c))).unwrap_or_default(),
                esc(&atlas.join(", "))
            );
        }
        o.push_str("</table>");
        if !r.atlas_mitigations.is_empty() {
            let list: Vec<String> = r.atlas_mitigations.iter().map(|(id, n)| format!("{id} {n}")).collect();
            let _ = write!(o, "<p class=\"muted\">ATLAS mitigations for these techniques: {}</p>", esc(&list.join("; ")));
        }
        o.push_str("</details>\n");
    }

    if !a.evidence.is_empty() {
        o.push_str("<h2>Evidence</h2><table><tr><th>Report</th><th>Kind</th><th>Result</th><th>Applies to</th></tr>");
        for ev in &a.evidence {
            let verdict = if ev.passed { "<span class=\"met\">passed</span>" } else { "<span class=\"gap\">failed</span>" };
            let _ = write!(o, "<tr><td><code>{}</code></td><td>{:?}</td><td>{verdict} {}</td><td>{}</td></tr>", esc(&ev.path), ev.kind, esc(&ev.summary), esc(&ev.applies_to.join(", ")));
        }
        o.push_str("</table>\n");
    }

    for f in &a.compliance {
        let _ = writeln!(o, "<h2>Compliance: {}</h2><p class=\"muted\">{}</p>", esc(&f.title), esc(&f.source));
        o.push_str("<table><tr><th>Requirement</th><th>Status</th><th>Evidence</th><th>Missing</th></tr>");
        for r in &f.requirements {
            let class = match r.status {
                crate::compliance::Status::Met => "met",
                crate::compliance::Status::Partly => "partly",
                crate::compliance::Status::Gap => "gap",
                crate::compliance::Status::NotApplicable => "muted",
            };
            let missing = r.not_applicable_because.clone().unwrap_or_else(|| r.missing.join(", "));
            let _ = write!(
                o,
                "<tr><td><b>{}</b> {}</td><td class=\"{class}\">{}</td><td>{}</td><td>{}</td></tr>",
                esc(&r.id),
                esc(&r.title),
                r.status.as_str(),
                esc(&r.evidence.join(", ")),
                esc(&missing)
            );
        }
        o.push_str("</table>\n");
    }
    o.push_str("<p class=\"muted\">Generated by warden assess. Technique ids: MITRE ATLAS; OWASP ML Security Top 10 and OWASP Top 10 for LLM Applications 2025.</p>\n</body></html>\n");
    o
}
