//! Label issues by confident learning (Northcutt, Jiang and Chuang, "Confident Learning:
//! Estimating Uncertainty in Dataset Labels", JAIR 2021): out-of-fold class probabilities from
//! stratified K-fold cross-validation, per-class thresholds (mean self-confidence), the calibrated
//! confident joint, then `prune_by_noise_rate` as in cleanlab's `find_label_issues`.

use super::features::Matrix;
use super::logreg::{LogReg, LogRegSettings};
use super::rng::Rng;

/// One row whose given label the out-of-fold model confidently disagrees with.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelIssue {
    /// 0-based row.
    pub row: usize,
    /// The given class.
    pub given: u32,
    /// The class the model believes in (largest out-of-fold probability).
    pub suggested: u32,
    /// Out-of-fold probability of the given class.
    pub self_confidence: f64,
    /// Probability of `suggested` minus probability of `given`.
    pub margin: f64,
}

/// What confident learning found, with the quantities that explain it.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelIssues {
    /// Flagged rows, lowest self-confidence first.
    pub issues: Vec<LabelIssue>,
    /// Per-class thresholds (mean self-confidence of the rows given that class).
    pub thresholds: Vec<f64>,
    /// Calibrated confident joint, `joint[given][true]`, rounded to row counts.
    pub joint: Vec<Vec<usize>>,
}

/// What one worker returns: its fold models and the rows it predicted.
type FoldResult = (Vec<(usize, LogReg)>, Vec<(usize, Vec<f64>)>);

/// Stratified K-fold out-of-fold class probabilities: each labelled row is predicted by a model
/// that never saw it. Rows without a label, or with `exclude[row]` set, are never trained on and
/// are predicted by their fold's model. Folds (stratified on `labels`, so the same for any
/// `exclude`) run on up to `threads` threads; `warm` gives each fold's starting model. Returns
/// the probabilities and the fold models.
#[allow(clippy::too_many_arguments)]
pub fn out_of_fold_probabilities(
    x: &Matrix,
    labels: &[Option<u32>],
    exclude: Option<&[bool]>,
    classes: usize,
    folds: usize,
    seed: u64,
    threads: usize,
    warm: Option<&[LogReg]>,
) -> (Matrix, Vec<LogReg>) {
    let n = x.rows;
    let folds = folds.max(2);
    let mut fold_of = vec![0usize; n];
    let mut rng = Rng::new(seed);
    let mut per_class: Vec<Vec<usize>> = vec![Vec::new(); classes + 1];
    for (i, l) in labels.iter().enumerate() {
        per_class[l.map_or(classes, |c| c as usize)].push(i);
    }
    let mut next = 0usize;
    for rows in &mut per_class {
        rng.shuffle(rows);
        for &i in rows.iter() {
            fold_of[i] = next % folds;
            next += 1;
        }
    }
    let y: Vec<u32> = labels.iter().map(|l| l.unwrap_or(0)).collect();
    let mut probs = Matrix::zeros(n, classes);
    let threads = threads.clamp(1, folds);
    let trainable = |i: usize| labels[i].is_some() && !exclude.is_some_and(|e| e[i]);
    let results: Vec<FoldResult> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (fold_of, y) = (&fold_of, &y);
                let trainable = &trainable;
                scope.spawn(move || {
                    let mut out = Vec::new();
                    let mut models = Vec::new();
                    for fold in (t..folds).step_by(threads) {
                        let train: Vec<usize> = (0..n).filter(|&i| fold_of[i] != fold && trainable(i)).collect();
                        let start = warm.and_then(|w| w.get(fold));
                        let model = LogReg::fit_from(x, y, &train, classes, LogRegSettings::default(), start);
                        let mut p = vec![0.0; classes];
                        for i in (0..n).filter(|&i| fold_of[i] == fold) {
                            model.predict_proba(x.row(i), &mut p);
                            out.push((i, p.clone()));
                        }
                        models.push((fold, model));
                    }
                    (models, out)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    });
    let mut models: Vec<(usize, LogReg)> = Vec::new();
    for (fold_models, rows) in results {
        models.extend(fold_models);
        for (i, p) in rows {
            probs.row_mut(i).copy_from_slice(&p);
        }
    }
    models.sort_by_key(|(fold, _)| *fold);
    (probs, models.into_iter().map(|(_, m)| m).collect())
}

