//! The records of a zip archive, read the way the loaders read them: Python's `zipfile` (and so
//! NumPy, Keras and joblib) and PyTorch's miniz reader take names and offsets from the *central
//! directory*; streaming extractors walk the *local headers* from the first byte.
//!
//! Architecture invariant: this module only parses. It never decompresses, never reports findings
//! and never allocates by a size the input declares; every departure from a well-formed archive is
//! collected as an [`Anomaly`] for `zip.rs` to report.

use std::ops::Range;

use super::zip::{DIRECTORY_MISMATCH, EXTRA_FIELD_TRICK, MALFORMED};
use crate::rules::Rule;

pub(crate) const LOCAL_SIG: &[u8; 4] = b"PK\x03\x04";
pub(crate) const CENTRAL_SIG: &[u8; 4] = b"PK\x01\x02";
pub(crate) const EOCD_SIG: &[u8; 4] = b"PK\x05\x06";
const ZIP64_EOCD_SIG: &[u8; 4] = b"PK\x06\x06";
const ZIP64_LOCATOR_SIG: &[u8; 4] = b"PK\x06\x07";
const DESCRIPTOR_SIG: &[u8; 4] = b"PK\x07\x08";

const EOCD_LEN: usize = 22;
const ZIP64_EOCD_LEN: usize = 56;
const ZIP64_LOCATOR_LEN: usize = 20;
const CENTRAL_LEN: usize = 46;
const LOCAL_LEN: usize = 30;
/// How far back from the end `zipfile` and miniz look for the end record (the largest comment).
const MAX_COMMENT: usize = 1 << 16;

/// General-purpose flag bits.
pub(crate) const FLAG_ENCRYPTED: u16 = 1;
pub(crate) const FLAG_LZMA_EOS: u16 = 1 << 1;
pub(crate) const FLAG_DESCRIPTOR: u16 = 1 << 3;
pub(crate) const FLAG_STRONG_ENCRYPTION: u16 = 1 << 6;
pub(crate) const FLAG_UTF8: u16 = 1 << 11;
/// The flag bits whose disagreement between the two headers changes how a reader treats an entry.
const COMPARED_FLAGS: u16 = FLAG_ENCRYPTED | FLAG_DESCRIPTOR | FLAG_STRONG_ENCRYPTION | FLAG_UTF8;

/// Extra-field ids.
const EXTRA_ZIP64: u16 = 0x0001;
const EXTRA_UNICODE_PATH: u16 = 0x7075;

/// Something wrong with the archive's structure, to be reported under `rule`.
#[derive(Debug, Clone)]
pub(crate) struct Anomaly {
    pub rule: &'static Rule,
    pub offset: u64,
    pub message: String,
}

impl Anomaly {
    fn new(rule: &'static Rule, offset: usize, message: String) -> Self {
        Anomaly { rule, offset: offset as u64, message }
    }
}

fn le<const N: usize>(data: &[u8], offset: usize) -> Option<[u8; N]> {
    data.get(offset..offset.checked_add(N)?)?.try_into().ok()
}

fn u16_at(data: &[u8], offset: usize) -> Option<u16> {
    le(data, offset).map(u16::from_le_bytes)
}

fn u32_at(data: &[u8], offset: usize) -> Option<u32> {
    le(data, offset).map(u32::from_le_bytes)
}

fn u64_at(data: &[u8], offset: usize) -> Option<u64> {
    le(data, offset).map(u64::from_le_bytes)
}

fn to_usize(value: u64) -> Option<usize> {
    usize::try_from(value).ok()
}

/// A name for people: lossy UTF-8 with control characters escaped, so a NUL or a newline in a
/// hostile name cannot forge report lines.
pub(crate) fn display_name(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw)
        .chars()
        .flat_map(|c| if c.is_control() { c.escape_default().collect::<Vec<_>>() } else { vec![c] })
        .collect()
}

/// The end-of-central-directory record Python's `zipfile` uses, merged with the ZIP64 end record
/// when one sits where Python looks for it.
#[derive(Debug, Clone)]
pub(crate) struct EndRecord {
    /// Where the 22-byte record starts.
    pub offset: usize,
    /// Where the end records start (the ZIP64 end record when there is one).
    pub start: usize,
    pub entries_total: u64,
    pub cd_size: u64,
    pub cd_offset: u64,
    /// The comment as declared, clamped to the file.
    pub comment: Range<usize>,
    pub declared_comment_len: usize,
    /// The ZIP64 locator's offset and the record offset it declares (relative to the archive's base).
    pub zip64_pointer: Option<(usize, u64)>,
}

