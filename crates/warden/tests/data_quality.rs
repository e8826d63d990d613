//! End-to-end tests of `warden data profile`, `warden data validate` and `warden data poison`:
//! exit codes, rule ids, example rows, profiles reused as expectations, and poisoned tables from
//! the deterministic generator in `warden_data::poison::synthetic`.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;
use warden_data::poison::synthetic::{GenSettings, generate};

fn warden(dir: &Path, args: &[&str]) -> Output {
    Command::cargo_bin("warden").expect("binary").current_dir(dir).args(args).output().expect("run warden")
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

fn rule_ids(report: &Value) -> BTreeSet<String> {
    report["findings"].as_array().unwrap().iter().map(|f| f["rule_id"].as_str().unwrap().to_owned()).collect()
}

/// A clean customer table: unique ids, integer ages, a code with one shape, a small category set.
fn customers(rows: usize) -> String {
    let mut out = String::from("id,age,code,color,score\n");
    for i in 0..rows {
        let color = ["red", "green", "blue"][i % 3];
        let score = if i % 10 == 0 { String::new() } else { format!("{:.2}", (i * 37 % 100) as f64 / 10.0) };
        out.push_str(&format!("c{i:04},{},AB-{},{color},{score}\n", 18 + i * 7 % 60, 100 + i));
    }
    out
}

#[test]
fn a_saved_profile_validates_its_own_data_and_catches_a_broken_batch() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("good.csv"), customers(300)).unwrap();
    let out = warden(dir.path(), &["data", "profile", "good.csv", "-o", "profile.toml"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let profile = std::fs::read_to_string(dir.path().join("profile.toml")).unwrap();
    assert!(profile.contains("[columns.age]") && profile.contains("[[profile.columns]]"), "{profile}");

    let out = warden(dir.path(), &["data", "validate", "good.csv", "--expectations", "profile.toml", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(json_of(&out)["findings"].as_array().unwrap().is_empty());

    // A broken batch: an age far out of range, an unknown color, a repeated id, a bad code,
    // a text score, and an extra column.
    let mut bad = customers(300).replace("id,age,code,color,score", "id,age,code,color,score,leak");
    bad = bad.lines().map(|l| format!("{l},x\n")).collect::<String>().replacen(",x\n", "\n", 1);
    let bad = bad
        .replacen("c0005,53,", "c0005,999,", 1)
        .replacen("c0007,67,AB-107,green", "c0007,67,AB-107,purple", 1)
        .replacen("c0009,", "c0008,", 1)
        .replacen("AB-111", "ab_111", 1)
        .replacen(",AB-112,red,4.40", ",AB-112,red,high", 1);
    std::fs::write(dir.path().join("bad.csv"), bad).unwrap();
    let out = warden(dir.path(), &["data", "validate", "bad.csv", "-e", "profile.toml", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let report = json_of(&out);
    let ids = rule_ids(&report);
    for want in [
        "data.validation.range",
        "data.validation.allowed-values",
        "data.validation.unique",
        "data.validation.regex",
        "data.validation.type",
        "data.validation.extra-column",
    ] {
        assert!(ids.contains(want), "{want} not in {ids:?}");
    }
    let range = report["findings"].as_array().unwrap().iter().find(|f| f["rule_id"] == "data.validation.range").unwrap();
    assert_eq!(range["location"]["row"], 5);
    assert_eq!(range["location"]["column"], "age");
}

#[test]
fn validation_report_names_rows_and_columns() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("t.csv"),
        "id,age,email\n1,34,a@example.org\n2,-3,b@example.org\n2,41,not-an-email\n4,,d@example.org\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("expect.toml"),
        "[table]\nmin_rows = 10\n\n[columns.id]\ntype = \"integer\"\nunique = true\n\n[columns.age]\ntype = \"integer\"\nmin = 0\nmax = 120\nnullable = false\n\n[columns.email]\nregex = '[^@\\s]+@[^@\\s]+\\.[a-z]+'\n\n[columns.country]\n",
    )
    .unwrap();
    let out = warden(dir.path(), &["data", "validate", "t.csv", "--expectations", "expect.toml", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let report = json_of(&out);
    insta::assert_json_snapshot!("validation_report", report);
}

#[test]
fn bad_expectations_and_missing_data_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.csv"), "a\n1\n").unwrap();
    std::fs::write(dir.path().join("bad.toml"), "[columns.a]\nmin = 5\nmax = 1\n").unwrap();
    std::fs::write(dir.path().join("re.toml"), "[columns.a]\nregex = '('\n").unwrap();
    for (data, exp, needle) in
        [("t.csv", "bad.toml", "min 5 is above max 1"), ("t.csv", "re.toml", "bad regex"), ("nope.csv", "bad.toml", "")]
    {
        let out = warden(dir.path(), &["data", "validate", data, "--expectations", exp]);
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(needle) && !stderr.contains("panicked"), "{stderr}");
    }
}

fn poisoned_csv(dir: &Path, rows: usize) -> warden_data::poison::synthetic::PoisonedTable {
    let table = generate(GenSettings { rows, seed: 7, ..GenSettings::default() });
    std::fs::write(dir.join("train.csv"), table.to_csv()).unwrap();
    table
}

fn flagged(dir: &Path, file: &str) -> BTreeSet<(String, usize)> {
    std::fs::read_to_string(dir.join(file))
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["rule"].as_str().unwrap().to_owned(), v["row"].as_u64().unwrap() as usize)
        })
        .collect()
}

