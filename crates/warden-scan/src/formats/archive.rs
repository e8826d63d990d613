//! Tar archives, single compressed streams (gzip, bzip2, xz, LZMA-alone, zlib, zstd) and 7z
//! archives: each is unpacked within the limits and every member handed back to
//! [`ScanContext::scan_member`], which sniffs it and enforces the nesting depth.
//!
//! Tar members are slices of the input (no copy); compressed content goes through
//! [`ScanContext::inflate`], so the member, total and ratio limits hold everywhere. A stream that
//! breaks part way is still scanned up to the break: a loader that streams it (joblib unpickles
//! while it decompresses) has acted on that prefix before it fails.

use std::collections::HashMap;
use std::io::Cursor;
use std::ops::Range;

use warden_core::Severity;

use super::archive_codec::{self, Codec};
use super::pytorch;
use super::zip_layout::display_name;
use crate::context::{LIMIT_EXCEEDED, ScanContext};
use crate::rules::{ATLAS_DENIAL_OF_SERVICE, ATLAS_EMBED_MALWARE, ATLAS_SUPPLY_CHAIN_MODEL, ATLAS_UNSAFE_ARTIFACT, Rule};
use crate::sniff::{self, Format};

/// A tar or 7z archive whose structure is corrupt or truncated.
pub(crate) static MALFORMED: Rule = Rule {
    id: "archive.malformed",
    severity: Severity::High,
    title: "malformed archive",
    description: "The archive is corrupt or truncated. Extractors recover from damage differently, which hostile \
                  archives use to show scanners and loaders different members; whatever follows the damage was not \
                  inspected.",
    atlas: &[ATLAS_SUPPLY_CHAIN_MODEL, ATLAS_EMBED_MALWARE],
    remediation: "Do not load the file; obtain it again from its publisher.",
};

/// A compressed stream that stops decoding part way.
pub(crate) static CORRUPT_STREAM: Rule = Rule {
    id: "archive.corrupt-stream",
    severity: Severity::High,
    title: "compressed stream is corrupt",
    description: "The compressed stream fails to decode part way. Loaders that decompress while they read (joblib, \
                  torch.load of a gzip stream) act on the part before the damage, which was inspected; the rest was \
                  not.",
    atlas: &[ATLAS_SUPPLY_CHAIN_MODEL, ATLAS_EMBED_MALWARE],
    remediation: "Do not load the file; obtain it again from its publisher.",
};

/// A symbolic or hard link inside an archive.
pub(crate) static LINK_ENTRY: Rule = Rule {
    id: "archive.link-entry",
    // Links inside the tree are normal (Hugging Face cache snapshots are made of them); only a
    // link that leaves the extraction directory is raised to high.
    severity: Severity::Low,
    title: "archive contains a link",
    description: "The archive contains a symbolic or hard link. Extracting it creates a link that a later write or \
                  load follows; a link that points outside the extraction directory lets the archive read or \
                  overwrite arbitrary files (high severity).",
    atlas: &[ATLAS_UNSAFE_ARTIFACT],
    remediation: "Extract with an extractor that refuses links (Python's tarfile filter='data'), or replace links with \
                  the files they point to.",
};

/// A device node or FIFO inside an archive.
pub(crate) static SPECIAL_ENTRY: Rule = Rule {
    id: "archive.special-entry",
    severity: Severity::Medium,
    title: "archive contains a device or FIFO",
    description: "The archive contains a character or block device, or a FIFO. Model archives have no reason to; \
                  extracted as root, a device node gives direct access to hardware or memory.",
    atlas: &[ATLAS_UNSAFE_ARTIFACT],
    remediation: "Extract with an extractor that refuses special files (Python's tarfile filter='data').",
};

/// A member name that escapes the extraction directory.
pub(crate) static PATH_TRAVERSAL: Rule = Rule {
    id: "archive.path-traversal",
    severity: Severity::High,
    title: "archive member name escapes the extraction directory",
    description: "A member name is absolute, climbs with `..`, or contains a NUL byte. Extracting the archive can \
                  overwrite files outside the target directory, such as shell profiles or Python packages that run \
                  later.",
    atlas: &[ATLAS_UNSAFE_ARTIFACT, ATLAS_EMBED_MALWARE],
    remediation: "Do not extract the archive; if you must, use an extractor that rejects such names.",
};

