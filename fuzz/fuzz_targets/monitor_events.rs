//! Fuzz target: the inference-event parser and the detectors fed whatever it accepts must never
//! panic or grow without bound.
#![no_main]

use warden_monitor::detect::{EventLimits, Monitor, MonitorConfig, parse_event};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let limits = EventLimits { max_dims: 256, ..EventLimits::default() };
    let config = MonitorConfig { max_clients: 8, prada_window: 10, prada_history: 16, ..MonitorConfig::default() };
    let mut monitor = Monitor::new(config, None, "fuzz");
    for line in data.split(|&b| b == b'\n') {
        if let Ok(event) = parse_event(line, &limits) {
            let _ = monitor.observe(&event, None);
        }
    }
});
