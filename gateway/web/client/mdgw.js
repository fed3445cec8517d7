// mdgw JavaScript client: an ES module without dependencies, for browsers and Node.
//
// Speaks protocol v1 (docs/protocol.md): subscribes, keeps a local book per book channel
// from snapshots and deltas, verifies every delta's `prev` against the book it applies to
// and every checksum (CRC-32 of "p:q,p:q|p:q,..."), and resynchronizes a channel that
// fails (unsubscribe + subscribe: a snapshot follows). Trade streams are followed by seq
// and resumed after a reconnect (from_seq + epoch). Reconnects with exponential backoff
// and jitter; a connection silent for 3 heartbeat intervals is treated as dead.
// Usage: docs/client.md.
//
// Rationale: no framework and no build step, so the same file is served to the browser
// at /client/mdgw.js and imported by Node (pass `WebSocket` from the `ws` package where
// there is no global one). Prices and sizes stay the exact decimal strings of the
// messages (the checksum is over those strings); Number() is used only to order levels.

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (ISO-HDLC, zlib's crc32) of an ASCII string. */
export function crc32(text) {
  let c = 0xffffffff;
  for (let i = 0; i < text.length; i++) c = CRC_TABLE[(c ^ text.charCodeAt(i)) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The protocol's book checksum: bids best first, '|', asks best first, each "price:size". */
export function bookChecksum(bids, asks) {
  const side = (levels) => levels.map((l) => `${l[0]}:${l[1]}`).join(',');
  return crc32(`${side(bids)}|${side(asks)}`);
}

/**
 * Applies a book update (snapshot or delta) to `prev` ({bids, asks}, or null for a
 * snapshot) and returns the new {bids, asks}, best first, as [price, size, orders].
 */
export function applyBook(prev, u) {
  const out = {};
  for (const side of ['bids', 'asks']) {
    const book = new Map(u.kind === 'snapshot' || !prev ? [] : prev[side].map((l) => [l[0], l]));
    for (const l of u[side] || []) {
      if (Number(l[1]) === 0) book.delete(l[0]);
      else book.set(l[0], l);
    }
    const sign = side === 'bids' ? -1 : 1;
    out[side] = [...book.values()].sort((a, b) => sign * (Number(a[0]) - Number(b[0])));
  }
  return out;
}

const BOOK_RE = /^book\.(.+)\.(\d+)$/;

// Trade epochs are below 2^53 (docs/protocol.md), so JSON.parse reads them exactly and
// they go back as they came. The ns stamps (ts_*) are rounded by a few hundred ns as JS
// numbers, which does not matter to a latency shown in ms.

function channelName(c) {
  return typeof c === 'string' ? c : c.channel;
}

/**
 * A connection to mdgw that survives reconnects.
 *
 * Events (client.on(type, fn), returns a function that removes the listener):
 *  - 'data'   {channel, kind, update, book?, trades?}  every update after it was applied;
 *             book updates carry the verified local book {bids, asks, seq, quality}
 *  - 'batch'  {msg, recvNs, latencyNs}  every data message (latencyNs: receive time minus
 *             the oldest ts_recv_oldest of its updates on channels that already had one on
 *             this connection; null when there is none, e.g. only snapshots or notices)
 *  - 'status' {state: 'connecting'|'open'|'closed', attempt, delayMs?, code?, reason?}
 *  - 'resync' {channel, reason: 'checksum'|'sequence'}  a book channel is resubscribed
 *  - 'subscribed' the server's ack (its `granted` says how each trade stream resumed)
 *  - 'error'  {code, message, id?}  server error replies and client-side failures
 */
export class MdgwClient {
  constructor(url, options = {}) {
    this.url = url;
    this.WebSocket = options.WebSocket || globalThis.WebSocket;
    if (!this.WebSocket) throw new Error('mdgw client: no WebSocket (pass options.WebSocket)');
    this.wsArgs = options.wsArgs || [];
    this.backoffMinMs = options.backoffMinMs ?? 250;
    this.backoffMaxMs = options.backoffMaxMs ?? 10000;
    this.heartbeatMs = options.heartbeatMs ?? 5000;
    this.listeners = new Map();
    this.channels = new Map();   // name -> subscription spec (string or object)
    this.books = new Map();      // book channel -> {bids, asks, seq, quality, awaiting}
    this.trades = new Map();     // trades channel -> {epoch, next}
    this.seen = new Set();       // channels that had an update on this connection
    this.counters = { messages: 0, updates: 0, checksumOk: 0, checksumMismatch: 0, sequenceGaps: 0,
                      resyncs: 0, reconnects: 0, tradesLost: 0, tradesReset: 0 };
    this.state = 'closed';
    this.attempt = 0;
    this.nextId = 1;
    this.ws = null;
    this.closedByUser = false;
    this.timer = null;
    this.watchdog = null;
    this.lastRecv = 0;
  }

  on(type, fn) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type).add(fn);
    return () => this.listeners.get(type).delete(fn);
  }

  emit(type, ev) {
    for (const fn of this.listeners.get(type) || []) {
      try {
        fn(ev);
      } catch (e) {
        if (type !== 'error') this.emit('error', { code: null, message: `listener failed: ${e}` });
      }
    }
  }

  /** Opens the connection (and keeps it open until close()). */
  connect() {
    this.closedByUser = false;
    this.open();
    return this;
  }

  close() {
    this.closedByUser = true;
    clearTimeout(this.timer);
    clearInterval(this.watchdog);
    if (this.ws) this.ws.close(1000);
    this.setState({ state: 'closed', attempt: this.attempt });
  }

  /** Subscribes to channels: names or {channel, max_rate | interval_ms}. Kept over reconnects. */
  subscribe(...channels) {
    const fresh = channels.filter((c) => !this.channels.has(channelName(c)));
    for (const c of fresh) {
      this.channels.set(channelName(c), c);
      if (BOOK_RE.test(channelName(c))) this.books.set(channelName(c), this.emptyBook());
    }
    if (fresh.length && this.state === 'open') this.request('subscribe', fresh.map((c) => this.resumeSpec(c)));
  }

  unsubscribe(...names) {
    const known = names.filter((n) => this.channels.delete(n));
    for (const n of known) {
      this.books.delete(n);
      this.trades.delete(n);
    }
    if (known.length && this.state === 'open') this.request('unsubscribe', known);
  }

  /** The verified local book of a book channel ({bids, asks, seq, quality}), or undefined. */
  book(channel) {
    return this.books.get(channel);
  }

  /** Asks for the instrument list; resolves with the reply's array. */
  list() {
    return new Promise((resolve, reject) => {
      const id = this.request('list');
      if (id === null) reject(new Error('not connected'));
      else this.pendingList = { id, resolve };
    });
  }

  // ------------------------------------------------------------------ internals

  emptyBook() {
    return { bids: [], asks: [], seq: null, quality: 'resyncing', awaiting: true };
  }

  setState(ev) {
    this.state = ev.state;
    this.emit('status', ev);
  }

  request(op, channels) {
    if (!this.ws || this.state !== 'open') return null;
    const id = this.nextId++;
    const msg = channels ? { op, id, channels } : { op, id };
    this.ws.send(JSON.stringify(msg));
    return id;
  }

  // A trades channel resumes where it stopped (the server replays or says reset).
  resumeSpec(c) {
    const t = this.trades.get(channelName(c));
    if (!t || t.next === null || t.epoch === null) return c;
    const base = typeof c === 'string' ? { channel: c } : { ...c };
    return { ...base, from_seq: t.next, epoch: t.epoch };
  }

  open() {
    clearTimeout(this.timer);
    this.setState({ state: 'connecting', attempt: this.attempt });
    let ws;
    try {
      ws = new this.WebSocket(this.url, ...this.wsArgs);
    } catch (e) {
      this.emit('error', { code: null, message: `connect failed: ${e.message || e}` });
      this.scheduleReconnect(null, String(e));
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      if (this.attempt > 0) this.counters.reconnects++;
      this.attempt = 0;
      this.lastRecv = Date.now();
      this.seen = new Set();
      this.setState({ state: 'open', attempt: 0 });
      for (const [name, b] of this.books) this.books.set(name, { ...this.emptyBook(), bids: b.bids, asks: b.asks });
      if (this.channels.size) this.request('subscribe', [...this.channels.values()].map((c) => this.resumeSpec(c)));
      clearInterval(this.watchdog);
      this.watchdog = setInterval(() => {
        if (this.ws === ws && Date.now() - this.lastRecv > 3 * this.heartbeatMs) ws.close(4000, 'no heartbeat');
      }, this.heartbeatMs);
    };
    ws.onmessage = (e) => {
      if (this.ws !== ws) return;
      this.lastRecv = Date.now();
      let msg;
      try {
        msg = JSON.parse(String(e.data));
      } catch (err) {
        this.emit('error', { code: null, message: `bad message: ${err.message}` });
        return;
      }
      this.onMessage(msg);
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      clearInterval(this.watchdog);
      this.ws = null;
      if (this.closedByUser) return;
      this.scheduleReconnect(e.code, e.reason);
    };
    ws.onerror = () => {};  // onclose follows and reconnects
  }

  scheduleReconnect(code, reason) {
    const base = Math.min(this.backoffMaxMs, this.backoffMinMs * 2 ** this.attempt);
    const delayMs = Math.round(base / 2 + Math.random() * base / 2);
    this.attempt++;
    for (const b of this.books.values()) b.quality = 'resyncing';
    this.setState({ state: 'closed', attempt: this.attempt, delayMs, code, reason });
    this.timer = setTimeout(() => this.open(), delayMs);
  }

  onMessage(msg) {
    this.counters.messages++;
    switch (msg.type) {
      case 'data': return this.onData(msg);
      case 'subscribed': return this.onSubscribed(msg);
      case 'instruments':
        if (this.pendingList && this.pendingList.id === msg.id) this.pendingList.resolve(msg.instruments);
        return undefined;
      case 'error': return this.emit('error', { code: msg.code, message: msg.message, id: msg.id });
      default: return undefined;  // heartbeat, pong, unsubscribed
    }
  }

  onSubscribed(msg) {
    this.emit('subscribed', msg);
    for (const g of msg.granted || []) {
      if (g.epoch === undefined) continue;
      this.trades.set(g.channel, { epoch: g.epoch, next: g.next_seq });
    }
  }

  onData(msg) {
    const recvNs = Date.now() * 1e6;
    // Delivery latency: the oldest update merged into the channels this connection already
    // follows. A channel's first update (a snapshot, an initial ticker or status) tells how
    // old that state is, not how long a change took to arrive, so it is left out.
    let oldest = null;
    for (const u of msg.updates) {
      if (!this.seen.has(u.channel)) {
        this.seen.add(u.channel);
      } else if (u.ts_recv_oldest !== undefined && (oldest === null || u.ts_recv_oldest < oldest)) {
        oldest = u.ts_recv_oldest;
      }
    }
    const latencyNs = oldest !== null ? recvNs - oldest : null;
    this.emit('batch', { msg, recvNs, latencyNs });
    for (const u of msg.updates) {
      if (!this.channels.has(u.channel) && !this.coveredByWildcard(u.channel)) continue;
      this.counters.updates++;
      if (u.channel.startsWith('book.')) this.onBook(u);
      else if (u.channel.startsWith('trades.')) this.onTrades(u);
      else this.emit('data', { channel: u.channel, kind: u.kind, update: u });
    }
  }

  coveredByWildcard(channel) {
    const dot = channel.indexOf('.');
    return this.channels.has(`${channel.slice(0, dot)}.*`);
  }

  onBook(u) {
    const b = this.books.get(u.channel);
    if (!b) return;
    if (u.kind === 'delta') {
      if (b.awaiting) return;  // a resync is under way: only a snapshot is usable
      if (u.prev !== b.seq) {
        this.counters.sequenceGaps++;
        this.resync(u.channel, 'sequence');
        return;
      }
    }
    const next = applyBook(b, u);
    if (bookChecksum(next.bids, next.asks) !== u.checksum) {
      this.counters.checksumMismatch++;
      this.resync(u.channel, 'checksum');
      return;
    }
    this.counters.checksumOk++;
    const book = { bids: next.bids, asks: next.asks, seq: u.seq, quality: u.quality, awaiting: false };
    this.books.set(u.channel, book);
    this.emit('data', { channel: u.channel, kind: u.kind, update: u, book });
  }

  resync(channel, reason) {
    this.counters.resyncs++;
    const b = this.books.get(channel);
    b.awaiting = true;
    b.quality = 'resyncing';
    this.emit('resync', { channel, reason });
    this.emit('error', { code: null, message: `${channel}: ${reason} mismatch, resynchronizing` });
    this.request('unsubscribe', [channel]);
    this.request('subscribe', [this.channels.get(channel)]);
  }

  onTrades(u) {
    const t = this.trades.get(u.channel) || { epoch: u.epoch, next: null };
    if (u.kind === 'lost') {
      this.counters.tradesLost += u.lost;
      t.next = u.resume_seq;
    } else if (u.kind === 'reset') {
      this.counters.tradesReset++;
      t.next = u.seq + 1;
    } else if (u.kind === 'trades') {
      if (t.next !== null && u.first_seq !== t.next) {
        this.counters.sequenceGaps++;
        this.emit('error', { code: null, message: `${u.channel}: trade ${u.first_seq} after ${t.next - 1}` });
      }
      t.next = u.seq + 1;
    }
    t.epoch = u.epoch;
    this.trades.set(u.channel, t);
    this.emit('data', { channel: u.channel, kind: u.kind, update: u, trades: u.trades || [] });
  }
}
