"""HTTP endpoints of the real mdgw over http:// and https:// on the same port:
/health, /instruments, /book/<SYM>, GET /."""
import sys

sys.dont_write_bytecode = True

import asyncio
import json
import time
import unittest
from decimal import Decimal

import mdgw_harness as h


class HttpChecks:
    """Mixed into one TestCase per scheme; `tls` says which."""

    tls = False
    gw: h.Mdgw = None

    def get_json(self, path, want_status=200):
        status, headers, body = self.gw.http_get(path, tls=self.tls)
        self.assertEqual(status, want_status, f"GET {path}: {body[:300]!r}")
        self.assertTrue(headers.get("content-type", "").startswith("application/json"),
                        f"GET {path}: content-type {headers.get('content-type')!r}")
        try:
            return json.loads(body)
        except ValueError:
            self.fail(f"GET {path}: not JSON: {body[:300]!r}")

    def test_health(self):
        first = self.get_json("/health")
        self.assertEqual(first.get("status"), "ok", first)
        self.assertIsInstance(first.get("uptime_s"), (int, float), first)
        self.assertGreaterEqual(first["uptime_s"], 0)
        self.assertLess(first["uptime_s"], 600)
        self.assertEqual(first.get("io_threads"), 2, "started with --io-threads 2")
        conns = first.get("connections")
        self.assertIsInstance(conns, dict, first)
        for k in ("http", "ws"):
            self.assertIsInstance(conns.get(k), int, first)
            self.assertGreaterEqual(conns[k], 0)
        feeds = first.get("feeds")
        self.assertIsInstance(feeds, list, first)
        sims = [f for f in feeds if f.get("name") == "sim"]
        self.assertEqual(len(sims), 1, f"exactly one 'sim' feed expected: {feeds}")
        self.assertEqual(sims[0].get("state"), "running", sims[0])
        self.assertIsInstance(sims[0].get("events"), int, sims[0])
        self.assertEqual(sims[0].get("errors"), 0, sims[0])
        time.sleep(0.3)
        second = self.get_json("/health")
        sim2 = [f for f in second["feeds"] if f.get("name") == "sim"][0]
        # --sim-rate 5000: ~1500 actions in 0.3 s; the count must move forward.
        self.assertGreater(sim2["events"], sims[0]["events"], f"sim events not increasing: {sims[0]} -> {sim2}")
        self.assertGreater(second["uptime_s"], first["uptime_s"])

    def test_health_counts_websockets(self):
        def ws_count():
            return self.get_json("/health")["connections"]["ws"]

        self.assertEqual(ws_count(), 0, "no WebSocket open yet")

        async def scenario():
            a = await h.ws_connect(self.gw, tls=False)
            b = await h.ws_connect(self.gw, tls=True)
            try:
                n = await asyncio.to_thread(ws_count)
                self.assertEqual(n, 2, "two WebSockets (one ws, one wss) are open")
            finally:
                await a.close()
                await b.close()

        h.run_async(scenario(), 20)
        n = None
        for _ in range(40):  # closed sockets leave the count within 2 s
            n = ws_count()
            if n == 0:
                break
            time.sleep(0.05)
        self.assertEqual(n, 0, "WebSocket count after both clients closed")

    def test_instruments(self):
        inst = self.get_json("/instruments")
        self.assertIsInstance(inst, list)
        self.assertGreaterEqual(len(inst), 50)
        symbols = [i.get("symbol") for i in inst]
        self.assertEqual(len(set(symbols)), len(symbols), "symbols not distinct")
        for i in inst:
            sym = i.get("symbol")
            self.assertIsInstance(sym, str, i)
            self.assertEqual(i.get("venue"), "SIM", i)
            self.assertTrue(sym.startswith("SIM:") and len(sym) > 4, i)
            for k in ("price_scale", "qty_scale"):
                self.assertIsInstance(i.get(k), int, i)
                self.assertTrue(0 <= i[k] <= 18, i)
            self.assertRegex(i.get("tick_size", ""), h.decimal_re(i["price_scale"]), i)
            self.assertRegex(i.get("lot_size", ""), h.decimal_re(i["qty_scale"]), i)
            self.assertGreater(Decimal(i["tick_size"]), 0, i)
            self.assertGreater(Decimal(i["lot_size"]), 0, i)

    def check_book_body(self, book, info, max_levels=50):
        sym = info["symbol"]
        self.assertEqual(book.get("symbol"), sym)
        self.assertIsInstance(book.get("seq"), int, book)
        now = time.time_ns()
        for k in ("ts_exch", "ts_recv"):
            h.check_ts(book.get(k), k, now, f"/book/{sym}")
        h.InstrumentRules(info).check_book(book.get("bids"), book.get("asks"), f"/book/{sym}", max_levels)

    def test_book(self):
        inst = self.get_json("/instruments")
        events = 0
        for _ in range(100):  # let the simulator build books: >= 2000 actions (0.4 s at 5000/s)
            events = [f for f in self.get_json("/health")["feeds"] if f["name"] == "sim"][0]["events"]
            if events >= 2000:
                break
            time.sleep(0.1)
        self.assertGreaterEqual(events, 2000, "sim events")
        nonempty = moved = 0
        for info in inst[:10]:
            book = self.get_json(f"/book/{info['symbol']}")
            self.check_book_body(book, info)
            moved += book["seq"] > 0
            nonempty += bool(book["bids"] and book["asks"])
            shallow = self.get_json(f"/book/{info['symbol']}?depth=3")
            self.check_book_body(shallow, info, max_levels=3)
        self.assertGreaterEqual(moved, 5, "after 2000 sim actions most of 10 books must have a non-zero seq")
        self.assertGreaterEqual(nonempty, 5, "after 2000 sim actions most of 10 books must have both sides")

    def test_book_unknown_symbol(self):
        for sym in ("SIM:NOPE", "NOPE", "SIM:"):
            body = self.get_json(f"/book/{sym}", want_status=404)
            self.assertEqual(body, {"error": "unknown symbol"}, sym)

    def test_root_page(self):
        status, headers, body = self.gw.http_get("/", tls=self.tls)
        self.assertEqual(status, 200)
        self.assertTrue(headers.get("content-type", "").startswith("text/html"), headers)
        self.assertIn(b"<html", body.lower())


