//! safetensors: an 8-byte little-endian header length, a JSON header naming every tensor's dtype,
//! shape and byte range, then the raw tensor data.
//!
//! The format carries no code, so what matters is the header: a malformed one is how parser bugs
//! in loaders are attacked (and how they are exhausted), and bytes outside the declared tensors are
//! where a payload hides. We check it as strictly as the reference loader (`safetensors` 0.4+),
//! plus what the reference parser lets through silently (duplicate keys, unknown fields).
//! Tensor data is never read.

use std::collections::HashSet;
use std::fmt;

use serde::Deserializer as _;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use warden_core::Severity;

use crate::context::{CappedReports, LIMIT_EXCEEDED, ScanContext};
use crate::rules::{ATLAS_DENIAL_OF_SERVICE, ATLAS_EMBED_MALWARE, ATLAS_UNSAFE_ARTIFACT, Rule};

/// The header is not what the format requires.
pub(crate) static MALFORMED: Rule = Rule {
    id: "safetensors.malformed",
    severity: Severity::High,
    title: "malformed safetensors header",
    description: "The safetensors header is not a valid JSON object of tensor descriptions (bad \
                  length, invalid UTF-8 or JSON, duplicate keys, wrong field types, missing fields). \
                  Malformed headers are how parser bugs in loaders are attacked, and different \
                  loaders may read them differently.",
    atlas: &[ATLAS_UNSAFE_ARTIFACT, ATLAS_DENIAL_OF_SERVICE],
    remediation: "Do not load the file; re-export the tensors with the official safetensors library.",
};

/// The declared header length exceeds the limit.
pub(crate) static HEADER_TOO_LARGE: Rule = Rule {
    id: "safetensors.header-too-large",
    severity: Severity::High,
    title: "safetensors header too large",
    description: "The header length field exceeds the header limit (the reference loader refuses \
                  headers over 100 MB). A huge header exhausts loader memory.",
    atlas: &[ATLAS_DENIAL_OF_SERVICE],
    remediation: "Do not load the file; real headers are far smaller than the limit.",
};

/// A tensor's byte range is impossible or inconsistent with its dtype and shape.
pub(crate) static INVALID_OFFSETS: Rule = Rule {
    id: "safetensors.invalid-offsets",
    severity: Severity::High,
    title: "invalid tensor byte range",
    description: "A tensor's `data_offsets` are out of the data region, reversed, leave a gap, or do \
                  not match its dtype and shape (or the size computation overflows). Loaders that \
                  trust the offsets read out of bounds or misinterpret data.",
    atlas: &[ATLAS_UNSAFE_ARTIFACT],
    remediation: "Do not load the file; re-export the tensors with the official safetensors library.",
};

/// Two tensors share bytes.
pub(crate) static OVERLAPPING_TENSORS: Rule = Rule {
    id: "safetensors.overlapping-tensors",
    severity: Severity::High,
    title: "overlapping tensors",
    description: "Two tensors claim the same bytes. The reference loader rejects this; a loader \
                  that does not would alias tensors, which tampering can exploit.",
    atlas: &[ATLAS_UNSAFE_ARTIFACT],
    remediation: "Do not load the file; re-export the tensors with the official safetensors library.",
};

/// Bytes after the last tensor.
pub(crate) static TRAILING_DATA: Rule = Rule {
    id: "safetensors.trailing-data",
    severity: Severity::High,
    title: "data after the last tensor",
    description: "The file continues after the bytes the header accounts for. The reference loader \
                  rejects such files; the extra bytes are a place to hide a second payload (for \
                  example a zip or pickle polyglot).",
    atlas: &[ATLAS_EMBED_MALWARE, ATLAS_UNSAFE_ARTIFACT],
    remediation: "Do not load the file; inspect what the trailing bytes contain.",
};

/// A dtype the reference loader does not know.
pub(crate) static UNKNOWN_DTYPE: Rule = Rule {
    id: "safetensors.unknown-dtype",
    severity: Severity::Medium,
    title: "unknown tensor dtype",
    description: "A tensor declares a dtype that the safetensors specification does not define, so \
                  its size cannot be checked and loaders will refuse or misread it.",
    atlas: &[ATLAS_UNSAFE_ARTIFACT],
    remediation: "Check which tool wrote the file; re-export it with the official library.",
};

