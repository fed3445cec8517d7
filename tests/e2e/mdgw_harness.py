"""Shared helpers for the end-to-end tests: they start the real mdgw binary on a free
loopback port and drive it with clients nobody on this project wrote (Python's
`websockets`, `http.client`, `ssl`).

Run a test file as `/usr/bin/python3 tests/e2e/test_x.py /path/to/mdgw` (or set
MDGW_BIN). Every wait here is bounded in time; every loop is bounded in count.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import http.client
import json
import os
import queue
import re
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import zlib
from decimal import Decimal

sys.dont_write_bytecode = True

try:
    import websockets  # Debian's python3-websockets (10.4)
    import websockets.exceptions
except ImportError as e:  # pragma: no cover - environment problem, not a test failure
    sys.exit(f"e2e tests need Debian's python3-websockets under /usr/bin/python3: {e}")

LISTEN_RE = re.compile(r"mdgw: listening on 127\.0\.0\.1:(\d+)")
START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 10.0
MAX_CLIENT_MESSAGE = 1 << 24

_mdgw_bin: str | None = None


# --------------------------------------------------------------------------- binary


def mdgw_bin() -> str:
    path = _mdgw_bin or os.environ.get("MDGW_BIN")
    if not path:
        raise RuntimeError("no mdgw binary: pass it as argv[1] or set MDGW_BIN")
    path = os.path.abspath(path)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise RuntimeError(f"mdgw binary not found or not executable: {path}")
    return path


def main() -> None:
    """Entry point of every test file: argv[1] (if not an option) is the mdgw binary."""
    global _mdgw_bin
    if len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
        _mdgw_bin = sys.argv.pop(1)
    if not (_mdgw_bin or os.environ.get("MDGW_BIN")):
        sys.exit(f"usage: /usr/bin/python3 {sys.argv[0]} /path/to/mdgw [unittest options] (or set MDGW_BIN)")
    unittest.main(verbosity=2)


def child_env() -> dict:
    # mdgw reads MDGW_* variables as configuration; the tests control it by flags only.
    return {k: v for k, v in os.environ.items() if not k.startswith("MDGW_")}


# --------------------------------------------------------------------------- certs

_certs: tuple[str, str] | None = None
_cert_dir: tempfile.TemporaryDirectory | None = None


def make_certs() -> tuple[str, str]:
    """A self-signed cert/key for localhost and 127.0.0.1, made once per test run."""
    global _certs, _cert_dir
    if _certs is None:
        _cert_dir = tempfile.TemporaryDirectory(prefix="mdgw-e2e-certs-")
        cert = os.path.join(_cert_dir.name, "cert.pem")
        key = os.path.join(_cert_dir.name, "key.pem")
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
             "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
             "-days", "2", "-keyout", key, "-out", cert],
            check=True, timeout=60, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _certs = (cert, key)
    return _certs


def client_ssl_context() -> ssl.SSLContext:
    """Verifying client context that trusts only our self-signed cert."""
    cert, _ = make_certs()
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cert)
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    return ctx


# --------------------------------------------------------------------------- process


class Mdgw:
    """One running mdgw. Use as a context manager or call stop()."""

    def __init__(self, *args: str, tls: bool = False):
        self.args = [mdgw_bin(), "--bind", "127.0.0.1", "--port", "0"]
        if tls:
            cert, key = make_certs()
            self.args += ["--cert", cert, "--key", key]
        self.args += [str(a) for a in args]
        self.tls = tls
        self._stderr = tempfile.TemporaryFile(prefix="mdgw-e2e-stderr-")
        self._lines: queue.Queue = queue.Queue()
        self.stdout_lines: list[str] = []
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self._stderr, env=child_env(), text=True, bufsize=1)
        self.pid = self.proc.pid
        # Keep draining stdout so mdgw can never block on a full pipe.
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()
        self.port = self._wait_listening()

    def _drain(self) -> None:
        for line in self.proc.stdout:  # ends at EOF (process exit)
            self._lines.put(line)
        self._lines.put(None)

    def _wait_listening(self) -> int:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise AssertionError(f"mdgw printed no listening line within {START_TIMEOUT_S}s: "
                                     f"{self.args}\nstdout: {self.stdout_lines}\nstderr: {self.stderr()}")
            try:
                line = self._lines.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            if line is None:
                rc = self.proc.wait(timeout=5)
                raise AssertionError(f"mdgw exited ({rc}) before listening: {self.args}\n"
                                     f"stdout: {self.stdout_lines}\nstderr: {self.stderr()}")
            self.stdout_lines.append(line.rstrip("\n"))
            m = LISTEN_RE.search(line)
            if m:
                port = int(m.group(1))
                assert 0 < port < 65536, line
                return port

    def stderr(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    def running(self) -> bool:
        return self.proc.poll() is None

    def send_signal(self, sig: int) -> None:
        if self.running():
            self.proc.send_signal(sig)

    def wait(self, timeout: float = STOP_TIMEOUT_S) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"mdgw (pid {self.pid}) did not exit within {timeout}s\n"
                                 f"stderr: {self.stderr()[-4000:]}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT_S) -> int:
        """Sends sig and asserts a clean exit (code 0) within timeout."""
        if not self.running():
            rc = self.proc.returncode
            raise AssertionError(f"mdgw already exited with {rc} before stop\nstderr: {self.stderr()[-4000:]}")
        self.proc.send_signal(sig)
        rc = self.wait(timeout)
        if rc != 0:
            raise AssertionError(f"mdgw exited with {rc} after {signal.Signals(sig).name}, expected 0\n"
                                 f"stderr: {self.stderr()[-4000:]}")
        return rc

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass

    def close(self) -> None:
        """Kills mdgw if still running and releases the pipes and files."""
        self.kill()
        self._reader.join(timeout=2)
        if self.proc.stdout:
            self.proc.stdout.close()
        self._stderr.close()

    def rss_bytes(self) -> int:
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS in /proc status")

    # ---- URLs and HTTP
    def ws_url(self, tls: bool = False, path: str = "/ws") -> str:
        return f"{'wss' if tls else 'ws'}://127.0.0.1:{self.port}{path}"

    def http_get(self, path: str, tls: bool = False, timeout: float = 10.0):
        return http_get(self.port, path, tls=tls, timeout=timeout)

    def http_json(self, path: str, tls: bool = False, timeout: float = 10.0):
        return http_json(self.port, path, tls=tls, timeout=timeout)

    def health(self, tls: bool = False) -> dict:
        status, body = self.http_json("/health", tls=tls)
        assert status == 200, (status, body)
        return body

    def feed_state(self, name: str = "sim") -> str:
        feeds = [f for f in self.health()["feeds"] if f.get("name") == name]
        assert len(feeds) == 1, self.health()
        return feeds[0]["state"]

    def sim_state(self) -> str:
        return self.feed_state("sim")

    def instruments(self) -> list:
        status, body = self.http_json("/instruments")
        assert status == 200, (status, body)
        return body

    def wait_feed_finished(self, name: str = "sim", timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.feed_state(name) == "finished":
                return
            time.sleep(0.1)
        raise AssertionError(f"feed {name} not finished after {timeout}s: {self.health()}")

    def wait_sim_finished(self, timeout: float = 30.0) -> None:
        self.wait_feed_finished("sim", timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def http_get(port: int, path: str, tls: bool = False, timeout: float = 10.0):
    """Returns (status, headers with lower-case names, body bytes)."""
    if tls:
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout, context=client_ssl_context())
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Accept": "*/*"})
        resp = conn.getresponse()
        body = resp.read()
        headers = {k.lower(): v for k, v in resp.getheaders()}
        return resp.status, headers, body
    finally:
        conn.close()


def http_json(port: int, path: str, tls: bool = False, timeout: float = 10.0):
    status, headers, body = http_get(port, path, tls=tls, timeout=timeout)
    try:
        return status, json.loads(body)
    except ValueError:
        raise AssertionError(f"GET {path}: body is not JSON (status {status}): {body[:300]!r}")


# --------------------------------------------------------------------------- websockets


async def ws_connect(gw: Mdgw, tls: bool = False, path: str = "/ws"):
    return await websockets.connect(
        gw.ws_url(tls, path), ssl=client_ssl_context() if tls else None,
        open_timeout=10, close_timeout=5, max_size=MAX_CLIENT_MESSAGE, max_queue=None)


async def recv_json(ws, timeout: float = 5.0):
    raw = await asyncio.wait_for(ws.recv(), timeout)
    assert isinstance(raw, str), f"expected a text frame, got {type(raw).__name__}: {raw[:100]!r}"
    try:
        msg = json.loads(raw)
    except ValueError:
        raise AssertionError(f"server sent invalid JSON: {raw[:300]!r}")
    assert isinstance(msg, dict), f"server message is not a JSON object: {raw[:300]!r}"
    return msg


async def request(ws, req, timeout: float = 5.0, on_data=None):
    """Sends req (dict or raw str) and returns the first non-data reply. Data messages
    that arrive meanwhile go to on_data(msg, recv_ns) (or are dropped)."""
    await ws.send(req if isinstance(req, str) else json.dumps(req))
    deadline = time.monotonic() + timeout
    for _ in range(100000):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        msg = await recv_json(ws, left)
        if msg.get("type") == "data":
            if on_data is not None:
                on_data(msg, time.time_ns())
            continue
        return msg
    raise AssertionError(f"no reply to {req!r} within {timeout}s")


# --------------------------------------------------------------------------- raw WebSocket


def ws_frame(payload: bytes, opcode: int = 0x1, fin: bool = True) -> bytes:
    """A masked client frame (RFC 6455 5.2)."""
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def raw_ws_connect(port: int, rcvbuf: int | None = None, tls: bool = False, timeout: float = 10.0):
    """Opens a socket (SO_RCVBUF set before connect), does the upgrade handshake by hand
    and reads exactly the 101 response headers, nothing more. Returns the socket."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(timeout)
    sock.connect(("127.0.0.1", port))
    if tls:
        sock = client_ssl_context().wrap_socket(sock, server_hostname="127.0.0.1")
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                  f"Sec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    for _ in range(16384):  # byte by byte so nothing after the headers is consumed
        b = sock.recv(1)
        if not b:
            raise AssertionError(f"connection closed during handshake: {head!r}")
        head += b
        if head.endswith(b"\r\n\r\n"):
            break
    else:
        raise AssertionError(f"handshake response too long: {head[:300]!r}")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith("HTTP/1.1 101"), f"upgrade refused: {lines[0]!r}"
    headers = {l.split(":", 1)[0].strip().lower(): l.split(":", 1)[1].strip() for l in lines[1:] if ":" in l}
    want = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
    assert headers.get("sec-websocket-accept") == want, headers
    return sock


