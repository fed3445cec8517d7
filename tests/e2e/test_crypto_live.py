"""Live crypto feeds against a fake exchange (fake_exchange.py) serving the real captures
over WebSocket (and Binance's REST snapshots over HTTP), which drops, freezes or corrupts
on command. mdgw connects to it as to the venue; the tests prove recovery as a user sees
it: reconnects are counted in /health, a corrupted frame is caught (checksum, update-id
chain, unparseable update) and the instrument is published stale, then repaired, and in
the end every book equals the clean replay of the capture (crypto_dump)."""
import sys

sys.dont_write_bytecode = True

import asyncio
import json
import os
import queue
import subprocess
import threading
import time
import unittest

import crypto_common as cc
import mdgw_harness as h

FAKE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fake_exchange.py")


class FakeExchange:
    def __init__(self, *args: str):
        self.proc = subprocess.Popen([sys.executable, FAKE] + list(args), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
        self.events: list = []
        self._q: queue.Queue = queue.Queue()
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()
        listening = self.wait("listening", timeout=15)
        self.ws_port = listening["ws"]
        self.http_port = listening["http"]

    def _drain(self):
        for line in self.proc.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            self.events.append(ev)
            self._q.put(ev)
        self._q.put(None)

    def wait(self, event: str, timeout: float, **match) -> dict:
        for ev in self.events:
            if ev.get("event") == event and all(ev.get(k) == v for k, v in match.items()):
                return ev
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                ev = self._q.get(timeout=min(0.5, max(0.01, deadline - time.monotonic())))
            except queue.Empty:
                continue
            if ev is None:
                raise AssertionError(f"fake exchange exited: {self.proc.stderr.read()[-2000:]}")
            if ev.get("event") == event and all(ev.get(k) == v for k, v in match.items()):
                return ev
        raise AssertionError(f"fake exchange: no {event} {match} within {timeout}s; events: {self.events[-20:]}"
                             f"{self.stderr_tail()}")

    def stderr_tail(self) -> str:
        if self.proc.poll() is None:
            return ""
        return "\nfake exchange stderr: " + self.proc.stderr.read()[-2000:]

    def go(self):
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=5)
        self._reader.join(timeout=2)
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class QualityWatcher:
    """A WebSocket client subscribed to every instrument of a venue, recording the
    quality sequence each channel shows."""

    def __init__(self, gw, symbols):
        self.gw = gw
        self.channels = [f"book.{s}.10" for s in symbols]
        self.seen = {c: [] for c in self.channels}
        self.stop = asyncio.Event()

    def on_data(self, msg, _ns=None):
        for u in msg.get("updates", []):
            q = self.seen[u["channel"]]
            if not q or q[-1] != u["quality"]:
                q.append(u["quality"])

    async def subscribed(self):
        self.ws = await h.ws_connect(self.gw)
        reply = await h.request(self.ws, {"op": "subscribe", "id": 1, "channels": self.channels}, on_data=self.on_data)
        assert reply.get("type") == "subscribed", reply

    async def run(self):
        try:
            while not self.stop.is_set():
                try:
                    self.on_data(await h.recv_json(self.ws, 0.2))
                except asyncio.TimeoutError:
                    continue
        finally:
            await self.ws.close()

    def symbol_saw(self, symbol, sequence):
        """True when the channel of symbol showed the qualities in order (gaps allowed)."""
        it = iter(self.seen[f"book.{symbol}.10"])
        return all(any(q == want for q in it) for want in sequence)


def live_args(venue: str, fake: FakeExchange, timeout_ms: int, scheme: str = "ws") -> list:
    args = cc.QUIET_SIM + cc.SYMBOL_ARGS[venue] + [f"--{venue}-url", f"{scheme}://127.0.0.1:{fake.ws_port}",
                                                   "--upstream-timeout-ms", str(timeout_ms),
                                                   "--upstream-backoff-min-ms", "100",
                                                   "--upstream-backoff-max-ms", "1000"]
    if venue == "binance":
        args += ["--binance-rest-url", f"http://127.0.0.1:{fake.http_port}"]
    if venue == "kraken":
        args += ["--kraken-depth", "1000"]
    return args


