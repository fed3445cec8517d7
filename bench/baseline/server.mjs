// The baseline of the load scenarios (issue 6 point 5, docs/performance.md): a minimal
// broadcast server of the kind a user might write instead of mdgw, with the npm `ws`
// package. It replays the same source updates as mdgw (the JSON lines of
// `mdgw capture dump`) and, for every update, builds one message per channel and calls
// `send` once per subscriber. mdgw-bench measures it exactly as it measures mdgw.
//
//   node bench/baseline/server.mjs --events FILE.jsonl [--port N] [--rate N] [--loop]
//                                  [--cert FILE --key FILE] [--bind ADDR]
//
// Rationale
// - Plain and naive on purpose, like a user's first server: no conflation, no batching,
//   no shared encodings across depths, one JSON.stringify per (update, channel) and one
//   ws.send per subscriber. It must not be a straw man either: the message for a channel
//   is encoded once and the same string goes to every subscriber, and a subscriber whose
//   send buffer passes 64 MiB is closed (1008) so a stalled reader cannot exhaust memory.
// - It speaks the part of mdgw's protocol v1 that the harness reads: subscribe/ack,
//   `{"type":"data","ts_send":..,"updates":[{"channel":..,"seq":..,"ts_recv":..}]}` with
//   the gateway-receive stamp ts_recv (the time the update was due, below), and GET
//   /instruments. Books are always sent as snapshots of the
//   subscribed depth (at most the dump's depth), tickers when the best levels or the
//   last trade change, trades one message per trade with a gapless per-instrument seq.
// - Pacing: --rate N source updates (book changes + trades) per second on an owed
//   schedule checked every millisecond; --rate 0 replays flat out in slices of 256
//   updates (so sends interleave with the event loop); without --rate, the recorded pace
//   (t_ns). Nothing owed is ever skipped, and an update's ts_recv is the time it was due
//   (when a feed would have delivered it), not when the event loop got to it: a server
//   that falls behind shows it in freshness instead of hiding it.
// - Clock: CLOCK_REALTIME in ns is performance.timeOrigin + performance.now(), anchored
//   once to process.hrtime.bigint() so stamps are exact integers.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import readline from 'node:readline';
import { WebSocketServer } from 'ws';

const MAX_BUFFERED = 64 * 1024 * 1024;

function parseArgs(argv) {
  const o = { port: 8900, bind: '127.0.0.1', rate: null, loop: false, events: null, cert: null, key: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    const num = (name, s) => {
      const n = Number(s);
      if (!Number.isFinite(n) || n < 0) throw new Error(`${name}: not a number >= 0: '${s}'`);
      return n;
    };
    if (a === '--port') o.port = num(a, v());
    else if (a === '--bind') o.bind = v();
    else if (a === '--rate') o.rate = num(a, v());
    else if (a === '--loop') o.loop = true;
    else if (a === '--events') o.events = v();
    else if (a === '--cert') o.cert = v();
    else if (a === '--key') o.key = v();
    else throw new Error(`unknown option ${a}`);
  }
  if (!o.events) throw new Error('--events FILE (the output of `mdgw capture dump`) is required');
  if ((o.cert === null) !== (o.key === null)) throw new Error('--cert and --key go together');
  return o;
}

const anchorNs = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6)) - process.hrtime.bigint();
const nowNs = () => anchorNs + process.hrtime.bigint();

async function loadEvents(file) {
  const instruments = [];
  const events = [];
  const lines = readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.length === 0) continue;
    let e;
    try {
      e = JSON.parse(line);
    } catch (err) {
      throw new Error(`${file}:${n}: not JSON: ${err.message}`);
    }
    if (e.kind === 'instrument') instruments.push(e.symbol);
    else if (e.kind === 'book' || e.kind === 'trade') events.push(e);
  }
  if (events.length === 0) throw new Error(`${file}: no book or trade event`);
  return { instruments, events };
}

class Instrument {
  constructor(symbol) {
    this.symbol = symbol;
    this.bids = [];
    this.asks = [];
    this.version = 0;
    this.exch = 0;
    this.tickerSeq = 0;
    this.tradeSeq = 0;
    this.last = null; // [price, qty, side]
    this.bookSubs = new Map(); // depth -> Set of sockets
    this.tickerSubs = new Set();
    this.tradeSubs = new Set();
  }
}

function main() {
  const o = parseArgs(process.argv.slice(2));
  loadEvents(o.events).then(({ instruments, events }) => serve(o, instruments, events), (err) => {
    console.error(`baseline: ${err.message}`);
    process.exit(2);
  });
}

