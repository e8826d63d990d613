//! [`ScanContext`]: the state of scanning one input file — where we are inside nested archives,
//! how much has been inflated so far, and the findings collected.
//!
//! Every format module receives a `&mut ScanContext` and the bytes to inspect; it reports with
//! [`ScanContext::report`] and hands embedded content back with [`ScanContext::scan_member`], which
//! enforces the nesting and inflation limits in one place.

use std::io::Read;

use warden_core::{Finding, Location, Severity};

use crate::rules::{ATLAS_DENIAL_OF_SERVICE, Rule};
use crate::settings::{Limits, ScanSettings};
use crate::sniff::Format;

/// A resource limit was hit; the content was not (fully) inspected.
pub(crate) static LIMIT_EXCEEDED: Rule = Rule {
    id: "scan.limit-exceeded",
    severity: Severity::High,
    title: "content exceeds a scan limit",
    description: "Part of the file could not be inspected because it exceeds a size, ratio, count or \
                  nesting limit. Oversized or deeply nested content is a common way to hide a payload \
                  from scanners or to exhaust the memory of the loader (zip bombs).",
    atlas: &[ATLAS_DENIAL_OF_SERVICE, crate::rules::ATLAS_UNSAFE_ARTIFACT],
    remediation: "Do not load the file; if it is legitimate, raise the limit explicitly and scan again.",
};

/// The bytes are not in any format warden recognises.
pub(crate) static UNRECOGNIZED: Rule = Rule {
    id: "scan.unrecognized-format",
    severity: Severity::Info,
    title: "unrecognised content",
    description: "The content matches no model, archive or serialisation format warden inspects, so \
                  it was not analysed further. Loaders that do not check formats may still accept it.",
    atlas: &[],
    remediation: "Confirm what the file is; if a model loader reads it, report the format to warden.",
};

/// Reading the file failed midway.
pub(crate) static READ_ERROR: Rule = Rule {
    id: "scan.read-error",
    severity: Severity::Medium,
    title: "file could not be read",
    description: "The file could not be opened or read, so nothing in it was inspected.",
    atlas: &[],
    remediation: "Check permissions and that the file is not being written; scan again.",
};

/// Rules owned by this module.
pub(crate) const RULES: &[&Rule] = &[&LIMIT_EXCEEDED, &UNRECOGNIZED, &READ_ERROR];

/// Separator between nested archive member names in [`Location::member`].
pub const MEMBER_SEPARATOR: &str = "!/";

/// The state of scanning one input file.
pub struct ScanContext<'s> {
    settings: &'s ScanSettings,
    path: String,
    members: Vec<String>,
    inflated: u64,
    findings: Vec<Finding>,
    top_format: Option<Format>,
}

impl<'s> ScanContext<'s> {
    /// A context for the input file shown to users as `path`.
    pub fn new(settings: &'s ScanSettings, path: impl Into<String>) -> Self {
        ScanContext { settings, path: path.into(), members: Vec::new(), inflated: 0, findings: Vec::new(), top_format: None }
    }

