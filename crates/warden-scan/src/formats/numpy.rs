//! NumPy `.npy` arrays (and so the members of `.npz` archives, which the zip reader hands back
//! here through sniffing).
//!
//! The header is a Python dict literal; NumPy reads it with `ast.literal_eval`. We parse it with a
//! small strict literal parser (never an evaluator), check the payload length against shape and
//! dtype without reading the array, and hand object arrays, whose payload is a pickle that
//! `np.load(..., allow_pickle=True)` unpickles, to the pickle scanner.

use warden_core::Severity;

use crate::context::ScanContext;
use crate::pickle::{self, StreamKind};
use crate::rules::{ATLAS_EMBED_MALWARE, ATLAS_SUPPLY_CHAIN_MODEL, ATLAS_UNSAFE_ARTIFACT, Rule};

/// An array whose elements are Python objects, stored as a pickle.
pub(crate) static OBJECT_ARRAY: Rule = Rule {
    id: "numpy.object-array",
    severity: Severity::Low,
    title: "NumPy array holds Python objects (a pickle)",
    description: "The array's dtype contains Python objects, so its data is a pickle that np.load unpickles only with \
                  allow_pickle=True. Passing that flag lets the file run code; the pickle's own findings say whether \
                  it does.",
    atlas: &[ATLAS_UNSAFE_ARTIFACT],
    remediation: "Prefer arrays of plain dtypes; load object arrays only from trusted sources.",
};

/// A header that is not what NumPy writes.
pub(crate) static MALFORMED: Rule = Rule {
    id: "numpy.malformed",
    severity: Severity::High,
    title: "malformed NumPy header",
    description: "The .npy header is not a valid NumPy header (bad magic or version, a length past the end, or a dict \
                  that is not a plain literal with exactly `descr`, `fortran_order` and `shape`). Crafted headers \
                  target the parsers of loaders and scanners.",
    atlas: &[ATLAS_SUPPLY_CHAIN_MODEL, ATLAS_EMBED_MALWARE],
    remediation: "Do not load the file; obtain it again from its publisher.",
};

/// An array with fewer bytes than its shape needs.
pub(crate) static TRUNCATED: Rule = Rule {
    id: "numpy.truncated",
    severity: Severity::Medium,
    title: "NumPy array is truncated",
    description: "The file holds fewer bytes than the header's shape and dtype require; np.load fails on it.",
    atlas: &[],
    remediation: "Obtain the file again from its publisher.",
};

/// Bytes after the array data, which np.load ignores.
pub(crate) static TRAILING_DATA: Rule = Rule {
    id: "numpy.trailing-data",
    severity: Severity::High,
    title: "data after the NumPy array",
    description: "The file holds more bytes than the header's shape and dtype describe. np.load ignores them, so they \
                  can carry a payload for another reader of the file.",
    atlas: &[ATLAS_SUPPLY_CHAIN_MODEL, ATLAS_EMBED_MALWARE],
    remediation: "Inspect the trailing bytes; re-save the array with np.save before use.",
};

/// A dtype warden does not know, so the size could not be checked.
pub(crate) static UNKNOWN_DTYPE: Rule = Rule {
    id: "numpy.unknown-dtype",
    severity: Severity::Medium,
    title: "NumPy array has an unknown dtype",
    description: "The header's dtype is not one NumPy writes, so the payload's length could not be checked. NumPy \
                  refuses most such dtypes; one it accepts could hide objects.",
    atlas: &[ATLAS_UNSAFE_ARTIFACT],
    remediation: "Check which program wrote the file; re-save it with np.save.",
};

/// Rules owned by this module.
pub(crate) const RULES: &[&Rule] = &[&OBJECT_ARRAY, &MALFORMED, &TRUNCATED, &TRAILING_DATA, &UNKNOWN_DTYPE];

/// NumPy refuses longer headers unless `max_header_size` is raised.
const NUMPY_MAX_HEADER: usize = 10_000;
/// Nesting of the header literal (structured dtypes nest lists of tuples).
const MAX_NESTING: usize = 32;

