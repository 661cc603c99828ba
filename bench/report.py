#!/usr/bin/env python3
"""Turns a bench/run.sh result directory into docs/benchmarks.md and gnuplot PNGs (stdlib only).

  bench/report.py DIR [--doc docs/benchmarks.md] [--img-dir docs/img]
  bench/report.py --collect-meta DIR [--mode M] [--invocation CMD] [--set k=v]... [--update]

DIR holds one cg-load JSON result per run (with the "run" object bench/run.sh adds), meta.json
and commands.log. Nothing here measures: every figure comes from those files.
"""
import argparse
import glob
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVERS = ["cometgate", "faye", "nchan"]
PEERS = ["faye", "nchan"]
TITLES = {"cometgate": "cometgate", "faye": "Faye", "nchan": "nchan"}


# ---------------------------------------------------------------------------------- meta -----
def sh(cmd):
    try:
        r = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=10, cwd=ROOT)
        return (r.stdout + r.stderr).strip()
    except Exception as e:  # noqa: BLE001 - a missing tool is just "unknown"
        return "unknown (%s)" % e


def collect_meta(args):
    path = os.path.join(args.dir, "meta.json")
    meta = {}
    if args.update and os.path.exists(path):
        with open(path) as f:
            meta = json.load(f)
    else:
        cpu = "unknown"
        try:
            with open("/proc/cpuinfo") as f:
                for line in f:
                    if line.startswith("model name"):
                        cpu = line.split(":", 1)[1].strip()
                        break
        except OSError:
            pass
        mem_kb = 0
        try:
            with open("/proc/meminfo") as f:
                for line in f:
                    if line.startswith("MemTotal:"):
                        mem_kb = int(line.split()[1])
        except OSError:
            pass
        osname = platform.platform()
        try:
            with open("/etc/os-release") as f:
                for line in f:
                    if line.startswith("PRETTY_NAME="):
                        osname = line.split("=", 1)[1].strip().strip('"')
        except OSError:
            pass
        faye_v = "unknown"
        try:
            with open(os.path.join(ROOT, "bench/node_modules/faye/package.json")) as f:
                faye_v = json.load(f)["version"]
        except (OSError, ValueError, KeyError):
            pass
        meta = {
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "mode": args.mode,
            "invocation": args.invocation,
            "machine": {
                "nproc": os.cpu_count(),
                "cpu": cpu,
                "mem_gib": round(mem_kb / 1048576, 1),
                "kernel": platform.release(),
                "os": osname,
                "virt": sh("systemd-detect-virt 2>/dev/null || echo unknown"),
                "fd_limit": sh("ulimit -n"),
            },
            "versions": {
                "cometgate": sh("build/cometgate --version"),
                "git": sh("git describe --always --dirty 2>/dev/null || echo none"),
                "compiler": sh("cc --version | head -1"),
                "build_type": sh("grep -m1 '^CMAKE_BUILD_TYPE:' build/CMakeCache.txt | cut -d= -f2"),
                "node": sh("node --version"),
                "faye": faye_v,
                "nginx": sh("nginx -v 2>&1"),
                "nchan": sh("dpkg-query -W -f='${Version}' libnginx-mod-nchan 2>/dev/null || echo unknown"),
                "libwebsockets": sh("pkg-config --modversion libwebsockets 2>/dev/null || echo unknown"),
                "gnuplot": sh("gnuplot --version 2>/dev/null || echo missing"),
            },
            "settings": {},
        }
    for kv in args.set or []:
        k, _, v = kv.partition("=")
        if k == "elapsed_s":
            meta["elapsed_s"] = int(v)
        else:
            meta.setdefault("settings", {})[k] = v
    os.makedirs(args.dir, exist_ok=True)
    with open(path, "w") as f:
        json.dump(meta, f, indent=2)


# ------------------------------------------------------------------------------- helpers -----
def g(d, *keys, default=None):
    for k in keys:
        if not isinstance(d, dict) or d.get(k) is None:
            return default
        d = d[k]
    return d


def fnum(v, digits=0, unit=""):
    if v is None:
        return "–"
    if isinstance(v, (int, float)):
        if digits == 0:
            return "{:,.0f}{}".format(v, unit)
        return "{:,.{}f}{}".format(v, digits, unit)
    return str(v)


