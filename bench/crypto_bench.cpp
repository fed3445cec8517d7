// Micro-benchmarks of the crypto handlers on the real captures (../shared/data/crypto),
// parse + apply per message, single thread, null sink (publication not included):
//   BM_kraken_book_updates    the 1,691 checksummed updates of kraken-book.ws (checksum
//                             verified on each); the 10 snapshots are re-applied untimed
//                             before each pass
//   BM_kraken_replay          every frame of kraken-book.ws (snapshots, heartbeats too)
//   BM_kraken_trades          the trade frames of kraken-trade.ws, looped
//   BM_binance_depth_updates  the depthUpdate frames of binance-depth.ws (172 applied,
//                             5 dropped as older than the snapshot); snapshots untimed
//   BM_binance_replay         every record of the session, REST snapshots included
//   BM_coinbase_l2updates     the 9,719 l2update frames of coinbase-level2.ws; snapshots
//                             untimed
//   BM_coinbase_replay        every frame (snapshots, tickers checked, matches)
//   BM_parse_decimal          one price string to an int64
// Figures: ns_per_msg (CPU time per message, the mean of a pass), p50_ns and p99_ns
// (per-message latency percentiles, wall clock, rdtsc); the target for book updates is
// a median under 300 ns. The captures are found through CRYPTO_DATA_DIR or
// ../shared/data/crypto from the working directory (run from the project root or the
// build directory's parent). Reproduce: see docs/performance.md.
#include "binance_handler.hpp"
#include "capture.hpp"
#include "coinbase_handler.hpp"
#include "decimal.hpp"
#include "kraken_handler.hpp"

#include <benchmark/benchmark.h>
#include <x86intrin.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mdgw::crypto {
namespace {

std::optional<std::string> data_path(const std::string& file) {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("CRYPTO_DATA_DIR")) dirs.emplace_back(env);
  dirs.emplace_back("../shared/data/crypto");
  dirs.emplace_back("../../shared/data/crypto");
  for (const std::string& d : dirs) {
    if (std::filesystem::exists(d + "/" + file)) return d + "/" + file;
  }
  return std::nullopt;
}

std::optional<capture> load(benchmark::State& state, const std::string& ws, const std::string& rest = {}) {
  const auto ws_path = data_path(ws);
  const auto rest_path = rest.empty() ? std::optional<std::string>(std::string()) : data_path(rest);
  if (!ws_path || !rest_path) {
    state.SkipWithError("capture not found: set CRYPTO_DATA_DIR to ../shared/data/crypto");
    return std::nullopt;
  }
  return capture::load(*ws_path, *rest_path);
}

bool contains(const capture_record& r, std::string_view what) {
  return r.what == capture_record::kind::frame && std::string_view(r.body.data, r.body.size).find(what) != std::string_view::npos;
}

