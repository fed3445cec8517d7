// Price-level order book for one instrument: aggregated quantity and order count per
// price, bid and ask sides. The feed thread is its only writer.
//
// Each side is a vector sorted so that the best price is at the back. Real order flow
// (and the simulator's) is concentrated near the inside of the book, so inserts and
// erases move only the few elements between the touched level and the back, and the
// top-N view is a contiguous run read backwards. A map would allocate per level and
// chase pointers on every update.
#pragma once

#include "types.hpp"

#include <cstddef>
#include <cstdint>
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

class level_book {
public:
  explicit level_book(std::size_t reserve_levels = 64);

  // Adds quantity (and orders) at a price; creates the level when new.
  [[nodiscard]] apply_status add(side s, price_t price, qty_t qty, std::uint32_t orders = 1);
  // Removes quantity (and orders) at a price; the level goes when it reaches zero.
  [[nodiscard]] apply_status reduce(side s, price_t price, qty_t qty, std::uint32_t orders);
  // Sets a level to an absolute state (JSON feeds send levels, not orders); qty 0 erases.
  [[nodiscard]] apply_status set(side s, price_t price, qty_t qty, std::uint32_t orders);
  void clear() noexcept;

  [[nodiscard]] std::size_t depth(side s) const noexcept { return levels(s).size(); }
  // i = 0 is the best level. Precondition: i < depth(s).
  [[nodiscard]] const price_level& level(side s, std::size_t i) const noexcept {
    const auto& v = levels(s);
    return v[v.size() - 1 - i];
  }
  [[nodiscard]] const price_level* best(side s) const noexcept {
    const auto& v = levels(s);
    return v.empty() ? nullptr : &v.back();
  }
  // Starts loading the best levels of both sides (a cache hint for a caller that knows
  // an update to this book is coming, e.g. a few messages ahead in a batch).
  void prefetch() const noexcept {
    if (!bids_.empty()) __builtin_prefetch(&bids_.back());
    if (!asks_.empty()) __builtin_prefetch(&asks_.back());
  }
  // Copies up to n best levels into out (best first); returns how many.
  std::size_t copy_top(side s, std::size_t n, price_level* out) const noexcept;

private:
  [[nodiscard]] std::vector<price_level>& levels(side s) noexcept { return s == side::bid ? bids_ : asks_; }
  [[nodiscard]] const std::vector<price_level>& levels(side s) const noexcept {
    return s == side::bid ? bids_ : asks_;
  }
  // Index of the level with this price, or of the position where it would be inserted.
  [[nodiscard]] std::size_t find(side s, price_t price) const noexcept;

  std::vector<price_level> bids_; // ascending price: best (highest) at the back
  std::vector<price_level> asks_; // descending price: best (lowest) at the back
};

} // namespace mdgw
