//! Turning table columns into numeric matrices: standardised numbers plus one-hot categories for
//! the classifier, and a compact numeric view (category frequency) for the isolation forest.

use super::table::{ColumnData, LabelledTable};

/// A dense row-major matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// `rows * cols` values, row after row.
    pub data: Vec<f64>,
}

impl Matrix {
    /// A zero matrix.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Matrix { rows, cols, data: vec![0.0; rows * cols] }
    }

    /// One row.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// One row, mutable.
    pub fn row_mut(&mut self, i: usize) -> &mut [f64] {
        &mut self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// The value at (`i`, `j`).
    pub fn get(&self, i: usize, j: usize) -> f64 {
        self.data[i * self.cols + j]
    }
}

/// Mean and population standard deviation of the present values (`(0, 0)` when none).
pub fn mean_std(values: &[Option<f64>]) -> (f64, f64) {
    let (mut n, mut mean, mut m2) = (0.0f64, 0.0f64, 0.0f64);
    for x in values.iter().flatten() {
        n += 1.0;
        let delta = x - mean;
        mean += delta / n;
        m2 += delta * (x - mean);
    }
    if n == 0.0 { (0.0, 0.0) } else { (mean, (m2 / n).sqrt()) }
}

/// Category codes ranked by frequency (most frequent first), at most `cap` of them.
pub fn frequent_codes(codes: &[Option<u32>], dictionary_len: usize, cap: usize) -> Vec<u32> {
    let mut counts = vec![0usize; dictionary_len];
    for c in codes.iter().flatten() {
        counts[*c as usize] += 1;
    }
    let mut order: Vec<u32> = (0..dictionary_len as u32).filter(|&c| counts[c as usize] > 0).collect();
    order.sort_by_key(|&c| (std::cmp::Reverse(counts[c as usize]), c));
    order.truncate(cap);
    order
}

/// The classifier's design matrix: each numeric feature standardised (missing cells imputed with
/// the mean, i.e. 0, plus a missing-indicator column when any cell is missing), each categorical
/// feature one-hot over its `max_categories` most frequent values (rarer values and missing cells
/// are all-zero).
pub fn design_matrix(table: &LabelledTable, max_categories: usize) -> Matrix {
    enum Plan {
        Numeric { mean: f64, std: f64, indicator: bool },
        OneHot { slot: Vec<Option<usize>> },
    }
    let mut plans = Vec::new();
    let mut cols = 0usize;
    for column in &table.features {
        match &column.data {
            ColumnData::Numeric(values) => {
                let (mean, std) = mean_std(values);
                let indicator = values.iter().any(Option::is_none);
                cols += 1 + usize::from(indicator);
                plans.push(Plan::Numeric { mean, std, indicator });
            }
            ColumnData::Categorical { codes, dictionary } => {
                let keep = frequent_codes(codes, dictionary.len(), max_categories);
                let mut slot = vec![None; dictionary.len()];
                for (k, &code) in keep.iter().enumerate() {
                    slot[code as usize] = Some(k);
                }
                cols += keep.len();
                plans.push(Plan::OneHot { slot });
            }
        }
    }
    let mut m = Matrix::zeros(table.rows(), cols);
    let mut offset = 0;
    for (column, plan) in table.features.iter().zip(&plans) {
        match (&column.data, plan) {
            (ColumnData::Numeric(values), Plan::Numeric { mean, std, indicator }) => {
                let scale = if *std > 0.0 { 1.0 / std } else { 0.0 };
                for (i, v) in values.iter().enumerate() {
                    match v {
                        Some(x) => m.data[i * cols + offset] = (x - mean) * scale,
                        None if *indicator => m.data[i * cols + offset + 1] = 1.0,
                        None => {}
                    }
                }
                offset += 1 + usize::from(*indicator);
            }
            (ColumnData::Categorical { codes, .. }, Plan::OneHot { slot }) => {
                for (i, c) in codes.iter().enumerate() {
                    if let Some(k) = c.and_then(|c| slot[c as usize]) {
                        m.data[i * cols + offset + k] = 1.0;
                    }
                }
                offset += slot.iter().flatten().count();
            }
            _ => {}
        }
    }
    m
}

/// The isolation forest's view: numeric features as they are (missing cells take the mean) and
/// categorical features as the share of rows holding the same value, so rare categories sit at an
/// extreme where random splits isolate them quickly.
pub fn isolation_matrix(table: &LabelledTable) -> Matrix {
    let rows = table.rows();
    let cols = table.features.len();
    let mut m = Matrix::zeros(rows, cols);
    for (j, column) in table.features.iter().enumerate() {
        match &column.data {
            ColumnData::Numeric(values) => {
                let (mean, _) = mean_std(values);
                for (i, v) in values.iter().enumerate() {
                    m.data[i * cols + j] = v.unwrap_or(mean);
                }
            }
            ColumnData::Categorical { codes, dictionary } => {
                let mut counts = vec![0usize; dictionary.len()];
                for c in codes.iter().flatten() {
                    counts[*c as usize] += 1;
                }
                let total = rows.max(1) as f64;
                for (i, c) in codes.iter().enumerate() {
                    m.data[i * cols + j] = c.map_or(0.0, |c| counts[c as usize] as f64 / total);
                }
            }
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::poison::table::Column;

    #[test]
    fn design_matrix_standardises_and_one_hot_encodes() {
        let cols = vec![
            Column::numeric("x", vec![Some(1.0), Some(3.0), None]),
            Column::categorical("c", &[Some("a"), Some("b"), Some("a")]),
            Column::categorical("y", &[Some("0"), Some("1"), Some("0")]),
        ];
        let t = LabelledTable::from_columns(cols, "y", None, None).unwrap();
        let m = design_matrix(&t, 10);
        assert_eq!((m.rows, m.cols), (3, 4));
        // Features in name order: `c` (one-hot a, b), then `x` (value, missing indicator).
        assert_eq!(m.row(0), &[1.0, 0.0, -1.0, 0.0]);
        assert_eq!(m.row(1), &[0.0, 1.0, 1.0, 0.0]);
        assert_eq!(m.row(2), &[1.0, 0.0, 0.0, 1.0]);
    }
}
