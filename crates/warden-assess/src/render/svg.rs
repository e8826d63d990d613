//! A data-flow diagram as SVG: elements as boxes in layers that follow the flows (sources on the
//! left, endpoints on the right), flows as arrows, trust boundaries as dashed groups, and a badge
//! per element with its number of risks coloured by the worst severity. Deterministic: the same
//! assessment always gives the same picture.

use std::collections::HashMap;
use std::fmt::Write;

use warden_core::Severity;

use crate::assess::Assessment;
use crate::system::ElementKind;

const BOX_W: i64 = 180;
const BOX_H: i64 = 56;
const COL_W: i64 = 250;
const ROW_H: i64 = 92;
const MARGIN: i64 = 40;

/// Escapes text for XML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn kind_rank(kind: ElementKind) -> usize {
    match kind {
        ElementKind::DataSource => 0,
        ElementKind::Dataset => 1,
        ElementKind::Model => 2,
        ElementKind::Endpoint => 3,
        ElementKind::Environment => 4,
    }
}

/// Colour for a severity.
pub fn severity_colour(sev: Severity) -> &'static str {
    match sev {
        Severity::Critical => "#7f1d1d",
        Severity::High => "#c2410c",
        Severity::Medium => "#b45309",
        Severity::Low => "#2563eb",
        Severity::Info => "#64748b",
    }
}

fn fill(kind: ElementKind) -> &'static str {
    match kind {
        ElementKind::DataSource => "#ecfdf5",
        ElementKind::Dataset => "#f0fdfa",
        ElementKind::Model => "#eef2ff",
        ElementKind::Endpoint => "#fff7ed",
        ElementKind::Environment => "#f8fafc",
    }
}

fn short(s: &str, max: usize) -> String {
    if s.chars().count() <= max { s.to_owned() } else { format!("{}...", s.chars().take(max - 3).collect::<String>()) }
}