impl EndRecord {
    /// First byte after the record and its comment as declared (may lie past the end of the file).
    pub fn declared_end(&self) -> usize {
        self.offset.saturating_add(EOCD_LEN).saturating_add(self.declared_comment_len)
    }
}

/// Where Python's `zipfile` finds the end record: the last 22 bytes when they hold one with an
/// empty comment, else the last signature in the final 64 KiB + 22 bytes.
pub(crate) fn end_record_offset(data: &[u8]) -> Option<usize> {
    let last = data.len().checked_sub(EOCD_LEN)?;
    if data[last..].starts_with(EOCD_SIG) && data[data.len() - 2..] == [0, 0] {
        return Some(last);
    }
    let tail_start = data.len().saturating_sub(EOCD_LEN + MAX_COMMENT);
    let pos = tail_start + memchr::memmem::rfind(&data[tail_start..], EOCD_SIG)?;
    (pos <= last).then_some(pos)
}

/// Other end records in the tail, besides the one used, that describe a directory: tools that
/// search for the end record differently see different archives.
pub(crate) fn other_end_records(data: &[u8], used: usize) -> Vec<usize> {
    let tail_start = data.len().saturating_sub(EOCD_LEN + MAX_COMMENT);
    memchr::memmem::find_iter(&data[tail_start..], EOCD_SIG)
        .map(|p| p + tail_start)
        .filter(|&p| p != used && describes_directory(data, p))
        .take(16)
        .collect()
}

/// Whether the end record at `at` is empty or leads (by Python's or miniz's reckoning) to a
/// central directory record.
fn describes_directory(data: &[u8], at: usize) -> bool {
    let Some(end) = read_end_record(data, at, &mut Vec::new()) else { return false };
    if end.entries_total == 0 {
        return end.cd_size == 0;
    }
    let by_size = (end.start as u64).checked_sub(end.cd_size).and_then(to_usize);
    let by_offset = to_usize(end.cd_offset);
    [by_size, by_offset].into_iter().flatten().any(|p| data.get(p..).is_some_and(|d| d.starts_with(CENTRAL_SIG)))
}

fn read_end_record(data: &[u8], offset: usize, anomalies: &mut Vec<Anomaly>) -> Option<EndRecord> {
    let field16 = |at: usize| u16_at(data, offset + at).map(u64::from);
    let field32 = |at: usize| u32_at(data, offset + at).map(u64::from);
    let entries_on_disk = field16(8)?;
    let mut end = EndRecord {
        offset,
        start: offset,
        entries_total: field16(10)?,
        cd_size: field32(12)?,
        cd_offset: field32(16)?,
        comment: 0..0,
        declared_comment_len: usize::from(u16_at(data, offset + 20)?),
        zip64_pointer: None,
    };
    let comment_start = offset + EOCD_LEN;
    end.comment = comment_start..comment_start.saturating_add(end.declared_comment_len).min(data.len());
    if end.entries_total != entries_on_disk {
        anomalies.push(Anomaly::new(
            &DIRECTORY_MISMATCH,
            offset,
            format!("the end record counts {entries_on_disk} entries on this disk but {} in total", end.entries_total),
        ));
    }
    let Some(locator) = offset.checked_sub(ZIP64_LOCATOR_LEN).filter(|&l| data[l..].starts_with(ZIP64_LOCATOR_SIG)) else {
        return Some(end);
    };
    // Python ignores the locator's pointer and reads the ZIP64 record right before it; miniz follows
    // the pointer. Both are checked against each other below once the archive's base is known.
    let Some(record) = locator.checked_sub(ZIP64_EOCD_LEN).filter(|&r| data[r..].starts_with(ZIP64_EOCD_SIG)) else {
        anomalies.push(Anomaly::new(
            &DIRECTORY_MISMATCH,
            locator,
            "a ZIP64 locator is present but no ZIP64 end record precedes it; Python falls back to the 32-bit \
             end record while other readers follow the locator"
                .to_owned(),
        ));
        return Some(end);
    };
    let pointer = u64_at(data, locator + 8)?;
    let total = u64_at(data, record + 32)?;
    let size = u64_at(data, record + 40)?;
    let start = u64_at(data, record + 48)?;
    for (what, narrow, saturated, wide) in [
        ("entry count", end.entries_total, 0xffff, total),
        ("directory size", end.cd_size, 0xffff_ffff, size),
        ("directory offset", end.cd_offset, 0xffff_ffff, start),
    ] {
        if narrow != saturated && narrow != wide {
            anomalies.push(Anomaly::new(
                &DIRECTORY_MISMATCH,
                record,
                format!("the ZIP64 end record gives {what} {wide} but the 32-bit end record {narrow}"),
            ));
        }
    }
    end.entries_total = total;
    end.cd_size = size;
    end.cd_offset = start;
    end.start = record;
    end.zip64_pointer = Some((locator, pointer));
    Some(end)
}

