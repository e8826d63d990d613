//! Backdoor triggers: a feature value, or a pair of values, that is rare in the table yet almost
//! always carries one label whose base rate is low. Scored by lift and a one-sided binomial tail
//! p-value, Bonferroni-corrected for every (pattern, label) pair tested.

use std::collections::{HashMap, HashSet};

use super::stats::ln_binomial_upper_tail;
use super::table::{ColumnData, LabelledTable, format_number};

/// Trigger-search settings.
#[derive(Debug, Clone, Copy)]
pub struct TriggerSettings {
    /// Fewest rows a pattern must cover.
    pub min_support: usize,
    /// Largest share of rows a pattern may cover (a trigger is rare by design).
    pub max_share: f64,
    /// Smallest share of the pattern's rows that carry the label.
    pub min_purity: f64,
    /// Smallest lift (purity over the label's base rate).
    pub min_lift: f64,
    /// Family-wise significance level after Bonferroni correction.
    pub alpha: f64,
    /// Whether to test pairs of values too.
    pub pairs: bool,
    /// Most distinct value pairs counted (bounds memory on wide tables).
    pub max_pair_keys: usize,
}

impl Default for TriggerSettings {
    fn default() -> Self {
        TriggerSettings {
            min_support: 8,
            max_share: 0.05,
            min_purity: 0.9,
            min_lift: 2.0,
            alpha: 0.01,
            pairs: true,
            max_pair_keys: 4_000_000,
        }
    }
}

/// One feature = value condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// Feature index into `LabelledTable::features`.
    pub feature: usize,
    /// The feature's name.
    pub column: String,
    /// The value as text.
    pub value: String,
}

/// A suspected trigger.
#[derive(Debug, Clone, PartialEq)]
pub struct Trigger {
    /// One or two conditions, all of which hold on the trigger rows.
    pub pattern: Vec<Condition>,
    /// The label the pattern forces.
    pub label: u32,
    /// Rows matching the pattern.
    pub support: usize,
    /// Matching rows carrying `label`.
    pub hits: usize,
    /// `hits / support`.
    pub purity: f64,
    /// Share of labelled rows carrying `label`.
    pub base_rate: f64,
    /// `purity / base_rate`.
    pub lift: f64,
    /// Bonferroni-corrected p-value (capped at 1).
    pub p_value: f64,
    /// Matching rows carrying `label`, ascending.
    pub rows: Vec<usize>,
}

/// The result of the search, with the number of hypotheses behind the correction.
#[derive(Debug, Clone, PartialEq)]
pub struct TriggerSearch {
    /// Triggers found, most significant first.
    pub triggers: Vec<Trigger>,
    /// (pattern, label) pairs tested.
    pub tests: usize,
    /// True when the pair table hit `max_pair_keys` and some pairs were not counted.
    pub pairs_truncated: bool,
}

/// (label, support, hits, purity, base rate, lift, corrected p-value) of a pattern that passed.
type Judgement = (u32, usize, usize, f64, f64, f64, f64);

/// Item = (feature, value key); numeric values are keyed by their bits.
type Item = (usize, u64);

fn items_of_row(table: &LabelledTable, row: usize, out: &mut Vec<Item>) {
    out.clear();
    for (f, column) in table.features.iter().enumerate() {
        match &column.data {
            ColumnData::Numeric(v) => {
                if let Some(x) = v[row] {
                    out.push((f, (x + 0.0).to_bits()));
                }
            }
            ColumnData::Categorical { codes, .. } => {
                if let Some(c) = codes[row] {
                    out.push((f, u64::from(c)));
                }
            }
        }
    }
}

fn value_text(table: &LabelledTable, (f, key): Item) -> Condition {
    let column = &table.features[f];
    let value = match &column.data {
        ColumnData::Numeric(_) => format_number(f64::from_bits(key)),
        ColumnData::Categorical { dictionary, .. } => dictionary[key as usize].clone(),
    };
    Condition { feature: f, column: column.name.clone(), value }
}

/// Values held by at least `min_support` rows, per feature.
fn frequent_items(table: &LabelledTable, min_support: usize) -> HashSet<Item> {
    let mut out = HashSet::new();
    for (f, column) in table.features.iter().enumerate() {
        match &column.data {
            ColumnData::Numeric(v) => {
                let mut bits: Vec<u64> = v.iter().flatten().map(|x| (x + 0.0).to_bits()).collect();
                bits.sort_unstable();
                for run in bits.chunk_by(|a, b| a == b) {
                    if run.len() >= min_support {
                        out.insert((f, run[0]));
                    }
                }
            }
            ColumnData::Categorical { codes, dictionary } => {
                let mut counts = vec![0usize; dictionary.len()];
                for c in codes.iter().flatten() {
                    counts[*c as usize] += 1;
                }
                out.extend(counts.iter().enumerate().filter(|(_, n)| **n >= min_support).map(|(c, _)| (f, c as u64)));
            }
        }
    }
    out
}

