// Kraken WebSocket API v1: book (snapshot "as"/"bs", updates "a"/"b", republish flag
// "r", checksum "c"), trade, heartbeat, systemStatus, subscriptionStatus.
//
// Rationale:
// - The checksum is CRC32 over the top 10 asks (best first) then top 10 bids, each level
//   as its price string then its volume string with the decimal point removed and the
//   leading zeros stripped. Kraken prints every price of a pair with the same number of
//   decimals (AssetPairs pair_decimals) and every volume with lot_decimals (8). So if an
//   instrument's scales ARE those decimals, the checksum text of a level is exactly the
//   decimal digits of its integers: regenerating it is exact and needs no strings
//   stored. Book strings with any other number of decimals are rejected (the instrument
//   goes stale), which makes a misconfigured scale fail loudly instead of as a stream
//   of checksum mismatches.
// - Depth: after each update the book is truncated to the subscribed depth (from the
//   subscriptionStatus, or the "book-N" channel name of each frame): Kraken does not
//   send deletes for levels pushed out of the window, and a level coming back into it
//   is re-sent (flagged "r"), which is applied like any other absolute level.
// - Cost (the checksum was a third of an update's work): no checksum text is kept.
//   Each of a side's top 10 levels is cached as a piece: its raw CRC and text length
//   (crc32.hpp). The pieces follow the book level by level: a level set inside a
//   side's top 10 changes one piece in place, or inserts one (the tenth drops out), or
//   deletes one (the book's new tenth comes in); only that level is rendered and hashed
//   (one PCLMUL fold of a zeroed block), the others are not looked at. After a
//   snapshot (or a truncation below 10 levels) a side is rebuilt from the book. The CRC
//   is then combined from the 10 pieces with one carry-less multiply each. The register
//   after the asks is cached, so a bids-only change combines only the bids.
// - An update frame may carry "a" and "b" in two objects; "c" is in the last one. Both
//   are collected, validated, then applied, then the checksum is verified.
#pragma once

#include "crypto_handler.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mdgw::crypto {

struct kraken_config {
  // venue_symbol "XBT/USD"; price_scale = the pair's pair_decimals, qty_scale = its
  // lot_decimals (8), exactly as Kraken prints them in book frames.
  std::vector<instrument_config> pairs;
  std::size_t default_depth = 10; // until a subscriptionStatus or frame says otherwise
};

class kraken_handler final : public crypto_handler {
public:
  static constexpr std::size_t kChecksumLevels = 10;

  explicit kraken_handler(const kraken_config& config);
  ~kraken_handler() override;

  [[nodiscard]] frame_status on_frame(const padded_frame& f) override;
  void on_connect() override;

  // Kraken's checksum of the instrument's current book, computed from scratch (tests,
  // diagnostics; the hot path uses the cached form).
  [[nodiscard]] std::uint32_t checksum(std::size_t index) const;
  [[nodiscard]] std::size_t depth(std::size_t index) const noexcept;
  [[nodiscard]] const std::string& system_status() const noexcept { return system_status_; }
  [[nodiscard]] std::uint64_t last_heartbeat() const noexcept { return last_heartbeat_; }

private:
  struct impl;
  std::unique_ptr<impl> impl_;
  std::string system_status_;
  std::uint64_t last_heartbeat_ = 0; // recv_ts of the newest heartbeat
};

} // namespace mdgw::crypto
