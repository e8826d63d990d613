//! Streaming detectors for attacks in inference traffic. A [`Monitor`] is fed [`Event`]s one at
//! a time and returns [`Alert`]s; per-client state is bounded (rings and capped maps per client,
//! a capped client table with least-recently-seen eviction).
//!
//! - **Model extraction** (PRADA, Juuti et al. 2019): the distribution of each query's minimum
//!   L2 distance to the client's earlier queries is normal for natural traffic and not for
//!   synthetic extraction queries; Shapiro-Wilk W below `prada_w` raises an alert. Query rate
//!   and input-space coverage are reported as evidence, and a rate above `max_rate` is its own alert.
//! - **Query-based adversarial search** (in the spirit of Blacklight, Li et al. 2022): inputs
//!   are hashed by quantised random projections (p-stable LSH) into buckets; many queries in one
//!   bucket mean many near-duplicates around one point.
//! - **Inversion probing**: hill-climbing on one class makes its running maximum confidence
//!   improve far more often than the ~ln(n) records of natural traffic.
//! - **Membership probing / confidence harvesting**: the same input asked again and again to
//!   read its confidence.
//! - **Input anomalies**: inputs far from a reference profile (per-dimension z-scores).

mod client;
mod event;
mod lsh;
#[doc(hidden)]
pub(crate) mod lsh_rng {
    pub(crate) use super::lsh::{gaussian, splitmix, uniform};
}
mod shapiro;

pub use event::{Event, EventError, EventLimits, Input, Output, parse_event};
pub use lsh::{Projections, text_features};
pub use shapiro::shapiro_w;

use client::{ClientState, ClientTable, push_ring, raised};
use warden_core::{Finding, Location, Severity};

use crate::rule::Rule;

/// Model extraction via the inference API.
pub static EXTRACTION: Rule = Rule {
    id: "monitor.model-extraction",
    severity: Severity::High,
    title: "Query pattern of model extraction",
    description: "The client's minimum distances between queries are not normally distributed \
                  (PRADA): its queries look synthesised to copy the model.",
    atlas: &["AML.T0024", "AML.T0024.002", "AML.T0040"],
    remediation: "Throttle or block the client, return labels instead of probabilities, and review its queries.",
};
/// Unusually high query rate.
pub static RATE: Rule = Rule {
    id: "monitor.high-query-rate",
    severity: Severity::Medium,
    title: "Query rate above the configured maximum",
    description: "The client sends more queries per minute than --max-rate, a common sign of automated extraction or probing.",
    atlas: &["AML.T0040", "AML.T0024"],
    remediation: "Rate-limit the client.",
};
/// Query-based adversarial example search.
pub static ADVERSARIAL: Rule = Rule {
    id: "monitor.adversarial-search",
    severity: Severity::High,
    title: "Many near-duplicate queries around one point",
    description: "The client sent many queries that hash to the same neighbourhood, as a black-box adversarial search does.",
    atlas: &["AML.T0043", "AML.T0043.001", "AML.T0042"],
    remediation: "Block the client and check whether the model's answer near that input can be trusted.",
};
/// Model inversion probing.
pub static INVERSION: Rule = Rule {
    id: "monitor.inversion-probing",
    severity: Severity::High,
    title: "Confidence chasing on one class",
    description: "The client's confidence on one class kept reaching new highs, as a model-inversion hill-climb does.",
    atlas: &["AML.T0024", "AML.T0024.001"],
    remediation: "Return labels or rounded confidences, and throttle the client.",
};
/// Membership inference probing.
pub static MEMBERSHIP: Rule = Rule {
    id: "monitor.membership-probing",
    severity: Severity::Medium,
    title: "Repeated queries of the same records",
    description: "The client asked about the same input many times while receiving confidence scores, as membership inference and confidence harvesting do.",
    atlas: &["AML.T0024", "AML.T0024.000"],
    remediation: "Return labels or rounded confidences, and throttle the client.",
};
/// Out-of-distribution inputs.
pub static ANOMALY: Rule = Rule {
    id: "monitor.input-anomaly",
    severity: Severity::Medium,
    title: "Inputs far outside the reference profile",
    description: "The client sent inputs whose features are many standard deviations from the reference data.",
    atlas: &["AML.T0043", "AML.T0015"],
    remediation: "Inspect the inputs; reject or flag out-of-range requests before they reach the model.",
};

