//! Fuzz the MITRE ATLAS importer: any bytes must give a catalogue or a clear error, within the
//! import limits, and a catalogue must survive its own JSON round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_assess::catalogue::{Catalogue, ImportLimits, import};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let limits = ImportLimits { max_bytes: 1 << 20, max_entries: 1_000, max_text: 1_024 };
    if let Ok((catalogue, _)) = import(text, limits) {
        assert!(catalogue.techniques.len() <= limits.max_entries);
        let back: Catalogue = serde_json::from_str(&catalogue.to_json()).expect("round trip");
        assert_eq!(back, catalogue);
    }
});
