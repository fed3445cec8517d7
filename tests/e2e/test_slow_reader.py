"""A client that never reads must not hurt anyone else: while it sits on 20 deep book
subscriptions with a tiny receive buffer, three normal clients keep a continuous, fresh
stream, and the gateway's memory stays flat. Then SIGTERM still stops mdgw cleanly."""
import sys

sys.dont_write_bytecode = True

import asyncio
import fcntl
import json
import signal
import termios
import time
import unittest

import websockets

import mdgw_harness as h

WINDOW_S = 10.0
RSS_PERIOD_S = 0.5
WARMUP_S = 2.0
MAX_GAP_S = 1.0
# What a stuck client could cost the others is time inside the gateway: an io thread held
# up by it stamps everyone's ts_send late, and the stream stops (MAX_GAP_S). So the bound
# is on ts_send - ts_recv_oldest ("held"). Freshness (receive time - ts_recv_oldest) adds
# this Python client's own lag, which checks every book: with the CI build running beside
# it, it measured freshness p99 0.6 and 1.7 s while held p99 was 3 to 8 ms and no gap
# passed 27 ms. Freshness is printed, not asserted.
MAX_P99_HELD_S = 0.25
MAX_RSS_GROWTH = 20 << 20
MAX_RSS_SLOPE = 0.5 * (1 << 20)  # bytes per second after the warm-up
SLOW_RCVBUF = 4096


def slope(points):
    n = len(points)
    mx = sum(t for t, _ in points) / n
    my = sum(v for _, v in points) / n
    den = sum((t - mx) ** 2 for t, _ in points)
    return sum((t - mx) * (v - my) for t, v in points) / den if den else 0.0


