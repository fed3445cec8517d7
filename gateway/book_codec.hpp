// Book messages of protocol v1 (docs/protocol.md, "Books"): a snapshot, or a delta from
// the state a client last received, each with the CRC32 checksum of the resulting top N.
//
// Rationale:
// - A book_record is one state of a channel (instrument, depth) as this io thread saw
//   it: the top `depth` levels of the slot, its stamps and its checksum. A channel keeps
//   the last few records (book_history) so a client that received record r gets a delta
//   r -> newest; one older than the history gets a snapshot (never a gap).
// - The delta for (from, to) is a merge walk of the two sorted level lists: levels of
//   `to` that are new or changed are sent as they are, levels of `from` that are gone
//   (removed, or pushed below the depth) are sent with size "0". Applying it to the
//   `from` levels gives exactly the `to` levels, so the checksum proves it.
// - Checksum: CRC-32 (the zlib / ISO-HDLC polynomial) of the text
//   "<p>:<q>,<p>:<q>,...|<p>:<q>,..." — bids best first, '|', asks best first, each
//   level its price and size exactly as the message spells them. A client computes it
//   from its own book with a dozen lines of code (docs/protocol.md has them).
// - Records reuse their level storage: after warm-up a new state allocates nothing.
#pragma once

#include "book_top.hpp"
#include "types.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mdgw {

struct book_record {
  std::uint64_t rec = 0;      // channel-local record number, from 1
  std::uint64_t version = 0;  // the feed's book version
  std::uint64_t first_exch_ts = 0; // oldest source update merged since the previous record
  std::uint64_t first_recv_ts = 0;
  std::uint64_t exch_ts = 0;  // newest source update
  std::uint64_t recv_ts = 0;
  data_quality quality = data_quality::ok;
  std::uint32_t checksum = 0;
  std::size_t n_bids = 0;
  std::size_t n_asks = 0;
  std::vector<price_level> levels; // bids best first, then asks best first

  [[nodiscard]] const price_level* bids() const noexcept { return levels.data(); }
  [[nodiscard]] const price_level* asks() const noexcept { return levels.data() + n_bids; }
  // Takes the top `depth` levels of `top` and computes the checksum.
  template <std::size_t D>
  void assign(const basic_book_top<D>& top, std::size_t depth, const instrument_info& info, std::string& scratch);
};

// The checksum of a book (see the rationale). `scratch` is reused text storage.
[[nodiscard]] std::uint32_t book_checksum(const price_level* bids, std::size_t n_bids, const price_level* asks,
                                          std::size_t n_asks, const instrument_info& info, std::string& scratch);

template <std::size_t D>
void book_record::assign(const basic_book_top<D>& top, std::size_t depth, const instrument_info& info,
                         std::string& scratch) {
  version = top.version;
  exch_ts = top.exch_ts;
  recv_ts = top.recv_ts;
  quality = top.quality;
  n_bids = std::min<std::size_t>(top.n_bids, depth);
  n_asks = std::min<std::size_t>(top.n_asks, depth);
  levels.resize(n_bids + n_asks); // capacity is kept: no allocation once warm
  std::copy_n(top.bids(), n_bids, levels.begin());
  std::copy_n(top.asks(), n_asks, levels.begin() + static_cast<std::ptrdiff_t>(n_bids));
  checksum = book_checksum(bids(), n_bids, asks(), n_asks, info, scratch);
}

// The last kCapacity records of a channel.
class book_history {
public:
  static constexpr std::size_t kCapacity = 16;

  // The newest record, or nullptr before the first.
  [[nodiscard]] const book_record* newest() const noexcept { return count_ == 0 ? nullptr : &ring_[(next_ - 1) % kCapacity]; }
  // Record number `rec` if it is still held, else nullptr.
  [[nodiscard]] const book_record* find(std::uint64_t rec) const noexcept;
  // The record after `rec` (the oldest state merged into a delta from rec), or nullptr.
  [[nodiscard]] const book_record* after(std::uint64_t rec) const noexcept { return find(rec + 1); }
  // A slot for the next record (its storage is reused); call commit() once filled.
  [[nodiscard]] book_record& prepare() noexcept { return ring_[next_ % kCapacity]; }
  void commit() noexcept;

private:
  book_record ring_[kCapacity];
  std::uint64_t next_ = 1; // the next record number
  std::size_t count_ = 0;
};

struct book_message_stamps {
  std::uint64_t first_exch_ts = 0;
  std::uint64_t first_recv_ts = 0;
  std::uint64_t merged = 0; // source updates merged into this message
};

// Levels of one side best first: bids by descending price, asks by ascending.
[[nodiscard]] constexpr bool better(side s, price_t a, price_t b) noexcept { return s == side::bid ? a > b : a < b; }

// The levels of a delta from -> to on one side, best first: emit(level) for each level of
// `to` that is new or changed, as it is, and for each level of `from` that is gone (removed
// or pushed below the depth) with qty 0 and orders 0. Applying them to `from` gives `to`.
template <class Emit>
void delta_levels(side s, const price_level* from, std::size_t nf, const price_level* to, std::size_t nt, Emit&& emit) {
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < nf || j < nt) {
    if (j == nt || (i < nf && better(s, from[i].price, to[j].price))) {
      emit(price_level{from[i].price, 0, 0, 0});
      ++i;
    } else if (i == nf || better(s, to[j].price, from[i].price)) {
      emit(to[j]);
      ++j;
    } else {
      if (from[i].qty != to[j].qty || from[i].orders != to[j].orders) emit(to[j]);
      ++i;
      ++j;
    }
  }
}

// One element of a data batch's "updates": a snapshot of `to` (from == nullptr) or the
// delta from -> to.
void encode_book_message(std::string& out, std::string_view channel, const book_record* from, const book_record& to,
                         const book_message_stamps& stamps, const instrument_info& info);

} // namespace mdgw
