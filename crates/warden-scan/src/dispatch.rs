//! Routes bytes to the module that understands them, after sniffing their format.

use crate::context::{ScanContext, UNRECOGNIZED};
use crate::formats;
use crate::pickle;
use crate::sniff::{self, Format};

/// Sniffs `data` and runs the matching scanner; returns the format it detected.
pub(crate) fn scan_bytes(ctx: &mut ScanContext<'_>, data: &[u8]) -> Format {
    scan_as(ctx, data, sniff::detect(data))
}

/// Runs the scanner for `format` on `data` without sniffing (fuzz targets use this to reach each
/// parser directly).
pub(crate) fn scan_as(ctx: &mut ScanContext<'_>, data: &[u8], format: Format) -> Format {
    ctx.note_format(format);
    tracing::debug!(name = ctx.current_name(), %format, len = data.len(), "sniffed");
    match format {
        Format::Zip | Format::TorchZip | Format::KerasZip | Format::Npz => formats::zip::scan(ctx, data),
        Format::Tar => formats::archive::scan_tar(ctx, data),
        Format::Gzip | Format::Bzip2 | Format::Xz | Format::Lzma | Format::Zlib | Format::Zstd => {
            formats::archive::scan_compressed(ctx, data, format);
        }
        Format::SevenZ => formats::archive::scan_7z(ctx, data),
        Format::Pickle => {
            pickle::scan(ctx, data, pickle::StreamKind::Standalone);
        }
        Format::TorchLegacy => formats::pytorch::scan_legacy(ctx, data),
        Format::Numpy => formats::numpy::scan_npy(ctx, data),
        Format::Hdf5 => formats::hdf5::scan(ctx, data),
        Format::Gguf => formats::gguf::scan(ctx, data),
        Format::Safetensors => formats::safetensors::scan(ctx, data),
        Format::Onnx => formats::onnx::scan(ctx, data),
        Format::SavedModel => formats::savedmodel::scan(ctx, data),
        Format::Json => formats::keras::scan_json(ctx, data),
        Format::Unknown => {
            if !data.is_empty() {
                ctx.report(&UNRECOGNIZED, None, format!("{} bytes of unrecognised content", data.len()));
            }
        }
    }
    // A file can be a zip *and* something else: Python's zipfile finds the central directory at
    // the end, whatever comes first. Scan the zip view of such polyglots too.
    if format != Format::Zip && formats::zip::has_trailing_central_directory(data) {
        formats::zip::report_polyglot(ctx, format);
        formats::zip::scan(ctx, data);
    }
    format
}
