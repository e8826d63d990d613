//! The Kolmogorov-Smirnov two-sample test with scipy's method choice: exact lattice-path
//! probabilities (Hodges 1958; Viehmann 2021 for the `1 - p` recursion) when both samples have at
//! most 10,000 values, else the one-sample Kolmogorov distribution at `n = round(mn/(m+n))`
//! (Simard & L'Ecuyer 2011: Durbin matrix, Pelz-Good, Smirnov's exact one-sided sum).

use statrs::function::gamma::ln_gamma;

/// Largest sample size for which the exact method is attempted (as scipy's `MAX_AUTO_N`).
const MAX_EXACT_N: usize = 10_000;

/// Which p-value computation [`ks_2samp`] used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KsMethod {
    /// Exact lattice-path probability.
    Exact,
    /// The Kolmogorov distribution at the effective sample size.
    Asymptotic,
}

/// Two-sided two-sample KS test on sorted, NaN-free samples: `(statistic, p_value, method)`.
/// Returns `None` when either sample is empty.
pub fn ks_2samp(a: &[f64], b: &[f64]) -> Option<(f64, f64, KsMethod)> {
    let (n1, n2) = (a.len(), b.len());
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let d = ks_statistic(a, b);
    if n1.max(n2) <= MAX_EXACT_N {
        let g = gcd(n1, n2);
        let lcm = (n1 / g) as f64 * n2 as f64;
        let h = (d * lcm).round_ties_even() as u64;
        let d_exact = h as f64 / lcm;
        if h == 0 {
            return Some((d_exact, 1.0, KsMethod::Exact));
        }
        let p = if n1 == n2 {
            prob_outside_square(n1 as u64, h)
        } else {
            outer_prob_inside(n1 as u64, n2 as u64, g as u64, h)
        };
        if p.is_finite() && (0.0..=1.0).contains(&p) {
            return Some((d_exact, p, KsMethod::Exact));
        }
        let p = kolmogorov_sf(effective_n(n1, n2), d_exact).clamp(0.0, 1.0);
        return Some((d_exact, p, KsMethod::Asymptotic));
    }
    let p = kolmogorov_sf(effective_n(n1, n2), d).clamp(0.0, 1.0);
    Some((d, p, KsMethod::Asymptotic))
}

fn effective_n(n1: usize, n2: usize) -> u64 {
    let (m, n) = (n1.max(n2) as f64, n1.min(n2) as f64);
    (m * n / (m + n)).round_ties_even() as u64
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The largest absolute difference between the two empirical CDFs (both inputs sorted).
pub fn ks_statistic(a: &[f64], b: &[f64]) -> f64 {
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j) = (0, 0);
    let mut d: f64 = 0.0;
    while i < a.len() && j < b.len() {
        let x = a[i].min(b[j]);
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        d = d.max((i as f64 / n1 - j as f64 / n2).abs());
    }
    d
}

/// Proportion of lattice paths leaving the band `|x - y| < h` when both samples have size `n`.
fn prob_outside_square(n: u64, h: u64) -> f64 {
    let mut p = 0.0;
    let mut k = (n / h) as i64;
    let (nf, hf) = (n as f64, h as f64);
    while k >= 0 {
        let kh = k as f64 * hf;
        let mut p1 = 1.0;
        for j in 0..h {
            let j = j as f64;
            p1 *= (nf - kh - j) / (nf + kh + j + 1.0);
        }
        p = p1 * (1.0 - p);
        k -= 1;
    }
    2.0 * p
}

/// Proportion of lattice paths from (0,0) to (m,n) that leave the band `|nx - my| < h g`.
fn outer_prob_inside(m: u64, n: u64, g: u64, h: u64) -> f64 {
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    let (mg, ng) = (m / g, n / g);
    let mut minj: i64 = 0;
    let mut maxj: i64 = (h.div_ceil(mg) as i64).min(n as i64 + 1);
    let mut curlen = maxj - minj;
    let len = ((2 * maxj + 2) as usize).min(n as usize + 1);
    let mut a = vec![1.0f64; len];
    for v in a.iter_mut().take(maxj as usize) {
        *v = 0.0;
    }
    let (h, mg, ng) = (h as i64, mg as i64, ng as i64);
    for i in 1..=m as i64 {
        let (lastminj, lastlen) = (minj, curlen);
        minj = ((ng * i - h).div_euclid(mg) + 1).max(0).min(n as i64);
        maxj = div_ceil_i64(ng * i + h, mg).min(n as i64 + 1);
        if maxj <= minj {
            return 1.0;
        }
        let mut val = if minj == 0 { 0.0 } else { 1.0 };
        let fi = i as f64;
        for jj in 0..(maxj - minj) {
            let j = (jj + minj) as f64;
            let idx = (jj + minj - lastminj) as usize;
            let prev = a.get(idx).copied().unwrap_or(1.0);
            val = (prev * fi + val * j) / (fi + j);
            a[jj as usize] = val;
        }
        curlen = maxj - minj;
        if lastlen > curlen {
            let start = (maxj - minj) as usize;
            let end = (start + (lastlen - curlen) as usize).min(a.len());
            for v in &mut a[start..end] {
                *v = 1.0;
            }
        }
    }
    a[(maxj - minj - 1) as usize]
}

