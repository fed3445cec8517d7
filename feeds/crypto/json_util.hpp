// Internal to feeds/crypto: how the three handlers read JSON. Kept out of the public
// headers so only the handler sources pay for simdjson.h.
//
// Rationale:
// - Each handler's walk of a frame (which fields it reads, in what types, what it
//   rejects) is written ONCE, as a template over a value type, and instantiated twice:
//     scan_value  a strict forward scanner over the frame's bytes (no tape, no copy);
//     dom_value   simdjson's DOM, the reference parser.
//   read_frame runs the scanner first; when it declines, the same walk runs on the DOM,
//   whose answer is final (the frame is good, or bad and counted). The scanner declines
//   anything outside the compact subset the venues actually send: blanks between
//   tokens (none in any capture), escapes, bytes >= 0x80 or < 0x20 in strings, numbers
//   other than plain non-negative integers, deep nesting, trailing bytes, and every
//   operation that failed (a "false" from the walk included).
//   So it never has to decide that a frame is bad, only that it understood all of it;
//   where it succeeds, every value it handed out is byte for byte what the DOM gives
//   for the same frame (tests/feeds/crypto/fast_path_test.cpp feeds every capture frame
//   and thousands of mutilated ones to handlers with and without it).
// - Why not the DOM alone: on 100-200 byte frames building the tape cost half of a book
//   update (stage 1 + stage 2 measured at 45-53% of the instructions) and our walk of it
//   most of the rest. Why not On-Demand: its second stage is compiled into our code for
//   the "builtin" kernel, which without -march flags is simdjson's scalar fallback: it
//   measured 2.5x slower than the DOM here. The scanner is a page of plain code on the
//   bytes (SSE2, which every x86-64 has, for the string scan).
// - Kraken's and Binance's book updates (nearly all of their traffic) are first tried by
//   a flat reader of that one frame shape written against the scanner directly
//   (scan_book_update, scan_depth_update): no callback per element, no type dispatch.
//   It fills exactly what the walk would and declines anything else, which then goes
//   through read_frame as above; fast_path_test.cpp covers it with the rest.
// - String views live until the next frame (scanner: into the frame; DOM: into the
//   parser). Handlers collect them while walking, then convert once they know the
//   instrument.
#pragma once

#include "crypto_handler.hpp"
#include "decimal.hpp"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace mdgw::crypto::json {

namespace dom = simdjson::dom;

static_assert(kFramePadding >= simdjson::SIMDJSON_PADDING);
static_assert(kFramePadding >= 16, "the scanner reads strings 16 bytes at a time");

// Largest frame or REST body accepted (a Coinbase level2 snapshot is the largest
// legitimate one, ~1 MB for a deep product); anything bigger is rejected, not parsed.
inline constexpr std::size_t kMaxFrameBytes = 64U << 20;

// What a walk distinguishes. `integer`: a JSON number without fraction or exponent.
enum class kind : std::uint8_t { array, object, string, integer, other };

// ---- the reference: simdjson DOM ----

class dom_value {
public:
  explicit dom_value(dom::element e) noexcept : e_(e) {}

  [[nodiscard]] kind type() const noexcept {
    switch (e_.type()) {
    case dom::element_type::ARRAY: return kind::array;
    case dom::element_type::OBJECT: return kind::object;
    case dom::element_type::STRING: return kind::string;
    case dom::element_type::INT64:
    case dom::element_type::UINT64: return kind::integer;
    default: return kind::other;
    }
  }
  [[nodiscard]] bool get_string(std::string_view& out) const noexcept { return !e_.get_string().get(out); }
  [[nodiscard]] bool get_uint64(std::uint64_t& out) const noexcept { return !e_.get_uint64().get(out); }
  [[nodiscard]] bool get_bool(bool& out) const noexcept { return !e_.get_bool().get(out); }
  // f(dom_value) -> bool for each element; false if not an array or f said false.
  template <class F>
  [[nodiscard]] bool for_each(F&& f) const {
    dom::array a;
    if (e_.get_array().get(a)) return false;
    for (const dom::element v : a) {
      if (!f(dom_value(v))) return false;
    }
    return true;
  }
  // f(std::string_view key, dom_value) -> bool for each field, in order.
  template <class F>
  [[nodiscard]] bool for_each_field(F&& f) const {
    dom::object o;
    if (e_.get_object().get(o)) return false;
    for (const dom::key_value_pair kv : o) {
      if (!f(kv.key, dom_value(kv.value))) return false;
    }
    return true;
  }

private:
  dom::element e_;
};

