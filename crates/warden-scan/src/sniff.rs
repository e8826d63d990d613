//! Content sniffing: decide what bytes are from their content alone, never from a file name.
//!
//! Cheap magic-number checks come first; formats without a magic number (protobuf, protocol 0/1
//! pickles, JSON) are recognised by a bounded structural probe in their own module.

use std::fmt;

/// What a byte sequence is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// A zip archive (PyTorch, Keras v3, NumPy `.npz` and plain zips are told apart inside).
    Zip,
    /// A PyTorch zip checkpoint (`torch.save` since 1.6); refined from [`Format::Zip`].
    TorchZip,
    /// A Keras v3 `.keras` zip; refined from [`Format::Zip`].
    KerasZip,
    /// A NumPy `.npz` zip of `.npy` members; refined from [`Format::Zip`].
    Npz,
    /// A POSIX or GNU tar archive.
    Tar,
    /// A gzip stream.
    Gzip,
    /// A bzip2 stream.
    Bzip2,
    /// An xz stream.
    Xz,
    /// A legacy `.lzma` (LZMA-alone) stream, as written by Python's `lzma.FORMAT_ALONE` (joblib).
    Lzma,
    /// A raw zlib stream (joblib's default compressor).
    Zlib,
    /// A Zstandard frame.
    Zstd,
    /// A 7z archive.
    SevenZ,
    /// A pickle stream (any protocol).
    Pickle,
    /// A legacy (pre-1.6) PyTorch checkpoint: a magic-number pickle followed by more pickles.
    TorchLegacy,
    /// A NumPy `.npy` array.
    Numpy,
    /// An HDF5 file (Keras/TensorFlow `.h5`).
    Hdf5,
    /// A GGUF file (llama.cpp).
    Gguf,
    /// A safetensors file.
    Safetensors,
    /// An ONNX `ModelProto`.
    Onnx,
    /// A TensorFlow `SavedModel` protobuf (`saved_model.pb`).
    SavedModel,
    /// JSON text (Keras configs are recognised inside).
    Json,
    /// Nothing warden recognises.
    Unknown,
}

impl Format {
    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Zip => "zip",
            Format::TorchZip => "pytorch-zip",
            Format::KerasZip => "keras",
            Format::Npz => "npz",
            Format::Tar => "tar",
            Format::Gzip => "gzip",
            Format::Bzip2 => "bzip2",
            Format::Xz => "xz",
            Format::Lzma => "lzma",
            Format::Zlib => "zlib",
            Format::Zstd => "zstd",
            Format::SevenZ => "7z",
            Format::Pickle => "pickle",
            Format::TorchLegacy => "pytorch-legacy",
            Format::Numpy => "numpy",
            Format::Hdf5 => "hdf5",
            Format::Gguf => "gguf",
            Format::Safetensors => "safetensors",
            Format::Onnx => "onnx",
            Format::SavedModel => "tensorflow-savedmodel",
            Format::Json => "json",
            Format::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The HDF5 superblock signature; it may sit at 0, 512, 1024, 2048... (after a user block).
pub const HDF5_MAGIC: &[u8; 8] = b"\x89HDF\r\n\x1a\n";

/// Decides the format of `data` from its content.
pub fn detect(data: &[u8]) -> Format {
    if data.starts_with(b"PK\x03\x04") || data.starts_with(b"PK\x05\x06") || data.starts_with(b"PK\x07\x08") {
        return Format::Zip;
    }
    if data.starts_with(&[0x1f, 0x8b]) {
        return Format::Gzip;
    }
    if data.starts_with(b"BZh") && data.len() > 3 && (b'1'..=b'9').contains(&data[3]) {
        return Format::Bzip2;
    }
    if data.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        return Format::Xz;
    }
    if data.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return Format::Zstd;
    }
    if data.starts_with(&[b'7', b'z', 0xbc, 0xaf, 0x27, 0x1c]) {
        return Format::SevenZ;
    }
    if data.starts_with(b"\x93NUMPY") {
        return Format::Numpy;
    }
    if data.starts_with(b"GGUF") {
        return Format::Gguf;
    }
    if hdf5_superblock_offset(data).is_some() {
        return Format::Hdf5;
    }
    if data.len() > 262 && &data[257..262] == b"ustar" {
        return Format::Tar;
    }
    if is_torch_legacy(data) {
        return Format::TorchLegacy;
    }
    // Before the pickle check: a header length such as 0x0480 starts with `\x80\x04`.
    if is_safetensors(data) {
        return Format::Safetensors;
    }
    if data.len() >= 2 && data[0] == 0x80 && (2..=5).contains(&data[1]) {
        return Format::Pickle;
    }
    if is_zlib(data) {
        return Format::Zlib;
    }
    if is_lzma_alone(data) {
        return Format::Lzma;
    }
    if crate::formats::onnx::looks_like(data) {
        return Format::Onnx;
    }
    if crate::formats::savedmodel::looks_like(data) {
        return Format::SavedModel;
    }
    if data.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        return Format::Json;
    }
    if crate::pickle::looks_like(data) {
        return Format::Pickle;
    }
    if is_old_tar(data) {
        return Format::Tar;
    }
    // A JSON object after 8 binary bytes is a safetensors header whose declared length is absurd.
    // (Text whose ninth character is `{` is not: a length field is never all printable.)
    if data.len() > 9 && data[8] == b'{' && !data[..8].iter().all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace()) {
        return Format::Safetensors;
    }
    Format::Unknown
}

