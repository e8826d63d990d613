//! End-to-end tests of `warden assess` and `warden atlas`: the example systems' assessments
//! (snapshots), precise errors for broken descriptions, the starter file, the schema, HTML,
//! SARIF, the ML-BOM, evidence, and importing the real MITRE ATLAS distribution file.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

const EXAMPLES: [&str; 3] = ["fraud-detection", "image-classifier", "llm-assistant"];

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/systems")
}

fn atlas_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/atlas/ATLAS.yaml")
}

/// Runs warden in `dir` with an empty data directory unless `home` is given.
fn warden_in(dir: &Path, home: &Path, args: &[&str]) -> Output {
    Command::cargo_bin("warden")
        .expect("binary")
        .current_dir(dir)
        .env("WARDEN_HOME", home)
        .env_remove("XDG_DATA_HOME")
        .args(args)
        .output()
        .expect("run warden")
}

fn example(args: &[&str]) -> Output {
    let home = tempfile::tempdir().expect("temp dir");
    warden_in(&examples_dir(), home.path(), args)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json_of(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}{}", stdout(o), stderr(o)))
}

#[test]
fn example_assessments_match_snapshots() {
    for name in EXAMPLES {
        let file = format!("{name}.yaml");
        let json = example(&["assess", &file, "--format", "json"]);
        assert!(json.status.success(), "{}", stderr(&json));
        insta::assert_snapshot!(format!("{name}_json"), stdout(&json));
        let md = example(&["assess", &file, "--format", "markdown", "--framework", "all"]);
        assert!(md.status.success(), "{}", stderr(&md));
        insta::assert_snapshot!(format!("{name}_markdown"), stdout(&md));
    }
    let table = example(&["assess", "fraud-detection.yaml"]);
    insta::assert_snapshot!("fraud_detection_table", stdout(&table));
}

#[test]
fn examples_name_the_threats_their_shape_implies() {
    let rules_of = |name: &str| -> Vec<(String, String)> {
        let doc = json_of(&example(&["assess", &format!("{name}.yaml"), "-f", "json"]));
        doc["risks"].as_array().unwrap().iter().map(|r| (r["rule"].as_str().unwrap().to_owned(), r["element"].as_str().unwrap().to_owned())).collect()
    };
    let fraud = rules_of("fraud-detection");
    for expected in [
        ("assess.training-data-poisoning", "labelled-transactions"),
        ("assess.model-extraction", "fraud-model"),
        ("assess.code-executing-format", "fraud-model"),
        ("assess.unfair-outcomes", "fraud-model"),
    ] {
        assert!(fraud.contains(&(expected.0.into(), expected.1.into())), "fraud misses {expected:?}");
    }
    let image = rules_of("image-classifier");
    assert!(image.contains(&("assess.transfer-learning-backdoor".into(), "damage-classifier".into())));
    assert!(image.contains(&("assess.external-model-artifact".into(), "vit-base".into())));
    assert!(!image.iter().any(|(r, _)| r == "assess.model-extraction"), "internal endpoint cannot be copied from outside");
    let llm = rules_of("llm-assistant");
    for rule in ["assess.indirect-prompt-injection", "assess.retrieval-data-leakage", "assess.excessive-agency", "assess.prompt-injection"] {
        assert!(llm.iter().any(|(r, e)| r == rule && e == "chat-llm"), "llm misses {rule}");
    }
}