/// One central directory record, with ZIP64 values applied as Python applies them.
#[derive(Debug, Clone)]
pub(crate) struct CentralEntry<'a> {
    pub record_offset: usize,
    pub flags: u16,
    pub method: u16,
    pub crc: u32,
    pub compressed_size: u64,
    pub uncompressed_size: u64,
    /// The local header offset as written (before adding the archive's base).
    pub local_offset: u64,
    pub name: &'a [u8],
    /// The Info-ZIP Unicode Path name, which Python 3.12+ and Info-ZIP tools prefer to `name`.
    pub unicode_name: Option<&'a [u8]>,
}

impl CentralEntry<'_> {
    pub fn display_name(&self) -> String {
        display_name(self.name)
    }

    pub fn is_encrypted(&self) -> bool {
        self.flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION) != 0 || self.method == 99
    }

    pub fn is_dir(&self) -> bool {
        self.name.ends_with(b"/") && self.uncompressed_size == 0
    }
}

/// Extra fields as `(id, body)` pairs, and whether the area was malformed (Python refuses such an
/// archive; miniz and most extractors ignore the rest).
fn extra_fields(extra: &[u8]) -> (Vec<(u16, &[u8])>, bool) {
    let mut fields = Vec::new();
    let mut rest = extra;
    while rest.len() >= 4 {
        let id = u16::from_le_bytes([rest[0], rest[1]]);
        let len = usize::from(u16::from_le_bytes([rest[2], rest[3]]));
        let Some(body) = rest.get(4..4 + len) else { return (fields, true) };
        fields.push((id, body));
        rest = &rest[4 + len..];
    }
    (fields, false)
}

fn parse_central<'a>(data: &'a [u8], at: usize, anomalies: &mut Vec<Anomaly>) -> Option<(CentralEntry<'a>, usize)> {
    if !data.get(at..)?.starts_with(CENTRAL_SIG) {
        return None;
    }
    let name_len = usize::from(u16_at(data, at + 28)?);
    let extra_len = usize::from(u16_at(data, at + 30)?);
    let comment_len = usize::from(u16_at(data, at + 32)?);
    let name_start = at + CENTRAL_LEN;
    let name = data.get(name_start..name_start + name_len)?;
    let extra = data.get(name_start + name_len..name_start + name_len + extra_len)?;
    let record_len = CENTRAL_LEN + name_len + extra_len + comment_len;
    data.get(at..at + record_len)?;
    let mut entry = CentralEntry {
        record_offset: at,
        flags: u16_at(data, at + 8)?,
        method: u16_at(data, at + 10)?,
        crc: u32_at(data, at + 16)?,
        compressed_size: u64::from(u32_at(data, at + 20)?),
        uncompressed_size: u64::from(u32_at(data, at + 24)?),
        local_offset: u64::from(u32_at(data, at + 42)?),
        name,
        unicode_name: None,
    };
    let (fields, malformed) = extra_fields(extra);
    if malformed {
        anomalies.push(Anomaly::new(
            &EXTRA_FIELD_TRICK,
            at,
            format!(
                "the extra fields of `{}` in the central directory run past their declared length; Python's zipfile \
                 refuses the archive while miniz and extractors ignore the rest",
                entry.display_name()
            ),
        ));
    }
    for (id, body) in fields {
        match id {
            EXTRA_ZIP64 => {
                let mut values = body.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().expect("8-byte chunk")));
                let mut missing = false;
                for (field, saturated) in [
                    (&mut entry.uncompressed_size, 0xffff_ffff),
                    (&mut entry.compressed_size, 0xffff_ffff),
                    (&mut entry.local_offset, 0xffff_ffff),
                ] {
                    if *field == saturated {
                        match values.next() {
                            Some(v) => *field = v,
                            None => missing = true,
                        }
                    }
                }
                if missing {
                    anomalies.push(Anomaly::new(
                        &EXTRA_FIELD_TRICK,
                        at,
                        format!("the ZIP64 extra field of `{}` lacks a value its record defers to it", entry.display_name()),
                    ));
                }
            }
            EXTRA_UNICODE_PATH if body.len() >= 5 && body[0] == 1 => {
                let crc = u32::from_le_bytes(body[1..5].try_into().expect("4 bytes"));
                if crc == crc32(name) {
                    entry.unicode_name = Some(&body[5..]);
                }
            }
            _ => {}
        }
    }
    Some((entry, record_len))
}

