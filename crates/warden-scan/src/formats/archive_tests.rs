//! Tests of tar, compressed-stream and 7z scanning.

use std::io::Write;

use proptest::prelude::*;
use warden_core::{Finding, Severity};

use super::*;
use crate::formats::zip_fixture::{EVIL_PICKLE, Member, ZipBuilder, assert_pickle_detected_in, reached, short_npy};
use crate::settings::{Limits, ScanSettings};
use crate::walk::scan_bytes;

fn scan(name: &str, data: &[u8]) -> Vec<Finding> {
    scan_bytes(name, data, &ScanSettings::default()).1
}

fn with_rule<'f>(findings: &'f [Finding], id: &str) -> Vec<&'f Finding> {
    findings.iter().filter(|f| f.rule_id.as_str() == id).collect()
}



fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append_data(&mut header, name, *data).unwrap();
    }
    builder.into_inner().unwrap()
}

/// A tar entry written with raw header fields, bypassing the builder's name checks.
fn raw_entry(kind: tar::EntryType, name: &[u8], link: &[u8], data: &[u8]) -> Vec<u8> {
    let mut header = tar::Header::new_ustar();
    header.as_old_mut().name[..name.len()].copy_from_slice(name);
    header.as_old_mut().linkname[..link.len()].copy_from_slice(link);
    header.set_entry_type(kind);
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    let mut out = header.as_bytes().to_vec();
    out.extend_from_slice(data);
    out.resize(out.len().next_multiple_of(512), 0);
    out
}

