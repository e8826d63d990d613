#!/usr/bin/env python3
"""Writes a synthetic AI system description with N elements (default 1,000) for bench/assess.

Mixes every element kind, origin, exposure and relation (sources -> datasets -> models ->
endpoints, fine-tuning lineage, retrieval, tools, trust boundaries, controls) so that every rule
has something to match. Deterministic: the same N gives the same file. Standard library only.
"""
import random
import sys


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    out = sys.argv[2] if len(sys.argv) > 2 else "-"
    rnd = random.Random(42)
    ns = n * 15 // 100
    nd = n * 25 // 100
    nm = n * 25 // 100
    nv = n * 10 // 100
    ne = n - ns - nd - nm - nv
    lines = ["version: 1", "system:", "  name: Synthetic platform", "  risk_tier: high", "  decisions_about_people: true"]
    prov = ["internal", "vendor", "partner", "user-generated", "public"]
    lines.append("data_sources:")
    for i in range(ns):
        lines.append(f"  - {{id: src-{i}, provenance: {rnd.choice(prov)}, personal_data: {str(rnd.random() < 0.4).lower()}}}")
    lines.append("datasets:")
    kinds = ["training", "fine-tuning", "evaluation", "retrieval-index", "feature-store"]
    for i in range(nd):
        srcs = ", ".join(f"src-{rnd.randrange(ns)}" for _ in range(rnd.randint(1, 3)))
        lines.append(f"  - {{id: ds-{i}, kind: {rnd.choice(kinds)}, sources: [{srcs}], path: data/ds-{i}.parquet}}")
    lines.append("models:")
    mk = ["classifier", "regressor", "llm", "embedding", "generative"]
    fmt = ["pickle", "pytorch", "onnx", "safetensors", "gguf", "api"]
    org = ["internal", "public-hub", "vendor", "partner"]
    for i in range(nm):
        extra = ""
        if i > 0 and rnd.random() < 0.3:
            extra += f", fine_tuned_from: m-{rnd.randrange(i)}"
        if rnd.random() < 0.2:
            extra += f", retrieves_from: [ds-{rnd.randrange(nd)}]"
        if rnd.random() < 0.1:
            extra += ", tools: [send-email]"
        lines.append(
            f"  - {{id: m-{i}, kind: {rnd.choice(mk)}, format: {rnd.choice(fmt)}, origin: {rnd.choice(org)}, "
            f"trained_on: [ds-{rnd.randrange(nd)}], signed: {str(rnd.random() < 0.3).lower()}, "
            f"decisions: {rnd.choice(['advisory', 'human-review', 'automated'])}, artifact: models/m-{i}.bin{extra}}}"
        )
    lines.append("environments:")
    for i in range(nv):
        runs = ", ".join(f"m-{rnd.randrange(nm)}" for _ in range(3))
        lines.append(f"  - {{id: env-{i}, kind: {rnd.choice(['training', 'serving'])}, hosting: {rnd.choice(['cloud', 'on-premises', 'managed-service'])}, runs: [{runs}]}}")
    lines.append("endpoints:")
    for i in range(ne):
        rate = ", rate_limit: 10/s" if rnd.random() < 0.5 else ""
        lines.append(
            f"  - {{id: ep-{i}, serves: m-{rnd.randrange(nm)}, exposure: {rnd.choice(['internal', 'partner', 'public'])}, "
            f"authentication: {rnd.choice(['none', 'api-key', 'sso'])}, returns_confidence: {str(rnd.random() < 0.5).lower()}{rate}}}"
        )
    lines.append("trust_boundaries:")
    ids = [f"src-{i}" for i in range(ns)] + [f"ds-{i}" for i in range(nd)] + [f"m-{i}" for i in range(nm)] + [f"ep-{i}" for i in range(ne)]
    rnd.shuffle(ids)
    for b in range(20):
        members = ", ".join(ids[b::20])
        lines.append(f"  - {{id: zone-{b}, elements: [{members}]}}")
    lines.append("controls:")
    controls = ["model-signing", "artifact-scanning", "rate-limiting", "data-validation", "llm-guardrails", "drift-monitoring", "access-control"]
    for c in controls:
        targets = ", ".join(f"m-{rnd.randrange(nm)}" for _ in range(20))
        lines.append(f"  - {{control: {c}, applies_to: [{targets}]}}")
    text = "\n".join(lines) + "\n"
    if out == "-":
        sys.stdout.write(text)
    else:
        with open(out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
