// Test helpers for driving the real mdgw with the npm `ws` client: start mdgw on a free
// loopback port, read a connection while checking every data message, apply book
// snapshots/deltas and verify their checksums (docs/protocol.md).
//
// Rationale: this is a second, independent client of the protocol (the Python e2e tests
// are the first). It shares no code with the gateway or the Python harness: the CRC-32
// table, the book application and the trade accounting are written again here, so a
// misreading of the spec in one client does not hide in the other.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import readline from 'node:readline';
import WebSocket from 'ws';

const START_TIMEOUT_MS = 15000;

export function mdgwBin() {
  const bin = process.env.MDGW_BIN;
  if (!bin) throw new Error('set MDGW_BIN to the mdgw binary (meson does)');
  return path.resolve(bin);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// One running mdgw; stop() sends SIGTERM and waits for exit code 0.
export class Mdgw {
  static async start(...args) {
    const gw = new Mdgw();
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MDGW_')));
    gw.args = ['--bind', '127.0.0.1', '--port', '0', ...args.map(String)];
    gw.proc = spawn(mdgwBin(), gw.args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    gw.stderr = '';
    gw.proc.stderr.on('data', (d) => { gw.stderr = (gw.stderr + d).slice(-8000); });
    gw.exit = new Promise((resolve) => gw.proc.on('exit', (code, sig) => resolve({ code, sig })));
    gw.port = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`mdgw ${gw.args} printed no listening line`)), START_TIMEOUT_MS);
      const lines = readline.createInterface({ input: gw.proc.stdout });
      lines.on('line', (line) => {
        const m = /mdgw: listening on 127\.0\.0\.1:(\d+)/.exec(line);
        if (m) { clearTimeout(timer); resolve(Number(m[1])); }
      });
      gw.exit.then(({ code }) => { clearTimeout(timer); reject(new Error(`mdgw exited (${code}) before listening: ${gw.stderr}`)); });
    });
    return gw;
  }

  url(p = '/ws') { return `ws://127.0.0.1:${this.port}${p}`; }

  httpJson(p) {
    return new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: this.port, path: p, timeout: 10000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => { body += c; });
        res.on('end', () => {
          try { resolve({ status: res.statusCode, body: JSON.parse(body) }); } catch (e) { reject(new Error(`GET ${p}: ${body}`)); }
        });
      });
      req.on('timeout', () => req.destroy(new Error(`GET ${p}: timeout`)));
      req.on('error', reject);
    });
  }

  async instruments() { return (await this.httpJson('/instruments')).body; }

  async feedState() {
    const { body } = await this.httpJson('/health');
    return body.feeds.find((f) => f.name === 'sim').state;
  }

  async waitSimFinished(timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if ((await this.feedState()) === 'finished') return;
      await sleep(100);
    }
    throw new Error(`simulator not finished after ${timeoutMs} ms`);
  }

  async stop() {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) {
      throw new Error(`mdgw already exited (${this.proc.exitCode}/${this.proc.signalCode}): ${this.stderr}`);
    }
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 10000);
    const { code, sig } = await this.exit;
    clearTimeout(timer);
    if (code !== 0) throw new Error(`mdgw exit ${code}/${sig} after SIGTERM: ${this.stderr}`);
  }

  kill() { if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL'); }
}