class SlowReader(unittest.TestCase):
    def run_case(self, slow_tls):
        # One io thread: the stuck session shares it with every normal client.
        with h.Mdgw("--sim-rate", "20000", "--io-threads", "1", tls=True) as gw:
            inst = gw.instruments()
            self.assertGreaterEqual(len(inst), 20)
            syms = [i["symbol"] for i in inst]
            streams = h.BookStreams(inst)
            # Normal clients overlap the slow one (syms[0], syms[1]) so they share its updates.
            plans = [
                ("ws-a", False, [f"book.{syms[0]}.50", f"book.{syms[2]}.10", f"book.{syms[3]}.5"]),
                ("ws-b", False, [f"book.{syms[1]}.20", f"book.{syms[4]}.10", f"book.{syms[5]}.1"]),
                ("wss-c", True, [f"book.{syms[0]}.10", f"book.{syms[6]}.10", f"book.{syms[7]}.3"]),
            ]
            slow_channels = [f"book.{s}.50" for s in syms[:20]]
            report = {}

            async def scenario():
                stop = asyncio.Event()
                conns, readers = [], []
                for k, (name, tls, channels) in enumerate(plans):
                    s = streams.client(name, light=True)
                    ws = await h.ws_connect(gw, tls=tls)
                    s.on_ack(await h.request(ws, {"op": "subscribe", "id": k, "channels": channels},
                                             on_data=s.on_data), k, channels)
                    conns.append((ws, s))
                    readers.append(asyncio.create_task(h.read_stream(ws, s, stop)))

                slow = await asyncio.to_thread(h.raw_ws_connect, gw.port, SLOW_RCVBUF, slow_tls)
                try:
                    sub = json.dumps({"op": "subscribe", "id": 99, "channels": slow_channels}).encode()
                    await asyncio.to_thread(slow.sendall, h.ws_frame(sub))
                    t0 = time.monotonic()
                    t0_ns = time.time_ns()
                    marks = {s.name: len(s.freshness_ns) for _, s in conns}
                    rss = []
                    for _ in range(int(WINDOW_S / RSS_PERIOD_S) + 1):
                        rss.append((time.monotonic() - t0, gw.rss_bytes()))
                        for r in readers:
                            if r.done():
                                r.result()  # re-raise a validation failure now
                        await asyncio.sleep(max(0.0, t0 + len(rss) * RSS_PERIOD_S - time.monotonic()))
                    t1 = time.monotonic()
                    health = await asyncio.to_thread(gw.health)
                    inq = fcntl.ioctl(slow.fileno(), termios.FIONREAD, b"\0\0\0\0")
                    report["slow_inq"] = int.from_bytes(inq, sys.byteorder)
                    stop.set()
                    await asyncio.gather(*readers)
                    report.update(t0=t0, t1=t1, t0_ns=t0_ns, rss=rss, health=health, marks=marks,
                                  clients={s.name: s for _, s in conns})
                    self.check_report(report)

                    # SIGTERM with the stuck client still connected: the normal clients get
                    # 1001 and mdgw exits 0 without waiting on the peer that never reads.
                    gw.send_signal(signal.SIGTERM)

                    async def until_closed(ws, s):
                        try:
                            for _ in range(100000):
                                s.on_data(await h.recv_json(ws, 10), time.time_ns())
                        except websockets.exceptions.ConnectionClosed:
                            pass
                        return ws.close_code

                    codes = await asyncio.gather(*(until_closed(ws, s) for ws, s in conns))
                    self.assertEqual(codes, [1001] * len(conns), "close codes of the normal clients on SIGTERM")
                    rc = await asyncio.to_thread(gw.wait, 10)
                    self.assertEqual(rc, 0, f"exit code on SIGTERM with a stuck client; stderr {gw.stderr()[-2000:]}")
                finally:
                    slow.close()
                    for ws, _ in conns:
                        await ws.close()

            h.run_async(scenario(), 60)

    def check_report(self, r):
        # Measure everything first and print it, then assert: a failure still shows the figures.
        lines, per_client = [], []
        for name, s in r["clients"].items():
            times = [t for t in s.recv_times if r["t0"] <= t <= r["t1"]]
            edges = [r["t0"]] + times + [r["t1"]]
            gap = max(b - a for a, b in zip(edges, edges[1:]))
            fresh = s.freshness_ns[r["marks"][name]:] or [10**12]
            held = s.held_ns[r["marks"][name]:] or [10**12]
            p50, p99, mx = (h.percentile(fresh, p) / 1e9 for p in (50, 99, 100))
            held_p99 = h.percentile(held, 99) / 1e9
            per_client.append((name, len(times), gap, held_p99))
            lines.append(f"{name}: {len(times)} msgs, {len(fresh)} updates, max gap {gap * 1000:.0f} ms, "
                         f"freshness p50 {p50 * 1000:.1f} ms p99 {p99 * 1000:.1f} ms max {mx * 1000:.1f} ms, "
                         f"held in the gateway p99 {held_p99 * 1000:.1f} ms")
        rss = r["rss"]
        after = [(t, v) for t, v in rss if t >= WARMUP_S]
        base = after[0][1]
        growth = max(v for _, v in after) - base
        sl = slope(after)
        lines.append(f"slow client: {r['slow_inq']} bytes unread in its receive buffer")
        lines.append(f"rss at {after[0][0]:.1f}s {base / 2**20:.1f} MiB, growth {growth / 2**20:.2f} MiB, "
                     f"slope {sl / 2**20:.3f} MiB/s, samples (MiB) {[round(v / 2**20, 1) for _, v in rss]}")
        print("\n" + "\n".join(lines), file=sys.stderr)

        # The slow client really is subscribed and stuck: data sits unread in its buffer.
        self.assertGreater(r["slow_inq"], 0, "the never-reading client received nothing (subscribe failed?)")
        self.assertEqual(r["health"]["connections"]["ws"], 4, r["health"])
        for name, n, gap, held_p99 in per_client:
            self.assertGreater(n, 100, f"{name}: only {n} messages in {WINDOW_S}s")
            self.assertLess(gap, MAX_GAP_S, f"{name}: a {gap:.2f}s gap in the stream while a client is stuck")
            self.assertLess(held_p99, MAX_P99_HELD_S, f"{name}: held in the gateway p99 {held_p99:.3f}s")
        self.assertLess(growth, MAX_RSS_GROWTH, f"RSS grew {growth / 2**20:.1f} MiB after warm-up")
        self.assertLess(sl, MAX_RSS_SLOPE, f"RSS trend {sl / 2**20:.2f} MiB/s after warm-up")

    def test_stuck_ws_client(self):
        self.run_case(slow_tls=False)

    def test_stuck_wss_client(self):
        self.run_case(slow_tls=True)


if __name__ == "__main__":
    h.main()
