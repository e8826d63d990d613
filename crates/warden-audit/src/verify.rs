//! Offline verification of an exported log (`warden audit verify`).
//!
//! The export is JSON lines, each line the exact bytes of one entry, in log order. It is read
//! streaming, one bounded line at a time: the Merkle tree is kept as a [`CompactRange`] (O(log n)
//! hashes), sequence numbers and `prev` hashes are followed by a tracker with one entry of
//! lookahead (see `chain`), and the root is compared with every signed checkpoint as the export
//! passes its size. Problems become [`Finding`]s naming the export and the 1-based line.

mod chain;

use std::io::{self, BufRead};

use serde::Serialize;
use sha2::{Digest, Sha256};
use warden_core::{Finding, Location, Rule};

use crate::checkpoint::Checkpoint;
use crate::entry::{MAX_ENTRY_BYTES, decode};
use crate::rules::{LIMIT_EXCEEDED, MALFORMED_ENTRY, ROOT_MISMATCH, TRUNCATED};
use crate::tree::{CompactRange, EMPTY_HASH, Hash, hash_to_base64, leaf_hash};

use chain::{Seen, Tracker};

/// Bounds on what one verification reads and remembers.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Longest line read into memory; longer lines are hashed in passing and reported malformed.
    pub max_line_bytes: usize,
    /// Lines read before stopping with `audit.limit-exceeded`.
    pub max_entries: u64,
    /// Findings kept; the rest are only counted.
    pub max_findings: usize,
    /// Anomalies (gaps, out-of-place entries) remembered at once to tell moves from deletions.
    pub max_tracked: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_line_bytes: MAX_ENTRY_BYTES, max_entries: 1 << 32, max_findings: 1000, max_tracked: 10_000 }
    }
}

/// What a verification found.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// Every problem, in line order.
    pub findings: Vec<Finding>,
    /// Findings over [`Limits::max_findings`], counted but not kept.
    pub omitted_findings: u64,
    /// Lines read.
    pub entries: u64,
    /// Tree head over every line read.
    #[serde(serialize_with = "serialize_hash")]
    pub root: Hash,
    /// Largest checkpoint size whose root the export reproduces (with no mismatch below it).
    pub verified_size: u64,
    /// That checkpoint's root.
    #[serde(serialize_with = "serialize_hash")]
    pub verified_root: Hash,
    /// False when a limit stopped verification before the end of the export.
    pub complete: bool,
}

fn serialize_hash<S: serde::Serializer>(hash: &Hash, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hash_to_base64(hash))
}

impl VerifyReport {
    /// True when the whole export was read and nothing is wrong.
    pub fn is_intact(&self) -> bool {
        self.complete && self.findings.is_empty() && self.omitted_findings == 0
    }
}

/// Why verification could not run (as opposed to finding tampering).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The export could not be read.
    #[error("reading the export failed after line {line}: {source}")]
    Io {
        /// Lines read before the failure.
        line: u64,
        /// The underlying error.
        source: io::Error,
    },
    /// The checkpoints name different logs.
    #[error("checkpoints are for different logs: `{0}` and `{1}`")]
    MixedOrigins(String, String),
}

/// Collects findings for one export, up to a cap.
pub(crate) struct Sink {
    name: String,
    findings: Vec<Finding>,
    max: usize,
    omitted: u64,
}

impl Sink {
    fn add(&mut self, rule: &Rule, line: Option<u64>, message: String, evidence: Option<String>) {
        if self.findings.len() >= self.max {
            self.omitted += 1;
            return;
        }
        let mut location = Location::file(self.name.clone());
        location.line = line;
        let mut finding = rule.finding(message, location);
        finding.evidence = evidence;
        self.findings.push(finding);
    }
}

/// One line of the export: its bytes, or only its hash when it is over the length limit.
enum Line<'a> {
    Full(&'a [u8]),
    TooLong { len: u64, hash: Hash },
}

/// Reads `\n`-terminated lines without ever holding more than `max` bytes of one.
struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    max: usize,
}

