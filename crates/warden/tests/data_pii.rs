//! End-to-end tests of `warden data scan` and `warden data anonymize`: the JSON findings contract,
//! tables in CSV/JSONL/Parquet (plain, gzip, zstd), masking, caps, FPE round trips, HMAC joins,
//! format preservation and the k-anonymity report.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;
use warden_data::synth::{TABLE_COLUMNS, csv_field, table_row};
use warden_table::{Compression, ReadOptions, TableFormat, TableWriter};

const KEY: &str = "0123456789abcdef-test-key-material";

fn warden(dir: &Path, args: &[&str]) -> Output {
    Command::cargo_bin("warden").expect("binary").current_dir(dir).env("WARDEN_TEST_KEY", KEY).args(args).output().expect("run warden")
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// Writes `rows` generated rows as CSV and returns its path.
fn people_csv(dir: &Path, name: &str, rows: u64, seed: u64) -> PathBuf {
    let mut text = TABLE_COLUMNS.join(",") + "\n";
    for r in 0..rows {
        let cells: Vec<String> = table_row(seed, r).iter().map(|c| csv_field(c)).collect();
        text.push_str(&cells.join(","));
        text.push('\n');
    }
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write csv");
    path
}

/// Re-writes a table in another format/compression through warden-table.
fn convert(src: &Path, dst: &Path, format: TableFormat, compression: Compression) {
    let reader = warden_table::open(src, &ReadOptions::default()).expect("open");
    let mut writer = TableWriter::create(dst, format, compression, reader.schema()).expect("create");
    for batch in reader {
        writer.write(&batch.expect("batch")).expect("write");
    }
    writer.finish().expect("finish");
}

fn findings(report: &Value) -> &Vec<Value> {
    report["findings"].as_array().expect("findings array")
}

#[test]
fn tables_in_every_format_and_compression_follow_the_json_contract() {
    let dir = tempfile::tempdir().unwrap();
    let csv = people_csv(dir.path(), "people.csv", 30, 5);
    let variants = [
        ("people.csv", TableFormat::Csv, Compression::None, "csv"),
        ("people.csv.gz", TableFormat::Csv, Compression::Gzip, "csv+gzip"),
        ("people.jsonl", TableFormat::Jsonl, Compression::None, "jsonl"),
        ("people.jsonl.zst", TableFormat::Jsonl, Compression::Zstd, "jsonl+zstd"),
        ("people.parquet", TableFormat::Parquet, Compression::None, "parquet"),
        ("people.parquet.gz", TableFormat::Parquet, Compression::Gzip, "parquet+gzip"),
    ];
    let first_email = table_row(5, 0)[2].clone();
    for (name, format, compression, label) in variants {
        if name != "people.csv" {
            convert(&csv, &dir.path().join(name), format, compression);
        }
        let out = warden(dir.path(), &["data", "scan", "--format", "json", "--all-findings", name]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        let report = json_of(&out);
        assert_eq!(report["files"][0]["format"], label, "{name}");
        for f in findings(&report) {
            let rule = f["rule_id"].as_str().unwrap();
            assert!(rule.starts_with("pii."), "{rule}");
            let loc = &f["location"];
            assert_eq!(loc["path"], name);
            assert!(loc["row"].is_u64() && loc["column"].is_string() && loc["line"].is_null(), "{loc}");
            assert!(loc["start"].as_u64().unwrap() < loc["end"].as_u64().unwrap());
        }
        let email_row0 = findings(&report)
            .iter()
            .find(|f| f["rule_id"] == "pii.email" && f["location"]["row"] == 0 && f["location"]["column"] == "email")
            .unwrap_or_else(|| panic!("{name}: no email finding in row 0"));
        assert_eq!(email_row0["location"]["start"], 0);
        assert_eq!(email_row0["location"]["end"], first_email.chars().count() as u64);
        let emails = findings(&report).iter().filter(|f| f["rule_id"] == "pii.email" && f["location"]["column"] == "email").count();
        assert_eq!(emails, 30, "{name}");
        let cards = findings(&report).iter().filter(|f| f["rule_id"] == "pii.credit_card").count();
        assert_eq!(cards, 30, "{name}");
        let columns = report["pii"]["columns"].as_array().unwrap();
        let verdict = |col: &str| columns.iter().find(|c| c["column"] == col).map(|c| c["entity"].clone()).unwrap();
        assert_eq!(verdict("email"), "email");
        assert_eq!(verdict("card_number"), "credit_card");
        assert_eq!(verdict("phone"), "phone_number");
        assert_eq!(verdict("amount"), Value::Null);
    }
}

#[test]
fn text_findings_carry_line_and_character_offsets() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "nothing here\nGrüße — schreib an jane.doe@example.com bitte\n").unwrap();
    let out = warden(dir.path(), &["data", "scan", "--format", "json", "notes.txt"]);
    let report = json_of(&out);
    let f = findings(&report).iter().find(|f| f["rule_id"] == "pii.email").expect("email finding");
    assert_eq!(f["location"]["line"], 2);
    assert!(f["location"]["row"].is_null());
    let line = "Grüße — schreib an jane.doe@example.com bitte";
    let start = line.chars().take_while(|&c| c != 'j').count() as u64;
    assert_eq!(f["location"]["start"], start);
    assert_eq!(f["location"]["end"], start + "jane.doe@example.com".len() as u64);
    assert_eq!(report["files"][0]["format"], "text");
}

