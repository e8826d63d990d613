//! Poisoning checks for a labelled table (`warden data poison`).
//!
//! Four independent detectors over one in-memory [`LabelledTable`]:
//! - [`confident`]: label issues by confident learning on out-of-fold probabilities of a
//!   multinomial logistic regression ([`logreg`]) over standardised + one-hot features;
//! - [`iforest`]: multivariate outliers by an isolation forest;
//! - [`dedup`]: exact and near duplicates, including duplicates with conflicting labels;
//! - [`backdoor`]: rare feature values (or value pairs) that force one rare label.
//!
//! [`analyse`] runs them and [`PoisonReport::findings`] turns the result into `Finding`s, each
//! naming its rows (a capped list plus the count) and the scores and thresholds behind it.
//! Everything is seeded: the same table and settings always give the same report.
//! [`synthetic`] writes poisoned tables with known injected rows for tests and the benchmark.

pub mod backdoor;
pub mod confident;
pub mod dedup;
pub mod features;
pub mod synthetic;
pub mod iforest;
pub mod io;
pub mod logreg;
pub mod rng;
mod report;
mod rule;
pub mod stats;
pub mod table;

pub use report::{FlaggedRow, RULES};
pub use rule::Rule;
pub use table::{Column, ColumnData, LabelledTable};

use backdoor::{TriggerSearch, TriggerSettings};
use confident::LabelIssues;
use dedup::{DuplicateGroup, DuplicateSettings};
use iforest::ForestSettings;

/// Settings of every detector.
#[derive(Debug, Clone)]
pub struct PoisonSettings {
    /// Cross-validation folds for out-of-fold probabilities.
    pub folds: usize,
    /// Most one-hot columns per categorical feature (the most frequent values).
    pub max_categories: usize,
    /// Isolation forest settings.
    pub forest: ForestSettings,
    /// Anomaly score above which a row is an outlier; `None` picks it from the score
    /// distribution (see [`outlier_threshold`]).
    pub outlier_threshold: Option<f64>,
    /// Duplicate settings.
    pub duplicates: DuplicateSettings,
    /// Trigger settings.
    pub triggers: TriggerSettings,
    /// Threads for cross-validation folds.
    pub threads: usize,
    /// Seed of the fold assignment.
    pub seed: u64,
    /// Most rows listed in one finding (the count is always complete).
    pub max_listed_rows: usize,
    /// Extra confident-learning rounds that retrain without the rows flagged so far (0 or 1).
    pub clean_rounds: usize,
}

impl Default for PoisonSettings {
    fn default() -> Self {
        PoisonSettings {
            folds: 5,
            max_categories: 50,
            forest: ForestSettings::default(),
            outlier_threshold: None,
            duplicates: DuplicateSettings::default(),
            triggers: TriggerSettings::default(),
            threads: std::thread::available_parallelism().map_or(1, usize::from),
            seed: 0x00C1_EA17,
            max_listed_rows: 50,
            clean_rounds: 1,
        }
    }
}

/// Everything the detectors found, before it becomes findings.
#[derive(Debug, Clone)]
pub struct PoisonReport {
    /// Label issues and the confident-learning quantities behind them.
    pub label_issues: LabelIssues,
    /// Anomaly score per row.
    pub outlier_scores: Vec<f64>,
    /// The score threshold used.
    pub outlier_threshold: f64,
    /// Rows above the threshold, highest score first.
    pub outliers: Vec<usize>,
    /// Duplicate groups.
    pub duplicates: Vec<DuplicateGroup>,
    /// Trigger search result.
    pub triggers: TriggerSearch,
}

/// Runs every detector on `table`.
pub fn analyse(table: &LabelledTable, settings: &PoisonSettings) -> PoisonReport {
    let classes = table.classes.len();
    let started = std::time::Instant::now();
    let label_issues = if classes >= 2 && table.rows() >= 2 * settings.folds.max(2) {
        let x = features::design_matrix(table, settings.max_categories);
        let oof = |exclude: Option<&[bool]>, warm: Option<&[logreg::LogReg]>| {
            let (folds, seed, threads) = (settings.folds, settings.seed, settings.threads);
            confident::out_of_fold_probabilities(&x, &table.labels, exclude, classes, folds, seed, threads, warm)
        };
        let (probs, models) = oof(None, None);
        let first = confident::find_label_issues(&probs, &table.labels, classes);
        if settings.clean_rounds == 0 || first.issues.is_empty() {
            first
        } else {
            // Second round: the models no longer learn from the rows the first round flagged,
            // so poisoned labels pull the decision boundaries less (every row is still
            // predicted out of fold and judged against its given label).
            let mut exclude = vec![false; table.rows()];
            for issue in &first.issues {
                exclude[issue.row] = true;
            }
            let (probs, _) = oof(Some(&exclude), Some(&models));
            confident::find_label_issues(&probs, &table.labels, classes)
        }
    } else {
        LabelIssues { issues: Vec::new(), thresholds: vec![f64::NAN; classes], joint: vec![vec![0; classes]; classes] }
    };
    tracing::info!(elapsed = ?started.elapsed(), issues = label_issues.issues.len(), "confident learning done");
    let metric: Vec<bool> = table.features.iter().map(|c| matches!(c.data, ColumnData::Numeric(_))).collect();
    let outlier_scores = iforest::anomaly_scores(&features::isolation_matrix(table), &metric, settings.forest);
    let threshold = settings.outlier_threshold.unwrap_or_else(|| outlier_threshold(&outlier_scores));
    let mut outliers: Vec<usize> = (0..table.rows()).filter(|&i| outlier_scores[i] > threshold).collect();
    outliers.sort_by(|&a, &b| outlier_scores[b].total_cmp(&outlier_scores[a]).then(a.cmp(&b)));
    tracing::info!(elapsed = ?started.elapsed(), outliers = outliers.len(), "isolation forest done");
    let duplicates = dedup::find_duplicates(table, settings.duplicates);
    tracing::info!(elapsed = ?started.elapsed(), groups = duplicates.len(), "duplicates done");
    let triggers = backdoor::find_triggers(table, settings.triggers);
    tracing::info!(elapsed = ?started.elapsed(), triggers = triggers.triggers.len(), "trigger search done");
    PoisonReport {
        label_issues,
        outlier_threshold: threshold,
        outliers,
        outlier_scores,
        duplicates,
        triggers,
    }
}

/// The automatic outlier threshold: the larger of 0.5 (Liu et al.: scores much above 0.5 are
/// anomalies) and a robust upper fence on the scores, median + 3.5 x 1.4826 x MAD, so a table
/// whose ordinary rows already score near 0.5 does not drown in flags.
pub fn outlier_threshold(scores: &[f64]) -> f64 {
    if scores.is_empty() {
        return 0.5;
    }
    let median = median_of(scores.to_vec());
    let mad = median_of(scores.iter().map(|s| (s - median).abs()).collect());
    (median + 3.5 * 1.4826 * mad).max(0.5)
}

fn median_of(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 { v[m] } else { 0.5 * (v[m - 1] + v[m]) }
}

#[cfg(test)]
mod eval_tests;