void report(benchmark::State& state, std::size_t messages_per_pass) {
  const auto n = static_cast<double>(messages_per_pass) * static_cast<double>(state.iterations());
  state.SetItemsProcessed(static_cast<std::int64_t>(n));
  state.counters["ns_per_msg"] = benchmark::Counter(n, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

kraken_config kraken_pairs() {
  kraken_config c;
  const std::pair<const char*, int> pairs[] = {
      {"WAVES/EUR", 6}, {"XMR/USD", 8}, {"KSM/XBT", 8}, {"GRT/ETH", 9}, {"SC/EUR", 6},
      {"ETH/CHF", 5},   {"OCEAN/XBT", 9}, {"OMG/USD", 6}, {"XBT/CHF", 5}, {"ADA/XBT", 9},
  };
  for (const auto& [name, decimals] : pairs) c.pairs.push_back({name, decimals, 8, 1, 1});
  return c;
}

binance_config binance_symbols() {
  binance_config c;
  for (const char* s : {"NKNUSDT", "BLZETH", "LRCBTC", "RUNEEUR"}) c.symbols.push_back({s, 8, 8, 1, 1});
  return c;
}

std::optional<coinbase_config> coinbase_products_config(benchmark::State& state) {
  const auto path = data_path("coinbase-products.rest");
  if (!path) {
    state.SkipWithError("coinbase-products.rest not found");
    return std::nullopt;
  }
  std::ifstream in(*path);
  std::string line;
  std::getline(in, line);
  const auto r = parse_rest_line(line);
  if (!r) {
    state.SkipWithError("coinbase-products.rest: bad first line");
    return std::nullopt;
  }
  return coinbase_config{coinbase_products(r->payload, {"SKL-USD", "SKL-BTC", "BAND-GBP", "NMR-EUR", "BAND-BTC",
                                                        "YFI-BTC", "DASH-BTC", "NU-GBP", "CRV-EUR", "SKL-GBP"})};
}

// Per-message latency: each timed message is bracketed by rdtsc (~10 ns of its own,
// included), converted to ns with the TSC rate measured over the run. The mean per
// message (ns_per_msg) is skewed by the few expensive ones (a deep insert shifting a
// 1000-level side); p50_ns is the median message, p99_ns the tail.
struct latency_sampler {
  std::vector<std::uint64_t> ticks;
  std::uint64_t tsc0 = __rdtsc();
  std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();

  void report(benchmark::State& state) {
    if (ticks.empty()) return;
    const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
    const double ticks_per_ns = static_cast<double>(__rdtsc() - tsc0) / ns;
    const auto at = [&](double q) {
      const auto k = static_cast<std::size_t>(q * static_cast<double>(ticks.size() - 1));
      std::nth_element(ticks.begin(), ticks.begin() + static_cast<std::ptrdiff_t>(k), ticks.end());
      return static_cast<double>(ticks[k]) / ticks_per_ns;
    };
    state.counters["p50_ns"] = at(0.50);
    state.counters["p99_ns"] = at(0.99);
  }
};

// Runs `timed` frames after re-applying `setup` records untimed, per pass. Any status
// outside `allowed` means the bench measured something else than it says: error out.
template <class Handler>
void run_passes(benchmark::State& state, Handler& h, const std::vector<const capture_record*>& setup,
                const std::vector<const capture_record*>& timed, std::initializer_list<frame_status> allowed) {
  latency_sampler lat;
  lat.ticks.reserve(std::min<std::size_t>(timed.size() * 4096, std::size_t{1} << 24));
  const auto apply = [&h](const capture_record* r) {
    if (r->what == capture_record::kind::rest) return h.on_rest(r->url, r->body);
    if (r->what == capture_record::kind::connect) {
      h.on_connect();
      return frame_status::ok;
    }
    return h.on_frame(r->body);
  };
  std::size_t unexpected = 0;
  for (auto _ : state) {
    if (!setup.empty()) {
      state.PauseTiming();
      for (const capture_record* r : setup) (void)apply(r);
      state.ResumeTiming();
    }
    for (const capture_record* r : timed) {
      const std::uint64_t t = __rdtsc();
      const frame_status st = apply(r);
      if (lat.ticks.size() < lat.ticks.capacity()) lat.ticks.push_back(__rdtsc() - t);
      bool ok = false;
      for (const frame_status a : allowed) ok = ok || st == a;
      unexpected += ok ? 0 : 1;
    }
  }
  if (unexpected != 0) state.SkipWithError("unexpected frame status: the books went wrong");
  report(state, timed.size());
  lat.report(state);
}

void BM_kraken_book_updates(benchmark::State& state) {
  const auto cap = load(state, "kraken-book.ws");
  if (!cap) return;
  std::vector<const capture_record*> setup, timed;
  for (const capture_record& r : cap->records()) {
    if (contains(r, "\"as\":")) setup.push_back(&r);
    if (contains(r, "\"c\":\"")) timed.push_back(&r);
  }
  kraken_handler h(kraken_pairs());
  run_passes(state, h, setup, timed, {frame_status::ok});
  state.counters["checks_ok"] = static_cast<double>(h.counters().checks_ok);
}
BENCHMARK(BM_kraken_book_updates);

void BM_kraken_replay(benchmark::State& state) {
  const auto cap = load(state, "kraken-book.ws");
  if (!cap) return;
  std::vector<const capture_record*> all;
  for (const capture_record& r : cap->records()) all.push_back(&r);
  kraken_handler h(kraken_pairs());
  run_passes(state, h, {}, all, {frame_status::ok, frame_status::ignored});
}
BENCHMARK(BM_kraken_replay);

void BM_kraken_trades(benchmark::State& state) {
  const auto cap = load(state, "kraken-trade.ws");
  if (!cap) return;
  std::vector<const capture_record*> trades;
  for (const capture_record& r : cap->records()) {
    if (contains(r, "\"trade\",")) trades.push_back(&r);
  }
  kraken_handler h(kraken_pairs());
  run_passes(state, h, {}, trades, {frame_status::ok});
}
BENCHMARK(BM_kraken_trades);

void BM_binance_depth_updates(benchmark::State& state) {
  const auto cap = load(state, "binance-depth.ws", "binance-depth-snapshots.rest");
  if (!cap) return;
  std::vector<const capture_record*> setup, timed;
  for (const capture_record& r : cap->records()) {
    if (r.what == capture_record::kind::connect || r.what == capture_record::kind::rest) setup.push_back(&r);
    if (contains(r, "\"depthUpdate\"")) timed.push_back(&r);
  }
  binance_handler h(binance_symbols());
  run_passes(state, h, setup, timed, {frame_status::ok, frame_status::dropped_old});
}
BENCHMARK(BM_binance_depth_updates);

void BM_binance_replay(benchmark::State& state) {
  const auto cap = load(state, "binance-depth.ws", "binance-depth-snapshots.rest");
  if (!cap) return;
  std::vector<const capture_record*> all;
  for (const capture_record& r : cap->records()) all.push_back(&r);
  binance_handler h(binance_symbols());
  run_passes(state, h, {}, all,
             {frame_status::ok, frame_status::ignored, frame_status::buffered, frame_status::dropped_old});
}
BENCHMARK(BM_binance_replay);

void BM_coinbase_l2updates(benchmark::State& state) {
  const auto cap = load(state, "coinbase-level2.ws");
  const auto config = coinbase_products_config(state);
  if (!cap || !config) return;
  std::vector<const capture_record*> setup, timed;
  for (const capture_record& r : cap->records()) {
    if (contains(r, "\"type\":\"snapshot\"")) setup.push_back(&r);
    if (contains(r, "\"type\":\"l2update\"")) timed.push_back(&r);
  }
  coinbase_handler h(*config);
  run_passes(state, h, setup, timed, {frame_status::ok});
}
BENCHMARK(BM_coinbase_l2updates);

void BM_coinbase_replay(benchmark::State& state) {
  const auto cap = load(state, "coinbase-level2.ws");
  const auto config = coinbase_products_config(state);
  if (!cap || !config) return;
  std::vector<const capture_record*> all;
  for (const capture_record& r : cap->records()) all.push_back(&r);
  coinbase_handler h(*config);
  run_passes(state, h, {}, all, {frame_status::ok, frame_status::ignored});
}
BENCHMARK(BM_coinbase_replay);

void BM_parse_decimal(benchmark::State& state) {
  const std::string_view inputs[] = {"11802.77325050", "0.000835600", "354.80000000", "62000.1"};
  std::size_t i = 0;
  for (auto _ : state) {
    std::int64_t v = 0;
    benchmark::DoNotOptimize(parse_decimal(inputs[i++ & 3], 9, v));
    benchmark::DoNotOptimize(v);
  }
  report(state, 1);
}
BENCHMARK(BM_parse_decimal);

} // namespace
} // namespace mdgw::crypto
