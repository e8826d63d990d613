//! Turning any Arrow column into strings (for `infer_types: false` and for consumers that want
//! text whatever the storage type).

use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};

/// Returns `array` as a `Utf8` array: strings unchanged, other types formatted the way Arrow
/// displays them (numbers in shortest round-trip form, nested values as JSON-like text).
pub fn column_as_strings(array: &dyn Array) -> Result<StringArray, ArrowError> {
    if let Some(s) = array.as_any().downcast_ref::<StringArray>() {
        return Ok(s.clone());
    }
    if matches!(array.data_type(), DataType::LargeUtf8 | DataType::Utf8View) {
        let cast = arrow_cast::cast(array, &DataType::Utf8)?;
        if let Some(s) = cast.as_any().downcast_ref::<StringArray>() {
            return Ok(s.clone());
        }
    }
    let formatter = ArrayFormatter::try_new(array, &FormatOptions::default())?;
    let mut out = StringBuilder::with_capacity(array.len(), array.len() * 8);
    for i in 0..array.len() {
        if array.is_null(i) {
            out.append_null();
        } else {
            out.append_value(formatter.value(i).to_string());
        }
    }
    Ok(out.finish())
}

/// The schema with every field turned into a nullable `Utf8` field of the same name.
pub(crate) fn utf8_schema(schema: &Schema) -> SchemaRef {
    Arc::new(Schema::new(
        schema.fields().iter().map(|f| Field::new(f.name(), DataType::Utf8, true)).collect::<Vec<_>>(),
    ))
}

/// Converts every column of `batch` to `Utf8` under `schema` (from [`utf8_schema`]).
pub(crate) fn batch_as_strings(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, ArrowError> {
    let columns = batch
        .columns()
        .iter()
        .map(|c| column_as_strings(c.as_ref()).map(|s| Arc::new(s) as ArrayRef))
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(schema.clone(), columns)
}
