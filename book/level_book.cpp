#include "level_book.hpp"

#include <algorithm>

namespace mdgw {

level_book::level_book(std::size_t reserve_levels) {
  bids_.reserve(reserve_levels);
  asks_.reserve(reserve_levels);
}

std::size_t level_book::find(side s, price_t price) const noexcept {
  const auto& v = levels(s);
  // Updates cluster at the inside: look at the last few levels before bisecting.
  const std::size_t n = v.size();
  const std::size_t scan = n < 8 ? n : 8;
  if (s == side::bid) {
    for (std::size_t k = 0; k < scan; ++k) {
      const std::size_t i = n - 1 - k;
      if (v[i].price <= price) return v[i].price == price ? i : i + 1;
    }
    if (scan == n) return 0;
    auto it = std::lower_bound(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n - scan), price,
                               [](const price_level& l, price_t p) { return l.price < p; });
    return static_cast<std::size_t>(it - v.begin());
  }
  for (std::size_t k = 0; k < scan; ++k) {
    const std::size_t i = n - 1 - k;
    if (v[i].price >= price) return v[i].price == price ? i : i + 1;
  }
  if (scan == n) return 0;
  auto it = std::lower_bound(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n - scan), price,
                             [](const price_level& l, price_t p) { return l.price > p; });
  return static_cast<std::size_t>(it - v.begin());
}

apply_status level_book::add(side s, price_t price, qty_t qty, std::uint32_t orders) {
  if (qty <= 0 || price <= 0) return apply_status::bad_quantity;
  auto& v = levels(s);
  const std::size_t i = find(s, price);
  if (i < v.size() && v[i].price == price) {
    v[i].qty += qty;
    v[i].orders += orders;
  } else {
    v.insert(v.begin() + static_cast<std::ptrdiff_t>(i), price_level{price, qty, orders, 0});
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
    v.erase(v.begin() + static_cast<std::ptrdiff_t>(i));
    return apply_status::over_reduce;
  }
  l.qty -= qty;
  l.orders -= orders;
  if (l.qty == 0) v.erase(v.begin() + static_cast<std::ptrdiff_t>(i));
  return apply_status::ok;
}

apply_status level_book::set(side s, price_t price, qty_t qty, std::uint32_t orders) {
  if (qty < 0 || price <= 0) return apply_status::bad_quantity;
  auto& v = levels(s);
  const std::size_t i = find(s, price);
  const bool exists = i < v.size() && v[i].price == price;
  if (qty == 0) {
    if (!exists) return apply_status::unknown_level;
    v.erase(v.begin() + static_cast<std::ptrdiff_t>(i));
  } else if (exists) {
    v[i].qty = qty;
    v[i].orders = orders;
  } else {
    v.insert(v.begin() + static_cast<std::ptrdiff_t>(i), price_level{price, qty, orders, 0});
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