/// Scans a `.npy` file.
pub(crate) fn scan_npy(ctx: &mut ScanContext<'_>, data: &[u8]) {
    let max_header = usize::try_from(ctx.limits().max_header_bytes).unwrap_or(usize::MAX);
    let header = match Header::parse(data, max_header) {
        Ok(header) => header,
        Err(e) => {
            ctx.report(&MALFORMED, Some(e.offset as u64), e.message);
            return;
        }
    };
    if header.text_len > NUMPY_MAX_HEADER {
        ctx.report_with_severity(
            &MALFORMED,
            Severity::Low,
            Some(0),
            format!("the header is {} bytes; np.load refuses headers over {NUMPY_MAX_HEADER} bytes unless max_header_size is raised", header.text_len),
        );
    }
    let payload = &data[header.payload_start..];
    let dtype = match Dtype::from_descr(&header.descr, 0) {
        Ok(dtype) => dtype,
        Err(DtypeError::Unknown(what)) => {
            ctx.report(&UNKNOWN_DTYPE, Some(0), format!("unknown dtype `{what}`; the payload was not checked"));
            return;
        }
        Err(DtypeError::Malformed(what)) => {
            ctx.report(&MALFORMED, Some(0), format!("the dtype description is malformed: {what}"));
            return;
        }
    };
    if dtype.has_object {
        ctx.report(
            &OBJECT_ARRAY,
            Some(header.payload_start as u64),
            "the array holds Python objects; its data is a pickle that np.load runs with allow_pickle=True".to_owned(),
        );
        pickle::scan(ctx, payload, StreamKind::Numpy);
        return;
    }
    let needed = header.shape.iter().try_fold(1u64, |n, &d| n.checked_mul(d)).and_then(|n| n.checked_mul(dtype.itemsize));
    let Some(needed) = needed else {
        ctx.report(&MALFORMED, Some(0), format!("shape {:?} with {}-byte items overflows", header.shape, dtype.itemsize));
        return;
    };
    let present = payload.len() as u64;
    if present < needed {
        ctx.report(&TRUNCATED, Some(header.payload_start as u64), format!("shape {:?} needs {needed} bytes but {present} are present", header.shape));
    } else if present > needed {
        let extra_at = header.payload_start + usize::try_from(needed).expect("needed < present, which fits in usize");
        ctx.report(&TRAILING_DATA, Some(extra_at as u64), format!("{} bytes follow the {needed} bytes of array data", present - needed));
        ctx.scan_member("<data after array>", &data[extra_at..]);
    }
}

#[derive(Debug)]
struct HeaderError {
    offset: usize,
    message: String,
}

fn header_error(offset: usize, message: impl Into<String>) -> HeaderError {
    HeaderError { offset, message: message.into() }
}

/// A parsed `.npy` header.
#[derive(Debug)]
struct Header {
    descr: Value,
    shape: Vec<u64>,
    payload_start: usize,
    text_len: usize,
}

impl Header {
    fn parse(data: &[u8], max_header: usize) -> Result<Header, HeaderError> {
        if !data.starts_with(b"\x93NUMPY") || data.len() < 10 {
            return Err(header_error(0, "the file is too short for a .npy header"));
        }
        let (major, minor) = (data[6], data[7]);
        let (len, start): (usize, usize) = match (major, minor) {
            (1, 0) => (usize::from(u16::from_le_bytes([data[8], data[9]])), 10),
            (2 | 3, 0) => {
                let bytes = data.get(8..12).ok_or_else(|| header_error(8, "the header length is truncated"))?;
                (usize::try_from(u32::from_le_bytes(bytes.try_into().expect("4 bytes"))).unwrap_or(usize::MAX), 12)
            }
            _ => return Err(header_error(6, format!("unsupported .npy version {major}.{minor}"))),
        };
        if len > max_header {
            return Err(header_error(8, format!("the header declares {len} bytes, more than the {max_header} byte limit")));
        }
        let end = start.checked_add(len).filter(|&e| e <= data.len()).ok_or_else(|| {
            header_error(8, format!("the header declares {len} bytes but the file ends after {}", data.len() - start.min(data.len())))
        })?;
        let raw = &data[start..end];
        // Versions 1 and 2 are latin-1, version 3 UTF-8.
        let text: String = if major == 3 {
            std::str::from_utf8(raw).map_err(|_| header_error(start, "the version 3 header is not UTF-8"))?.to_owned()
        } else {
            raw.iter().map(|&b| char::from(b)).collect()
        };
        let value = Literal::new(&text).parse_all().map_err(|e| header_error(start, format!("the header is not a plain Python literal: {e}")))?;
        let Value::Dict(entries) = value else { return Err(header_error(start, "the header is not a dict")) };
        let mut keys: Vec<&str> = entries.iter().filter_map(|(k, _)| if let Value::Str(s) = k { Some(s.as_str()) } else { None }).collect();
        keys.sort_unstable();
        if keys != ["descr", "fortran_order", "shape"] || entries.len() != 3 {
            return Err(header_error(start, "the header dict must have exactly the keys descr, fortran_order and shape"));
        }
        let get = |key: &str| entries.iter().find(|(k, _)| matches!(k, Value::Str(s) if s == key)).map(|(_, v)| v).expect("key present");
        if !matches!(get("fortran_order"), Value::Bool(_)) {
            return Err(header_error(start, "fortran_order is not a bool"));
        }
        let Value::Tuple(dims) = get("shape") else { return Err(header_error(start, "shape is not a tuple")) };
        let shape = dims
            .iter()
            .map(|d| match d {
                Value::Int(n) => u64::try_from(*n).ok(),
                _ => None,
            })
            .collect::<Option<Vec<u64>>>()
            .ok_or_else(|| header_error(start, "shape holds something other than non-negative integers"))?;
        Ok(Header { descr: get("descr").clone(), shape, payload_start: end, text_len: len })
    }
}

