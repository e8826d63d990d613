#!/usr/bin/env python3
"""Run fickling's own safety analysis on one file and print one JSON line.

    fickling_check.py PATH

`fickling --check-safety` reads its input as a (stacked) raw pickle only; a torch.save
zip checkpoint is handled by fickling's library (`fickling.loader.scan_zip_archive`, the
routine its own Hugging Face scan uses for zips). This wrapper picks the one that fits:
a zip goes to scan_zip_archive, anything else is read as stacked pickles and each goes
through `fickling.analysis.check_safety` -- exactly what `--check-safety` does.

Output: {"severity": NAME, "level": 0-5, "mode": "zip"|"pickle", "members": {...},
"errors": [...]}; exit 0 when the worst severity is LIKELY_SAFE, 1 otherwise, 2 when
fickling could not parse the input at all.
"""

from __future__ import annotations

import json
import sys
import zipfile


def main() -> int:
    path = sys.argv[1]
    from fickling import fickle
    from fickling.analysis import Severity, check_safety

    out: dict = {"mode": None, "members": {}, "errors": [], "reasons": []}
    worst = Severity.LIKELY_SAFE
    found: list = []  # (severity, analysis name, message) of every result at LIKELY_UNSAFE+

    def note(results) -> None:
        for r in getattr(results, "results", ()) or ():
            if r.severity >= Severity.LIKELY_UNSAFE:
                found.append((r.severity, r.analysis_name or "?", (r.message or "")[:100]))
    if zipfile.is_zipfile(path):
        from fickling.loader import scan_zip_archive

        out["mode"] = "zip"
        results = scan_zip_archive(path, graceful=True, json_output_path="/dev/null")
        for name, res in results.items():
            out["members"][name] = res.severity.name
            out["errors"] += list(res.errors or [])
            for ar in res.results or []:
                note(ar)
            if res.severity > worst:
                worst = res.severity
    else:
        out["mode"] = "pickle"
        try:
            with open(path, "rb") as fh:
                stacked = fickle.StackedPickle.load(fh, fail_on_decode_error=False)
        except fickle.PickleDecodeError as e:
            out["errors"].append(f"PickleDecodeError: {e}")
            out["severity"] = None
            out["level"] = None
            print(json.dumps(out))
            return 2
        for i, pickled in enumerate(stacked):
            res = check_safety(pickled, json_output_path="/dev/null")
            out["members"][str(i)] = res.severity.name
            note(res)
            if res.severity > worst:
                worst = res.severity
    # The reasons behind the worst severity, most severe first, one line per analysis.
    seen = set()
    for sev, name, msg in sorted(found, key=lambda t: -t[0].value[0]):
        if sev == worst and name not in seen:
            seen.add(name)
            out["reasons"].append(f"{name}: {msg}")
    out["severity"] = worst.name
    out["level"] = worst.value[0]
    print(json.dumps(out))
    return 0 if worst == Severity.LIKELY_SAFE else 1


if __name__ == "__main__":
    sys.exit(main())
