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
// - Everything is inline: this runs once per price and size on the hot path. The shapes
//   the venues send ("354.15000000": 1-8 digits, a point, exactly `scale` digits; any
//   "<digits>.<digits>" of 8-24 bytes) are read a word at a time (SWAR, no loop per
//   digit); everything else, and every error, goes to the digit-by-digit reference,
//   parse_decimal_scalar, which decides the status (the fast paths only ever answer ok,
//   and only with its value: decimal_test.cpp compares them on random strings).
// - Strings read from a frame (whose bytes before the string may be read) go first
//   through a 16-byte window: one load ending with the string, the point squeezed out
//   by a second load a byte earlier, all digits converted at once by SSE2 multiply-adds
//   (parse_decimal_window, tail_digits; the *_in readers). About a third of the word
//   readers' instructions for Binance's and Kraken's shapes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

// Eight ASCII digits (x holds them as loaded, little endian: the first digit is the low
// byte) -> their value in out; false (out untouched) if any byte is not a digit. SWAR,
// as in simdjson and fast_float.
[[nodiscard]] inline bool eight_digits_word(std::uint64_t x, std::uint64_t& out) noexcept {
  static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__);
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

// Eight ASCII digits at p.
[[nodiscard]] inline bool eight_digits(const char* p, std::uint64_t& out) noexcept {
  std::uint64_t x = 0;
  std::memcpy(&x, p, 8);
  return eight_digits_word(x, out);
}

// Parses [p, end) as a decimal with `scale` fraction digits into out (count of
// 10^-scale units). out is written only on ok. `frac_digits`, when given, receives the
// number of fraction digits the string had (the exchange's own formatting).
// The complete grammar, digit by digit (eight at a time where it can): the reference
// parse_decimal's fast path is tested against, and its answer whenever that declines.
[[nodiscard]] inline decimal_status parse_decimal_scalar(const char* p, const char* end, int scale, std::int64_t& out,
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

namespace decimal_detail {

// The n (1..8) digits at p, where [p, p + n) lies in a string ending at e that is at
// least 8 bytes long: the 8-byte window holding them is loaded without reading outside
// the string, the other bytes are shifted out and replaced by leading '0's.
[[nodiscard]] inline bool short_digits(const char* e, const char* p, std::size_t n, std::uint64_t& out) noexcept {
  const char* const w = e - p >= 8 ? p : e - 8;
  std::uint64_t x = 0;
  std::memcpy(&x, w, 8);
  x >>= static_cast<unsigned>(p - w) * 8U;                      // the digits start at the low byte
  x <<= (8U - static_cast<unsigned>(n)) * 8U;                   // now they end at the high byte
  x |= 0x3030303030303030ULL & ((1ULL << ((8U - n) * 8U)) - 1); // '0' in front of them
  return eight_digits_word(x, out);
}

// The n (1..16) digits at p, same condition.
[[nodiscard]] inline bool digits(const char* e, const char* p, std::size_t n, std::uint64_t& out) noexcept {
  if (n <= 8) return short_digits(e, p, n, out);
  std::uint64_t hi = 0;
  std::uint64_t lo = 0;
  if (!short_digits(e, p, n - 8, hi) || !eight_digits(p + n - 8, lo)) return false;
  out = hi * 100'000'000 + lo;
  return true;
}

// Index of the first '.' in the 8 bytes of x, or 8.
[[nodiscard]] inline unsigned dot_in(std::uint64_t x) noexcept {
  const std::uint64_t t = x ^ 0x2E2E2E2E2E2E2E2EULL;
  const std::uint64_t m = (t - 0x0101010101010101ULL) & ~t & 0x8080808080808080ULL; // lowest flag exact
  return m != 0 ? static_cast<unsigned>(__builtin_ctzll(m)) / 8U : 8U;
}

} // namespace decimal_detail

namespace decimal_detail {

// 16 zero bytes then 16 0xFF: the 16 bytes at kTailMask + k are a mask of their last k
// (0..16).
alignas(32) inline constexpr unsigned char kTailMask[32] = {
    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};

// The number whose digits are the last n (1..16) of the 16 bytes at w, the first n of
// them replaced by '0's (the bytes before the number are not looked at); false if any
// of the n is not a digit. With SSE2 all 16 at once: a check of every byte, then digit
// pairs, fours and eights by multiply-adds of 16-bit lanes (no byte loop, no word
// pair): about 20 instructions for up to 16 digits.
#if defined(__SSE2__)
// tail_digits on 16 bytes already loaded.
[[nodiscard]] inline bool tail_digits(__m128i x, std::size_t n, std::uint64_t& out) noexcept {
  const __m128i keep = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kTailMask + n));
  const __m128i d = _mm_sub_epi8(_mm_and_si128(x, keep), _mm_and_si128(keep, _mm_set1_epi8('0')));
  // Each byte 0..9 as unsigned (the replaced ones are 0).
  if (_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_subs_epu8(d, _mm_set1_epi8(9)), _mm_setzero_si128())) != 0xFFFF) {
    return false;
  }
  // 16-bit lanes: first digit in the low byte. 10 * first + second, then (100, 1) and
  // (10000, 1) pairwise: two 8-digit halves, the first (more significant) in lane 0.
  const __m128i pairs =
      _mm_add_epi16(_mm_mullo_epi16(_mm_and_si128(d, _mm_set1_epi16(0x00FF)), _mm_set1_epi16(10)), _mm_srli_epi16(d, 8));
  const __m128i fours = _mm_madd_epi16(pairs, _mm_set1_epi32(0x00010064));
  const __m128i eights = _mm_madd_epi16(_mm_packs_epi32(fours, fours), _mm_set1_epi32(0x00012710));
  const auto halves = static_cast<std::uint64_t>(_mm_cvtsi128_si64(eights));
  out = (halves & 0xFFFFFFFFULL) * 100'000'000 + (halves >> 32);
  return true;
}
#endif

