//! Group fairness metrics with Fairlearn's definitions and names, the four-fifths rule,
//! Kamiran & Calders reweighing and per-group threshold suggestions.
//!
//! Rates follow Fairlearn: `selection_rate = P(pred = 1)`, `true_positive_rate = TP/(TP+FN)`,
//! `false_positive_rate = FP/(FP+TN)` (0 when the denominator is 0, as scikit-learn's normalised
//! confusion matrix), differences are `max - min` and ratios `min / max` over groups;
//! `equalized_odds_*` take the worse of the TPR and FPR disparities (`agg="worst_case"`).

use std::collections::BTreeMap;

use serde::Serialize;
use warden_core::{Finding, Location, Severity};

use crate::MonitorError;
use crate::rule::Rule;

/// Disparate impact below four fifths of the most selected group.
pub static FOUR_FIFTHS: Rule = Rule {
    id: "fairness.four-fifths-violation",
    severity: Severity::Medium,
    title: "Selection rate below four fifths of the most selected group",
    description: "The group's selection rate is less than 80% of the highest group's (the US EEOC \
                  four-fifths rule of thumb for adverse impact).",
    atlas: &[],
    remediation: "Investigate the model's decisions for this group; consider reweighing the \
                  training data (--reweigh-output) or per-group thresholds.",
};

/// Large equalized-odds gap.
pub static EQUALIZED_ODDS: Rule = Rule {
    id: "fairness.equalized-odds-gap",
    severity: Severity::Low,
    title: "Error rates differ between groups",
    description: "The largest difference in true or false positive rate between groups exceeds 0.1.",
    atlas: &[],
    remediation: "Compare error rates per group; retrain with balanced data or post-process thresholds.",
};

/// Every fairness rule.
pub static RULES: &[&Rule] = &[&FOUR_FIFTHS, &EQUALIZED_ODDS];

/// Metrics of one group (or of all rows).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupMetrics {
    /// The group's value of each sensitive feature (empty for the overall row).
    pub group: Vec<String>,
    /// Rows.
    pub count: u64,
    /// Rows predicted positive.
    pub selected: u64,
    /// Rows actually positive.
    pub positives: u64,
    /// `selected / count`.
    pub selection_rate: f64,
    /// Recall.
    pub true_positive_rate: f64,
    /// Fall-out.
    pub false_positive_rate: f64,
    /// `(TP + TN) / count`.
    pub accuracy: f64,
    /// `selection_rate / max(selection_rate)` over groups (disparate impact).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disparate_impact: Option<f64>,
}

/// A suggested decision threshold for one group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThresholdSuggestion {
    /// The group.
    pub group: Vec<String>,
    /// Predict positive when `score >= threshold`.
    pub threshold: f64,
    /// The group's true positive rate at that threshold.
    pub true_positive_rate: f64,
    /// The group's selection rate at that threshold.
    pub selection_rate: f64,
}

/// The fairness metrics document (names as Fairlearn's).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FairnessReport {
    /// Sensitive feature names.
    pub sensitive_features: Vec<String>,
    /// Metrics over all rows.
    pub overall: GroupMetrics,
    /// Metrics per (intersectional) group, sorted by group.
    pub by_group: Vec<GroupMetrics>,
    /// `max - min` selection rate.
    pub demographic_parity_difference: f64,
    /// `min / max` selection rate.
    pub demographic_parity_ratio: f64,
    /// Worse of the TPR and FPR differences.
    pub equalized_odds_difference: f64,
    /// Worse (smaller) of the TPR and FPR ratios.
    pub equalized_odds_ratio: f64,
    /// TPR difference.
    pub equal_opportunity_difference: f64,
    /// TPR ratio.
    pub equal_opportunity_ratio: f64,
    /// Whether every group's disparate impact is at least 0.8.
    pub four_fifths_rule_satisfied: bool,
    /// Per-group thresholds that bring each group's TPR to the overall TPR at 0.5 (with `--score`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold_suggestions: Option<Vec<ThresholdSuggestion>>,
}

/// One row's inputs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    /// Actually positive.
    pub y_true: bool,
    /// Predicted positive.
    pub y_pred: bool,
}

