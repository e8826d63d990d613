//! The corpus test: runs the real `warden` binary on every sample of the generated test corpus
//! (`scripts/gen_corpus.py`, described by its `manifest.json`) and checks each verdict:
//!
//! - a malicious sample yields at least one `high` or `critical` finding and exit code 1;
//! - a suspicious sample (worth a review, not proof) yields a finding at `medium` or above and exit 1;
//! - a benign sample yields no finding at `medium` or above and exit code 0;
//! - scanning the whole corpus in one invocation with `--jobs 2` finds exactly what the
//!   per-sample scans found.
//!
//! The corpus lives at `WARDEN_CORPUS_DIR`, by default `<workspace>/target/corpus`. A missing
//! corpus fails the test with instructions: it never passes silently. Every failing sample is
//! collected and reported in one assertion, so one run shows the whole picture.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

/// One invocation may not take longer than this (a hang is a failure, not a stuck test run).
const DEFAULT_TIMEOUT_SECS: u64 = 180;
/// Per-sample scans run this many at a time.
const MAX_PARALLEL_SCANS: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Malicious,
    /// Worth a human review but not proof of an attack: at least one medium finding, exit 1.
    Suspicious,
    Benign,
}

#[derive(Debug)]
struct Sample {
    /// Relative to the corpus root, `/`-separated; a file or a directory.
    path: String,
    verdict: Verdict,
    technique: String,
    format: String,
}

#[derive(Debug)]
struct Corpus {
    root: PathBuf,
    samples: Vec<Sample>,
}

/// What one run of the binary produced.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
    timed_out: bool,
}

impl Run {
    fn report(&self) -> Result<Value, String> {
        if self.timed_out {
            return Err(format!("timed out after {}s", timeout().as_secs()));
        }
        serde_json::from_slice(&self.stdout).map_err(|e| {
            format!("stdout is not a JSON report ({e}); exit {:?}; stderr: {}", self.code, tail(&self.stderr, 800))
        })
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn timeout() -> Duration {
    let secs = std::env::var("WARDEN_CORPUS_TIMEOUT_SECS").ok().and_then(|s| s.parse().ok());
    Duration::from_secs(secs.unwrap_or(DEFAULT_TIMEOUT_SECS))
}

/// The corpus named by `WARDEN_CORPUS_DIR` (or the default), loaded once for all tests.
fn corpus() -> &'static Corpus {
    static CORPUS: OnceLock<Corpus> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let root = match std::env::var_os("WARDEN_CORPUS_DIR").filter(|d| !d.is_empty()) {
            Some(dir) => PathBuf::from(dir),
            None => workspace_root().join("target/corpus"),
        };
        let manifest_path = root.join("manifest.json");
        let text = std::fs::read_to_string(&manifest_path).unwrap_or_else(|e| {
            panic!(
                "the test corpus is missing: cannot read {} ({e}).\n\
                 Generate it with `scripts/test` (the whole suite), or on its own with\n    \
                 scripts/python-env && target/py-venv/bin/python scripts/gen_corpus.py target/corpus\n\
                 or point WARDEN_CORPUS_DIR at a generated corpus.",
                manifest_path.display()
            )
        });
        let root = root.canonicalize().expect("canonical corpus root");
        let manifest: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", manifest_path.display()));
        let samples: Vec<Sample> = manifest["samples"]
            .as_array()
            .unwrap_or_else(|| panic!("{} has no `samples` array", manifest_path.display()))
            .iter()
            .map(|s| {
                let field = |name: &str| {
                    s[name].as_str().unwrap_or_else(|| panic!("manifest sample without `{name}`: {s}")).to_owned()
                };
                let verdict = match field("verdict").as_str() {
                    "malicious" => Verdict::Malicious,
                    "benign" => Verdict::Benign,
                    "suspicious" => Verdict::Suspicious,
                    other => panic!("manifest sample with verdict `{other}`: {s}"),
                };
                Sample { path: field("path"), verdict, technique: field("technique"), format: field("format") }
            })
            .collect();
        assert!(
            samples.iter().any(|s| s.verdict == Verdict::Malicious)
                && samples.iter().any(|s| s.verdict == Verdict::Benign),
            "{} needs both malicious and benign samples",
            manifest_path.display()
        );
        for sample in &samples {
            assert!(
                root.join(&sample.path).exists(),
                "manifest names {} but it is not in {}",
                sample.path,
                root.display()
            );
        }
        Corpus { root, samples }
    })
}