#[test]
fn broken_descriptions_give_precise_errors() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(examples_dir().join("fraud-detection.yaml")).unwrap();
    let cases: Vec<(&str, String)> = vec![
        ("wrong-enum", good.replace("origin: internal", "origin: huggingface")),
        ("unknown-field", good.replace("    signed: false\n", "    signd: false\n")),
        ("missing-field", good.replace("    exposure: public\n", "")),
        ("wrong-type", good.replace("returns_confidence: true", "returns_confidence: [yes]")),
        ("dangling-reference", good.replace("serves: fraud-model", "serves: fraud-modle")),
        ("wrong-kind-reference", good.replace("trained_on: [labelled-transactions]", "trained_on: [partner-feed]")),
        ("duplicate-id", good.replace("id: holdout", "id: chargebacks")),
        ("unknown-control", good.replace("control: logging", "control: loging")),
        ("syntax", good.replace("  name: Card fraud detection", "  name: 'Card fraud detection")),
        ("duplicate-key", good.replace("  owner: payments-risk\n", "  owner: payments-risk\n  owner: someone-else\n")),
        ("bad-version", good.replace("version: 1\n", "version: 2\n")),
    ];
    let mut messages = String::new();
    for (name, text) in cases {
        let path = dir.path().join(format!("{name}.yaml"));
        std::fs::write(&path, text).unwrap();
        let out = warden_in(dir.path(), dir.path(), &["assess", &format!("{name}.yaml")]);
        assert_eq!(out.status.code(), Some(2), "{name}: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{name}: no report on error");
        messages.push_str(&format!("## {name}\n{}\n", stderr(&out).trim_end()));
    }
    insta::assert_snapshot!("broken_description_errors", messages);
}

#[test]
fn init_writes_a_loadable_starter_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let first = warden_in(dir.path(), dir.path(), &["assess", "init", "-o", "mine.yaml"]);
    assert!(first.status.success(), "{}", stderr(&first));
    let text = std::fs::read_to_string(dir.path().join("mine.yaml")).unwrap();
    assert!(text.lines().filter(|l| l.trim_start().starts_with('#')).count() > 10, "the starter is commented");
    std::fs::write(dir.path().join("mine.yaml"), "keep me").unwrap();
    let again = warden_in(dir.path(), dir.path(), &["assess", "init", "-o", "mine.yaml"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("already exists; use --force"), "{}", stderr(&again));
    assert_eq!(std::fs::read_to_string(dir.path().join("mine.yaml")).unwrap(), "keep me");
    let forced = warden_in(dir.path(), dir.path(), &["assess", "init", "-o", "mine.yaml", "--force"]);
    assert!(forced.status.success());
    let assessed = warden_in(dir.path(), dir.path(), &["assess", "mine.yaml", "-f", "json"]);
    assert!(assessed.status.success(), "{}", stderr(&assessed));
    assert!(!json_of(&assessed)["risks"].as_array().unwrap().is_empty());
}

#[test]
fn schema_accepts_the_examples() {
    let out = example(&["assess", "schema"]);
    let schema: Value = json_of(&out);
    let validator = jsonschema::validator_for(&schema).expect("valid JSON Schema");
    for name in EXAMPLES {
        // The YAML example read as plain JSON data, then checked against the schema.
        let text = std::fs::read_to_string(examples_dir().join(format!("{name}.yaml"))).unwrap();
        let value: Value = warden_assess::load::parse_yaml(&text, 1 << 20).unwrap();
        let errors: Vec<String> = validator.iter_errors(&value).map(|e| format!("{} at {}", e, e.instance_path())).collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
    }
}