# --------------------------------------------------------------------------- book checks


def parse_channel(ch: str):
    """'book.SIM:AAPL.10' -> ('SIM:AAPL', 10)"""
    assert ch.startswith("book.") and ch.count(".") >= 2, ch
    return ch[5:ch.rindex(".")], int(ch[ch.rindex(".") + 1:])


def decimal_re(scale: int):
    return re.compile(r"^\d+$" if scale == 0 else r"^\d+\.\d{%d}$" % scale)


class InstrumentRules:
    """Checks a level list against one instrument's scales and tick/lot sizes."""

    def __init__(self, info: dict):
        self.symbol = info["symbol"]
        self.price_re = decimal_re(info["price_scale"])
        self.qty_re = decimal_re(info["qty_scale"])
        self.tick = Decimal(info["tick_size"])
        self.lot = Decimal(info["lot_size"])

    def check_levels(self, levels, side: str, where: str, max_levels: int = 50):
        assert isinstance(levels, list), f"{where}: {side} is not a list"
        assert len(levels) <= max_levels, f"{where}: {len(levels)} {side} levels > depth {max_levels}"
        prev = None
        for lv in levels:
            assert isinstance(lv, list) and len(lv) == 3, f"{where}: bad level {lv!r}"
            price, size, orders = lv
            assert isinstance(price, str) and self.price_re.match(price), f"{where}: bad price {price!r}"
            assert isinstance(size, str) and self.qty_re.match(size), f"{where}: bad size {size!r}"
            assert isinstance(orders, int) and not isinstance(orders, bool) and orders >= 1, \
                f"{where}: bad order count {orders!r}"
            p, q = Decimal(price), Decimal(size)
            assert p > 0 and p % self.tick == 0, f"{where}: price {price} not a positive multiple of tick {self.tick}"
            assert q > 0 and q % self.lot == 0, f"{where}: size {size} not a positive multiple of lot {self.lot}"
            if prev is not None:
                if side == "bids":
                    assert p < prev, f"{where}: bids not strictly descending: {prev} then {p}"
                else:
                    assert p > prev, f"{where}: asks not strictly ascending: {prev} then {p}"
            prev = p

    def check_book(self, bids, asks, where: str, max_levels: int = 50):
        self.check_levels(bids, "bids", where, max_levels)
        self.check_levels(asks, "asks", where, max_levels)
        if bids and asks:
            assert Decimal(bids[0][0]) < Decimal(asks[0][0]), \
                f"{where}: crossed/locked book: best bid {bids[0][0]} >= best ask {asks[0][0]}"


