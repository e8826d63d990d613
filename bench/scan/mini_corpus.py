#!/usr/bin/env python3
"""A tiny fallback corpus for bench/scan, used only when scripts/gen_corpus.py is absent.

    mini_corpus.py OUTDIR

Same manifest shape as scripts/gen_corpus.py: OUTDIR/manifest.json =
{"samples": [{"path", "verdict", "technique", "format"}]}. Nothing here is ever unpickled.
"""

from __future__ import annotations

import json
import os
import pickle
import sys
from pathlib import Path


class _Reduce:
    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return (self.fn, self.args)


CMD = "echo WARDEN_BENCH_PAYLOAD"


def main() -> int:
    out = Path(sys.argv[1])
    samples = []

    def put(rel: str, data: bytes, verdict: str, technique: str, fmt: str = "pickle") -> None:
        p = out / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        samples.append({"path": rel, "verdict": verdict, "technique": technique, "format": fmt})

    plain = {"weights": [0.5, 1.5, -2.0], "name": "tiny", "layers": (1, 2, 3), "blob": b"\x00\x01"}
    for proto in (0, 2, 4, 5):
        put(f"benign/pickle/p{proto}_plain.pkl", pickle.dumps(plain, protocol=proto), "benign",
            f"protocol {proto} plain data")
    for proto in (0, 2, 4):
        put(f"malicious/pickle/p{proto}_os_system.pkl",
            pickle.dumps({"x": _Reduce(os.system, (CMD,))}, protocol=proto), "malicious",
            f"protocol {proto} posix.system REDUCE")
    put("malicious/pickle/p4_builtins_eval.pkl",
        pickle.dumps(_Reduce(eval, ("__import__('os').system('true')",)), protocol=4),
        "malicious", "protocol 4 builtins.eval")
    put("malicious/pickle/p4_builtins_exec.pkl",
        pickle.dumps(_Reduce(exec, ("import os",)), protocol=4), "malicious",
        "protocol 4 builtins.exec")
    (out / "manifest.json").write_text(json.dumps({"samples": samples}, indent=2) + "\n")
    print(f"mini_corpus: {len(samples)} samples -> {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