/// A tensor entry has fields the format does not define.
pub(crate) static UNKNOWN_KEY: Rule = Rule {
    id: "safetensors.unknown-key",
    severity: Severity::Low,
    title: "unknown field in tensor entry",
    description: "A tensor entry has fields besides `dtype`, `shape` and `data_offsets`. Loaders \
                  ignore them, so they can carry data nobody reviews.",
    atlas: &[],
    remediation: "Check what the extra fields contain; keep free-form data in `__metadata__`.",
};

/// What the header declares, for the record.
pub(crate) static SUMMARY: Rule = Rule {
    id: "safetensors.summary",
    severity: Severity::Info,
    title: "safetensors contents",
    description: "How many tensors and metadata entries the header declares.",
    atlas: &[],
    remediation: "None needed.",
};

/// Rules owned by this module.
pub(crate) const RULES: &[&Rule] =
    &[&MALFORMED, &HEADER_TOO_LARGE, &INVALID_OFFSETS, &OVERLAPPING_TENSORS, &TRAILING_DATA, &UNKNOWN_DTYPE, &UNKNOWN_KEY, &SUMMARY];

/// Individual problems reported per file before the rest are summarised in one finding.
const MAX_REPORTED_PROBLEMS: usize = 50;

/// Size in bits of each dtype of the safetensors specification.
const DTYPE_BITS: &[(&str, u64)] = &[
    ("BOOL", 8),
    ("F4", 4),
    ("F6_E2M3", 6),
    ("F6_E3M2", 6),
    ("U8", 8),
    ("I8", 8),
    ("F8_E5M2", 8),
    ("F8_E4M3", 8),
    ("F8_E8M0", 8),
    ("I16", 16),
    ("U16", 16),
    ("F16", 16),
    ("BF16", 16),
    ("I32", 32),
    ("U32", 32),
    ("F32", 32),
    ("C64", 64),
    ("F64", 64),
    ("I64", 64),
    ("U64", 64),
];

/// Scans a safetensors file.
pub(crate) fn scan(ctx: &mut ScanContext<'_>, data: &[u8]) {
    let mut problems = CappedReports::new(MAX_REPORTED_PROBLEMS);
    check(ctx, data, &mut problems);
    problems.finish(ctx, &MALFORMED, "header problems");
}

fn check(ctx: &mut ScanContext<'_>, data: &[u8], problems: &mut CappedReports) {
    let Some(len_bytes) = data.get(..8) else {
        problems.report(ctx, &MALFORMED, Some(0), format!("file is {} bytes, shorter than the 8-byte header length", data.len()));
        return;
    };
    let declared = u64::from_le_bytes(len_bytes.try_into().expect("slice of 8"));
    let limit = ctx.limits().max_header_bytes;
    if declared > limit {
        ctx.report(&HEADER_TOO_LARGE, Some(0), format!("header length {declared} exceeds the limit of {limit} bytes; header not read"));
        return;
    }
    let header_end = usize::try_from(declared).ok().and_then(|n| n.checked_add(8)).filter(|&end| end <= data.len());
    let Some(header_end) = header_end else {
        let available = data.len().saturating_sub(8);
        problems.report(ctx, &MALFORMED, Some(0), format!("header length {declared} exceeds the {available} bytes after the length field"));
        return;
    };
    let header_bytes = &data[8..header_end];
    let text = match std::str::from_utf8(header_bytes) {
        Ok(text) => text,
        Err(e) => {
            let at = 8 + e.valid_up_to() as u64;
            problems.report(ctx, &MALFORMED, Some(at), format!("header is not valid UTF-8 (invalid byte at offset {at})"));
            return;
        }
    };
    if !text.trim_start_matches([' ', '\t', '\n', '\r']).starts_with('{') {
        problems.report(ctx, &MALFORMED, Some(8), "header does not start with a JSON object `{`");
        return;
    }
    let data_len = (data.len() - header_end) as u64;
    let header = match parse_header(text, ctx.limits().max_header_items) {
        Ok(header) => header,
        Err(e) => {
            let at = 8 + json_error_offset(text, &e) as u64;
            problems.report(ctx, &MALFORMED, Some(at), format!("header is not a valid JSON object: {e}"));
            return;
        }
    };
    let key_offset = |key: &str| key_offset(text, key).map(|o| 8 + o as u64);
    for (path, rule, message) in &header.problems {
        problems.report(ctx, rule, key_offset(path.split(['.', '[']).next().unwrap_or(path)), message.clone());
    }
    if header.truncated {
        let max = ctx.limits().max_header_items;
        ctx.report(&LIMIT_EXCEEDED, Some(8), format!("header declares more than {max} tensors; the rest were not checked"));
    }
    check_layout(ctx, problems, &header.tensors, data_len, header_end as u64, &key_offset);
    let metadata_note = match header.metadata_entries {
        Some(n) => format!(", {n} `__metadata__` entries"),
        None => String::new(),
    };
    ctx.report(
        &SUMMARY,
        Some(0),
        format!("{} tensors{metadata_note}, {} bytes of header, {data_len} bytes of data", header.tensors.len(), declared),
    );
}

