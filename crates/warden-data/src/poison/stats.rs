//! Small statistics helpers: log-gamma and the binomial upper tail, in log space so tiny
//! p-values (1e-300 and below) stay exact enough to rank.

/// `ln Γ(x)` for `x > 0` (Lanczos, g = 7; about 15 significant digits).
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const COEF: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection formula.
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = COEF[0];
    let t = x + G + 0.5;
    for (i, c) in COEF.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// `ln P[X >= k]` for `X ~ Binomial(n, p)`.
pub fn ln_binomial_upper_tail(k: u64, n: u64, p: f64) -> f64 {
    if k == 0 {
        return 0.0;
    }
    if k > n || p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return 0.0;
    }
    let (lp, lq) = (p.ln(), (1.0 - p).ln());
    let ln_n_fact = ln_gamma(n as f64 + 1.0);
    let term = |i: u64| {
        ln_n_fact - ln_gamma(i as f64 + 1.0) - ln_gamma((n - i) as f64 + 1.0) + i as f64 * lp + (n - i) as f64 * lq
    };
    let max = (k..=n).map(term).fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 = (k..=n).map(|i| (term(i) - max).exp()).sum();
    (max + sum.ln()).min(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gamma_and_binomial_tail_match_known_values() {
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-12);
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-12);
        // P[Bin(10, 0.5) >= 8] = 56/1024.
        assert!((ln_binomial_upper_tail(8, 10, 0.5).exp() - 56.0 / 1024.0).abs() < 1e-12);
        assert_eq!(ln_binomial_upper_tail(0, 10, 0.3), 0.0);
        assert_eq!(ln_binomial_upper_tail(11, 10, 0.3), f64::NEG_INFINITY);
        // 50 of 50 at p = 0.05 is astronomically unlikely but finite in log space.
        let l = ln_binomial_upper_tail(50, 50, 0.05);
        assert!((l - 50.0 * 0.05f64.ln()).abs() < 1e-9);
    }
}
