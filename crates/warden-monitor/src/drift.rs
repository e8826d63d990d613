//! Per-column drift between a reference and a current dataset, with Evidently's automatic test
//! choice, and the dataset verdict.
//!
//! Automatic choice (Evidently's default algorithm), with `n_unique` counted over both datasets:
//! - reference with <= 1000 rows: numerical with > 5 unique values -> Kolmogorov-Smirnov
//!   (p < 0.05); otherwise chi-square (p < 0.05), or the two-proportion Z-test when there are at
//!   most 2 unique values;
//! - reference with > 1000 rows: numerical with > 5 unique values -> Wasserstein distance
//!   normalised by the reference's standard deviation (>= 0.1); otherwise Jensen-Shannon
//!   distance (>= 0.1).
//!
//! The dataset drifts when the share of drifted columns is at least `drift_share` (0.5).

use std::collections::{BTreeSet, HashMap};

use arrow_array::RecordBatch;
use rayon::prelude::*;
use serde::Serialize;

use crate::columns;
use crate::stats;
use crate::MonitorError;

/// Number of equal-width bins for numerical Jensen-Shannon and PSI (Evidently's default).
pub const NUMERIC_BINS: usize = 30;

/// A drift test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DriftTest {
    /// Two-sample Kolmogorov-Smirnov.
    Ks,
    /// Pearson's chi-square on category counts.
    Chisquare,
    /// Two-proportion Z-test.
    Z,
    /// Jensen-Shannon distance.
    Jensenshannon,
    /// Wasserstein distance normalised by the reference standard deviation.
    Wasserstein,
    /// Population Stability Index.
    Psi,
}

impl DriftTest {
    /// Parses a CLI name (`ks`, `chisquare`, `z`, `jensenshannon`, `wasserstein`, `psi`).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "ks" => Self::Ks,
            "chisquare" => Self::Chisquare,
            "z" => Self::Z,
            "jensenshannon" => Self::Jensenshannon,
            "wasserstein" => Self::Wasserstein,
            "psi" => Self::Psi,
            _ => return None,
        })
    }

    /// Whether the statistic is a p-value test (drift when p < threshold) rather than a distance.
    pub fn is_p_value(self) -> bool {
        matches!(self, Self::Ks | Self::Chisquare | Self::Z)
    }

    /// Evidently's default threshold: 0.05 for p-values, 0.1 for distances.
    pub fn default_threshold(self) -> f64 {
        if self.is_p_value() { 0.05 } else { 0.1 }
    }
}

/// A column's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnKind {
    /// Int64/Float64 in both datasets.
    Numerical,
    /// Anything else.
    Categorical,
}

/// What `drift` compares.
#[derive(Debug, Clone, Default)]
pub struct DriftOptions {
    /// Columns to compare (default: every column present in both datasets).
    pub columns: Option<Vec<String>>,
    /// Force one test for every column.
    pub test: Option<DriftTest>,
    /// Override the test's threshold.
    pub threshold: Option<f64>,
    /// Share of drifted columns for dataset drift (default 0.5).
    pub drift_share: Option<f64>,
    /// Compute plot data ([`ColumnDrift::histogram`]) for the HTML report.
    pub histograms: bool,
}

/// Histogram shares for plotting: labels and the share of each dataset per bin.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Histogram {
    /// Bin labels (ranges or categories).
    pub labels: Vec<String>,
    /// Reference share per bin.
    pub reference: Vec<f64>,
    /// Current share per bin.
    pub current: Vec<f64>,
}

/// The drift result of one column.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnDrift {
    /// Column name.
    pub name: String,
    /// Numerical or categorical.
    pub kind: ColumnKind,
    /// The test applied.
    pub test: DriftTest,
    /// The test statistic (the distance for distance tests).
    pub statistic: f64,
    /// The p-value (`None` for distance tests).
    pub p_value: Option<f64>,
    /// The threshold applied.
    pub threshold: f64,
    /// Whether the column drifted.
    pub drifted: bool,
    /// Plot data (not part of the JSON contract).
    #[serde(skip)]
    pub histogram: Histogram,
    /// Rows with a value in the reference and current data.
    #[serde(skip)]
    pub counts: (usize, usize),
}

/// The drift report of a dataset pair (`{"columns", "drifted_share", "dataset_drift"}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DriftReport {
    /// Per-column results, in the reference's column order.
    pub columns: Vec<ColumnDrift>,
    /// Share of compared columns that drifted.
    pub drifted_share: f64,
    /// Whether `drifted_share` reached the dataset threshold.
    pub dataset_drift: bool,
}

