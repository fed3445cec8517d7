"""The ITCH feed through the real gateway: mdgw replays the RITCH sample (whose length
prefixes are all zero) and serves NASDAQ:<stock> books that equal what `mdgw book`
prints for the same file, over HTTP and over WebSocket; /status shows the trading
state; bad ITCH flags stop startup naming the flag."""
import sys

sys.dont_write_bytecode = True

import asyncio
import json
import os
import subprocess
import tempfile
import unittest
from decimal import Decimal

import websockets

import mdgw_harness as h

SAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "data", "itch",
                      "ex20101224.TEST_ITCH_50")


def parse_books(text: str) -> dict:
    """Parses the documented text format of `mdgw book` (docs/itch.md)."""
    books, cur = {}, None
    for line in text.splitlines():
        f = line.split()
        if f[0] == "book":
            cur = {"bids": [], "asks": [], "state": f[-1].split("=")[1]}
            books[f[1]] = cur
        elif f[0] in ("bid", "ask"):
            cur[f[0] + "s"].append([Decimal(f[1]), int(f[2]), int(f[3])])
        else:
            assert f[0] == "end", line
    return books


def book_command(*args: str) -> dict:
    """Runs `mdgw book` and parses what it prints."""
    out = subprocess.run([h.mdgw_bin(), "book", *args], capture_output=True, text=True, timeout=60, check=True)
    return parse_books(out.stdout)


def levels(side):
    return [[Decimal(p), int(q), n] for p, q, n in side]


