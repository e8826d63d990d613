//! Fuzz target: the Keras config checker must never panic, hang or allocate without bound.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = warden_scan::scan_bytes_as(warden_scan::sniff::Format::Json, data, &warden_scan::ScanSettings::default());
});
