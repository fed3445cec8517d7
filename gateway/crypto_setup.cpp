#include "crypto_setup.hpp"

#include "binance_handler.hpp"
#include "capture.hpp"
#include "coinbase_handler.hpp"
#include "crypto_feed.hpp"
#include "crypto_live.hpp"
#include "kraken_handler.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace mdgw {

namespace {

std::unique_ptr<crypto::crypto_source> make_source(crypto_venue venue, const crypto_venue_options& o,
                                                   const crypto_options& c, const std::string& name) {
  if (!o.replay_ws.empty()) {
    try {
      auto cap = std::make_shared<const crypto::capture>(crypto::capture::load(o.replay_ws, o.replay_rest));
      return std::make_unique<crypto::replay_source>(std::move(cap), c.replay_speed);
    } catch (const std::runtime_error& e) {
      throw std::runtime_error("--" + name + "-replay: " + e.what());
    }
  }
  live_options lo;
  lo.venue = venue;
  lo.url = o.url;
  lo.rest_url = o.rest_url;
  lo.verify_peer = !c.upstream_insecure;
  lo.ca_file = c.upstream_ca;
  lo.timeout = c.upstream_timeout;
  lo.backoff_min = c.backoff_min;
  lo.backoff_max = c.backoff_max;
  lo.kraken_depth = c.kraken_depth;
  try {
    return std::make_unique<live_source>(std::move(lo));
  } catch (const std::exception& e) {
    throw std::runtime_error("--" + name + "-url: " + e.what());
  }
}

// The products list: a JSON array, or a .rest capture line "<url> -> <ts>: <json>".
std::vector<crypto::instrument_config> coinbase_instruments(const crypto_options& c) {
  std::vector<crypto::instrument_config> out = c.coinbase.symbols;
  std::vector<std::string> wanted;
  for (const auto& s : out) {
    if (s.price_scale < 0) wanted.push_back(s.venue_symbol);
  }
  if (wanted.empty()) return out;
  std::ifstream in(c.coinbase_products, std::ios::binary);
  if (!in) throw std::runtime_error("--coinbase-products: cannot open " + c.coinbase_products);
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string text = std::move(ss).str();
  std::string_view json = text;
  while (!json.empty() && (json.back() == '\n' || json.back() == '\r')) json.remove_suffix(1);
  if (!json.starts_with('[')) {
    const auto line = crypto::parse_rest_line(json.substr(0, json.find('\n')));
    if (!line) throw std::runtime_error("--coinbase-products: neither a JSON array nor a .rest line: " + c.coinbase_products);
    json = line->payload;
  }
  std::vector<crypto::instrument_config> listed;
  try {
    listed = crypto::coinbase_products(json, wanted);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(std::string("--coinbase-products: ") + e.what());
  }
  for (auto& s : out) {
    if (s.price_scale >= 0) continue;
    for (const auto& l : listed) {
      if (l.venue_symbol == s.venue_symbol) s = l;
    }
  }
  return out;
}

} // namespace

std::size_t crypto_instrument_count(const crypto_options& c) {
  std::size_t n = 0;
  for (const crypto_venue_options* v : {&c.kraken, &c.binance, &c.coinbase}) {
    if (v->enabled()) n += v->symbols.size();
  }
  return n;
}

std::unique_ptr<crypto::crypto_handler> make_crypto_handler(crypto_venue venue, const crypto_options& c) {
  switch (venue) {
  case crypto_venue::kraken: {
    crypto::kraken_config kc;
    kc.pairs = c.kraken.symbols;
    kc.default_depth = static_cast<std::size_t>(c.kraken_depth);
    return std::make_unique<crypto::kraken_handler>(kc);
  }
  case crypto_venue::binance: {
    crypto::binance_config bc;
    bc.symbols = c.binance.symbols;
    return std::make_unique<crypto::binance_handler>(bc);
  }
  case crypto_venue::coinbase: {
    crypto::coinbase_config cc;
    cc.products = coinbase_instruments(c);
    return std::make_unique<crypto::coinbase_handler>(cc);
  }
  }
  throw std::logic_error("unknown crypto venue");
}

std::vector<std::unique_ptr<feed>> make_crypto_feeds(const crypto_options& c, publication& pub) {
  std::vector<std::unique_ptr<feed>> feeds;
  const std::pair<crypto_venue, const crypto_venue_options*> venues[] = {
      {crypto_venue::kraken, &c.kraken}, {crypto_venue::binance, &c.binance}, {crypto_venue::coinbase, &c.coinbase}};
  for (const auto& [venue, o] : venues) {
    if (!o->enabled()) continue;
    const std::string name = venue_name(venue);
    feeds.push_back(std::make_unique<crypto::crypto_feed>(name, make_crypto_handler(venue, c),
                                                          make_source(venue, *o, c, name), pub));
  }
  return feeds;
}

} // namespace mdgw
