#!/usr/bin/env python3
"""Expected drift statistics (scipy), Shapiro-Wilk W (scipy) and fairness metrics (Fairlearn)
for deterministic test inputs, written to crates/warden-monitor/tests/data/expected.json.

The inputs are not stored: both this script and the Rust tests draw them from the same SplitMix64
generator with integer-exact arithmetic (see `sample` below and tests/scipy_expected.rs), so the
values are bit-identical in both languages.

Usage: bench/monitor/.venv/bin/python scripts/gen_monitor_expected.py
(needs numpy, scipy, pandas, fairlearn; CI does not run it: the JSON is checked in).
"""

import json
import math
import os
import sys

import numpy as np
import scipy
import scipy.spatial.distance
import scipy.stats

MASK = (1 << 64) - 1


class SplitMix:
    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def uniform(self):
        return (self.next() >> 11) * (1.0 / (1 << 53))

    def normalish(self):
        s = self.uniform() + self.uniform()
        s = s + self.uniform()
        s = s + self.uniform()
        return (s - 2.0) * math.sqrt(3.0)


def sample(seed, n, shift, scale, decimals):
    rng = SplitMix(seed)
    out = []
    for _ in range(n):
        x = shift + scale * rng.normalish()
        if decimals >= 0:
            f = 10.0 ** decimals
            x = math.floor(x * f + 0.5) / f
        out.append(x)
    return out


def categories(seed, n, weights):
    rng = SplitMix(seed)
    total = sum(weights)
    out = []
    for _ in range(n):
        u = rng.uniform() * total
        acc = 0.0
        k = len(weights) - 1
        for i, w in enumerate(weights):
            acc += w
            if u < acc:
                k = i
                break
        out.append(k)
    return out


def binned(ref, cur, bins=30):
    edges = np.histogram_bin_edges(np.concatenate([ref, cur]), bins=bins)
    r = np.histogram(ref, edges)[0] / len(ref)
    c = np.histogram(cur, edges)[0] / len(cur)
    return r, c


def psi(r, c):
    r = np.where(r == 0, 0.0001, r)
    c = np.where(c == 0, 0.0001, c)
    return float(np.sum((r - c) * np.log(r / c)))


def numeric_case(name, ref_spec, cur_spec):
    ref = np.array(sample(*ref_spec))
    cur = np.array(sample(*cur_spec))
    ks = scipy.stats.ks_2samp(ref, cur)
    r, c = binned(ref, cur)
    return {
        "name": name,
        "reference": list(ref_spec),
        "current": list(cur_spec),
        "ks_statistic": float(ks.statistic),
        "ks_p_value": float(ks.pvalue),
        "wasserstein": float(scipy.stats.wasserstein_distance(ref, cur)),
        "wasserstein_normed": float(scipy.stats.wasserstein_distance(ref, cur) / max(np.std(ref), 0.001)),
        "jensenshannon": float(scipy.spatial.distance.jensenshannon(r, c)),
        "psi": psi(r, c),
    }


def categorical_case(name, ref_spec, cur_spec):
    ref = categories(*ref_spec)
    cur = categories(*cur_spec)
    keys = sorted(set(ref) | set(cur))
    rc = np.array([ref.count(k) for k in keys], dtype=float)
    cc = np.array([cur.count(k) for k in keys], dtype=float)
    exp = rc * (len(cur) / len(ref))
    chi = scipy.stats.chisquare(cc, exp)
    out = {
        "name": name,
        "reference": [ref_spec[0], ref_spec[1], list(ref_spec[2])],
        "current": [cur_spec[0], cur_spec[1], list(cur_spec[2])],
        "chisquare_statistic": float(chi.statistic),
        "chisquare_p_value": float(chi.pvalue),
        "jensenshannon": float(scipy.spatial.distance.jensenshannon(rc / rc.sum(), cc / cc.sum())),
        "psi": psi(rc / rc.sum(), cc / cc.sum()),
    }
    if len(keys) == 2:
        # Evidently's proportions_diff_z_stat_ind / proportions_diff_z_test on the first category.
        n1, n2 = len(ref), len(cur)
        p1, p2 = rc[0] / n1, cc[0] / n2
        p = (p1 * n1 + p2 * n2) / (n1 + n2)
        z = (p1 - p2) / np.sqrt(p * (1 - p) * (1.0 / n1 + 1.0 / n2))
        out["z_statistic"] = float(z)
        out["z_p_value"] = float(2 * (1 - scipy.stats.norm.cdf(abs(z))))
    return out


