"""The binary protocol (Sec-WebSocket-Protocol mdgw.capnp.v1): every frame the real mdgw
sends is decoded by an independent decoder, Cap'n Proto's own `capnp convert
binary:json` with the shipped schema (gateway/mdgw.capnp); books are rebuilt from the
decoded snapshots and deltas and proven by their checksums; requests go as JSON text and
as binary ClientRequest messages encoded by the same tool."""
import sys

sys.dont_write_bytecode = True

import asyncio
import json
import os
import subprocess
import time
import unittest

import websockets

import mdgw_harness as h

SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "gateway", "mdgw.capnp")
CAPNP = "/usr/bin/capnp"


def decode(frame: bytes) -> list:
    """The ServerMessages of one binary frame, as JSON objects (capnp's own decoder)."""
    r = subprocess.run([CAPNP, "convert", "binary:json", SCHEMA, "ServerMessage"], input=frame,
                       capture_output=True, timeout=10)
    assert r.returncode == 0, f"capnp could not decode a frame of {len(frame)} bytes: {r.stderr.decode()}"
    text = r.stdout.decode()
    out, pos = [], 0
    dec = json.JSONDecoder()
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos == len(text):
            return out
        obj, pos = dec.raw_decode(text, pos)
        out.append(obj)


def encode_request(req: dict) -> bytes:
    r = subprocess.run([CAPNP, "convert", "json:binary", SCHEMA, "ClientRequest"], input=json.dumps(req).encode(),
                       capture_output=True, timeout=10)
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout


def u64(v) -> int:
    return int(v)  # capnp's JSON writes 64-bit integers as strings


def as_json_book(b: dict) -> dict:
    """A decoded Book in the JSON protocol's shape (for the shared book helpers)."""
    lv = lambda levels: [[x["price"], x["size"], x.get("orders", 0)] for x in levels or []]
    return {"kind": "snapshot" if b.get("snapshot") else "delta", "prev": u64(b.get("prev", 0)),
            "seq": u64(b.get("seq", 0)), "checksum": b.get("checksum", 0), "bids": lv(b.get("bids")),
            "asks": lv(b.get("asks"))}


