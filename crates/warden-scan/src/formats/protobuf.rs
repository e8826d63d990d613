//! A bounded, zero-copy reader for the protobuf wire format, shared by the ONNX and TensorFlow
//! scanners.
//!
//! We need a handful of fields from hostile files, so instead of generated code this module reads
//! the wire format directly: [`Message::fields`] yields one `Result<Field>` per field, with
//! length-delimited payloads as subslices of the input and every offset absolute in the outer
//! buffer (for findings). Nothing here allocates per field, recurses, or panics; nesting depth is
//! the caller's business. [`Walk`] adds what every scanner needs on top: a per-file field budget
//! and consistent malformed-input findings.
//!
//! ```ignore
//! for field in Message::root(data).fields() {
//!     let field = field?;
//!     if let (1, Value::Varint(version)) = (field.number, field.value) { /* ... */ }
//! }
//! ```

use warden_core::{Finding, Severity};

use crate::context::{LIMIT_EXCEEDED, ScanContext};
use crate::rules::Rule;

/// Largest field number protobuf allows (2^29 - 1).
const MAX_FIELD_NUMBER: u64 = (1 << 29) - 1;

/// A varint never takes more than ten bytes.
const MAX_VARINT_LEN: usize = 10;

/// How a field's payload is encoded. Groups (3 and 4) are deprecated and used by none of the
/// formats we read, so they are errors rather than something to skip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WireType {
    /// Wire type 0.
    Varint,
    /// Wire type 1: eight little-endian bytes.
    Fixed64,
    /// Wire type 2: a length prefix, then that many bytes (strings, bytes, messages, packed).
    Len,
    /// Wire type 5: four little-endian bytes.
    Fixed32,
}

impl WireType {
    fn name(self) -> &'static str {
        match self {
            WireType::Varint => "varint",
            WireType::Fixed64 => "fixed64",
            WireType::Len => "length-delimited",
            WireType::Fixed32 => "fixed32",
        }
    }
}

/// A field's payload, borrowed from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    /// A varint (ints, bools, enums).
    Varint(u64),
    /// Eight bytes (double, fixed64, sfixed64).
    Fixed64(u64),
    /// A length-delimited payload (string, bytes, sub-message, packed repeated).
    Len(&'a [u8]),
    /// Four bytes (float, fixed32, sfixed32).
    Fixed32(u32),
}

/// One field of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Field<'a> {
    /// The field number (1 ..= 2^29 - 1).
    pub(crate) number: u32,
    /// The payload.
    pub(crate) value: Value<'a>,
    /// Absolute offset of the field's tag in the outermost buffer.
    pub(crate) offset: u64,
    /// Absolute offset of the payload (after the tag and any length prefix).
    pub(crate) value_offset: u64,
}

impl<'a> Field<'a> {
    /// How the payload was encoded.
    pub(crate) fn wire_type(&self) -> WireType {
        match self.value {
            Value::Varint(_) => WireType::Varint,
            Value::Fixed64(_) => WireType::Fixed64,
            Value::Len(_) => WireType::Len,
            Value::Fixed32(_) => WireType::Fixed32,
        }
    }

    /// The varint payload, if this is a varint field.
    pub(crate) fn varint(&self) -> Option<u64> {
        match self.value {
            Value::Varint(v) => Some(v),
            _ => None,
        }
    }

    /// The bytes of a length-delimited field.
    pub(crate) fn bytes(&self) -> Option<&'a [u8]> {
        match self.value {
            Value::Len(bytes) => Some(bytes),
            _ => None,
        }
    }

    /// A length-delimited field read as a sub-message.
    pub(crate) fn message(&self) -> Option<Message<'a>> {
        self.bytes().map(|data| Message { data, base: self.value_offset })
    }
}

/// What is wrong with the bytes at an offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum WireErrorKind {
    /// More than ten bytes, or a tenth byte that does not fit in 64 bits.
    #[error("varint longer than 10 bytes or larger than 64 bits")]
    VarintOverflow,
    /// The buffer ends inside a varint.
    #[error("truncated varint")]
    TruncatedVarint,
    /// Field number 0 or above 2^29 - 1.
    #[error("invalid field number {0}")]
    BadFieldNumber(u64),
    /// Wire types 3 and 4 (groups) and the undefined 6 and 7.
    #[error("unsupported wire type {0}")]
    BadWireType(u8),
    /// A length or fixed-size payload runs past the end of its message.
    #[error("payload of {needed} bytes but only {available} remain in the enclosing message")]
    Truncated {
        /// Bytes the field claims.
        needed: u64,
        /// Bytes left in the enclosing message.
        available: u64,
    },
}

