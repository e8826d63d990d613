//! Decoders for the compression methods warden inflates, shared by zip members and standalone
//! compressed streams. Every decoder is a pull [`Read`] over the compressed bytes so that
//! [`ScanContext::inflate`](crate::context::ScanContext::inflate) can stop it at the limits, and
//! the LZMA family is refused up front when its dictionary would need more than
//! [`DICTIONARY_LIMIT_KIB`].
//!
//! LZMA and xz come from `lzma-rust2` (already in the tree through `sevenz-rust2`) rather than
//! `lzma-rs`: `lzma-rs` only decodes into a `Write` sink, which cannot be bounded by a pull-based
//! limit, and it takes no memory limit for the dictionary a hostile header declares.

use std::io::Read;

/// The largest LZMA/xz dictionary we allocate (xz -9 uses 64 MiB).
pub(crate) const DICTIONARY_LIMIT_KIB: u32 = 256 * 1024;

/// A compression method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Codec {
    /// Raw deflate (zip method 8).
    Deflate,
    /// Deflate64 (zip method 9).
    Deflate64,
    /// A gzip stream, possibly several members.
    Gzip,
    /// A zlib stream.
    Zlib,
    /// A bzip2 stream; `multi` reads concatenated streams as `bunzip2` does.
    Bzip2 { multi: bool },
    /// An xz stream (concatenated streams allowed).
    Xz,
    /// A `.lzma` (LZMA-alone) stream with its 13-byte header.
    LzmaAlone,
    /// Zip method 14: a 4-byte version/length prefix, LZMA properties, then raw LZMA data.
    ZipLzma { uncompressed_size: u64, end_marker: bool },
    /// Zstandard frames.
    Zstd,
}

/// A decoder over `input`, or why the stream cannot even start (bad header, dictionary too big).
pub(crate) fn decoder(codec: Codec, input: &[u8]) -> Result<Box<dyn Read + '_>, String> {
    Ok(match codec {
        Codec::Deflate => Box::new(flate2::read::DeflateDecoder::new(input)),
        Codec::Deflate64 => Box::new(deflate64::Deflate64Decoder::new(input)),
        Codec::Gzip => Box::new(flate2::read::MultiGzDecoder::new(input)),
        Codec::Zlib => Box::new(flate2::read::ZlibDecoder::new(input)),
        Codec::Bzip2 { multi: true } => Box::new(bzip2::read::MultiBzDecoder::new(input)),
        Codec::Bzip2 { multi: false } => Box::new(bzip2::read::BzDecoder::new(input)),
        Codec::Xz => Box::new(lzma_rust2::XzReader::new_mem_limit(input, true, DICTIONARY_LIMIT_KIB)),
        Codec::LzmaAlone => {
            let header = input.get(..13).ok_or("the LZMA header is truncated")?;
            let props = header[0];
            let dict = u32::from_le_bytes(header[1..5].try_into().expect("4 bytes"));
            let size = u64::from_le_bytes(header[5..13].try_into().expect("8 bytes"));
            check_dictionary(props, dict, size)?;
            Box::new(lzma_rust2::LzmaReader::new_mem_limit(input, DICTIONARY_LIMIT_KIB, None).map_err(|e| e.to_string())?)
        }
        Codec::ZipLzma { uncompressed_size, end_marker } => {
            let props_len = input.get(2..4).map(|b| usize::from(u16::from_le_bytes([b[0], b[1]]))).ok_or("the LZMA header is truncated")?;
            let props = input.get(4..4 + props_len).filter(|p| p.len() >= 5).ok_or("the LZMA properties are truncated")?;
            let dict = u32::from_le_bytes(props[1..5].try_into().expect("4 bytes"));
            let size = if end_marker { u64::MAX } else { uncompressed_size };
            check_dictionary(props[0], dict, size)?;
            let stream = &input[4 + props_len..];
            Box::new(lzma_rust2::LzmaReader::new_with_props(stream, size, props[0], dict, None).map_err(|e| e.to_string())?)
        }
        Codec::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(input).map_err(|e| e.to_string())?),
    })
}

/// The LZMA decoder allocates its whole dictionary (capped by a known output size) at once.
fn check_dictionary(props: u8, dict: u32, uncompressed_size: u64) -> Result<(), String> {
    let effective = if uncompressed_size < u64::MAX / 2 { u64::from(dict).min(uncompressed_size) } else { u64::from(dict) };
    let effective = u32::try_from(effective).unwrap_or(u32::MAX);
    let needed = lzma_rust2::lzma_get_memory_usage_by_props(effective, props).map_err(|e| e.to_string())?;
    if needed > DICTIONARY_LIMIT_KIB {
        return Err(format!(
            "the LZMA dictionary needs {needed} KiB, more than the {DICTIONARY_LIMIT_KIB} KiB warden allocates; not inspected"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn decode(codec: Codec, input: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        decoder(codec, input).expect("starts").read_to_end(&mut out).expect("decodes");
        out
    }

    #[test]
    fn each_codec_round_trips() {
        let text = b"the quick brown fox jumps over the lazy dog".repeat(20);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&text).unwrap();
        assert_eq!(decode(Codec::Gzip, &gz.finish().unwrap()), text);
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&text).unwrap();
        assert_eq!(decode(Codec::Zlib, &z.finish().unwrap()), text);
        let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
        bz.write_all(&text).unwrap();
        assert_eq!(decode(Codec::Bzip2 { multi: true }, &bz.finish().unwrap()), text);
        let zst = zstd::encode_all(&text[..], 3).unwrap();
        assert_eq!(decode(Codec::Zstd, &zst), text);
        let mut xz = lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::with_preset(6)).unwrap();
        xz.write_all(&text).unwrap();
        assert_eq!(decode(Codec::Xz, &xz.finish().unwrap()), text);
        assert_eq!(decode(Codec::LzmaAlone, &lzma_alone(&text)), text);
    }

    #[test]
    fn huge_lzma_dictionary_is_refused_before_allocating() {
        let mut stream = lzma_alone(b"x");
        stream[1..5].copy_from_slice(&0xffff_0000u32.to_le_bytes());
        stream[5..13].copy_from_slice(&u64::MAX.to_le_bytes());
        let error = decoder(Codec::LzmaAlone, &stream).err().expect("refused");
        assert!(error.contains("KiB"), "{error}");
    }

    /// A `.lzma` stream as Python's `lzma.FORMAT_ALONE` writes it.
    pub(crate) fn lzma_alone(data: &[u8]) -> Vec<u8> {
        let options = lzma_rust2::LzmaOptions::with_preset(6);
        let mut w = lzma_rust2::LzmaWriter::new_use_header(Vec::new(), &options, Some(data.len() as u64)).unwrap();
        w.write_all(data).unwrap();
        w.finish().unwrap()
    }
}
