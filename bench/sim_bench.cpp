// Micro-benchmarks of the simulated market: the cost of one order action
// (market_simulator::next) and of one action applied to level_books, the feed thread's
// work per action before publishing.
//
// Reproduce:
//   meson setup build-bench -Dbuildtype=release -Dgateway=false
//   ninja -C build-bench bench/sim_bench && build-bench/bench/sim_bench
//
// The simulator is warmed up to its stationary order count first, so the figures are
// the steady state (no pool growth, books 30-60 levels deep), not the seeding phase.
#include "level_book.hpp"
#include "simulator.hpp"

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <vector>

namespace {

using namespace mdgw;

constexpr std::uint64_t kWarmupActionsPerInstrument = 2'000;
constexpr std::size_t kFlushEvents = 4096; // keeps `out` in cache, as the feed's batches do

void warm_up(market_simulator& sim, std::vector<level_book>* books) {
  std::vector<market_event> out;
  const std::uint64_t n = kWarmupActionsPerInstrument * sim.instruments().size();
  for (std::uint64_t i = 0; i < n; ++i) {
    sim.next(i, out);
    if (books != nullptr) {
      for (const auto& e : out) {
        if (e.what == market_event::type::add) {
          (void)(*books)[e.instrument].add(e.s, e.price, e.qty, e.orders);
        } else if (e.what == market_event::type::reduce) {
          (void)(*books)[e.instrument].reduce(e.s, e.price, e.qty, e.orders);
        }
      }
    }
    out.clear();
  }
}

void BM_simulator_next(benchmark::State& state) {
  simulator_config cfg;
  cfg.instruments = static_cast<std::size_t>(state.range(0));
  market_simulator sim(cfg);
  warm_up(sim, nullptr);
  std::vector<market_event> out;
  out.reserve(kFlushEvents + 1024);
  std::uint64_t ts = 0;
  std::uint64_t events = 0;
  for (auto _ : state) {
    sim.next(++ts, out);
    if (out.size() >= kFlushEvents) {
      events += out.size();
      benchmark::DoNotOptimize(out.data());
      out.clear();
    }
  }
  events += out.size();
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["events/action"] =
      benchmark::Counter(static_cast<double>(events) / static_cast<double>(state.iterations()));
}
BENCHMARK(BM_simulator_next)->Arg(64)->Arg(1024);

void BM_simulator_next_and_apply(benchmark::State& state) {
  simulator_config cfg;
  cfg.instruments = static_cast<std::size_t>(state.range(0));
  market_simulator sim(cfg);
  std::vector<level_book> books(cfg.instruments, level_book(128));
  warm_up(sim, &books);
  std::vector<market_event> out;
  out.reserve(1024);
  std::uint64_t ts = 0;
  std::uint64_t errors = 0;
  for (auto _ : state) {
    sim.next(++ts, out);
    for (const auto& e : out) {
      apply_status st = apply_status::ok;
      if (e.what == market_event::type::add) {
        st = books[e.instrument].add(e.s, e.price, e.qty, e.orders);
      } else if (e.what == market_event::type::reduce) {
        st = books[e.instrument].reduce(e.s, e.price, e.qty, e.orders);
      }
      errors += st != apply_status::ok ? 1 : 0;
    }
    out.clear();
  }
  if (errors != 0) state.SkipWithError("simulator events did not apply cleanly");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_simulator_next_and_apply)->Arg(64)->Arg(1024);

} // namespace
