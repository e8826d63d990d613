//! What the pickle machine keeps on its stack and memo: small `Copy` values that point into the
//! input instead of copying it.

use std::borrow::Cow;

/// How the bytes of a string constant encode its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Enc {
    /// UTF-8 text (`BINUNICODE`, `SHORT_BINUNICODE`, `BINUNICODE8`).
    Utf8,
    /// Python's raw-unicode-escape text (`UNICODE`).
    RawUnicodeEscape,
    /// A quoted Python literal with backslash escapes, quotes stripped (`STRING`).
    Escaped,
    /// A protocol-0..2 `str` read as Latin-1 text (`BINSTRING`, `SHORT_BINSTRING`).
    Latin1,
    /// Bytes (`BINBYTES`, `SHORT_BINBYTES`, `BINBYTES8`, `BYTEARRAY8`).
    Bytes,
}

/// A value on the machine's stack or in its memo. 16 bytes, no heap.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Value {
    /// Anything the analysis does not need (floats, containers, booleans, buffers).
    Opaque,
    /// `None`.
    None,
    /// An integer that fits in 64 bits.
    Int(i64),
    /// A string or bytes constant: `len` bytes at `off` in the input.
    Str { enc: Enc, len: u32, off: u64 },
    /// A small tuple whose items sit at `start..start+len` in the tuple arena.
    Tuple { start: u32, len: u32 },
    /// A dict (contents not kept; see the joblib wrapper handling).
    Dict,
    /// A callable, class or module, by index into the run's globals.
    Global(u32),
    /// Something made by calling the global at this index (an instance, a call result).
    Object(u32),
    /// A call result the machine must remember (an attrgetter, a BytesIO...), by index.
    Special(u32),
    /// A `numpy.dtype`: its item size when known, and whether it holds Python objects.
    Dtype { itemsize: Option<u32>, object: bool },
}

/// Results of calls that later opcodes can turn into callables or nested payloads.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Special {
    /// `operator.attrgetter(names)` (made by global `by`): calling it fetches attribute `names`.
    AttrGetter { names: Value, by: u32 },
    /// `operator.itemgetter(key)`.
    ItemGetter { key: Value, by: u32 },
    /// `operator.methodcaller(name, ...)`: calling it on `x` calls `x.name(...)`.
    MethodCaller { name: Value, by: u32 },
    /// `functools.partial(func, first, ...)`: only the first bound argument is kept.
    Partial { func: Value, first: Value },
    /// `io.BytesIO(data)`.
    BytesIo { data: Value },
    /// Bytes computed from a constant: `_codecs.encode(text, 'latin1')`, `base64.b64decode(s)`...
    Decoded { how: Decoding, source: Value },
}

/// How [`Special::Decoded`] bytes are computed from their source constant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decoding {
    /// Text encoded as Latin-1 (protocol 2's way of pickling `bytes`).
    Latin1,
    /// Base64.
    Base64,
    /// Hexadecimal digits.
    Hex,
    /// Passed through unchanged (`zlib.decompress(x)`: the nested scan inflates `x` itself).
    Identity,
}

/// The text of a string constant, or `None` for bytes.
pub(crate) fn text<'a>(data: &'a [u8], enc: Enc, off: u64, len: u32) -> Option<Cow<'a, str>> {
    let raw = slice(data, off, len)?;
    match enc {
        Enc::Bytes => None,
        Enc::Utf8 => Some(String::from_utf8_lossy(raw)),
        Enc::Latin1 => Some(latin1(raw)),
        Enc::RawUnicodeEscape => Some(raw_unicode_escape(raw)),
        Enc::Escaped => Some(match escape_decode(raw) {
            Cow::Borrowed(b) => latin1(b),
            Cow::Owned(v) => Cow::Owned(latin1(&v).into_owned()),
        }),
    }
}

/// The bytes of a string or bytes constant (text as UTF-8).
pub(crate) fn bytes<'a>(data: &'a [u8], enc: Enc, off: u64, len: u32) -> Option<Cow<'a, [u8]>> {
    let raw = slice(data, off, len)?;
    Some(match enc {
        Enc::Bytes | Enc::Latin1 | Enc::Utf8 => Cow::Borrowed(raw),
        Enc::Escaped => escape_decode(raw),
        Enc::RawUnicodeEscape => match raw_unicode_escape(raw) {
            Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
            Cow::Owned(s) => Cow::Owned(s.into_bytes()),
        },
    })
}

fn slice(data: &[u8], off: u64, len: u32) -> Option<&[u8]> {
    let start = usize::try_from(off).ok()?;
    data.get(start..start.checked_add(len as usize)?)
}

fn latin1(raw: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(raw) {
        Ok(s) if raw.is_ascii() => Cow::Borrowed(s),
        _ => Cow::Owned(raw.iter().map(|&b| char::from(b)).collect()),
    }
}

