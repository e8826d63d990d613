//! Opening files through gzip/zstd decoders with a decompressed-size bound, and a line-length
//! guard for the line-oriented formats.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use crate::error::LimitExceeded;
use crate::{Compression, TableError, TableLimits};

/// A boxed, sendable buffered byte stream.
pub(crate) type ByteStream = Box<dyn BufRead + Send>;

/// Opens `path` and transparently decompresses gzip or zstd content (sniffed from magic bytes),
/// for plain text files such as `.txt` or `.log`. The decompressed size is bounded by
/// [`TableLimits::default`]'s `max_decompressed_bytes`.
pub fn open_decompressed(path: &Path) -> Result<(Compression, Box<dyn BufRead + Send>), TableError> {
    open_stream(path, &TableLimits::default())
}

pub(crate) fn open_stream(
    path: &Path,
    limits: &TableLimits,
) -> Result<(Compression, ByteStream), TableError> {
    let file = File::open(path).map_err(|e| TableError::io(path, e))?;
    wrap_stream(path, Box::new(BufReader::with_capacity(256 * 1024, file)), limits)
}

pub(crate) fn wrap_stream(
    path: &Path,
    mut raw: ByteStream,
    limits: &TableLimits,
) -> Result<(Compression, ByteStream), TableError> {
    let head = raw.fill_buf().map_err(|e| TableError::io(path, e))?;
    let compression = Compression::sniff(head);
    let stream: ByteStream = match compression {
        Compression::None => raw,
        Compression::Gzip => Box::new(BufReader::with_capacity(
            256 * 1024,
            Bounded::new(flate2::bufread::MultiGzDecoder::new(raw), limits.max_decompressed_bytes),
        )),
        Compression::Zstd => {
            let dec = zstd::stream::read::Decoder::with_buffer(raw).map_err(|e| TableError::io(path, e))?;
            Box::new(BufReader::with_capacity(256 * 1024, Bounded::new(dec, limits.max_decompressed_bytes)))
        }
    };
    Ok((compression, stream))
}

/// Fails once more than `limit` bytes were read through it.
struct Bounded<R> {
    inner: R,
    read: u64,
    limit: u64,
}

impl<R> Bounded<R> {
    fn new(inner: R, limit: u64) -> Self {
        Self { inner, read: 0, limit }
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.limit {
            return Err(LimitExceeded { what: "decompressed size", limit: self.limit }.into_io());
        }
        Ok(n)
    }
}

/// Fails on a line longer than `max` bytes, so a single record cannot exhaust memory.
pub(crate) struct LineGuard<R> {
    inner: R,
    current: usize,
    max: usize,
}

impl<R> LineGuard<R> {
    pub(crate) fn new(inner: R, max: usize) -> Self {
        Self { inner, current: 0, max }
    }

    fn scan(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match memchr_last(bytes) {
            Some(last) => {
                let first = bytes.iter().position(|&b| b == b'\n').unwrap_or(last);
                if self.current + first > self.max {
                    return Err(self.exceeded());
                }
                // Lines strictly between the first and last newline.
                let mut start = first + 1;
                while start <= last {
                    let end = bytes[start..=last].iter().position(|&b| b == b'\n').map_or(last, |p| start + p);
                    if end - start > self.max {
                        return Err(self.exceeded());
                    }
                    start = end + 1;
                }
                self.current = bytes.len() - last - 1;
            }
            None => self.current += bytes.len(),
        }
        if self.current > self.max {
            return Err(self.exceeded());
        }
        Ok(())
    }

    fn exceeded(&self) -> std::io::Error {
        LimitExceeded { what: "line length", limit: self.max as u64 }.into_io()
    }
}

fn memchr_last(bytes: &[u8]) -> Option<usize> {
    bytes.iter().rposition(|&b| b == b'\n')
}

impl<R: Read> Read for LineGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.scan(&buf[..n])?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all_through_guard(data: &[u8], max: usize, chunk: usize) -> std::io::Result<Vec<u8>> {
        struct Chunked<'a>(&'a [u8], usize);
        impl Read for Chunked<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = self.0.len().min(self.1).min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut out = Vec::new();
        LineGuard::new(Chunked(data, chunk), max).read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn line_guard_passes_short_lines_and_rejects_long_ones() {
        let ok = b"abc\ndefg\nhi\n".repeat(10);
        for chunk in [1, 3, 7, 100] {
            assert_eq!(read_all_through_guard(&ok, 4, chunk).unwrap(), ok);
            assert!(read_all_through_guard(&ok, 3, chunk).is_err(), "chunk {chunk}");
        }
        assert!(read_all_through_guard(&[b'x'; 100], 50, 8).is_err());
    }

    #[test]
    fn gzip_bomb_is_bounded() {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut enc, &vec![b'a'; 1 << 20]).unwrap();
        let gz = enc.finish().unwrap();
        let limits = TableLimits { max_decompressed_bytes: 1000, ..TableLimits::default() };
        let (c, mut s) = wrap_stream(Path::new("x"), Box::new(std::io::Cursor::new(gz)), &limits).unwrap();
        assert_eq!(c, Compression::Gzip);
        let err = s.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(matches!(TableError::io(Path::new("x"), err), TableError::Limit { what: "decompressed size", .. }));
    }
}
