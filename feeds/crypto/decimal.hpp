// Exact decimal strings <-> scaled integers, for prices and sizes sent as JSON strings.
//
// Rationale:
// - Crypto venues send "0.00083560", "62000.1", "11802.77325050". Going through double
//   would turn 0.1 into 0.1000000000000000055... and lose the last digit of an 18-digit
//   quantity; the Kraken checksum and the Binance/Coinbase reference books need the exact
//   value. So a string is read digit by digit into an int64 count of 10^-scale units.
// - Strict grammar: -?[0-9]+(\.[0-9]+)? . No exponent (none of the three venues sends one
//   in the channels we use; the captures were checked), no '+', no blanks, no ".5".
//   Anything else is rejected with a status so the caller can count it and resync:
//   a misread number must never reach a book.
// - Fraction digits beyond the scale are accepted only when they are zeros ("2.63300000"
//   at scale 3 is exactly 2633); a non-zero digit there would be silently rounded, so it
//   is `too_precise`.
// - Overflow is checked on every multiply-add (int64 is 9.2e18: scale 8 leaves 9.2e10
//   units of headroom, plenty for prices, and rejected rather than wrapped for sizes).
// - Everything is inline: this runs once per price and size on the hot path.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace mdgw::crypto {

inline constexpr int kMaxScale = 18;

enum class decimal_status : std::uint8_t {
  ok = 0,
  empty,       // "" or "-"
  bad_syntax,  // a character outside the grammar, "1.", ".5", "1.2.3", "+1", " 1"
  exponent,    // "1e-5": valid JSON number syntax we do not accept (see above)
  too_precise, // a non-zero digit beyond the scale
  overflow,    // does not fit an int64 at this scale
  bad_scale,   // scale outside [0, kMaxScale]
};

[[nodiscard]] const char* to_string(decimal_status s) noexcept;

inline constexpr std::int64_t kPow10[kMaxScale + 1] = {
    1LL,
    10LL,
    100LL,
    1'000LL,
    10'000LL,
    100'000LL,
    1'000'000LL,
    10'000'000LL,
    100'000'000LL,
    1'000'000'000LL,
    10'000'000'000LL,
    100'000'000'000LL,
    1'000'000'000'000LL,
    10'000'000'000'000LL,
    100'000'000'000'000LL,
    1'000'000'000'000'000LL,
    10'000'000'000'000'000LL,
    100'000'000'000'000'000LL,
    1'000'000'000'000'000'000LL,
};

// Eight ASCII digits at p -> their value in out; false (out untouched) if any byte is
// not a digit. SWAR, as in simdjson and fast_float (little endian: p[0] is the low byte).
[[nodiscard]] inline bool eight_digits(const char* p, std::uint64_t& out) noexcept {
  static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__);
  std::uint64_t x = 0;
  std::memcpy(&x, p, 8);
  if (((x & 0xF0F0F0F0F0F0F0F0ULL) | (((x + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) >> 4)) !=
      0x3333333333333333ULL) {
    return false;
  }
  x -= 0x3030303030303030ULL;
  x = x * 10 + (x >> 8); // pairs of digits
  x = (((x & 0x000000FF000000FFULL) * (100 + (1000000ULL << 32))) +
       (((x >> 16) & 0x000000FF000000FFULL) * (1 + (10000ULL << 32)))) >>
      32;
  out = x;
  return true;
}