/// Where the HDF5 superblock starts, if `data` is HDF5.
pub fn hdf5_superblock_offset(data: &[u8]) -> Option<usize> {
    [0usize, 512, 1024, 2048, 4096]
        .into_iter()
        .find(|&off| data.len() >= off + 8 && &data[off..off + 8] == HDF5_MAGIC)
}

/// A legacy PyTorch file starts with a protocol-2 pickle of the magic number
/// 0x1950a86a20f9469cfc6c (`\x80\x02\x8a\x0a` + 10 little-endian bytes).
fn is_torch_legacy(data: &[u8]) -> bool {
    const MAGIC: [u8; 10] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
    data.len() >= 14 && data[0] == 0x80 && data[1] == 0x02 && data[2] == 0x8a && data[3] == 0x0a && data[4..14] == MAGIC
}

/// safetensors: an 8-byte little-endian header length, then a JSON object. A length larger than
/// the file is still safetensors (a malformed one, which the parser reports).
fn is_safetensors(data: &[u8]) -> bool {
    if data.len() < 10 {
        return false;
    }
    let n = u64::from_le_bytes(data[..8].try_into().expect("8 bytes"));
    (2..1 << 48).contains(&n) && data[8] == b'{'
}

/// A zlib header: CM=8, window <= 32K, and the header checksum holds.
fn is_zlib(data: &[u8]) -> bool {
    data.len() >= 2 && data[0] & 0x0f == 8 && data[0] >> 4 <= 7 && (u16::from(data[0]) << 8 | u16::from(data[1])) % 31 == 0 && data[1] & 0x20 == 0
}

/// LZMA-alone: properties byte < 225, a power-of-two-ish dictionary size, then a size field.
fn is_lzma_alone(data: &[u8]) -> bool {
    if data.len() < 13 || data[0] >= 225 {
        return false;
    }
    let dict = u32::from_le_bytes(data[1..5].try_into().expect("4 bytes"));
    let size = u64::from_le_bytes(data[5..13].try_into().expect("8 bytes"));
    dict.is_power_of_two() && dict >= 1 << 12 && (size == u64::MAX || size < 1 << 40) && data[0] == 0x5d
}

/// Pre-POSIX tar headers have no `ustar` magic: check the header checksum instead.
fn is_old_tar(data: &[u8]) -> bool {
    if data.len() < 512 {
        return false;
    }
    let header = &data[..512];
    let Some(stored) = parse_octal(&header[148..156]) else { return false };
    let sum: u64 = header.iter().enumerate().map(|(i, &b)| if (148..156).contains(&i) { 32 } else { u64::from(b) }).sum();
    stored == sum && header[0] != 0
}

fn parse_octal(field: &[u8]) -> Option<u64> {
    let text: Vec<u8> = field.iter().copied().filter(|b| *b != 0 && *b != b' ').collect();
    if text.is_empty() {
        return None;
    }
    let s = std::str::from_utf8(&text).ok()?;
    u64::from_str_radix(s, 8).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_numbers_win_over_names() {
        assert_eq!(detect(b"PK\x03\x04rest"), Format::Zip);
        assert_eq!(detect(&[0x1f, 0x8b, 8, 0]), Format::Gzip);
        assert_eq!(detect(b"\x93NUMPY\x01\x00"), Format::Numpy);
        assert_eq!(detect(b"GGUF\x03\x00\x00\x00"), Format::Gguf);
        assert_eq!(detect(b"\x80\x04\x95"), Format::Pickle);
        assert_eq!(detect(&[0x78, 0x9c, 1, 2]), Format::Zlib);
    }

    #[test]
    fn safetensors_header_length_must_fit() {
        let mut data = 2u64.to_le_bytes().to_vec();
        data.extend_from_slice(b"{}");
        assert_eq!(detect(&data), Format::Safetensors);
        let mut absurd = (1u64 << 60).to_le_bytes().to_vec();
        absurd.extend_from_slice(b"{\"a\":1}");
        assert_eq!(detect(&absurd), Format::Safetensors);
        assert_eq!(detect(b"EMOJI = {\n    \"a\": 1,\n}\n"), Format::Unknown);
        let mut pickle_like = 0x0480u64.to_le_bytes().to_vec();
        pickle_like.extend_from_slice(b"{}");
        assert_eq!(detect(&pickle_like), Format::Safetensors);
    }
}
