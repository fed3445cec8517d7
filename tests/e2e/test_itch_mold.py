"""ITCH over MoldUDP64 through the real gateway: mdgw-moldcast replays the RITCH sample on
loopback multicast, dropping 1% of the packets and answering re-requests 150 ms late (under the 250 ms the receiver waits before it gives up); mdgw
joins the group, recovers every gap, shows the instruments stale while a gap is open
(a WebSocket client sees quality "stale", then "ok" again), and ends with the same books
as `mdgw book` on the file; `mdgw book --mold-group` reads the stream the same way."""
import sys

sys.dont_write_bytecode = True

import asyncio
import json
import os
import random
import subprocess
import time
import unittest

import websockets

import mdgw_harness as h
from test_itch import SAMPLE, book_command, levels, parse_books

MOLDCAST = os.environ.get("MDGW_MOLDCAST", "")


def stop(p: subprocess.Popen) -> str:
    if p.poll() is None:
        p.terminate()
    out, _ = p.communicate(timeout=20)
    return out


def free_group() -> str:
    return f"239.193.{random.randint(1, 254)}.{random.randint(1, 254)}:{random.randint(20000, 60000)}"


@unittest.skipUnless(os.path.isfile(SAMPLE), f"RITCH sample not found at {SAMPLE}")
@unittest.skipUnless(MOLDCAST, "MDGW_MOLDCAST not set (meson passes the built bench/mdgw-moldcast)")
class ItchMoldThroughGateway(unittest.TestCase):
    def test_one_percent_loss_recovered_books_equal_the_file(self):
        want = book_command("--itch", SAMPLE, "--depth", "50")
        group = free_group()
        # mdgw joins first; the replayer starts after it listens (multicast has no replay).
        # The replayer's port is only known once it runs, so mdgw gets a fixed one.
        retrans_port = random.randint(20000, 60000)
        with h.Mdgw("--itch-mold-group", group, "--itch-mold-retrans", f"127.0.0.1:{retrans_port}",
                    "--itch-date", "2010-12-24", "--sim-instruments", "0") as gw:
            qualities = []
            statuses = []  # (quality, quality_reason) of status.NASDAQ:ALC

            async def watch(stop_ev):
                # A client following one book sees stale while a gap is open.
                async with websockets.connect(gw.ws_url(), max_size=h.MAX_CLIENT_MESSAGE) as ws:
                    subscribed = False
                    while not stop_ev.is_set():
                        if not subscribed:
                            if any(i["symbol"] == "NASDAQ:ALC" for i in gw.instruments()):
                                await ws.send(json.dumps({"op": "subscribe", "id": 1,
                                                          "channels": ["book.NASDAQ:ALC.5", "status.NASDAQ:ALC"]}))
                                subscribed = True
                            else:
                                await asyncio.sleep(0.01)
                                continue
                        try:
                            msg = json.loads(await asyncio.wait_for(ws.recv(), 0.2))
                        except asyncio.TimeoutError:
                            continue
                        for u in msg.get("updates", []):
                            if u["channel"].startswith("status."):
                                statuses.append((u["quality"], u["quality_reason"]))
                            else:
                                qualities.append(u.get("quality"))

            http_qualities = []

            async def poll_http(stop_ev):
                # A plain HTTP client polling the book sees it too.
                while not stop_ev.is_set():
                    status, body = await asyncio.to_thread(gw.http_json, "/book/NASDAQ:ALC?depth=1")
                    if status == 200:
                        http_qualities.append(body["quality"])
                    await asyncio.sleep(0.01)

            async def scenario():
                stop_ev = asyncio.Event()
                task = asyncio.create_task(watch(stop_ev))
                poller = asyncio.create_task(poll_http(stop_ev))
                await asyncio.sleep(0.3)
                cast = subprocess.Popen([MOLDCAST, "--file", SAMPLE, "--group", group,
                                         "--retrans-port", str(retrans_port), "--drop", "0.01", "--seed", "3",
                                         "--message-rate", "4000", "--retrans-delay-ms", "150",
                                         "--linger-ms", "20000"],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                try:
                    deadline = time.monotonic() + 40
                    while time.monotonic() < deadline and gw.feed_state("itch") != "finished":
                        await asyncio.sleep(0.1)
                finally:
                    summary = stop(cast)
                await asyncio.sleep(0.5)
                stop_ev.set()
                await task
                await poller
                return summary

            summary = h.run_async(scenario(), 60)
            self.assertEqual(gw.feed_state("itch"), "finished", gw.health())
            self.assertIn("dropped=", summary)
            dropped = int(summary.split("dropped=")[1].split()[0])
            self.assertGreater(dropped, 0, summary)
            feed = [f for f in gw.health()["feeds"] if f["name"] == "itch"][0]
            self.assertEqual(feed["events"], 12012, feed)
            self.assertEqual(feed["errors"], 0, feed)
            for sym, book in want.items():
                status, body = gw.http_json(f"/book/NASDAQ:{sym}?depth=50")
                self.assertEqual(status, 200, body)
                self.assertEqual(body["quality"], "ok", f"{sym}: every gap was filled")
                self.assertEqual(levels(body["bids"]), book["bids"], sym)
                self.assertEqual(levels(body["asks"]), book["asks"], sym)
            self.assertIn("stale", http_qualities, f"a 150 ms gap was never shown as stale: {http_qualities[:50]}")
            self.assertEqual(http_qualities[-1], "ok", http_qualities[-20:])
            self.assertTrue(qualities, "the WebSocket client got no book messages")
            self.assertIn("stale", qualities, f"WebSocket: a 150 ms gap never shown as stale: {qualities[:50]}")
            self.assertEqual(qualities[-1], "ok", qualities[-20:])
            # The status channel says why: a packet gap being re-requested, then ok again.
            self.assertIn(("stale", "packet_gap"), statuses, statuses[:20])
            self.assertEqual(statuses[-1], ("ok", ""), statuses[-5:])

    def test_book_command_reads_the_multicast_stream(self):
        want = book_command("--itch", SAMPLE, "--symbols", "ALC,BOB")
        group = free_group()
        retrans_port = random.randint(20000, 60000)
        book = subprocess.Popen([h.mdgw_bin(), "book", "--mold-group", group, "--mold-retrans",
                                 f"127.0.0.1:{retrans_port}", "--symbols", "ALC,BOB"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.3)
        cast = subprocess.Popen([MOLDCAST, "--file", SAMPLE, "--group", group, "--retrans-port", str(retrans_port),
                                 "--drop", "0.01", "--seed", "5", "--message-rate", "20000", "--linger-ms", "20000"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            out, err = book.communicate(timeout=40)
        finally:
            stop(cast)
        self.assertEqual(book.returncode, 0, err)
        got = parse_books(out)
        self.assertEqual(got, want)


if __name__ == "__main__":
    h.main()