// ---- the fast path: a strict forward scanner ----

// The bytes of one frame; every failure is sticky (finish() then says no).
class scanner {
public:
  scanner(const char* p, std::size_t n) noexcept : begin_(p), p_(p), end_(p + n) {}

  // Everything read, nothing failed; blanks are accepted only at the end.
  [[nodiscard]] bool finish() noexcept {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
    return !failed_ && p_ == end_;
  }
  bool fail() noexcept {
    failed_ = true;
    return false;
  }
  [[nodiscard]] const char* pos() const noexcept { return p_; }
  [[nodiscard]] char peek() const noexcept { return p_ != end_ ? *p_ : '\0'; }
  // Consumes c if it is next.
  bool eat(char c) noexcept {
    if (peek() != c) return false;
    ++p_;
    return true;
  }
  bool expect(char c) noexcept { return eat(c) || fail(); }

  [[gnu::always_inline]] bool string(std::string_view& out) noexcept {
    if (!eat('"')) return fail();
    const char* const begin = p_;
    const char* q = begin;
#if defined(__SSE2__)
    // 16 bytes at a time (the frame's padding makes the over-read safe): stop at '"',
    // '\\', a control byte or any byte >= 0x80 (negative as a signed char).
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);
    for (;;) {
      const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
      const __m128i stop = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash)),
                                        _mm_cmplt_epi8(x, space));
      const auto mask = static_cast<unsigned>(_mm_movemask_epi8(stop));
      if (mask != 0) {
        q += __builtin_ctz(mask);
        break;
      }
      q += 16;
      if (q >= end_) return fail();
    }
#else
    while (q < end_ && *q != '"' && *q != '\\' && static_cast<unsigned char>(*q) >= 0x20 &&
           static_cast<unsigned char>(*q) < 0x80) {
      ++q;
    }
