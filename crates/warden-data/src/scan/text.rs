//! Plain text files: scanned line by line (in chunks of lines detected in parallel), lines
//! bounded in length.

use std::io::{BufRead, Read};

use rayon::prelude::*;
use warden_core::Location;

use super::{Collector, ScanOptions, finding_for};
use crate::pii::Detector;

/// Lines read before they are scanned in parallel (bounds memory to this many lines).
const CHUNK_LINES: usize = 4096;

/// Scans `reader` line by line; returns the number of lines scanned.
pub(crate) fn scan_text(
    detector: &Detector,
    mut reader: Box<dyn BufRead + Send>,
    path: &str,
    opts: &ScanOptions,
    collector: &mut Collector,
) -> Result<u64, String> {
    let mut line_no: u64 = 0;
    let mut done = false;
    while !done {
        let first = line_no + 1;
        let mut chunk: Vec<String> = Vec::with_capacity(CHUNK_LINES);
        while chunk.len() < CHUNK_LINES {
            if opts.sample_rows.is_some_and(|n| line_no >= n) {
                done = true;
                break;
            }
            let mut buf: Vec<u8> = Vec::new();
            let read = (&mut reader)
                .take(opts.max_line_bytes as u64 + 1)
                .read_until(b'\n', &mut buf)
                .map_err(|e| format!("reading line {}: {e}", line_no + 1))?;
            if read == 0 {
                done = true;
                break;
            }
            line_no += 1;
            if buf.len() > opts.max_line_bytes {
                return Err(format!("line {line_no} is longer than {} bytes", opts.max_line_bytes));
            }
            while buf.last().is_some_and(|&b| b == b'\n' || b == b'\r') {
                buf.pop();
            }
            chunk.push(match String::from_utf8(buf) {
                Ok(s) => s,
                Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
            });
        }
        let found: Vec<_> = chunk.par_iter().map(|line| detector.detect(line, None, &opts.detect)).collect();
        for (i, (line, detections)) in chunk.iter().zip(found).enumerate() {
            let n = first + i as u64;
            for d in detections {
                collector.add(opts, None, d.entity, || {
                    let mut loc = Location::file(path);
                    loc.line = Some(n);
                    finding_for(&d, line, loc, &format!("on line {n}"))
                });
            }
        }
    }
    Ok(line_no)
}
