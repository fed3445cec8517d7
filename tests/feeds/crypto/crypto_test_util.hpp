// Shared by the crypto tests: where the real captures are, and a sink that records.
#pragma once

#include "capture.hpp"
#include "crypto_handler.hpp"

#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

namespace mdgw::crypto::test {

// ../shared/data/crypto, passed by meson as CRYPTO_DATA_DIR (absolute).
inline std::string data_path(const std::string& file) {
  const char* dir = std::getenv("CRYPTO_DATA_DIR");
  return std::string(dir != nullptr ? dir : "../shared/data/crypto") + "/" + file;
}

struct recording_sink final : crypto_sink {
  void on_book(std::size_t) override { ++books; }
  void on_trade(std::size_t index, const trade_print& t) override { trades.emplace_back(index, t); }
  void on_resync(std::size_t index, resync_reason why) override { resyncs.emplace_back(index, why); }

  std::size_t books = 0;
  std::vector<std::pair<std::size_t, trade_print>> trades;
  std::vector<std::pair<std::size_t, resync_reason>> resyncs;
};

// The ten Kraken pairs of kraken-book.ws / kraken-trade.ws with their decimals as Kraken
// prints them (AssetPairs pair_decimals / lot_decimals; every string in the captures
// has exactly these).
inline std::vector<instrument_config> kraken_capture_pairs() {
  const std::pair<const char*, int> pairs[] = {
      {"WAVES/EUR", 6}, {"XMR/USD", 8}, {"KSM/XBT", 8}, {"GRT/ETH", 9}, {"SC/EUR", 6},
      {"ETH/CHF", 5},   {"OCEAN/XBT", 9}, {"OMG/USD", 6}, {"XBT/CHF", 5}, {"ADA/XBT", 9},
  };
  std::vector<instrument_config> out;
  for (const auto& [name, decimals] : pairs) {
    instrument_config c;
    c.venue_symbol = name;
    c.price_scale = decimals;
    c.qty_scale = 8;
    out.push_back(c);
  }
  return out;
}

inline std::vector<instrument_config> binance_capture_symbols() {
  std::vector<instrument_config> out;
  for (const char* s : {"NKNUSDT", "BLZETH", "LRCBTC", "RUNEEUR"}) {
    instrument_config c;
    c.venue_symbol = s;
    c.price_scale = 8; // Binance prints 8 decimals everywhere
    c.qty_scale = 8;
    out.push_back(c);
  }
  return out;
}

inline const std::vector<std::string>& coinbase_capture_products() {
  static const std::vector<std::string> ids = {"SKL-USD", "SKL-BTC", "BAND-GBP", "NMR-EUR", "BAND-BTC",
                                               "YFI-BTC", "DASH-BTC", "NU-GBP",  "CRV-EUR", "SKL-GBP"};
  return ids;
}

} // namespace mdgw::crypto::test
