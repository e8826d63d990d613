//! Exact and near duplicate rows. Exact: a hash of the normalised row (numbers to 12 significant
//! digits, text trimmed and lowercased), confirmed by comparing the normalised cells. Near:
//! locality-sensitive hashing on randomly shifted grids over the standardised numeric features
//! (categorical cells must match), confirmed by the Chebyshev distance within `tolerance`.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use super::features::mean_std;
use super::rng::Rng;
use super::table::{ColumnData, LabelledTable};

/// A group of rows that duplicate each other.
#[derive(Debug, Clone, PartialEq)]
pub struct DuplicateGroup {
    /// 0-based rows, ascending.
    pub rows: Vec<usize>,
    /// True when every row normalises to the same cells; false when some are only near.
    pub exact: bool,
    /// True when the rows carry different labels.
    pub conflicting: bool,
}

/// Duplicate-search settings.
#[derive(Debug, Clone, Copy)]
pub struct DuplicateSettings {
    /// Largest per-feature distance, in standard deviations, for near duplicates; 0 disables them.
    pub tolerance: f64,
    /// Number of shifted grids (each pair within tolerance is missed by one grid with
    /// probability at most 1/2, so by all of them with probability at most 2^-grids).
    pub grids: usize,
    /// Largest grid bucket compared pairwise; larger buckets (dense regions) are skipped.
    pub max_bucket: usize,
    /// Seed of the grid shifts.
    pub seed: u64,
}

impl Default for DuplicateSettings {
    fn default() -> Self {
        DuplicateSettings { tolerance: 0.01, grids: 8, max_bucket: 256, seed: 0xD0_0B1E }
    }
}

/// Normalised cell used for exact comparison.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Cell {
    Missing,
    Number(String),
    Text(String),
}

fn normalised_row(table: &LabelledTable, dictionaries: &[Option<Vec<String>>], row: usize) -> Vec<Cell> {
    table
        .features
        .iter()
        .zip(dictionaries)
        .map(|(column, dict)| match (&column.data, dict) {
            (ColumnData::Numeric(v), _) => v[row].map_or(Cell::Missing, |x| Cell::Number(format!("{:.11e}", x + 0.0))),
            (ColumnData::Categorical { codes, .. }, Some(dict)) => {
                codes[row].map_or(Cell::Missing, |c| Cell::Text(dict[c as usize].clone()))
            }
            _ => Cell::Missing,
        })
        .collect()
}

/// Finds exact and near duplicate groups (each with at least two rows).
pub fn find_duplicates(table: &LabelledTable, settings: DuplicateSettings) -> Vec<DuplicateGroup> {
    let n = table.rows();
    let dictionaries: Vec<Option<Vec<String>>> = table
        .features
        .iter()
        .map(|c| match &c.data {
            ColumnData::Categorical { dictionary, .. } => {
                Some(dictionary.iter().map(|s| s.trim().to_lowercase()).collect())
            }
            ColumnData::Numeric(_) => None,
        })
        .collect();
    let mut uf = UnionFind::new(n);
    // Exact: bucket by hash, confirm by comparing the normalised cells with the bucket's rows.
    let mut exact_key = vec![0u64; n];
    let mut by_hash: HashMap<u64, Vec<usize>> = HashMap::new();
    for (row, key) in exact_key.iter_mut().enumerate() {
        let cells = normalised_row(table, &dictionaries, row);
        let mut h = DefaultHasher::new();
        cells.hash(&mut h);
        *key = h.finish();
        by_hash.entry(*key).or_default().push(row);
    }
    let mut exact_class = (0..n).collect::<Vec<usize>>();
    for rows in by_hash.values().filter(|r| r.len() > 1) {
        let mut reps: Vec<(usize, Vec<Cell>)> = Vec::new();
        for &row in rows {
            let cells = normalised_row(table, &dictionaries, row);
            match reps.iter().find(|(_, c)| *c == cells) {
                Some(&(rep, _)) => {
                    uf.union(rep, row);
                    exact_class[row] = rep;
                }
                None => reps.push((row, cells)),
            }
        }
    }
    if settings.tolerance > 0.0 {
        near_links(table, &exact_class, settings, &mut uf);
    }
    let mut groups: HashMap<usize, Vec<usize>> = HashMap::new();
    for row in 0..n {
        groups.entry(uf.find(row)).or_default().push(row);
    }
    let mut out: Vec<DuplicateGroup> = groups
        .into_values()
        .filter(|rows| rows.len() > 1)
        .map(|rows| {
            let exact = rows.iter().all(|&r| exact_class[r] == exact_class[rows[0]]);
            let first = table.labels[rows[0]];
            let conflicting = rows.iter().any(|&r| table.labels[r] != first);
            DuplicateGroup { rows, exact, conflicting }
        })
        .collect();
    out.sort_by_key(|g| g.rows[0]);
    out
}