/// Compares every selected column of `current` with `reference`.
pub fn drift(
    reference: &[RecordBatch],
    current: &[RecordBatch],
    reference_columns: &[String],
    current_columns: &[String],
    opts: &DriftOptions,
) -> Result<DriftReport, MonitorError> {
    let names: Vec<String> = match &opts.columns {
        Some(cols) => {
            for c in cols {
                if !reference_columns.contains(c) || !current_columns.contains(c) {
                    return Err(MonitorError::MissingColumn(c.clone()));
                }
            }
            cols.clone()
        }
        None => reference_columns.iter().filter(|c| current_columns.contains(c)).cloned().collect(),
    };
    if names.is_empty() {
        return Err(MonitorError::NoColumns);
    }
    let columns = names
        .par_iter()
        .map(|name| column_drift(reference, current, name, opts))
        .collect::<Result<Vec<_>, _>>()?;
    let drifted = columns.iter().filter(|c| c.drifted).count();
    let drifted_share = drifted as f64 / columns.len() as f64;
    Ok(DriftReport { dataset_drift: drifted_share >= opts.drift_share.unwrap_or(0.5), drifted_share, columns })
}


fn column_drift(
    reference: &[RecordBatch],
    current: &[RecordBatch],
    name: &str,
    opts: &DriftOptions,
) -> Result<ColumnDrift, MonitorError> {
    let numeric = columns::is_numeric(&[reference, current], name);
    let kind = if numeric { ColumnKind::Numerical } else { ColumnKind::Categorical };
    let (r, c) = if numeric {
        let mut r = columns::numeric(reference, name)?;
        let mut c = columns::numeric(current, name)?;
        crate::sort::sort_floats(&mut r);
        crate::sort::sort_floats(&mut c);
        (Sample::Numeric(r), Sample::Numeric(c))
    } else {
        (Sample::Counts(columns::category_counts(reference, name)?.0), Sample::Counts(columns::category_counts(current, name)?.0))
    };
    let (nr, nc) = (r.len(), c.len());
    if nr == 0 || nc == 0 {
        return Err(MonitorError::EmptyColumn(name.to_owned()));
    }
    let n_unique = r.unique_union(&c, 6);
    let test = opts.test.unwrap_or_else(|| auto_test(kind, nr, n_unique));
    let threshold = opts.threshold.unwrap_or_else(|| test.default_threshold());
    let (statistic, p_value) = run_test(test, &r, &c, name)?;
    let drifted = match p_value {
        Some(p) => p < threshold,
        None => statistic >= threshold,
    };
    Ok(ColumnDrift {
        name: name.to_owned(),
        kind,
        test,
        statistic,
        p_value,
        threshold,
        drifted,
        histogram: if opts.histograms { histogram(&r, &c) } else { Histogram::default() },
        counts: (nr, nc),
    })
}

/// Evidently's default test for a column (see the module docs).
pub fn auto_test(kind: ColumnKind, reference_rows: usize, n_unique: usize) -> DriftTest {
    let numeric = kind == ColumnKind::Numerical && n_unique > 5;
    if reference_rows <= 1000 {
        if numeric {
            DriftTest::Ks
        } else if n_unique > 2 {
            DriftTest::Chisquare
        } else {
            DriftTest::Z
        }
    } else if numeric {
        DriftTest::Wasserstein
    } else {
        DriftTest::Jensenshannon
    }
}

/// One dataset's values of a column: sorted numbers or category counts.
#[derive(Debug, Clone)]
pub enum Sample {
    /// Sorted, NaN-free numbers.
    Numeric(Vec<f64>),
    /// Category counts.
    Counts(HashMap<String, u64>),
}

impl Sample {
    fn len(&self) -> usize {
        match self {
            Self::Numeric(v) => v.len(),
            Self::Counts(c) => c.values().sum::<u64>() as usize,
        }
    }

    /// Counts per category (numbers as their exact values).
    fn counts(&self) -> Vec<(CategoryKey, u64)> {
        match self {
            Self::Numeric(v) => {
                let mut out: Vec<(CategoryKey, u64)> = Vec::new();
                for &x in v {
                    match out.last_mut() {
                        Some((CategoryKey::Number(last), n)) if *last == x => *n += 1,
                        _ => out.push((CategoryKey::Number(x), 1)),
                    }
                }
                out
            }
            Self::Counts(c) => c.iter().map(|(k, &n)| (CategoryKey::Text(k.clone()), n)).collect(),
        }
    }

