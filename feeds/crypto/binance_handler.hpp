// Binance spot market streams (combined "/stream?streams=" frames {"stream","data"} or
// raw events): depthUpdate diffs synchronized from a REST depth snapshot, bookTicker,
// aggTrade and trade. Other events (kline, request replies) are ignored.
//
// Rationale (Binance's documented procedure for a local order book, per instrument):
//   awaiting_snapshot  diffs are buffered (bounded) while the owner fetches
//                      GET /api/v3/depth?symbol=X&limit=1000 (on_resync tells it to)
//   snapshot arrives   book := snapshot at lastUpdateId; buffered diffs replayed:
//                      drop every diff with u <= lastUpdateId (older than the snapshot);
//                      the first one kept must have U <= lastUpdateId + 1 <= u
//   synced             every next diff must have U == previous u + 1
// Anything else is a break in the update-id chain: the instrument goes stale, a fresh
// snapshot is requested and the diff that revealed the break is buffered (the new
// snapshot may predate it). A snapshot older than a synced book is ignored.
// - bookTicker carries its own update id u; it describes the book exactly when the book
//   is at update id u, i.e. after a diff ending at u (diffs aggregate 100 ms, so only
//   then). The ticker stream is real time and arrives BEFORE that diff, so a ticker
//   ahead of the book is kept (a few per instrument) and checked once a diff ends at
//   its id; one the book passed without stopping at is not comparable. Where they meet,
//   best bid/ask price and size must equal the book's, else the book is stale.
// - Scales: Binance prints every price and size with 8 decimals, so 8/8 is the default
//   (exchangeInfo's tickSize/stepSize can set tick_size/lot_size). Any string with more
//   precision than the scale is rejected rather than rounded.
// - Binance does not truncate: a diff may add levels beyond the snapshot's 1000; they are
//   kept. A size-0 diff for an absent level is normal (Binance says so) and counted.
#pragma once

#include "crypto_handler.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace mdgw::crypto {

struct binance_config {
  std::vector<instrument_config> symbols; // venue_symbol "BTCUSDT" (upper case, as in "s")
  std::size_t max_buffered_levels = 1 << 16; // per instrument while awaiting a snapshot
};

class binance_handler final : public crypto_handler {
public:
  enum class sync_state : std::uint8_t { awaiting_snapshot, awaiting_first, synced };

  explicit binance_handler(const binance_config& config);
  ~binance_handler() override;

  [[nodiscard]] frame_status on_frame(const padded_frame& f) override;
  // REST replies: ".../depth?symbol=X..." bodies are depth snapshots; others ignored.
  [[nodiscard]] frame_status on_rest(std::string_view url, const padded_frame& body) override;
  // A depth snapshot body {"lastUpdateId":..,"bids":[..],"asks":[..]} for instrument index.
  [[nodiscard]] frame_status on_depth_snapshot(std::size_t index, const padded_frame& body);
  void on_connect() override;

  [[nodiscard]] sync_state state(std::size_t index) const noexcept;
  // Last applied update id (the snapshot's lastUpdateId until the first diff).
  [[nodiscard]] std::uint64_t last_update_id(std::size_t index) const noexcept;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace mdgw::crypto
