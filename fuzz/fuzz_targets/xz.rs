//! Fuzz target: the xz stream reader must never panic, hang or allocate without bound.
#![no_main]

use std::sync::LazyLock;

/// Built once: cloning the shipped policy per input would dominate the run.
static SETTINGS: LazyLock<warden_scan::ScanSettings> = LazyLock::new(warden_scan::ScanSettings::default);

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = warden_scan::scan_bytes_as(warden_scan::sniff::Format::Xz, data, &SETTINGS);
});
