// Micro-benchmarks of the MoldUDP64 session logic (feeds/itch/moldudp64.hpp), no sockets:
// a generated day (200,000 messages, itch_generator seed 1) packed into 1400-byte packets
// (about 38 messages each), fed to a fresh mold_session per pass.
//   BM_mold_in_order/0   in order, unbounded batch: validation + in-order delivery
//   BM_mold_in_order/256 in order, the consumer takes 256 messages per call: packet tails
//                        are held and drained (recycled nodes, no allocation after warm-up)
//   BM_mold_one_percent  every 100th packet withheld and fed 20 packets later (the
//                        retransmission answer), with requests_due() after every packet:
//                        holding, the gap scan and draining
//   BM_mold_book/0, /1   a larger day (2,000,000 messages, 3,000 symbols) through the
//                        session into an itch_book: /0 one message at a time (apply), /1
//                        the packet's messages as one run (apply_batch with its cache hints,
//                        what itch_feed does with the session's runs)
// Figures are CPU time per message ("per_msg"). Reproduce, from the project root:
//   build/bench/mdgw_micro_bench --benchmark_filter=mold --benchmark_repetitions=5
//     --benchmark_report_aggregates_only=true
#include "itch_book.hpp"
#include "itch_generator.hpp"
#include "moldudp64.hpp"

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <vector>

namespace mdgw::itch {
namespace {

using packet = std::vector<std::uint8_t>;

std::vector<packet> make_packets(std::uint32_t symbols, std::uint64_t messages) {
  std::vector<packet> ps;
  itch_generator g(generator_config{1, symbols, messages});
  const mold::session_name session = mold::make_session("BENCH");
  std::uint8_t msg[itch_generator::kMaxMessage];
  packet buf(1400);
  mold::packet_writer w(buf.data(), buf.size());
  std::uint64_t seq = 1;
  w.start(session, seq);
  for (std::size_t len; (len = g.next(msg)) != 0; ++seq) {
    if (!w.add(msg, len)) {
      ps.emplace_back(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(w.finish()));
      w.start(session, seq);
      (void)w.add(msg, len);
    }
  }
  ps.emplace_back(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(w.finish()));
  return ps;
}

const std::vector<packet>& packets() {
  static const std::vector<packet> out = make_packets(1000, 200'000);
  return out;
}

class touch_sink final : public message_sink {
public:
  std::uint64_t sum = 0;
  void on_message(const std::uint8_t* msg, std::size_t len) override { sum += msg[0] + len; }
};

mold_session_config quiet() {
  mold_session_config c;
  c.log = [](std::string_view) {};
  return c;
}

void finish(benchmark::State& state, std::uint64_t messages, const touch_sink& sink) {
  benchmark::DoNotOptimize(sink.sum);
  state.SetItemsProcessed(static_cast<std::int64_t>(messages));
  state.counters["per_msg"] =
      benchmark::Counter(static_cast<double>(messages), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// Arg: the consumer's batch (messages per call); 0: unbounded.
void BM_mold_in_order(benchmark::State& state) {
  const auto batch = state.range(0) == 0 ? SIZE_MAX : static_cast<std::size_t>(state.range(0));
  touch_sink sink;
  std::uint64_t messages = 0;
  for (auto _ : state) {
    mold_session s(quiet());
    for (const packet& p : packets()) {
      messages += s.on_packet(p, sink, batch);
      while (s.ready()) messages += s.drain(sink, batch);
    }
  }
  finish(state, messages, sink);
}
BENCHMARK(BM_mold_in_order)->Arg(0)->Arg(256);

void BM_mold_one_percent(benchmark::State& state) {
  touch_sink sink;
  std::uint64_t messages = 0;
  for (auto _ : state) {
    mold_session s(quiet());
    const std::vector<packet>& ps = packets();
    std::chrono::nanoseconds now{0};
    for (std::size_t i = 0; i < ps.size(); ++i) {
      if (i % 100 != 37) messages += s.on_packet(ps[i], sink, SIZE_MAX);
      if (i >= 20 && (i - 20) % 100 == 37) messages += s.on_packet(ps[i - 20], sink, SIZE_MAX);
      now += std::chrono::microseconds(10);
      benchmark::DoNotOptimize(s.requests_due(now).size());
    }
    for (std::size_t i = ps.size() < 20 ? 0 : ps.size() - 20; i < ps.size(); ++i) {
      if (i % 100 == 37) messages += s.on_packet(ps[i], sink, SIZE_MAX);
    }
    if (s.gap_open()) state.SkipWithError("a gap stayed open");
  }
  finish(state, messages, sink);
}
BENCHMARK(BM_mold_one_percent);

// The session's runs into a book, as itch_feed takes them (runs: apply_batch), or one
// message at a time (apply). /0: one at a time; /1: runs, each packet alone; /2: runs
// with the next packet shown ahead (as mold_source does with the datagrams one recvmmsg
// read).
class book_sink final : public message_sink {
public:
  book_sink(itch_book& book, bool runs) : book_(book), runs_(runs) {}
  void on_message(const std::uint8_t* msg, std::size_t len) override { (void)book_.apply(msg, len, events_); }
  void on_batch(const std::span<const std::uint8_t>* msgs, std::size_t n, std::size_t ahead) override {
    if (runs_) {
      book_.apply_batch(msgs, n, events_, ahead);
    } else {
      message_sink::on_batch(msgs, n, ahead);
    }
  }

private:
  itch_book& book_;
  bool runs_;
  null_sink events_;
};

void BM_mold_book(benchmark::State& state) {
  static const std::vector<packet> ps = make_packets(3000, 2'000'000);
  itch_book book(book_config{0, 1 << 18, [](std::string_view) {}});
  book_sink sink(book, state.range(0) != 0);
  const bool next = state.range(0) == 2;
  std::uint64_t messages = 0;
  for (auto _ : state) {
    book.clear();
    mold_session s(quiet());
    for (std::size_t i = 0; i < ps.size(); ++i) {
      const std::span<const std::uint8_t> following =
          next && i + 1 < ps.size() ? std::span<const std::uint8_t>(ps[i + 1]) : std::span<const std::uint8_t>();
      messages += s.on_packet(ps[i], sink, SIZE_MAX, following);
    }
  }
  if (book.counters().unknown_refs() != 0) state.SkipWithError("unknown order references: packets out of order?");
  state.SetItemsProcessed(static_cast<std::int64_t>(messages));
  state.counters["per_msg"] =
      benchmark::Counter(static_cast<double>(messages), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_mold_book)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

} // namespace
} // namespace mdgw::itch
