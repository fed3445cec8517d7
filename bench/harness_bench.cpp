// Micro-benchmarks of mdgw-bench's read path: the proof that one reader thread is not
// the bottleneck. A buffer of 4096 consecutive server frames (as one large read would
// return them) goes through ws_reader::consume and record_message (scan, channel
// lookup, sequence check, two histogram records): exactly what load_worker does per
// read, minus the syscall.
//   BM_harness_read/levels:1   a one-level book update (~240-byte message)
//   BM_harness_read/levels:10  a ten-level book update (~700-byte message)
//   BM_harness_read_batch      5 updates (5 channels) in each message
//   BM_histogram_record        latency_histogram::record alone
// Reproduce (from the project root):
//   build/bench/mdgw_micro_bench --benchmark_filter='harness|histogram' --benchmark_repetitions=3
//     --benchmark_report_aggregates_only=true
// items_per_second is data messages per second on one thread.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include "latency_histogram.hpp"
#include "stream_stats.hpp"
#include "ws_frame.hpp"

namespace mdgw::bench {
namespace {

constexpr int kFrames = 4096;
constexpr int64_t kBase = 1764467539000000000;

std::string book_update(const std::string& channel, int64_t seq, int levels) {
  std::string u = "{\"channel\":\"" + channel + "\",\"kind\":\"update\",\"seq\":" + std::to_string(seq) +
                  ",\"ts_exch\":" + std::to_string(kBase + seq * 1000) + ",\"ts_recv\":" +
                  std::to_string(kBase + seq * 1000 + 7000) + ",\"bids\":[";
  for (int l = 0; l < levels; ++l) u += std::string(l ? "," : "") + "[\"187." + std::to_string(4200 - l * 10) + "\",\"300\",3]";
  u += "],\"asks\":[";
  for (int l = 0; l < levels; ++l) u += std::string(l ? "," : "") + "[\"187." + std::to_string(4300 + l * 10) + "\",\"100\",1]";
  return u + "]}";
}

// Server frames (unmasked) of data messages with `per_message` updates each.
std::vector<uint8_t> frames(int levels, int per_message, std::vector<std::string>& channels) {
  channels.clear();
  for (int k = 0; k < per_message; ++k) channels.push_back("book.SIM:SYM" + std::to_string(k) + "." + std::to_string(levels));
  std::vector<uint8_t> buf;
  for (int i = 0; i < kFrames; ++i) {
    std::string msg = "{\"type\":\"data\",\"ts_send\":" + std::to_string(kBase + int64_t(i) * 1000 + 9000) + ",\"updates\":[";
    for (int k = 0; k < per_message; ++k) msg += std::string(k ? "," : "") + book_update(channels[std::size_t(k)], i + 1, levels);
    msg += "]}";
    buf.push_back(0x81);
    if (msg.size() < 126) {
      buf.push_back(uint8_t(msg.size()));
    } else {
      buf.push_back(126);
      buf.push_back(uint8_t(msg.size() >> 8));
      buf.push_back(uint8_t(msg.size()));
    }
    buf.insert(buf.end(), msg.begin(), msg.end());
  }
  return buf;
}

struct sink {
  const scan_keys& keys;
  channel_table& table;
  run_stats& stats;
  int64_t recv_ns;
  bool on_message(std::string_view m, bool) {
    (void)record_message(m, recv_ns, keys, table, stats);
    return true;
  }
  void on_ping(std::string_view) {}
  void on_pong(std::string_view) {}
  void on_close(int, std::string_view) {}
};

void run_read(benchmark::State& state, int levels, int per_message) {
  std::vector<std::string> channels;
  const std::vector<uint8_t> buf = frames(levels, per_message, channels);
  const scan_keys keys;
  channel_table table;
  table.assign(channels);
  ws_reader reader;
  run_stats stats;
  for (auto _ : state) {
    table.reset_sequences();
    sink s{keys, table, stats, kBase + 50000};
    const std::size_t used = reader.consume(buf.data(), buf.size(), s);
    benchmark::DoNotOptimize(used);
  }
  if (stats.c.bad_messages || stats.c.seq_errors || stats.c.unknown_channel || reader.failed())
    state.SkipWithError("the read path counted errors on valid input");
  state.SetItemsProcessed(int64_t(state.iterations()) * kFrames);
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(buf.size()));
  state.counters["msg_bytes"] = double(buf.size()) / kFrames;
}

void BM_harness_read(benchmark::State& state) { run_read(state, int(state.range(0)), 1); }
BENCHMARK(BM_harness_read)->ArgName("levels")->Arg(1)->Arg(10);

void BM_harness_read_batch(benchmark::State& state) { run_read(state, 1, 5); }
BENCHMARK(BM_harness_read_batch);

void BM_histogram_record(benchmark::State& state) {
  latency_histogram h;
  uint64_t x = 88172645463325252ull;
  for (auto _ : state) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    h.record(int64_t(x & 0xffffff));
  }
  benchmark::DoNotOptimize(h.count());
  state.SetItemsProcessed(int64_t(state.iterations()));
}
BENCHMARK(BM_histogram_record);

}  // namespace
}  // namespace mdgw::bench
