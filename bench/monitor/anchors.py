"""The Python anchors bench/monitor times: Evidently DataDriftPreset, scipy per column (the same
tests warden picks), Fairlearn MetricFrame. Prints one JSON object with the wall time of
load + compute and of compute alone."""

import json
import sys
import time

import numpy as np
import pandas as pd


def evidently(ref_path, cur_path):
    from evidently import Report
    from evidently.presets import DataDriftPreset
    t0 = time.perf_counter()
    ref, cur = pd.read_csv(ref_path), pd.read_csv(cur_path)
    t1 = time.perf_counter()
    snapshot = Report([DataDriftPreset()]).run(cur, ref)
    snapshot.dict()
    t2 = time.perf_counter()
    return {"total": t2 - t0, "compute": t2 - t1}


def scipy_tests(ref_path, cur_path):
    from scipy import spatial, stats
    t0 = time.perf_counter()
    ref, cur = pd.read_csv(ref_path), pd.read_csv(cur_path)
    t1 = time.perf_counter()
    out = {}
    for c in ref.columns:
        r, k = ref[c].dropna(), cur[c].dropna()
        if pd.api.types.is_numeric_dtype(r) and pd.concat([r, k]).nunique() > 5:
            out[c] = stats.wasserstein_distance(r, k) / max(np.std(r), 0.001)
        else:
            keys = sorted(set(r.unique()) | set(k.unique()))
            rc = r.value_counts().reindex(keys, fill_value=0).to_numpy(float)
            cc = k.value_counts().reindex(keys, fill_value=0).to_numpy(float)
            out[c] = spatial.distance.jensenshannon(rc / rc.sum(), cc / cc.sum())
    t2 = time.perf_counter()
    return {"total": t2 - t0, "compute": t2 - t1, "values": {k: float(v) for k, v in out.items()}}


def fairlearn(path):
    from fairlearn.metrics import (MetricFrame, count, demographic_parity_difference,
                                   equalized_odds_difference, false_positive_rate, selection_rate,
                                   true_positive_rate)
    from sklearn.metrics import accuracy_score
    t0 = time.perf_counter()
    df = pd.read_csv(path)
    t1 = time.perf_counter()
    sf = df[["group", "sex"]]
    mf = MetricFrame(metrics={"selection_rate": selection_rate, "true_positive_rate": true_positive_rate,
                              "false_positive_rate": false_positive_rate, "accuracy": accuracy_score,
                              "count": count}, y_true=df.y_true, y_pred=df.y_pred, sensitive_features=sf)
    mf.difference(), mf.ratio()
    dpd = demographic_parity_difference(df.y_true, df.y_pred, sensitive_features=sf)
    eod = equalized_odds_difference(df.y_true, df.y_pred, sensitive_features=sf)
    t2 = time.perf_counter()
    return {"total": t2 - t0, "compute": t2 - t1, "demographic_parity_difference": float(dpd),
            "equalized_odds_difference": float(eod)}


if __name__ == "__main__":
    which = sys.argv[1]
    result = {"evidently": lambda: evidently(sys.argv[2], sys.argv[3]),
              "scipy": lambda: scipy_tests(sys.argv[2], sys.argv[3]),
              "fairlearn": lambda: fairlearn(sys.argv[2])}[which]()
    print(json.dumps(result))