class HttpPlain(HttpChecks, unittest.TestCase):
    tls = False

    @classmethod
    def setUpClass(cls):
        cls.gw = h.Mdgw("--io-threads", "2", tls=True)

    @classmethod
    def tearDownClass(cls):
        cls.gw.close()

    def test_zz_clean_stop(self):
        # Last test of the class (unittest sorts by name): SIGTERM gives exit code 0.
        self.gw.stop()


class HttpTls(HttpChecks, unittest.TestCase):
    tls = True

    @classmethod
    def setUpClass(cls):
        cls.gw = h.Mdgw("--io-threads", "2", tls=True)

    @classmethod
    def tearDownClass(cls):
        cls.gw.close()

    def test_zz_clean_stop(self):
        self.gw.stop()


class HttpFinishedSim(unittest.TestCase):
    """With a finished simulator the book is frozen, so views of it must agree exactly."""

    def test_finished_books_agree(self):
        with h.Mdgw("--sim-events", "3000", "--sim-rate", "max", "--sim-instruments", "7", tls=True) as gw:
            gw.wait_sim_finished(timeout=20)
            inst = gw.instruments()
            self.assertEqual(len(inst), 7, "--sim-instruments 7")
            health = gw.health()
            sim = [f for f in health["feeds"] if f["name"] == "sim"][0]
            self.assertGreater(sim["events"], 0)
            total_seq = 0
            for info in inst:
                sym = info["symbol"]
                status, full = gw.http_json(f"/book/{sym}")
                self.assertEqual(status, 200)
                status, full_tls = gw.http_json(f"/book/{sym}", tls=True)
                self.assertEqual(full, full_tls, f"{sym}: http and https disagree on a frozen book")
                status, top5 = gw.http_json(f"/book/{sym}?depth=5")
                self.assertEqual(top5["seq"], full["seq"], sym)
                self.assertEqual(top5["bids"], full["bids"][:5], sym)
                self.assertEqual(top5["asks"], full["asks"][:5], sym)
                h.InstrumentRules(info).check_book(full["bids"], full["asks"], f"/book/{sym}")
                total_seq += full["seq"]
            self.assertGreater(total_seq, 0)
            # Still finished, still the same events count: the feed stays stopped.
            time.sleep(0.3)
            sim2 = [f for f in gw.health()["feeds"] if f["name"] == "sim"][0]
            self.assertEqual(sim2["state"], "finished")
            self.assertEqual(sim2["events"], sim["events"])
            gw.stop()


if __name__ == "__main__":
    h.main()
