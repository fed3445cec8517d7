// What the three crypto handlers (Kraken, Binance, Coinbase) share: per-instrument book
// state, counters, the sink they report to, and the frame they are handed.
//
// Rationale:
// - A handler is a pure function of its input frames plus its books: no sockets, no
//   clock, no threads. The same object is driven by the capture replay (tests, bench,
//   the replay feed) and, later, by the live WebSocket client. It is single-threaded:
//   the feed thread owning it is the books' only writer.
// - Levels, not orders: all three venues send aggregated price levels with an absolute
//   size, applied with level_book::set. The venues do not report order counts, so every
//   level is stored with orders = 0, meaning "not reported" (1 would be a made-up
//   number a client could mistake for a real count).
// - Frames are parsed in full before anything is applied: a frame with one bad number
//   changes nothing. But the update it carried is then lost, so the instrument's book is
//   no longer provably right: it is marked stale and a resync is requested, exactly as
//   for a checksum, sequence or ticker mismatch. A stale instrument keeps its last book
//   (published with quality `stale`, so clients see it) and ignores updates until a
//   fresh snapshot arrives; it is never published as good in between.
// - Before its first snapshot an instrument is `resyncing` (nothing to publish yet).
// - Reports go to a crypto_sink (virtual calls: one per changed book or trade, not per
//   level). The sink decides batching and publication (book/publication.hpp).
#pragma once

#include "book_top.hpp"
#include "level_book.hpp"
#include "types.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mdgw::crypto {

// A frame handed to a handler. The JSON parser reads in 64-byte blocks, so the
// kFramePadding bytes after data[size) must be readable (their content is irrelevant).
// frame_buffer and the capture loader provide that.
inline constexpr std::size_t kFramePadding = 64;

struct padded_frame {
  const char* data = nullptr;
  std::size_t size = 0;
  std::uint64_t recv_ts = 0; // gateway receive time (or the capture's), realtime ns
};

// Owns a copy of one frame with the padding behind it (tests, the live client).
class frame_buffer {
public:
  frame_buffer() = default;
  explicit frame_buffer(std::string_view json, std::uint64_t recv_ts = 0) { assign(json, recv_ts); }
  void assign(std::string_view json, std::uint64_t recv_ts = 0) {
    storage_.assign(json.size() + kFramePadding, ' ');
    storage_.replace(0, json.size(), json);
    size_ = json.size();
    recv_ts_ = recv_ts;
  }
  [[nodiscard]] padded_frame frame() const noexcept { return {storage_.data(), size_, recv_ts_}; }
  [[nodiscard]] std::string_view json() const noexcept { return {storage_.data(), size_}; }

private:
  std::string storage_;
  std::size_t size_ = 0;
  std::uint64_t recv_ts_ = 0;
};

enum class frame_status : std::uint8_t {
  ok = 0,             // applied: a book changed, a trade was reported, or control handled
  ignored,            // understood and deliberately not used (heartbeat, kline, ...)
  buffered,           // Binance: kept until the depth snapshot arrives
  dropped_old,        // Binance: older than the snapshot (u <= lastUpdateId), as documented
  out_of_sync,        // an update for an instrument awaiting its (re)snapshot: not applied
  mismatch,           // a checksum, sequence or ticker check failed: instrument now stale
  bad_frame,          // malformed JSON, unexpected shape or bad number: counted, rejected
  unknown_instrument, // names an instrument this handler was not configured with
};

[[nodiscard]] const char* to_string(frame_status s) noexcept;

enum class resync_reason : std::uint8_t {
  checksum_mismatch = 0, // Kraken "c"
  sequence_gap,          // Binance U/u chain break
  ticker_mismatch,       // Coinbase ticker / Binance bookTicker disagrees with the book
  bad_update,            // an update for the instrument could not be parsed or applied
  snapshot_rejected,     // the snapshot itself was malformed or did not join the stream
};

[[nodiscard]] const char* to_string(resync_reason r) noexcept;
[[nodiscard]] quality_reason to_quality_reason(resync_reason r) noexcept;

struct trade_print {
  side aggressor = side::bid; // the side that took liquidity (bid = a buy)
  price_t price = 0;
  qty_t qty = 0;
  std::uint64_t trade_seq = 0; // per instrument, from 1, assigned by the handler
  std::uint64_t exch_ts = 0;
  std::uint64_t recv_ts = 0;
};

class crypto_sink {
public:
  virtual ~crypto_sink() = default;
  // The book and/or the quality of instrument `index` changed; read handler.instrument().
  virtual void on_book(std::size_t index) = 0;
  virtual void on_trade(std::size_t index, const trade_print& t) = 0;
  // The instrument went stale: the owner must get a fresh snapshot (Kraken, Coinbase:
  // resubscribe; Binance: fetch the REST depth snapshot). A replay just reports it.
  virtual void on_resync(std::size_t index, resync_reason why) = 0;
};

