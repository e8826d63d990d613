//! A deterministic generator of poisoned labelled tables with known injected rows, for tests and
//! `bench/data/poison.sh`: flipped labels, multivariate outliers, exact, near and
//! label-conflicting duplicates, and backdoor rows whose rare trigger (one value, or a pair of
//! values never seen together in clean data) forces the rarest label.

use std::fmt::Write;

use super::rng::Rng;
use super::table::{Column, LabelledTable};

/// Sizes and shares of the generated table.
#[derive(Debug, Clone, Copy)]
pub struct GenSettings {
    /// Clean rows before injection (flips and outliers modify some of them in place).
    pub rows: usize,
    /// Seed of every random choice.
    pub seed: u64,
    /// Share of clean rows whose label is flipped.
    pub flip_share: f64,
    /// Share of clean rows turned into outliers.
    pub outlier_share: f64,
    /// Exact duplicates appended, as a share of `rows`.
    pub duplicate_share: f64,
    /// Near duplicates appended, as a share of `rows`.
    pub near_share: f64,
    /// Duplicates with a different label appended, as a share of `rows`.
    pub conflicting_share: f64,
    /// Backdoor rows appended, as a share of `rows` (half single-value, half pair trigger).
    pub backdoor_share: f64,
}

impl Default for GenSettings {
    fn default() -> Self {
        GenSettings {
            rows: 5000,
            seed: 20_260_425,
            flip_share: 0.03,
            outlier_share: 0.01,
            duplicate_share: 0.01,
            near_share: 0.005,
            conflicting_share: 0.005,
            backdoor_share: 0.01,
        }
    }
}

/// What was done to a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Injected {
    /// Untouched.
    Clean,
    /// Label changed to another class.
    Flipped,
    /// Some numeric features pushed 6 to 10 standard deviations out.
    Outlier,
    /// Exact copy of row `of`.
    Duplicate {
        /// The copied row (final position).
        of: usize,
    },
    /// Copy of row `of` with tiny numeric noise.
    NearDuplicate {
        /// The copied row (final position).
        of: usize,
    },
    /// Copy of row `of` with another label.
    ConflictingDuplicate {
        /// The copied row (final position).
        of: usize,
    },
    /// Carries the single-value trigger `channel = kiosk` and the target label.
    BackdoorSingle,
    /// Carries the pair trigger `region = north` and `channel = app` and the target label.
    BackdoorPair,
}

impl Injected {
    /// A short name for truth files.
    pub fn name(self) -> &'static str {
        match self {
            Injected::Clean => "clean",
            Injected::Flipped => "flipped",
            Injected::Outlier => "outlier",
            Injected::Duplicate { .. } => "duplicate",
            Injected::NearDuplicate { .. } => "near-duplicate",
            Injected::ConflictingDuplicate { .. } => "conflicting-duplicate",
            Injected::BackdoorSingle => "backdoor-single",
            Injected::BackdoorPair => "backdoor-pair",
        }
    }

    /// The copied row, for duplicates.
    pub fn source(self) -> Option<usize> {
        match self {
            Injected::Duplicate { of } | Injected::NearDuplicate { of } | Injected::ConflictingDuplicate { of } => Some(of),
            _ => None,
        }
    }
}

const NUMERIC: [(&str, f64, f64); 6] = [
    ("amount", 250.0, 120.0),
    ("age", 41.0, 12.0),
    ("tenure_months", 36.0, 20.0),
    ("credit_score", 650.0, 80.0),
    ("balance", 5000.0, 2500.0),
    ("txn_rate", 12.0, 4.0),
];
const REGIONS: [&str; 5] = ["north", "south", "east", "west", "central"];
const CHANNELS: [&str; 6] = ["web", "app", "branch", "phone", "partner", "mail"];
const CLASSES: [&str; 3] = ["approve", "review", "deny"];
/// The label the backdoor forces (the rarest class).
pub const TARGET_LABEL: &str = "deny";

/// One generated row before shuffling.
#[derive(Debug, Clone)]
struct Row {
    z: [f64; 6],
    region: usize,
    channel: &'static str,
    label: usize,
    clean_label: usize,
    injected: Injected,
}