/// Data after a tar archive's end marker.
pub(crate) static TRAILING_DATA: Rule = Rule {
    id: "archive.trailing-data",
    severity: Severity::High,
    title: "data after the end of the tar archive",
    description: "Non-zero bytes follow the tar end-of-archive marker. Python's tarfile and GNU tar stop at the \
                  marker, while `tar --ignore-zeros` and some extractors read on: content hidden from most tools.",
    atlas: &[ATLAS_SUPPLY_CHAIN_MODEL, ATLAS_EMBED_MALWARE],
    remediation: "Inspect the trailing bytes; rebuild the archive without them before loading.",
};

/// A member stored twice under one name.
pub(crate) static DUPLICATE_NAME: Rule = Rule {
    id: "archive.duplicate-name",
    severity: Severity::Low,
    title: "archive member name repeats",
    description: "Two members share a name; extraction keeps the last one. Appended archives (`tar -r`) do this \
                  legitimately, but a reviewer reading the first copy sees different content than the loader.",
    atlas: &[],
    remediation: "Rebuild the archive with one copy of each member.",
};

/// Content that could not be inspected (encryption, sparse files, unsupported methods).
pub(crate) static UNINSPECTED: Rule = Rule {
    id: "archive.uninspected-entry",
    severity: Severity::High,
    title: "archive content could not be inspected",
    description: "Part of the archive is encrypted, stored in a way warden cannot unpack, or uses an unsupported \
                  compression method. A loader that can read it may still run what it holds.",
    atlas: &[ATLAS_SUPPLY_CHAIN_MODEL, ATLAS_EMBED_MALWARE, ATLAS_DENIAL_OF_SERVICE],
    remediation: "Obtain an unencrypted copy in a standard format and scan it before loading.",
};

/// Rules owned by this module.
pub(crate) const RULES: &[&Rule] =
    &[&MALFORMED, &CORRUPT_STREAM, &LINK_ENTRY, &SPECIAL_ENTRY, &PATH_TRAVERSAL, &TRAILING_DATA, &DUPLICATE_NAME, &UNINSPECTED];

/// Findings of one kind listed per archive for names and links, so a hostile archive with many bad
/// members stays readable.
const PER_KIND: usize = 20;
/// Dictionary and header memory allowed to the 7z decoder, in KiB.
const SEVENZ_MEMORY_LIMIT_KIB: usize = archive_codec::DICTIONARY_LIMIT_KIB as usize;

/// Why an archive member name is dangerous to extract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathProblem {
    Nul,
    Absolute,
    Traversal,
    /// Only backslashes: harmless on POSIX, a separator for Windows extractors.
    Backslash,
}

impl PathProblem {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            PathProblem::Nul => "contains a NUL byte, where C-based extractors cut the name",
            PathProblem::Absolute => "is an absolute path",
            PathProblem::Traversal => "climbs out of the extraction directory with `..`",
            PathProblem::Backslash => "uses backslashes, which Windows extractors treat as directory separators",
        }
    }
}

/// The most serious problem of a member name, if any.
pub(crate) fn path_problem(name: &[u8]) -> Option<PathProblem> {
    if name.contains(&0) {
        return Some(PathProblem::Nul);
    }
    let drive = name.len() >= 2 && name[0].is_ascii_alphabetic() && name[1] == b':';
    if name.starts_with(b"/") || name.starts_with(b"\\") || drive {
        return Some(PathProblem::Absolute);
    }
    if name.split(|&b| b == b'/' || b == b'\\').any(|c| c == b"..") {
        return Some(PathProblem::Traversal);
    }
    name.contains(&b'\\').then_some(PathProblem::Backslash)
}

/// Whether a link target resolved from `dir` leaves the extraction root.
fn link_escapes(dir: &[u8], target: &[u8]) -> bool {
    if target.starts_with(b"/") || path_problem(target) == Some(PathProblem::Absolute) {
        return true;
    }
    let mut depth = 0usize;
    for part in dir.split(|&b| b == b'/').chain(target.split(|&b| b == b'/')) {
        match part {
            b"" | b"." => {}
            b".." => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return true,
            },
            _ => depth += 1,
        }
    }
    false
}

