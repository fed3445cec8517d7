#include "decimal.hpp"

#include "crc32.hpp"

#include <gtest/gtest.h>

#include <charconv>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace mdgw::crypto {
namespace {

std::int64_t parse_ok(std::string_view s, int scale) {
  std::int64_t v = -12345;
  EXPECT_EQ(parse_decimal(s, scale, v), decimal_status::ok) << s;
  return v;
}

decimal_status status_of(std::string_view s, int scale) {
  std::int64_t v = 777;
  const decimal_status st = parse_decimal(s, scale, v);
  if (st != decimal_status::ok) {
    EXPECT_EQ(v, 777) << "out written on failure: " << s;
  }
  return st;
}

TEST(Decimal, ParsesExactly) {
  EXPECT_EQ(parse_ok("0.00012340", 8), 12340);
  EXPECT_EQ(parse_ok("62000.1", 8), 6'200'010'000'000);
  EXPECT_EQ(parse_ok("62000.1", 1), 620001);
  EXPECT_EQ(parse_ok("0.000835600", 9), 835600);
  EXPECT_EQ(parse_ok("354.80000000", 8), 35'480'000'000);
  EXPECT_EQ(parse_ok("11802.77325050", 8), 1'180'277'325'050);
  EXPECT_EQ(parse_ok("0", 8), 0);
  EXPECT_EQ(parse_ok("0.0", 4), 0);
  EXPECT_EQ(parse_ok("000123", 2), 12300);
  EXPECT_EQ(parse_ok("985", 1), 9850);
  EXPECT_EQ(parse_ok("-1.5", 2), -150);
  // 0.1 is not representable in binary: the integer path is exact where double is not.
  EXPECT_EQ(parse_ok("0.1", 18), 100'000'000'000'000'000);
  // Trailing zeros beyond the scale are exact ("2.63300000" from Coinbase at scale 3).
  EXPECT_EQ(parse_ok("2.63300000", 3), 2633);
  EXPECT_EQ(parse_ok("14.7550", 4), 147550);
}

TEST(Decimal, Int64Bounds) {
  EXPECT_EQ(parse_ok("9223372036854775807", 0), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(parse_ok("-9223372036854775808", 0), std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(parse_ok("92233720368.54775807", 8), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(status_of("9223372036854775808", 0), decimal_status::overflow);
  EXPECT_EQ(status_of("92233720368.54775808", 8), decimal_status::overflow);
  EXPECT_EQ(status_of("92233720369", 8), decimal_status::overflow); // overflows on scaling
  EXPECT_EQ(status_of("99999999999999999999999", 0), decimal_status::overflow);
  EXPECT_EQ(status_of("184467440737095516160", 0), decimal_status::overflow); // wraps uint64 exactly
  EXPECT_EQ(status_of("9999999999999999999", 0), decimal_status::overflow);   // 19 digits: unchecked path
  EXPECT_EQ(status_of("18446744073709551615", 0), decimal_status::overflow);  // uint64 max
  EXPECT_EQ(status_of("-9223372036854775809", 0), decimal_status::overflow);
  EXPECT_EQ(status_of("0.0000000000000000009223372036854775807", 18), decimal_status::too_precise); // long: checked path
  EXPECT_EQ(parse_ok("0.000000000000000001000000000000000000", 18), 1);
}

TEST(Decimal, RejectsGarbage) {
  EXPECT_EQ(status_of("", 8), decimal_status::empty);
  EXPECT_EQ(status_of("-", 8), decimal_status::empty);
  EXPECT_EQ(status_of("1e-5", 8), decimal_status::exponent);
  EXPECT_EQ(status_of("1.5E3", 8), decimal_status::exponent);
  EXPECT_EQ(status_of("e5", 8), decimal_status::exponent);
  EXPECT_EQ(status_of("1.", 8), decimal_status::bad_syntax);
  EXPECT_EQ(status_of(".5", 8), decimal_status::bad_syntax);
  EXPECT_EQ(status_of("1.2.3", 8), decimal_status::bad_syntax);
  EXPECT_EQ(status_of("+1", 8), decimal_status::bad_syntax);
  EXPECT_EQ(status_of(" 1", 8), decimal_status::bad_syntax);
  EXPECT_EQ(status_of("1 ", 8), decimal_status::bad_syntax);
  EXPECT_EQ(status_of("0x10", 8), decimal_status::bad_syntax);
  EXPECT_EQ(status_of("nan", 8), decimal_status::bad_syntax);
  EXPECT_EQ(status_of("1,5", 8), decimal_status::bad_syntax);
  EXPECT_EQ(status_of("--1", 8), decimal_status::bad_syntax);
  EXPECT_EQ(status_of(std::string("1\0" "2", 3), 8), decimal_status::bad_syntax);
  // Precision is never silently dropped.
  EXPECT_EQ(status_of("0.000000001", 8), decimal_status::too_precise);
  EXPECT_EQ(status_of("1.23", 1), decimal_status::too_precise);
  EXPECT_EQ(status_of("1.20x", 1), decimal_status::bad_syntax); // syntax wins over precision
  EXPECT_EQ(status_of("1", -1), decimal_status::bad_scale);
  EXPECT_EQ(status_of("1", 19), decimal_status::bad_scale);
}

TEST(Decimal, ReportsFractionDigits) {
  std::int64_t v = 0;
  int frac = -1;
  ASSERT_EQ(parse_decimal("0.043130", 8, v, &frac), decimal_status::ok);
  EXPECT_EQ(frac, 6);
  EXPECT_EQ(v, 4'313'000);
  ASSERT_EQ(parse_decimal("42", 8, v, &frac), decimal_status::ok);
  EXPECT_EQ(frac, 0);
}

// parse_decimal's word-at-a-time path against the digit-by-digit parser, on the
// shapes it takes (random digits around one point, every length it accepts and beyond)
// and on near misses (a sign, two points, a letter, too precise, overflowing): same
// status, same value, same fraction digit count, and the fast path itself must
// have answered a good share of them (many random ones overflow or are too precise).
TEST(Decimal, FastPathEqualsScalar) {
  std::mt19937_64 rng(42);
  const auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  std::size_t fast_hits = 0;
  std::size_t cases = 0;
  for (int i = 0; i < 200'000; ++i) {
    std::string s;
    const std::size_t int_digits = 1 + pick(18);
    const std::size_t frac_digits = pick(18);
    for (std::size_t k = 0; k < int_digits; ++k) s += static_cast<char>('0' + pick(10));
    if (frac_digits != 0 || pick(8) == 0) s += '.';
    for (std::size_t k = 0; k < frac_digits; ++k) s += static_cast<char>(pick(3) == 0 ? '0' : '0' + pick(10));
    if (pick(4) == 0) { // a near miss somewhere
      const char bad[] = {'-', '.', 'e', 'x', ' ', '/', ':', '\0', '+'};
      s[pick(s.size())] = bad[pick(sizeof bad)];
    }
    const int scale = static_cast<int>(pick(kMaxScale + 1));
    std::int64_t a = 111;
    std::int64_t b = 111;
    int fa = -1;
    int fb = -1;
    const decimal_status sa = parse_decimal(s, scale, a, &fa);
    const decimal_status sb = parse_decimal_scalar(s.data(), s.data() + s.size(), scale, b, &fb);
    ASSERT_EQ(sa, sb) << s << " scale " << scale;
    ASSERT_EQ(a, b) << s << " scale " << scale;
    ASSERT_EQ(fa, fb) << s << " scale " << scale;
    std::int64_t c = 0;
    if (parse_decimal_fast(s.data(), s.data() + s.size(), scale, c, nullptr)) {
      ASSERT_EQ(sb, decimal_status::ok) << s;
      ASSERT_EQ(c, b) << s;
      ++fast_hits;
    }
    ++cases;
  }
  EXPECT_GT(fast_hits, cases / 10);
  // The venues' own strings take the fast path.
  for (const char* s : {"354.15000000", "5.00000000", "1618678133.365913", "0.35290000", "10968.00000000"}) {
    std::int64_t v = 0;
    EXPECT_TRUE(parse_decimal_fast(s, s + std::strlen(s), 9, v, nullptr)) << s;
  }
}

// Digits around a point (sometimes 10 integer digits, up to 10 decimals), and one time
// in five a near miss: a byte that is not a digit put somewhere in it.
std::string random_decimal_text(std::mt19937_64& rng) {
  const auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  std::string s;
  const std::size_t int_digits = pick(4) == 0 ? 10 : 1 + pick(12);
  const std::size_t frac_digits = pick(11);
  for (std::size_t k = 0; k < int_digits; ++k) s += static_cast<char>('0' + pick(10));
  if (frac_digits != 0) s += '.';
  for (std::size_t k = 0; k < frac_digits; ++k) s += static_cast<char>('0' + pick(10));
  if (pick(5) == 0) {
    const char bad[] = {'-', '.', 'e', 'x', ' ', '/', ':', '+'};
    s[pick(s.size())] = bad[pick(sizeof bad)];
  }
  return s;
}

// format_digits (whole-word stores) against std::to_chars at every magnitude.
// The fixed-shape readers against what they stand for: parse_decimal_exact is
// parse_decimal with frac_digits == scale, parse_epoch_seconds is parse_decimal at scale
// 9 of a string without a sign. Random digit strings around a point, with near misses.
TEST(Decimal, ExactAndEpochEqualReference) {
  std::mt19937_64 rng(11);
  const auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  for (int i = 0; i < 200'000; ++i) {
    std::string s = random_decimal_text(rng);
    const int scale = static_cast<int>(pick(11));
    std::int64_t a = 5;
    std::int64_t b = 5;
    int frac = -1;
    const bool want = parse_decimal(s, scale, b, &frac) == decimal_status::ok && frac == scale;
    ASSERT_EQ(parse_decimal_exact(s, scale, a), want) << s << " scale " << scale;
    if (want) {
      ASSERT_EQ(a, b) << s;
    }
    std::uint64_t ns = 0;
    std::int64_t at9 = 0;
    const bool want_ts = s.front() != '-' && parse_decimal(s, 9, at9) == decimal_status::ok;
    ASSERT_EQ(parse_epoch_seconds(s, ns), want_ts) << s;
    if (want_ts) {
      ASSERT_EQ(ns, static_cast<std::uint64_t>(at9)) << s;
    }
  }
  std::uint64_t ns = 0;
  EXPECT_FALSE(parse_epoch_seconds("9999999999.5", ns)); // beyond int64 nanoseconds
  ASSERT_TRUE(parse_epoch_seconds("9223372036.854775", ns));
  EXPECT_EQ(ns, 9'223'372'036'854'775'000ULL);
}

// The 16-byte window readers against the references: tail_digits against from_chars
// (garbage before the digits, a non-digit among them); parse_decimal_window only ever
// answers with parse_decimal's value at frac_digits == scale, and the *_in readers give
// exactly what parse_decimal, parse_decimal_exact and parse_epoch_seconds give, whether
// the window may reach before the string (`readable` = the buffer) or not (the string).
TEST(Decimal, WindowEqualsReference) {
  std::mt19937_64 rng(17);
  const auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  for (int i = 0; i < 100'000; ++i) {
    const std::size_t n = 1 + pick(16);
    char w[16];
    for (char& c : w) c = static_cast<char>(pick(2) == 0 ? '0' + pick(10) : 1 + pick(254));
    for (std::size_t k = 16 - n; k < 16; ++k) w[k] = static_cast<char>('0' + pick(10));
    const bool spoil = pick(4) == 0;
    if (spoil) w[16 - n + pick(n)] = "-./:x\x7F\x80 "[pick(8)];
    std::uint64_t want = 0;
    const auto r = std::from_chars(w + 16 - n, w + 16, want);
    const bool ok = r.ec == std::errc() && r.ptr == w + 16;
    std::uint64_t got = 0;
    ASSERT_EQ(decimal_detail::tail_digits(w, n, got), ok) << std::string(w + 16 - n, n);
    if (ok) {
      ASSERT_EQ(got, want) << std::string(w + 16 - n, n);
    }
  }
  std::size_t window_hits = 0;
  for (int i = 0; i < 200'000; ++i) {
    std::string s = random_decimal_text(rng);
    const int scale = static_cast<int>(pick(17));
    // The string at a random place in a buffer of digits and other bytes.
    std::string buffer;
    const std::size_t before = pick(20);
    for (std::size_t k = 0; k < before; ++k) buffer += static_cast<char>(pick(2) == 0 ? '0' + pick(10) : '"');
    buffer += s;
    buffer += std::string(16, '"');
    const std::string_view in(buffer.data() + before, s.size());
    for (const char* readable : {static_cast<const char*>(buffer.data()), in.data()}) {
      std::int64_t a = 7;
      std::int64_t b = 7;
      int frac = -1;
      const decimal_status want = parse_decimal(s, scale, b, &frac);
      if (parse_decimal_window(readable, in.data(), in.data() + in.size(), scale, a)) {
        ASSERT_EQ(want, decimal_status::ok) << s << " scale " << scale;
        ASSERT_EQ(frac, scale) << s;
        ASSERT_EQ(a, b) << s;
        ++window_hits;
      }
      std::int64_t c = 7;
      ASSERT_EQ(parse_decimal_in(readable, in, scale, c), want) << s << " scale " << scale;
      if (want == decimal_status::ok) {
        ASSERT_EQ(c, b) << s;
      }
      std::int64_t e1 = 7;
      std::int64_t e2 = 7;
      const bool exact = parse_decimal_exact(s, scale, e1);
      ASSERT_EQ(parse_decimal_exact_in(readable, in, scale, e2), exact) << s << " scale " << scale;
      if (exact) {
        ASSERT_EQ(e1, e2) << s;
      }
      std::uint64_t t1 = 1;
      std::uint64_t t2 = 1;
      const bool ts = parse_epoch_seconds(s, t1);
      ASSERT_EQ(parse_epoch_seconds_in(readable, in, t2), ts) << s;
      if (ts) {
        ASSERT_EQ(t1, t2) << s;
      }
    }
  }
  EXPECT_GT(window_hits, 2'000U);
  // The venues' shapes take the window inside a frame.
  const std::string frame = R"([992,{"b":[["354.15000000","5.00000000","1618678133.365913"]]}])";
  for (const auto& [text, scale] : {std::pair<std::string_view, int>{"354.15000000", 8}, {"5.00000000", 8},
                                    {"1618678133.365913", 6}}) {
    const char* const b = frame.data() + frame.find(text);
    std::int64_t v = 0;
    EXPECT_TRUE(parse_decimal_window(frame.data(), b, b + text.size(), scale, v)) << text;
  }
}

TEST(Decimal, FormatDigitsEqualsToChars) {
  std::mt19937_64 rng(3);
  std::vector<std::uint64_t> values = {0, 1, 9, 10, 99, 100, 99'999'999, 100'000'000, 10'000'000'000'000'000ULL - 1,
                                       10'000'000'000'000'000ULL, std::numeric_limits<std::uint64_t>::max()};
  for (int i = 0; i < 200'000; ++i) values.push_back(rng() >> (rng() % 64));
  for (const std::uint64_t v : values) {
    char want[24];
    const auto n = static_cast<std::size_t>(std::to_chars(want, want + sizeof want, v).ptr - want);
    char got[24];
    ASSERT_EQ(format_digits(v, got), n) << v;
    ASSERT_EQ(digit_count(v), n) << v;
    ASSERT_EQ(std::string_view(got, n), std::string_view(want, n)) << v;
  }
}

TEST(Decimal, FormatRoundTrips) {
  char buf[64];
  const auto fmt = [&](std::int64_t v, int scale) { return std::string(buf, format_decimal(v, scale, buf)); };
  EXPECT_EQ(fmt(12340, 8), "0.00012340");
  EXPECT_EQ(fmt(35'480'000'000, 8), "354.80000000");
  EXPECT_EQ(fmt(-150, 2), "-1.50");
  EXPECT_EQ(fmt(7, 0), "7");
  EXPECT_EQ(fmt(std::numeric_limits<std::int64_t>::min(), 8), "-92233720368.54775808");
  for (const char* s : {"0.000835600", "13.260800", "0.00000001", "123456789.12345678"}) {
    std::int64_t v = 0;
    int frac = 0;
    ASSERT_EQ(parse_decimal(s, 9, v, &frac), decimal_status::ok);
    std::int64_t w = 0;
    ASSERT_EQ(parse_decimal(s, frac, w), decimal_status::ok);
    EXPECT_EQ(fmt(w, frac), s);
  }
}

TEST(Decimal, Timestamps) {
  std::uint64_t ns = 0;
  ASSERT_TRUE(parse_epoch_seconds("1618678134.045305", ns));
  EXPECT_EQ(ns, 1'618'678'134'045'305'000ULL);
  ASSERT_TRUE(parse_epoch_seconds("1618678132", ns));
  EXPECT_EQ(ns, 1'618'678'132'000'000'000ULL);
  EXPECT_FALSE(parse_epoch_seconds("-1.0", ns));
  EXPECT_FALSE(parse_epoch_seconds("1.0000000001", ns)); // below a nanosecond
  EXPECT_FALSE(parse_epoch_seconds("abc", ns));

  ASSERT_TRUE(parse_iso8601_utc("2021-04-17T16:43:37.075687Z", ns));
  EXPECT_EQ(ns, 1'618'677'817'075'687'000ULL);
  ASSERT_TRUE(parse_iso8601_utc("1970-01-01T00:00:00Z", ns));
  EXPECT_EQ(ns, 0U);
  ASSERT_TRUE(parse_iso8601_utc("2024-02-29T23:59:59.123456789Z", ns));
  EXPECT_EQ(ns, 1'709'251'199'123'456'789ULL);
  EXPECT_FALSE(parse_iso8601_utc("2021-04-17 16:43:37Z", ns));
  EXPECT_FALSE(parse_iso8601_utc("2021-04-17T16:43:37+01:00", ns));
  EXPECT_FALSE(parse_iso8601_utc("2021-13-17T16:43:37Z", ns));
  EXPECT_FALSE(parse_iso8601_utc("2021-04-17T16:43:37.Z", ns));
}

TEST(Crc32, MatchesZlib) {
  // The standard check value of CRC-32/ISO-HDLC.
  EXPECT_EQ(crc32("123456789", 9), 0xCBF43926U);
  EXPECT_EQ(crc32("", 0), 0U);
  const std::string s = "The quick brown fox jumps over the lazy dog";
  EXPECT_EQ(crc32(s.data(), s.size()), 0x414FA339U);
  // Incremental == one shot, at every split (the Kraken cache relies on it).
  for (std::size_t k = 0; k <= s.size(); ++k) {
    EXPECT_EQ(crc32_update(crc32(s.data(), k), s.data() + k, s.size() - k), 0x414FA339U) << k;
  }
}

TEST(Crc32, AcceleratedPathEqualsTables) {
  // Every length from 0 to 600 (the folding path starts at 64 and leaves a tail), at
  // every alignment offset 0..15, from a chained state too.
  std::string buf(700, '\0');
  std::uint32_t x = 12345;
  for (char& c : buf) {
    x = x * 1103515245U + 12345U;
    c = static_cast<char>(x >> 16);
  }
  for (std::size_t off = 0; off < 16; ++off) {
    for (std::size_t n = 0; n + off <= 600; ++n) {
      ASSERT_EQ(crc32(buf.data() + off, n), crc32_update_portable(0, buf.data() + off, n)) << off << " " << n;
      ASSERT_EQ(crc32_update(0xDEADBEEFU, buf.data() + off, n), crc32_update_portable(0xDEADBEEFU, buf.data() + off, n));
    }
  }
}

// Pieces combined by their raw CRCs and lengths give the CRC of the concatenated bytes:
// random pieces (empty ones too) from random registers, up to the table's whole length,
// with and without carry-less multiplies.
// A text at the end of a zeroed 64-byte block: the same raw CRC as the text alone.
TEST(Crc32, RawBlock64EqualsRawOfTheText) {
  std::mt19937_64 rng(9);
  for (int round = 0; round < 20'000; ++round) {
    const std::size_t n = rng() % 65;
    unsigned char block[64] = {};
    for (std::size_t k = 64 - n; k < 64; ++k) block[k] = static_cast<unsigned char>(rng());
    ASSERT_EQ(crc32_raw_block64(block, n), crc32_raw(block + 64 - n, n)) << n;
  }
}

TEST(Crc32, ConcatEqualsCrcOfTheBytes) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 20'000; ++round) {
    const std::size_t n = rng() % 24;
    std::string text;
    std::vector<std::uint32_t> raw;
    std::vector<std::uint8_t> len;
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t l = (round % 100 == 0) ? kCrc32MaxConcat / 24 : rng() % 41;
      std::string piece;
      for (std::size_t k = 0; k < l; ++k) piece += static_cast<char>(rng());
      raw.push_back(crc32_raw(piece.data(), piece.size()));
      len.push_back(static_cast<std::uint8_t>(l));
      text += piece;
    }
    const auto c = static_cast<std::uint32_t>(rng());
    const std::uint32_t want = crc32_update(c, text.data(), text.size());
    ASSERT_EQ(~crc32_concat(~c, raw.data(), len.data(), n), want) << round;
    ASSERT_EQ(~crc32_concat_portable(~c, raw.data(), len.data(), n), want) << round;
  }
  // A register carried over: pieces after earlier text.
  const std::string a = "35415000000500000000";
  const std::string b = "3541200000001";
  const std::uint32_t ra = crc32_raw(b.data(), b.size());
  const auto lb = static_cast<std::uint8_t>(b.size());
  EXPECT_EQ(~crc32_concat(~crc32(a.data(), a.size()), &ra, &lb, 1), crc32((a + b).data(), a.size() + b.size()));
}

} // namespace
} // namespace mdgw::crypto
