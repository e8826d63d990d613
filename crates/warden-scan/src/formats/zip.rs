//! Zip archives: plain zips, PyTorch checkpoints (`torch.save`, TorchScript), Keras v3 `.keras`
//! files and NumPy `.npz` files.
//!
//! We read zips by hand ([`zip_layout`](super::zip_layout)) because the findings live in the
//! disagreements a library hides: Python's `zipfile` and `torch.load` (miniz) take names, offsets
//! and sizes from the central directory, streaming extractors from the local headers, and each
//! resolves duplicates, prepended bytes and counts its own way. Every member is scanned as the
//! central directory describes it, and again as a streaming reader would see it when that differs.
//!
//! Architecture invariant: tensor storages of PyTorch checkpoints (`<prefix>/data/<key>`) are never
//! read: torch never unpickles them, and skipping them is what makes a 10 GB checkpoint cheap.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::ops::Range;

use warden_core::{Finding, Severity};

use super::archive;
use super::archive_codec::{self, Codec};
use super::pytorch::{self, TorchRole, TorchZip};
use super::zip_layout::{self, Anomaly, CentralEntry, LOCAL_SIG, LocalHeader, StreamedEntry};
use crate::context::{LIMIT_EXCEEDED, ScanContext};
use crate::pickle::{self, StreamKind};
use crate::rules::{ATLAS_DENIAL_OF_SERVICE, ATLAS_EMBED_MALWARE, ATLAS_SUPPLY_CHAIN_MODEL, ATLAS_UNSAFE_ARTIFACT, Rule};
use crate::sniff::{self, Format};

const HIDING: &[&str] = &[ATLAS_SUPPLY_CHAIN_MODEL, ATLAS_EMBED_MALWARE];

macro_rules! zip_rule {
    ($name:ident, $id:literal, $severity:ident, $title:literal, $description:literal, $remediation:expr) => {
        zip_rule!($name, $id, $severity, $title, $description, $remediation, HIDING);
    };
    ($name:ident, $id:literal, $severity:ident, $title:literal, $description:literal, $remediation:expr, $atlas:expr) => {
        #[doc = $title]
        pub(crate) static $name: Rule = Rule {
            id: $id,
            severity: Severity::$severity,
            title: $title,
            description: $description,
            atlas: $atlas,
            remediation: $remediation,
        };
    };
}

const REBUILD: &str = "Do not load the file. Re-create the archive with a standard tool from trusted sources, or obtain it again from its publisher.";

zip_rule!(HEADER_MISMATCH, "zip.header-mismatch", High, "local header disagrees with the central directory",
    "Python's zipfile and torch.load read an entry as the central directory describes it, streaming extractors as its local header does. When the name, method, flags, sizes or CRC differ, the tools see different files: a classic way to show a scanner one member and a loader another.",
    REBUILD);
zip_rule!(DIRECTORY_MISMATCH, "zip.directory-mismatch", High, "zip readers disagree about the directory",
    "The end record, ZIP64 records and central directory disagree (entry counts, offsets, or two directories), so Python's zipfile, torch.load (miniz) and other readers list different members.",
    REBUILD);
zip_rule!(OVERLAPPING_ENTRIES, "zip.overlapping-entries", High, "zip entries overlap",
    "An entry's local header lies inside another entry's data (or two entries share data). Overlapping entries build zip bombs that expand far beyond the file's size, and let one byte range be read as different members by different tools.",
    "Do not load or extract the file; treat it as hostile.",
    &[ATLAS_DENIAL_OF_SERVICE, ATLAS_EMBED_MALWARE]);
zip_rule!(PREPENDED_DATA, "zip.prepended-data", High, "data before the first zip entry",
    "Bytes precede the archive's first entry. Python's zipfile still opens such a file (it locates the archive from the end), so the prefix can carry a payload that other readers, or the loader of another format, act on.",
    "Inspect what the prefix is; rebuild the archive without it before loading.");
