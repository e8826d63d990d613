//! Bounded, streaming readers and atomic writers for tabular datasets (CSV, JSONL, Parquet,
//! optionally gzip- or zstd-compressed), yielding Arrow [`RecordBatch`]es.
//!
//! The format and compression are sniffed from content, never from the file name. Memory is
//! bounded by `batch_rows` x row width: CSV and JSONL are streamed, Parquet is read batch by
//! batch. Hostile input (huge lines, ragged rows, invalid UTF-8, decompression bombs, corrupt
//! Parquet) gives a [`TableError`], never a panic.
//!
//! This crate knows nothing about findings, PII or statistics: it only moves rows.
//!
//! ```no_run
//! use warden_table::{open, ReadOptions};
//! let reader = open(std::path::Path::new("data.csv.gz"), &ReadOptions::default())?;
//! for batch in reader {
//!     let batch = batch?;
//!     println!("{} rows", batch.num_rows());
//! }
//! # Ok::<(), warden_table::TableError>(())
//! ```

mod csv;
mod decompress;
mod error;
mod jsonl;
mod pq;
mod reader;
mod sniff;
mod utf8;
mod writer;

pub use arrow_array::RecordBatch;
pub use arrow_schema::SchemaRef;
pub use decompress::open_decompressed;
pub use error::TableError;
pub use reader::{TableReader, open, open_bytes, read_all};
pub use sniff::{Compression, TableFormat};
pub use utf8::column_as_strings;
pub use writer::TableWriter;

/// Bounds applied while reading untrusted datasets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableLimits {
    /// Most columns a table may have.
    pub max_columns: usize,
    /// Longest line (CSV/JSONL) in bytes, and so the largest field.
    pub max_line_bytes: usize,
    /// Most data rows; more is an error (never a silent truncation). `None`: unlimited.
    pub max_rows: Option<u64>,
    /// Most bytes produced by decompression (a decompression-bomb guard).
    pub max_decompressed_bytes: u64,
    /// Largest compressed Parquet file, which must be held in memory to be read.
    pub max_in_memory_bytes: u64,
}

impl Default for TableLimits {
    fn default() -> Self {
        Self {
            max_columns: 10_000,
            max_line_bytes: 16 * 1024 * 1024,
            max_rows: None,
            max_decompressed_bytes: 256 * 1024 * 1024 * 1024,
            max_in_memory_bytes: 2 * 1024 * 1024 * 1024,
        }
    }
}

/// How to read a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOptions {
    /// Force a format instead of sniffing it.
    pub format: Option<TableFormat>,
    /// Rows per record batch (default 8192).
    pub batch_rows: usize,
    /// `false`: every column is `Utf8` (what PII scanning wants); `true`: `Int64`, `Float64`,
    /// `Boolean` or `Utf8` inferred from a sample (Parquet keeps its own schema).
    pub infer_types: bool,
    /// Rows sampled for type inference and JSONL column discovery (default 1000).
    pub infer_rows: usize,
    /// Bounds for untrusted input.
    pub limits: TableLimits,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self {
            format: None,
            batch_rows: 8192,
            infer_types: false,
            infer_rows: 1000,
            limits: TableLimits::default(),
        }
    }
}