/// Counts findings per kind within one archive.
#[derive(Default)]
struct Budget(HashMap<&'static str, usize>);

impl Budget {
    fn allow(&mut self, rule: &'static Rule) -> bool {
        let n = self.0.entry(rule.id).or_default();
        *n += 1;
        *n <= PER_KIND
    }
}

/// Scans a tar archive: links, devices and names first, then every regular member. In a legacy
/// PyTorch tar checkpoint, `storages` and `tensors` interleave pickles with raw records and are
/// walked record by record.
pub(crate) fn scan_tar(ctx: &mut ScanContext<'_>, data: &[u8]) {
    let mut archive = tar::Archive::new(Cursor::new(data));
    let entries = match archive.entries_with_seek() {
        Ok(entries) => entries,
        Err(e) => {
            ctx.report(&MALFORMED, Some(0), format!("the tar archive cannot be read: {e}"));
            return;
        }
    };
    let max_members = ctx.limits().max_members;
    let mut budget = Budget::default();
    let mut names: HashMap<Vec<u8>, usize> = HashMap::new();
    let mut end = 0usize;
    let mut complete = true;
    let mut files: Vec<(String, Range<usize>)> = Vec::new();
    for (index, entry) in entries.enumerate() {
        if index >= max_members {
            ctx.report(&LIMIT_EXCEEDED, None, format!("the tar archive has more than {max_members} members; the rest were not inspected"));
            complete = false;
            break;
        }
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                ctx.report(&MALFORMED, Some(end as u64), format!("tar header at offset {end} is corrupt ({e}); later members were not inspected"));
                complete = false;
                break;
            }
        };
        let path = entry.path_bytes().into_owned();
        let name = display_name(&path);
        let header_at = entry.raw_header_position();
        let start = usize::try_from(entry.raw_file_position()).unwrap_or(usize::MAX).min(data.len());
        let size = entry.size();
        let declared_end = usize::try_from(size).ok().and_then(|s| start.checked_add(s));
        end = declared_end.map_or(data.len(), |e| e.next_multiple_of(512)).min(data.len());
        *names.entry(path.clone()).or_default() += 1;
        if let Some(problem) = path_problem(&path).filter(|p| *p != PathProblem::Backslash)
            && budget.allow(&PATH_TRAVERSAL)
        {
            ctx.report(&PATH_TRAVERSAL, Some(header_at), format!("member name `{name}` {}", problem.describe()));
        }
        let kind = entry.header().entry_type();
        if kind.is_symlink() || kind.is_hard_link() {
            let target = entry.link_name_bytes().map(|t| t.into_owned()).unwrap_or_default();
            let dir = if kind.is_symlink() { parent_dir(&path) } else { &[] };
            let escapes = link_escapes(dir, &target);
            if budget.allow(&LINK_ENTRY) {
                let what = if kind.is_symlink() { "symbolic link" } else { "hard link" };
                let (severity, tail) =
                    if escapes { (Severity::High, ", outside the extraction directory") } else { (LINK_ENTRY.severity, "") };
                ctx.report_with_severity(
                    &LINK_ENTRY,
                    severity,
                    Some(header_at),
                    format!("`{name}` is a {what} to `{}`{tail}", display_name(&target)),
                );
            }
        } else if kind.is_character_special() || kind.is_block_special() || kind.is_fifo() {
            if budget.allow(&SPECIAL_ENTRY) {
                ctx.report(&SPECIAL_ENTRY, Some(header_at), format!("`{name}` is a device node or FIFO"));
            }
        } else if kind.is_gnu_sparse() {
            ctx.report(&UNINSPECTED, Some(header_at), format!("`{name}` is a GNU sparse file, which warden does not reassemble; not inspected"));
        } else if kind.is_dir() || kind.is_pax_global_extensions() || kind.is_pax_local_extensions() || kind.is_gnu_longname() || kind.is_gnu_longlink() {
        } else {
            // Regular files, and unknown types, which tar extractors treat as regular files.
            let stop = declared_end.unwrap_or(usize::MAX).min(data.len());
            if declared_end != Some(stop) {
                ctx.report(
                    &MALFORMED,
                    Some(header_at),
                    format!("`{name}` declares {size} bytes but the archive ends after {}; the part present was inspected", stop - start),
                );
                complete = false;
            }
            files.push((name, start..stop));
        }
    }
    let legacy_torch = pytorch::is_legacy_tar(files.iter().map(|(n, _)| n.as_str()));
    for (name, range) in files {
        match pytorch::LegacyTarRecords::of(&name).filter(|_| legacy_torch) {
            Some(records) => records.scan(ctx, &name, &data[range]),
            None => {
                ctx.scan_member(&name, &data[range]);
            }
        }
    }
    let mut dups: Vec<_> = names.into_iter().filter(|(_, n)| *n > 1).collect();
    dups.sort();
    for (path, n) in dups.into_iter().take(PER_KIND) {
        ctx.report(&DUPLICATE_NAME, None, format!("`{}` is stored {n} times; extraction keeps the last", display_name(&path)));
    }
    if complete {
        check_tar_tail(ctx, data, end);
    }
}