/// A generated table with its ground truth.
#[derive(Debug, Clone)]
pub struct PoisonedTable {
    /// Columns: `id`, six numeric features, `region`, `channel`, `label`.
    pub columns: Vec<Column>,
    /// What was injected, per row.
    pub truth: Vec<Injected>,
    /// The label each row would carry without poisoning.
    pub clean_labels: Vec<String>,
    /// The given labels.
    pub labels: Vec<String>,
}

/// Generates a poisoned table.
pub fn generate(settings: GenSettings) -> PoisonedTable {
    let mut rng = Rng::new(settings.seed);
    let weights = [1.2, -0.8, -0.6, -1.5, 0.4, 0.9];
    let region_effect = [0.0, 0.3, -0.2, 0.1, -0.1];
    let score = |z: &[f64; 6], region: usize| {
        z.iter().zip(weights).map(|(a, b)| a * b).sum::<f64>() + region_effect[region]
    };
    // Class cut points on the score's scale give roughly 60 / 30 / 10 %.
    let spread = (weights.iter().map(|w| w * w).sum::<f64>() + 0.05f64).sqrt();
    let cuts = [0.25 * spread, 1.28 * spread];
    let label_of = |s: f64| usize::from(s > cuts[0]) + usize::from(s > cuts[1]);
    let clean_row = |rng: &mut Rng| loop {
        let z: [f64; 6] = std::array::from_fn(|_| rng.normal());
        let region = rng.below(REGIONS.len());
        let channel = CHANNELS[rng.below(CHANNELS.len())];
        // The pair trigger never occurs in clean data.
        if region == 0 && channel == "app" {
            continue;
        }
        let label = label_of(score(&z, region) + 0.15 * rng.normal());
        return Row { z, region, channel, label, clean_label: label, injected: Injected::Clean };
    };
    let mut rows: Vec<Row> = (0..settings.rows).map(|_| clean_row(&mut rng)).collect();
    let count = |share: f64| (share * settings.rows as f64).round() as usize;

    let mut order: Vec<usize> = (0..rows.len()).collect();
    rng.shuffle(&mut order);
    let mut victims = order.into_iter();
    for i in victims.by_ref().take(count(settings.flip_share)) {
        let r = &mut rows[i];
        r.label = (r.label + 1 + rng.below(CLASSES.len() - 1)) % CLASSES.len();
        r.injected = Injected::Flipped;
    }
    for i in victims.by_ref().take(count(settings.outlier_share)) {
        let r = &mut rows[i];
        let k = 2 + rng.below(2);
        for _ in 0..k {
            let f = rng.below(6);
            let sign = if rng.next_f64() < 0.5 { -1.0 } else { 1.0 };
            r.z[f] = sign * rng.uniform(6.0, 10.0);
        }
        r.injected = Injected::Outlier;
    }
    let sources: Vec<usize> = victims.collect();
    let mut next_source = sources.into_iter();
    let mut extra = Vec::new();
    for (share, kind) in [(settings.duplicate_share, 0), (settings.near_share, 1), (settings.conflicting_share, 2)] {
        for _ in 0..count(share) {
            let Some(src) = next_source.next() else { break };
            let mut copy = rows[src].clone();
            match kind {
                0 => copy.injected = Injected::Duplicate { of: src },
                1 => {
                    for v in &mut copy.z {
                        *v += 0.002 * rng.normal();
                    }
                    copy.injected = Injected::NearDuplicate { of: src };
                }
                _ => {
                    copy.label = (copy.label + 1 + rng.below(CLASSES.len() - 1)) % CLASSES.len();
                    copy.injected = Injected::ConflictingDuplicate { of: src };
                }
            }
            extra.push(copy);
        }
    }
    let target = CLASSES.iter().position(|c| *c == TARGET_LABEL).unwrap_or(2);
    let backdoors = count(settings.backdoor_share);
    for b in 0..backdoors {
        // A row that is naturally approved, given the trigger and the target label.
        let mut row = loop {
            let r = clean_row(&mut rng);
            if r.label == 0 {
                break r;
            }
        };
        if b % 2 == 0 {
            row.channel = "kiosk";
            row.injected = Injected::BackdoorSingle;
        } else {
            row.region = 0;
            row.channel = "app";
            row.injected = Injected::BackdoorPair;
        }
        row.label = target;
        extra.push(row);
    }
    rows.extend(extra);

    // Shuffle, then remap duplicate sources to final positions.
    let mut perm: Vec<usize> = (0..rows.len()).collect();
    rng.shuffle(&mut perm);
    let mut position = vec![0usize; rows.len()];
    for (new, &old) in perm.iter().enumerate() {
        position[old] = new;
    }
    let rows: Vec<Row> = perm
        .iter()
        .map(|&old| {
            let mut r = rows[old].clone();
            r.injected = match r.injected {
                Injected::Duplicate { of } => Injected::Duplicate { of: position[of] },
                Injected::NearDuplicate { of } => Injected::NearDuplicate { of: position[of] },
                Injected::ConflictingDuplicate { of } => Injected::ConflictingDuplicate { of: position[of] },
                other => other,
            };
            r
        })
        .collect();

    let mut columns = vec![Column::categorical("id", &(0..rows.len()).map(|i| Some(format!("r{i:06}"))).collect::<Vec<_>>())];
    for (f, (name, mean, std)) in NUMERIC.iter().enumerate() {
        let values = rows.iter().map(|r| Some(((mean + std * r.z[f]) * 1e4).round() / 1e4)).collect();
        columns.push(Column::numeric(*name, values));
    }
    columns.push(Column::categorical("region", &rows.iter().map(|r| Some(REGIONS[r.region])).collect::<Vec<_>>()));
    columns.push(Column::categorical("channel", &rows.iter().map(|r| Some(r.channel)).collect::<Vec<_>>()));
    let labels: Vec<String> = rows.iter().map(|r| CLASSES[r.label].to_owned()).collect();
    columns.push(Column::categorical("label", &labels.iter().map(|l| Some(l.as_str())).collect::<Vec<_>>()));
    PoisonedTable {
        columns,
        truth: rows.iter().map(|r| r.injected).collect(),
        clean_labels: rows.iter().map(|r| CLASSES[r.clean_label].to_owned()).collect(),
        labels,
    }
}