/// Every detector rule.
pub static RULES: &[&Rule] = &[&EXTRACTION, &RATE, &ADVERSARIAL, &INVERSION, &MEMBERSHIP, &ANOMALY];

/// Detector settings.
#[derive(Debug, Clone)]
pub struct MonitorConfig {
    /// Most clients tracked at once.
    pub max_clients: usize,
    /// Earlier queries kept per client for PRADA distances.
    pub prada_history: usize,
    /// Distances in the PRADA test window.
    pub prada_window: usize,
    /// Alert when Shapiro-Wilk W is below this.
    pub prada_w: f64,
    /// Test every this many queries.
    pub prada_every: u64,
    /// Queries per minute above which `monitor.high-query-rate` fires (0: off).
    pub max_rate: f64,
    /// LSH tables / projections per table / bucket width.
    pub lsh_tables: usize,
    /// Projections per table.
    pub lsh_bits: usize,
    /// Bucket width of the quantised projections.
    pub lsh_width: f64,
    /// Queries in one bucket that raise an adversarial-search alert.
    pub near_duplicates: u32,
    /// Repeats of one exact input that raise a membership-probing alert.
    pub repeats: u32,
    /// Confidence records on one class that raise an inversion alert.
    pub records: u32,
    /// Confidence the hill-climb must reach.
    pub record_confidence: f64,
    /// |z| above which an input is anomalous.
    pub anomaly_z: f64,
    /// Anomalous inputs that raise an alert.
    pub anomalies: u64,
    /// Seed of the random projections.
    pub seed: u64,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        Self {
            max_clients: 100_000,
            prada_history: 128,
            prada_window: 100,
            prada_w: 0.80,
            prada_every: 10,
            max_rate: 0.0,
            lsh_tables: 4,
            lsh_bits: 6,
            lsh_width: 0.5,
            near_duplicates: 25,
            repeats: 5,
            records: 25,
            record_confidence: 0.95,
            anomaly_z: 6.0,
            anomalies: 5,
            seed: 0x5eed,
        }
    }
}

/// Per-dimension mean and standard deviation of reference inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceProfile {
    /// Means.
    pub mean: Vec<f64>,
    /// Standard deviations (floored at a tiny value).
    pub std: Vec<f64>,
}

impl ReferenceProfile {
    /// Builds a profile from reference rows (each a feature vector).
    pub fn from_rows<'a>(rows: impl IntoIterator<Item = &'a [f64]>) -> Option<Self> {
        let mut n = 0.0;
        let mut sum: Vec<f64> = Vec::new();
        let mut sq: Vec<f64> = Vec::new();
        for r in rows {
            if sum.is_empty() {
                sum = vec![0.0; r.len()];
                sq = vec![0.0; r.len()];
            }
            if r.len() != sum.len() {
                continue;
            }
            n += 1.0;
            for (i, v) in r.iter().enumerate() {
                sum[i] += v;
                sq[i] += v * v;
            }
        }
        if n < 2.0 {
            return None;
        }
        let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
        let std = sq.iter().zip(&mean).map(|(q, m)| (q / n - m * m).max(0.0).sqrt().max(1e-9)).collect();
        Some(Self { mean, std })
    }
}

/// One alert: the finding and the client's query count when it fired (the detection delay).
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// The finding (rule, client, evidence, ATLAS ids).
    pub finding: Finding,
    /// Queries the client had sent when the alert fired.
    pub after_queries: u64,
}

/// The streaming detector set.
#[derive(Debug)]
pub struct Monitor {
    config: MonitorConfig,
    reference: Option<ReferenceProfile>,
    clients: ClientTable,
    projections: Option<Projections>,
    source: String,
    events: u64,
}

impl Monitor {
    /// A monitor; `source` names the event stream in findings (a path or `-`).
    pub fn new(config: MonitorConfig, reference: Option<ReferenceProfile>, source: impl Into<String>) -> Self {
        Self { config, reference, clients: ClientTable::default(), projections: None, source: source.into(), events: 0 }
    }

    /// Events seen so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Clients currently tracked.
    pub fn tracked_clients(&self) -> usize {
        self.clients.len()
    }

