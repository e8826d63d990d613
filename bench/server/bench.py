#!/usr/bin/env python3
"""bench/server/bench.py: load a running warden server (and MLflow's model registry server, the
most common open-source model registry, as the anchor) with wrk from a second process on loopback.

Usage: bench.py WARDEN_URL BOOTSTRAP_TOKEN OUT_DIR [--mlflow URL] [--duration S] [--connections N]

Prints a table (requests/s, p50, p99 per endpoint), the audit-log appends/s measured during the
write runs, and warden/MLflow ratios for the equivalent registry endpoints; writes summary.md and
results.json into OUT_DIR. Only the Python standard library is used (TOTP is computed by hand).
"""
import argparse
import base64
import hashlib
import hmac
import http.cookiejar
import json
import os
import re
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))


def totp(secret_b32, at=None):
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    step = int((at or time.time()) // 30)
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 15
    code = (struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{code:06d}"


class Session:
    def __init__(self, base):
        self.base = base.rstrip("/")
        # The server marks its cookies Secure on loopback too (browsers treat http://127.0.0.1 as a
        # secure context); let Python send them there.
        self.jar = http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(secure_protocols=("https", "wss", "http")))
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.csrf = ""
        self.bearer = None

    def call(self, method, path, body=None, raw=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if body is not None:
            req.add_header("content-type", "application/json")
        if self.csrf:
            req.add_header("x-csrf-token", self.csrf)
        if self.bearer:
            req.add_header("authorization", "Bearer " + self.bearer)
        try:
            with self.opener.open(req, timeout=60) as resp:
                text = resp.read().decode()
                status = resp.status
        except urllib.error.HTTPError as err:
            text = err.read().decode()
            status = err.code
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text


def must(result, what):
    status, body = result
    if status >= 300:
        sys.exit(f"bench/server: {what} failed: {status} {body}")
    return body


def setup_warden(url, token):
    s = Session(url)
    password = "benchmark password 123"
    must(s.call("POST", "/api/v1/bootstrap", {"token": token, "username": "bench", "password": password}), "bootstrap")
    s.csrf = must(s.call("POST", "/api/v1/login", {"username": "bench", "password": password}), "login")["csrf_token"]
    enrol = must(s.call("POST", "/api/v1/me/totp", {}), "totp enrolment")
    s.csrf = must(s.call("POST", "/api/v1/me/totp/confirm", {"code": totp(enrol["secret"])}), "totp confirm")["csrf_token"]
    scopes = ["read", "write", "download", "govern", "security", "audit", "admin", "self"]
    key = must(s.call("POST", "/api/v1/keys", {"name": "bench", "scopes": scopes, "expires_in_days": 1}), "API key")["key"]
    api = Session(url)
    api.bearer = key
    # Seed the inventory: 500 assets, every tenth one a model with one uploaded version.
    model_id = None
    for i in range(500):
        kind = "model" if i % 10 == 0 else "dataset"
        body = must(api.call("POST", "/api/v1/assets", {"kind": kind, "name": f"seed-{i}", "sensitivity": "internal",
                                                         "lifecycle": "design", "environment": "development"}), "seed asset")
        if kind == "model" and model_id is None:
            model_id = body["id"]
    weights = b"\x80\x02}q\x00X\x01\x00\x00\x00aq\x01K\x01s." * 1000
    must(api.call("POST", f"/api/v1/models/{model_id}/versions?version=1.0.0&filename=model.pkl", raw=weights), "upload")
    return s, key, model_id


MALICIOUS = b"cos\nsystem\n(S'echo pwned'\ntR."


def time_to_contain(session, url, rounds=5):
    """Malicious uploads through fresh API keys; seconds from the upload's answer until its incident
    is `contained` by the shipped playbook (quarantine, key revocation, freeze, notification)."""
    times = []
    for i in range(rounds):
        key = must(session.call("POST", "/api/v1/keys", {"name": f"uploader-{i}", "scopes": ["read", "write"], "expires_in_days": 1}), "uploader key")["key"]
        uploader = Session(url)
        uploader.bearer = key
        model = must(uploader.call("POST", "/api/v1/assets", {"kind": "model", "name": f"contain-{i}"}), "model")["id"]
        must(uploader.call("POST", f"/api/v1/models/{model}/versions?version=1.0.0&filename=model.pkl", raw=MALICIOUS), "malicious upload")
        started = time.time()
        while time.time() - started < 60:
            status, incidents = session.call("GET", f"/api/v1/incidents?asset={model}")
            if status == 200 and incidents and incidents[0].get("status") in ("contained", "mitigated", "recovered", "closed"):
                times.append(time.time() - started)
                break
            time.sleep(0.02)
        else:
            sys.exit(f"bench/server: incident of model {model} not contained within 60 s")
    return times


UNIQUE_POST = os.path.join(HERE, "unique_post.lua")


def wrk(url, headers, duration, connections, body=None):
    """wrk on `url`; with `body` (a JSON template where `%s` becomes unique) it POSTs."""
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency"]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    if body:
        cmd += ["-s", UNIQUE_POST]
    cmd.append(url)
    if body:
        cmd += ["--", body]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def pct(p):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)", out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50_ms": pct(50), "p99_ms": pct(99), "non_2xx": int(errors.group(1)) if errors else 0, "raw": out}


