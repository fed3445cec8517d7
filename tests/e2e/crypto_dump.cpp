// crypto_dump: replays the crypto captures named by mdgw's own options (--kraken-replay,
// --kraken-symbols, ...) straight into the venue handlers, without the feed thread, the
// publication or the gateway, and prints every instrument's final book as JSON:
//   {"KRAKEN:XBT/CHF":{"quality":"ok","bids":[["price","size",0],...],"asks":[...]},...}
// (top 50 levels, the most GET /book returns; CRYPTO_DUMP_DEPTH=N for N, e.g. 1000 for
// what a `book.<SYM>.full` channel serves). The e2e tests compare it with what the
// real mdgw serves after the same replay, and with a live feed after its recovery.
#include "capture.hpp"
#include "config.hpp"
#include "crypto_setup.hpp"
#include "decimal.hpp"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

namespace {

std::size_t g_depth = 50;

void append_levels(std::string& out, const mdgw::level_book& book, mdgw::side s, const mdgw::instrument_info& info) {
  out.push_back('[');
  const std::size_t n = std::min(book.depth(s), g_depth);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& l = book.level(s, i);
    char p[48];
    char q[48];
    const std::size_t pn = mdgw::crypto::format_decimal(l.price, info.price_scale, p);
    const std::size_t qn = mdgw::crypto::format_decimal(l.qty, info.qty_scale, q);
    if (i != 0) out.push_back(',');
    out += "[\"" + std::string(p, pn) + "\",\"" + std::string(q, qn) + "\"," + std::to_string(l.orders) + "]";
  }
  out.push_back(']');
}

} // namespace

int main(int argc, char** argv) {
  try {
    if (const char* d = std::getenv("CRYPTO_DUMP_DEPTH")) g_depth = std::stoul(d);
    const mdgw::gateway_config cfg = mdgw::parse_config(std::vector<std::string>(argv + 1, argv + argc));
    const mdgw::crypto_options& c = cfg.crypto;
    std::string out = "{";
    const std::pair<mdgw::crypto_venue, const mdgw::crypto_venue_options*> venues[] = {
        {mdgw::crypto_venue::kraken, &c.kraken},
        {mdgw::crypto_venue::binance, &c.binance},
        {mdgw::crypto_venue::coinbase, &c.coinbase}};
    for (const auto& [venue, o] : venues) {
      if (o->replay_ws.empty()) continue;
      auto handler = mdgw::make_crypto_handler(venue, c);
      const auto cap = mdgw::crypto::capture::load(o->replay_ws, o->replay_rest);
      (void)mdgw::crypto::replay(cap, *handler);
      for (std::size_t i = 0; i < handler->instrument_count(); ++i) {
        const auto& in = handler->instrument(i);
        if (out.size() > 1) out.push_back(',');
        out += "\"" + in.info.symbol + "\":{\"quality\":\"";
        out += in.quality == mdgw::data_quality::ok ? "ok" : in.quality == mdgw::data_quality::stale ? "stale" : "resyncing";
        out += "\",\"bids\":";
        append_levels(out, in.book, mdgw::side::bid, in.info);
        out += ",\"asks\":";
        append_levels(out, in.book, mdgw::side::ask, in.info);
        out.push_back('}');
      }
    }
    out += "}\n";
    std::fputs(out.c_str(), stdout);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "crypto_dump: %s\n", e.what());
    return 1;
  }
  return 0;
}