def fms(v):
    if v is None:
        return "–"
    if v < 1:
        return "%.2f" % v
    if v < 10:
        return "%.1f" % v
    return "%.0f" % v


def ratio(a, b, digits=2):
    if a is None or b is None or b == 0:
        return "–"
    return "%.*f×" % (digits, a / b)


def ok(r):
    return g(r, "run", "status") == "ok"


def dps(r):
    return g(r, "deliveries_per_s") if ok(r) else None


def p(r, q):
    return g(r, "latency_ms", q) if ok(r) and g(r, "latency_ms", "count", default=0) else None


def rss_per_conn_kib(r):
    """(RSS at the end of the window − RSS before the first connect) / connected, KiB."""
    if not ok(r):
        return None
    rss, base, n = g(r, "server_rss_kb"), g(r, "run", "baseline_rss_kb"), g(r, "connected")
    if rss is None or base is None or not n:
        return None
    return (rss - base) / n


def status_note(r):
    """Why a row is not a clean measurement (empty when it is)."""
    st = g(r, "run", "status")
    if st != "ok":
        return "%s: %s" % (st, g(r, "run", "reason", default=""))
    notes = []
    if not g(r, "all_ready", default=True):
        notes.append("only %s/%s ready" % (fnum(g(r, "ready")), fnum(g(r, "clients"))))
    dr = g(r, "delivery_ratio")
    if r.get("scenario") in ("chat", "broadcast") and dr is not None and dr < 0.95:
        notes.append("delivered %.0f %%" % (dr * 100))
    e = g(r, "errors") or {}
    bad = {k: v for k, v in e.items() if k != "connect_attempts" and v}
    if bad:
        notes.append(", ".join("%s %s" % (k.replace("_", " "), v) for k, v in sorted(bad.items())))
    if g(r, "interrupted"):
        notes.append("interrupted")
    sw = g(r, "run", "sweep", "verdict")
    if sw and sw != "pass":
        notes.append(sw)
    return "; ".join(notes)


def tool_note(r):
    """Flags runs where a receiver worker was close to a full core (the tool, not the server)."""
    cpu, w = g(r, "tool_usage", "receiver_cpu_percent"), g(r, "workers")
    if cpu is None or not w:
        return None
    return cpu / w


def table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
    for row in rows:
        out.append("| " + " | ".join(str(c) for c in row) + " |")
    return "\n".join(out)


# -------------------------------------------------------------------------------- report -----
def load(dirname):
    runs = []
    for path in sorted(glob.glob(os.path.join(dirname, "*.json"))):
        if os.path.basename(path) == "meta.json":
            continue
        try:
            with open(path) as f:
                r = json.load(f)
        except (OSError, ValueError):
            continue
        if isinstance(r, dict) and "run" in r:
            r["_file"] = os.path.basename(path)
            runs.append(r)
    return runs


def by(runs, group, server=None, clients=None):
    out = [r for r in runs if g(r, "run", "group") == group]
    if server:
        out = [r for r in out if g(r, "run", "server") == server]
    if clients is not None:
        out = [r for r in out if r.get("clients") == clients]
    return out


def sweep_best(runs, scenario, server):
    steps = sorted(by(runs, "sweep-" + scenario, server), key=lambda r: g(r, "run", "tag"))
    passed = [r for r in steps if g(r, "run", "sweep", "verdict") == "pass"]
    best = max(passed, key=lambda r: dps(r) or 0) if passed else None
    capped = bool(steps) and all(g(r, "run", "sweep", "verdict") == "pass" for r in steps)
    return steps, best, capped


