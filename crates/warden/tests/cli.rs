//! End-to-end tests of the `warden` binary: exit codes, output formats and their contracts.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

/// Protocol-0 pickle that calls `os.system("id")` when loaded.
const EVIL_PICKLE: &[u8] = b"cos\nsystem\n(S'id'\ntR.";
/// Protocol-2 pickle of `{"a": 1}`: benign.
const BENIGN_PICKLE: &[u8] = b"\x80\x02}q\x00X\x01\x00\x00\x00aq\x01K\x01s.";

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new(files: &[(&str, &[u8])]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, bytes) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, bytes).expect("write fixture");
        }
        Fixture { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn warden(&self, args: &[&str]) -> Output {
        Command::cargo_bin("warden").expect("binary").current_dir(self.dir.path()).args(args).output().expect("run warden")
    }
}

fn json_of(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", String::from_utf8_lossy(&output.stdout)))
}

#[test]
fn malicious_pickle_exits_1_and_names_the_callable() {
    let fx = Fixture::new(&[("model.txt", EVIL_PICKLE)]);
    let out = fx.warden(&["scan", "--format", "json", "model.txt"]);
    assert_eq!(out.status.code(), Some(1), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let report = json_of(&out);
    assert_eq!(report["files"][0]["format"], "pickle");
    assert_eq!(report["files"][0]["status"], "scanned");
    let critical: Vec<&Value> = report["findings"].as_array().unwrap().iter().filter(|f| f["severity"] == "critical").collect();
    assert!(!critical.is_empty(), "no critical finding: {report:#}");
    assert!(critical.iter().any(|f| f["message"].as_str().unwrap().contains("os.system") || f["message"].as_str().unwrap().contains("posix.system")));
}

#[test]
fn benign_pickle_exits_0() {
    let fx = Fixture::new(&[("weights.pkl", BENIGN_PICKLE)]);
    let out = fx.warden(&["scan", "--format", "json", "weights.pkl"]);
    assert_eq!(out.status.code(), Some(0), "stdout: {}", String::from_utf8_lossy(&out.stdout));
    let report = json_of(&out);
    assert!(report["findings"].as_array().unwrap().iter().all(|f| f["severity"] == "info" || f["severity"] == "low"));
}

#[test]
fn fail_on_threshold_controls_exit_code() {
    let fx = Fixture::new(&[("a.pkl", EVIL_PICKLE)]);
    assert_eq!(fx.warden(&["scan", "a.pkl", "--fail-on", "never"]).status.code(), Some(0));
    assert_eq!(fx.warden(&["scan", "a.pkl", "--fail-on", "critical"]).status.code(), Some(1));
    let unknown = Fixture::new(&[("b.bin", b"just some text, not a model\n")]);
    assert_eq!(unknown.warden(&["scan", "b.bin", "--fail-on", "low"]).status.code(), Some(0));
    assert_eq!(unknown.warden(&["scan", "b.bin", "--fail-on", "info"]).status.code(), Some(1));
}

#[test]
fn missing_path_and_bad_arguments_exit_2() {
    let fx = Fixture::new(&[]);
    let out = fx.warden(&["scan", "does-not-exist.pt"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("does-not-exist.pt") && !stderr.contains("panicked"), "{stderr}");
    assert_eq!(fx.warden(&["scan", "--jobs", "0", "."]).status.code(), Some(2));
    assert_eq!(fx.warden(&["scan", "--format", "xml", "."]).status.code(), Some(2));
    assert_eq!(fx.warden(&["scan"]).status.code(), Some(2));
}

#[test]
fn help_documents_exit_codes() {
    let fx = Fixture::new(&[]);
    let out = fx.warden(&["scan", "--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    for line in ["0  success", "1  findings at or above --fail-on", "2  error"] {
        assert!(help.contains(line), "help lacks `{line}`:\n{help}");
    }
}

#[test]
fn directories_are_walked_recursively_and_sorted() {
    let fx = Fixture::new(&[("m/b/evil.bin", EVIL_PICKLE), ("m/a/ok.pkl", BENIGN_PICKLE), ("m/c/notes.md", b"# notes\n")]);
    let out = fx.warden(&["scan", "--format", "json", "--jobs", "2", "m"]);
    assert_eq!(out.status.code(), Some(1));
    let report = json_of(&out);
    let paths: Vec<&str> = report["files"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(paths, vec!["m/a/ok.pkl", "m/b/evil.bin", "m/c/notes.md"]);
    assert_eq!(report["files"][2]["status"], "skipped");
}

#[test]
fn json_report_matches_the_documented_contract() {
    let fx = Fixture::new(&[("evil.pkl", EVIL_PICKLE)]);
    let report = json_of(&fx.warden(&["scan", "--format", "json", "evil.pkl"]));
    assert_eq!(report["version"], 1);
    for finding in report["findings"].as_array().unwrap() {
        for key in ["rule_id", "severity", "title", "message", "location", "atlas", "remediation"] {
            assert!(finding.get(key).is_some(), "finding lacks `{key}`: {finding:#}");
        }
        for key in ["path", "member", "offset"] {
            assert!(finding["location"].get(key).is_some(), "location lacks `{key}`: {finding:#}");
        }
        assert!(["info", "low", "medium", "high", "critical"].contains(&finding["severity"].as_str().unwrap()));
    }
    insta::assert_json_snapshot!("evil_pickle_report", report);
}

#[test]
fn sarif_output_validates_against_the_oasis_schema() {
    let schema_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/sarif/sarif-schema-2.1.0.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&schema_path).unwrap_or_else(|e| {
        panic!("the SARIF schema is read from ../shared (beside the repo): {}: {e}", schema_path.display())
    }))
    .expect("schema JSON");
    let validator = jsonschema::options().with_draft(jsonschema::Draft::Draft4).build(&schema).expect("schema compiles");
    let fx = Fixture::new(&[("evil.pkl", EVIL_PICKLE), ("dir/ok.pkl", BENIGN_PICKLE), ("dir/readme.txt", b"hello\n")]);
    let out = fx.warden(&["scan", "--format", "sarif", "evil.pkl", "dir"]);
    let sarif = json_of(&out);
    let errors: Vec<String> = validator.iter_errors(&sarif).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "SARIF does not validate:\n{}", errors.join("\n"));
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(results.iter().any(|r| r["level"] == "error"), "{sarif:#}");
    // GitHub code scanning needs every result's rule described in tool.driver.rules.
    let rules: Vec<&str> = sarif["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    for result in results {
        let region = &result["locations"][0]["physicalLocation"]["region"];
        assert!(region["startLine"].as_u64().is_some_and(|line| line >= 1), "GitHub needs startLine: {result:#}");
        let id = result["ruleId"].as_str().unwrap();
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index], id);
    }
}

