// Normalized market events: what every feed handler turns its exchange's messages into
// before they touch a book. Level-based: an order-by-order feed reports the level change
// its order message caused.
#pragma once

#include "types.hpp"

#include <cstdint>

namespace mdgw {

struct market_event {
  enum class type : std::uint8_t {
    add = 0,    // qty (and `orders` orders) joined the level at price
    reduce = 1, // qty (and `orders` orders) left the level at price (cancel, delete, fill)
    trade = 2,  // a trade at price for qty; `s` is the aggressor side. Book unchanged:
                // the fill's effect on the passive side comes as a separate reduce.
  };
  type what = type::add;
  side s = side::bid;
  std::uint16_t reserved_ = 0;
  std::uint32_t orders = 0;
  instrument_id instrument = 0;
  std::uint32_t reserved2_ = 0;
  price_t price = 0;
  qty_t qty = 0;
  std::uint64_t exch_ts = 0; // exchange timestamp, ns since the epoch
};
static_assert(sizeof(market_event) == 40);

} // namespace mdgw
