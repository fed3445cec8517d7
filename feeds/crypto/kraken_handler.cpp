#include "kraken_handler.hpp"

#include "crc32.hpp"
#include "json_util.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

namespace mdgw::crypto {

namespace {

// Strings of one level as they appear in the frame (views into the parser's buffer).
struct raw_level {
  std::string_view price;
  std::string_view qty;
  std::string_view ts;
  side s = side::bid;
  bool republish = false;
};

struct parsed_level {
  price_t price = 0;
  qty_t qty = 0;
  side s = side::bid;
  bool republish = false;
};

struct raw_trade {
  std::string_view price;
  std::string_view qty;
  std::string_view ts;
  std::string_view side_word;
};

constexpr std::size_t kTop = kraken_handler::kChecksumLevels;
constexpr std::size_t kMaxLevelText = 40; // two int64 in decimal: at most 2 * 19 bytes

// The checksum text of one level: price digits then volume digits. The integers are the
// exchange's strings without the point (see the header), and to_chars of a positive
// integer has no leading zeros: exactly Kraken's text.
std::size_t render_level(const price_level& l, char* out) noexcept {
  char* p = std::to_chars(out, out + 20, l.price).ptr;
  p = std::to_chars(p, p + 20, l.qty).ptr;
  return static_cast<std::size_t>(p - out);
}

// The checksum text of a side's top 10, best first (the reference computation).
std::size_t render_side(const level_book& b, side s, char* out) noexcept {
  std::size_t n = 0;
  for (std::size_t i = 0; i < std::min(b.depth(s), kTop); ++i) n += render_level(b.level(s, i), out + n);
  return n;
}

// One side's top 10 as checksum pieces (crc32.hpp): each level's raw CRC and text
// length, and the level they were computed from.
struct side_pieces {
  std::array<price_t, kTop> price{};
  std::array<qty_t, kTop> qty{};
  std::array<std::uint32_t, kTop> raw{};
  std::array<std::uint8_t, kTop> len{};
  std::size_t n = 0;
};

struct side_cache {
  side_pieces pieces;
  bool dirty = true;    // the pieces are not the book's: rebuild them (refresh_side)
  bool changed = false; // the pieces changed since the register was last combined
};

struct checksum_cache {
  side_cache asks;
  side_cache bids;
  std::uint32_t asks_reg = 0; // the CRC register after the asks text
  std::uint32_t full = 0;     // CRC of asks + bids, valid when neither side is dirty
};

// Piece i of a side: this level's text rendered and hashed. The text is written at the
// end of a zeroed 64-byte block (its digit counts first), which crc32_raw_block64 hashes
// in one fixed fold.
void set_piece(side_pieces& p, std::size_t i, price_t price, qty_t qty) noexcept {
  static_assert(2 * 20 <= 64, "two int64 in decimal fit the block");
  alignas(16) unsigned char block[64 + 24] = {}; // format_digits stores whole words past its digits
  const auto pv = static_cast<std::uint64_t>(price);
  const auto qv = static_cast<std::uint64_t>(qty);
  const std::size_t np = digit_count(pv);
  const std::size_t len = np + digit_count(qv);
  char* const text = reinterpret_cast<char*>(block) + 64 - len;
  (void)format_digits(pv, text);
  (void)format_digits(qv, text + np);
  p.price[i] = price;
  p.qty[i] = qty;
  p.raw[i] = crc32_raw_block64(block, len);
  p.len[i] = static_cast<std::uint8_t>(len);
}

// The side's pieces again. The levels above the first change keep theirs untouched;
// from there on, a merge of the old pieces with the book (both best first) reuses
// those of every level whose price and volume did not change (an update changes one
// level and shifts the others), and only a new or changed level is rendered and
// hashed. The book's top 10 are contiguous (best at the back of the side's vector).
template <side S>
void refresh_side(const level_book& b, side_cache& c) noexcept {
  side_pieces& out = c.pieces;
  c.dirty = false;
  c.changed = true;
  const std::size_t n = std::min(b.depth(S), kTop);
  const price_level* const best = n != 0 ? &b.level(S, 0) : nullptr;
  std::size_t k = 0;
  const std::size_t common = std::min(n, out.n);
  while (k < common && out.price[k] == (best - k)->price && out.qty[k] == (best - k)->qty) ++k;
  if (k == n && out.n == n) return;
  const side_pieces old = out;
  std::size_t j = k;
  for (std::size_t i = k; i < n; ++i) {
    const price_level& l = *(best - i);
    out.price[i] = l.price;
    out.qty[i] = l.qty;
    const auto is_old = [&](std::size_t at) { return at < old.n && old.price[at] == l.price && old.qty[at] == l.qty; };
    // Usually the next old piece is this level (a shifted or untouched one): then the
    // skip loop is not entered. A used piece is passed (the next level is worse).
    if (!is_old(j)) {
      while (j < old.n && (S == side::bid ? old.price[j] > l.price : old.price[j] < l.price)) ++j;
    }
    if (is_old(j)) {
      out.raw[i] = old.raw[j];
      out.len[i] = old.len[j];
      ++j;
    } else {
      set_piece(out, i, l.price, l.qty);
    }
  }
  out.n = n;
}

void move_piece(side_pieces& p, std::size_t to, std::size_t from) noexcept {
  p.price[to] = p.price[from];
  p.qty[to] = p.qty[from];
  p.raw[to] = p.raw[from];
  p.len[to] = p.len[from];
}

// The pieces kept equal to the side's top 10 after one level of it was set (qty 0:
// deleted) in the book, without looking at the rest of the book: an update changes one
// level in place, inserts one (the pieces below it move down, the tenth drops out) or
// deletes one (the pieces below move up, the book's new tenth level comes in). One
// level is rendered and hashed, never the others. Pieces marked dirty are left to
// refresh_side. KrakenSynthetic tests compare the checksum with the plain one.
template <side S>
void update_pieces(const level_book& b, side_cache& c, price_t price, qty_t qty) noexcept {
  if (c.dirty) return;
  side_pieces& p = c.pieces;
  std::size_t i = 0;
  while (i < p.n && (S == side::bid ? p.price[i] > price : p.price[i] < price)) ++i;
  const bool found = i < p.n && p.price[i] == price;
  if (qty == 0) {
    if (!found) return; // not in the top 10 (or not in the book at all)
    for (std::size_t k = i + 1; k < p.n; ++k) move_piece(p, k - 1, k);
    --p.n;
    if (b.depth(S) >= kTop) {
      const price_level& tenth = b.level(S, kTop - 1);
      set_piece(p, p.n, tenth.price, tenth.qty);
      ++p.n;
    }
  } else if (found) {
    if (p.qty[i] == qty) return;
    set_piece(p, i, price, qty);
  } else if (i < kTop) {
    const std::size_t n = std::min(p.n + 1, kTop);
    for (std::size_t k = n - 1; k > i; --k) move_piece(p, k, k - 1);
    set_piece(p, i, price, qty);
    p.n = n;
  } else {
    return; // below the top 10
  }
  c.changed = true;
}

// The "c" text: digits only (leading zeros allowed), at most 2^32 - 1; what
// std::from_chars into a uint32 accepts when it must consume the whole text.
// 8 to 10 digits (nearly every checksum) are read as two words (decimal.hpp), the same
// answer as the loop: no digit loop with a data-dependent exit.
bool parse_checksum(const char* readable, std::string_view text, std::uint32_t& out) noexcept {
  if (!text.empty() && text.size() <= 16 && decimal_detail::window_before(readable, text.data() + text.size(), 16)) {
    std::uint64_t v = 0;
    if (!decimal_detail::tail_digits(text.data() + text.size() - 16, text.size(), v) || v > 0xFFFFFFFFULL) return false;
    out = static_cast<std::uint32_t>(v);
    return true;
  }
  if (text.size() >= 8 && text.size() <= 10) {
    std::uint64_t v = 0;
    const char* const b = text.data();
    if (!decimal_detail::digits(b + text.size(), b, text.size(), v) || v > 0xFFFFFFFFULL) return false;
    out = static_cast<std::uint32_t>(v);
    return true;
  }
  if (text.empty()) return false;
  std::uint64_t v = 0;
  for (const char c : text) {
    const unsigned d = static_cast<unsigned char>(c) - '0';
    v = v * 10 + d;
    if (d > 9 || v > 0xFFFFFFFFULL) return false;
  }
  out = static_cast<std::uint32_t>(v);
  return true;
}

// Exactly `scale` fraction digits: Kraken's fixed per-pair formatting (see header).
bool parse_book_number(const char* readable, std::string_view s, int scale, std::int64_t& out) noexcept {
  return parse_decimal_exact_in(readable, s, scale, out);
}

// Each level: [price, volume, timestamp] or, republished, [price, volume, timestamp, "r"].
template <class Value>
bool collect_levels(Value v, side s, std::vector<raw_level>& out) {
  return json::for_each_row<4>(v, true, [&](const std::array<std::string_view, 4>& f, std::size_t count) {
    if (count < 3) return false;
    out.push_back({f[0], f[1], f[2], s, f[3] == "r"});
    return true;
  });
}

// Each trade: [price, volume, time, side, order type, misc, ...].
template <class Value>
bool collect_trades(Value v, std::vector<raw_trade>& out) {
  return json::for_each_row<4>(v, false, [&](const std::array<std::string_view, 4>& f, std::size_t count) {
    if (count < 4) return false;
    out.push_back({f[0], f[1], f[2], f[3]});
    return true;
  });
}

// Everything one walk of a frame collects (views into the frame or the parser).
struct frame_fields {
  bool is_event = false;
  // events (an object): heartbeat, systemStatus, subscriptionStatus, ...
  std::string_view event, status, channel_name, pair;
  std::uint64_t sub_depth = 0;
  // channel data (an array): [channelID, {data}, ({data},) "channelName", "pair"]
  std::string_view checksum_text;
  bool snapshot = false;
  bool update = false;
  bool has_trades = false;
};

// The walk of any frame, for either parser (json_util.hpp). Any field order in objects.
template <class Value>
bool walk_frame(Value root, frame_fields& ff, std::vector<raw_level>& raw, std::vector<raw_trade>& trades) {
  ff = frame_fields{};
  raw.clear();
  trades.clear();
  if (root.type() == json::kind::object) {
    ff.is_event = true;
    return root.for_each_field([&](std::string_view key, Value v) {
      if (key == "event") return v.get_string(ff.event);
      if (key == "status") return v.get_string(ff.status);
      if (key == "pair") return v.get_string(ff.pair);
      if (key == "channelName") return v.get_string(ff.channel_name);
      if (key == "subscription") {
        return v.for_each_field([&](std::string_view k, Value d) { return k != "depth" || d.get_uint64(ff.sub_depth); });
      }
      return true;
    });
  }
  std::size_t idx = 0;
  return root.for_each([&](Value v) {
    switch (v.type()) {
    case json::kind::integer:
      if (idx != 0) return false; // the channel id; the pair at the end names the instrument
      break;
    case json::kind::object: {
      const bool ok = v.for_each_field([&](std::string_view key, Value x) {
        if (key == "as" || key == "bs") {
          ff.snapshot = true;
          return collect_levels(x, key == "as" ? side::ask : side::bid, raw);
        }
        if (key == "a" || key == "b") {
          ff.update = true;
          return collect_levels(x, key == "a" ? side::ask : side::bid, raw);
        }
        if (key == "c") return x.get_string(ff.checksum_text);
        return true;
      });
      if (!ok) return false;
      break;
    }
    case json::kind::array:
      ff.has_trades = true;
      if (!collect_trades(v, trades)) return false;
      break;
    case json::kind::string: {
      std::string_view s;
      if (!v.get_string(s)) return false;
      if (ff.channel_name.empty()) {
        ff.channel_name = s;
      } else if (ff.pair.empty()) {
        ff.pair = s;
      } else {
        return false;
      }
      break;
    }
    default: return false;
    }
    ++idx;
    return true;
  });
}

// The book update as Kraken sends it, read straight off the bytes:
//   [id,{"a"|"b":[[price,volume,time(,"r")],...](,...)(,"c":"crc")}(,{...}),"book-N","PAIR"]
// A narrower, flatter reader than walk_frame on scan_value (no callbacks per element, no
// type dispatch) for the frame that is nearly all of a book's traffic. It fills exactly
// what walk_frame would; anything else (snapshots, trades, events, any other key, a
// level with more than 4 fields) makes it decline, and the frame is read again by
// walk_frame (fast_path_test.cpp compares both with the DOM on every capture frame and
// thousands of mutilated ones).
// ff must be as constructed.
bool scan_book_update(const padded_frame& f, frame_fields& ff, std::vector<raw_level>& raw) {
  if (f.size > json::kMaxFrameBytes) return false;
  json::scanner sc(f.data, f.size);
  raw.clear(); // ff: as constructed (the only caller's is new)
  if (!sc.eat('[') || !sc.skip_integer() || !sc.eat(',') || sc.peek() != '{') return false;
  while (sc.eat('{')) {
    do {
      char key = 0;
      if (!sc.short_key(key)) return false;
      if (key == 'c') {
        if (!sc.string(ff.checksum_text)) return false;
        continue;
      }
      if (key != 'a' && key != 'b') return false;
      const side s = key == 'a' ? side::ask : side::bid;
      ff.update = true;
      if (!sc.eat('[')) return false;
      if (sc.eat(']')) continue;
      do {
        raw_level& l = raw.emplace_back();
        l.s = s;
        std::string_view flag;
        if (!sc.eat('[') || !sc.string(l.price) || !sc.eat(',') || !sc.string(l.qty) || !sc.eat(',') ||
            !sc.string(l.ts)) {
          return false;
        }
        if (sc.eat(',')) {
          if (!sc.string(flag)) return false;
          l.republish = flag == "r";
        }
        if (!sc.eat(']')) return false;
      } while (sc.eat(','));
      if (!sc.eat(']')) return false;
    } while (sc.eat(','));
    if (!sc.eat('}') || !sc.eat(',')) return false;
  }
  if (!sc.string(ff.channel_name) || !sc.eat(',') || !sc.string(ff.pair) || !sc.eat(']')) return false;
  return sc.finish();
}

// "book-1000" -> 1000; 0 when the name carries no depth.
std::size_t depth_from_channel(std::string_view name) noexcept {
  constexpr std::string_view kPrefix = "book-";
  if (name.substr(0, kPrefix.size()) != kPrefix) return 0;
  std::size_t d = 0;
  const auto r = std::from_chars(name.data() + kPrefix.size(), name.data() + name.size(), d);
  return r.ec == std::errc() && r.ptr == name.data() + name.size() ? d : 0;
}

} // namespace

struct kraken_handler::impl {
  json::dom::parser parser;
  std::vector<raw_level> raw;
  std::vector<parsed_level> parsed;
  std::vector<raw_trade> trades;
  std::vector<trade_print> prints;
  std::vector<std::size_t> depth;          // per instrument
  std::vector<checksum_cache> checksums;   // per instrument
  std::size_t default_depth = 10;
  std::string last_channel; // the channel name of the last book frame and its depth
  std::size_t last_channel_depth = 0;
};

kraken_handler::kraken_handler(const kraken_config& config)
    : crypto_handler("KRAKEN", config.pairs), impl_(std::make_unique<impl>()) {
  impl_->default_depth = config.default_depth;
  impl_->depth.assign(instruments_.size(), config.default_depth);
  impl_->checksums.resize(instruments_.size());
  impl_->raw.reserve(2048);
  impl_->parsed.reserve(2048);
}

kraken_handler::~kraken_handler() = default;

void kraken_handler::on_connect() {
  crypto_handler::on_connect();
  std::fill(impl_->depth.begin(), impl_->depth.end(), impl_->default_depth);
}

std::size_t kraken_handler::depth(std::size_t index) const noexcept { return impl_->depth[index]; }

std::uint32_t kraken_handler::checksum(std::size_t index) const {
  std::array<char, 2 * kTop * kMaxLevelText> text{};
  const level_book& b = instruments_[index].book;
  std::size_t n = render_side(b, side::ask, text.data());
  n += render_side(b, side::bid, text.data() + n);
  return crc32(text.data(), n);
}

frame_status kraken_handler::on_frame(const padded_frame& f) {
  ++counters_.frames;
  impl& m = *impl_;
  frame_fields ff;
  const bool flat = fast_json_ && scan_book_update(f, ff, m.raw); // then every string is in f
  if (!flat &&
      !json::read_frame(m.parser, f, fast_json_, [&](auto root) { return walk_frame(root, ff, m.raw, m.trades); })) {
    return reject_frame();
  }
  const auto readable = [&](std::string_view s) { return flat ? f.data : json::readable_start(f, s); };

  if (ff.is_event) {
    if (ff.event == "heartbeat") {
      last_heartbeat_ = f.recv_ts;
      ++counters_.ignored;
      return frame_status::ignored;
    }
    if (ff.event == "systemStatus") {
      system_status_.assign(ff.status);
      return frame_status::ok;
    }
    if (ff.event == "subscriptionStatus") {
      const auto index = find(ff.pair);
      if (!index) {
        ++counters_.ignored;
        return frame_status::unknown_instrument;
      }
      if (ff.channel_name.substr(0, 4) != "book") return frame_status::ok;
      if (ff.status == "subscribed") {
        const std::size_t d = ff.sub_depth != 0 ? ff.sub_depth : depth_from_channel(ff.channel_name);
        if (d != 0) m.depth[*index] = d;
      } else if (ff.status == "unsubscribed" && instruments_[*index].quality == data_quality::ok) {
        // No more updates will come: the book is no longer maintained.
        instruments_[*index].quality = data_quality::resyncing;
        instruments_[*index].reason = quality_reason::unsubscribed;
        book_changed(*index, 0, f.recv_ts);
      }
      return frame_status::ok;
    }
    ++counters_.ignored; // pong, subscription errors, future events
    return frame_status::ignored;
  }

  const std::string_view channel_name = ff.channel_name;
  const std::string_view checksum_text = ff.checksum_text;
  const bool snapshot = ff.snapshot;
  const bool update = ff.update;
  const auto found = find_in_frame(ff.pair, f);
  if (!found) {
    ++counters_.bad_frames;
    return frame_status::unknown_instrument;
  }
  const std::size_t index = *found;
  crypto_instrument& in = instruments_[index];

  if (json::is(channel_name, "trade") && ff.has_trades) {
    // Validate every trade before reporting any.
    m.prints.clear();
    for (const raw_trade& t : m.trades) {
      trade_print p;
      side s{};
      if (!json::get_decimal(t.price, in.info.price_scale, p.price) ||
          !json::get_decimal(t.qty, in.info.qty_scale, p.qty) || !parse_epoch_seconds(t.ts, p.exch_ts) ||
          !json::parse_side_word(t.side_word, s)) {
        return reject_frame();
      }
      p.aggressor = s;
      p.recv_ts = f.recv_ts;
      m.prints.push_back(p);
    }
    for (const trade_print& p : m.prints) report_trade(index, p);
    return frame_status::ok;
  }
  if (!json::starts(channel_name, "book")) {
    ++counters_.ignored; // a channel we do not handle (spread, ohlc, ...)
    return frame_status::ignored;
  }
  if (snapshot == update) return reject_frame(); // a book frame with neither or both kinds of data
  if (!json::same(channel_name, m.last_channel)) {
    m.last_channel.assign(channel_name); // the same "book-N" on every frame: parsed once
    m.last_channel_depth = depth_from_channel(channel_name);
  }
  if (m.last_channel_depth != 0) m.depth[index] = m.last_channel_depth;

  if (update && in.quality != data_quality::ok) {
    ++counters_.out_of_sync;
    return frame_status::out_of_sync;
  }

  // Parse everything first: a frame with one bad number changes nothing.
  m.parsed.clear();
  std::uint64_t exch_ts = 0;
  for (const raw_level& r : m.raw) {
    parsed_level& p = m.parsed.emplace_back(); // filled in place: no copy of a temporary
    std::uint64_t ts = 0;
    if (!parse_book_number(readable(r.price), r.price, in.info.price_scale, p.price) ||
        !parse_book_number(readable(r.qty), r.qty, in.info.qty_scale, p.qty) ||
        !parse_epoch_seconds_in(readable(r.ts), r.ts, ts)) {
      ++counters_.bad_frames;
      if (in.quality == data_quality::ok) {
        mark_stale(index, update ? resync_reason::bad_update : resync_reason::snapshot_rejected);
      }
      return frame_status::bad_frame;
    }
    p.s = r.s;
    p.republish = r.republish;
    exch_ts = std::max(exch_ts, ts);
  }

  checksum_cache& cc = m.checksums[index];
  const std::size_t depth = m.depth[index];
  if (snapshot) {
    in.book.clear();
    // Each side comes best first; a level_book side keeps its best at the back, so
    // inserting worst first appends instead of shifting the whole side every time.
    for (auto it = m.parsed.rbegin(); it != m.parsed.rend(); ++it) {
      const parsed_level& p = *it;
      if (!set_level(index, p.s, p.price, p.qty)) {
        ++counters_.bad_frames;
        mark_stale(index, resync_reason::snapshot_rejected);
        return frame_status::bad_frame;
      }
    }
    counters_.truncated += truncate_book(in.book, depth);
    cc.asks.dirty = cc.bids.dirty = true;
    in.quality = data_quality::ok;
    ++counters_.snapshots;
    book_changed(index, exch_ts, f.recv_ts);
    return frame_status::ok;
  }

  for (const parsed_level& p : m.parsed) {
    if (!set_level(index, p.s, p.price, p.qty)) {
      ++counters_.bad_frames;
      ++in.version;
      mark_stale(index, resync_reason::bad_update);
      return frame_status::bad_frame;
    }
    if (p.s == side::ask) {
      update_pieces<side::ask>(in.book, cc.asks, p.price, p.qty);
    } else {
      update_pieces<side::bid>(in.book, cc.bids, p.price, p.qty);
    }
    counters_.republished += p.republish ? 1 : 0;
  }
  if (const std::size_t dropped = truncate_book(in.book, depth); dropped != 0) {
    counters_.truncated += dropped;
    if (depth < kChecksumLevels) cc.asks.dirty = cc.bids.dirty = true;
  }
  ++counters_.updates;

  if (!checksum_text.empty()) {
    std::uint32_t expected = 0;
    if (!parse_checksum(readable(checksum_text), checksum_text, expected)) {
      ++counters_.bad_frames;
      ++in.version;
      mark_stale(index, resync_reason::bad_update);
      return frame_status::bad_frame;
    }
    if (cc.asks.dirty) refresh_side<side::ask>(in.book, cc.asks);
    if (cc.bids.dirty) refresh_side<side::bid>(in.book, cc.bids);
    if (cc.asks.changed) {
      const side_pieces& a = cc.asks.pieces;
      cc.asks_reg = crc32_concat(~0U, a.raw.data(), a.len.data(), a.n);
    }
    if (cc.asks.changed || cc.bids.changed) {
      const side_pieces& b = cc.bids.pieces;
      cc.full = ~crc32_concat(cc.asks_reg, b.raw.data(), b.len.data(), b.n);
    }
    cc.asks.changed = cc.bids.changed = false;
    if (cc.full != expected) {
      ++counters_.checksum_mismatches;
      ++in.version;
      mark_stale(index, resync_reason::checksum_mismatch);
      return frame_status::mismatch;
    }
    ++counters_.checks_ok;
  }
  book_changed(index, exch_ts, f.recv_ts);
  return frame_status::ok;
}

} // namespace mdgw::crypto