// Parses [p, end) as a decimal with `scale` fraction digits into out (count of
// 10^-scale units). out is written only on ok. `frac_digits`, when given, receives the
// number of fraction digits the string had (the exchange's own formatting).
[[nodiscard]] inline decimal_status parse_decimal(const char* p, const char* end, int scale, std::int64_t& out,
                                                  int* frac_digits = nullptr) noexcept {
  if (scale < 0 || scale > kMaxScale) return decimal_status::bad_scale;
  bool negative = false;
  if (p != end && *p == '-') {
    negative = true;
    ++p;
  }
  if (p == end) return decimal_status::empty;
  // Accumulate as unsigned magnitude; the bound below allows exactly INT64_MIN for "-".
  const std::uint64_t limit = negative ? 9'223'372'036'854'775'808ULL : 9'223'372'036'854'775'807ULL;
  std::uint64_t v = 0;
  // At most 19 digits cannot overflow a uint64 while accumulating: the common case
  // skips the per-digit checks (the final scaling and the int64 bound still apply).
  const bool short_input = end - p <= 19;
  const char* const int_begin = p;
  std::uint64_t eight = 0;
  // Runs of eight digits at once, then digit by digit (same value, same checks after).
  while (short_input && end - p >= 8 && eight_digits(p, eight)) {
    v = v * 100'000'000 + eight;
    p += 8;
  }
  for (; p != end; ++p) {
    const unsigned d = static_cast<unsigned char>(*p) - '0';
    if (d > 9) break;
    if (short_input) {
      v = v * 10 + d;
    } else if (__builtin_mul_overflow(v, 10ULL, &v) || __builtin_add_overflow(v, d, &v)) {
      return decimal_status::overflow;
    }
  }
  if (p == int_begin) return (*p == 'e' || *p == 'E') ? decimal_status::exponent : decimal_status::bad_syntax;
  int frac = 0;
  if (p != end && *p == '.') {
    ++p;
    const char* const frac_begin = p;
    while (short_input && end - p >= 8 && scale - frac >= 8 && eight_digits(p, eight)) {
      v = v * 100'000'000 + eight;
      frac += 8;
      p += 8;
    }
    for (; p != end; ++p) {
      const unsigned d = static_cast<unsigned char>(*p) - '0';
      if (d > 9) break;
      if (frac < scale) {
        if (short_input) {
          v = v * 10 + d;
        } else if (__builtin_mul_overflow(v, 10ULL, &v) || __builtin_add_overflow(v, d, &v)) {
          return decimal_status::overflow;
        }
        ++frac;
      } else if (d != 0) {
        // Keep scanning: a syntax error later in the string is the better report.
        frac = kMaxScale + 1;
      }
    }
    if (p == frac_begin) return decimal_status::bad_syntax;
    if (frac_digits != nullptr) *frac_digits = static_cast<int>(p - frac_begin);
  } else if (frac_digits != nullptr) {
    *frac_digits = 0;
  }
  if (p != end) return (*p == 'e' || *p == 'E') ? decimal_status::exponent : decimal_status::bad_syntax;
  if (frac > kMaxScale) return decimal_status::too_precise;
  if (frac < scale && __builtin_mul_overflow(v, static_cast<std::uint64_t>(kPow10[scale - frac]), &v)) {
    return decimal_status::overflow;
  }
  if (v > limit) return decimal_status::overflow;
  out = negative ? static_cast<std::int64_t>(0ULL - v) : static_cast<std::int64_t>(v);
  return decimal_status::ok;
}

[[nodiscard]] inline decimal_status parse_decimal(std::string_view s, int scale, std::int64_t& out,
                                                  int* frac_digits = nullptr) noexcept {
  return parse_decimal(s.data(), s.data() + s.size(), scale, out, frac_digits);
}

// Writes value at `scale` as a decimal string with exactly `scale` fraction digits
// ("0.00083560" for 83560 at scale 8) into out, which needs 21 + scale bytes; returns
// the length. The inverse of parse_decimal for any string with `scale` fraction digits.
std::size_t format_decimal(std::int64_t value, int scale, char* out) noexcept;

// "1618678134.045305" (seconds since the epoch, capture and Kraken timestamps) -> ns.
// Returns false on bad syntax, on more than 9 significant fraction digits or overflow.
[[nodiscard]] bool parse_epoch_seconds(std::string_view s, std::uint64_t& ns) noexcept;

// "2021-04-17T16:43:37.075687Z" (Coinbase) -> ns since the epoch. UTC ('Z') only.
[[nodiscard]] bool parse_iso8601_utc(std::string_view s, std::uint64_t& ns) noexcept;

} // namespace mdgw::crypto