// CRC-32 (ISO-HDLC, reflected polynomial 0xEDB88320: zlib's crc32).
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(text) {
  let c = 0xffffffff;
  for (const b of Buffer.from(text, 'latin1')) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// Prices of one instrument have one scale: their digits compare as integers.
const units = (s) => BigInt(s.replace('.', ''));

export function bookChecksum(bids, asks) {
  const side = (levels) => levels.map(([p, q]) => `${p}:${q}`).join(',');
  return crc32(`${side(bids)}|${side(asks)}`);
}

// Applies a book update to the previous state ({seq, bids, asks} or undefined) and returns
// the new state; throws on anything a client must reject (gap, wrong checksum, ...).
export function applyBook(prev, u, where) {
  if (!prev && u.kind !== 'snapshot') throw new Error(`${where}: first book message is ${u.kind}`);
  if (u.kind === 'delta' && u.prev !== prev.seq) throw new Error(`${where}: delta from ${u.prev}, client at ${prev.seq}`);
  if (u.kind !== 'delta' && u.kind !== 'snapshot') throw new Error(`${where}: kind ${u.kind}`);
  if (prev && u.seq < prev.seq) throw new Error(`${where}: seq ${u.seq} goes back from ${prev.seq}`);
  const out = {};
  for (const side of ['bids', 'asks']) {
    const book = new Map(u.kind === 'snapshot' ? [] : prev[side].map((lv) => [lv[0], lv]));
    for (const lv of u[side]) {
      if (units(lv[1]) === 0n) {
        if (u.kind === 'snapshot' || !book.delete(lv[0])) throw new Error(`${where}: removes ${side} ${lv[0]} it does not have`);
      } else {
        book.set(lv[0], lv);
      }
    }
    const sign = side === 'bids' ? -1 : 1;
    out[side] = [...book.values()].sort((a, b) => {
      const d = units(a[0]) - units(b[0]);
      return d === 0n ? 0 : (d > 0n ? sign : -sign);
    });
  }
  const sum = bookChecksum(out.bids, out.asks);
  if (u.checksum !== sum) throw new Error(`${where}: checksum ${u.checksum} != ${sum} of the applied book`);
  return { seq: u.seq, bids: out.bids, asks: out.asks };
}

// One WebSocket connection: every data message is checked and filed by channel (with its
// receive time); book updates are applied and their checksums verified on arrival.
export class Conn {
  static async open(gw, name, wsPath = '/ws') {
    const c = new Conn(name);
    c.ws = new WebSocket(gw.url(wsPath), { maxPayload: 1 << 26, handshakeTimeout: 10000 });
    c.ws.on('message', (data, isBinary) => c.onMessage(data, isBinary));
    c.closed = new Promise((resolve) => c.ws.on('close', (code) => { c.closeCode = code; resolve(code); }));
    c.ws.on('error', (e) => { c.errors.push(e); });
    await new Promise((resolve, reject) => {
      c.ws.once('open', resolve);
      c.ws.once('error', reject);
    });
    return c;
  }

  constructor(name) {
    this.name = name;
    this.updates = new Map();   // channel -> [{t (ms), u}]
    this.books = new Map();     // channel -> {seq, bids, asks}
    this.replies = [];
    this.heartbeats = 0;
    this.checksumsVerified = 0;
    this.dataMessages = 0;
    this.failure = null;        // the first broken rule, reported by check()
    this.errors = [];
    this.waiters = [];
    this.closeCode = null;
  }

  onMessage(data, isBinary) {
    try {
      if (isBinary) throw new Error(`${this.name}: binary frame`);
      const text = data.toString('utf8');
      const msg = JSON.parse(text);
      if (msg.type === 'heartbeat') this.heartbeats++;
      else if (msg.type === 'data') this.onData(msg);
      else this.replies.push(Object.defineProperty(msg, 'raw', { value: text }));
    } catch (e) {
      this.failure ??= e;
    }
    for (const w of this.waiters.splice(0)) w();
  }

  onData(msg) {
    const t = performance.now();
    this.dataMessages++;
    if (!Array.isArray(msg.updates) || msg.updates.length === 0) throw new Error(`${this.name}: data without updates`);
    if (!(msg.ts_recv_oldest <= msg.ts_recv && msg.ts_recv <= msg.ts_send)) throw new Error(`${this.name}: stamps ${JSON.stringify(msg).slice(0, 300)}`);
    for (const u of msg.updates) {
      if (u.channel.startsWith('book.')) {
        this.books.set(u.channel, applyBook(this.books.get(u.channel), u, `${this.name} ${u.channel}`));
        this.checksumsVerified++;
      }
      if (!this.updates.has(u.channel)) this.updates.set(u.channel, []);
      this.updates.get(u.channel).push({ t, sent: msg.ts_send, u });
    }
  }

  check() { if (this.failure) throw this.failure; }

  of(channel, kind) {
    return (this.updates.get(channel) ?? []).map((x) => x.u).filter((u) => kind === undefined || u.kind === kind);
  }

  send(req) { this.ws.send(typeof req === 'string' ? req : JSON.stringify(req)); }

  // Waits until pred() holds (checked after every message) or timeoutMs passes.
  async until(pred, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      this.check();
      const left = deadline - Date.now();
      if (left <= 0 || this.closeCode !== null) return false;
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(timer); resolve(); });
        this.closed.then(resolve);
      });
    }
    this.check();
    return true;
  }

  // Sends req and returns the first reply matching it (by id, or the next reply if the
  // request has no usable id).
  async request(req, timeoutMs = 10000) {
    const n = this.replies.length;
    this.send(req);
    let obj = req;
    if (typeof req === 'string') { try { obj = JSON.parse(req); } catch { obj = null; } }
    const id = obj && typeof obj === 'object' && Number.isInteger(obj.id) && obj.id >= 0 ? obj.id : null;
    const match = (r) => (id === null ? r.id === null : r.id === id);
    const ok = await this.until(() => this.replies.slice(n).some(match), timeoutMs);
    if (!ok) throw new Error(`${this.name}: no reply to ${JSON.stringify(req).slice(0, 200)}`);
    const r = this.replies.slice(n).find(match);
    this.replies.splice(this.replies.indexOf(r), 1);
    return r;
  }

  async pump(ms) { await sleep(ms); this.check(); }

  async close() {
    if (this.closeCode === null) { this.ws.close(1000); await Promise.race([this.closed, sleep(5000)]); }
  }
}

