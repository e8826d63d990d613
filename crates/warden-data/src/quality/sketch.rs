//! Bounded-memory summaries for profiling: exact distinct counting up to a cap then HyperLogLog,
//! Space-Saving top values, a seeded reservoir for quantiles, and value shapes for patterns.

use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};

use crate::poison::rng::Rng;

/// A stable 64-bit hash of a value's text (SipHash with fixed keys).
pub fn hash_text(text: &str) -> u64 {
    let mut h = DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

/// Distinct values: exact (a set of 64-bit hashes) up to `cap`, then a HyperLogLog estimate
/// (2^12 registers, about 1.6% standard error). The HyperLogLog always runs so the switch is free.
#[derive(Debug, Clone)]
pub struct DistinctCounter {
    exact: Option<HashSet<u64>>,
    cap: usize,
    registers: Vec<u8>,
}

const HLL_BITS: u32 = 12;

impl DistinctCounter {
    /// A counter that stays exact for up to `cap` distinct values.
    pub fn new(cap: usize) -> Self {
        DistinctCounter { exact: Some(HashSet::new()), cap, registers: vec![0; 1 << HLL_BITS] }
    }

    /// Adds a value by its hash.
    pub fn add(&mut self, hash: u64) {
        let index = (hash >> (64 - HLL_BITS)) as usize;
        let rank = ((hash << HLL_BITS) | (1 << (HLL_BITS - 1))).leading_zeros() as u8 + 1;
        if rank > self.registers[index] {
            self.registers[index] = rank;
        }
        if let Some(set) = &mut self.exact {
            set.insert(hash);
            if set.len() > self.cap {
                self.exact = None;
            }
        }
    }

    /// The count and whether it is exact (exact up to 64-bit hash collisions).
    pub fn count(&self) -> (u64, bool) {
        match &self.exact {
            Some(set) => (set.len() as u64, true),
            None => (self.estimate().round() as u64, false),
        }
    }

    fn estimate(&self) -> f64 {
        let m = self.registers.len() as f64;
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let sum: f64 = self.registers.iter().map(|&r| 2f64.powi(-i32::from(r))).sum();
        let raw = alpha * m * m / sum;
        let zeros = self.registers.iter().filter(|&&r| r == 0).count();
        if raw <= 2.5 * m && zeros > 0 { m * (m / zeros as f64).ln() } else { raw }
    }
}

/// Misra-Gries heavy hitters: exact while fewer than `capacity` distinct values were seen;
/// afterwards counts under-estimate by at most `n / (capacity + 1)`. Amortised O(1) per value.
#[derive(Debug, Clone)]
pub struct TopValues {
    counts: HashMap<String, u64>,
    capacity: usize,
    evicted: bool,
}

impl TopValues {
    /// Tracks up to `capacity` values.
    pub fn new(capacity: usize) -> Self {
        TopValues { counts: HashMap::new(), capacity: capacity.max(1), evicted: false }
    }

    /// Counts one value.
    pub fn add(&mut self, value: &str) {
        if let Some(c) = self.counts.get_mut(value) {
            *c += 1;
        } else if self.counts.len() < self.capacity {
            self.counts.insert(value.to_owned(), 1);
        } else {
            // Decrement every counter (the new value's single count cancels out with them).
            self.counts.retain(|_, c| {
                *c -= 1;
                *c > 0
            });
            self.evicted = true;
        }
    }

    /// The `k` most frequent values with their counts, and whether the counts are exact.
    pub fn top(&self, k: usize) -> (Vec<(String, u64)>, bool) {
        let mut all: Vec<(String, u64)> = self.counts.iter().map(|(v, c)| (v.clone(), *c)).collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        all.truncate(k);
        (all, !self.evicted)
    }

    /// Every tracked value, when no value was ever evicted (so the set is complete).
    pub fn complete_set(&self) -> Option<Vec<String>> {
        if self.evicted {
            return None;
        }
        let mut v: Vec<String> = self.counts.keys().cloned().collect();
        v.sort();
        Some(v)
    }
}

/// A uniform sample of at most `capacity` numbers (Vitter's algorithm R, seeded).
#[derive(Debug, Clone)]
pub struct Reservoir {
    sample: Vec<f64>,
    capacity: usize,
    seen: u64,
    rng: Rng,
}

impl Reservoir {
    /// A reservoir of `capacity` values.
    pub fn new(capacity: usize, seed: u64) -> Self {
        Reservoir { sample: Vec::new(), capacity: capacity.max(1), seen: 0, rng: Rng::new(seed) }
    }

    /// Offers one value.
    pub fn add(&mut self, x: f64) {
        self.seen += 1;
        if self.sample.len() < self.capacity {
            self.sample.push(x);
        } else {
            let j = (self.rng.next_u64() % self.seen) as usize;
            if j < self.capacity {
                self.sample[j] = x;
            }
        }
    }

    /// Quantiles (linear interpolation, as numpy's default) and whether they are exact (every
    /// value was kept).
    pub fn quantiles(&self, qs: &[f64]) -> (Vec<f64>, bool) {
        let mut s = self.sample.clone();
        s.sort_by(f64::total_cmp);
        let out = qs
            .iter()
            .map(|&q| {
                if s.is_empty() {
                    return f64::NAN;
                }
                let pos = q.clamp(0.0, 1.0) * (s.len() - 1) as f64;
                let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
                s[lo] + (s[hi] - s[lo]) * (pos - lo as f64)
            })
            .collect();
        (out, self.seen as usize == self.sample.len())
    }
}

/// The shape of a short text: runs of upper-case letters become `A`, lower-case `a`, digits `9`,
/// whitespace ` `, other characters stay. `"AB-1234"` and `"XY-99"` share the shape `A-9`.
/// `None` for values longer than 64 characters (no cheap pattern).
pub fn shape(text: &str) -> Option<String> {
    if text.chars().count() > 64 {
        return None;
    }
    let mut out = String::new();
    let mut last = None;
    for ch in text.chars() {
        let class = if ch.is_ascii_uppercase() {
            'A'
        } else if ch.is_ascii_lowercase() {
            'a'
        } else if ch.is_ascii_digit() {
            '9'
        } else if ch.is_whitespace() {
            ' '
        } else {
            ch
        };
        let runs = matches!(class, 'A' | 'a' | '9' | ' ');
        if !(runs && last == Some(class)) {
            out.push(class);
        }
        last = Some(class);
    }
    Some(out)
}

/// The anchored regular expression matching every text of a shape.
pub fn shape_regex(shape: &str) -> String {
    let mut out = String::from("^");
    for ch in shape.chars() {
        match ch {
            'A' => out.push_str("[A-Z]+"),
            'a' => out.push_str("[a-z]+"),
            '9' => out.push_str("[0-9]+"),
            ' ' => out.push_str("\\s+"),
            other => out.push_str(&regex::escape(&other.to_string())),
        }
    }
    out.push('$');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_counts_exact_then_estimates() {
        let mut small = DistinctCounter::new(1000);
        for i in 0..500u32 {
            small.add(hash_text(&(i % 100).to_string()));
        }
        assert_eq!(small.count(), (100, true));
        let mut big = DistinctCounter::new(1000);
        for i in 0..50_000u32 {
            big.add(hash_text(&i.to_string()));
        }
        let (est, exact) = big.count();
        assert!(!exact);
        assert!((est as f64 - 50_000.0).abs() < 2_500.0, "{est}");
    }

    #[test]
    fn top_values_and_reservoir_quantiles() {
        let mut top = TopValues::new(10);
        for v in ["a", "b", "a", "c", "a", "b"] {
            top.add(v);
        }
        assert_eq!(top.top(2), (vec![("a".into(), 3), ("b".into(), 2)], true));
        let mut r = Reservoir::new(1000, 1);
        for i in 0..=100 {
            r.add(f64::from(i));
        }
        assert_eq!(r.quantiles(&[0.0, 0.5, 0.99]), (vec![0.0, 50.0, 99.0], true));
    }

    #[test]
    fn shapes_and_their_regexes() {
        assert_eq!(shape("AB-1234").as_deref(), Some("A-9"));
        assert_eq!(shape("ab.cd@ex.org").as_deref(), Some("a.a@a.a"));
        let re = regex::Regex::new(&shape_regex("A-9")).unwrap();
        assert!(re.is_match("XY-99") && !re.is_match("xy-99"));
    }
}
