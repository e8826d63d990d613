//! Turning a [`PoisonReport`] into findings (one per label pair, outlier set, duplicate kind and
//! trigger) and into a flat list of flagged rows for export.

use std::fmt::Write;

use warden_core::{Finding, Location, Severity};

use super::{LabelledTable, PoisonReport, PoisonSettings};
use super::rule::Rule;

/// ATLAS: Poison Training Data.
pub const ATLAS_POISON_TRAINING_DATA: &str = "AML.T0020";

const ATLAS: &[&str] = &[ATLAS_POISON_TRAINING_DATA];

/// Label issue rule.
pub static LABEL_ISSUE: Rule = Rule {
    id: "data.poison.label-issue",
    severity: Severity::Medium,
    title: "rows whose labels an out-of-fold model confidently disputes",
    description: "Confident learning (Northcutt et al.) on out-of-fold probabilities: the row's given label has a probability below its class threshold while another class is confidently predicted. Flipped labels are the simplest poisoning attack.",
    atlas: ATLAS,
    remediation: "Review the listed rows' labels against their source; relabel or drop them before training.",
};

/// Outlier rule.
pub static OUTLIER: Rule = Rule {
    id: "data.poison.outlier",
    severity: Severity::Low,
    title: "multivariate outliers (isolation forest)",
    description: "Rows an isolation forest isolates in far fewer random splits than ordinary rows. Injected rows often sit outside the data's support.",
    atlas: ATLAS,
    remediation: "Check where the listed rows came from; drop them or fix the values if they are errors or injections.",
};

/// Duplicate rule.
pub static DUPLICATE: Rule = Rule {
    id: "data.poison.duplicate",
    severity: Severity::Low,
    title: "exact or near duplicate rows",
    description: "Rows repeated exactly (after normalisation) or within a small per-feature tolerance. Repeating rows is a cheap way to shift a model's weight toward an attacker's examples, and duplicates leak between train and test splits.",
    atlas: ATLAS,
    remediation: "Deduplicate before splitting and training; investigate large groups.",
};

/// Conflicting duplicate rule.
pub static CONFLICTING_DUPLICATE: Rule = Rule {
    id: "data.poison.conflicting-duplicate",
    severity: Severity::Medium,
    title: "duplicate rows with conflicting labels",
    description: "The same (or nearly the same) features appear with different labels: at least one of the copies is mislabelled, possibly on purpose.",
    atlas: ATLAS,
    remediation: "Decide the right label for each group from the source data and keep one row.",
};

/// Backdoor trigger rule.
pub static BACKDOOR_TRIGGER: Rule = Rule {
    id: "data.poison.backdoor-trigger",
    severity: Severity::High,
    title: "feature pattern that forces one label (possible backdoor trigger)",
    description: "A feature value or pair of values covering few rows almost always carries a label that is rare overall: the signature of a backdoor, where a planted trigger makes the model output the attacker's label.",
    atlas: ATLAS,
    remediation: "Check whether the pattern is a legitimate signal; if not, remove the rows and retrain, and test the deployed model with the trigger.",
};

/// Every poisoning rule.
pub static RULES: &[&Rule] = &[&LABEL_ISSUE, &OUTLIER, &DUPLICATE, &CONFLICTING_DUPLICATE, &BACKDOOR_TRIGGER];

/// One flagged row, for `--flagged` exports and benchmarks.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FlaggedRow {
    /// 0-based row.
    pub row: usize,
    /// The row's id (the `--id` column) or its index as text.
    pub id: String,
    /// The rule that flagged it.
    pub rule: &'static str,
    /// The detector's score: 1 - self-confidence, anomaly score, group size, or trigger lift.
    pub score: f64,
}