/// Finds label issues from out-of-fold probabilities (`probs`, one row per table row).
#[allow(clippy::needless_range_loop)] // class indices address several matrices at once
pub fn find_label_issues(probs: &Matrix, labels: &[Option<u32>], classes: usize) -> LabelIssues {
    let labelled: Vec<(usize, usize)> =
        labels.iter().enumerate().filter_map(|(i, l)| l.map(|c| (i, c as usize))).collect();
    // Per-class threshold: mean probability of class j among rows given j.
    let mut sum = vec![0.0; classes];
    let mut count = vec![0usize; classes];
    for &(i, c) in &labelled {
        sum[c] += probs.get(i, c);
        count[c] += 1;
    }
    let thresholds: Vec<f64> =
        (0..classes).map(|c| if count[c] > 0 { sum[c] / count[c] as f64 } else { f64::INFINITY }).collect();

    // Confident joint: each row counts toward (given, most probable class among those above threshold).
    let mut joint = vec![vec![0usize; classes]; classes];
    for &(i, given) in &labelled {
        let p = probs.row(i);
        let best = (0..classes)
            .filter(|&j| p[j] >= thresholds[j] - 1e-6)
            .max_by(|&a, &b| p[a].total_cmp(&p[b]).then(b.cmp(&a)));
        if let Some(j) = best {
            joint[given][j] += 1;
        }
    }
    let joint = calibrate(&joint, &count, labelled.len());

    // prune_by_noise_rate: for each (given k, true j != k) remove the joint[k][j] rows given k
    // with the largest margin p_j - p_k.
    let mut flagged = vec![false; probs.rows];
    for k in 0..classes {
        let rows_k: Vec<usize> = labelled.iter().filter(|&&(_, c)| c == k).map(|&(i, _)| i).collect();
        // Keep at least one row per class, as cleanlab's `min_examples_per_class=1`.
        let mut remaining = rows_k.len().saturating_sub(1);
        for j in (0..classes).filter(|&j| j != k) {
            let take = joint[k][j].min(remaining);
            remaining -= take;
            if take == 0 {
                continue;
            }
            let mut by_margin: Vec<(f64, usize)> =
                rows_k.iter().map(|&i| (probs.get(i, j) - probs.get(i, k), i)).collect();
            by_margin.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            for &(_, i) in by_margin.iter().take(take) {
                flagged[i] = true;
            }
        }
    }
    let mut issues = Vec::new();
    for &(i, given) in &labelled {
        if !flagged[i] {
            continue;
        }
        let p = probs.row(i);
        let suggested = argmax(p);
        // As cleanlab: a row the model predicts as its given label is not an issue.
        if suggested == given {
            continue;
        }
        issues.push(LabelIssue {
            row: i,
            given: given as u32,
            suggested: suggested as u32,
            self_confidence: p[given],
            margin: p[suggested] - p[given],
        });
    }
    issues.sort_by(|a, b| a.self_confidence.total_cmp(&b.self_confidence).then(a.row.cmp(&b.row)));
    LabelIssues { issues, thresholds, joint }
}

fn argmax(p: &[f64]) -> usize {
    (0..p.len()).max_by(|&a, &b| p[a].total_cmp(&p[b]).then(b.cmp(&a))).unwrap_or(0)
}

#[allow(clippy::needless_range_loop)] // class indices address several matrices at once
/// Calibrates the confident joint so each row sums to the class's given count and the whole sums
/// to the number of labelled rows, then rounds.
fn calibrate(joint: &[Vec<usize>], count: &[usize], total: usize) -> Vec<Vec<usize>> {
    let classes = joint.len();
    let mut cal = vec![vec![0.0f64; classes]; classes];
    for k in 0..classes {
        let row_sum: usize = joint[k].iter().sum();
        if row_sum == 0 {
            continue;
        }
        for j in 0..classes {
            cal[k][j] = joint[k][j] as f64 / row_sum as f64 * count[k] as f64;
        }
    }
    let all: f64 = cal.iter().flatten().sum();
    let scale = if all > 0.0 { total as f64 / all } else { 0.0 };
    cal.iter().map(|r| r.iter().map(|v| (v * scale).round() as usize).collect()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_a_row_whose_label_disagrees_with_confident_predictions() {
        // Ten rows confidently class 0, ten class 1; row 3 is given 1 but looks like 0.
        let n = 20;
        let mut probs = Matrix::zeros(n, 2);
        let mut labels = Vec::new();
        for i in 0..n {
            let c = usize::from(i >= 10);
            probs.row_mut(i).copy_from_slice(if c == 0 { &[0.9, 0.1] } else { &[0.15, 0.85] });
            labels.push(Some(c as u32));
        }
        labels[3] = Some(1);
        let found = find_label_issues(&probs, &labels, 2);
        let rows: Vec<usize> = found.issues.iter().map(|i| i.row).collect();
        assert_eq!(rows, vec![3]);
        assert_eq!(found.issues[0].suggested, 0);
        assert!(found.thresholds[1] < 0.85);
    }
}