[[nodiscard]] inline bool tail_digits(const char* w, std::size_t n, std::uint64_t& out) noexcept {
#if defined(__SSE2__)
  return tail_digits(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w)), n, out);
#else
  char t[16];
  std::memset(t, '0', 16);
  std::memcpy(t + 16 - n, w + 16 - n, n);
  std::uint64_t hi = 0;
  std::uint64_t lo = 0;
  if (!eight_digits(t, hi) || !eight_digits(t + 8, lo)) return false;
  out = hi * 100'000'000 + lo;
  return true;
#endif
}

// Whether the n bytes before e can be read: e is at least n bytes past `readable`, the
// start of the memory the string lies in (a frame, or the string itself).
[[nodiscard]] inline bool window_before(const char* readable, const char* e, std::ptrdiff_t n) noexcept {
  return e - readable >= n;
}

} // namespace decimal_detail

// The shape Binance and Kraken send for prices and sizes, "354.15000000" at scale 8:
// integer digits, a point, exactly `scale` (1..15) digits, at most 16 digits in all,
// read with two overlapping 16-byte loads, one ending with the string, one a byte
// before (so the 17 bytes before its end must be readable: `readable` is the start of
// the memory the string is in, e.g. its frame): the fraction from the first, the
// integer digits from the second, which squeezes the point out; then all 16 digits are
// converted at once (tail_digits). false leaves the string to parse_decimal,
// which then decides; true only with parse_decimal's value, and frac_digits == scale
// (decimal_test.cpp compares them).
[[nodiscard]] inline bool parse_decimal_window(const char* readable, const char* b, const char* e, int scale,
                                               std::int64_t& out) noexcept {
  using namespace decimal_detail;
  const auto len = e - b;
  if (scale < 1 || scale > 15 || len < scale + 2 || len > 17 || !window_before(readable, e, 17) ||
      b[len - scale - 1] != '.') {
    return false;
  }
  std::uint64_t v = 0;
#if defined(__SSE2__)
  const __m128i last = _mm_loadu_si128(reinterpret_cast<const __m128i*>(e - 16));
  const __m128i before = _mm_loadu_si128(reinterpret_cast<const __m128i*>(e - 17));
  const __m128i frac = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kTailMask + scale));
  const __m128i squeezed = _mm_or_si128(_mm_and_si128(frac, last), _mm_andnot_si128(frac, before));
  if (!tail_digits(squeezed, static_cast<std::size_t>(len - 1), v)) return false;
#else
  char w[16];
  std::memcpy(w, e - 16, 16);
  std::memcpy(w, e - 17, static_cast<std::size_t>(16 - scale));
  if (!tail_digits(w, static_cast<std::size_t>(len - 1), v)) return false;
#endif
  out = static_cast<std::int64_t>(v); // < 10^16
  return true;
}

