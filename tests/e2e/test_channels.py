"""Protocol v1 beyond books, through the real mdgw with Python websockets: ticker, trades,
status and imbalance channels, wildcards, list, trade resume / reset / lost, granted
rates, heartbeats, request limits and close codes (docs/protocol.md)."""
import sys

sys.dont_write_bytecode = True

import asyncio
import json
import time
import unittest

import websockets

import mdgw_harness as h


def dec(s: str, scale: int) -> int:
    """An exact decimal string of the instrument's scale as an integer of units."""
    neg = s.startswith("-")
    whole, _, frac = s.lstrip("-").partition(".")
    assert len(frac) == scale, f"{s!r}: expected {scale} decimals"
    v = int(whole + frac)
    return -v if neg else v


class Reader:
    """Reads one connection, checks what every data message must satisfy and files its
    updates by channel, in order."""

    def __init__(self, ws, name: str):
        self.ws = ws
        self.name = name
        self.updates: dict = {}     # channel -> [(its message's ts_send ns, update)]
        self.replies: list = []     # non-data messages, in order
        self.heartbeats: list = []  # monotonic s
        self.closed = False

    def on_message(self, msg: dict, now_ns: int):
        where = f"{self.name}"
        t = msg.get("type")
        if t == "heartbeat":
            h.check_ts(msg.get("ts"), "ts", now_ns, where)
            self.heartbeats.append(time.monotonic())
            return
        if t != "data":
            self.replies.append(msg)
            return
        ts_send = msg["ts_send"]
        h.check_ts(ts_send, "ts_send", now_ns, where)
        for k in ("ts_exch_oldest", "ts_recv_oldest", "ts_exch", "ts_recv", "merged"):
            assert isinstance(msg.get(k), int), f"{where}: data message without {k}: {str(msg)[:300]}"
        assert msg["ts_recv_oldest"] <= msg["ts_recv"] <= ts_send, f"{where}: stamps out of order {msg}"
        if all(u.get("kind") in ("lost", "reset") for u in msg["updates"]):
            # Notices only: nothing merged, stamped with the send time.
            assert msg["merged"] == 0 and msg["ts_recv_oldest"] == msg["ts_recv"] == ts_send, msg
        else:
            assert msg["merged"] >= 1, msg
        assert msg["updates"], msg
        for u in msg["updates"]:
            if u.get("kind") in ("ticker", "status", "imbalance", "trades"):
                assert u["ts_recv_oldest"] <= u["ts_recv"] <= ts_send, f"{where}: update stamps {u}"
                assert u["merged"] >= 1, u
            self.updates.setdefault(u["channel"], []).append((ts_send, u))

    async def request(self, req: dict, timeout: float = 10.0) -> dict:
        await self.ws.send(json.dumps(req))
        deadline = time.monotonic() + timeout
        while True:
            n = len(self.replies)
            await self.pump(deadline - time.monotonic(), until_reply=True)
            for r in self.replies[n:]:
                if r.get("id") == req.get("id"):
                    self.replies.remove(r)
                    return r
            assert time.monotonic() < deadline, f"{self.name}: no reply to {req}"

    async def pump(self, seconds: float, until_reply: bool = False):
        """Reads for `seconds` (or until a reply arrives)."""
        deadline = time.monotonic() + seconds
        n = len(self.replies)
        while time.monotonic() < deadline:
            try:
                raw = await asyncio.wait_for(self.ws.recv(), max(0.01, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                break
            except websockets.exceptions.ConnectionClosed:
                self.closed = True
                break
            self.on_message(json.loads(raw), time.time_ns())
            if until_reply and len(self.replies) > n:
                break

    def of(self, channel: str, kind: str | None = None) -> list:
        return [u for _, u in self.updates.get(channel, []) if kind is None or u.get("kind") == kind]


async def connect(gw, name, tls=False, **kw):
    return Reader(await h.ws_connect(gw, tls=tls, **kw), name)


def trades_in(updates: list) -> list:
    out = []
    for u in updates:
        if u["kind"] == "trades":
            assert [t["seq"] for t in u["trades"]] == list(range(u["first_seq"], u["seq"] + 1)), u
            out.extend(u["trades"])
    return out


class FiniteSession(unittest.TestCase):
    """A simulator that stops: the final ticker must agree with the book and every trade."""

    def test_ticker_trades_status_agree_with_book_and_trades(self):
        with h.Mdgw("--sim-rate", "20000", "--sim-events", "60000", "--sim-instruments", "4",
                    "--trade-history", "65536") as gw:
            inst = gw.instruments()
            syms = [i["symbol"] for i in inst]
            scale = {i["symbol"]: (i["price_scale"], i["qty_scale"]) for i in inst}

            async def scenario():
                c = await connect(gw, "finite")
                live = await connect(gw, "live")
                try:
                    # The epoch comes with a live subscription; then replay from trade 1.
                    ack = await c.request({"op": "subscribe", "id": 1, "channels": [f"trades.{s}" for s in syms]})
                    self.assertEqual(ack["type"], "subscribed", ack)
                    epoch = ack["granted"][0]["epoch"]
                    self.assertTrue(all(g["epoch"] == epoch and g["resume"] == "live" for g in ack["granted"]), ack)
                    await live.request({"op": "subscribe", "id": 1, "channels": [f"trades.{s}" for s in syms]})
                    await c.request({"op": "unsubscribe", "id": 2, "channels": [f"trades.{s}" for s in syms]})
                    c.updates.clear()
                    chans = [{"channel": f"trades.{s}", "from_seq": 1, "epoch": epoch} for s in syms]
                    chans += [f"ticker.{s}" for s in syms] + [f"status.{s}" for s in syms]
                    chans += [f"imbalance.{s}" for s in syms]
                    ack = await c.request({"op": "subscribe", "id": 3, "channels": chans})
                    self.assertEqual(ack["type"], "subscribed", ack)
                    for g in ack["granted"][:len(syms)]:
                        self.assertEqual((g["resume"], g["next_seq"]), ("replay", 1), g)
                    # Read until the simulator finished and nothing moves any more.
                    for _ in range(60):
                        await asyncio.gather(c.pump(0.5), live.pump(0.5))
                        if gw.sim_state() == "finished":
                            break
                    self.assertEqual(gw.sim_state(), "finished")
                    await asyncio.gather(c.pump(1.0), live.pump(1.0))
                finally:
                    await c.ws.close()
                    await live.ws.close()
                return c, live

            c, live = h.run_async(scenario(), 90)
            total_trades = 0
            for s in syms:
                ps, qs = scale[s]
                trades = trades_in(c.of(f"trades.{s}"))
                self.assertFalse(c.of(f"trades.{s}", "lost"), f"{s}: lost trades with a history that holds all")
                seqs = [t["seq"] for t in trades]
                self.assertEqual(seqs, list(range(1, len(seqs) + 1)), f"{s}: trades not 1..n without gaps")
                total_trades += len(trades)
                # A client that joined later saw the same trades under the same seqs.
                by_seq = {t["seq"]: t for t in trades}
                later = trades_in(live.of(f"trades.{s}"))
                self.assertTrue(later, f"{s}: the live client got no trades")
                for t in later:
                    self.assertEqual(by_seq.get(t["seq"]), t, f"{s}: trade {t['seq']} differs between clients")
                for t in trades:
                    self.assertIn(t["side"], ("buy", "sell"))
                    self.assertGreater(dec(t["qty"], qs), 0)
                # The final ticker: the book's best levels and the trade stream's summary.
                tickers = c.of(f"ticker.{s}")
                self.assertTrue(tickers, f"{s}: no ticker")
                seqs = [u["seq"] for u in tickers]
                self.assertEqual(seqs, sorted(set(seqs)), f"{s}: ticker seq not increasing")
                tk = tickers[-1]
                status, book = gw.http_json(f"/book/{s}?depth=1")
                self.assertEqual(status, 200)
                self.assertEqual([tk["bid"], tk["bid_size"]], book["bids"][0][:2] if book["bids"] else [None, None])
                self.assertEqual([tk["ask"], tk["ask_size"]], book["asks"][0][:2] if book["asks"] else [None, None])
                self.assertEqual(tk["quality"], "ok")
                if trades:
                    last = trades[-1]
                    self.assertEqual((tk["last"], tk["last_size"], tk["last_side"], tk["last_seq"]),
                                     (last["price"], last["qty"], last["side"], last["seq"]))
                    self.assertEqual(dec(tk["volume"], qs), sum(dec(t["qty"], qs) for t in trades))
                    self.assertEqual(tk["open"], trades[0]["price"])
                    self.assertEqual(dec(tk["change"], ps), dec(last["price"], ps) - dec(trades[0]["price"], ps))
                # Status: the simulated market trades and its data is good.
                st = c.of(f"status.{s}")
                self.assertTrue(st, f"{s}: no status")
                self.assertEqual((st[-1]["trading_state"], st[-1]["quality"], st[-1]["quality_reason"]),
                                 ("trading", "ok", ""), st[-1])
                # The simulator announces no auction: one imbalance message, null.
                imb = c.of(f"imbalance.{s}")
                self.assertEqual(len(imb), 1, imb)
                self.assertIsNone(imb[0]["imbalance"])
            self.assertGreater(total_trades, 100, "the simulator traded too little to test anything")


class LiveSession(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.gw = h.Mdgw("--sim-rate", "20000", "--sim-instruments", "8", "--heartbeat-ms", "200",
                        "--trade-history", "256", "--min-interval-ms", "50", "--max-requests-per-s", "5", tls=True)
        cls.inst = cls.gw.instruments()
        cls.syms = [i["symbol"] for i in cls.inst]

    @classmethod
    def tearDownClass(cls):
        cls.gw.close()

    def test_resume_after_reconnect_returns_exactly_the_missed_trades(self):
        s = self.syms[0]

        async def scenario():
            ref = await connect(self.gw, "reference")
            ack = await ref.request({"op": "subscribe", "id": 1, "channels": [f"trades.{s}"]})
            epoch = ack["granted"][0]["epoch"]
            first = await connect(self.gw, "first", tls=True)
            await first.request({"op": "subscribe", "id": 1, "channels": [f"trades.{s}"]})
            for _ in range(40):
                await asyncio.gather(first.pump(0.1), ref.pump(0.1))
                if len(trades_in(first.of(f"trades.{s}"))) >= 5:
                    break
            got = trades_in(first.of(f"trades.{s}"))
            self.assertGreaterEqual(len(got), 5, "too few trades to test a resume")
            last_seen = got[-1]["seq"]
            await first.ws.close()
            # Disconnected while trades go on.
            await ref.pump(0.3)
            again = await connect(self.gw, "again")
            ack = await again.request({"op": "subscribe", "id": 2,
                                       "channels": [{"channel": f"trades.{s}", "from_seq": last_seen + 1,
                                                     "epoch": epoch}]})
            self.assertEqual(ack["granted"][0]["resume"], "replay", ack)
            self.assertEqual(ack["granted"][0]["next_seq"], last_seen + 1, ack)
            await asyncio.gather(again.pump(0.8), ref.pump(0.8))
            resumed = trades_in(again.of(f"trades.{s}"))
            self.assertTrue(resumed, "nothing after the resume")
            self.assertFalse(again.of(f"trades.{s}", "lost"))
            self.assertEqual([t["seq"] for t in resumed], list(range(last_seen + 1, last_seen + 1 + len(resumed))))
            self.assertGreater(len(resumed), 1)
            reference = {t["seq"]: t for t in trades_in(ref.of(f"trades.{s}"))}
            for t in resumed:
                if t["seq"] in reference:
                    self.assertEqual(t, reference[t["seq"]])
            # Resumes that cannot be served: reset, with where the stream goes on. "gone":
            # trade 1 once more than --trade-history (256) trades happened.
            for _ in range(100):
                if trades_in(ref.of(f"trades.{s}"))[-1]["seq"] > 300:
                    break
                await ref.pump(0.2)
            self.assertGreater(trades_in(ref.of(f"trades.{s}"))[-1]["seq"], 300, "too few trades for 'gone'")
            cases = [("epoch", {"from_seq": last_seen + 1, "epoch": epoch ^ 1}),
                     ("ahead", {"from_seq": 10**12, "epoch": epoch}),
                     ("gone", {"from_seq": 1, "epoch": epoch})]
            resets = await connect(self.gw, "resets")
            for k, (why, opts) in enumerate(cases):
                ack = await resets.request({"op": "subscribe", "id": 10 + k,
                                            "channels": [dict(channel=f"trades.{s}", **opts)]})
                self.assertEqual(ack["granted"][0]["resume"], "reset", (why, ack))
                await resets.pump(0.5)
                ups = resets.of(f"trades.{s}")
                self.assertTrue(ups, f"{why}: nothing on trades.{s}")
                self.assertEqual((ups[0]["kind"], ups[0]["reason"]), ("reset", why), ups[0])
                after = trades_in(ups[1:])
                if after:
                    self.assertEqual(after[0]["seq"], ups[0]["seq"] + 1, f"{why}: stream does not go on after reset")
                await asyncio.sleep(0.6)  # the request budget (5/s)
                await resets.request({"op": "unsubscribe", "id": 20 + k, "channels": [f"trades.{s}"]})
                resets.updates.clear()
            for r in (ref, again, resets):
                await r.ws.close()

        h.run_async(scenario(), 60)

    def check_granted_rate(self, ch: str, sent_ns: list, rate: float):
        """A granted rate as the gateway kept it, read from its send stamps (not from when
        this client read the messages), over seconds 1 to 4 of the stream: the median
        spacing is the interval within 10%; no second starting at a send holds more than
        rate + 1 sends (due times sit on a grid: a late send may be followed by an on-time
        one); at least 60% of the rate on average, since a machine that stops the gateway
        for longer than an interval costs a slot (CI's loaded 2 cores: 17.7/s and 15.7/s of
        20 measured from arrival times)."""
        win = [(t - sent_ns[0]) / 1e9 for t in sent_ns]
        win = [x for x in win if 1.0 <= x <= 4.0]
        self.assertGreaterEqual(len(win), 3, f"{ch}: too few updates")
        median = h.percentile([b - a for a, b in zip(win, win[1:])], 50)
        most, j = 0, 0
        for i, x in enumerate(win):
            while j < len(win) and win[j] < x + 1.0:
                j += 1
            most = max(most, j - i)
        mean = (len(win) - 1) / (win[-1] - win[0])
        what = f"{ch}: granted {rate}/s, median spacing {median * 1e3:.1f} ms, {most} in a second, {mean:.2f}/s"
        self.assertLess(abs(median * rate - 1.0), 0.10, what)
        self.assertLessEqual(most, rate + 1, what)
        self.assertGreaterEqual(mean, 0.6 * rate, what)

    def test_granted_rates_are_honoured(self):
        s = self.syms[0]

        async def scenario():
            c = await connect(self.gw, "rates")
            ack = await c.request({"op": "subscribe", "id": 1, "channels": [
                {"channel": f"ticker.{s}", "max_rate": 10},
                {"channel": f"book.{s}.10", "interval_ms": 100},
                {"channel": f"book.{self.syms[1]}.5", "max_rate": 1000}]})
            g = {x["channel"]: x for x in ack["granted"]}
            self.assertAlmostEqual(g[f"ticker.{s}"]["max_rate"], 10.0)
            self.assertAlmostEqual(g[f"book.{s}.10"]["interval_ms"], 100.0)
            # Above the configured bound (--min-interval-ms 50): granted 20/s, and said so.
            self.assertAlmostEqual(g[f"book.{self.syms[1]}.5"]["max_rate"], 20.0)
            self.assertAlmostEqual(g[f"book.{self.syms[1]}.5"]["interval_ms"], 50.0)
            await c.pump(4.5)
            await c.ws.close()
            return c

        c = h.run_async(scenario(), 30)
        for ch, rate in ((f"ticker.{s}", 10.0), (f"book.{s}.10", 10.0), (f"book.{self.syms[1]}.5", 20.0)):
            self.check_granted_rate(ch, [t for t, _ in c.updates.get(ch, [])], rate)
        # Every rate-limited book message verifies: snapshot or delta from the last one sent.
        prev = None
        for u in c.of(f"book.{s}.10"):
            if u["kind"] == "delta":
                self.assertEqual(u["prev"], prev["seq"], u)
            bids, asks = h.apply_book(prev, u, "rates")
            self.assertEqual(u["checksum"], h.book_checksum(bids, asks), u)
            prev = {"seq": u["seq"], "bids": bids, "asks": asks}

    def test_heartbeat_only_on_idle_connections(self):
        async def scenario():
            idle = await connect(self.gw, "idle")
            busy = await connect(self.gw, "busy")
            await busy.request({"op": "subscribe", "id": 1, "channels": [f"book.{self.syms[0]}.10"]})
            await asyncio.gather(idle.pump(2.0), busy.pump(2.0))
            for r in (idle, busy):
                await r.ws.close()
            return idle, busy

        idle, busy = h.run_async(scenario(), 20)
        hb = idle.heartbeats
        self.assertGreaterEqual(len(hb), 7, f"{len(hb)} heartbeats in 2 s at 200 ms")
        self.assertLessEqual(len(hb), 11)
        gaps = [b - a for a, b in zip(hb, hb[1:])]
        self.assertGreater(min(gaps), 0.15, gaps)
        self.assertFalse(busy.heartbeats, "heartbeats on a connection that is sent data all the time")

    def test_wildcards_and_list(self):
        async def scenario():
            c = await connect(self.gw, "wild")
            lst = await c.request({"op": "list", "id": 1})
            self.assertEqual(lst["type"], "instruments")
            self.assertEqual(lst["instruments"], self.inst, "list differs from GET /instruments")
            ack = await c.request({"op": "subscribe", "id": 2, "channels": ["ticker.*", "status.*"]})
            self.assertEqual(ack["channels"], ["ticker.*", "status.*"])
            await c.pump(1.5)
            dup = await c.request({"op": "subscribe", "id": 3, "channels": [f"ticker.{self.syms[0]}"]})
            self.assertEqual(dup.get("code"), 1008, dup)
            miss = await c.request({"op": "unsubscribe", "id": 4, "channels": [f"ticker.{self.syms[0]}"]})
            self.assertEqual(miss.get("code"), 1006, miss)
            await asyncio.sleep(1.0)  # refill the request budget (5/s)
            un = await c.request({"op": "unsubscribe", "id": 5, "channels": ["ticker.*"]})
            self.assertEqual(un.get("type"), "unsubscribed", un)
            before = {s: len(c.of(f"ticker.{s}")) for s in self.syms}
            await c.pump(1.0)
            after = {s: len(c.of(f"ticker.{s}")) for s in self.syms}
            await c.ws.close()
            return c, before, after

        c, before, after = h.run_async(scenario(), 30)
        for s in self.syms:
            self.assertTrue(c.of(f"ticker.{s}"), f"ticker.* brought nothing for {s}")
            st = c.of(f"status.{s}")
            self.assertTrue(st, f"status.* brought nothing for {s}")
            self.assertEqual((st[0]["trading_state"], st[0]["quality"]), ("trading", "ok"))
        self.assertEqual(before, after, "ticker data after unsubscribing ticker.*")

    def test_request_rate_limit_is_answered_then_flood_closed(self):
        async def scenario():
            c = await connect(self.gw, "limited")
            for k in range(12):
                await c.ws.send(json.dumps({"op": "ping", "id": k}))
            await c.pump(1.0)
            pongs = [r["id"] for r in c.replies if r.get("type") == "pong"]
            limited = [r for r in c.replies if r.get("type") == "error"]
            self.assertTrue(5 <= len(pongs) <= 7, c.replies)
            self.assertEqual(len(pongs) + len(limited), 12)
            for r in limited:
                self.assertEqual(r["code"], 1009, r)
                self.assertIn(r["id"], range(12))
            # After a second the budget is back.
            c.replies.clear()
            pong = await c.request({"op": "ping", "id": 99})
            self.assertEqual(pong["type"], "pong", pong)
            # A flood past the limit (more than 2 x 5 refused in a row) is closed 1008.
            for k in range(40):
                await c.ws.send(json.dumps({"op": "ping", "id": 100 + k}))
            await c.pump(3.0)
            self.assertTrue(c.closed, "a request flood did not close the connection")
            self.assertEqual(c.ws.close_code, 1008)

        h.run_async(scenario(), 30)


class LostTrades(unittest.TestCase):
    def test_lost_tells_the_exact_count_and_where_the_stream_goes_on(self):
        # A trades subscription granted 5 updates/s falls more than --trade-queue (8) behind.
        with h.Mdgw("--sim-rate", "20000", "--sim-instruments", "4", "--trade-queue", "8") as gw:
            s = gw.instruments()[0]["symbol"]

            async def scenario():
                c = await connect(gw, "lossy")
                ack = await c.request({"op": "subscribe", "id": 1,
                                       "channels": [{"channel": f"trades.{s}", "interval_ms": 200}]})
                start = ack["granted"][0]["next_seq"]
                await c.pump(2.5)
                await c.ws.close()
                return c, start

            c, start = h.run_async(scenario(), 30)
        ups = c.of(f"trades.{s}")
        lost = [u for u in ups if u["kind"] == "lost"]
        self.assertTrue(lost, "no lost notice although the client was held to 5 updates/s")
        expect = start
        received = lost_total = 0
        for u in ups:
            if u["kind"] == "lost":
                self.assertEqual(u["from_seq"], expect, u)
                self.assertEqual(u["lost"], u["resume_seq"] - u["from_seq"], u)
                self.assertGreater(u["lost"], 0)
                lost_total += u["lost"]
                expect = u["resume_seq"]
            else:
                self.assertEqual(u["first_seq"], expect, u)
                self.assertLessEqual(len(u["trades"]), 8, "more trades at once than the session queue holds")
                received += len(u["trades"])
                expect = u["seq"] + 1
        self.assertEqual(received + lost_total, expect - start, "trades neither received nor announced lost")


class CloseCodes(unittest.TestCase):
    def test_unauthorized_4003_and_token(self):
        with h.Mdgw("--auth-token", "s3cret", tls=True) as gw:
            async def scenario():
                for tls in (False, True):
                    bad = await h.ws_connect(gw, tls=tls, path="/ws?token=wrong")
                    with self.assertRaises(websockets.exceptions.ConnectionClosed):
                        await asyncio.wait_for(bad.recv(), 5)
                    self.assertEqual(bad.close_code, 4003)
                    none = await h.ws_connect(gw, tls=tls)
                    with self.assertRaises(websockets.exceptions.ConnectionClosed):
                        await asyncio.wait_for(none.recv(), 5)
                    self.assertEqual(none.close_code, 4003)
                    good = await h.ws_connect(gw, tls=tls, path="/ws?x=1&token=s3cret")
                    r = Reader(good, "good")
                    pong = await r.request({"op": "ping", "id": 1})
                    self.assertEqual(pong["type"], "pong")
                    await good.close()

            h.run_async(scenario(), 30)

    def test_dead_peer_is_closed_after_the_idle_timeout(self):
        # --idle-timeout-s 2: the server pings a silent peer after 1 s and drops it when
        # nothing (no pong) came back by 2 s; a peer that answers pings stays, idle or not.
        with h.Mdgw("--idle-timeout-s", "2", "--heartbeat-ms", "60000") as gw:
            dead = h.raw_ws_connect(gw.port, timeout=10)  # completes the handshake, then never answers
            t0 = time.monotonic()

            async def scenario():
                alive = await h.ws_connect(gw)  # websockets answers pings by itself
                got = b""
                while True:
                    chunk = await asyncio.to_thread(dead.recv, 4096)
                    if not chunk:
                        break
                    got += chunk
                elapsed = time.monotonic() - t0
                self.assertIn(b"\x89", got[:2], "no ping before the dead peer was dropped")
                self.assertTrue(1.0 <= elapsed <= 6.0, f"dead peer dropped after {elapsed:.1f}s (idle timeout 2 s)")
                await asyncio.sleep(2.5)
                pong = await Reader(alive, "alive").request({"op": "ping", "id": 1})
                self.assertEqual(pong["type"], "pong", "a peer that answers pings was dropped")
                await alive.close()

            try:
                h.run_async(scenario(), 30)
            finally:
                dead.close()

    def test_slow_consumer_4001(self):
        # Requests whose replies are never read: past 1024 queued replies the session closes.
        with h.Mdgw("--max-requests-per-s", "1000000") as gw:
            async def scenario():
                ws = await websockets.connect(gw.ws_url(False, "/ws"), max_queue=1, open_timeout=10)
                payload = json.dumps({"op": "list", "id": 1})
                try:
                    for _ in range(20000):
                        await ws.send(payload)
                except websockets.exceptions.ConnectionClosed:
                    pass
                with self.assertRaises(websockets.exceptions.ConnectionClosed):
                    for _ in range(10**6):
                        await asyncio.wait_for(ws.recv(), 10)
                self.assertEqual(ws.close_code, 4001, ws.close_reason)

            h.run_async(scenario(), 60)


if __name__ == "__main__":
    h.main()
