"""warden data poison vs cleanlab find_label_issues and scikit-learn IsolationForest.

Usage: poison_bench.py WARDEN TABLE.csv TRUTH.csv OUTDIR

Runs every tool on the same generated table (bench/data/poison.sh writes it with the Rust
generator), scores each against the injected ground truth, prints a Markdown table with
precision, recall and seconds per poison type, and writes OUTDIR/poison-results.json.
"""

import json
import subprocess
import sys
import time

import numpy as np
import pandas as pd
from cleanlab.filter import find_label_issues
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import IsolationForest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


def pr(found, truth):
    found, truth = set(found), set(truth)
    hit = len(found & truth)
    p = hit / len(found) if found else 1.0
    r = hit / len(truth) if truth else 1.0
    return p, r, len(found)


def main():
    warden, table_csv, truth_csv, outdir = sys.argv[1:5]
    df = pd.read_csv(table_csv)
    truth = pd.read_csv(truth_csv, keep_default_na=False)
    features = [c for c in df.columns if c not in ("id", "label")]
    numeric = [c for c in features if pd.api.types.is_numeric_dtype(df[c])]
    categorical = [c for c in features if c not in numeric]

    kinds = truth["injected"].tolist()
    sources = truth["source"].tolist()

    def rows_of(names, with_sources):
        out = set()
        for i, k in enumerate(kinds):
            if k in names:
                out.add(i)
                if with_sources and sources[i] != "":
                    out.add(int(sources[i]))
        return out

    truths = {
        "label issues": set(np.flatnonzero(truth["label"].values != truth["clean_label"].values)),
        "outliers": rows_of({"outlier"}, False),
        "duplicates": rows_of({"duplicate", "near-duplicate"}, True),
        "conflicting duplicates": rows_of({"conflicting-duplicate"}, True),
        "backdoor rows": rows_of({"backdoor-single", "backdoor-pair"}, False),
    }

    results = {"rows": len(df), "truth_sizes": {k: len(v) for k, v in truths.items()}, "tools": {}}

    # warden: one run, every detector.
    flagged_path = f"{outdir}/warden-flagged.jsonl"
    t0 = time.perf_counter()
    proc = subprocess.run(
        [warden, "data", "poison", table_csv, "--label", "label", "--id", "id", "--format", "json",
         "--output", f"{outdir}/warden-report.json", "--flagged", flagged_path, "--fail-on", "never"],
        capture_output=True, text=True)
    warden_s = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"warden failed ({proc.returncode}): {proc.stderr}")
    by_rule = {}
    with open(flagged_path) as f:
        for line in f:
            rec = json.loads(line)
            by_rule.setdefault(rec["rule"], set()).add(rec["row"])
    w = {
        "label issues": by_rule.get("data.poison.label-issue", set()),
        "outliers": by_rule.get("data.poison.outlier", set()),
        "duplicates": by_rule.get("data.poison.duplicate", set()),
        "conflicting duplicates": by_rule.get("data.poison.conflicting-duplicate", set()),
        "backdoor rows": by_rule.get("data.poison.backdoor-trigger", set()),
    }

    # cleanlab: out-of-fold probabilities of sklearn's LogisticRegression, then find_label_issues.
    pre = ColumnTransformer([("num", StandardScaler(), numeric),
                             ("cat", OneHotEncoder(handle_unknown="ignore"), categorical)])
    y_codes, classes = pd.factorize(df["label"])
    t0 = time.perf_counter()
    model = make_pipeline(pre, LogisticRegression(max_iter=1000))
    cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    probs = cross_val_predict(model, df[features], y_codes, cv=cv, method="predict_proba")
    issues = find_label_issues(labels=y_codes, pred_probs=probs)
    cleanlab_s = time.perf_counter() - t0
    cl = set(np.flatnonzero(issues))

    # scikit-learn IsolationForest (defaults: 100 trees, 256 samples, contamination='auto').
    t0 = time.perf_counter()
    x = ColumnTransformer([("num", "passthrough", numeric),
                           ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical)]).fit_transform(df[features])
    iso = IsolationForest(random_state=0).fit(x)
    iso_flags = set(np.flatnonzero(iso.predict(x) == -1))
    iso_s = time.perf_counter() - t0

    # pandas exact duplicates over the features (keep=False marks every copy).
    t0 = time.perf_counter()
    dup_mask = df.duplicated(subset=features, keep=False)
    groups = df[dup_mask].groupby(features, dropna=False)["label"].nunique()
    conflicting_keys = set(groups[groups > 1].index)
    keys = df[features].apply(tuple, axis=1)
    conflict_rows = {i for i in np.flatnonzero(dup_mask) if keys[i] in conflicting_keys}
    dup_rows = set(np.flatnonzero(dup_mask)) - conflict_rows
    pandas_s = time.perf_counter() - t0

    anchors = {
        "label issues": ("cleanlab find_label_issues", cl, cleanlab_s),
        "outliers": ("sklearn IsolationForest", iso_flags, iso_s),
        "duplicates": ("pandas duplicated (exact)", dup_rows, pandas_s),
        "conflicting duplicates": ("pandas duplicated + label check", conflict_rows, pandas_s),
        "backdoor rows": ("cleanlab find_label_issues", cl, cleanlab_s),
    }
    print(f"\nTable: {len(df)} rows, {len(features)} features ({len(numeric)} numeric, {len(categorical)} categorical)")
    print(f"warden data poison (all detectors, one run): {warden_s:.2f} s; cleanlab (5-fold LR + find_label_issues): "
          f"{cleanlab_s:.2f} s; IsolationForest: {iso_s:.2f} s; pandas duplicated: {pandas_s:.3f} s\n")
    print("| poison type | truth rows | warden P | warden R | warden flagged | anchor | anchor P | anchor R | anchor flagged |")
    print("|---|---|---|---|---|---|---|---|---|")
    for kind, t in truths.items():
        wp, wr, wn = pr(w[kind], t)
        name, found, secs = anchors[kind]
        ap, ar, an = pr(found, t)
        results["tools"][kind] = {"truth": len(t), "warden": {"precision": wp, "recall": wr, "flagged": wn},
                                  "anchor": {"name": name, "precision": ap, "recall": ar, "flagged": an, "seconds": secs}}
        print(f"| {kind} | {len(t)} | {wp:.3f} | {wr:.3f} | {wn} | {name} | {ap:.3f} | {ar:.3f} | {an} |")
    results["seconds"] = {"warden_all_detectors": warden_s, "cleanlab": cleanlab_s, "isolation_forest": iso_s,
                          "pandas_duplicated": pandas_s}
    print(f"\nTime ratio cleanlab / warden (all four detectors): {cleanlab_s / warden_s:.1f}x; "
          f"(cleanlab + IsolationForest) / warden: {(cleanlab_s + iso_s) / warden_s:.1f}x")
    with open(f"{outdir}/poison-results.json", "w") as f:
        json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
