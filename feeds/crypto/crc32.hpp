// CRC-32 (ISO-HDLC / zlib: reflected polynomial 0xEDB88320, init and final xor ~0), the
// checksum Kraken publishes over its top of book. A Kraken checksum covers ~400 bytes
// per update, so speed matters: on x86-64 CPUs with PCLMULQDQ (checked at startup) the
// bulk is folded with carry-less multiplies (~10x the tables' speed), the tail and
// other CPUs use slice-by-8 tables built at compile time. No dependency on zlib.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mdgw::crypto {

// Continues a CRC: crc32_update(crc32_update(0, a), b) == crc32 of a followed by b.
[[nodiscard]] std::uint32_t crc32_update(std::uint32_t crc, const void* data, std::size_t n) noexcept;

// The table-only path, for tests that compare it with the accelerated one.
[[nodiscard]] std::uint32_t crc32_update_portable(std::uint32_t crc, const void* data, std::size_t n) noexcept;

[[nodiscard]] inline std::uint32_t crc32(const void* data, std::size_t n) noexcept { return crc32_update(0, data, n); }

} // namespace mdgw::crypto
