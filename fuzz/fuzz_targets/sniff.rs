//! Fuzz target: content sniffing plus whatever scanner it picks must never panic or hang.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = warden_scan::scan_bytes("<fuzz>", data, &warden_scan::ScanSettings::default());
});