impl<R: BufRead> LineReader<R> {
    fn next(&mut self) -> io::Result<Option<Line<'_>>> {
        self.buf.clear();
        let mut long: Option<(Sha256, u64)> = None;
        let mut any = false;
        loop {
            let chunk = match self.inner.fill_buf() {
                Ok(chunk) => chunk,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                if !any {
                    return Ok(None);
                }
                break;
            }
            any = true;
            let (part, used, done) = match memchr::memchr(b'\n', chunk) {
                Some(i) => (&chunk[..i], i + 1, true),
                None => (chunk, chunk.len(), false),
            };
            match &mut long {
                Some((hasher, len)) => {
                    hasher.update(part);
                    *len += part.len() as u64;
                }
                None if self.buf.len() + part.len() > self.max => {
                    // The leaf hash is still computed, so the tree head stays checkable.
                    let mut hasher = Sha256::new();
                    hasher.update([0u8]);
                    hasher.update(&self.buf);
                    hasher.update(part);
                    long = Some((hasher, (self.buf.len() + part.len()) as u64));
                    self.buf.clear();
                }
                None => self.buf.extend_from_slice(part),
            }
            self.inner.consume(used);
            if done {
                break;
            }
        }
        if let Some((hasher, len)) = long {
            let hash: [u8; 32] = hasher.finalize().into();
            return Ok(Some(Line::TooLong { len, hash: Hash(hash) }));
        }
        // Entries never end in a raw CR (JSON escapes it), so a CRLF export is read as LF.
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        Ok(Some(Line::Full(&self.buf)))
    }
}

/// The signed checkpoints, by size, compared with the tree as it grows.
struct Checkpoints {
    list: Vec<(u64, Hash)>,
    next: usize,
    verified: (u64, Hash),
    /// First mismatch: (largest matching size below it, its size, expected root, computed root).
    mismatch: Option<(u64, u64, Hash, Hash)>,
}

impl Checkpoints {
    fn new(trusted: &Checkpoint, extra: &[Checkpoint], out: &mut Sink) -> Result<Self, VerifyError> {
        let mut list = Vec::with_capacity(extra.len() + 1);
        for cp in std::iter::once(trusted).chain(extra) {
            if cp.origin != trusted.origin {
                return Err(VerifyError::MixedOrigins(trusted.origin.clone(), cp.origin.clone()));
            }
            list.push((cp.size, cp.root));
        }
        list.sort_by_key(|&(size, root)| (size, root.0));
        list.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
        for pair in list.windows(2) {
            if pair[0].0 == pair[1].0 {
                let msg = format!(
                    "two signed checkpoints give different roots for size {}: the log signed conflicting histories",
                    pair[0].0
                );
                let evidence = format!("{} and {}", hash_to_base64(&pair[0].1), hash_to_base64(&pair[1].1));
                out.add(&ROOT_MISMATCH, None, msg, Some(evidence));
            }
        }
        Ok(Checkpoints { list, next: 0, verified: (0, EMPTY_HASH), mismatch: None })
    }

    /// Compares every checkpoint of exactly the tree's current size.
    fn check(&mut self, tree: &CompactRange) {
        let size = tree.size();
        let start = self.next;
        while self.list.get(self.next).is_some_and(|&(cp_size, _)| cp_size == size) {
            self.next += 1;
        }
        let here = &self.list[start..self.next];
        let Some(&(_, expected)) = here.first() else { return };
        if self.mismatch.is_some() {
            return;
        }
        let actual = tree.root();
        // With conflicting checkpoints for one size (reported apart), matching either one counts.
        if here.iter().any(|&(_, root)| root == actual) {
            self.verified = (size, actual);
        } else {
            self.mismatch = Some((self.verified.0, size, expected, actual));
        }
    }

    /// The largest size any checkpoint covers.
    fn largest(&self) -> u64 {
        self.list.last().map_or(0, |&(size, _)| size)
    }
}