    /// The settings of this scan.
    pub fn settings(&self) -> &'s ScanSettings {
        self.settings
    }

    /// The limits of this scan.
    pub fn limits(&self) -> &'s Limits {
        &self.settings.limits
    }

    /// How deep inside archives we are (0 for the file itself).
    pub fn depth(&self) -> usize {
        self.members.len()
    }

    /// The current location at `offset` within the innermost member (or file).
    pub fn location(&self, offset: Option<u64>) -> Location {
        let mut location = Location::file(self.path.clone());
        if !self.members.is_empty() {
            location.member = Some(self.members.join(MEMBER_SEPARATOR));
        }
        location.offset = offset;
        location
    }

    /// The innermost member name, or the file path at depth 0.
    pub fn current_name(&self) -> &str {
        self.members.last().map_or(self.path.as_str(), String::as_str)
    }

    /// Records a finding of `rule` here, returning it so callers can add evidence.
    pub fn report(&mut self, rule: &'static Rule, offset: Option<u64>, message: impl Into<String>) -> &mut Finding {
        self.report_with_severity(rule, rule.severity, offset, message)
    }

    /// Like [`ScanContext::report`] with a severity other than the rule's default (policy decides).
    pub fn report_with_severity(
        &mut self,
        rule: &'static Rule,
        severity: Severity,
        offset: Option<u64>,
        message: impl Into<String>,
    ) -> &mut Finding {
        let mut finding = Finding::new(rule.id, severity, rule.title, message, self.location(offset));
        finding.atlas = rule.atlas.iter().map(|s| (*s).to_owned()).collect();
        finding.remediation = Some(rule.remediation.to_owned());
        self.findings.push(finding);
        self.findings.last_mut().expect("just pushed")
    }

    /// Scans embedded content `data` found under the name `member` (an archive entry, a
    /// decompressed stream), sniffing its format. Returns the detected format, or `None` when the
    /// nesting limit stopped it.
    pub fn scan_member(&mut self, member: &str, data: &[u8]) -> Option<Format> {
        self.in_member(member, |ctx| crate::dispatch::scan_bytes(ctx, data))
    }

    /// Runs `scan` with `member` pushed on the location, without sniffing: for content whose
    /// meaning the container decides (a PyTorch `data.pkl` is unpickled whatever it looks like).
    /// Returns `None`, with a finding, when the nesting limit stops it.
    pub fn in_member<R>(&mut self, member: &str, scan: impl FnOnce(&mut Self) -> R) -> Option<R> {
        if self.members.len() >= self.limits().max_depth {
            let depth = self.limits().max_depth;
            self.report(&LIMIT_EXCEEDED, None, format!("archive nesting deeper than {depth} levels; `{member}` was not inspected"));
            return None;
        }
        self.members.push(member.to_owned());
        let result = scan(self);
        self.members.pop();
        Some(result)
    }

    /// Charges `bytes` of inflated output against the per-file budget; false (with a finding)
    /// when the budget is exhausted.
    pub fn charge_inflated(&mut self, bytes: u64) -> bool {
        self.inflated = self.inflated.saturating_add(bytes);
        if self.inflated > self.limits().max_inflated_total {
            let max = self.limits().max_inflated_total;
            self.report(&LIMIT_EXCEEDED, None, format!("more than {max} bytes inflated from this file; the rest was not inspected"));
            return false;
        }
        true
    }

    /// Inflates `reader` into memory, stopping at the member limit and the per-file budget.
    /// `compressed_len` (when known) enables the compression-ratio check. Returns `None` with a
    /// finding when a limit was hit; a decoding error mid-stream returns what was read so far plus
    /// the error text, because a loader would also have acted on that prefix.
    pub fn inflate(&mut self, what: &str, reader: impl Read, compressed_len: Option<u64>) -> Option<Inflated> {
        /// Output below this size never trips the ratio check (small members compress well).
        const RATIO_FLOOR: u64 = 16 << 20;
        let limits = self.limits();
        let remaining_budget = limits.max_inflated_total.saturating_sub(self.inflated);
        let size_cap = limits.max_member_bytes.min(remaining_budget);
        // The ratio is enforced while reading, so a bomb costs at most ratio x its compressed size.
        let ratio_cap = compressed_len.map(|c| c.saturating_mul(limits.max_ratio).max(RATIO_FLOOR));
        let cap = ratio_cap.map_or(size_cap, |r| r.min(size_cap));
        let mut out = Vec::new();
        let mut limited = reader.take(cap.saturating_add(1));
        let error = match limited.read_to_end(&mut out) {
            Ok(_) => None,
            Err(e) => Some(e.to_string()),
        };
        let n = out.len() as u64;
        if n > cap {
            self.inflated = self.inflated.saturating_add(n);
            let message = match (ratio_cap, compressed_len) {
                (Some(r), Some(c)) if r < size_cap => format!(
                    "`{what}` has a compression ratio over {}:1 ({c} compressed bytes to over {r}), typical of a decompression bomb; not inspected",
                    limits.max_ratio
                ),
                _ => format!("`{what}` inflates to more than {cap} bytes (member limit or remaining per-file budget); not inspected"),
            };
            self.report(&LIMIT_EXCEEDED, None, message);
            return None;
        }
        if !self.charge_inflated(n) {
            return None;
        }
        Some(Inflated { data: out, error })
    }

    /// Records the outermost format (the first call wins).
    pub(crate) fn note_format(&mut self, format: Format) {
        if self.members.is_empty() && self.top_format.is_none() {
            self.top_format = Some(format);
        }
    }

    /// Replaces the recorded format of the current level when a container turns out to be more
    /// specific than its magic number says (a zip that is a PyTorch checkpoint). Only the outermost
    /// level is recorded.
    pub fn refine_format(&mut self, format: Format) {
        if self.members.is_empty() {
            self.top_format = Some(format);
        }
    }

    /// The findings and the outermost format.
    pub fn finish(self) -> (Vec<Finding>, Option<Format>) {
        (self.findings, self.top_format)
    }

    /// Findings so far (for tests and for modules that inspect what a nested scan found).
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }
}

/// Reports findings up to a cap, then one finding counting the rest: a hostile header can hold
/// millions of broken entries, and a report of millions of lines helps nobody.
#[derive(Debug)]
pub(crate) struct CappedReports {
    cap: usize,
    reported: usize,
    suppressed: usize,
}

impl CappedReports {
    /// A reporter that lists at most `cap` findings individually.
    pub(crate) fn new(cap: usize) -> Self {
        CappedReports { cap, reported: 0, suppressed: 0 }
    }

    /// Reports like [`ScanContext::report`] while under the cap; counts otherwise.
    pub(crate) fn report(&mut self, ctx: &mut ScanContext<'_>, rule: &'static Rule, offset: Option<u64>, message: impl Into<String>) {
        if self.reported < self.cap {
            self.reported += 1;
            ctx.report(rule, offset, message);
        } else {
            self.suppressed += 1;
        }
    }

    /// Adds one `rule` finding saying how many `what` were not listed, if any.
    pub(crate) fn finish(self, ctx: &mut ScanContext<'_>, rule: &'static Rule, what: &str) {
        if self.suppressed > 0 {
            ctx.report(rule, None, format!("{} further {what} not listed individually", self.suppressed));
        }
    }
}

/// The result of [`ScanContext::inflate`].
pub struct Inflated {
    /// The bytes inflated (all of them, or the prefix before a decoding error).
    pub data: Vec<u8>,
    /// The decoding error that ended the stream early, if any.
    pub error: Option<String>,
}
