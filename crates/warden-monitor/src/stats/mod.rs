//! The statistics behind drift detection, written to agree with scipy: the two-sample
//! Kolmogorov-Smirnov test, Pearson's chi-square, the two-proportion Z-test, the Jensen-Shannon
//! distance, the first Wasserstein distance and the Population Stability Index.

mod kolmogorov;

pub use kolmogorov::{KsMethod, kolmogorov_sf, ks_2samp, ks_statistic, smirnov_sf};

use statrs::function::erf::erfc;
use statrs::function::gamma::checked_gamma_ur;

/// Pearson's chi-square goodness of fit (`scipy.stats.chisquare(f_obs, f_exp)`):
/// `(statistic, p_value)` with `len - 1` degrees of freedom.
pub fn chisquare(observed: &[f64], expected: &[f64]) -> (f64, f64) {
    let stat: f64 = observed.iter().zip(expected).map(|(o, e)| (o - e) * (o - e) / e).sum();
    let dof = observed.len().saturating_sub(1) as f64;
    let p = if dof == 0.0 || stat.is_nan() {
        f64::NAN
    } else if stat.is_infinite() {
        0.0
    } else if stat <= 0.0 {
        // Identical distributions: scipy gives 1 (statrs' Q(a, x) is only defined for x > 0).
        1.0
    } else {
        checked_gamma_ur(dof / 2.0, stat / 2.0).unwrap_or(f64::NAN)
    };
    (stat, p)
}

#[cfg(test)]
mod chisquare_tests {
    use super::chisquare;

    #[test]
    fn identical_observed_and_expected_give_p_one_without_panicking() {
        let (stat, p) = chisquare(&[3.0, 5.0, 2.0], &[3.0, 5.0, 2.0]);
        assert_eq!(stat, 0.0);
        assert_eq!(p, 1.0);
    }
}

/// Two-sided p-value of a standard normal statistic, `2 (1 - Phi(|z|))`.
pub fn normal_two_sided_p(z: f64) -> f64 {
    erfc(z.abs() / std::f64::consts::SQRT_2)
}

/// Z-test for the difference of two independent proportions with a pooled variance:
/// `(z, p_value)`; successes and totals of the two samples.
pub fn proportions_z_test(k1: f64, n1: f64, k2: f64, n2: f64) -> (f64, f64) {
    let (p1, p2) = (k1 / n1, k2 / n2);
    let pooled = (k1 + k2) / (n1 + n2);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    if se == 0.0 {
        return (0.0, 1.0);
    }
    let z = (p1 - p2) / se;
    (z, normal_two_sided_p(z))
}

fn rel_entr(x: f64, y: f64) -> f64 {
    if x > 0.0 && y > 0.0 {
        x * (x / y).ln()
    } else if x == 0.0 && y >= 0.0 {
        0.0
    } else {
        f64::INFINITY
    }
}

/// `scipy.spatial.distance.jensenshannon(p, q)` (natural logarithm): both vectors are
/// normalised to sum 1 first.
pub fn jensen_shannon(p: &[f64], q: &[f64]) -> f64 {
    let (sp, sq): (f64, f64) = (p.iter().sum(), q.iter().sum());
    let mut js = 0.0;
    for (a, b) in p.iter().zip(q) {
        let (a, b) = (a / sp, b / sq);
        let m = (a + b) / 2.0;
        js += rel_entr(a, m) + rel_entr(b, m);
    }
    (js / 2.0).sqrt()
}

/// `scipy.stats.wasserstein_distance(u, v)` on sorted, NaN-free samples.
pub fn wasserstein(u: &[f64], v: &[f64]) -> f64 {
    let (nu, nv) = (u.len() as f64, v.len() as f64);
    let (mut i, mut j) = (0, 0);
    let mut prev = f64::NAN;
    let mut total = 0.0;
    while i < u.len() || j < v.len() {
        let x = match (u.get(i), v.get(j)) {
            (Some(&a), Some(&b)) => a.min(b),
            (Some(&a), None) => a,
            (None, Some(&b)) => b,
            (None, None) => break,
        };
        if !prev.is_nan() {
            // Between prev and x both CDFs are flat at their values after prev.
            total += (i as f64 / nu - j as f64 / nv).abs() * (x - prev);
        }
        while i < u.len() && u[i] <= x {
            i += 1;
        }
        while j < v.len() && v[j] <= x {
            j += 1;
        }
        prev = x;
    }
    total
}

/// Population Stability Index over matching bin shares (Evidently's form: empty shares are
/// replaced by 0.0001): `sum((ref - cur) * ln(ref / cur))`.
pub fn psi(reference_shares: &[f64], current_shares: &[f64]) -> f64 {
    reference_shares
        .iter()
        .zip(current_shares)
        .map(|(&r, &c)| {
            let r = if r == 0.0 { 0.0001 } else { r };
            let c = if c == 0.0 { 0.0001 } else { c };
            (r - c) * (r / c).ln()
        })
        .sum()
}

/// Population standard deviation (`numpy.std`, ddof 0), by a two-pass sum.
pub fn std_dev(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    (values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_form_values() {
        let (s, p) = chisquare(&[10.0, 20.0], &[15.0, 15.0]);
        assert!((s - 10.0 / 3.0).abs() < 1e-12);
        assert!((p - 0.067889154861829).abs() < 1e-12, "{p}");
        let p = normal_two_sided_p(1.959963984540054);
        assert!((p - 0.05).abs() < 1e-10, "{p}");
        assert_eq!(jensen_shannon(&[1.0, 0.0], &[1.0, 0.0]), 0.0);
        assert!((jensen_shannon(&[1.0, 0.0], &[0.0, 1.0]) - std::f64::consts::LN_2.sqrt()).abs() < 1e-12);
        assert!((wasserstein(&[0.0, 1.0, 3.0], &[5.0, 6.0, 8.0]) - 5.0).abs() < 1e-12);
        assert_eq!(psi(&[0.5, 0.5], &[0.5, 0.5]), 0.0);
    }
}
