"""A small fake crypto exchange for the live e2e test: it serves a capture's frames
(../shared/data/crypto) over WebSocket (Debian's python3-websockets) as Kraken, Binance or
Coinbase would, and for Binance the REST depth snapshots over HTTP, and misbehaves on
command.

    /usr/bin/python3 fake_exchange.py --venue kraken --ws-file kraken-book.ws \
        [--rest-file F] [--corrupt CONN:INDEX] [--drop CONN:INDEX] [--freeze CONN:INDEX]

Every connection replays the capture's received frames from the start (Kraken and
Coinbase after the client's first subscribe message; Binance once the client fetched
the depth snapshot of every symbol). The first connection waits for a line on stdin
("go"), so a test can subscribe its own clients first. Faults, each on one connection
(CONN counts from 1) at frame INDEX (0-based among the capture's received frames):
  --corrupt  Kraken: from INDEX on, the first book update with a single level whose
             checksum moved (so the level is inside the checksummed top 10) gets that
             level's volume changed in its last digit; the "c" stays the exchange's.
             Binance: the first depthUpdate from INDEX on is not sent (an update-id
             gap); the fake's own book still applies it, as the exchange's would.
             Coinbase: the first l2update from INDEX on gets an unparseable size.
  --drop     the TCP connection is aborted before frame INDEX.
  --freeze   before frame INDEX the fake stops sending and stops reading (no pongs):
             a dead upstream that keeps the TCP connection open.
Binance REST (GET /api/v3/depth?symbol=S&limit=N) answers from the fake's own book:
the capture's snapshot plus every depthUpdate the current connection has passed (sent
or skipped), with lastUpdateId the last one applied: what the real exchange would say.

With --cert/--key it serves wss:// instead of ws://.

Events go to stdout as JSON lines ({"event": "connect", "conn": 1, ...}) and the
listening ports first: {"event": "listening", "ws": P, "http": Q}.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import sys
import threading
import urllib.parse
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.dont_write_bytecode = True

import websockets  # Debian's python3-websockets


def emit(**event) -> None:
    print(json.dumps(event), flush=True)


def load_frames(path: str) -> list[str]:
    frames = []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith(("wss://", "ws://")):
                continue
            ts, sep, payload = line.partition(": ")
            if sep and payload:
                frames.append(payload)
    return frames


def load_rest(path: str) -> dict[str, dict]:
    out = {}
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            url, _, rest = line.partition(" -> ")
            _, _, payload = rest.partition(": ")
            q = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)
            out[q["symbol"][0]] = json.loads(payload)
    return out


def fault(spec: str | None):
    if not spec:
        return None
    conn, _, index = spec.partition(":")
    return int(conn), int(index)


class BinanceBook:
    """The exchange's side of Binance's procedure: snapshot + diffs with u > lastUpdateId."""

    def __init__(self, snapshots: dict[str, dict]):
        self.lock = threading.Lock()
        self.base = snapshots
        self.reset()

    def reset(self):
        with self.lock:
            self.books = {s: {"last": v["lastUpdateId"],
                              "bids": {p: q for p, q in v["bids"]},
                              "asks": {p: q for p, q in v["asks"]}} for s, v in self.base.items()}
            self.requested: set[str] = set()

    def apply(self, data: dict):
        with self.lock:
            b = self.books.get(data["s"])
            if b is None or data["u"] <= b["last"]:
                return
            for side, key in (("bids", "b"), ("asks", "a")):
                for p, q in data[key]:
                    if Decimal(q) == 0:
                        b[side].pop(p, None)
                    else:
                        b[side][p] = q
            b["last"] = data["u"]

    def snapshot(self, symbol: str, limit: int) -> dict | None:
        with self.lock:
            b = self.books.get(symbol)
            if b is None:
                return None
            self.requested.add(symbol)
            bids = sorted(b["bids"].items(), key=lambda kv: Decimal(kv[0]), reverse=True)[:limit]
            asks = sorted(b["asks"].items(), key=lambda kv: Decimal(kv[0]))[:limit]
            return {"lastUpdateId": b["last"], "bids": [list(x) for x in bids], "asks": [list(x) for x in asks]}

    def all_requested(self) -> bool:
        with self.lock:
            return self.requested >= set(self.books)


def corrupt_kraken(frame: str, last_c: dict) -> str | None:
    """The frame with one volume changed if it is a single-level update whose checksum
    moved; None otherwise. Updates last_c (pair -> checksum) either way."""
    msg = json.loads(frame)
    if not isinstance(msg, list) or len(msg) < 4:
        return None
    pair = msg[-1]
    parts = [p for p in msg[1:-2] if isinstance(p, dict)]
    levels = [(p, k) for p in parts for k in ("a", "b") if k in p]
    c = next((p["c"] for p in parts if "c" in p), None)
    prev = last_c.get(pair)
    if c is not None:
        last_c[pair] = c
    if c is None or prev is None or c == prev or len(levels) != 1 or len(levels[0][0][levels[0][1]]) != 1:
        return None
    part, key = levels[0]
    vol = part[key][0][1]
    part[key][0][1] = vol[:-1] + str((int(vol[-1]) + 1) % 10)
    return json.dumps(msg, separators=(",", ":"))


def corrupt_coinbase(frame: str) -> str | None:
    msg = json.loads(frame)
    if msg.get("type") != "l2update" or not msg.get("changes"):
        return None
    msg["changes"][0][2] = "1x"
    return json.dumps(msg, separators=(",", ":"))


class Exchange:
    def __init__(self, args):
        self.venue = args.venue
        self.frames = load_frames(args.ws_file)
        self.book = BinanceBook(load_rest(args.rest_file)) if args.rest_file else None
        self.corrupt = fault(args.corrupt)
        self.drop = fault(args.drop)
        self.freeze = fault(args.freeze)
        self.conns = 0
        self.go = asyncio.Event()
        self.pace_every = args.pace_every

    def at(self, f, conn: int, i: int) -> bool:
        return f is not None and f[0] == conn and f[1] == i

    async def serve(self, ws, path: str | None = None):
        self.conns += 1
        conn = self.conns
        path = path if path is not None else getattr(ws, "path", "")
        emit(event="connect", conn=conn, path=path)
        try:
            if self.venue == "binance":
                # (The book was reset by on_handshake, before the client could ask.)
                for _ in range(200):  # the client fetches every snapshot first (<= 10 s)
                    if self.book.all_requested():
                        break
                    await asyncio.sleep(0.05)
            else:
                sub = await asyncio.wait_for(ws.recv(), 10)
                emit(event="subscribe", conn=conn, message=json.loads(sub))
            if conn == 1:
                await asyncio.wait_for(self.go.wait(), 30)
            await self.stream(ws, conn)
        except (websockets.exceptions.ConnectionClosed, asyncio.TimeoutError) as e:
            emit(event="closed", conn=conn, reason=type(e).__name__)

    async def on_handshake(self, path, headers):
        """Runs before the 101 reply: a new connection's REST requests come after it."""
        if self.book is not None:
            self.book.reset()
        return None

    async def stream(self, ws, conn: int):
        last_c: dict = {}
        corrupt_pending = False
        for i, frame in enumerate(self.frames):
            if self.at(self.drop, conn, i):
                emit(event="drop", conn=conn, index=i)
                ws.transport.abort()
                return
            if self.at(self.freeze, conn, i):
                emit(event="freeze", conn=conn, index=i)
                ws.transport.pause_reading()
                await asyncio.sleep(3600)
                return
            corrupt_pending = corrupt_pending or self.at(self.corrupt, conn, i)
            payload = frame
            if self.venue == "binance":
                msg = json.loads(frame)
                data = msg.get("data", {})
                if data.get("e") == "depthUpdate":
                    self.book.apply(data)
                    if corrupt_pending:
                        emit(event="corrupt", conn=conn, index=i, symbol=data["s"], skipped_U=data["U"])
                        corrupt_pending = False
                        continue
            elif self.venue == "kraken":
                bad = corrupt_kraken(frame, last_c)
                if corrupt_pending and bad is not None:
                    emit(event="corrupt", conn=conn, index=i, pair=json.loads(frame)[-1])
                    corrupt_pending = False
                    payload = bad
            elif corrupt_pending:
                bad = corrupt_coinbase(frame)
                if bad is not None:
                    emit(event="corrupt", conn=conn, index=i, product=json.loads(frame)["product_id"])
                    corrupt_pending = False
                    payload = bad
            await ws.send(payload)
            if i % self.pace_every == 0:
                await asyncio.sleep(0.001)
        emit(event="end", conn=conn)
        for n in range(3600):  # stay alive as a quiet venue does: heartbeats
            await asyncio.sleep(0.5)
            if self.venue == "kraken":
                await ws.send('{"event":"heartbeat"}')
            elif self.venue == "coinbase":
                await ws.send(json.dumps({"type": "heartbeat", "sequence": n, "product_id": "X"}))
            else:
                await ws.ping()


