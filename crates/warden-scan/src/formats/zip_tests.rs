//! Tests of the zip reader: one per finding kind, the benign shapes that must stay quiet, and
//! hostile inputs that must stay bounded.

use std::io::Write;

use proptest::prelude::*;
use warden_core::{Finding, Severity};

use super::*;
use crate::formats::zip_fixture::{EVIL_PICKLE, Member, ZipBuilder, assert_pickle_detected_in, reached, short_npy};
use crate::settings::{Limits, ScanSettings};
use crate::walk::scan_bytes;

fn scan(data: &[u8]) -> Vec<Finding> {
    scan_bytes("test.zip", data, &ScanSettings::default()).1
}

fn with_rule<'f>(findings: &'f [Finding], id: &str) -> Vec<&'f Finding> {
    findings.iter().filter(|f| f.rule_id.as_str() == id).collect()
}

fn has(findings: &[Finding], id: &str) -> bool {
    !with_rule(findings, id).is_empty()
}

fn quiet(findings: &[Finding]) -> bool {
    findings.iter().all(|f| f.severity < Severity::Medium)
}



#[test]
fn ordinary_zips_are_quiet() {
    let zip = ZipBuilder::new()
        .member(Member::stored("model/", b""))
        .member(Member::stored("model/config.txt", b"layers = 3\n"))
        .member(Member::deflated("model/weights.bin", &[0u8; 10_000]))
        .member(Member::deflated("model/streamed.bin", b"written by a streaming writer").descriptor())
        .member(Member::stored("model/wide.bin", b"ZIP64 descriptor").wide_descriptor())
        .member(Member::deflated("model/wide2.bin", b"ZIP64 descriptor").wide_descriptor())
        .comment(b"made by a friendly tool")
        .finish();
    let findings = scan(&zip);
    assert!(quiet(&findings), "{findings:#?}");
    assert!(!has(&findings, "zip.header-mismatch"));
}

