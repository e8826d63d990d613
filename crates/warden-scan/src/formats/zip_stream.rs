//! The archive as a streaming extractor sees it: local headers walked from the first byte, each
//! entry delimited by its local sizes or, behind a data descriptor, by decoding to the end of its
//! deflate stream.

use std::ops::Range;

use super::{DESCRIPTOR_SIG, LocalHeader, descriptor_len, to_usize, u32_at, u64_at};

/// One entry as a streaming extractor sees it, walking local headers from the start of the file.
#[derive(Debug, Clone)]
pub(crate) struct StreamedEntry<'a> {
    pub header: LocalHeader<'a>,
    /// The compressed bytes as the streamer delimits them.
    pub data: Range<usize>,
    /// First byte after the entry (and its data descriptor).
    pub end: usize,
}

/// How a streaming reader finds the end of an entry whose sizes are in a trailing data descriptor:
/// by decoding deflate to its end, or by searching for a descriptor whose size field matches.
fn streamed_len(data: &[u8], header: &LocalHeader<'_>, hint: Option<u64>, decode_budget: &mut u64) -> Option<usize> {
    let rest = data.get(header.data_start..)?;
    if !header.has_descriptor() {
        return to_usize(header.compressed_size).filter(|&n| n <= rest.len());
    }
    // A central size whose descriptor checks out is where a streamer lands too; avoid decoding twice.
    if let Some(n) = hint.and_then(to_usize).filter(|&n| n <= rest.len()) {
        let at = header.data_start + n;
        let next = at.saturating_add(descriptor_len(data, at, header.zip64, n as u64));
        if data[at..].starts_with(DESCRIPTOR_SIG) || next == data.len() || data.get(next..).is_some_and(|d| d.starts_with(b"PK")) {
            return Some(n);
        }
    }
    match header.method {
        8 => deflate_end(rest, decode_budget),
        0 => memchr::memmem::find_iter(rest, DESCRIPTOR_SIG)
            .find(|&p| u32_at(rest, p + 8).is_some_and(|size| size as usize == p))
            .or_else(|| memchr::memmem::find_iter(rest, DESCRIPTOR_SIG).find(|&p| u64_at(rest, p + 8) == Some(p as u64))),
        _ => None,
    }
}

/// Where a raw deflate stream ends, decoding into a scratch buffer. The output is discarded but
/// still costs time, so it is charged to `budget`; `None` when the budget runs out.
fn deflate_end(input: &[u8], budget: &mut u64) -> Option<usize> {
    let mut inflater = flate2::Decompress::new(false);
    let mut scratch = vec![0u8; 64 * 1024];
    loop {
        let before_in = inflater.total_in();
        let before_out = inflater.total_out();
        let consumed = to_usize(before_in)?;
        let status = inflater.decompress(input.get(consumed..)?, &mut scratch, flate2::FlushDecompress::Finish).ok()?;
        *budget = budget.checked_sub(inflater.total_out() - before_out)?;
        if status == flate2::Status::StreamEnd {
            return to_usize(inflater.total_in());
        }
        if inflater.total_in() == before_in && inflater.total_out() == before_out {
            return None;
        }
    }
}

/// Walks local headers from offset 0, as streaming extractors do, until something that is not a
/// local header. `central_size` gives the central directory's compressed size for an offset, used
/// only to confirm a data descriptor's position cheaply; `decode_budget` bounds the bytes decoded
/// to find the end of entries whose size only a data descriptor gives.
pub(crate) fn walk_local_headers<'a>(
    data: &'a [u8],
    max_members: usize,
    decode_budget: &mut u64,
    central_size: impl Fn(usize) -> Option<u64>,
) -> Vec<StreamedEntry<'a>> {
    let mut out = Vec::new();
    let mut at = 0;
    while out.len() < max_members {
        let Some(entry) = streamed_entry(data, at, central_size(at), decode_budget) else { break };
        at = entry.end;
        out.push(entry);
    }
    out
}

/// The entry a streamer reads at `at`, if a complete one is there.
pub(crate) fn streamed_entry<'a>(data: &'a [u8], at: usize, central_size: Option<u64>, decode_budget: &mut u64) -> Option<StreamedEntry<'a>> {
    let header = LocalHeader::parse(data, at)?;
    let len = streamed_len(data, &header, central_size, decode_budget)?;
    let data_end = header.data_start + len;
    let end = if header.has_descriptor() { data_end + descriptor_len(data, data_end, header.zip64, len as u64) } else { data_end };
    (end > at && end <= data.len()).then_some(StreamedEntry { data: header.data_start..data_end, end, header })
}
