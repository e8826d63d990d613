//! GGUF (llama.cpp): a header, typed metadata key/values, tensor descriptions, then aligned tensor
//! data.
//!
//! Two things matter. The structure: every count and length is attacker-chosen, and llama.cpp's
//! own parser has had memory-safety bugs on exactly these fields, so we check them all against the
//! file before trusting them. And the chat templates: `tokenizer.chat_template*` values are Jinja2
//! programs that loaders render, some outside a sandbox (CVE-2024-34359); [`gguf_template`]
//! inspects them. Tensor data is never read.
//!
//! Versions 1 to 3 are understood, little- or big-endian (told apart by the version field).
//!
//! [`gguf_template`]: crate::formats::gguf_template

use std::collections::HashSet;

use warden_core::Severity;

use crate::context::{CappedReports, LIMIT_EXCEEDED, ScanContext};
use crate::formats::gguf_template;
use crate::rules::{ATLAS_DENIAL_OF_SERVICE, ATLAS_EMBED_MALWARE, ATLAS_UNSAFE_ARTIFACT, Rule};

/// The file's structure is invalid.
pub(crate) static MALFORMED: Rule = Rule {
    id: "gguf.malformed",
    severity: Severity::High,
    title: "malformed GGUF file",
    description: "The GGUF header, metadata or tensor descriptions are invalid (truncated, impossible \
                  lengths or counts, unknown value types, bad alignment, duplicate keys or names). \
                  llama.cpp's GGUF parser has had heap overflows on exactly such fields, so a \
                  malformed file is a likely exploit attempt.",
    atlas: &[ATLAS_UNSAFE_ARTIFACT, ATLAS_DENIAL_OF_SERVICE],
    remediation: "Do not load the file; re-convert the model with llama.cpp's own tools from a trusted source.",
};

/// A tensor's data does not fit where it claims to be.
pub(crate) static INVALID_TENSOR_DATA: Rule = Rule {
    id: "gguf.invalid-tensor-data",
    severity: Severity::High,
    title: "invalid tensor data range",
    description: "A tensor's data lies outside the file, is misaligned, or its size does not follow \
                  from its type and shape (or overflows). Loaders that trust these fields read out \
                  of bounds.",
    atlas: &[ATLAS_UNSAFE_ARTIFACT],
    remediation: "Do not load the file; re-convert the model from a trusted source.",
};

/// Two tensors share bytes.
pub(crate) static OVERLAPPING_TENSORS: Rule = Rule {
    id: "gguf.overlapping-tensors",
    severity: Severity::High,
    title: "overlapping tensors",
    description: "Two tensors claim the same bytes, which no converter produces; it aliases weights \
                  and is a sign of a crafted file.",
    atlas: &[ATLAS_UNSAFE_ARTIFACT],
    remediation: "Do not load the file; re-convert the model from a trusted source.",
};

/// Bytes of the data section that belong to no tensor.
pub(crate) static UNACCOUNTED_BYTES: Rule = Rule {
    id: "gguf.unaccounted-bytes",
    severity: Severity::Medium,
    title: "bytes outside every tensor",
    description: "The data section has bytes between or after the tensors beyond alignment padding. \
                  llama.cpp rejects gaps; either way they are a place to hide a payload.",
    atlas: &[ATLAS_EMBED_MALWARE],
    remediation: "Inspect what the extra bytes contain before trusting the file.",
};

/// A ggml tensor type this scanner does not know (or that llama.cpp removed).
pub(crate) static UNKNOWN_TENSOR_TYPE: Rule = Rule {
    id: "gguf.unknown-tensor-type",
    severity: Severity::Medium,
    title: "unknown tensor type",
    description: "A tensor uses a ggml type that current llama.cpp does not define, so its size \
                  cannot be checked and loaders will reject or misread it.",
    atlas: &[ATLAS_UNSAFE_ARTIFACT],
    remediation: "Check which tool wrote the file; re-convert it with current llama.cpp.",
};

