"""mdgw-bench against the real gateway (simulated market), plain and TLS: 20 connections
for 3 s each. Asserts what a user of the harness reads: every connection opened and
stayed up (cross-checked with the gateway's own /health count), messages arrived, no
error of any kind, percentiles that are ordered and plausible, a JSON report and a PNG
plot. Then the failure paths: a gateway restart mid-run is counted (disconnects with
close code 1001) and every connection is reopened and resubscribed; a bad channel makes
the run fail with the gateway's error; --plot without gnuplot fails before running.

Run: /usr/bin/python3 tests/e2e/test_bench.py /path/to/mdgw /path/to/mdgw-bench"""
import sys

sys.dont_write_bytecode = True

import json
import os
import subprocess
import tempfile
import time
import unittest

import mdgw_harness as h

BENCH = None
CONNECTIONS = 20
DURATION_S = 3
RUN_TIMEOUT_S = 30


def bench_bin() -> str:
    path = BENCH or os.environ.get("MDGW_BENCH_BIN")
    if not path or not os.access(path, os.X_OK):
        raise RuntimeError(f"mdgw-bench binary not found: {path!r} (argv[2] or MDGW_BENCH_BIN)")
    return os.path.abspath(path)


class BenchHarness(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.gw = h.Mdgw("--sim-rate", "20000", "--io-threads", "2", tls=True)
        cls.tmp = tempfile.TemporaryDirectory(prefix="mdgw-bench-e2e-")

    @classmethod
    def tearDownClass(cls):
        cls.gw.close()
        cls.tmp.cleanup()

    def run_bench(self, tls: bool, name: str, extra=(), gw=None):
        gw = gw or self.gw
        report = os.path.join(self.tmp.name, name + ".json")
        plot = os.path.join(self.tmp.name, name + ".png")
        args = [bench_bin(), "--url", gw.ws_url(tls), "--connections", str(CONNECTIONS),
                "--ramp-per-s", "200", "--books", "3", "--depth", "10", "--duration", str(DURATION_S),
                "--threads", "2", "--json", report, "--plot", plot, *extra]
        if tls:
            cert, _ = h.make_certs()
            args += ["--verify", "--ca", cert]
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # While it runs, the gateway itself must count all 20 WebSockets.
        peak = 0
        deadline = time.monotonic() + DURATION_S
        while time.monotonic() < deadline and proc.poll() is None:
            peak = max(peak, gw.health()["connections"]["ws"])
            if peak >= CONNECTIONS:
                break
            time.sleep(0.1)
        out, err = proc.communicate(timeout=RUN_TIMEOUT_S)
        self.assertEqual(proc.returncode, 0, f"mdgw-bench failed\nstdout:\n{out}\nstderr:\n{err}")
        self.assertEqual(peak, CONNECTIONS, "the gateway never counted every bench connection")
        with open(report) as f:
            rep = json.load(f)
        with open(plot, "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n", "--plot did not write a PNG")
        self.assertIn("freshness (recv - ts_recv)", out, "no human table on stdout")
        self.assertIn("conns 20/20", err, "no progress line showing every connection up")
        return rep

    def check_report(self, rep):
        c = rep["counters"]
        self.assertEqual(rep["connections"], CONNECTIONS)
        self.assertEqual(c["connects"], CONNECTIONS)
        self.assertEqual(rep["open_at_end"], CONNECTIONS)
        self.assertEqual(c["subscribed"], CONNECTIONS)
        self.assertEqual(c["snapshots"], 3 * CONNECTIONS, "one snapshot per subscribed channel")
        for k in ("seq_errors", "unknown_channel", "bad_messages", "error_replies", "connect_failures",
                  "disconnects", "reconnects", "ws_errors", "seq_gaps"):
            self.assertEqual(c[k], 0, f"{k}: {rep}")
        self.assertEqual(rep["errors"], 0)
        self.assertEqual(rep["first_errors"], [])
        # 64 simulated instruments at 20000 actions/s: each 3-book connection sees
        # several hundred changes a second; demand a conservative floor.
        self.assertGreater(c["messages"], CONNECTIONS * 100, rep)
        self.assertGreaterEqual(c["updates"], c["messages"])
        self.assertGreater(c["bytes"], c["messages"] * 100)
        self.assertAlmostEqual(rep["rates"]["messages_per_s"], c["messages"] / rep["elapsed_s"],
                               delta=0.05 * c["messages"] / rep["elapsed_s"] + 1)
        self.assertGreaterEqual(rep["elapsed_s"], DURATION_S - 0.1)
        self.assertEqual(rep["measured_from_s"], 0, "without --warmup the whole run is measured")
        # The busiest reader thread's CPU share: measured, and below one core.
        self.assertTrue(0 < rep["max_thread_busy"] < 1.05, rep["max_thread_busy"])
        # The host's share of the machine during the measured part (0 on a quiet host).
        self.assertTrue(0 <= rep["steal"] <= 1, rep["steal"])
        for name in ("freshness", "send_to_recv", "connect"):
            lat = rep["latency_ns"][name]
            self.assertGreater(lat["count"], 0, name)
            self.assertEqual(lat["negative"], 0, f"{name}: a receive before a send stamp")
            self.assertEqual(lat["overflow"], 0, name)
            self.assertTrue(0 <= lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p99_9"] <= lat["max"],
                            f"{name} not ordered: {lat}")
            # Loopback on a loaded 2-core machine: anything near a second is broken.
            self.assertLess(lat["p99"], 1_000_000_000, f"{name}: {lat}")
        self.assertEqual(rep["latency_ns"]["connect"]["count"], CONNECTIONS)
        self.assertEqual(rep["latency_ns"]["send_to_recv"]["count"], c["messages"])
        # Freshness is measured from an earlier stamp than send->recv (ts_recv <= ts_send).
        self.assertGreaterEqual(rep["latency_ns"]["freshness"]["p50"] * 1.01,
                                rep["latency_ns"]["send_to_recv"]["p50"])

    def test_plain(self):
        before = self.gw.health()["send_batch"]
        self.check_report(self.run_bench(False, "plain"))
        after = self.gw.health()["send_batch"]
        # The gateway's data frames went out in io_uring batches (gateway/send_batch.hpp),
        # several sessions' frames a system call: 20 clients of the same books are ready
        # together. A kernel or sandbox that refuses io_uring gets one write per frame by
        # design (tests/gateway/send_batch_required.hpp).
        if not after["enabled"] and any(w in after.get("why", "") for w in
                                        ("Operation not permitted", "Function not implemented")):
            self.skipTest(f"io_uring is refused here: {after['why']}")
        self.assertTrue(after["enabled"], after)
        sends, submits = after["sends"] - before["sends"], after["submits"] - before["submits"]
        self.assertGreater(sends, CONNECTIONS * 100, after)
        self.assertGreater(sends / submits, 1.5, f"batches of {sends / submits:.2f} sends: not batched")

    def test_plain_without_batching(self):
        """The paths without io_uring: the gateway's one sendmsg per frame (--send-batch 0)
        and the harness's one recv per ready connection (--read-batch 0) deliver the same."""
        gw = h.Mdgw("--sim-rate", "20000", "--send-batch", "0")
        try:
            rep = self.run_bench(False, "plain-unbatched", extra=("--read-batch", "0"), gw=gw)
            health = gw.health()["send_batch"]
        finally:
            gw.close()
        self.check_report(rep)
        self.assertEqual(health, {"enabled": False, "why": "--send-batch 0", "submits": 0, "sends": 0})

    def test_tls(self):
        rep = self.run_bench(True, "tls")
        self.assertTrue(rep["url"].startswith("wss://"))
        self.check_report(rep)

    def test_gateway_restart_is_counted_and_reconnected(self):
        n = 5
        gw1 = h.Mdgw("--sim-rate", "20000")
        port = gw1.port
        gw2 = None
        try:
            report = os.path.join(self.tmp.name, "restart.json")
            proc = subprocess.Popen([bench_bin(), "--url", gw1.ws_url(False), "--connections", str(n),
                                     "--books", "2", "--duration", "5", "--quiet", "--json", report],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            deadline = time.monotonic() + 4
            while gw1.health()["connections"]["ws"] < n and time.monotonic() < deadline:
                time.sleep(0.05)
            gw1.stop()  # SIGTERM: every WebSocket gets close 1001
            gw2 = h.Mdgw("--sim-rate", "20000", "--port", str(port))
            self.assertEqual(gw2.port, port)
            _, err = proc.communicate(timeout=RUN_TIMEOUT_S)
            self.assertEqual(proc.returncode, 1, "lost connections must fail the run: " + err)
            with open(report) as f:
                rep = json.load(f)
        finally:
            gw1.close()
            if gw2:
                gw2.close()
        c = rep["counters"]
        self.assertEqual(c["disconnects"], n, rep)
        self.assertGreaterEqual(c["reconnects"], n, rep)
        self.assertEqual(c["connects"], 2 * n, rep)
        self.assertEqual(c["subscribed"], 2 * n, rep)
        self.assertEqual(rep["open_at_end"], n, rep)
        self.assertEqual(c["seq_errors"], 0, "sequences restart with the new gateway's snapshots")
        self.assertEqual(c["snapshots"], 2 * 2 * n, rep)
        self.assertTrue(any("1001" in e for e in rep["first_errors"]), rep["first_errors"])

    def test_gateway_error_fails_the_run(self):
        proc = subprocess.run([bench_bin(), "--url", self.gw.ws_url(False), "--channels", "book.SIM:NOPE.10",
                               "--duration", "1", "--quiet", "--json", "-"],
                              capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        rep = json.loads(proc.stdout)
        self.assertEqual(rep["counters"]["error_replies"], 1)
        self.assertEqual(rep["errors"], 1)
        self.assertTrue(any("1004" in e for e in rep["first_errors"]), rep["first_errors"])

    def test_plot_without_gnuplot_fails_first(self):
        t0 = time.monotonic()
        proc = subprocess.run([bench_bin(), "--url", self.gw.ws_url(False), "--books", "1", "--duration", "5",
                               "--plot", os.path.join(self.tmp.name, "none.png")],
                              capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
                              env={**os.environ, "PATH": self.tmp.name})
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("gnuplot", proc.stderr)
        self.assertLess(time.monotonic() - t0, 4, "it ran before failing")
        self.assertFalse(os.path.exists(os.path.join(self.tmp.name, "none.png")))


if __name__ == "__main__":
    if len(sys.argv) > 2 and not sys.argv[2].startswith("-"):
        BENCH = sys.argv.pop(2)
    h.main()
