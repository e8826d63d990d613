//! Streaming readers for datasets (CSV, JSONL, Parquet, plain text; gzip/zstd) yielding Arrow
//! record batches in bounded memory. (Being built; see issue 4.)
