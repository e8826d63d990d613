//! Structural checks of a zip archive: names, local-versus-central agreement, duplicates, overlaps,
//! gaps and the end record. Each reports through [`ZipScan`]; bytes nobody lists are handed to a
//! member scan so what they hide is inspected too.

use std::collections::HashMap;
use std::ops::Range;

use warden_core::Severity;

use super::{
    BACKSLASH_NAME, COMMENT_TRICK, DUPLICATE_NAME, EXTRA_FIELD_TRICK, HEADER_MISMATCH, MALFORMED, OVERLAPPING_ENTRIES,
    PATH_TRAVERSAL, PREPENDED_DATA, Placed, TRAILING_DATA, UNLISTED_DATA, ZipScan,
};
use crate::formats::archive::{self, PathProblem};
use crate::formats::zip_layout::{self, LOCAL_SIG};
use crate::sniff::{self, Format};

impl<'a> ZipScan<'_, '_, 'a> {
    /// Names, encryption and local-versus-central agreement of one entry.
    pub(super) fn check_entry(&mut self, p: &Placed<'a>) {
        let offset = p.start.unwrap_or(p.central.record_offset);
        self.check_name(&p.name, p.central.name, offset);
        if let Some(unicode) = p.central.unicode_name
            && std::str::from_utf8(p.central.name).is_ok()
            && unicode != p.central.name
        {
            let shown = zip_layout::display_name(unicode);
            self.report(
                &EXTRA_FIELD_TRICK,
                Some(offset),
                format!("`{}` carries a Unicode path extra field naming it `{shown}`; Python 3.12+ and Info-ZIP use that name, older readers the header's", p.name),
            );
            self.check_name(&shown, unicode, offset);
        }
        let Some(local) = &p.local else {
            let at = p.start.map_or_else(|| format!("offset {} (outside the file)", p.central.local_offset), |s| format!("offset {s}"));
            self.report(&MALFORMED, Some(offset), format!("the local header of `{}` is missing at {at}; Python refuses the entry", p.name));
            return;
        };
        if local.name != p.central.name {
            self.check_name(&local.display_name(), local.name, offset);
        }
        let differences = zip_layout::header_differences(&p.central, local);
        if !differences.is_empty() {
            let message = if local.name != p.central.name {
                format!(
                    "`{}` is named `{}` in its local header: Python and torch.load use the first name, streaming extractors the second",
                    p.name,
                    local.display_name()
                )
            } else {
                format!("the local header of `{}` disagrees with the central directory: {}", p.name, differences.join("; "))
            };
            if let Some(f) = self.report(&HEADER_MISMATCH, Some(offset), message) {
                f.evidence = Some(differences.join("\n"));
            }
        }
        if p.truncated {
            self.report(
                &MALFORMED,
                Some(offset),
                format!("the data of `{}` ({} bytes declared) runs past the end of the file", p.name, p.central.compressed_size),
            );
        }
    }

    pub(super) fn check_name(&mut self, name: &str, raw: &[u8], offset: usize) {
        match archive::path_problem(raw) {
            Some(PathProblem::Backslash) => {
                self.report(&BACKSLASH_NAME, Some(offset), format!("entry name `{name}` {}", PathProblem::Backslash.describe()));
            }
            Some(problem) => {
                self.report(&PATH_TRAVERSAL, Some(offset), format!("entry name `{name}` {}", problem.describe()));
            }
            None => {}
        }
    }

