// Micro-benchmarks of the book/ hot path, one feed event at a time:
//   BM_book_update     level_book add/reduce near the inside (ns per update)
//   BM_slot_store      seqlock_slot<book_top>::store of a top of depth N per side
//   BM_publish_book    producer::publish_book: top copy + slot store + notice push; the io
//                      side drains in the loop every kDrainEvery publishes (amortized in)
//   BM_slot_read       publication::read_top, uncontended
//   BM_spsc_push_pop   the notice ring: push then pop, single thread
//   BM_trade_push      trade_history::push of one trade (steady state: the ring wraps)
//   BM_trade_read      trade_history::read of N consecutive trades from a cursor
// All single-threaded and uncontended: they measure the instructions on the path, not
// cross-core traffic. Reproduce: see docs/performance.md.
#include "book_top.hpp"
#include "level_book.hpp"
#include "publication.hpp"
#include "seqlock.hpp"
#include "trade_history.hpp"

#include <benchmark/benchmark.h>
#include <boost/lockfree/spsc_queue.hpp>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace mdgw {
namespace {

// --- BM_book_update ---

struct book_op {
  bool add = true;
  side s = side::bid;
  price_t price = 0;
  qty_t qty = 0;
};

// An order-flow-like stream: orders join at a distance from the inside that is roughly
// geometric (most within the top 5 levels), and resting orders are cancelled in random
// order. Every order added is removed by the end of the stream, so replaying it in a loop
// returns the book to the same state each time and every reduce names a live level.
// The inside sits on a background of kBackground levels per side that never go away.
constexpr price_t kMid = 1'000'000;
constexpr int kBackground = 20;

std::vector<book_op> make_order_flow(std::size_t orders, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::geometric_distribution<int> distance(0.3);
  std::vector<book_op> resting;
  std::vector<book_op> ops;
  ops.reserve(orders * 2);
  std::size_t added = 0;
  while (added < orders || !resting.empty()) {
    const bool add = added < orders && (resting.size() < 50 || (rng() % 2 == 0));
    if (add) {
      book_op op;
      op.s = rng() % 2 == 0 ? side::bid : side::ask;
      const price_t d = distance(rng);
      op.price = op.s == side::bid ? kMid - d : kMid + 1 + d;
      op.qty = 1 + static_cast<qty_t>(rng() % 500);
      ops.push_back(op);
      resting.push_back(op);
      ++added;
    } else {
      const std::size_t k = rng() % resting.size();
      book_op op = resting[k];
      op.add = false;
      ops.push_back(op);
      resting[k] = resting.back();
      resting.pop_back();
    }
  }
  return ops;
}

void add_background(level_book& book) {
  for (int i = 0; i < kBackground; ++i) {
    (void)book.add(side::bid, kMid - i, 1'000'000, 1);
    (void)book.add(side::ask, kMid + 1 + i, 1'000'000, 1);
  }
}

void BM_book_update(benchmark::State& state) {
  const std::vector<book_op> ops = make_order_flow(1U << 15, 1);
  level_book book;
  add_background(book);
  std::size_t i = 0;
  for (auto _ : state) {
    const book_op& op = ops[i];
    apply_status st = op.add ? book.add(op.s, op.price, op.qty, 1) : book.reduce(op.s, op.price, op.qty, 1);
    benchmark::DoNotOptimize(st);
    if (++i == ops.size()) i = 0;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["depth_bid"] = static_cast<double>(book.depth(side::bid));
}
BENCHMARK(BM_book_update);

// --- tops and books of a given depth ---

level_book make_book(std::size_t depth_per_side) {
  level_book book;
  for (std::size_t i = 0; i < depth_per_side; ++i) {
    (void)book.add(side::bid, kMid - static_cast<price_t>(i), 100 + static_cast<qty_t>(i), 1);
    (void)book.add(side::ask, kMid + 1 + static_cast<price_t>(i), 100 + static_cast<qty_t>(i), 1);
  }
  return book;
}

// --- BM_slot_store ---

void BM_slot_store(benchmark::State& state) {
  const auto depth = static_cast<std::size_t>(state.range(0));
  const level_book book = make_book(depth);
  auto top = std::make_unique<book_top>();
  top->fill_from(book);
  auto slot = std::make_unique<seqlock_slot<book_top>>();
  std::uint64_t v = 0;
  for (auto _ : state) {
    top->version = ++v;
    slot->store(*top, top->used_bytes());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * top->used_bytes()));
}
BENCHMARK(BM_slot_store)->Arg(10)->Arg(50);

// --- BM_publish_book ---

// Publishes go round-robin over this many instruments; the io side drains once per round,
// so every publish finds its pending flag clear and pushes a notice (the worst case: no
// conflation), and no ring ever holds more than kInstruments notices.
constexpr std::size_t kInstruments = 256;

void BM_publish_book(benchmark::State& state) {
  const auto depth = static_cast<std::size_t>(state.range(0));
  const auto io_threads = static_cast<std::size_t>(state.range(1));
  publication pub(io_threads, kInstruments);
  for (std::size_t i = 0; i < kInstruments; ++i) {
    instrument_info info;
    info.symbol = "B:" + std::to_string(i);
    (void)pub.add_instrument(std::move(info));
  }
  producer& prod = pub.add_producer(4096);
  const level_book book = make_book(depth);
  std::uint64_t v = 0;
  std::uint64_t notices = 0;
  instrument_id id = 0;
  for (auto _ : state) {
    ++v;
    prod.publish_book(id, book, v, v, v, v);
    if (++id == kInstruments) {
      id = 0;
      for (std::size_t io = 0; io < io_threads; ++io) {
        notices += pub.drain(io, [](const notice& n) { benchmark::DoNotOptimize(n.instrument); });
      }
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["notices_per_publish"] =
      static_cast<double>(notices) / static_cast<double>(state.iterations() * io_threads);
  state.counters["overflows"] = static_cast<double>(pub.overflows());
}
BENCHMARK(BM_publish_book)->ArgNames({"depth", "io"})->Args({10, 1})->Args({50, 1})->Args({10, 2})->Args({50, 2});

// --- BM_slot_read ---

void BM_slot_read(benchmark::State& state) {
  const auto depth = static_cast<std::size_t>(state.range(0));
  publication pub(1, 1);
  instrument_info info;
  info.symbol = "B:0";
  (void)pub.add_instrument(std::move(info));
  producer& prod = pub.add_producer(16);
  prod.publish_book(0, make_book(depth), 1, 1, 1, 1);
  auto out = std::make_unique<book_top>();
  for (auto _ : state) {
    pub.read_top(0, *out);
    benchmark::DoNotOptimize(out->version);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * out->used_bytes()));
}
BENCHMARK(BM_slot_read)->Arg(10)->Arg(50);

// --- BM_spsc_push_pop ---

// The ring type producer uses (runtime capacity). Arg = notices per round: 1 is a push
// and a pop each; 64 is a burst pushed one by one and popped in one call, as drain does.
void BM_spsc_push_pop(benchmark::State& state) {
  const auto burst = static_cast<std::size_t>(state.range(0));
  boost::lockfree::spsc_queue<notice> ring(4096);
  notice n;
  n.what = notice::kind::trade;
  std::vector<notice> out(burst);
  for (auto _ : state) {
    for (std::size_t k = 0; k < burst; ++k) {
      n.seq = k;
      benchmark::DoNotOptimize(ring.push(n));
    }
    benchmark::DoNotOptimize(ring.pop(out.data(), burst));
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * burst));
}
BENCHMARK(BM_spsc_push_pop)->ArgName("burst")->Arg(1)->Arg(64);

// --- BM_trade_push / BM_trade_read ---

trade_record bench_trade(std::uint64_t k) noexcept {
  trade_record r;
  r.price = kMid + static_cast<price_t>(k & 15U);
  r.qty = 100;
  r.exch_ts = k;
  r.recv_ts = k;
  r.aggressor = (k & 1U) != 0 ? side::bid : side::ask;
  return r;
}

void BM_trade_push(benchmark::State& state) {
  auto h = trade_history::create(trade_history::kDefaultCapacity, 1);
  std::uint64_t k = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(h->push(bench_trade(++k)));
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_trade_push);

// A reader re-reading the newest N trades of a full history (the io thread's read after a
// notice, with N new trades): N consecutive slot copies and their seq checks.
void BM_trade_read(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  auto h = trade_history::create(trade_history::kDefaultCapacity, 1);
  for (std::uint64_t k = 1; k <= 3 * trade_history::kDefaultCapacity; ++k) (void)h->push(bench_trade(k));
  std::vector<trade_record> out(n);
  const std::uint64_t from = h->head() - n + 1;
  for (auto _ : state) {
    const auto r = h->read(from, out);
    benchmark::DoNotOptimize(r.count);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}
BENCHMARK(BM_trade_read)->Arg(1)->Arg(64);

} // namespace
} // namespace mdgw
