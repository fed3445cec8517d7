#include "level_book.hpp"

#include <algorithm>

namespace mdgw {

level_book::level_book(std::size_t reserve_levels, std::pmr::memory_resource* memory)
    : bids_(memory), asks_(memory) {
  bids_.reserve(kGuard + reserve_levels);
  asks_.reserve(kGuard + reserve_levels);
  bids_.assign(kGuard, price_level{level_detail::kBidGuard, 0, 0, 0});
  asks_.assign(kGuard, price_level{level_detail::kAskGuard, 0, 0, 0});
}

apply_status level_book::set(side s, price_t price, qty_t qty, std::uint32_t orders) {
  if (qty < 0 || !level_detail::valid_price(price)) return apply_status::bad_quantity;
  auto& v = levels(s);
  const std::size_t i = find(s, price);
  const bool exists = i < v.size() && v[i].price == price;
  if (qty == 0) {
    if (!exists) return apply_status::unknown_level;
    level_detail::erase_at(v, i);
  } else if (exists) {
    v[i].qty = qty;
    v[i].orders = orders;
  } else {
    level_detail::insert_at(v, i, price_level{price, qty, orders, 0});
  }
  return apply_status::ok;
}

void level_book::clear() noexcept {
  bids_.erase(bids_.begin() + kGuard, bids_.end()); // the guards stay
  asks_.erase(asks_.begin() + kGuard, asks_.end());
}

std::size_t level_book::copy_top(side s, std::size_t n, price_level* out) const noexcept {
  const auto& v = levels(s);
  const std::size_t k = std::min(n, v.size() - kGuard);
  for (std::size_t j = 0; j < k; ++j) out[j] = v[v.size() - 1 - j];
  return k;
}

} // namespace mdgw
