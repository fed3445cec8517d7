// mdgw trading screen: ticker board (ticker.* + status.*), depth ladder and trade tape of
// the selected instrument (book.<SYM>.<depth>, trades.<SYM>), price chart, connection panel.
// All data comes through the client at /client/mdgw.js, which verifies every book.
//
// Rationale: a screen cannot show more than a few frames per second per cell, and a
// browser that reads faster than it can render queues messages and shows ever older data.
// So the rates are granted by the server (ticker.* at TICKER_RATE per instrument, the book
// at BOOK_RATE, trades batched at TRADES_RATE; conflated there, verified here), and the
// ladder and chart only mark themselves dirty: one animation frame redraws them, so a
// burst costs one paint.
import { MdgwClient } from '/client/mdgw.js';

const TICKER_RATE = 4;   // updates per second per instrument on the board
const BOOK_RATE = 20;    // ladder updates per second
const TRADES_RATE = 10;  // trade batches per second on the tape (every trade, batched)
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
const client = new MdgwClient(wsUrl, { backoffMinMs: 250, backoffMaxMs: 4000 });

const rows = new Map();       // symbol -> {tr, cells, ticker, quality}
let instruments = [];
let selected = null;
let depth = Number(params.get('depth')) === 25 ? 25 : 10;
let bookChannel = null;
let tradesChannel = null;
let ladderDirty = false;
let chartDirty = false;
let lastBestBid = null;
let lastBestAsk = null;
const chart = [];             // [time ms, price]
const tape = [];              // newest first
let tradeCount = 0;
const latencies = [];         // ns, rolling window
let updatesThisSecond = 0;

// ------------------------------------------------------------------ helpers

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function flash(cell, dir) {
  cell.classList.remove('flash-up', 'flash-down');
  void cell.offsetWidth;  // restart the animation
  cell.classList.add(dir > 0 ? 'flash-up' : 'flash-down');
}

function setNum(cell, value, flashIt) {
  const text = value ?? '—';
  if (cell.textContent === text) return;
  const before = Number(cell.textContent);
  cell.textContent = text;
  if (flashIt && value != null && !Number.isNaN(before)) flash(cell, Number(value) >= before ? 1 : -1);
}

function setBadge(badge, quality) {
  const q = quality && quality !== 'ok' ? quality : '';
  badge.className = `badge ${q}`;
  badge.textContent = q === 'stale' ? 'STALE' : q === 'resyncing' ? 'RESYNC' : '';
  badge.dataset.quality = quality || 'ok';
}

function timeOf(ns) {
  const d = new Date(Number(ns) / 1e6);
  return d.toISOString().slice(11, 23);
}

// ------------------------------------------------------------------ ticker board

function addRow(symbol) {
  const tr = el('tr');
  tr.dataset.symbol = symbol;
  tr.dataset.testid = `row-${symbol}`;
  const cells = {
    sym: el('td', 'sym-cell', symbol), bid: el('td', 'num'), ask: el('td', 'num'), last: el('td', 'num'),
    change: el('td', 'num'), volume: el('td', 'num'), q: el('td'),
  };
  const badge = el('span', 'badge');
  badge.dataset.testid = `quality-${symbol}`;
  cells.q.appendChild(badge);
  for (const c of Object.values(cells)) tr.appendChild(c);
  tr.addEventListener('click', () => select(symbol));
  $('board').appendChild(tr);
  const row = { tr, cells, badge, quality: 'ok', ticker: null };
  rows.set(symbol, row);
  $('board-count').textContent = `${rows.size} instruments`;
  return row;
}

function onTicker(u) {
  const symbol = u.channel.slice('ticker.'.length);
  const row = rows.get(symbol) || addRow(symbol);
  row.ticker = u;
  setNum(row.cells.bid, u.bid, true);
  setNum(row.cells.ask, u.ask, true);
  setNum(row.cells.last, u.last, true);
  setNum(row.cells.change, u.change, false);
  row.cells.change.className = `num ${Number(u.change) > 0 ? 'up' : Number(u.change) < 0 ? 'down' : ''}`;
  setNum(row.cells.volume, u.volume, false);
  if (!row.statusSeen) setQuality(symbol, u.quality);
  if (symbol === selected) {
    setNum($('sel-last'), u.last ?? u.bid, true);
    $('sel-change').textContent = u.change ?? '';
    $('sel-change').className = `num ${Number(u.change) > 0 ? 'up' : Number(u.change) < 0 ? 'down' : ''}`;
    if (u.bid != null && u.ask != null) {
      chart.push([Date.now(), (Number(u.bid) + Number(u.ask)) / 2]);
      if (chart.length > 600) chart.shift();
      chartDirty = true;
    }
  }
}

