#include "binance_handler.hpp"

#include "json_util.hpp"

#include <algorithm>

namespace mdgw::crypto {

namespace {

using json::parsed_level;
using json::raw_level;

// The fields of any event we handle, gathered in one pass in whatever order they come.
// "a"/"b" mean different things per event (levels, best prices, trade/order ids), so
// they are told apart by their JSON type.
struct event_fields {
  std::string_view e;      // event type; absent for bookTicker
  std::string_view s;      // symbol
  std::string_view p, q;   // trade price, quantity
  std::string_view b, a;   // bookTicker best bid / ask price
  std::string_view bq, aq; // bookTicker best bid / ask quantity ("B", "A")
  std::uint64_t first_id = 0, last_id = 0; // "U", "u"
  std::uint64_t event_ms = 0, trade_ms = 0; // "E", "T"
  bool has_first = false, has_last = false, has_levels = false, has_m = false;
  bool buyer_is_maker = false; // "m"
};

// One buffered diff: its ids, time and its levels in the shared level buffer.
struct buffered_diff {
  std::uint64_t first_id = 0;
  std::uint64_t last_id = 0;
  std::uint64_t exch_ts = 0;
  std::uint64_t recv_ts = 0;
  std::size_t begin = 0; // into instrument_sync::levels
  std::size_t count = 0;
};

// A bookTicker whose id the book has not reached yet (it arrives before the diff that
// ends at its id: the ticker stream is real time, diffs are aggregated).
struct pending_ticker {
  std::uint64_t id = 0;
  price_t bid = 0, ask = 0;
  qty_t bid_qty = 0, ask_qty = 0;
};

constexpr std::size_t kMaxPendingTickers = 16;

struct instrument_sync {
  binance_handler::sync_state state = binance_handler::sync_state::awaiting_snapshot;
  std::uint64_t last_id = 0;
  std::vector<buffered_diff> diffs;
  std::vector<parsed_level> levels;
  std::vector<pending_ticker> tickers; // ascending id, at most kMaxPendingTickers
};

bool agrees(const level_book& book, const pending_ticker& t) noexcept {
  const price_level* b = book.best(side::bid);
  const price_level* a = book.best(side::ask);
  const bool bid_ok = b != nullptr ? b->price == t.bid && b->qty == t.bid_qty : t.bid_qty == 0;
  const bool ask_ok = a != nullptr ? a->price == t.ask && a->qty == t.ask_qty : t.ask_qty == 0;
  return bid_ok && ask_ok;
}

// Each level: [price, quantity, ...]; elements after the two strings are not read.
template <class Value>
bool collect_levels(Value v, side s, std::vector<raw_level>& out) {
  return json::for_each_row<2>(v, false, [&](const std::array<std::string_view, 2>& f, std::size_t count) {
    if (count < 2) return false;
    out.push_back({f[0], f[1], s});
    return true;
  });
}

// Absorbs one field of an event object; false on a type the event cannot have.
template <class Value>
bool absorb(std::string_view key, Value v, event_fields& ev, std::vector<raw_level>& levels) {
  if (key.size() != 1) return true; // longer keys ("pu", ...) are not used
  switch (key[0]) {
  case 'e': return v.get_string(ev.e);
  case 's': return v.get_string(ev.s);
  case 'p': return v.get_string(ev.p);
  case 'q': return v.get_string(ev.q);
  case 'B': return v.get_string(ev.bq);
  case 'A': return v.get_string(ev.aq);
  case 'U': ev.has_first = true; return v.get_uint64(ev.first_id);
  case 'u': ev.has_last = true; return v.get_uint64(ev.last_id);
  case 'E': return v.get_uint64(ev.event_ms);
  case 'T': return v.get_uint64(ev.trade_ms);
  case 'm': ev.has_m = true; return v.get_bool(ev.buyer_is_maker);
  case 'a':
  case 'b': {
    const side s = key[0] == 'b' ? side::bid : side::ask;
    const json::kind k = v.type();
    if (k == json::kind::array) {
      ev.has_levels = true;
      return collect_levels(v, s, levels);
    }
    if (k == json::kind::string) return v.get_string(s == side::bid ? ev.b : ev.a);
    return true; // trade and order ids (numbers)
  }
  default: return true;
  }
}

// A combined-stream frame {"stream":..,"data":{event}} or a raw event. Fields before
// "data" are read as event fields; after it, only "data" counts.
template <class Value>
bool walk_event(Value root, event_fields& ev, std::vector<raw_level>& raw) {
  ev = event_fields{};
  raw.clear();
  bool combined = false;
  return root.for_each_field([&](std::string_view key, Value v) {
    if (key == "data") {
      combined = true;
      return v.for_each_field([&](std::string_view k, Value x) { return absorb(k, x, ev, raw); });
    }
    if (key == "stream" || combined) return true; // the data names its symbol and event itself
    return absorb(key, v, ev, raw);
  });
}

// The diff as the combined stream sends it, read straight off the bytes:
//   {"stream":"..","data":{"e":"depthUpdate","E":ms,"s":"SYM","U":id,"u":id,"b":[[p,q],..],"a":[[p,q],..]}}
// (those keys in any order). A flatter reader than walk_event on scan_value for the
// frame that is nearly all of a book's traffic: it fills exactly what walk_event would,
// and declines anything else (other keys or events, levels with more than two fields),
// which is then read by walk_event (fast_path_test.cpp compares both with the DOM on
// every capture frame and thousands of mutilated ones).
// ev must be as constructed.
bool scan_depth_update(const padded_frame& f, event_fields& ev, std::vector<raw_level>& raw) {
  if (f.size > json::kMaxFrameBytes) return false;
  json::scanner sc(f.data, f.size);
  raw.clear(); // ev: as constructed (the only caller's is new)
  std::string_view stream;
  if (!sc.eat_literal("{\"stream\":") || !sc.string(stream) || !sc.eat_literal(",\"data\":{")) return false;
  do {
    char k = 0;
    if (!sc.short_key(k)) return false;
    bool ok = false;
    switch (k) {
    case 'e': ok = sc.string(ev.e); break;
    case 's': ok = sc.string(ev.s); break;
    case 'E': ok = sc.integer(ev.event_ms); break;
    case 'U': ok = (ev.has_first = true, sc.integer(ev.first_id)); break;
    case 'u': ok = (ev.has_last = true, sc.integer(ev.last_id)); break;
    case 'a':
    case 'b': {
      const side s = k == 'b' ? side::bid : side::ask;
      ev.has_levels = true;
      ok = sc.eat('[');
      if (ok && !sc.eat(']')) {
        do {
          raw_level& l = raw.emplace_back();
          l.s = s;
          ok = sc.eat('[') && sc.string(l.price) && sc.eat(',') && sc.string(l.qty) && sc.eat(']');
        } while (ok && sc.eat(','));
        ok = ok && sc.eat(']');
      }
      break;
    }
    default: return false;
    }
    if (!ok) return false;
  } while (sc.eat(','));
  return sc.eat('}') && sc.eat('}') && sc.finish();
}

// A REST depth snapshot {"lastUpdateId":..,"bids":[..],"asks":[..]}.
template <class Value>
bool walk_snapshot(Value root, std::uint64_t& last_id, bool& has_id, std::vector<raw_level>& raw) {
  last_id = 0;
  has_id = false;
  raw.clear();
  return root.for_each_field([&](std::string_view key, Value v) {
    if (key == "lastUpdateId") {
      has_id = true;
      return v.get_uint64(last_id);
    }
    if (key == "bids" || key == "asks") return collect_levels(v, key == "bids" ? side::bid : side::ask, raw);
    return true;
  });
}

constexpr std::uint64_t kNsPerMs = 1'000'000;

} // namespace

struct binance_handler::impl {
  json::dom::parser parser;
  std::vector<raw_level> raw;
  std::vector<parsed_level> parsed;
  std::vector<instrument_sync> sync;
  std::size_t max_buffered_levels = 0;