def fixed_section(runs, group, title, intro, servers):
    lines = ["### %s" % title, "", intro, ""]
    counts = sorted({r.get("clients") for r in by(runs, group) if r.get("clients")})
    if not counts:
        return lines + ["Not run in this mode.", ""]
    if group == "idle":
        head = ["clients", "server", "connected", "RSS before MiB", "RSS at N MiB", "RSS/conn KiB",
                "server ÷ cometgate (RSS/conn)", "server CPU %", "notes"]
    else:
        head = ["clients", "server", "ready", "deliveries/s", "delivered", "p50 ms", "p99 ms", "max ms",
                "server CPU %", "RSS/conn KiB", "cometgate ÷ server (deliveries/s)",
                "server ÷ cometgate (p99)", "notes"]
    rows = []
    for n in counts:
        cg = next(iter(by(runs, group, "cometgate", n)), None)
        for s in servers:
            r = next(iter(by(runs, group, s, n)), None)
            if r is None:
                continue
            if group == "idle":
                base, rss = g(r, "run", "baseline_rss_kb"), g(r, "server_rss_kb")
                rows.append([
                    fnum(n), TITLES[s], fnum(g(r, "connected")) if ok(r) else "–",
                    fnum(base / 1024, 1) if ok(r) and base is not None else "–",
                    fnum(rss / 1024, 1) if ok(r) and rss is not None else "–",
                    fnum(rss_per_conn_kib(r), 2),
                    "1" if s == "cometgate" else ratio(rss_per_conn_kib(r), rss_per_conn_kib(cg), 1),
                    fnum(g(r, "server_cpu_percent"), 0) if ok(r) else "–", status_note(r)])
                continue
            dr = g(r, "delivery_ratio")
            rows.append([
                fnum(n), TITLES[s], fnum(g(r, "ready")) if ok(r) else "–", fnum(dps(r)),
                ("%.1f %%" % (dr * 100)) if ok(r) and dr is not None else "–",
                fms(p(r, "p50")), fms(p(r, "p99")), fms(p(r, "max")),
                fnum(g(r, "server_cpu_percent"), 0) if ok(r) else "–",
                fnum(rss_per_conn_kib(r), 1),
                "1" if s == "cometgate" else ratio(dps(cg), dps(r)),
                "1" if s == "cometgate" else ratio(p(r, "p99"), p(cg, "p99"), 1),
                status_note(r)])
    lines.append(table(head, rows))
    lines.append("")
    return lines