function setQuality(symbol, quality) {
  const row = rows.get(symbol) || addRow(symbol);
  row.quality = quality;
  setBadge(row.badge, client.state === 'open' ? quality : 'resyncing');
  if (symbol === selected) ladderDirty = true;
}

// ------------------------------------------------------------------ selection, search

function select(symbol) {
  if (symbol === selected) return;
  if (bookChannel) client.unsubscribe(bookChannel, tradesChannel);
  selected = symbol;
  bookChannel = `book.${symbol}.${depth}`;
  tradesChannel = `trades.${symbol}`;
  client.subscribe({ channel: bookChannel, max_rate: BOOK_RATE }, { channel: tradesChannel, max_rate: TRADES_RATE });
  for (const r of rows.values()) r.tr.classList.toggle('sel', r.tr.dataset.symbol === symbol);
  $('sel-symbol').textContent = symbol;
  $('sel-last').textContent = rows.get(symbol)?.ticker?.last ?? '—';
  chart.length = 0;
  tape.length = 0;
  tradeCount = 0;
  lastBestBid = lastBestAsk = null;
  $('tape').textContent = '';
  ladderDirty = chartDirty = true;
  history.replaceState(null, '', `?symbol=${encodeURIComponent(symbol)}&depth=${depth}`);
}

function setDepth(d) {
  depth = d;
  for (const b of document.querySelectorAll('#depth-seg button')) b.classList.toggle('on', Number(b.dataset.depth) === d);
  const s = selected;
  selected = null;
  if (s) select(s);
}

function setupSearch() {
  const input = $('search');
  const results = $('results');
  let hi = 0;
  const matches = () => {
    const q = input.value.trim().toUpperCase();
    return instruments.filter((i) => i.symbol.toUpperCase().includes(q)).slice(0, 50);
  };
  const render = () => {
    const list = matches();
    results.textContent = '';
    list.forEach((i, n) => {
      const li = el('li', n === hi ? 'hi' : '');
      li.appendChild(el('span', '', i.symbol));
      li.appendChild(el('span', 'muted', `tick ${i.tick_size}`));
      li.addEventListener('mousedown', (e) => { e.preventDefault(); choose(i.symbol); });
      results.appendChild(li);
    });
    results.hidden = list.length === 0;
  };
  const choose = (symbol) => {
    input.value = '';
    results.hidden = true;
    input.blur();
    select(symbol);
  };
  input.addEventListener('input', () => { hi = 0; render(); });
  input.addEventListener('focus', render);
  input.addEventListener('blur', () => { results.hidden = true; });
  input.addEventListener('keydown', (e) => {
    const list = matches();
    if (e.key === 'ArrowDown') hi = Math.min(hi + 1, list.length - 1);
    else if (e.key === 'ArrowUp') hi = Math.max(hi - 1, 0);
    else if (e.key === 'Enter' && list[hi]) return choose(list[hi].symbol);
    else if (e.key === 'Escape') return input.blur();
    else return undefined;
    e.preventDefault();
    return render();
  });
}

// ------------------------------------------------------------------ ladder, tape, chart