class Capnp(unittest.TestCase):
    def test_binary_frames_decode_and_books_verify(self):
        with h.Mdgw("--sim-rate", "20000", "--sim-events", "30000", "--sim-instruments", "4", tls=True) as gw:
            syms = [i["symbol"] for i in gw.instruments()]

            async def scenario():
                ws = await websockets.connect(gw.ws_url(True, "/ws"), ssl=h.client_ssl_context(),
                                              subprotocols=["mdgw.capnp.v1", "mdgw.json.v1"], max_size=None)
                js = await websockets.connect(gw.ws_url(False, "/ws"), subprotocols=["mdgw.json.v1"])
                self.assertEqual(ws.subprotocol, "mdgw.capnp.v1")
                self.assertEqual(js.subprotocol, "mdgw.json.v1")
                frames = []
                # A JSON request on the binary connection...
                await ws.send(json.dumps({"op": "subscribe", "id": 1,
                                          "channels": [f"book.{syms[0]}.10", f"ticker.{syms[0]}"]}))
                # ... and binary ClientRequests built by capnp from the schema.
                await ws.send(encode_request({"id": 2, "op": "subscribe", "channels": [
                    {"channel": f"trades.{syms[0]}"}, {"channel": f"book.{syms[1]}.5", "maxRate": 50}]}))
                await ws.send(encode_request({"id": 3, "op": "ping"}))
                await ws.send(b"\x01\x02\x03")  # not a Cap'n Proto message
                await ws.send(encode_request({"id": 4, "op": "subscribe", "channels": [{"channel": "book.SIM:NOPE.5"}]}))
                deadline = time.monotonic() + 40
                while time.monotonic() < deadline:
                    try:
                        frames.append(await asyncio.wait_for(ws.recv(), 1.5))
                    except asyncio.TimeoutError:
                        if gw.sim_state() == "finished":
                            break
                await ws.close()
                await js.close()
                return frames

            frames = h.run_async(scenario(), 60)
            self.assertTrue(all(isinstance(f, bytes) for f in frames), "a text frame on a mdgw.capnp.v1 connection")
            replies, books, tickers, trades = {}, {}, [], []
            unidentified = []
            for f in frames:
                msgs = decode(f)
                self.assertTrue(msgs, "an empty frame")
                first = msgs[0]
                if "batch" in first:
                    b = first["batch"]
                    self.assertEqual(b["updates"], len(msgs) - 1, "batch.updates != messages that follow")
                    self.assertGreater(u64(b["tsSend"]), 0)
                    self.assertLessEqual(u64(b["stamps"]["tsRecvOldest"]), u64(b["tsSend"]))
                    for m in msgs[1:]:
                        (kind, body), = m.items()
                        if kind == "book":
                            ch = body["channel"]
                            u = as_json_book(body)
                            prev = books.get(ch)
                            if u["kind"] == "delta":
                                self.assertEqual(u["prev"], prev["seq"], f"{ch}: delta from another version")
                            bids, asks = h.apply_book(prev, u, ch)
                            self.assertEqual(u["checksum"], h.book_checksum(bids, asks), f"{ch}: checksum")
                            books[ch] = {"seq": u["seq"], "bids": bids, "asks": asks}
                        elif kind == "ticker":
                            tickers.append(body)
                        elif kind == "trades":
                            trades.extend(body["trades"])
                        else:
                            self.fail(f"unexpected update {kind}")
                else:
                    self.assertEqual(len(msgs), 1, "a reply frame with more than one message")
                    (kind, body), = first.items()
                    if "id" in body and body.get("hasId", True):
                        replies[(kind, u64(body["id"]))] = body
                    else:
                        unidentified.append((kind, body))
            self.assertIn(("subscribed", 1), replies)
            sub2 = replies[("subscribed", 2)]
            self.assertEqual(sub2["channels"], [f"trades.{syms[0]}", f"book.{syms[1]}.5"])
            self.assertEqual(sub2["granted"][0]["resume"], "live")
            self.assertAlmostEqual(sub2["granted"][1]["maxRate"], 50.0)
            self.assertIn(("pong", 3), replies)
            self.assertEqual(replies[("error", 4)]["code"], 1004)
            self.assertIn(("error", 1000), [(k, b.get("code")) for k, b in unidentified],
                          "no bad_json error for a frame that is not a Cap'n Proto message")
            # The books the binary client rebuilt are the gateway's final books.
            for ch, depth, sym in ((f"book.{syms[0]}.10", 10, syms[0]), (f"book.{syms[1]}.5", 5, syms[1])):
                self.assertIn(ch, books)
                status, ref = gw.http_json(f"/book/{sym}?depth={depth}")
                self.assertEqual(status, 200)
                # (seq may differ: versions that leave the top `depth` unchanged are not sent)
                self.assertLessEqual(books[ch]["seq"], ref["seq"], ch)
                self.assertEqual([l[:2] for l in books[ch]["bids"]], [l[:2] for l in ref["bids"]], ch)
                self.assertEqual([l[:2] for l in books[ch]["asks"]], [l[:2] for l in ref["asks"]], ch)
            self.assertTrue(tickers)
            last = tickers[-1]
            self.assertEqual(last["quality"], "ok")
            self.assertEqual(last["bid"], books[f"book.{syms[0]}.10"]["bids"][0][0])
            seqs = [u64(t["seq"]) for t in trades]
            self.assertTrue(seqs, "no trades decoded")
            self.assertEqual(seqs, list(range(seqs[0], seqs[0] + len(seqs))), "trades not consecutive")


if __name__ == "__main__":
    h.main()
