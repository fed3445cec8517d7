"""Bad input and lifecycle: protocol error codes (the connection stays up), oversize
frames (close 1009), bad command-line flags, SIGTERM/SIGINT (close 1001, exit 0)."""
import sys

sys.dont_write_bytecode = True

import asyncio
import json
import signal
import subprocess
import time
import unittest

import websockets

import mdgw_harness as h

MAX_MESSAGE = 4096
MAX_SUBS = 8


class ProtocolErrors(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.gw = h.Mdgw("--max-message-bytes", MAX_MESSAGE, "--max-subscriptions", MAX_SUBS, "--max-requests-per-s", 10000,
                        "--sim-rate", "2000", tls=True)
        cls.inst = cls.gw.instruments()
        cls.syms = [i["symbol"] for i in cls.inst]

    @classmethod
    def tearDownClass(cls):
        cls.gw.close()

    async def error_sequence(self, tls):
        s = h.BookStreams(self.inst).client(f"errors-{'wss' if tls else 'ws'}")
        A = f"book.{self.syms[0]}.5"
        B = f"book.{self.syms[1]}.10"
        C = f"book.{self.syms[2]}.1"
        ws = await h.ws_connect(self.gw, tls=tls)

        async def err(req, code, req_id):
            raw = req if isinstance(req, str) else json.dumps(req)
            reply = await h.request(ws, raw, on_data=s.on_data)
            self.assertEqual(reply.get("type"), "error", f"{raw!r} -> {reply}")
            self.assertEqual(reply.get("code"), code, f"{raw!r} -> {reply}")
            self.assertIn("id", reply, f"{raw!r} -> {reply}")
            self.assertEqual(reply["id"], req_id, f"{raw!r} -> {reply}")
            self.assertIsInstance(reply.get("message"), str, reply)
            self.assertTrue(reply["message"], reply)

        async def ok(op, req_id, channels):
            reply = await h.request(ws, {"op": op, "id": req_id, "channels": channels}, on_data=s.on_data)
            if op == "subscribe":
                s.on_ack(reply, req_id, channels)
            else:
                s.on_unsubscribed(reply, req_id, channels)

        async def ping(req_id):
            reply = await h.request(ws, {"op": "ping", "id": req_id}, on_data=s.on_data)
            self.assertEqual(reply.get("type"), "pong", reply)
            self.assertEqual(reply.get("id"), req_id, reply)
            h.check_ts(reply.get("ts"), "ts", time.time_ns(), "pong")

        try:
            # 1000 bad_json: not JSON, or not an object; id is null.
            for raw in ("{not json", "", "[1,2,3]", "42", '"subscribe"', '{"op":"ping","id":1'):
                await err(raw, 1000, None)
            await ping(7)
            # 1001 unknown_op, with the request's id.
            await err({"op": "fly", "id": 5}, 1001, 5)
            await err({"id": 6}, 1001, 6)
            await err({"op": 5, "id": 61}, 1001, 61)
            await err({"op": "SUBSCRIBE", "id": 62, "channels": [A]}, 1001, 62)
            # 1002 bad_request: id or channels missing or of the wrong type.
            await err({"op": "subscribe", "id": 8}, 1002, 8)
            await err({"op": "unsubscribe", "id": 81}, 1002, 81)
            await err({"op": "subscribe", "id": 9, "channels": A}, 1002, 9)
            await err({"op": "subscribe", "channels": [A]}, 1002, None)
            await err({"op": "subscribe", "id": "10", "channels": [A]}, 1002, None)
            await err({"op": "subscribe", "id": -1, "channels": [A]}, 1002, None)
            # 1003 unknown_channel.
            await err({"op": "subscribe", "id": 12, "channels": [f"quotes.{self.syms[0]}"]}, 1003, 12)
            await err({"op": "subscribe", "id": 13, "channels": ["trades.*"]}, 1003, 13)
            await err({"op": "subscribe", "id": 14, "channels": ["nonsense"]}, 1003, 14)
            await err({"op": "subscribe", "id": 17, "channels": ["book.*.5"]}, 1003, 17)
            await err({"op": "subscribe", "id": 18, "channels": ["ticker."]}, 1003, 18)
            # 1004 for every channel kind.
            for k, kind in enumerate(("ticker", "trades", "status", "imbalance")):
                await err({"op": "subscribe", "id": 70 + k, "channels": [f"{kind}.SIM:NOPE"]}, 1004, 70 + k)
            # 1010 bad_option: a rate or resume option that cannot be granted.
            T = f"trades.{self.syms[0]}"
            for k, opts in enumerate(({"max_rate": 0}, {"max_rate": "fast"}, {"interval_ms": -5},
                                      {"max_rate": 5, "interval_ms": 100}, {"from_seq": 3},
                                      {"epoch": 3}, {"from_seq": -1, "epoch": 1}, {"colour": "red"})):
                await err({"op": "subscribe", "id": 80 + k, "channels": [dict(channel=T, **opts)]}, 1010, 80 + k)
            await err({"op": "subscribe", "id": 89, "channels": [{"channel": A, "from_seq": 1, "epoch": 1}]},
                      1010, 89)
            # 1004 unknown_symbol.
            await err({"op": "subscribe", "id": 15, "channels": ["book.SIM:NOPE.5"]}, 1004, 15)
            await err({"op": "subscribe", "id": 16, "channels": ["book.NOPE.5"]}, 1004, 16)
            # 1005 bad_depth.
            for k, depth in enumerate(("0", "51", "x", "-1", "100")):
                await err({"op": "subscribe", "id": 20 + k, "channels": [f"book.{self.syms[0]}.{depth}"]}, 1005, 20 + k)
            # 1006 not_subscribed.
            await err({"op": "unsubscribe", "id": 30, "channels": [A]}, 1006, 30)
            # All-or-nothing: a bad channel next to a good one subscribes nothing.
            await err({"op": "subscribe", "id": 31, "channels": [A, "book.SIM:NOPE.5"]}, 1004, 31)
            await err({"op": "subscribe", "id": 32, "channels": [A, f"book.{self.syms[0]}.0"]}, 1005, 32)
            await err({"op": "unsubscribe", "id": 33, "channels": [A]}, 1006, 33)
            self.assertEqual(s.messages, 0, "data arrived although every subscribe failed")

            # 1008 already_subscribed; the failed request changes nothing.
            await ok("subscribe", 40, [A])
            await err({"op": "subscribe", "id": 41, "channels": [A]}, 1008, 41)
            await err({"op": "subscribe", "id": 42, "channels": [B, A]}, 1008, 42)
            await err({"op": "unsubscribe", "id": 43, "channels": [B]}, 1006, 43)
            await err({"op": "unsubscribe", "id": 44, "channels": [B, A]}, 1006, 44)

            # 1007 too_many_subscriptions (limit MAX_SUBS; A is one).
            more = [f"book.{self.syms[3 + k]}.3" for k in range(MAX_SUBS)]
            await err({"op": "subscribe", "id": 50, "channels": more}, 1007, 50)
            await ok("subscribe", 51, more[:MAX_SUBS - 1])
            await err({"op": "subscribe", "id": 52, "channels": [more[-1]]}, 1007, 52)
            await ok("unsubscribe", 53, more[:MAX_SUBS - 1])

            # Still a working connection: ping, new subscription, data for it.
            await ping(60)
            await ok("subscribe", 61, [B, C])
            # Unsubscribe A: no data for A after the ack (on_data fails on an unacked
            # channel), then a new subscription of A starts with a snapshot again.
            await ok("unsubscribe", 62, [A])
            before = dict(s.count)
            stop = asyncio.Event()
            reader = asyncio.create_task(h.read_stream(ws, s, stop))
            await asyncio.sleep(1.0)
            stop.set()
            await reader
            for ch in (B, C):
                self.assertGreater(s.count.get(ch, 0), before.get(ch, 0), f"no data on {ch} after the errors")
            await ok("subscribe", 63, [A])
            stop = asyncio.Event()
            reader = asyncio.create_task(h.read_stream(ws, s, stop))
            await asyncio.sleep(0.5)
            stop.set()
            await reader
            self.assertIn(A, s.last, "no snapshot after re-subscribing")
            await ping(64)
        finally:
            await ws.close()

    def test_error_codes_ws(self):
        h.run_async(self.error_sequence(False), 60)

    def test_error_codes_wss(self):
        h.run_async(self.error_sequence(True), 60)

    async def oversize(self, tls):
        ws = await h.ws_connect(self.gw, tls=tls)
        other = await h.ws_connect(self.gw, tls=not tls)
        try:
            # Exactly at the limit is allowed (the limit is "larger than").
            head = '{"op":"ping","id":77}'
            reply = await h.request(ws, head + " " * (MAX_MESSAGE - len(head)))
            self.assertEqual((reply.get("type"), reply.get("id")), ("pong", 77), reply)
            # A message in three frames, each larger than the gateway's read chunk, is read
            # whole; then a small one (the read buffer starts over after a large message).
            text = '{"op":"ping","id":79}' + " " * 3000
            await ws.send([text[:1000], text[1000:2100], text[2100:]])
            reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
            self.assertEqual((reply.get("type"), reply.get("id")), ("pong", 79), reply)
            reply = await h.request(ws, {"op": "ping", "id": 80})
            self.assertEqual((reply.get("type"), reply.get("id")), ("pong", 80), reply)
            await ws.send(head + " " * (MAX_MESSAGE + 1 - len(head)))
            try:
                extra = await asyncio.wait_for(ws.recv(), 5)
                self.fail(f"oversize frame answered instead of closing: {extra[:200]!r}")
            except websockets.exceptions.ConnectionClosed:
                pass
            self.assertEqual(ws.close_code, 1009, f"close code after a {MAX_MESSAGE + 1}-byte frame "
                                                  f"(reason {ws.close_reason!r})")
            # The other connection is unaffected.
            reply = await h.request(other, {"op": "ping", "id": 78})
            self.assertEqual((reply.get("type"), reply.get("id")), ("pong", 78), reply)
        finally:
            await ws.close()
            await other.close()

    def test_oversize_frame_ws(self):
        h.run_async(self.oversize(False), 30)

    def test_oversize_frame_wss(self):
        h.run_async(self.oversize(True), 30)

    def test_zz_clean_stop(self):
        self.gw.stop()


class BadFlags(unittest.TestCase):
    CASES = [
        (["--port", "abc"], "port"),
        (["--port", "70000"], "port"),
        (["--port"], "port"),
        (["--io-threads", "0"], "io-threads"),
        (["--bogus"], "bogus"),
        (["--sim-rate", "fast"], "sim-rate"),
        (["--max-message-bytes", "x"], "max-message-bytes"),
        (["--sim-instruments", "-3"], "sim-instruments"),
    ]

    def run_bad(self, args):
        base = [h.mdgw_bin(), "--bind", "127.0.0.1"]
        if "--port" not in args:
            base += ["--port", "0"]
        try:
            return subprocess.run(base + args, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  timeout=10, env=h.child_env())
        except subprocess.TimeoutExpired as e:
            self.fail(f"mdgw {args} kept running instead of rejecting the flag: {e.stdout!r}")

    def test_bad_flags(self):
        for args, name in self.CASES:
            with self.subTest(args=args):
                r = self.run_bad(args)
                self.assertGreater(r.returncode, 0, f"{args}: exit {r.returncode} (negative = killed by a signal); "
                                                    f"stderr {r.stderr!r}")
                self.assertIn(name, r.stderr, f"{args}: stderr does not name the flag: {r.stderr!r}")
                self.assertNotIn("listening", r.stdout, args)

    def test_missing_cert_file(self):
        r = self.run_bad(["--cert", "/nonexistent/mdgw-e2e-cert.pem", "--key", "/nonexistent/mdgw-e2e-key.pem"])
        self.assertGreater(r.returncode, 0, r.stderr)
        self.assertNotIn("listening", r.stdout)
        self.assertTrue(r.stderr.strip(), "no message on stderr")


class Shutdown(unittest.TestCase):
    def shutdown(self, sig, modes):
        with h.Mdgw("--sim-rate", "5000", tls=True) as gw:
            inst = gw.instruments()
            streams = h.BookStreams(inst)

            async def scenario():
                clients = []
                for k, tls in enumerate(modes):
                    s = streams.client(f"{'wss' if tls else 'ws'}-{k}")
                    ws = await h.ws_connect(gw, tls=tls)
                    ch = [f"book.{inst[k]['symbol']}.10"]
                    s.on_ack(await h.request(ws, {"op": "subscribe", "id": k, "channels": ch}, on_data=s.on_data), k, ch)
                    clients.append((ws, s))
                await asyncio.sleep(0.5)
                gw.send_signal(sig)

                async def until_closed(ws, s):
                    try:
                        for _ in range(100000):
                            s.on_data(await h.recv_json(ws, 10), time.time_ns())
                    except websockets.exceptions.ConnectionClosed:
                        pass
                    return ws.close_code

                codes = await asyncio.gather(*(until_closed(ws, s) for ws, s in clients))
                for (ws, s), code in zip(clients, codes):
                    self.assertGreater(s.messages, 0, f"{s.name}: no data before the signal")
                    self.assertEqual(code, 1001, f"{s.name}: close code on {signal.Signals(sig).name}")

            h.run_async(scenario(), 30)
            rc = gw.wait(10)
            self.assertEqual(rc, 0, f"exit code after {signal.Signals(sig).name}; stderr {gw.stderr()[-2000:]}")

    def test_sigterm_closes_1001(self):
        self.shutdown(signal.SIGTERM, [False, True, False, True])

    def test_sigint_closes_1001(self):
        self.shutdown(signal.SIGINT, [False, True])


if __name__ == "__main__":
    h.main()
