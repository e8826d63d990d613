//! Fuzz target: the ONNX protobuf walker must never panic, hang or allocate without bound.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = warden_scan::scan_bytes_as(warden_scan::sniff::Format::Onnx, data, &warden_scan::ScanSettings::default());
});
