// Price-level order book for one instrument: aggregated quantity and order count per
// price, bid and ask sides. The feed thread is its only writer.
//
// Each side is a vector sorted so that the best price is at the back. Real order flow
// (and the simulator's) is concentrated near the inside of the book, so inserts and
// erases move only the few elements between the touched level and the back, and the
// top-N view is a contiguous run read backwards. A map would allocate per level and
// chase pointers on every update. Each side starts with kChunk guard levels (bids:
// price min, asks: price max; never a real price) so the search from the back always
// reads whole chunks: a fixed-count loop the compiler unrolls, with no bounds test. The
// level arrays come from a memory resource (the
// default heap unless told): the ITCH book keeps thousands of books in huge pages.
#pragma once

#include "prefetch.hpp"
#include "types.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory_resource>
#include <vector>

namespace mdgw {

struct price_level {
  price_t price = 0;
  qty_t qty = 0;
  std::uint32_t orders = 0;
  std::uint32_t reserved_ = 0; // keeps the struct 24 bytes with no hidden padding

  friend bool operator==(const price_level&, const price_level&) = default;
};
static_assert(sizeof(price_level) == 24);

enum class apply_status : std::uint8_t {
  ok = 0,
  unknown_level,   // a reduce named a price with no level: ignored
  over_reduce,     // a reduce took more than the level held: level removed
  bad_quantity,    // zero or negative size on an add, or price <= 0
};

namespace level_detail {
// Levels counted at a time from the inside (4 levels: 96 bytes, two cache lines), and
// chunks counted before bisecting the rest. Updates cluster at the inside.
constexpr std::size_t kChunk = 4;
constexpr int kChunks = 2;
constexpr price_t kBidGuard = std::numeric_limits<price_t>::min();
constexpr price_t kAskGuard = std::numeric_limits<price_t>::max();
// A price a level may have: positive and not a guard's.
constexpr bool valid_price(price_t p) noexcept { return p > 0 && p < kAskGuard; }
} // namespace level_detail

class level_book {
public:
  explicit level_book(std::size_t reserve_levels = 64,
                      std::pmr::memory_resource* memory = std::pmr::get_default_resource());

  // Adds quantity (and orders) at a price; creates the level when new.
  [[nodiscard]] apply_status add(side s, price_t price, qty_t qty, std::uint32_t orders = 1);
  // Removes quantity (and orders) at a price; the level goes when it reaches zero.
  [[nodiscard]] apply_status reduce(side s, price_t price, qty_t qty, std::uint32_t orders);
  // Sets a level to an absolute state (JSON feeds send levels, not orders); qty 0 erases.
  [[nodiscard]] apply_status set(side s, price_t price, qty_t qty, std::uint32_t orders);
  // Replaces one side with levels[0..n), which must be sorted worst first (bids ascending,
  // asks descending), with distinct valid prices and qty > 0: a book kept in another
  // form (the ITCH level store) copied in at once, with no search per level.
  void assign_worst_first(side s, const price_level* levels, std::size_t n) {
    auto& v = this->levels(s);
    v.resize(kGuard);
    v.insert(v.end(), levels, levels + n);
  }
  void clear() noexcept;

  [[nodiscard]] std::size_t depth(side s) const noexcept { return levels(s).size() - kGuard; }
  // i = 0 is the best level. Precondition: i < depth(s).
  [[nodiscard]] const price_level& level(side s, std::size_t i) const noexcept {
    const auto& v = levels(s);
    return v[v.size() - 1 - i];
  }
  [[nodiscard]] const price_level* best(side s) const noexcept {
    const auto& v = levels(s);
    return v.size() == kGuard ? nullptr : &v.back();
  }
  // Starts loading the best levels of one side (the kChunk levels a search reads first):
  // a cache hint for a caller that knows an update to this side is coming, e.g. a few
  // messages ahead in a batch.
  void prefetch(side s) const noexcept;
  // Copies up to n best levels into out (best first); returns how many.
  std::size_t copy_top(side s, std::size_t n, price_level* out) const noexcept;

private:
  static constexpr std::size_t kGuard = level_detail::kChunk; // guard levels per side

  [[nodiscard]] std::pmr::vector<price_level>& levels(side s) noexcept { return s == side::bid ? bids_ : asks_; }
  [[nodiscard]] const std::pmr::vector<price_level>& levels(side s) const noexcept {
    return s == side::bid ? bids_ : asks_;
  }
  // Index of the level with this price, or of the position where it would be inserted.
  [[nodiscard]] std::size_t find(side s, price_t price) const noexcept;

