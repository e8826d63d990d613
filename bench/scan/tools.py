"""Per-tool adapters for bench/scan: run one scanner on one path, return its verdict and cost.

Every adapter runs the tool as a fresh child process (its own session, in an empty scratch
directory so no settings file or cache in the working directory is picked up) under
`/usr/bin/time -f %M`, and takes wall time from a monotonic clock around it and peak RSS from
GNU time's report (the child's ru_maxrss: the maximum over the tool and every descendant it
reaped). The small `time` process in between matters: Linux carries a process's RSS high-water
mark across fork and exec, so a tool forked straight from this (large) Python process would be
charged this process's own peak. On timeout the whole process group is killed.

Verdicts. Each tool has its own severity scale; a sample is *flagged* when the tool reports
something at the top of its own scale, *lower* when it reports only lesser findings, *clean*
when it reports nothing. The exact rule per tool is in each adapter's docstring and in
bench/scan/README.md. Outcomes:

  flagged   a top-severity finding (also when the tool additionally reported an error)
  lower     only lower-severity findings
  clean     no finding
  skipped   the tool said it found nothing it can scan (modelscan exit 3)
  error     the tool reported a scan error and flagged nothing
  crash     no parsable result (traceback, unexpected exit)
  timeout   killed after the time limit
  n/a       the tool does not handle this kind of input (fickling on non-pickles)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
GNU_TIME = os.environ.get("GNU_TIME", "/usr/bin/time")  # Debian package `time`

# Keep the anchors quiet and offline: no telemetry, no hub look-ups.
TOOL_ENV = {
    "PROMPTFOO_DISABLE_TELEMETRY": "1",  # modelaudit (shared with promptfoo)
    "NO_ANALYTICS": "1",
    "DO_NOT_TRACK": "1",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "PYTHONWARNINGS": "ignore",
    "NO_COLOR": "1",
    "TERM": "dumb",
    "COLUMNS": "200",
}


@dataclass
class Measured:
    exit_code: int | None
    wall_s: float
    peak_rss_kb: int | None
    timed_out: bool
    stdout: str
    stderr: str


@dataclass
class ToolResult:
    tool: str
    path: str
    outcome: str
    max_severity: str | None = None
    lenient: bool = False  # flagged by the tool's own exit-code / "unsafe" semantics
    exit_code: int | None = None
    wall_s: float | None = None
    peak_rss_kb: int | None = None
    detail: str = ""
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return asdict(self)


def measure(cmd: list[str], timeout: float, env: dict | None = None, keep_output: int = 20000,
            cwd: str | None = None) -> Measured:
    """Run cmd in a fresh process group; return exit code, wall time, peak RSS (KiB)."""
    full_env = {**os.environ, **TOOL_ENV, **(env or {})}
    scratch = cwd or tempfile.mkdtemp(prefix="bench-scan-")
    out_f = tempfile.TemporaryFile(dir=scratch)
    err_f = tempfile.TemporaryFile(dir=scratch)
    rss_fd, rss_path = tempfile.mkstemp(dir=scratch, prefix="rss-")
    os.close(rss_fd)
    timed_out = threading.Event()
    t0 = time.perf_counter()
    proc = subprocess.Popen([GNU_TIME, "-f", "%M", "-o", rss_path, *cmd], stdout=out_f,
                            stderr=err_f, stdin=subprocess.DEVNULL, cwd=scratch, env=full_env,
                            start_new_session=True)

    def _kill():
        timed_out.set()
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    timer = threading.Timer(timeout, _kill)
    timer.start()
    try:
        proc.wait()
    finally:
        timer.cancel()
    wall = time.perf_counter() - t0
    peak_kb = None
    try:
        # GNU time writes "Command exited with non-zero status N" / "Command terminated by
        # signal N" before the format line; the number is the last line.
        lines = Path(rss_path).read_text().split()
        peak_kb = int(lines[-1]) if lines and lines[-1].isdigit() else None
    except OSError:
        pass
    # Anything the tool left running in its group (it should not) goes too.
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass

    def _read(f, keep: int) -> str:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - keep) if keep else 0)
        data = f.read().decode("utf-8", "replace")
        f.close()
        return data

    out, err = _read(out_f, 0), _read(err_f, keep_output)  # stdout whole: warden's report
    if cwd is None:
        shutil.rmtree(scratch, ignore_errors=True)
    return Measured(proc.returncode, wall, peak_kb, timed_out.is_set(), out, err)


def _tail(s: str, n: int = 300) -> str:
    s = s.strip()
    return s[-n:]


class Tool:
    name = "?"

    def __init__(self, venv: Path):
        self.venv = venv

    def applicable(self, fmt: str | None, path: Path) -> bool:  # noqa: ARG002
        return True

    def command(self, path: Path, scratch: Path) -> list[str]:
        raise NotImplementedError

    def interpret(self, m: Measured, scratch: Path) -> ToolResult:
        raise NotImplementedError

    def version(self) -> str:
        return _pkg_version(self.venv, self.name)

    def run(self, path: Path, timeout: float, fmt: str | None = None) -> ToolResult:
        if not self.applicable(fmt, path):
            return ToolResult(self.name, str(path), "n/a")
        scratch = Path(tempfile.mkdtemp(prefix=f"bench-{self.name}-"))
        try:
            m = measure(self.command(path, scratch), timeout, cwd=str(scratch))
            if m.timed_out:
                r = ToolResult(self.name, str(path), "timeout", detail=f"killed after {timeout:.0f} s")
            else:
                try:
                    r = self.interpret(m, scratch)
                except Exception as e:  # an unparsable result is a crash of the tool
                    r = ToolResult(self.name, str(path), "crash",
                                   detail=f"{type(e).__name__}: {e}; stderr: {_tail(m.stderr)}")
            r.path = str(path)
            r.exit_code, r.wall_s, r.peak_rss_kb = m.exit_code, m.wall_s, m.peak_rss_kb
            return r
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def _pkg_version(venv: Path, dist: str) -> str:
    try:
        out = subprocess.run(
            [str(venv / "bin" / "python"), "-c",
             f"import importlib.metadata as m; print(m.version({dist!r}))"],
            capture_output=True, text=True, timeout=60, check=True)
        return out.stdout.strip()
    except Exception:
        return "unknown"


# --------------------------------------------------------------------------------------------


class Picklescan(Tool):
    """`picklescan -g -p PATH` (-g only lists the globals it saw). picklescan has two levels: *dangerous* globals (its top: they make
    the file "infected" and exit 1) and *suspicious* ones (non-allowlisted, exit 0 unless
    --strict). Flagged = "Dangerous globals: N" with N > 0 in its summary; lower = only
    suspicious globals. Exit 2 (scan_err) without a dangerous global = error."""

    name = "picklescan"
    _re = {k: re.compile(rf"^{k}: (\d+)$", re.M) for k in
           ("Scanned files", "Infected files", "Dangerous globals", "Suspicious globals")}

    def command(self, path, scratch):
        return [str(self.venv / "bin" / "picklescan"), "-g", "-p", str(path)]

    def interpret(self, m, scratch):
        text = m.stdout + "\n" + m.stderr
        got = {k: r.search(text) for k, r in self._re.items()}
        if got["Dangerous globals"] is None:  # its tracebacks go to stdout
            return ToolResult(self.name, "", "crash", detail=_tail(text))
        dangerous = int(got["Dangerous globals"].group(1))
        suspicious = int(got["Suspicious globals"].group(1))
        found = re.findall(r"^  \* (\S+) - (dangerous|suspicious)$", text, re.M)
        detail = "; ".join(sorted({f"{lvl} {g}" for g, lvl in found}))[:300]
        extra = {"dangerous": dangerous, "suspicious": suspicious,
                 "scanned_files": int(got["Scanned files"].group(1))}
        if dangerous:
            return ToolResult(self.name, "", "flagged", "dangerous", True, detail=detail, extra=extra)
        if m.exit_code == 2:
            errs = [ln for ln in text.splitlines() if re.search(r"error|exception", ln, re.I)]
            return ToolResult(self.name, "", "error", "suspicious" if suspicious else None,
                              detail=_tail("\n".join(errs[-3:]) or m.stderr), extra=extra)
        if suspicious:
            return ToolResult(self.name, "", "lower", "suspicious", m.exit_code == 1, detail, extra=extra)
        return ToolResult(self.name, "", "clean", None, m.exit_code == 1, extra=extra)


class Modelscan(Tool):
    """`modelscan -p PATH -r json -o FILE`. Severities LOW < MEDIUM < HIGH < CRITICAL; flagged =
    an issue at HIGH or CRITICAL (its default unsafe-globals list has only those two levels;
    MEDIUM is used for Keras Lambda layers); lower = only LOW/MEDIUM. Exit 3 ("no supported
    files") = skipped; errors in its report (exit 2) without a HIGH+ issue = error."""

    name = "modelscan"

    def command(self, path, scratch):
        return [str(self.venv / "bin" / "modelscan"), "-p", str(path), "-r", "json",
                "-o", str(scratch / "report.json")]

    def interpret(self, m, scratch):
        rep_path = scratch / "report.json"
        if not rep_path.exists():
            if m.exit_code == 3:
                return ToolResult(self.name, "", "skipped", detail="no supported files")
            return ToolResult(self.name, "", "crash", detail=_tail(m.stderr or m.stdout))
        rep = json.loads(rep_path.read_text())
        issues = rep.get("issues", [])
        errors = rep.get("errors", [])
        order = ["LOW", "MEDIUM", "HIGH", "CRITICAL"]
        sevs = [i.get("severity", "") for i in issues]
        top = max(sevs, key=lambda s: order.index(s) if s in order else -1) if sevs else None
        detail = "; ".join(sorted({f"{i.get('severity')} {i.get('module')}.{i.get('operator')}"
                                   for i in issues}))[:300]
        err_detail = "; ".join(f"{e.get('category')}: {e.get('description')}" for e in errors)[:300]
        extra = {"issues": len(issues), "errors": len(errors),
                 "scanned": rep.get("summary", {}).get("scanned", {}).get("total_scanned")}
        if top in ("HIGH", "CRITICAL"):
            return ToolResult(self.name, "", "flagged", top, True, detail=detail, extra=extra)
        if m.exit_code == 2 or (errors and m.exit_code != 0):
            if m.exit_code == 3 and not issues:
                return ToolResult(self.name, "", "skipped", top, detail=err_detail, extra=extra)
            return ToolResult(self.name, "", "error", top, bool(issues), detail=err_detail, extra=extra)
        if top:
            return ToolResult(self.name, "", "lower", top, True, detail=detail, extra=extra)
        if m.exit_code == 3:
            return ToolResult(self.name, "", "skipped", detail=err_detail or "no supported files",
                              extra=extra)
        if m.exit_code not in (0, 1):
            return ToolResult(self.name, "", "crash", detail=_tail(m.stderr), extra=extra)
        return ToolResult(self.name, "", "clean", extra=extra)


class Modelaudit(Tool):
    """`modelaudit scan --no-cache -f json -o FILE PATH`. Severities debug < info < warning <
    critical; flagged = an issue at *critical* (its top); lower = only *warning* (its exit code
    is 1 for warning too, which is the lenient verdict). Exit 2 (operational error /
    inconclusive) without a critical issue = error."""

    name = "modelaudit"

    def command(self, path, scratch):
        return [str(self.venv / "bin" / "modelaudit"), "scan", "--no-cache", "-f", "json",
                "-o", str(scratch / "report.json"), str(path)]

    def interpret(self, m, scratch):
        rep_path = scratch / "report.json"
        if not rep_path.exists() or rep_path.stat().st_size == 0:
            return ToolResult(self.name, "", "crash", detail=_tail(m.stderr or m.stdout))
        rep = json.loads(rep_path.read_text())
        issues = rep.get("issues", [])
        order = ["debug", "info", "warning", "critical"]
        counts = {s: 0 for s in order}
        crit_msgs: dict[str, int] = {}
        warn_msgs: dict[str, int] = {}
        for i in issues:
            s = str(i.get("severity", "")).lower()
            counts[s] = counts.get(s, 0) + 1
            if s == "critical":
                crit_msgs[i.get("message", "")[:120]] = 1
            elif s == "warning":
                warn_msgs[i.get("message", "")[:120]] = 1
        top = next((s for s in reversed(order) if counts.get(s)), None)
        extra = {"counts": counts, "has_errors": rep.get("has_errors"),
                 "files_scanned": rep.get("files_scanned")}
        if counts["critical"]:
            return ToolResult(self.name, "", "flagged", "critical", True,
                              detail="; ".join(list(crit_msgs)[:3])[:300], extra=extra)
        if m.exit_code == 2:
            msgs = [i.get("message", "")[:120] for i in issues
                    if str(i.get("severity", "")).lower() in ("warning", "info")]
            return ToolResult(self.name, "", "error", top, False,
                              detail="; ".join(dict.fromkeys(msgs[:3]))[:300] or _tail(m.stderr),
                              extra=extra)
        if counts["warning"]:
            return ToolResult(self.name, "", "lower", "warning", m.exit_code == 1,
                              detail="; ".join(list(warn_msgs)[:3])[:300], extra=extra)
        if m.exit_code not in (0, 1):
            return ToolResult(self.name, "", "crash", top, detail=_tail(m.stderr), extra=extra)
        return ToolResult(self.name, "", "clean", top, m.exit_code == 1, extra=extra)


# Formats (from the corpus manifest) that are pickle streams or pickle-in-zip containers.
FICKLING_FORMATS = {"pickle", "pytorch", "pytorch-zip", "joblib", "sklearn", "pickle-large"}


class Fickling(Tool):
    """fickling's own safety analysis via bench/scan/fickling_check.py (check_safety on each
    stacked pickle, as `fickling --check-safety` does; scan_zip_archive for zip checkpoints).
    Severities LIKELY_SAFE(0) < POSSIBLY_UNSAFE < SUSPICIOUS < LIKELY_UNSAFE <
    LIKELY_OVERTLY_MALICIOUS < OVERTLY_MALICIOUS(5); flagged = LIKELY_OVERTLY_MALICIOUS or
    OVERTLY_MALICIOUS (its two "malicious" levels; LIKELY_UNSAFE is what it gives any pickle
    that imports a non-stdlib module or calls a method, e.g. every torch checkpoint); lower =
    levels 1-3 (its CLI's own exit 1 threshold, the lenient verdict). Only pickle formats
    apply; anything else is n/a."""

    name = "fickling"

    def applicable(self, fmt, path):
        if fmt is None:
            return path.is_file()
        return fmt in FICKLING_FORMATS and path.is_file()

    def command(self, path, scratch):
        return [str(self.venv / "bin" / "python"), str(HERE / "fickling_check.py"), str(path)]

    def interpret(self, m, scratch):
        line = next((ln for ln in reversed(m.stdout.splitlines()) if ln.startswith("{")), None)
        if line is None:
            return ToolResult(self.name, "", "crash", detail=_tail(m.stderr))
        rep = json.loads(line)
        level = rep.get("level")
        sev = rep.get("severity")
        extra = {"mode": rep.get("mode"), "members": rep.get("members"),
                 "reasons": rep.get("reasons")}
        detail = "; ".join(rep.get("reasons") or [])[:300]
        if level is None:
            return ToolResult(self.name, "", "error", None, False,
                              detail="; ".join(rep.get("errors") or [])[:300], extra=extra)
        if level >= 4:
            return ToolResult(self.name, "", "flagged", sev, True, detail=detail, extra=extra)
        if level >= 1:
            return ToolResult(self.name, "", "lower", sev, True, detail=detail, extra=extra)
        return ToolResult(self.name, "", "clean", sev, False, extra=extra)


class Warden(Tool):
    """`warden scan PATH --format json` (default --jobs: every core). Severities info < low <
    medium < high < critical; flagged = a finding at high or critical; lower = low/medium only
    (its default --fail-on medium is the lenient verdict). Exit 2, or a file with status
    "error", without a high+ finding = error."""

    name = "warden"

    def __init__(self, venv: Path, binary: Path):
        super().__init__(venv)
        self.binary = binary

    def version(self) -> str:
        try:
            out = subprocess.run([str(self.binary), "--version"], capture_output=True, text=True,
                                 timeout=30)
            return out.stdout.strip().split()[-1] if out.stdout.strip() else "unknown"
        except Exception:
            return "unknown"

    def command(self, path, scratch):
        return [str(self.binary), "scan", str(path), "--format", "json"]

    def interpret(self, m, scratch):
        start = m.stdout.find("{")
        if start < 0:
            return ToolResult(self.name, "", "crash", detail=_tail(m.stderr))
        rep = json.loads(m.stdout[start:])
        order = ["info", "low", "medium", "high", "critical"]
        findings = rep.get("findings", [])
        sevs = [f.get("severity") for f in findings if f.get("severity") in order]
        top = max(sevs, key=order.index) if sevs else None
        files = rep.get("files", [])
        status_errors = [f for f in files if f.get("status") == "error"]
        extra = {"findings": len(findings), "files": len(files),
                 "file_status": {s: sum(1 for f in files if f.get("status") == s)
                                 for s in ("scanned", "skipped", "error")}}
        hi = [f for f in findings if f.get("severity") in ("high", "critical")]
        if hi:
            detail = "; ".join(sorted({f"{f.get('severity')} {f.get('rule_id')}" for f in hi}))[:300]
            return ToolResult(self.name, "", "flagged", top, True, detail=detail, extra=extra)
        if m.exit_code == 2 or status_errors:
            return ToolResult(self.name, "", "error", top, top in ("medium",),
                              detail=_tail(m.stderr) or "file status error", extra=extra)
        if top in ("low", "medium"):
            lo = [f for f in findings if f.get("severity") in ("low", "medium")]
            detail = "; ".join(sorted({f"{f.get('severity')} {f.get('rule_id')}" for f in lo}))[:300]
            return ToolResult(self.name, "", "lower", top, top == "medium", detail=detail, extra=extra)
        if m.exit_code not in (0, 1):
            return ToolResult(self.name, "", "crash", top, detail=_tail(m.stderr), extra=extra)
        return ToolResult(self.name, "", "clean", top, False, extra=extra)


def all_tools(venv: Path, warden_bin: Path) -> list[Tool]:
    return [Warden(venv, warden_bin), Picklescan(venv), Modelscan(venv), Modelaudit(venv),
            Fickling(venv)]