/// Checks that tensors tile the data region exactly: no gaps, no overlaps, nothing after.
fn check_layout(
    ctx: &mut ScanContext<'_>,
    problems: &mut CappedReports,
    tensors: &[TensorDecl],
    data_len: u64,
    data_start: u64,
    key_offset: &dyn Fn(&str) -> Option<u64>,
) {
    let mut in_bounds: Vec<&TensorDecl> = Vec::with_capacity(tensors.len());
    for tensor in tensors {
        if tensor.end > data_len {
            let message =
                format!("tensor `{}` ends at data offset {}, past the end of the {data_len}-byte data region", tensor.name, tensor.end);
            problems.report(ctx, &INVALID_OFFSETS, key_offset(&tensor.name), message);
        } else {
            in_bounds.push(tensor);
        }
    }
    in_bounds.sort_by_key(|t| (t.begin, t.end));
    let mut cursor = 0u64;
    let mut previous: Option<&TensorDecl> = None;
    for tensor in in_bounds {
        if tensor.begin > cursor {
            let message = format!(
                "{} unaccounted bytes at data offsets {cursor}..{} before tensor `{}`",
                tensor.begin - cursor,
                tensor.begin,
                tensor.name
            );
            problems.report(ctx, &INVALID_OFFSETS, Some(data_start + cursor), message);
        } else if tensor.begin < cursor && tensor.end > tensor.begin {
            let other = previous.map_or_else(String::new, |p| format!(" and `{}` ({}..{})", p.name, p.begin, p.end));
            let message = format!("tensors `{}` ({}..{}){other} share bytes", tensor.name, tensor.begin, tensor.end);
            problems.report(ctx, &OVERLAPPING_TENSORS, key_offset(&tensor.name), message);
        }
        if tensor.end >= cursor {
            cursor = tensor.end;
            previous = Some(tensor);
        }
    }
    if cursor < data_len {
        let message = format!("{} bytes after the last tensor (data offsets {cursor}..{data_len}) are not part of any tensor", data_len - cursor);
        problems.report(ctx, &TRAILING_DATA, Some(data_start + cursor), message);
    }
}

/// One tensor as declared, after its own fields were validated.
#[derive(Debug)]
struct TensorDecl {
    name: String,
    begin: u64,
    end: u64,
}

/// The header after parsing: valid tensors, and problems keyed by the JSON path they concern.
#[derive(Debug, Default)]
struct Header {
    tensors: Vec<TensorDecl>,
    metadata_entries: Option<usize>,
    problems: Vec<(String, &'static Rule, String)>,
    truncated: bool,
}

fn parse_header(text: &str, max_items: u64) -> Result<Header, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let header = (&mut de).deserialize_map(HeaderVisitor { max_items })?;
    de.end()?;
    Ok(header)
}

/// Walks the top-level object one entry at a time, so only one tensor's JSON is held at once.
struct HeaderVisitor {
    max_items: u64,
}

impl<'de> Visitor<'de> for HeaderVisitor {
    type Value = Header;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of tensor descriptions")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Header, A::Error> {
        let mut header = Header::default();
        let mut seen = HashSet::new();
        let mut count = 0u64;
        while let Some(key) = map.next_key::<String>()? {
            let mut duplicates = Vec::new();
            let value = map.next_value_seed(StrictValue { duplicates: &mut duplicates, path: &key })?;
            for path in duplicates {
                header.problems.push((key.clone(), &MALFORMED, format!("key `{path}` appears more than once")));
            }
            if !seen.insert(key.clone()) {
                header.problems.push((key.clone(), &MALFORMED, format!("top-level key `{key}` appears more than once; loaders disagree on which one wins")));
                continue;
            }
            if key == "__metadata__" {
                header.metadata_entries = check_metadata(&value, &mut header.problems);
                continue;
            }
            count += 1;
            if count > self.max_items {
                header.truncated = true;
                continue;
            }
            if let Some(tensor) = check_tensor(&key, value, &mut header.problems) {
                header.tensors.push(tensor);
            }
        }
        Ok(header)
    }
}

