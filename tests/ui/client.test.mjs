// The JavaScript client (gateway/web/client/mdgw.js, as served at /client/mdgw.js)
// against the real mdgw, from Node: books verified by checksum equal GET /book/<SYM> at
// the end of a finite simulator run, a corrupted update is detected and repaired by a
// resync, trades resume exactly once after a forced reconnect, and the UI's files are
// served with their content types (and nothing outside them).
//   node tests/ui/client.test.mjs /path/to/mdgw
import test from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { startMdgw, waitFor, getJson } from './harness.mjs';

// The module under test is the one the gateway serves, fetched from it: what a browser gets.
async function loadClient(port) {
  const res = await fetch(`http://127.0.0.1:${port}/client/mdgw.js`);
  assert.equal(res.status, 200);
  const src = await res.text();
  return import(`data:text/javascript;base64,${Buffer.from(src).toString('base64')}`);
}

const SYMBOLS = ['SIM:AAPL', 'SIM:MSFT'];

test('books verified by checksum equal GET /book at the end of a finite run; trades resume after a reconnect',
  { timeout: 60000 }, async () => {
    const gw = await startMdgw({ args: ['--sim-instruments', '4', '--sim-rate', '4000', '--sim-events', '16000'] });
    let client = null;
    try {
      const instruments = (await getJson(gw.port, '/instruments')).body.map((i) => i.symbol);
      for (const s of SYMBOLS) assert.ok(instruments.includes(s), `${s} in ${instruments}`);
      const { MdgwClient, bookChecksum, applyBook } = await loadClient(gw.port);
      // docs/protocol.md's example; Python: zlib.crc32(b"187.4200:300,187.4100:1200|187.4300:100")
      assert.equal(bookChecksum([['187.4200', '300'], ['187.4100', '1200']], [['187.4300', '100']]), 576687862);
      client = new MdgwClient(`ws://127.0.0.1:${gw.port}/ws`, { WebSocket, backoffMinMs: 50, backoffMaxMs: 200 });
      const acks = [];
      const errors = [];
      const trades = new Map(SYMBOLS.map((s) => [`trades.${s}`, []]));
      const tickers = new Map();
      const resyncs = [];
      let deltas = 0;
      client.on('subscribed', (msg) => acks.push(msg));
      client.on('error', (e) => errors.push(e));
      client.on('resync', (e) => resyncs.push(e));
      client.on('data', (ev) => {
        if (ev.kind === 'trades') trades.get(ev.channel).push(...ev.trades.map((t) => t.seq));
        if (ev.kind === 'ticker') tickers.set(ev.channel, ev.update);
        if (ev.kind === 'delta') deltas++;
      });
      const books = SYMBOLS.map((s) => `book.${s}.10`);
      client.subscribe(...books, ...SYMBOLS.map((s) => `trades.${s}`), 'ticker.*');
      client.connect();
      await waitFor('the first trades', () => [...trades.values()].every((t) => t.length > 3), 15000);

      // Forced reconnect: the TCP connection dies under the client.
      client.ws.terminate();
      await waitFor('a reconnect', () => client.counters.reconnects === 1 && client.state === 'open', 10000);
      await waitFor('the resume acks', () => acks.length === 2, 5000);
      const resumed = acks[1].granted.filter((g) => g.channel.startsWith('trades.'));
      assert.deepEqual(resumed.map((g) => g.resume), ['replay', 'replay'], JSON.stringify(acks[1]));

      // A corrupted update (wrong checksum) is detected and repaired by a resync.
      const victim = books[0];
      const b = client.book(victim);
      const bad = { channel: victim, kind: 'delta', prev: b.seq, seq: b.seq, quality: 'ok', bids: [], asks: [['1.0000', '100', 1]] };
      const next = applyBook(b, bad);
      bad.checksum = (bookChecksum(next.bids, next.asks) ^ 1) >>> 0;
      client.onMessage({ type: 'data', merged: 0, ts_recv_oldest: 0, updates: [bad] });
      assert.equal(client.counters.checksumMismatch, 1);
      assert.deepEqual(resyncs.map((r) => r.channel), [victim]);
      await waitFor('the resynchronized book', () => !client.book(victim).awaiting, 5000);

      // The simulator stops after its events; then every local book is the gateway's.
      await waitFor('the simulator to finish', async () => (await getJson(gw.port, '/health')).body.feeds[0].state === 'finished', 20000, 200);
      for (const ch of books) {
        const sym = ch.slice(5, -3);
        const want = (await getJson(gw.port, `/book/${sym}?depth=10`)).body;
        // Versions below the top 10 are not sent: the client's seq may be older than the
        // gateway's, the levels may not. Waits for the last message in flight, if any.
        const same = () => JSON.stringify([client.book(ch).bids, client.book(ch).asks]) === JSON.stringify([want.bids, want.asks]);
        await waitFor(`${ch} to equal GET /book`, same, 3000).catch(() => {});
        const got = client.book(ch);
        assert.ok(got.seq <= want.seq && !got.awaiting && got.quality === 'ok', `${ch}: ${JSON.stringify(got)}`);
        assert.deepEqual(got.bids, want.bids, `${ch} bids`);
        assert.deepEqual(got.asks, want.asks, `${ch} asks`);
        assert.ok(Number(got.bids[0][0]) < Number(got.asks[0][0]), `${ch} not crossed`);
      }
      // Trades: every trade of each instrument from the first received on, once, in order,
      // up to the ticker's last trade, across the reconnect.
      for (const s of SYMBOLS) {
        const seqs = trades.get(`trades.${s}`);
        await waitFor(`trades of ${s} up to the ticker's last_seq`,
          () => tickers.get(`ticker.${s}`)?.last_seq === seqs[seqs.length - 1], 5000);
        seqs.forEach((q, i) => assert.equal(q, seqs[0] + i, `${s}: trade ${i} is ${q}, expected ${seqs[0] + i}`));
      }
      assert.equal(client.counters.sequenceGaps, 0);
      assert.equal(client.counters.tradesLost, 0);
      assert.equal(client.counters.checksumMismatch, 1, 'only the injected mismatch');
      assert.ok(client.counters.checksumOk > 50, `checksums verified: ${client.counters.checksumOk}`);
      assert.ok(deltas > 50, `deltas applied: ${deltas}`);
      assert.deepEqual(errors.filter((e) => e.code !== null), [], 'no server errors');
      assert.match(String(acks[1].granted.find((g) => g.epoch).epoch), /^\d+$/);
    } finally {
      client?.close();
      assert.equal(await gw.stop(), 0, gw.stderr());
    }
  });

