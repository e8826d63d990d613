#!/usr/bin/env python3
"""warden data scan vs Microsoft Presidio on the same labelled PII records.

Usage: pii_bench.py --data DIR --warden BIN [--presidio-records N] [--table-rows N] [--out DIR]

DIR holds labelled.jsonl / labelled.txt (and people.csv) from
`cargo run --release -p warden-data --example gen_pii`. Both tools' spans are scored the same
way: a predicted span is a true positive when it overlaps a labelled span of the same entity;
a labelled span is recalled when some prediction of its entity overlaps it. Presidio labels with
no warden counterpart are ignored (not counted as false positives).

Presidio runs with its predefined pattern recognizers. spaCy's `en_core_web_sm` cannot be
installed here (it is not on PyPI and GitHub downloads are blocked), so the NLP engine is a blank
spaCy English pipeline whose lemmas are the lower-cased tokens (so Presidio's context words still
work); PERSON / LOCATION (spaCy NER) therefore produce nothing and are reported as n/a.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import logging

# Presidio's e-mail/URL validation asks tldextract for the public-suffix list online; offline it
# falls back to the bundled snapshot and logs a traceback, which is noise here.
logging.getLogger("tldextract").setLevel(logging.CRITICAL)

PRESIDIO_TO_WARDEN = {
    "EMAIL_ADDRESS": "email",
    "PHONE_NUMBER": "phone_number",
    "CREDIT_CARD": "credit_card",
    "IBAN_CODE": "iban",
    "US_SSN": "us_ssn",
    "UK_NINO": "uk_nino",
    "IP_ADDRESS": "ip_address",
    "MAC_ADDRESS": "mac_address",
    "URL": "url",
    "CRYPTO": "crypto_wallet",
    "US_PASSPORT": "passport",
    "DATE_TIME": "date_of_birth",
    "PERSON": "person",
    "LOCATION": "location",
}
# DATE_TIME flags every date; warden's date_of_birth only dates with birth context. Reported, but
# not an equivalent entity.
NOT_EQUIVALENT = {"date_of_birth"}


def load_records(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def score(records, predictions):
    """predictions: list (per record) of (start, end, entity). Returns {entity: [tp, fp, fn]}."""
    stats = {}
    for rec, preds in zip(records, predictions):
        gold = rec["spans"]
        for s, e, ent in preds:
            hit = any(g["entity"] == ent and s < g["end"] and g["start"] < e for g in gold)
            st = stats.setdefault(ent, [0, 0, 0])
            st[0 if hit else 1] += 1
        for g in gold:
            if not any(ent == g["entity"] and s < g["end"] and g["start"] < e for s, e, ent in preds):
                stats.setdefault(g["entity"], [0, 0, 0])[2] += 1
    return stats


def prf(st):
    tp, fp, fn = st
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def run_warden(binary, txt_path, n_records):
    t0 = time.perf_counter()
    out = subprocess.run(
        [binary, "data", "scan", "--as", "text", "--format", "json", "--all-findings", "--fail-on", "never", txt_path],
        capture_output=True, check=True,
    )
    elapsed = time.perf_counter() - t0
    report = json.loads(out.stdout)
    preds = [[] for _ in range(n_records)]
    for f in report["findings"]:
        loc = f["location"]
        ent = f["rule_id"].removeprefix("pii.")
        preds[loc["line"] - 1].append((loc["start"], loc["end"], ent))
    return preds, elapsed


def presidio_engine():
    import spacy
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

    blank_dir = os.path.join(os.environ.get("PII_BENCH_TMP", "/tmp"), "presidio_blank_en")
    if not os.path.isdir(blank_dir):
        spacy.blank("en").to_disk(blank_dir)

    class LowercaseLemmaEngine(SpacyNlpEngine):
        """A blank spaCy pipeline; lemmas = lower-cased tokens so context words can match."""

        def process_text(self, text, language):
            artifacts = super().process_text(text, language)
            artifacts.lemmas = [t.text.lower() for t in artifacts.tokens]
            artifacts.keywords = artifacts.set_keywords(self, artifacts.lemmas, language)
            return artifacts

        def process_batch(self, texts, language, batch_size=1, n_process=1, **kwargs):
            for text in texts:
                yield text, self.process_text(text, language)

    nlp = LowercaseLemmaEngine(models=[{"lang_code": "en", "model_name": blank_dir}])
    nlp.load()
    return AnalyzerEngine(nlp_engine=nlp, supported_languages=["en"])


# Presidio is scored at each of these score thresholds and credited with its best F1 per entity
# (0.0 is its default: analyze() returns everything).
PRESIDIO_THRESHOLDS = (0.0, 0.3, 0.5)


def run_presidio(engine, records):
    """Returns, per record, (start, end, entity, score), and the elapsed time."""
    preds = []
    t0 = time.perf_counter()
    for rec in records:
        results = engine.analyze(text=rec["text"], language="en")
        preds.append([(r.start, r.end, PRESIDIO_TO_WARDEN[r.entity_type], r.score) for r in results
                      if r.entity_type in PRESIDIO_TO_WARDEN])
    return preds, time.perf_counter() - t0


def best_presidio(records, preds):
    """{entity: (stats, threshold)} with the threshold giving Presidio its best F1."""
    best = {}
    for th in PRESIDIO_THRESHOLDS:
        stats = score(records, [[(s, e, ent) for s, e, ent, sc in p if sc >= th] for p in preds])
        for ent, st in stats.items():
            if ent not in best or prf(st)[2] > prf(best[ent][0])[2]:
                best[ent] = (st, th)
    return best


def presidio_table_rate(engine, csv_path, rows):
    """Rows per second of Presidio's BatchAnalyzerEngine over the first `rows` table rows."""
    import csv
    from presidio_analyzer import BatchAnalyzerEngine

    with open(csv_path, encoding="utf-8") as f:
        reader = csv.DictReader(f)
        data = [row for _, row in zip(range(rows), reader)]
    columns = {k: [r[k] for r in data] for k in data[0]}
    batch = BatchAnalyzerEngine(analyzer_engine=engine)
    t0 = time.perf_counter()
    list(batch.analyze_dict(columns, language="en"))
    return len(data) / (time.perf_counter() - t0)


