//! The lineage graph drawn as inline SVG on the server (the UI has no JavaScript): columns from
//! left to right by kind (sources, datasets, models, deployments), with an extra column within a
//! kind for each step of `derives` or `fine_tunes`, so every arrow points right. Boxes link to the
//! asset pages; arrows carry their relation. Every text and attribute value is escaped here,
//! because the template inserts the markup as it is.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::lineage::{Graph, GraphNode};
use super::model::AssetKind;

const BOX_W: i64 = 184;
const BOX_H: i64 = 38;
const COL_GAP: i64 = 96;
const ROW_GAP: i64 = 22;
const MARGIN: i64 = 16;
const HEADER: i64 = 28;
/// Longest name drawn in a box, in characters (the full name is in the tooltip).
const NAME_CHARS: usize = 24;

/// Escapes text for XML text nodes and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn shorten(name: &str) -> String {
    if name.chars().count() <= NAME_CHARS {
        name.to_owned()
    } else {
        format!("{}…", name.chars().take(NAME_CHARS - 1).collect::<String>())
    }
}

/// Where each node goes: (column, row).
fn layout(graph: &Graph) -> HashMap<&str, (usize, usize)> {
    let kind_of: HashMap<&str, AssetKind> = graph.nodes.iter().map(|n| (n.id.as_str(), n.kind)).collect();
    let upstream = graph.upstream();
    // Depth within a kind: the longest chain of same-kind edges ending at the node.
    let mut depth: HashMap<&str, usize> = HashMap::new();
    fn depth_of<'a>(id: &'a str, kind_of: &HashMap<&str, AssetKind>, up: &HashMap<&'a str, Vec<&'a str>>, memo: &mut HashMap<&'a str, usize>, guard: usize) -> usize {
        if let Some(d) = memo.get(id) {
            return *d;
        }
        // Lineage is acyclic; the guard only bounds a corrupted database.
        if guard > 256 {
            return 0;
        }
        let kind = kind_of.get(id).copied();
        let d = up
            .get(id)
            .map(|parents| {
                parents
                    .iter()
                    .filter(|p| kind_of.get(*p).copied() == kind)
                    .map(|p| depth_of(p, kind_of, up, memo, guard + 1) + 1)
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        memo.insert(id, d);
        d
    }
    for node in &graph.nodes {
        depth_of(&node.id, &kind_of, &upstream, &mut depth, 0);
    }
    // Columns: each kind gets as many as its deepest chain needs.
    let mut width = [1usize; 4];
    for node in &graph.nodes {
        let d = depth.get(node.id.as_str()).copied().unwrap_or(0);
        width[node.kind.layer()] = width[node.kind.layer()].max(d + 1);
    }
    let start: Vec<usize> = (0..4).map(|k| width[..k].iter().sum()).collect();
    let mut columns: Vec<Vec<&GraphNode>> = vec![Vec::new(); width.iter().sum()];
    for node in &graph.nodes {
        let col = start[node.kind.layer()] + depth.get(node.id.as_str()).copied().unwrap_or(0);
        columns[col].push(node);
    }
    // Rows: by name in the first column, then by the mean row of the parents already placed
    // (one barycentre sweep keeps most arrows short and uncrossed).
    let mut place: HashMap<&str, (usize, usize)> = HashMap::new();
    for (col, nodes) in columns.iter_mut().enumerate() {
        let key = |n: &GraphNode| -> f64 {
            let rows: Vec<f64> =
                upstream.get(n.id.as_str()).map(|ps| ps.iter().filter_map(|p| place.get(p).map(|(_, r)| *r as f64)).collect()).unwrap_or_default();
            if rows.is_empty() { f64::MAX } else { rows.iter().sum::<f64>() / rows.len() as f64 }
        };
        let mut keyed: Vec<(f64, &GraphNode)> = nodes.iter().map(|n| (key(n), *n)).collect();
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.name.cmp(&b.1.name)));
        for (row, (_, node)) in keyed.into_iter().enumerate() {
            place.insert(node.id.as_str(), (col, row));
        }
    }
    place
}

/// The path of an edge from `(x1, y1)` (right side of the upstream box) to `(x2, y2)` (left side of
/// the downstream one), and where its label goes. An edge that skips columns runs along the gap
/// below its source row (`lane`), so it never passes behind a box it does not connect.
fn edge_path((x1, y1): (i64, i64), (x2, y2): (i64, i64), skips: bool, lane: i64) -> (String, i64, i64) {
    if skips {
        let q = COL_GAP / 3;
        let d = format!(
            "M {x1} {y1} C {} {y1}, {} {lane}, {} {lane} L {} {lane} C {} {lane}, {} {y2}, {x2} {y2}",
            x1 + q,
            x1 + q,
            x1 + 2 * q,
            x2 - 2 * q,
            x2 - q,
            x2 - q
        );
        (d, (x1 + x2) / 2, lane - 3)
    } else {
        let bend = (x2 - x1).max(COL_GAP) / 2;
        let d = format!("M {x1} {y1} C {} {y1}, {} {y2}, {x2} {y2}", x1 + bend, x2 - bend);
        (d, (x1 + x2) / 2, (y1 + y2) / 2 - 4)
    }
}

fn origin(col: usize, row: usize) -> (i64, i64) {
    let x = MARGIN + i64::try_from(col).unwrap_or(0) * (BOX_W + COL_GAP);
    let y = MARGIN + HEADER + i64::try_from(row).unwrap_or(0) * (BOX_H + ROW_GAP);
    (x, y)
}