test('the UI is served with content types; paths outside it are not', { timeout: 30000 }, async () => {
  const gw = await startMdgw({ args: ['--sim-instruments', '2'] });
  try {
    const want = { '/': 'text/html', '/index.html': 'text/html', '/app.js': 'text/javascript',
      '/app.css': 'text/css', '/client/mdgw.js': 'text/javascript' };
    for (const [path, type] of Object.entries(want)) {
      const res = await fetch(`http://127.0.0.1:${gw.port}${path}`);
      assert.equal(res.status, 200, path);
      assert.ok(res.headers.get('content-type').startsWith(type), `${path}: ${res.headers.get('content-type')}`);
      assert.ok((await res.text()).length > 500, path);
    }
    // Raw requests: fetch() would normalize the dots away.
    const net = await import('node:net');
    for (const path of ['/../gateway/http_handler.cpp', '/client/../index.html', '/%2e%2e/meson.build',
      '/client/./mdgw.js', '/embed_web.py', '/web/index.html']) {
      const reply = await new Promise((resolve, reject) => {
        const s = net.connect(gw.port, '127.0.0.1', () => s.end(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
        let out = '';
        s.on('data', (d) => { out += d; });
        s.on('end', () => resolve(out));
        s.on('error', reject);
      });
      assert.match(reply, /^HTTP\/1\.1 404 /, `${path}: ${reply.slice(0, 80)}`);
    }
  } finally {
    assert.equal(await gw.stop(), 0, gw.stderr());
  }
});
