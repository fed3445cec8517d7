#!/usr/bin/python3
"""CPU time of the gateway's ITCH feed thread over a whole file, two builds interleaved.

Usage (from the repository root, /usr/bin/python3 only: it uses tests/e2e's harness):

  /usr/bin/python3 bench/itch_feed_cpu.py --file /tmp/itchperf/d5m.bin --pairs 8 BASE_MDGW NEW_MDGW

Each round runs BASE then NEW: `mdgw --itch-file FILE --sim-instruments 0` (flat out, every
locate published as the gateway does), waits until /health reports the feed `finished`,
then reads the CPU time (utime + stime, /proc/PID/task/*/stat) of the busiest thread, which
is the feed thread. Prints each run (with the share of the machine's CPU time the host
took, steal, and a warning above 2%: scenarios.py's rule), each pair's new/base ratio,
their median and the ratio of the sums. Runs pinned to CPU 1 (`taskset -c 1`) when the
machine has two CPUs or more.

Why a script and not a Google Benchmark: the feed thread's cost is the decoder, the book and
the publication (seqlock slots, notices) together, with the io threads running beside it;
only the real binary has all of them. The replay benchmark (mdgw_itch_replay_bench) times
the parse and book alone.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
sys.path.insert(0, HERE)
from scenarios import cpu_ticks, steal_share, warn_if_stolen  # noqa: E402 (after sys.path)


def one_run(binary: str, path: str, date: str, timeout: float) -> tuple[int, int]:
    """Feed thread CPU ticks and messages of one run of `binary` (in this process)."""
    os.environ["MDGW_BIN"] = binary
    import mdgw_harness as h  # noqa: E402 (after MDGW_BIN and sys.path)

    with h.Mdgw("--itch-file", path, "--itch-date", date, "--sim-instruments", "0") as gw:
        gw.wait_feed_finished("itch", timeout=timeout)
        events = next(f.get("events", 0) for f in gw.health()["feeds"] if f.get("name") == "itch")
        ticks = []
        task_dir = f"/proc/{gw.proc.pid}/task"
        for t in os.listdir(task_dir):
            with open(f"{task_dir}/{t}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks.append(int(fields[11]) + int(fields[12]))  # utime + stime
    return max(ticks), events


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("base")
    ap.add_argument("new")
    ap.add_argument("--file", required=True, help="ITCH BinaryFILE (mdgw_itch_gen output)")
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--date", default="2010-12-24", help="--itch-date for mdgw")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per run")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:  # one run, in a fresh process (the harness keeps module state)
        ticks, events = one_run(args.base, args.file, args.date, args.timeout)
        print(ticks, events)
        return
    hz = os.sysconf("SC_CLK_TCK")
    pin = ["taskset", "-c", "1"] if shutil.which("taskset") and (os.cpu_count() or 1) >= 2 else []
    sums = {"base": 0, "new": 0}
    ratios = []
    for i in range(args.pairs):
        got = {}
        for name in ("base", "new"):
            binary = getattr(args, name)
            ticks0 = cpu_ticks()
            out = subprocess.run(pin + [sys.executable, os.path.abspath(__file__), binary, binary, "--file",
                                        args.file, "--date", args.date, "--timeout", str(args.timeout), "--child"],
                                 check=True, capture_output=True, text=True).stdout.split()
            steal = steal_share(ticks0, cpu_ticks())
            ticks, events = int(out[0]), int(out[1])
            got[name] = ticks
            sums[name] += ticks
            with open("/proc/loadavg") as f:
                load = f.read().split()[0]
            print(f"pair {i + 1} {name}: feed thread {1000.0 * ticks / hz:.0f} ms CPU for {events} messages "
                  f"({1e9 * ticks / hz / max(events, 1):.0f} ns/message), load {load}, host steal {steal * 100:.1f}%",
                  flush=True)
            warn_if_stolen(f"pair {i + 1} {name}", steal)
        ratios.append(got["new"] / max(got["base"], 1))
        print(f"pair {i + 1} new/base {ratios[-1]:.2f}", flush=True)
    print(f"new/base: median of the pairs {statistics.median(ratios):.2f}, "
          f"sums {sums['new'] / max(sums['base'], 1):.2f} ({len(ratios)} pairs)")


if __name__ == "__main__":
    main()