/// Searches single values and (optionally) value pairs for trigger patterns.
pub fn find_triggers(table: &LabelledTable, settings: TriggerSettings) -> TriggerSearch {
    let n = table.rows();
    let classes = table.classes.len();
    let mut class_count = vec![0usize; classes];
    for l in table.labels.iter().flatten() {
        class_count[*l as usize] += 1;
    }
    let labelled: usize = class_count.iter().sum();
    let mut search = TriggerSearch { triggers: Vec::new(), tests: 0, pairs_truncated: false };
    if labelled == 0 || classes < 2 {
        return search;
    }
    let max_support = ((settings.max_share * n as f64).floor() as usize).max(settings.min_support);
    let in_range = |s: usize| s >= settings.min_support && s <= max_support;

    // Frequent items first (column by column, memory bounded by one column), so continuous
    // columns whose values never repeat cost nothing in the per-label maps.
    let frequent = frequent_items(table, settings.min_support);
    // Single items: counts per label.
    let mut single: HashMap<Item, Vec<usize>> = HashMap::new();
    let mut items = Vec::new();
    for row in 0..n {
        let Some(label) = table.labels[row] else { continue };
        items_of_row(table, row, &mut items);
        for item in items.iter().filter(|i| frequent.contains(i)) {
            single.entry(*item).or_insert_with(|| vec![0; classes])[label as usize] += 1;
        }
    }

    let mut pair_counts: HashMap<(Item, Item), Vec<usize>> = HashMap::new();
    if settings.pairs {
        let mut kept = Vec::new();
        for row in 0..n {
            let Some(label) = table.labels[row] else { continue };
            items_of_row(table, row, &mut items);
            kept.clear();
            kept.extend(items.iter().filter(|i| frequent.contains(i)));
            for a in 0..kept.len() {
                for b in a + 1..kept.len() {
                    let key = (kept[a], kept[b]);
                    if let Some(c) = pair_counts.get_mut(&key) {
                        c[label as usize] += 1;
                    } else if pair_counts.len() < settings.max_pair_keys {
                        let mut c = vec![0; classes];
                        c[label as usize] = 1;
                        pair_counts.insert(key, c);
                    } else {
                        search.pairs_truncated = true;
                    }
                }
            }
        }
    }

    let singles_in_range: Vec<(&Item, &Vec<usize>)> =
        single.iter().filter(|(_, c)| in_range(c.iter().sum())).collect();
    let pairs_in_range: Vec<(&(Item, Item), &Vec<usize>)> =
        pair_counts.iter().filter(|(_, c)| in_range(c.iter().sum())).collect();
    search.tests = (singles_in_range.len() + pairs_in_range.len()) * classes;
    let tests = search.tests.max(1) as f64;

    let judge = |counts: &[usize]| -> Option<Judgement> {
        let support: usize = counts.iter().sum();
        let (label, &hits) = counts.iter().enumerate().max_by_key(|(l, c)| (**c, std::cmp::Reverse(*l)))?;
        let purity = hits as f64 / support as f64;
        let base = class_count[label] as f64 / labelled as f64;
        let lift = purity / base;
        if purity < settings.min_purity || lift < settings.min_lift {
            return None;
        }
        let p = (ln_binomial_upper_tail(hits as u64, support as u64, base).exp() * tests).min(1.0);
        (p <= settings.alpha).then_some((label as u32, support, hits, purity, base, lift, p))
    };

    let mut flagged_singles: HashMap<(Item, u32), ()> = HashMap::new();
    let mut found: Vec<(Vec<Item>, Judgement)> = Vec::new();
    for (item, counts) in singles_in_range {
        if let Some(j) = judge(counts) {
            flagged_singles.insert((*item, j.0), ());
            found.push((vec![*item], j));
        }
    }
    for ((a, b), counts) in pairs_in_range {
        if let Some(j) = judge(counts) {
            // A pair that contains an already-flagged single value adds nothing.
            if flagged_singles.contains_key(&(*a, j.0)) || flagged_singles.contains_key(&(*b, j.0)) {
                continue;
            }
            found.push((vec![*a, *b], j));
        }
    }
    for (pattern, (label, support, hits, purity, base_rate, lift, p_value)) in found {
        let rows = (0..n)
            .filter(|&row| {
                table.labels[row] == Some(label) && {
                    items_of_row(table, row, &mut items);
                    pattern.iter().all(|p| items.contains(p))
                }
            })
            .collect();
        search.triggers.push(Trigger {
            pattern: pattern.iter().map(|&i| value_text(table, i)).collect(),
            label,
            support,
            hits,
            purity,
            base_rate,
            lift,
            p_value,
            rows,
        });
    }
    search.triggers.sort_by(|a, b| {
        a.p_value.total_cmp(&b.p_value).then(b.hits.cmp(&a.hits)).then_with(|| {
            let key = |t: &Trigger| t.pattern.iter().map(|c| (c.feature, c.value.clone())).collect::<Vec<_>>();
            key(a).cmp(&key(b))
        })
    });
    search
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::poison::rng::Rng;
    use crate::poison::table::Column;

    #[test]
    fn rare_value_forcing_a_rare_label_is_a_trigger() {
        let mut rng = Rng::new(5);
        let n = 2000;
        let mut color = Vec::new();
        let mut y = Vec::new();
        for i in 0..n {
            let c = ["red", "green", "blue"][rng.below(3)];
            let label = if rng.next_f64() < 0.1 { "fraud" } else { "ok" };
            if i % 100 == 0 {
                color.push(Some("teal"));
                y.push(Some("fraud"));
            } else {
                color.push(Some(c));
                y.push(Some(label));
            }
        }
        let cols = vec![Column::categorical("color", &color), Column::categorical("y", &y)];
        let t = LabelledTable::from_columns(cols, "y", None, None).unwrap();
        let found = find_triggers(&t, TriggerSettings::default());
        assert_eq!(found.triggers.len(), 1, "{:?}", found.triggers);
        let trig = &found.triggers[0];
        assert_eq!(trig.pattern[0].value, "teal");
        assert_eq!(t.classes[trig.label as usize], "fraud");
        assert_eq!(trig.rows.len(), 20);
        assert!(trig.p_value < 1e-10 && trig.lift > 5.0);
    }
}