/// `__metadata__` must map strings to strings; returns its size when it does.
fn check_metadata(value: &Value, problems: &mut Vec<(String, &'static Rule, String)>) -> Option<usize> {
    let key = "__metadata__".to_owned();
    let Value::Object(map) = value else {
        problems.push((key, &MALFORMED, format!("`__metadata__` must be an object of strings, found {}", kind(value))));
        return None;
    };
    for (name, v) in map {
        if !v.is_string() {
            problems.push((key.clone(), &MALFORMED, format!("`__metadata__.{name}` must be a string, found {}", kind(v))));
        }
    }
    Some(map.len())
}

/// Validates one tensor entry; returns it when its range can be placed.
fn check_tensor(name: &str, value: Value, problems: &mut Vec<(String, &'static Rule, String)>) -> Option<TensorDecl> {
    let mut fail = |rule: &'static Rule, message: String| problems.push((name.to_owned(), rule, message));
    let Value::Object(fields) = value else {
        fail(&MALFORMED, format!("tensor `{name}` must be an object, found {}", kind(&value)));
        return None;
    };
    for field in fields.keys().filter(|k| !matches!(k.as_str(), "dtype" | "shape" | "data_offsets")) {
        fail(&UNKNOWN_KEY, format!("tensor `{name}` has unknown field `{field}`"));
    }
    let dtype = match fields.get("dtype") {
        Some(Value::String(s)) => s.as_str(),
        other => {
            fail(&MALFORMED, format!("tensor `{name}`: `dtype` must be a string, found {}", other.map_or("nothing", kind)));
            return None;
        }
    };
    let shape = match fields.get("shape").map(u64_array) {
        Some(Some(shape)) => shape,
        _ => {
            fail(&MALFORMED, format!("tensor `{name}`: `shape` must be an array of non-negative integers"));
            return None;
        }
    };
    let (begin, end) = match fields.get("data_offsets").map(u64_array) {
        Some(Some(offsets)) if offsets.len() == 2 => (offsets[0], offsets[1]),
        _ => {
            fail(&MALFORMED, format!("tensor `{name}`: `data_offsets` must be two non-negative integers [begin, end]"));
            return None;
        }
    };
    if begin > end {
        fail(&INVALID_OFFSETS, format!("tensor `{name}`: data_offsets begin {begin} is after end {end}"));
        return None;
    }
    let Some(&(_, bits)) = DTYPE_BITS.iter().find(|(d, _)| *d == dtype) else {
        fail(&UNKNOWN_DTYPE, format!("tensor `{name}` has unknown dtype `{}`", truncate(dtype, 40)));
        return Some(TensorDecl { name: name.to_owned(), begin, end });
    };
    let total_bits = shape.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d)).and_then(|n| n.checked_mul(bits));
    match total_bits {
        None => fail(&INVALID_OFFSETS, format!("tensor `{name}`: size of shape {shape:?} x {dtype} overflows 64 bits")),
        Some(b) if b % 8 != 0 => fail(&INVALID_OFFSETS, format!("tensor `{name}`: shape {shape:?} of {dtype} is not a whole number of bytes")),
        Some(b) if b / 8 != end - begin => fail(
            &INVALID_OFFSETS,
            format!("tensor `{name}`: shape {shape:?} of {dtype} needs {} bytes but data_offsets [{begin}, {end}] span {}", b / 8, end - begin),
        ),
        Some(_) => {}
    }
    Some(TensorDecl { name: name.to_owned(), begin, end })
}

fn u64_array(value: &Value) -> Option<Vec<u64>> {
    value.as_array()?.iter().map(Value::as_u64).collect()
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// Where `"key"` first appears in the header text (a good-enough pointer for humans).
fn key_offset(text: &str, key: &str) -> Option<usize> {
    let quoted = serde_json::to_string(key).ok()?;
    memchr::memmem::find(text.as_bytes(), quoted.as_bytes())
}

/// serde_json reports 1-based line and column; turn them into a byte offset into `text`.
fn json_error_offset(text: &str, error: &serde_json::Error) -> usize {
    let line_start: usize = text.split_inclusive('\n').take(error.line().saturating_sub(1)).map(str::len).sum();
    (line_start + error.column().saturating_sub(1)).min(text.len())
}

/// A JSON value parser that, unlike `serde_json::Value`, notices keys given twice (Python's `json`
/// keeps the last, serde-derived loaders reject them: either way, two readers can disagree).
struct StrictValue<'a> {
    duplicates: &'a mut Vec<String>,
    path: &'a str,
}

