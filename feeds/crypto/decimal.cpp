#include "decimal.hpp"

#include "types.hpp"

#include <charconv>
#include <cstring>

namespace mdgw::crypto {

const char* to_string(decimal_status s) noexcept {
  switch (s) {
  case decimal_status::ok: return "ok";
  case decimal_status::empty: return "empty";
  case decimal_status::bad_syntax: return "bad_syntax";
  case decimal_status::exponent: return "exponent";
  case decimal_status::too_precise: return "too_precise";
  case decimal_status::overflow: return "overflow";
  case decimal_status::bad_scale: return "bad_scale";
  }
  return "unknown";
}

std::size_t format_decimal(std::int64_t value, int scale, char* out) noexcept {
  char* p = out;
  // Magnitude as unsigned so INT64_MIN has one.
  std::uint64_t mag = static_cast<std::uint64_t>(value);
  if (value < 0) {
    *p++ = '-';
    mag = 0ULL - mag;
  }
  if (scale <= 0) return static_cast<std::size_t>(std::to_chars(p, p + 20, mag).ptr - out);
  const auto unit = static_cast<std::uint64_t>(kPow10[scale]);
  p = std::to_chars(p, p + 20, mag / unit).ptr;
  *p++ = '.';
  char frac[20];
  const auto n = static_cast<std::size_t>(std::to_chars(frac, frac + 20, mag % unit).ptr - frac);
  const auto width = static_cast<std::size_t>(scale);
  std::memset(p, '0', width - n);
  std::memcpy(p + (width - n), frac, n);
  return static_cast<std::size_t>(p + width - out);
}

namespace {


bool fixed_digits(std::string_view s, std::size_t pos, std::size_t n, unsigned& out) noexcept {
  if (pos + n > s.size()) return false;
  unsigned v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    const unsigned d = static_cast<unsigned char>(s[i]) - '0';
    if (d > 9) return false;
    v = v * 10 + d;
  }
  out = v;
  return true;
}

} // namespace

bool parse_iso8601_utc(std::string_view s, std::uint64_t& ns) noexcept {
  // YYYY-MM-DDTHH:MM:SS[.fraction]Z
  unsigned year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (s.size() < 20 || !fixed_digits(s, 0, 4, year) || s[4] != '-' || !fixed_digits(s, 5, 2, month) ||
      s[7] != '-' || !fixed_digits(s, 8, 2, day) || s[10] != 'T' || !fixed_digits(s, 11, 2, hour) ||
      s[13] != ':' || !fixed_digits(s, 14, 2, minute) || s[16] != ':' || !fixed_digits(s, 17, 2, second)) {
    return false;
  }
  if (year < 1970 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return false;
  }
  std::size_t pos = 19;
  std::uint64_t frac_ns = 0;
  if (s[pos] == '.') {
    ++pos;
    std::uint64_t scale = 100'000'000;
    const std::size_t begin = pos;
    for (; pos < s.size() && s[pos] >= '0' && s[pos] <= '9'; ++pos) {
      frac_ns += static_cast<std::uint64_t>(s[pos] - '0') * scale;
      scale /= 10; // digits beyond ns truncate (scale reaches 0)
    }
    if (pos == begin) return false;
  }
  if (pos + 1 != s.size() || s[pos] != 'Z') return false;
  const std::int64_t days = days_from_civil(year, month, day);
  const auto secs = static_cast<std::uint64_t>(days) * 86400ULL + hour * 3600ULL + minute * 60ULL + second;
  ns = secs * 1'000'000'000ULL + frac_ns;
  return true;
}

} // namespace mdgw::crypto
