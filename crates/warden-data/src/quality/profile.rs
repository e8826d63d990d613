//! `warden data profile`: one streaming pass that summarises every column in bounded memory
//! (type, nulls, numeric moments and quantiles, distinct count, top values, lengths, shape).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::cell::{Cell, ColumnType, TypeTally};
use super::sketch::{DistinctCounter, Reservoir, TopValues, hash_text, shape, shape_regex};

/// Bounds on the profiler's memory per column.
#[derive(Debug, Clone, Copy)]
pub struct ProfileSettings {
    /// Distinct values counted exactly before switching to HyperLogLog.
    pub exact_distinct_cap: usize,
    /// Values kept for quantiles (exact when the column has no more numbers than this).
    pub reservoir: usize,
    /// Values tracked for top values (exact while the column has fewer distinct values).
    pub top_capacity: usize,
    /// Top values reported.
    pub top_k: usize,
    /// Distinct shapes tracked before giving up on a pattern.
    pub max_shapes: usize,
}

impl Default for ProfileSettings {
    fn default() -> Self {
        ProfileSettings { exact_distinct_cap: 100_000, reservoir: 100_000, top_capacity: 1024, top_k: 10, max_shapes: 32 }
    }
}

/// The quantiles a profile reports.
pub const QUANTILES: [f64; 7] = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99];

/// Numeric summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumericSummary {
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Mean.
    pub mean: f64,
    /// Population standard deviation.
    pub std: f64,
    /// Quantiles at [`QUANTILES`] (p01, p05, p25, p50, p75, p95, p99).
    pub quantiles: Vec<f64>,
    /// False when computed from a uniform sample of the values.
    pub quantiles_exact: bool,
}

/// One frequent value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopValue {
    /// The value as text.
    pub value: String,
    /// Rows holding it (a lower bound when `top_values_exact` is false).
    pub count: u64,
}

/// A shape most values share.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pattern {
    /// The shape (`A` upper-case run, `a` lower-case run, `9` digit run).
    pub shape: String,
    /// An anchored regex for the shape.
    pub regex: String,
    /// Share of non-null values with this shape.
    pub share: f64,
}

/// Everything profiled about one column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnProfile {
    /// Column name.
    pub name: String,
    /// Narrowest type every non-null value satisfies (absent when all are null).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub column_type: Option<ColumnType>,
    /// Missing cells (absent, empty or NaN).
    pub nulls: u64,
    /// `nulls / rows`.
    pub null_share: f64,
    /// Distinct non-null values.
    pub distinct: u64,
    /// False when `distinct` is a HyperLogLog estimate.
    pub distinct_exact: bool,
    /// Numeric summary, for integer and float columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numeric: Option<NumericSummary>,
    /// Shortest value, in characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u64>,
    /// Longest value, in characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u64>,
    /// Most frequent values.
    pub top_values: Vec<TopValue>,
    /// False when the top-value counts are lower bounds.
    pub top_values_exact: bool,
    /// Every distinct value, when there are at most 20 (for allowed-value expectations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
    /// The dominant shape of string values, when one covers at least 90% of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<Pattern>,
}

/// A whole table's profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// Data rows.
    pub rows: u64,
    /// Columns in file order.
    pub columns: Vec<ColumnProfile>,
}

/// Accumulates one column.
#[derive(Debug, Clone)]
pub struct ColumnProfiler {
    name: String,
    settings: ProfileSettings,
    rows: u64,
    nulls: u64,
    tally: TypeTally,
    count: u64,
    mean: f64,
    m2: f64,
    min: f64,
    max: f64,
    reservoir: Reservoir,
    distinct: DistinctCounter,
    top: TopValues,
    min_len: u64,
    max_len: u64,
    shapes: Option<HashMap<String, u64>>,
}

impl ColumnProfiler {
    /// A profiler for column `name`.
    pub fn new(name: impl Into<String>, settings: ProfileSettings) -> Self {
        let name = name.into();
        let seed = hash_text(&name);
        ColumnProfiler {
            name,
            settings,
            rows: 0,
            nulls: 0,
            tally: TypeTally::default(),
            count: 0,
            mean: 0.0,
            m2: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            reservoir: Reservoir::new(settings.reservoir, seed),
            distinct: DistinctCounter::new(settings.exact_distinct_cap),
            top: TopValues::new(settings.top_capacity),
            min_len: u64::MAX,
            max_len: 0,
            shapes: Some(HashMap::new()),
        }
    }

