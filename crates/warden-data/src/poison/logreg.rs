//! Multinomial logistic regression (softmax, L2-regularised like scikit-learn's
//! `LogisticRegression(C=1)`), fitted by L-BFGS. Small and dependency-free: the poisoning checks
//! need calibrated class probabilities, not a modelling toolkit.

use super::features::Matrix;

/// Fitting settings.
#[derive(Debug, Clone, Copy)]
pub struct LogRegSettings {
    /// Inverse regularisation strength, as scikit-learn's `C`.
    pub c: f64,
    /// Most L-BFGS iterations.
    pub max_iter: usize,
    /// Stop when the largest gradient component falls below this (scikit-learn's lbfgs `tol`).
    pub tol: f64,
}

impl Default for LogRegSettings {
    fn default() -> Self {
        LogRegSettings { c: 1.0, max_iter: 200, tol: 1e-4 }
    }
}

/// A fitted model: one weight row (features then intercept) per class.
#[derive(Debug, Clone)]
pub struct LogReg {
    classes: usize,
    dims: usize,
    weights: Vec<f64>,
}

impl LogReg {
    /// Fits on the rows `train` of `x` with labels `y` (class indices below `classes`).
    pub fn fit(x: &Matrix, y: &[u32], train: &[usize], classes: usize, settings: LogRegSettings) -> LogReg {
        Self::fit_from(x, y, train, classes, settings, None)
    }

    /// As [`LogReg::fit`], starting from `start`'s weights (a warm start) when it has the same shape.
    pub fn fit_from(
        x: &Matrix,
        y: &[u32],
        train: &[usize],
        classes: usize,
        settings: LogRegSettings,
        start: Option<&LogReg>,
    ) -> LogReg {
        let dims = x.cols + 1;
        let weights = match start {
            Some(m) if m.classes == classes && m.dims == dims => m.weights.clone(),
            _ => vec![0.0; classes * dims],
        };
        let mut model = LogReg { classes, dims, weights };
        if train.is_empty() || classes < 2 {
            return model;
        }
        let lambda = 1.0 / (settings.c * train.len() as f64);
        let objective = |w: &[f64], grad: &mut [f64]| loss_and_grad(x, y, train, classes, lambda, w, grad);
        lbfgs(&mut model.weights, objective, settings.max_iter, settings.tol);
        model
    }

    /// Class probabilities for one feature row.
    pub fn predict_proba(&self, row: &[f64], out: &mut [f64]) {
        scores(&self.weights, self.dims, row, out);
        softmax(out);
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.classes
    }
}

fn scores(w: &[f64], dims: usize, row: &[f64], out: &mut [f64]) {
    for (c, slot) in out.iter_mut().enumerate() {
        let wc = &w[c * dims..(c + 1) * dims];
        *slot = wc[dims - 1] + wc[..dims - 1].iter().zip(row).map(|(a, b)| a * b).sum::<f64>();
    }
}

fn softmax(v: &mut [f64]) {
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for x in v.iter_mut() {
        *x = (*x - max).exp();
        sum += *x;
    }
    for x in v.iter_mut() {
        *x /= sum;
    }
}

fn loss_and_grad(x: &Matrix, y: &[u32], rows: &[usize], classes: usize, lambda: f64, w: &[f64], grad: &mut [f64]) -> f64 {
    let dims = x.cols + 1;
    grad.iter_mut().for_each(|g| *g = 0.0);
    let mut p = vec![0.0; classes];
    let mut loss = 0.0;
    for &i in rows {
        let row = x.row(i);
        scores(w, dims, row, &mut p);
        softmax(&mut p);
        let yi = y[i] as usize;
        loss -= p[yi].max(1e-300).ln();
        for c in 0..classes {
            let err = p[c] - f64::from(u8::from(c == yi));
            if err == 0.0 {
                continue;
            }
            let g = &mut grad[c * dims..(c + 1) * dims];
            for (gj, xj) in g[..dims - 1].iter_mut().zip(row) {
                *gj += err * xj;
            }
            g[dims - 1] += err;
        }
    }
    let n = rows.len() as f64;
    loss /= n;
    for c in 0..classes {
        for j in 0..dims {
            let k = c * dims + j;
            grad[k] /= n;
            if j + 1 < dims {
                grad[k] += lambda * w[k];
                loss += 0.5 * lambda * w[k] * w[k];
            }
        }
    }
    loss
}