#endif
    if (q >= end_ || *q != '"') return fail(); // an escape, a raw control or non-ASCII byte, or the end
    out = std::string_view(begin, static_cast<std::size_t>(q - begin));
    p_ = q + 1;
    return true;
  }

  // A one-character key and its colon, "k": , exactly what string() then expect(':')
  // accept for it; false (not a failure) when the next bytes have any other shape.
  bool short_key(char& k) noexcept {
    if (end_ - p_ < 4 || p_[0] != '"' || p_[2] != '"' || p_[3] != ':') return false;
    const auto c = static_cast<unsigned char>(p_[1]);
    if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') return false;
    k = p_[1];
    p_ += 4;
    return true;
  }

  // A plain non-negative integer of at most 19 digits (always fits a uint64; the DOM
  // types it INT64 or UINT64). Anything else fails: "-1", "01", "1.5", "1e3".
  // Up to 15 digits (ids and millisecond times; 17 digits would be year 5138), their
  // count comes from one 16-byte compare (the padding makes the over-read safe) and
  // their value from one 16-byte load ending with them when the frame has 16 bytes
  // there (decimal_detail::tail_digits), else at most two 8-digit words: no loop with a
  // data-dependent exit. Longer runs take the loop below, which is the reference.
  bool integer(std::uint64_t& out) noexcept {
    const char* const begin = p_;
#if defined(__SSE2__)
    if (const std::size_t count = short_run(); count < 16) {
      std::uint64_t v = 0;
      if (!short_integer(count)) return false;
      const char* const q = begin + count;
      // begin + 16 is readable: digits() then loads its words at begin, never before.
      if (!(q - begin_ >= 16 ? decimal_detail::tail_digits(q - 16, count, v)
                             : decimal_detail::digits(begin + 16, begin, count, v))) {
        return fail();
      }
      out = v;
      p_ = q;
      return true;
    }
#endif
    return long_integer(out);
  }

  // integer() digit by digit (16 digits or more; any run without SSE2). Out of line:
  // the short path above stays free of its registers.
  [[gnu::noinline]] bool long_integer(std::uint64_t& out) noexcept {
    const char* const begin = p_;
    const char* const limit = end_ - begin > 20 ? begin + 20 : end_;
    const char* q = begin;
    std::uint64_t v = 0;
    for (std::uint64_t eight = 0; limit - q >= 8 && eight_digits(q, eight); q += 8) v = v * 100'000'000 + eight;
    for (unsigned d = 0; q != limit && (d = static_cast<unsigned char>(*q) - '0') <= 9; ++q) v = v * 10 + d;
    const auto n = q - begin;
    if (n == 0 || n > 19 || (*begin == '0' && n > 1)) return fail();
    if (q != end_ && (*q == '.' || *q == 'e' || *q == 'E')) return fail();
    out = v;
    p_ = q;
    return true;
  }

  // integer() where the value is not wanted (Kraken's channel id): the same checks,
  // without computing it.
  bool skip_integer() noexcept {
#if defined(__SSE2__)
    if (const std::size_t count = short_run(); count < 16) {
      if (!short_integer(count)) return false;
      p_ += count;
      return true;
    }
#endif
    std::uint64_t v = 0;
    return integer(v);
  }

  // Consumes the literal `lit` (8 to 16 bytes, e.g. a key with its quotes and colon) if
  // it is next; false (not a failure) otherwise. Two overlapping word compares each
  // side, no memcmp call; the frame's padding makes the loads safe, the length test
  // keeps the match inside the frame.
  template <std::size_t N>
  [[gnu::always_inline]] bool eat_literal(const char (&lit)[N]) noexcept {
    static_assert(N - 1 >= 8 && N - 1 <= 16);
    constexpr std::size_t n = N - 1;
    if (static_cast<std::size_t>(end_ - p_) < n) return false;
    std::uint64_t a0 = 0, a1 = 0, b0 = 0, b1 = 0;
    std::memcpy(&a0, p_, 8);
    std::memcpy(&a1, p_ + n - 8, 8);
    std::memcpy(&b0, lit, 8);
    std::memcpy(&b1, lit + n - 8, 8);
    if (((a0 ^ b0) | (a1 ^ b1)) != 0) return false;
    p_ += n;
    return true;
  }

  bool literal(std::string_view word) noexcept {
    if (static_cast<std::size_t>(end_ - p_) < word.size() || std::memcmp(p_, word.data(), word.size()) != 0) return fail();
    p_ += word.size();
    return true;
  }

  // Skips one value of any supported kind (containers up to a small depth).
  bool skip(int depth = 0) noexcept {
    std::string_view s;
    std::uint64_t u = 0;
    switch (peek()) {
    case '"': return string(s);
    case 't': return literal("true");
    case 'f': return literal("false");
    case 'n': return literal("null");
    case '[':
    case '{': {
      if (depth >= kMaxSkipDepth) return fail();
      const bool object = *p_ == '{';
      ++p_;
      if (eat(object ? '}' : ']')) return true;
      do {
        if (object && (!string(s) || !expect(':'))) return false;
        if (!skip(depth + 1)) return false;
      } while (eat(','));
      return expect(object ? '}' : ']');
    }
    default: return integer(u);
    }
  }

private:
  static constexpr int kMaxSkipDepth = 8;