// Starts mdgw with args, runs body(gw), and stops mdgw cleanly (exit 0) afterwards.
// A granted rate as the gateway kept it, read from its send stamps (ts_send, ns; not when
// this client read the messages), over seconds 1 to 4 of the stream: the median spacing is
// the interval within 10%; no second starting at a send holds more than rate + 1 sends
// (due times sit on a grid: a late send may be followed by an on-time one); at least 60% of
// the rate on average, since a machine that stops the gateway for longer than an interval
// costs a slot (CI's loaded 2 cores: 15.7/s of 20 measured from arrival times).
export function checkGrantedRate(ch, sentNs, rate) {
  const s = sentNs.map((x) => (x - sentNs[0]) / 1e9);
  const win = s.filter((x) => x >= 1 && x <= 4);
  assert.ok(win.length >= 3, `${ch}: ${win.length} updates in 3 s`);
  const gaps = win.slice(1).map((x, i) => x - win[i]).sort((a, b) => a - b);
  const median = gaps[gaps.length >> 1];
  let most = 0;
  for (let i = 0, j = 0; i < win.length; ++i) {
    while (j < win.length && win[j] < win[i] + 1) ++j;
    most = Math.max(most, j - i);
  }
  const mean = (win.length - 1) / (win.at(-1) - win[0]);
  const what = `${ch}: granted ${rate}/s, median spacing ${(median * 1e3).toFixed(1)} ms, ${most} in a second, ${mean.toFixed(2)}/s`;
  assert.ok(Math.abs(median - 1 / rate) * rate < 0.1, what);
  assert.ok(most <= rate + 1, what);
  assert.ok(mean >= 0.6 * rate, what);
}

export async function withMdgw(args, body) {
  const gw = await Mdgw.start(...args);
  try {
    await body(gw);
    await gw.stop();
  } finally {
    gw.kill();
  }
}

// The trades of a channel's `trades` updates, checked to be first_seq..seq each.
export function tradesIn(updates) {
  const out = [];
  for (const u of updates) {
    if (u.kind !== 'trades') continue;
    const seqs = u.trades.map((t) => t.seq);
    const want = Array.from({ length: u.seq - u.first_seq + 1 }, (_, k) => u.first_seq + k);
    if (JSON.stringify(seqs) !== JSON.stringify(want)) throw new Error(`trades ${seqs} not ${u.first_seq}..${u.seq}`);
    out.push(...u.trades);
  }
  return out;
}