zip_rule!(UNLISTED_DATA, "zip.unlisted-data", High, "bytes or entries missing from the central directory",
    "Bytes between entries, or whole local entries, are not listed in the central directory. Python's zipfile and torch.load never see them, while streaming extractors unpack them: content hidden from directory-based scanners.",
    REBUILD);
zip_rule!(TRAILING_DATA, "zip.trailing-data", High, "data after the end of the zip archive",
    "Bytes follow the end-of-central-directory record and its comment. Zip readers ignore them, so they can carry a payload that another reader of the file acts on.",
    "Inspect the trailing bytes; rebuild the archive without them before loading.");
zip_rule!(PATH_TRAVERSAL, "zip.path-traversal", High, "zip entry name escapes the extraction directory",
    "An entry name is absolute, climbs with `..`, or contains a NUL byte. Extracting the archive can overwrite files outside the target directory (zip slip), such as shell profiles or Python packages that run later.",
    "Do not extract the archive; if you must, use an extractor that rejects such names.");
zip_rule!(BACKSLASH_NAME, "zip.backslash-name", Low, "zip entry name uses backslashes",
    "An entry name contains backslashes. The zip format uses `/`; Windows extractors treat `\\` as a separator while others keep it in the file name, so the archive extracts differently by platform.",
    "Re-create the archive with `/` separators.",
    &[]);
zip_rule!(DUPLICATE_NAME, "zip.duplicate-name", High, "zip lists the same name twice",
    "Two entries share a name. Python's zipfile returns the last one, miniz (torch.load) and some scanners the first, extractors overwrite one with the other: the member a loader uses may not be the one that was inspected.",
    REBUILD);
zip_rule!(ENCRYPTED_ENTRY, "zip.encrypted-entry", High, "encrypted zip entry cannot be inspected",
    "The entry is encrypted, so warden cannot inspect it. A loader given the password can still decrypt and run whatever it holds, including a malicious pickle.",
    "Obtain an unencrypted copy and scan it before loading.");
zip_rule!(UNSUPPORTED_METHOD, "zip.unsupported-method", High, "zip entry uses a compression method warden cannot decode",
    "The entry's content could not be inspected because its compression method is unknown or unsupported. Tools that do support it can still extract and load it.",
    "Re-create the archive with stored or deflate compression and scan it again.");
zip_rule!(CRC_MISMATCH, "zip.crc-mismatch", High, "zip entry fails its CRC check",
    "The entry's content does not match its recorded CRC-32. Python's zipfile rejects it while torch.load (miniz, built without CRC checks) and many extractors accept it; the content may have been altered after the archive was written.",
    "Do not load the file; obtain it again from its publisher.");
zip_rule!(CORRUPT_MEMBER, "zip.corrupt-member", High, "zip entry does not decode",
    "The entry's compressed data is corrupt or truncated. Loaders that stream it act on the part that decodes; only that part was inspected.",
    "Do not load the file; obtain it again from its publisher.");
zip_rule!(SIZE_MISMATCH, "zip.size-mismatch", High, "zip entry size disagrees with its content",
    "The entry decodes to a different length than its header declares. Python's zipfile cuts the content at the declared size while other readers return all of it, so tools see different bytes.",
    REBUILD);
zip_rule!(MALFORMED, "zip.malformed", High, "malformed zip structure",
    "The archive's structure is broken (records outside the file, truncated entries, missing local headers). Readers recover from such damage differently, which hostile archives exploit to show scanners and loaders different content.",
    "Do not load the file; obtain it again from its publisher.");
zip_rule!(EXTRA_FIELD_TRICK, "zip.extra-field-trick", High, "zip extra fields change how readers see an entry",
    "An entry's extra fields are malformed or override its header (ZIP64 values, an Info-ZIP Unicode path that names a different file). Python refuses malformed extra fields while other readers ignore them, and newer Python versions rename entries by the Unicode path: readers disagree on the archive.",
    REBUILD);
zip_rule!(COMMENT_TRICK, "zip.comment-trick", High, "zip comment hides archive records",
    "The archive comment holds zip records, or several end records are present. Readers that search for the end record differently find different central directories and so different members.",
    REBUILD);
