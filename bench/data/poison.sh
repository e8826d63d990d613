#!/usr/bin/env bash
# bench/data/poison.sh — warden data poison vs cleanlab (find_label_issues on out-of-fold
# LogisticRegression probabilities) and scikit-learn IsolationForest, on one generated table.
#
# Usage: bench/data/poison.sh [--rows N] [--seed S] [--warden PATH]
#
#   --rows N      clean rows before injection (default 20000; ~7% more rows are appended)
#   --seed S      generator seed (default 20260425)
#   --warden PATH use this binary instead of building target/release/warden
#
# Steps: (1) the anchors' venv bench/data/.venv-poison from bench/data/poison_requirements.txt
# (rebuilt when that file changes); (2) cargo build --release of warden and of the generator
# example (crates/warden-data/examples/poison_table.rs); (3) the poisoned table and its truth
# into bench/out/data-poison/; (4) bench/data/poison_bench.py runs every tool and prints
# precision / recall per poison type and the time ratios. Results: bench/out/data-poison/.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

rows=20000 seed=20260425 warden=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --rows) rows="$2"; shift ;;
        --seed) seed="$2"; shift ;;
        --warden) warden="$2"; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "poison.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done
say() { echo "bench/data/poison: $*" >&2; }
out="$root/bench/out/data-poison"
mkdir -p "$out"

venv="$root/bench/data/.venv-poison"
req="$root/bench/data/poison_requirements.txt"
stamp="$venv/.requirements"
if [[ ! -x "$venv/bin/python" ]] || ! cmp -s "$req" "$stamp"; then
    say "building $venv"
    rm -rf "$venv"
    "${PYTHON:-python3}" -m venv "$venv"
    "$venv/bin/pip" install -q -r "$req"
    cp "$req" "$stamp"
fi

if [[ -z "$warden" ]]; then
    say "cargo build --release -p warden"
    cargo build --release -q -p warden
    warden="$root/target/release/warden"
fi
say "cargo build --release -p warden-data --example poison_table"
cargo build --release -q -p warden-data --example poison_table
"$root/target/release/examples/poison_table" "$out/table.csv" "$out/truth.csv" "$rows" "$seed"
say "table: $(($(wc -l < "$out/table.csv") - 1)) rows -> $out/table.csv"

"$venv/bin/python" "$root/bench/data/poison_bench.py" "$warden" "$out/table.csv" "$out/truth.csv" "$out" \
    | tee "$out/summary.md"
