//! `warden serve` and `warden audit verify` as a user runs them: start the real binary, create the
//! first administrator from the printed link, use the API, export the audit log, verify it
//! offline, tamper with it, and stop the server with SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use assert_cmd::cargo::CommandCargoExt;
use serde_json::{Value, json};

struct Served {
    child: Child,
    url: String,
    token: String,
}

fn serve(data_dir: &std::path::Path) -> Served {
    let mut child = Command::cargo_bin("warden")
        .unwrap()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let (mut url, mut token) = (None, None);
    while url.is_none() || token.is_none() {
        let line = rx.recv_timeout(Duration::from_secs(60)).expect("the server prints its URL and bootstrap link");
        if let Some(rest) = line.strip_prefix("warden: serving on ") {
            url = rest.split_whitespace().next().map(|u| u.trim_end_matches('/').to_owned());
        }
        if let Some((_, t)) = line.split_once("bootstrap?token=") {
            token = Some(t.trim().to_owned());
        }
    }
    Served { child, url: url.unwrap(), token: token.unwrap() }
}

fn totp(secret: &str) -> String {
    let seed = totp_rs::Secret::Encoded(secret.to_owned()).to_bytes().unwrap();
    totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, seed, None, "t".into()).unwrap().generate_current().unwrap()
}

fn call(client: &reqwest::blocking::Client, csrf: &str, method: reqwest::Method, url: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = client.request(method, url).header("x-csrf-token", csrf);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().unwrap();
    let status = response.status().as_u16();
    let text = response.text().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

#[test]
fn serve_bootstrap_export_and_verify_the_audit_log_offline() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(&dir.path().join("data"));
    let client = reqwest::blocking::Client::builder().cookie_store(true).build().unwrap();
    let url = |p: &str| format!("{}{p}", served.url);
    assert_eq!(client.get(url("/healthz")).send().unwrap().status(), 200);

    let (status, body) = call(&client, "", reqwest::Method::POST, &url("/api/v1/bootstrap"), Some(json!({"token": served.token, "username": "root", "password": "a long enough password"})));
    assert_eq!(status, 201, "{body}");
    let (status, body) = call(&client, "", reqwest::Method::POST, &url("/api/v1/login"), Some(json!({"username": "root", "password": "a long enough password"})));
    assert_eq!(status, 200, "{body}");
    let csrf = body["csrf_token"].as_str().unwrap().to_owned();
    let (status, enrol) = call(&client, &csrf, reqwest::Method::POST, &url("/api/v1/me/totp"), Some(json!({})));
    assert_eq!(status, 200, "{enrol}");
    let (status, body) = call(&client, &csrf, reqwest::Method::POST, &url("/api/v1/me/totp/confirm"), Some(json!({"code": totp(enrol["secret"].as_str().unwrap())})));
    assert_eq!(status, 200, "{body}");
    let csrf = body["csrf_token"].as_str().unwrap().to_owned();

    let get_text = |path: &str| client.get(url(path)).header("x-csrf-token", &csrf).send().unwrap().text().unwrap();
    let checkpoint = dir.path().join("checkpoint.txt");
    std::fs::write(&checkpoint, get_text("/api/v1/audit/checkpoint")).unwrap();
    let key = get_text("/api/v1/audit/key");
    let export = dir.path().join("audit.jsonl");
    std::fs::write(&export, get_text("/api/v1/audit/export")).unwrap();

    let verify = |file: &std::path::Path| Command::cargo_bin("warden").unwrap().args(["audit", "verify"]).arg(file).arg("--checkpoint").arg(&checkpoint).args(["--key", key.trim(), "--format", "json"]).output().unwrap();
    let intact = verify(&export);
    assert_eq!(intact.status.code(), Some(0), "{}", String::from_utf8_lossy(&intact.stderr));
    assert!(String::from_utf8_lossy(&intact.stderr).contains("verified"));

    // Delete line 3: the gap in sequence numbers names the missing entry.
    let text = std::fs::read_to_string(&export).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.remove(2);
    let tampered = dir.path().join("tampered.jsonl");
    std::fs::write(&tampered, lines.join("\n") + "\n").unwrap();
    let result = verify(&tampered);
    assert_eq!(result.status.code(), Some(1), "{}", String::from_utf8_lossy(&result.stderr));
    let report: Value = serde_json::from_slice(&result.stdout).unwrap();
    let rules: Vec<&str> = report["findings"].as_array().unwrap().iter().filter_map(|f| f["rule_id"].as_str()).collect();
    assert!(rules.contains(&"audit.entry-deleted"), "{report}");

    // A key that did not sign the checkpoint is an error, not a pass.
    let (_, other_key) = warden_audit::CheckpointSigner::generate("other.example/log").unwrap();
    let wrong = Command::cargo_bin("warden").unwrap().args(["audit", "verify"]).arg(&export).arg("--checkpoint").arg(&checkpoint).args(["--key", &other_key]).output().unwrap();
    assert_eq!(wrong.status.code(), Some(2));

    // SIGTERM stops the server cleanly.
    let mut child = served.child;
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn serve_reports_a_taken_address_with_exit_2() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let output = Command::cargo_bin("warden").unwrap().args(["serve", "--listen", &addr, "--data-dir"]).arg(dir.path()).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot listen on"), "{}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn incident_rules_are_printed_and_a_broken_file_stops_the_start_with_exit_2() {
    let printed = Command::cargo_bin("warden").unwrap().args(["serve", "--print-incident-rules"]).output().unwrap();
    assert_eq!(printed.status.code(), Some(0));
    let shipped = String::from_utf8(printed.stdout).unwrap();
    assert!(shipped.contains("rules:") && shipped.contains("malicious-model-upload"), "{shipped}");

    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yaml");
    std::fs::write(&rules, shipped.replace("id: malicious-model-upload", "id: Malicious Upload")).unwrap();
    let output = Command::cargo_bin("warden")
        .unwrap()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--incident-rules")
        .arg(&rules)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("rules.yaml") && stderr.contains("`Malicious Upload`: ids are lowercase"), "{stderr}");
}