def warden_table(binary, csv_path, out_dir):
    """Time and peak RSS (KiB) of `warden data scan` over the whole table (GNU time)."""
    log = os.path.join(out_dir, "warden_table_time.txt")
    t0 = time.perf_counter()
    with open(os.path.join(out_dir, "warden_table.json"), "wb") as out:
        subprocess.run(["/usr/bin/time", "-v", "-o", log, binary, "data", "scan", "--format", "json", "--fail-on", "never", csv_path],
                       stdout=out, check=True)
    elapsed = time.perf_counter() - t0
    rss = None
    with open(log, encoding="utf-8") as f:
        for line in f:
            if "Maximum resident set size" in line:
                rss = int(line.rsplit(":", 1)[1])
    return elapsed, rss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--warden", required=True)
    ap.add_argument("--presidio-records", type=int, default=2000)
    ap.add_argument("--table-rows", type=int, default=0, help="rows in people.csv (0: skip the table part)")
    ap.add_argument("--presidio-table-rows", type=int, default=500)
    ap.add_argument("--out", default="bench/out/data-pii")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    records = load_records(os.path.join(args.data, "labelled.jsonl"))
    w_preds, w_time = run_warden(args.warden, os.path.join(args.data, "labelled.txt"), len(records))
    engine = presidio_engine()
    subset = records[: args.presidio_records]
    p_preds, p_time = run_presidio(engine, subset)

    w_stats = score(subset, w_preds[: len(subset)])
    w_stats_all = score(records, w_preds)
    p_best = best_presidio(subset, p_preds)
    p_stats = {ent: st for ent, (st, _) in p_best.items()}
    entities = sorted({g["entity"] for r in records for g in r["spans"]})
    presidio_supported = {PRESIDIO_TO_WARDEN[e] for e in engine.get_supported_entities("en") if e in PRESIDIO_TO_WARDEN}
    lines = []
    lines.append(f"records: {len(subset)} scored for both tools (warden also ran on all {len(records)})")
    lines.append("")
    lines.append("| entity | warden P | warden R | warden F1 | Presidio P | Presidio R | Presidio F1 | Presidio threshold | note |")
    lines.append("|---|---|---|---|---|---|---|---|---|")
    worse = []
    for ent in entities:
        wp, wr, wf = prf(w_stats.get(ent, [0, 0, 0]))
        if ent in presidio_supported and ent not in ("person", "location"):
            pp, pr, pf = prf(p_stats.get(ent, [0, 0, 0]))
            th = p_best.get(ent, (None, "-"))[1]
            note = "Presidio DATE_TIME (any date): not the same entity" if ent in NOT_EQUIVALENT else ""
            if ent == "passport":
                note = "Presidio: US_PASSPORT (US format only)"
            if ent not in NOT_EQUIVALENT and wf + 1e-9 < pf:
                worse.append(ent)
            lines.append(f"| {ent} | {wp:.3f} | {wr:.3f} | {wf:.3f} | {pp:.3f} | {pr:.3f} | {pf:.3f} | {th} | {note} |")
        else:
            note = "needs spaCy NER model (not installable here)" if ent in ("person", "location") else "no Presidio recognizer"
            lines.append(f"| {ent} | {wp:.3f} | {wr:.3f} | {wf:.3f} | n/a | n/a | n/a | - | {note} |")
    w_rate = len(records) / w_time
    p_rate = len(subset) / p_time
    lines.append("")
    lines.append(f"warden: {len(records)} records in {w_time:.3f} s (whole process) = {w_rate:,.0f} records/s")
    lines.append(f"Presidio: {len(subset)} records in {p_time:.3f} s = {p_rate:,.1f} records/s")
    lines.append(f"throughput ratio (records/s): {w_rate / p_rate:,.0f}x")
    lines.append("shared entities where warden's F1 < Presidio's: " + (", ".join(worse) if worse else "none"))

    if args.table_rows:
        csv_path = os.path.join(args.data, "people.csv")
        t_elapsed, rss = warden_table(args.warden, csv_path, args.out)
        t_rate = args.table_rows / t_elapsed
        pt_rate = presidio_table_rate(engine, csv_path, args.presidio_table_rows)
        lines.append("")
        lines.append(f"table: {args.table_rows:,} rows x 9 columns ({os.path.getsize(csv_path) / 1e6:.0f} MB CSV)")
        lines.append(f"warden data scan: {t_elapsed:.1f} s = {t_rate:,.0f} rows/s, peak RSS {rss / 1024:.0f} MiB")
        lines.append(f"Presidio BatchAnalyzerEngine.analyze_dict on the first {args.presidio_table_rows} rows: {pt_rate:,.1f} rows/s "
                     f"(1M rows would take ~{args.table_rows / pt_rate / 3600:.1f} h)")
        lines.append(f"table throughput ratio: {t_rate / pt_rate:,.0f}x")

    text = "\n".join(lines)
    print(text)
    with open(os.path.join(args.out, "summary.md"), "w", encoding="utf-8") as f:
        f.write(text + "\n")
    with open(os.path.join(args.out, "results.json"), "w", encoding="utf-8") as f:
        json.dump({"warden": w_stats, "warden_all": w_stats_all, "presidio": p_stats,
                   "warden_records_per_s": w_rate, "presidio_records_per_s": p_rate}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