function renderLadder() {
  ladderDirty = false;
  const body = $('ladder');
  const book = bookChannel ? client.book(bookChannel) : null;
  const quality = !book || book.awaiting || client.state !== 'open' ? 'resyncing'
    : rows.get(selected)?.quality !== 'ok' && rows.get(selected)?.statusSeen ? rows.get(selected).quality : book.quality;
  setBadge($('sel-quality'), quality);
  $('ladder-overlay').hidden = quality !== 'resyncing' || !selected;
  $('ladder-overlay').textContent = quality === 'stale' ? 'STALE' : 'RESYNCHRONIZING';
  if (!book) { body.textContent = ''; return; }
  const n = depth;
  if (body.children.length !== n) {
    body.textContent = '';
    for (let i = 0; i < n; i++) {
      const tr = el('tr', i === 0 ? 'top' : '');
      for (const c of ['bid-n', 'bid-sz', 'bid-px', 'ask-px', 'ask-sz', 'ask-n']) tr.appendChild(el('td', c));
      body.appendChild(tr);
    }
  }
  let max = 0;
  for (const l of book.bids) max = Math.max(max, Number(l[1]));
  for (const l of book.asks) max = Math.max(max, Number(l[1]));
  for (let i = 0; i < n; i++) {
    const [bn, bs, bp, ap, as, an] = body.children[i].children;
    const b = book.bids[i];
    const a = book.asks[i];
    bp.textContent = b ? b[0] : '';
    bs.textContent = b ? b[1] : '';
    bn.textContent = b && b[2] ? b[2] : '';
    ap.textContent = a ? a[0] : '';
    as.textContent = a ? a[1] : '';
    an.textContent = a && a[2] ? a[2] : '';
    bs.style.backgroundSize = b ? `${(100 * Number(b[1])) / max}% 70%` : '0 0';
    as.style.backgroundSize = a ? `${(100 * Number(a[1])) / max}% 70%` : '0 0';
  }
  const bestBid = book.bids[0]?.[0] ?? null;
  const bestAsk = book.asks[0]?.[0] ?? null;
  const [, , bp0, ap0] = body.children[0].children;
  bp0.dataset.testid = 'best-bid';
  ap0.dataset.testid = 'best-ask';
  if (lastBestBid !== null && bestBid !== null && bestBid !== lastBestBid) flash(bp0, Number(bestBid) > Number(lastBestBid) ? 1 : -1);
  if (lastBestAsk !== null && bestAsk !== null && bestAsk !== lastBestAsk) flash(ap0, Number(bestAsk) > Number(lastBestAsk) ? 1 : -1);
  lastBestBid = bestBid;
  lastBestAsk = bestAsk;
  const spread = bestBid !== null && bestAsk !== null ? (Number(bestAsk) - Number(bestBid)).toFixed(4) : '—';
  $('spread').textContent = `spread ${spread} · seq ${book.seq ?? '—'}`;
}

function onTrades(u) {
  if (u.channel !== tradesChannel) return;
  const body = $('tape');
  if (u.kind === 'lost' || u.kind === 'reset') {
    const tr = el('tr');
    tr.appendChild(el('td', 'l muted', u.kind === 'lost' ? `${u.lost} trades lost` : `stream reset (${u.reason})`));
    tr.children[0].colSpan = 4;
    body.prepend(tr);
    return;
  }
  for (const t of u.trades) {
    tradeCount++;
    const tr = el('tr');
    tr.appendChild(el('td', 'l muted', timeOf(t.ts_exch)));
    tr.appendChild(el('td', t.side, t.price));
    tr.appendChild(el('td', '', t.qty));
    tr.appendChild(el('td', t.side, t.side === 'buy' ? 'BUY' : 'SELL'));
    body.prepend(tr);
  }
  while (body.children.length > 120) body.lastChild.remove();
  $('trade-count').textContent = `${tradeCount} · last seq ${u.seq}`;
}

function renderChart() {
  chartDirty = false;
  const canvas = $('chart');
  const w = canvas.clientWidth;
  const h = canvas.clientHeight;
  const dpr = window.devicePixelRatio || 1;
  if (canvas.width !== w * dpr) { canvas.width = w * dpr; canvas.height = h * dpr; }
  const g = canvas.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  g.strokeStyle = '#1f2630';
  g.lineWidth = 1;
  for (let i = 1; i < 4; i++) { g.beginPath(); g.moveTo(0, (h * i) / 4); g.lineTo(w, (h * i) / 4); g.stroke(); }
  if (chart.length < 2) return;
  let lo = Infinity;
  let hi = -Infinity;
  for (const [, p] of chart) { lo = Math.min(lo, p); hi = Math.max(hi, p); }
  if (hi === lo) { hi += 0.01; lo -= 0.01; }
  const t0 = chart[0][0];
  const t1 = chart[chart.length - 1][0] || t0 + 1;
  const x = (t) => ((t - t0) / Math.max(1, t1 - t0)) * (w - 50);
  const y = (p) => 8 + (1 - (p - lo) / (hi - lo)) * (h - 16);
  const up = chart[chart.length - 1][1] >= chart[0][1];
  g.beginPath();
  chart.forEach(([t, p], i) => (i ? g.lineTo(x(t), y(p)) : g.moveTo(x(t), y(p))));
  g.strokeStyle = up ? '#26c281' : '#f0524f';
  g.lineWidth = 1.5;
  g.stroke();
  g.lineTo(x(t1), h);
  g.lineTo(0, h);
  g.closePath();
  const grad = g.createLinearGradient(0, 0, 0, h);
  grad.addColorStop(0, up ? 'rgba(38,194,129,.25)' : 'rgba(240,82,79,.25)');
  grad.addColorStop(1, 'rgba(0,0,0,0)');
  g.fillStyle = grad;
  g.fill();
  g.fillStyle = '#6b7787';
  g.font = '10px monospace';
  g.fillText(hi.toFixed(2), w - 46, 12);
  g.fillText(lo.toFixed(2), w - 46, h - 4);
  $('chart-range').textContent = `mid ${chart[chart.length - 1][1].toFixed(4)}`;
}

