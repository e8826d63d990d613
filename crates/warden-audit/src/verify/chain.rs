//! The backbone tracker: follows sequence numbers and `prev` hashes through an export with one
//! entry of lookahead and says which line broke which rule.
//!
//! The backbone is the run of entries that continue each other by sequence number. An entry that
//! does not fit is an intruder: ahead of the backbone (its sequence number is larger than the
//! next one and the entry after it continues from before it) or behind it (its number was already
//! passed). Skipped numbers are gaps. An intruder that lands in a gap was moved (reordered); one
//! whose number the backbone also holds is a copy or a forgery (inserted); gaps nobody fills were
//! deleted. A backbone link whose `prev` does not match is an edit: if the next link is broken
//! too, the middle entry changed (its `prev` and its hash are both off), else the first one did.
//!
//! Memory is O(anomalies), capped by `max_tracked`: gaps, pending intruders and the runs that map
//! sequence numbers back to lines.

use std::collections::BTreeMap;

use crate::rules::{ENTRIES_REORDERED, ENTRY_DELETED, ENTRY_EDITED, ENTRY_INSERTED};
use crate::tree::{Hash, hash_to_base64};

use super::Sink;

/// One parsed line, as the tracker sees it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Seen {
    /// 1-based line number.
    pub line: u64,
    /// `metadata.sequence`.
    pub seq: u64,
    /// Its leaf hash.
    pub hash: Hash,
    /// Its decoded `prev` (None when absent or not a hash).
    pub prev: Option<Hash>,
    /// Whether it carries any `prev` at all.
    pub has_prev: bool,
    /// Malformed lines between the previous parsed line and this one.
    pub malformed_before: u64,
}

/// A backbone entry: its line, the sequence position it holds, its hash.
#[derive(Debug, Clone, Copy)]
pub(super) struct Link {
    pub line: u64,
    pub seq: u64,
    pub hash: Hash,
}

#[derive(Debug)]
struct Gap {
    /// Last missing sequence number (inclusive); the key is the first.
    end: u64,
    /// Line of the entry after the gap, and of the one before it.
    line: u64,
    after_line: Option<u64>,
    /// For a one-entry gap, the hash the entry after it expects of the missing one.
    expected: Option<Hash>,
}

#[derive(Debug)]
struct Run {
    seq: u64,
    line: u64,
    len: u64,
}

enum Mode {
    InOrder { chained: bool },
    AfterGap { start: u64, end: u64 },
}

/// What is left when the export ends.
pub(super) struct Tail {
    /// Sequence position of the last backbone entry.
    pub last_seq: Option<u64>,
    /// A broken final link: either the first entry's hash or the second's `prev` changed.
    pub pending: Option<(Link, Link)>,
}

pub(super) struct Tracker {
    last: Option<Link>,
    held: Option<Seen>,
    pending: Option<(Link, Link)>,
    gaps: BTreeMap<u64, Gap>,
    ahead: BTreeMap<u64, Vec<Seen>>,
    ahead_len: usize,
    runs: Vec<Run>,
    max_tracked: usize,
    /// Set when a cap forced a problem to be reported without full context.
    pub overflowed: bool,
}

fn seqs(start: u64, end: u64) -> String {
    if start == end { format!("seq {start}") } else { format!("seqs {start}-{end}") }
}

impl Tracker {
    pub fn new(max_tracked: usize) -> Self {
        Tracker {
            last: None,
            held: None,
            pending: None,
            gaps: BTreeMap::new(),
            ahead: BTreeMap::new(),
            ahead_len: 0,
            runs: Vec::new(),
            max_tracked: max_tracked.max(1),
            overflowed: false,
        }
    }

    /// Takes the next parsed line; decides about the one before it.
    pub fn push(&mut self, next: Seen, out: &mut Sink) {
        let held = self.held.replace(next);
        if let Some(b) = held {
            self.decide(b, Some(next), out);
        }
    }

    /// Decides the last line, then reports what is still unexplained.
    pub fn finish(mut self, out: &mut Sink) -> Tail {
        if let Some(b) = self.held.take() {
            self.decide(b, None, out);
        }
        let last_seq = self.last.map(|a| a.seq);
        // Entries moved up from the end continue the backbone past its last line.
        let mut next = last_seq.map_or(0, |s| s.saturating_add(1));
        let last_line = self.last.map_or(0, |a| a.line);
        for (seq, intruders) in std::mem::take(&mut self.ahead) {
            for x in intruders {
                if seq == next {
                    next = next.saturating_add(1);
                    let msg = format!(
                        "entry seq {seq} at line {} is out of order: it appears before its neighbours and belongs after line {last_line}",
                        x.line
                    );
                    out.add(&ENTRIES_REORDERED, Some(x.line), msg, None);
                } else {
                    let msg = format!(
                        "entry seq {seq} at line {} fits nowhere: the log continues from before it and never reaches seq {seq}",
                        x.line
                    );
                    out.add(&ENTRY_INSERTED, Some(x.line), msg, Some(hash_to_base64(&x.hash)));
                }
            }
        }
        for (start, gap) in std::mem::take(&mut self.gaps) {
            report_gap(start, &gap, out);
        }
        Tail { last_seq: next.checked_sub(1), pending: self.pending }
    }