/// Python's `raw-unicode-escape` decoding: Latin-1 bytes with `\uXXXX` and `\UXXXXXXXX` escapes.
fn raw_unicode_escape(raw: &[u8]) -> Cow<'_, str> {
    if !raw.contains(&b'\\') {
        return latin1(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b == b'\\' {
            let digits = match raw.get(i + 1) {
                Some(b'u') => 4,
                Some(b'U') => 8,
                _ => 0,
            };
            if digits > 0
                && let Some(hex) = raw.get(i + 2..i + 2 + digits)
                && let Some(c) = std::str::from_utf8(hex)
                    .ok()
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .and_then(char::from_u32)
            {
                out.push(c);
                i += 2 + digits;
                continue;
            }
        }
        out.push(char::from(b));
        i += 1;
    }
    Cow::Owned(out)
}

/// Python's `codecs.escape_decode`, as the `STRING` opcode applies it.
fn escape_decode(raw: &[u8]) -> Cow<'_, [u8]> {
    if !raw.contains(&b'\\') {
        return Cow::Borrowed(raw);
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        i += 1;
        if b != b'\\' || i >= raw.len() {
            out.push(b);
            continue;
        }
        let e = raw[i];
        i += 1;
        match e {
            b'\n' => {}
            b'\\' | b'\'' | b'"' => out.push(e),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'x' => match raw
                .get(i..i + 2)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                Some(v) => {
                    out.push(v);
                    i += 2;
                }
                None => out.extend_from_slice(b"\\x"),
            },
            b'0'..=b'7' => {
                let mut v = u32::from(e - b'0');
                for _ in 0..2 {
                    match raw.get(i) {
                        Some(d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push((v & 0xff) as u8);
            }
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    Cow::Owned(out)
}

/// Decodes hexadecimal digits, ignoring whitespace (`bytes.fromhex`).
pub(crate) fn hex_decode(input: &[u8]) -> Option<Vec<u8>> {
    let digits: Vec<u8> = input
        .iter()
        .copied()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect()
}

/// Item size and object-ness of a NumPy dtype type string as `dtype.__reduce__` writes it
/// (`'f8'`, `'<i4'`, `'U10'`, `'O8'`, `'V12'`, `'M8'`).
pub(crate) fn dtype_itemsize(type_str: &str) -> Value {
    let s = type_str.trim_start_matches(['<', '>', '|', '=']);
    let mut chars = s.chars();
    let Some(kind) = chars.next() else {
        return Value::Dtype {
            itemsize: None,
            object: false,
        };
    };
    let digits = chars.as_str();
    let object = kind == 'O';
    let itemsize = if digits.is_empty() {
        match kind {
            '?' | 'b' | 'B' | 'c' => Some(1),
            'h' | 'H' | 'e' => Some(2),
            'i' | 'I' | 'f' => Some(4),
            'l' | 'L' | 'q' | 'Q' | 'd' | 'F' | 'O' | 'p' | 'P' => Some(8),
            'g' | 'D' => Some(16),
            'G' => Some(32),
            _ => None,
        }
    } else {
        let n = digits.split('[').next().unwrap_or("").parse::<u32>().ok();
        if kind == 'U' {
            n.and_then(|n| n.checked_mul(4))
        } else {
            n
        }
    };
    Value::Dtype { itemsize, object }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_stays_small() {
        assert!(
            std::mem::size_of::<Value>() <= 16,
            "Value is {} bytes",
            std::mem::size_of::<Value>()
        );
    }

    #[test]
    fn string_escapes_decode_like_python() {
        let data = br"o\x73\\\'\101";
        assert_eq!(
            text(data, Enc::Escaped, 0, data.len() as u32).unwrap(),
            "os\\'A"
        );
        let data = br"\u006fs";
        assert_eq!(
            text(data, Enc::RawUnicodeEscape, 0, data.len() as u32).unwrap(),
            "os"
        );
        assert_eq!(text(b"\xe9", Enc::Latin1, 0, 1).unwrap(), "\u{e9}");
        assert!(text(b"ab", Enc::Bytes, 0, 2).is_none());
        assert!(text(b"ab", Enc::Utf8, 1, 5).is_none(), "out of range");
    }

    #[test]
    fn decoders() {
        assert_eq!(hex_decode(b"80 04 4b01 2e").unwrap(), b"\x80\x04K\x01.");
        assert!(hex_decode(b"8").is_none());
    }

    #[test]
    fn dtype_sizes_follow_numpy_reduce_strings() {
        let size = |s: &str| match dtype_itemsize(s) {
            Value::Dtype { itemsize, object } => (itemsize, object),
            _ => unreachable!(),
        };
        assert_eq!(size("f8"), (Some(8), false));
        assert_eq!(size("<i4"), (Some(4), false));
        assert_eq!(size("U10"), (Some(40), false));
        assert_eq!(size("O8"), (Some(8), true));
        assert_eq!(size("V12"), (Some(12), false));
        assert_eq!(size("M8"), (Some(8), false));
        assert_eq!(size("b1"), (Some(1), false));
        assert_eq!(size("float64"), (None, false));
    }
}