/// A chat template that reaches outside the Jinja sandbox.
pub(crate) static CHAT_TEMPLATE_INJECTION: Rule = Rule {
    id: "gguf.chat-template-injection",
    severity: Severity::Critical,
    title: "chat template escapes the Jinja sandbox",
    description: "A `tokenizer.chat_template` uses constructs that only serve to escape Jinja2 \
                  (dunder attributes such as `__class__`/`__globals__`, obfuscated underscores, \
                  `cycler`/`joiner`/`lipsum` globals, `os.popen`). Loaders render the template \
                  when the model is used; llama-cpp-python rendered it without a sandbox \
                  (CVE-2024-34359), running arbitrary code.",
    atlas: &[ATLAS_UNSAFE_ARTIFACT, ATLAS_EMBED_MALWARE],
    remediation: "Do not load the model; remove or replace the chat template with a known-good one.",
};

/// A chat template with unusual but not clearly malicious constructs.
pub(crate) static CHAT_TEMPLATE_SUSPICIOUS: Rule = Rule {
    id: "gguf.chat-template-suspicious",
    severity: Severity::Medium,
    title: "unusual chat template construct",
    description: "A `tokenizer.chat_template` uses constructs real chat templates do not need \
                  (template imports, the `attr` filter, `%c` formatting, huge loops). They are \
                  building blocks of sandbox escapes and denial of service.",
    atlas: &[ATLAS_UNSAFE_ARTIFACT],
    remediation: "Review the template by hand before loading the model.",
};

/// What the file declares, for the record.
pub(crate) static SUMMARY: Rule = Rule {
    id: "gguf.summary",
    severity: Severity::Info,
    title: "GGUF contents",
    description: "The GGUF version, byte order, architecture and counts of metadata and tensors.",
    atlas: &[],
    remediation: "None needed.",
};

/// Rules owned by this module.
pub(crate) const RULES: &[&Rule] = &[
    &MALFORMED,
    &INVALID_TENSOR_DATA,
    &OVERLAPPING_TENSORS,
    &UNACCOUNTED_BYTES,
    &UNKNOWN_TENSOR_TYPE,
    &CHAT_TEMPLATE_INJECTION,
    &CHAT_TEMPLATE_SUSPICIOUS,
    &SUMMARY,
];

/// ggml's `GGML_MAX_DIMS`.
const MAX_DIMS: u32 = 4;
/// ggml's `GGML_MAX_NAME` (including the terminating NUL).
const MAX_NAME: usize = 64;
/// GGUF's default `general.alignment`.
const DEFAULT_ALIGNMENT: u64 = 32;
/// Arrays of arrays deeper than this are refused (llama.cpp refuses any nesting).
const MAX_ARRAY_DEPTH: usize = 8;
/// Individual problems reported per file before the rest are summarised.
const MAX_REPORTED_PROBLEMS: usize = 50;

/// `(ggml type id, name, elements per block, bytes per block)` from ggml's type traits.
const GGML_TYPES: &[(u32, &str, u64, u64)] = &[
    (0, "F32", 1, 4),
    (1, "F16", 1, 2),
    (2, "Q4_0", 32, 18),
    (3, "Q4_1", 32, 20),
    (6, "Q5_0", 32, 22),
    (7, "Q5_1", 32, 24),
    (8, "Q8_0", 32, 34),
    // sizeof(block_q8_1) in ggml: two halves and 32 int8 (gguf-py still says 40).
    (9, "Q8_1", 32, 36),
    (10, "Q2_K", 256, 84),
    (11, "Q3_K", 256, 110),
    (12, "Q4_K", 256, 144),
    (13, "Q5_K", 256, 176),
    (14, "Q6_K", 256, 210),
    (15, "Q8_K", 256, 292),
    (16, "IQ2_XXS", 256, 66),
    (17, "IQ2_XS", 256, 74),
    (18, "IQ3_XXS", 256, 98),
    (19, "IQ1_S", 256, 50),
    (20, "IQ4_NL", 32, 18),
    (21, "IQ3_S", 256, 110),
    (22, "IQ2_S", 256, 82),
    (23, "IQ4_XS", 256, 136),
    (24, "I8", 1, 1),
    (25, "I16", 1, 2),
    (26, "I32", 1, 4),
    (27, "I64", 1, 8),
    (28, "F64", 1, 8),
    (29, "IQ1_M", 256, 56),
    (30, "BF16", 1, 2),
    (34, "TQ1_0", 256, 54),
    (35, "TQ2_0", 256, 66),
    (39, "MXFP4", 32, 17),
    (40, "NVFP4", 64, 36),
    (41, "Q1_0", 128, 18),
];

