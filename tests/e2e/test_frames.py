"""Every frame a client receives is whole while the gateway writes data frames straight to
the socket and Beast writes its own frames (pongs) on the same connection.

A raw client with a small receive buffer alternates between not reading (its receive
queue fills and the gateway's data queues behind it) and draining, and sends a ping every
few milliseconds all along. (The server's send buffer grows to megabytes on loopback, so
this rarely makes a direct write partial; the order of a partial frame and Beast's writes
is proven with 4 KiB buffers in tests/gateway/direct_socket_test.cpp.) It parses the byte stream frame by frame: each frame must be a
final, unmasked text frame of valid JSON or a pong; the pongs must echo the pings in order
and all of them must come; the book updates must chain (each delta from the seq the
client is at) with checksums that match (mdgw_harness.ClientStream)."""
import sys

sys.dont_write_bytecode = True

import fcntl
import json
import struct
import termios
import time
import unittest

import mdgw_harness as h

RUN_S = 8.0
RCVBUF = 8192
PING_EVERY_S = 0.005
STALL_S = 0.08   # not reading
DRAIN_S = 0.04   # reading everything that comes


class FrameReader:
    """RFC 6455 5.2 frames of a server (never masked), parsed from a byte stream."""

    def __init__(self):
        self.buf = bytearray()

    def frames(self, data: bytes):
        self.buf += data
        while len(self.buf) >= 2:
            b0, b1 = self.buf[0], self.buf[1]
            assert b1 & 0x80 == 0, f"a masked server frame: {bytes(self.buf[:16])!r}"
            assert b0 & 0x70 == 0, f"reserved bits set: {b0:#04x} in {bytes(self.buf[:16])!r}"
            n, off = b1 & 0x7F, 2
            if n == 126:
                if len(self.buf) < 4:
                    return
                n, off = struct.unpack_from("!H", self.buf, 2)[0], 4
            elif n == 127:
                if len(self.buf) < 10:
                    return
                n, off = struct.unpack_from("!Q", self.buf, 2)[0], 10
            if len(self.buf) < off + n:
                return
            payload = bytes(self.buf[off:off + n])
            del self.buf[:off + n]
            yield bool(b0 & 0x80), b0 & 0x0F, payload


class Frames(unittest.TestCase):
    def test_direct_data_frames_and_pongs_stay_whole(self):
        with h.Mdgw("--sim-rate", "20000", "--io-threads", "1") as gw:
            inst = gw.instruments()
            self.assertGreaterEqual(len(inst), 20)
            channels = [f"book.{i['symbol']}.50" for i in inst[:20]]
            stream = h.BookStreams(inst).client("raw", light=True)
            sock = h.raw_ws_connect(gw.port, RCVBUF)
            reader = FrameReader()
            sent, ponged, max_inq, subscribed = [], 0, 0, False

            def handle(data: bytes):
                nonlocal ponged, subscribed
                for fin, op, payload in reader.frames(data):
                    self.assertTrue(fin, f"a fragmented frame (opcode {op}): the gateway sends whole messages")
                    if op == 0xA:
                        self.assertLess(ponged, len(sent), f"a pong nobody asked for: {payload!r}")
                        self.assertEqual(payload, sent[ponged], f"pong #{ponged} echoes {payload!r}")
                        ponged += 1
                    elif op == 0x1:
                        msg = json.loads(payload.decode("utf-8"))  # a torn frame fails here
                        kind = msg.get("type")
                        if kind == "subscribed":
                            stream.on_ack(msg, 1, channels)
                            subscribed = True
                        elif kind == "data":
                            stream.on_data(msg, time.time_ns())
                        else:
                            self.assertEqual(kind, "heartbeat", f"unexpected message {payload[:300]!r}")
                    else:
                        self.fail(f"unexpected opcode {op} ({payload[:100]!r})")

            def read_for(seconds: float):
                until = time.monotonic() + seconds
                while time.monotonic() < until:
                    try:
                        data = sock.recv(65536)
                    except BlockingIOError:
                        time.sleep(0.001)
                        continue
                    self.assertTrue(data, "the gateway closed the connection")
                    handle(data)

            def ping():
                payload = f"ping {len(sent)}".encode()
                sent.append(payload)
                sock.sendall(h.ws_frame(payload, opcode=0x9))

            try:
                sock.sendall(h.ws_frame(json.dumps({"op": "subscribe", "id": 1, "channels": channels}).encode()))
                sock.setblocking(False)
                t_end = time.monotonic() + RUN_S
                while time.monotonic() < t_end:
                    stall_end = time.monotonic() + STALL_S
                    while time.monotonic() < stall_end:
                        ping()
                        time.sleep(PING_EVERY_S)
                    inq = int.from_bytes(fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0\0\0\0"), sys.byteorder)
                    max_inq = max(max_inq, inq)
                    ping()
                    read_for(DRAIN_S)
                # No more pings: every one sent must be answered, in order.
                until = time.monotonic() + 10
                while ponged < len(sent) and time.monotonic() < until:
                    read_for(0.05)
            finally:
                sock.close()
            print(f"\n{len(sent)} pings, {ponged} pongs, {stream.messages} data messages, "
                  f"{stream.checksums_ok} book updates verified, receive queue up to {max_inq} bytes", file=sys.stderr)
            self.assertTrue(subscribed, "no subscribe ack")
            self.assertEqual(ponged, len(sent), "pongs missing")
            self.assertGreater(stream.messages, 50, "too few data messages to say anything")
            self.assertGreater(stream.checksums_ok, 200)
            # The client really pushed back: its receive queue filled while it did not read.
            self.assertGreater(max_inq, RCVBUF // 2, "the receive buffer never filled: no partial writes were forced")


if __name__ == "__main__":
    h.main()
