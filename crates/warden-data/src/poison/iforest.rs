//! Isolation forest (Liu, Ting and Zhou, ICDM 2008): random axis-parallel splits isolate rare,
//! far-away rows in few steps. Seeded, so the same table and seed always give the same scores.
//! One deliberate refinement over the paper's scoring is documented on `path_length`.

use super::features::Matrix;
use super::rng::Rng;

/// Forest settings.
#[derive(Debug, Clone, Copy)]
pub struct ForestSettings {
    /// Number of trees.
    pub trees: usize,
    /// Rows sampled (without replacement) per tree, `psi` in the paper.
    pub sample: usize,
    /// Seed of every random choice.
    pub seed: u64,
}

impl Default for ForestSettings {
    fn default() -> Self {
        ForestSettings { trees: 200, sample: 256, seed: 0x15_0F0E }
    }
}

#[derive(Debug, Clone, Copy)]
enum Node {
    Split { feature: usize, threshold: f64, bounds: u32, left: u32, right: u32 },
    Leaf { size: usize },
}

/// Average path length of an unsuccessful binary-search-tree search over `n` points, `c(n)`.
pub fn average_path_length(n: usize) -> f64 {
    match n {
        0 | 1 => 0.0,
        2 => 1.0,
        _ => {
            let n = n as f64;
            2.0 * ((n - 1.0).ln() + 0.577_215_664_901_532_9) - 2.0 * (n - 1.0) / n
        }
    }
}

/// Anomaly score in `(0, 1]` per row: `2^(-E[h(x)] / c(psi))`; near 1 is anomalous, well below
/// 0.5 is ordinary. `metric[j]` says whether column `j` is a measurement (distance outside the
/// sampled range means something) rather than an encoding such as category frequency.
pub fn anomaly_scores(x: &Matrix, metric: &[bool], settings: ForestSettings) -> Vec<f64> {
    let n = x.rows;
    if n < 2 || x.cols == 0 {
        return vec![0.0; n];
    }
    let psi = settings.sample.clamp(2, n);
    let height_limit = (psi as f64).log2().ceil() as usize;
    let mut rng = Rng::new(settings.seed);
    let mut depth_sum = vec![0.0; n];
    let mut indices: Vec<usize> = (0..n).collect();
    let mut tree = Tree::default();
    for _ in 0..settings.trees.max(1) {
        // Partial Fisher-Yates: the first psi entries are a uniform sample without replacement.
        for i in 0..psi {
            let j = i + rng.below(n - i);
            indices.swap(i, j);
        }
        let mut sample = indices[..psi].to_vec();
        tree.nodes.clear();
        tree.boxes.clear();
        build(x, &mut sample, 0, height_limit, &mut rng, &mut tree, metric);
        for (i, d) in depth_sum.iter_mut().enumerate() {
            *d += path_length(&tree.nodes, &tree.boxes, x.row(i));
        }
    }
    let c = average_path_length(psi);
    let trees = settings.trees.max(1) as f64;
    depth_sum.iter().map(|d| 2f64.powf(-(d / trees) / c)).collect()
}

type Boxes = Vec<(usize, Vec<(u32, f64, f64)>)>;

/// One tree under construction: its nodes and, per split node, the bounding box.
#[derive(Default)]
struct Tree {
    nodes: Vec<Node>,
    boxes: Boxes,
}

fn build(
    x: &Matrix,
    rows: &mut [usize],
    depth: usize,
    limit: usize,
    rng: &mut Rng,
    tree: &mut Tree,
    metric: &[bool],
) -> u32 {
    let at = tree.nodes.len() as u32;
    if depth >= limit || rows.len() <= 1 {
        tree.nodes.push(Node::Leaf { size: rows.len() });
        return at;
    }
    // Pick a random feature among those that vary in this node.
    let mut candidates: Vec<(usize, f64, f64)> = Vec::new();
    for f in 0..x.cols {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for &r in rows.iter() {
            let v = x.get(r, f);
            lo = lo.min(v);
            hi = hi.max(v);
        }
        if hi > lo {
            candidates.push((f, lo, hi));
        }
    }
    if candidates.is_empty() {
        tree.nodes.push(Node::Leaf { size: rows.len() });
        return at;
    }
    let (feature, lo, hi) = candidates[rng.below(candidates.len())];
    // The node's bounding box over the varying features, for range-aware scoring.
    let bounds = tree.boxes.len() as u32;
    // Only metric features get the range-aware treatment; all varying ones count in the mean.
    tree.boxes.push((candidates.len(), candidates.iter().filter(|c| metric[c.0]).map(|&(f, lo, hi)| (f as u32, lo, hi)).collect()));
    let threshold = rng.uniform(lo, hi);
    let mut split = 0;
    for i in 0..rows.len() {
        if x.get(rows[i], feature) < threshold {
            rows.swap(i, split);
            split += 1;
        }
    }
    tree.nodes.push(Node::Leaf { size: 0 });
    let (left_rows, right_rows) = rows.split_at_mut(split);
    let left = build(x, left_rows, depth + 1, limit, rng, tree, metric);
    let right = build(x, right_rows, depth + 1, limit, rng, tree, metric);
    tree.nodes[at as usize] = Node::Split { feature, threshold, bounds, left, right };
    at
}

/// Expected path length of `row`, range-aware. At each split node, had the row been part of the
/// node's sample, the node's split (a feature drawn uniformly among the varying ones, a threshold
/// uniform over its range widened to include the row) would isolate it with probability
/// `mean over features of (distance outside the range) / (widened range)`. The path ends there
/// with that probability. Rows far outside the data's support therefore score higher than rows
/// just past the sample's edge, which the classic score cannot tell apart (both always fall into
/// the outermost branch, because scored rows are mostly not in the tree's sample).
fn path_length(nodes: &[Node], boxes: &Boxes, row: &[f64]) -> f64 {
    let mut at = 0usize;
    let mut depth = 0.0;
    let mut reach = 1.0;
    let mut expected = 0.0;
    loop {
        match nodes[at] {
            Node::Leaf { size } => return expected + reach * (depth + average_path_length(size)),
            Node::Split { feature, threshold, bounds, left, right } => {
                let (varying, bounds) = &boxes[bounds as usize];
                let outside: f64 = bounds
                    .iter()
                    .map(|&(f, lo, hi)| {
                        let x = row[f as usize];
                        if x > hi {
                            (x - hi) / (x - lo)
                        } else if x < lo {
                            (lo - x) / (hi - x)
                        } else {
                            0.0
                        }
                    })
                    .sum::<f64>()
                    / *varying as f64;
                expected += reach * outside * (depth + 1.0);
                reach *= 1.0 - outside;
                at = if row[feature] < threshold { left } else { right } as usize;
                depth += 1.0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn far_point_scores_highest_and_scores_are_deterministic() {
        let mut rng = Rng::new(9);
        let n = 500;
        let mut x = Matrix::zeros(n, 3);
        for i in 0..n {
            for j in 0..3 {
                x.data[i * 3 + j] = rng.normal();
            }
        }
        x.row_mut(17).copy_from_slice(&[9.0, -8.0, 7.0]);
        let scores = anomaly_scores(&x, &[true; 3], ForestSettings::default());
        let top = (0..n).max_by(|&a, &b| scores[a].total_cmp(&scores[b])).unwrap();
        assert_eq!(top, 17);
        assert!(scores[17] > 0.7, "{}", scores[17]);
        assert_eq!(scores, anomaly_scores(&x, &[true; 3], ForestSettings::default()));
        assert!((average_path_length(256) - 10.2448).abs() < 1e-3);
    }
}
