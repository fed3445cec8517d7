"""Crypto captures replayed through the real mdgw: after each replay the gateway's
GET /book/<SYM> equals the book the venue's handler computes from the same capture
(crypto_dump), for every instrument of Kraken, Binance and Coinbase; WebSocket clients
get the same books with their quality; bad crypto options stop startup naming the option."""
import sys

sys.dont_write_bytecode = True

import asyncio
import subprocess
import time
import unittest

import crypto_common as cc
import mdgw_harness as h

VENUES = ("kraken", "binance", "coinbase")


def wait_finished(gw, names, timeout):
    deadline = time.monotonic() + timeout
    states = {}
    while time.monotonic() < deadline:
        states = {n: cc.feed(gw, n)["state"] for n in names}
        if all(s == "finished" for s in states.values()):
            return
        time.sleep(0.1)
    raise AssertionError(f"replays not finished after {timeout}s: {states}")


async def latest_updates(test, gw, chans):
    """Subscribes one connection to chans (checking the ack names them) and returns the latest
    update of each channel, reading until every channel had one (at most 10 s)."""
    ws = await h.ws_connect(gw)
    got = {}
    try:
        reply = await h.request(ws, {"op": "subscribe", "id": 1, "channels": chans},
                                on_data=lambda m, _: got.update({u["channel"]: u for u in m["updates"]}))
        test.assertEqual(reply.get("type"), "subscribed", reply)
        test.assertEqual(reply["channels"], chans)
        deadline = time.monotonic() + 10
        while len(got) < len(chans) and time.monotonic() < deadline:
            msg = await h.recv_json(ws, 5)
            for u in msg.get("updates", []):
                got[u["channel"]] = u
    finally:
        await ws.close()
    return got