#[test]
fn html_report_is_self_contained_with_a_diagram() {
    let out = example(&["assess", "llm-assistant.yaml", "-f", "html", "--framework", "gdpr"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let html = stdout(&out);
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    assert!(html.contains("<svg") && html.contains("stroke-dasharray"), "diagram with dashed trust boundaries");
    assert_eq!(html.matches("class=\"element\"").count(), 9, "one box per element");
    assert!(html.contains("class=\"badge\""));
    assert!(html.contains("GDPR articles relevant to AI systems"));
    for forbidden in ["<script", "src=\"http", "href=\"http", "@import", "url(http"] {
        assert!(!html.contains(forbidden), "HTML must not load {forbidden}");
    }
}

#[test]
fn sarif_and_findings_carry_the_risks() {
    let sarif = json_of(&example(&["assess", "fraud-detection.yaml", "-f", "sarif"]));
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(results.iter().any(|r| r["ruleId"] == "assess.model-extraction"));
    let findings = json_of(&example(&["assess", "fraud-detection.yaml", "-f", "findings-json"]));
    let first = &findings["findings"][0];
    assert!(first["atlas"].as_array().is_some_and(|a| !a.is_empty()));
    assert!(first["location"]["member"].as_str().unwrap().contains('/'));
}

#[test]
fn fail_on_sets_the_exit_code() {
    assert_eq!(example(&["assess", "fraud-detection.yaml", "--fail-on", "high"]).status.code(), Some(1));
    assert_eq!(example(&["assess", "fraud-detection.yaml", "--fail-on", "critical"]).status.code(), Some(0));
    assert_eq!(example(&["assess", "fraud-detection.yaml"]).status.code(), Some(0));
}

#[test]
fn cyclonedx_bom_lists_models_data_and_lineage() {
    for args in [vec!["assess", "image-classifier.yaml", "-f", "cyclonedx"], vec!["assess", "bom", "image-classifier.yaml"]] {
        let bom = json_of(&example(&args));
        assert_eq!(bom["bomFormat"], "CycloneDX");
        assert_eq!(bom["specVersion"], "1.6");
        let comps = bom["components"].as_array().unwrap();
        assert_eq!(comps.iter().filter(|c| c["type"] == "machine-learning-model").count(), 2);
        let deps = bom["dependencies"].as_array().unwrap();
        let dc = deps.iter().find(|d| d["ref"] == "model:damage-classifier").unwrap();
        assert_eq!(dc["dependsOn"], serde_json::json!(["model:vit-base", "data:parcel-photos"]));
    }
}

#[test]
fn passing_evidence_lowers_and_failing_evidence_raises_risk() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(examples_dir().join("fraud-detection.yaml"), dir.path().join("s.yaml")).unwrap();
    let clean = r#"{"version":1,"findings":[],"files":[{"path":"models/fraud.pkl","format":"pickle","status":"scanned"}]}"#;
    let dirty = r#"{"version":1,"findings":[{"rule_id":"pickle.dangerous-global","severity":"critical","title":"t","message":"m","location":{"path":"models/fraud.pkl"}}],"files":[{"path":"models/fraud.pkl","format":"pickle","status":"scanned"}]}"#;
    std::fs::write(dir.path().join("clean.json"), clean).unwrap();
    std::fs::write(dir.path().join("dirty.json"), dirty).unwrap();
    let score = |extra: &[&str]| -> u64 {
        let mut args = vec!["assess", "s.yaml", "-f", "json"];
        args.extend_from_slice(extra);
        let doc = json_of(&warden_in(dir.path(), dir.path(), &args));
        let risk = doc["risks"].as_array().unwrap().iter().find(|r| r["rule"] == "assess.code-executing-format").unwrap().clone();
        risk["residual"]["score"].as_u64().unwrap()
    };
    let none = score(&[]);
    let with_clean = score(&["--evidence", "clean.json"]);
    let with_dirty = score(&["--evidence", "fraud-model=dirty.json"]);
    assert!(with_clean < none, "clean scan should lower: {with_clean} vs {none}");
    assert!(with_dirty > none, "failing scan should raise: {with_dirty} vs {none}");
    let bad = warden_in(dir.path(), dir.path(), &["assess", "s.yaml", "--evidence", "nosuch=clean.json"]);
    assert!(stderr(&bad).contains("no element `nosuch`"), "{}", stderr(&bad));
}

#[test]
#[allow(clippy::print_stderr)] // says why the test is skipped
fn atlas_import_of_the_real_file_names_techniques_and_mitigations() {
    let atlas = atlas_file();
    if !atlas.exists() {
        eprintln!("skipping: {} not present", atlas.display());
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let ex = examples_dir();
    let out = warden_in(&ex, home.path(), &["atlas", "import", atlas.to_str().unwrap(), "--reassess", "llm-assistant.yaml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("first import"), "{text}");
    assert!(text.contains("non-text `ml-lifecycle` entries"), "the known quirk is reported: {text}");
    let status = stdout(&warden_in(&ex, home.path(), &["atlas", "status"]));
    assert!(status.contains("techniques") && !status.contains("no ATLAS catalogue"), "{status}");

    let doc = json_of(&warden_in(&ex, home.path(), &["assess", "fraud-detection.yaml", "-f", "json"]));
    assert_eq!(doc["catalogue"]["source"], "atlas");
    let risks = doc["risks"].as_array().unwrap();
    let extraction = risks.iter().find(|r| r["rule"] == "assess.model-extraction").unwrap();
    let techniques = extraction["techniques"].as_array().unwrap();
    let api = techniques.iter().find(|t| t["id"] == "AML.T0040").unwrap();
    assert_eq!(api["name"], "AI Model Inference API Access");
    assert_eq!(api["tactics"][0], "AI Model Access");
    let sub = techniques.iter().find(|t| t["id"] == "AML.T0024.002").unwrap();
    assert_eq!(sub["tactics"][0], "Exfiltration", "subtechniques inherit their parent's tactic");
    let mitigations: Vec<&str> = extraction["atlas_mitigations"].as_array().unwrap().iter().map(|m| m[0].as_str().unwrap()).collect();
    assert!(mitigations.contains(&"AML.M0004"), "{mitigations:?}");
    assert!(risks.iter().all(|r| r["techniques"].as_array().unwrap().iter().all(|t| t["missing_from_catalogue"] == false)), "every shipped technique id exists in ATLAS");

    // A later release that renames one technique and drops another.
    let text = std::fs::read_to_string(&atlas).unwrap();
    let changed = text
        .replacen("name: AI Model Inference API Access", "name: AI Model API Access", 1)
        .replacen("- id: AML.T0070\n", "- id: AML.T9070\n", 1)
        .replacen("version: 5.6.0", "version: 5.7.0-test", 1);
    let newer = home.path().join("ATLAS-next.yaml");
    std::fs::write(&newer, changed).unwrap();
    let out = warden_in(&ex, home.path(), &["atlas", "import", newer.to_str().unwrap(), "--reassess", "llm-assistant.yaml"]);
    let report = stdout(&out);
    assert!(report.contains("~ AML.T0040 `AI Model Inference API Access` -> `AI Model API Access`"), "{report}");
    assert!(report.contains("- AML.T0070"), "{report}");
    assert!(report.contains("+ AML.T9070"), "{report}");
    assert!(report.contains("AML.T0070 is no longer in the catalogue"), "the assessment change is reported: {report}");
}

#[test]
#[allow(clippy::print_stderr)] // says why the test is skipped
fn saved_assessments_are_reevaluated_on_import() {
    let atlas = atlas_file();
    if !atlas.exists() {
        eprintln!("skipping: {} not present", atlas.display());
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let ex = examples_dir();
    let saved = warden_in(&ex, home.path(), &["assess", "fraud-detection.yaml", "--save"]);
    assert!(saved.status.success(), "{}", stderr(&saved));
    let out = warden_in(&ex, home.path(), &["atlas", "import", atlas.to_str().unwrap(), "--json"]);
    let doc = json_of(&out);
    let assessments = doc["assessments"].as_array().unwrap();
    assert_eq!(assessments.len(), 1);
    assert!(assessments[0]["system"].as_str().unwrap().ends_with("fraud-detection.yaml"));
    let changes = assessments[0]["changes"].as_array().unwrap();
    assert!(changes.iter().any(|c| c["change"].as_str().unwrap().starts_with("AML.T0040 renamed")), "{changes:?}");
}

#[test]
fn atlas_import_rejects_non_atlas_files_clearly() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("x.yaml"), "hello: world\n").unwrap();
    let out = warden_in(dir.path(), dir.path(), &["atlas", "import", "x.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not an ATLAS distribution file: no `matrices` list"), "{}", stderr(&out));
    assert!(!dir.path().join("atlas-catalogue.json").exists());
}