#[test]
fn output_file_receives_the_report() {
    let fx = Fixture::new(&[("evil.pkl", EVIL_PICKLE)]);
    let out = fx.warden(&["scan", "--format", "json", "--output", "report.json", "evil.pkl"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let written: Value = serde_json::from_str(&std::fs::read_to_string(fx.path("report.json")).unwrap()).unwrap();
    assert_eq!(written["files"][0]["path"], "evil.pkl");
}

#[test]
fn rules_lists_every_rule_with_docs() {
    let fx = Fixture::new(&[]);
    let out = fx.warden(&["rules", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let rules = json_of(&out);
    let ids: Vec<&str> = rules.as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"scan.limit-exceeded"));
    assert!(ids.iter().any(|id| id.starts_with("pickle.")), "{ids:?}");
}

#[cfg(unix)]
#[test]
fn fifo_is_reported_and_never_opened() {
    let fx = Fixture::new(&[]);
    let fifo = fx.path("pipe.pkl");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo").success());
    // Opening a FIFO with no writer would block forever: the scan must finish regardless.
    let out = Command::cargo_bin("warden")
        .expect("binary")
        .current_dir(fx.dir.path())
        .args(["scan", "--format", "json", "pipe.pkl"])
        .timeout(std::time::Duration::from_secs(20))
        .output()
        .expect("run warden");
    assert_eq!(out.status.code(), Some(2));
    let report = json_of(&out);
    assert_eq!(report["files"][0]["status"], "error");
    assert_eq!(report["findings"][0]["rule_id"], "scan.read-error");
}

/// Protocol-2 pickle calling `mylab.models.Classifier()`: unknown to the shipped policy.
const CUSTOM_CLASS_PICKLE: &[u8] = b"\x80\x02cmylab.models\nClassifier\nq\x00)\x81q\x01.";

#[test]
fn user_policy_can_allow_and_deny_callables() {
    let allow = "version = 1\n[[allow]]\npatterns = [\"mylab.models.[A-Z]*\"]\nexamples = [\"mylab.models.Classifier\"]\n";
    let deny = "[[deny]]\npatterns = [\"mylab.**\"]\nreason = \"lab code is not allowed in production\"\nseverity = \"high\"\n";
    let fx = Fixture::new(&[("m.pkl", CUSTOM_CLASS_PICKLE), ("allow.toml", allow.as_bytes()), ("deny.toml", deny.as_bytes())]);

    let shipped = json_of(&fx.warden(&["scan", "--format", "json", "m.pkl"]));
    assert!(shipped["findings"].as_array().unwrap().iter().any(|f| f["rule_id"] == "pickle.unknown-global" && f["severity"] == "medium"), "{shipped:#}");

    let allowed = fx.warden(&["scan", "--format", "json", "--policy", "allow.toml", "m.pkl"]);
    assert_eq!(allowed.status.code(), Some(0), "{}", String::from_utf8_lossy(&allowed.stdout));

    // Later files win: the deny layer sits on top of the allow layer.
    let denied = fx.warden(&["scan", "--format", "json", "--policy", "allow.toml", "--policy", "deny.toml", "m.pkl"]);
    assert_eq!(denied.status.code(), Some(1));
    let report = json_of(&denied);
    assert!(report["findings"].as_array().unwrap().iter().any(|f| f["severity"] == "high"
        && f["message"].as_str().unwrap().contains("lab code is not allowed")), "{report:#}");
}

#[test]
fn invalid_policy_is_an_error_naming_the_file() {
    let bad_example = "[[allow]]\npatterns = [\"mylab.models.*\"]\nexamples = [\"other.Thing\"]\n";
    let fx = Fixture::new(&[("m.pkl", CUSTOM_CLASS_PICKLE), ("bad.toml", bad_example.as_bytes()), ("broken.toml", b"[[allow]\n")]);
    for file in ["bad.toml", "broken.toml", "missing.toml"] {
        let out = fx.warden(&["scan", "--policy", file, "m.pkl"]);
        assert_eq!(out.status.code(), Some(2), "{file}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(file) && !stderr.contains("panicked"), "{file}: {stderr}");
    }
}

#[test]
fn limits_can_be_raised_or_lowered_from_the_command_line() {
    // A zip nested three deep: found at the default depth, refused at depth 1.
    let inner = zip_of("evil.pkl", EVIL_PICKLE);
    let outer = zip_of("inner.zip", &zip_of("middle.zip", &inner));
    let fx = Fixture::new(&[("outer.zip", &outer)]);
    let deep = json_of(&fx.warden(&["scan", "--format", "json", "outer.zip"]));
    assert!(deep["findings"].as_array().unwrap().iter().any(|f| f["severity"] == "critical"), "{deep:#}");
    let shallow = json_of(&fx.warden(&["scan", "--format", "json", "--max-depth", "1", "outer.zip"]));
    assert!(shallow["findings"].as_array().unwrap().iter().any(|f| f["rule_id"] == "scan.limit-exceeded"), "{shallow:#}");
    assert!(!shallow["findings"].as_array().unwrap().iter().any(|f| f["severity"] == "critical"));
}

/// A one-entry stored zip, written by hand (local header, central directory, end record).
fn zip_of(name: &str, data: &[u8]) -> Vec<u8> {
    let crc = crc32(data);
    let size = u32::try_from(data.len()).expect("small");
    let name_len = u16::try_from(name.len()).expect("short");
    let mut out = Vec::new();
    out.extend_from_slice(b"PK\x03\x04\x14\x00\x00\x00\x00\x00\x00\x00\x21\x00");
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&name_len.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(data);
    let central = out.len() as u32;
    out.extend_from_slice(b"PK\x01\x02\x14\x00\x14\x00\x00\x00\x00\x00\x00\x00\x21\x00");
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&name_len.to_le_bytes());
    out.extend_from_slice(&[0; 12]);
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(name.as_bytes());
    let central_len = out.len() as u32 - central;
    out.extend_from_slice(b"PK\x05\x06\x00\x00\x00\x00\x01\x00\x01\x00");
    out.extend_from_slice(&central_len.to_le_bytes());
    out.extend_from_slice(&central.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

#[test]
fn table_and_sarif_reports_are_stable() {
    let fx = Fixture::new(&[("models/evil.pkl", EVIL_PICKLE), ("models/bundle.zip", &zip_of("inner/data.pkl", EVIL_PICKLE)), ("models/ok.pkl", BENIGN_PICKLE)]);
    let table = fx.warden(&["scan", "--jobs", "1", "models"]);
    assert_eq!(table.status.code(), Some(1));
    insta::assert_snapshot!("table_report", String::from_utf8_lossy(&table.stdout));
    let mut sarif = json_of(&fx.warden(&["scan", "--format", "sarif", "models"]));
    // Only the results, without rule indexes: the rule catalogue grows with every release
    // (`sarif_output_validates_against_the_oasis_schema` checks the indexes).
    let results = sarif["runs"][0]["results"].as_array_mut().unwrap();
    for result in results.iter_mut() {
        result.as_object_mut().unwrap().remove("ruleIndex");
    }
    insta::assert_json_snapshot!("sarif_results", results);
}
