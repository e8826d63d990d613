//! Tests of the GGUF scanner, on files built by a small writer that mirrors gguf-py's layout.

use proptest::prelude::*;
use warden_core::Finding;

use super::*;
use crate::settings::ScanSettings;

fn scan_file(data: &[u8]) -> Vec<Finding> {
    let settings = ScanSettings::default();
    let mut ctx = ScanContext::new(&settings, "m.gguf");
    scan(&mut ctx, data);
    ctx.finish().0
}

fn ids(findings: &[Finding]) -> Vec<&str> {
    findings.iter().filter(|f| f.severity > Severity::Info).map(|f| f.rule_id.as_str()).collect()
}

/// Builds GGUF files the way gguf-py's `GGUFWriter` lays them out: header, key/values, tensor
/// infos, padding to the alignment, then each tensor's data padded to the alignment.
struct Builder {
    version: u32,
    big_endian: bool,
    kv: Vec<u8>,
    n_kv: u64,
    infos: Vec<u8>,
    n_tensors: u64,
    alignment: usize,
    data_len: usize,
}

impl Builder {
    fn new(version: u32) -> Self {
        Builder { version, big_endian: false, kv: Vec::new(), n_kv: 0, infos: Vec::new(), n_tensors: 0, alignment: 32, data_len: 0 }
    }

    fn u32(&self, out: &mut Vec<u8>, v: u32) {
        out.extend_from_slice(&if self.big_endian { v.to_be_bytes() } else { v.to_le_bytes() });
    }

    fn u64(&self, out: &mut Vec<u8>, v: u64) {
        out.extend_from_slice(&if self.big_endian { v.to_be_bytes() } else { v.to_le_bytes() });
    }

    fn len(&self, out: &mut Vec<u8>, n: u64) {
        if self.version == 1 { self.u32(out, n as u32) } else { self.u64(out, n) }
    }

    fn str(&self, out: &mut Vec<u8>, s: &str) {
        self.len(out, s.len() as u64);
        out.extend_from_slice(s.as_bytes());
    }

    fn kv_raw(mut self, key: &str, ty: u32, value: &[u8]) -> Self {
        let mut kv = std::mem::take(&mut self.kv);
        self.str(&mut kv, key);
        self.u32(&mut kv, ty);
        kv.extend_from_slice(value);
        self.kv = kv;
        self.n_kv += 1;
        self
    }

    fn kv_u32(self, key: &str, v: u32) -> Self {
        let mut value = Vec::new();
        self.u32(&mut value, v);
        self.kv_raw(key, 4, &value)
    }

    fn kv_str(self, key: &str, v: &str) -> Self {
        let mut value = Vec::new();
        self.str(&mut value, v);
        self.kv_raw(key, 8, &value)
    }

    fn kv_strings(self, key: &str, items: &[&str]) -> Self {
        let mut value = Vec::new();
        self.u32(&mut value, 8);
        self.len(&mut value, items.len() as u64);
        for item in items {
            self.str(&mut value, item);
        }
        self.kv_raw(key, 9, &value)
    }

    /// Adds a tensor placed after the previous ones (or at `offset` when given).
    fn tensor(mut self, name: &str, dims: &[u64], ty: u32, bytes: usize, offset: Option<u64>) -> Self {
        let mut infos = std::mem::take(&mut self.infos);
        self.str(&mut infos, name);
        self.u32(&mut infos, dims.len() as u32);
        for &d in dims {
            if self.version == 1 { self.u32(&mut infos, d as u32) } else { self.u64(&mut infos, d) }
        }
        self.u32(&mut infos, ty);
        self.u64(&mut infos, offset.unwrap_or(self.data_len as u64));
        self.infos = infos;
        self.n_tensors += 1;
        self.data_len += bytes.next_multiple_of(self.alignment);
        self
    }

    fn build(&self) -> Vec<u8> {
        let mut out = b"GGUF".to_vec();
        self.u32(&mut out, self.version);
        self.len(&mut out, self.n_tensors);
        self.len(&mut out, self.n_kv);
        out.extend_from_slice(&self.kv);
        out.extend_from_slice(&self.infos);
        out.resize(out.len().next_multiple_of(self.alignment), 0);
        out.resize(out.len() + self.data_len, 0);
        out
    }
}

fn llama() -> Builder {
    Builder::new(3)
        .kv_str("general.architecture", "llama")
        .kv_u32("general.alignment", 32)
        .kv_strings("tokenizer.ggml.tokens", &["<s>", "</s>", "a"])
        .kv_str("tokenizer.chat_template", "{% for m in messages %}{{ m['content'] }}{% endfor %}")
        .tensor("token_embd.weight", &[5, 3], 0, 60, None)
        .tensor("blk.0.attn_q.weight", &[64, 2], 2, 2 * 2 * 18, None)
        .tensor("output.weight", &[256], 12, 144, None)
}

