//! Reading a labelled table for the poisoning checks from any dataset `warden-table` reads: two
//! streaming passes (the first decides which columns are numeric, the second builds compact
//! columns), so memory holds the typed table, never the text.

use std::path::Path;

use arrow_array::Array;
use warden_table::ReadOptions;

use super::table::{CategoricalBuilder, Column, LabelledTable};
use crate::quality::QualityError;
use crate::quality::cell::Cell;

/// Reads `path` as a labelled table. A column is numeric when every non-missing cell is a number
/// (the label and id columns are always categorical). `options.limits.max_rows` bounds memory.
pub fn read_labelled(
    path: &Path,
    options: &ReadOptions,
    label: &str,
    id: Option<&str>,
    features: Option<&[String]>,
) -> Result<LabelledTable, QualityError> {
    let options = ReadOptions { infer_types: false, ..*options };
    let column_error = |column: &str, message: String| QualityError::Column {
        path: path.display().to_string(),
        column: column.to_owned(),
        message,
    };
    // Pass 1: which columns hold only numbers.
    let reader = warden_table::open(path, &options)?;
    let header: Vec<String> = reader.schema().fields().iter().map(|f| f.name().clone()).collect();
    let mut numeric: Vec<bool> = header.iter().map(|h| h != label && Some(h.as_str()) != id).collect();
    for batch in reader {
        let batch = batch?;
        for (j, col) in batch.columns().iter().enumerate() {
            if !numeric[j] {
                continue;
            }
            let text = warden_table::column_as_strings(col.as_ref()).map_err(|e| column_error(&header[j], e.to_string()))?;
            numeric[j] = (0..text.len())
                .all(|i| text.is_null(i) || matches!(Cell::classify(Some(text.value(i))), Cell::Null | Cell::Int(_) | Cell::Float(_)));
        }
    }
    // Pass 2: build the columns.
    enum Builder {
        Numeric(Vec<Option<f64>>),
        Categorical(CategoricalBuilder),
    }
    let mut builders: Vec<Builder> = numeric
        .iter()
        .map(|&n| if n { Builder::Numeric(Vec::new()) } else { Builder::Categorical(CategoricalBuilder::default()) })
        .collect();
    for batch in warden_table::open(path, &options)? {
        let batch = batch?;
        for (j, col) in batch.columns().iter().enumerate() {
            let text = warden_table::column_as_strings(col.as_ref()).map_err(|e| column_error(&header[j], e.to_string()))?;
            for i in 0..text.len() {
                let value = (!text.is_null(i)).then(|| text.value(i));
                match &mut builders[j] {
                    Builder::Numeric(v) => v.push(Cell::classify(value).number()),
                    Builder::Categorical(b) => b.push(value.map(str::trim).filter(|s| !s.is_empty())),
                }
            }
        }
    }
    let columns = header
        .iter()
        .zip(builders)
        .map(|(name, b)| match b {
            Builder::Numeric(v) => Column::numeric(name.clone(), v),
            Builder::Categorical(b) => Column { name: name.clone(), data: b.finish() },
        })
        .collect();
    LabelledTable::from_columns(columns, label, id, features).map_err(|message| column_error(label, message))
}
