#include "crc32.hpp"

#include <array>
#include <cassert>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace mdgw::crypto {

namespace {

using table_set = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr table_set make_tables() noexcept {
  table_set t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1U) != 0 ? 0xEDB88320U ^ (c >> 1) : c >> 1;
    t[0][i] = c;
  }
  for (std::size_t s = 1; s < 8; ++s) {
    for (std::size_t i = 0; i < 256; ++i) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFFU];
  }
  return t;
}

constexpr table_set kTables = make_tables();
static_assert(kTables[0][1] == 0x77073096U);

// x^(8k) mod P for k = 0..kCrc32MaxConcat, bit-reflected like the register (x^0 is bit
// 31): multiplying a register by it is feeding it k zero bytes.
using shift_table = std::array<std::uint32_t, kCrc32MaxConcat + 1>;

constexpr shift_table make_shifts() noexcept {
  shift_table k{};
  k[0] = 0x80000000U;
  for (std::size_t i = 1; i < k.size(); ++i) k[i] = kTables[0][k[i - 1] & 0xFFU] ^ (k[i - 1] >> 8);
  return k;
}

constexpr shift_table kShifts = make_shifts();

// A 63-bit carry-less product of two reflected registers (bit t stands for x^(62-t))
// reduced mod P: shifted left once, its low word is the part times x^32 (four zero bytes
// through the register, slice-by-4), its high word the rest.
std::uint32_t reduce_product(std::uint64_t r) noexcept {
  r <<= 1;
  const auto c = static_cast<std::uint32_t>(r);
  return kTables[3][c & 0xFFU] ^ kTables[2][(c >> 8) & 0xFFU] ^ kTables[1][(c >> 16) & 0xFFU] ^ kTables[0][c >> 24] ^
         static_cast<std::uint32_t>(r >> 32);
}

std::uint64_t clmul_portable(std::uint32_t a, std::uint32_t b) noexcept {
  std::uint64_t r = 0;
  for (unsigned i = 0; i < 32; ++i) r ^= static_cast<std::uint64_t>(a) * ((b >> i) & 1U) << i;
  return r;
}

// State in, state out (not inverted): the table path for any length.
std::uint32_t crc_tables(std::uint32_t c, const unsigned char* p, std::size_t n) noexcept {
  // Slice-by-8 reads two little-endian words per step (x86-64 and aarch64 are LE).
  static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "slice-by-8 below assumes little endian");
  while (n >= 8) {
    std::uint32_t lo = 0;
    std::uint32_t hi = 0;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + 4, 4);
    lo ^= c;
    c = kTables[7][lo & 0xFFU] ^ kTables[6][(lo >> 8) & 0xFFU] ^ kTables[5][(lo >> 16) & 0xFFU] ^
        kTables[4][lo >> 24] ^ kTables[3][hi & 0xFFU] ^ kTables[2][(hi >> 8) & 0xFFU] ^
        kTables[1][(hi >> 16) & 0xFFU] ^ kTables[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n-- != 0) c = kTables[0][(c ^ *p++) & 0xFFU] ^ (c >> 8);
  return c;
}

#if defined(__x86_64__)

#define MDGW_PCLMUL __attribute__((target("pclmul,sse4.1")))

MDGW_PCLMUL inline __m128i load16(const unsigned char* p) noexcept {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}

// acc * (k lo, k hi) folded onto the next 16 bytes.
MDGW_PCLMUL inline __m128i fold16(__m128i acc, __m128i k, __m128i next) noexcept {
  const __m128i lo = _mm_clmulepi64_si128(acc, k, 0x00);
  const __m128i hi = _mm_clmulepi64_si128(acc, k, 0x11);
  return _mm_xor_si128(_mm_xor_si128(hi, next), lo);
}