zip_rule!(POLYGLOT, "zip.polyglot", High, "file is both another format and a zip archive",
    "The file starts as one format but ends with a valid zip central directory. Python's zipfile (and so Keras and other zip-based loaders) opens it as a zip, while readers of the first format see something else: a polyglot that can pass one check and load as the other.",
    "Do not load the file; find out why it carries a zip and obtain a clean copy.",
    &[ATLAS_SUPPLY_CHAIN_MODEL, ATLAS_EMBED_MALWARE, ATLAS_UNSAFE_ARTIFACT]);
/// Rules owned by this module.
pub(crate) const RULES: &[&Rule] = &[
    &HEADER_MISMATCH, &DIRECTORY_MISMATCH, &OVERLAPPING_ENTRIES, &PREPENDED_DATA, &UNLISTED_DATA, &TRAILING_DATA,
    &PATH_TRAVERSAL, &BACKSLASH_NAME, &DUPLICATE_NAME, &ENCRYPTED_ENTRY, &UNSUPPORTED_METHOD, &CRC_MISMATCH,
    &CORRUPT_MEMBER, &SIZE_MISMATCH, &MALFORMED, &EXTRA_FIELD_TRICK, &COMMENT_TRICK, &POLYGLOT,
];

/// Findings of one rule listed per archive before the rest are summed up in one finding.
const PER_RULE: usize = 20;
/// Bytes an archive may hand to member scans regardless of its size (overlap-bomb guard floor).
const SCAN_BUDGET_FLOOR: u64 = 64 << 20;

/// What kind of container a zip is, from its member names.
enum ZipKind {
    Torch(TorchZip),
    Keras,
    Npz,
    Plain,
}

impl ZipKind {
    fn detect(names: &[String]) -> ZipKind {
        if let Some(torch) = TorchZip::detect(names) {
            return ZipKind::Torch(torch);
        }
        let has = |n: &str| names.iter().any(|m| m == n);
        if has("config.json") && has("metadata.json") {
            return ZipKind::Keras;
        }
        let files: Vec<&String> = names.iter().filter(|n| !n.ends_with('/')).collect();
        if !files.is_empty() && files.iter().all(|n| n.ends_with(".npy")) {
            return ZipKind::Npz;
        }
        ZipKind::Plain
    }

    fn role(&self, name: &str) -> TorchRole {
        match self {
            ZipKind::Torch(torch) => torch.role(name),
            _ => TorchRole::Other,
        }
    }
}

/// Scans a zip archive (or the zip view of a polyglot).
pub(crate) fn scan(ctx: &mut ScanContext<'_>, data: &[u8]) {
    let mut scan = ZipScan::new(ctx, data);
    match zip_layout::read(data, scan.ctx.limits().max_members) {
        None => {
            scan.report(
                &MALFORMED,
                Some(0),
                "no end-of-central-directory record: Python's zipfile and torch.load refuse the file, but streaming \
                 extractors still unpack its local entries"
                    .to_owned(),
            );
            scan.streamed_only();
        }
        Some((archive, anomalies)) => {
            scan.anomalies(anomalies);
            match archive {
                Some(archive) => scan.archive(&archive),
                None => scan.streamed_only(),
            }
        }
    }
    scan.finish();
}

/// True when `data` does not start as a zip but ends with a zip whose directory parses and leads
/// to a real entry: Python's `zipfile` would open it.
pub(crate) fn has_trailing_central_directory(data: &[u8]) -> bool {
    if data.starts_with(LOCAL_SIG) {
        return false;
    }
    let Some((Some(archive), _)) = zip_layout::read(data, 64) else { return false };
    let starts: Vec<usize> = archive
        .entries
        .iter()
        .filter_map(|e| usize::try_from(e.local_offset).ok()?.checked_add(archive.base))
        .filter(|&at| LocalHeader::parse(data, at).is_some())
        .collect();
    let Some(&first) = starts.iter().min() else { return false };
    // A zip stored whole inside a tar member is that member, scanned as such: not a polyglot.
    let end = archive.end.declared_end().min(data.len());
    !archive::tar_member_covers(data, first..end)
}