    fn decide(&mut self, b: Seen, c: Option<Seen>, out: &mut Sink) {
        let expected = self.last.map_or(0, |a| a.seq.saturating_add(1));
        let chain_ab = match self.last {
            Some(a) => b.prev == Some(a.hash),
            None => !b.has_prev,
        };
        let chain_bc = c.is_some_and(|c| c.prev == Some(b.hash));
        if b.seq == expected {
            return self.commit(b, expected, Mode::InOrder { chained: chain_ab }, out);
        }
        if b.seq > expected {
            let after_a = |s: u64| self.last.is_none_or(|a| s > a.seq);
            let c_between = c.is_some_and(|c| after_a(c.seq) && c.seq < b.seq);
            if !c_between {
                return self.commit(b, b.seq, Mode::AfterGap { start: expected, end: b.seq - 1 }, out);
            }
            if chain_ab || chain_bc {
                return self.renumbered(b, expected, out);
            }
            return self.intrude_ahead(b, out);
        }
        let c_follows = c.is_none_or(|c| c.seq == expected.saturating_add(1) || chain_bc);
        if chain_ab && c_follows {
            return self.renumbered(b, expected, out);
        }
        self.intrude_behind(b, out);
    }

    /// `b` sits where its `prev` hash says it belongs, under the wrong sequence number.
    fn renumbered(&mut self, b: Seen, expected: u64, out: &mut Sink) {
        let msg = format!(
            "entry at line {} says seq {} but its position in the hash chain is seq {expected}: its sequence number was changed",
            b.line, b.seq
        );
        out.add(&ENTRY_EDITED, Some(b.line), msg, None);
        self.commit(b, expected, Mode::InOrder { chained: true }, out);
    }

    fn commit(&mut self, b: Seen, seq: u64, mode: Mode, out: &mut Sink) {
        let link = Link { line: b.line, seq, hash: b.hash };
        match mode {
            Mode::InOrder { chained } => match self.pending.take() {
                Some((pa, pb)) if !chained && self.last.is_some_and(|a| a.line == pb.line) => {
                    report_middle(pa, pb, link, out);
                }
                Some((pa, pb)) => {
                    report_first(pa, pb, out);
                    self.break_at(link, chained, out);
                }
                None => self.break_at(link, chained, out),
            },
            Mode::AfterGap { start, end } => {
                if let Some((pa, pb)) = self.pending.take() {
                    report_first(pa, pb, out);
                }
                // Missing numbers the malformed lines just before may account for are theirs.
                if b.malformed_before < end - start + 1 {
                    let gap = Gap {
                        end,
                        line: b.line,
                        after_line: self.last.map(|a| a.line),
                        expected: if start == end { b.prev } else { None },
                    };
                    self.add_gap(start, gap, out);
                }
            }
        }
        self.extend_runs(seq, b.line);
        self.last = Some(link);
        self.resolve_ahead(seq, out);
    }

    fn break_at(&mut self, link: Link, chained: bool, out: &mut Sink) {
        if chained {
            return;
        }
        match self.last {
            Some(a) => self.pending = Some((a, link)),
            None => {
                let msg = format!("entry seq {} at line {} names a predecessor, but it is the first entry", link.seq, link.line);
                out.add(&ENTRY_EDITED, Some(link.line), msg, None);
            }
        }
    }

    fn add_gap(&mut self, start: u64, gap: Gap, out: &mut Sink) {
        self.gaps.insert(start, gap);
        if self.gaps.len() > self.max_tracked {
            self.overflowed = true;
            if let Some((start, gap)) = self.gaps.pop_first() {
                report_gap(start, &gap, out);
            }
        }
    }

    /// Removes `seq` from the gap that holds it, if any.
    fn take_from_gap(&mut self, seq: u64) -> Option<Gap> {
        let (&start, gap) = self.gaps.range(..=seq).next_back()?;
        if seq > gap.end {
            return None;
        }
        let gap = self.gaps.remove(&start)?;
        let part = |end| Gap { end, line: gap.line, after_line: gap.after_line, expected: None };
        if start < seq {
            self.gaps.insert(start, part(seq - 1));
        }
        if seq < gap.end {
            self.gaps.insert(seq + 1, part(gap.end));
        }
        Some(gap)
    }

    fn extend_runs(&mut self, seq: u64, line: u64) {
        if let Some(run) = self.runs.last_mut()
            && run.seq.checked_add(run.len) == Some(seq)
            && run.line.checked_add(run.len) == Some(line)
        {
            run.len += 1;
            return;
        }
        if self.runs.len() < self.max_tracked {
            self.runs.push(Run { seq, line, len: 1 });
        }
    }