// The shape every venue sends, "<1-16 digits>.<1-16 digits>" of 8 to 24 bytes, read
// without a loop over the digits: find the point a word at a time, then each part as
// at most two 8-digit words. Anything else (a sign, no point, short strings, a digit
// beyond the scale that is not a zero, any doubt about overflow) returns false and is
// left to parse_decimal_scalar, which then decides. Where it returns true, value and
// frac_digits are exactly what parse_decimal_scalar gives (decimal_test.cpp).
[[nodiscard]] inline bool parse_decimal_fast(const char* b, const char* e, int scale, std::int64_t& out,
                                             int* frac_digits) noexcept {
  using namespace decimal_detail;
  const auto len = static_cast<std::size_t>(e - b);
  if (len < 8 || len > 24 || scale < 0 || scale > kMaxScale) return false;
  const char* dot = nullptr;
  for (const char* w = b;; w += 8) {
    if (e - w < 8) w = e - 8;
    std::uint64_t x = 0;
    std::memcpy(&x, w, 8);
    if (const unsigned i = dot_in(x); i != 8) {
      dot = w + i;
      break;
    }
    if (w == e - 8) return false;
  }
  const auto ni = static_cast<std::size_t>(dot - b);
  const auto nf = static_cast<std::size_t>(e - dot - 1);
  if (ni == 0 || ni > 16 || nf == 0 || nf > 16) return false;
  std::uint64_t int_part = 0;
  std::uint64_t frac_part = 0;
  if (!digits(e, b, ni, int_part) || !digits(e, dot + 1, nf, frac_part)) return false;
  const auto s = static_cast<std::size_t>(scale);
  if (nf > s) {
    const auto drop = static_cast<std::uint64_t>(kPow10[nf - s]);
    if (frac_part % drop != 0) return false; // too precise
    frac_part /= drop;
  } else {
    frac_part *= static_cast<std::uint64_t>(kPow10[s - nf]); // < 10^scale
  }
  std::uint64_t v = 0;
  if (__builtin_mul_overflow(int_part, static_cast<std::uint64_t>(kPow10[s]), &v) ||
      __builtin_add_overflow(v, frac_part, &v) || v > 9'223'372'036'854'775'807ULL) {
    return false;
  }
  out = static_cast<std::int64_t>(v);
  if (frac_digits != nullptr) *frac_digits = static_cast<int>(nf);
  return true;
}

// The commonest shape of all: exactly `scale` (1 to 8) fraction digits, as Binance and
// Kraken print them, 1 to 8 integer digits, at least 8 bytes. The point's place is then
// known: two words, no search. false leaves the string to parse_decimal_fast.
[[nodiscard]] inline bool parse_decimal_scaled(const char* b, const char* e, int scale, std::int64_t& out) noexcept {
  using namespace decimal_detail;
  const auto len = static_cast<std::size_t>(e - b);
  const auto fs = static_cast<std::size_t>(scale);
  if (scale < 1 || scale > 8 || len < 8 || len <= fs + 1 || len - fs - 1 > 8 || b[len - fs - 1] != '.') return false;
  std::uint64_t int_part = 0;
  std::uint64_t frac_part = 0;
  if (!short_digits(e, b, len - fs - 1, int_part) || !short_digits(e, e - fs, fs, frac_part)) return false;
  out = static_cast<std::int64_t>(int_part * static_cast<std::uint64_t>(kPow10[fs]) + frac_part); // < 10^16
  return true;
}

// Parses [p, end) as a decimal with `scale` fraction digits into out (count of
// 10^-scale units). out is written only on ok. `frac_digits`, when given, receives the
// number of fraction digits the string had (the exchange's own formatting).
[[nodiscard]] inline decimal_status parse_decimal(const char* p, const char* end, int scale, std::int64_t& out,
                                                  int* frac_digits = nullptr) noexcept {
  if (parse_decimal_scaled(p, end, scale, out)) {
    if (frac_digits != nullptr) *frac_digits = scale;
    return decimal_status::ok;
  }
  if (parse_decimal_fast(p, end, scale, out, frac_digits)) return decimal_status::ok;
  return parse_decimal_scalar(p, end, scale, out, frac_digits);
}

// A decimal with exactly `scale` fraction digits (Kraken prints every price of a pair
// with the same number): parse_decimal with frac_digits == scale (decimal_test.cpp).
[[nodiscard]] inline bool parse_decimal_exact(std::string_view s, int scale, std::int64_t& out) noexcept {
  int frac = -1;
  return parse_decimal(s.data(), s.data() + s.size(), scale, out, &frac) == decimal_status::ok && frac == scale;
}