def check_ts(value, name: str, now_ns: int, where: str, window_ns: int = 60 * 10**9):
    assert isinstance(value, int) and not isinstance(value, bool), f"{where}: {name} not an integer: {value!r}"
    assert abs(value - now_ns) < window_ns, \
        f"{where}: {name}={value} is {(value - now_ns) / 1e9:+.3f}s from the client clock"


class BookStreams:
    """Validates every data message a set of clients receive and keeps each client's last
    state per channel. One instance may be shared by several clients: it also checks that
    every client saw the same book for the same (symbol, seq)."""

    def __init__(self, instruments: list):
        self.rules = {i["symbol"]: InstrumentRules(i) for i in instruments}
        self.by_version: dict = {}   # (symbol, seq) -> (depth, bids, asks, ts_exch, ts_recv)
        self.clients: dict = {}      # client name -> ClientStream

    def client(self, name: str, light: bool = False) -> "ClientStream":
        self.clients[name] = ClientStream(self, name, light)
        return self.clients[name]

    def check_same_version(self, symbol, seq, depth, u, where):
        key = (symbol, seq)
        # Tuples of str/int: the garbage collector stops tracking them, so keeping every
        # version seen does not turn into long collection pauses in the client.
        mine = (depth, tuple(map(tuple, u["bids"])), tuple(map(tuple, u["asks"])), u["ts_exch"], u["ts_recv"])
        seen = self.by_version.get(key)
        if seen is None:
            self.by_version[key] = mine
            return
        d = min(seen[0], depth)
        assert seen[1][:d] == mine[1][:d] and seen[2][:d] == mine[2][:d], \
            f"{where}: two different books for {symbol} seq {seq}: {seen[1][:d]}/{seen[2][:d]} vs " \
            f"{mine[1][:d]}/{mine[2][:d]}"
        assert seen[3:] == mine[3:], f"{where}: different timestamps for {symbol} seq {seq}"
        if depth > seen[0]:
            self.by_version[key] = mine


