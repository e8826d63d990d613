//! Test-only zip writer that assembles local headers, central records and the end record by hand,
//! so tests can make them disagree the way hostile archives do.

use std::io::Write;

use warden_core::{Finding, Severity};

use super::zip_layout::crc32;
use crate::settings::ScanSettings;
use crate::walk::scan_bytes;

/// Protocol-2 pickle of `os.system("id")`: proves a member's bytes reached the pickle scanner.
pub(crate) const EVIL_PICKLE: &[u8] = b"\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03.";

/// A `.npy` file that is one byte short: scanning it yields `numpy.truncated` at its member,
/// which proves a member's bytes were decoded and reached a scanner without the pickle machine.
pub(crate) fn short_npy() -> Vec<u8> {
    let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
    let mut text = header.to_owned();
    text.push_str(&" ".repeat((64 - (10 + header.len() + 1) % 64) % 64));
    text.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(text.len() as u16).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(&[0; 7]);
    out
}

/// Whether the short `.npy` was reached at a member whose path ends with `member`.
pub(crate) fn reached(findings: &[Finding], member: &str) -> bool {
    findings
        .iter()
        .any(|f| f.rule_id.as_str() == "numpy.truncated" && f.location.member.as_deref().is_some_and(|m| m.ends_with(member)))
}


/// One member to write. Fields left `None` take the value the central record has.
#[derive(Clone)]
pub(crate) struct Member {
    name: Vec<u8>,
    payload: Vec<u8>,
    method: u16,
    crc: u32,
    uncompressed_size: u32,
    flags: u16,
    descriptor: bool,
    wide_descriptor: bool,
    local_name: Option<Vec<u8>>,
    local_method: Option<u16>,
    local_compressed_size: Option<u32>,
    local_flags: Option<u16>,
    central_extra: Vec<u8>,
    local_extra: Vec<u8>,
    central_offset: Option<u32>,
    listed: bool,
    gap_before: Vec<u8>,
}

impl Member {
    /// A member whose `payload` is already encoded with `method`; `original` is what it decodes to.
    pub fn encoded(name: &str, method: u16, payload: Vec<u8>, original: &[u8]) -> Self {
        Member {
            name: name.as_bytes().to_vec(),
            payload,
            method,
            crc: crc32(original),
            uncompressed_size: u32::try_from(original.len()).expect("small test data"),
            flags: 0,
            descriptor: false,
            wide_descriptor: false,
            local_name: None,
            local_method: None,
            local_compressed_size: None,
            local_flags: None,
            central_extra: Vec::new(),
            local_extra: Vec::new(),
            central_offset: None,
            listed: true,
            gap_before: Vec::new(),
        }
    }

    pub fn stored(name: &str, data: &[u8]) -> Self {
        Member::encoded(name, 0, data.to_vec(), data)
    }

    pub fn deflated(name: &str, data: &[u8]) -> Self {
        let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(data).expect("in memory");
        Member::encoded(name, 8, encoder.finish().expect("in memory"), data)
    }

    /// Sizes and CRC go in a trailing data descriptor (flag bit 3).
    pub fn descriptor(mut self) -> Self {
        self.descriptor = true;
        self.flags |= 1 << 3;
        self
    }

    /// A data descriptor with 8-byte sizes, as ZIP64 writers (miniz) emit.
    pub fn wide_descriptor(mut self) -> Self {
        self.wide_descriptor = true;
        self.descriptor()
    }

    pub fn flags(mut self, flags: u16) -> Self {
        self.flags = flags;
        self
    }

    pub fn crc(mut self, crc: u32) -> Self {
        self.crc = crc;
        self
    }

    pub fn local_name(mut self, name: &str) -> Self {
        self.local_name = Some(name.as_bytes().to_vec());
        self
    }

    pub fn local_method(mut self, method: u16) -> Self {
        self.local_method = Some(method);
        self
    }

    pub fn local_compressed_size(mut self, size: u32) -> Self {
        self.local_compressed_size = Some(size);
        self
    }

    pub fn local_flags(mut self, flags: u16) -> Self {
        self.local_flags = Some(flags);
        self
    }

    pub fn central_extra(mut self, extra: &[u8]) -> Self {
        self.central_extra = extra.to_vec();
        self
    }

    pub fn local_extra(mut self, extra: &[u8]) -> Self {
        self.local_extra = extra.to_vec();
        self
    }

    /// The central record points at `offset` instead of this member's local header.
    pub fn central_offset(mut self, offset: u32) -> Self {
        self.central_offset = Some(offset);
        self
    }

    /// Written as a local header only, absent from the central directory.
    pub fn unlisted(mut self) -> Self {
        self.listed = false;
        self
    }

    /// Raw bytes written before this member's local header.
    pub fn gap_before(mut self, bytes: &[u8]) -> Self {
        self.gap_before = bytes.to_vec();
        self
    }
}

/// Writes members, then the central directory, then the end record.
#[derive(Default)]
pub(crate) struct ZipBuilder {
    prefix: Vec<u8>,
    members: Vec<Member>,
    comment: Vec<u8>,
    declared_comment_len: Option<u16>,
    trailing: Vec<u8>,
    count: Option<u16>,
    extra_records: Vec<Member>,
}

impl ZipBuilder {
    pub fn new() -> Self {
        ZipBuilder::default()
    }

