//! Reading and writing tables end to end: sniffing, type inference, compression, limits,
//! hostile input and atomic writers.

use std::io::Write;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use proptest::prelude::*;
use warden_table::{
    Compression, ReadOptions, TableError, TableFormat, TableLimits, TableWriter, open, open_bytes, read_all,
};

const CSV: &str = "id,score,name,flag\n1,0.5,alice,true\n2,1.5,bob,false\n3,,carol,true\n";

fn infer() -> ReadOptions {
    ReadOptions { infer_types: true, ..ReadOptions::default() }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}

#[test]
fn csv_types_are_inferred_when_asked() {
    let r = open_bytes("t.csv", CSV.as_bytes().to_vec(), &infer()).unwrap();
    assert_eq!(r.format(), TableFormat::Csv);
    assert_eq!(r.compression(), Compression::None);
    let schema = r.schema();
    let types: Vec<_> = schema.fields().iter().map(|f| f.data_type().clone()).collect();
    assert_eq!(types, [DataType::Int64, DataType::Float64, DataType::Utf8, DataType::Boolean]);
    let batches: Vec<_> = r.collect::<Result<_, _>>().unwrap();
    assert_eq!(rows(&batches), 3);
    let score = batches[0].column(1).as_primitive::<Float64Type>();
    assert_eq!(score.value(1), 1.5);
    assert!(score.is_null(2));
    assert_eq!(batches[0].column(0).as_primitive::<Int64Type>().value(2), 3);
}

#[test]
fn csv_is_all_strings_by_default_and_honours_other_delimiters() {
    let data = CSV.replace(',', ";");
    let r = open_bytes("t", data.into_bytes(), &ReadOptions::default()).unwrap();
    assert!(r.schema().fields().iter().all(|f| f.data_type() == &DataType::Utf8));
    let batches: Vec<_> = r.collect::<Result<_, _>>().unwrap();
    assert_eq!(batches[0].column(2).as_string::<i32>().value(1), "bob");
    assert_eq!(batches[0].column(0).as_string::<i32>().value(0), "1");
}

#[test]
fn gzip_and_zstd_are_sniffed_and_batches_respect_batch_rows() {
    let mut big = String::from("a,b\n");
    for i in 0..10_000 {
        big.push_str(&format!("{i},{}\n", i * 2));
    }
    let opts = ReadOptions { batch_rows: 1000, ..infer() };
    for (bytes, c) in [
        (gzip(big.as_bytes()), Compression::Gzip),
        (zstd::encode_all(big.as_bytes(), 1).unwrap(), Compression::Zstd),
    ] {
        let r = open_bytes("x", bytes, &opts).unwrap();
        assert_eq!(r.compression(), c);
        let batches: Vec<_> = r.collect::<Result<_, _>>().unwrap();
        assert_eq!(rows(&batches), 10_000);
        assert!(batches.iter().all(|b| b.num_rows() <= 1000));
        let last = batches.last().unwrap();
        assert_eq!(last.column(1).as_primitive::<Int64Type>().value(last.num_rows() - 1), 19_998);
    }
}

#[test]
fn jsonl_columns_types_and_nested_values() {
    let data = "{\"a\":1,\"b\":\"x\",\"c\":[1,2]}\n\n{\"a\":2.5,\"d\":true}\n{\"b\":null,\"a\":3}\n";
    let r = open_bytes("j", data.as_bytes().to_vec(), &infer()).unwrap();
    assert_eq!(r.format(), TableFormat::Jsonl);
    let s = r.schema();
    let names: Vec<_> = s.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["a", "b", "c", "d"]);
    assert_eq!(s.field(0).data_type(), &DataType::Float64);
    assert_eq!(s.field(3).data_type(), &DataType::Boolean);
    let b = &r.collect::<Result<Vec<_>, _>>().unwrap()[0];
    assert_eq!(b.num_rows(), 3);
    assert_eq!(b.column(0).as_primitive::<Float64Type>().value(2), 3.0);
    assert_eq!(b.column(2).as_string::<i32>().value(0), "[1,2]");
    assert!(b.column(1).is_null(2));
    assert!(b.column(3).is_null(0));
}

#[test]
fn jsonl_type_conflict_after_the_sample_names_the_line() {
    let mut data = String::new();
    for i in 0..5 {
        data.push_str(&format!("{{\"a\":{i}}}\n"));
    }
    data.push_str("{\"a\":\"oops\"}\n");
    let opts = ReadOptions { infer_rows: 5, ..infer() };
    let err = open_bytes("j", data.into_bytes(), &opts).unwrap().collect::<Result<Vec<_>, _>>().unwrap_err();
    match err {
        TableError::Malformed { line: Some(6), .. } => {}
        other => panic!("unexpected {other:?}"),
    }
}

fn sample_batch() -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("x", DataType::Int64, true),
        Field::new("y", DataType::Float64, true),
        Field::new("s", DataType::Utf8, true),
    ]));
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(vec![Some(1), None, Some(3)])),
        Arc::new(Float64Array::from(vec![0.25, -1.0, 2.5])),
        Arc::new(StringArray::from(vec![Some("a,b"), Some("c\"d"), None])),
    ];
    RecordBatch::try_new(schema, cols).unwrap()
}

