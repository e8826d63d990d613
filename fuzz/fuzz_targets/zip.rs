//! Fuzz target: the zip reader (headers, members, PyTorch/Keras/npz detection) must never panic, hang or allocate without bound.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = warden_scan::scan_bytes_as(warden_scan::sniff::Format::Zip, data, &warden_scan::ScanSettings::default());
});
