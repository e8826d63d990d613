//! Wiring profiling and validation to `warden-table`: open the dataset as text columns, stream
//! its batches, and hand each batch to the profiler or validator column by column.

use std::path::Path;

use arrow_array::{Array, StringArray};
use warden_table::{ReadOptions, RecordBatch, TableFormat, TableReader};

use super::QualityError;
use super::expect::Expectations;
use super::profile::{Profile, ProfileSettings, TableProfiler};
use super::validate::{ValidateSettings, Validator};

/// Reading options for quality checks: every column as text, cells typed by [`super::cell`].
pub fn read_options() -> ReadOptions {
    ReadOptions { infer_types: false, ..ReadOptions::default() }
}

fn text_columns(path: &Path, batch: &RecordBatch) -> Result<Vec<StringArray>, QualityError> {
    let schema = batch.schema();
    batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(col, field)| {
            warden_table::column_as_strings(col.as_ref()).map_err(|e| QualityError::Column {
                path: path.display().to_string(),
                column: field.name().clone(),
                message: e.to_string(),
            })
        })
        .collect()
}

fn cells(columns: &[StringArray]) -> Vec<Vec<Option<&str>>> {
    columns.iter().map(|c| (0..c.len()).map(|i| (!c.is_null(i)).then(|| c.value(i))).collect()).collect()
}

/// Opens the dataset at `path` and returns its header with the reader.
fn open(path: &Path, options: &ReadOptions) -> Result<(Vec<String>, TableReader), QualityError> {
    let reader = warden_table::open(path, options)?;
    let header = reader.schema().fields().iter().map(|f| f.name().clone()).collect();
    Ok((header, reader))
}

/// Calls `each` with every batch of `reader` as text cells.
fn for_each_batch(path: &Path, reader: TableReader, mut each: impl FnMut(&[Vec<Option<&str>>])) -> Result<(), QualityError> {
    for batch in reader {
        let columns = text_columns(path, &batch?)?;
        each(&cells(&columns));
    }
    Ok(())
}

/// Profiles the dataset at `path` in one streaming pass; also returns the sniffed format.
pub fn profile_path(
    path: &Path,
    options: &ReadOptions,
    settings: ProfileSettings,
) -> Result<(Profile, TableFormat), QualityError> {
    let (header, reader) = open(path, options)?;
    let format = reader.format();
    let mut profiler = TableProfiler::new(&header, settings);
    for_each_batch(path, reader, |batch| profiler.push_batch(batch))?;
    Ok((profiler.finish(), format))
}

/// Validates the dataset at `path` against `expectations` in one streaming pass; the findings'
/// locations name `shown_path`. Also returns the sniffed format.
pub fn validate_path(
    path: &Path,
    shown_path: &str,
    expectations: Expectations,
    options: &ReadOptions,
    settings: ValidateSettings,
) -> Result<(Vec<warden_core::Finding>, TableFormat), QualityError> {
    let (header, reader) = open(path, options)?;
    let format = reader.format();
    let mut validator = Validator::new(expectations, &header, settings)?;
    for_each_batch(path, reader, |batch| validator.push_batch(batch))?;
    Ok((validator.finish(shown_path), format))
}