/// A Python literal as NumPy headers use them.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Str(String),
    Int(i64),
    Bool(bool),
    None,
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
}

/// A strict recursive-descent parser for the literal subset `repr` produces for NumPy headers.
struct Literal<'t> {
    text: &'t [u8],
    at: usize,
}

impl<'t> Literal<'t> {
    fn new(text: &'t str) -> Self {
        Literal { text: text.as_bytes(), at: 0 }
    }

    fn parse_all(mut self) -> Result<Value, String> {
        let value = self.value(0)?;
        self.skip_space();
        if self.at != self.text.len() {
            return Err(format!("unexpected `{}` at {}", char::from(self.text[self.at]), self.at));
        }
        Ok(value)
    }

    fn skip_space(&mut self) {
        while self.text.get(self.at).is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.text.get(self.at).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        let found = self.peek() == Some(b);
        if found {
            self.at += 1;
        }
        found
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        if depth > MAX_NESTING {
            return Err("nested too deeply".to_owned());
        }
        match self.peek().ok_or("unexpected end")? {
            b'{' => {
                self.at += 1;
                let mut entries = Vec::new();
                while !self.eat(b'}') {
                    let key = self.value(depth + 1)?;
                    if !self.eat(b':') {
                        return Err(format!("expected `:` at {}", self.at));
                    }
                    entries.push((key, self.value(depth + 1)?));
                    if !self.eat(b',') && self.peek() != Some(b'}') {
                        return Err(format!("expected `,` or `}}` at {}", self.at));
                    }
                }
                Ok(Value::Dict(entries))
            }
            b'[' => {
                self.at += 1;
                Ok(Value::List(self.sequence(b']', depth)?.0))
            }
            b'(' => {
                self.at += 1;
                let (items, trailing_comma) = self.sequence(b')', depth)?;
                // `(x)` is x itself; `(x,)` and `()` are tuples.
                if items.len() == 1 && !trailing_comma {
                    Ok(items.into_iter().next().expect("one item"))
                } else {
                    Ok(Value::Tuple(items))
                }
            }
            b'\'' | b'"' => self.string(),
            b'u' | b'b' if matches!(self.text.get(self.at + 1), Some(b'\'' | b'"')) => {
                self.at += 1;
                self.string()
            }
            b'-' | b'0'..=b'9' => self.integer(),
            _ => self.word(),
        }
    }

    /// Items up to `close`, and whether the last one had a trailing comma.
    fn sequence(&mut self, close: u8, depth: usize) -> Result<(Vec<Value>, bool), String> {
        let mut items = Vec::new();
        let mut comma = false;
        while !self.eat(close) {
            items.push(self.value(depth + 1)?);
            comma = self.eat(b',');
            if !comma && self.peek() != Some(close) {
                return Err(format!("expected `,` or `{}` at {}", char::from(close), self.at));
            }
        }
        Ok((items, comma))
    }

