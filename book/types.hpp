// Core types shared by every component: instruments, prices, sides, timestamps.
//
// Prices and quantities are integers. A price is a count of 10^-price_scale units of
// the quote currency (so 123.45 with scale 4 is 1234500); a quantity is a count of
// 10^-qty_scale units (shares have scale 0). Nothing on the data path uses double.
#pragma once

#include <cstdint>
#include <string>

namespace mdgw {

using price_t = std::int64_t;
using qty_t = std::int64_t;
using instrument_id = std::uint32_t;

enum class side : std::uint8_t { bid = 0, ask = 1 };

constexpr side opposite(side s) noexcept { return s == side::bid ? side::ask : side::bid; }

// Static description of an instrument, fixed once a feed announces it.
struct instrument_info {
  instrument_id id = 0;
  std::string symbol;    // gateway symbol, e.g. "SIM:AAPL"
  std::string venue;     // e.g. "SIM"
  int price_scale = 4;   // decimals in a price
  int qty_scale = 0;     // decimals in a quantity
  price_t tick_size = 1; // in price units
  qty_t lot_size = 1;    // in quantity units
};

// Wall-clock (CLOCK_REALTIME) and monotonic nanoseconds.
std::uint64_t realtime_ns() noexcept;
std::uint64_t monotonic_ns() noexcept;

} // namespace mdgw
