//! Turning paths into a [`Report`]: walk directories, map each regular file into memory, scan the
//! files in parallel on a rayon pool, and collect findings in a stable order.

use std::fs::File;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use warden_core::{FileRecord, FileStatus, Finding, Report, Severity};

use crate::context::{READ_ERROR, ScanContext};
use crate::error::{Error, Result};
use crate::rules::Rule;
use crate::settings::ScanSettings;
use crate::sniff::Format;

/// The scanner itself failed on this file (a bug in warden, never the file's fault).
pub(crate) static INTERNAL_ERROR: Rule = Rule {
    id: "scan.internal-error",
    severity: Severity::High,
    title: "scanner failed on this file",
    description: "warden hit an internal error while scanning this file, so it may be incompletely \
                  inspected. Treat the file as unscanned.",
    atlas: &[],
    remediation: "Do not trust the file; report the problem to the warden maintainers with the file if you can share it.",
};

/// A directory entry that was not followed.
pub(crate) static SYMLINK_SKIPPED: Rule = Rule {
    id: "scan.symlink-not-followed",
    severity: Severity::Low,
    title: "symbolic link not followed",
    description: "Symbolic links inside a scanned directory are not followed, so their targets were \
                  not inspected. A loader that follows them may read a file outside the directory.",
    atlas: &[],
    remediation: "Replace the link with the file it points to, or scan the target explicitly.",
};

/// Rules owned by this module.
pub(crate) const RULES: &[&Rule] = &[&INTERNAL_ERROR, &SYMLINK_SKIPPED];

/// Scans every file under `paths` (files or directories, recursively) and returns the report,
/// sorted. `on_file` is called after each file, from worker threads, for progress display.
///
/// Errors only when a path given explicitly cannot be read or the worker pool cannot start;
/// unreadable files found while walking become findings.
pub fn scan_paths(paths: &[PathBuf], settings: &ScanSettings, on_file: &(dyn Fn(&FileRecord) + Sync)) -> Result<Report> {
    let mut report = Report::default();
    let mut files = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|source| Error::Io { path: path.clone(), source })?;
        if meta.is_dir() {
            collect_dir(path, &mut files, &mut report);
        } else if meta.is_file() {
            files.push(path.clone());
        } else {
            // Opening a FIFO blocks and a device never ends: only regular files are read.
            let display = path.display().to_string();
            let mut ctx = ScanContext::new(settings, display.clone());
            ctx.report(&READ_ERROR, None, "not a regular file (a FIFO, socket or device); not read");
            report.findings.extend(ctx.finish().0);
            report.files.push(FileRecord { path: display, format: "unknown".into(), status: FileStatus::Error });
        }
    }
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(jobs) = settings.jobs {
        builder = builder.num_threads(jobs);
    }
    let pool = builder
        .build()
        .map_err(|e| Error::Threads { jobs: settings.jobs.unwrap_or(0), message: e.to_string() })?;
    let results: Vec<(FileRecord, Vec<Finding>)> = pool.install(|| {
        files
            .par_iter()
            .map(|path| {
                let result = scan_file(path, settings);
                on_file(&result.0);
                result
            })
            .collect()
    });
    for (record, findings) in results {
        report.files.push(record);
        report.findings.extend(findings);
    }
    report.sort();
    Ok(report)
}

/// Scans one file on disk. Never panics: an internal failure becomes a finding.
pub fn scan_file(path: &Path, settings: &ScanSettings) -> (FileRecord, Vec<Finding>) {
    let display = path.display().to_string();
    let outcome = catch_unwind(AssertUnwindSafe(|| scan_file_inner(path, &display, settings)));
    match outcome {
        Ok(result) => result,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            tracing::error!(path = ?path, message = message.as_str(), "scanner panicked");
            let mut ctx = ScanContext::new(settings, display.clone());
            ctx.report(&INTERNAL_ERROR, None, format!("internal error: {message}"));
            let (findings, _) = ctx.finish();
            (FileRecord { path: display, format: "unknown".into(), status: FileStatus::Error }, findings)
        }
    }
}

/// Scans an in-memory buffer as if it were a file named `name` (used by the server and tests).
pub fn scan_bytes(name: &str, data: &[u8], settings: &ScanSettings) -> (FileRecord, Vec<Finding>) {
    let mut ctx = ScanContext::new(settings, name);
    crate::dispatch::scan_bytes(&mut ctx, data);
    let (findings, format) = ctx.finish();
    (record(name.to_owned(), format, &findings), findings)
}