    fn string(&mut self) -> Result<Value, String> {
        let quote = self.text[self.at];
        self.at += 1;
        let mut out = Vec::new();
        loop {
            let b = *self.text.get(self.at).ok_or("unterminated string")?;
            self.at += 1;
            match b {
                _ if b == quote => break,
                b'\\' => {
                    let e = *self.text.get(self.at).ok_or("unterminated string")?;
                    self.at += 1;
                    match e {
                        b'\\' | b'\'' | b'"' => out.push(e),
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'0' => out.push(0),
                        b'x' => {
                            let hex = self.text.get(self.at..self.at + 2).ok_or("truncated \\x escape")?;
                            let code = u8::from_str_radix(std::str::from_utf8(hex).map_err(|_| "bad \\x escape")?, 16).map_err(|_| "bad \\x escape")?;
                            let mut buf = [0; 4];
                            out.extend_from_slice(char::from(code).encode_utf8(&mut buf).as_bytes());
                            self.at += 2;
                        }
                        _ => return Err(format!("unsupported escape `\\{}`", char::from(e))),
                    }
                }
                b'\n' => return Err("newline in string".to_owned()),
                _ => out.push(b),
            }
        }
        String::from_utf8(out).map(Value::Str).map_err(|_| "string is not valid text".to_owned())
    }

    fn integer(&mut self) -> Result<Value, String> {
        let start = self.at;
        if self.text[self.at] == b'-' {
            self.at += 1;
        }
        while self.text.get(self.at).is_some_and(u8::is_ascii_digit) {
            self.at += 1;
        }
        let digits = std::str::from_utf8(&self.text[start..self.at]).expect("ASCII");
        // Python 2 wrote longs as `3L`.
        if matches!(self.text.get(self.at), Some(b'L' | b'l')) {
            self.at += 1;
        }
        digits.parse::<i64>().map(Value::Int).map_err(|_| format!("integer `{digits}` out of range"))
    }

    fn word(&mut self) -> Result<Value, String> {
        let start = self.at;
        while self.text.get(self.at).is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_') {
            self.at += 1;
        }
        match &self.text[start..self.at] {
            b"True" => Ok(Value::Bool(true)),
            b"False" => Ok(Value::Bool(false)),
            b"None" => Ok(Value::None),
            _ => Err(format!("unexpected `{}` at {start}", String::from_utf8_lossy(&self.text[start..self.at.max(start + 1).min(self.text.len())]))),
        }
    }
}

/// What warden needs of a dtype: its size, and whether it holds Python objects anywhere.
#[derive(Debug, PartialEq)]
struct Dtype {
    itemsize: u64,
    has_object: bool,
}

#[derive(Debug)]
enum DtypeError {
    Unknown(String),
    Malformed(String),
}

impl Dtype {
    fn from_descr(descr: &Value, depth: usize) -> Result<Dtype, DtypeError> {
        if depth > MAX_NESTING {
            return Err(DtypeError::Malformed("nested too deeply".to_owned()));
        }
        match descr {
            Value::Str(s) => Dtype::simple(s),
            // A sub-array dtype: (base, shape).
            Value::Tuple(items) if items.len() == 2 => {
                let base = Dtype::from_descr(&items[0], depth + 1)?;
                base.repeated(&items[1])
            }
            Value::List(fields) => {
                let mut total = Dtype { itemsize: 0, has_object: false };
                for field in fields {
                    let Value::Tuple(parts) = field else { return Err(DtypeError::Malformed("a field is not a tuple".to_owned())) };
                    let field = match parts.as_slice() {
                        [_, sub] => Dtype::from_descr(sub, depth + 1)?,
                        [_, sub, shape] => Dtype::from_descr(sub, depth + 1)?.repeated(shape)?,
                        _ => return Err(DtypeError::Malformed("a field tuple has neither 2 nor 3 items".to_owned())),
                    };
                    total.itemsize = total.itemsize.checked_add(field.itemsize).ok_or_else(|| DtypeError::Malformed("item size overflows".to_owned()))?;
                    total.has_object |= field.has_object;
                }
                Ok(total)
            }
            other => Err(DtypeError::Malformed(format!("unexpected {other:?}"))),
        }
    }

    fn repeated(self, shape: &Value) -> Result<Dtype, DtypeError> {
        let dims: Vec<&Value> = match shape {
            Value::Tuple(dims) => dims.iter().collect(),
            single @ Value::Int(_) => vec![single],
            _ => return Err(DtypeError::Malformed("a sub-array shape is not a tuple".to_owned())),
        };
        let count = dims.iter().try_fold(1u64, |n, d| match d {
            Value::Int(d) => u64::try_from(*d).ok().and_then(|d| n.checked_mul(d)),
            _ => None,
        });
        let itemsize = count.and_then(|c| c.checked_mul(self.itemsize)).ok_or_else(|| DtypeError::Malformed("a sub-array shape is invalid".to_owned()))?;
        Ok(Dtype { itemsize, has_object: self.has_object })
    }