    /// Distinct values over both samples, counted up to `cap` (the choice only needs "> 5").
    fn unique_union(&self, other: &Self, cap: usize) -> usize {
        match (self, other) {
            (Self::Numeric(a), Self::Numeric(b)) => {
                let (mut i, mut j, mut n) = (0, 0, 0);
                while (i < a.len() || j < b.len()) && n < cap {
                    let x = match (a.get(i), b.get(j)) {
                        (Some(&p), Some(&q)) => p.min(q),
                        (Some(&p), None) => p,
                        (None, Some(&q)) => q,
                        (None, None) => break,
                    };
                    n += 1;
                    while i < a.len() && a[i] <= x {
                        i += 1;
                    }
                    while j < b.len() && b[j] <= x {
                        j += 1;
                    }
                }
                n
            }
            _ => {
                let keys: BTreeSet<CategoryKey> = self.counts().into_iter().chain(other.counts()).map(|(k, _)| k).collect();
                keys.len().min(cap)
            }
        }
    }
}

/// A category: a number (compared exactly) or a label.
#[derive(Debug, Clone, PartialEq)]
enum CategoryKey {
    Number(f64),
    Text(String),
}

impl Eq for CategoryKey {}

impl PartialOrd for CategoryKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for CategoryKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        match (self, other) {
            (Self::Number(a), Self::Number(b)) => a.total_cmp(b),
            (Self::Text(a), Self::Text(b)) => a.cmp(b),
            (Self::Number(_), Self::Text(_)) => std::cmp::Ordering::Less,
            (Self::Text(_), Self::Number(_)) => std::cmp::Ordering::Greater,
        }
    }
}

impl std::fmt::Display for CategoryKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Number(x) => write!(f, "{x}"),
            Self::Text(s) => f.write_str(s),
        }
    }
}

/// Counts of both samples over the union of their categories, in sorted category order.
fn aligned_counts(r: &Sample, c: &Sample) -> (Vec<CategoryKey>, Vec<f64>, Vec<f64>) {
    let mut map: std::collections::BTreeMap<CategoryKey, (f64, f64)> = Default::default();
    for (k, n) in r.counts() {
        map.entry(k).or_default().0 += n as f64;
    }
    for (k, n) in c.counts() {
        map.entry(k).or_default().1 += n as f64;
    }
    let keys = map.keys().cloned().collect();
    let (rc, cc) = map.values().copied().unzip();
    (keys, rc, cc)
}

/// Equal-width bin edges over both samples' range (`numpy.histogram_bin_edges(bins=n)`).
pub fn bin_edges(min: f64, max: f64, bins: usize) -> Vec<f64> {
    let (lo, hi) = if min == max { (min - 0.5, max + 0.5) } else { (min, max) };
    let step = (hi - lo) / bins as f64;
    (0..=bins).map(|i| if i == bins { hi } else { lo + i as f64 * step }).collect()
}

/// Bin counts of a sample under `edges`, with numpy's last-bin-closed rule and its rounding fixes.
pub fn histogram_counts(values: &[f64], edges: &[f64]) -> Vec<f64> {
    let bins = edges.len() - 1;
    let (lo, hi) = (edges[0], edges[bins]);
    let norm = bins as f64 / (hi - lo);
    let mut out = vec![0.0; bins];
    for &x in values {
        if x < lo || x > hi {
            continue;
        }
        let mut i = (((x - lo) * norm) as usize).min(bins - 1);
        if x < edges[i] {
            i = i.saturating_sub(1);
        }
        if i + 1 < bins && x >= edges[i + 1] {
            i += 1;
        }
        out[i] += 1.0;
    }
    out
}

fn shares(counts: &[f64]) -> Vec<f64> {
    let total: f64 = counts.iter().sum();
    counts.iter().map(|c| c / total).collect()
}

/// Reference and current shares for JS/PSI: numeric samples in `NUMERIC_BINS` bins over both
/// ranges, categorical samples per category.
fn binned_shares(r: &Sample, c: &Sample) -> (Vec<String>, Vec<f64>, Vec<f64>) {
    match (r, c) {
        (Sample::Numeric(a), Sample::Numeric(b)) => {
            let min = a[0].min(b[0]);
            let max = a[a.len() - 1].max(b[b.len() - 1]);
            let edges = bin_edges(min, max, NUMERIC_BINS);
            let labels = edges.windows(2).map(|w| format!("{:.4}..{:.4}", w[0], w[1])).collect();
            (labels, shares(&histogram_counts(a, &edges)), shares(&histogram_counts(b, &edges)))
        }
        _ => {
            let (keys, rc, cc) = aligned_counts(r, c);
            (keys.iter().map(ToString::to_string).collect(), shares(&rc), shares(&cc))
        }
    }
}