class CryptoReplayTest(unittest.TestCase):
    def test_gateway_books_equal_handler_books(self):
        expected = cc.expected_books(VENUES)
        self.assertEqual(len(expected), 24, sorted(expected))
        args = cc.QUIET_SIM + [a for v in VENUES for a in cc.replay_args(v)]
        with h.Mdgw(*args) as gw:
            wait_finished(gw, VENUES, 30)
            listed = {i["symbol"]: i for i in gw.instruments()}
            for sym in expected:
                self.assertIn(sym, listed)
                self.assertEqual(listed[sym]["venue"], sym.split(":")[0])
            self.assertEqual(listed["KRAKEN:XBT/CHF"]["price_scale"], 5)
            self.assertEqual(listed["BINANCE:NKNUSDT"]["price_scale"], 8)
            self.assertEqual(listed["COINBASE:SKL-USD"]["tick_size"], "0.0001")
            diffs = cc.book_differences(gw, expected)
            self.assertEqual(diffs, [], "\n".join(diffs))
            for sym, want in expected.items():
                self.assertEqual(want["quality"], "ok", sym)
                self.assertTrue(want["bids"] and want["asks"], f"{sym}: an empty book proves nothing")
            for name in VENUES:
                f = cc.feed(gw, name)
                self.assertGreater(f["counters"]["frames"], 100, f)
                self.assertGreater(f["counters"]["snapshots"], 0, f)
                self.assertEqual(f["counters"]["mismatches"], 0, f)
                self.assertEqual(f["errors"], 0, f)
                self.assertEqual(f["counters"]["instruments_not_ok"], 0, f)

            # A WebSocket client gets the same final books, with their quality.
            chans = [f"book.{s}.10" for s in ("KRAKEN:XBT/CHF", "BINANCE:BLZETH", "COINBASE:YFI-BTC")]

            got = h.run_async(latest_updates(self, gw, chans), 30)
            for ch in chans:
                sym, depth = h.parse_channel(ch)
                self.assertIn(ch, got)
                self.assertEqual(got[ch]["quality"], "ok", ch)
                self.assertEqual(got[ch]["bids"], expected[sym]["bids"][:depth], ch)
                self.assertEqual(got[ch]["asks"], expected[sym]["asks"][:depth], ch)
            gw.stop()

    def test_full_depth_channels_serve_the_whole_book(self):
        # book.<SYM>.full: every level (up to 1000 a side), also for books deeper than the
        # 50 levels of GET /book; checked against the handlers' own books.
        expected = cc.expected_books(VENUES, depth=1000)
        deep = [s for s, b in expected.items() if max(len(b["bids"]), len(b["asks"])) > 50]
        self.assertTrue(deep, "no capture book deeper than 50 levels: the test would prove nothing")
        args = cc.QUIET_SIM + [a for v in VENUES for a in cc.replay_args(v)]
        with h.Mdgw(*args) as gw:
            wait_finished(gw, VENUES, 30)
            chans = [f"book.{s}.full" for s in expected] + [f"book.{deep[0]}.50"]

            got = h.run_async(latest_updates(self, gw, chans), 30)
            for sym, want in expected.items():
                u = got.get(f"book.{sym}.full")
                self.assertIsNotNone(u, f"no full book for {sym}")
                self.assertEqual(u["kind"], "snapshot")
                self.assertEqual((u["bids"], u["asks"]), (want["bids"], want["asks"]),
                                 f"{sym}: full book {len(u['bids'])}/{len(u['asks'])} levels vs "
                                 f"{len(want['bids'])}/{len(want['asks'])}")
                self.assertEqual(u["checksum"], h.book_checksum(u["bids"], u["asks"]), sym)
            top = got[f"book.{deep[0]}.50"]
            self.assertEqual(top["bids"], expected[deep[0]]["bids"][:50])
            self.assertEqual(top["asks"], expected[deep[0]]["asks"][:50])
            gw.stop()

    def test_recorded_pace(self):
        # kraken-book.ws spans ~16 s; at speed 4 the replay takes ~4 s.
        expected = cc.expected_books(["kraken"])
        with h.Mdgw(*(cc.QUIET_SIM + cc.replay_args("kraken") + ["--replay-speed", "4"])) as gw:
            time.sleep(0.5)
            self.assertEqual(cc.feed(gw, "kraken")["state"], "running", "a paced replay cannot be over yet")
            wait_finished(gw, ["kraken"], 30)
            diffs = cc.book_differences(gw, expected)
            self.assertEqual(diffs, [], "\n".join(diffs))
            gw.stop()

    def test_bad_options_stop_startup(self):
        k = cc.replay_args("kraken")
        cases = [
            (["--kraken-symbols", "XBT/USD"], "--kraken-symbols"),
            (["--kraken-symbols", "XBT/USD:x"], "--kraken-symbols"),
            (["--kraken-replay", cc.data("kraken-book.ws")], "--kraken-symbols"),
            (k + ["--kraken-url", "ws://127.0.0.1:1"], "--kraken-url"),
            (["--kraken-symbols", "XBT/USD:1", "--kraken-url", "http://x"], "--kraken-url"),
            (["--binance-symbols", "BTCUSDT", "--binance-url", "ws://127.0.0.1:1"], "--binance-rest-url"),
            (k + ["--replay-speed", "-1"], "--replay-speed"),
            (k + ["--kraken-depth", "7"], "--kraken-depth"),
            (["--coinbase-symbols", "BTC-USD", "--coinbase-replay", cc.data("coinbase-level2.ws")], "--coinbase-products"),
            (k + ["--upstream-backoff-min-ms", "0"], "--upstream-backoff-min-ms"),
        ]
        for args, field in cases:
            p = subprocess.run([h.mdgw_bin(), "--port", "0"] + args, capture_output=True, text=True,
                               timeout=20, env=h.child_env())
            self.assertEqual(p.returncode, 2, (args, p.stderr))
            self.assertIn(field, p.stderr, args)
        # A file that cannot be read is found at startup, after parsing: exit 1, named.
        p = subprocess.run([h.mdgw_bin(), "--port", "0", "--kraken-symbols", "XBT/USD:1", "--kraken-replay",
                            "/nonexistent.ws"], capture_output=True, text=True, timeout=20, env=h.child_env())
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("--kraken-replay", p.stderr)


if __name__ == "__main__":
    h.main()
