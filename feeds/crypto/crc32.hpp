// CRC-32 (ISO-HDLC / zlib: reflected polynomial 0xEDB88320, init and final xor ~0), the
// checksum Kraken publishes over its top of book. A Kraken checksum covers ~400 bytes
// per update, so speed matters: on x86-64 CPUs with PCLMULQDQ (checked at startup) the
// bulk is folded with carry-less multiplies (~10x the tables' speed), the tail and
// other CPUs use slice-by-8 tables built at compile time. No dependency on zlib.
//
// Combining pieces without their bytes: the CRC register is linear, so for text A then
// B, reg(A B) = reg(A) * x^(8|B|) mod P  xor  raw(B), where raw(B) is the register
// after B started from zero. crc32_concat does that for a run of pieces from their raw
// values and lengths: one carry-less multiply per piece by a precomputed x^(8k) (all
// products xored unreduced, one reduction at the end), so a cache of per-piece raw CRCs
// (Kraken's top-of-book levels) never hashes the unchanged pieces again.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mdgw::crypto {

// Continues a CRC: crc32_update(crc32_update(0, a), b) == crc32 of a followed by b.
[[nodiscard]] std::uint32_t crc32_update(std::uint32_t crc, const void* data, std::size_t n) noexcept;

// The table-only path, for tests that compare it with the accelerated one.
[[nodiscard]] std::uint32_t crc32_update_portable(std::uint32_t crc, const void* data, std::size_t n) noexcept;

[[nodiscard]] inline std::uint32_t crc32(const void* data, std::size_t n) noexcept { return crc32_update(0, data, n); }

// The register after `data` started from zero, no inversions: a piece for crc32_concat.
[[nodiscard]] std::uint32_t crc32_raw(const void* data, std::size_t n) noexcept;

// crc32_raw of a short text placed at the end of a 64-byte block whose bytes before it
// are zero (zero bytes in front leave a register of zero unchanged): the text is the
// last n (0..64) bytes at p, p[0, 64 - n) must be zero. With PCLMULQDQ one fixed fold of
// the 64 bytes (no loop, no tables), else the tables over the n bytes.
[[nodiscard]] std::uint32_t crc32_raw_block64(const unsigned char* p, std::size_t n) noexcept;

// The longest run crc32_concat takes (its table of x^(8k) has this many + 1 entries).
inline constexpr std::size_t kCrc32MaxConcat = 1024;

// The register after n pieces in order, starting from register `reg` (~0 at the start of
// a text, or the register after earlier text): piece i has crc32_raw raw[i] and len[i]
// bytes. Precondition: the lengths add up to at most kCrc32MaxConcat.
// crc32_update(c, text) == ~crc32_concat(~c, pieces of text).
[[nodiscard]] std::uint32_t crc32_concat(std::uint32_t reg, const std::uint32_t* raw, const std::uint8_t* len,
                                         std::size_t n) noexcept;

// The same without carry-less multiply instructions, for tests that compare the two.
[[nodiscard]] std::uint32_t crc32_concat_portable(std::uint32_t reg, const std::uint32_t* raw, const std::uint8_t* len,
                                                  std::size_t n) noexcept;

} // namespace mdgw::crypto