def main_report(args):
    d = args.dir
    with open(os.path.join(d, "meta.json")) as f:
        meta = json.load(f)
    runs = load(d)
    servers = [s for s in SERVERS if any(g(r, "run", "server") == s for r in runs)]
    settings = meta.get("settings", {})
    bound = float(settings.get("p99_bound_ms", 50))
    doc_dir = os.path.dirname(os.path.abspath(args.doc))
    img_dir = os.path.abspath(args.img_dir)
    os.makedirs(img_dir, exist_ok=True)
    img_rel = os.path.relpath(img_dir, doc_dir)
    plots = make_plots(runs, servers, img_dir, bound, meta)

    m, v = meta["machine"], meta["versions"]
    L = []
    L += ["# Benchmarks", "",
          "Generated by `bench/report.py` from the results of `%s` (mode **%s**, %s, %s s of runs). "
          "Do not edit by hand: rerun the command." % (meta.get("invocation", "bench/run.sh"), meta.get("mode"),
                                                       meta.get("date"), meta.get("elapsed_s", "?")), ""]
    if meta.get("mode") != "full":
        L += ["> **This is a `--%s` run**: smaller client counts and shorter windows than the targets "
              "are defined for. Run `bench/run.sh --full` on a quiet machine for the figures to quote." %
              meta.get("mode"), ""]

    # machine
    L += ["## Machine", "",
          table(["", ""], [
              ["CPU", "%s × %s" % (m["nproc"], m["cpu"])],
              ["memory", "%s GiB" % m["mem_gib"]],
              ["OS / kernel", "%s / %s (%s)" % (m["os"], m["kernel"], m["virt"])],
              ["fd limit per process", m["fd_limit"]],
              ["cometgate", "%s, git %s, %s, build type %s" % (v["cometgate"], v["git"], v["compiler"],
                                                               v["build_type"] or "default")],
              ["libwebsockets", v["libwebsockets"]],
              ["Faye", "faye %s on Node %s" % (v["faye"], v["node"])],
              ["nchan", "libnginx-mod-nchan %s, %s" % (v["nchan"], v["nginx"])],
              ["gnuplot", v["gnuplot"]],
          ]), "",
          "Load generator, servers and Kafka mock share the same %s cores over loopback: the server "
          "CPU %% column (100 = one core) is the figure to compare across servers. Load average "
          "(1/5/15 min) before the runs: %s; after: %s. Anything else running on the machine "
          "shows up as latency." % (m["nproc"], settings.get("loadavg_before", "?"),
                                    settings.get("loadavg_after", "?")), ""]

    # setup
    L += ["## Setup", "",
          "- **cometgate**: `build/cometgate -c bench/conf/cometgate-bench.yaml --listen 127.0.0.1:PORT`: "
          "one event-loop thread, demo feed off, `stats_interval_ms: 0`, `bayeux.ws_deflate: false`, "
          "`limits.max_sessions: 250000`.",
          "- **Faye**: `bench/peers/run-faye.sh PORT`: one Node process, `NodeAdapter({mount: '/cometd', "
          "timeout: 25})`, no engine other than the in-memory one. Same Bayeux client code as for cometgate. "
          "Runs above %s clients are skipped (`--faye-max-clients`)." % settings.get("faye_max_clients", "?"),
          "- **nchan**: `bench/peers/run-nchan.sh PORT DIR`: nginx, `worker_processes 1` "
          "(the measured PID is the worker), WebSocket subscribers on `/sub?id=ROOM`, publishes by "
          "pipelined HTTP `POST /pub?id=ROOM` (not Bayeux: nchan's own protocol, so its per-message "
          "work is smaller than a Bayeux server's).",
          "- Every run starts the server afresh on a new loopback port; servers never run "
          "concurrently. Receivers use WebSocket; cg-load spreads connections over 16 source "
          "addresses, ramps at %s connections/s, measures for %s s (sweeps %s s) after all clients are "
          "ready, then drains %s s." % (settings.get("ramp_rate"), settings.get("duration_s"),
                                        settings.get("sweep_duration_s"), settings.get("drain_s")),
          "- Latency is end to end: publisher timestamp (CLOCK_REALTIME µs) to the receiver's read, "
          "including the receiver's own turn-around. `delivered` = deliveries / expected deliveries.",
          "- RSS per connection = (server RSS at the end of the window − RSS before the first "
          "connection) / connected clients. Kernel socket memory (~4 KB per idle loopback socket) "
          "is not in RSS.", ""]

    # commands
    L += ["## Commands", "", "The whole report:", "", "```sh", meta.get("invocation", "bench/run.sh"), "```", "",
          "Every server start and cg-load run it made, in order (`$OUT` = the result directory):", "",
          "<details><summary>commands.log</summary>", "", "```sh"]
    try:
        with open(os.path.join(d, "commands.log")) as f:
            L += [line.rstrip() for line in f if line.strip()]
    except OSError:
        L.append("# commands.log missing")
    L += ["```", "", "</details>", ""]

    # results
    L += ["## Results", ""]
    L += fixed_section(runs, "idle", "Idle: memory per connection",
                       "WebSocket clients connect, subscribe to one channel and hold (the Bayeux connect "
                       "loop keeps running); nothing is published.", servers)
    L += fixed_section(runs, "chat", "Chat",
                       "Rooms of 200 consecutive clients; bursts of one 50-byte message to each of 10 "
                       "random rooms; the same total message rate for every server and client count "
                       "(so the same deliveries/s when a server keeps up).", servers)
    L += fixed_section(runs, "broadcast", "Broadcast",
                       "Every client subscribed to one channel; 1 KB messages at the given rate.", servers)
    if "latency_vs_clients" in plots:
        L += ["![latency vs clients](%s/%s)" % (img_rel, plots["latency_vs_clients"]), ""]

    # sweeps
    L += ["### Sweeps: highest sustained rate", "",
          "The message rate is multiplied step by step, each step on a fresh server, until p99 "
          "exceeds %g ms, fewer than 95 %% of the expected deliveries arrive, clients fail to get "
          "ready, or the publishers cannot send the rate. The highest passing step is the server's "
          "highest sustained rate (\"≥\" when even the last step passed: the sweep ran out of steps, "
          "not the server)." % bound, ""]
    sweep_summary = {}
    any_sweep = False
    for sc in ("chat", "broadcast"):
        if not by(runs, "sweep-" + sc):
            continue
        any_sweep = True
        rows, steprows = [], []
        best = {}
        for s in servers:
            steps, b, capped = sweep_best(runs, sc, s)
            best[s] = (b, capped)
            for r in steps:
                steprows.append([TITLES[s], fnum(r.get("clients")), fnum(r.get("rate")),
                                 fnum(dps(r)), fms(p(r, "p50")), fms(p(r, "p99")), fms(p(r, "max")),
                                 fnum(g(r, "server_cpu_percent")) if ok(r) else "–",
                                 g(r, "run", "sweep", "verdict") or status_note(r)])
        sweep_summary[sc] = best
        cgb = best.get("cometgate", (None, False))[0]
        for s in servers:
            b, capped = best[s]
            rows.append([TITLES[s], fnum(g(b, "clients")) if b else "–",
                         (("≥ " if capped else "") + fnum(dps(b))) if b else "none passed",
                         fnum(g(b, "rate")) if b else "–", fms(p(b, "p50")), fms(p(b, "p99")),
                         fnum(g(b, "server_cpu_percent")) if b else "–",
                         "1" if s == "cometgate" else ratio(dps(cgb), dps(b))])
        L += ["#### %s sweep" % sc.capitalize(), "",
              table(["server", "clients", "highest sustained deliveries/s", "msgs/s", "p50 ms", "p99 ms",
                     "server CPU %", "cometgate / server"], rows), "",
              "<details><summary>every step</summary>", "",
              table(["server", "clients", "msgs/s", "deliveries/s", "p50 ms", "p99 ms", "max ms",
                     "server CPU %", "verdict"], steprows), "", "</details>", ""]
        if ("latency_vs_rate_" + sc) in plots:
            L += ["![latency vs deliveries/s, %s](%s/%s)" % (sc, img_rel, plots["latency_vs_rate_" + sc]), ""]
    if not any_sweep:
        L += ["No sweep in this run (`--sweep none`).", ""]

    # kafka
    L += ["### Kafka (cometgate only)", ""]
    kr = by(runs, "kafka")
    if not kr:
        L += ["Not run (cometgate not in `--servers`).", ""]
    for r in kr:
        if not ok(r):
            L += ["**%s**: %s" % (g(r, "run", "status"), g(r, "run", "reason")), ""]
            continue
        rate, items = g(r, "run", "kafka", "rate"), g(r, "run", "kafka", "items")
        exp = (rate or 0) * (r.get("connected") or 0)
        L += ["Keyed JSON updates for %s items at %s msgs/s produced to the mock Kafka cluster "
              "(`cg-kafka-mock`, 1 broker, 4 partitions) by `bench/kafka_feed.py`, consumed by the "
              "gateway's Kafka connector (route `bench-items` → `/items/{key}`), every client "
              "subscribed to `/items/*`. Latency runs from the feed's timestamp (`fields.t`) through "
              "producer, broker, connector and gateway to the receiver." % (items, rate), "",
              table(["clients", "deliveries/s", "expected/s", "p50 ms", "p99 ms", "max ms",
                     "server CPU %", "RSS/conn KiB", "notes"],
                    [[fnum(r.get("connected")), fnum(dps(r)), fnum(exp), fms(p(r, "p50")),
                      fms(p(r, "p99")), fms(p(r, "max")), fnum(g(r, "server_cpu_percent")),
                      fnum(rss_per_conn_kib(r), 1), status_note(r)]]), ""]

    # ceiling
    L += ["### The load tool's own ceiling", ""]
    cr = next(iter(by(runs, "ceiling")), None)
    if cr is not None and ok(cr):
        L += ["`cg-blast` (a server that only writes batches of 64 pre-built 64-byte WebSocket frames) "
              "into cg-load with 200 connections and one receiver worker. The deliveries/s figure is "
              "what cg-blast managed to send on the shared cores; deliveries per worker CPU-second "
              "is the receiver's ceiling per core:", "",
              table(["deliveries/s", "receiver worker CPU %", "deliveries per worker CPU-second"],
                    [[fnum(dps(cr)), fnum(g(cr, "tool_usage", "receiver_cpu_percent")),
                      fnum(g(cr, "tool_usage", "deliveries_per_receiver_cpu_s"))]]), "",
              "This is the ceiling when the server batches (cometgate writes one frame per batch). "
              "When every delivery comes as its own small frame on its own wake-up (nchan, Faye), "
              "one worker core is bound by system calls at roughly 0.5 M deliveries/s (bench/README.md)."
              " Runs below in which a receiver worker used more than 80 % of a core may be tool-bound:", ""]
    else:
        L += ["cg-blast run missing or failed (%s)." % (status_note(cr) if cr else "not run"), ""]
    hot = [r for r in runs if ok(r) and g(r, "run", "group") != "ceiling" and (tool_note(r) or 0) > 80]
    if hot:
        L += table(["run", "receiver CPU % per worker", "publisher CPU %"],
                   [[r["_file"][:-5], fnum(tool_note(r)), fnum(g(r, "tool_usage", "publisher_cpu_percent"))]
                    for r in hot]).split("\n") + [""]
    else:
        L += ["None did.", ""]

    # targets
    L += ["## Targets", ""] + targets(runs, sweep_summary, bound, cr) + [""]
    L += ["## Raw results", "",
          "Each run's JSON (cg-load format 1 plus `run`: tag, command, RSS baseline, sweep verdict) "
          "is in the result directory, `%s`; the timeline in each has one sample per second." %
          os.path.relpath(os.path.abspath(d), ROOT), ""]

    os.makedirs(doc_dir, exist_ok=True)
    with open(args.doc, "w") as f:
        f.write("\n".join(L))
    print_summary(runs, servers, sweep_summary)