    pub(super) fn check_duplicates(&mut self, placed: &[Placed<'a>]) {
        let mut seen: HashMap<&[u8], usize> = HashMap::new();
        for p in placed {
            *seen.entry(p.central.name).or_default() += 1;
        }
        let mut dups: Vec<(&[u8], usize)> = seen.into_iter().filter(|(_, n)| *n > 1).collect();
        dups.sort();
        for (name, n) in dups {
            let name = zip_layout::display_name(name);
            self.report(
                &DUPLICATE_NAME,
                None,
                format!("`{name}` is listed {n} times: Python's zipfile reads the last, miniz (torch.load) may read another; all copies were scanned"),
            );
        }
    }

    /// Overlaps and gaps between the entries, the directory and the end records.
    pub(super) fn check_layout(&mut self, archive: &zip_layout::Archive<'a>, placed: &[Placed<'a>]) {
        let mut spans: Vec<(usize, usize, String)> =
            placed.iter().filter(|p| p.local.is_some()).filter_map(|p| Some((p.start?, p.end, format!("`{}`", p.name)))).collect();
        spans.push((archive.directory.start, archive.directory.end, "the central directory".to_owned()));
        spans.push((archive.end.start, archive.end.comment.end, "the end records".to_owned()));
        spans.sort_by_key(|s| (s.0, s.1));
        let first = spans.first().map_or(0, |s| s.0);
        if first > 0 && sniff::detect(self.data) == Format::Zip {
            // When the file sniffs as another format, dispatch already scanned it as that format and
            // reported the polyglot; only a file that starts as a zip has a prefix nobody inspected.
            self.report(&PREPENDED_DATA, Some(0), format!("{first} bytes precede the first zip entry"));
            self.scan_bytes("<data before archive>", 0..first);
        }
        let mut cursor = first;
        let mut overlaps = Vec::new();
        let mut previous = String::new();
        for (start, end, what) in spans {
            if start < cursor {
                overlaps.push(format!("{what} at {start} lies inside {previous}"));
            } else if start > cursor {
                self.report_gap(cursor..start);
            }
            if end > cursor {
                cursor = end;
                previous = what;
            }
        }
        if !overlaps.is_empty() {
            let message = format!("{} entries overlap another entry's data: {}", overlaps.len(), overlaps.first().map_or("", String::as_str));
            if let Some(f) = self.report(&OVERLAPPING_ENTRIES, None, message) {
                f.evidence = Some(overlaps.iter().take(10).cloned().collect::<Vec<_>>().join("\n"));
            }
        }
    }

    fn report_gap(&mut self, gap: Range<usize>) {
        if self.data[gap.clone()].starts_with(LOCAL_SIG) {
            return; // an unlisted local entry: reported and scanned by the local view
        }
        let len = gap.len();
        if self.data[gap.clone()].iter().all(|&b| b == 0) {
            self.report_with_severity(&UNLISTED_DATA, Severity::Low, Some(gap.start), format!("{len} zero bytes between zip records"));
            return;
        }
        self.report(&UNLISTED_DATA, Some(gap.start), format!("{len} bytes between zip records are not part of any listed entry"));
        self.scan_bytes(&format!("<unlisted bytes at {}>", gap.start), gap);
    }

    /// The end record: its comment, bytes after it, and other end records.
    pub(super) fn check_end(&mut self, archive: &zip_layout::Archive<'a>, placed: &[Placed<'a>]) {
        let end = &archive.end;
        let comment = &self.data[end.comment.clone()];
        if [LOCAL_SIG, zip_layout::CENTRAL_SIG, zip_layout::EOCD_SIG].iter().any(|sig| memchr::memmem::find(comment, *sig).is_some()) {
            self.report(&COMMENT_TRICK, Some(end.comment.start), "the archive comment contains zip record signatures".to_owned());
        }
        let declared_end = end.declared_end();
        if declared_end > self.data.len() {
            let short = declared_end - self.data.len();
            self.report_with_severity(
                &COMMENT_TRICK,
                Severity::Low,
                Some(end.offset),
                format!("the archive comment is declared {short} bytes longer than the file; some readers refuse the archive"),
            );
        } else if declared_end < self.data.len() {
            self.report(&TRAILING_DATA, Some(declared_end), format!("{} bytes follow the end of the archive", self.data.len() - declared_end));
            self.scan_bytes("<data after archive>", declared_end..self.data.len());
        }
        // Another end record counts only outside member data (a stored inner zip has its own).
        let inside_member = |at: usize| placed.iter().any(|p| p.data.contains(&at));
        for other in zip_layout::other_end_records(self.data, end.offset) {
            if inside_member(other) {
                continue;
            }
            self.report(
                &COMMENT_TRICK,
                Some(other),
                format!("a second end-of-central-directory record at offset {other}; readers that search for it differently see a different archive"),
            );
        }
    }
}