    /// Adds one cell.
    pub fn push(&mut self, value: Option<&str>) {
        self.rows += 1;
        let cell = Cell::classify(value);
        let text = match (cell, value) {
            (Cell::Null, _) | (_, None) => {
                self.nulls += 1;
                return;
            }
            (_, Some(text)) => text.trim(),
        };
        self.tally.add(cell);
        if let Some(x) = cell.number().filter(|x| x.is_finite()) {
            self.count += 1;
            let delta = x - self.mean;
            self.mean += delta / self.count as f64;
            self.m2 += delta * (x - self.mean);
            self.min = self.min.min(x);
            self.max = self.max.max(x);
            self.reservoir.add(x);
        }
        self.distinct.add(hash_text(text));
        self.top.add(text);
        let len = text.chars().count() as u64;
        self.min_len = self.min_len.min(len);
        self.max_len = self.max_len.max(len);
        if matches!(cell, Cell::Str(_)) {
            let cap = self.settings.max_shapes;
            if let (Some(shapes), Some(s)) = (&mut self.shapes, shape(text)) {
                *shapes.entry(s).or_insert(0) += 1;
                if shapes.len() > cap {
                    self.shapes = None;
                }
            } else {
                self.shapes = None;
            }
        }
    }

    /// The finished profile.
    pub fn finish(self) -> ColumnProfile {
        let column_type = self.tally.infer();
        let numeric = match column_type {
            Some(ColumnType::Integer | ColumnType::Float) if self.count > 0 => {
                let (quantiles, quantiles_exact) = self.reservoir.quantiles(&QUANTILES);
                Some(NumericSummary {
                    min: self.min,
                    max: self.max,
                    mean: self.mean,
                    std: (self.m2 / self.count as f64).sqrt(),
                    quantiles,
                    quantiles_exact,
                })
            }
            _ => None,
        };
        let (distinct, distinct_exact) = self.distinct.count();
        let (top, top_values_exact) = self.top.top(self.settings.top_k);
        let non_null = self.rows - self.nulls;
        let pattern = match (column_type, &self.shapes) {
            (Some(ColumnType::String), Some(shapes)) if self.tally.strings == non_null => shapes
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
                .map(|(s, c)| Pattern { shape: s.clone(), regex: shape_regex(s), share: *c as f64 / non_null as f64 })
                .filter(|p| p.share >= 0.9),
            _ => None,
        };
        ColumnProfile {
            name: self.name,
            column_type,
            nulls: self.nulls,
            null_share: if self.rows > 0 { self.nulls as f64 / self.rows as f64 } else { 0.0 },
            distinct,
            distinct_exact,
            numeric,
            min_length: (non_null > 0).then_some(self.min_len),
            max_length: (non_null > 0).then_some(self.max_len),
            top_values: top.into_iter().map(|(value, count)| TopValue { value, count }).collect(),
            top_values_exact,
            values: self.top.complete_set().filter(|v| v.len() <= 20),
            pattern,
        }
    }
}

/// Accumulates a whole table, column by column within each batch.
#[derive(Debug, Clone)]
pub struct TableProfiler {
    columns: Vec<ColumnProfiler>,
    rows: u64,
}

impl TableProfiler {
    /// A profiler for the given columns.
    pub fn new(names: &[String], settings: ProfileSettings) -> Self {
        TableProfiler { columns: names.iter().map(|n| ColumnProfiler::new(n.clone(), settings)).collect(), rows: 0 }
    }

    /// Adds one batch given as columns of text cells (all of the same length).
    pub fn push_batch(&mut self, columns: &[Vec<Option<&str>>]) {
        for (profiler, cells) in self.columns.iter_mut().zip(columns) {
            for cell in cells {
                profiler.push(*cell);
            }
        }
        self.rows += columns.first().map_or(0, Vec::len) as u64;
    }

    /// The finished profile.
    pub fn finish(self) -> Profile {
        Profile { rows: self.rows, columns: self.columns.into_iter().map(ColumnProfiler::finish).collect() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_numbers_strings_and_nulls() {
        let mut p = TableProfiler::new(&["n".into(), "s".into()], ProfileSettings::default());
        p.push_batch(&[
            vec![Some("1"), Some("2"), Some(""), Some("3"), Some("4")],
            vec![Some("AB-12"), Some("CD-345"), Some("EF-6"), None, Some("AB-12")],
        ]);
        let prof = p.finish();
        assert_eq!(prof.rows, 5);
        let n = &prof.columns[0];
        assert_eq!((n.column_type, n.nulls, n.distinct), (Some(ColumnType::Integer), 1, 4));
        let num = n.numeric.as_ref().unwrap();
        assert_eq!((num.min, num.max, num.mean), (1.0, 4.0, 2.5));
        assert_eq!(num.quantiles[3], 2.5);
        let s = &prof.columns[1];
        assert_eq!(s.column_type, Some(ColumnType::String));
        assert_eq!(s.top_values[0], TopValue { value: "AB-12".into(), count: 2 });
        assert_eq!((s.min_length, s.max_length), (Some(4), Some(6)));
        let pat = s.pattern.as_ref().unwrap();
        assert_eq!((pat.shape.as_str(), pat.share), ("A-9", 1.0));
        assert_eq!(s.values.as_ref().unwrap().len(), 3);
    }
}