function serve(o, symbols, events) {
  const bySymbol = new Map();
  for (const s of symbols) bySymbol.set(s, new Instrument(s));
  for (const e of events) if (!bySymbol.has(e.symbol)) bySymbol.set(e.symbol, new Instrument(e.symbol));
  const instrumentsBody = JSON.stringify({ instruments: [...bySymbol.keys()].map((symbol) => ({ symbol })) });
  let sent = 0;
  let closedSlow = 0;

  const onHttp = (req, res) => {
    if (req.url === '/instruments') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(instrumentsBody);
    } else if (req.url === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ connections: wss.clients.size, sent, closed_slow: closedSlow }));
    } else {
      res.writeHead(404);
      res.end();
    }
  };
  const server = o.cert
    ? https.createServer({ cert: fs.readFileSync(o.cert), key: fs.readFileSync(o.key) }, onHttp)
    : http.createServer(onHttp);
  const wss = new WebSocketServer({ server, path: '/ws', perMessageDeflate: false });

  const send = (subs, msg) => {
    for (const ws of subs) {
      if (ws.bufferedAmount > MAX_BUFFERED) {
        closedSlow++;
        ws.close(1008, 'slow consumer');
        continue;
      }
      ws.send(msg);
      sent++;
    }
  };
  const stamps = (inst, recv) => `"ts_exch":${inst.exch},"ts_recv":${recv}`;
  const bookUpdate = (inst, depth, recv) =>
    `{"channel":"book.${inst.symbol}.${depth}","kind":"snapshot","seq":${inst.version},${stamps(inst, recv)},` +
    `"bids":${JSON.stringify(inst.bids.slice(0, depth))},"asks":${JSON.stringify(inst.asks.slice(0, depth))}}`;
  const tickerUpdate = (inst, recv) => {
    const b = inst.bids[0] ?? [null, null];
    const a = inst.asks[0] ?? [null, null];
    const l = inst.last ?? [null, null, null];
    return `{"channel":"ticker.${inst.symbol}","kind":"ticker","seq":${inst.tickerSeq},${stamps(inst, recv)},` +
      `"bid":${JSON.stringify(b[0])},"bid_size":${JSON.stringify(b[1])},"ask":${JSON.stringify(a[0])},` +
      `"ask_size":${JSON.stringify(a[1])},"last":${JSON.stringify(l[0])},"last_size":${JSON.stringify(l[1])},` +
      `"last_side":${JSON.stringify(l[2])}}`;
  };
  const data = (update) => `{"type":"data","ts_send":${nowNs()},"updates":[${update}]}`;

  const sameTop = (x, y) => (x === undefined && y === undefined) || (x && y && x[0] === y[0] && x[1] === y[1]);
  let versionBase = 0; // added to the dump's versions on each --loop pass
  let passMaxVersion = 0;
  const apply = (e, recv) => {
    const inst = bySymbol.get(e.symbol);
    inst.exch = e.exch_ts;
    if (e.kind === 'book') {
      const topChanged = !sameTop(inst.bids[0], e.bids[0]) || !sameTop(inst.asks[0], e.asks[0]);
      inst.bids = e.bids;
      inst.asks = e.asks;
      inst.version = versionBase + e.version;
      passMaxVersion = Math.max(passMaxVersion, e.version);
      for (const [depth, subs] of inst.bookSubs) if (subs.size) send(subs, data(bookUpdate(inst, depth, recv)));
      if (topChanged) {
        inst.tickerSeq++;
        if (inst.tickerSubs.size) send(inst.tickerSubs, data(tickerUpdate(inst, recv)));
      }
    } else {
      inst.tradeSeq++;
      inst.last = [e.price, e.qty, e.side];
      if (inst.tradeSubs.size) {
        send(inst.tradeSubs, data(`{"channel":"trades.${inst.symbol}","kind":"trade","seq":${inst.tradeSeq},` +
          `${stamps(inst, recv)},"price":"${e.price}","qty":"${e.qty}","side":"${e.side}"}`));
      }
      inst.tickerSeq++;
      if (inst.tickerSubs.size) send(inst.tickerSubs, data(tickerUpdate(inst, recv)));
    }
  };

  const subscribe = (ws, ch) => {
    const m = /^(book|ticker|trades)\.(.+?)(?:\.(\d+))?$/.exec(ch);
    const kind = m?.[1];
    let symbol = m?.[2];
    let depth = m?.[3] ? Number(m[3]) : null;
    if (kind !== 'book' && depth !== null) { symbol = `${symbol}.${depth}`; depth = null; }
    const inst = m && bySymbol.get(symbol);
    if (!inst || (kind === 'book' && !(depth >= 1 && depth <= 10))) return false;
    const recv = nowNs();
    if (kind === 'book') {
      if (!inst.bookSubs.has(depth)) inst.bookSubs.set(depth, new Set());
      inst.bookSubs.get(depth).add(ws);
      ws.send(data(bookUpdate(inst, depth, recv)));
    } else if (kind === 'ticker') {
      inst.tickerSubs.add(ws);
      ws.send(data(tickerUpdate(inst, recv)));
    } else {
      inst.tradeSubs.add(ws);
    }
    ws.subs.push([inst, kind, depth]);
    return true;
  };

  wss.on('connection', (ws) => {
    ws.subs = [];
    ws.on('message', (raw) => {
      let req;
      try {
        req = JSON.parse(raw);
      } catch {
        ws.send('{"type":"error","id":null,"code":1000,"message":"bad json"}');
        return;
      }
      if (req.op === 'ping') {
        ws.send(`{"type":"pong","id":${JSON.stringify(req.id ?? null)},"ts":${nowNs()}}`);
      } else if (req.op === 'subscribe' && Array.isArray(req.channels)) {
        const names = req.channels.map((c) => (typeof c === 'string' ? c : c?.channel));
        const bad = names.find((c) => typeof c !== 'string' || !subscribe(ws, c));
        if (bad !== undefined) {
          ws.send(JSON.stringify({ type: 'error', id: req.id ?? null, code: 1003, message: `unknown channel ${bad}` }));
        } else {
          ws.send(JSON.stringify({ type: 'subscribed', id: req.id ?? null, channels: names }));
        }
      } else {
        ws.send(JSON.stringify({ type: 'error', id: req.id ?? null, code: 1001, message: 'unsupported op' }));
      }
    });
    ws.on('close', () => {
      for (const [inst, kind, depth] of ws.subs) {
        if (kind === 'book') inst.bookSubs.get(depth).delete(ws);
        else if (kind === 'ticker') inst.tickerSubs.delete(ws);
        else inst.tradeSubs.delete(ws);
      }
    });
  });

  // The replay schedule. take(due) applies the next update as received at `due` (ns).
  let next = 0;
  const take = (due) => {
    apply(events[next++], due);
    if (next === events.length && o.loop) {
      next = 0;
      versionBase += passMaxVersion;
      passMaxVersion = 0;
    }
    return next < events.length;
  };
  const startNs = nowNs();
  if (o.rate === 0) {
    const slice = () => {
      for (let k = 0; k < 256; k++) if (!take(nowNs())) return;
      setImmediate(slice);
    };
    setImmediate(slice);
  } else if (o.rate !== null) {
    const nsPerUpdate = 1e9 / o.rate;
    let done = 0;
    // At most a slice of 256 updates per turn of the event loop, so a backlog never keeps
    // it from accepting connections and reading requests (the backlog shows in ts_recv).
    const tick = () => {
      const owed = Math.floor(Number(nowNs() - startNs) / nsPerUpdate);
      const end = Math.min(owed, done + 256);
      for (; done < end; done++) if (!take(startNs + BigInt(Math.round(done * nsPerUpdate)))) return;
      if (done < owed) setImmediate(tick);
      else setTimeout(tick, 1);
    };
    setTimeout(tick, 1);
  } else {
    const t0 = events[0].t_ns;
    let passStart = startNs;
    let lastDue = startNs;
    const tick = () => {
      const now = nowNs();
      for (let k = 0; k < 256; k++) {
        const due = passStart + BigInt(events[next].t_ns - t0);
        if (due > now) return setTimeout(tick, 1);
        lastDue = due;
        if (!take(due)) return;
        if (next === 0) passStart = lastDue;
      }
      setImmediate(tick);
    };
    setTimeout(tick, 1);
  }

  // The listen backlog mdgw takes (SOMAXCONN, 4096 here): Node's default is 511, and
  // clients ramped in faster than a busy event loop accepts would overflow it.
  server.listen({ port: o.port, host: o.bind, backlog: 4096 }, () => {
    console.log(`baseline: listening on ${o.bind}:${server.address().port} (${o.cert ? 'https/wss' : 'http/ws'}), ` +
      `${events.length} updates of ${bySymbol.size} instruments`);
  });
  const stop = () => {
    console.log(`baseline: ${sent} sends, ${closedSlow} slow consumers closed`);
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();
