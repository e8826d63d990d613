//! Fuzz the system description loader and the whole assessment: any bytes must give a
//! description or a clear error, and any valid description must assess and render.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_assess::assess::{AssessOptions, assess};
use warden_assess::load::{Limits, parse_system};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let limits = Limits { max_bytes: 1 << 20, max_elements: 2_000 };
    if let Ok(system) = parse_system(text, limits) {
        let result = assess("fuzz.yaml", &system, Vec::new(), AssessOptions::default());
        let _ = warden_assess::render::html::render(&result);
        let _ = warden_assess::bom::cyclonedx(&system, "fuzz");
    }
});