/// Verifies an export against a trusted checkpoint (already signature-checked) and, optionally,
/// more signed checkpoints from the log's history, which narrow down where tampering happened.
///
/// `name` is what findings call the export (its path, or `-`). Reads `reader` to the end (or to
/// [`Limits::max_entries`]) in bounded memory and never panics on hostile input; an `Err` means
/// the export could not be read, not that it was tampered with.
pub fn verify_export<R: BufRead>(
    name: &str,
    reader: R,
    trusted: &Checkpoint,
    extra_checkpoints: &[Checkpoint],
    limits: &Limits,
) -> Result<VerifyReport, VerifyError> {
    let mut out = Sink { name: name.to_owned(), findings: Vec::new(), max: limits.max_findings, omitted: 0 };
    let mut checkpoints = Checkpoints::new(trusted, extra_checkpoints, &mut out)?;
    let max_line = limits.max_line_bytes.min(MAX_ENTRY_BYTES);
    let mut lines = LineReader { inner: reader, buf: Vec::new(), max: max_line };
    let mut tree = CompactRange::new();
    let mut tracker = Tracker::new(limits.max_tracked);
    let mut malformed_run = 0u64;
    let mut complete = true;
    checkpoints.check(&tree);
    loop {
        let line_no = tree.size() + 1;
        let line = lines.next().map_err(|source| VerifyError::Io { line: line_no - 1, source })?;
        let Some(line) = line else { break };
        if line_no > limits.max_entries {
            complete = false;
            let msg = format!("stopped after {} entries, the configured limit; the rest of the export was not verified", limits.max_entries);
            out.add(&LIMIT_EXCEEDED, Some(line_no), msg, None);
            break;
        }
        let (hash, parsed) = match line {
            Line::Full(bytes) => (leaf_hash(bytes), decode(bytes).map_err(|e| e.to_string())),
            Line::TooLong { len, hash } => (hash, Err(format!("line is {len} bytes, over the {max_line}-byte limit"))),
        };
        tree.push(hash);
        checkpoints.check(&tree);
        match parsed {
            Ok(entry) => {
                let prev = entry.prev_hash();
                let seen = Seen {
                    line: line_no,
                    seq: entry.seq,
                    hash,
                    prev,
                    has_prev: entry.prev.is_some(),
                    malformed_before: malformed_run,
                };
                malformed_run = 0;
                tracker.push(seen, &mut out);
            }
            Err(why) => {
                malformed_run += 1;
                out.add(&MALFORMED_ENTRY, Some(line_no), format!("line {line_no} is not an audit entry: {why}"), None);
            }
        }
    }
    let overflowed = tracker.overflowed;
    let tail = tracker.finish(&mut out);
    let entries = tree.size();
    if let Some((pa, pb)) = tail.pending {
        // Either pa's bytes or pb's `prev` changed; a checkpoint covering pa settles it.
        if checkpoints.verified.0 >= pa.line { chain::report_last(pa, pb, &mut out) } else { chain::report_first(pa, pb, &mut out) }
    }
    report_root(&checkpoints, entries, tail.last_seq, &mut out);
    if overflowed {
        let msg = "too many anomalies to track at once; some moved entries may be reported as deleted or inserted".to_owned();
        out.add(&LIMIT_EXCEEDED, None, msg, None);
    }
    out.findings.sort_by_key(|f| f.location.line.unwrap_or(0));
    Ok(VerifyReport {
        findings: out.findings,
        omitted_findings: out.omitted,
        entries,
        root: tree.root(),
        verified_size: checkpoints.verified.0,
        verified_root: checkpoints.verified.1,
        complete,
    })
}

/// Root-mismatch and truncation findings once the export has ended.
fn report_root(checkpoints: &Checkpoints, entries: u64, last_seq: Option<u64>, out: &mut Sink) {
    let largest = checkpoints.largest();
    let held = last_seq.map_or(0, |s| s.saturating_add(1));
    let truncated = entries < largest && held < largest;
    if truncated {
        let msg = match last_seq {
            Some(seq) => format!(
                "the export ends at seq {seq} (line {entries}) but the signed checkpoint covers {largest} entries: seqs {}-{} were deleted from the end",
                seq + 1,
                largest - 1
            ),
            None => format!("the export holds no entries but the signed checkpoint covers {largest}"),
        };
        out.add(&TRUNCATED, (entries > 0).then_some(entries), msg, None);
    }
    if let Some((good, bad, expected, actual)) = checkpoints.mismatch {
        let region = if good == 0 { format!("lines 1-{bad}") } else { format!("lines {}-{bad} (the checkpoint for size {good} matches)", good + 1) };
        let msg = format!("the root over the first {bad} entries differs from the signed checkpoint for size {bad}: tampering within {region}");
        let evidence = format!("signed {}, computed {}", hash_to_base64(&expected), hash_to_base64(&actual));
        out.add(&ROOT_MISMATCH, Some(good + 1), msg, Some(evidence));
    } else if entries < largest && !truncated {
        let good = checkpoints.verified.0;
        let msg = format!(
            "the export holds {entries} entries, fewer than the {largest} the signed checkpoint covers, so its root cannot match (entries after line {good} are suspect)"
        );
        out.add(&ROOT_MISMATCH, Some(good + 1), msg, None);
    }
}

#[cfg(test)]
mod tests;