def targets(runs, sweep_summary, bound, ceiling):
    rows = []

    # chat at 19,000
    chat_cg = [r for r in by(runs, "chat", "cometgate") if ok(r)]
    at19 = [r for r in chat_cg if r.get("clients") == 19000]
    if at19:
        r = at19[0]
        met = (dps(r) or 0) >= 200000 and (p(r, "p99") or 1e9) < 50
        rows.append(["chat at 19,000 clients: ≥ 200,000 deliveries/s, p99 < 50 ms",
                     "%s deliveries/s, p99 %s ms" % (fnum(dps(r)), fms(p(r, "p99"))),
                     "met" if met else "gap"])
    else:
        big = max(chat_cg, key=lambda r: r.get("clients") or 0) if chat_cg else None
        rows.append(["chat at 19,000 clients: ≥ 200,000 deliveries/s, p99 < 50 ms",
                     ("not measured in this mode; largest: %s clients, %s deliveries/s, p99 %s ms" %
                      (fnum(big.get("clients")), fnum(dps(big)), fms(p(big, "p99")))) if big else "not measured",
                     "not measured"])

    # broadcast ceiling
    b = sweep_summary.get("broadcast", {}).get("cometgate")
    if b and b[0]:
        v = dps(b[0])
        rows.append(["broadcast ceiling ≥ 1,000,000 deliveries/s over WebSocket",
                     "%s%s deliveries/s at %s clients (p99 %s ms)" % ("≥ " if b[1] else "", fnum(v),
                                                                       fnum(b[0].get("clients")), fms(p(b[0], "p99"))),
                     "met" if v >= 1e6 else ("gap (sweep capped)" if b[1] else "gap")])
    else:
        rows.append(["broadcast ceiling ≥ 1,000,000 deliveries/s over WebSocket", "no passing sweep step",
                     "not measured" if not b else "gap"])

    # idle RSS
    idle = [r for r in by(runs, "idle", "cometgate") if ok(r) and rss_per_conn_kib(r) is not None]
    if idle:
        r = max(idle, key=lambda r: r.get("clients") or 0)
        v = rss_per_conn_kib(r)
        rows.append(["idle: ≤ 4 KiB gateway RSS per WebSocket client",
                     "%.2f KiB at %s clients" % (v, fnum(r.get("connected"))), "met" if v <= 4 else "gap"])
    else:
        rows.append(["idle: ≤ 4 KiB gateway RSS per WebSocket client", "no idle run", "not measured"])

    # peers
    for peer, want in (("faye", 5.0), ("nchan", 1.0)):
        parts, verdicts = [], []
        for sc, best in sweep_summary.items():
            cg, pe = best.get("cometgate"), best.get(peer)
            if not cg or peer not in best:
                continue
            cgr, cgcap = cg
            per, _ = pe
            if cgr is None:
                parts.append("%s: cometgate passed no step" % sc)
                verdicts.append(False)
                continue
            if per is None:
                parts.append("%s: %s passed no step (cometgate %s deliveries/s, p99 %s ms)" %
                             (sc, TITLES[peer], fnum(dps(cgr)), fms(p(cgr, "p99"))))
                verdicts.append(True)
                continue
            x = dps(cgr) / dps(per) if dps(per) else float("inf")
            parts.append("%s: %s%.2f× (%s vs %s deliveries/s; p99 %s vs %s ms)" % (
                sc, "≥ " if cgcap else "", x, fnum(dps(cgr)), fnum(dps(per)), fms(p(cgr, "p99")), fms(p(per, "p99"))))
            verdicts.append(x >= want)
        label = "≥ %g× %s in deliveries/s at equal or lower p99, same run" % (want, TITLES[peer])
        if not parts:
            rows.append([label, "no sweep with both servers", "not measured"])
        else:
            rows.append([label, "; ".join(parts), "met" if all(verdicts) else "gap"])

    # tool ceiling
    if ceiling is not None and ok(ceiling):
        rows.append(["the load tool's own ceiling stated",
                     "%s deliveries/s (cg-blast, one worker at %s %% CPU)" % (
                         fnum(dps(ceiling)), fnum(g(ceiling, "tool_usage", "receiver_cpu_percent"))), "stated"])
    else:
        rows.append(["the load tool's own ceiling stated", "cg-blast run missing", "not measured"])

    intro = ("Computed from the numbers above. Peer ratios compare the highest rates each server "
             "sustained within the same bound (p99 ≤ %g ms, ≥ 95 %% delivered), so both sides are at "
             "or under the same p99; the p99s at those rates are given too." % bound)
    return [intro, "", table(["target", "measured", "verdict"], rows)]


