//! Precision and recall floors per poison type on generated tables with known injected rows,
//! plus invariants (row order, random tables never panic).

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::synthetic::{GenSettings, generate};
use super::*;

fn precision_recall(found: &BTreeSet<usize>, truth: &BTreeSet<usize>) -> (f64, f64) {
    let hit = found.intersection(truth).count() as f64;
    let p = if found.is_empty() { 1.0 } else { hit / found.len() as f64 };
    let r = if truth.is_empty() { 1.0 } else { hit / truth.len() as f64 };
    (p, r)
}

struct Scores {
    label: (f64, f64),
    outlier: (f64, f64),
    duplicate: (f64, f64),
    conflicting: (f64, f64),
    backdoor: (f64, f64),
}

fn evaluate(settings: GenSettings) -> Scores {
    let poisoned = generate(settings);
    let table = poisoned.labelled();
    let report = analyse(&table, &PoisonSettings::default());
    let set = |rows: Vec<usize>| rows.into_iter().collect::<BTreeSet<usize>>();
    let label_found = set(report.label_issues.issues.iter().map(|i| i.row).collect());
    let outlier_found = set(report.outliers.clone());
    let dup_found = set(report.duplicates.iter().filter(|g| !g.conflicting).flat_map(|g| g.rows.clone()).collect());
    let conflict_found = set(report.duplicates.iter().filter(|g| g.conflicting).flat_map(|g| g.rows.clone()).collect());
    let backdoor_found = set(report.triggers.triggers.iter().flat_map(|t| t.rows.clone()).collect());
    Scores {
        label: precision_recall(&label_found, &set(poisoned.mislabelled_rows())),
        outlier: precision_recall(&outlier_found, &set(poisoned.rows_of(&["outlier"], false))),
        duplicate: precision_recall(&dup_found, &set(poisoned.rows_of(&["duplicate", "near-duplicate"], true))),
        conflicting: precision_recall(&conflict_found, &set(poisoned.rows_of(&["conflicting-duplicate"], true))),
        backdoor: precision_recall(&backdoor_found, &set(poisoned.rows_of(&["backdoor-single", "backdoor-pair"], false))),
    }
}

#[test]
fn each_poison_type_is_found_with_precision_and_recall_floors() {
    for seed in [1, 2] {
        let s = evaluate(GenSettings { seed, rows: 3000, ..GenSettings::default() });
        let floors = [
            ("label issues", s.label, 0.7, 0.85),
            ("outliers", s.outlier, 0.7, 0.9),
            ("duplicates", s.duplicate, 0.95, 0.95),
            ("conflicting duplicates", s.conflicting, 0.95, 0.95),
            ("backdoor rows", s.backdoor, 0.95, 0.95),
        ];
        for (name, (p, r), min_p, min_r) in floors {
            assert!(p >= min_p && r >= min_r, "seed {seed}: {name} precision {p:.3} recall {r:.3}");
        }
    }
}

fn random_table(cells: &[(f64, u8, u8)], missing: &[bool]) -> LabelledTable {
    let x: Vec<Option<f64>> = cells.iter().zip(missing).map(|(c, m)| (!m).then_some(c.0)).collect();
    let c: Vec<Option<String>> = cells.iter().map(|c| Some(format!("v{}", c.1 % 4))).collect();
    let y: Vec<Option<String>> = cells.iter().map(|c| Some(format!("y{}", c.2 % 3))).collect();
    let cols = vec![Column::numeric("x", x.clone()), Column::numeric("x2", x), Column::categorical("c", &c), Column::categorical("y", &y)];
    LabelledTable::from_columns(cols, "y", None, None).expect("well-formed")
}

fn permute(table: &LabelledTable, order: &[usize]) -> LabelledTable {
    let mut t = table.clone();
    for col in &mut t.features {
        col.data = match &col.data {
            ColumnData::Numeric(v) => ColumnData::Numeric(order.iter().map(|&i| v[i]).collect()),
            ColumnData::Categorical { codes, dictionary } => ColumnData::Categorical {
                codes: order.iter().map(|&i| codes[i]).collect(),
                dictionary: dictionary.clone(),
            },
        };
    }
    t.labels = order.iter().map(|&i| table.labels[i]).collect();
    t
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn never_panics_on_random_tables(cells in proptest::collection::vec((-1e6f64..1e6, 0u8..8, 0u8..5), 0..60),
                                     missing in proptest::collection::vec(any::<bool>(), 60)) {
        let table = random_table(&cells, &missing[..cells.len()]);
        let settings = PoisonSettings { folds: 3, threads: 1, ..PoisonSettings::default() };
        let report = analyse(&table, &settings);
        let _ = report.findings(&table, "t.csv", &settings);
        prop_assert_eq!(report.outlier_scores.len(), cells.len());
    }

    #[test]
    fn row_order_does_not_change_exact_duplicates(cells in proptest::collection::vec((0f64..4.0, 0u8..3, 0u8..2), 2..50),
                                                 seed in any::<u64>()) {
        let cells: Vec<(f64, u8, u8)> = cells.into_iter().map(|(x, c, y)| (x.floor(), c, y)).collect();
        let table = random_table(&cells, &vec![false; cells.len()]);
        let mut order: Vec<usize> = (0..cells.len()).collect();
        rng::Rng::new(seed).shuffle(&mut order);
        let shuffled = permute(&table, &order);
        let exact = |t: &LabelledTable, map: &dyn Fn(usize) -> usize| {
            let settings = dedup::DuplicateSettings { tolerance: 0.0, ..dedup::DuplicateSettings::default() };
            let mut groups: Vec<Vec<usize>> = dedup::find_duplicates(t, settings)
                .into_iter()
                .map(|g| { let mut r: Vec<usize> = g.rows.iter().map(|&i| map(i)).collect(); r.sort_unstable(); r })
                .collect();
            groups.sort();
            groups
        };
        prop_assert_eq!(exact(&table, &|i| i), exact(&shuffled, &|i| order[i]));
    }
}
