#!/usr/bin/env python3
"""bench/scan harness: run warden and the anchor scanners on the same inputs, in one run.

Normally started by bench/scan/run, which prepares the venv, the release binary and the
inputs. Directly:

    harness.py --warden target/release/warden --venv bench/.venv --out bench/out \\
               --corpus bench/out/corpus [--large bench/out/large] [--timeout 600] \\
               [--workers 2] [--repeat 1] [--tools warden,picklescan,...]

Writes OUT/results.json (everything, machine-readable), OUT/detections.md (the per-sample
matrix) and OUT/summary.md (the tables it also prints).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ inside bench/scan
sys.path.insert(0, str(Path(__file__).resolve().parent))
import tools as T  # noqa: E402

REPO = Path(__file__).resolve().parents[2]

SLOW_S = 60.0  # a timed run slower than this is not repeated

SYMBOL = {"flagged": "X", "lower": "w", "clean": ".", "skipped": "s", "error": "E",
          "crash": "C", "timeout": "T", "n/a": "-"}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# Inputs


def load_manifest(root: Path, kind: str) -> list[dict]:
    man = json.loads((root / "manifest.json").read_text())
    out = []
    for s in man["samples"]:
        p = root / s["path"]
        out.append({**s, "set": kind, "abs": str(p), "id": f"{kind}:{s['path']}"})
    return out


def manifest_digest(root: Path) -> str:
    return hashlib.sha256((root / "manifest.json").read_bytes()).hexdigest()[:16]


def warm(path: Path) -> None:
    """Read a file once so every tool starts with it in the page cache."""
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    for f in files:
        with open(f, "rb") as fh:
            while fh.read(8 << 20):
                pass


# --------------------------------------------------------------------------------------------
# Machine and versions


def machine_info() -> dict:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {"cpu_model": model, "cores": os.cpu_count(), "mem_gib": round(mem_kb / 2**20, 1)
            if mem_kb else None, "kernel": platform.release(), "python": platform.python_version(),
            "loadavg_at_start": load}


def git_state() -> dict:
    def g(*a: str) -> str:
        try:
            return subprocess.run(["git", "-C", str(REPO), *a], capture_output=True, text=True,
                                  timeout=30).stdout.strip()
        except Exception:
            return ""

    dirty = g("status", "--porcelain", "--", "crates", "Cargo.toml", "Cargo.lock")
    return {"commit": g("rev-parse", "HEAD"), "subject": g("log", "-1", "--format=%s"),
            "dirty": bool(dirty), "dirty_files": dirty.splitlines()[:50]}


# --------------------------------------------------------------------------------------------
# Runs


def run_detection(tools: list[T.Tool], samples: list[dict], timeout: float, workers: int) -> list[dict]:
    jobs = [(t, s) for s in samples for t in tools]
    results: list[dict] = []
    done = 0
    t0 = time.time()
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futs = {pool.submit(t.run, Path(s["abs"]), timeout, s.get("format")): (t, s) for t, s in jobs}
        for fut in as_completed(futs):
            t, s = futs[fut]
            try:
                r = fut.result().to_json()
            except Exception as e:  # the harness must survive any tool
                r = T.ToolResult(t.name, s["abs"], "crash", detail=f"harness: {e}").to_json()
            r["sample"] = s["id"]
            results.append(r)
            done += 1
            if done % 50 == 0 or done == len(jobs):
                log(f"  detection: {done}/{len(jobs)} runs ({time.time() - t0:.0f} s)")
    return results


def run_timed(tools: list[T.Tool], path: Path, timeout: float, repeat: int, fmt: str | None,
              sample_id: str) -> list[dict]:
    """Run each tool `repeat` times on path, sequentially (nothing else of ours running)."""
    out = []
    for t in tools:
        runs = []
        for i in range(repeat):
            r = t.run(path, timeout, fmt)
            runs.append(r)
            # Slow runs are not repeated: one 5-minute sample says enough about that tool.
            if r.outcome in ("n/a", "timeout") or (r.wall_s or 0) > SLOW_S:
                break
        first = runs[0]
        walls = [r.wall_s for r in runs if r.wall_s is not None]
        rss = [r.peak_rss_kb for r in runs if r.peak_rss_kb is not None]
        rec = first.to_json()
        rec.update({"sample": sample_id, "runs": len(runs),
                    "wall_s": statistics.median(walls) if walls else None,
                    "wall_all": walls, "peak_rss_kb": max(rss) if rss else None,
                    "rss_all": rss})
        log(f"  {t.name:10s} {path.name}: {rec['outcome']:8s} "
            f"{(rec['wall_s'] or 0):8.2f} s  {((rec['peak_rss_kb'] or 0) / 1024):8.1f} MiB")
        out.append(rec)
    return out


# --------------------------------------------------------------------------------------------
# Tables


def classify(verdict: str, outcome: str) -> str:
    if outcome == "n/a":
        return "na"
    if outcome in ("crash", "timeout"):
        return "crash"
    if outcome == "error":
        return "error"
    if verdict == "malicious":
        return "caught" if outcome == "flagged" else "missed"
    if verdict == "suspicious":  # worth a review, not proof: any finding counts as reported
        return "susp_hit" if outcome in ("flagged", "lower") else "susp_quiet"
    return "false_alarm" if outcome == "flagged" else "ok"


def classify_lenient(verdict: str, r: dict) -> str:
    if r["outcome"] in ("n/a", "crash", "timeout", "error") and not r.get("lenient"):
        return classify(verdict, r["outcome"])
    hit = r["outcome"] in ("flagged", "lower") or bool(r.get("lenient"))
    if verdict == "malicious":
        return "caught" if hit else "missed"
    if verdict == "suspicious":
        return "susp_hit" if hit else "susp_quiet"
    return "false_alarm" if hit else "ok"


def detection_rows(tool_names: list[str], samples: list[dict], results: list[dict],
                   lenient: bool = False) -> list[dict]:
    by = {(r["tool"], r["sample"]): r for r in results}
    rows = []
    for name in tool_names:
        c = {"tool": name, "caught": 0, "missed": 0, "false_alarm": 0, "ok": 0, "na": 0,
             "error": 0, "crash": 0, "malicious": 0, "benign": 0, "suspicious": 0,
             "susp_hit": 0, "susp_quiet": 0}
        for s in samples:
            r = by.get((name, s["id"]))
            if r is None:
                continue
            k = classify_lenient(s["verdict"], r) if lenient else classify(s["verdict"], r["outcome"])
            c[k] += 1
            if k != "na":
                c[s["verdict"]] = c.get(s["verdict"], 0) + 1
        rows.append(c)
    return rows


def md_table(header: list[str], rows: list[list]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(x) for x in r) + " |" for r in rows]
    return "\n".join(out)


def detection_md(rows: list[dict]) -> str:
    susp = any(r.get("suspicious") or r.get("susp_hit") or r.get("susp_quiet") for r in rows)
    return md_table(
        ["tool", "caught", "missed", "false alarms"]
        + (["suspicious reported"] if susp else [])
        + ["not applicable", "scan errors", "crashes/timeouts"],
        [[r["tool"], f"{r['caught']}/{r['malicious']}", r["missed"],
          f"{r['false_alarm']}/{r['benign']}"]
         + ([f"{r['susp_hit']}/{r['suspicious']}"] if susp else [])
         + [r["na"], r["error"], r["crash"]] for r in rows])


def per_format_md(tool_names: list[str], samples: list[dict], results: list[dict]) -> str:
    by = {(r["tool"], r["sample"]): r for r in results}
    fmts = sorted({s["format"] for s in samples})
    rows = []
    for f in fmts:
        mal = [s for s in samples if s["format"] == f and s["verdict"] == "malicious"]
        ben = [s for s in samples if s["format"] == f and s["verdict"] == "benign"]
        row = [f, f"{len(mal)}/{len(ben)}"]
        for n in tool_names:
            def cnt(ss, want):
                rs = [by.get((n, s["id"])) for s in ss]
                if rs and all(r is None or r["outcome"] == "n/a" for r in rs):
                    return None
                return sum(1 for r in rs if r and r["outcome"] == want)
            c, fa = cnt(mal, "flagged"), cnt(ben, "flagged")
            row.append("n/a" if c is None and fa is None else
                       f"{c if c is not None else '-'}/{len(mal)}, FA {fa if fa is not None else '-'}")
        rows.append(row)
    return md_table(["format", "mal/ben"] + tool_names, rows)


def matrix_md(tool_names: list[str], samples: list[dict], results: list[dict]) -> str:
    by = {(r["tool"], r["sample"]): r for r in results}
    lines = []
    for verdict in ("malicious", "suspicious", "benign"):
        ss = [s for s in samples if s["verdict"] == verdict]
        if not ss:
            continue
        lines.append(f"\n### {verdict} samples ({len(ss)})\n")
        rows = []
        for s in ss:
            row = [f"`{s['id']}`", s["format"]]
            for n in tool_names:
                r = by.get((n, s["id"]))
                row.append(SYMBOL.get(r["outcome"], "?") if r else " ")
            row.append(s.get("technique", "")[:90].replace("|", "\\|"))
            rows.append(row)
        lines.append(md_table(["sample", "format"] + tool_names + ["technique"], rows))
    return "\n".join(lines)


def gap_md(tool_names: list[str], samples: list[dict], results: list[dict]) -> str:
    """Malicious samples an anchor flagged that warden did not, and warden's false alarms."""
    by = {(r["tool"], r["sample"]): r for r in results}
    anchors = [n for n in tool_names if n != "warden"]
    lines = []
    gaps = []
    for s in samples:
        if s["verdict"] != "malicious":
            continue
        w = by.get(("warden", s["id"]))
        if w is None or w["outcome"] == "flagged":
            continue
        who = [n for n in anchors if (r := by.get((n, s["id"]))) and r["outcome"] == "flagged"]
        if who:
            gaps.append([f"`{s['id']}`", w["outcome"], ", ".join(who),
                         (w.get("detail") or "")[:80].replace("|", "\\|")])
    if gaps:
        lines.append(md_table(["sample", "warden", "flagged by", "warden detail"], gaps))
    else:
        lines.append("None: every malicious sample flagged by an anchor is flagged by warden.")
    # The same at any severity: an anchor said something (lower findings or its own non-zero
    # exit) about a malicious sample on which warden said nothing at all.
    def said(r):
        return bool(r) and (r["outcome"] in ("flagged", "lower") or bool(r.get("lenient")))

    soft = []
    for s in samples:
        if s["verdict"] != "malicious":
            continue
        w = by.get(("warden", s["id"]))
        if w is None or said(w):
            continue
        who = [n for n in anchors if said(by.get((n, s["id"])))]
        if who:
            soft.append([f"`{s['id']}`", w["outcome"], ", ".join(who)])
    lines.append("\nAt any severity (an anchor reported something, warden nothing):\n")
    lines.append(md_table(["sample", "warden", "reported by"], soft) if soft else "None.")
    fas = []
    for s in samples:
        if s["verdict"] != "benign":
            continue
        w = by.get(("warden", s["id"]))
        if w and w["outcome"] == "flagged":
            fas.append([f"`{s['id']}`", (w.get("detail") or "")[:120].replace("|", "\\|")])
    lines.append("\nwarden false alarms (benign samples flagged at high/critical):\n")
    lines.append(md_table(["sample", "detail"], fas) if fas else "None.")
    return "\n".join(lines)


