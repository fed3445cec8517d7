#!/usr/bin/python3
"""The load scenarios of docs/performance.md (issue 6 point 4), run by `scripts/bench`.

Each scenario pins the server to CPU 0 and mdgw-bench to CPU 1 (taskset), starts the
server, runs the harness, and prints one table row per server: mdgw, then the baseline
(bench/baseline/server.mjs, Node `ws`, one send per subscriber) fed the same updates,
then the mdgw / baseline ratios.

Rationale
- The same updates for both servers: the source is a Cap'n Proto capture recorded once
  from mdgw's simulator (`mdgw --record`), replayed by mdgw (`--replay --replay-rate R
  --replay-loop`) and, as `mdgw capture dump` JSON lines, by the baseline at the same
  rate. `--source sim` runs mdgw on the simulator directly instead (the baseline still
  replays the capture of that simulator), in every scenario but firehose, whose trades
  due are counted from its capture (below).
- Captures and reports go to the run directory (default build/bench-runs), never into
  the repository; a capture is reused while its parameters are unchanged.
- Rates and latencies come from the harness's measured window (--warmup: after every
  connection is open); server CPU is sampled from /proc over that window.
- firehose steps the source trade rate up and stops at the first step whose clients fall
  behind: any trade lost in the measured window (mdgw announces them; losses while the
  connections open and subscribe are printed beside it, not judged: while the others
  connect, the first subscribers fall behind), or freshness p99 over 250 ms (a server
  whose send queues grow: the baseline), or fewer than 80% of the trades due delivered
  (a server whose source falls behind its schedule); the row shows the highest sustained
  step. The step's trades/s over the capture's trade share gives the replay rate R; due
  is counted, not estimated: both servers replay update i at i / R s after they listen,
  so the measured window (placed by the harness's `measured_from_s`) covers a known
  stretch of the capture, and due is that stretch's trades x 100 clients. (Until
  2026-12-03 due was the step's trades/s x 100: at a small scale the window covers the
  capture's first few hundred updates, whose trade share is below the whole capture's
  (books first), and a server that lost nothing could read as behind.)
- connect opens 10,000 idle connections (plain, then TLS) and reads the server's RSS
  before and once all are open.
- After mdgw's ui and ui100 rows, a floor row: the same number of loopback sends of mdgw's
  mean message size, alone (build/bench/mdgw_loopback_floor), the pass over every client
  that this machine's kernel costs, and mdgw's core per message in the run as a multiple
  of the floor's send (docs/performance.md, "The floor").
- The tls target is a ratio (within 2x of ui), and this machine's figures move by tens of
  percent between sittings: when ui and tls run in one invocation, a last tls row gives
  mdgw's tls / ui freshness ratios of that sitting and the verdict.
"""
import argparse
import bisect
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MDGW = os.environ.get("MDGW_BIN", os.path.join(ROOT, "build", "gateway", "mdgw"))
HARNESS = os.environ.get("MDGW_BENCH_BIN", os.path.join(ROOT, "build", "bench", "mdgw-bench"))
BASELINE = os.path.join(ROOT, "bench", "baseline", "server.mjs")
FLOOR = os.environ.get("MDGW_FLOOR_BIN", os.path.join(ROOT, "build", "bench", "mdgw_loopback_floor"))

# The capture every ui/tls scenario replays: 100 simulated instruments, long enough (about
# 27 s at 20,000 updates/s) that a run's measured part never spans the loop back to the
# start, where every instrument's whole top is published again at once.
UI_CAPTURE = {"name": "ui100sym", "instruments": 100, "sim_rate": 20000, "seconds": 30}
# The firehose capture: 10 instruments traded hard.
FIREHOSE_CAPTURE = {"name": "firehose10sym", "instruments": 10, "sim_rate": 50000, "seconds": 6}


def fail(msg):
    print(f"scripts/bench: {msg}", file=sys.stderr)
    sys.exit(1)


def pin(cpu):
    if shutil.which("taskset") and os.cpu_count() and os.cpu_count() >= 2:
        return ["taskset", "-c", str(cpu)]
    return []