/// Scans `data` as `format` without sniffing it first: the entry point of the fuzz targets, so
/// each parser can be fuzzed directly.
pub fn scan_bytes_as(format: Format, data: &[u8], settings: &ScanSettings) -> (FileRecord, Vec<Finding>) {
    let mut ctx = ScanContext::new(settings, "<fuzz>");
    crate::dispatch::scan_as(&mut ctx, data, format);
    let (findings, format) = ctx.finish();
    (record("<fuzz>".to_owned(), format, &findings), findings)
}

fn scan_file_inner(path: &Path, display: &str, settings: &ScanSettings) -> (FileRecord, Vec<Finding>) {
    let mut ctx = ScanContext::new(settings, display);
    let data = match map_file(path) {
        Ok(data) => data,
        Err(e) => {
            ctx.report(&READ_ERROR, None, format!("cannot read: {e}"));
            let (findings, _) = ctx.finish();
            return (FileRecord { path: display.to_owned(), format: "unknown".into(), status: FileStatus::Error }, findings);
        }
    };
    let format = crate::sniff::detect(data.as_slice());
    data.advise_for(format);
    crate::dispatch::scan_as(&mut ctx, data.as_slice(), format);
    let (findings, format) = ctx.finish();
    (record(display.to_owned(), format, &findings), findings)
}

fn record(path: String, format: Option<Format>, findings: &[Finding]) -> FileRecord {
    let format = format.unwrap_or(Format::Unknown);
    let status = if findings.iter().any(|f| f.rule_id.as_str() == INTERNAL_ERROR.id) {
        FileStatus::Error
    } else if format == Format::Unknown {
        FileStatus::Skipped
    } else {
        FileStatus::Scanned
    };
    FileRecord { path, format: format.as_str().to_owned(), status }
}

fn collect_dir(dir: &Path, files: &mut Vec<PathBuf>, report: &mut Report) {
    for entry in walkdir::WalkDir::new(dir).follow_links(false).sort_by_file_name() {
        match entry {
            Ok(entry) if entry.file_type().is_file() => files.push(entry.into_path()),
            Ok(entry) if entry.path_is_symlink() => {
                let display = entry.path().display().to_string();
                let target = std::fs::read_link(entry.path()).map(|t| t.display().to_string()).unwrap_or_default();
                let mut finding = Finding::new(
                    SYMLINK_SKIPPED.id,
                    SYMLINK_SKIPPED.severity,
                    SYMLINK_SKIPPED.title,
                    format!("symbolic link to `{target}` was not followed"),
                    warden_core::Location::file(display),
                );
                finding.remediation = Some(SYMLINK_SKIPPED.remediation.to_owned());
                report.findings.push(finding);
            }
            Ok(_) => {}
            Err(e) => {
                let path = e.path().map_or_else(|| dir.display().to_string(), |p| p.display().to_string());
                let mut finding = Finding::new(READ_ERROR.id, READ_ERROR.severity, READ_ERROR.title, format!("cannot read: {e}"), warden_core::Location::file(path.clone()));
                finding.remediation = Some(READ_ERROR.remediation.to_owned());
                report.findings.push(finding);
                report.files.push(FileRecord { path, format: "unknown".into(), status: FileStatus::Error });
            }
        }
    }
}

/// File contents, either mapped (large files) or read (small ones, and where mapping fails).
enum FileData {
    Mapped(memmap2::Mmap),
    Read(Vec<u8>),
}

impl FileData {
    fn as_slice(&self) -> &[u8] {
        match self {
            FileData::Mapped(map) => map,
            FileData::Read(vec) => vec,
        }
    }

    /// Containers of tensors are read by jumping between headers and skipping the payloads:
    /// there, kernel read-ahead around each touched page would pull megabytes of weights into
    /// memory for nothing. Streams read front to back (pickles, tar, compressed) keep read-ahead.
    fn advise_for(&self, format: Format) {
        if let FileData::Mapped(map) = self
            && matches!(format, Format::Zip | Format::Safetensors | Format::Gguf | Format::Hdf5 | Format::Numpy)
        {
            let _ = map.advise(memmap2::Advice::Random);
        }
    }
}

fn map_file(path: &Path) -> std::io::Result<FileData> {
    const MAP_THRESHOLD: u64 = 1 << 20;
    let file = File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    if meta.len() < MAP_THRESHOLD {
        let mut buf = Vec::with_capacity(meta.len() as usize);
        std::io::Read::read_to_end(&mut std::io::Read::take(file, MAP_THRESHOLD), &mut buf)?;
        return Ok(FileData::Read(buf));
    }
    // SAFETY: the map is read-only and private to this scan. If another process truncates the
    // file while we read it the OS raises SIGBUS; that is the accepted cost of scanning
    // multi-gigabyte checkpoints without reading their tensor payloads into memory.
    #[allow(unsafe_code)]
    let map = unsafe { memmap2::Mmap::map(&file)? };
    Ok(FileData::Mapped(map))
}