/// Reports that the file is both `outer` and a zip.
pub(crate) fn report_polyglot(ctx: &mut ScanContext<'_>, outer: Format) {
    ctx.report(
        &POLYGLOT,
        None,
        format!(
            "the file is both {outer} and a zip archive: Python's zipfile (and loaders built on it, such as Keras) opens \
             the zip found at its end, while {outer} readers see its start"
        ),
    );
}

/// An entry of the central directory placed in the file.
struct Placed<'a> {
    central: CentralEntry<'a>,
    name: String,
    /// Absolute offset of the local header, when it lies in the file.
    start: Option<usize>,
    local: Option<LocalHeader<'a>>,
    /// The compressed bytes as Python delimits them, clamped to the file.
    data: Range<usize>,
    /// Whether the declared data runs past the end of the file.
    truncated: bool,
    /// First byte after the entry and its data descriptor.
    end: usize,
}

fn place<'a>(data: &'a [u8], base: usize, central: CentralEntry<'a>) -> Placed<'a> {
    let start = usize::try_from(central.local_offset).ok().and_then(|o| o.checked_add(base)).filter(|&s| s < data.len());
    let local = start.and_then(|s| LocalHeader::parse(data, s));
    let name = central.display_name();
    let (range, truncated, end) = match &local {
        Some(local) => {
            let declared = usize::try_from(central.compressed_size).ok().and_then(|n| local.data_start.checked_add(n));
            let data_end = declared.unwrap_or(usize::MAX).min(data.len());
            let truncated = declared.is_none_or(|d| d > data.len());
            let descriptor = if central.flags & zip_layout::FLAG_DESCRIPTOR != 0 || local.has_descriptor() {
                zip_layout::descriptor_len(data, data_end, local.zip64, central.compressed_size)
            } else {
                0
            };
            (local.data_start..data_end, truncated, data_end.saturating_add(descriptor).min(data.len()))
        }
        None => (0..0, false, start.unwrap_or(0)),
    };
    Placed { central, name, start, local, data: range, truncated, end }
}

/// The state of scanning one archive.
struct ZipScan<'c, 's, 'a> {
    ctx: &'c mut ScanContext<'s>,
    data: &'a [u8],
    reported: HashMap<&'static str, (usize, &'static Rule)>,
    /// Bytes this archive may still hand to member scans; overlapping entries re-read the same
    /// bytes, and this bounds the work they cause.
    budget: u64,
    budget_spent: bool,
    /// Data ranges already scanned (with their method): records sharing one entry's data are
    /// reported as overlapping and scanned once.
    scanned: HashSet<(usize, usize, u16)>,
}

impl<'c, 's, 'a> ZipScan<'c, 's, 'a> {
    fn new(ctx: &'c mut ScanContext<'s>, data: &'a [u8]) -> Self {
        let budget = (data.len() as u64).saturating_mul(ctx.limits().max_ratio).max(SCAN_BUDGET_FLOOR);
        ZipScan { ctx, data, reported: HashMap::new(), budget, budget_spent: false, scanned: HashSet::new() }
    }

    /// Reports a finding unless this rule already reported [`PER_RULE`] in this archive.
    fn report(&mut self, rule: &'static Rule, offset: Option<usize>, message: String) -> Option<&mut Finding> {
        self.report_with_severity(rule, rule.severity, offset, message)
    }

    fn report_with_severity(&mut self, rule: &'static Rule, severity: Severity, offset: Option<usize>, message: String) -> Option<&mut Finding> {
        let count = &mut self.reported.entry(rule.id).or_insert((0, rule)).0;
        *count += 1;
        (*count <= PER_RULE).then(|| self.ctx.report_with_severity(rule, severity, offset.map(|o| o as u64), message))
    }