[[nodiscard]] inline decimal_status parse_decimal(std::string_view s, int scale, std::int64_t& out,
                                                  int* frac_digits = nullptr) noexcept {
  return parse_decimal(s.data(), s.data() + s.size(), scale, out, frac_digits);
}

// parse_decimal and parse_decimal_exact for a string lying in memory that starts at
// `readable` (its frame; or s.data() when nothing before it may be read): the window
// shape first (parse_decimal_window), then the general readers. Same answers.
[[nodiscard]] inline decimal_status parse_decimal_in(const char* readable, std::string_view s, int scale,
                                                     std::int64_t& out) noexcept {
  if (parse_decimal_window(readable, s.data(), s.data() + s.size(), scale, out)) return decimal_status::ok;
  return parse_decimal(s, scale, out);
}

[[nodiscard]] inline bool parse_decimal_exact_in(const char* readable, std::string_view s, int scale,
                                                 std::int64_t& out) noexcept {
  return parse_decimal_window(readable, s.data(), s.data() + s.size(), scale, out) ||
         parse_decimal_exact(s, scale, out);
}

namespace decimal_detail {

// The 8 decimal digits of x < 10^8 as ASCII, first digit in the low byte (SWAR: split
// into 4-digit halves, then 2-digit, then single digits, each by a multiply-shift that
// is an exact division for the lane's range).
[[nodiscard]] inline std::uint64_t eight_ascii(std::uint64_t x) noexcept {
  std::uint64_t v = (x / 10000) | ((x % 10000) << 32);             // abcd | efgh << 32
  const std::uint64_t hundreds = ((v * 10486) >> 20) & 0x0000007F0000007FULL; // lane / 100 (lane < 10^4)
  v = hundreds | ((v - hundreds * 100) << 16);
  const std::uint64_t tens = ((v * 103) >> 10) & 0x000F000F000F000FULL; // lane / 10 (lane < 100)
  v = tens | ((v - tens * 10) << 8);
  return v + 0x3030303030303030ULL;
}

inline void store8(char* p, std::uint64_t w) noexcept { std::memcpy(p, &w, 8); }

} // namespace decimal_detail

// Writes the decimal digits of v (no leading zeros, "0" for 0) at out and returns how
// many. Stores whole 8-byte words: out must have 24 writable bytes whatever v is.
[[nodiscard]] inline std::size_t format_digits(std::uint64_t v, char* out) noexcept {
  using namespace decimal_detail;
  constexpr std::uint64_t kE8 = 100'000'000;
  if (v >= kE8 * kE8) {
    const std::size_t n = format_digits(v / (kE8 * kE8), out); // at most 4 digits
    const std::uint64_t rest = v % (kE8 * kE8);
    store8(out + n, eight_ascii(rest / kE8));
    store8(out + n + 8, eight_ascii(rest % kE8));
    return n + 16;
  }
  const std::uint64_t hi = v / kE8;
  const std::uint64_t lo = v % kE8;
  const std::uint64_t head = eight_ascii(hi != 0 ? hi : lo);
  // Leading '0' bytes of the first word; a zero v keeps its last digit.
  const std::uint64_t nonzero = (head ^ 0x3030303030303030ULL) | (std::uint64_t{1} << 63);
  const auto lead = static_cast<unsigned>(__builtin_ctzll(nonzero)) / 8U;
  store8(out, head >> (lead * 8U));
  const std::size_t n = 8U - lead;
  if (hi == 0) return n;
  store8(out + n, eight_ascii(lo));
  return n + 8;
}

// How many decimal digits v has (1 for 0): what format_digits returns, without writing.
[[nodiscard]] inline std::size_t digit_count(std::uint64_t v) noexcept {
  static constexpr std::uint64_t kTen[20] = {1ULL, 10ULL, 100ULL, 1'000ULL, 10'000ULL, 100'000ULL, 1'000'000ULL,
                                             10'000'000ULL, 100'000'000ULL, 1'000'000'000ULL, 10'000'000'000ULL,
                                             100'000'000'000ULL, 1'000'000'000'000ULL, 10'000'000'000'000ULL,
                                             100'000'000'000'000ULL, 1'000'000'000'000'000ULL,
                                             10'000'000'000'000'000ULL, 100'000'000'000'000'000ULL,
                                             1'000'000'000'000'000'000ULL, 10'000'000'000'000'000'000ULL};
  // bits * log10(2) rounded down (1233 / 4096), then one compare for the rest.
  const auto bits = static_cast<unsigned>(64 - __builtin_clzll(v | 1));
  const std::size_t n = (bits * 1233U) >> 12;
  return n + static_cast<std::size_t>((v | 1) >= kTen[n]);
}

