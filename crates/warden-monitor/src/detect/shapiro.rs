//! The Shapiro-Wilk W statistic with Royston's (1992/1995, algorithm AS R94) coefficients, as
//! `scipy.stats.shapiro` computes it.

use statrs::function::erf::erfc_inv;

fn normal_quantile(p: f64) -> f64 {
    -std::f64::consts::SQRT_2 * erfc_inv(2.0 * p)
}

fn poly(c: &[f64], x: f64) -> f64 {
    c.iter().rev().fold(0.0, |acc, &k| acc * x + k)
}

/// W for `values` (any order, 3..=5000 values); `None` outside that range. A sample with no
/// spread gets W = 0: identical distances are themselves far from normal.
pub fn shapiro_w(values: &[f64]) -> Option<f64> {
    let n = values.len();
    if !(3..=5000).contains(&n) {
        return None;
    }
    let mut x = values.to_vec();
    x.sort_unstable_by(f64::total_cmp);
    if x[n - 1] - x[0] < 1e-19 {
        return Some(0.0);
    }
    let a = cached_coefficients(n);
    let mean = x.iter().sum::<f64>() / n as f64;
    let ssq: f64 = x.iter().map(|v| (v - mean) * (v - mean)).sum();
    let sa: f64 = a.iter().enumerate().map(|(i, ai)| ai * (x[n - 1 - i] - x[i])).sum();
    Some((sa * sa / ssq).min(1.0))
}

thread_local! {
    static CACHE: std::cell::RefCell<(usize, std::rc::Rc<Vec<f64>>)> = std::cell::RefCell::new((0, std::rc::Rc::new(Vec::new())));
}

/// The coefficients for `n`, cached for the last `n` (detectors test one window size).
fn cached_coefficients(n: usize) -> std::rc::Rc<Vec<f64>> {
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.0 != n {
            *c = (n, std::rc::Rc::new(coefficients(n)));
        }
        c.1.clone()
    })
}

/// The first `n/2` Shapiro-Wilk coefficients (the rest are their mirror image).
fn coefficients(n: usize) -> Vec<f64> {
    const C1: [f64; 6] = [0.0, 0.221157, -0.147981, -2.071190, 4.434685, -2.706056];
    const C2: [f64; 6] = [0.0, 0.042981, -0.293762, -1.752461, 5.682633, -3.582633];
    let nn2 = n / 2;
    if n == 3 {
        return vec![std::f64::consts::FRAC_1_SQRT_2];
    }
    let an25 = n as f64 + 0.25;
    let m: Vec<f64> = (1..=nn2).map(|i| normal_quantile((i as f64 - 0.375) / an25)).collect();
    let summ2 = 2.0 * m.iter().map(|v| v * v).sum::<f64>();
    let ssumm2 = summ2.sqrt();
    let rsn = 1.0 / (n as f64).sqrt();
    let a1 = poly(&C1, rsn) - m[0] / ssumm2;
    let mut a = vec![0.0; nn2];
    let (first, fac) = if n > 5 {
        let a2 = -m[1] / ssumm2 + poly(&C2, rsn);
        let fac = ((summ2 - 2.0 * m[0] * m[0] - 2.0 * m[1] * m[1]) / (1.0 - 2.0 * a1 * a1 - 2.0 * a2 * a2)).sqrt();
        a[1] = a2;
        (2, fac)
    } else {
        (1, ((summ2 - 2.0 * m[0] * m[0]) / (1.0 - 2.0 * a1 * a1)).sqrt())
    };
    a[0] = a1;
    for i in first..nn2 {
        a[i] = -m[i] / fac;
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_like_sample_scores_high_and_bimodal_low() {
        let normalish: Vec<f64> = (1..=99).map(|i| normal_quantile(i as f64 / 100.0)).collect();
        assert!(shapiro_w(&normalish).unwrap() > 0.99);
        let bimodal: Vec<f64> = (0..100).map(|i| if i % 2 == 0 { 0.0 + i as f64 * 1e-3 } else { 10.0 }).collect();
        assert!(shapiro_w(&bimodal).unwrap() < 0.8);
        assert_eq!(shapiro_w(&[1.0, 1.0, 1.0]), Some(0.0));
        assert_eq!(shapiro_w(&[1.0]), None);
    }
}