#[test]
fn no_output_format_echoes_a_full_secret_or_identifier() {
    let dir = tempfile::tempdir().unwrap();
    let values = [
        "AKIAIOSFODNN7EXAMPLE",
        "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
        "sk_live_4eC39HqLyjWDarjtT1zdp7dc5X",
        "4111 1111 1111 1111",
        "536-22-8726",
        "DE89 3704 0044 0532 0130 00",
        "jane.doe@example.com",
    ];
    let text = format!(
        "aws key {}\ntoken {}\nstripe {}\ncard {}\nSSN {}\nIBAN {}\nmail {}\n",
        values[0], values[1], values[2], values[3], values[4], values[5], values[6]
    );
    std::fs::write(dir.path().join("leak.log"), text).unwrap();
    for format in ["json", "sarif", "table"] {
        let out = warden(dir.path(), &["data", "scan", "--format", format, "leak.log"]);
        assert_eq!(out.status.code(), Some(1));
        let stdout = String::from_utf8_lossy(&out.stdout);
        for v in values {
            assert!(!stdout.contains(v), "{format} output contains `{v}`");
            let compact: String = v.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
            assert!(!stdout.contains(&compact), "{format} output contains `{compact}`");
        }
    }
    let report = json_of(&warden(dir.path(), &["data", "scan", "--format", "json", "leak.log"]));
    let rules: Vec<&str> = findings(&report).iter().map(|f| f["rule_id"].as_str().unwrap()).collect();
    for rule in ["pii.secret", "pii.credit_card", "pii.us_ssn", "pii.iban", "pii.email"] {
        assert!(rules.contains(&rule), "{rule} missing in {rules:?}");
    }
}

#[test]
fn findings_are_capped_per_column_but_counts_stay_exact() {
    let dir = tempfile::tempdir().unwrap();
    people_csv(dir.path(), "big.csv", 120, 9);
    let report = json_of(&warden(dir.path(), &["data", "scan", "--format", "json", "--max-findings", "7", "big.csv"]));
    let emails = findings(&report).iter().filter(|f| f["rule_id"] == "pii.email").count();
    assert_eq!(emails, 7);
    let count = report["pii"]["counts"].as_array().unwrap().iter().find(|c| c["column"] == "email" && c["entity"] == "email").unwrap().clone();
    assert_eq!((count["matches"].as_u64(), count["reported"].as_u64()), (Some(120), Some(7)));
    assert!(report["pii"]["findings_capped"].as_u64().unwrap() > 0);
    let sampled = json_of(&warden(dir.path(), &["data", "scan", "--format", "json", "--sample-rows", "10", "--entities", "email", "big.csv"]));
    assert_eq!(sampled["pii"]["records_scanned"], 10);
    assert!(findings(&sampled).iter().all(|f| f["rule_id"] == "pii.email"));
    assert_eq!(sampled["pii"]["columns"][2]["sampled"], true);
}