impl PoisonReport {
    /// Every flagged row, rule by rule.
    pub fn flagged_rows(&self, table: &LabelledTable) -> Vec<FlaggedRow> {
        let mut out = Vec::new();
        let mut push = |row: usize, rule: &'static Rule, score: f64| {
            out.push(FlaggedRow { row, id: table.row_name(row), rule: rule.id, score });
        };
        for issue in &self.label_issues.issues {
            push(issue.row, &LABEL_ISSUE, 1.0 - issue.self_confidence);
        }
        for &row in &self.outliers {
            push(row, &OUTLIER, self.outlier_scores[row]);
        }
        for group in &self.duplicates {
            let rule = if group.conflicting { &CONFLICTING_DUPLICATE } else { &DUPLICATE };
            for &row in &group.rows {
                push(row, rule, group.rows.len() as f64);
            }
        }
        for trigger in &self.triggers.triggers {
            for &row in &trigger.rows {
                push(row, &BACKDOOR_TRIGGER, trigger.lift);
            }
        }
        out
    }

    /// The findings for a table read from `path`.
    pub fn findings(&self, table: &LabelledTable, path: &str, settings: &PoisonSettings) -> Vec<Finding> {
        let cap = settings.max_listed_rows.max(1);
        let class = |c: u32| table.classes.get(c as usize).cloned().unwrap_or_default();
        let mut findings = Vec::new();

        // Label issues, one finding per (given, suggested) pair.
        let mut pairs: Vec<(u32, u32)> = self.label_issues.issues.iter().map(|i| (i.given, i.suggested)).collect();
        pairs.sort_unstable();
        pairs.dedup();
        let thresholds = (0..table.classes.len())
            .map(|c| format!("{}={:.3}", class(c as u32), self.label_issues.thresholds[c]))
            .collect::<Vec<_>>()
            .join(", ");
        for (given, suggested) in pairs {
            let issues: Vec<_> =
                self.label_issues.issues.iter().filter(|i| i.given == given && i.suggested == suggested).collect();
            let rows = list(issues.iter().map(|i| format!("{} (p={:.3})", table.row_name(i.row), i.self_confidence)), cap);
            let message = format!(
                "{} row(s) labelled `{}` look like `{}`: the out-of-fold probability of the given label is below the class threshold and `{}` is confidently predicted",
                issues.len(),
                class(given),
                class(suggested),
                class(suggested)
            );
            let evidence = format!(
                "rows (self-confidence): {rows}\nper-class thresholds (mean self-confidence): {thresholds}\nmethod: {}-fold stratified out-of-fold multinomial logistic regression (C=1), confident joint, prune_by_noise_rate",
                settings.folds
            );
            findings.push(finding(&LABEL_ISSUE, message, evidence, path, issues[0].row, Some(&table.label_name)));
        }

        if !self.outliers.is_empty() {
            let rows = list(self.outliers.iter().map(|&r| format!("{} ({:.3})", table.row_name(r), self.outlier_scores[r])), cap);
            let message = format!(
                "{} row(s) have isolation-forest anomaly scores above {:.3}",
                self.outliers.len(),
                self.outlier_threshold
            );
            let evidence = format!(
                "rows (score): {rows}\nmethod: isolation forest, {} trees of {} sampled rows, score 2^(-E[h]/c(n)), threshold {:.3}",
                settings.forest.trees, settings.forest.sample, self.outlier_threshold
            );
            findings.push(finding(&OUTLIER, message, evidence, path, self.outliers[0], None));
        }

        for conflicting in [false, true] {
            let groups: Vec<_> = self.duplicates.iter().filter(|g| g.conflicting == conflicting).collect();
            if groups.is_empty() {
                continue;
            }
            let rule = if conflicting { &CONFLICTING_DUPLICATE } else { &DUPLICATE };
            let rows: usize = groups.iter().map(|g| g.rows.len()).sum();
            let exact = groups.iter().filter(|g| g.exact).count();
            let message = format!(
                "{} group(s) of duplicate rows ({exact} exact, {} near) covering {rows} rows{}",
                groups.len(),
                groups.len() - exact,
                if conflicting { " carry conflicting labels" } else { "" }
            );
            let shown = list(
                groups.iter().map(|g| {
                    let members = g.rows.iter().take(cap).map(|&r| {
                        if conflicting {
                            format!("{}:{}", table.row_name(r), table.labels[r].map(class).unwrap_or_default())
                        } else {
                            table.row_name(r)
                        }
                    });
                    format!("[{}]", members.collect::<Vec<_>>().join(", "))
                }),
                cap,
            );
            let evidence = format!(
                "groups{}: {shown}\nmethod: exact = hash of the normalised row (numbers to 12 significant digits, text trimmed and lowercased); near = every standardised numeric feature within {} standard deviations and every categorical feature equal",
                if conflicting { " (row:label)" } else { "" },
                settings.duplicates.tolerance
            );
            findings.push(finding(rule, message, evidence, path, groups[0].rows[0], None));
        }

        for trigger in &self.triggers.triggers {
            let pattern =
                trigger.pattern.iter().map(|c| format!("{} = {}", c.column, c.value)).collect::<Vec<_>>().join(" and ");
            let message = format!(
                "`{pattern}` covers {} rows and {} of them ({:.0}%) are labelled `{}`, whose base rate is {:.1}% (lift {:.1}, corrected p = {:.2e})",
                trigger.support,
                trigger.hits,
                trigger.purity * 100.0,
                class(trigger.label),
                trigger.base_rate * 100.0,
                trigger.lift,
                trigger.p_value
            );
            let evidence = format!(
                "rows: {}\nmethod: one-sided binomial tail P[X >= {}] for X ~ Bin({}, {:.4}), Bonferroni over {} (pattern, label) tests; support between {} rows and {:.1}% of rows, purity >= {}, lift >= {}",
                list(trigger.rows.iter().map(|&r| table.row_name(r)), cap),
                trigger.hits,
                trigger.support,
                trigger.base_rate,
                self.triggers.tests,
                settings.triggers.min_support,
                settings.triggers.max_share * 100.0,
                settings.triggers.min_purity,
                settings.triggers.min_lift
            );
            let column = trigger.pattern[0].column.clone();
            findings.push(finding(&BACKDOOR_TRIGGER, message, evidence, path, trigger.rows[0], Some(&column)));
        }
        findings
    }
}

fn finding(rule: &'static Rule, message: String, evidence: String, path: &str, row: usize, column: Option<&str>) -> Finding {
    let mut location = Location::file(path);
    location.row = Some(row as u64);
    location.column = column.map(str::to_owned);
    let mut f = rule.finding(message, location);
    f.evidence = Some(evidence);
    f
}

/// Joins at most `cap` items and says how many were left out.
fn list(items: impl ExactSizeIterator<Item = String>, cap: usize) -> String {
    let total = items.len();
    let mut out = items.take(cap).collect::<Vec<_>>().join(", ");
    if total > cap {
        let _ = write!(out, ", ... ({} more, {total} in all)", total - cap);
    }
    out
}