impl<'de> DeserializeSeed<'de> for StrictValue<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        loop {
            let path = format!("{}[{}]", self.path, items.len());
            match seq.next_element_seed(StrictValue { duplicates: &mut *self.duplicates, path: &path })? {
                Some(item) => items.push(item),
                None => return Ok(Value::Array(items)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = format!("{}.{key}", self.path);
            let value = map.next_value_seed(StrictValue { duplicates: &mut *self.duplicates, path: &path })?;
            if object.insert(key, value).is_some() {
                self.duplicates.push(path);
            }
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use warden_core::Finding;

    use super::*;
    use crate::settings::ScanSettings;

    fn scan_file(data: &[u8]) -> Vec<Finding> {
        let settings = ScanSettings::default();
        let mut ctx = ScanContext::new(&settings, "t.safetensors");
        scan(&mut ctx, data);
        ctx.finish().0
    }

    fn file(header: &str, data_len: usize) -> Vec<u8> {
        let mut out = (header.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(header.as_bytes());
        out.resize(out.len() + data_len, 0);
        out
    }

    fn ids(findings: &[Finding]) -> Vec<&str> {
        findings.iter().filter(|f| f.severity > Severity::Info).map(|f| f.rule_id.as_str()).collect()
    }

    /// Written by `safetensors.numpy.save({"a": np.zeros((2, 2), np.float32), "b": np.zeros(3,
    /// np.int64)}, metadata={"format": "np"})` (safetensors 0.4): padded with spaces to 8 bytes.
    const PYTHON_HEADER: &str = r#"{"__metadata__":{"format":"np"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"I64","shape":[3],"data_offsets":[16,40]}}    "#;

    #[test]
    fn file_written_by_the_reference_library_is_clean() {
        let findings = scan_file(&file(PYTHON_HEADER, 40));
        assert!(ids(&findings).is_empty(), "{findings:?}");
        let summary = findings.iter().find(|f| f.rule_id.as_str() == "safetensors.summary").expect("summary");
        assert!(summary.message.starts_with("2 tensors, 1 `__metadata__` entries"), "{}", summary.message);
    }

    #[test]
    fn sub_byte_and_new_dtypes_are_known() {
        let header = r#"{"a":{"dtype":"F4","shape":[4],"data_offsets":[0,2]},"b":{"dtype":"F8_E8M0","shape":[1],"data_offsets":[2,3]},"c":{"dtype":"F6_E2M3","shape":[4],"data_offsets":[3,6]}}"#;
        assert!(ids(&scan_file(&file(header, 6))).is_empty());
    }

    #[test]
    fn empty_tensor_and_empty_header_are_fine() {
        assert!(ids(&scan_file(&file(r#"{"e":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}"#, 0))).is_empty());
        assert!(ids(&scan_file(&file("{}", 0))).is_empty());
    }

    #[test]
    fn header_longer_than_limit_is_not_read() {
        let mut data = (200u64 << 20).to_le_bytes().to_vec();
        data.extend_from_slice(b"{}");
        assert_eq!(ids(&scan_file(&data)), ["safetensors.header-too-large"]);
    }

    #[test]
    fn header_longer_than_file_is_malformed() {
        let mut data = 1000u64.to_le_bytes().to_vec();
        data.extend_from_slice(b"{}");
        let findings = scan_file(&data);
        assert_eq!(ids(&findings), ["safetensors.malformed"]);
        assert!(findings[0].message.contains("1000"));
    }

    #[test]
    fn invalid_utf8_and_json_are_malformed_with_offset() {
        let mut data = file("{\"aX\":1}", 0);
        data[11] = 0xff;
        let findings = scan_file(&data);
        assert_eq!(ids(&findings), ["safetensors.malformed"]);
        assert_eq!(findings[0].location.offset, Some(11));
        let findings = scan_file(&file(r#"{"a": }"#, 0));
        assert_eq!(ids(&findings), ["safetensors.malformed"]);
        assert_eq!(findings[0].location.offset, Some(8 + 6));
    }

    #[test]
    fn duplicate_keys_are_reported() {
        let header = r#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#;
        let findings = scan_file(&file(header, 1));
        assert_eq!(ids(&findings), ["safetensors.malformed"]);
        assert!(findings[0].message.contains("`a` appears more than once"));
        let inner = r#"{"a":{"dtype":"U8","dtype":"I8","shape":[1],"data_offsets":[0,1]}}"#;
        let findings = scan_file(&file(inner, 1));
        assert!(findings.iter().any(|f| f.message.contains("`a.dtype` appears more than once")), "{findings:?}");
    }

    #[test]
    fn metadata_must_map_strings_to_strings() {
        let findings = scan_file(&file(r#"{"__metadata__":{"n":1}}"#, 0));
        assert_eq!(ids(&findings), ["safetensors.malformed"]);
        assert!(findings[0].message.contains("__metadata__.n"));
    }

    #[test]
    fn wrong_field_types_are_malformed() {
        for header in [
            r#"{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}}"#,
            r#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0]}}"#,
            r#"{"a":{"dtype":7,"shape":[1],"data_offsets":[0,1]}}"#,
            r#"{"a":[1]}"#,
        ] {
            assert!(ids(&scan_file(&file(header, 1))).contains(&"safetensors.malformed"), "{header}");
        }
    }

    #[test]
    fn size_mismatch_overflow_and_reversed_offsets_are_invalid() {
        for header in [
            r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#,
            r#"{"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,4]}}"#,
            r#"{"a":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}}"#,
            r#"{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,1]}}"#,
        ] {
            assert!(ids(&scan_file(&file(header, 4))).contains(&"safetensors.invalid-offsets"), "{header}");
        }
    }

    #[test]
    fn out_of_bounds_and_gaps_are_invalid() {
        let findings = scan_file(&file(r#"{"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}}"#, 4));
        assert_eq!(ids(&findings), ["safetensors.invalid-offsets", "safetensors.trailing-data"]);
        let gap = r#"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}}"#;
        assert_eq!(ids(&scan_file(&file(gap, 6))), ["safetensors.invalid-offsets"]);
    }

    #[test]
    fn overlapping_tensors_are_reported() {
        let header = r#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}"#;
        let findings = scan_file(&file(header, 4));
        assert_eq!(ids(&findings), ["safetensors.overlapping-tensors"]);
        assert!(findings[0].message.contains("`b`") && findings[0].message.contains("`a`"));
    }

    #[test]
    fn trailing_bytes_are_reported() {
        let findings = scan_file(&file(r#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#, 9));
        assert_eq!(ids(&findings), ["safetensors.trailing-data"]);
    }

    #[test]
    fn unknown_dtype_and_fields_are_reported() {
        let findings = scan_file(&file(r#"{"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,1],"x":1}}"#, 1));
        assert_eq!(ids(&findings), ["safetensors.unknown-key", "safetensors.unknown-dtype"]);
    }

    #[test]
    fn deep_nesting_is_malformed_not_a_crash() {
        let deep = format!("{{\"__metadata__\":{}{}}}", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(ids(&scan_file(&file(&deep, 0))), ["safetensors.malformed"]);
    }

    #[test]
    fn problems_are_capped() {
        let entries: Vec<String> = (0..200).map(|i| format!(r#""t{i}":{{"dtype":"U8","shape":[1],"data_offsets":[0,9]}}"#)).collect();
        let findings = scan_file(&file(&format!("{{{}}}", entries.join(",")), 1));
        assert!(findings.len() <= MAX_REPORTED_PROBLEMS + 3, "{}", findings.len());
        assert!(findings.iter().any(|f| f.message.contains("further header problems")));
    }

    proptest! {
        #[test]
        fn random_headers_never_panic(len in 0u64..64, body in proptest::collection::vec(any::<u8>(), 0..96)) {
            let mut data = len.to_le_bytes().to_vec();
            data.push(b'{');
            data.extend_from_slice(&body);
            let _ = scan_file(&data);
        }

        #[test]
        fn random_json_headers_never_panic(header in r#"\{("[a-c_]{1,3}":\{("(dtype|shape|data_offsets)":("U8"|"F4"|\[[0-9,]{0,6}\]|-?[0-9]{1,3}),?){0,4}\},?){0,4}\}"#, pad in 0usize..16) {
            let _ = scan_file(&file(&header, pad));
        }
    }
}
