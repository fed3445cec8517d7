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

// Days since 1970-01-01 of a proleptic Gregorian date, and back (Howard Hinnant's
// days_from_civil / civil_from_days): exchange dates to epoch timestamps without a
// time zone database.
constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}
static_assert(days_from_civil(1970, 1, 1) == 0);
static_assert(days_from_civil(2021, 4, 17) == 18734);

struct civil_date {
  std::int64_t year;
  unsigned month;
  unsigned day;
};
constexpr civil_date civil_from_days(std::int64_t z) noexcept {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0), m, d};
}
static_assert(civil_from_days(18734).year == 2021 && civil_from_days(18734).month == 4 &&
              civil_from_days(18734).day == 17);

// Wall-clock (CLOCK_REALTIME) and monotonic nanoseconds.
std::uint64_t realtime_ns() noexcept;
std::uint64_t monotonic_ns() noexcept;

} // namespace mdgw