class CryptoLiveTest(unittest.TestCase):
    def run_venue(self, venue, fake_args, final_conn, timeout_ms=10000, mdgw_args=(), scheme="ws"):
        """Starts the fake and mdgw, lets a client subscribe, releases the fake, waits for
        connection final_conn to deliver the whole capture and for the books to equal the
        clean replay. Returns (gw health feed, fake, watcher, mdgw stderr)."""
        expected = cc.expected_books([venue])
        with FakeExchange("--venue", venue, *fake_args) as fake, \
                h.Mdgw(*(live_args(venue, fake, timeout_ms, scheme) + list(mdgw_args))) as gw:
            # Initial state, published before the port opened: every instrument known,
            # empty and resyncing until the venue sends its snapshot. Binance's snapshot
            # comes over REST right after connecting (the fake holds back only the
            # WebSocket frames), so a Binance book may already be ok here.
            allowed = ("resyncing", "ok") if venue == "binance" else ("resyncing",)
            for sym in expected:
                b = cc.book(gw, sym)
                self.assertIn(b["quality"], allowed, sym)
            watcher = QualityWatcher(gw, list(expected))

            async def scenario():
                await watcher.subscribed()
                task = asyncio.create_task(watcher.run())
                fake.go()
                await asyncio.to_thread(fake.wait, "end", 45, conn=final_conn)
                await asyncio.to_thread(cc.wait_books_equal, gw, expected, 20)
                await asyncio.sleep(0.3)  # the watcher gets the last states
                watcher.stop.set()
                await task

            try:
                h.run_async(scenario(), 90)
            except AssertionError as e:
                fake.proc.kill()
                fake.proc.wait(timeout=5)
                raise AssertionError(f"{e}\nmdgw stderr:\n{gw.stderr()[-3000:]}{fake.stderr_tail()}") from e
            f = cc.feed(gw, venue)
            self.assertEqual(f["counters"]["connected"], 1, f)
            self.assertEqual(f["counters"]["instruments_not_ok"], 0, f)
            for ch, seq in watcher.seen.items():
                self.assertEqual(seq[-1:], ["ok"], f"{ch}: last quality a client saw: {seq}")
            gw.stop()
            return f, fake, watcher, gw.stderr()

    def test_kraken_checksum_mismatch_and_drop(self):
        f, fake, watcher, err = self.run_venue("kraken", ["--ws-file", cc.data("kraken-book.ws"),
                                                          "--corrupt", "1:300", "--drop", "2:900"], final_conn=3)
        bad = fake.wait("corrupt", 0, conn=1)
        fake.wait("drop", 0, conn=2)
        self.assertGreaterEqual(f["counters"]["mismatches"], 1, f)   # the checksum caught it
        self.assertGreaterEqual(f["counters"]["resyncs"], 1, f)
        self.assertGreaterEqual(f["counters"]["reconnects"], 2, f)    # resync + drop
        # The client saw the corrupted pair go stale, then ok again after the resync.
        self.assertTrue(watcher.symbol_saw(f"KRAKEN:{bad['pair']}", ["ok", "stale", "ok"]),
                        watcher.seen[f"book.KRAKEN:{bad['pair']}.10"])
        self.assertIn("reconnected", err)

    def test_binance_sequence_gap_and_drop(self):
        f, fake, watcher, err = self.run_venue(
            "binance", ["--ws-file", cc.data("binance-depth.ws"), "--rest-file", cc.data("binance-depth-snapshots.rest"),
                        "--corrupt", "1:60", "--drop", "1:200", "--pace-every", "1"], final_conn=2)
        bad = fake.wait("corrupt", 0, conn=1)
        self.assertGreaterEqual(f["counters"]["mismatches"], 1, f)   # the update-id chain broke
        self.assertGreaterEqual(f["counters"]["reconnects"], 1, f)
        # Repaired by a fresh REST snapshot of that symbol on the same connection, before
        # the drop: 4 snapshots at connect, then the re-fetch.
        i_corrupt = fake.events.index(bad)
        i_drop = fake.events.index(fake.wait("drop", 0, conn=1))
        refetch = [e for e in fake.events[i_corrupt:i_drop]
                   if e["event"] == "rest" and f"symbol={bad['symbol']}&" in e["path"]]
        self.assertTrue(refetch, fake.events)
        self.assertTrue(watcher.symbol_saw(f"BINANCE:{bad['symbol']}", ["ok"]), watcher.seen)

    def test_coinbase_dead_upstream_and_bad_update(self):
        f, fake, watcher, err = self.run_venue(
            "coinbase", ["--ws-file", cc.data("coinbase-level2.ws"), "--freeze", "1:2000", "--corrupt", "2:4000"],
            final_conn=3, timeout_ms=1500)
        fake.wait("freeze", 0, conn=1)
        bad = fake.wait("corrupt", 0, conn=2)
        self.assertIn("no frame for 1500 ms", err)                    # the frozen upstream was declared dead
        self.assertGreaterEqual(f["counters"]["reconnects"], 2, f)
        self.assertGreaterEqual(f["counters"]["bad_frames"], 1, f)
        self.assertGreaterEqual(f["counters"]["resyncs"], 1, f)
        self.assertTrue(watcher.symbol_saw(f"COINBASE:{bad['product']}", ["ok", "stale", "ok"]),
                        watcher.seen[f"book.COINBASE:{bad['product']}.10"])

    def test_kraken_over_tls_verified(self):
        # wss:// with the peer verified against the test CA (the fake's self-signed
        # certificate for 127.0.0.1), through a drop.
        cert, key = h.make_certs()
        f, fake, watcher, err = self.run_venue(
            "kraken", ["--ws-file", cc.data("kraken-book.ws"), "--drop", "1:500", "--cert", cert, "--key", key],
            final_conn=2, mdgw_args=["--upstream-ca", cert], scheme="wss")
        self.assertGreaterEqual(f["counters"]["reconnects"], 1, f)
        self.assertEqual(f["counters"]["mismatches"], 0, f)

    def test_unverifiable_tls_upstream_is_refused(self):
        # Peer verification is on by default: a self-signed upstream is never used.
        cert, key = h.make_certs()
        with FakeExchange("--venue", "kraken", "--ws-file", cc.data("kraken-book.ws"), "--cert", cert,
                          "--key", key) as fake, h.Mdgw(*live_args("kraken", fake, 10000, "wss")) as gw:
            fake.go()
            deadline = time.monotonic() + 10
            while "certificate verify failed" not in gw.stderr() and time.monotonic() < deadline:
                time.sleep(0.1)
            self.assertIn("certificate verify failed", gw.stderr())
            self.assertFalse([e for e in fake.events if e["event"] == "subscribe"], fake.events)
            self.assertEqual(cc.book(gw, "KRAKEN:XBT/CHF")["quality"], "resyncing")
            self.assertEqual(cc.feed(gw, "kraken")["counters"]["connected"], 0)
            gw.stop()


if __name__ == "__main__":
    h.main()
