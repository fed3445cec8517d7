// The recording (capture) file: plain structs for a batch of published events, the diff
// of a published top, and the encoding of both to the Cap'n Proto records of
// recording.capnp (framing, version and error rules are documented there and in
// docs/recording.md).
//
// Rationale:
// - The writer buffers a batch in these plain structs on the feed thread (no Cap'n Proto
//   builder per event) and encodes the whole batch once at flush; the reader decodes a
//   record back into the same structs, so a round trip is testable field for field.
// - Books are recorded as diffs of the published top: the levels that changed since the
//   instrument's previous book event. A book event then costs a few levels, not 100, and
//   replaying the diffs in order rebuilds every published top exactly.
// - Every record carries its length and a CRC-32: a truncated tail (a writer killed
//   mid-write) and a corrupted byte are told apart and reported with their byte offset,
//   never trusted.
#pragma once

#include "book_top.hpp"
#include "instrument_state.hpp"
#include "level_book.hpp"
#include "trade_history.hpp"
#include "types.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mdgw::recording {

inline constexpr char kMagic[8] = {'M', 'D', 'G', 'W', 'R', 'E', 'C', '\0'};
inline constexpr std::uint32_t kFormatVersion = 1;
inline constexpr std::size_t kRecordPrefix = 8; // u32 length, u32 CRC-32
// A record larger than this is corruption (a batch holds at most a few thousand events).
inline constexpr std::uint32_t kMaxRecordBytes = 64u << 20;

struct capture_header {
  std::uint32_t format_version = kFormatVersion;
  std::uint64_t created_ns = 0;
  std::string mdgw_version;
};

struct recorded_level {
  side s = side::bid;
  price_t price = 0;
  qty_t qty = 0; // 0: the level left the top
  std::uint32_t orders = 0;
  friend bool operator==(const recorded_level&, const recorded_level&) = default;
};

struct recorded_book {
  instrument_id instrument = 0;
  std::uint64_t version = 0;
  std::uint64_t exch_ts = 0;
  std::uint64_t recv_ts = 0;
  data_quality quality = data_quality::ok;
  quality_reason reason = quality_reason::none;
  std::uint32_t first_level = 0; // the change's levels: recorded_batch::levels[first, first + n)
  std::uint32_t n_levels = 0;
  friend bool operator==(const recorded_book&, const recorded_book&) = default;
};

using recorded_trade = feed_trade;

struct recorded_state {
  instrument_id instrument = 0;
  instrument_state state;
};

struct recorded_event {
  enum class kind : std::uint8_t { instrument = 0, book = 1, trade = 2, state = 3 };
  kind what = kind::book;
  std::uint32_t index = 0; // into the batch's vector of that kind
  friend bool operator==(const recorded_event&, const recorded_event&) = default;
};

[[nodiscard]] constexpr const char* to_string(recorded_event::kind k) noexcept {
  switch (k) {
  case recorded_event::kind::instrument: return "instrument";
  case recorded_event::kind::book: return "book";
  case recorded_event::kind::trade: return "trade";
  case recorded_event::kind::state: return "state";
  }
  return "book";
}

// One producer batch: the events in publication order, their data by kind.
struct recorded_batch {
  std::uint64_t recv_ts = 0; // when it was written, realtime ns
  std::vector<recorded_event> events;
  std::vector<instrument_info> instruments;
  std::vector<recorded_book> books;
  std::vector<recorded_level> levels;
  std::vector<recorded_trade> trades;
  std::vector<recorded_state> states;

  void add_instrument(const instrument_info& info);
  void add_trade(const recorded_trade& t);
  void add_state(instrument_id id, const instrument_state& st);
  // A book event whose levels are those appended to `levels` since first_level.
  void add_book(const recorded_book& b);
  // Source updates: book changes and trades (what --replay-rate counts).
  [[nodiscard]] std::size_t updates() const noexcept { return books.size() + trades.size(); }
  [[nodiscard]] bool empty() const noexcept { return events.empty(); }
  void clear() noexcept;
};

// The file instrument id an event names (an instrument event: its own).
[[nodiscard]] inline instrument_id instrument_of(const recorded_batch& b, const recorded_event& e) noexcept {
  switch (e.what) {
  case recorded_event::kind::instrument: return b.instruments[e.index].id;
  case recorded_event::kind::book: return b.books[e.index].instrument;
  case recorded_event::kind::trade: return b.trades[e.index].instrument;
  case recorded_event::kind::state: return b.states[e.index].instrument;
  }
  return 0;
}

// Appends to `out` the levels of one side that differ between `prev` and `now` (both best
// first, as in a book_top): a changed or new level with its new qty and orders, a level
// gone with qty 0 and orders 0. In price order, best first.
void diff_side(side s, std::span<const price_level> prev, std::span<const price_level> now,
               std::vector<recorded_level>& out);
// Applies recorded levels to a book (level_book::set). Returns the levels that did not
// apply (a removal of a level the book does not have, a bad price or quantity).
std::size_t apply_levels(level_book& book, std::span<const recorded_level> levels);

// Encoders: append one framed record (length, CRC, Cap'n Proto message) to `out`.
void append_file_start(std::vector<std::byte>& out, const capture_header& h);
void append_batch(std::vector<std::byte>& out, const recorded_batch& b);

} // namespace mdgw::recording