fn div_ceil_i64(a: i64, b: i64) -> i64 {
    -((-a).div_euclid(b))
}

/// Survival function of the two-sided one-sample Kolmogorov statistic `D_n` at `x`.
pub fn kolmogorov_sf(n: u64, x: f64) -> f64 {
    if n == 0 || x.is_nan() {
        return f64::NAN;
    }
    if x >= 1.0 {
        return 0.0;
    }
    if x <= 0.0 {
        return 1.0;
    }
    let nf = n as f64;
    let t = nf * x;
    if t <= 1.0 {
        if t <= 0.5 {
            return 1.0;
        }
        let cdf = (ln_factorial(n) - nf * nf.ln() + nf * (2.0 * t - 1.0).ln()).exp();
        return (1.0 - cdf).clamp(0.0, 1.0);
    }
    if t >= nf - 1.0 {
        return (2.0 * (1.0 - x).powf(nf)).clamp(0.0, 1.0);
    }
    if x >= 0.5 {
        return (2.0 * smirnov_sf(n, x)).clamp(0.0, 1.0);
    }
    let nxx = t * x;
    if n <= 140 {
        if nxx <= 4.0 {
            return (1.0 - durbin_cdf(n, x)).clamp(0.0, 1.0);
        }
        return (2.0 * smirnov_sf(n, x)).clamp(0.0, 1.0);
    }
    if nxx >= 370.0 {
        return 0.0;
    }
    if nxx >= 2.2 {
        return (2.0 * smirnov_sf(n, x)).clamp(0.0, 1.0);
    }
    let cdf = if n <= 100_000 && nf * x.powf(1.5) <= 1.4 { durbin_cdf(n, x) } else { pelz_good_cdf(n, x) };
    (1.0 - cdf).clamp(0.0, 1.0)
}

fn ln_factorial(n: u64) -> f64 {
    ln_gamma(n as f64 + 1.0)
}

/// Smirnov's exact one-sided `P(D_n^+ >= x)` (Birnbaum & Tingey 1951), summed in log space.
pub fn smirnov_sf(n: u64, x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    if x >= 1.0 {
        return 0.0;
    }
    let nf = n as f64;
    let jmax = (nf * (1.0 - x)).floor() as u64;
    let ln_n_fact = ln_factorial(n);
    let mut sum = 0.0;
    for j in 0..=jmax {
        let jf = j as f64;
        let a = x + jf / nf;
        let b = 1.0 - x - jf / nf;
        if b <= 0.0 {
            continue;
        }
        let ln_term = ln_n_fact - ln_factorial(j) - ln_factorial(n - j) + (jf - 1.0) * a.ln() + (nf - jf) * b.ln();
        sum += ln_term.exp();
    }
    (x * sum).clamp(0.0, 1.0)
}

/// Durbin's matrix method for `P(D_n < d)` (Marsaglia, Tsang & Wang 2003), with scaling.
fn durbin_cdf(n: u64, d: f64) -> f64 {
    const E: i32 = 128;
    let ep = 2f64.powi(E);
    let nd = n as f64 * d;
    if nd <= 0.5 {
        return 0.0;
    }
    let k = nd.ceil() as usize;
    let h = k as f64 - nd;
    let m = 2 * k - 1;
    let mut v = vec![0.0; m];
    let mut w = vec![0.0; m];
    let mut fac = 1.0;
    for j in 1..=m {
        w[j - 1] = fac;
        fac /= j as f64;
        v[j - 1] = (1.0 - h.powi(j as i32)) * fac;
    }
    let tt = (2.0 * h - 1.0).max(0.0).powi(m as i32) - 2.0 * h.powi(m as i32);
    v[m - 1] = (1.0 + tt) * fac;
    let mut hm = vec![0.0; m * m];
    for i in 1..m {
        for r in (i - 1)..m {
            hm[r * m + i] = w[r - (i - 1)];
        }
    }
    for r in 0..m {
        hm[r * m] = v[r];
    }
    for c in 0..m {
        hm[(m - 1) * m + c] = v[m - 1 - c];
    }
    let mut pw = vec![0.0; m * m];
    for i in 0..m {
        pw[i * m + i] = 1.0;
    }
    let (mut nn, mut expnt, mut hexp) = (n, 0i64, 0i64);
    while nn > 0 {
        if nn % 2 == 1 {
            pw = matmul(&pw, &hm, m);
            expnt += hexp;
        }
        hm = matmul(&hm, &hm, m);
        hexp *= 2;
        if hm[(k - 1) * m + (k - 1)].abs() > ep {
            hm.iter_mut().for_each(|x| *x /= ep);
            hexp += i64::from(E);
        }
        nn /= 2;
    }
    let mut p = pw[(k - 1) * m + (k - 1)];
    let em = 2f64.powi(-E);
    for i in 1..=n {
        p = i as f64 * p / n as f64;
        if p.abs() < em {
            p *= ep;
            expnt -= i64::from(E);
        }
    }
    if expnt != 0 {
        p *= 2f64.powi(expnt.clamp(-2000, 2000) as i32);
    }
    p.clamp(0.0, 1.0)
}

