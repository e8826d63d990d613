//! Parquet: read row group by row group, batch by batch, through the `parquet` crate's Arrow
//! reader. Compressed Parquet files (a `.parquet.gz`) are inflated into memory within
//! `max_in_memory_bytes`, since Parquet needs random access.

use std::path::Path;

use arrow_schema::SchemaRef;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::file::reader::ChunkReader;

use crate::{ReadOptions, TableError};

pub(crate) fn build<T: ChunkReader + 'static>(
    path: &Path,
    source: T,
    opts: &ReadOptions,
) -> Result<(SchemaRef, ParquetRecordBatchReader), TableError> {
    let err = |e: parquet::errors::ParquetError| TableError::malformed(path, "parquet", None, e.to_string());
    let builder = ParquetRecordBatchReaderBuilder::try_new(source).map_err(err)?;
    let schema = builder.schema().clone();
    if schema.fields().len() > opts.limits.max_columns {
        return Err(TableError::limit(path, "column count", opts.limits.max_columns as u64));
    }
    let reader = builder.with_batch_size(opts.batch_rows.max(1)).build().map_err(err)?;
    Ok((schema, reader))
}