    /// Clients evicted to respect `max_clients`.
    pub fn evicted_clients(&self) -> u64 {
        self.clients.evicted
    }

    /// Feeds one event (`line`: its 1-based line, for the finding's location).
    pub fn observe(&mut self, event: &Event, line: Option<u64>) -> Vec<Alert> {
        self.events += 1;
        let features = match &event.input {
            Input::Vector(v) => v.clone(),
            Input::Text(t) => text_features(t),
        };
        if features.is_empty() {
            return Vec::new();
        }
        let dims = features.len();
        let config = &self.config;
        let projections = match &mut self.projections {
            Some(p) if p.dims() == dims => p,
            slot => slot.insert(Projections::new(dims, config.lsh_tables, config.lsh_bits, config.lsh_width, config.seed)),
        };
        let state = self.clients.get(&event.client_id, config);
        state.queries += 1;
        let mut fired: Vec<(&'static Rule, u8, String, String)> = Vec::new();
        extraction(state, config, &features, event.ts, &mut fired);
        adversarial(state, config, projections, &features, &mut fired);
        probing(state, config, &features, event.output.as_ref(), &mut fired);
        if let (Some(reference), Input::Vector(v)) = (&self.reference, &event.input) {
            anomaly(state, config, reference, v, &mut fired);
        }
        let queries = state.queries;
        fired
            .into_iter()
            .map(|(rule, _, message, evidence)| {
                let mut loc = Location::file(self.source.clone());
                loc.client_id = Some(event.client_id.clone());
                loc.line = line;
                Alert { finding: rule.finding(message, loc).with_evidence(format!("{evidence}; after {queries} queries")), after_queries: queries }
            })
            .collect()
    }
}

type Fired = Vec<(&'static Rule, u8, String, String)>;

fn raise(state: &mut ClientState, fired: &mut Fired, rule: &'static Rule, flag: u8, message: String, evidence: String) {
    if state.raised & flag == 0 {
        state.raised |= flag;
        fired.push((rule, flag, message, evidence));
    }
}

fn extraction(state: &mut ClientState, config: &MonitorConfig, x: &[f64], ts: f64, fired: &mut Fired) {
    let mut min_d = f64::INFINITY;
    for h in state.history.iter().filter(|h| h.len() == x.len()) {
        min_d = min_d.min(squared_distance(h, x, min_d));
    }
    if min_d.is_finite() {
        push_ring(&mut state.distances, &mut state.distances_next, config.prada_window, min_d.sqrt());
    }
    push_ring(&mut state.history, &mut state.history_next, config.prada_history, x.to_vec());
    // Coverage: distinct unit cells of the first 8 dimensions.
    if state.cells.len() < 4096 {
        let cell = x.iter().take(8).fold(0xcbf2_9ce4_8422_2325u64, |h, v| (h ^ (v.floor() as i64 as u64)).wrapping_mul(0x100_0000_01b3));
        state.cells.insert(cell, ());
    }
    push_ring(&mut state.times, &mut state.times_next, 64, ts);
    let rate = rate_per_minute(&state.times);
    if config.max_rate > 0.0 && state.times.len() >= 32 && rate > config.max_rate {
        raise(state, fired, &RATE, raised::RATE, format!("client sends {rate:.0} queries/min"), format!("rate={rate:.1}/min max={}", config.max_rate));
    }
    let due = state.distances.len() >= config.prada_window && state.queries.is_multiple_of(config.prada_every);
    if let Some(w) = due.then(|| shapiro_w(&state.distances)).flatten()
        && w < config.prada_w
    {
        let coverage = state.cells.len() as f64 / state.queries as f64;
        raise(
            state,
            fired,
            &EXTRACTION,
            raised::EXTRACTION,
            format!("query distances are not normal (Shapiro-Wilk W = {w:.3} < {})", config.prada_w),
            format!("W={w:.4} window={} rate={rate:.1}/min coverage={coverage:.3}", state.distances.len()),
        );
    }
}

/// Squared L2 distance with four independent accumulators (so it vectorises), abandoned once
/// it exceeds `bound` (then any value above `bound` is returned).
fn squared_distance(a: &[f64], b: &[f64], bound: f64) -> f64 {
    let mut acc = [0.0f64; 4];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (pa, pb) in ca.zip(cb) {
        for k in 0..8 {
            let d = pa[k] - pb[k];
            acc[k % 4] += d * d;
        }
        if acc[0] + acc[1] + acc[2] + acc[3] > bound {
            return f64::INFINITY;
        }
    }
    let mut total = acc[0] + acc[1] + acc[2] + acc[3];
    for (p, q) in ra.iter().zip(rb) {
        total += (p - q) * (p - q);
    }
    total
}

fn rate_per_minute(times: &[f64]) -> f64 {
    if times.len() < 2 {
        return 0.0;
    }
    let (lo, hi) = times.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &t| (lo.min(t), hi.max(t)));
    let span = (hi - lo).max(1e-3);
    (times.len() - 1) as f64 * 60.0 / span
}

fn adversarial(state: &mut ClientState, config: &MonitorConfig, p: &Projections, x: &[f64], fired: &mut Fired) {
    if state.buckets.len() != config.lsh_tables {
        state.buckets = vec![Default::default(); config.lsh_tables];
    }
    let mut best = 0;
    for (t, map) in state.buckets.iter_mut().enumerate() {
        let key = p.bucket(t, x);
        if map.len() >= 1024 && !map.contains_key(&key) {
            // Cap: forget buckets seen once; natural traffic rarely repeats a bucket.
            map.retain(|_, c| *c > 1);
            if map.len() >= 1024 {
                map.clear();
            }
        }
        let c = map.entry(key).or_insert(0);
        *c += 1;
        best = best.max(*c);
    }
    let repeat = exact_hash(x);
    if state.repeats.len() >= 1024 && !state.repeats.contains_key(&repeat) {
        state.repeats.retain(|_, c| *c > 1);
        if state.repeats.len() >= 1024 {
            state.repeats.clear();
        }
    }
    *state.repeats.entry(repeat).or_insert(0) += 1;
    if best >= config.near_duplicates {
        raise(
            state,
            fired,
            &ADVERSARIAL,
            raised::ADVERSARIAL,
            format!("{best} queries fell in one LSH neighbourhood"),
            format!("bucket_hits={best} threshold={}", config.near_duplicates),
        );
    }
}

fn exact_hash(x: &[f64]) -> u64 {
    x.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, v| (h ^ v.to_bits()).wrapping_mul(0x100_0000_01b3))
}