#[test]
fn writers_round_trip_every_format_and_compression() {
    let dir = tempfile::tempdir().unwrap();
    let batch = sample_batch();
    for format in [TableFormat::Csv, TableFormat::Jsonl, TableFormat::Parquet] {
        for compression in [Compression::None, Compression::Gzip, Compression::Zstd] {
            let path = dir.path().join(format!("out-{format}-{compression:?}"));
            let mut w = TableWriter::create(&path, format, compression, batch.schema()).unwrap();
            w.write(&batch).unwrap();
            w.finish().unwrap();
            let r = open(&path, &infer()).unwrap();
            assert_eq!((r.format(), r.compression()), (format, compression));
            let (_, batches) = read_all(&path, &infer()).unwrap();
            let b = &batches[0];
            assert_eq!(b.num_rows(), 3, "{format} {compression:?}");
            assert_eq!(b.schema().field(1).data_type(), &DataType::Float64, "{format} {compression:?}");
            assert_eq!(b.column(1).as_primitive::<Float64Type>().value(2), 2.5);
            assert!(b.column(0).is_null(1));
            let s = b.column(2).as_string::<i32>();
            assert_eq!((s.value(0), s.value(1)), ("a,b", "c\"d"));
        }
    }
    // Only the outputs remain: no temporary files.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 9);
}

#[test]
fn parquet_reads_as_strings_without_inference() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p");
    let mut w = TableWriter::create(&path, TableFormat::Parquet, Compression::None, sample_batch().schema()).unwrap();
    w.write(&sample_batch()).unwrap();
    w.finish().unwrap();
    let (schema, batches) = read_all(&path, &ReadOptions::default()).unwrap();
    assert!(schema.fields().iter().all(|f| f.data_type() == &DataType::Utf8));
    assert_eq!(batches[0].column(1).as_string::<i32>().value(0), "0.25");
}

#[test]
fn unfinished_writer_leaves_nothing_and_keeps_the_old_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keep.csv");
    std::fs::write(&path, "old").unwrap();
    let mut w = TableWriter::create(&path, TableFormat::Csv, Compression::None, sample_batch().schema()).unwrap();
    w.write(&sample_batch()).unwrap();
    drop(w);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn hostile_input_gives_errors() {
    let ragged = b"a,b\n1,2\n3\n".to_vec();
    assert!(open_bytes("r", ragged, &infer()).and_then(|r| r.collect::<Result<Vec<_>, _>>()).is_err());
    let bad_utf8 = b"a,b\n1,\xff\xfe\n".to_vec();
    assert!(
        open_bytes("u", bad_utf8, &ReadOptions::default())
            .and_then(|r| r.collect::<Result<Vec<_>, _>>())
            .is_err()
    );
    let mut long = b"a,b\n".to_vec();
    long.extend(std::iter::repeat_n(b'x', 5000));
    long.extend(b",1\n");
    let limits = TableLimits { max_line_bytes: 1000, ..TableLimits::default() };
    let err = open_bytes("l", long, &ReadOptions { limits, ..infer() })
        .and_then(|r| r.collect::<Result<Vec<_>, _>>())
        .unwrap_err();
    assert!(matches!(err, TableError::Limit { what: "line length", .. }), "{err}");
    let wide = format!("{}\n", (0..50).map(|i| format!("c{i}")).collect::<Vec<_>>().join(","));
    let limits = TableLimits { max_columns: 10, ..TableLimits::default() };
    assert!(matches!(
        open_bytes("w", wide.into_bytes(), &ReadOptions { limits, ..infer() }),
        Err(TableError::Limit { what: "column count", .. })
    ));
    let limits = TableLimits { max_rows: Some(2), ..TableLimits::default() };
    let err = open_bytes("m", CSV.as_bytes().to_vec(), &ReadOptions { limits, batch_rows: 1, ..infer() })
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap_err();
    assert!(matches!(err, TableError::Limit { what: "row count", .. }));
    let corrupt = b"PAR1 this is not parquet PAR1".to_vec();
    assert!(matches!(open_bytes("p", corrupt, &infer()), Err(TableError::Malformed { .. })));
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600), infer_types: bool) {
        let opts = ReadOptions { infer_types, batch_rows: 3, ..ReadOptions::default() };
        if let Ok(r) = open_bytes("fuzz", bytes, &opts) {
            for b in r { let _ = b; }
        }
    }

    #[test]
    fn csv_of_integers_round_trips(values in proptest::collection::vec(any::<i64>(), 1..50)) {
        let mut data = String::from("v\n");
        for v in &values { data.push_str(&format!("{v}\n")); }
        let r = open_bytes("p", data.into_bytes(), &infer()).unwrap();
        let got: Vec<i64> = r.flat_map(|b| b.unwrap().column(0).as_primitive::<Int64Type>().values().to_vec()).collect();
        prop_assert_eq!(got, values);
    }
}