def perf_md(large_results: list[dict], large_samples: list[dict]) -> str:
    rows = []
    by_sample: dict[str, list[dict]] = {}
    for r in large_results:
        by_sample.setdefault(r["sample"], []).append(r)
    verdict = {s["id"]: s["verdict"] for s in large_samples}
    size = {s["id"]: s.get("size") for s in large_samples}
    for sid, rs in by_sample.items():
        w = next((r for r in rs if r["tool"] == "warden"), None)
        for r in rs:
            if r["outcome"] == "n/a":
                rows.append([f"`{sid.split(':', 1)[1]}`", r["tool"], "n/a", "", "", "", ""])
                continue
            wt, wm = (w or {}).get("wall_s"), (w or {}).get("peak_rss_kb")
            t, m = r.get("wall_s"), r.get("peak_rss_kb")
            res = classify(verdict[sid], r["outcome"]).replace("_", " ")
            rows.append([
                f"`{sid.split(':', 1)[1]}`" + (f" ({size[sid] / 1e6:.0f} MB)" if size.get(sid) else ""),
                r["tool"], f"{r['outcome']} ({res})",
                f"{t:.2f}" if t is not None else "",
                f"{m / 1024:.0f}" if m is not None else "",
                f"{t / wt:.1f}x" if t and wt else "",
                f"{m / wm:.1f}x" if m and wm else ""])
    return md_table(["input", "tool", "verdict", "wall s", "peak RSS MiB", "time / warden",
                     "RSS / warden"], rows)