// ------------------------------------------------------------------ connection panel

function renderPanel() {
  const c = client.counters;
  $('checksum-ok').textContent = c.checksumOk;
  const mm = $('checksum-mismatch');
  mm.textContent = c.checksumMismatch + c.sequenceGaps;
  mm.className = `num ${c.checksumMismatch + c.sequenceGaps ? 'bad' : 'ok'}`;
  $('reconnects').textContent = c.reconnects;
  if (latencies.length) {
    const s = [...latencies].sort((a, b) => a - b);
    $('latency').textContent = `${(s[Math.floor(s.length / 2)] / 1e6).toFixed(2)} ms`;
    $('latency-p99').textContent = `${(s[Math.floor(s.length * 0.99)] / 1e6).toFixed(2)} ms`;
  }
}

client.on('status', (ev) => {
  $('conn-status').textContent = ev.state === 'closed' && ev.delayMs !== undefined
    ? `reconnecting in ${(ev.delayMs / 1000).toFixed(1)} s` : ev.state === 'open' ? 'live' : ev.state;
  $('conn-status').dataset.state = ev.state;
  $('conn-dot').className = `dot ${ev.state}`;
  for (const [symbol, r] of rows) setQuality(symbol, r.quality);
  ladderDirty = true;
  renderPanel();
});
client.on('batch', ({ latencyNs }) => {
  if (latencyNs !== null) {
    latencies.push(latencyNs);
    if (latencies.length > 1000) latencies.shift();
  }
});
client.on('data', (ev) => {
  updatesThisSecond++;
  if (ev.kind === 'ticker') onTicker(ev.update);
  else if (ev.kind === 'status') {
    const symbol = ev.channel.slice('status.'.length);
    (rows.get(symbol) || addRow(symbol)).statusSeen = true;
    setQuality(symbol, ev.update.quality);
  } else if (ev.channel === bookChannel) ladderDirty = true;
  else if (ev.channel.startsWith('trades.')) onTrades(ev.update);
});
client.on('resync', () => { ladderDirty = true; });
client.on('error', (ev) => console.warn('mdgw:', ev.code ?? '', ev.message));

setInterval(() => {
  $('rate').textContent = updatesThisSecond;
  updatesThisSecond = 0;
  renderPanel();
}, 1000);

function frame() {
  if (ladderDirty) renderLadder();
  if (chartDirty) renderChart();
  requestAnimationFrame(frame);
}

async function start() {
  $('foot-url').textContent = wsUrl;
  for (const b of document.querySelectorAll('#depth-seg button')) b.addEventListener('click', () => setDepth(Number(b.dataset.depth)));
  setupSearch();
  for (let i = 0; ; i++) {
    try {
      instruments = await (await fetch('/instruments')).json();
      break;
    } catch (e) {
      await new Promise((r) => setTimeout(r, Math.min(4000, 250 * 2 ** i)));
    }
  }
  for (const i of instruments) addRow(i.symbol);
  client.subscribe({ channel: 'ticker.*', max_rate: TICKER_RATE }, 'status.*');
  client.connect();
  const want = params.get('symbol');
  select(instruments.some((i) => i.symbol === want) ? want : instruments[0]?.symbol);
  setDepth(depth);
  requestAnimationFrame(frame);
}

start();
