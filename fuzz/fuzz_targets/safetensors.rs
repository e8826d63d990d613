//! Fuzz target: the safetensors header parser must never panic, hang or allocate without bound.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = warden_scan::scan_bytes_as(warden_scan::sniff::Format::Safetensors, data, &warden_scan::ScanSettings::default());
});
