//! Fuzz target: the anonymisation config parser and the value operators. Arbitrary TOML must give
//! a config or an error, never a panic; a config that parses is then applied to the rest of the
//! input as a value (every column and entity operator), with a fixed key.
#![no_main]

use warden_data::anon::config::AnonConfig;
use warden_data::anon::ops::{Keys, apply};
use warden_data::pii::Entity;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (config, value) = text.split_once("\n---\n").unwrap_or((&text, "4111 1111 1111 1111"));
    let Ok(cfg) = AnonConfig::from_toml(config) else { return };
    let keys = Keys::derive(b"fuzzing key material, 32 bytes!").expect("long enough");
    for op in cfg.columns.values().chain(cfg.entities.values()) {
        let _ = apply(op, Some(&keys), "<X>", value);
    }
    for e in Entity::ALL {
        let _ = apply(&cfg.entity_operator(e), Some(&keys), &e.placeholder(), value);
    }
});