/// Non-zero bytes after the last member: past the end marker, where most readers stop.
fn check_tar_tail(ctx: &mut ScanContext<'_>, data: &[u8], end: usize) {
    let Some(tail) = data.get(end..) else { return };
    let Some(first) = tail.iter().position(|&b| b != 0) else { return };
    let at = end + first / 512 * 512;
    ctx.report(&TRAILING_DATA, Some(at as u64), format!("{} bytes follow the end of the tar archive", data.len() - at));
    ctx.scan_member("<data after tar end>", &data[at..]);
}

/// The directory part of a member path (empty at the top level).
fn parent_dir(path: &[u8]) -> &[u8] {
    path.iter().rposition(|&c| c == b'/').map_or(&[], |at| &path[..at])
}

/// Whether `data` is a tar archive with one member whose data contains all of `range` (a zip
/// stored in a tar is that member, not a polyglot).
pub(crate) fn tar_member_covers(data: &[u8], range: Range<usize>) -> bool {
    if sniff::detect(data) != Format::Tar {
        return false;
    }
    let mut archive = tar::Archive::new(Cursor::new(data));
    let Ok(entries) = archive.entries_with_seek() else { return false };
    for entry in entries.take(100_000) {
        let Ok(entry) = entry else { return false };
        let start = entry.raw_file_position();
        let end = start.saturating_add(entry.size());
        if start <= range.start as u64 && range.end as u64 <= end {
            return true;
        }
    }
    false
}

/// Scans a single compressed stream: inflates it within the limits and scans the result.
pub(crate) fn scan_compressed(ctx: &mut ScanContext<'_>, data: &[u8], format: Format) {
    let (codec, name) = match format {
        Format::Gzip => (Codec::Gzip, gzip_file_name(data).unwrap_or_else(|| "<gzip stream>".to_owned())),
        Format::Bzip2 => (Codec::Bzip2 { multi: true }, "<bzip2 stream>".to_owned()),
        Format::Xz => (Codec::Xz, "<xz stream>".to_owned()),
        Format::Lzma => (Codec::LzmaAlone, "<lzma stream>".to_owned()),
        Format::Zlib => (Codec::Zlib, "<zlib stream>".to_owned()),
        Format::Zstd => (Codec::Zstd, "<zstd stream>".to_owned()),
        _ => return,
    };
    let reader = match archive_codec::decoder(codec, data) {
        Ok(reader) => reader,
        Err(e) => {
            ctx.report(&CORRUPT_STREAM, Some(0), format!("the {format} stream cannot be decoded: {e}"));
            return;
        }
    };
    let Some(inflated) = ctx.inflate(&name, reader, Some(data.len() as u64)) else { return };
    if let Some(e) = &inflated.error {
        if inflated.data.is_empty() {
            // Nothing decodes: a loader fails before acting, and sniffing may simply have guessed wrong.
            ctx.report_with_severity(&CORRUPT_STREAM, Severity::Low, Some(0), format!("not a valid {format} stream: {e}"));
            return;
        }
        // A broken prefix matters when it is something a loader acts on; otherwise this is likely a
        // file that merely starts like a stream (two bytes can look like a zlib header).
        let actionable = sniff::detect(&inflated.data) != Format::Unknown;
        let severity = if actionable { CORRUPT_STREAM.severity } else { Severity::Low };
        ctx.report_with_severity(
            &CORRUPT_STREAM,
            severity,
            None,
            format!("the {format} stream stops decoding after {} bytes ({e}); that prefix was inspected", inflated.data.len()),
        );
    }
    ctx.scan_member(&name, &inflated.data);
}