def dirscan_md(dir_results: list[dict], n_samples: int) -> str:
    w = next((r for r in dir_results if r["tool"] == "warden"), None)
    rows = []
    for r in dir_results:
        if r["outcome"] == "n/a":
            rows.append([r["tool"], "n/a (no directory mode)", "", "", "", ""])
            continue
        t, m = r.get("wall_s"), r.get("peak_rss_kb")
        wt, wm = (w or {}).get("wall_s"), (w or {}).get("peak_rss_kb")
        rows.append([r["tool"], f"{t:.2f}" if t is not None else "",
                     f"{m / 1024:.0f}" if m is not None else "",
                     f"{t / wt:.1f}x" if t and wt else "", f"{m / wm:.1f}x" if m and wm else "",
                     f"exit {r.get('exit_code')} ({r['outcome']})"])
    return md_table([f"tool (corpus dir, {n_samples} samples)", "wall s", "peak RSS MiB",
                     "time / warden", "RSS / warden", "result"], rows)


# --------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--warden", type=Path, required=True)
    ap.add_argument("--venv", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--corpus-source", default="scripts/gen_corpus.py")
    ap.add_argument("--large", type=Path)
    ap.add_argument("--timeout", type=float, default=600.0, help="per run, seconds")
    ap.add_argument("--workers", type=int, default=2, help="parallel corpus detection runs")
    ap.add_argument("--repeat", type=int, default=3,
                    help="timed runs per tool per large input / corpus dir (median; runs over "
                         f"{SLOW_S:.0f} s are not repeated)")
    ap.add_argument("--tools", default="warden,picklescan,modelscan,modelaudit,fickling")
    ap.add_argument("--no-dir-scan", action="store_true")
    args = ap.parse_args()

    # Tools run in scratch directories: every input path must be absolute.
    args.corpus = args.corpus.resolve()
    args.large = args.large.resolve() if args.large else None
    started = dt.datetime.now(dt.timezone.utc)
    wanted = args.tools.split(",")
    tools = [t for t in T.all_tools(args.venv.resolve(), args.warden.resolve()) if t.name in wanted]
    names = [t.name for t in tools]
    args.out.mkdir(parents=True, exist_ok=True)

    meta = {
        "date_utc": started.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine_info(),
        "warden": {"binary": str(args.warden), "release": "/release/" in str(args.warden.resolve()),
                   "version": next(t for t in tools if t.name == "warden").version()
                   if "warden" in names else None, **git_state()},
        "tools": {t.name: t.version() for t in tools if t.name != "warden"},
        "timeout_s": args.timeout, "repeat": args.repeat, "workers": args.workers,
        "corpus": {"dir": str(args.corpus), "source": args.corpus_source,
                   "manifest_sha256_16": manifest_digest(args.corpus)},
    }
    if not meta["warden"]["release"]:
        log("harness: WARNING: warden binary is not a release build; its timings are not valid")
    log(f"harness: tools {meta['tools']}, warden {meta['warden']['version']} "
        f"@ {meta['warden']['commit'][:10]}{' (dirty)' if meta['warden']['dirty'] else ''}")

    # 1. corpus detection
    corpus = load_manifest(args.corpus, "corpus")
    log(f"harness: corpus: {len(corpus)} samples x {len(tools)} tools")
    corpus_results = run_detection(tools, corpus, args.timeout, args.workers)

    # 2. corpus directory scan time
    dir_results: list[dict] = []
    if not args.no_dir_scan:
        log("harness: corpus directory scan, one tool at a time")
        warm(args.corpus)
        for t in tools:
            if t.name == "fickling":  # one file per call; no directory mode
                dir_results.append({"tool": t.name, "outcome": "n/a"})
                continue
            rs = run_timed([t], args.corpus, args.timeout, max(1, args.repeat), None, "corpus-dir")
            dir_results += rs

    # 3. large inputs
    large: list[dict] = []
    large_results: list[dict] = []
    if args.large:
        large = load_manifest(args.large, "large")
        for s in large:
            log(f"harness: large input {s['path']} ({s.get('size', 0) / 1e6:.0f} MB)")
            warm(Path(s["abs"]))
            fmt = "pickle" if s["format"] == "pickle" else s["format"]
            large_results += run_timed(tools, Path(s["abs"]), args.timeout, args.repeat, fmt, s["id"])

    # Tables
    rows = detection_rows(names, corpus, corpus_results)
    rows_len = detection_rows(names, corpus, corpus_results, lenient=True)
    all_samples = corpus + large
    all_results = corpus_results + large_results
    rows_all = detection_rows(names, all_samples, all_results)

    n_mal = sum(1 for s in corpus if s["verdict"] == "malicious")
    n_sus = sum(1 for s in corpus if s["verdict"] == "suspicious")
    n_ben = len(corpus) - n_mal - n_sus
    summary = [
        f"# bench/scan results ({meta['date_utc']})\n",
        f"Machine: {meta['machine']['cores']} cores, {meta['machine']['cpu_model']}, "
        f"{meta['machine']['mem_gib']} GiB. warden {meta['warden']['version']} at "
        f"{meta['warden']['commit'][:12]}{' + uncommitted changes' if meta['warden']['dirty'] else ''}"
        f" ({'release' if meta['warden']['release'] else 'NOT a release build'}). "
        + ", ".join(f"{k} {v}" for k, v in meta["tools"].items()) + ".\n",
        f"## Detection over the corpus ({len(corpus)} samples: {n_mal} malicious, "
        f"{n_sus} suspicious, {n_ben} benign)\n",
        "Caught / false alarm = flagged at the top severity of the tool's own scale (see "
        "bench/scan/README.md); errors and crashes are counted apart from caught/missed. "
        "Suspicious samples (worth a review, not proof) count as reported on any finding.\n",
        detection_md(rows),
        "\nLenient (any finding / the tool's own non-zero exit for findings):\n",
        detection_md(rows_len),
    ]
    if large:
        summary += ["\nCorpus plus the large inputs:\n", detection_md(rows_all)]
    summary += ["\n## Per format (caught/malicious, FA = false alarms)\n",
                per_format_md(names, corpus, corpus_results)]
    if dir_results:
        summary += ["\n## Corpus directory scan\n", dirscan_md(dir_results, len(corpus))]
    if large_results:
        summary += ["\n## Large inputs\n", perf_md(large_results, large)]
    summary_text = "\n".join(summary) + "\n"

    det = [
        f"# bench/scan per-sample detections ({meta['date_utc']})\n",
        f"warden {meta['warden']['version']} at {meta['warden']['commit'][:12]}"
        f"{' + uncommitted changes' if meta['warden']['dirty'] else ''}; "
        + ", ".join(f"{k} {v}" for k, v in meta["tools"].items()) + ".\n",
        "Legend: `X` flagged at the tool's top severity (a catch on a malicious sample, a false "
        "alarm on a benign one), `w` lower-severity findings only, `.` nothing, `s` skipped "
        "(modelscan: no supported file), `E` the tool reported a scan error, `C` crash, "
        "`T` timeout, `-` not applicable.\n",
        "## Malicious samples an anchor flagged and warden did not\n",
        gap_md(names, all_samples, all_results),
        "\n## Matrix\n",
        matrix_md(names, all_samples, all_results),
    ]
    (args.out / "detections.md").write_text("\n".join(det) + "\n")
    (args.out / "summary.md").write_text(summary_text)
    results = {
        "meta": {**meta, "finished_utc": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")},
        "samples": [{k: v for k, v in s.items() if k != "abs"} for s in all_samples],
        "corpus_results": corpus_results,
        "dir_scan": dir_results,
        "large_results": large_results,
        "detection": {"corpus": rows, "corpus_lenient": rows_len, "all": rows_all},
    }
    (args.out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    print(summary_text)
    log(f"harness: wrote {args.out}/results.json, {args.out}/detections.md, {args.out}/summary.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
