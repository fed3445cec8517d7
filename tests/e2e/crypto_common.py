"""Shared by the crypto e2e tests: the captures, the instrument options mdgw and
crypto_dump are given, the expected books (crypto_dump: the captures replayed straight
into the handlers), and reading the gateway's books and feed counters."""
from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.parse

import mdgw_harness as h

DATA = os.environ.get("CRYPTO_DATA_DIR") or os.path.join(os.path.dirname(__file__), "../../../shared/data/crypto")
DUMP = os.environ.get("CRYPTO_DUMP", "")
DEPTH = 50  # the most GET /book returns, and what crypto_dump prints


def data(name: str) -> str:
    return os.path.join(DATA, name)


# Kraken pairs with their pair_decimals as Kraken prints them in kraken-book.ws.
KRAKEN_SYMBOLS = ("WAVES/EUR:6,XMR/USD:8,KSM/XBT:8,GRT/ETH:9,SC/EUR:6,ETH/CHF:5,OCEAN/XBT:9,"
                  "OMG/USD:6,XBT/CHF:5,ADA/XBT:9")
BINANCE_SYMBOLS = "NKNUSDT,BLZETH,LRCBTC,RUNEEUR"
COINBASE_SYMBOLS = "SKL-USD,SKL-BTC,BAND-GBP,NMR-EUR,BAND-BTC,YFI-BTC,DASH-BTC,NU-GBP,CRV-EUR,SKL-GBP"

SYMBOL_ARGS = {
    "kraken": ["--kraken-symbols", KRAKEN_SYMBOLS],
    "binance": ["--binance-symbols", BINANCE_SYMBOLS],
    "coinbase": ["--coinbase-symbols", COINBASE_SYMBOLS, "--coinbase-products", data("coinbase-products.rest")],
}


def replay_args(venue: str) -> list[str]:
    src = {
        "kraken": ["--kraken-replay", data("kraken-book.ws")],
        "binance": ["--binance-replay", data("binance-depth.ws") + "," + data("binance-depth-snapshots.rest")],
        "coinbase": ["--coinbase-replay", data("coinbase-level2.ws")],
    }[venue]
    return SYMBOL_ARGS[venue] + src


# A one-instrument simulator that never moves, next to the crypto feeds.
QUIET_SIM = ["--sim-instruments", "1", "--sim-rate", "1", "--sim-events", "1"]


def expected_books(venues, depth: int = DEPTH) -> dict:
    """{symbol: {"quality", "bids", "asks"}} from crypto_dump over the clean captures
    (top `depth` levels a side)."""
    if not DUMP:
        raise RuntimeError("CRYPTO_DUMP (the crypto_dump tool) is not set")
    args = [DUMP]
    for v in venues:
        args += replay_args(v)
    env = dict(os.environ, CRYPTO_DUMP_DEPTH=str(depth))
    out = subprocess.run(args, check=True, capture_output=True, text=True, timeout=60, env=env)
    return json.loads(out.stdout)


def book(gw: h.Mdgw, symbol: str) -> dict:
    status, body = gw.http_json(f"/book/{urllib.parse.quote(symbol, safe='')}?depth={DEPTH}")
    assert status == 200, (symbol, status, body)
    return body


def feed(gw: h.Mdgw, name: str) -> dict:
    feeds = [f for f in gw.health()["feeds"] if f["name"] == name]
    assert len(feeds) == 1, gw.health()
    return feeds[0]


def book_differences(gw: h.Mdgw, expected: dict) -> list[str]:
    """Symbols whose served book (levels and quality) differs from the expected one."""
    diffs = []
    for sym, want in expected.items():
        got = book(gw, sym)
        if got["quality"] != want["quality"] or got["bids"] != want["bids"] or got["asks"] != want["asks"]:
            diffs.append(f"{sym}: quality {got['quality']} vs {want['quality']}, "
                         f"{len(got['bids'])}/{len(got['asks'])} levels vs {len(want['bids'])}/{len(want['asks'])}, "
                         f"best {got['bids'][:1]}/{got['asks'][:1]} vs {want['bids'][:1]}/{want['asks'][:1]}")
    return diffs


def wait_books_equal(gw: h.Mdgw, expected: dict, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    diffs = ["not checked"]
    while time.monotonic() < deadline:
        diffs = book_differences(gw, expected)
        if not diffs:
            return
        time.sleep(0.2)
    raise AssertionError(f"books still differ after {timeout}s:\n" + "\n".join(diffs))
