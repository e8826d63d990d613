//! `warden data scan`: PII discovery in text files (line by line) and tables (cell by cell, with
//! a per-column verdict), producing findings `pii.<entity>` plus exact counts.
//!
//! Findings are capped per (file, column, entity) unless `all_findings` is set, but every count
//! in [`PiiScan::counts`] is exact. Matched values are never echoed: findings carry a masked form.

mod columns;
mod findings;
mod text;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use warden_core::{FileRecord, FileStatus, Finding, Location, Report, Severity};
use warden_table::{ReadOptions, TableFormat};

use crate::pii::{DetectOptions, Detector, Entity};
pub use columns::{ColumnStats, ColumnVerdict};
pub use findings::finding_for;

/// How to treat an input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InputKind {
    /// Parquet / JSONL / delimited text with a consistent column count are tables; else text.
    #[default]
    Auto,
    /// Always plain text, by line.
    Text,
    /// Always a table.
    Table,
}

/// Settings for one scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Threshold and entity filter.
    pub detect: DetectOptions,
    /// Scan at most this many rows (tables) or lines (text) per file.
    pub sample_rows: Option<u64>,
    /// Report every finding instead of the first `max_findings` per (file, column, entity).
    pub all_findings: bool,
    /// Findings kept per (file, column, entity) when not `all_findings`.
    pub max_findings: u64,
    /// Text or table.
    pub kind: InputKind,
    /// Longest text line read (longer lines are an error for that file).
    pub max_line_bytes: usize,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            detect: DetectOptions::default(),
            sample_rows: None,
            all_findings: false,
            max_findings: 20,
            kind: InputKind::Auto,
            max_line_bytes: 16 << 20,
        }
    }
}

/// Exact number of matches of one entity in one file (and column, for tables).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EntityCount {
    /// The file.
    pub path: String,
    /// The column, for tables.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// The entity.
    pub entity: Entity,
    /// Matches found.
    pub matches: u64,
    /// Matches reported as findings (the rest were capped).
    pub reported: u64,
}

/// Everything a scan learned: the findings report plus PII-specific detail.
#[derive(Debug, Clone, Default)]
pub struct PiiScan {
    /// Findings and files, as every warden command reports them.
    pub report: Report,
    /// Column verdicts, for tables.
    pub columns: Vec<ColumnVerdict>,
    /// Exact counts per (file, column, entity).
    pub counts: Vec<EntityCount>,
    /// Data rows (tables) and lines (text) scanned.
    pub records_scanned: u64,
}

impl PiiScan {
    /// Matches that were counted but not reported as findings.
    pub fn capped(&self) -> u64 {
        self.counts.iter().map(|c| c.matches - c.reported).sum()
    }
}

/// Why a scan could not start (per-file problems become findings instead).
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// A path does not exist or cannot be listed.
    #[error("cannot read `{path}`: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// Accumulates findings with the per-(file, column, entity) cap and exact counts. Keys are
/// indices (file, column) so the per-match bookkeeping does not allocate.
#[derive(Debug, Default)]
pub(crate) struct Collector {
    pub(crate) findings: Vec<Finding>,
    files: Vec<String>,
    columns: Vec<Vec<String>>,
    counts: BTreeMap<(usize, Option<usize>, Entity), (u64, u64)>,
}

impl Collector {
    /// Starts a file; later `add` calls refer to it. `columns` are its column names (tables).
    pub(crate) fn start_file(&mut self, path: &str, columns: Vec<String>) {
        self.files.push(path.to_owned());
        self.columns.push(columns);
    }

    /// Names the columns of the current file (known once a table is open).
    pub(crate) fn set_columns(&mut self, columns: Vec<String>) {
        if let Some(last) = self.columns.last_mut() {
            *last = columns;
        }
    }

    /// Counts one match in `column` (index into the current file's columns, `None` for text)
    /// and keeps its finding unless the cap is reached.
    pub(crate) fn add(&mut self, opts: &ScanOptions, column: Option<usize>, entity: Entity, make: impl FnOnce() -> Finding) {
        let file = self.files.len().saturating_sub(1);
        let entry = self.counts.entry((file, column, entity)).or_default();
        entry.0 += 1;
        if opts.all_findings || entry.1 < opts.max_findings {
            entry.1 += 1;
            self.findings.push(make());
        }
    }

    fn into_counts(self) -> (Vec<Finding>, Vec<EntityCount>) {
        let counts = self
            .counts
            .into_iter()
            .map(|((file, column, entity), (matches, reported))| EntityCount {
                path: self.files[file].clone(),
                column: column.and_then(|c| self.columns[file].get(c).cloned()),
                entity,
                matches,
                reported,
            })
            .collect();
        (self.findings, counts)
    }
}

/// Scans every file under `paths` (directories are walked, symlinks not followed).
pub fn scan_paths(paths: &[PathBuf], opts: &ScanOptions) -> Result<PiiScan, ScanError> {
    let mut files = Vec::new();
    for p in paths {
        collect_files(p, &mut files)?;
    }
    let detector = Detector::shipped();
    let mut out = PiiScan::default();
    let mut collector = Collector::default();
    for path in files {
        let display = path.display().to_string();
        collector.start_file(&display, Vec::new());
        let result = scan_file(detector, &path, &display, opts, &mut collector, &mut out);
        let (format, status) = match result {
            Ok(format) => (format, FileStatus::Scanned),
            Err(message) => {
                out.report.findings.push(
                    Finding::new(
                        "pii.unreadable-input",
                        Severity::Medium,
                        "dataset could not be read",
                        format!("could not scan `{display}` for PII: {message}"),
                        Location::file(&display),
                    )
                    .with_remediation("Check the file is a CSV, JSONL, Parquet or text file (optionally gzip/zstd), or pass --as text."),
                );
                ("unknown".to_owned(), FileStatus::Error)
            }
        };
        out.report.files.push(FileRecord { path: display, format, status });
    }
    let (mut findings, counts) = collector.into_counts();
    out.report.findings.append(&mut findings);
    out.counts = counts;
    out.report.findings.sort_by(|a, b| {
        (&a.location.path, a.location.row, a.location.line, &a.location.column, a.location.start)
            .cmp(&(&b.location.path, b.location.row, b.location.line, &b.location.column, b.location.start))
    });
    Ok(out)
}