/// Whether a label counts as the positive class: `1`, `1.0`, `true` or `yes` (any case), or
/// exactly `pos_label` when given.
pub fn is_positive(label: &str, pos_label: Option<&str>) -> bool {
    match pos_label {
        Some(p) => label == p,
        None => matches!(label.to_ascii_lowercase().as_str(), "1" | "1.0" | "true" | "yes"),
    }
}

#[derive(Default, Clone, Copy)]
struct Confusion {
    tp: u64,
    fp: u64,
    tn: u64,
    fn_: u64,
}

impl Confusion {
    fn add(&mut self, o: Outcome) {
        match (o.y_true, o.y_pred) {
            (true, true) => self.tp += 1,
            (false, true) => self.fp += 1,
            (false, false) => self.tn += 1,
            (true, false) => self.fn_ += 1,
        }
    }

    fn metrics(&self, group: Vec<String>) -> GroupMetrics {
        let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let count = self.tp + self.fp + self.tn + self.fn_;
        GroupMetrics {
            group,
            count,
            selected: self.tp + self.fp,
            positives: self.tp + self.fn_,
            selection_rate: ratio(self.tp + self.fp, count),
            true_positive_rate: ratio(self.tp, self.tp + self.fn_),
            false_positive_rate: ratio(self.fp, self.fp + self.tn),
            accuracy: ratio(self.tp + self.tn, count),
            disparate_impact: None,
        }
    }
}

fn spread(values: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let max = values.clone().fold(f64::NEG_INFINITY, f64::max);
    let min = values.fold(f64::INFINITY, f64::min);
    (max - min, min / max)
}

/// Computes the report; `groups[i]` is row `i`'s value of each sensitive feature.
pub fn fairness(
    sensitive_features: &[String],
    groups: &[Vec<String>],
    outcomes: &[Outcome],
    scores: Option<&[f64]>,
) -> Result<FairnessReport, MonitorError> {
    if groups.len() != outcomes.len() || scores.is_some_and(|s| s.len() != outcomes.len()) {
        return Err(MonitorError::Invalid("columns have different lengths".into()));
    }
    if outcomes.is_empty() {
        return Err(MonitorError::Invalid("no rows".into()));
    }
    let mut overall = Confusion::default();
    let mut by: BTreeMap<&[String], Confusion> = BTreeMap::new();
    for (g, &o) in groups.iter().zip(outcomes) {
        overall.add(o);
        by.entry(g.as_slice()).or_default().add(o);
    }
    let mut by_group: Vec<GroupMetrics> = by.iter().map(|(g, c)| c.metrics(g.to_vec())).collect();
    let max_sel = by_group.iter().map(|g| g.selection_rate).fold(0.0, f64::max);
    for g in &mut by_group {
        g.disparate_impact = Some(g.selection_rate / max_sel);
    }
    let (dpd, dpr) = spread(by_group.iter().map(|g| g.selection_rate));
    let (tpd, tpr) = spread(by_group.iter().map(|g| g.true_positive_rate));
    let (fpd, fpr) = spread(by_group.iter().map(|g| g.false_positive_rate));
    let four_fifths = by_group.iter().all(|g| g.disparate_impact.is_none_or(|d| d >= 0.8));
    let threshold_suggestions = scores.map(|s| suggest_thresholds(groups, outcomes, s));
    Ok(FairnessReport {
        sensitive_features: sensitive_features.to_vec(),
        overall: overall.metrics(Vec::new()),
        by_group,
        demographic_parity_difference: dpd,
        demographic_parity_ratio: dpr,
        equalized_odds_difference: tpd.max(fpd),
        equalized_odds_ratio: tpr.min(fpr),
        equal_opportunity_difference: tpd,
        equal_opportunity_ratio: tpr,
        four_fifths_rule_satisfied: four_fifths,
        threshold_suggestions,
    })
}

/// Kamiran & Calders reweighing: `w(g, y) = P(g) P(y) / P(g, y)` for each row.
pub fn reweighing_weights(groups: &[Vec<String>], outcomes: &[Outcome]) -> Vec<f64> {
    let n = outcomes.len() as f64;
    let mut n_g: BTreeMap<&[String], f64> = BTreeMap::new();
    let mut n_gy: BTreeMap<(&[String], bool), f64> = BTreeMap::new();
    let mut n_y = [0.0f64; 2];
    for (g, o) in groups.iter().zip(outcomes) {
        *n_g.entry(g).or_default() += 1.0;
        *n_gy.entry((g, o.y_true)).or_default() += 1.0;
        n_y[usize::from(o.y_true)] += 1.0;
    }
    groups
        .iter()
        .zip(outcomes)
        .map(|(g, o)| n_g[g.as_slice()] * n_y[usize::from(o.y_true)] / (n * n_gy[&(g.as_slice(), o.y_true)]))
        .collect()
}