    fn finish(self) {
        let mut over: Vec<_> = self.reported.into_values().filter(|(n, _)| *n > PER_RULE).collect();
        over.sort_by_key(|(_, rule)| rule.id);
        for (n, rule) in over {
            self.ctx.report(rule, None, format!("{} more findings of this kind in this archive were not listed", n - PER_RULE));
        }
    }

    fn anomalies(&mut self, anomalies: Vec<Anomaly>) {
        for a in anomalies {
            self.report(a.rule, usize::try_from(a.offset).ok(), a.message);
        }
    }

    /// No readable central directory: scan what a streaming extractor would unpack.
    fn streamed_only(&mut self) {
        let max = self.ctx.limits().max_members;
        let mut decode_budget = self.ctx.limits().max_inflated_total;
        for entry in zip_layout::walk_local_headers(self.data, max, &mut decode_budget, |_| None) {
            let name = entry.header.display_name();
            self.check_name(&name, entry.header.name, entry.header.offset);
            self.scan_streamed(&entry, &name);
        }
    }

    fn archive(&mut self, archive: &zip_layout::Archive<'a>) {
        if archive.truncated_at_limit {
            let max = self.ctx.limits().max_members;
            self.ctx.report(&LIMIT_EXCEEDED, None, format!("the central directory lists more than {max} entries; the rest were not inspected"));
        }
        let placed: Vec<Placed<'a>> = archive.entries.iter().cloned().map(|c| place(self.data, archive.base, c)).collect();
        let names: Vec<String> = placed.iter().map(|p| p.name.clone()).collect();
        let kind = ZipKind::detect(&names);
        self.refine_format(&kind, &names);
        for p in &placed {
            self.check_entry(p);
        }
        self.check_duplicates(&placed);
        self.check_layout(archive, &placed);
        self.check_end(archive, &placed);
        let mut code = Vec::new();
        for p in &placed {
            if kind.role(&p.name) == TorchRole::Code {
                code.push(p.name.clone());
            }
            self.scan_entry(p, &kind);
        }
        if !code.is_empty() {
            pytorch::report_torchscript(self.ctx, &code);
        }
        self.scan_local_view(&placed);
        self.scan_miniz_view(archive, &placed);
    }

    /// Records the container kind as the file's format (only a file that starts as a zip: the
    /// zip view of a polyglot keeps its outer format) and checks a checkpoint's layout.
    fn refine_format(&mut self, kind: &ZipKind, names: &[String]) {
        let format = match kind {
            ZipKind::Torch(torch) => {
                torch.check_layout(self.ctx, names);
                Format::TorchZip
            }
            ZipKind::Keras => Format::KerasZip,
            ZipKind::Npz => Format::Npz,
            ZipKind::Plain => return,
        };
        if sniff::detect(self.data) == Format::Zip {
            self.ctx.refine_format(format);
        }
    }

    /// Scans one entry as Python's zipfile and torch.load see it.
    fn scan_entry(&mut self, p: &Placed<'a>, kind: &ZipKind) {
        let offset = p.start.unwrap_or(p.central.record_offset);
        if p.central.is_encrypted() {
            self.report(
                &ENCRYPTED_ENTRY,
                Some(offset),
                format!("`{}` is encrypted and could not be inspected; a loader given the password can still run what it holds", p.name),
            );
            return;
        }
        let role = kind.role(&p.name);
        if role == TorchRole::Storage || p.local.is_none() || (p.central.is_dir() && p.data.is_empty()) {
            return;
        }
        let c = &p.central;
        if !self.scanned.insert((p.data.start, p.data.end, c.method)) {
            return;
        }
        let Some(content) = self.extract(&p.name, c.method, c.flags, c.uncompressed_size, p.data.clone(), offset) else { return };
        if content.complete {
            self.check_content(p, kind, &content.bytes);
        }
        if !self.charge(content.bytes.len()) {
            return;
        }
        match role {
            TorchRole::Code => pytorch::scan_code(self.ctx, &p.name, &content.bytes),
            TorchRole::Metadata => pytorch::check_metadata(self.ctx, &p.name, &content.bytes),
            // torch unpickles data.pkl whatever it looks like: never let sniffing decide.
            TorchRole::Pickle => {
                self.ctx.in_member(&p.name, |ctx| pickle::scan(ctx, &content.bytes, StreamKind::TorchZip));
            }
            TorchRole::Other | TorchRole::Storage => {
                self.ctx.scan_member(&p.name, &content.bytes);
            }
        }
    }

