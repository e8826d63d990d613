//! Every statistic against scipy and every fairness metric against Fairlearn, on inputs drawn
//! from the same deterministic generator as `scripts/gen_monitor_expected.py` (which wrote
//! `tests/data/expected.json`). Statistics must agree within 1e-9, p-values within 1e-6.

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow_schema::{Field, Schema};
use serde_json::Value;
use warden_monitor::detect::shapiro_w;
use warden_monitor::drift::{DriftOptions, DriftTest, drift};
use warden_monitor::fairness::{Outcome, fairness};

const STAT_TOL: f64 = 1e-9;
const P_TOL: f64 = 1e-6;

struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    fn normalish(&mut self) -> f64 {
        let mut s = self.uniform() + self.uniform();
        s += self.uniform();
        s += self.uniform();
        (s - 2.0) * 3f64.sqrt()
    }
}

fn sample(spec: &Value) -> Vec<f64> {
    let s = spec.as_array().unwrap();
    let (seed, n, shift, scale, decimals) =
        (s[0].as_u64().unwrap(), s[1].as_u64().unwrap(), s[2].as_f64().unwrap(), s[3].as_f64().unwrap(), s[4].as_i64().unwrap());
    let mut rng = SplitMix(seed);
    (0..n)
        .map(|_| {
            let x = shift + scale * rng.normalish();
            if decimals >= 0 {
                let f = 10f64.powi(decimals as i32);
                (x * f + 0.5).floor() / f
            } else {
                x
            }
        })
        .collect()
}

fn categories(spec: &Value) -> Vec<String> {
    let s = spec.as_array().unwrap();
    let (seed, n) = (s[0].as_u64().unwrap(), s[1].as_u64().unwrap());
    let weights: Vec<f64> = s[2].as_array().unwrap().iter().map(|w| w.as_f64().unwrap()).collect();
    let total: f64 = weights.iter().sum();
    let mut rng = SplitMix(seed);
    (0..n)
        .map(|_| {
            let u = rng.uniform() * total;
            let mut acc = 0.0;
            let mut k = weights.len() - 1;
            for (i, w) in weights.iter().enumerate() {
                acc += w;
                if u < acc {
                    k = i;
                    break;
                }
            }
            k.to_string()
        })
        .collect()
}

fn expected() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn batch(name: &str, col: ArrayRef) -> (Vec<String>, Vec<RecordBatch>) {
    let schema = Arc::new(Schema::new(vec![Field::new(name, col.data_type().clone(), true)]));
    (vec![name.to_owned()], vec![RecordBatch::try_new(schema, vec![col]).unwrap()])
}

fn run(r: ArrayRef, c: ArrayRef, test: DriftTest) -> (f64, Option<f64>) {
    let (rn, rb) = batch("x", r);
    let (cn, cb) = batch("x", c);
    let report = drift(&rb, &cb, &rn, &cn, &DriftOptions { test: Some(test), ..DriftOptions::default() }).unwrap();
    (report.columns[0].statistic, report.columns[0].p_value)
}

fn close(what: &str, got: f64, want: f64, tol: f64) {
    assert!((got - want).abs() <= tol, "{what}: got {got:e}, scipy {want:e} (diff {:e})", (got - want).abs());
}

#[test]
fn numeric_statistics_match_scipy() {
    let doc = expected();
    for case in doc["numeric"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let r: ArrayRef = Arc::new(Float64Array::from(sample(&case["reference"])));
        let c: ArrayRef = Arc::new(Float64Array::from(sample(&case["current"])));
        let (d, p) = run(r.clone(), c.clone(), DriftTest::Ks);
        close(&format!("{name} ks statistic"), d, case["ks_statistic"].as_f64().unwrap(), STAT_TOL);
        close(&format!("{name} ks p-value"), p.unwrap(), case["ks_p_value"].as_f64().unwrap(), P_TOL);
        let (w, p) = run(r.clone(), c.clone(), DriftTest::Wasserstein);
        assert!(p.is_none());
        close(&format!("{name} wasserstein (normed)"), w, case["wasserstein_normed"].as_f64().unwrap(), STAT_TOL);
        let (js, _) = run(r.clone(), c.clone(), DriftTest::Jensenshannon);
        close(&format!("{name} jensenshannon"), js, case["jensenshannon"].as_f64().unwrap(), STAT_TOL);
        let (psi, _) = run(r, c, DriftTest::Psi);
        close(&format!("{name} psi"), psi, case["psi"].as_f64().unwrap(), STAT_TOL);
        let mut a = sample(&case["reference"]);
        let mut b = sample(&case["current"]);
        a.sort_by(f64::total_cmp);
        b.sort_by(f64::total_cmp);
        close(&format!("{name} raw wasserstein"), warden_monitor::stats::wasserstein(&a, &b), case["wasserstein"].as_f64().unwrap(), STAT_TOL);
    }
}