class Server:
    """A server process started with a `listening on ADDR:PORT` line on stdout."""

    def __init__(self, kind, argv, log_path):
        self.kind = kind
        self.log_path = log_path
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self.log, text=True,
                                     start_new_session=True)
        deadline = time.time() + 120
        self.port = None
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.log.write(line)
            if "listening on" in line:
                self.listening_at = time.monotonic()  # where a paced replay starts
                self.port = int(line.split("listening on", 1)[1].split()[0].rsplit(":", 1)[1].rstrip(","))
                break
        if self.port is None:
            self.stop()
            fail(f"{kind} did not start: see {log_path}")
        # The rest of stdout goes to the log, so a chatty server never blocks on the pipe.
        self.drain = threading.Thread(target=self._drain, daemon=True)
        self.drain.start()

    def _drain(self):
        for line in self.proc.stdout:
            self.log.write(line)

    def cpu_s(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if hasattr(self, "drain"):
            self.drain.join(timeout=5)
        self.log.close()


def certs():
    d = subprocess.run([os.path.join(ROOT, "scripts", "certs")], check=True, capture_output=True,
                       text=True).stdout.strip()
    return os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")


_TRADE_PREFIX = {}


def trade_prefix(dump):
    """prefix[i]: the trades among the first i source updates (book and trade lines) of
    a `mdgw capture dump`, read once per dump."""
    prefix = _TRADE_PREFIX.get(dump)
    if prefix is None:
        prefix = [0]
        with open(dump) as f:
            for line in f:
                if line.startswith('{"kind":"trade"'):
                    prefix.append(prefix[-1] + 1)
                elif line.startswith('{"kind":"book"'):
                    prefix.append(prefix[-1])
        _TRADE_PREFIX[dump] = prefix
    return prefix


def capture(run_dir, spec, seconds):
    """Records spec's capture from the simulator once; returns (capture, dump, trade share)."""
    if seconds:
        spec = dict(spec, seconds=seconds)
    base = os.path.join(run_dir, spec["name"])
    cap, dump, meta = base + ".mdgwcap", base + ".jsonl", base + ".json"
    if os.path.exists(meta):
        with open(meta) as f:
            m = json.load(f)
        if m.get("spec") == spec and os.path.exists(cap) and os.path.exists(dump):
            return cap, dump, m["trade_share"]
    print(f"scripts/bench: recording {spec['seconds']} s of {spec['instruments']} simulated instruments at "
          f"{spec['sim_rate']} actions/s into {cap}", file=sys.stderr)
    srv = Server("mdgw (recording)", [MDGW, "--bind", "127.0.0.1", "--port", "0", "--sim-instruments",
                                      str(spec["instruments"]), "--sim-rate", str(spec["sim_rate"]),
                                      "--record", cap], base + ".record.log")
    time.sleep(spec["seconds"])
    srv.stop()
    with open(dump, "w") as out:
        subprocess.run([MDGW, "capture", "dump", cap, "--depth", "10"], stdout=out, check=True)
    _TRADE_PREFIX.pop(dump, None)  # a dump recorded again
    prefix = trade_prefix(dump)
    trades = prefix[-1]
    books = len(prefix) - 1 - trades
    if books + trades == 0:
        fail(f"{dump}: the capture holds no update")
    share = trades / (books + trades)
    with open(meta, "w") as f:
        json.dump({"spec": spec, "books": books, "trades": trades, "trade_share": share}, f)
    return cap, dump, share


def trades_replayed(dump, rate, window_s):
    """The trades a replay of dump at rate source updates/s (looping, update i at i / rate
    s) publishes in window_s = (from, to) seconds after it starts."""
    prefix = trade_prefix(dump)
    n = len(prefix) - 1

    def before(t):  # trades among the updates due before t
        i = max(0, int(t * rate))
        return i // n * prefix[n] + prefix[i % n]

    return before(window_s[1]) - before(window_s[0])


def start_server(kind, args, run_dir, tag, cap, dump, rate, tls):
    cert_args = []
    if tls:
        cert, key = certs()
        cert_args = ["--cert", cert, "--key", key]
    log = os.path.join(run_dir, f"{tag}-{kind}.log")
    if kind == "mdgw":
        if args.source == "sim":
            src = ["--sim-instruments", str(UI_CAPTURE["instruments"]), "--sim-rate", str(rate)]
        else:
            src = ["--sim-instruments", "0", "--replay", cap, "--replay-rate", str(rate), "--replay-loop"]
        argv = pin(0) + [MDGW, "--bind", "127.0.0.1", "--port", "0", "--io-threads", "1",
                         "--max-connections", "20000"] + src + cert_args
    else:
        argv = pin(0) + ["node", BASELINE, "--bind", "127.0.0.1", "--port", "0", "--events", dump,
                         "--rate", str(rate), "--loop"] + cert_args
    return Server(kind, argv, log)


def cpu_ticks():
    """(steal, total) jiffies of all CPUs from /proc/stat; (0, 0) where there is none.
    For scripts that time a run themselves (itch_feed_cpu.py): the scenarios take
    mdgw-bench's own figure, measured over its measured part."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    # user nice system idle iowait irq softirq steal [guest guest_nice: inside user/nice]
    return (fields[7] if len(fields) > 7 else 0), sum(fields[:8])


# Steal above this share of a run's CPU time makes its figures not comparable.
STEAL_WARN = 0.02


def steal_share(before, after):
    """steal's share of all CPU time between two cpu_ticks() readings (0 if none passed)."""
    return (after[0] - before[0]) / (after[1] - before[1]) if after[1] > before[1] else 0.0


def warn_if_stolen(what, share):
    """The warning every benchmark gives above STEAL_WARN (bench/harness/host_cpu.hpp's)."""
    if share > STEAL_WARN:
        # A virtual machine whose host ran something else: the server was not busy, it was
        # not running, and nothing in the run's figures says so.
        print(f"# warning: {what}: the host took {share * 100:.0f}% of this machine's CPU time (steal) during the "
              f"run: its figures are not comparable", flush=True)


def run_harness(srv, tls, run_dir, tag, opts, plot=False, sample=None):
    """Runs mdgw-bench against srv and returns its JSON report, with the server's CPU
    share over the harness's measured part (read every 100 ms, interpolated at its
    edges); sample(), if given, is called every 100 ms while it runs."""
    url = f"{'wss' if tls else 'ws'}://127.0.0.1:{srv.port}/ws"
    report = os.path.join(run_dir, f"{tag}-{srv.kind}.report.json")
    argv = pin(1) + [HARNESS, "--url", url, "--json", report, "--quiet"] + opts
    if plot and shutil.which("gnuplot"):
        argv += ["--plot", os.path.join(run_dir, f"{tag}-{srv.kind}.png")]
    started_at = time.monotonic()
    cpu = [(started_at, srv.cpu_s())]  # (when, the server's CPU seconds so far)
    with open(os.path.join(run_dir, f"{tag}-{srv.kind}.harness.txt"), "w") as out:
        h = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        while h.poll() is None:
            if sample:
                sample()
            time.sleep(0.1)
            cpu.append((time.monotonic(), srv.cpu_s()))
        rc = h.returncode
    if not os.path.exists(report):
        fail(f"mdgw-bench against {srv.kind} wrote no report (exit {rc}): see {run_dir}/{tag}-{srv.kind}.harness.txt")
    with open(report) as f:
        r = json.load(f)
    r["exit"] = rc
    measured = (started_at + r["measured_from_s"], started_at + r["measured_from_s"] + r["elapsed_s"])
    r["server_cpu"] = (cpu_at(cpu, measured[1]) - cpu_at(cpu, measured[0])) / max(r["elapsed_s"], 1e-9)
    # The measured part in seconds after the server listened (its replay's start).
    r["window_s"] = (measured[0] - srv.listening_at, measured[1] - srv.listening_at)
    # mdgw-bench measures the host's steal over its measured part (report "steal").
    warn_if_stolen(f"{tag} {srv.kind}", r["steal"])
    return r


def cpu_at(samples, t):
    """The CPU seconds at time t, interpolated between the (time, CPU seconds) samples
    around it (the first or last sample outside them)."""
    i = bisect.bisect_right([when for when, _ in samples], t)
    if i == 0:
        return samples[0][1]
    if i == len(samples):
        return samples[-1][1]
    (t0, c0), (t1, c1) = samples[i - 1], samples[i]
    return c0 + (c1 - c0) * (t - t0) / (t1 - t0)


def pct(r, hist, p):
    """Percentile p (e.g. "p99", "p99.9") of histogram hist in ms."""
    return r["latency_ns"][hist][p.replace(".", "_")] / 1e6


def per_s(r, counter):
    return r["counters"][counter] / max(r["elapsed_s"], 1e-9)


HEADER = (f"{'scenario':<10} {'server':<9} {'clients':>9} {'src upd/s':>9} {'msgs/s':>9} {'upd/s':>10} "
          f"{'fresh p50':>9} {'p99':>8} {'p99.9':>8} {'send>recv p99':>13} {'gaps':>6} {'errors':>6} "
          f"{'srv cpu':>7}")


def clients_open(clients, r):
    """The clients column: the target, or "open/target" when fewer were connected at the end
    (a server that did not accept or upgrade them all in time)."""
    return str(clients) if r["open_at_end"] >= clients else f"{r['open_at_end']}/{clients}"


def row(scenario, kind, clients, src_rate, r):
    return (f"{scenario:<10} {kind:<9} {clients_open(clients, r):>9} {src_rate:>9.0f} {per_s(r, 'messages'):>9.0f} "
            f"{per_s(r, 'represented'):>10.0f} {pct(r, 'freshness', 'p50'):>7.2f}ms "
            f"{pct(r, 'freshness', 'p99'):>6.2f}ms {pct(r, 'freshness', 'p99.9'):>6.2f}ms "
            f"{pct(r, 'send_to_recv', 'p99'):>11.2f}ms {r['counters']['seq_gaps']:>6} {r['errors']:>6} "
            f"{r['server_cpu'] * 100:>6.0f}%")


def ratio_row(scenario, m, b):
    def q(x, y):
        return f"{x / y:.3g}" if y else "n/a"
    return (f"{scenario:<10} {'ratio':<9} mdgw/baseline: freshness p50 "
            f"{q(pct(m, 'freshness', 'p50'), pct(b, 'freshness', 'p50'))}, p99 "
            f"{q(pct(m, 'freshness', 'p99'), pct(b, 'freshness', 'p99'))}, source updates delivered/s "
            f"{q(per_s(m, 'represented'), per_s(b, 'represented'))}"
            + (f" (the baseline had {b['open_at_end']} clients connected, mdgw {m['open_at_end']})"
               if b["open_at_end"] != m["open_at_end"] else ""))


def tls_ratio_row(ui, tls):
    """tls / ui freshness of mdgw in one sitting, against the target (within 2x)."""
    p50 = pct(tls, "freshness", "p50") / max(pct(ui, "freshness", "p50"), 1e-9)
    p99 = pct(tls, "freshness", "p99") / max(pct(ui, "freshness", "p99"), 1e-9)
    verdict = "within 2x" if p50 <= 2 and p99 <= 2 else "over 2x"
    return f"tls        ratio     tls/ui (mdgw): freshness p50 {p50:.2f}, p99 {p99:.2f}: {verdict}"


def scenario_ui(args, run_dir, name, clients, tls):
    cap, dump, _ = capture(run_dir, UI_CAPTURE, args.record_seconds)
    rate = 20000
    opts = ["--connections", str(clients), "--ramp-per-s", "1000" if tls else "2000", "--books", "10",
            "--depth", "10", "--tickers", "10", "--warmup", str(args.warmup), "--duration", str(args.duration)]
    results = {}
    for kind in args.servers:
        srv = start_server(kind, args, run_dir, name, cap, dump, rate, tls)
        try:
            results[kind] = run_harness(srv, tls, run_dir, name, opts, plot=True)
        finally:
            srv.stop()
        print(row(name, kind, clients, rate, results[kind]), flush=True)
        if kind == "mdgw" and not tls:
            print(floor_row(name, clients, results[kind], run_dir), flush=True)
    if len(results) == 2:
        print(ratio_row(name, results["mdgw"], results["baseline"]), flush=True)
    return results


def floor_row(name, clients, r, run_dir):
    """What this machine's kernel alone costs for one pass over the clients, measured right
    after the run: bench/loopback_floor.cpp sends a buffer of mdgw's mean message size to
    each of `clients` loopback connections in turn (writer on CPU 0, reader on CPU 1), in
    io_uring batches of 64 as mdgw's write path does. A client's oldest update waits about a
    pass, so when every client has something in every pass (ui), the floor's pass is the
    lowest freshness p50 a server with one write per client per pass could have here.
    mdgw's figure is its core share over the measured part per message: its feed thread
    and all its user-space work in."""
    messages = r["counters"]["messages"]
    if not os.path.exists(FLOOR) or messages == 0:
        return f"{name:<10} {'floor':<9} not measured ({FLOOR} missing, or no message)"
    size = max(1, round(r["counters"]["bytes"] / messages))
    out = os.path.join(run_dir, f"{name}-floor.txt")
    for batch in ("64", "0"):  # 0: one send() each, where io_uring is refused
        p = subprocess.run([FLOOR, "--connections", str(clients), "--bytes", str(size), "--seconds", "3",
                            "--batch", batch], capture_output=True, text=True)
        if p.returncode == 0:
            break
    with open(out, "w") as f:
        f.write(p.stdout + p.stderr)
    m = re.search(r"([0-9.]+) us of writer CPU per send", p.stdout)
    if p.returncode != 0 or not m:
        return f"{name:<10} {'floor':<9} not measured (mdgw_loopback_floor failed: see {out})"
    floor_us = float(m.group(1))
    mdgw_us = r["server_cpu"] / per_s(r, "messages") * 1e6
    return (f"{name:<10} {'floor':<9} {clients} loopback sends of {size} bytes "
            f"({'io_uring batches of 64' if batch == '64' else 'one send() each'}) take {floor_us:.2f} us of CPU "
            f"each: a pass over every client costs the kernel {floor_us * clients / 1000:.2f} ms here; mdgw spent "
            f"{mdgw_us:.2f} us of its core per message in the run, its feed included ({mdgw_us / floor_us:.2f}x)")


def scenario_firehose(args, run_dir):
    cap, dump, share = capture(run_dir, FIREHOSE_CAPTURE, args.record_seconds)
    if args.source == "sim":
        # The trades due in a window are counted from the capture the server replays; the
        # simulator's are not known in advance, and a step judged against a guess can
        # read as behind when nothing was lost.
        print("# firehose: mdgw replays the firehose capture (--source sim applies to the other scenarios): "
              "the trades due are counted from it", flush=True)
        args = argparse.Namespace(**dict(vars(args), source="capture"))
    clients = 100
    results = {}
    for kind in args.servers:
        best = None
        for trades_per_s in args.firehose_steps:
            rate = int(trades_per_s / share)
            srv = start_server(kind, args, run_dir, f"firehose-{trades_per_s}", cap, dump, rate, False)
            try:
                r = run_harness(srv, False, run_dir, f"firehose-{trades_per_s}",
                                ["--connections", str(clients), "--trades", "10", "--warmup", str(args.warmup),
                                 "--duration", str(args.duration)])
            finally:
                srv.stop()
            due = trades_replayed(dump, rate, r["window_s"]) * clients / max(r["elapsed_s"], 1e-9)
            delivered = per_s(r, "represented")
            c = r["counters"]
            # Sustained means in the measured part: trades lost while the 100 connections
            # were opening and subscribing (the ramp and warm-up) are shown, not judged.
            lost = c["seq_missing"] - c["seq_missing_warmup"]
            gaps = c["seq_gaps"] - c["seq_gaps_warmup"]
            behind = (lost > 0 or gaps > 0 or delivered < 0.8 * due or pct(r, "freshness", "p99") > 250)
            early = (f" (and {c['seq_missing_warmup']} in {c['seq_gaps_warmup']} gaps before it)"
                     if c["seq_gaps_warmup"] else "")
            print(f"firehose   {kind:<9} step: source {trades_per_s} trades/s (replay {rate} upd/s), due "
                  f"{due:.0f}/s, delivered {delivered:.0f}/s, lost {lost} in the measured part{early}, freshness "
                  f"p99 {pct(r, 'freshness', 'p99'):.2f} ms, server cpu {r['server_cpu'] * 100:.0f}%"
                  f"{'  <- behind' if behind else ''}", flush=True)
            if behind:
                break
            best = (trades_per_s, r)
        if best is None:
            print(f"firehose   {kind:<9} fell behind at the first step", flush=True)
            continue
        results[kind] = best[1]
        print(row("firehose", kind, clients, best[0], best[1]) +
              f"  highest sustained: {per_s(best[1], 'represented'):.0f} delivered trades/s", flush=True)
    if len(results) == 2:
        m, b = results["mdgw"], results["baseline"]
        print(f"firehose   ratio     mdgw/baseline: highest sustained delivered trades/s "
              f"{per_s(m, 'represented') / per_s(b, 'represented'):.2f}", flush=True)
    return results


def scenario_connect(args, run_dir):
    cap, dump, _ = capture(run_dir, UI_CAPTURE, args.record_seconds)
    n = args.connect_count
    results = {}
    for tls in (False, True):
        for kind in args.servers:
            tag = f"connect-{'tls' if tls else 'plain'}"
            srv = start_server(kind, args, run_dir, tag, cap, dump, 1000, tls)
            try:
                time.sleep(1)
                before = srv.rss_kib()
                rss = {"peak": before}

                def sample():
                    rss["peak"] = max(rss["peak"], srv.rss_kib())

                r = run_harness(srv, tls, run_dir, tag,
                                ["--connections", str(n), "--ramp-per-s", "1000" if tls else "2000", "--idle",
                                 "--warmup", "1", "--duration", "2"], sample=sample)
                peak = rss["peak"]
            finally:
                srv.stop()
            per_conn = (peak - before) / n
            results[(tls, kind)] = per_conn
            print(f"{tag:<14} {kind:<9} {r['open_at_end']:>6} of {n} open; RSS {before / 1024:.1f} MiB idle, "
                  f"{peak / 1024:.1f} MiB with them: {per_conn:.2f} KiB per connection; connect p50 "
                  f"{pct(r, 'connect', 'p50'):.2f} ms p99 {pct(r, 'connect', 'p99'):.2f} ms", flush=True)
        if len(args.servers) == 2 and results[(tls, "baseline")]:
            m, b = results[(tls, "mdgw")], results[(tls, "baseline")]
            print(f"connect-{'tls' if tls else 'plain':<6} ratio     mdgw/baseline memory per connection: "
                  f"{m / b:.2f}", flush=True)
    return results


def main():
    p = argparse.ArgumentParser(prog="scripts/bench", description=__doc__.split("\n")[0])
    p.add_argument("scenarios", nargs="+", choices=["ui", "ui100", "tls", "firehose", "connect", "all"])
    p.add_argument("--duration", type=float, default=10, help="measured seconds per run (default 10)")
    p.add_argument("--warmup", type=float, default=2, help="seconds after every connection opened (default 2)")
    p.add_argument("--source", choices=["capture", "sim"], default="capture",
                   help="what mdgw replays (the baseline always replays the capture)")
    p.add_argument("--no-baseline", action="store_true", help="mdgw only")
    p.add_argument("--firehose-steps", default="10000,20000,40000,60000,80000,120000,160000",
                   help="source trades/s of the firehose steps")
    p.add_argument("--connect-count", type=int, default=10000)
    p.add_argument("--record-seconds", type=float, default=0,
                   help="length of the captures recorded from the simulator (default: 30 s ui, 6 s firehose)")
    p.add_argument("--run-dir", default=os.environ.get("MDGW_BENCH_DIR", os.path.join(ROOT, "build", "bench-runs")))
    args = p.parse_args()
    args.servers = ["mdgw"] if args.no_baseline else ["mdgw", "baseline"]
    args.firehose_steps = [int(x) for x in args.firehose_steps.split(",")]
    os.makedirs(args.run_dir, exist_ok=True)
    for exe in (MDGW, HARNESS):
        if not os.access(exe, os.X_OK):
            fail(f"{exe} is missing: scripts/build first")
    wanted = ["ui", "ui100", "tls", "firehose", "connect"] if "all" in args.scenarios else args.scenarios
    load = os.getloadavg()[0]
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average {load:.2f}, "
          f"{os.cpu_count()} CPUs, server {' '.join(pin(0)) or 'unpinned'}, harness {' '.join(pin(1)) or 'unpinned'}, "
          f"reports in {args.run_dir}", flush=True)
    print(HEADER, flush=True)
    done = {}
    for s in wanted:
        if s == "ui":
            done["ui"] = scenario_ui(args, args.run_dir, "ui", 1000, False)
        elif s == "ui100":
            scenario_ui(args, args.run_dir, "ui100", 100, False)
        elif s == "tls":
            done["tls"] = scenario_ui(args, args.run_dir, "tls", 1000, True)
            if "mdgw" in done.get("ui", {}):
                # The tls target is a ratio: judged from the two runs of this sitting.
                print(tls_ratio_row(done["ui"]["mdgw"], done["tls"]["mdgw"]), flush=True)
        elif s == "firehose":
            scenario_firehose(args, args.run_dir)
        elif s == "connect":
            scenario_connect(args, args.run_dir)


if __name__ == "__main__":
    main()