def print_summary(runs, servers, sweep_summary):
    head = "%-28s %-10s %7s %12s %8s %8s %8s %6s %9s  %s"
    print(head % ("run", "server", "clients", "deliv/s", "p50ms", "p99ms", "maxms", "cpu%", "KiB/conn", "notes"))
    order = {"idle": 0, "chat": 1, "broadcast": 2, "sweep-chat": 3, "sweep-broadcast": 4, "kafka": 5, "ceiling": 6}
    for r in sorted(runs, key=lambda r: (order.get(g(r, "run", "group"), 9), r["_file"])):
        print(head % (r["_file"][:-5][:28], g(r, "run", "server"), fnum(r.get("clients")), fnum(dps(r)),
                      fms(p(r, "p50")), fms(p(r, "p99")), fms(p(r, "max")),
                      fnum(g(r, "server_cpu_percent")) if ok(r) else "–", fnum(rss_per_conn_kib(r), 1),
                      status_note(r)[:60]))
    for sc, best in sweep_summary.items():
        print("sweep %s, highest sustained deliveries/s: %s" % (sc, ", ".join(
            "%s %s%s" % (s, "≥" if best[s][1] else "", fnum(dps(best[s][0])) if best[s][0] else "none")
            for s in servers if s in best)))


# --------------------------------------------------------------------------------- plots -----
COLORS = {"cometgate": "#1f77b4", "faye": "#d62728", "nchan": "#2ca02c"}