// Configured per instrument before the handler runs (the publication registry needs
// the scales up front).
struct instrument_config {
  std::string venue_symbol; // as the venue spells it: "XBT/USD", "BTCUSDT", "BTC-USD"
  int price_scale = 8;
  int qty_scale = 8;
  price_t tick_size = 1; // in price units
  qty_t lot_size = 1;    // in quantity units
};

struct crypto_instrument {
  instrument_info info;     // symbol "<VENUE>:<venue_symbol>"
  std::string venue_symbol;
  level_book book{256};
  data_quality quality = data_quality::resyncing;
  quality_reason reason = quality_reason::awaiting_snapshot; // why, while not ok
  std::uint64_t version = 0;   // book changes applied (a snapshot or an update frame: +1)
  std::uint64_t exch_ts = 0;   // of the newest applied change
  std::uint64_t recv_ts = 0;
  std::uint64_t trade_seq = 0; // trades reported
};

// Everything is counted per handler; the feed reports the sum of the bad ones as errors.
struct crypto_counters {
  std::uint64_t frames = 0;
  std::uint64_t snapshots = 0;        // applied
  std::uint64_t updates = 0;          // update frames/events applied
  std::uint64_t levels = 0;           // level changes applied (snapshots included)
  std::uint64_t trades = 0;
  std::uint64_t ignored = 0;          // control and unused frames
  std::uint64_t bad_frames = 0;       // malformed or unparseable input, unknown instruments
  std::uint64_t checks_ok = 0;        // checksums, tickers, bookTickers that agreed
  std::uint64_t checksum_mismatches = 0;
  std::uint64_t sequence_gaps = 0;
  std::uint64_t ticker_mismatches = 0;
  std::uint64_t resyncs = 0;          // resynchronizations requested
  std::uint64_t dropped_old = 0;      // Binance diffs older than the snapshot
  std::uint64_t buffered = 0;         // Binance diffs held until the snapshot
  std::uint64_t out_of_sync = 0;      // updates ignored while an instrument awaited a snapshot
  std::uint64_t unknown_deletes = 0;  // size-0 updates for absent levels (normal on all three)
  std::uint64_t truncated = 0;        // Kraken: levels dropped beyond the subscribed depth
  std::uint64_t republished = 0;      // Kraken: levels carrying the "r" flag
  std::uint64_t unchecked_tickers = 0; // tickers not comparable (first per product, ids apart)

  [[nodiscard]] std::uint64_t errors() const noexcept {
    return bad_frames + checksum_mismatches + sequence_gaps + ticker_mismatches;
  }
};

class crypto_handler {
public:
  crypto_handler(std::string venue, const std::vector<instrument_config>& instruments);
  virtual ~crypto_handler();
  crypto_handler(const crypto_handler&) = delete;
  crypto_handler& operator=(const crypto_handler&) = delete;

  // One WebSocket frame (text). Never throws on bad input.
  [[nodiscard]] virtual frame_status on_frame(const padded_frame& f) = 0;
  // A REST reply (url and body) recorded in or fetched for the session. Binance takes
  // its depth snapshots this way; the default ignores it.
  [[nodiscard]] virtual frame_status on_rest(std::string_view url, const padded_frame& body);
  // The connection was (re)established: per-connection state is reset and every
  // instrument waits for a fresh snapshot. Books are kept (published stale) until then.
  virtual void on_connect();

  void set_sink(crypto_sink* sink) noexcept;

  [[nodiscard]] const std::string& venue() const noexcept { return venue_; }
  [[nodiscard]] std::size_t instrument_count() const noexcept { return instruments_.size(); }
  [[nodiscard]] const crypto_instrument& instrument(std::size_t index) const noexcept { return instruments_[index]; }
  [[nodiscard]] std::optional<std::size_t> find(std::string_view venue_symbol) const noexcept;
  [[nodiscard]] const crypto_counters& counters() const noexcept { return counters_; }

  // Frames are read by a strict scanner first and by simdjson's DOM when it declines
  // (feeds/crypto/json_util.hpp). false: every frame through the DOM, the reference
  // the fast path is tested against. Same results either way.
  void set_fast_json(bool on) noexcept { fast_json_ = on; }

protected:
  // Snapshot/update bookkeeping; each calls the sink once.
  void book_changed(std::size_t index, std::uint64_t exch_ts, std::uint64_t recv_ts);
  // The instrument's book cannot be trusted any more: stale, counted, resync requested.
  void mark_stale(std::size_t index, resync_reason why);
  void report_trade(std::size_t index, trade_print t);
  // find() for a symbol read from frame f (a view into f's bytes, or anything else:
  // then it is plain find). Inside the frame its first 16 bytes are loaded as two words,
  // the padding behind the frame making that safe: no copy. Inline for symbols of at
  // most 16 bytes (whose key decides equality: the venues' all are); longer ones and
  // views outside the frame go to the same lookup out of line.
  [[nodiscard]] std::optional<std::size_t> find_in_frame(std::string_view venue_symbol,
                                                         const padded_frame& f) const noexcept {
    const auto at = reinterpret_cast<std::uintptr_t>(venue_symbol.data());
    const auto begin = reinterpret_cast<std::uintptr_t>(f.data);
    if (venue_symbol.size() <= 16 && at >= begin && at + venue_symbol.size() <= begin + f.size) {
      const symbol_key k = padded_key(venue_symbol);
      for (std::size_t i = slot_of(k);; i = (i + 1) & slot_mask_) {
        const symbol_slot& slot = slots_[i];
        if (slot.key.lo == k.lo && slot.key.hi == k.hi && slot.key.size == k.size) return slot.index;
        if (slot.index == kNoSlot) return std::nullopt; // an empty slot: not a symbol of ours
      }
    }
    return find_in_frame_slow(venue_symbol, f);
  }
  // Applies one absolute level (qty 0 deletes); false when the book rejected it.
  // Inline: once per level of every update.
  [[nodiscard]] bool set_level(std::size_t index, side s, price_t price, qty_t qty) {
    switch (instruments_[index].book.set(s, price, qty, 0)) {
    case apply_status::ok: ++counters_.levels; return true;
    case apply_status::unknown_level: ++counters_.unknown_deletes; return true; // delete of an absent level
    default: return false;
    }
  }
  // A malformed or unreadable frame: counted.
  [[nodiscard]] frame_status reject_frame() noexcept {
    ++counters_.bad_frames;
    return frame_status::bad_frame;
  }