/// Links rows whose categorical cells match and whose standardised numeric cells all lie within
/// `tolerance` (missing cells must be missing in both).
fn near_links(table: &LabelledTable, exact_class: &[usize], settings: DuplicateSettings, uf: &mut UnionFind) {
    let numeric: Vec<(&Vec<Option<f64>>, f64, f64)> = table
        .features
        .iter()
        .filter_map(|c| match &c.data {
            ColumnData::Numeric(v) => {
                let (mean, std) = mean_std(v);
                Some((v, mean, if std > 0.0 { std } else { 1.0 }))
            }
            ColumnData::Categorical { .. } => None,
        })
        .collect();
    // With fewer than two numeric features, rows within tolerance are common by chance.
    if numeric.len() < 2 {
        return;
    }
    let categorical: Vec<&Vec<Option<u32>>> = table
        .features
        .iter()
        .filter_map(|c| match &c.data {
            ColumnData::Categorical { codes, .. } => Some(codes),
            ColumnData::Numeric(_) => None,
        })
        .collect();
    let d = numeric.len();
    let cell = 2.0 * d as f64 * settings.tolerance;
    let z = |row: usize, k: usize| numeric[k].0[row].map(|x| (x - numeric[k].1) / numeric[k].2);
    let reps: Vec<usize> = (0..table.rows()).filter(|&r| exact_class[r] == r).collect();
    let mut rng = Rng::new(settings.seed);
    for _ in 0..settings.grids.max(1) {
        let shifts: Vec<f64> = (0..d).map(|_| rng.uniform(0.0, cell)).collect();
        let mut buckets: HashMap<u64, Vec<usize>> = HashMap::new();
        for &row in &reps {
            let mut h = DefaultHasher::new();
            for codes in &categorical {
                codes[row].hash(&mut h);
            }
            for (k, shift) in shifts.iter().enumerate() {
                z(row, k).map(|v| ((v + shift) / cell).floor() as i64).hash(&mut h);
            }
            buckets.entry(h.finish()).or_default().push(row);
        }
        for rows in buckets.values().filter(|r| r.len() > 1 && r.len() <= settings.max_bucket) {
            for (a_at, &a) in rows.iter().enumerate() {
                for &b in &rows[a_at + 1..] {
                    if uf.find(a) == uf.find(b) {
                        continue;
                    }
                    let close = categorical.iter().all(|codes| codes[a] == codes[b])
                        && (0..d).all(|k| match (z(a, k), z(b, k)) {
                            (Some(x), Some(y)) => (x - y).abs() <= settings.tolerance,
                            (None, None) => true,
                            _ => false,
                        });
                    if close {
                        uf.union(a, b);
                    }
                }
            }
        }
    }
}

struct UnionFind {
    parent: Vec<usize>,
}

impl UnionFind {
    fn new(n: usize) -> Self {
        UnionFind { parent: (0..n).collect() }
    }

    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            // The smaller root wins so groups are named by their first row.
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.parent[hi] = lo;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::poison::table::Column;

    fn table(x: Vec<Option<f64>>, x2: Vec<Option<f64>>, c: &[Option<&str>], y: &[Option<&str>]) -> LabelledTable {
        let cols = vec![Column::numeric("x", x), Column::numeric("x2", x2), Column::categorical("c", c), Column::categorical("y", y)];
        LabelledTable::from_columns(cols, "y", None, None).unwrap()
    }

    #[test]
    fn finds_exact_near_and_conflicting_groups() {
        let t = table(
            vec![Some(1.0), Some(5.0), Some(1.0), Some(9.0), Some(5.00001), Some(3.0)],
            vec![Some(2.0), Some(7.0), Some(2.0), Some(1.0), Some(7.0), Some(4.0)],
            &[Some("a"), Some("b"), Some(" A "), Some("a"), Some("b"), Some("c")],
            &[Some("0"), Some("1"), Some("1"), Some("0"), Some("1"), Some("0")],
        );
        let groups = find_duplicates(&t, DuplicateSettings::default());
        assert_eq!(groups.len(), 2, "{groups:?}");
        assert_eq!(groups[0], DuplicateGroup { rows: vec![0, 2], exact: true, conflicting: true });
        assert_eq!(groups[1], DuplicateGroup { rows: vec![1, 4], exact: false, conflicting: false });
    }
}