#[test]
fn well_formed_files_are_clean_in_every_version_and_byte_order() {
    for version in 1..=3 {
        for big_endian in [false, true] {
            let builder = Builder { version, big_endian, ..Builder::new(version) }
                .kv_str("general.architecture", "llama")
                .kv_strings("tokenizer.ggml.tokens", &["a", "b"])
                .tensor("t", &[5, 3], 0, 60, None);
            let findings = scan_file(&builder.build());
            assert!(ids(&findings).is_empty(), "v{version} be={big_endian}: {findings:?}");
            let summary = &findings.iter().find(|f| f.rule_id.as_str() == "gguf.summary").expect("summary").message;
            assert!(summary.contains(&format!("v{version}")) && summary.contains(if big_endian { "big" } else { "little" }), "{summary}");
        }
    }
    assert!(ids(&scan_file(&llama().build())).is_empty());
}

/// A file written by gguf-py 0.17 (`GGUFWriter("x.gguf", "llama")`, `add_uint32("general.alignment",
/// 32)`, `add_string("tokenizer.chat_template", ...)`, `add_array("tokenizer.ggml.tokens", ["a", "b",
/// "c"])`, tensors `t1` = `np.zeros((3, 5), np.float32)` and `t2` = `np.zeros(64, np.float16)`): its
/// 0x180-byte header with trailing zeros trimmed, then 192 zero bytes of tensor data.
const GGUF_PY_HEADER: &str = concat!(
    "474755460300000002000000000000000400000000000000140000000000000067656e6572616c2e6172636869746563",
    "747572650800000005000000000000006c6c616d61110000000000000067656e6572616c2e616c69676e6d656e740400",
    "0000200000001700000000000000746f6b656e697a65722e636861745f74656d706c6174650800000044000000000000",
    "007b7b20626f735f746f6b656e207d7d7b2520666f72206d20696e206d6573736167657320257d7b7b206d5b27636f6e",
    "74656e74275d207d7d7b2520656e64666f7220257d1500000000000000746f6b656e697a65722e67676d6c2e746f6b65",
    "6e7309000000080000000300000000000000010000000000000061010000000000000062010000000000000063020000",
    "000000000074310200000005000000000000000300000000000000000000000000000000000000020000000000000074",
    "320100000040000000000000000100000040",
);

#[test]
fn file_written_by_gguf_py_is_clean() {
    let hex = GGUF_PY_HEADER;
    let mut data: Vec<u8> = (0..hex.len() / 2).map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap()).collect();
    data.resize(0x180 + 192, 0);
    let findings = scan_file(&data);
    assert!(ids(&findings).is_empty(), "{findings:?}");
    assert!(findings.iter().any(|f| f.message.contains("architecture `llama`: 4 metadata entries, 2 tensors")), "{findings:?}");
}

#[test]
fn unsupported_version_and_truncation_are_malformed() {
    let mut data = llama().build();
    data[4] = 9;
    assert_eq!(ids(&scan_file(&data)), ["gguf.malformed"]);
    let data = llama().build();
    let findings = scan_file(&data[..100]);
    assert_eq!(ids(&findings), ["gguf.malformed"]);
    assert!(findings[0].message.contains("only"), "{}", findings[0].message);
}

#[test]
fn impossible_counts_are_caught_before_iterating() {
    let mut data = b"GGUF".to_vec();
    data.extend_from_slice(&3u32.to_le_bytes());
    data.extend_from_slice(&0u64.to_le_bytes());
    data.extend_from_slice(&(1u64 << 40).to_le_bytes());
    let findings = scan_file(&data);
    assert!(ids(&findings) == ["scan.limit-exceeded"], "{findings:?}");
    data[16..24].copy_from_slice(&1000u64.to_le_bytes());
    assert_eq!(ids(&scan_file(&data)), ["gguf.malformed"]);
}

#[test]
fn huge_string_and_array_lengths_are_malformed() {
    let data = Builder::new(3).kv_raw("k", 8, &u64::MAX.to_le_bytes()).build();
    assert_eq!(ids(&scan_file(&data)), ["gguf.malformed"]);
    let mut array = 0u32.to_le_bytes().to_vec();
    array.extend_from_slice(&(1u64 << 62).to_le_bytes());
    assert_eq!(ids(&scan_file(&Builder::new(3).kv_raw("k", 9, &array).build())), ["gguf.malformed"]);
}

#[test]
fn deeply_nested_arrays_are_malformed() {
    let mut value = Vec::new();
    for _ in 0..20 {
        value.extend_from_slice(&9u32.to_le_bytes());
        value.extend_from_slice(&1u64.to_le_bytes());
    }
    value.extend_from_slice(&0u32.to_le_bytes());
    value.extend_from_slice(&0u64.to_le_bytes());
    let findings = scan_file(&Builder::new(3).kv_raw("k", 9, &value).build());
    assert!(findings.iter().any(|f| f.message.contains("nested")), "{findings:?}");
}

#[test]
fn unknown_value_type_is_malformed() {
    let findings = scan_file(&Builder::new(3).kv_raw("k", 13, &[0; 8]).build());
    assert!(findings[0].message.contains("unknown metadata value type 13"), "{findings:?}");
}