@unittest.skipUnless(os.path.isfile(SAMPLE), f"RITCH sample not found at {SAMPLE}")
class ItchThroughGateway(unittest.TestCase):
    def test_gateway_books_equal_the_book_command(self):
        want = book_command("--itch", SAMPLE, "--depth", "50")
        self.assertGreaterEqual(len(want), 3, want.keys())
        with h.Mdgw("--itch-file", SAMPLE, "--itch-date", "2010-12-24", "--sim-instruments", "0") as gw:
            gw.wait_feed_finished("itch", timeout=60)
            feed = [f for f in gw.health()["feeds"] if f["name"] == "itch"][0]
            self.assertEqual(feed["errors"], 0, feed)
            self.assertGreater(feed["events"], 10000, feed)
            symbols = {i["symbol"] for i in gw.instruments()}
            self.assertEqual(symbols, {"NASDAQ:" + s for s in want}, "every directory symbol is published")
            for sym, book in want.items():
                status, body = gw.http_json(f"/book/NASDAQ:{sym}?depth=50")
                self.assertEqual(status, 200, body)
                self.assertEqual(body["quality"], "ok")
                self.assertEqual(levels(body["bids"]), book["bids"], sym)
                self.assertEqual(levels(body["asks"]), book["asks"], sym)
                # Exchange time is on the sample's day (2010-12-24, New York).
                self.assertTrue(1293166800 * 10**9 <= body["ts_exch"] < 1293253200 * 10**9, body["ts_exch"])
                status, st = gw.http_json(f"/status/NASDAQ:{sym}")
                self.assertEqual(status, 200, st)
                self.assertEqual(st["trading_state"], {"T": "trading", "H": "halted", "P": "paused",
                                                       "Q": "quotation_only"}[book["state"]], st)
                self.assertIn("imbalance", st)

            async def ws_snapshot(sym):
                async with websockets.connect(gw.ws_url(), max_size=h.MAX_CLIENT_MESSAGE) as ws:
                    chan = f"book.NASDAQ:{sym}.10"
                    await ws.send(json.dumps({"op": "subscribe", "id": 1, "channels": [chan]}))
                    while True:
                        msg = json.loads(await ws.recv())
                        if msg.get("type") != "data":
                            continue
                        for u in msg["updates"]:
                            if u["channel"] == chan:
                                return u

            for sym, book in want.items():
                u = h.run_async(ws_snapshot(sym), 20)
                self.assertEqual(levels(u["bids"]), book["bids"][:10], sym)
                self.assertEqual(levels(u["asks"]), book["asks"][:10], sym)

    def test_status_and_imbalance_channels_follow_a_generated_day(self):
        # A generated day has every message type, NOII imbalances and halts among them;
        # replayed paced, status.* and imbalance.* stream its changes as they happen and end
        # on what GET /status/<SYM> says.
        gen = os.environ.get("MDGW_ITCH_GEN")
        if not gen:
            self.skipTest("MDGW_ITCH_GEN not set (meson passes the built bench/mdgw_itch_gen)")
        with tempfile.TemporaryDirectory() as tmp:
            day = os.path.join(tmp, "day.itch")
            subprocess.run([gen, "--out", day, "--messages", "300000", "--symbols", "20", "--seed", "5"],
                           check=True, capture_output=True, timeout=60)
            with h.Mdgw("--itch-file", day, "--itch-speed", "4000", "--sim-instruments", "0") as gw:
                async def scenario():
                    ws = await h.ws_connect(gw)
                    got = {}
                    try:
                        await ws.send(json.dumps({"op": "subscribe", "id": 1, "channels": ["status.*", "imbalance.*"]}))
                        for _ in range(10**6):
                            try:
                                msg = json.loads(await asyncio.wait_for(ws.recv(), 2.0))
                            except asyncio.TimeoutError:
                                if gw.feed_state("itch") == "finished":
                                    break
                                continue
                            for u in msg.get("updates", []):
                                got.setdefault(u["channel"], []).append(u)
                    finally:
                        await ws.close()
                    return got

                got = h.run_async(scenario(), 120)
                self.assertEqual(gw.feed_state("itch"), "finished")
                symbols = [i["symbol"] for i in gw.instruments()]
                self.assertEqual(len(symbols), 20)
                moved = 0
                for sym in symbols:
                    status, st = gw.http_json(f"/status/{sym}")
                    self.assertEqual(status, 200, st)
                    ups = got.get(f"status.{sym}")
                    self.assertTrue(ups, f"no status for {sym} (an instrument added after the wildcard)")
                    last = ups[-1]
                    for k in ("trading_state", "reason", "short_sale_restriction", "mwcb_breached", "luld"):
                        self.assertEqual(last[k], st[k], f"{sym}: status.{k}")
                    self.assertEqual(last["quality"], "ok")
                    imb = got.get(f"imbalance.{sym}")
                    self.assertTrue(imb, f"no imbalance message for {sym}")
                    self.assertEqual(imb[-1]["imbalance"], st["imbalance"], sym)
                    versions = [u["version"] for u in imb]
                    self.assertEqual(versions, sorted(set(versions)), f"{sym}: imbalance versions")
                    moved += len(imb) > 2 and any(u["imbalance"] for u in imb)
                self.assertGreater(moved, 0, "no instrument streamed several imbalances: the day proves nothing")

    def test_book_command_after_n_messages_and_unknown_symbols(self):
        early = book_command("--itch", SAMPLE, "--after", "2000", "--symbols", "ALC")
        late = book_command("--itch", SAMPLE, "--symbols", "ALC")
        self.assertIn("ALC", early)
        self.assertNotEqual(early["ALC"], late["ALC"], "the book after 2000 messages is not the final one")
        r = subprocess.run([h.mdgw_bin(), "book", "--itch", SAMPLE, "--symbols", "NOPE"], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(r.returncode, 3)
        self.assertIn("book NOPE unknown", r.stdout)

    def test_bad_itch_configuration_names_the_flag(self):
        cases = [
            (["--itch-file", "/nonexistent/day.itch"], "--itch-file"),
            (["--itch-speed", "fast"], "--itch-speed"),
            (["--itch-date", "2010-24-12"], "--itch-date"),
            (["--itch-mold-group", "239.1.1.1"], "--itch-mold-group"),
            (["--itch-file", SAMPLE, "--itch-mold-group", "239.1.1.1:5000"], "--itch-mold-group"),
        ]
        for args, flag in cases:
            r = subprocess.run([h.mdgw_bin(), "--port", "0", *args], capture_output=True, text=True, timeout=30)
            self.assertNotEqual(r.returncode, 0, args)
            self.assertIn(flag, r.stderr, (args, r.stderr))


if __name__ == "__main__":
    h.main()