/// Types once written by llama.cpp and since removed from it.
const REMOVED_TYPES: &[(u32, &str)] =
    &[(4, "Q4_2"), (5, "Q4_3"), (31, "Q4_0_4_4"), (32, "Q4_0_4_8"), (33, "Q4_0_8_8"), (36, "IQ4_NL_4_4"), (37, "IQ4_NL_4_8"), (38, "IQ4_NL_8_8")];

/// Scans a GGUF file.
pub(crate) fn scan(ctx: &mut ScanContext<'_>, data: &[u8]) {
    let mut problems = CappedReports::new(MAX_REPORTED_PROBLEMS);
    if let Err(e) = check(ctx, data, &mut problems) {
        problems.report(ctx, &MALFORMED, Some(e.offset as u64), e.message);
    }
    problems.finish(ctx, &MALFORMED, "structural problems");
}

/// A structural error after which the rest of the file cannot be located.
#[derive(Debug)]
struct Fatal {
    offset: usize,
    message: String,
}

type Parse<T> = Result<T, Fatal>;

fn fatal<T>(offset: usize, message: impl Into<String>) -> Parse<T> {
    Err(Fatal { offset, message: message.into() })
}

fn check(ctx: &mut ScanContext<'_>, data: &[u8], problems: &mut CappedReports) -> Parse<()> {
    if !data.starts_with(b"GGUF") {
        return fatal(0, "missing GGUF magic");
    }
    let raw_version = data.get(4..8).map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")));
    let Some(raw_version) = raw_version else {
        return fatal(4, "file ends inside the header");
    };
    let (version, big_endian) = match raw_version {
        1..=3 => (raw_version, false),
        v if (1..=3).contains(&v.swap_bytes()) => (v.swap_bytes(), true),
        v => return fatal(4, format!("unsupported GGUF version {v} (known: 1, 2, 3)")),
    };
    let mut r = Reader { data, pos: 8, big_endian, wide: version >= 2 };
    let tensor_count = r.count("tensor count")?;
    let kv_count = r.count("metadata key/value count")?;
    let max_items = ctx.limits().max_header_items;
    for (what, n) in [("tensors", tensor_count), ("metadata entries", kv_count)] {
        if n > max_items {
            ctx.report(&LIMIT_EXCEEDED, Some(8), format!("GGUF declares {n} {what}, over the limit of {max_items}; not inspected"));
            return Ok(());
        }
    }
    // Every entry takes at least a length-prefixed name and a type: a count the file cannot hold is
    // caught here instead of after millions of iterations.
    let min_entry = if r.wide { 12 } else { 8 };
    for (what, n) in [("tensors", tensor_count), ("metadata entries", kv_count)] {
        if n.saturating_mul(min_entry) > r.remaining() as u64 {
            return fatal(8, format!("header declares {n} {what}, more than the {} remaining bytes can hold", r.remaining()));
        }
    }

    let mut alignment = DEFAULT_ALIGNMENT;
    let mut architecture = None;
    let mut keys = HashSet::new();
    for _ in 0..kv_count {
        let key_at = r.pos;
        let key = r.string("metadata key")?;
        let key = match std::str::from_utf8(key) {
            Ok(key) => key.to_owned(),
            Err(_) => {
                problems.report(ctx, &MALFORMED, Some(key_at as u64), "metadata key is not valid UTF-8");
                String::from_utf8_lossy(key).into_owned()
            }
        };
        if !keys.insert(key.clone()) {
            problems.report(ctx, &MALFORMED, Some(key_at as u64), format!("metadata key `{key}` appears more than once (llama.cpp rejects the file)"));
        }
        let value_type = r.u32("value type")?;
        let value = r.value(value_type, 0, max_items)?;
        match (key.as_str(), &value) {
            ("general.alignment", Value::Int(4, a)) if *a > 0 && (*a as u64).is_power_of_two() => alignment = *a as u64,
            ("general.alignment", Value::Int(4, a)) => {
                problems.report(ctx, &MALFORMED, Some(key_at as u64), format!("general.alignment is {a}, not a power of two; using the default of 32"));
            }
            ("general.alignment", _) => {
                let message = format!("general.alignment has value type {value_type}, not uint32 (llama.cpp aborts on this)");
                problems.report(ctx, &MALFORMED, Some(key_at as u64), message);
            }
            ("general.architecture", Value::Str(_, s)) => architecture = Some(String::from_utf8_lossy(s).into_owned()),
            (k, Value::Str(at, s)) if k == "tokenizer.chat_template" || k.starts_with("tokenizer.chat_template.") => {
                gguf_template::check(ctx, k, &String::from_utf8_lossy(s), *at as u64);
            }
            _ => {}
        }
    }

    let mut tensors = Vec::with_capacity(usize::try_from(tensor_count).unwrap_or(0).min(1 << 16));
    let mut names = HashSet::new();
    for _ in 0..tensor_count {
        let info_at = r.pos;
        let name = String::from_utf8_lossy(r.string("tensor name")?).into_owned();
        if name.len() >= MAX_NAME {
            problems.report(ctx, &MALFORMED, Some(info_at as u64), format!("tensor name `{}…` is {} bytes, over ggml's limit of {}", truncate(&name, 40), name.len(), MAX_NAME - 1));
        }
        if !names.insert(name.clone()) {
            problems.report(ctx, &MALFORMED, Some(info_at as u64), format!("tensor `{name}` is described more than once"));
        }
        let n_dims = r.u32("dimension count")?;
        if n_dims > MAX_DIMS {
            return fatal(info_at, format!("tensor `{name}` has {n_dims} dimensions; ggml allows at most {MAX_DIMS}"));
        }
        let mut dims = Vec::with_capacity(MAX_DIMS as usize);
        for _ in 0..n_dims {
            dims.push(if r.wide { r.u64("dimension")? } else { u64::from(r.u32("dimension")?) });
        }
        let ggml_type = r.u32("tensor type")?;
        let offset = r.u64("tensor data offset")?;
        let size = tensor_size(ctx, problems, &name, &dims, ggml_type, info_at);
        tensors.push(TensorInfo { name, offset, size, info_at });
    }

    let data_start = r.pos.checked_next_multiple_of(alignment as usize).unwrap_or(usize::MAX);
    if !tensors.is_empty() && data_start > data.len() {
        return fatal(r.pos, format!("tensor data would start at {data_start}, past the end of the {}-byte file", data.len()));
    }
    let data_len = data.len().saturating_sub(data_start) as u64;
    check_layout(ctx, problems, &tensors, alignment, data_start as u64, data_len);

    let order = if big_endian { "big-endian" } else { "little-endian" };
    let arch = architecture.map_or_else(String::new, |a| format!(", architecture `{}`", truncate(&a, 40)));
    ctx.report(&SUMMARY, Some(0), format!("GGUF v{version} ({order}){arch}: {kv_count} metadata entries, {tensor_count} tensors"));
    Ok(())
}