/// The graph as an `<svg>` element (or an empty string when there is nothing to draw).
pub fn render(graph: &Graph) -> String {
    if graph.nodes.is_empty() {
        return String::new();
    }
    let place = layout(graph);
    let cols = place.values().map(|(c, _)| c + 1).max().unwrap_or(1);
    let rows = place.values().map(|(_, r)| r + 1).max().unwrap_or(1);
    let (right, bottom) = origin(cols, rows);
    // The bottom keeps one row gap free: edges that skip columns run in the gap under their row.
    let (width, height) = (right - COL_GAP + MARGIN, bottom + MARGIN);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="lineage" id="lineage-svg" role="img" aria-label="lineage graph" width="{width}" height="{height}" viewBox="0 0 {width} {height}">"#
    );
    svg.push_str(r#"<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" class="arrowhead"/></marker></defs>"#);
    // Column headings: one per kind present, over its first column.
    let mut headed = [false; 4];
    let mut by_col: Vec<(usize, AssetKind)> = graph.nodes.iter().filter_map(|n| place.get(n.id.as_str()).map(|(c, _)| (*c, n.kind))).collect();
    by_col.sort_by_key(|(c, _)| *c);
    for (col, kind) in by_col {
        if !headed[kind.layer()] {
            headed[kind.layer()] = true;
            let (x, _) = origin(col, 0);
            let _ = write!(svg, r#"<text class="heading" x="{x}" y="{}">{}</text>"#, MARGIN + 14, escape(kind.plural()));
        }
    }
    for edge in &graph.edges {
        let (Some(&(fc, fr)), Some(&(tc, tr))) = (place.get(edge.from.as_str()), place.get(edge.to.as_str())) else { continue };
        let (fx, fy) = origin(fc, fr);
        let (tx, ty) = origin(tc, tr);
        let (x1, y1, x2, y2) = (fx + BOX_W, fy + BOX_H / 2, tx, ty + BOX_H / 2);
        let (d, lx, ly) = edge_path((x1, y1), (x2, y2), tc > fc + 1, fy + BOX_H + ROW_GAP / 2);
        let _ = write!(
            svg,
            r#"<g class="edge edge-{rel}"><path d="{d}" marker-end="url(#arrow)"/><text x="{lx}" y="{ly}" text-anchor="middle">{rel}</text></g>"#,
            rel = escape(edge.relation.as_str()),
        );
    }
    for node in &graph.nodes {
        let Some(&(col, row)) = place.get(node.id.as_str()) else { continue };
        let (x, y) = origin(col, row);
        let retired = if node.retired { " retired" } else { "" };
        let _ = write!(
            svg,
            r#"<a href="/ui/assets/{id}" class="node node-{kind} sens-{sens}{retired}"><title>{kindlabel}: {name} ({sens}, {stage})</title><rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="5"/><text x="{}" y="{}">{short}</text></a>"#,
            x + 10,
            y + BOX_H / 2 + 4,
            id = escape(&node.id),
            kind = node.kind.as_str(),
            kindlabel = node.kind.label(),
            sens = node.sensitivity.as_str(),
            stage = node.lifecycle.as_str(),
            name = escape(&node.name),
            short = escape(&shorten(&node.name)),
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::AssetAttrs;
    use crate::inventory::lineage::GraphEdge;
    use crate::inventory::model::{Lifecycle, Relation, Sensitivity};

    fn node(id: &str, kind: AssetKind, name: &str) -> GraphNode {
        GraphNode {
            id: id.into(),
            kind,
            name: name.into(),
            sensitivity: Sensitivity::Internal,
            lifecycle: Lifecycle::Design,
            retired: false,
            attrs: AssetAttrs { id: id.into(), kind: kind.as_str().into(), sensitivity: 1, owner: String::new(), environment: String::new(), lifecycle: String::new(), tags: vec![] },
        }
    }

    fn edge(from: &str, to: &str, relation: Relation) -> GraphEdge {
        GraphEdge { id: format!("{from}-{to}"), from: from.into(), to: to.into(), relation }
    }

    #[test]
    fn columns_follow_kinds_and_derivation_steps() {
        let graph = Graph {
            nodes: vec![node("s", AssetKind::DataSource, "src"), node("d1", AssetKind::Dataset, "raw"), node("d2", AssetKind::Dataset, "clean"), node("m", AssetKind::Model, "m"), node("p", AssetKind::Deployment, "api")],
            edges: vec![edge("s", "d1", Relation::Feeds), edge("d1", "d2", Relation::Derives), edge("d2", "m", Relation::Trains), edge("m", "p", Relation::Deploys)],
        };
        let place = layout(&graph);
        assert_eq!(place["s"].0, 0);
        assert_eq!(place["d1"].0, 1);
        assert_eq!(place["d2"].0, 2, "a derived dataset sits right of its parent");
        assert_eq!(place["m"].0, 3);
        assert_eq!(place["p"].0, 4);
    }

    #[test]
    fn edges_that_skip_columns_run_in_the_gap_under_their_row() {
        let (straight, _, _) = edge_path((0, 50), (100, 50), false, 80);
        assert!(!straight.contains(" 80"), "{straight}");
        let (lane, _, label_y) = edge_path((0, 50), (600, 50), true, 80);
        assert!(lane.contains(" 80 L ") && label_y < 80, "{lane}");
    }

    #[test]
    fn names_are_escaped_and_boxes_link_to_assets() {
        let graph = Graph { nodes: vec![node("a1", AssetKind::Model, "<script>alert('x')</script> & co")], edges: vec![] };
        let svg = render(&graph);
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co"), "{svg}");
        assert!(svg.contains(r#"href="/ui/assets/a1""#), "{svg}");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(render(&Graph::default()), "");
    }
}
