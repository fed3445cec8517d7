#include "crypto_config.hpp"

#include "config.hpp"
#include "crypto_live.hpp"

#include <charconv>
#include <cmath>
#include <set>

namespace mdgw {

namespace {

constexpr const char* kNames[] = {
    "kraken-symbols",   "kraken-replay",  "kraken-url",        "kraken-depth",
    "binance-symbols",  "binance-replay", "binance-url",       "binance-rest-url",
    "coinbase-symbols", "coinbase-replay", "coinbase-url",     "coinbase-products",
    "replay-speed",     "upstream-timeout-ms", "upstream-backoff-min-ms", "upstream-backoff-max-ms",
    "upstream-insecure", "upstream-ca",
};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::size_t b = 0;
  for (;;) {
    const auto e = s.find(sep, b);
    out.push_back(s.substr(b, e == std::string::npos ? std::string::npos : e - b));
    if (e == std::string::npos) return out;
    b = e + 1;
  }
}

int parse_scale(const std::string& flag, const std::string& item, const std::string& v) {
  int x = -1;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (v.empty() || ec != std::errc{} || p != v.data() + v.size() || x < 0 || x > 18) {
    throw config_error("invalid value '" + item + "' for " + flag + ": decimals must be integers in 0..18");
  }
  return x;
}

// "A:6,B:8:8" -> instruments. min_fields: 2 when the price decimals are required.
std::vector<crypto::instrument_config> parse_symbols(const std::string& flag, const std::string& v,
                                                     std::size_t min_fields, int default_price, int default_qty) {
  const std::string expected = min_fields == 2 ? "SYMBOL:PRICE_DECIMALS[:QTY_DECIMALS]" : "SYMBOL[:PRICE:QTY]";
  if (v.empty()) throw config_error("invalid value '' for " + flag + ": expected " + expected + ",...");
  std::vector<crypto::instrument_config> out;
  std::set<std::string> seen;
  for (const std::string& item : split(v, ',')) {
    const auto f = split(item, ':');
    if (f[0].empty() || f.size() < min_fields || f.size() > 3 || (min_fields == 1 && f.size() == 2)) {
      throw config_error("invalid value '" + item + "' for " + flag + ": expected " + expected);
    }
    if (!seen.insert(f[0]).second) throw config_error("duplicate symbol '" + f[0] + "' in " + flag);
    crypto::instrument_config c;
    c.venue_symbol = f[0];
    c.price_scale = f.size() >= 2 ? parse_scale(flag, item, f[1]) : default_price;
    c.qty_scale = f.size() >= 3 ? parse_scale(flag, item, f[2]) : default_qty;
    out.push_back(c);
  }
  return out;
}

std::chrono::milliseconds parse_ms(const std::string& flag, const std::string& v, std::int64_t lo, std::int64_t hi) {
  std::int64_t x = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (v.empty() || ec != std::errc{} || p != v.data() + v.size() || x < lo || x > hi) {
    throw config_error("invalid value '" + v + "' for " + flag + ": expected an integer in " + std::to_string(lo) +
                       ".." + std::to_string(hi));
  }
  return std::chrono::milliseconds(x);
}

void check_url(const std::string& flag, const std::string& v, bool websocket) {
  try {
    (void)parse_upstream_url(v, websocket);
  } catch (const std::invalid_argument& e) {
    throw config_error("invalid value for " + flag + ": " + e.what());
  }
}

void validate_venue(const std::string& venue, const crypto_venue_options& o) {
  const std::string p = "--" + venue;
  if (!o.replay_ws.empty() && !o.url.empty()) {
    throw config_error(p + "-replay and " + p + "-url exclude each other (one source per venue)");
  }
  if (o.enabled() && o.symbols.empty()) {
    throw config_error(p + "-symbols is required with " + (o.url.empty() ? p + "-replay" : p + "-url"));
  }
  if (!o.enabled() && !o.symbols.empty()) {
    throw config_error(p + "-symbols given without " + p + "-replay or " + p + "-url");
  }
}

} // namespace

bool is_crypto_option(const std::string& name) {
  for (const char* n : kNames) {
    if (name == n) return true;
  }
  return false;
}