/// One tensor description; `size` is `None` when its type is unknown or its shape invalid.
struct TensorInfo {
    name: String,
    offset: u64,
    size: Option<u64>,
    info_at: usize,
}

/// The byte size of a tensor from its type and shape, reporting why when it has none.
fn tensor_size(ctx: &mut ScanContext<'_>, problems: &mut CappedReports, name: &str, dims: &[u64], ggml_type: u32, at: usize) -> Option<u64> {
    let at = Some(at as u64);
    if let Some(&d) = dims.iter().find(|&&d| d > i64::MAX as u64) {
        problems.report(ctx, &MALFORMED, at, format!("tensor `{name}` has dimension {d}, beyond ggml's int64 range"));
        return None;
    }
    let Some(&(_, type_name, block, block_bytes)) = GGML_TYPES.iter().find(|t| t.0 == ggml_type) else {
        let message = match REMOVED_TYPES.iter().find(|t| t.0 == ggml_type) {
            Some((_, removed)) => format!("tensor `{name}` uses ggml type {ggml_type} ({removed}), which llama.cpp no longer supports"),
            None => format!("tensor `{name}` uses unknown ggml type {ggml_type}"),
        };
        problems.report(ctx, &UNKNOWN_TENSOR_TYPE, at, message);
        return None;
    };
    let first = dims.first().copied().unwrap_or(1);
    if first % block != 0 {
        problems.report(ctx, &MALFORMED, at, format!("tensor `{name}`: first dimension {first} is not a multiple of the {type_name} block size {block}"));
        return None;
    }
    let elements = dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d)).filter(|&n| n <= i64::MAX as u64);
    let size = elements.and_then(|n| (n / block).checked_mul(block_bytes));
    if size.is_none() {
        problems.report(ctx, &INVALID_TENSOR_DATA, at, format!("tensor `{name}`: size of shape {dims:?} x {type_name} overflows"));
    }
    size
}

