//! Small text decoders shared by scanners that look inside encoded payloads (Keras Lambda code,
//! base64 arguments in pickles), bounded so a hostile payload cannot make them allocate without
//! limit.

/// Decodes standard or URL-safe base64, ignoring whitespace and stopping at padding (as Python's
/// `base64.b64decode` after `binascii` does); `None` when the text is not base64 or would decode
/// to more than `max` bytes.
pub(crate) fn decode_base64(input: &[u8], max: usize) -> Option<Vec<u8>> {
    if input.len() / 4 * 3 > max.saturating_add(3) {
        return None;
    }
    let mut out = Vec::with_capacity(input.len() / 4 * 3);
    let mut acc = 0u32;
    let mut bits = 0;
    for &c in input {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            b' ' | b'\n' | b'\r' | b'\t' => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_accepts_both_alphabets_and_whitespace_within_bounds() {
        assert_eq!(decode_base64(b"aGVs\nbG8=", 100).unwrap(), b"hello");
        assert_eq!(decode_base64(b"aGVsbG8", 100).unwrap(), b"hello");
        assert_eq!(decode_base64(b"gARLAS4=", 100).unwrap(), b"\x80\x04K\x01.");
        assert_eq!(decode_base64(b"-_8=", 100).unwrap(), decode_base64(b"+/8=", 100).unwrap());
        assert!(decode_base64(b"a$b", 100).is_none());
        assert!(decode_base64("A".repeat(1000).as_bytes(), 10).is_none());
    }
}
