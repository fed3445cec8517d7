"""scripts/bench's load scenarios (bench/scenarios.py) at a small scale: both servers
(mdgw and the Node ws baseline) come up from the same recorded capture, every scenario
prints its rows and ratios, the harness counts no error against either server, and the
connect scenario reads a memory figure for plain and TLS connections; mdgw's ui100 row is
followed by the loopback floor of the same clients and message size; and the tls/ui row's
verdict.

usage: test_bench_scenarios.py MDGW MDGW_BENCH MDGW_LOOPBACK_FLOOR"""
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCENARIOS = os.path.join(ROOT, "bench", "scenarios.py")


class Scenarios(unittest.TestCase):
    def test_small_scale_run_of_every_kind(self):
        with tempfile.TemporaryDirectory() as run_dir:
            env = dict(os.environ, MDGW_BIN=sys.argv[1], MDGW_BENCH_BIN=sys.argv[2], MDGW_FLOOR_BIN=sys.argv[3])
            r = subprocess.run(
                ["/usr/bin/python3", SCENARIOS, "ui100", "firehose", "connect", "--duration", "1", "--warmup", "0.5",
                 "--record-seconds", "2", "--firehose-steps", "100,200", "--connect-count", "200",
                 "--run-dir", run_dir],
                env=env, capture_output=True, text=True, timeout=240)
            out = r.stdout
            self.assertEqual(r.returncode, 0, f"stdout:\n{out}\nstderr:\n{r.stderr}")
            # ui100: a row per server with data and no error, then the ratios.
            for server in ("mdgw", "baseline"):
                row = re.search(rf"^ui100\s+{server}\s+100\s+20000\s+(\d+)\s+(\d+)\s.*\s(\d+)\s+(\d+)\s+\d+%$", out,
                                re.M)
                self.assertIsNotNone(row, f"no ui100 row for {server}:\n{out}")
                msgs, upd, gaps, errors = map(int, row.groups())
                self.assertGreater(msgs, 0, row.group(0))
                self.assertGreater(upd, 0, row.group(0))
                self.assertEqual(errors, 0, row.group(0))
                with open(os.path.join(run_dir, f"ui100-{server}.report.json")) as f:
                    report = json.load(f)
                self.assertEqual(report["errors"], 0, report["first_errors"])
                self.assertEqual(report["open_at_end"], 100)
                self.assertGreater(report["latency_ns"]["freshness"]["count"], 0)
            # The floor: 100 loopback sends of mdgw's mean message size, with a CPU figure per
            # send, the pass it makes, and mdgw's own CPU per message beside it.
            floor = re.search(r"(?m)^ui100\s+floor\s+100 loopback sends of (\d+) bytes \(.*\) take ([0-9.]+) us of CPU "
                              r"each: a pass over every client costs the kernel ([0-9.]+) ms here; mdgw spent ([0-9.]+) us "
                              r"of its core per message", out)
            self.assertIsNotNone(floor, f"no ui100 floor row:\n{out}")
            with open(os.path.join(run_dir, "ui100-mdgw.report.json")) as f:
                counters = json.load(f)["counters"]
            self.assertEqual(int(floor.group(1)), round(counters["bytes"] / counters["messages"]), floor.group(0))
            self.assertGreater(float(floor.group(2)), 0, floor.group(0))
            self.assertAlmostEqual(float(floor.group(3)), float(floor.group(2)) * 100 / 1000, delta=0.011)
            self.assertGreater(float(floor.group(4)), 0, floor.group(0))
            self.assertRegex(out, r"(?m)^ui100\s+ratio\s+mdgw/baseline: freshness p50 [0-9.e+-]+, p99 [0-9.e+-]+")
            # firehose: 100 and 200 trades/s to 100 clients are sustained by both, and the
            # trades due are those the measured window replays (placed after the warm-up).
            for server in ("mdgw", "baseline"):
                self.assertRegex(out, rf"(?m)^firehose\s+{server}\s.*highest sustained: \d+ delivered trades/s$")
                for step in (100, 200):
                    with open(os.path.join(run_dir, f"firehose-{step}-{server}.report.json")) as f:
                        report = json.load(f)
                    self.assertGreaterEqual(report["measured_from_s"], 0.5, report)
                    m = re.search(rf"(?m)^firehose\s+{server}\s+step: source {step} trades/s .*, due (\d+)/s, "
                                  rf"delivered (\d+)/s, lost 0 in the measured part", out)
                    self.assertIsNotNone(m, f"no firehose {step} step for {server}:\n{out}")
                    self.assertGreater(int(m.group(1)), 0, m.group(0))
            self.assertRegex(out, r"(?m)^firehose\s+ratio\s+mdgw/baseline: highest sustained delivered trades/s")
            # connect: every idle connection opened, plain and TLS, with a memory figure.
            for tag in ("connect-plain", "connect-tls"):
                for server in ("mdgw", "baseline"):
                    self.assertRegex(out, rf"(?m)^{tag}\s+{server}\s+200 of 200 open; RSS .* KiB per connection")

    def test_firehose_replays_its_capture_with_source_sim(self):
        # Its trades due are counted from the capture: with --source sim mdgw still replays
        # it there, and a step that loses nothing is sustained.
        with tempfile.TemporaryDirectory() as run_dir:
            env = dict(os.environ, MDGW_BIN=sys.argv[1], MDGW_BENCH_BIN=sys.argv[2], MDGW_FLOOR_BIN=sys.argv[3])
            r = subprocess.run(
                ["/usr/bin/python3", SCENARIOS, "firehose", "--source", "sim", "--no-baseline", "--duration", "1",
                 "--warmup", "0.5", "--record-seconds", "2", "--firehose-steps", "200", "--run-dir", run_dir],
                env=env, capture_output=True, text=True, timeout=120)
            out = r.stdout
            self.assertEqual(r.returncode, 0, f"stdout:\n{out}\nstderr:\n{r.stderr}")
            self.assertIn("# firehose: mdgw replays the firehose capture (--source sim applies to the other "
                          "scenarios)", out)
            # On the simulator the step read as behind (its clients' 10 instruments had few of the trades).
            self.assertRegex(out, r"(?m)^firehose\s+mdgw\s.*highest sustained: \d+ delivered trades/s$")

    def test_trades_due_are_those_the_window_replays(self):
        # A replay at R updates/s publishes update i at i / R s and loops; the trades due in
        # a window are the trades among the updates due in it, counted across the loop.
        sys.path.insert(0, os.path.dirname(SCENARIOS))
        import scenarios

        kinds = "btbbttbtbb"  # trades at updates 1, 4, 5 and 7 of 10
        with tempfile.TemporaryDirectory() as d:
            dump = os.path.join(d, "c.jsonl")
            with open(dump, "w") as f:
                f.write('{"kind":"instrument","symbol":"SIM:A"}\n')  # not a source update
                for k in kinds:
                    f.write('{"kind":"trade","seq":1}\n' if k == "t" else '{"kind":"book","seq":1}\n')
            # At 10 updates/s: second 0 replays updates 0 to 9, second 0.5 to 1.5 updates 5 to 14.
            self.assertEqual(scenarios.trades_replayed(dump, 10, (0, 1)), 4)
            self.assertEqual(scenarios.trades_replayed(dump, 10, (0.1, 0.3)), 1)  # updates 1, 2
            self.assertEqual(scenarios.trades_replayed(dump, 10, (0.5, 1.5)), 2 + 2)  # 5, 7, then 1, 4 again
            self.assertEqual(scenarios.trades_replayed(dump, 10, (0, 3.2)), 3 * 4 + 1)
            self.assertEqual(scenarios.trades_replayed(dump, 100, (20, 21)), 40)

    def test_server_cpu_is_read_at_the_measured_parts_edges(self):
        # The server's CPU seconds, read every 100 ms, interpolated at the measured part's
        # edges (and the first or last reading outside the readings).
        sys.path.insert(0, os.path.dirname(SCENARIOS))
        import scenarios

        samples = [(10.0, 1.0), (10.1, 1.05), (10.2, 1.15)]
        self.assertAlmostEqual(scenarios.cpu_at(samples, 10.05), 1.025)
        self.assertAlmostEqual(scenarios.cpu_at(samples, 10.15), 1.10)
        self.assertAlmostEqual(scenarios.cpu_at(samples, 10.1), 1.05)
        self.assertEqual(scenarios.cpu_at(samples, 9.0), 1.0)
        self.assertEqual(scenarios.cpu_at(samples, 11.0), 1.15)

    def test_tls_ratio_row_judges_both_percentiles(self):
        # The tls target is judged from this row alone: p50 and p99 each against 2x.
        sys.path.insert(0, os.path.dirname(SCENARIOS))
        import scenarios

        def report(p50_ms, p99_ms):
            return {"latency_ns": {"freshness": {"p50": p50_ms * 1e6, "p99": p99_ms * 1e6}}}

        ui = report(10, 20)
        self.assertEqual(scenarios.tls_ratio_row(ui, report(19, 39)),
                         "tls        ratio     tls/ui (mdgw): freshness p50 1.90, p99 1.95: within 2x")
        self.assertTrue(scenarios.tls_ratio_row(ui, report(21, 30)).endswith("p50 2.10, p99 1.50: over 2x"))
        self.assertTrue(scenarios.tls_ratio_row(ui, report(15, 41)).endswith("p50 1.50, p99 2.05: over 2x"))


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1])