bool apply_crypto_option(crypto_options& c, const std::string& name, const std::string& v) {
  if (!is_crypto_option(name)) return false;
  const std::string flag = "--" + name;
  const auto need_value = [&] {
    if (v.empty()) throw config_error("invalid value '' for " + flag + ": expected a non-empty value");
  };
  if (name == "kraken-symbols") {
    c.kraken.symbols = parse_symbols(flag, v, 2, -1, 8);
  } else if (name == "binance-symbols") {
    c.binance.symbols = parse_symbols(flag, v, 1, 8, 8);
  } else if (name == "coinbase-symbols") {
    c.coinbase.symbols = parse_symbols(flag, v, 1, -1, -1);
  } else if (name == "kraken-replay") {
    need_value();
    c.kraken.replay_ws = v;
  } else if (name == "coinbase-replay") {
    need_value();
    c.coinbase.replay_ws = v;
  } else if (name == "binance-replay") {
    const auto f = split(v, ',');
    if (f.size() > 2 || f[0].empty() || (f.size() == 2 && f[1].empty())) {
      throw config_error("invalid value '" + v + "' for " + flag + ": expected WS_FILE[,REST_FILE]");
    }
    c.binance.replay_ws = f[0];
    c.binance.replay_rest = f.size() == 2 ? f[1] : std::string();
  } else if (name == "kraken-url") {
    check_url(flag, v, true);
    c.kraken.url = v;
  } else if (name == "binance-url") {
    check_url(flag, v, true);
    c.binance.url = v;
  } else if (name == "coinbase-url") {
    check_url(flag, v, true);
    c.coinbase.url = v;
  } else if (name == "binance-rest-url") {
    check_url(flag, v, false);
    c.binance.rest_url = v;
  } else if (name == "coinbase-products") {
    need_value();
    c.coinbase_products = v;
  } else if (name == "kraken-depth") {
    if (v != "10" && v != "25" && v != "100" && v != "500" && v != "1000") {
      throw config_error("invalid value '" + v + "' for " + flag + ": Kraken book depths are 10, 25, 100, 500, 1000");
    }
    c.kraken_depth = std::stoi(v);
  } else if (name == "replay-speed") {
    double x = -1;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
    if (v == "max") {
      x = 0;
    } else if (v.empty() || ec != std::errc{} || p != v.data() + v.size() || !std::isfinite(x) || x < 0 ||
               x > 1e6) {
      throw config_error("invalid value '" + v + "' for " + flag +
                         ": expected 'max' (or 0: as fast as possible) or a speed factor in (0, 1e6]");
    }
    c.replay_speed = x;
  } else if (name == "upstream-timeout-ms") {
    c.upstream_timeout = parse_ms(flag, v, 100, 3'600'000);
  } else if (name == "upstream-backoff-min-ms") {
    c.backoff_min = parse_ms(flag, v, 1, 600'000);
  } else if (name == "upstream-backoff-max-ms") {
    c.backoff_max = parse_ms(flag, v, 1, 3'600'000);
  } else if (name == "upstream-insecure") {
    if (v != "true" && v != "false") throw config_error("invalid value '" + v + "' for " + flag + ": expected true or false");
    c.upstream_insecure = v == "true";
  } else if (name == "upstream-ca") {
    need_value();
    c.upstream_ca = v;
  }
  return true;
}

void validate_crypto_options(const crypto_options& c) {
  validate_venue("kraken", c.kraken);
  validate_venue("binance", c.binance);
  validate_venue("coinbase", c.coinbase);
  if (!c.binance.url.empty() && c.binance.rest_url.empty()) {
    throw config_error("--binance-url needs --binance-rest-url (the depth snapshots come from the REST API)");
  }
  if (c.coinbase.enabled() && c.coinbase_products.empty()) {
    for (const auto& s : c.coinbase.symbols) {
      if (s.price_scale < 0) {
        throw config_error("--coinbase-symbols: '" + s.venue_symbol +
                           "' has no PRICE:QTY decimals and no --coinbase-products list was given");
      }
    }
  }
  if (c.backoff_min > c.backoff_max) {
    throw config_error("--upstream-backoff-min-ms is larger than --upstream-backoff-max-ms");
  }
}

std::string crypto_usage() {
  return "  crypto feeds (instrument symbols KRAKEN:XBT/USD, BINANCE:BTCUSDT, COINBASE:BTC-USD):\n"
         "  --kraken-symbols P:D[:L],.. Kraken pairs with price decimals D (and lot decimals L, default 8)\n"
         "  --binance-symbols S[:P:Q],.. Binance symbols (decimals default 8:8)\n"
         "  --coinbase-symbols S[:P:Q],. Coinbase products (decimals from --coinbase-products by default)\n"
         "  --coinbase-products FILE    GET /products JSON (or its .rest capture line): scales\n"
         "  --kraken-replay FILE        replay a .ws capture (likewise --coinbase-replay FILE,\n"
         "  --binance-replay WS[,REST]  and Binance's .ws with its .rest depth snapshots)\n"
         "  --replay-speed X|max        1 = recorded pace, 2 = twice as fast (default max)\n"
         "  --kraken-url URL            live ws:// or wss:// upstream (likewise --coinbase-url,\n"
         "  --binance-url URL           --binance-url, the latter with --binance-rest-url URL)\n"
         "  --kraken-depth N            Kraken book depth subscribed: 10|25|100|500|1000 (default 10)\n"
         "  --upstream-timeout-ms N     no frame for N ms: upstream dead, reconnect (default 30000)\n"
         "  --upstream-backoff-min-ms N reconnect backoff, doubling with jitter (default 250..10000)\n"
         "  --upstream-backoff-max-ms   N\n"
         "  --upstream-insecure true    do not verify the upstream's TLS certificate (tests only)\n"
         "  --upstream-ca FILE          extra PEM trust anchors for wss/https upstreams\n";
}

} // namespace mdgw
