//! The browser test: headless Chromium (Debian's `chromium`) driven by `playwright-core`
//! (`tests/browser/walk.mjs`) through the real UI: bootstrap, TOTP enrolment, register a model,
//! upload a malicious version, see its findings, quarantine it, read the audit log; and
//! (`tests/browser/walk_incident.mjs`) walk the incident that upload opens from detection to
//! closure and read its post-incident review. Skipped when
//! Node.js, Chromium or `npm ci` in `tests/browser` are missing, unless `WARDEN_REQUIRE_BROWSER=1`
//! (set by `scripts/test`).

use crate::common;

use std::path::Path;
use std::process::Command;

use common::TestServer;

fn ready() -> Result<(), String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    if !dir.join("node_modules/playwright-core").is_dir() {
        return Err(format!("run `npm ci` in {}", dir.display()));
    }
    if Command::new("node").arg("--version").output().is_err() {
        return Err("Node.js is not installed".into());
    }
    if !Path::new(&chromium()).exists() {
        return Err(format!("no Chromium at {} (apt-get install chromium)", chromium()));
    }
    Ok(())
}

fn chromium() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

/// Runs `script` (in `tests/browser`) against a fresh server and expects it to print `passed`;
/// skipped (or failed, when required) without Node.js, Chromium or playwright-core.
#[allow(clippy::print_stderr, reason = "a skipped browser test says what is missing")]
async fn walk(script: &str, passed: &str) {
    if let Err(missing) = ready() {
        assert!(std::env::var("WARDEN_REQUIRE_BROWSER").as_deref() != Ok("1"), "the browser test is required but {missing}");
        eprintln!("skipped: {missing}");
        return;
    }
    let t = TestServer::sqlite().await;
    let token = t.server.bootstrap_token.clone().expect("bootstrap token");
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&artifacts).unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let url = t.url("");
    let script = script.to_owned();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(script)
            .current_dir(dir)
            .env("WARDEN_URL", url)
            .env("WARDEN_BOOTSTRAP_TOKEN", token)
            .env("CHROMIUM", chromium())
            .env("ARTIFACTS", &artifacts)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "browser walk failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains(passed), "{stdout}");
    t.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_administrator_uploads_a_malicious_model_and_quarantines_it_in_the_browser() {
    walk("walk.mjs", "browser walk passed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_is_walked_from_detection_to_closure_and_reviewed_in_the_browser() {
    walk("walk_incident.mjs", "incident walk passed").await;
}