const CONFIG: &str = r#"
[key]
env = "WARDEN_TEST_KEY"

[entities]
phone_number = { op = "mask", keep_last = 2 }
default = { op = "replace" }

[columns]
email = { op = "pseudonymize", prefix = "u_" }
card_number = { op = "fpe" }
dob = { op = "generalize", to = "year" }
amount = { op = "keep" }
id = { op = "keep" }
full_name = { op = "replace", with = "<NAME>" }
phone = { op = "drop" }
"#;

fn read_rows(path: &Path) -> (TableFormat, Compression, Vec<String>, Vec<Vec<Option<String>>>) {
    let reader = warden_table::open(path, &ReadOptions::default()).expect("open output");
    let (format, compression) = (reader.format(), reader.compression());
    let names: Vec<String> = reader.schema().fields().iter().map(|f| f.name().clone()).collect();
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        let cols: Vec<_> = batch.columns().iter().map(|c| warden_table::column_as_strings(c.as_ref()).unwrap()).collect();
        for r in 0..batch.num_rows() {
            rows.push(cols.iter().map(|c| (!arrow_is_null(c, r)).then(|| c.value(r).to_owned())).collect());
        }
    }
    (format, compression, names, rows)
}

fn arrow_is_null(a: &arrow_array::StringArray, r: usize) -> bool {
    use arrow_array::Array;
    a.is_null(r)
}