    /// A type string such as `<f8`, `|u1`, `<U12`, `|S5`, `<M8[ns]`, `|O`.
    fn simple(typestr: &str) -> Result<Dtype, DtypeError> {
        let unknown = || DtypeError::Unknown(typestr.to_owned());
        let body = typestr.strip_prefix(['<', '>', '|', '=']).unwrap_or(typestr);
        let (body, unit_ok) = match body.split_once('[') {
            Some((b, unit)) if unit.ends_with(']') && unit.len() > 1 && unit[..unit.len() - 1].bytes().all(|c| c.is_ascii_alphanumeric()) => (b, true),
            Some(_) => return Err(unknown()),
            None => (body, false),
        };
        let mut chars = body.chars();
        let kind = chars.next().ok_or_else(unknown)?;
        let digits = chars.as_str();
        let size: Option<u64> = if digits.is_empty() { None } else { Some(digits.parse().map_err(|_| unknown())?) };
        if unit_ok && !matches!(kind, 'M' | 'm') {
            return Err(unknown());
        }
        let plain = |itemsize| Ok(Dtype { itemsize, has_object: false });
        match (kind, size) {
            ('O', None | Some(4 | 8)) => Ok(Dtype { itemsize: size.unwrap_or(8), has_object: true }),
            ('?', None) | ('b', Some(1)) => plain(1),
            ('i' | 'u', Some(n @ (1 | 2 | 4 | 8))) => plain(n),
            ('f', Some(n @ (2 | 4 | 8 | 12 | 16))) => plain(n),
            ('c', Some(n @ (8 | 16 | 24 | 32))) => plain(n),
            ('M' | 'm', Some(8)) => plain(8),
            ('S' | 'a' | 'V', Some(n)) => plain(n),
            ('U', Some(n)) => n.checked_mul(4).map_or_else(|| Err(unknown()), plain),
            _ => Err(unknown()),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::formats::zip_fixture::{Member, ZipBuilder};
    use crate::settings::ScanSettings;
    use crate::walk::scan_bytes;

    /// A version 1.0 `.npy` file as np.save writes it: the header padded to 64 bytes with a newline.
    pub(crate) fn npy(header: &str, payload: &[u8]) -> Vec<u8> {
        let mut text = header.to_owned();
        let total = 10 + text.len() + 1;
        text.push_str(&" ".repeat((64 - total % 64) % 64));
        text.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&u16::try_from(text.len()).unwrap().to_le_bytes());
        out.extend_from_slice(text.as_bytes());
        out.extend_from_slice(payload);
        out
    }

    fn rule_ids(data: &[u8]) -> Vec<String> {
        let (_, findings) = scan_bytes("a.npy", data, &ScanSettings::default());
        findings.into_iter().map(|f| f.rule_id.to_string()).collect()
    }

    #[test]
    fn plain_arrays_produce_no_findings() {
        let data = npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }", &[0; 96]);
        let (record, findings) = scan_bytes("a.npy", &data, &ScanSettings::default());
        assert_eq!(record.format, "numpy");
        assert!(findings.is_empty(), "{findings:#?}");
        let scalar = npy("{'descr': '<i4', 'fortran_order': False, 'shape': (), }", &[1, 0, 0, 0]);
        assert!(rule_ids(&scalar).is_empty());
        let py2 = npy("{'descr': '<u2', 'fortran_order': True, 'shape': (2L, 1L), }", &[0; 4]);
        assert!(rule_ids(&py2).is_empty());
        let strings = npy("{'descr': '<U3', 'fortran_order': False, 'shape': (2,), }", &[0; 24]);
        assert!(rule_ids(&strings).is_empty());
        let dates = npy("{'descr': '<M8[ns]', 'fortran_order': False, 'shape': (1,), }", &[0; 8]);
        assert!(rule_ids(&dates).is_empty());
    }

    #[test]
    fn structured_dtype_sizes_add_up() {
        let header = "{'descr': [('a', '<i4'), ('', '|V4'), ('b', '<f8', (2,)), (('title', 'c'), [('x', '|u1')])], 'fortran_order': False, 'shape': (2,), }";
        assert!(rule_ids(&npy(header, &[0; 2 * 25])).is_empty());
    }

    #[test]
    fn version_2_and_3_headers_are_read() {
        let text = "{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }\n";
        for version in [2u8, 3] {
            let mut data = vec![0x93, b'N', b'U', b'M', b'P', b'Y', version, 0];
            data.extend_from_slice(&(text.len() as u32).to_le_bytes());
            data.extend_from_slice(text.as_bytes());
            data.extend_from_slice(&[1, 2]);
            assert!(rule_ids(&data).is_empty(), "version {version}");
        }
    }