trait WithRemediation {
    fn with_remediation(self, text: &str) -> Self;
}

impl WithRemediation for Finding {
    fn with_remediation(mut self, text: &str) -> Self {
        self.remediation = Some(text.to_owned());
        self
    }
}

fn collect_files(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), ScanError> {
    let meta = std::fs::symlink_metadata(path).map_err(|source| ScanError::Io { path: path.to_owned(), source })?;
    if meta.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|source| ScanError::Io { path: path.to_owned(), source })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for e in entries {
            if std::fs::symlink_metadata(&e).is_ok_and(|m| m.is_dir() || m.is_file()) {
                collect_files(&e, out)?;
            }
        }
    } else if meta.is_file() {
        out.push(path.to_owned());
    }
    Ok(())
}

/// Scans one file; returns the format name, or an error message for the file's finding.
fn scan_file(
    detector: &Detector,
    path: &Path,
    display: &str,
    opts: &ScanOptions,
    collector: &mut Collector,
    out: &mut PiiScan,
) -> Result<String, String> {
    let kind = match opts.kind {
        InputKind::Auto => sniff_kind(path).map_err(|e| e.to_string())?,
        k => k,
    };
    if kind == InputKind::Text {
        let (compression, reader) = warden_table::open_decompressed(path).map_err(|e| e.to_string())?;
        let lines = text::scan_text(detector, reader, display, opts, collector)?;
        out.records_scanned += lines;
        return Ok(format_name("text", compression));
    }
    let read = ReadOptions { infer_types: false, ..ReadOptions::default() };
    let reader = warden_table::open(path, &read).map_err(|e| e.to_string())?;
    let (format, compression) = (reader.format(), reader.compression());
    let (rows, verdicts) = columns::scan_table(detector, reader, display, opts, collector)?;
    out.records_scanned += rows;
    out.columns.extend(verdicts);
    Ok(format_name(format.name(), compression))
}

fn format_name(base: &str, compression: warden_table::Compression) -> String {
    match compression {
        warden_table::Compression::None => base.to_owned(),
        warden_table::Compression::Gzip => format!("{base}+gzip"),
        warden_table::Compression::Zstd => format!("{base}+zstd"),
    }
}

/// Decides text or table from the first decompressed bytes: Parquet and JSONL are tables; a
/// delimited file is a table when its first lines all have the same (non-zero) number of one
/// delimiter.
pub fn sniff_kind(path: &Path) -> Result<InputKind, warden_table::TableError> {
    let mut head = [0u8; 4];
    let n = {
        use std::io::Read;
        let mut f = std::fs::File::open(path).map_err(|e| warden_table::TableError::Io { path: path.to_owned(), source: e })?;
        f.read(&mut head).map_err(|e| warden_table::TableError::Io { path: path.to_owned(), source: e })?
    };
    if head[..n].starts_with(b"PAR1") {
        return Ok(InputKind::Table);
    }
    let (_, mut reader) = warden_table::open_decompressed(path)?;
    let mut buf = Vec::new();
    {
        use std::io::Read;
        (&mut reader).take(64 * 1024).read_to_end(&mut buf).map_err(|e| warden_table::TableError::Io { path: path.to_owned(), source: e })?;
    }
    Ok(kind_of_head(&buf))
}

/// The text/table decision on a file's first bytes (see [`sniff_kind`]).
pub fn kind_of_head(head: &[u8]) -> InputKind {
    if matches!(TableFormat::sniff(head), TableFormat::Jsonl | TableFormat::Parquet) {
        return InputKind::Table;
    }
    let text = String::from_utf8_lossy(head);
    let mut lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).take(20).collect();
    if lines.len() > 2 && !head.ends_with(b"\n") {
        lines.pop(); // the last line may be cut by the 64 KiB head
    }
    if lines.len() < 2 {
        return InputKind::Text;
    }
    let consistent = [',', ';', '\t', '|'].into_iter().any(|d| {
        let first = count_outside_quotes(lines[0], d);
        first > 0 && lines.iter().all(|l| count_outside_quotes(l, d) == first)
    });
    if consistent { InputKind::Table } else { InputKind::Text }
}

fn count_outside_quotes(line: &str, delim: char) -> usize {
    let mut quoted = false;
    line.chars()
        .filter(|&c| {
            if c == '"' {
                quoted = !quoted;
            }
            c == delim && !quoted
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_heads_are_tables_and_prose_is_text() {
        assert_eq!(kind_of_head(b"a,b,c\n1,2,3\n4,5,6\n"), InputKind::Table);
        assert_eq!(kind_of_head(b"{\"a\": 1}\n{\"a\": 2}\n"), InputKind::Table);
        assert_eq!(kind_of_head(b"Hello, world.\nNo commas here\nAnother, line, here\n"), InputKind::Text);
        assert_eq!(kind_of_head(b"just one line"), InputKind::Text);
        assert_eq!(kind_of_head(b"name;city\n\"Smith; John\";Paris\n"), InputKind::Table);
    }
}
