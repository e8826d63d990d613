//! Reading opcode arguments: fixed-size integers, length-prefixed strings and text lines, each
//! checked against the remaining input before use.

use crate::pickle::machine::Machine;
use crate::pickle::run::{Failure, FaultKind};
use crate::pickle::value::{Enc, Value};

impl<'a> Machine<'a, '_> {
    #[inline]
    pub(super) fn take(&mut self, n: usize) -> Result<&'a [u8], Failure> {
        let rest = self.data.len() - self.pos;
        if n > rest {
            return Err(self.fault(
                FaultKind::Truncated,
                Some(self.op),
                format!("needs {n} more bytes but only {rest} remain"),
            ));
        }
        let bytes = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(bytes)
    }

    #[inline]
    pub(super) fn array<const N: usize>(&mut self) -> Result<[u8; N], Failure> {
        let bytes = self.take(N)?;
        Ok(bytes.try_into().unwrap_or([0; N]))
    }

    /// Skips `n` raw bytes (joblib array data), failing on truncation.
    pub(super) fn skip(&mut self, n: u64, what: &str) -> Result<(), Failure> {
        let rest = (self.data.len() - self.pos) as u64;
        if n > rest {
            return Err(self.fault(
                FaultKind::Truncated,
                Some(self.op),
                format!("{what} needs {n} bytes but only {rest} remain"),
            ));
        }
        self.pos += n as usize;
        Ok(())
    }

    /// A text line without its `\n` (CPython strips only the `\n`).
    pub(super) fn line(&mut self) -> Result<&'a [u8], Failure> {
        let rest = &self.data[self.pos..];
        let Some(n) = memchr::memchr(b'\n', rest) else {
            return Err(self.fault(
                FaultKind::Truncated,
                Some(self.op),
                "its text argument has no terminating newline".to_owned(),
            ));
        };
        self.pos += n + 1;
        Ok(&rest[..n])
    }

    pub(super) fn line_text(&mut self) -> Result<&'a str, Failure> {
        let line = self.line()?;
        std::str::from_utf8(line).map_err(|_| {
            self.malformed(format!(
                "module or class name {} is not UTF-8",
                show_bytes(line)
            ))
        })
    }

    pub(super) fn line_int(&mut self) -> Result<i64, Failure> {
        let line = self.line()?;
        match self.parse_int(line)? {
            Value::Int(v) => Ok(v),
            _ => Err(self.malformed(format!("integer {} is too large", show_bytes(line)))),
        }
    }

    pub(super) fn parse_int(&self, text: &[u8]) -> Result<Value, Failure> {
        let s = std::str::from_utf8(text).unwrap_or("").trim();
        let (negative, digits) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let (radix, body) = match digits.get(..2) {
            Some("0x" | "0X") => (16, &digits[2..]),
            Some("0o" | "0O") => (8, &digits[2..]),
            Some("0b" | "0B") => (2, &digits[2..]),
            _ => (10, digits),
        };
        let body = body.replace('_', "");
        if body.is_empty() || !body.chars().all(|c| c.is_digit(radix)) {
            return Err(self.malformed(format!("invalid integer literal {}", show_bytes(text))));
        }
        Ok(match i64::from_str_radix(&body, radix) {
            Ok(v) => Value::Int(if negative { -v } else { v }),
            Err(_) => Value::Opaque,
        })
    }

    pub(super) fn push_str(&mut self, enc: Enc, n: u64) -> Result<(), Failure> {
        let rest = (self.data.len() - self.pos) as u64;
        if n > rest {
            return Err(self.fault(
                FaultKind::Truncated,
                Some(self.op),
                format!("declares {n} bytes but only {rest} remain"),
            ));
        }
        let off = self.pos as u64;
        self.pos += n as usize;
        let v = u32::try_from(n).map_or(Value::Opaque, |len| Value::Str { enc, len, off });
        self.push(v)
    }
}

/// A `LONG1`/`LONG4` little-endian two's-complement integer.
pub(super) fn long_value(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        return Value::Int(0);
    }
    if bytes.len() > 8 {
        return Value::Opaque;
    }
    let fill = if bytes[bytes.len() - 1] & 0x80 != 0 {
        0xff
    } else {
        0
    };
    let mut buf = [fill; 8];
    buf[..bytes.len()].copy_from_slice(bytes);
    Value::Int(i64::from_le_bytes(buf))
}

/// Bytes shown in a message: quoted, escaped, cut at 40 bytes.
pub(crate) fn show_bytes(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(40)];
    let mut out = String::from("'");
    out.extend(cut.escape_ascii().map(char::from));
    if bytes.len() > 40 {
        out.push_str("...");
    }
    out.push('\'');
    out
}