    /// CRC and size of a fully decoded entry.
    fn check_content(&mut self, p: &Placed<'a>, kind: &ZipKind, bytes: &[u8]) {
        let offset = p.start.unwrap_or(p.central.record_offset);
        let crc = zip_layout::crc32(bytes);
        if crc != p.central.crc {
            // torch.save with compute_crc32=False records zero: harmless for torch, refused by Python.
            let unrecorded = p.central.crc == 0 && matches!(kind, ZipKind::Torch(_));
            let severity = if unrecorded { Severity::Low } else { CRC_MISMATCH.severity };
            let message = if unrecorded {
                format!("`{}` has no CRC-32 recorded (torch.save with compute_crc32=False); Python's zipfile refuses it", p.name)
            } else {
                format!("`{}` has CRC-32 {crc:08x} but the central directory records {:08x}", p.name, p.central.crc)
            };
            self.report_with_severity(&CRC_MISMATCH, severity, Some(offset), message);
        }
        if bytes.len() as u64 != p.central.uncompressed_size {
            self.report(
                &SIZE_MISMATCH,
                Some(offset),
                format!("`{}` decodes to {} bytes but declares {}", p.name, bytes.len(), p.central.uncompressed_size),
            );
        }
    }

    /// Entries as a streaming extractor sees them, where that differs from the directory.
    fn scan_local_view(&mut self, placed: &[Placed<'a>]) {
        let by_start: HashMap<usize, &Placed<'a>> = placed.iter().filter_map(|p| Some((p.start?, p))).collect();
        let max = self.ctx.limits().max_members;
        let mut decode_budget = self.ctx.limits().max_inflated_total;
        let mut streamed: Vec<StreamedEntry<'a>> = if self.data.starts_with(LOCAL_SIG) {
            zip_layout::walk_local_headers(self.data, max, &mut decode_budget, |at| by_start.get(&at).map(|p| p.central.compressed_size))
        } else {
            Vec::new()
        };
        // Unlisted entries that a broken chain hides from the walk still start a gap.
        let seen: HashSet<usize> = streamed.iter().map(|s| s.header.offset).collect();
        let mut extra = Vec::new();
        for p in placed {
            let at = p.end;
            if !seen.contains(&at) && !by_start.contains_key(&at) && self.data.get(at..).is_some_and(|d| d.starts_with(LOCAL_SIG)) {
                extra.extend(zip_layout::streamed_entry(self.data, at, None, &mut decode_budget));
            }
        }
        streamed.extend(extra);
        for s in streamed {
            let name = s.header.display_name();
            match by_start.get(&s.header.offset) {
                None => {
                    self.report(
                        &UNLISTED_DATA,
                        Some(s.header.offset),
                        format!("local entry `{name}` is not in the central directory: Python and torch.load ignore it, streaming extractors unpack it"),
                    );
                    self.check_name(&name, s.header.name, s.header.offset);
                    self.scan_streamed(&s, &format!("{name} (unlisted local entry)"));
                }
                Some(p) if p.data != s.data || p.central.method != s.header.method => {
                    self.scan_streamed(&s, &format!("{name} (local header view)"));
                }
                Some(_) => {}
            }
        }
    }