fn probing(state: &mut ClientState, config: &MonitorConfig, x: &[f64], output: Option<&Output>, fired: &mut Fired) {
    let Some(Output::Probabilities(p)) = output else { return };
    let repeats = state.repeats.get(&exact_hash(x)).copied().unwrap_or(0);
    if repeats >= config.repeats {
        raise(
            state,
            fired,
            &MEMBERSHIP,
            raised::MEMBERSHIP,
            format!("the same input was queried {repeats} times with confidences returned"),
            format!("repeats={repeats} threshold={}", config.repeats),
        );
    }
    let Some((class, &conf)) = p.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)) else { return };
    if class >= 64 {
        return;
    }
    if state.records.len() <= class {
        state.records.resize(class + 1, (f64::NEG_INFINITY, 0));
    }
    let rec = &mut state.records[class];
    if conf > rec.0 {
        *rec = (conf, rec.1 + 1);
    }
    let (best, count) = *rec;
    if count >= config.records && best >= config.record_confidence {
        raise(
            state,
            fired,
            &INVERSION,
            raised::INVERSION,
            format!("confidence on class {class} reached a new high {count} times (now {best:.4})"),
            format!("class={class} records={count} max_confidence={best:.4} threshold={}", config.records),
        );
    }
}

fn anomaly(state: &mut ClientState, config: &MonitorConfig, r: &ReferenceProfile, x: &[f64], fired: &mut Fired) {
    if x.len() != r.mean.len() {
        return;
    }
    let z = x.iter().zip(&r.mean).zip(&r.std).map(|((v, m), s)| ((v - m) / s).abs()).fold(0.0, f64::max);
    if z > config.anomaly_z {
        state.anomalies += 1;
        if state.anomalies >= config.anomalies {
            let n = state.anomalies;
            raise(
                state,
                fired,
                &ANOMALY,
                raised::ANOMALY,
                format!("{n} inputs lie more than {} standard deviations from the reference", config.anomaly_z),
                format!("anomalous_inputs={n} last_max_z={z:.1}"),
            );
        }
    }
}