#[test]
fn poison_finds_every_injected_kind_with_atlas_ids() {
    let dir = tempfile::tempdir().unwrap();
    let truth = poisoned_csv(dir.path(), 2000);
    let out = warden(
        dir.path(),
        &["data", "poison", "train.csv", "--label", "label", "--id", "id", "--format", "json", "--flagged", "rows.jsonl"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let report = json_of(&out);
    let ids = rule_ids(&report);
    for want in [
        "data.poison.label-issue",
        "data.poison.outlier",
        "data.poison.duplicate",
        "data.poison.conflicting-duplicate",
        "data.poison.backdoor-trigger",
    ] {
        assert!(ids.contains(want), "{want} not in {ids:?}");
    }
    for f in report["findings"].as_array().unwrap() {
        assert_eq!(f["atlas"], serde_json::json!(["AML.T0020"]));
        assert!(f["evidence"].as_str().unwrap().contains("method:"), "{f:#}");
    }
    let triggers: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == "data.poison.backdoor-trigger")
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(triggers.iter().any(|m| m.contains("channel = kiosk")), "{triggers:?}");
    assert!(triggers.iter().any(|m| m.contains("channel = app and region = north")), "{triggers:?}");
    // Every backdoor row is flagged by the trigger rule, and nothing else is.
    let flagged = flagged(dir.path(), "rows.jsonl");
    let backdoor: BTreeSet<usize> =
        flagged.iter().filter(|(r, _)| r == "data.poison.backdoor-trigger").map(|(_, row)| *row).collect();
    let want: BTreeSet<usize> = truth.rows_of(&["backdoor-single", "backdoor-pair"], false).into_iter().collect();
    assert_eq!(backdoor, want);
}

#[test]
fn poison_gives_the_same_rows_for_csv_and_jsonl() {
    let dir = tempfile::tempdir().unwrap();
    let table = poisoned_csv(dir.path(), 600);
    let csv = table.to_csv();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let mut jsonl = String::new();
    for line in lines {
        let obj: serde_json::Map<String, Value> = header
            .iter()
            .zip(line.split(','))
            .map(|(k, v)| {
                let value = v.parse::<f64>().map_or_else(|_| Value::String(v.to_owned()), |n| serde_json::json!(n));
                ((*k).to_owned(), value)
            })
            .collect();
        jsonl.push_str(&serde_json::to_string(&obj).unwrap());
        jsonl.push('\n');
    }
    std::fs::write(dir.path().join("train.data"), jsonl).unwrap();
    for (input, rows) in [("train.csv", "a.jsonl"), ("train.data", "b.jsonl")] {
        let out = warden(dir.path(), &["data", "poison", input, "--label", "label", "--fail-on", "never", "--flagged", rows]);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let a = flagged(dir.path(), "a.jsonl");
    assert!(!a.is_empty());
    assert_eq!(a, flagged(dir.path(), "b.jsonl"));
}

#[test]
fn poison_rejects_a_missing_label_column() {
    let dir = tempfile::tempdir().unwrap();
    poisoned_csv(dir.path(), 50);
    let out = warden(dir.path(), &["data", "poison", "train.csv", "--label", "target"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no label column `target`") && !stderr.contains("panicked"), "{stderr}");
}