/// Renders the diagram.
pub fn render(a: &Assessment) -> String {
    let index: HashMap<&str, usize> = a.elements.iter().enumerate().map(|(i, e)| (e.id.as_str(), i)).collect();
    let mut layer: Vec<usize> = a.elements.iter().map(|e| kind_rank(e.kind)).collect();
    // Push each flow's target right of its source; bounded passes keep cycles from looping.
    let passes = a.elements.len().min(64);
    for _ in 0..passes {
        let mut changed = false;
        for f in &a.flows {
            if let (Some(&s), Some(&t)) = (index.get(f.from.as_str()), index.get(f.to.as_str()))
                && s != t
                && layer[t] <= layer[s]
                && layer[s] < 64
            {
                layer[t] = layer[s] + 1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    // Each trust boundary gets its own horizontal band of rows across every layer, so the dashed
    // groups never overlap; elements outside any boundary come last.
    let group_of = |i: usize| -> usize {
        match &a.elements[i].boundary {
            Some(b) => a.trust_boundaries.iter().position(|t| &t.id == b).unwrap_or(a.trust_boundaries.len()),
            None => a.trust_boundaries.len(),
        }
    };
    let groups = a.trust_boundaries.len() + 1;
    let mut counts: HashMap<(usize, usize), i64> = HashMap::new();
    for (i, l) in layer.iter().enumerate() {
        *counts.entry((group_of(i), *l)).or_insert(0) += 1;
    }
    let mut band_start = vec![0i64; groups + 1];
    for g in 0..groups {
        let height = counts.iter().filter(|((cg, _), _)| *cg == g).map(|(_, n)| *n).max().unwrap_or(0);
        // A gap row between bands leaves room for the boundary label.
        band_start[g + 1] = band_start[g] + height + i64::from(height > 0);
    }
    let mut pos: Vec<(i64, i64)> = vec![(0, 0); a.elements.len()];
    let mut next_row: HashMap<(usize, usize), i64> = HashMap::new();
    for i in 0..a.elements.len() {
        let g = group_of(i);
        let row = next_row.entry((g, layer[i])).or_insert(band_start[g]);
        pos[i] = (MARGIN + layer[i] as i64 * COL_W, MARGIN + 24 + *row * ROW_H);
        *row += 1;
    }
    let width = pos.iter().map(|p| p.0).max().unwrap_or(0) + BOX_W + MARGIN * 2;
    let height = pos.iter().map(|p| p.1).max().unwrap_or(0) + BOX_H + MARGIN * 2;

    let mut o = String::new();
    let _ = writeln!(
        o,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="Data-flow diagram of {}" font-family="system-ui, sans-serif" font-size="12">"##,
        esc(&a.system.name)
    );
    o.push_str(r##"<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#475569"/></marker></defs>"##);
    o.push('\n');

    for b in &a.trust_boundaries {
        let members: Vec<(i64, i64)> = b.elements.iter().filter_map(|e| index.get(e.as_str())).map(|&i| pos[i]).collect();
        if members.is_empty() {
            continue;
        }
        let x0 = members.iter().map(|p| p.0).min().unwrap_or(0) - 14;
        let y0 = members.iter().map(|p| p.1).min().unwrap_or(0) - 26;
        let x1 = members.iter().map(|p| p.0).max().unwrap_or(0) + BOX_W + 14;
        let y1 = members.iter().map(|p| p.1).max().unwrap_or(0) + BOX_H + 12;
        let _ = writeln!(
            o,
            r##"<g class="boundary"><rect x="{x0}" y="{y0}" width="{}" height="{}" rx="10" fill="none" stroke="#94a3b8" stroke-width="1.5" stroke-dasharray="6 4"/><text x="{}" y="{}" fill="#475569" font-style="italic">{}</text></g>"##,
            x1 - x0,
            y1 - y0,
            x0 + 8,
            y0 + 15,
            esc(&short(b.name.as_deref().unwrap_or(&b.id), 40))
        );
    }

    for f in &a.flows {
        let (Some(&s), Some(&t)) = (index.get(f.from.as_str()), index.get(f.to.as_str())) else { continue };
        let (sx, sy) = (pos[s].0 + BOX_W, pos[s].1 + BOX_H / 2);
        let (tx, ty) = (pos[t].0, pos[t].1 + BOX_H / 2);
        let bend = ((tx - sx).abs() / 2).max(40);
        let _ = writeln!(
            o,
            r##"<path class="flow" d="M{sx},{sy} C{},{sy} {},{ty} {tx},{ty}" fill="none" stroke="#475569" stroke-width="1.2" marker-end="url(#arrow)"><title>{} -&gt; {}: {}</title></path>"##,
            sx + bend,
            tx - bend,
            esc(&f.from),
            esc(&f.to),
            esc(&f.label)
        );
    }

    // Environments are linked to the models they run by dotted lines (placement, not data).
    for (env, model) in &a.hosted {
        let (Some(&s), Some(&t)) = (index.get(env.as_str()), index.get(model.as_str())) else { continue };
        let (sx, sy) = (pos[s].0, pos[s].1 + BOX_H / 2);
        let (tx, ty) = (pos[t].0 + BOX_W, pos[t].1 + BOX_H / 2);
        let _ = writeln!(
            o,
            r##"<line class="runs" x1="{sx}" y1="{sy}" x2="{tx}" y2="{ty}" stroke="#94a3b8" stroke-width="1" stroke-dasharray="2 3"><title>{} runs {}</title></line>"##,
            esc(env),
            esc(model)
        );
    }

    for (i, e) in a.elements.iter().enumerate() {
        let (x, y) = pos[i];
        let risks: Vec<_> = a.risks.iter().filter(|r| r.element == e.id).collect();
        let worst = risks.iter().map(|r| r.severity).max();
        let _ = writeln!(
            o,
            r##"<g class="element" id="el-{}"><rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="6" fill="{}" stroke="#334155"/><text x="{}" y="{}" font-weight="600">{}</text><text x="{}" y="{}" fill="#475569" font-size="11">{}</text>"##,
            esc(&e.id),
            fill(e.kind),
            x + 10,
            y + 23,
            esc(&short(&e.name, 24)),
            x + 10,
            y + 42,
            esc(e.kind.as_str())
        );
        if let Some(worst) = worst {
            let ids: Vec<&str> = risks.iter().map(|r| r.id.as_str()).collect();
            let _ = writeln!(
                o,
                r##"<g class="badge"><circle cx="{}" cy="{}" r="13" fill="{}"/><text x="{}" y="{}" fill="#fff" text-anchor="middle" font-weight="700">{}</text><title>{} risk(s), worst {}: {}</title></g>"##,
                x + BOX_W,
                y,
                severity_colour(worst),
                x + BOX_W,
                y + 4,
                risks.len(),
                risks.len(),
                worst.as_str(),
                esc(&short(&ids.join(", "), 200))
            );
        }
        o.push_str("</g>\n");
    }
    o.push_str("</svg>\n");
    o
}
