#include "config.hpp"
#include "config_test_util.hpp"
#include "crypto_live.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace mdgw {
namespace {

TEST(CryptoConfig, SymbolsScalesAndSources) {
  const auto c = parse_config({"--kraken-symbols", "XBT/USD:1,ETH/USD:2:6", "--kraken-url", "wss://ws.kraken.com",
                               "--kraken-depth", "100", "--binance-symbols", "BTCUSDT,ETHBTC:6:4",
                               "--binance-replay", "a.ws,b.rest", "--coinbase-symbols", "BTC-USD",
                               "--coinbase-products", "p.json", "--coinbase-url", "ws://127.0.0.1:9000/feed",
                               "--replay-speed", "2.5", "--upstream-insecure", "true"})
                     .crypto;
  ASSERT_EQ(c.kraken.symbols.size(), 2U);
  EXPECT_EQ(c.kraken.symbols[0].venue_symbol, "XBT/USD");
  EXPECT_EQ(c.kraken.symbols[0].price_scale, 1);
  EXPECT_EQ(c.kraken.symbols[0].qty_scale, 8); // Kraken lot_decimals default
  EXPECT_EQ(c.kraken.symbols[1].qty_scale, 6);
  EXPECT_EQ(c.kraken_depth, 100);
  ASSERT_EQ(c.binance.symbols.size(), 2U);
  EXPECT_EQ(c.binance.symbols[0].price_scale, 8);
  EXPECT_EQ(c.binance.symbols[1].price_scale, 6);
  EXPECT_EQ(c.binance.symbols[1].qty_scale, 4);
  EXPECT_EQ(c.binance.replay_ws, "a.ws");
  EXPECT_EQ(c.binance.replay_rest, "b.rest");
  EXPECT_LT(c.coinbase.symbols[0].price_scale, 0); // from the products list
  EXPECT_DOUBLE_EQ(c.replay_speed, 2.5);
  EXPECT_TRUE(c.upstream_insecure);
  EXPECT_EQ(parse_config({"--kraken-symbols", "A/B:1", "--kraken-replay", "x", "--replay-speed", "max"}).crypto.replay_speed,
            0.0);
}

TEST(CryptoConfig, EveryBadValueNamesItsOption) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--kraken-symbols", "XBT/USD"}, "--kraken-symbols"},
      {{"--kraken-symbols", "XBT/USD:19", "--kraken-replay", "x"}, "--kraken-symbols"},
      {{"--kraken-symbols", "A/B:1,A/B:2", "--kraken-replay", "x"}, "--kraken-symbols"},
      {{"--binance-symbols", "BTCUSDT:8", "--binance-replay", "x"}, "--binance-symbols"},
      {{"--kraken-replay", "x"}, "--kraken-symbols"},
      {{"--kraken-symbols", "A/B:1"}, "--kraken-symbols"},
      {{"--kraken-symbols", "A/B:1", "--kraken-replay", "x", "--kraken-url", "ws://h"}, "--kraken-url"},
      {{"--kraken-url", "http://h"}, "--kraken-url"},
      {{"--kraken-url", "ws://h:0"}, "--kraken-url"},
      {{"--kraken-url", "ws://h:"}, "--kraken-url"},
      {{"--binance-rest-url", "ws://h"}, "--binance-rest-url"},
      {{"--binance-symbols", "X", "--binance-url", "ws://h"}, "--binance-rest-url"},
      {{"--binance-replay", "a,b,c"}, "--binance-replay"},
      {{"--coinbase-symbols", "BTC-USD", "--coinbase-url", "ws://h"}, "--coinbase-products"},
      {{"--kraken-depth", "20"}, "--kraken-depth"},
      {{"--replay-speed", "fast"}, "--replay-speed"},
      {{"--replay-speed", "-1"}, "--replay-speed"},
      {{"--upstream-timeout-ms", "5"}, "--upstream-timeout-ms"},
      {{"--upstream-backoff-min-ms", "500", "--upstream-backoff-max-ms", "100"}, "--upstream-backoff-min-ms"},
      {{"--upstream-insecure", "yes"}, "--upstream-insecure"},
      {{"--upstream-ca", ""}, "--upstream-ca"},
  };
  for (const auto& [args, option] : cases) {
    const std::string e = error_of(args);
    EXPECT_NE(e.find(option), std::string::npos) << "args[0]=" << args[0] << ": '" << e << "'";
  }
}

TEST(UpstreamUrl, Parts) {
  auto u = parse_upstream_url("wss://ws.kraken.com", true);
  EXPECT_TRUE(u.tls);
  EXPECT_EQ(u.host, "ws.kraken.com");
  EXPECT_EQ(u.port, "443");
  EXPECT_EQ(u.target, "/");
  u = parse_upstream_url("ws://127.0.0.1:9443/stream?x=1", true);
  EXPECT_FALSE(u.tls);
  EXPECT_EQ(u.port, "9443");
  EXPECT_EQ(u.target, "/stream?x=1");
  u = parse_upstream_url("http://[::1]:8080", false);
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.port, "8080");
  u = parse_upstream_url("https://api.binance.com?a", false);
  EXPECT_EQ(u.target, "/?a");
  EXPECT_THROW((void)parse_upstream_url("https://x", true), std::invalid_argument);
  EXPECT_THROW((void)parse_upstream_url("ws://", true), std::invalid_argument);
  EXPECT_THROW((void)parse_upstream_url("ws://[::1", true), std::invalid_argument);
  EXPECT_THROW((void)parse_upstream_url("ws://h:99999", true), std::invalid_argument);
}

} // namespace
} // namespace mdgw