#[test]
fn fpe_round_trips_and_pseudonyms_join_across_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("anon.toml"), CONFIG).unwrap();
    let a = people_csv(dir.path(), "a.csv", 40, 3);
    // b.csv: the same people, other rows' content, in gzip Parquet.
    people_csv(dir.path(), "b_src.csv", 40, 3);
    convert(&dir.path().join("b_src.csv"), &dir.path().join("b.parquet"), TableFormat::Parquet, Compression::None);
    for (input, output) in [("a.csv", "a.anon.csv"), ("b.parquet", "b.anon.parquet")] {
        let out = warden(dir.path(), &["data", "anonymize", input, "-o", output, "--config", "anon.toml", "--format", "json"]);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let summary = json_of(&out);
        assert_eq!(summary["rows"], 40);
    }
    let (_, _, names_in, rows_in) = read_rows(&a);
    let (fa, ca, names_a, rows_a) = read_rows(&dir.path().join("a.anon.csv"));
    let (fb, _, names_b, rows_b) = read_rows(&dir.path().join("b.anon.parquet"));
    assert_eq!((fa, ca, fb), (TableFormat::Csv, Compression::None, TableFormat::Parquet));
    assert!(!names_a.contains(&"phone".to_owned()) && names_a == names_b);
    let col = |names: &[String], n: &str| names.iter().position(|x| x == n).unwrap();
    for (r, row) in rows_a.iter().enumerate() {
        let original = &rows_in[r];
        let email = row[col(&names_a, "email")].clone().unwrap();
        assert!(email.starts_with("u_") && email != original[col(&names_in, "email")].clone().unwrap());
        assert_eq!(Some(&email), rows_b[r][col(&names_b, "email")].as_ref(), "pseudonyms must join across files");
        let card_in = original[col(&names_in, "card_number")].clone().unwrap();
        let card_out = row[col(&names_a, "card_number")].clone().unwrap();
        assert_ne!(card_in, card_out);
        assert_eq!(card_in.len(), card_out.len());
        assert_eq!(card_in.replace(char::is_numeric, "9"), card_out.replace(char::is_numeric, "9"), "format kept");
        assert_eq!(row[col(&names_a, "dob")].as_deref().map(str::len), Some(4));
        assert_eq!(row[col(&names_a, "full_name")].as_deref(), Some("<NAME>"));
        assert_eq!(row[col(&names_a, "id")], original[col(&names_in, "id")]);
        let notes = row[col(&names_a, "notes")].clone().unwrap_or_default();
        if notes.starts_with("called from") {
            assert!(notes.contains("**"), "the phone number in notes must be masked: {notes}");
        }
    }
    let out = warden(dir.path(), &["data", "anonymize", "a.anon.csv", "-o", "a.back.csv", "--config", "anon.toml", "--reverse"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let (_, _, names_back, rows_back) = read_rows(&dir.path().join("a.back.csv"));
    for (r, row) in rows_back.iter().enumerate() {
        assert_eq!(row[col(&names_back, "card_number")], rows_in[r][col(&names_in, "card_number")], "FPE round trip, row {r}");
    }
    // A wrong key does not decrypt.
    let out = Command::cargo_bin("warden")
        .unwrap()
        .current_dir(dir.path())
        .env("WARDEN_TEST_KEY", "another-key-of-sufficient-length")
        .args(["data", "anonymize", "a.anon.csv", "-o", "a.wrong.csv", "--config", "anon.toml", "--reverse"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let (_, _, _, rows_wrong) = read_rows(&dir.path().join("a.wrong.csv"));
    assert_ne!(rows_wrong[0][col(&names_back, "card_number")], rows_in[0][col(&names_in, "card_number")]);
}

#[test]
fn anonymize_keeps_compression_and_reports_k_anonymity() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("anon.toml"), CONFIG).unwrap();
    let src = people_csv(dir.path(), "src.csv", 60, 4);
    convert(&src, &dir.path().join("in.jsonl.gz"), TableFormat::Jsonl, Compression::Gzip);
    let out = warden(
        dir.path(),
        &["data", "anonymize", "in.jsonl.gz", "-o", "out.jsonl.gz", "--config", "anon.toml", "--format", "json", "--quasi-identifiers", "city,dob", "--sensitive", "amount", "--k", "2"],
    );
    let summary = json_of(&out);
    let k = &summary["k_anonymity"];
    assert!(k["k"].as_u64().unwrap() >= 1 && k["equivalence_classes"].as_u64().unwrap() > 1);
    assert_eq!(out.status.code(), Some(if k["k"].as_u64().unwrap() < 2 { 1 } else { 0 }));
    assert_eq!(k["l"], 1, "amounts are unique per row, so some class has one value");
    let (format, compression, _, rows) = read_rows(&dir.path().join("out.jsonl.gz"));
    assert_eq!((format, compression, rows.len()), (TableFormat::Jsonl, Compression::Gzip, 60));
    assert!(!std::fs::read_to_string(dir.path().join("src.csv")).unwrap().is_empty(), "input untouched");
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.parquet"), b"PAR1 this is not parquet").unwrap();
    let out = warden(dir.path(), &["data", "scan", "--format", "json", "bad.parquet"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json_of(&out)["files"][0]["status"], "error");
    std::fs::write(dir.path().join("bad.toml"), "[columns]\nx = { op = \"shred\" }\n").unwrap();
    people_csv(dir.path(), "t.csv", 2, 1);
    let out = warden(dir.path(), &["data", "anonymize", "t.csv", "-o", "o.csv", "--config", "bad.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("warden: error"));
    assert!(!dir.path().join("o.csv").exists());
    let out = warden(dir.path(), &["data", "scan", "--threshold", "1.5", "t.csv"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn scan_json_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("sample.txt"),
        "Contact Maria Garcia at maria.garcia@example.com or +44 7911 123456.\nversion 1.2.3.4, order ORD-2024-118842\nIBAN GB82WEST12345698765432, SSN 536-22-8726\n",
    )
    .unwrap();
    let out = warden(dir.path(), &["data", "scan", "--format", "json", "sample.txt"]);
    insta::assert_snapshot!("data_scan_text_json", String::from_utf8_lossy(&out.stdout));
}
