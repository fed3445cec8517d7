#include "level_book.hpp"

#include <algorithm>

namespace mdgw {

level_book::level_book(std::size_t reserve_levels) {
  bids_.reserve(reserve_levels);
  asks_.reserve(reserve_levels);
}

namespace {

// Levels counted at a time from the inside (4 levels: 96 bytes, two cache lines), and
// chunks counted before bisecting the rest. Updates cluster at the inside.
constexpr std::size_t kChunk = 4;
constexpr int kChunks = 2;

// Index of the level with `price`, or where it would be inserted, in a side sorted so the
// best is at the back (ascending for bids, descending for asks). Chunks of kChunk levels
// from the back are counted without a data-dependent branch: how many are at or better
// than `price` (they are the last ones, the side being sorted); the first chunk not all
// at or better holds the answer. On a real feed that is the first chunk nearly always,
// so one well-predicted branch replaces an early-exit scan that mispredicts its exit
// about once per call, and no more cache lines are read than the chunk spans.
template <side S>
std::size_t find_in(const std::vector<price_level>& v, price_t price) noexcept {
  const price_level* d = v.data();
  std::size_t hi = v.size();
  for (int c = 0; c < kChunks && hi > 0; ++c) {
    const std::size_t lo = hi > kChunk ? hi - kChunk : 0;
    std::size_t at_or_better = 0;
    for (std::size_t k = lo; k < hi; ++k) {
      at_or_better += S == side::bid ? static_cast<std::size_t>(d[k].price >= price)
                                     : static_cast<std::size_t>(d[k].price <= price);
    }
    if (at_or_better < hi - lo) return hi - at_or_better;
    hi = lo;
  }
  const auto end = v.begin() + static_cast<std::ptrdiff_t>(hi);
  const auto it = S == side::bid
                      ? std::lower_bound(v.begin(), end, price, [](const price_level& l, price_t p) { return l.price < p; })
                      : std::lower_bound(v.begin(), end, price, [](const price_level& l, price_t p) { return l.price > p; });
  return static_cast<std::size_t>(it - v.begin());
}

// Insert and erase near the back move a few 24-byte levels: a plain loop, no memmove call.
void insert_at(std::vector<price_level>& v, std::size_t i, const price_level& l) {
  v.emplace_back();
  price_level* d = v.data();
  for (std::size_t j = v.size() - 1; j > i; --j) d[j] = d[j - 1];
  d[i] = l;
}

void erase_at(std::vector<price_level>& v, std::size_t i) noexcept {
  price_level* d = v.data();
  const std::size_t n = v.size();
  for (std::size_t j = i + 1; j < n; ++j) d[j - 1] = d[j];
  v.pop_back();
}

} // namespace

std::size_t level_book::find(side s, price_t price) const noexcept {
  return s == side::bid ? find_in<side::bid>(bids_, price) : find_in<side::ask>(asks_, price);
}

apply_status level_book::add(side s, price_t price, qty_t qty, std::uint32_t orders) {
  if (qty <= 0 || price <= 0) return apply_status::bad_quantity;
  auto& v = levels(s);
  const std::size_t i = find(s, price);
  if (i < v.size() && v[i].price == price) {
    v[i].qty += qty;
    v[i].orders += orders;
  } else {
    insert_at(v, i, price_level{price, qty, orders, 0});
  }
  return apply_status::ok;
}

apply_status level_book::reduce(side s, price_t price, qty_t qty, std::uint32_t orders) {
  if (qty < 0) return apply_status::bad_quantity;
  auto& v = levels(s);
  const std::size_t i = find(s, price);
  if (i >= v.size() || v[i].price != price) return apply_status::unknown_level;
  auto& l = v[i];
  if (qty > l.qty || orders > l.orders) {
    erase_at(v, i);
    return apply_status::over_reduce;
  }
  l.qty -= qty;
  l.orders -= orders;
  if (l.qty == 0) erase_at(v, i);
  return apply_status::ok;
}

apply_status level_book::set(side s, price_t price, qty_t qty, std::uint32_t orders) {
  if (qty < 0 || price <= 0) return apply_status::bad_quantity;
  auto& v = levels(s);
  const std::size_t i = find(s, price);
  const bool exists = i < v.size() && v[i].price == price;
  if (qty == 0) {
    if (!exists) return apply_status::unknown_level;
    erase_at(v, i);
  } else if (exists) {
    v[i].qty = qty;
    v[i].orders = orders;
  } else {
    insert_at(v, i, price_level{price, qty, orders, 0});
  }
  return apply_status::ok;
}

void level_book::clear() noexcept {
  bids_.clear();
  asks_.clear();
}

std::size_t level_book::copy_top(side s, std::size_t n, price_level* out) const noexcept {
  const auto& v = levels(s);
  const std::size_t k = std::min(n, v.size());
  for (std::size_t j = 0; j < k; ++j) out[j] = v[v.size() - 1 - j];
  return k;
}

} // namespace mdgw