/// Minimises `f` from `x` with limited-memory BFGS (10 pairs) and a backtracking Armijo search.
fn lbfgs(x: &mut [f64], mut f: impl FnMut(&[f64], &mut [f64]) -> f64, max_iter: usize, tol: f64) {
    const MEMORY: usize = 10;
    let n = x.len();
    let mut g = vec![0.0; n];
    let mut fx = f(x, &mut g);
    let mut s_hist: Vec<Vec<f64>> = Vec::new();
    let mut y_hist: Vec<Vec<f64>> = Vec::new();
    let mut x_new = vec![0.0; n];
    let mut g_new = vec![0.0; n];
    for _ in 0..max_iter {
        if g.iter().fold(0.0f64, |m, v| m.max(v.abs())) < tol {
            break;
        }
        // Two-loop recursion: d = -H g.
        let mut d: Vec<f64> = g.iter().map(|v| -v).collect();
        let mut alphas = vec![0.0; s_hist.len()];
        for k in (0..s_hist.len()).rev() {
            let rho = 1.0 / dot(&y_hist[k], &s_hist[k]);
            alphas[k] = rho * dot(&s_hist[k], &d);
            axpy(-alphas[k], &y_hist[k], &mut d);
        }
        let gamma = match (s_hist.last(), y_hist.last()) {
            (Some(s), Some(y)) => dot(s, y) / dot(y, y),
            _ => 1.0 / dot(&g, &g).sqrt().max(1e-12),
        };
        d.iter_mut().for_each(|v| *v *= gamma);
        for k in 0..s_hist.len() {
            let rho = 1.0 / dot(&y_hist[k], &s_hist[k]);
            let beta = rho * dot(&y_hist[k], &d);
            axpy(alphas[k] - beta, &s_hist[k], &mut d);
        }
        let mut slope = dot(&g, &d);
        if slope >= 0.0 {
            // Not a descent direction (numerical trouble): restart from steepest descent.
            s_hist.clear();
            y_hist.clear();
            d = g.iter().map(|v| -v).collect();
            slope = -dot(&g, &g);
        }
        let mut step = 1.0;
        let mut accepted = false;
        for _ in 0..40 {
            for i in 0..n {
                x_new[i] = x[i] + step * d[i];
            }
            let f_new = f(&x_new, &mut g_new);
            if f_new <= fx + 1e-4 * step * slope {
                let s: Vec<f64> = (0..n).map(|i| x_new[i] - x[i]).collect();
                let y: Vec<f64> = (0..n).map(|i| g_new[i] - g[i]).collect();
                if dot(&s, &y) > 1e-12 {
                    if s_hist.len() == MEMORY {
                        s_hist.remove(0);
                        y_hist.remove(0);
                    }
                    s_hist.push(s);
                    y_hist.push(y);
                }
                // scipy's L-BFGS-B stopping rule (ftol = 2.2e-9, what scikit-learn's lbfgs uses).
                let relative = (fx - f_new) / fx.abs().max(f_new.abs()).max(1.0);
                x.copy_from_slice(&x_new);
                g.copy_from_slice(&g_new);
                fx = f_new;
                accepted = relative > 2.2e-9;
                break;
            }
            step *= 0.5;
        }
        if !accepted {
            break;
        }
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn axpy(alpha: f64, x: &[f64], y: &mut [f64]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += alpha * xi;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::needless_range_loop)]
    fn separates_two_gaussian_blobs() {
        let mut rng = crate::poison::rng::Rng::new(3);
        let n = 400;
        let mut x = Matrix::zeros(n, 2);
        let mut y = vec![0u32; n];
        for i in 0..n {
            let c = (i % 2) as u32;
            let shift = if c == 1 { 2.0 } else { -2.0 };
            x.row_mut(i).copy_from_slice(&[rng.normal() + shift, rng.normal()]);
            y[i] = c;
        }
        let all: Vec<usize> = (0..n).collect();
        let model = LogReg::fit(&x, &y, &all, 2, LogRegSettings::default());
        let mut p = [0.0; 2];
        let mut correct = 0;
        for i in 0..n {
            model.predict_proba(x.row(i), &mut p);
            assert!((p[0] + p[1] - 1.0).abs() < 1e-9);
            correct += usize::from((p[1] > 0.5) == (y[i] == 1));
        }
        assert!(correct > 380, "accuracy {correct}/{n}");
    }
}
