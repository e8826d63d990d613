//! The self-contained HTML drift report: a summary table and an inline SVG histogram per column
//! (reference vs current). No scripts, no external resources.

use std::fmt::Write;

use crate::drift::{ColumnDrift, DriftReport, Histogram};

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn fmt_num(x: f64) -> String {
    if x.is_nan() {
        "n/a".into()
    } else if x.is_infinite() {
        "inf".into()
    } else if x != 0.0 && (x.abs() < 1e-4 || x.abs() >= 1e6) {
        format!("{x:.3e}")
    } else {
        format!("{x:.4}")
    }
}

fn svg(h: &Histogram) -> String {
    let (w, ht, pad_l, pad_b) = (640.0, 220.0, 40.0, 46.0);
    let n = h.labels.len().max(1) as f64;
    let max = h.reference.iter().chain(&h.current).copied().fold(0.0, f64::max).max(1e-12);
    let plot_w = w - pad_l - 10.0;
    let plot_h = ht - pad_b - 10.0;
    let slot = plot_w / n;
    let bar = (slot * 0.4).max(1.0);
    let mut s = format!(r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {ht}" width="{w}" height="{ht}" role="img">"#);
    let _ = write!(s, r##"<line x1="{pad_l}" y1="10" x2="{pad_l}" y2="{}" stroke="#555"/>"##, 10.0 + plot_h);
    let _ = write!(s, r##"<line x1="{pad_l}" y1="{y}" x2="{}" y2="{y}" stroke="#555"/>"##, w - 10.0, y = 10.0 + plot_h);
    let _ = write!(s, r##"<text x="{}" y="16" font-size="10" text-anchor="end">{:.0}%</text>"##, pad_l - 4.0, max * 100.0);
    for (i, label) in h.labels.iter().enumerate() {
        let x0 = pad_l + i as f64 * slot + slot * 0.1;
        for (k, (v, color)) in [(h.reference[i], "#4c78a8"), (h.current[i], "#f58518")].into_iter().enumerate() {
            let bh = v / max * plot_h;
            let _ = write!(
                s,
                r#"<rect x="{:.1}" y="{:.1}" width="{bar:.1}" height="{bh:.1}" fill="{color}"><title>{}: {:.2}%</title></rect>"#,
                x0 + k as f64 * bar,
                10.0 + plot_h - bh,
                esc(label),
                v * 100.0
            );
        }
        if h.labels.len() <= 20 {
            let short: String = label.chars().take(10).collect();
            let _ = write!(
                s,
                r#"<text x="{:.1}" y="{:.1}" font-size="9" text-anchor="end" transform="rotate(-40 {:.1} {:.1})">{}</text>"#,
                x0 + bar,
                ht - pad_b + 14.0,
                x0 + bar,
                ht - pad_b + 14.0,
                esc(&short)
            );
        }
    }
    s.push_str("</svg>");
    s
}

fn row(c: &ColumnDrift) -> String {
    format!(
        "<tr class=\"{}\"><td>{}</td><td>{:?}</td><td>{:?}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        if c.drifted { "drift" } else { "ok" },
        esc(&c.name),
        c.kind,
        c.test,
        fmt_num(c.statistic),
        c.p_value.map_or("—".into(), fmt_num),
        fmt_num(c.threshold),
        if c.drifted { "drifted" } else { "stable" }
    )
}

/// Renders the report as one HTML page; `reference` and `current` name the inputs.
pub fn drift_html(report: &DriftReport, reference: &str, current: &str) -> String {
    let mut s = String::from(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>warden drift report</title><style>\
         body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:980px}\
         table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}\
         tr.drift td{background:#fde2e1}.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px}\
         .verdict{font-size:1.2rem;font-weight:600}section{margin:2rem 0}</style></head><body>",
    );
    let _ = write!(s, "<h1>Data drift</h1><p>Reference: <code>{}</code><br>Current: <code>{}</code></p>", esc(reference), esc(current));
    let _ = write!(
        s,
        "<p class=\"verdict\">{}: {} of {} columns drifted ({:.1}%).</p>",
        if report.dataset_drift { "Dataset drift detected" } else { "No dataset drift" },
        report.columns.iter().filter(|c| c.drifted).count(),
        report.columns.len(),
        report.drifted_share * 100.0
    );
    s.push_str("<table><tr><th>Column</th><th>Kind</th><th>Test</th><th>Statistic</th><th>p-value</th><th>Threshold</th><th>Result</th></tr>");
    for c in &report.columns {
        s.push_str(&row(c));
    }
    s.push_str("</table><p class=\"legend\"><span style=\"background:#4c78a8\"></span>reference<span style=\"background:#f58518\"></span>current</p>");
    for c in &report.columns {
        let _ = write!(
            s,
            "<section><h2>{}</h2><p>{:?} test, statistic {}{}; {} reference and {} current values.</p>{}</section>",
            esc(&c.name),
            c.test,
            fmt_num(c.statistic),
            c.p_value.map_or(String::new(), |p| format!(", p-value {}", fmt_num(p))),
            c.counts.0,
            c.counts.1,
            svg(&c.histogram)
        );
    }
    s.push_str("</body></html>\n");
    s
}

/// Renders the report as a fixed-width text table.
pub fn drift_table(report: &DriftReport) -> String {
    let width = report.columns.iter().map(|c| c.name.chars().count()).max().unwrap_or(6).max(6);
    let mut s = format!("{:<width$}  {:<11}  {:<13}  {:>12}  {:>12}  {:>9}  drifted\n", "column", "kind", "test", "statistic", "p_value", "threshold");
    for c in &report.columns {
        let _ = writeln!(
            s,
            "{:<width$}  {:<11}  {:<13}  {:>12}  {:>12}  {:>9}  {}",
            c.name,
            format!("{:?}", c.kind).to_lowercase(),
            format!("{:?}", c.test).to_lowercase(),
            fmt_num(c.statistic),
            c.p_value.map_or("-".into(), fmt_num),
            fmt_num(c.threshold),
            if c.drifted { "yes" } else { "no" }
        );
    }
    let _ = writeln!(
        s,
        "\ndrifted columns: {} of {} ({:.1}%); dataset drift: {}",
        report.columns.iter().filter(|c| c.drifted).count(),
        report.columns.len(),
        report.drifted_share * 100.0,
        if report.dataset_drift { "yes" } else { "no" }
    );
    s
}
