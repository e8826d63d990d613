//! Tests of the generator, and the precision/recall floors of the detector on its output.

use std::collections::BTreeMap;

use super::*;
use crate::pii::{DetectOptions, Detector, validate};

#[test]
fn same_seed_same_records() {
    let a = labelled_texts(50, 7);
    let b = labelled_texts(50, 7);
    assert_eq!(a.iter().map(|r| &r.text).collect::<Vec<_>>(), b.iter().map(|r| &r.text).collect::<Vec<_>>());
    assert_ne!(labelled_texts(5, 8)[0].text, a[0].text);
    assert_eq!(table_row(1, 42), table_row(1, 42));
}

#[test]
fn labelled_values_are_valid_by_construction() {
    for rec in labelled_texts(2000, 11) {
        let chars: Vec<char> = rec.text.chars().collect();
        for s in &rec.spans {
            let v: String = chars[s.start..s.end].iter().collect();
            let ok = match s.entity {
                Entity::PhoneNumber => validate::phone(&v),
                Entity::CreditCard => validate::card(&v),
                Entity::Iban => validate::iban(&v),
                Entity::UsSsn => validate::us_ssn(&v),
                Entity::UkNino => validate::uk_nino(&v),
                Entity::IpAddress => validate::ip(&v),
                Entity::CryptoWallet => validate::bitcoin(&v) || validate::ethereum(&v),
                Entity::DateOfBirth => validate::date(&v),
                _ => true,
            };
            assert!(ok, "{:?} `{v}` ({}) is not valid", s.entity, rec.locale);
        }
    }
}

/// Per-entity (true positives, false positives, false negatives) with overlap matching.
/// `WARDEN_DEBUG_PII=1` prints every miss and false alarm (for tuning recognizers).
#[allow(clippy::print_stderr)]
fn evaluate(records: &[LabelledText], det: &Detector) -> BTreeMap<Entity, (usize, usize, usize)> {
    let mut stats: BTreeMap<Entity, (usize, usize, usize)> = BTreeMap::new();
    let opts = DetectOptions::default();
    for rec in records {
        let found: Vec<(usize, usize, Entity)> = det
            .detect(&rec.text, None, &opts)
            .iter()
            .map(|d| {
                let (s, e) = d.char_span(&rec.text);
                (s, e, d.entity)
            })
            .collect();
        let overlaps = |a: (usize, usize), b: (usize, usize)| a.0 < b.1 && b.0 < a.1;
        for &(s, e, ent) in &found {
            let hit = rec.spans.iter().any(|g| g.entity == ent && overlaps((s, e), (g.start, g.end)));
            let st = stats.entry(ent).or_default();
            if hit { st.0 += 1 } else { st.1 += 1 }
            if !hit && std::env::var_os("WARDEN_DEBUG_PII").is_some() {
                eprintln!("FP {ent}: `{}` in {}", rec.text.chars().skip(s).take(e - s).collect::<String>(), rec.text);
            }
        }
        for g in &rec.spans {
            if !found.iter().any(|&(s, e, ent)| ent == g.entity && overlaps((s, e), (g.start, g.end))) {
                stats.entry(g.entity).or_default().2 += 1;
                if std::env::var_os("WARDEN_DEBUG_PII").is_some() {
                    eprintln!("FN {}: `{}` in {}", g.entity, rec.text.chars().skip(g.start).take(g.end - g.start).collect::<String>(), rec.text);
                }
            }
        }
    }
    stats
}

#[test]
fn precision_and_recall_floors_per_entity() {
    let records = labelled_texts(4000, 2026);
    let stats = evaluate(&records, Detector::shipped());
    // Floors measured on this data and rounded down; names/places include out-of-dictionary values.
    let floors: &[(Entity, f64, f64)] = &[
        (Entity::Email, 0.99, 0.99),
        (Entity::PhoneNumber, 0.95, 0.95),
        (Entity::CreditCard, 0.99, 0.99),
        (Entity::Iban, 0.99, 0.99),
        (Entity::UsSsn, 0.99, 0.99),
        (Entity::UkNino, 0.99, 0.99),
        (Entity::Passport, 0.95, 0.95),
        (Entity::IpAddress, 0.99, 0.99),
        (Entity::MacAddress, 0.99, 0.99),
        (Entity::Url, 0.99, 0.99),
        (Entity::DateOfBirth, 0.99, 0.95),
        (Entity::Person, 0.90, 0.85),
        (Entity::Location, 0.90, 0.75),
        (Entity::CryptoWallet, 0.99, 0.99),
        (Entity::Secret, 0.99, 0.99),
    ];
    let mut report = String::new();
    let mut failed = false;
    for &(entity, p_floor, r_floor) in floors {
        let (tp, fp, fn_) = stats.get(&entity).copied().unwrap_or_default();
        let p = tp as f64 / (tp + fp).max(1) as f64;
        let r = tp as f64 / (tp + fn_).max(1) as f64;
        let bad = p < p_floor || r < r_floor || tp == 0;
        failed |= bad;
        report.push_str(&format!("{entity:14} tp {tp:5} fp {fp:4} fn {fn_:4} precision {p:.3} recall {r:.3}{}\n", if bad { "  <-- below floor" } else { "" }));
    }
    assert!(!failed, "\n{report}");
}
