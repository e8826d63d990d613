//! End-to-end tests of `warden drift`, `warden fairness` and `warden monitor` on generated data.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;
use warden_monitor::traffic::{ClientKind, event_json, generate};

fn warden(dir: &Path, args: &[&str]) -> Output {
    Command::cargo_bin("warden").expect("binary").current_dir(dir).args(args).output().expect("run warden")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A deterministic value in [0, 1) from an index (an integer hash).
fn unit(i: u64, salt: u64) -> f64 {
    let mut z = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ salt.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
}

/// A CSV with a numeric column shifted by `shift`, a categorical column whose mix changes with
/// `mix`, and a stable numeric column.
fn drift_csv(rows: u64, salt: u64, shift: f64, mix: f64) -> String {
    let mut s = String::from("age,city,income\n");
    for i in 0..rows {
        let age = 20.0 + 40.0 * unit(i, salt) + shift;
        let city = if unit(i, salt + 1) < mix { "paris" } else if unit(i, salt + 2) < 0.5 { "lyon" } else { "nice" };
        let income = 1000.0 + 500.0 * unit(i, salt + 3);
        writeln!(s, "{age:.3},{city},{income:.2}").unwrap();
    }
    s
}

#[test]
fn drift_detects_a_shift_and_renders_every_format() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ref.csv"), drift_csv(500, 1, 0.0, 0.3)).unwrap();
    std::fs::write(dir.path().join("cur.csv"), drift_csv(400, 20, 8.0, 0.7)).unwrap();
    let out = warden(dir.path(), &["drift", "ref.csv", "cur.csv", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let cols = doc["columns"].as_array().unwrap();
    let keys: Vec<&str> = cols[0].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 7, "{keys:?}");
    let by = |n: &str| cols.iter().find(|c| c["name"] == n).unwrap().clone();
    assert_eq!(by("age")["test"], "ks");
    assert_eq!(by("age")["drifted"], true);
    assert_eq!(by("city")["test"], "chisquare");
    assert_eq!(by("city")["kind"], "categorical");
    assert_eq!(by("city")["drifted"], true);
    assert_eq!(by("income")["drifted"], false, "{:#}", by("income"));
    assert_eq!(doc["dataset_drift"], true);
    insta::assert_snapshot!("drift_table", stdout(&warden(dir.path(), &["drift", "ref.csv", "cur.csv"])));

    let forced = warden(dir.path(), &["drift", "ref.csv", "cur.csv", "--format", "json", "--test", "wasserstein", "--column", "income"]);
    let doc: Value = serde_json::from_slice(&forced.stdout).unwrap();
    assert_eq!(doc["columns"][0]["test"], "wasserstein");
    assert_eq!(doc["columns"][0]["p_value"], Value::Null);
    let drifted = doc["columns"][0]["statistic"].as_f64().unwrap() >= 0.1;
    assert_eq!(doc["columns"][0]["drifted"], drifted);
    assert_eq!(forced.status.code(), Some(i32::from(drifted)));

    let html = warden(dir.path(), &["drift", "ref.csv", "cur.csv", "--format", "html", "-o", "report.html"]);
    assert_eq!(html.status.code(), Some(1));
    let page = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert_eq!(page.matches("<svg").count(), 3);
    assert!(page.contains("Dataset drift detected") && !page.contains("<script"));
}

#[test]
fn drift_errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.csv"), "x\n1\n2\n").unwrap();
    std::fs::write(dir.path().join("b.csv"), "y\n1\n").unwrap();
    let out = warden(dir.path(), &["drift", "a.csv", "b.csv"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no column in common"));
    let out = warden(dir.path(), &["drift", "a.csv", "missing.csv"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.csv"));
}

fn fairness_csv() -> String {
    let mut s = String::from("y_true,y_pred,group,sex,score\n");
    for i in 0..600u64 {
        let g = ["a", "b", "c"][(i % 3) as usize];
        let sex = if unit(i, 5) < 0.5 { "f" } else { "m" };
        let y = u8::from(unit(i, 6) < 0.4);
        let bias = match g {
            "a" => 0.0,
            "b" => 0.1,
            _ => -0.35,
        };
        let score = (0.3 * f64::from(y) + 0.45 * unit(i, 7) + bias + 0.15).clamp(0.0, 1.0);
        let p = u8::from(score >= 0.5);
        writeln!(s, "{y},{p},{g},{sex},{score:.4}").unwrap();
    }
    s
}

#[test]
fn fairness_reports_metrics_findings_and_weights() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("preds.csv"), fairness_csv()).unwrap();
    let args = ["fairness", "preds.csv", "--y-true", "y_true", "--y-pred", "y_pred", "--sensitive", "group"];
    let out = warden(dir.path(), &[&args[..], &["--format", "json", "--score", "score", "--reweigh-output", "weighted.csv"]].concat());
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    for k in ["demographic_parity_difference", "demographic_parity_ratio", "equalized_odds_difference", "equalized_odds_ratio", "equal_opportunity_difference", "equal_opportunity_ratio"] {
        assert!(doc[k].is_f64(), "{k}");
    }
    assert_eq!(doc["four_fifths_rule_satisfied"], false);
    let findings = doc["findings"].as_array().unwrap();
    assert!(findings.iter().any(|f| f["rule_id"] == "fairness.four-fifths-violation" && f["message"].as_str().unwrap().contains("group c")));
    assert_eq!(doc["threshold_suggestions"].as_array().unwrap().len(), 3);
    let weighted = std::fs::read_to_string(dir.path().join("weighted.csv")).unwrap();
    assert!(weighted.starts_with("y_true,y_pred,group,sex,score,reweighing_weight\n"));
    assert_eq!(weighted.lines().count(), 601);
    insta::assert_snapshot!("fairness_table", stdout(&warden(dir.path(), &[&args[..], &["--sensitive", "sex"]].concat())));
}

#[test]
fn monitor_flags_attackers_from_a_file_and_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let traffic = generate(7, &[(ClientKind::Benign, 10), (ClientKind::Extraction, 1), (ClientKind::AdversarialSearch, 1), (ClientKind::Inversion, 1), (ClientKind::Membership, 1)], 300);
    let mut lines: String = traffic.events.iter().map(|e| event_json(e) + "\n").collect();
    lines.push_str("not json\n");
    std::fs::write(dir.path().join("events.jsonl"), &lines).unwrap();
    let out = warden(dir.path(), &["monitor", "events.jsonl", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid event"));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut flagged: Vec<(String, String)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["location"]["client_id"].as_str().unwrap().to_owned(), f["rule_id"].as_str().unwrap().to_owned()))
        .collect();
    flagged.sort();
    assert!(flagged.iter().all(|(c, _)| !c.starts_with("benign")), "{flagged:?}");
    for who in ["extraction-0", "adversarialsearch-0", "inversion-0", "membership-0"] {
        assert!(flagged.iter().any(|(c, _)| c == who), "{who} not flagged: {flagged:?}");
    }
    let atlas: Vec<&str> = doc["findings"].as_array().unwrap().iter().flat_map(|f| f["atlas"].as_array().unwrap()).filter_map(Value::as_str).collect();
    assert!(atlas.contains(&"AML.T0024.002") && atlas.contains(&"AML.T0043"));
    insta::assert_snapshot!("monitor_flagged_clients", format!("{flagged:#?}"));

    let stdin = Command::cargo_bin("warden").unwrap().current_dir(dir.path()).args(["monitor", "-", "--format", "json"]).write_stdin(lines).output().unwrap();
    let from_stdin: Value = serde_json::from_slice(&stdin.stdout).unwrap();
    assert_eq!(from_stdin["findings"].as_array().unwrap().len(), doc["findings"].as_array().unwrap().len());
}