#[test]
fn bad_alignment_and_duplicate_keys_are_malformed() {
    assert_eq!(ids(&scan_file(&Builder::new(3).kv_u32("general.alignment", 24).build())), ["gguf.malformed"]);
    assert_eq!(ids(&scan_file(&Builder::new(3).kv_str("general.alignment", "32").build())), ["gguf.malformed"]);
    let dup = Builder::new(3).kv_u32("a", 1).kv_u32("a", 2).build();
    assert_eq!(ids(&scan_file(&dup)), ["gguf.malformed"]);
}

#[test]
fn tensor_description_problems_are_reported() {
    let too_many_dims = Builder::new(3).tensor("t", &[1, 1, 1, 1, 1], 0, 4, None).build();
    assert_eq!(ids(&scan_file(&too_many_dims)), ["gguf.malformed"]);
    let long_name = Builder::new(3).tensor(&"n".repeat(70), &[1], 0, 4, None).build();
    assert_eq!(ids(&scan_file(&long_name)), ["gguf.malformed"]);
    let dup = Builder::new(3).tensor("t", &[1], 0, 4, None).tensor("t", &[1], 0, 4, None).build();
    assert_eq!(ids(&scan_file(&dup)), ["gguf.malformed"]);
    let partial_block = Builder::new(3).tensor("t", &[33], 2, 36, None).build();
    assert_eq!(ids(&scan_file(&partial_block)), ["gguf.malformed"]);
}

#[test]
fn unknown_and_removed_types_are_medium() {
    let findings = scan_file(&Builder::new(3).tensor("t", &[32], 31, 18, None).build());
    assert_eq!(ids(&findings), ["gguf.unknown-tensor-type"]);
    assert!(findings[0].message.contains("Q4_0_4_4"));
    assert_eq!(ids(&scan_file(&Builder::new(3).tensor("t", &[32], 99, 32, None).build())), ["gguf.unknown-tensor-type"]);
}

#[test]
fn out_of_bounds_misaligned_and_overflowing_tensors_are_invalid() {
    let mut past_end = Builder::new(3).tensor("t", &[64], 0, 256, None);
    past_end.data_len = 32;
    assert_eq!(ids(&scan_file(&past_end.build())), ["gguf.invalid-tensor-data"]);
    let misaligned = Builder::new(3).tensor("t", &[1], 0, 64, Some(4)).build();
    assert_eq!(ids(&scan_file(&misaligned))[0], "gguf.invalid-tensor-data");
    let huge = Builder::new(3).tensor("t", &[1 << 40, 1 << 40], 0, 0, None).build();
    assert_eq!(ids(&scan_file(&huge)), ["gguf.invalid-tensor-data"]);
}

#[test]
fn overlapping_tensors_and_hidden_bytes_are_reported() {
    let mut overlap = Builder::new(3).tensor("a", &[16], 0, 64, None).tensor("b", &[8], 0, 32, Some(32));
    overlap.data_len = 64;
    let overlap = overlap.build();
    assert_eq!(ids(&scan_file(&overlap)), ["gguf.overlapping-tensors"]);
    let mut trailing = Builder::new(3).tensor("a", &[8], 0, 32, None);
    trailing.data_len += 4096;
    assert_eq!(ids(&scan_file(&trailing.build())), ["gguf.unaccounted-bytes"]);
    let padded = Builder::new(3).tensor("a", &[4], 0, 16, None).tensor("b", &[8], 0, 32, Some(32)).build();
    assert!(ids(&scan_file(&padded)).is_empty());
    let gap = Builder::new(3).tensor("a", &[8], 0, 32, None).tensor("b", &[8], 0, 96, Some(96)).build();
    assert_eq!(ids(&scan_file(&gap)), ["gguf.unaccounted-bytes"]);
}

#[test]
fn malicious_chat_template_is_critical_with_file_offset() {
    let template = "{{ cycler.__init__.__globals__.os.popen('id').read() }}";
    let data = Builder::new(3).kv_str("tokenizer.chat_template.tool_use", template).build();
    let findings = scan_file(&data);
    let hit = findings.iter().find(|f| f.rule_id.as_str() == "gguf.chat-template-injection").expect("injection finding");
    assert_eq!(hit.severity, Severity::Critical);
    let start = data.windows(template.len()).position(|w| w == template.as_bytes()).unwrap() as u64;
    assert!(hit.location.offset.unwrap() >= start && hit.location.offset.unwrap() < start + template.len() as u64);
    assert!(hit.message.contains("tokenizer.chat_template.tool_use"));
}

proptest! {
    #[test]
    fn random_bytes_after_the_magic_never_panic(version in 0u32..5, body in proptest::collection::vec(any::<u8>(), 0..256)) {
        let mut data = b"GGUF".to_vec();
        data.extend_from_slice(&version.to_le_bytes());
        data.extend_from_slice(&body);
        let _ = scan_file(&data);
    }

    #[test]
    fn mutated_valid_files_never_panic(flips in proptest::collection::vec((0usize..400, any::<u8>()), 1..8)) {
        let mut data = llama().build();
        for (at, byte) in flips {
            let at = at % data.len();
            data[at] = byte;
        }
        let _ = scan_file(&data);
    }
}