#if defined(__SSE2__)
  // How many digits start at the position (16 when 16 or more, or past the end).
  [[nodiscard]] std::size_t short_run() const noexcept {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p_));
    const __m128i non_digit = _mm_or_si128(_mm_cmplt_epi8(x, _mm_set1_epi8('0')), _mm_cmpgt_epi8(x, _mm_set1_epi8('9')));
    const auto run = static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(_mm_movemask_epi8(non_digit)) | 0x10000U));
    return std::min(run, static_cast<std::size_t>(end_ - p_));
  }
  // The grammar of a run of count (< 16) digits at the position: not empty, no leading
  // zero, no fraction or exponent after it. Fails the scan if broken.
  bool short_integer(std::size_t count) noexcept {
    if (count == 0 || (*p_ == '0' && count > 1)) return fail();
    const char* const q = p_ + count;
    if (q != end_ && (*q == '.' || *q == 'e' || *q == 'E')) return fail();
    return true;
  }
#endif

  const char* begin_;
  const char* p_;
  const char* end_;
  bool failed_ = false;
};

// A value at the scanner's position. Every method consumes it (or fails); a container
// walk skips elements its callback did not read.
class scan_value {
public:
  explicit scan_value(scanner& s) noexcept : s_(&s) {}

  [[nodiscard]] kind type() const noexcept {
    switch (s_->peek()) {
    case '[': return kind::array;
    case '{': return kind::object;
    case '"': return kind::string;
    case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': case '8': case '9':
      return kind::integer; // a fraction or exponent makes the read/skip fail: never misread
    default: return kind::other;
    }
  }
  [[nodiscard]] bool get_string(std::string_view& out) const noexcept { return s_->string(out); }
  [[nodiscard]] bool get_uint64(std::uint64_t& out) const noexcept { return s_->integer(out); }
  [[nodiscard]] bool get_bool(bool& out) const noexcept {
    if (s_->peek() == 't') return (out = true, s_->literal("true"));
    if (s_->peek() == 'f') return (out = false, s_->literal("false"));
    return s_->fail();
  }
  template <class F>
  [[nodiscard]] bool for_each(F&& f) const {
    if (!s_->expect('[')) return false;
    if (s_->eat(']')) return true;
    do {
      if (!element(f)) return false;
    } while (s_->eat(','));
    return s_->expect(']');
  }
  template <class F>
  [[nodiscard]] bool for_each_field(F&& f) const {
    if (!s_->expect('{')) return false;
    if (s_->eat('}')) return true;
    do {
      std::string_view key;
      if (!s_->string(key) || !s_->expect(':')) return false;
      if (!element([&](scan_value v) { return f(key, v); })) return false;
    } while (s_->eat(','));
    return s_->expect('}');
  }

private:
  template <class F>
  bool element(F&& f) const {
    const char* const before = s_->pos();
    if (!f(scan_value(*s_))) return s_->fail();
    return s_->pos() != before || s_->skip(); // not read by f: skipped, still validated
  }

  scanner* s_;
};

// Runs walk(value) -> bool on the frame: the scanner first, the DOM when the scanner
// declines (see the top of this file). The walk must reset whatever it fills, as it
// may run twice. False: the frame is malformed or the walk rejected it.
template <class Walk>
[[nodiscard]] bool read_frame(dom::parser& parser, const padded_frame& f, bool fast, Walk&& walk) {
  if (f.size > kMaxFrameBytes) return false;
  if (fast) {
    scanner s(f.data, f.size);
    if (walk(scan_value(s)) && s.finish()) return true;
  }
  dom::element root;
  // realloc_if_needed = false: the frame carries its padding (padded_frame).
  if (parser.parse(f.data, f.size, false).get(root)) return false;
  return walk(dom_value(root));
}

// s == lit and s starting with lit, for a literal: a size test and a compare of a size
// known when compiling, which the compiler does inline (a view's operator== calls
// memcmp with the size it finds at run time).
template <std::size_t N>
[[nodiscard]] inline bool is(std::string_view s, const char (&lit)[N]) noexcept {
  return s.size() == N - 1 && std::memcmp(s.data(), lit, N - 1) == 0;
}
template <std::size_t N>
[[nodiscard]] inline bool starts(std::string_view s, const char (&lit)[N]) noexcept {
  return s.size() >= N - 1 && std::memcmp(s.data(), lit, N - 1) == 0;
}