    #[test]
    fn object_arrays_are_reported_and_their_pickle_scanned() {
        let payload = b"\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03.";
        for descr in ["'|O'", "[('a', '<i4'), ('b', '|O')]"] {
            let data = npy(&format!("{{'descr': {descr}, 'fortran_order': False, 'shape': (1,), }}"), payload);
            let (_, findings) = scan_bytes("a.npy", &data, &ScanSettings::default());
            let f = findings.iter().find(|f| f.rule_id.as_str() == "numpy.object-array").expect("object array");
            assert_eq!(f.severity, Severity::Low);
            crate::formats::zip_fixture::assert_pickle_detected_in(&findings, "");
        }
    }

    #[test]
    fn size_disagreements_are_reported() {
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }";
        assert_eq!(rule_ids(&npy(header, &[0; 15])), ["numpy.truncated"]);
        let mut extra = vec![0; 16];
        extra.extend_from_slice(b"cos\nsystem\n(S'id'\ntR.");
        let ids = rule_ids(&npy(header, &extra));
        assert_eq!(ids.first().map(String::as_str), Some("numpy.trailing-data"));
    }

    #[test]
    fn unknown_dtypes_are_reported() {
        assert_eq!(rule_ids(&npy("{'descr': '<q9', 'fortran_order': False, 'shape': (1,), }", &[0; 9])), ["numpy.unknown-dtype"]);
    }

    #[test]
    fn headers_that_are_not_plain_literals_are_malformed() {
        for header in [
            "{'descr': __import__('os').system('id'), 'fortran_order': False, 'shape': (1,), }",
            "{'descr': '<f8', 'shape': (1,), }",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'extra': 1, }",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }",
            "{'descr': '<f8', 'fortran_order': 0, 'shape': (1,), }",
            "['descr', '<f8']",
            &format!("{}{{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }}{}", "(".repeat(100), ")".repeat(100)),
        ] {
            assert_eq!(rule_ids(&npy(header, &[0; 8])), ["numpy.malformed"], "{header}");
        }
        let mut long = npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", &[0; 8]);
        long[8..10].copy_from_slice(&u16::MAX.to_le_bytes());
        assert_eq!(rule_ids(&long), ["numpy.malformed"]);
        let mut version = long.clone();
        version[6] = 4;
        assert_eq!(rule_ids(&version), ["numpy.malformed"]);
    }

    #[test]
    fn overflowing_shape_is_malformed_not_a_panic() {
        let header = "{'descr': '<f8', 'fortran_order': False, 'shape': (9223372036854775807, 9223372036854775807), }";
        assert_eq!(rule_ids(&npy(header, &[])), ["numpy.malformed"]);
    }

    #[test]
    fn clean_npz_has_no_medium_findings() {
        let a = npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", &[0; 16]);
        let b = npy("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", &[1, 0, 1]);
        let zip = ZipBuilder::new().member(Member::stored("a.npy", &a)).member(Member::deflated("b.npy", &b)).finish();
        let (record, findings) = scan_bytes("arrays.npz", &zip, &ScanSettings::default());
        assert_eq!(record.format, "npz");
        assert!(findings.iter().all(|f| f.severity < Severity::Medium), "{findings:#?}");
    }

    #[test]
    fn npz_member_problems_are_located_in_the_member() {
        let bad = npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", &[0; 3]);
        let zip = ZipBuilder::new().member(Member::deflated("w.npy", &bad)).finish();
        let (_, findings) = scan_bytes("arrays.npz", &zip, &ScanSettings::default());
        let f = findings.iter().find(|f| f.rule_id.as_str() == "numpy.truncated").expect("found");
        assert_eq!(f.location.member.as_deref(), Some("w.npy"));
    }

    proptest! {
        #[test]
        fn random_headers_never_panic(body in proptest::collection::vec(any::<u8>(), 0..300), version in 0u8..5) {
            let mut data = b"\x93NUMPY".to_vec();
            data.push(version);
            data.push(0);
            data.extend_from_slice(&body);
            let _ = scan_bytes("a.npy", &data, &ScanSettings::default());
        }

        #[test]
        fn random_literals_never_panic(text in "[{}()\\[\\],:'\"a-zA-Z0-9 \\\\-]{0,80}") {
            let _ = Literal::new(&text).parse_all();
        }
    }
}
