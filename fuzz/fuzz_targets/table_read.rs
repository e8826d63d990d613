//! Fuzz target: the dataset readers (CSV, JSONL, Parquet, gzip/zstd-wrapped, sniffed) must
//! never panic, hang or allocate without bound, with or without type inference.
#![no_main]

use warden_table::{ReadOptions, TableLimits, open_bytes};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let limits = TableLimits {
        max_line_bytes: 64 * 1024,
        max_decompressed_bytes: 16 * 1024 * 1024,
        max_in_memory_bytes: 16 * 1024 * 1024,
        ..TableLimits::default()
    };
    for infer_types in [false, true] {
        let opts = ReadOptions { infer_types, batch_rows: 64, limits, ..ReadOptions::default() };
        if let Ok(reader) = open_bytes("fuzz", data.to_vec(), &opts) {
            for batch in reader.take(1000) {
                if batch.is_err() {
                    break;
                }
            }
        }
    }
});