pub(crate) fn crc32(data: &[u8]) -> u32 {
    let mut crc = flate2::Crc::new();
    crc.update(data);
    crc.sum()
}

/// A local file header.
#[derive(Debug, Clone)]
pub(crate) struct LocalHeader<'a> {
    pub offset: usize,
    pub flags: u16,
    pub method: u16,
    pub crc: u32,
    pub compressed_size: u64,
    pub uncompressed_size: u64,
    /// Whether the sizes came from a ZIP64 extra field (the data descriptor then has 8-byte sizes).
    pub zip64: bool,
    pub name: &'a [u8],
    pub data_start: usize,
}

impl LocalHeader<'_> {
    pub fn display_name(&self) -> String {
        display_name(self.name)
    }

    /// Parses the header at `at`; `None` when there is none or it runs past the end.
    pub fn parse(data: &[u8], at: usize) -> Option<LocalHeader<'_>> {
        if !data.get(at..)?.starts_with(LOCAL_SIG) {
            return None;
        }
        let name_len = usize::from(u16_at(data, at + 26)?);
        let extra_len = usize::from(u16_at(data, at + 28)?);
        let name_start = at + LOCAL_LEN;
        let name = data.get(name_start..name_start + name_len)?;
        let extra = data.get(name_start + name_len..name_start + name_len + extra_len)?;
        let mut header = LocalHeader {
            offset: at,
            flags: u16_at(data, at + 6)?,
            method: u16_at(data, at + 8)?,
            crc: u32_at(data, at + 14)?,
            compressed_size: u64::from(u32_at(data, at + 18)?),
            uncompressed_size: u64::from(u32_at(data, at + 22)?),
            zip64: false,
            name,
            data_start: name_start + name_len + extra_len,
        };
        if let Some((_, body)) = extra_fields(extra).0.into_iter().find(|(id, _)| *id == EXTRA_ZIP64) {
            header.zip64 = true;
            let mut values = body.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().expect("8-byte chunk")));
            for field in [&mut header.uncompressed_size, &mut header.compressed_size] {
                if *field == 0xffff_ffff
                    && let Some(v) = values.next()
                {
                    *field = v;
                }
            }
        }
        Some(header)
    }

    pub fn has_descriptor(&self) -> bool {
        self.flags & FLAG_DESCRIPTOR != 0
    }
}

/// Length of the data descriptor at `at` (after `compressed` bytes of data): an optional
/// signature, the CRC, then 4- or 8-byte sizes. Writers disagree on when sizes are 8 bytes, so the
/// layout whose size field matches and is followed by another record wins; `zip64` breaks ties.
pub(crate) fn descriptor_len(data: &[u8], at: usize, zip64: bool, compressed: u64) -> usize {
    let sig = if data.get(at..).is_some_and(|d| d.starts_with(DESCRIPTOR_SIG)) { 4 } else { 0 };
    let (narrow, wide) = (sig + 12, sig + 20);
    let sizes = at + sig + 4;
    let record_follows = |len: usize| at.checked_add(len).is_some_and(|end| end == data.len() || data.get(end..).is_some_and(|d| d.starts_with(b"PK")));
    let narrow_fits = u32_at(data, sizes).map(u64::from) == Some(compressed) && record_follows(narrow);
    let wide_fits = u64_at(data, sizes) == Some(compressed) && record_follows(wide);
    match (narrow_fits, wide_fits) {
        (true, false) => narrow,
        (false, true) => wide,
        _ if zip64 => wide,
        _ => narrow,
    }
}

