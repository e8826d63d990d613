//! `open`, `TableReader` and `read_all`: sniffing, then dispatch to the format readers.

use std::fs::File;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use arrow_schema::{ArrowError, SchemaRef};
use parquet::arrow::arrow_reader::ParquetRecordBatchReader;

use crate::decompress::{ByteStream, open_stream, wrap_stream};
use crate::utf8::{batch_as_strings, utf8_schema};
use crate::{Compression, ReadOptions, TableError, TableFormat, csv, jsonl, pq};

/// Bytes read ahead to sniff the format and infer the schema.
const SAMPLE_BYTES: u64 = 1024 * 1024;

enum Inner {
    Csv(Box<csv::CsvReader>),
    Jsonl(Box<jsonl::JsonlReader>),
    Parquet(Box<ParquetRecordBatchReader>),
    Done,
}

/// A streaming reader of record batches; an `Iterator` of `Result<RecordBatch, TableError>`.
/// After the first error it yields nothing more.
pub struct TableReader {
    path: PathBuf,
    format: TableFormat,
    compression: Compression,
    schema: SchemaRef,
    /// Set when every column must be converted to `Utf8` (Parquet with `infer_types: false`).
    stringify: bool,
    inner: Inner,
    rows: u64,
    max_rows: Option<u64>,
}

impl std::fmt::Debug for TableReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableReader")
            .field("path", &self.path)
            .field("format", &self.format)
            .field("compression", &self.compression)
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

pub(crate) fn arrow_error(path: &Path, format: &'static str, e: ArrowError) -> TableError {
    match e {
        ArrowError::IoError(_, io) => TableError::io(path, io),
        ArrowError::ExternalError(inner) => match inner.downcast::<std::io::Error>() {
            Ok(io) => TableError::io(path, *io),
            Err(other) => TableError::malformed(path, format, None, other.to_string()),
        },
        ArrowError::CsvError(m) | ArrowError::JsonError(m) | ArrowError::ParseError(m) => {
            TableError::malformed(path, format, None, m)
        }
        other => TableError::malformed(path, format, None, other.to_string()),
    }
}

/// Opens a table file: sniffs compression and format from content, reads the schema.
pub fn open(path: &Path, opts: &ReadOptions) -> Result<TableReader, TableError> {
    let (compression, stream) = open_stream(path, &opts.limits)?;
    let reopen = || File::open(path).map_err(|e| TableError::io(path, e));
    build(path, compression, stream, opts, Some(&reopen), None)
}

/// Reads a table from bytes in memory (for tests, fuzzing and uploads); `label` names it in errors.
pub fn open_bytes(label: &str, bytes: Vec<u8>, opts: &ReadOptions) -> Result<TableReader, TableError> {
    let path = Path::new(label);
    let shared = bytes::Bytes::from(bytes);
    let raw: ByteStream = Box::new(Cursor::new(shared.clone()));
    let (compression, stream) = wrap_stream(path, raw, &opts.limits)?;
    let plain = (compression == Compression::None).then_some(shared);
    build(path, compression, stream, opts, None, plain)
}

fn build(
    path: &Path,
    compression: Compression,
    stream: ByteStream,
    opts: &ReadOptions,
    reopen: Option<&dyn Fn() -> Result<File, TableError>>,
    plain_bytes: Option<bytes::Bytes>,
) -> Result<TableReader, TableError> {
    let mut sample = Vec::new();
    let mut stream = stream;
    (&mut stream).take(SAMPLE_BYTES).read_to_end(&mut sample).map_err(|e| TableError::io(path, e))?;
    let complete = (sample.len() as u64) < SAMPLE_BYTES;
    let format = opts.format.unwrap_or_else(|| TableFormat::sniff(&sample));
    let (schema, inner) = match format {
        TableFormat::Parquet => {
            let (schema, reader) = match (compression, reopen, plain_bytes) {
                (Compression::None, Some(reopen), _) => pq::build(path, reopen()?, opts)?,
                (Compression::None, None, Some(bytes)) => pq::build(path, bytes, opts)?,
                _ => {
                    let cap = opts.limits.max_in_memory_bytes;
                    let mut all = sample;
                    (&mut stream).take(cap + 1).read_to_end(&mut all).map_err(|e| TableError::io(path, e))?;
                    if all.len() as u64 > cap {
                        return Err(TableError::limit(path, "in-memory Parquet size", cap));
                    }
                    pq::build(path, bytes::Bytes::from(all), opts)?
                }
            };
            (schema, Inner::Parquet(Box::new(reader)))
        }
        TableFormat::Csv | TableFormat::Jsonl => {
            let again: ByteStream = Box::new(Cursor::new(sample.clone()).chain(stream));
            if format == TableFormat::Csv {
                let (schema, r) = csv::build(path, &sample, complete, again, opts)?;
                (schema, Inner::Csv(Box::new(r)))
            } else {
                let (schema, r) = jsonl::build(path, &sample, complete, again, opts)?;
                (schema, Inner::Jsonl(Box::new(r)))
            }
        }
    };
    let stringify = format == TableFormat::Parquet && !opts.infer_types;
    let schema = if stringify { utf8_schema(&schema) } else { schema };
    Ok(TableReader {
        path: path.to_owned(),
        format,
        compression,
        schema,
        stringify,
        inner,
        rows: 0,
        max_rows: opts.limits.max_rows,
    })
}

impl TableReader {
    /// The sniffed (or forced) format.
    pub fn format(&self) -> TableFormat {
        self.format
    }

    /// The sniffed compression.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// The schema every batch has.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// Data rows yielded so far.
    pub fn rows_read(&self) -> u64 {
        self.rows
    }

    fn next_inner(&mut self) -> Option<Result<RecordBatch, TableError>> {
        let path = &self.path;
        let batch = match &mut self.inner {
            Inner::Done => return None,
            Inner::Csv(r) => r.next()?.map_err(|e| arrow_error(path, "csv", e)),
            Inner::Jsonl(r) => r.next_batch().transpose()?,
            Inner::Parquet(r) => r.next()?.map_err(|e| arrow_error(path, "parquet", e)),
        };
        let batch = batch.and_then(|b| {
            if self.stringify {
                batch_as_strings(&b, &self.schema).map_err(|e| arrow_error(path, "parquet", e))
            } else {
                Ok(b)
            }
        });
        Some(batch)
    }
}

impl Iterator for TableReader {
    type Item = Result<RecordBatch, TableError>;

    fn next(&mut self) -> Option<Self::Item> {
        let item = self.next_inner()?;
        let item = item.and_then(|b| {
            self.rows += b.num_rows() as u64;
            match self.max_rows {
                Some(max) if self.rows > max => Err(TableError::limit(&self.path, "row count", max)),
                _ => Ok(b),
            }
        });
        if item.is_err() {
            self.inner = Inner::Done;
        }
        Some(item)
    }
}

/// Reads every batch of a table (for analyses that need all rows: drift, fairness, poisoning).
pub fn read_all(path: &Path, opts: &ReadOptions) -> Result<(SchemaRef, Vec<RecordBatch>), TableError> {
    let reader = open(path, opts)?;
    let schema = reader.schema();
    let batches = reader.collect::<Result<Vec<_>, _>>()?;
    Ok((schema, batches))
}