fn end_marker(mut tar: Vec<u8>) -> Vec<u8> {
    tar.extend_from_slice(&[0; 1024]);
    tar
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
fn ordinary_tar_gz_is_quiet_and_members_are_reached() {
    let long = format!("{}/weights.npy", "deep/".repeat(30));
    let tar = tar_of(&[("model/config.json", br#"{"hidden": 3}"#), ("model/a.npy", &short_npy()), (&long, &short_npy())]);
    let findings = scan("model.tar.gz", &gzip(&tar));
    assert!(reached(&findings, "model/a.npy"), "{findings:#?}");
    assert!(reached(&findings, &long), "GNU long name not applied: {findings:#?}");
    assert!(findings.iter().all(|f| f.rule_id.as_str() == "numpy.truncated"), "{findings:#?}");
}

#[test]
fn clean_tar_gz_has_no_findings_at_all() {
    let npy = {
        let mut v = short_npy();
        v.push(0);
        v
    };
    let tar = tar_of(&[("a.npy", &npy), ("b.npy", &npy)]);
    let (record, findings) = scan_bytes("x.tgz", &gzip(&tar), &ScanSettings::default());
    assert_eq!(record.format, "gzip");
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn malicious_pickle_in_tar_gz_is_reached() {
    let tar = tar_of(&[("evil.pkl", EVIL_PICKLE)]);
    assert_pickle_detected_in(&scan("x.tar.gz", &gzip(&tar)), "evil.pkl");
}

#[test]
fn gzip_member_is_named_after_fname() {
    let mut e = flate2::GzBuilder::new().filename("weights.npy").write(Vec::new(), flate2::Compression::default());
    e.write_all(&short_npy()).unwrap();
    let findings = scan("w.gz", &e.finish().unwrap());
    let f = with_rule(&findings, "numpy.truncated");
    assert_eq!(f[0].location.member.as_deref(), Some("weights.npy"));
}

#[test]
fn multi_member_gzip_is_read_whole() {
    let npy = short_npy();
    let (a, b) = npy.split_at(40);
    let mut data = gzip(a);
    data.extend_from_slice(&gzip(b));
    assert!(reached(&scan("x.gz", &data), "<gzip stream>"));
}

#[test]
fn every_stream_format_is_decoded() {
    let npy = short_npy();
    let bz = {
        let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
        e.write_all(&npy).unwrap();
        e.finish().unwrap()
    };
    let xz = {
        let mut w = lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::with_preset(6)).unwrap();
        w.write_all(&npy).unwrap();
        w.finish().unwrap()
    };
    let lzma = {
        let options = lzma_rust2::LzmaOptions::with_preset(6);
        let mut w = lzma_rust2::LzmaWriter::new_use_header(Vec::new(), &options, Some(npy.len() as u64)).unwrap();
        w.write_all(&npy).unwrap();
        w.finish().unwrap()
    };
    let zlib = {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(&npy).unwrap();
        e.finish().unwrap()
    };
    let zst = zstd::encode_all(&npy[..], 3).unwrap();
    for (format, data) in [("bzip2", bz), ("xz", xz), ("lzma", lzma), ("zlib", zlib), ("zstd", zst)] {
        let (record, findings) = scan_bytes("x", &data, &ScanSettings::default());
        assert_eq!(record.format, format);
        assert!(reached(&findings, &format!("<{format} stream>")), "{format}: {findings:#?}");
    }
}

#[test]
fn truncated_stream_is_reported_and_its_prefix_scanned() {
    let mut payload = short_npy();
    payload.extend_from_slice(&(0..20_000u32).flat_map(|i| i.to_le_bytes()).collect::<Vec<_>>());
    let stream = gzip(&payload);
    let findings = scan("x.gz", &stream[..stream.len() / 2]);
    let f = with_rule(&findings, "archive.corrupt-stream");
    assert_eq!(f.len(), 1, "{findings:#?}");
    assert_eq!(f[0].severity, Severity::High);
    // The prefix holds the array header: it was scanned (as a too-long array, here).
    assert!(findings.iter().any(|f| f.rule_id.as_str().starts_with("numpy.")), "{findings:#?}");
}

#[test]
fn undecodable_stream_is_only_low() {
    // Sniffs as zlib (valid header bytes) but holds no valid deflate data.
    let findings = scan("x", &[0x78, 0x9c, 0xff, 0xff, 0xff, 0xff]);
    let f = with_rule(&findings, "archive.corrupt-stream");
    assert_eq!(f.len(), 1, "{findings:#?}");
    assert_eq!(f[0].severity, Severity::Low);
}

#[test]
fn decompression_bombs_are_stopped() {
    let bomb = gzip(&vec![0u8; 20 << 20]);
    let findings = scan("bomb.gz", &bomb);
    assert!(with_rule(&findings, "scan.limit-exceeded").iter().any(|f| f.message.contains("ratio")), "{findings:#?}");
    let settings = ScanSettings { limits: Limits { max_member_bytes: 1 << 20, ..Limits::default() }, ..ScanSettings::default() };
    let (_, findings) = scan_bytes("big.gz", &gzip(&[7u8; 3 << 20]), &settings);
    assert!(!with_rule(&findings, "scan.limit-exceeded").is_empty(), "{findings:#?}");
}

#[test]
fn links_and_devices_are_reported() {
    let mut tar = raw_entry(tar::EntryType::Symlink, b"model/weights", b"../../../etc/passwd", b"");
    tar.extend(raw_entry(tar::EntryType::Symlink, b"snap/config.json", b"../blobs/abc", b""));
    tar.extend(raw_entry(tar::EntryType::Link, b"hard", b"/etc/shadow", b""));
    tar.extend(raw_entry(tar::EntryType::Char, b"dev/mem", b"", b""));
    let findings = scan("x.tar", &end_marker(tar));
    let links = with_rule(&findings, "archive.link-entry");
    assert_eq!(links.len(), 3, "{findings:#?}");
    let severities: Vec<Severity> = links.iter().map(|f| f.severity).collect();
    assert_eq!(severities, [Severity::High, Severity::Low, Severity::High]);
    assert_eq!(with_rule(&findings, "archive.special-entry").len(), 1);
}

#[test]
fn traversal_names_are_reported() {
    let mut tar = raw_entry(tar::EntryType::Regular, b"../../.bashrc", b"", b"echo pwned");
    tar.extend(raw_entry(tar::EntryType::Regular, b"/etc/cron.d/job", b"", b"* * * * * id"));
    tar.extend(raw_entry(tar::EntryType::Regular, b"ok\\name", b"", b"fine"));
    let findings = scan("x.tar", &end_marker(tar));
    assert_eq!(with_rule(&findings, "archive.path-traversal").len(), 2, "{findings:#?}");
}

#[test]
fn data_after_the_end_marker_is_reported_and_scanned() {
    let mut tar = end_marker(tar_of(&[("a.txt", b"hello")]));
    tar.extend(raw_entry(tar::EntryType::Regular, b"hidden.npy", b"", &short_npy()));
    let findings = scan("x.tar", &tar);
    assert_eq!(with_rule(&findings, "archive.trailing-data").len(), 1, "{findings:#?}");
    assert!(reached(&findings, "hidden.npy"), "{findings:#?}");
}

#[test]
fn truncated_tar_member_is_reported_and_its_prefix_scanned() {
    let tar = tar_of(&[("a.npy", &[short_npy(), vec![0; 4000]].concat())]);
    let findings = scan("x.tar", &tar[..512 + 600]);
    assert!(with_rule(&findings, "archive.malformed").iter().any(|f| f.message.contains("declares")), "{findings:#?}");
    assert!(findings.iter().any(|f| f.rule_id.as_str().starts_with("numpy.")));
}

#[test]
fn corrupt_tar_header_is_reported() {
    let mut tar = tar_of(&[("a.txt", b"one"), ("b.txt", b"two")]);
    tar[1024 + 148] ^= 0x55; // second header's checksum
    let findings = scan("x.tar", &tar);
    assert!(with_rule(&findings, "archive.malformed").iter().any(|f| f.message.contains("corrupt")), "{findings:#?}");
}

#[test]
fn duplicate_tar_names_are_low() {
    let findings = scan("x.tar", &tar_of(&[("a.txt", b"one"), ("a.txt", b"two")]));
    let f = with_rule(&findings, "archive.duplicate-name");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].severity, Severity::Low);
}

/// `storages` of a legacy tar checkpoint: a count, one `(key, location, type)` record pickle
/// (`record`), two float32 elements whose bytes include a PROTO byte, then the views pickle.
fn legacy_storages(record: &[u8]) -> Vec<u8> {
    let mut out = b"\x80\x02K\x01.".to_vec();
    out.extend_from_slice(record);
    out.extend_from_slice(&2u64.to_le_bytes());
    out.extend_from_slice(&[0x80, 0x02, 0x4b, 0x2e, 0, 0, 0x80, 0x3f]);
    out.extend_from_slice(b"\x80\x02]q\x00.");
    out
}

const STORAGE_RECORD: &[u8] = b"\x80\x02K\x01X\x03\x00\x00\x00cpuq\x00ctorch\nFloatStorage\nq\x01\x87q\x02.";

#[test]
fn legacy_torch_tar_records_are_walked_not_read_as_opcodes() {
    let mut tensors = b"\x80\x02K\x01.".to_vec();
    tensors.extend_from_slice(b"\x80\x02K\x02K\x01ctorch\nFloatStorage\nq\x00\x87q\x01.");
    tensors.extend_from_slice(&1i32.to_le_bytes());
    tensors.extend_from_slice(&[0; 4]);
    for v in [2i64, 1, 0] {
        tensors.extend_from_slice(&v.to_le_bytes());
    }
    let tar = tar_of(&[
        ("sys_info", b"\x80\x02}q\x00."),
        ("pickle", b"\x80\x02}q\x00."),
        ("storages", &legacy_storages(STORAGE_RECORD)),
        ("tensors", &tensors),
    ]);
    let findings = scan("old.tar", &tar);
    assert!(findings.iter().all(|f| f.rule_id.as_str() != "pickle.malformed" && f.rule_id.as_str() != "pytorch.legacy-truncated"), "{findings:#?}");
}

#[test]
fn legacy_torch_tar_pickles_are_all_scanned() {
    let tar = tar_of(&[("sys_info", b"\x80\x02}q\x00."), ("pickle", EVIL_PICKLE), ("tensors", b"\x80\x02K\x00."), ("storages", &legacy_storages(EVIL_PICKLE))]);
    let findings = scan("old.tar", &tar);
    assert_pickle_detected_in(&findings, "pickle");
    assert_pickle_detected_in(&findings, "storages");
}

#[test]
fn broken_legacy_storage_record_is_reported() {
    let mut storages = legacy_storages(STORAGE_RECORD);
    let views = storages.len() - 6;
    storages[views] = b'x'; // no pickle follows the elements any more
    let tar = tar_of(&[("pickle", b"\x80\x02}q\x00."), ("tensors", b"\x80\x02K\x00."), ("storages", &storages)]);
    let findings = scan("old.tar", &tar);
    assert!(with_rule(&findings, "pytorch.legacy-truncated").iter().any(|f| f.message.contains("storages")), "{findings:#?}");
}

#[test]
fn zip_inside_a_tar_is_a_member_not_a_polyglot() {
    let zip = ZipBuilder::new().member(Member::stored("inner.npy", &short_npy())).finish();
    let tar = tar_of(&[("model.zip", &zip)]);
    assert!(!crate::formats::zip::has_trailing_central_directory(&tar));
    let findings = scan("x.tar", &tar);
    assert!(with_rule(&findings, "zip.polyglot").is_empty(), "{findings:#?}");
    assert!(reached(&findings, "model.zip!/inner.npy"));
}

fn sevenz(files: &[(&str, &[u8])], password: Option<&str>, encrypt_header: bool) -> Vec<u8> {
    let mut writer = sevenz_rust2::ArchiveWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    if let Some(password) = password {
        writer.set_content_methods(vec![
            sevenz_rust2::encoder_options::AesEncoderOptions::new(password.into()).into(),
            sevenz_rust2::EncoderConfiguration::new(sevenz_rust2::EncoderMethod::LZMA2),
        ]);
    }
    writer.set_encrypt_header(encrypt_header);
    for (name, data) in files {
        writer.push_archive_entry(sevenz_rust2::ArchiveEntry::new_file(name), Some(*data)).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

#[test]
fn sevenz_members_are_reached() {
    let data = sevenz(&[("a.npy", &short_npy()), ("b.txt", b"hello")], None, false);
    let (record, findings) = scan_bytes("x.7z", &data, &ScanSettings::default());
    assert_eq!(record.format, "7z");
    assert!(reached(&findings, "a.npy"), "{findings:#?}");
    assert!(findings.iter().all(|f| f.rule_id.as_str() == "numpy.truncated" || f.severity < Severity::Medium), "{findings:#?}");
}

#[test]
fn encrypted_sevenz_is_reported() {
    let content = sevenz(&[("a.pkl", EVIL_PICKLE)], Some("secret"), false);
    let findings = scan("x.7z", &content);
    assert!(with_rule(&findings, "archive.uninspected-entry").iter().any(|f| f.message.contains("a.pkl")), "{findings:#?}");
    let header = sevenz(&[("a.pkl", EVIL_PICKLE)], Some("secret"), true);
    let findings = scan("x.7z", &header);
    assert!(with_rule(&findings, "archive.uninspected-entry").iter().any(|f| f.message.contains("header")), "{findings:#?}");
}

#[test]
fn truncated_sevenz_is_malformed() {
    let data = sevenz(&[("a.npy", &short_npy())], None, false);
    let findings = scan("x.7z", &data[..data.len() - 10]);
    assert!(!with_rule(&findings, "archive.malformed").is_empty(), "{findings:#?}");
}

#[test]
fn path_problems_are_classified() {
    assert_eq!(path_problem(b"a/b.txt"), None);
    assert_eq!(path_problem(b"a/../../b"), Some(PathProblem::Traversal));
    assert_eq!(path_problem(b"..\\b"), Some(PathProblem::Traversal));
    assert_eq!(path_problem(b"/abs"), Some(PathProblem::Absolute));
    assert_eq!(path_problem(b"D:x"), Some(PathProblem::Absolute));
    assert_eq!(path_problem(b"a\0b"), Some(PathProblem::Nul));
    assert_eq!(path_problem(b"a\\b"), Some(PathProblem::Backslash));
    assert_eq!(path_problem(b"a..b/c.."), None);
    assert!(!link_escapes(b"snap/rev", b"../../blobs/x"));
    assert!(link_escapes(b"snap", b"../../x"));
}

fn magic_prefixes() -> Vec<Vec<u8>> {
    let mut tar_header = vec![0u8; 262];
    tar_header[257..262].copy_from_slice(b"ustar");
    vec![
        vec![0x1f, 0x8b, 8, 0],
        b"BZh9".to_vec(),
        vec![0xfd, b'7', b'z', b'X', b'Z', 0],
        vec![0x28, 0xb5, 0x2f, 0xfd],
        vec![b'7', b'z', 0xbc, 0xaf, 0x27, 0x1c, 0, 4],
        vec![0x78, 0x9c],
        vec![0x5d, 0, 0, 0x80, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        tar_header,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_after_archive_magic_never_panic(which in 0usize..8, body in proptest::collection::vec(any::<u8>(), 0..1200)) {
        let mut data = magic_prefixes()[which].clone();
        data.extend_from_slice(&body);
        let _ = scan_bytes("fuzz", &data, &ScanSettings::default());
    }

    #[test]
    fn mutated_archives_never_panic(edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6), which in 0usize..3) {
        let tar = tar_of(&[("a.npy", &short_npy()), ("b", EVIL_PICKLE)]);
        let mut data = match which {
            0 => tar,
            1 => gzip(&tar),
            _ => sevenz(&[("a.npy", &short_npy())], None, false),
        };
        for (at, byte) in edits {
            let i = at.index(data.len());
            data[i] = byte;
        }
        let _ = scan_bytes("fuzz", &data, &ScanSettings::default());
    }
}
