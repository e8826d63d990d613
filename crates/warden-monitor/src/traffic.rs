//! A seeded generator of labelled inference traffic (benign clients and attackers) against a
//! small linear softmax model, for tests, the benchmark and demos.

use crate::detect::{Event, Input, Output};
use crate::detect_rng::{gaussian, splitmix, uniform};

/// What a generated client does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientKind {
    /// Natural queries from the data distribution.
    Benign,
    /// Synthetic queries around a few seeds (Papernot-style augmentation) to copy the model.
    Extraction,
    /// Tiny perturbations around one input (black-box adversarial search).
    AdversarialSearch,
    /// Hill-climbing on one class's confidence (model inversion).
    Inversion,
    /// The same records asked repeatedly (membership inference).
    Membership,
}

/// Input dimensions of the generated model.
pub const DIMS: usize = 16;
/// Classes of the generated model.
pub const CLASSES: usize = 4;

/// The generated model: `softmax(W x)`.
#[derive(Debug, Clone)]
pub struct Model {
    weights: Vec<f64>,
}

impl Model {
    /// A model drawn from `seed`.
    pub fn new(seed: u64) -> Self {
        let mut s = seed;
        Self { weights: (0..DIMS * CLASSES).map(|_| gaussian(&mut s) * 0.5).collect() }
    }

    /// Class probabilities for `x`.
    pub fn predict(&self, x: &[f64]) -> Vec<f64> {
        let logits: Vec<f64> = (0..CLASSES).map(|c| self.weights[c * DIMS..(c + 1) * DIMS].iter().zip(x).map(|(w, v)| w * v).sum()).collect();
        let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let exps: Vec<f64> = logits.iter().map(|l| (l - max).exp()).collect();
        let sum: f64 = exps.iter().sum();
        exps.iter().map(|e| e / sum).collect()
    }
}

struct ClientGen {
    id: String,
    kind: ClientKind,
    rng: u64,
    ts: f64,
    interval: f64,
    seeds: Vec<Vec<f64>>,
    current: Vec<f64>,
    sent: usize,
}

fn natural(rng: &mut u64) -> Vec<f64> {
    (0..DIMS).map(|_| gaussian(rng)).collect()
}

impl ClientGen {
    fn next_input(&mut self, model: &Model) -> Vec<f64> {
        let rng = &mut self.rng;
        self.sent += 1;
        match self.kind {
            ClientKind::Benign => natural(rng),
            ClientKind::Extraction => {
                // A handful of natural seeds, then steps of fixed size along sign vectors.
                if self.seeds.len() < 5 {
                    let s = natural(rng);
                    self.seeds.push(s.clone());
                    return s;
                }
                let base = self.seeds[(splitmix(rng) % self.seeds.len() as u64) as usize].clone();
                let x: Vec<f64> = base.iter().map(|v| v + if splitmix(rng) & 1 == 0 { 0.1 } else { -0.1 }).collect();
                if self.seeds.len() < 512 {
                    self.seeds.push(x.clone());
                }
                x
            }
            ClientKind::AdversarialSearch => {
                if self.current.is_empty() {
                    self.current = natural(rng);
                }
                self.current.iter().map(|v| v + 0.01 * gaussian(rng)).collect()
            }
            ClientKind::Inversion => {
                if self.current.is_empty() {
                    self.current = natural(rng);
                }
                let target = 0;
                let proposal: Vec<f64> = self.current.iter().map(|v| v + 0.3 * gaussian(rng)).collect();
                if model.predict(&proposal)[target] > model.predict(&self.current)[target] {
                    self.current = proposal.clone();
                }
                proposal
            }
            ClientKind::Membership => {
                if self.seeds.is_empty() {
                    self.seeds = (0..10).map(|_| natural(rng)).collect();
                }
                self.seeds[(self.sent - 1) % self.seeds.len()].clone()
            }
        }
    }
}

/// A labelled traffic trace.
#[derive(Debug, Clone)]
pub struct Traffic {
    /// Events in time order.
    pub events: Vec<Event>,
    /// Each client's id and kind.
    pub clients: Vec<(String, ClientKind)>,
}

/// Generates `queries` events per client for the given client kinds (interleaved by time).
pub fn generate(seed: u64, kinds: &[(ClientKind, usize)], queries: usize) -> Traffic {
    let model = Model::new(seed ^ 0x006d_6f64_656c);
    let mut master = seed;
    let mut gens: Vec<ClientGen> = Vec::new();
    for &(kind, count) in kinds {
        for i in 0..count {
            let mut rng = splitmix(&mut master);
            let interval = match kind {
                ClientKind::Benign => 0.5 + uniform(&mut rng) * 4.0,
                _ => 0.05 + uniform(&mut rng) * 0.2,
            };
            gens.push(ClientGen {
                id: format!("{}-{i}", format!("{kind:?}").to_lowercase()),
                kind,
                rng,
                ts: 1_700_000_000.0 + uniform(&mut master) * 10.0,
                interval,
                seeds: Vec::new(),
                current: Vec::new(),
                sent: 0,
            });
        }
    }
    let mut events = Vec::with_capacity(gens.len() * queries);
    for g in &mut gens {
        for _ in 0..queries {
            let x = g.next_input(&model);
            let p = model.predict(&x);
            g.ts += g.interval * (0.5 + uniform(&mut g.rng));
            events.push(Event { ts: g.ts, client_id: g.id.clone(), input: Input::Vector(x), output: Some(Output::Probabilities(p)) });
        }
    }
    events.sort_by(|a, b| a.ts.total_cmp(&b.ts));
    Traffic { clients: gens.iter().map(|g| (g.id.clone(), g.kind)).collect(), events }
}

/// An event as its JSON line.
pub fn event_json(e: &Event) -> String {
    let input = match &e.input {
        Input::Vector(v) => serde_json::json!(v),
        Input::Text(t) => serde_json::json!(t),
    };
    let output = match &e.output {
        Some(Output::Probabilities(p)) => serde_json::json!(p),
        Some(Output::Label(l)) => serde_json::json!(l),
        None => serde_json::Value::Null,
    };
    serde_json::json!({"ts": e.ts, "client_id": e.client_id, "input": input, "output": output}).to_string()
}