// Writes value at `scale` as a decimal string with exactly `scale` fraction digits
// ("0.00083560" for 83560 at scale 8) into out, which needs 21 + scale bytes; returns
// the length. The inverse of parse_decimal for any string with `scale` fraction digits.
std::size_t format_decimal(std::int64_t value, int scale, char* out) noexcept;

// "1618678134.045305" (seconds since the epoch, capture and Kraken timestamps) -> ns.
// Returns false on bad syntax, on more than 9 significant fraction digits or overflow.
// Inline: Kraken sends one per book level. The word-at-a-time shapes only ever answer
// with parse_decimal's value at scale 9 (decimal_test.cpp); anything else goes to it.
[[nodiscard]] inline bool parse_epoch_seconds(std::string_view s, std::uint64_t& ns) noexcept {
  using namespace decimal_detail;
  // Kraken's own shape, ten digits of seconds, a point, six of microseconds: two words
  // of eight digits, the first eight of the seconds and, with the point squeezed out,
  // their last two then the six fraction digits (bytes 8-9 of one load, 11-16 of the
  // other). Together exactly the microseconds since the epoch.
  if (s.size() == 17 && s[10] == '.') {
    const char* const b = s.data();
    std::uint64_t head = 0;
    std::uint64_t a = 0;
    std::uint64_t c = 0;
    std::memcpy(&a, b + 8, 8); // d8 d9 . f0 f1 f2 f3 f4
    std::memcpy(&c, b + 9, 8); // d9 . f0 f1 f2 f3 f4 f5
    std::uint64_t tail = 0;
    if (eight_digits(b, head) && eight_digits_word((a & 0xFFFFULL) | ((c >> 16) << 16), tail)) {
      const std::uint64_t v = (head * 100'000'000 + tail) * 1'000ULL; // < 10^19: no wrap
      if (v > 9'223'372'036'854'775'807ULL) return false;
      ns = v;
      return true;
    }
  }
  // Ten digits of seconds, a point, 1 to 8 fraction digits: three words.
  if (s.size() >= 12 && s.size() <= 19 && s[10] == '.') {
    const char* const b = s.data();
    const char* const e = b + s.size();
    const std::size_t nf = s.size() - 11;
    std::uint64_t hi = 0;
    std::uint64_t lo = 0;
    std::uint64_t frac = 0;
    if (short_digits(e, b, 2, hi) && eight_digits(b + 2, lo) && short_digits(e, b + 11, nf, frac)) {
      // < 10^19: no wrap; above the int64 range parse_decimal says overflow, and so here.
      const std::uint64_t v =
          (hi * 100'000'000 + lo) * 1'000'000'000ULL + frac * static_cast<std::uint64_t>(kPow10[9 - nf]);
      if (v > 9'223'372'036'854'775'807ULL) return false;
      ns = v;
      return true;
    }
  }
  std::int64_t v = 0;
  if (s.empty() || s.front() == '-' || parse_decimal(s, 9, v) != decimal_status::ok) return false;
  ns = static_cast<std::uint64_t>(v);
  return true;
}

// parse_epoch_seconds for a string in memory starting at `readable` (as parse_decimal_in):
// ten digits of seconds, a point and 1 to 6 fraction digits (Kraken's shape) through
// parse_decimal_window, anything else through parse_epoch_seconds. Same answers.
[[nodiscard]] inline bool parse_epoch_seconds_in(const char* readable, std::string_view s, std::uint64_t& ns) noexcept {
  if (s.size() >= 12 && s.size() <= 17 && s[10] == '.') {
    const int scale = static_cast<int>(s.size()) - 11;
    std::int64_t v = 0;
    if (parse_decimal_window(readable, s.data(), s.data() + s.size(), scale, v)) {
      // v < 10^(10 + scale): times 10^(9 - scale) stays below 10^19, no wrap.
      const std::uint64_t t = static_cast<std::uint64_t>(v) * static_cast<std::uint64_t>(kPow10[9 - scale]);
      if (t > 9'223'372'036'854'775'807ULL) return false;
      ns = t;
      return true;
    }
  }
  return parse_epoch_seconds(s, ns);
}

// "2021-04-17T16:43:37.075687Z" (Coinbase) -> ns since the epoch. UTC ('Z') only.
[[nodiscard]] bool parse_iso8601_utc(std::string_view s, std::uint64_t& ns) noexcept;

} // namespace mdgw::crypto