    fn line_of(&self, seq: u64) -> Option<u64> {
        let i = self.runs.partition_point(|r| r.seq.saturating_add(r.len) <= seq);
        let run = self.runs.get(i)?;
        (run.seq <= seq).then(|| run.line + (seq - run.seq))
    }

    fn intrude_ahead(&mut self, b: Seen, out: &mut Sink) {
        if self.ahead_len >= self.max_tracked {
            self.overflowed = true;
            let msg = format!("entry seq {} at line {} is out of place: the entry after it continues from before it", b.seq, b.line);
            return out.add(&ENTRY_INSERTED, Some(b.line), msg, None);
        }
        self.ahead_len += 1;
        self.ahead.entry(b.seq).or_default().push(b);
        self.carry_malformed(b);
    }

    fn intrude_behind(&mut self, b: Seen, out: &mut Sink) {
        self.carry_malformed(b);
        match self.take_from_gap(b.seq) {
            Some(gap) => report_moved(b, &gap, "after", out),
            None => self.report_duplicate(b, out),
        }
    }

    /// Malformed lines before a dropped intruder still sit before the next entry.
    fn carry_malformed(&mut self, b: Seen) {
        if let Some(next) = &mut self.held {
            next.malformed_before += b.malformed_before;
        }
    }

    /// Settles intruders the backbone has now passed.
    fn resolve_ahead(&mut self, upto: u64, out: &mut Sink) {
        while let Some(entry) = self.ahead.first_entry() {
            if *entry.key() > upto {
                break;
            }
            let intruders = entry.remove();
            self.ahead_len -= intruders.len();
            for x in intruders {
                match self.take_from_gap(x.seq) {
                    Some(gap) => report_moved(x, &gap, "before", out),
                    None => self.report_duplicate(x, out),
                }
            }
        }
    }

    fn report_duplicate(&self, x: Seen, out: &mut Sink) {
        let original = match self.line_of(x.seq) {
            Some(line) => format!("seq {} is already at line {line}", x.seq),
            None => format!("seq {} is already in the log", x.seq),
        };
        let msg = format!("entry at line {} repeats a sequence number: {original}", x.line);
        out.add(&ENTRY_INSERTED, Some(x.line), msg, Some(hash_to_base64(&x.hash)));
    }
}

/// A broken link blamed on its first entry: the second one's `prev` records another hash.
pub(super) fn report_first(pa: Link, pb: Link, out: &mut Sink) {
    let msg = format!(
        "entry seq {} at line {} was modified: its hash no longer matches the prev recorded by seq {} at line {}",
        pa.seq, pa.line, pb.seq, pb.line
    );
    out.add(&ENTRY_EDITED, Some(pa.line), msg, Some(format!("leaf hash {}", hash_to_base64(&pa.hash))));
}

fn report_middle(pa: Link, pb: Link, c: Link, out: &mut Sink) {
    let msg = format!(
        "entry seq {} at line {} was modified: its prev does not match seq {} (line {}) and its hash does not match the prev recorded by seq {} (line {})",
        pb.seq, pb.line, pa.seq, pa.line, c.seq, c.line
    );
    out.add(&ENTRY_EDITED, Some(pb.line), msg, Some(format!("leaf hash {}", hash_to_base64(&pb.hash))));
}

/// A broken last link, blamed on its second entry because a checkpoint vouches for the first.
pub(super) fn report_last(pa: Link, pb: Link, out: &mut Sink) {
    let msg = format!(
        "entry seq {} at line {} was modified: its prev does not match seq {} (line {}), which a signed checkpoint covers",
        pb.seq, pb.line, pa.seq, pa.line
    );
    out.add(&ENTRY_EDITED, Some(pb.line), msg, None);
}

fn report_moved(x: Seen, gap: &Gap, direction: &str, out: &mut Sink) {
    let place = match gap.after_line {
        Some(before) => format!("between lines {before} and {}", gap.line),
        None => format!("before line {}", gap.line),
    };
    let msg = format!(
        "entry seq {} at line {} is out of order: it appears {direction} its neighbours and belongs {place}",
        x.seq, x.line
    );
    out.add(&ENTRIES_REORDERED, Some(x.line), msg, None);
    if gap.expected.is_some_and(|h| h != x.hash) {
        let msg = format!(
            "entry seq {} at line {} was modified: its hash does not match the prev recorded by the entry at line {}",
            x.seq, x.line, gap.line
        );
        out.add(&ENTRY_EDITED, Some(x.line), msg, None);
    }
}

fn report_gap(start: u64, gap: &Gap, out: &mut Sink) {
    let place = match gap.after_line {
        Some(before) => format!("between lines {before} and {}", gap.line),
        None => format!("before line {}", gap.line),
    };
    let count = gap.end - start + 1;
    let msg = format!("{count} entr{} deleted {place}: {} missing", if count == 1 { "y" } else { "ies" }, seqs(start, gap.end));
    out.add(&ENTRY_DELETED, Some(gap.line), msg, None);
}