#[test]
fn categorical_statistics_match_scipy() {
    let doc = expected();
    for case in doc["categorical"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let r: ArrayRef = Arc::new(StringArray::from(categories(&case["reference"])));
        let c: ArrayRef = Arc::new(StringArray::from(categories(&case["current"])));
        let (s, p) = run(r.clone(), c.clone(), DriftTest::Chisquare);
        close(&format!("{name} chisquare"), s, case["chisquare_statistic"].as_f64().unwrap(), STAT_TOL * s.abs().max(1.0));
        close(&format!("{name} chisquare p"), p.unwrap(), case["chisquare_p_value"].as_f64().unwrap(), P_TOL);
        let (js, _) = run(r.clone(), c.clone(), DriftTest::Jensenshannon);
        close(&format!("{name} jensenshannon"), js, case["jensenshannon"].as_f64().unwrap(), STAT_TOL);
        let (psi, _) = run(r.clone(), c.clone(), DriftTest::Psi);
        close(&format!("{name} psi"), psi, case["psi"].as_f64().unwrap(), STAT_TOL);
        if let Some(z) = case.get("z_statistic") {
            let (zs, p) = run(r, c, DriftTest::Z);
            close(&format!("{name} z"), zs, z.as_f64().unwrap(), STAT_TOL);
            close(&format!("{name} z p"), p.unwrap(), case["z_p_value"].as_f64().unwrap(), P_TOL);
        }
    }
}

#[test]
fn shapiro_w_matches_scipy() {
    let doc = expected();
    for case in doc["shapiro"].as_array().unwrap() {
        let spec = serde_json::json!([case["seed"], case["n"], 0.0, 1.0, -1]);
        let xs = sample(&spec);
        let sq: Vec<f64> = xs.iter().map(|x| x * x).collect();
        // scipy computes W in single precision (Fortran swilk): agree to 1e-6.
        close("shapiro W", shapiro_w(&xs).unwrap(), case["w"].as_f64().unwrap(), 1e-6);
        close("shapiro W squared", shapiro_w(&sq).unwrap(), case["w_squared"].as_f64().unwrap(), 1e-6);
    }
}

#[test]
fn fairness_metrics_match_fairlearn() {
    let doc = expected();
    for case in doc["fairness"].as_array().unwrap() {
        let mut rng = SplitMix(case["seed"].as_u64().unwrap());
        let mut groups = Vec::new();
        let mut outcomes = Vec::new();
        for _ in 0..case["rows"].as_u64().unwrap() {
            let g = (rng.uniform() * 3.0) as usize;
            let s = (rng.uniform() * 2.0) as usize;
            let y = rng.uniform() < 0.3 + 0.1 * g as f64;
            let bias = [0.0, 0.15, -0.2][g] + if s == 1 { 0.05 } else { 0.0 };
            let p = rng.uniform() < (if y { 0.75 } else { 0.2 }) + bias;
            groups.push(vec![["a", "b", "c"][g].to_owned(), ["f", "m"][s].to_owned()]);
            outcomes.push(Outcome { y_true: y, y_pred: p });
        }
        let report = fairness(&["group".into(), "sex".into()], &groups, &outcomes, None).unwrap();
        let want = case["by_group"].as_array().unwrap();
        assert_eq!(report.by_group.len(), want.len());
        for (got, want) in report.by_group.iter().zip(want) {
            let wg: Vec<String> = want["group"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
            assert_eq!(got.group, wg);
            close("selection_rate", got.selection_rate, want["selection_rate"].as_f64().unwrap(), STAT_TOL);
            close("true_positive_rate", got.true_positive_rate, want["true_positive_rate"].as_f64().unwrap(), STAT_TOL);
            close("false_positive_rate", got.false_positive_rate, want["false_positive_rate"].as_f64().unwrap(), STAT_TOL);
            close("accuracy", got.accuracy, want["accuracy"].as_f64().unwrap(), STAT_TOL);
            assert_eq!(got.count as f64, want["count"].as_f64().unwrap());
        }
        close("overall selection_rate", report.overall.selection_rate, case["overall"]["selection_rate"].as_f64().unwrap(), STAT_TOL);
        for (k, v) in [
            ("demographic_parity_difference", report.demographic_parity_difference),
            ("demographic_parity_ratio", report.demographic_parity_ratio),
            ("equalized_odds_difference", report.equalized_odds_difference),
            ("equalized_odds_ratio", report.equalized_odds_ratio),
            ("equal_opportunity_difference", report.equal_opportunity_difference),
            ("equal_opportunity_ratio", report.equal_opportunity_ratio),
        ] {
            close(k, v, case[k].as_f64().unwrap(), STAT_TOL);
        }
    }
}
