//! Fuzz target: the tar walker must never panic, hang or allocate without bound.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = warden_scan::scan_bytes_as(warden_scan::sniff::Format::Tar, data, &warden_scan::ScanSettings::default());
});