/// Runs `warden scan ARGS... --format json`, with a time limit.
fn warden_scan(args: &[&std::ffi::OsStr]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_warden"))
        .arg("scan")
        .args(args)
        .args(["--format", "json"])
        .env_remove("WARDEN_FORMAT")
        .env_remove("WARDEN_FAIL_ON")
        .env_remove("WARDEN_JOBS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the warden binary");
    // Drain both pipes while waiting, so a large report cannot block the child.
    let mut out_pipe = child.stdout.take().expect("stdout pipe");
    let mut err_pipe = child.stderr.take().expect("stderr pipe");
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        out_pipe.read_to_end(&mut buf).ok();
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        err_pipe.read_to_end(&mut buf).ok();
        buf
    });
    let deadline = Instant::now() + timeout();
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for warden") {
            break status;
        }
        if Instant::now() >= deadline {
            timed_out = true;
            child.kill().ok();
            break child.wait().expect("wait for killed warden");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Run {
        code: if timed_out { None } else { status.code() },
        stdout: out_reader.join().unwrap_or_default(),
        stderr: String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).into_owned(),
        timed_out,
    }
}

/// One scan per sample, run once and shared by the tests, in manifest order.
fn per_sample_runs() -> &'static [Run] {
    static RUNS: OnceLock<Vec<Run>> = OnceLock::new();
    RUNS.get_or_init(|| {
        let corpus = corpus();
        let next = AtomicUsize::new(0);
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).min(MAX_PARALLEL_SCANS);
        let mut runs: Vec<(usize, Run)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers)
                .map(|_| {
                    scope.spawn(|| {
                        let mut done = Vec::new();
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let Some(sample) = corpus.samples.get(i) else { break };
                            let path = corpus.root.join(&sample.path);
                            done.push((i, warden_scan(&[path.as_os_str()])));
                        }
                        done
                    })
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().expect("scan worker")).collect()
        });
        runs.sort_by_key(|(i, _)| *i);
        runs.into_iter().map(|(_, run)| run).collect()
    })
}

fn findings(report: &Value) -> &[Value] {
    report["findings"].as_array().map_or(&[], Vec::as_slice)
}

fn severity(finding: &Value) -> &str {
    finding["severity"].as_str().unwrap_or("?")
}

fn is_at_least_medium(finding: &Value) -> bool {
    matches!(severity(finding), "medium" | "high" | "critical")
}

fn is_at_least_high(finding: &Value) -> bool {
    matches!(severity(finding), "high" | "critical")
}

