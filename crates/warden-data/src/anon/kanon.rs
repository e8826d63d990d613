//! k-anonymity and l-diversity over chosen quasi-identifier columns of the anonymised output.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

/// One equivalence class: its row count and distinct sensitive values.
type Class = (u64, HashSet<Option<String>>);

/// Equivalence classes (rows sharing every quasi-identifier value), built row by row.
#[derive(Debug, Default)]
pub struct KAnonymity {
    classes: HashMap<Vec<Option<String>>, Class>,
    rows: u64,
}

/// The k-anonymity / l-diversity summary.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct KAnonReport {
    /// The quasi-identifier columns.
    pub quasi_identifiers: Vec<String>,
    /// The sensitive column, for l-diversity.
    pub sensitive: Option<String>,
    /// Rows counted.
    pub rows: u64,
    /// Distinct combinations of quasi-identifier values.
    pub equivalence_classes: u64,
    /// The size of the smallest class: the table is k-anonymous for this k.
    pub k: u64,
    /// The k the user asked for.
    pub k_target: u64,
    /// Classes smaller than `k_target`.
    pub classes_below_target: u64,
    /// Rows in those classes (re-identification risk).
    pub rows_below_target: u64,
    /// Fewest distinct sensitive values in a class (l-diversity), when a sensitive column is given.
    pub l: Option<u64>,
}

impl KAnonymity {
    /// Counts one row.
    pub fn add(&mut self, qi: Vec<Option<String>>, sensitive: Option<Option<String>>) {
        self.rows += 1;
        let entry = self.classes.entry(qi).or_default();
        entry.0 += 1;
        if let Some(s) = sensitive {
            entry.1.insert(s);
        }
    }

    /// The summary for `k_target`.
    pub fn report(&self, quasi_identifiers: Vec<String>, sensitive: Option<String>, k_target: u64) -> KAnonReport {
        let small = self.classes.values().filter(|(n, _)| *n < k_target);
        KAnonReport {
            rows: self.rows,
            equivalence_classes: self.classes.len() as u64,
            k: self.classes.values().map(|(n, _)| *n).min().unwrap_or(0),
            k_target,
            classes_below_target: small.clone().count() as u64,
            rows_below_target: small.map(|(n, _)| *n).sum(),
            l: sensitive.as_ref().map(|_| self.classes.values().map(|(_, s)| s.len() as u64).min().unwrap_or(0)),
            quasi_identifiers,
            sensitive,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k_is_the_smallest_class_and_l_the_least_diverse() {
        let mut k = KAnonymity::default();
        let row = |a: &str, b: &str| vec![Some(a.to_owned()), Some(b.to_owned())];
        for (qi, s) in [(row("1980", "NW1"), "flu"), (row("1980", "NW1"), "cold"), (row("1980", "NW1"), "flu"), (row("1990", "E2"), "flu")] {
            k.add(qi, Some(Some(s.to_owned())));
        }
        let r = k.report(vec!["year".into(), "zip".into()], Some("diagnosis".into()), 2);
        assert_eq!((r.k, r.equivalence_classes, r.classes_below_target, r.rows_below_target, r.l), (1, 2, 1, 1, Some(1)));
    }
}