  // Binance's procedure for one diff (see the header). A nested class has the
  // handler's access, so the bookkeeping stays in crypto_handler.
  frame_status apply_diff(binance_handler& h, std::size_t index, const buffered_diff& d, const parsed_level* levels);
  // Compares the book (now at sync[index].last_id) with the pending tickers of that id.
  frame_status check_tickers(binance_handler& h, std::size_t index);
  void resync(binance_handler& h, std::size_t index, resync_reason why) {
    instrument_sync& sy = sync[index];
    sy.state = sync_state::awaiting_snapshot;
    sy.diffs.clear();
    sy.levels.clear();
    h.counters_.unchecked_tickers += sy.tickers.size();
    sy.tickers.clear();
    h.mark_stale(index, why);
  }
  void buffer_diff(binance_handler& h, std::size_t index, const buffered_diff& d, const parsed_level* levels);
};

void binance_handler::impl::buffer_diff(binance_handler& h, std::size_t index, const buffered_diff& d,
                                        const parsed_level* levels) {
  instrument_sync& sy = sync[index];
  if (sy.levels.size() + d.count > max_buffered_levels) {
    // Bounded: forget the oldest diffs. If the snapshot turns out older than what is
    // left, the first-diff rule fails and another snapshot is requested.
    sy.diffs.clear();
    sy.levels.clear();
  }
  buffered_diff b = d;
  b.begin = sy.levels.size();
  sy.levels.insert(sy.levels.end(), levels, levels + d.count);
  sy.diffs.push_back(b);
  ++h.counters_.buffered;
}

frame_status binance_handler::impl::apply_diff(binance_handler& h, std::size_t index, const buffered_diff& d,
                                               const parsed_level* levels) {
  instrument_sync& sy = sync[index];
  if (sy.state == sync_state::awaiting_snapshot) {
    buffer_diff(h, index, d, levels);
    return frame_status::buffered;
  }
  if (d.last_id <= sy.last_id) {
    ++h.counters_.dropped_old;
    return frame_status::dropped_old;
  }
  const bool joins = sy.state == sync_state::awaiting_first ? d.first_id <= sy.last_id + 1 // and u > last_id
                                                            : d.first_id == sy.last_id + 1;
  if (!joins) {
    ++h.counters_.sequence_gaps;
    resync(h, index, resync_reason::sequence_gap);
    buffer_diff(h, index, d, levels); // the next snapshot may predate it
    return frame_status::mismatch;
  }
  for (std::size_t i = 0; i < d.count; ++i) {
    (void)h.set_level(index, levels[i].s, levels[i].price, levels[i].qty); // validated when parsed
  }
  sy.last_id = d.last_id;
  sy.state = sync_state::synced;
  ++h.counters_.updates;
  if (!sy.tickers.empty() && check_tickers(h, index) == frame_status::mismatch) {
    ++h.instruments_[index].version; // the book changed; it is published stale
    return frame_status::mismatch;
  }
  h.book_changed(index, d.exch_ts, d.recv_ts);
  return frame_status::ok;
}

frame_status binance_handler::impl::check_tickers(binance_handler& h, std::size_t index) {
  instrument_sync& sy = sync[index];
  std::size_t k = 0;
  frame_status result = frame_status::ok;
  for (; k < sy.tickers.size() && sy.tickers[k].id <= sy.last_id; ++k) {
    if (sy.tickers[k].id < sy.last_id) {
      ++h.counters_.unchecked_tickers; // the book skipped that id (diffs aggregate)
    } else if (agrees(h.instruments_[index].book, sy.tickers[k])) {
      ++h.counters_.checks_ok;
    } else {
      ++h.counters_.ticker_mismatches;
      result = frame_status::mismatch;
    }
  }
  sy.tickers.erase(sy.tickers.begin(), sy.tickers.begin() + static_cast<std::ptrdiff_t>(k));
  if (result == frame_status::mismatch) resync(h, index, resync_reason::ticker_mismatch);
  return result;
}

binance_handler::binance_handler(const binance_config& config)
    : crypto_handler("BINANCE", config.symbols), impl_(std::make_unique<impl>()) {
  impl_->sync.resize(instruments_.size());
  impl_->max_buffered_levels = config.max_buffered_levels;
  impl_->raw.reserve(4096);
  impl_->parsed.reserve(4096);
}

binance_handler::~binance_handler() = default;

binance_handler::sync_state binance_handler::state(std::size_t index) const noexcept {
  return impl_->sync[index].state;
}

std::uint64_t binance_handler::last_update_id(std::size_t index) const noexcept { return impl_->sync[index].last_id; }

void binance_handler::on_connect() {
  crypto_handler::on_connect();
  for (instrument_sync& s : impl_->sync) {
    s.state = sync_state::awaiting_snapshot;
    s.diffs.clear();
    s.levels.clear();
    s.tickers.clear();
  }
}

frame_status binance_handler::on_rest(std::string_view url, const padded_frame& body) {
  constexpr std::string_view kKey = "symbol=";
  const auto pos = url.find(kKey);
  if (url.find("/depth") == std::string_view::npos || pos == std::string_view::npos) {
    ++counters_.ignored;
    return frame_status::ignored;
  }
  std::string_view symbol = url.substr(pos + kKey.size());
  symbol = symbol.substr(0, symbol.find('&'));
  const auto index = find(symbol);
  if (!index) {
    ++counters_.ignored;
    return frame_status::unknown_instrument;
  }
  return on_depth_snapshot(*index, body);
}

frame_status binance_handler::on_depth_snapshot(std::size_t index, const padded_frame& body) {
  impl& m = *impl_;
  instrument_sync& sy = m.sync[index];
  crypto_instrument& in = instruments_[index];
  const auto rejected = [&] {
    ++counters_.bad_frames;
    // Unreadable: a synced book is unaffected; otherwise ask again. Diffs buffered for
    // this snapshot are kept: the next one needs them.
    if (sy.state == sync_state::awaiting_first) {
      m.resync(*this, index, resync_reason::snapshot_rejected);
    } else if (sy.state == sync_state::awaiting_snapshot) {
      mark_stale(index, resync_reason::snapshot_rejected);
    }
    return frame_status::bad_frame;
  };
  std::uint64_t last_id = 0;
  bool has_id = false;
  if (!json::read_frame(m.parser, body, fast_json_,
                        [&](auto root) { return walk_snapshot(root, last_id, has_id, m.raw); })) {
    return rejected();
  }
  if (!has_id) return rejected();
  if (sy.state == sync_state::synced && last_id <= sy.last_id) {
    ++counters_.ignored; // older than (or as old as) the book we maintain
    return frame_status::ignored;
  }
  if (!json::parse_levels(body, m.raw, in.info, m.parsed)) return rejected();
  in.book.clear();
  // Snapshots list each side best first; a level_book side keeps its best at the back,
  // so inserting worst first appends instead of shifting the whole side every time.
  for (auto it = m.parsed.rbegin(); it != m.parsed.rend(); ++it) (void)set_level(index, it->s, it->price, it->qty);
  sy.last_id = last_id;
  sy.state = sync_state::awaiting_first;
  in.quality = data_quality::ok; // the book is exact as of lastUpdateId
  ++counters_.snapshots;
  book_changed(index, 0, body.recv_ts);

  // Replay what was buffered while the snapshot was on its way. apply_diff may go back
  // to awaiting_snapshot (a gap) and re-buffer: move the buffer out first.
  std::vector<buffered_diff> diffs;
  std::vector<parsed_level> levels;
  diffs.swap(sy.diffs);
  levels.swap(sy.levels);
  frame_status result = frame_status::ok;
  for (const buffered_diff& d : diffs) {
    const frame_status st = m.apply_diff(*this, index, d, levels.data() + d.begin);
    if (st == frame_status::mismatch) result = st;
  }
  // Keep the capacity for the next resync.
  diffs.clear();
  levels.clear();
  if (sy.diffs.empty()) {
    sy.diffs.swap(diffs);
    sy.levels.swap(levels);
  }
  return result;
}

frame_status binance_handler::on_frame(const padded_frame& f) {
  ++counters_.frames;
  impl& m = *impl_;
  event_fields ev;
  const bool flat = fast_json_ && scan_depth_update(f, ev, m.raw); // then every string is in f
  if (!flat &&
      !json::read_frame(m.parser, f, fast_json_, [&](auto root) { return walk_event(root, ev, m.raw); })) {
    return reject_frame();
  }

  const bool depth = json::is(ev.e, "depthUpdate");
  const bool book_ticker = !depth && ev.e.empty() && ev.has_last && !ev.b.empty() && !ev.a.empty();
  const bool trade = !depth && (json::is(ev.e, "aggTrade") || json::is(ev.e, "trade"));
  if (!depth && !book_ticker && !trade) {
    ++counters_.ignored; // kline, request replies ({"result":null,"id":1}), ...
    return frame_status::ignored;
  }
  const auto found = find_in_frame(ev.s, f);
  if (!found) {
    ++counters_.bad_frames;
    return frame_status::unknown_instrument;
  }
  const std::size_t index = *found;
  crypto_instrument& in = instruments_[index];

  if (trade) {
    trade_print t;
    if (!ev.has_m || !json::get_decimal(ev.p, in.info.price_scale, t.price) ||
        !json::get_decimal(ev.q, in.info.qty_scale, t.qty)) {
      return reject_frame();
    }
    // m: the buyer was the maker, so the seller took liquidity.
    t.aggressor = ev.buyer_is_maker ? side::ask : side::bid;
    t.exch_ts = (ev.trade_ms != 0 ? ev.trade_ms : ev.event_ms) * kNsPerMs;
    t.recv_ts = f.recv_ts;
    report_trade(index, t);
    return frame_status::ok;
  }

  if (book_ticker) {
    instrument_sync& sy = m.sync[index];
    price_t bid = 0, ask = 0;
    qty_t bid_qty = 0, ask_qty = 0;
    if (!json::get_decimal(ev.b, in.info.price_scale, bid) || !json::get_decimal(ev.a, in.info.price_scale, ask) ||
        !json::get_decimal(ev.bq, in.info.qty_scale, bid_qty) ||
        !json::get_decimal(ev.aq, in.info.qty_scale, ask_qty)) {
      return reject_frame();
    }
    if (sy.state == sync_state::awaiting_snapshot || ev.last_id < sy.last_id ||
        (!sy.tickers.empty() && ev.last_id <= sy.tickers.back().id)) {
      ++counters_.unchecked_tickers; // older than the book, or out of order
      return frame_status::ignored;
    }
    if (sy.tickers.size() == kMaxPendingTickers) {
      ++counters_.unchecked_tickers;
      sy.tickers.erase(sy.tickers.begin());
    }
    sy.tickers.push_back({ev.last_id, bid, ask, bid_qty, ask_qty});
    if (ev.last_id > sy.last_id) return frame_status::buffered; // checked when the book gets there
    return m.check_tickers(*this, index);
  }

  // depthUpdate
  if (!ev.has_first || !ev.has_last || ev.first_id > ev.last_id) return reject_frame();
  if (!json::parse_levels(f, m.raw, in.info, m.parsed, flat)) {
    ++counters_.bad_frames;
    // The update is lost: the chain cannot continue from here.
    if (m.sync[index].state != sync_state::awaiting_snapshot) m.resync(*this, index, resync_reason::bad_update);
    return frame_status::bad_frame;
  }
  buffered_diff d;
  d.first_id = ev.first_id;
  d.last_id = ev.last_id;
  d.exch_ts = ev.event_ms * kNsPerMs;
  d.recv_ts = f.recv_ts;
  d.count = m.parsed.size();
  return m.apply_diff(*this, index, d, m.parsed.data());
}

} // namespace mdgw::crypto