/// Differences between a central record and its local header that make readers disagree.
pub(crate) fn header_differences(central: &CentralEntry<'_>, local: &LocalHeader<'_>) -> Vec<String> {
    let mut out = Vec::new();
    if central.name != local.name {
        out.push(format!("name `{}` vs `{}` in the local header", central.display_name(), local.display_name()));
    }
    if central.method != local.method {
        out.push(format!("compression method {} vs {} in the local header", central.method, local.method));
    }
    let flags = (central.flags ^ local.flags) & COMPARED_FLAGS;
    for (bit, what) in [
        (FLAG_ENCRYPTED, "encryption"),
        (FLAG_STRONG_ENCRYPTION, "strong encryption"),
        (FLAG_DESCRIPTOR, "data descriptor"),
        (FLAG_UTF8, "UTF-8 name"),
    ] {
        if flags & bit != 0 {
            let (c, l) = (central.flags & bit != 0, local.flags & bit != 0);
            out.push(format!("{what} flag {c} vs {l} in the local header"));
        }
    }
    // With a data descriptor the local values are meant to be zero; only values that are set count.
    let descriptor = local.has_descriptor();
    for (what, c, l) in [
        ("CRC-32", u64::from(central.crc), u64::from(local.crc)),
        ("compressed size", central.compressed_size, local.compressed_size),
        ("uncompressed size", central.uncompressed_size, local.uncompressed_size),
    ] {
        if c != l && !(descriptor && l == 0) {
            out.push(format!("{what} {c} vs {l} in the local header"));
        }
    }
    out
}

/// The archive as Python's `zipfile` sees it (the central directory it reads), plus the directory
/// miniz (`torch.load`) reads when that one differs.
#[derive(Debug)]
pub(crate) struct Archive<'a> {
    pub end: EndRecord,
    /// Bytes before the archive by Python's reckoning: every local offset is shifted by this.
    pub base: usize,
    pub directory: Range<usize>,
    pub entries: Vec<CentralEntry<'a>>,
    /// The directory miniz reads at the declared offset, when prepended data moves Python elsewhere.
    pub miniz_entries: Vec<CentralEntry<'a>>,
    /// Whether `max_members` stopped reading the directory.
    pub truncated_at_limit: bool,
}

/// Reads the end record and central directory. `None` when no end record is present (not a zip
/// by Python's test); an archive with no readable directory returns the anomalies only.
pub(crate) fn read(data: &[u8], max_members: usize) -> Option<(Option<Archive<'_>>, Vec<Anomaly>)> {
    let mut anomalies = Vec::new();
    let end_offset = end_record_offset(data)?;
    let Some(end) = read_end_record(data, end_offset, &mut anomalies) else {
        anomalies.push(Anomaly::new(&MALFORMED, end_offset, "the end-of-central-directory record is truncated".to_owned()));
        return Some((None, anomalies));
    };
    // Python: concat = end - size - offset, and the directory is read from `end - size`.
    let located = end.start as u64;
    let Some(base) = located.checked_sub(end.cd_size).and_then(|s| s.checked_sub(end.cd_offset)).and_then(to_usize) else {
        anomalies.push(Anomaly::new(
            &MALFORMED,
            end.offset,
            format!(
                "the central directory ({} bytes at offset {}) lies outside the file; Python and torch.load refuse it \
                 while streaming extractors still read the entries",
                end.cd_size, end.cd_offset
            ),
        ));
        return Some((None, anomalies));
    };
    if let Some((locator, pointer)) = end.zip64_pointer
        && pointer.checked_add(base as u64) != Some(end.start as u64)
    {
        anomalies.push(Anomaly::new(
            &DIRECTORY_MISMATCH,
            locator,
            format!(
                "the ZIP64 locator points to offset {pointer} but the ZIP64 end record Python reads is at {}",
                end.start - base
            ),
        ));
    }
    let directory_start = base + to_usize(end.cd_offset)?;
    let directory = directory_start..end.start;
    let mut archive = Archive { end, base, directory, entries: Vec::new(), miniz_entries: Vec::new(), truncated_at_limit: false };

    // Python reads records while the byte count is below the declared size; miniz reads the count.
    let mut at = archive.directory.start;
    while at < archive.directory.end {
        if archive.entries.len() >= max_members {
            archive.truncated_at_limit = true;
            break;
        }
        match parse_central(&data[..archive.directory.end], at, &mut anomalies) {
            Some((entry, len)) => {
                archive.entries.push(entry);
                at += len;
            }
            None => {
                anomalies.push(Anomaly::new(
                    &MALFORMED,
                    at,
                    "a central directory record is missing or truncated; Python's zipfile refuses the archive".to_owned(),
                ));
                break;
            }
        }
    }
    if !archive.truncated_at_limit && archive.entries.len() as u64 != archive.end.entries_total {
        anomalies.push(Anomaly::new(
            &DIRECTORY_MISMATCH,
            archive.end.offset,
            format!(
                "the end record counts {} entries but the central directory holds {}; Python reads by size and \
                 torch.load (miniz) by count, so they list different files",
                archive.end.entries_total,
                archive.entries.len()
            ),
        ));
    }
    if base > 0 {
        read_miniz_directory(data, &mut archive, max_members, &mut anomalies);
    }
    Some((Some(archive), anomalies))
}