def start_http(book: BinanceBook) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            u = urllib.parse.urlparse(self.path)
            q = urllib.parse.parse_qs(u.query)
            snap = None
            if u.path == "/api/v3/depth" and "symbol" in q:
                snap = book.snapshot(q["symbol"][0], int(q.get("limit", ["1000"])[0]))
            body = json.dumps(snap if snap is not None else {"code": -1121, "msg": "Invalid symbol."}).encode()
            self.send_response(200 if snap is not None else 400)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            emit(event="rest", path=self.path, ok=snap is not None)

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


async def main_async(args):
    ex = Exchange(args)
    loop = asyncio.get_running_loop()

    def read_stdin():
        for line in sys.stdin:
            if line.strip() == "go":
                loop.call_soon_threadsafe(ex.go.set)
        loop.call_soon_threadsafe(ex.go.set)

    threading.Thread(target=read_stdin, daemon=True).start()
    http_port = start_http(ex.book).server_address[1] if ex.book else 0
    tls = None
    if args.cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args.cert, args.key)
    async with websockets.serve(ex.serve, "127.0.0.1", 0, max_size=None, ping_interval=None,
                                process_request=ex.on_handshake, ssl=tls) as server:
        ws_port = next(iter(server.sockets)).getsockname()[1]
        emit(event="listening", ws=ws_port, http=http_port, frames=len(ex.frames))
        await asyncio.sleep(3600)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--venue", choices=["kraken", "binance", "coinbase"], required=True)
    ap.add_argument("--ws-file", required=True)
    ap.add_argument("--rest-file")
    ap.add_argument("--corrupt")
    ap.add_argument("--drop")
    ap.add_argument("--freeze")
    ap.add_argument("--pace-every", type=int, default=20)
    ap.add_argument("--cert", help="serve wss:// with this PEM certificate (and --key)")
    ap.add_argument("--key")
    args = ap.parse_args()
    try:
        asyncio.run(main_async(args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
