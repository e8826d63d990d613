//! Tests of export verification: each kind of tampering found at the right line, never a panic.

use std::io::{BufReader, Read};

use proptest::prelude::*;

use super::*;
use crate::memory::MemoryLog;
use crate::rules;
use crate::testutil::{join, lines_of, log_of};

const ORIGIN: &str = "warden.test/audit";

fn checkpoint(log: &MemoryLog, size: u64) -> Checkpoint {
    Checkpoint { origin: ORIGIN.into(), size, root: log.tree_hash(size).unwrap() }
}

fn run(export: &[u8], trusted: &Checkpoint, extra: &[Checkpoint]) -> VerifyReport {
    verify_export("audit.jsonl", export, trusted, extra, &Limits::default()).unwrap()
}

/// `(rule id, line)` of every finding.
fn found(report: &VerifyReport) -> Vec<(&str, Option<u64>)> {
    report.findings.iter().map(|f| (f.rule_id.as_str(), f.location.line)).collect()
}

/// Alphanumeric characters inside string values (not keys) of a compact JSON line, skipping
/// the `prev` hash (an edit there is covered by its own tests).
fn value_positions(line: &[u8]) -> Vec<usize> {
    let text = std::str::from_utf8(line).unwrap();
    let (mut out, mut i) = (Vec::new(), 0);
    let bytes = text.as_bytes();
    while i < bytes.len() {
        if bytes[i] != b'"' {
            i += 1;
            continue;
        }
        let end = i + 1 + text[i + 1..].find('"').unwrap();
        let is_key = bytes.get(end + 1) == Some(&b':');
        let is_prev = text[..i].ends_with(r#""prev":"#);
        if !is_key && !is_prev {
            out.extend((i + 1..end).filter(|&k| bytes[k].is_ascii_alphanumeric()));
        }
        i = end + 1;
    }
    out
}

fn flip(b: u8) -> u8 {
    match b {
        b'z' => b'a',
        b'Z' => b'A',
        b'9' => b'0',
        _ => b + 1,
    }
}

/// Rewrites every `prev` from line `from` (0-based) on, as an attacker hiding an edit would.
fn rechain(lines: &mut [Vec<u8>], from: usize, old: &[Vec<u8>]) {
    for k in from..lines.len() {
        let was = hash_to_base64(&leaf_hash(&old[k - 1]));
        let now = hash_to_base64(&leaf_hash(&lines[k - 1]));
        let text = String::from_utf8(lines[k].clone()).unwrap().replacen(&was, &now, 1);
        lines[k] = text.into_bytes();
    }
}

#[test]
fn an_untouched_export_verifies() {
    let log = log_of(23);
    let mut export = Vec::new();
    log.export(&mut export).unwrap();
    let history: Vec<Checkpoint> = (0..23).step_by(5).map(|s| checkpoint(&log, s)).collect();
    let report = run(&export, &checkpoint(&log, 23), &history);
    assert!(report.is_intact(), "{:?}", found(&report));
    assert_eq!((report.entries, report.verified_size), (23, 23));
    assert_eq!(report.root, log.root());
    assert_eq!(report.verified_root, log.root());
    // Entries appended after the checkpoint are chained, so they verify too.
    let report = run(&export, &checkpoint(&log, 20), &[]);
    assert!(report.is_intact());
    assert_eq!(report.verified_size, 20);
    // CRLF line ends and a missing final newline do not matter.
    let crlf = String::from_utf8(export.clone()).unwrap().replace('\n', "\r\n");
    assert!(run(crlf.trim_end().as_bytes(), &checkpoint(&log, 23), &[]).is_intact());
    let empty = MemoryLog::new();
    assert!(run(b"", &checkpoint(&empty, 0), &[]).is_intact());
}

#[test]
fn each_tamper_kind_is_pinpointed() {
    let log = log_of(12);
    let lines = lines_of(&log);
    let trusted = checkpoint(&log, 12);

    let mut edited = lines.clone();
    edited[3] = String::from_utf8(edited[3].clone()).unwrap().replacen("evt-3", "evt-X", 1).into_bytes();
    let report = run(&join(&edited), &trusted, &[]);
    assert_eq!(found(&report), vec![("audit.root-mismatch", Some(1)), ("audit.entry-edited", Some(4))]);

    let deleted = [&lines[..4], &lines[5..]].concat();
    let report = run(&join(&deleted), &trusted, &[]);
    assert_eq!(found(&report), vec![("audit.root-mismatch", Some(1)), ("audit.entry-deleted", Some(5))]);
    assert!(report.findings[1].message.contains("seq 4 missing"), "{}", report.findings[1].message);

    let inserted = [&lines[..8], &lines[2..3], &lines[8..]].concat();
    let report = run(&join(&inserted), &trusted, &[]);
    assert_eq!(found(&report), vec![("audit.root-mismatch", Some(1)), ("audit.entry-inserted", Some(9))]);
    assert!(report.findings[1].message.contains("already at line 3"), "{}", report.findings[1].message);

    let mut swapped = lines.clone();
    swapped.swap(2, 9);
    let report = run(&join(&swapped), &trusted, &[]);
    assert_eq!(
        found(&report),
        vec![("audit.root-mismatch", Some(1)), ("audit.entries-reordered", Some(3)), ("audit.entries-reordered", Some(10))]
    );

    let report = run(&join(&lines[..9]), &trusted, &[]);
    assert_eq!(found(&report), vec![("audit.truncated", Some(9))]);
    assert!(report.findings[0].message.contains("seqs 9-11"), "{}", report.findings[0].message);

    let mut malformed = lines.clone();
    malformed[6] = b"{\"metadata\": oops".to_vec();
    let report = run(&join(&malformed), &trusted, &[]);
    assert_eq!(found(&report), vec![("audit.root-mismatch", Some(1)), ("audit.malformed-entry", Some(7))]);
}

#[test]
fn a_rewritten_chain_is_caught_by_the_root_and_narrowed_by_history() {
    let log = log_of(40);
    let lines = lines_of(&log);
    let mut forged = lines.clone();
    forged[24] = String::from_utf8(forged[24].clone()).unwrap().replacen("evt-24", "evt-2X", 1).into_bytes();
    rechain(&mut forged, 25, &lines);
    let history: Vec<Checkpoint> = [8, 16, 24, 32].iter().map(|&s| checkpoint(&log, s)).collect();
    let report = run(&join(&forged), &checkpoint(&log, 40), &history);
    assert_eq!(found(&report), vec![("audit.root-mismatch", Some(25))]);
    assert!(report.findings[0].message.contains("lines 25-32"), "{}", report.findings[0].message);
    assert_eq!(report.verified_size, 24);
    insta::assert_json_snapshot!(report.findings);
}

#[test]
fn an_edited_prev_is_blamed_on_its_own_entry() {
    let log = log_of(10);
    let lines = lines_of(&log);
    let garble = |line: &[u8]| {
        let text = String::from_utf8(line.to_vec()).unwrap();
        let at = text.find(r#""prev":""#).unwrap() + 9;
        let mut bytes = text.into_bytes();
        bytes[at] = flip(bytes[at]);
        bytes
    };
    let mut middle = lines.clone();
    middle[4] = garble(&middle[4]);
    let report = run(&join(&middle), &checkpoint(&log, 10), &[]);
    assert_eq!(found(&report), vec![("audit.root-mismatch", Some(1)), ("audit.entry-edited", Some(5))]);

    // On the last line only one link breaks; a checkpoint covering the line before settles it.
    let mut last = lines.clone();
    last[9] = garble(&last[9]);
    let report = run(&join(&last), &checkpoint(&log, 10), &[checkpoint(&log, 9)]);
    assert_eq!(found(&report), vec![("audit.entry-edited", Some(10)), ("audit.root-mismatch", Some(10))]);
}

#[test]
fn hostile_lines_are_bounded() {
    let log = log_of(3);
    let lines = lines_of(&log);
    let limits = Limits { max_line_bytes: 4096, ..Limits::default() };
    let mut export = join(&lines[..1]);
    export.extend(std::iter::repeat_n(b'[', 10_000));
    export.push(b'\n');
    export.extend(join(&lines[1..]));
    let report = verify_export("x", &export[..], &checkpoint(&log, 3), &[], &limits).unwrap();
    let rules: Vec<_> = found(&report);
    assert!(rules.contains(&("audit.malformed-entry", Some(2))), "{rules:?}");
    assert!(report.findings.iter().any(|f| f.message.contains("10000 bytes")));
    // The long line is hashed in passing, so the tree still has four leaves.
    assert_eq!(report.entries, 4);

    let limits = Limits { max_entries: 2, ..Limits::default() };
    let report = verify_export("x", &join(&lines)[..], &checkpoint(&log, 2), &[], &limits).unwrap();
    assert!(!report.complete);
    assert_eq!(found(&report), vec![("audit.limit-exceeded", Some(3))]);

    let limits = Limits { max_findings: 1, ..Limits::default() };
    let garbage = b"a\nb\nc\n";
    let report = verify_export("x", &garbage[..], &checkpoint(&MemoryLog::new(), 0), &[], &limits).unwrap();
    assert_eq!((report.findings.len(), report.omitted_findings), (1, 2));
    assert!(!report.is_intact());
}

#[test]
fn checkpoints_must_agree() {
    let log = log_of(4);
    let export = join(&lines_of(&log));
    let other = Checkpoint { origin: "elsewhere".into(), ..checkpoint(&log, 2) };
    let err = verify_export("x", &export[..], &checkpoint(&log, 4), &[other], &Limits::default()).unwrap_err();
    assert!(matches!(err, VerifyError::MixedOrigins(..)));
    let forked = Checkpoint { root: leaf_hash(b"fork"), ..checkpoint(&log, 2) };
    let report = run(&export, &checkpoint(&log, 4), &[checkpoint(&log, 2), forked]);
    assert_eq!(found(&report), vec![("audit.root-mismatch", None)]);
    assert!(report.findings[0].message.contains("conflicting"));
}

#[test]
fn read_errors_are_errors_not_findings() {
    struct Broken;
    impl Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("disk on fire"))
        }
    }
    let err = verify_export("x", BufReader::new(Broken), &checkpoint(&MemoryLog::new(), 0), &[], &Limits::default());
    assert!(matches!(err, Err(VerifyError::Io { line: 0, .. })));
}