// Carry-less multiplication folding (Intel, "Fast CRC Computation for Generic
// Polynomials Using PCLMULQDQ", 2009; the bit-reflected constants for 0xEDB88320 as
// zlib/Chromium use them). Folds 64 bytes per step, then to 16, then a Barrett
// reduction to 32 bits. n >= 64 and n % 16 == 0; state in, state out.
MDGW_PCLMUL std::uint32_t crc_pclmul(std::uint32_t crc, const unsigned char* buf,
                                                                  std::size_t len) noexcept {
  alignas(16) static constexpr std::uint64_t k1k2[] = {0x0154442bd4ULL, 0x01c6e41596ULL};
  alignas(16) static constexpr std::uint64_t k3k4[] = {0x01751997d0ULL, 0x00ccaa009eULL};
  alignas(16) static constexpr std::uint64_t k5k0[] = {0x0163cd6124ULL, 0x0000000000ULL};
  alignas(16) static constexpr std::uint64_t poly[] = {0x01db710641ULL, 0x01f7011641ULL};
  __m128i x1 = load16(buf + 0x00);
  __m128i x2 = load16(buf + 0x10);
  __m128i x3 = load16(buf + 0x20);
  __m128i x4 = load16(buf + 0x30);
  x1 = _mm_xor_si128(x1, _mm_cvtsi32_si128(static_cast<int>(crc)));
  __m128i x0 = _mm_load_si128(reinterpret_cast<const __m128i*>(k1k2));
  buf += 64;
  len -= 64;
  while (len >= 64) {
    const __m128i x5 = _mm_clmulepi64_si128(x1, x0, 0x00);
    const __m128i x6 = _mm_clmulepi64_si128(x2, x0, 0x00);
    const __m128i x7 = _mm_clmulepi64_si128(x3, x0, 0x00);
    const __m128i x8 = _mm_clmulepi64_si128(x4, x0, 0x00);
    x1 = _mm_clmulepi64_si128(x1, x0, 0x11);
    x2 = _mm_clmulepi64_si128(x2, x0, 0x11);
    x3 = _mm_clmulepi64_si128(x3, x0, 0x11);
    x4 = _mm_clmulepi64_si128(x4, x0, 0x11);
    x1 = _mm_xor_si128(_mm_xor_si128(x1, x5), load16(buf + 0x00));
    x2 = _mm_xor_si128(_mm_xor_si128(x2, x6), load16(buf + 0x10));
    x3 = _mm_xor_si128(_mm_xor_si128(x3, x7), load16(buf + 0x20));
    x4 = _mm_xor_si128(_mm_xor_si128(x4, x8), load16(buf + 0x30));
    buf += 64;
    len -= 64;
  }
  // Fold the four lanes into one.
  x0 = _mm_load_si128(reinterpret_cast<const __m128i*>(k3k4));
  x1 = fold16(x1, x0, x2);
  x1 = fold16(x1, x0, x3);
  x1 = fold16(x1, x0, x4);
  while (len >= 16) {
    x1 = fold16(x1, x0, load16(buf));
    buf += 16;
    len -= 16;
  }
  // 128 -> 64 bits.
  __m128i x2b = _mm_clmulepi64_si128(x1, x0, 0x10);
  const __m128i mask32 = _mm_setr_epi32(~0, 0, ~0, 0);
  x1 = _mm_srli_si128(x1, 8);
  x1 = _mm_xor_si128(x1, x2b);
  x0 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(k5k0));
  x2b = _mm_srli_si128(x1, 4);
  x1 = _mm_and_si128(x1, mask32);
  x1 = _mm_clmulepi64_si128(x1, x0, 0x00);
  x1 = _mm_xor_si128(x1, x2b);
  // Barrett reduction to 32 bits.
  x0 = _mm_load_si128(reinterpret_cast<const __m128i*>(poly));
  x2b = _mm_and_si128(x1, mask32);
  x2b = _mm_clmulepi64_si128(x2b, x0, 0x10);
  x2b = _mm_and_si128(x2b, mask32);
  x2b = _mm_clmulepi64_si128(x2b, x0, 0x00);
  x1 = _mm_xor_si128(x1, x2b);
  return static_cast<std::uint32_t>(_mm_extract_epi32(x1, 1));
}

MDGW_PCLMUL std::uint32_t concat_pclmul(std::uint32_t reg, const std::uint32_t* raw, const std::uint8_t* len,
                                        std::size_t n) noexcept {
  __m128i acc = _mm_setzero_si128();
  std::size_t suffix = 0;
  for (std::size_t i = n; i-- > 0;) {
    const __m128i a = _mm_cvtsi32_si128(static_cast<int>(raw[i]));
    const __m128i k = _mm_cvtsi32_si128(static_cast<int>(kShifts[suffix]));
    acc = _mm_xor_si128(acc, _mm_clmulepi64_si128(a, k, 0x00));
    suffix += len[i];
  }
  assert(suffix <= kCrc32MaxConcat);
  const __m128i a = _mm_cvtsi32_si128(static_cast<int>(reg));
  const __m128i k = _mm_cvtsi32_si128(static_cast<int>(kShifts[suffix]));
  acc = _mm_xor_si128(acc, _mm_clmulepi64_si128(a, k, 0x00));
  return reduce_product(static_cast<std::uint64_t>(_mm_cvtsi128_si64(acc)));
}

#undef MDGW_PCLMUL

// Decided once at startup. __builtin_cpu_init first: this initializer may run before
// libgcc's own constructor has filled in the CPU model.
const bool kHavePclmul = [] {
  __builtin_cpu_init();
  return __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
}();

#endif

} // namespace

std::uint32_t crc32_update(std::uint32_t crc, const void* data, std::size_t n) noexcept {
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint32_t c = ~crc;
#if defined(__x86_64__)
  if (n >= 64 && kHavePclmul) {
    const std::size_t bulk = n & ~static_cast<std::size_t>(15);
    c = crc_pclmul(c, p, bulk);
    p += bulk;
    n -= bulk;
  }
#endif
  return ~crc_tables(c, p, n);
}

std::uint32_t crc32_raw(const void* data, std::size_t n) noexcept {
  return crc_tables(0, static_cast<const unsigned char*>(data), n);
}

std::uint32_t crc32_raw_block64(const unsigned char* p, std::size_t n) noexcept {
#if defined(__x86_64__)
  if (kHavePclmul) return crc_pclmul(0, p, 64);
#endif
  return crc_tables(0, p + 64 - n, n);
}

std::uint32_t crc32_concat_portable(std::uint32_t reg, const std::uint32_t* raw, const std::uint8_t* len,
                                    std::size_t n) noexcept {
  std::uint64_t acc = 0;
  std::size_t suffix = 0;
  for (std::size_t i = n; i-- > 0;) {
    acc ^= clmul_portable(raw[i], kShifts[suffix]);
    suffix += len[i];
  }
  assert(suffix <= kCrc32MaxConcat);
  return reduce_product(acc ^ clmul_portable(reg, kShifts[suffix]));
}

std::uint32_t crc32_concat(std::uint32_t reg, const std::uint32_t* raw, const std::uint8_t* len, std::size_t n) noexcept {
#if defined(__x86_64__)
  if (kHavePclmul) return concat_pclmul(reg, raw, len, n);
#endif
  return crc32_concat_portable(reg, raw, len, n);
}

std::uint32_t crc32_update_portable(std::uint32_t crc, const void* data, std::size_t n) noexcept {
  return ~crc_tables(~crc, static_cast<const unsigned char*>(data), n);
}

} // namespace mdgw::crypto