/// miniz ignores prepended data: it reads the directory at the declared offset. When that offset
/// holds another directory, the two loaders see different archives.
fn read_miniz_directory<'a>(data: &'a [u8], archive: &mut Archive<'a>, max_members: usize, anomalies: &mut Vec<Anomaly>) {
    let Some(start) = to_usize(archive.end.cd_offset).filter(|&s| s != archive.directory.start) else { return };
    if !data.get(start..).is_some_and(|d| d.starts_with(CENTRAL_SIG)) {
        return;
    }
    let count = to_usize(archive.end.entries_total).unwrap_or(usize::MAX).min(max_members);
    let mut at = start;
    let mut ignored = Vec::new();
    while archive.miniz_entries.len() < count {
        let Some((entry, len)) = parse_central(data, at, &mut ignored) else { break };
        archive.miniz_entries.push(entry);
        at += len;
    }
    anomalies.push(Anomaly::new(
        &DIRECTORY_MISMATCH,
        start,
        format!(
            "a second central directory ({} entries) sits at the declared offset {start}: torch.load (miniz) reads it, \
             while Python's zipfile reads the one at {}",
            archive.miniz_entries.len(),
            archive.directory.start
        ),
    ));
}

#[path = "zip_stream.rs"]
mod stream;
pub(crate) use stream::{StreamedEntry, streamed_entry, walk_local_headers};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::zip_fixture::{Member, ZipBuilder};

    #[test]
    fn reads_directory_and_local_headers_of_a_plain_zip() {
        let zip = ZipBuilder::new().member(Member::stored("a.txt", b"hello")).member(Member::deflated("b/c.bin", &[7u8; 300])).finish();
        let (archive, anomalies) = read(&zip, 100).expect("a zip");
        assert!(anomalies.is_empty(), "{anomalies:?}");
        let archive = archive.expect("directory");
        assert_eq!(archive.base, 0);
        let names: Vec<_> = archive.entries.iter().map(CentralEntry::display_name).collect();
        assert_eq!(names, ["a.txt", "b/c.bin"]);
        let streamed = walk_local_headers(&zip, 100, &mut { u64::MAX }, |_| None);
        assert_eq!(streamed.len(), 2);
        assert_eq!(&zip[streamed[0].data.clone()], b"hello");
        for (c, s) in archive.entries.iter().zip(&streamed) {
            assert!(header_differences(c, &s.header).is_empty());
        }
    }

    #[test]
    fn python_finds_the_end_record_behind_a_comment() {
        let zip = ZipBuilder::new().member(Member::stored("a", b"x")).comment(b"a comment").finish();
        let offset = end_record_offset(&zip).expect("found");
        assert_eq!(offset, zip.len() - 22 - 9);
    }

    #[test]
    fn descriptor_entries_are_delimited_by_decoding() {
        let zip = ZipBuilder::new().member(Member::deflated("a", &[1u8; 5000]).descriptor()).member(Member::stored("b", b"y")).finish();
        let streamed = walk_local_headers(&zip, 100, &mut { u64::MAX }, |_| None);
        assert_eq!(streamed.len(), 2);
        assert_eq!(streamed[1].header.name, b"b");
    }

    #[test]
    fn display_name_escapes_control_characters() {
        assert_eq!(display_name(b"a\nb\0"), "a\\nb\\u{0}");
    }
}
