"""Benchmark inputs for bench/monitor: drift pair (N rows x 20 columns), fairness table
(N rows), inference events (E lines). Deterministic (numpy seed 7)."""

import json
import os
import sys

import numpy as np
import pandas as pd


def drift_frame(rng, n, shift):
    cols = {}
    for i in range(15):
        cols[f"num{i}"] = rng.normal(shift if i % 3 == 0 else 0.0, 1.0 + i * 0.1, n).round(5)
    cats = np.array(["alpha", "beta", "gamma", "delta", "epsilon", "zeta"])
    for i in range(5):
        p = np.array([6, 5, 4, 3, 2, 1], dtype=float)
        if shift and i % 2 == 0:
            p = p[::-1].copy()
        cols[f"cat{i}"] = cats[rng.choice(6, n, p=p / p.sum())]
    return pd.DataFrame(cols)


def main():
    out, n, events = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(7)
    drift_frame(rng, n, 0.0).to_csv(f"{out}/reference.csv", index=False)
    drift_frame(rng, n, 0.2).to_csv(f"{out}/current.csv", index=False)
    g = rng.choice(np.array(["a", "b", "c", "d"]), n)
    sex = rng.choice(np.array(["f", "m"]), n)
    y = (rng.random(n) < 0.4).astype(int)
    score = np.clip(0.35 * y + 0.5 * rng.random(n) + np.where(g == "d", -0.2, 0.0) + 0.1, 0, 1)
    pd.DataFrame({"y_true": y, "y_pred": (score >= 0.5).astype(int), "group": g, "sex": sex,
                  "score": score.round(4)}).to_csv(f"{out}/fairness.csv", index=False)
    clients = 2000
    with open(f"{out}/events.jsonl", "w") as f:
        x = rng.normal(0, 1, (events, 16)).round(4)
        p = rng.dirichlet(np.ones(4), events).round(4)
        cid = rng.integers(0, clients, events)
        for i in range(events):
            f.write(json.dumps({"ts": 1.7e9 + i * 0.001, "client_id": f"c{cid[i]}",
                                "input": x[i].tolist(), "output": p[i].tolist()}) + "\n")


if __name__ == "__main__":
    main()