class ClientStream:
    """light=True keeps the per-message checks cheap (sequence, kinds, timestamps, depth,
    best bid < best ask) for tests that measure timing, where a client busy validating
    every level would measure itself instead of the gateway."""

    def __init__(self, owner: BookStreams, name: str, light: bool = False):
        self.owner = owner
        self.name = name
        self.light = light
        self.acked: set = set()          # channels with a `subscribed` ack
        self.last: dict = {}             # channel -> last update dict
        self.count: dict = {}            # channel -> updates received
        self.messages = 0
        self.recv_times: list = []       # monotonic seconds of each data message
        self.freshness_ns: list = []     # (receive realtime ns - ts_recv_oldest) per update
        self.held_ns: list = []          # (ts_send - ts_recv_oldest) per update: the gateway's share
        self.checksums_ok = 0            # book messages whose checksum this client verified

    def on_ack(self, reply: dict, req_id: int, channels: list):
        assert reply.get("type") == "subscribed", f"{self.name}: subscribe failed: {reply}"
        assert reply.get("id") == req_id, f"{self.name}: ack id {reply.get('id')!r} != {req_id}"
        assert reply.get("channels") == channels, f"{self.name}: ack channels {reply.get('channels')} != {channels}"
        self.acked.update(channels)

    def on_unsubscribed(self, reply: dict, req_id: int, channels: list):
        assert reply.get("type") == "unsubscribed", f"{self.name}: unsubscribe failed: {reply}"
        assert reply.get("id") == req_id, f"{self.name}: ack id {reply.get('id')!r} != {req_id}"
        assert reply.get("channels") == channels, f"{self.name}: ack channels {reply.get('channels')} != {channels}"
        for ch in channels:  # data for these after the ack is a failure; a re-subscribe starts with a snapshot
            self.acked.discard(ch)
            self.last.pop(ch, None)

    def on_data(self, msg: dict, recv_ns: int):
        where = f"{self.name} msg#{self.messages}"
        self.messages += 1
        self.recv_times.append(time.monotonic())
        assert msg.get("type") == "data", f"{where}: {msg}"
        ts_send = msg.get("ts_send")
        check_ts(ts_send, "ts_send", recv_ns, where)
        updates = msg.get("updates")
        assert isinstance(updates, list) and updates, f"{where}: updates missing or empty"
        channels = [u.get("channel") for u in updates]
        assert len(set(channels)) == len(channels), f"{where}: a channel twice in one batch: {channels}"
        oldest = None
        merged = 0
        for u in updates:
            ch = u.get("channel")
            w = f"{where} {ch}"
            assert ch in self.acked, f"{w}: data for a channel not (yet) acknowledged; acked={sorted(self.acked)}"
            symbol, depth = parse_channel(ch)
            prev = self.last.get(ch)
            kind = u.get("kind")
            if prev is None:
                assert kind == "snapshot", f"{w}: kind {kind!r}, expected the first message to be a snapshot"
            else:
                assert kind in ("snapshot", "delta"), f"{w}: kind {kind!r}"
            seq = u.get("seq")
            assert isinstance(seq, int) and not isinstance(seq, bool) and seq >= 0, f"{w}: bad seq {seq!r}"
            if kind == "delta":
                assert u.get("prev") == prev["seq"], f"{w}: delta from {u.get('prev')} but this client is at {prev['seq']}"
                assert seq >= prev["seq"], f"{w}: seq {seq} after {prev['seq']} (going back)"
            elif prev is not None:
                assert seq > prev["seq"], f"{w}: snapshot seq {seq} after {prev['seq']} (not newer)"
            for name in ("ts_exch", "ts_recv", "ts_exch_oldest", "ts_recv_oldest"):
                check_ts(u.get(name), name, recv_ns, w)
            assert u["ts_recv_oldest"] <= u["ts_recv"], f"{w}: oldest merged update received after the newest"
            m = u.get("merged")
            assert isinstance(m, int) and m >= 0, f"{w}: bad merged {m!r}"
            merged += m
            oldest = u["ts_recv_oldest"] if oldest is None else min(oldest, u["ts_recv_oldest"])
            # Same host, same clock: the exchange stamp of a simulated event is taken before
            # the gateway receives it, which is before the message is handed to the socket.
            assert u["ts_exch"] <= u["ts_recv"] + 1_000_000, \
                f"{w}: ts_exch {u['ts_exch']} > ts_recv {u['ts_recv']} by {(u['ts_exch'] - u['ts_recv']) / 1e6:.3f} ms"
            assert u["ts_recv"] <= ts_send, \
                f"{w}: ts_recv {u['ts_recv']} > ts_send {ts_send} by {(u['ts_recv'] - ts_send) / 1e6:.3f} ms"
            bids, asks = apply_book(prev, u, w)
            assert u.get("checksum") == book_checksum(bids, asks), \
                f"{w}: checksum {u.get('checksum')} != {book_checksum(bids, asks)} of the book after applying it"
            self.checksums_ok += 1
            state = {"seq": seq, "bids": bids, "asks": asks, "ts_exch": u["ts_exch"], "ts_recv": u["ts_recv"],
                     "quality": u.get("quality")}
            if self.light:
                assert len(bids) <= depth and len(asks) <= depth, f"{w}: more levels than depth {depth}"
                if bids and asks:
                    assert Decimal(bids[0][0]) < Decimal(asks[0][0]), \
                        f"{w}: crossed/locked book: best bid {bids[0][0]} >= best ask {asks[0][0]}"
            else:
                self.owner.rules[symbol].check_book(bids, asks, w, depth)
                self.owner.check_same_version(symbol, seq, depth, state, w)
            self.last[ch] = state
            self.count[ch] = self.count.get(ch, 0) + 1
            self.freshness_ns.append(recv_ns - u["ts_recv_oldest"])
            self.held_ns.append(ts_send - u["ts_recv_oldest"])
        assert msg.get("ts_recv_oldest") == oldest, f"{where}: batch ts_recv_oldest {msg.get('ts_recv_oldest')} != {oldest}"
        assert msg.get("merged") == merged, f"{where}: batch merged {msg.get('merged')} != {merged}"


