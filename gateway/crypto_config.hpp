// Configuration of the crypto feeds (Kraken, Binance, Coinbase): which instruments, from
// a capture replay or a live upstream. Parsed with the other options (config.hpp: flags,
// MDGW_* environment, --config file); every bad value stops startup naming the option.
//
// Instruments and their scales (price/quantity decimals), per venue:
//   --kraken-symbols   PAIR:PRICE_DECIMALS[:LOT_DECIMALS],...  e.g. XBT/USD:1,ETH/USD:2
//                      Kraken's AssetPairs pair_decimals / lot_decimals (default 8): the
//                      decimals Kraken prints in book frames, required by its checksum.
//   --binance-symbols  SYMBOL[:PRICE:QTY],...  e.g. BTCUSDT (Binance prints 8/8: default)
//   --coinbase-symbols PRODUCT[:PRICE:QTY],... e.g. BTC-USD; scales from the products list
//                      (--coinbase-products FILE: GET /products JSON, or a .rest capture
//                      line of it) unless given inline.
// Sources, one per venue: --<venue>-replay FILE (Binance: WS_FILE[,REST_FILE]) or
// --<venue>-url URL (Binance also --binance-rest-url).
#pragma once

#include "crypto_handler.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace mdgw {

struct crypto_venue_options {
  // price_scale < 0: not given inline (Coinbase: from the products list).
  std::vector<crypto::instrument_config> symbols;
  std::string replay_ws;
  std::string replay_rest;
  std::string url;
  std::string rest_url;
  [[nodiscard]] bool enabled() const noexcept { return !replay_ws.empty() || !url.empty(); }
};

struct crypto_options {
  crypto_venue_options kraken;
  crypto_venue_options binance;
  crypto_venue_options coinbase;
  std::string coinbase_products; // file
  double replay_speed = 0;       // 0: as fast as possible; 1: recorded pace
  int kraken_depth = 10;
  std::chrono::milliseconds upstream_timeout{30'000};
  std::chrono::milliseconds backoff_min{250};
  std::chrono::milliseconds backoff_max{10'000};
  bool upstream_insecure = false;
  std::string upstream_ca;
};

// Applies one option if it is a crypto option (returns false otherwise). Throws
// config_error naming the option on a bad value.
bool apply_crypto_option(crypto_options& c, const std::string& name, const std::string& value);
[[nodiscard]] bool is_crypto_option(const std::string& name);
// Checks the combinations (after every option was applied). Throws config_error.
void validate_crypto_options(const crypto_options& c);
[[nodiscard]] std::string crypto_usage();

} // namespace mdgw