fn run_test(test: DriftTest, r: &Sample, c: &Sample, name: &str) -> Result<(f64, Option<f64>), MonitorError> {
    let need_numeric = || MonitorError::TestNeedsNumbers(name.to_owned(), test);
    Ok(match test {
        DriftTest::Ks => {
            let (Sample::Numeric(a), Sample::Numeric(b)) = (r, c) else { return Err(need_numeric()) };
            let (d, p, _) = stats::ks_2samp(a, b).ok_or_else(|| MonitorError::EmptyColumn(name.to_owned()))?;
            (d, Some(p))
        }
        DriftTest::Wasserstein => {
            let (Sample::Numeric(a), Sample::Numeric(b)) = (r, c) else { return Err(need_numeric()) };
            let norm = stats::std_dev(a).max(0.001);
            (stats::wasserstein(a, b) / norm, None)
        }
        DriftTest::Chisquare => {
            let (_, rc, cc) = aligned_counts(r, c);
            let k = cc.iter().sum::<f64>() / rc.iter().sum::<f64>();
            let expected: Vec<f64> = rc.iter().map(|x| x * k).collect();
            let (s, p) = stats::chisquare(&cc, &expected);
            (s, Some(p))
        }
        DriftTest::Z => {
            let (keys, rc, cc) = aligned_counts(r, c);
            if keys.len() <= 1 {
                (0.0, Some(1.0))
            } else {
                let (nr, nc) = (rc.iter().sum::<f64>(), cc.iter().sum::<f64>());
                let (z, p) = stats::proportions_z_test(rc[0], nr, cc[0], nc);
                (z, Some(p))
            }
        }
        DriftTest::Jensenshannon => {
            let (_, rs, cs) = binned_shares(r, c);
            (stats::jensen_shannon(&rs, &cs), None)
        }
        DriftTest::Psi => {
            let (_, rs, cs) = binned_shares(r, c);
            (stats::psi(&rs, &cs), None)
        }
    })
}

/// At most this many bars per plot; further categories are summed into "(other)".
const MAX_BARS: usize = 20;

fn histogram(r: &Sample, c: &Sample) -> Histogram {
    let (mut labels, mut reference, mut current) = match (r, c) {
        (Sample::Numeric(a), Sample::Numeric(b)) => {
            let min = a[0].min(b[0]);
            let max = a[a.len() - 1].max(b[b.len() - 1]);
            let edges = bin_edges(min, max, MAX_BARS);
            let labels = edges.windows(2).map(|w| format!("{:.3}", (w[0] + w[1]) / 2.0)).collect();
            (labels, shares(&histogram_counts(a, &edges)), shares(&histogram_counts(b, &edges)))
        }
        _ => binned_shares(r, c),
    };
    if labels.len() > MAX_BARS {
        let mut order: Vec<usize> = (0..labels.len()).collect();
        order.sort_by(|&i, &j| (reference[j] + current[j]).total_cmp(&(reference[i] + current[i])));
        let (keep, rest) = order.split_at(MAX_BARS - 1);
        let other = |v: &[f64]| rest.iter().map(|&i| v[i]).sum::<f64>();
        let (ro, co) = (other(&reference), other(&current));
        labels = keep.iter().map(|&i| labels[i].clone()).chain(["(other)".to_owned()]).collect();
        reference = keep.iter().map(|&i| reference[i]).chain([ro]).collect();
        current = keep.iter().map(|&i| current[i]).chain([co]).collect();
    }
    Histogram { labels, reference, current }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_test_follows_evidently() {
        assert_eq!(auto_test(ColumnKind::Numerical, 1000, 6), DriftTest::Ks);
        assert_eq!(auto_test(ColumnKind::Numerical, 1000, 5), DriftTest::Chisquare);
        assert_eq!(auto_test(ColumnKind::Categorical, 100, 2), DriftTest::Z);
        assert_eq!(auto_test(ColumnKind::Numerical, 1001, 6), DriftTest::Wasserstein);
        assert_eq!(auto_test(ColumnKind::Categorical, 5000, 40), DriftTest::Jensenshannon);
    }

    #[test]
    fn numpy_style_histogram() {
        let edges = bin_edges(0.0, 1.0, 4);
        assert_eq!(histogram_counts(&[0.0, 0.25, 0.5, 0.99, 1.0], &edges), vec![1.0, 1.0, 1.0, 2.0]);
        assert_eq!(bin_edges(2.0, 2.0, 2), vec![1.5, 2.0, 2.5]);
    }
}