def fairness_case(seed, n):
    import pandas as pd
    from fairlearn.metrics import (
        MetricFrame, count, demographic_parity_difference, demographic_parity_ratio,
        equal_opportunity_difference, equal_opportunity_ratio, equalized_odds_difference,
        equalized_odds_ratio, false_positive_rate, selection_rate, true_positive_rate)
    from sklearn.metrics import accuracy_score

    rng = SplitMix(seed)
    rows = []
    for _ in range(n):
        g = int(rng.uniform() * 3)
        s = int(rng.uniform() * 2)
        y = 1 if rng.uniform() < 0.3 + 0.1 * g else 0
        bias = [0.0, 0.15, -0.2][g] + (0.05 if s else 0.0)
        p = 1 if rng.uniform() < (0.75 if y else 0.2) + bias else 0
        rows.append((["a", "b", "c"][g], ["f", "m"][s], y, p))
    df = pd.DataFrame(rows, columns=["group", "sex", "y_true", "y_pred"])
    sf = df[["group", "sex"]]
    mf = MetricFrame(
        metrics={"selection_rate": selection_rate, "true_positive_rate": true_positive_rate,
                 "false_positive_rate": false_positive_rate, "accuracy": accuracy_score, "count": count},
        y_true=df.y_true, y_pred=df.y_pred, sensitive_features=sf)
    by_group = []
    for idx, row in mf.by_group.iterrows():
        by_group.append({"group": list(idx), **{k: float(v) for k, v in row.items()}})
    args = dict(y_true=df.y_true, y_pred=df.y_pred, sensitive_features=sf)
    return {
        "seed": seed,
        "rows": n,
        "by_group": by_group,
        "overall": {k: float(v) for k, v in mf.overall.items()},
        "demographic_parity_difference": float(demographic_parity_difference(**args)),
        "demographic_parity_ratio": float(demographic_parity_ratio(**args)),
        "equalized_odds_difference": float(equalized_odds_difference(**args)),
        "equalized_odds_ratio": float(equalized_odds_ratio(**args)),
        "equal_opportunity_difference": float(equal_opportunity_difference(**args)),
        "equal_opportunity_ratio": float(equal_opportunity_ratio(**args)),
    }


def main():
    numeric = [
        numeric_case("equal_sizes_exact", (1, 60, 0.0, 1.0, -1), (2, 60, 0.4, 1.0, -1)),
        numeric_case("unequal_exact", (3, 200, 0.0, 1.0, -1), (4, 300, 0.3, 1.2, -1)),
        numeric_case("no_shift_exact", (5, 1000, 0.0, 1.0, -1), (6, 800, 0.0, 1.0, -1)),
        numeric_case("ties_exact", (7, 500, 0.0, 1.0, 1), (8, 400, 0.1, 1.0, 1)),
        numeric_case("large_asymptotic", (9, 12000, 0.0, 1.0, -1), (10, 15000, 0.02, 1.0, -1)),
        numeric_case("large_shifted_asymptotic", (11, 20000, 0.0, 1.0, -1), (12, 11000, 0.1, 1.0, -1)),
        numeric_case("unbalanced_asymptotic", (13, 20000, 0.0, 1.0, -1), (14, 60, 0.3, 1.0, -1)),
        numeric_case("tiny", (15, 5, 0.0, 1.0, -1), (16, 7, 1.0, 1.0, -1)),
    ]
    categorical = [
        categorical_case("five_categories", (21, 800, [1, 2, 3, 2, 1]), (22, 900, [1, 2, 2, 3, 1])),
        categorical_case("same_distribution", (23, 5000, [5, 3, 2]), (24, 4000, [5, 3, 2])),
        categorical_case("binary", (25, 700, [3, 1]), (26, 650, [2, 1])),
    ]
    shapiro = []
    for seed, n, shift, scale in [(31, 20, 0.0, 1.0), (32, 100, 0.0, 1.0), (33, 500, 0.0, 1.0), (34, 11, 0.0, 1.0)]:
        xs = sample(seed, n, shift, scale, -1)
        # A skewed variant: squares.
        sq = [x * x for x in xs]
        shapiro.append({"seed": seed, "n": n, "w": float(scipy.stats.shapiro(xs).statistic),
                        "w_squared": float(scipy.stats.shapiro(sq).statistic)})
    doc = {
        "generator": "scripts/gen_monitor_expected.py",
        "scipy": scipy.__version__,
        "numeric": numeric,
        "categorical": categorical,
        "shapiro": shapiro,
        "fairness": [fairness_case(41, 3000)],
    }
    import fairlearn
    doc["fairlearn"] = fairlearn.__version__
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = os.path.join(root, "crates", "warden-monitor", "tests", "data", "expected.json")
    with open(out, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
