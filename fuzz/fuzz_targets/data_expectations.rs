//! Fuzz target: the expectations parser (TOML or JSON) and the validator and profiler it drives
//! must never panic, hang or allocate without bound, whatever the file and cells.
#![no_main]

use warden_data::quality::profile::{ProfileSettings, TableProfiler};
use warden_data::quality::{Expectations, ValidateSettings, Validator};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // The file's own lines double as cells, so regexes and bounds meet hostile values too.
    let cells: Vec<Option<&str>> = text.lines().take(64).map(|l| (!l.is_empty()).then_some(l)).collect();
    let header = vec!["a".to_owned(), "b".to_owned()];
    let mut profiler = TableProfiler::new(&header, ProfileSettings::default());
    profiler.push_batch(&[cells.clone(), cells.iter().rev().copied().collect()]);
    let profile = profiler.finish();
    let derived = Expectations::from_profile(&profile);
    if let Ok(toml) = derived.to_toml() {
        let _ = Expectations::parse(&toml);
    }
    if let Ok(expectations) = Expectations::parse(text) {
        if let Ok(mut validator) = Validator::new(expectations, &header, ValidateSettings::default()) {
            validator.push_batch(&[cells.clone(), cells]);
            let _ = validator.finish("fuzz.csv");
        }
    }
});