/// A wire-format error with where it happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at offset {offset}")]
pub(crate) struct WireError {
    /// Absolute offset of the field's tag (or of the bad byte when no tag was read).
    pub(crate) offset: u64,
    /// The field number being read, once its tag was decoded.
    pub(crate) field: Option<u32>,
    /// What went wrong.
    pub(crate) kind: WireErrorKind,
}

/// A message: a byte range of the input and its absolute offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Message<'a> {
    data: &'a [u8],
    base: u64,
}

impl<'a> Message<'a> {
    /// The outermost message of a buffer (offset 0).
    pub(crate) fn root(data: &'a [u8]) -> Self {
        Message { data, base: 0 }
    }

    /// Absolute offset of the message's first byte.
    pub(crate) fn offset(&self) -> u64 {
        self.base
    }

    /// The fields in wire order. The iterator ends after the first error.
    pub(crate) fn fields(&self) -> Fields<'a> {
        Fields { data: self.data, pos: 0, base: self.base, done: false }
    }
}

/// Iterator over the fields of a [`Message`].
#[derive(Debug, Clone)]
pub(crate) struct Fields<'a> {
    data: &'a [u8],
    pos: usize,
    base: u64,
    done: bool,
}

impl<'a> Fields<'a> {
    fn abs(&self, pos: usize) -> u64 {
        self.base.saturating_add(pos as u64)
    }

    fn read_field(&mut self) -> Result<Field<'a>, WireError> {
        let start = self.pos;
        let error = |kind, field| WireError { offset: self.base.saturating_add(start as u64), field, kind };
        let (tag, after_tag) = read_varint(self.data, start).map_err(|kind| error(kind, None))?;
        let number = tag >> 3;
        if number == 0 || number > MAX_FIELD_NUMBER {
            return Err(error(WireErrorKind::BadFieldNumber(number), None));
        }
        let number = u32::try_from(number).map_err(|_| error(WireErrorKind::BadFieldNumber(number), None))?;
        let field_error = |kind| error(kind, Some(number));
        let (value, value_start, end) = match tag & 7 {
            0 => {
                let (v, end) = read_varint(self.data, after_tag).map_err(field_error)?;
                (Value::Varint(v), after_tag, end)
            }
            1 => {
                let bytes = take(self.data, after_tag, 8).map_err(field_error)?;
                let v = u64::from_le_bytes(bytes.try_into().expect("take returned exactly 8 bytes"));
                (Value::Fixed64(v), after_tag, after_tag + 8)
            }
            2 => {
                let (len, payload_start) = read_varint(self.data, after_tag).map_err(field_error)?;
                let len = usize::try_from(len).map_err(|_| {
                    field_error(WireErrorKind::Truncated { needed: len, available: remaining(self.data, payload_start) })
                })?;
                let bytes = take(self.data, payload_start, len).map_err(field_error)?;
                (Value::Len(bytes), payload_start, payload_start + len)
            }
            5 => {
                let bytes = take(self.data, after_tag, 4).map_err(field_error)?;
                let v = u32::from_le_bytes(bytes.try_into().expect("take returned exactly 4 bytes"));
                (Value::Fixed32(v), after_tag, after_tag + 4)
            }
            other => return Err(error(WireErrorKind::BadWireType(other as u8), Some(number))),
        };
        self.pos = end;
        Ok(Field { number, value, offset: self.abs(start), value_offset: self.abs(value_start) })
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<Field<'a>, WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.pos >= self.data.len() {
            return None;
        }
        let result = self.read_field();
        if result.is_err() {
            self.done = true;
        }
        Some(result)
    }
}

impl std::iter::FusedIterator for Fields<'_> {}

fn remaining(data: &[u8], pos: usize) -> u64 {
    data.len().saturating_sub(pos) as u64
}

/// `len` bytes at `pos`, or a truncation error.
fn take(data: &[u8], pos: usize, len: usize) -> Result<&[u8], WireErrorKind> {
    pos.checked_add(len)
        .and_then(|end| data.get(pos..end))
        .ok_or(WireErrorKind::Truncated { needed: len as u64, available: remaining(data, pos) })
}