    /// Bytes before the archive, with offsets relative to the archive (as `cat prefix a.zip` makes).
    pub fn prefix(mut self, bytes: &[u8]) -> Self {
        self.prefix = bytes.to_vec();
        self
    }

    pub fn member(mut self, member: Member) -> Self {
        self.members.push(member);
        self
    }

    /// A central record that repeats `member`'s record (same offset), e.g. a duplicate listing.
    pub fn extra_record(mut self, member: Member) -> Self {
        self.extra_records.push(member);
        self
    }

    pub fn comment(mut self, comment: &[u8]) -> Self {
        self.comment = comment.to_vec();
        self
    }

    pub fn declared_comment_len(mut self, len: u16) -> Self {
        self.declared_comment_len = Some(len);
        self
    }

    pub fn trailing(mut self, bytes: &[u8]) -> Self {
        self.trailing = bytes.to_vec();
        self
    }

    /// The entry count the end record declares.
    pub fn count(mut self, count: u16) -> Self {
        self.count = Some(count);
        self
    }

    pub fn finish(self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut central = Vec::new();
        let mut listed = 0u16;
        for m in &self.members {
            out.extend_from_slice(&m.gap_before);
            let offset = u32::try_from(out.len()).expect("small test data");
            let local_name = m.local_name.as_ref().unwrap_or(&m.name);
            let compressed = u32::try_from(m.payload.len()).expect("small test data");
            let (crc, csize, usize_) = if m.descriptor { (0, 0, 0) } else { (m.crc, m.local_compressed_size.unwrap_or(compressed), m.uncompressed_size) };
            out.extend_from_slice(b"PK\x03\x04");
            put16(&mut out, 20);
            put16(&mut out, m.local_flags.unwrap_or(m.flags));
            put16(&mut out, m.local_method.unwrap_or(m.method));
            put16(&mut out, 0);
            put16(&mut out, 0x21);
            put32(&mut out, crc);
            put32(&mut out, csize);
            put32(&mut out, usize_);
            put16(&mut out, u16::try_from(local_name.len()).expect("short name"));
            put16(&mut out, u16::try_from(m.local_extra.len()).expect("short extra"));
            out.extend_from_slice(local_name);
            out.extend_from_slice(&m.local_extra);
            out.extend_from_slice(&m.payload);
            if m.descriptor {
                out.extend_from_slice(b"PK\x07\x08");
                put32(&mut out, m.crc);
                if m.wide_descriptor {
                    out.extend_from_slice(&u64::from(compressed).to_le_bytes());
                    out.extend_from_slice(&u64::from(m.uncompressed_size).to_le_bytes());
                } else {
                    put32(&mut out, compressed);
                    put32(&mut out, m.uncompressed_size);
                }
            }
            if m.listed {
                write_central(&mut central, m, m.central_offset.unwrap_or(offset));
                listed += 1;
            }
        }
        for m in &self.extra_records {
            write_central(&mut central, m, m.central_offset.unwrap_or(0));
            listed += 1;
        }
        let cd_offset = u32::try_from(out.len()).expect("small test data");
        out.extend_from_slice(&central);
        out.extend_from_slice(b"PK\x05\x06");
        put16(&mut out, 0);
        put16(&mut out, 0);
        let count = self.count.unwrap_or(listed);
        put16(&mut out, count);
        put16(&mut out, count);
        put32(&mut out, u32::try_from(central.len()).expect("small test data"));
        put32(&mut out, cd_offset);
        put16(&mut out, self.declared_comment_len.unwrap_or(u16::try_from(self.comment.len()).expect("short comment")));
        out.extend_from_slice(&self.comment);
        out.extend_from_slice(&self.trailing);
        let mut file = self.prefix;
        file.extend_from_slice(&out);
        file
    }
}

fn write_central(central: &mut Vec<u8>, m: &Member, offset: u32) {
    central.extend_from_slice(b"PK\x01\x02");
    put16(central, 0x031e);
    put16(central, 20);
    put16(central, m.flags);
    put16(central, m.method);
    put16(central, 0);
    put16(central, 0x21);
    put32(central, m.crc);
    put32(central, u32::try_from(m.payload.len()).expect("small test data"));
    put32(central, m.uncompressed_size);
    put16(central, u16::try_from(m.name.len()).expect("short name"));
    put16(central, u16::try_from(m.central_extra.len()).expect("short extra"));
    put16(central, 0);
    put16(central, 0);
    put16(central, 0);
    put32(central, 0);
    put32(central, offset);
    central.extend_from_slice(&m.name);
    central.extend_from_slice(&m.central_extra);
}

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Asserts a critical pickle finding located in `member` (a suffix of the finding's member path;
/// empty for the file itself).
/// Skipped while the pickle scanner cannot yet detect [`EVIL_PICKLE`] on its own.
pub(crate) fn assert_pickle_detected_in(findings: &[Finding], member: &str) {
    let settings = ScanSettings::default();
    let (_, alone) = scan_bytes("payload.pkl", EVIL_PICKLE, &settings);
    if !alone.iter().any(|f| f.severity == Severity::Critical) {
        return; // the pickle scanner has not landed yet
    }
    assert!(
        findings.iter().any(|f| f.rule_id.as_str().starts_with("pickle.")
            && f.severity == Severity::Critical
            && f.location.member.as_deref().unwrap_or("").ends_with(member)),
        "no critical pickle finding in `{member}`: {findings:#?}"
    );
}