/// Checks tensor placement: aligned, in bounds, disjoint, and covering the data section.
fn check_layout(ctx: &mut ScanContext<'_>, problems: &mut CappedReports, tensors: &[TensorInfo], alignment: u64, data_start: u64, data_len: u64) {
    let mut placed = Vec::with_capacity(tensors.len());
    for t in tensors {
        let at = Some(t.info_at as u64);
        if t.offset % alignment != 0 {
            problems.report(ctx, &INVALID_TENSOR_DATA, at, format!("tensor `{}` data offset {} is not a multiple of the alignment {alignment}", t.name, t.offset));
        }
        let Some(size) = t.size else { continue };
        match t.offset.checked_add(size) {
            Some(end) if end <= data_len => placed.push((t.offset, end, t)),
            _ => {
                let message = format!("tensor `{}` ({size} bytes at data offset {}) extends past the {data_len}-byte data section", t.name, t.offset);
                problems.report(ctx, &INVALID_TENSOR_DATA, at, message);
            }
        }
    }
    if placed.len() != tensors.len() {
        // Some tensors could not be placed, so gaps are expected and not worth reporting.
        report_overlaps(ctx, problems, &mut placed, alignment, data_start, None);
        return;
    }
    report_overlaps(ctx, problems, &mut placed, alignment, data_start, Some(data_len));
}

fn report_overlaps(
    ctx: &mut ScanContext<'_>,
    problems: &mut CappedReports,
    placed: &mut [(u64, u64, &TensorInfo)],
    alignment: u64,
    data_start: u64,
    data_len: Option<u64>,
) {
    placed.sort_by_key(|&(begin, end, _)| (begin, end));
    let mut cursor = 0u64;
    let mut last: Option<&TensorInfo> = None;
    for &(begin, end, t) in placed.iter() {
        if begin < cursor && end > begin {
            let other = last.map_or_else(String::new, |o| format!(" and `{}`", o.name));
            problems.report(ctx, &OVERLAPPING_TENSORS, Some(data_start + begin), format!("tensors `{}`{other} share bytes at data offset {begin}", t.name));
        } else if data_len.is_some() && begin > cursor.next_multiple_of(alignment) {
            let message = format!("{} bytes at data offsets {cursor}..{begin} belong to no tensor", begin - cursor);
            problems.report(ctx, &UNACCOUNTED_BYTES, Some(data_start + cursor), message);
        }
        if end > cursor {
            cursor = end;
            last = Some(t);
        }
    }
    if let Some(data_len) = data_len
        && data_len > cursor.next_multiple_of(alignment)
    {
        let message = format!("{} bytes after the last tensor (data offsets {cursor}..{data_len}) belong to no tensor", data_len - cursor);
        problems.report(ctx, &UNACCOUNTED_BYTES, Some(data_start + cursor), message);
    }
}