/// For each group, the highest threshold whose TPR reaches the overall TPR at threshold 0.5.
fn suggest_thresholds(groups: &[Vec<String>], outcomes: &[Outcome], scores: &[f64]) -> Vec<ThresholdSuggestion> {
    let positives: Vec<f64> = outcomes.iter().zip(scores).filter(|(o, _)| o.y_true).map(|(_, &s)| s).collect();
    let target = if positives.is_empty() {
        0.0
    } else {
        positives.iter().filter(|&&s| s >= 0.5).count() as f64 / positives.len() as f64
    };
    let mut per: BTreeMap<&[String], (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for ((g, o), &s) in groups.iter().zip(outcomes).zip(scores) {
        let e = per.entry(g).or_default();
        if o.y_true { e.0.push(s) } else { e.1.push(s) }
    }
    per.into_iter()
        .map(|(g, (mut pos, neg))| {
            pos.sort_by(|a, b| b.total_cmp(a));
            // Smallest k with k/len >= target; the k-th highest positive score is the threshold.
            let k = ((target * pos.len() as f64).ceil() as usize).clamp(1, pos.len().max(1));
            let threshold = pos.get(k - 1).copied().unwrap_or(0.5);
            let tp = pos.iter().filter(|&&s| s >= threshold).count();
            let fp = neg.iter().filter(|&&s| s >= threshold).count();
            let total = pos.len() + neg.len();
            ThresholdSuggestion {
                group: g.to_vec(),
                threshold,
                true_positive_rate: if pos.is_empty() { 0.0 } else { tp as f64 / pos.len() as f64 },
                selection_rate: (tp + fp) as f64 / total as f64,
            }
        })
        .collect()
}

/// Findings for a report: one per group breaking the four-fifths rule, one for a large
/// equalized-odds gap. `path` locates the dataset.
pub fn findings(report: &FairnessReport, path: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    let features = report.sensitive_features.join(",");
    for g in &report.by_group {
        let Some(di) = g.disparate_impact else { continue };
        if di < 0.8 {
            let mut loc = Location::file(path);
            loc.column = Some(features.clone());
            out.push(FOUR_FIFTHS.finding(
                format!("group {} has disparate impact {di:.3} (< 0.8)", g.group.join(",")),
                loc,
            )
            .with_evidence(format!("selection_rate={:.4} count={} disparate_impact={di:.4}", g.selection_rate, g.count)));
        }
    }
    if report.equalized_odds_difference > 0.1 {
        let mut loc = Location::file(path);
        loc.column = Some(features);
        out.push(EQUALIZED_ODDS.finding(
            format!("equalized odds difference is {:.3}", report.equalized_odds_difference),
            loc,
        )
        .with_evidence(format!(
            "equal_opportunity_difference={:.4} equalized_odds_difference={:.4}",
            report.equal_opportunity_difference, report.equalized_odds_difference
        )));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(t: bool, p: bool) -> Outcome {
        Outcome { y_true: t, y_pred: p }
    }

    #[test]
    fn two_group_metrics() {
        let groups: Vec<Vec<String>> = ["a", "a", "a", "a", "b", "b", "b", "b"].iter().map(|s| vec![(*s).to_owned()]).collect();
        let outs = [o(true, true), o(true, false), o(false, true), o(false, false), o(true, true), o(true, true), o(false, false), o(false, false)];
        let r = fairness(&["g".into()], &groups, &outs, None).unwrap();
        assert_eq!(r.by_group[0].selection_rate, 0.5);
        assert_eq!(r.by_group[1].true_positive_rate, 1.0);
        assert_eq!(r.equal_opportunity_difference, 0.5);
        assert_eq!(r.equalized_odds_difference, 0.5);
        assert_eq!(r.demographic_parity_difference, 0.0);
        let w = reweighing_weights(&groups, &outs);
        // P(a)=0.5, P(y=1)=0.5, P(a,1)=0.25 -> weight 1 everywhere.
        assert!(w.iter().all(|&x| (x - 1.0).abs() < 1e-12));
    }
}