#[derive(Debug, Clone)]
enum Tamper {
    Edit { line: usize, pick: usize },
    Delete { line: usize },
    InsertCopy { from: usize, at: usize },
    Swap { a: usize, b: usize },
    Truncate { keep: usize },
    Rechain { line: usize, pick: usize },
}

fn tamper() -> impl Strategy<Value = Tamper> {
    let i = any::<usize>;
    prop_oneof![
        (i(), i()).prop_map(|(line, pick)| Tamper::Edit { line, pick }),
        i().prop_map(|line| Tamper::Delete { line }),
        (i(), i()).prop_map(|(from, at)| Tamper::InsertCopy { from, at }),
        (i(), i()).prop_map(|(a, b)| Tamper::Swap { a, b }),
        i().prop_map(|keep| Tamper::Truncate { keep }),
        (i(), i()).prop_map(|(line, pick)| Tamper::Rechain { line, pick }),
    ]
}

fn edit(line: &[u8], pick: usize) -> Vec<u8> {
    let spots = value_positions(line);
    let mut out = line.to_vec();
    let at = spots[pick % spots.len()];
    out[at] = flip(out[at]);
    out
}

proptest! {
    #[test]
    fn tampering_is_reported_at_the_right_line(n in 1usize..30, t in tamper(), history in proptest::collection::vec(any::<u16>(), 0..4)) {
        let log = log_of(n as u64);
        let lines = lines_of(&log);
        let trusted = checkpoint(&log, n as u64);
        let history: Vec<Checkpoint> = history.iter().map(|&h| checkpoint(&log, u64::from(h) % n as u64)).collect();
        let below = |line: usize| history.iter().map(|c| c.size as usize).filter(|&s| s < line).max().unwrap_or(0);
        let mut out = lines.clone();
        // (rule, accepted lines) expected besides the root-level finding.
        let expected: Option<(&Rule, Vec<usize>)> = match t.clone() {
            Tamper::Edit { line, pick } => {
                let l = line % n;
                out[l] = edit(&lines[l], pick);
                (l + 1 < n).then(|| (&rules::ENTRY_EDITED, vec![l + 1]))
            }
            Tamper::Delete { line } => {
                let l = line % n;
                out.remove(l);
                (l + 1 < n).then(|| (&rules::ENTRY_DELETED, vec![l + 1]))
            }
            Tamper::InsertCopy { from, at } => {
                let (f, a) = (from % n, at % (n + 1));
                out.insert(a, lines[f].clone());
                // A copy next to its original is indistinguishable from it.
                let mut accepted = vec![a + 1];
                if a == f || a == f + 1 { accepted.extend([f + 1, f + 2]); }
                Some((&rules::ENTRY_INSERTED, accepted))
            }
            Tamper::Swap { a, b } => {
                let (a, b) = (a % n, b % n);
                prop_assume!(a != b);
                out.swap(a, b);
                Some((&rules::ENTRIES_REORDERED, vec![a + 1, b + 1]))
            }
            Tamper::Truncate { keep } => {
                out.truncate(keep % n);
                None
            }
            Tamper::Rechain { line, pick } => {
                let l = line % n;
                out[l] = edit(&lines[l], pick);
                rechain(&mut out, l + 1, &lines);
                None
            }
        };
        let report = run(&join(&out), &trusted, &history);
        let got = found(&report);
        let mut allowed: Vec<&str> = Vec::new();
        if let Some((rule, accepted)) = &expected {
            prop_assert!(report.findings.iter().any(|f| f.rule_id.as_str() == rule.id && accepted.iter().any(|&l| f.location.line == Some(l as u64))),
                "{t:?}: expected {} at {accepted:?}, got {got:?}", rule.id);
            allowed.push(rule.id);
            // One finding per tampered entry: a swap moves two.
            let count = got.iter().filter(|(id, _)| *id == rule.id).count();
            let most = if matches!(t, Tamper::Swap { .. }) { 2 } else { 1 };
            prop_assert!(count <= most, "{t:?}: {got:?}");
        }
        // The root-level finding: truncation, or a root mismatch narrowed by the history.
        let first_changed = (0..n).find(|&k| out.get(k) != Some(&lines[k]));
        // Only a strict prefix of the log is a truncation; shorter exports otherwise lost entries inside.
        let ends_early = out.len() < n && out[..] == lines[..out.len()];
        if ends_early {
            let last = out.len() as u64;
            prop_assert!(got.contains(&("audit.truncated", (last > 0).then_some(last))), "{t:?}: {got:?}");
            allowed.push("audit.truncated");
        } else if let Some(k) = first_changed {
            prop_assert!(got.contains(&("audit.root-mismatch", Some(below(k + 1) as u64 + 1))), "{t:?}: {got:?}");
            allowed.push("audit.root-mismatch");
        }
        for (rule, _) in &got {
            prop_assert!(allowed.contains(rule), "{t:?}: unexpected {rule} in {got:?}");
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000), size in 0u64..5) {
        let cp = Checkpoint { origin: ORIGIN.into(), size, root: leaf_hash(b"x") };
        let limits = Limits { max_line_bytes: 64, max_tracked: 2, ..Limits::default() };
        let report = verify_export("fuzz", &bytes[..], &cp, &[], &limits).unwrap();
        prop_assert!(report.entries <= bytes.len() as u64 + 1);
    }
}
