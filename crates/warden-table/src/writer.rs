//! `TableWriter`: writes batches in a chosen format and compression to a temporary file in the
//! destination's directory, renamed over the destination only by `finish`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use tempfile::NamedTempFile;

use crate::reader::arrow_error;
use crate::{Compression, TableError, TableFormat};

/// The byte sink under the format writer: plain, gzip or zstd.
enum Sink {
    Plain(BufWriter<File>),
    Gzip(flate2::write::GzEncoder<BufWriter<File>>),
    Zstd(zstd::stream::write::Encoder<'static, BufWriter<File>>),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Self::Plain(w) => w.write(buf),
            Self::Gzip(w) => w.write(buf),
            Self::Zstd(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Self::Plain(w) => w.flush(),
            Self::Gzip(w) => w.flush(),
            Self::Zstd(w) => w.flush(),
        }
    }
}

impl Sink {
    fn finish(self) -> std::io::Result<()> {
        let mut inner = match self {
            Self::Plain(w) => w,
            Self::Gzip(w) => w.finish()?,
            Self::Zstd(w) => w.finish()?,
        };
        inner.flush()?;
        inner.get_ref().sync_all()
    }
}

enum FormatWriter {
    Csv(Box<arrow_csv::Writer<Sink>>),
    Jsonl(Box<arrow_json::LineDelimitedWriter<Sink>>),
    Parquet(Box<ArrowWriter<Sink>>),
}

/// Writes record batches atomically: nothing appears at the destination until [`finish`]
/// succeeds, and a writer dropped without `finish` leaves no file behind.
///
/// [`finish`]: TableWriter::finish
pub struct TableWriter {
    path: PathBuf,
    schema: SchemaRef,
    temp: NamedTempFile,
    writer: FormatWriter,
}

impl std::fmt::Debug for TableWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableWriter").field("path", &self.path).finish_non_exhaustive()
    }
}

impl TableWriter {
    /// Starts writing `path` as `format` wrapped in `compression`; every batch must have `schema`.
    pub fn create(
        path: &Path,
        format: TableFormat,
        compression: Compression,
        schema: SchemaRef,
    ) -> Result<Self, TableError> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let io = |e| TableError::io(path, e);
        let temp = tempfile::Builder::new().prefix(".warden-").suffix(".tmp").tempfile_in(dir).map_err(io)?;
        let file = BufWriter::with_capacity(256 * 1024, temp.as_file().try_clone().map_err(io)?);
        let sink = match compression {
            Compression::None => Sink::Plain(file),
            Compression::Gzip => Sink::Gzip(flate2::write::GzEncoder::new(file, flate2::Compression::default())),
            Compression::Zstd => Sink::Zstd(zstd::stream::write::Encoder::new(file, 3).map_err(io)?),
        };
        let writer = match format {
            TableFormat::Csv => FormatWriter::Csv(Box::new(arrow_csv::WriterBuilder::new().with_header(true).build(sink))),
            TableFormat::Jsonl => FormatWriter::Jsonl(Box::new(arrow_json::LineDelimitedWriter::new(sink))),
            TableFormat::Parquet => {
                let props = parquet::file::properties::WriterProperties::builder()
                    .set_compression(parquet::basic::Compression::SNAPPY)
                    .build();
                let w = ArrowWriter::try_new(sink, schema.clone(), Some(props))
                    .map_err(|e| TableError::malformed(path, "parquet", None, e.to_string()))?;
                FormatWriter::Parquet(Box::new(w))
            }
        };
        Ok(Self { path: path.to_owned(), schema, temp, writer })
    }

    /// Appends one batch.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), TableError> {
        if batch.schema().fields() != self.schema.fields() {
            return Err(TableError::Schema {
                path: self.path.clone(),
                message: "batch schema differs from the writer's schema".to_owned(),
            });
        }
        let path = &self.path;
        match &mut self.writer {
            FormatWriter::Csv(w) => w.write(batch).map_err(|e| arrow_error(path, "csv", e)),
            FormatWriter::Jsonl(w) => w.write(batch).map_err(|e| arrow_error(path, "jsonl", e)),
            FormatWriter::Parquet(w) => {
                w.write(batch).map_err(|e| TableError::malformed(path, "parquet", None, e.to_string()))
            }
        }
    }

    /// Flushes everything and renames the temporary file over the destination.
    pub fn finish(self) -> Result<(), TableError> {
        let path = self.path;
        let sink = match self.writer {
            FormatWriter::Csv(w) => w.into_inner(),
            FormatWriter::Jsonl(mut w) => {
                w.finish().map_err(|e| arrow_error(&path, "jsonl", e))?;
                w.into_inner()
            }
            FormatWriter::Parquet(w) => {
                w.into_inner().map_err(|e| TableError::malformed(&path, "parquet", None, e.to_string()))?
            }
        };
        sink.finish().map_err(|e| TableError::io(&path, e))?;
        self.temp.persist(&path).map_err(|e| TableError::io(&path, e.error))?;
        Ok(())
    }
}