  // After the guards: bids ascending (best, highest, at the back), asks descending.
  std::pmr::vector<price_level> bids_;
  std::pmr::vector<price_level> asks_;
};

// add, reduce and the search are inline: they run for nearly every message of an
// order-by-order feed, and a call per step costs as much as the step.
namespace level_detail {


// Index of the level with `price`, or where it would be inserted, in a side sorted so the
// best is at the back (ascending for bids, descending for asks). Chunks of kChunk levels
// from the back are counted without a data-dependent branch: how many are at or better
// than `price` (they are the last ones, the side being sorted); the first chunk not all
// at or better holds the answer. On a real feed that is the first chunk nearly always,
// so one well-predicted branch replaces an early-exit scan that mispredicts its exit
// about once per call, and no more cache lines are read than the chunk spans.
template <side S>
inline std::size_t find_in(const std::pmr::vector<price_level>& v, price_t price) noexcept {
  // v starts with kChunk guards that are worse than any valid price, so a chunk that is
  // all at or better holds real levels only and the next chunk starts at index >= 0.
  const price_level* d = v.data();
  std::size_t hi = v.size();
  for (int c = 0; c < kChunks; ++c) {
    const price_level* p = d + hi - kChunk;
    std::size_t at_or_better = 0;
    for (std::size_t k = 0; k < kChunk; ++k) {
      at_or_better += S == side::bid ? static_cast<std::size_t>(p[k].price >= price)
                                     : static_cast<std::size_t>(p[k].price <= price);
    }
    if (at_or_better < kChunk) return hi - at_or_better;
    hi -= kChunk;
  }
  // The rest, [0, hi), by a bisection whose steps are selects, not branches: a deep
  // level's place is as good as random to a branch predictor (Kraken's and Binance's
  // 1000-level books: a quarter of the updates land past the first two chunks), and a
  // mispredicted step costs more than the whole step. Same answer as std::lower_bound.
  const auto worse = [price](const price_level& l) { return S == side::bid ? l.price < price : l.price > price; };
  const price_level* base = d;
  for (std::size_t n = hi; n > 1;) {
    const std::size_t half = n / 2;
    base = worse(base[half]) ? base + half : base;
    n -= half;
  }
  return static_cast<std::size_t>(base - d) + (hi != 0 && worse(*base) ? 1 : 0);
}

// Insert and erase near the back move a few 24-byte levels: a plain loop, no memmove call.
inline void insert_at(std::pmr::vector<price_level>& v, std::size_t i, const price_level& l) {
  v.emplace_back();
  price_level* d = v.data();
  for (std::size_t j = v.size() - 1; j > i; --j) d[j] = d[j - 1];
  d[i] = l;
}

inline void erase_at(std::pmr::vector<price_level>& v, std::size_t i) noexcept {
  price_level* d = v.data();
  const std::size_t n = v.size();
  for (std::size_t j = i + 1; j < n; ++j) d[j - 1] = d[j];
  v.pop_back();
}

} // namespace level_detail

inline void level_book::prefetch(side s) const noexcept {
  // The kChunk levels (96 bytes) span two or three cache lines: their first byte, the
  // one 64 further and their last byte are one in each.
  const auto& v = levels(s);
  const auto* lo = reinterpret_cast<const char*>(&v.back() + 1 - level_detail::kChunk);
  const auto* hi = reinterpret_cast<const char*>(&v.back() + 1) - 1;
  prefetch_line(lo);
  prefetch_line(lo + 64);
  prefetch_line(hi);
}

inline std::size_t level_book::find(side s, price_t price) const noexcept {
  return s == side::bid ? level_detail::find_in<side::bid>(bids_, price) : level_detail::find_in<side::ask>(asks_, price);
}

inline apply_status level_book::add(side s, price_t price, qty_t qty, std::uint32_t orders) {
  if (qty <= 0 || !level_detail::valid_price(price)) return apply_status::bad_quantity;
  auto& v = levels(s);
  const std::size_t i = find(s, price);
  if (i < v.size() && v[i].price == price) {
    v[i].qty += qty;
    v[i].orders += orders;
  } else {
    level_detail::insert_at(v, i, price_level{price, qty, orders, 0});
  }
  return apply_status::ok;
}

inline apply_status level_book::reduce(side s, price_t price, qty_t qty, std::uint32_t orders) {
  if (qty < 0) return apply_status::bad_quantity;
  if (!level_detail::valid_price(price)) return apply_status::unknown_level;
  auto& v = levels(s);
  const std::size_t i = find(s, price);
  if (i >= v.size() || v[i].price != price) return apply_status::unknown_level;
  auto& l = v[i];
  if (qty > l.qty || orders > l.orders) {
    level_detail::erase_at(v, i);
    return apply_status::over_reduce;
  }
  l.qty -= qty;
  l.orders -= orders;
  if (l.qty == 0) level_detail::erase_at(v, i);
  return apply_status::ok;
}

} // namespace mdgw