  std::vector<crypto_instrument> instruments_;
  crypto_counters counters_;
  bool fast_json_ = true;

private:
  // The symbol table: open addressing over (length, first 8 bytes, next 8 bytes), which
  // decide equality for symbols of up to 16 bytes (all the venues' are); longer ones are
  // compared in full after that. A lookup is a multiply, one slot read (a probe per
  // collision) and one compare: no string hashing, no memcmp call, no loop over the
  // instruments, whose outcome would be a mispredicted branch per frame when the
  // frames of several instruments interleave.
  struct symbol_key {
    std::uint64_t lo = 0; // bytes 0-7, zero beyond the length
    std::uint64_t hi = 0; // bytes 8-15, zero beyond the length
    std::size_t size = 0;
  };
  static constexpr std::size_t kNoSlot = ~std::size_t{0};
  struct symbol_slot {
    symbol_key key{0, 0, kNoSlot};
    std::size_t index = kNoSlot;
  };
  // The key of s; `padded`: 16 bytes from s.data() may be read.
  [[nodiscard]] static symbol_key key_of(std::string_view s, bool padded) noexcept;
  // key_of(s, true).
  [[nodiscard]] static symbol_key padded_key(std::string_view s) noexcept {
    symbol_key k;
    k.size = s.size();
    std::memcpy(&k.lo, s.data(), 8);
    std::memcpy(&k.hi, s.data() + 8, 8);
    // Keep the first n bytes of a word (n in 0..8): two shifts of at most 32 bits each, so
    // n = 0 needs no special case (a single shift by 64 would be undefined).
    const auto keep = [](std::uint64_t w, std::size_t n) {
      const auto drop = static_cast<unsigned>(8 - n) * 4U;
      return w & ((~std::uint64_t{0} >> drop) >> drop);
    };
    k.lo = keep(k.lo, std::min<std::size_t>(s.size(), 8));
    k.hi = keep(k.hi, std::min<std::size_t>(s.size(), 16) - std::min<std::size_t>(s.size(), 8));
    return k;
  }
  [[nodiscard]] std::size_t slot_of(const symbol_key& k) const noexcept {
    const std::uint64_t h = (k.lo ^ (k.hi * 0x9E3779B97F4A7C15ULL) ^ k.size) * 0xBF58476D1CE4E5B9ULL;
    return static_cast<std::size_t>(h >> slot_shift_);
  }
  [[nodiscard]] std::optional<std::size_t> find_in_frame_slow(std::string_view venue_symbol,
                                                              const padded_frame& f) const noexcept;
  [[nodiscard]] std::optional<std::size_t> lookup(const symbol_key& k, std::string_view s) const noexcept;
  // Symbols over 16 bytes (none of the venues' so far): the rest compared out of line.
  [[nodiscard, gnu::noinline, gnu::cold]] bool long_symbol_is(std::size_t index, std::string_view s) const noexcept;

  std::string venue_;
  std::vector<symbol_slot> slots_; // a power of two, at least twice the instruments
  std::size_t slot_mask_ = 0;      // slots_.size() - 1
  unsigned slot_shift_ = 64;       // 64 - log2(slots_.size())
  crypto_sink* sink_;
};

// truncate_book when a side is deeper than `depth`.
std::size_t truncate_sides(level_book& book, std::size_t depth);

// Drops every level beyond `depth` on both sides (Kraken: the subscribed depth).
// Returns how many were dropped. level_book has no truncate, so this deletes the worst
// level by price; it only runs when an insert pushed a side past the depth (one level).
// The test of the usual case (nothing to drop) is inline: it runs on every update.
inline std::size_t truncate_book(level_book& book, std::size_t depth) {
  if (book.depth(side::bid) <= depth && book.depth(side::ask) <= depth) return 0;
  return truncate_sides(book, depth);
}

} // namespace mdgw::crypto