def audit_size(url, key):
    s = Session(url)
    s.bearer = key
    status, body = s.call("GET", "/api/v1/audit/entries?newest=true&limit=1")
    return body[0]["seq"] + 1 if status == 200 and body else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("token")
    ap.add_argument("out")
    ap.add_argument("--mlflow")
    ap.add_argument("--duration", type=int, default=15)
    ap.add_argument("--connections", type=int, default=16)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    session, key, model_id = setup_warden(args.url, args.token)
    auth = {"authorization": f"Bearer {key}"}
    runs = {}
    plan = [
        ("GET /healthz (no authorisation, no audit)", f"{args.url}/healthz", {}, None, False),
        ("GET /api/v1/me (gate: key, Cedar, audit append)", f"{args.url}/api/v1/me", auth, None, True),
        ("GET /api/v1/assets?kind=model (read)", f"{args.url}/api/v1/assets?kind=model", auth, None, True),
        ("GET /api/v1/models (registry read)", f"{args.url}/api/v1/models", auth, None, True),
        ("POST /api/v1/assets (write: change + audit in one transaction)", f"{args.url}/api/v1/assets", auth,
         '{"kind":"dataset","name":"load-%s","sensitivity":"internal","lifecycle":"design","environment":"development"}', True),
    ]
    for label, url, headers, body, audited in plan:
        before = audit_size(args.url, key) if audited else 0
        started = time.time()
        result = wrk(url, headers, args.duration, args.connections, body)
        elapsed = time.time() - started
        if audited:
            result["audit_appends_per_s"] = (audit_size(args.url, key) - before) / elapsed
        runs[label] = result
        print(f"{label}: {result['rps']:.0f} req/s, p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms, non-2xx {result['non_2xx']}", flush=True)
    anchor = {}
    if args.mlflow:
        m = args.mlflow.rstrip("/")
        for i in range(50):
            urllib.request.urlopen(urllib.request.Request(f"{m}/api/2.0/mlflow/registered-models/create",
                                   data=json.dumps({"name": f"seed-{i}"}).encode(), headers={"content-type": "application/json"}, method="POST")).read()
        anchor["GET /api/v1/models (registry read)"] = wrk(f"{m}/api/2.0/mlflow/registered-models/search?max_results=50", {}, args.duration, args.connections)
        anchor["POST /api/v1/assets (write: change + audit in one transaction)"] = wrk(f"{m}/api/2.0/mlflow/registered-models/create", {}, args.duration, args.connections, '{"name":"load-%s"}')
        for label, result in anchor.items():
            print(f"MLflow for {label}: {result['rps']:.0f} req/s, p99 {result['p99_ms']:.2f} ms", flush=True)
    contain = time_to_contain(session, args.url)
    contain.sort()
    print(f"time to contain a malicious upload (5 rounds): median {contain[len(contain) // 2]:.2f} s, max {contain[-1]:.2f} s", flush=True)
    lines = ["| endpoint | warden req/s | p50 ms | p99 ms | audit appends/s | MLflow req/s | MLflow p99 ms | warden / MLflow |", "|---|---|---|---|---|---|---|---|"]
    for label, r in runs.items():
        a = anchor.get(label)
        appends = f"{r['audit_appends_per_s']:.0f}" if "audit_appends_per_s" in r else "-"
        if a:
            lines.append(f"| {label} | {r['rps']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {appends} | {a['rps']:.0f} | {a['p99_ms']:.2f} | {r['rps'] / a['rps']:.1f}x |")
        else:
            lines.append(f"| {label} | {r['rps']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {appends} | | | |")
    lines.append("")
    lines.append(f"Time to contain a malicious upload (upload answered -> incident `contained` by the shipped playbook), 5 rounds: median {contain[len(contain) // 2]:.2f} s, max {contain[-1]:.2f} s.")
    summary = "\n".join(lines)
    print("\n" + summary)
    with open(os.path.join(args.out, "summary.md"), "w") as f:
        f.write(summary + "\n")
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"warden": runs, "mlflow": anchor, "time_to_contain_s": contain}, f, indent=2)


if __name__ == "__main__":
    main()