    /// Entries of a second directory that miniz reads and Python does not.
    fn scan_miniz_view(&mut self, archive: &zip_layout::Archive<'a>, placed: &[Placed<'a>]) {
        let known: HashSet<Option<usize>> = placed.iter().map(|p| p.start).collect();
        for central in archive.miniz_entries.iter().cloned() {
            let p = place(self.data, 0, central);
            if known.contains(&p.start) || p.local.is_none() {
                continue;
            }
            let name = format!("{} (torch.load's directory)", p.name);
            self.check_name(&p.name, p.central.name, p.start.unwrap_or(0));
            if p.central.is_encrypted() {
                continue;
            }
            let c = &p.central;
            if let Some(content) = self.extract(&name, c.method, c.flags, c.uncompressed_size, p.data.clone(), p.start.unwrap_or(0))
                && self.charge(content.bytes.len())
            {
                self.ctx.scan_member(&name, &content.bytes);
            }
        }
    }

    fn scan_streamed(&mut self, s: &StreamedEntry<'a>, name: &str) {
        let h = &s.header;
        if h.flags & (zip_layout::FLAG_ENCRYPTED | zip_layout::FLAG_STRONG_ENCRYPTION) != 0 || h.method == 99 {
            self.report(&ENCRYPTED_ENTRY, Some(h.offset), format!("`{name}` is encrypted and could not be inspected; a loader given the password can still run what it holds"));
            return;
        }
        if let Some(content) = self.extract(name, h.method, h.flags, h.uncompressed_size, s.data.clone(), h.offset)
            && self.charge(content.bytes.len())
        {
            self.ctx.scan_member(name, &content.bytes);
        }
    }

    /// Hands raw bytes of the archive to a member scan.
    fn scan_bytes(&mut self, name: &str, range: Range<usize>) {
        if self.charge(range.len()) {
            let data = self.data;
            self.ctx.scan_member(name, &data[range]);
        }
    }

    /// Takes `len` bytes from the archive's scan budget; false (reported once) when it is spent.
    fn charge(&mut self, len: usize) -> bool {
        if self.budget_spent {
            return false;
        }
        match self.budget.checked_sub(len as u64) {
            Some(rest) => {
                self.budget = rest;
                true
            }
            None => {
                self.budget_spent = true;
                self.ctx.report(
                    &LIMIT_EXCEEDED,
                    None,
                    "the archive's members add up to far more than its size allows (overlapping entries re-read the same bytes); the rest were not inspected"
                        .to_owned(),
                );
                false
            }
        }
    }

    /// Decodes an entry's bytes with `ctx.inflate`; `None` when it cannot be (already reported).
    fn extract(&mut self, name: &str, method: u16, flags: u16, uncompressed_size: u64, range: Range<usize>, offset: usize) -> Option<Content<'a>> {
        let data = self.data;
        let compressed = &data[range];
        let codec = match method {
            0 => return Some(Content { bytes: Cow::Borrowed(compressed), complete: true }),
            8 => Codec::Deflate,
            9 => Codec::Deflate64,
            12 => Codec::Bzip2 { multi: false },
            14 => Codec::ZipLzma { uncompressed_size, end_marker: flags & zip_layout::FLAG_LZMA_EOS != 0 },
            93 => Codec::Zstd,
            95 => Codec::Xz,
            other => {
                self.report(&UNSUPPORTED_METHOD, Some(offset), format!("`{name}` uses compression method {other}, which warden cannot decode; it was not inspected"));
                return None;
            }
        };
        let reader = match archive_codec::decoder(codec, compressed) {
            Ok(reader) => reader,
            Err(e) => {
                self.report(&CORRUPT_MEMBER, Some(offset), format!("`{name}` cannot be decoded: {e}"));
                return None;
            }
        };
        let inflated = self.ctx.inflate(name, reader, Some(compressed.len() as u64))?;
        if let Some(e) = &inflated.error {
            self.report(
                &CORRUPT_MEMBER,
                Some(offset),
                format!("`{name}` stops decoding after {} bytes ({e}); that prefix was inspected", inflated.data.len()),
            );
        }
        Some(Content { complete: inflated.error.is_none(), bytes: Cow::Owned(inflated.data) })
    }
}

/// An entry's decoded bytes.
struct Content<'a> {
    bytes: Cow<'a, [u8]>,
    /// False when decoding stopped early.
    complete: bool,
}

#[path = "zip_checks.rs"]
mod checks;
#[cfg(test)]
#[path = "zip_tests.rs"]
mod tests;
