//! CSV: delimiter and header sniffed, types optionally inferred from a sample, rows streamed by
//! `arrow-csv` behind a line-length guard.

use std::io::{BufReader, Cursor};
use std::path::Path;
use std::sync::Arc;

use arrow_csv::reader::Format;
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use crate::decompress::{ByteStream, LineGuard};
use crate::reader::arrow_error;
use crate::sniff::csv_delimiter;
use crate::{ReadOptions, TableError};

/// The streaming CSV batch reader.
pub(crate) type CsvReader = arrow_csv::reader::BufReader<BufReader<LineGuard<ByteStream>>>;

/// Builds a CSV reader; `sample` holds the first bytes of the stream and `complete` says whether
/// it is the whole stream. `stream` yields the whole content again, sample included.
pub(crate) fn build(
    path: &Path,
    sample: &[u8],
    complete: bool,
    stream: ByteStream,
    opts: &ReadOptions,
) -> Result<(SchemaRef, CsvReader), TableError> {
    let sample = sample.strip_prefix(b"\xef\xbb\xbf").unwrap_or(sample);
    let delimiter = csv_delimiter(sample);
    let infer_part = if complete {
        sample
    } else {
        match sample.iter().rposition(|&b| b == b'\n') {
            Some(end) => &sample[..=end],
            None => {
                return Err(TableError::limit(path, "line length", opts.limits.max_line_bytes as u64));
            }
        }
    };
    let format = Format::default().with_header(true).with_delimiter(delimiter);
    let (inferred, _) = format
        .infer_schema(Cursor::new(infer_part), Some(opts.infer_rows.max(1)))
        .map_err(|e| arrow_error(path, "csv", e))?;
    if inferred.fields().len() > opts.limits.max_columns {
        return Err(TableError::limit(path, "column count", opts.limits.max_columns as u64));
    }
    if inferred.fields().is_empty() {
        return Err(TableError::malformed(path, "csv", Some(1), "no header row"));
    }
    let fields: Vec<Field> = inferred
        .fields()
        .iter()
        .map(|f| {
            let dt = match f.data_type() {
                DataType::Int64 | DataType::Float64 | DataType::Boolean if opts.infer_types => f.data_type().clone(),
                _ => DataType::Utf8,
            };
            Field::new(f.name(), dt, true)
        })
        .collect();
    let schema: SchemaRef = Arc::new(Schema::new(fields));
    // Skip a UTF-8 byte-order mark so the first header name is clean.
    let mut stream = stream;
    {
        use std::io::BufRead;
        let head = stream.fill_buf().map_err(|e| TableError::io(path, e))?;
        if head.starts_with(b"\xef\xbb\xbf") {
            stream.consume(3);
        }
    }
    let guarded = BufReader::with_capacity(256 * 1024, LineGuard::new(stream, opts.limits.max_line_bytes));
    let reader = arrow_csv::ReaderBuilder::new(schema.clone())
        .with_header(true)
        .with_delimiter(delimiter)
        .with_batch_size(opts.batch_rows.max(1))
        .build_buffered(guarded)
        .map_err(|e| arrow_error(path, "csv", e))?;
    Ok((schema, reader))
}