// a == b; from 8 to 16 bytes by two overlapping word loads in each (a view's operator==
// calls memcmp).
[[nodiscard]] inline bool same(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  const std::size_t n = a.size();
  if (n >= 8 && n <= 16) {
    std::uint64_t a0 = 0, a1 = 0, b0 = 0, b1 = 0;
    std::memcpy(&a0, a.data(), 8);
    std::memcpy(&a1, a.data() + n - 8, 8);
    std::memcpy(&b0, b.data(), 8);
    std::memcpy(&b1, b.data() + n - 8, 8);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
  }
  return a == b;
}

// A decimal string at `scale`; false on a rejected number.
[[nodiscard]] inline bool get_decimal(std::string_view s, int scale, std::int64_t& out) noexcept {
  return parse_decimal(s, scale, out) == decimal_status::ok;
}

// "buy"/"sell" and Kraken's "b"/"s".
[[nodiscard]] inline bool parse_side_word(std::string_view s, side& out) noexcept {
  if (s == "buy" || s == "b") {
    out = side::bid;
    return true;
  }
  if (s == "sell" || s == "s") {
    out = side::ask;
    return true;
  }
  return false;
}

// An array of levels, each an array whose first N elements are strings:
// row(fields, count) -> bool gets them (count = the row's element count, which may be
// below N: the missing fields are empty). Elements beyond N must be strings too when
// `strings_only`, else they may be anything.
template <std::size_t N, class Value, class Row>
[[nodiscard]] bool for_each_row(Value v, bool strings_only, Row&& row) {
  return v.for_each([&](Value lv) {
    std::array<std::string_view, N> fields{};
    std::size_t k = 0;
    const bool ok = lv.for_each([&](Value e) {
      std::string_view sv;
      if (k < N || strings_only) {
        if (!e.get_string(sv)) return false;
        if (k < N) fields[k] = sv;
      }
      ++k;
      return true;
    });
    return ok && row(fields, k);
  });
}

// One book level of a frame: its strings (views into the frame or the parser), then parsed.
struct raw_level {
  std::string_view price;
  std::string_view qty;
  side s = side::bid;
};

struct parsed_level {
  price_t price = 0;
  qty_t qty = 0;
  side s = side::bid;
};

// Where the memory a string read from frame f starts, for the *_in readers
// (decimal.hpp): the frame when the string is a view into it (the scanner's), else the
// string itself (the DOM's, in the parser's buffer).
[[nodiscard]] inline const char* readable_start(const padded_frame& f, std::string_view s) noexcept {
  const auto at = reinterpret_cast<std::uintptr_t>(s.data());
  const auto begin = reinterpret_cast<std::uintptr_t>(f.data);
  return at >= begin && at + s.size() <= begin + f.size ? f.data : s.data();
}

// Binance and Coinbase: every level parsed at the instrument's scales before any is
// applied; a price <= 0 or a negative size rejects the frame. The strings are views
// into f or the parser; `in_frame`: all of them into f (a flat reader's).
[[nodiscard]] inline bool parse_levels(const padded_frame& f, const std::vector<raw_level>& raw,
                                       const instrument_info& info, std::vector<parsed_level>& out,
                                       bool in_frame = false) {
  out.clear();
  const auto readable = [&](std::string_view s) { return in_frame ? f.data : readable_start(f, s); };
  for (const raw_level& r : raw) {
    parsed_level& p = out.emplace_back(); // filled in place: no copy of a temporary
    p.s = r.s;
    if (parse_decimal_in(readable(r.price), r.price, info.price_scale, p.price) != decimal_status::ok ||
        parse_decimal_in(readable(r.qty), r.qty, info.qty_scale, p.qty) != decimal_status::ok ||
        p.price <= 0 || p.qty < 0) {
      return false;
    }
  }
  return true;
}

} // namespace mdgw::crypto::json