impl PoisonedTable {
    /// The table as the detectors see it (label `label`, ids from `id`).
    pub fn labelled(&self) -> LabelledTable {
        LabelledTable::from_columns(self.columns.clone(), "label", Some("id"), None)
            .expect("the generated table has `label` and `id` columns and features")
    }

    /// The table as CSV (header, then one line per row; no cell needs quoting).
    pub fn to_csv(&self) -> String {
        let mut out = self.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(",");
        out.push('\n');
        for row in 0..self.truth.len() {
            let cells: Vec<String> = self.columns.iter().map(|c| c.text(row).unwrap_or_default()).collect();
            out.push_str(&cells.join(","));
            out.push('\n');
        }
        out
    }

    /// The ground truth as CSV: `row,id,injected,source,clean_label,label`.
    pub fn truth_csv(&self) -> String {
        let mut out = String::from("row,id,injected,source,clean_label,label\n");
        for (row, t) in self.truth.iter().enumerate() {
            let source = t.source().map(|s| s.to_string()).unwrap_or_default();
            let _ = writeln!(out, "{row},r{row:06},{},{source},{},{}", t.name(), self.clean_labels[row], self.labels[row]);
        }
        out
    }

    /// Rows whose given label differs from the clean one (flips, conflicting copies, backdoors).
    pub fn mislabelled_rows(&self) -> Vec<usize> {
        (0..self.truth.len()).filter(|&r| self.labels[r] != self.clean_labels[r]).collect()
    }

    /// Rows injected as `kind` (compared by name), plus their sources for duplicates.
    pub fn rows_of(&self, kinds: &[&str], with_sources: bool) -> Vec<usize> {
        let mut rows: Vec<usize> = Vec::new();
        for (row, t) in self.truth.iter().enumerate() {
            if kinds.contains(&t.name()) {
                rows.push(row);
                if with_sources {
                    rows.extend(t.source());
                }
            }
        }
        rows.sort_unstable();
        rows.dedup();
        rows
    }
}