/// Decodes the varint at `pos`, returning it and the position after it.
pub(crate) fn read_varint(data: &[u8], pos: usize) -> Result<(u64, usize), WireErrorKind> {
    let mut value: u64 = 0;
    for i in 0..MAX_VARINT_LEN {
        let Some(&byte) = data.get(pos.saturating_add(i)) else {
            return Err(WireErrorKind::TruncatedVarint);
        };
        let bits = u64::from(byte & 0x7f);
        // The tenth byte holds bit 63 only.
        if i == MAX_VARINT_LEN - 1 && bits > 1 {
            return Err(WireErrorKind::VarintOverflow);
        }
        value |= bits << (7 * i);
        if byte & 0x80 == 0 {
            return Ok((value, pos + i + 1));
        }
    }
    Err(WireErrorKind::VarintOverflow)
}

/// Checks that `data` parses completely as a sequence of fields (one message level deep),
/// reading at most `max_fields` fields. Returns the number of fields.
pub(crate) fn validate(data: &[u8], max_fields: u64) -> Result<u64, WireError> {
    let mut count = 0u64;
    for field in Message::root(data).fields() {
        field?;
        count += 1;
        if count > max_fields {
            return Err(WireError {
                offset: 0,
                field: None,
                kind: WireErrorKind::Truncated { needed: count, available: max_fields },
            });
        }
    }
    Ok(count)
}

/// A protobuf string or bytes field shown to humans: lossy UTF-8, control characters escaped,
/// at most `max_chars` characters.
pub(crate) fn excerpt(bytes: &[u8], max_chars: usize) -> String {
    let head = bytes.get(..bytes.len().min(max_chars.saturating_mul(4))).unwrap_or(bytes);
    let text = String::from_utf8_lossy(head);
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i >= max_chars {
            out.push('…');
            return out;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if head.len() < bytes.len() {
        out.push('…');
    }
    out
}

/// Most malformed-input findings one file produces; the first few locate the problem.
const MAX_MALFORMED_REPORTS: u32 = 16;
/// Most per-item findings (one per node or tensor) one file produces.
const MAX_FINDINGS: u32 = 256;

/// Walking one file's protobuf messages within the scan limits: every field read is charged to a
/// per-file budget (`max_header_items`), wire errors become findings of the caller's `malformed`
/// rule, and once a limit is hit the walk stops everywhere.
pub(crate) struct Walk<'c, 's> {
    /// Where findings go.
    pub(crate) ctx: &'c mut ScanContext<'s>,
    malformed: &'static Rule,
    fields_left: u64,
    stopped: bool,
    malformed_reports: u32,
    wire_errors: u32,
    findings_left: u32,
    suppressed: u64,
}

impl<'c, 's> Walk<'c, 's> {
    /// A walk reporting structural problems as `malformed`.
    pub(crate) fn new(ctx: &'c mut ScanContext<'s>, malformed: &'static Rule) -> Self {
        let fields_left = ctx.limits().max_header_items;
        Walk {
            ctx,
            malformed,
            fields_left,
            stopped: false,
            malformed_reports: 0,
            wire_errors: 0,
            findings_left: MAX_FINDINGS,
            suppressed: 0,
        }
    }

    /// True while nothing malformed was seen and no limit was hit.
    pub(crate) fn is_clean(&self) -> bool {
        self.malformed_reports == 0 && !self.stopped
    }

    /// How many wire errors were seen so far: callers compare before and after a pass over a
    /// message to avoid walking (and reporting) a broken message twice.
    pub(crate) fn wire_errors(&self) -> u32 {
        self.wire_errors
    }

    /// Reports a per-item finding, unless this file already produced [`MAX_FINDINGS`] of them
    /// (then it is only counted, and [`Walk::finish`] says how many were left out).
    pub(crate) fn report(
        &mut self,
        rule: &'static Rule,
        severity: Severity,
        offset: Option<u64>,
        message: impl Into<String>,
    ) -> Option<&mut Finding> {
        if self.findings_left == 0 {
            self.suppressed += 1;
            return None;
        }
        self.findings_left -= 1;
        Some(self.ctx.report_with_severity(rule, severity, offset, message))
    }

    /// Ends the walk: reports findings left out by the per-file cap.
    pub(crate) fn finish(self) {
        if self.suppressed > 0 {
            let message = format!("{} further findings in this file were not listed (at most {MAX_FINDINGS} are)", self.suppressed);
            self.ctx.report(&LIMIT_EXCEEDED, None, message);
        }
    }

    /// The next field of `fields`, charging the budget; `None` at the end, on a wire error
    /// (reported as hostile: a loader would reject or misread the file) or when stopped.
    pub(crate) fn next<'a>(&mut self, fields: &mut Fields<'a>) -> Option<Field<'a>> {
        if self.stopped {
            return None;
        }
        match fields.next()? {
            Ok(field) => {
                if self.fields_left == 0 {
                    let max = self.ctx.limits().max_header_items;
                    self.limit(Some(field.offset), format!("more than {max} protobuf fields; the rest was not inspected"));
                    return None;
                }
                self.fields_left -= 1;
                Some(field)
            }
            Err(error) => {
                self.wire_errors += 1;
                let what = match error.field {
                    Some(number) => format!("field {number}: {}", error.kind),
                    None => error.kind.to_string(),
                };
                self.malformed(Severity::High, error.offset, format!("invalid protobuf encoding ({what})"));
                None
            }
        }
    }

    /// Reports malformed content (capped per file).
    pub(crate) fn malformed(&mut self, severity: Severity, offset: u64, message: impl Into<String>) {
        self.malformed_reports += 1;
        if self.malformed_reports <= MAX_MALFORMED_REPORTS {
            self.ctx.report_with_severity(self.malformed, severity, Some(offset), message);
        }
    }

    /// Reports a limit and stops the walk.
    pub(crate) fn limit(&mut self, offset: Option<u64>, message: impl Into<String>) {
        if !self.stopped {
            self.stopped = true;
            self.ctx.report(&LIMIT_EXCEEDED, offset, message);
        }
    }

    /// The payload of a field that must be length-delimited (`what` names it in the finding).
    pub(crate) fn len<'a>(&mut self, field: &Field<'a>, what: &str) -> Option<&'a [u8]> {
        let bytes = field.bytes();
        if bytes.is_none() {
            self.wrong_type(field, what, WireType::Len);
        }
        bytes
    }

    /// A field that must be a sub-message.
    pub(crate) fn message<'a>(&mut self, field: &Field<'a>, what: &str) -> Option<Message<'a>> {
        self.len(field, what)?;
        field.message()
    }

    /// A field that must be a varint.
    pub(crate) fn varint(&mut self, field: &Field<'_>, what: &str) -> Option<u64> {
        let value = field.varint();
        if value.is_none() {
            self.wrong_type(field, what, WireType::Varint);
        }
        value
    }

    fn wrong_type(&mut self, field: &Field<'_>, what: &str, expected: WireType) {
        let message = format!("`{what}` (field {}) is {}, expected {}", field.number, field.wire_type().name(), expected.name());
        self.malformed(Severity::Medium, field.offset, message);
    }
}