/// A metadata value, as far as the scanner needs it.
enum Value<'a> {
    /// An integer with its GGUF value type.
    Int(u32, i128),
    Str(usize, &'a [u8]),
    Other,
}

/// A bounds-checked cursor over the file.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    big_endian: bool,
    /// Version 2 and later use 64-bit counts and lengths.
    wide: bool,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    fn bytes(&mut self, n: u64, what: &str) -> Parse<&'a [u8]> {
        let end = usize::try_from(n).ok().and_then(|n| self.pos.checked_add(n)).filter(|&end| end <= self.data.len());
        let Some(end) = end else {
            return fatal(self.pos, format!("{what} needs {n} bytes at offset {}, but only {} remain", self.pos, self.remaining()));
        };
        let out = &self.data[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Parse<[u8; N]> {
        let mut out: [u8; N] = self.bytes(N as u64, what)?.try_into().expect("N bytes");
        if !self.big_endian {
            out.reverse();
        }
        Ok(out)
    }

    fn u32(&mut self, what: &str) -> Parse<u32> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &str) -> Parse<u64> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }

    fn count(&mut self, what: &str) -> Parse<u64> {
        if self.wide { self.u64(what) } else { self.u32(what).map(u64::from) }
    }

    fn string(&mut self, what: &str) -> Parse<&'a [u8]> {
        let len = self.count(what)?;
        self.bytes(len, what)
    }

    /// Reads a value of GGUF type `ty`, keeping integers and strings.
    fn value(&mut self, ty: u32, depth: usize, max_items: u64) -> Parse<Value<'a>> {
        let at = self.pos;
        if let Some(width) = scalar_width(ty) {
            let bytes = self.bytes(width, "metadata value")?;
            let mut buf = [0u8; 16];
            let be: Vec<u8> = if self.big_endian { bytes.to_vec() } else { bytes.iter().rev().copied().collect() };
            let signed = matches!(ty, 1 | 3 | 5 | 11);
            let fill = if signed && be.first().is_some_and(|b| b & 0x80 != 0) { 0xff } else { 0 };
            buf.fill(fill);
            buf[16 - be.len()..].copy_from_slice(&be);
            return Ok(if matches!(ty, 6 | 7 | 12) { Value::Other } else { Value::Int(ty, i128::from_be_bytes(buf)) });
        }
        match ty {
            8 => Ok(Value::Str(at + if self.wide { 8 } else { 4 }, self.string("string value")?)),
            9 => {
                if depth >= MAX_ARRAY_DEPTH {
                    return fatal(at, format!("arrays nested more than {MAX_ARRAY_DEPTH} deep"));
                }
                let elem = self.u32("array element type")?;
                let n = self.count("array length")?;
                if n > max_items {
                    return fatal(at, format!("array of {n} elements exceeds the limit of {max_items}"));
                }
                if let Some(width) = scalar_width(elem) {
                    let total = n.saturating_mul(width);
                    self.bytes(total, "array")?;
                    return Ok(Value::Other);
                }
                let min = if elem == 8 { if self.wide { 8 } else { 4 } } else { 4 };
                if n.saturating_mul(min) > self.remaining() as u64 {
                    return fatal(at, format!("array of {n} elements cannot fit in the {} remaining bytes", self.remaining()));
                }
                for _ in 0..n {
                    self.value(elem, depth + 1, max_items)?;
                }
                Ok(Value::Other)
            }
            _ => fatal(at.saturating_sub(4), format!("unknown metadata value type {ty}")),
        }
    }
}

/// Byte width of GGUF's fixed-size value types.
fn scalar_width(ty: u32) -> Option<u64> {
    match ty {
        0 | 1 | 7 => Some(1),
        2 | 3 => Some(2),
        4..=6 => Some(4),
        10..=12 => Some(8),
        _ => None,
    }
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
#[path = "gguf_tests.rs"]
mod tests;
