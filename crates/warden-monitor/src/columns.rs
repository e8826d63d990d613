//! Extracting one named column from record batches as numbers or as category labels.

use std::collections::HashMap;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;

use crate::MonitorError;

/// The values of one column, with nulls (and NaNs) dropped.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnValues {
    /// A numeric column (Int64 or Float64 in both datasets).
    Numeric(Vec<f64>),
    /// Any other column, as text labels.
    Categorical(Vec<String>),
}

/// Whether `name` is numeric (Int64/Float64) in every batch set given.
pub fn is_numeric(batches: &[&[RecordBatch]], name: &str) -> bool {
    batches.iter().all(|set| {
        set.first().is_none_or(|b| {
            b.schema()
                .field_with_name(name)
                .is_ok_and(|f| matches!(f.data_type(), DataType::Int64 | DataType::Float64))
        })
    })
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a dyn Array, MonitorError> {
    batch.column_by_name(name).map(|c| c.as_ref()).ok_or_else(|| MonitorError::MissingColumn(name.to_owned()))
}

/// The numeric values of `name` (nulls and NaNs dropped).
pub fn numeric(batches: &[RecordBatch], name: &str) -> Result<Vec<f64>, MonitorError> {
    let mut out = Vec::with_capacity(batches.iter().map(RecordBatch::num_rows).sum());
    for b in batches {
        let col = column(b, name)?;
        match col.data_type() {
            DataType::Float64 => {
                let a = col.as_primitive::<Float64Type>();
                if a.null_count() == 0 {
                    out.extend(a.values().iter().copied().filter(|v| !v.is_nan()));
                } else {
                    out.extend(a.iter().flatten().filter(|v| !v.is_nan()));
                }
            }
            DataType::Int64 => {
                let a = col.as_primitive::<Int64Type>();
                if a.null_count() == 0 {
                    out.extend(a.values().iter().map(|&v| v as f64));
                } else {
                    out.extend(a.iter().flatten().map(|v| v as f64));
                }
            }
            other => return Err(MonitorError::ColumnType(name.to_owned(), format!("{other}"))),
        }
    }
    Ok(out)
}

/// The values of `name` as text labels (nulls dropped), counted.
pub fn category_counts(batches: &[RecordBatch], name: &str) -> Result<(HashMap<String, u64>, u64), MonitorError> {
    let mut counts: HashMap<String, u64> = HashMap::new();
    let mut total = 0;
    for b in batches {
        let col = column(b, name)?;
        let strings = warden_table::column_as_strings(col).map_err(|e| MonitorError::ColumnType(name.to_owned(), e.to_string()))?;
        for v in strings.iter().flatten() {
            total += 1;
            match counts.get_mut(v) {
                Some(c) => *c += 1,
                None => {
                    counts.insert(v.to_owned(), 1);
                }
            }
        }
    }
    Ok((counts, total))
}

/// The labels of `name`, one per non-null row, in row order.
pub fn labels(batches: &[RecordBatch], name: &str) -> Result<Vec<Option<String>>, MonitorError> {
    let mut out = Vec::new();
    for b in batches {
        let col = column(b, name)?;
        let strings = warden_table::column_as_strings(col).map_err(|e| MonitorError::ColumnType(name.to_owned(), e.to_string()))?;
        out.extend(strings.iter().map(|v| v.map(str::to_owned)));
    }
    Ok(out)
}