fn matmul(a: &[f64], b: &[f64], m: usize) -> Vec<f64> {
    let mut out = vec![0.0; m * m];
    for i in 0..m {
        for k in 0..m {
            let aik = a[i * m + k];
            if aik == 0.0 {
                continue;
            }
            for j in 0..m {
                out[i * m + j] += aik * b[k * m + j];
            }
        }
    }
    out
}

/// The Pelz-Good asymptotic series for `P(D_n <= x)`.
fn pelz_good_cdf(n: u64, x: f64) -> f64 {
    use std::f64::consts::PI;
    let nf = n as f64;
    let z = nf.sqrt() * x;
    let (z2, z3, z4, z6) = (z * z, z.powi(3), z.powi(4), z.powi(6));
    let qlog = -PI * PI / 8.0 / z2;
    if qlog < -708.0 {
        return 0.0;
    }
    let q = qlog.exp();
    let (pi2, pi4, pi6) = (PI * PI, PI.powi(4), PI.powi(6));
    let k1a = -z2;
    let k1b = pi2 / 4.0;
    let k2a = 6.0 * z6 + 2.0 * z4;
    let k2b = (2.0 * z4 - 5.0 * z2) * pi2 / 4.0;
    let k2c = pi4 * (1.0 - 2.0 * z2) / 16.0;
    let k3d = pi6 * (5.0 - 30.0 * z2) / 64.0;
    let k3c = pi4 * (-60.0 * z2 + 212.0 * z4) / 16.0;
    let k3b = pi2 * (135.0 * z4 - 96.0 * z6) / 4.0;
    let k3a = -30.0 * z6 - 90.0 * z.powi(8);
    let mut kk = [0.0f64; 4];
    let maxk = (16.0 * z / PI).ceil() as i64;
    for k in (1..=maxk).rev() {
        let m = (2 * k - 1) as f64;
        let (m2, m4, m6) = (m * m, m.powi(4), m.powi(6));
        let qp = q.powf(8.0 * k as f64);
        let coeffs = [1.0, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4, k3a + k3b * m2 + k3c * m4 + k3d * m6];
        for (acc, c) in kk.iter_mut().zip(coeffs) {
            *acc = *acc * qp + c;
        }
    }
    let sqrt2pi = (2.0 * PI).sqrt();
    let denom = [z, 6.0 * z4, 72.0 * z.powi(7), 6480.0 * z.powi(10)];
    for (acc, d) in kk.iter_mut().zip(denom) {
        *acc = *acc * q * sqrt2pi / d;
    }
    let q2 = (-pi2 / 2.0 / z2).exp();
    let sqrt3z = 3f64.sqrt() * z;
    let (mut k2extra, mut k3extra) = (0.0, 0.0);
    for k in (1..=maxk).rev() {
        let kf = k as f64;
        let qp = q2.powf(kf * kf);
        k2extra += kf * kf * qp;
        let kspi = PI * kf;
        k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * kf * kf * qp;
    }
    kk[2] += k2extra * pi2 * sqrt2pi / (-36.0 * z3);
    kk[3] += k3extra * pi2 * sqrt2pi / (216.0 * z6);
    kk.iter().enumerate().map(|(i, v)| v / nf.powf(i as f64 / 2.0)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistic_of_identical_samples_is_zero_and_p_one() {
        let a = [1.0, 2.0, 3.0];
        let (d, p, m) = ks_2samp(&a, &a).unwrap();
        assert_eq!((d, p, m), (0.0, 1.0, KsMethod::Exact));
        assert!(ks_2samp(&[], &a).is_none());
    }

    #[test]
    fn disjoint_samples_have_statistic_one() {
        let (d, p, _) = ks_2samp(&[1.0, 2.0, 3.0, 4.0], &[5.0, 6.0, 7.0, 8.0]).unwrap();
        assert_eq!(d, 1.0);
        // 2 / C(8,4) = 2/70.
        assert!((p - 2.0 / 70.0).abs() < 1e-12, "{p}");
    }

    #[test]
    fn kolmogorov_sf_is_monotone() {
        let mut last = 1.0;
        for i in 1..100 {
            let p = kolmogorov_sf(5000, i as f64 / 1000.0);
            assert!(p <= last + 1e-12, "{i} {p} {last}");
            last = p;
        }
    }
}