/// A minimal protobuf writer for building test inputs field by field.
#[cfg(test)]
pub(crate) mod writer {
    /// A message being written.
    #[derive(Debug, Clone, Default)]
    pub(crate) struct Writer(Vec<u8>);

    pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    impl Writer {
        pub(crate) fn new() -> Self {
            Writer(Vec::new())
        }

        fn tag(&mut self, number: u32, wire: u8) {
            put_varint(&mut self.0, (u64::from(number) << 3) | u64::from(wire));
        }

        pub(crate) fn varint(mut self, number: u32, v: u64) -> Self {
            self.tag(number, 0);
            put_varint(&mut self.0, v);
            self
        }

        pub(crate) fn fixed32(mut self, number: u32, v: u32) -> Self {
            self.tag(number, 5);
            self.0.extend_from_slice(&v.to_le_bytes());
            self
        }

        pub(crate) fn bytes(mut self, number: u32, data: &[u8]) -> Self {
            self.tag(number, 2);
            put_varint(&mut self.0, data.len() as u64);
            self.0.extend_from_slice(data);
            self
        }

        pub(crate) fn string(self, number: u32, s: &str) -> Self {
            self.bytes(number, s.as_bytes())
        }

        pub(crate) fn message(self, number: u32, message: &Writer) -> Self {
            self.bytes(number, &message.0)
        }

        pub(crate) fn finish(self) -> Vec<u8> {
            self.0
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::writer::{Writer, put_varint};
    use super::*;

    fn collect(data: &[u8]) -> Vec<Result<Field<'_>, WireError>> {
        Message::root(data).fields().collect()
    }

    #[test]
    fn reads_every_wire_type_with_absolute_offsets() {
        let inner = Writer::new().string(1, "hi");
        let data = Writer::new().varint(1, 300).message(2, &inner).fixed32(3, 7).finish();
        let fields: Vec<Field<'_>> = collect(&data).into_iter().map(Result::unwrap).collect();
        assert_eq!(fields.len(), 3);
        assert_eq!((fields[0].number, fields[0].value), (1, Value::Varint(300)));
        assert_eq!(fields[1].offset, 3);
        let sub = fields[1].message().unwrap();
        assert_eq!(sub.offset(), 5);
        let inner_field = sub.fields().next().unwrap().unwrap();
        assert_eq!(inner_field.value, Value::Len(b"hi"));
        assert_eq!(inner_field.value_offset, 7);
        assert_eq!(&data[7..9], b"hi");
        assert_eq!(fields[2].value, Value::Fixed32(7));
    }

    #[test]
    fn varint_of_ten_bytes_decodes_u64_max_and_eleven_overflows() {
        let mut buf = Vec::new();
        put_varint(&mut buf, u64::MAX);
        assert_eq!(buf.len(), 10);
        assert_eq!(read_varint(&buf, 0), Ok((u64::MAX, 10)));
        let mut too_big = vec![0xff; 9];
        too_big.push(0x02);
        assert_eq!(read_varint(&too_big, 0), Err(WireErrorKind::VarintOverflow));
        assert_eq!(read_varint(&[0xff; 11], 0), Err(WireErrorKind::VarintOverflow));
        assert_eq!(read_varint(&[0x80, 0x80], 0), Err(WireErrorKind::TruncatedVarint));
    }

    #[test]
    fn length_beyond_the_buffer_is_an_error_naming_the_field() {
        let data = [0x3a, 0xff, 0x01, 1, 2, 3];
        let results = collect(&data);
        assert_eq!(results.len(), 1);
        let err = results[0].unwrap_err();
        assert_eq!(err.field, Some(7));
        assert_eq!(err.kind, WireErrorKind::Truncated { needed: 255, available: 3 });
    }

    #[test]
    fn groups_field_zero_and_undefined_wire_types_are_errors() {
        assert_eq!(collect(&[0x0b])[0].unwrap_err().kind, WireErrorKind::BadWireType(3));
        assert_eq!(collect(&[0x0c])[0].unwrap_err().kind, WireErrorKind::BadWireType(4));
        assert_eq!(collect(&[0x0f])[0].unwrap_err().kind, WireErrorKind::BadWireType(7));
        assert_eq!(collect(&[0x00, 0x00])[0].unwrap_err().kind, WireErrorKind::BadFieldNumber(0));
    }

    #[test]
    fn iteration_stops_after_the_first_error() {
        let data = [0x08, 0x01, 0x0b, 0x08, 0x01];
        let results = collect(&data);
        assert_eq!(results.len(), 2);
        assert!(results[0].is_ok() && results[1].is_err());
    }

    #[test]
    fn validate_counts_fields_and_rejects_trailing_garbage() {
        let data = Writer::new().varint(1, 1).string(2, "x").finish();
        assert_eq!(validate(&data, 10), Ok(2));
        assert!(validate(&data, 1).is_err());
        let mut bad = data.clone();
        bad.push(0x12);
        assert!(validate(&bad, 10).is_err());
        assert_eq!(validate(b"", 10), Ok(0));
    }

    #[test]
    fn excerpt_escapes_controls_and_truncates() {
        assert_eq!(excerpt(b"a\nb", 10), "a\\nb");
        assert_eq!(excerpt(b"abcdef", 3), "abc…");
        assert_eq!(excerpt(&[0xff, b'x'], 10), "\u{fffd}x");
    }

    proptest! {
        #[test]
        fn reader_never_panics_and_offsets_stay_in_bounds(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            for field in Message::root(&data).fields() {
                match field {
                    Ok(field) => {
                        prop_assert!(field.offset < data.len() as u64);
                        prop_assert!(field.value_offset <= data.len() as u64);
                        if let Value::Len(bytes) = field.value {
                            prop_assert!(field.value_offset + bytes.len() as u64 <= data.len() as u64);
                        }
                    }
                    Err(e) => prop_assert!(e.offset <= data.len() as u64),
                }
            }
            let _ = validate(&data, 1000);
        }

        #[test]
        fn written_varints_read_back(v in any::<u64>()) {
            let mut buf = Vec::new();
            put_varint(&mut buf, v);
            prop_assert_eq!(read_varint(&buf, 0), Ok((v, buf.len())));
        }
    }
}