#[test]
fn keras_zip_is_recognised_and_quiet() {
    let zip = ZipBuilder::new()
        .member(Member::stored("metadata.json", br#"{"keras_version": "3.0.0"}"#))
        .member(Member::deflated("config.json", br#"{"class_name": "Sequential", "config": {}}"#))
        .member(Member::stored("model.weights.h5", b"\x89HDF\r\n\x1a\n"))
        .finish();
    let (record, findings) = scan_bytes("m.keras", &zip, &ScanSettings::default());
    assert_eq!(record.format, "keras");
    assert!(findings.iter().all(|f| !f.rule_id.as_str().starts_with("zip.")), "{findings:#?}");
}

#[test]
fn zip64_end_records_are_followed() {
    let zip = with_zip64_end(&ZipBuilder::new().member(Member::stored("a.npy", &short_npy())).finish());
    let findings = scan(&zip);
    assert!(reached(&findings, "a.npy"), "{findings:#?}");
    assert!(findings.iter().all(|f| !f.rule_id.as_str().starts_with("zip.")), "{findings:#?}");
}

/// Rewrites a zip's end record as Python writes one for a ZIP64 archive: a ZIP64 end record and
/// locator, and saturated 32-bit fields.
fn with_zip64_end(zip: &[u8]) -> Vec<u8> {
    let eocd = zip.len() - 22;
    let count = u64::from(u16::from_le_bytes(zip[eocd + 10..eocd + 12].try_into().unwrap()));
    let size = u64::from(u32::from_le_bytes(zip[eocd + 12..eocd + 16].try_into().unwrap()));
    let offset = u64::from(u32::from_le_bytes(zip[eocd + 16..eocd + 20].try_into().unwrap()));
    let mut out = zip[..eocd].to_vec();
    let record = out.len() as u64;
    out.extend_from_slice(b"PK\x06\x06");
    out.extend_from_slice(&44u64.to_le_bytes());
    out.extend_from_slice(&[45, 0, 45, 0]);
    out.extend_from_slice(&[0; 8]);
    for v in [count, count, size, offset] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(b"PK\x06\x07");
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&record.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(b"PK\x05\x06\0\0\0\0\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\0\0");
    out
}

#[test]
fn every_supported_method_is_decoded() {
    let npy = short_npy();
    let bz = {
        let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
        e.write_all(&npy).unwrap();
        e.finish().unwrap()
    };
    let zst = zstd::encode_all(&npy[..], 3).unwrap();
    let xz = {
        let mut w = lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::with_preset(6)).unwrap();
        w.write_all(&npy).unwrap();
        w.finish().unwrap()
    };
    let lzma = {
        let options = lzma_rust2::LzmaOptions::with_preset(6);
        let props = (options.pb * 5 + options.lp) * 9 + options.lc;
        let mut out = vec![9, 20, 5, 0, props as u8];
        out.extend_from_slice(&options.dict_size.to_le_bytes());
        let mut w = lzma_rust2::LzmaWriter::new_no_header(out, &options, true).unwrap();
        w.write_all(&npy).unwrap();
        w.finish().unwrap()
    };
    // Plain deflate without 258-byte matches is also valid deflate64.
    let deflate64 = {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(&npy).unwrap();
        e.finish().unwrap()
    };
    let zip = ZipBuilder::new()
        .member(Member::stored("stored.npy", &npy))
        .member(Member::deflated("deflate.npy", &npy))
        .member(Member::encoded("deflate64.npy", 9, deflate64, &npy))
        .member(Member::encoded("bzip2.npy", 12, bz, &npy))
        .member(Member::encoded("lzma.npy", 14, lzma, &npy).flags(2))
        .member(Member::encoded("zstd.npy", 93, zst, &npy))
        .member(Member::encoded("xz.npy", 95, xz, &npy))
        .finish();
    let findings = scan(&zip);
    for name in ["stored.npy", "deflate.npy", "deflate64.npy", "bzip2.npy", "lzma.npy", "zstd.npy", "xz.npy"] {
        assert!(reached(&findings, name), "{name} not reached: {findings:#?}");
    }
    assert!(findings.iter().all(|f| !f.rule_id.as_str().starts_with("zip.")), "{findings:#?}");
}

#[test]
fn malicious_pickle_member_is_reached() {
    let zip = ZipBuilder::new().member(Member::deflated("payload/evil.pkl", EVIL_PICKLE)).finish();
    assert_pickle_detected_in(&scan(&zip), "payload/evil.pkl");
}

#[test]
fn local_name_mismatch_is_reported_and_scanned_under_the_central_name() {
    let zip = ZipBuilder::new().member(Member::stored("weights.npy", &short_npy()).local_name("other.npy")).finish();
    let findings = scan(&zip);
    let f = with_rule(&findings, "zip.header-mismatch");
    assert_eq!(f.len(), 1, "{findings:#?}");
    assert!(f[0].message.contains("`weights.npy`") && f[0].message.contains("`other.npy`"));
    assert!(reached(&findings, "weights.npy"));
}

#[test]
fn local_method_or_size_mismatch_scans_the_local_view_too() {
    let npy = short_npy();
    let mut padded = npy.clone();
    padded.extend_from_slice(&[0x41; 40]);
    // The central directory says 40 more bytes than the local header: two different contents.
    let zip = ZipBuilder::new()
        .member(Member::stored("a.npy", &padded).local_compressed_size(npy.len() as u32))
        .member(Member::stored("b.txt", b"bee"))
        .finish();
    let findings = scan(&zip);
    let f = with_rule(&findings, "zip.header-mismatch");
    assert!(f.iter().any(|f| f.message.contains("compressed size")), "{findings:#?}");
    assert!(reached(&findings, "a.npy (local header view)"), "{findings:#?}");

    let zip = ZipBuilder::new().member(Member::stored("m.bin", b"abc").local_method(8)).finish();
    let findings = scan(&zip);
    assert!(with_rule(&findings, "zip.header-mismatch").iter().any(|f| f.message.contains("compression method 0 vs 8")));
}

#[test]
fn flag_mismatch_is_reported() {
    let zip = ZipBuilder::new().member(Member::stored("a", b"x").local_flags(1 << 11)).finish();
    let findings = scan(&zip);
    assert!(with_rule(&findings, "zip.header-mismatch").iter().any(|f| f.message.contains("UTF-8")), "{findings:#?}");
}

#[test]
fn entry_hidden_inside_another_is_an_overlap() {
    // `outer`'s stored data is itself a complete local entry, which a second record points into.
    let inner = ZipBuilder::new().member(Member::stored("inner.npy", &short_npy())).finish();
    let inner_local = &inner[..30 + "inner.npy".len() + short_npy().len()];
    let zip = ZipBuilder::new()
        .member(Member::stored("outer", inner_local))
        .extra_record(Member::stored("inner.npy", &short_npy()).central_offset(30 + "outer".len() as u32))
        .finish();
    let findings = scan(&zip);
    assert!(has(&findings, "zip.overlapping-entries"), "{findings:#?}");
    assert!(reached(&findings, "inner.npy"));
}

#[test]
fn dangerous_names_are_reported() {
    let zip = ZipBuilder::new()
        .member(Member::stored("../../.bashrc", b"x"))
        .member(Member::stored("/etc/cron.d/x", b"x"))
        .member(Member::stored("a\0.pkl", b"x"))
        .member(Member::stored("C:evil", b"x"))
        .member(Member::stored("dir\\file.txt", b"x"))
        .finish();
    let findings = scan(&zip);
    assert_eq!(with_rule(&findings, "zip.path-traversal").len(), 4, "{findings:#?}");
    let backslash = with_rule(&findings, "zip.backslash-name");
    assert_eq!(backslash.len(), 1);
    assert_eq!(backslash[0].severity, Severity::Low);
    assert!(with_rule(&findings, "zip.path-traversal").iter().all(|f| !f.message.contains('\0')));
}

#[test]
fn duplicate_names_are_reported_and_both_scanned() {
    let zip = ZipBuilder::new().member(Member::stored("w.npy", b"harmless")).member(Member::stored("w.npy", &short_npy())).finish();
    let findings = scan(&zip);
    assert_eq!(with_rule(&findings, "zip.duplicate-name").len(), 1);
    assert!(reached(&findings, "w.npy"));
}

#[test]
fn encrypted_entries_are_reported_not_scanned() {
    let zip = ZipBuilder::new().member(Member::stored("secret.pkl", EVIL_PICKLE).flags(1)).finish();
    let findings = scan(&zip);
    let f = with_rule(&findings, "zip.encrypted-entry");
    assert_eq!(f.len(), 1);
    assert!(f[0].message.contains("password"));
    assert!(!findings.iter().any(|f| f.location.member.is_some()), "{findings:#?}");
}

#[test]
fn unknown_methods_are_reported() {
    let zip = ZipBuilder::new().member(Member::encoded("m", 98, b"ppmd?".to_vec(), b"x")).finish();
    assert!(has(&scan(&zip), "zip.unsupported-method"));
}

#[test]
fn crc_mismatch_is_reported() {
    let zip = ZipBuilder::new().member(Member::stored("a.bin", b"content").crc(0xdead_beef)).finish();
    let findings = scan(&zip);
    let f = with_rule(&findings, "zip.crc-mismatch");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].severity, Severity::High);
}

#[test]
fn torch_zip_without_recorded_crc_is_only_low() {
    let zip = ZipBuilder::new()
        .member(Member::stored("archive/data.pkl", b"\x80\x02}q\x00.").crc(0))
        .member(Member::stored("archive/version", b"3\n").crc(0))
        .finish();
    let findings = scan(&zip);
    assert!(has(&findings, "zip.crc-mismatch"));
    assert!(quiet(&findings), "{findings:#?}");
}

#[test]
fn corrupt_deflate_is_reported() {
    let zip = ZipBuilder::new().member(Member::encoded("bad", 8, vec![0xff; 32], b"whatever")).finish();
    assert!(has(&scan(&zip), "zip.corrupt-member"));
}

#[test]
fn size_disagreement_is_reported() {
    // The headers declare the size (and CRC) of other content than the stream holds.
    let zip = ZipBuilder::new().member(Member::encoded("a", 8, deflate(b"four"), b"three-and-more")).finish();
    assert!(has(&scan(&zip), "zip.size-mismatch"));
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
fn concatenated_zips_hide_the_first_one() {
    let first = ZipBuilder::new().member(Member::stored("hidden.npy", &short_npy())).finish();
    let zip = ZipBuilder::new().prefix(&first).member(Member::stored("visible.txt", b"hi")).finish();
    let findings = scan(&zip);
    assert!(has(&findings, "zip.prepended-data"), "{findings:#?}");
    assert!(reached(&findings, "hidden.npy"), "{findings:#?}");
}

#[test]
fn pickle_with_a_zip_appended_is_a_polyglot() {
    let zip = ZipBuilder::new().prefix(EVIL_PICKLE).member(Member::stored("x.npy", &short_npy())).finish();
    assert!(has_trailing_central_directory(&zip));
    let (record, findings) = scan_bytes("model.pkl", &zip, &ScanSettings::default());
    assert_eq!(record.format, "pickle");
    let f = with_rule(&findings, "zip.polyglot");
    assert_eq!(f.len(), 1);
    assert!(f[0].message.contains("pickle"));
    assert!(reached(&findings, "x.npy"));
    assert!(!has(&findings, "zip.prepended-data"), "the polyglot finding covers the prefix");
}

#[test]
fn plain_files_are_not_polyglots() {
    assert!(!has_trailing_central_directory(b"just some text"));
    assert!(!has_trailing_central_directory(&ZipBuilder::new().member(Member::stored("a", b"b")).finish()));
    // An end record with no entry behind it is not a zip worth reporting.
    let mut fake = b"data".to_vec();
    fake.extend_from_slice(b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
    assert!(!has_trailing_central_directory(&fake));
}

#[test]
fn unlisted_local_entries_are_scanned() {
    let zip = ZipBuilder::new()
        .member(Member::stored("a.txt", b"listed"))
        .member(Member::stored("ghost.npy", &short_npy()).unlisted())
        .member(Member::stored("b.txt", b"listed too"))
        .finish();
    let findings = scan(&zip);
    assert!(with_rule(&findings, "zip.unlisted-data").iter().any(|f| f.message.contains("ghost.npy")), "{findings:#?}");
    assert!(reached(&findings, "ghost.npy (unlisted local entry)"), "{findings:#?}");
}

#[test]
fn bytes_between_entries_are_reported_and_scanned() {
    let zip = ZipBuilder::new()
        .member(Member::stored("a.txt", b"one"))
        .member(Member::stored("b.txt", b"two").gap_before(&short_npy()))
        .finish();
    let findings = scan(&zip);
    assert!(has(&findings, "zip.unlisted-data"));
    assert!(reached(&findings, "<unlisted bytes at 38>"), "{findings:#?}");
}

#[test]
fn trailing_data_is_reported_and_scanned() {
    let zip = ZipBuilder::new().member(Member::stored("a", b"b")).trailing(&short_npy()).finish();
    let findings = scan(&zip);
    assert!(has(&findings, "zip.trailing-data"));
    assert!(reached(&findings, "<data after archive>"));
}

#[test]
fn comment_hiding_records_is_reported() {
    let zip = ZipBuilder::new().member(Member::stored("a", b"b")).comment(b"look: PK\x01\x02 here").finish();
    assert!(has(&scan(&zip), "zip.comment-trick"));
    let short = ZipBuilder::new().member(Member::stored("a", b"b")).declared_comment_len(50).finish();
    let findings = scan(&short);
    let f = with_rule(&findings, "zip.comment-trick");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].severity, Severity::Low);
}

#[test]
fn second_end_record_is_reported() {
    // A whole empty zip end record inside the comment: Python finds the last one.
    let mut comment = b"PK\x05\x06".to_vec();
    comment.extend_from_slice(&[0; 18]);
    let zip = ZipBuilder::new().member(Member::stored("a", b"b")).comment(&comment).finish();
    let findings = scan(&zip);
    assert!(has(&findings, "zip.comment-trick") || has(&findings, "zip.directory-mismatch"), "{findings:#?}");
}

#[test]
fn end_record_count_disagreement_is_reported() {
    let zip = ZipBuilder::new().member(Member::stored("a", b"b")).count(7).finish();
    let findings = scan(&zip);
    assert!(with_rule(&findings, "zip.directory-mismatch").iter().any(|f| f.message.contains("counts 7")), "{findings:#?}");
}

#[test]
fn directory_outside_the_file_falls_back_to_local_headers() {
    let mut zip = ZipBuilder::new().member(Member::stored("a.npy", &short_npy())).finish();
    let eocd = zip.len() - 22;
    zip[eocd + 16..eocd + 20].copy_from_slice(&0x7fff_0000u32.to_le_bytes());
    let findings = scan(&zip);
    assert!(with_rule(&findings, "zip.malformed").iter().any(|f| f.message.contains("outside the file")), "{findings:#?}");
    assert!(reached(&findings, "a.npy"));
}

#[test]
fn zip_without_end_record_is_still_scanned() {
    let zip = ZipBuilder::new().member(Member::stored("a.npy", &short_npy())).finish();
    let cut = &zip[..30 + 5 + short_npy().len()];
    let findings = scan(cut);
    assert!(has(&findings, "zip.malformed"));
    assert!(reached(&findings, "a.npy"));
}

#[test]
fn extra_field_tricks_are_reported() {
    let zip = ZipBuilder::new().member(Member::stored("a", b"b").central_extra(b"\x01\x00\xff\x00")).finish();
    assert!(has(&scan(&zip), "zip.extra-field-trick"));
    let mut unicode = b"\x75\x70".to_vec();
    let name = b"evil.pkl";
    unicode.extend_from_slice(&((5 + name.len()) as u16).to_le_bytes());
    unicode.push(1);
    unicode.extend_from_slice(&zip_layout::crc32(b"safe.txt").to_le_bytes());
    unicode.extend_from_slice(name);
    let zip = ZipBuilder::new().member(Member::stored("safe.txt", b"b").central_extra(&unicode)).finish();
    let findings = scan(&zip);
    assert!(with_rule(&findings, "zip.extra-field-trick").iter().any(|f| f.message.contains("evil.pkl")), "{findings:#?}");
}

#[test]
fn many_records_sharing_one_bomb_are_bounded() {
    let bomb = Member::deflated("bomb", &vec![0u8; 1 << 20]);
    let mut builder = ZipBuilder::new().member(bomb.clone());
    for i in 0..3000 {
        builder = builder.extra_record(Member::deflated(&format!("b{i}"), &vec![0u8; 1 << 20]));
    }
    let zip = builder.finish();
    let start = std::time::Instant::now();
    let findings = scan(&zip);
    assert!(start.elapsed().as_secs() < 20, "took {:?}", start.elapsed());
    assert!(has(&findings, "zip.overlapping-entries"));
    assert!(findings.len() < 200, "{} findings", findings.len());
}

#[test]
fn member_count_limit_is_enforced() {
    let mut builder = ZipBuilder::new();
    for i in 0..20 {
        builder = builder.member(Member::stored(&format!("f{i}"), b"x"));
    }
    let settings = ScanSettings { limits: Limits { max_members: 5, ..Limits::default() }, ..ScanSettings::default() };
    let (_, findings) = scan_bytes("many.zip", &builder.finish(), &settings);
    assert!(has(&findings, "scan.limit-exceeded"), "{findings:#?}");
}

#[test]
fn nested_zips_stop_at_the_depth_limit() {
    let mut data = short_npy();
    for level in 0..12 {
        data = ZipBuilder::new().member(Member::deflated(&format!("level{level}.zip"), &data)).finish();
    }
    let findings = scan(&data);
    assert!(has(&findings, "scan.limit-exceeded"), "{findings:#?}");
}

fn valid_zip() -> Vec<u8> {
    ZipBuilder::new()
        .member(Member::stored("archive/data.pkl", EVIL_PICKLE))
        .member(Member::deflated("archive/version", b"3\n").descriptor())
        .member(Member::stored("archive/data/0", &[1; 64]))
        .comment(b"c")
        .finish()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_after_zip_magic_never_panic(body in proptest::collection::vec(any::<u8>(), 0..600), magic in 0usize..3) {
        let mut data = [&b"PK\x03\x04"[..], b"PK\x05\x06", b"PK\x07\x08"][magic].to_vec();
        data.extend_from_slice(&body);
        let _ = scan_bytes("fuzz.zip", &data, &ScanSettings::default());
    }

    #[test]
    fn mutated_zips_never_panic(edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8), cut in any::<prop::sample::Index>()) {
        let mut data = valid_zip();
        for (at, byte) in edits {
            let i = at.index(data.len());
            data[i] = byte;
        }
        let keep = data.len() - cut.index(data.len() / 4 + 1);
        data.truncate(keep);
        let _ = scan_bytes("fuzz.zip", &data, &ScanSettings::default());
    }
}
