// The published state of one instrument's book: its best levels on both sides, the
// version they correspond to and the stamps of the newest update applied. This is the
// payload of the seqlock slot (see seqlock.hpp), so it is trivially copyable and only
// its used prefix (header + n_bids + n_asks levels) is copied on publish and on read.
#pragma once

#include "level_book.hpp"
#include "types.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace mdgw {

inline constexpr std::size_t kMaxDepth = 50;

enum class data_quality : std::uint8_t { ok = 0, stale = 1, resyncing = 2 };

// "ok", "stale", "resyncing": the names clients see (docs/protocol.md).
constexpr const char* to_string(data_quality q) noexcept {
  switch (q) {
  case data_quality::ok: return "ok";
  case data_quality::stale: return "stale";
  case data_quality::resyncing: return "resyncing";
  }
  return "ok";
}

// Why a book is not `ok` (status channel, docs/protocol.md); none while it is.
enum class quality_reason : std::uint8_t {
  none = 0,
  awaiting_snapshot, // resyncing: no snapshot yet since start
  reconnecting,      // resyncing: the upstream connection was re-established
  unsubscribed,      // resyncing: the venue ended the subscription
  checksum_mismatch, // stale: the venue's book checksum disagreed
  sequence_gap,      // stale: the venue's update ids broke their chain
  ticker_mismatch,   // stale: the venue's best bid/ask disagreed with the book
  bad_update,        // stale: an update could not be parsed or applied
  snapshot_rejected, // stale: a snapshot was malformed or did not join the stream
  packet_gap,        // stale: packets are missing and being re-requested (MoldUDP64)
  data_lost,         // stale: packets were lost for good (no snapshot can repair it)
};

constexpr const char* to_string(quality_reason r) noexcept {
  switch (r) {
  case quality_reason::none: return "";
  case quality_reason::awaiting_snapshot: return "awaiting_snapshot";
  case quality_reason::reconnecting: return "reconnecting";
  case quality_reason::unsubscribed: return "unsubscribed";
  case quality_reason::checksum_mismatch: return "checksum_mismatch";
  case quality_reason::sequence_gap: return "sequence_gap";
  case quality_reason::ticker_mismatch: return "ticker_mismatch";
  case quality_reason::bad_update: return "bad_update";
  case quality_reason::snapshot_rejected: return "snapshot_rejected";
  case quality_reason::packet_gap: return "packet_gap";
  case quality_reason::data_lost: return "data_lost";
  }
  return "";
}

// The levels a `full` book channel serves at most, per side (docs/protocol.md).
inline constexpr std::size_t kFullDepth = 1000;

// Depth: the levels kept per side. book_top (kMaxDepth) is what every instrument
// publishes; full_book_top (kFullDepth) is published besides it only while the book is
// deeper than kMaxDepth on a side (`deeper` is then set in the book_top).
template <std::size_t Depth>
struct basic_book_top {
  static_assert(Depth <= 0xffff, "n_bids/n_asks are 16 bits");
  std::uint64_t version = 0;   // per-instrument update sequence of the feed
  std::uint64_t exch_ts = 0;   // exchange timestamp of the newest update, ns since epoch
  std::uint64_t recv_ts = 0;   // gateway receive time of the newest update, realtime ns
  std::uint64_t recv_mono = 0; // same instant, monotonic ns (internal latency)
  instrument_id instrument = 0;
  std::uint16_t n_bids = 0;
  std::uint16_t n_asks = 0;
  data_quality quality = data_quality::ok;
  quality_reason reason = quality_reason::none;
  std::uint8_t deeper = 0;     // the book has more than Depth levels on a side
  std::uint8_t reserved_[5] = {};
  // bids in [0, n_bids) best first, then asks in [n_bids, n_bids + n_asks) best first.
  price_level levels[2 * Depth];

  // version..n_asks (40) + quality, reason, deeper, reserved_ (8): levels start at 48. The
  // header is what a reader copies before it knows n_bids/n_asks, so it must cover them.
  static constexpr std::size_t kHeaderBytes = 48;
  static constexpr std::size_t kDepth = Depth;

  [[nodiscard]] const price_level* bids() const noexcept { return levels; }
  [[nodiscard]] const price_level* asks() const noexcept { return levels + n_bids; }
  [[nodiscard]] std::size_t used_bytes() const noexcept {
    // Clamped: a reader may call this on a torn header (the seqlock discards the copy).
    const std::size_t n = std::min<std::size_t>(n_bids, Depth) + std::min<std::size_t>(n_asks, Depth);
    return kHeaderBytes + n * sizeof(price_level);
  }
  // Fills the levels from a book (at most Depth per side): a level_book, or any levels
  // with depth(side) and copy_top(side, n, out) (best first), such as the ITCH level
  // store's view (feeds/itch/itch_levels.hpp), read in place with no level_book copy.
  template <class Levels>
  void fill_from(const Levels& book) noexcept {
    n_bids = static_cast<std::uint16_t>(book.copy_top(side::bid, Depth, levels));
    n_asks = static_cast<std::uint16_t>(book.copy_top(side::ask, Depth, levels + n_bids));
    deeper = book.depth(side::bid) > Depth || book.depth(side::ask) > Depth ? 1 : 0;
  }
};

using book_top = basic_book_top<kMaxDepth>;
using full_book_top = basic_book_top<kFullDepth>;
static_assert(offsetof(book_top, levels) == book_top::kHeaderBytes);
static_assert(offsetof(full_book_top, levels) == full_book_top::kHeaderBytes);
static_assert(sizeof(book_top) % 8 == 0);
static_assert(sizeof(full_book_top) % 8 == 0);

} // namespace mdgw