def apply_book(prev, u: dict, where: str):
    """Applies a v1 book message (snapshot or delta) to the previous state; returns the
    new (bids, asks), best first, as [price, size, orders] lists of the message's strings."""
    out = []
    for side in ("bids", "asks"):
        levels = u.get(side)
        assert isinstance(levels, list), f"{where}: {side} missing"
        book = {} if u["kind"] == "snapshot" else {lv[0]: lv for lv in prev[side]}
        for lv in levels:
            assert isinstance(lv, list) and len(lv) == 3, f"{where}: bad level {lv!r}"
            if Decimal(lv[1]) == 0:
                assert u["kind"] == "delta", f"{where}: size 0 in a snapshot"
                assert lv[0] in book, f"{where}: removes {side} level {lv[0]} that the client does not have"
                del book[lv[0]]
            else:
                book[lv[0]] = list(lv)
        ordered = sorted(book.values(), key=lambda lv: Decimal(lv[0]), reverse=(side == "bids"))
        out.append(ordered)
    return out[0], out[1]


def book_checksum(bids, asks) -> int:
    """docs/protocol.md: CRC-32 of "p:q,p:q|p:q,..." (bids best first, '|', asks best first)."""
    text = ",".join(f"{p}:{q}" for p, q, _ in bids) + "|" + ",".join(f"{p}:{q}" for p, q, _ in asks)
    return zlib.crc32(text.encode())


async def read_stream(ws, stream: ClientStream, stop: asyncio.Event, idle_limit: float | None = None):
    """Reads data messages into stream until stop is set (or idle_limit seconds pass with
    no data message). A heartbeat (the server sent nothing for --heartbeat-ms) has its stamp
    checked and is skipped: a client that fell behind a finished feed reads one after the
    last data.
    Any other non-data message is a failure here."""
    start = time.monotonic()
    for _ in range(10**7):
        if stop.is_set():
            return
        try:
            msg = await recv_json(ws, 0.2)
        except asyncio.TimeoutError:
            last = max([start] + stream.recv_times[-1:])
            if idle_limit is not None and time.monotonic() - last > idle_limit:
                return
            continue
        if msg.get("type") == "heartbeat":
            check_ts(msg.get("ts"), "ts", time.time_ns(), f"{stream.name} heartbeat")
            continue
        stream.on_data(msg, time.time_ns())


def percentile(values, p: float):
    v = sorted(values)
    if not v:
        return None
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def run_async(coro, timeout: float):
    async def bounded():
        return await asyncio.wait_for(coro, timeout)
    return asyncio.run(bounded())