fn describe_findings(report: &Value, root: &str) -> String {
    let all = findings(report);
    if all.is_empty() {
        return "      (no findings)".to_owned();
    }
    all.iter()
        .map(|f| {
            let loc = &f["location"];
            let mut place = relative(root, loc["path"].as_str().unwrap_or("?"));
            if let Some(member) = loc["member"].as_str() {
                place.push_str(&format!(" :: {member}"));
            }
            if let Some(offset) = loc["offset"].as_u64() {
                place.push_str(&format!(" @{offset}"));
            }
            format!(
                "      - {} {}: {} [{}]",
                severity(f),
                f["rule_id"].as_str().unwrap_or("?"),
                relative(root, f["message"].as_str().unwrap_or("")),
                place
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `text` with the corpus root taken out of any path in it.
fn relative(root: &str, text: &str) -> String {
    text.replace(&format!("{root}/"), "")
}

fn tail(text: &str, max: usize) -> &str {
    let start = text.len().saturating_sub(max);
    let start = (start..=text.len()).find(|i| text.is_char_boundary(*i)).unwrap_or(text.len());
    text[start..].trim()
}

/// What went wrong with one sample's scan, if anything.
fn check_sample(sample: &Sample, run: &Run, root: &str) -> Option<String> {
    let report = match run.report() {
        Ok(report) => report,
        Err(why) => return Some(why),
    };
    let (expected_code, verdict_ok, expectation) = match sample.verdict {
        Verdict::Malicious => (1, findings(&report).iter().any(is_at_least_high), "a high or critical finding"),
        Verdict::Suspicious => (1, findings(&report).iter().any(is_at_least_medium), "a finding at medium or above"),
        Verdict::Benign => (0, !findings(&report).iter().any(is_at_least_medium), "no finding at medium or above"),
    };
    if verdict_ok && run.code == Some(expected_code) {
        return None;
    }
    let mut problems = Vec::new();
    if !verdict_ok {
        problems.push(format!("expected {expectation}"));
    }
    if run.code != Some(expected_code) {
        problems.push(format!("expected exit {expected_code}, got {:?}", run.code));
    }
    let mut text = format!("{}\n{}", problems.join("; "), describe_findings(&report, root));
    if run.code == Some(2) {
        text.push_str(&format!("\n      stderr: {}", tail(&run.stderr, 800)));
    }
    Some(text)
}

#[test]
fn every_corpus_sample_gets_its_verdict() {
    let corpus = corpus();
    let root = corpus.root.to_string_lossy().into_owned();
    let runs = per_sample_runs();
    let mut failures = Vec::new();
    let mut failed_by_format: std::collections::BTreeMap<(&str, &str), (usize, usize)> = Default::default();
    for (sample, run) in corpus.samples.iter().zip(runs) {
        let verdict = match sample.verdict {
            Verdict::Malicious => "malicious",
            Verdict::Suspicious => "suspicious",
            Verdict::Benign => "benign",
        };
        let tally = failed_by_format.entry((sample.format.as_str(), verdict)).or_default();
        tally.1 += 1;
        if let Some(problem) = check_sample(sample, run, &root) {
            tally.0 += 1;
            failures.push(format!("{} [{verdict} {}] {}\n    {problem}", sample.path, sample.format, sample.technique));
        }
    }
    let summary: Vec<String> = failed_by_format
        .iter()
        .filter(|(_, (failed, _))| *failed > 0)
        .map(|((format, verdict), (failed, total))| format!("  {format} {verdict}: {failed} of {total} failed"))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} corpus samples did not get their verdict (corpus: {}):\n{}\n\n{}",
        failures.len(),
        corpus.samples.len(),
        corpus.root.display(),
        summary.join("\n"),
        failures.join("\n\n")
    );
}

/// Findings and files of a report as comparable lines, paths relative to the corpus root.
fn report_lines(report: &Value, root: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let findings = findings(report)
        .iter()
        .map(|f| {
            let loc = &f["location"];
            format!(
                "{} | {} | {} | {} {} | {}",
                relative(root, loc["path"].as_str().unwrap_or("")),
                loc["member"].as_str().unwrap_or(""),
                loc["offset"].as_u64().map(|o| o.to_string()).unwrap_or_default(),
                severity(f),
                f["rule_id"].as_str().unwrap_or(""),
                relative(root, f["message"].as_str().unwrap_or(""))
            )
        })
        .collect();
    let files = report["files"]
        .as_array()
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .map(|f| {
            format!(
                "{} | {} | {}",
                relative(root, f["path"].as_str().unwrap_or("")),
                f["format"].as_str().unwrap_or(""),
                f["status"].as_str().unwrap_or("")
            )
        })
        .collect();
    (findings, files)
}

fn difference(label: &str, a: &BTreeSet<String>, b: &BTreeSet<String>) -> Option<String> {
    let only: Vec<&String> = a.difference(b).collect();
    if only.is_empty() {
        return None;
    }
    let shown: Vec<String> = only.iter().take(60).map(|l| format!("    {l}")).collect();
    let more = if only.len() > shown.len() {
        format!("\n    ... and {} more", only.len() - shown.len())
    } else {
        String::new()
    };
    Some(format!("{label} ({}):\n{}{more}", only.len(), shown.join("\n")))
}

#[test]
fn scanning_the_whole_corpus_at_once_matches_per_sample_scans() {
    let corpus = corpus();
    let root = corpus.root.to_string_lossy().into_owned();
    let whole = warden_scan(&[corpus.root.as_os_str(), "--jobs".as_ref(), "2".as_ref()]);
    let report = whole.report().unwrap_or_else(|why| panic!("scanning {} at once: {why}", corpus.root.display()));
    assert_eq!(whole.code, Some(1), "the corpus holds malicious samples, so the whole scan must exit 1");
    // manifest.json is the corpus's index, not a sample.
    let not_manifest = |line: &String| !line.starts_with("manifest.json |");
    let (whole_findings, whole_files) = report_lines(&report, &root);
    let whole_findings: BTreeSet<String> = whole_findings.into_iter().filter(not_manifest).collect();
    let whole_files: BTreeSet<String> = whole_files.into_iter().filter(not_manifest).collect();

    let mut sample_findings = BTreeSet::new();
    let mut sample_files = BTreeSet::new();
    let mut unusable = Vec::new();
    for (sample, run) in corpus.samples.iter().zip(per_sample_runs()) {
        match run.report() {
            Ok(report) => {
                let (f, files) = report_lines(&report, &root);
                sample_findings.extend(f);
                sample_files.extend(files);
            }
            Err(why) => unusable.push(format!("  {}: {why}", sample.path)),
        }
    }
    assert!(unusable.is_empty(), "per-sample scans without a report:\n{}", unusable.join("\n"));
    assert!(!sample_findings.is_empty(), "the per-sample scans found nothing at all");

    // Every scanned file belongs to a sample, or the comparison would not cover the corpus.
    let strays: Vec<&String> = whole_files
        .iter()
        .filter(|line| {
            let path = line.split(" | ").next().unwrap_or("");
            !corpus.samples.iter().any(|s| path == s.path || path.starts_with(&format!("{}/", s.path)))
        })
        .collect();
    assert!(strays.is_empty(), "files in the corpus that no sample owns: {strays:#?}");

    let problems: Vec<String> = [
        difference("findings only in the whole-corpus scan", &whole_findings, &sample_findings),
        difference("findings only in per-sample scans", &sample_findings, &whole_findings),
        difference("files only in the whole-corpus scan", &whole_files, &sample_files),
        difference("files only in per-sample scans", &sample_files, &whole_files),
    ]
    .into_iter()
    .flatten()
    .collect();
    assert!(
        problems.is_empty(),
        "scanning {} with --jobs 2 differs from per-sample scans:\n{}",
        corpus.root.display(),
        problems.join("\n\n")
    );
}
