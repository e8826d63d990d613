//! Fuzz target: the PII detector (RegexSet pre-filter, validators, context scoring, dictionary
//! tokenizer, overlap resolution) on arbitrary text must never panic, and every detection must be
//! a non-empty span on character boundaries inside the text. The first byte picks a column hint
//! and a threshold.
#![no_main]

use warden_data::pii::{DetectOptions, Detector, Entity};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    let hint = Entity::ALL.get(usize::from(mode % 20)).copied();
    let opts = DetectOptions { threshold: f32::from(mode % 8) / 8.0, entities: Vec::new() };
    for d in Detector::shipped().detect(&text, hint, &opts) {
        assert!(d.start < d.end && d.end <= text.len());
        assert!(text.is_char_boundary(d.start) && text.is_char_boundary(d.end));
        let (s, e) = d.char_span(&text);
        assert!(s < e && e <= text.chars().count());
    }
});
