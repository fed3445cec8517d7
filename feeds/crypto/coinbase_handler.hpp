// Coinbase Exchange WebSocket feed (ws-feed): level2 (snapshot, l2update), ticker,
// matches (match; last_match is ignored), subscriptions/heartbeat ignored.
//
// Rationale:
// - level2 carries no sequence numbers, so the book is proven against the ticker
//   channel instead: a ticker's best_bid/best_ask (and sizes, when the feed sends them)
//   must equal the book built from the frames before it on the same connection. The
//   first ticker of each product after connecting is sent at subscription time and
//   describes an older state (the last trade's), so it is not checked; every later one
//   is, and a disagreement makes the instrument stale and asks for a resubscription.
// - Scales come from the products REST list: price_scale = decimals of quote_increment,
//   qty_scale = decimals of base_increment (trailing zeros ignored), tick_size and
//   lot_size the increments themselves. Strings with more precision than that are
//   rejected, never rounded: if Coinbase refines an increment the instrument goes stale
//   (loudly) until the products list is reloaded.
// - last_match is sent at subscription and repeats a past trade (again on every
//   reconnect): reporting it would duplicate trades in the stream, so it is counted as
//   ignored. match "side" is the maker's side; the aggressor is the opposite.
#pragma once

#include "crypto_handler.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mdgw::crypto {

struct coinbase_config {
  std::vector<instrument_config> products; // venue_symbol "BTC-USD"
};

// Instrument configs for `product_ids` from a GET /products reply body (a JSON array).
// Throws std::runtime_error on malformed JSON, a missing product or a bad increment:
// this runs at startup, from configuration.
std::vector<instrument_config> coinbase_products(std::string_view products_json,
                                                 const std::vector<std::string>& product_ids);

class coinbase_handler final : public crypto_handler {
public:
  explicit coinbase_handler(const coinbase_config& config);
  ~coinbase_handler() override;

  [[nodiscard]] frame_status on_frame(const padded_frame& f) override;
  void on_connect() override;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace mdgw::crypto