def gnuplot(script, datfiles, name, img_dir):
    gp = shutil.which("gnuplot")
    if not gp:
        print("report: gnuplot missing (apt-get install -y gnuplot-nox): no %s" % name, file=sys.stderr)
        return None
    tmp = os.path.join(img_dir, ".%s.d" % name)
    os.makedirs(tmp, exist_ok=True)
    for fn, text in datfiles.items():
        with open(os.path.join(tmp, fn), "w") as f:
            f.write(text)
    out = os.path.join(img_dir, name)
    full = "set terminal pngcairo size 900,560 font 'sans,10'\nset output '%s'\ncd '%s'\n%s" % (out, tmp, script)
    r = subprocess.run([gp], input=full, text=True, capture_output=True)
    shutil.rmtree(tmp, ignore_errors=True)
    if r.returncode != 0:
        print("report: gnuplot failed for %s:\n%s" % (name, r.stderr), file=sys.stderr)
        return None
    return name


def make_plots(runs, servers, img_dir, bound, meta):
    plots = {}
    tag = "%s run, %s" % (meta.get("mode"), meta.get("date", "")[:10])
    for sc in ("chat", "broadcast"):
        dat, series = {}, []
        for s in servers:
            pts = sorted(((dps(r), p(r, "p50"), p(r, "p99"), p(r, "max"))
                          for r in by(runs, "sweep-" + sc, s) if dps(r) and p(r, "p99") is not None),
                         key=lambda t: t[0])
            if not pts:
                continue
            dat[s + ".dat"] = "".join("%g %g %g %g\n" % (x, max(a, 0.01), max(b, 0.01), max(c, 0.01))
                                      for x, a, b, c in pts)
            series.append(s)
        if not series:
            continue
        plotlines = []
        for s in series:
            c = COLORS[s]
            plotlines.append("'%s.dat' u 1:3 w lp lw 2 pt 7 lc rgb '%s' t '%s p99'" % (s, c, TITLES[s]))
            plotlines.append("'%s.dat' u 1:2 w lp lw 1 dt 2 pt 6 lc rgb '%s' t '%s p50'" % (s, c, TITLES[s]))
        script = "\n".join([
            "set title 'Latency vs deliveries/s, %s sweep (%s)'" % (sc, tag),
            "set logscale xy", "set grid", "set key top left",
            "set xlabel 'deliveries per second (all clients)'", "set ylabel 'latency (ms)'",
            "set format x '%.0s%c'",
            "set arrow from graph 0, first %g to graph 1, first %g nohead dt 3 lc rgb 'gray40'" % (bound, bound),
            "set label 'p99 bound %g ms' at graph 0.78, first %g offset 0,0.7 tc rgb 'gray40'" % (bound, bound),
            "plot " + ", \\\n  ".join(plotlines)])
        name = gnuplot(script, dat, "latency-vs-rate-%s.png" % sc, img_dir)
        if name:
            plots["latency_vs_rate_" + sc] = name

    dat, series = {}, []
    for s in servers:
        pts = sorted(((r.get("clients"), p(r, "p50"), p(r, "p99"), p(r, "max"))
                      for r in by(runs, "chat", s) if p(r, "p99") is not None), key=lambda t: t[0])
        if pts:
            dat[s + ".dat"] = "".join("%g %g %g %g\n" % (x, max(a, 0.01), max(b, 0.01), max(c, 0.01))
                                      for x, a, b, c in pts)
            series.append(s)
    if series:
        rates = sorted({r.get("rate") for r in by(runs, "chat") if r.get("rate")})
        plotlines = []
        for s in series:
            c = COLORS[s]
            plotlines.append("'%s.dat' u 1:3 w lp lw 2 pt 7 lc rgb '%s' t '%s p99'" % (s, c, TITLES[s]))
            plotlines.append("'%s.dat' u 1:2 w lp lw 1 dt 2 pt 6 lc rgb '%s' t '%s p50'" % (s, c, TITLES[s]))
        script = "\n".join([
            "set title 'Chat latency vs clients, %s msgs/s (%s)'" % ("/".join(str(x) for x in rates), tag),
            "set logscale y", "set grid", "set key top left", "set xlabel 'clients (WebSocket)'",
            "set ylabel 'latency (ms)'", "set xrange [0:*]", "set offsets 0, graph 0.05, 0, 0",
            "set decimalsign locale; set format x \"%'.0f\"",
            "plot " + ", \\\n  ".join(plotlines)])
        name = gnuplot(script, dat, "latency-vs-clients.png", img_dir)
        if name:
            plots["latency_vs_clients"] = name
    return plots


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", nargs="?")
    ap.add_argument("--collect-meta", metavar="DIR")
    ap.add_argument("--update", action="store_true")
    ap.add_argument("--mode", default="?")
    ap.add_argument("--invocation", default="bench/run.sh")
    ap.add_argument("--set", action="append")
    ap.add_argument("--doc", default=os.path.join(ROOT, "docs/benchmarks.md"))
    ap.add_argument("--img-dir", default=os.path.join(ROOT, "docs/img"))
    args = ap.parse_args()
    if args.collect_meta:
        args.dir = args.collect_meta
        collect_meta(args)
        return
    if not args.dir:
        ap.error("DIR required")
    main_report(args)


if __name__ == "__main__":
    main()
