// Gateway behaviour that a client written from docs/protocol.md runs into, each found by
// the ws (and Beast) clients; run as meson test e2e_node_ws_interop.
// Run: MDGW_BIN=build/gateway/mdgw node --test tests/node/interop.test.mjs
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Conn, tradesIn, withMdgw } from './mdgw_client.mjs';

// A plain JavaScript client (JSON.parse, as in a browser) sends back the epoch it was
// granted, read as a JS number. JSON numbers are exact in JavaScript only up to 2^53
// (RFC 7493, I-JSON): an epoch above that comes back rounded, and the gateway answers
// `reset: epoch` instead of replaying.
test('the granted epoch survives JSON.parse and resumes a stream', { timeout: 30000 }, async () => {
  await withMdgw(['--sim-rate', 20000, '--sim-instruments', 2], async (gw) => {
    const ch = `trades.${(await gw.instruments())[0].symbol}`;
    const c = await Conn.open(gw, 'browser-like');
    const ack = await c.request({ op: 'subscribe', id: 1, channels: [ch] });
    const { epoch } = ack.granted[0];
    assert.ok(await c.until(() => tradesIn(c.of(ch)).length >= 2, 10000), 'no trades');
    const from = tradesIn(c.of(ch))[0].seq + 1;
    assert.equal((await c.request({ op: 'unsubscribe', id: 2, channels: [ch] })).type, 'unsubscribed');
    const again = await c.request({ op: 'subscribe', id: 3, channels: [{ channel: ch, from_seq: from, epoch }] });
    assert.equal(again.granted[0].resume, 'replay',
      `epoch ${ack.raw.match(/"epoch":(\d+)/)[1]} read by JSON.parse as ${epoch}: ${again.raw}`);
    await c.close();
  });
});

// docs/protocol.md: the gateway keeps the last 16 states of a book channel *it sent*, and
// a client at one of them gets a delta. A throttled book channel (here 10/s) gets deltas
// alone; with a ticker subscription on the same instrument (on any connection of the io
// thread) it must still get them.
test('a throttled book gets deltas although its instrument has a ticker subscriber', { timeout: 30000 }, async () => {
  await withMdgw(['--sim-rate', 20000, '--sim-instruments', 4, '--io-threads', 1], async (gw) => {
    const s = (await gw.instruments())[0].symbol;
    const book = `book.${s}.10`;
    const c = await Conn.open(gw, 'throttled');
    const other = await Conn.open(gw, 'ticker');
    assert.equal((await c.request({ op: 'subscribe', id: 1, channels: [{ channel: book, interval_ms: 100 }] })).type, 'subscribed');
    await c.pump(1500);
    const alone = c.of(book).slice(1).map((u) => u.kind);
    assert.ok(alone.length >= 10 && alone.every((k) => k === 'delta'), `without a ticker: ${alone}`);
    assert.equal((await other.request({ op: 'subscribe', id: 1, channels: ['ticker.*'] })).type, 'subscribed');
    c.updates.clear();
    await c.pump(1500);
    const kinds = c.of(book).map((u) => u.kind);
    assert.ok(kinds.length >= 10, `${kinds.length} book messages in 1.5 s`);
    assert.equal(kinds.filter((k) => k === 'snapshot').length, 0,
      `with another client on ticker.*: ${kinds.filter((k) => k === 'snapshot').length} of ${kinds.length} are snapshots`);
    await c.close();
    await other.close();
  });
});
