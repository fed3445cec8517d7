"""Book channels over ws:// and wss://: acks, snapshot-then-update, per-channel sequence,
sane books and timestamps in every message, and, once the simulator has finished, every
client's last state equal to GET /book/<SYM>."""
import sys

sys.dont_write_bytecode = True

import asyncio
import time
import unittest

import mdgw_harness as h

SIM_EVENTS = 100000
SIM_RATE = 20000  # -> the feed runs ~5 s


class BookStreamsTest(unittest.TestCase):
    def test_streams_then_final_state(self):
        with h.Mdgw("--sim-events", SIM_EVENTS, "--sim-rate", SIM_RATE, "--io-threads", "2", tls=True) as gw:
            inst = gw.instruments()
            self.assertGreaterEqual(len(inst), 8)
            syms = [i["symbol"] for i in inst]
            # Overlapping subscriptions: the same channel on several clients, the same
            # symbol at several depths on one client, depths from 1 to 50.
            plans = [
                ("ws-1", False, [f"book.{syms[0]}.1", f"book.{syms[0]}.10", f"book.{syms[1]}.5", f"book.{syms[2]}.50"]),
                ("ws-2", False, [f"book.{syms[0]}.10", f"book.{syms[3]}.20", f"book.{syms[4]}.2"]),
                ("wss-1", True, [f"book.{syms[0]}.10", f"book.{syms[2]}.50", f"book.{syms[5]}.7", f"book.{syms[6]}.3"]),
                ("wss-2", True, [f"book.{syms[1]}.5", f"book.{syms[7]}.50", f"book.{syms[3]}.1"]),
            ]
            streams = h.BookStreams(inst)
            result = {}

            async def client(name, tls, channels, req_id, stop):
                s = streams.client(name)
                ws = await h.ws_connect(gw, tls=tls)
                try:
                    reply = await h.request(ws, {"op": "subscribe", "id": req_id, "channels": channels},
                                            on_data=s.on_data)
                    s.on_ack(reply, req_id, channels)
                    await h.read_stream(ws, s, stop)
                    # Bounded drain: stop once nothing has arrived for 1 s.
                    await h.read_stream(ws, s, asyncio.Event(), idle_limit=1.0)
                    # Ping still answered with its id after all the data.
                    pong = await h.request(ws, {"op": "ping", "id": req_id + 1000}, on_data=s.on_data)
                    self.assertEqual(pong.get("type"), "pong", pong)
                    self.assertEqual(pong.get("id"), req_id + 1000, pong)
                    h.check_ts(pong.get("ts"), "ts", time.time_ns(), f"{name} pong")
                finally:
                    await ws.close()
                result[name] = s

            async def scenario():
                stop = asyncio.Event()
                tasks = [asyncio.create_task(client(n, t, c, 10 + k, stop)) for k, (n, t, c) in enumerate(plans)]
                # The feed runs while the clients read; wait for it to finish.
                deadline = time.monotonic() + 40
                state = None
                while time.monotonic() < deadline:
                    for t in tasks:
                        if t.done() and t.exception():
                            raise t.exception()
                    state = await asyncio.to_thread(gw.sim_state)
                    if state == "finished":
                        break
                    await asyncio.sleep(0.25)
                self.assertEqual(state, "finished", "sim did not finish in time")
                stop.set()
                await asyncio.gather(*tasks)
                # After the drain, fetch the oracle (the frozen books).
                books = {}
                for sym in {h.parse_channel(c)[0] for _, _, cs in plans for c in cs}:
                    status, body = await asyncio.to_thread(gw.http_json, f"/book/{sym}")
                    self.assertEqual(status, 200)
                    books[sym] = body
                return books

            books = h.run_async(scenario(), 90)
            # A feed of 20000 actions/s over the instruments: every client must have seen a
            # real stream, not just the snapshots.
            for name, tls, channels in plans:
                s = result[name]
                self.assertGreater(s.messages, 50, f"{name}: only {s.messages} data messages in ~5 s")
                for ch in channels:
                    self.assertIn(ch, s.last, f"{name}: nothing ever arrived on {ch}")
                    sym, depth = h.parse_channel(ch)
                    got, want = s.last[ch], books[sym]
                    # A channel skips versions that did not change its top `depth` levels,
                    # so its last seq may be older than the book's; its levels may not.
                    self.assertLessEqual(got["seq"], want["seq"], f"{name} {ch}: last seq vs /book seq")
                    self.assertEqual(got["bids"], want["bids"][:depth], f"{name} {ch}: last bids vs /book")
                    self.assertEqual(got["asks"], want["asks"][:depth], f"{name} {ch}: last asks vs /book")
                    self.assertLessEqual(got["ts_exch"], want["ts_exch"], f"{name} {ch}: ts_exch vs /book")
                    self.assertLessEqual(got["ts_recv"], want["ts_recv"], f"{name} {ch}: ts_recv vs /book")
                    if len(want["bids"]) >= depth:
                        self.assertEqual(len(got["bids"]), depth, f"{name} {ch}: fewer bids than depth")
            # The books the clients followed were deep enough to make depth meaningful.
            self.assertTrue(any(len(b["bids"]) >= 10 and len(b["asks"]) >= 10 for b in books.values()),
                            {s: (len(b["bids"]), len(b["asks"])) for s, b in books.items()})
            gw.stop()

    def test_late_subscriber_gets_final_snapshot(self):
        with h.Mdgw("--sim-events", "5000", "--sim-rate", "max", tls=True) as gw:
            gw.wait_sim_finished(timeout=20)
            inst = gw.instruments()
            streams = h.BookStreams(inst)
            chans = [f"book.{inst[0]['symbol']}.50", f"book.{inst[1]['symbol']}.4"]

            async def scenario(tls):
                s = streams.client(f"late-{'wss' if tls else 'ws'}")
                ws = await h.ws_connect(gw, tls=tls)
                try:
                    reply = await h.request(ws, {"op": "subscribe", "id": 1, "channels": chans}, on_data=s.on_data)
                    s.on_ack(reply, 1, chans)
                    await h.read_stream(ws, s, asyncio.Event(), idle_limit=1.0)
                finally:
                    await ws.close()
                return s

            for tls in (False, True):
                s = h.run_async(scenario(tls), 30)
                for ch in chans:
                    sym, depth = h.parse_channel(ch)
                    _, book = gw.http_json(f"/book/{sym}")
                    self.assertEqual(s.count.get(ch), 1, f"{ch}: frozen book must give exactly one snapshot")
                    self.assertEqual(s.last[ch]["seq"], book["seq"], ch)
                    self.assertEqual(s.last[ch]["bids"], book["bids"][:depth], ch)
                    self.assertEqual(s.last[ch]["asks"], book["asks"][:depth], ch)
            gw.stop()


if __name__ == "__main__":
    h.main()
