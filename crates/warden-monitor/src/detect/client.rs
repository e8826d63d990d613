//! Per-client detector state, bounded in size, and the bounded client table.

use std::collections::HashMap;

use super::MonitorConfig;

/// Bit flags of rules already raised for a client (each alerts once per client).
pub(crate) mod raised {
    pub const EXTRACTION: u8 = 1;
    pub const RATE: u8 = 2;
    pub const ADVERSARIAL: u8 = 4;
    pub const INVERSION: u8 = 8;
    pub const MEMBERSHIP: u8 = 16;
    pub const ANOMALY: u8 = 32;
}

/// What the detectors remember about one client; every collection has a fixed cap.
#[derive(Debug, Default)]
pub(crate) struct ClientState {
    pub queries: u64,
    pub last_seen: u64,
    pub raised: u8,
    /// Ring of previous query vectors (PRADA's set of earlier queries).
    pub history: Vec<Vec<f64>>,
    pub history_next: usize,
    /// Ring of minimum distances to earlier queries.
    pub distances: Vec<f64>,
    pub distances_next: usize,
    /// Ring of recent timestamps.
    pub times: Vec<f64>,
    pub times_next: usize,
    /// Near-duplicate counts per LSH bucket, one map per table.
    pub buckets: Vec<HashMap<u64, u32>>,
    /// Exact-input repeat counts (quantised hash).
    pub repeats: HashMap<u64, u32>,
    /// Distinct coarse cells visited (coverage), capped.
    pub cells: HashMap<u64, ()>,
    /// Per class: best confidence so far and how many times it was beaten.
    pub records: Vec<(f64, u32)>,
    pub anomalies: u64,
}

pub(crate) fn push_ring<T>(ring: &mut Vec<T>, next: &mut usize, cap: usize, value: T) {
    if ring.len() < cap {
        ring.push(value);
    } else {
        ring[*next] = value;
    }
    *next = (*next + 1) % cap.max(1);
}

/// Clients by id, evicting the least recently seen tenth when `max_clients` is exceeded.
#[derive(Debug, Default)]
pub(crate) struct ClientTable {
    map: HashMap<String, ClientState>,
    clock: u64,
    pub evicted: u64,
}

impl ClientTable {
    pub fn get(&mut self, id: &str, config: &MonitorConfig) -> &mut ClientState {
        self.clock += 1;
        if !self.map.contains_key(id) {
            if self.map.len() >= config.max_clients {
                self.evict(config.max_clients);
            }
            self.map.insert(id.to_owned(), ClientState::default());
        }
        let state = self.map.get_mut(id).expect("inserted above");
        state.last_seen = self.clock;
        state
    }

    fn evict(&mut self, max: usize) {
        let mut ages: Vec<u64> = self.map.values().map(|s| s.last_seen).collect();
        let drop = (max / 10).max(1).min(ages.len());
        let (_, cut, _) = ages.select_nth_unstable(drop - 1);
        let cut = *cut;
        let before = self.map.len();
        self.map.retain(|_, s| s.last_seen > cut);
        self.evicted += (before - self.map.len()) as u64;
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }
}