/// The original file name a gzip header records (FNAME), if any.
fn gzip_file_name(data: &[u8]) -> Option<String> {
    const FEXTRA: u8 = 4;
    const FNAME: u8 = 8;
    let flags = *data.get(3)?;
    let mut at = 10;
    if flags & FEXTRA != 0 {
        let len = usize::from(u16::from_le_bytes(data.get(10..12)?.try_into().ok()?));
        at = 12 + len;
    }
    if flags & FNAME == 0 {
        return None;
    }
    let rest = data.get(at..)?;
    let len = rest.iter().take(1024).position(|&b| b == 0)?;
    (len > 0).then(|| display_name(&rest[..len]))
}

/// Scans a 7z archive from memory, block by block, skipping encrypted blocks.
pub(crate) fn scan_7z(ctx: &mut ScanContext<'_>, data: &[u8]) {
    use sevenz_rust2::{Archive, BlockDecoder, EncoderMethod, Error, Password};

    let password = Password::empty();
    let mut source = Cursor::new(data);
    let archive = match Archive::read_with_memory_limit(&mut source, &password, SEVENZ_MEMORY_LIMIT_KIB) {
        Ok(archive) => archive,
        Err(Error::PasswordRequired | Error::MaybeBadPassword(_)) => {
            ctx.report(&UNINSPECTED, Some(0), "the 7z archive's header is encrypted: neither its names nor its contents could be inspected".to_owned());
            return;
        }
        Err(e) => {
            ctx.report(&MALFORMED, Some(0), format!("the 7z archive cannot be read: {e}"));
            return;
        }
    };
    let limits = ctx.limits();
    let mut budget = Budget::default();
    if archive.files.len() > limits.max_members {
        ctx.report(&LIMIT_EXCEEDED, None, format!("the 7z archive has {} entries, more than {}; the rest were not inspected", archive.files.len(), limits.max_members));
    }
    for (index, file) in archive.files.iter().enumerate().take(limits.max_members) {
        let name = display_name(file.name().as_bytes());
        if let Some(problem) = path_problem(file.name().as_bytes()).filter(|p| *p != PathProblem::Backslash)
            && budget.allow(&PATH_TRAVERSAL)
        {
            ctx.report(&PATH_TRAVERSAL, None, format!("entry name `{name}` {}", problem.describe()));
        }
        if archive.is_file_encrypted(index) && file.has_stream() && budget.allow(&UNINSPECTED) {
            ctx.report(&UNINSPECTED, None, format!("`{name}` is encrypted and could not be inspected; a loader given the password can still run what it holds"));
        }
        if file.size() > limits.max_member_bytes {
            ctx.report(
                &LIMIT_EXCEEDED,
                None,
                format!("`{name}` declares {} bytes, more than the {} byte member limit; it and the rest of its block were not inspected", file.size(), limits.max_member_bytes),
            );
        }
    }
    let mut scanned = 0usize;
    for (block_index, block) in archive.blocks.iter().enumerate() {
        if block.coders.iter().any(|c| c.encoder_method_id() == EncoderMethod::ID_AES256_SHA256) {
            continue;
        }
        let decoder = BlockDecoder::new_with_memory_limit(1, SEVENZ_MEMORY_LIMIT_KIB, block_index, &archive, &password, &mut source);
        let result = decoder.for_each_entries(&mut |entry, reader| {
            if entry.is_directory() {
                return Ok(true);
            }
            scanned += 1;
            if scanned > limits.max_members || entry.size() > limits.max_member_bytes {
                return Ok(false);
            }
            let name = display_name(entry.name().as_bytes());
            let Some(inflated) = ctx.inflate(&name, reader, Some(data.len() as u64)) else { return Ok(false) };
            if let Some(e) = &inflated.error {
                ctx.report(&MALFORMED, None, format!("`{name}` fails to decode after {} bytes ({e}); that prefix was inspected", inflated.data.len()));
            }
            ctx.scan_member(&name, &inflated.data);
            Ok(inflated.error.is_none())
        });
        if let Err(e) = result {
            ctx.report(&MALFORMED, None, format!("block {block_index} of the 7z archive fails to decode: {e}"));
        }
    }
}

#[cfg(test)]
#[path = "archive_tests.rs"]
mod tests;
