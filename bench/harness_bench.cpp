// Micro-benchmarks of mdgw-bench's read path: the proof that one reader thread is not
// the bottleneck. A buffer of 4096 consecutive server frames (as one large read would
// return them) goes through ws_reader::consume and record_message (scan, channel
// lookup, sequence check, two histogram records): exactly what load_worker does per
// read, minus the syscall.
//   BM_harness_read/levels:1   a one-level book update (~240-byte message)
//   BM_harness_read/levels:10  a ten-level book update (~700-byte message)
//   BM_harness_read_batch      5 updates (5 channels) in each message
//   BM_harness_read_ui         what a ui client reads: protocol v1 messages (~5.3 KB) of
//                              12 updates, book deltas and tickers with their five stamps,
//                              in the gateway's order (by instrument), not the order of
//                              the connection's 20 subscriptions; spread over 1,000
//                              connections' channel tables, as in the ui scenario
//   BM_histogram_record        latency_histogram::record alone
//   BM_harness_loopback        the whole client over loopback TCP: a load_worker with one
//                              connection against a server thread that answers the
//                              upgrade and then sends the one-level buffer in a loop;
//                              2M messages per iteration. Includes the syscalls and the
//                              kernel's copies, and the server thread competes for the
//                              cores; "reader_busy" is the reader thread's CPU share. The
//                              buffer repeats, so its sequence numbers go backwards once
//                              per pass (counted as seq errors; the cost is the same).
// Reproduce (from the project root):
//   build/bench/mdgw_micro_bench --benchmark_filter='harness|histogram' --benchmark_repetitions=3
//     --benchmark_report_aggregates_only=true
// items_per_second is data messages per second on one thread.
#include <benchmark/benchmark.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "bench_options.hpp"
#include "latency_histogram.hpp"
#include "load_worker.hpp"
#include "net_setup.hpp"
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
    std::string f;
    append_server_frame(f, ws_opcode::text, msg);
    buf.insert(buf.end(), f.begin(), f.end());
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

// A protocol v1 message as the gateway sends a ui client: for each of `instruments`
// instruments (of the 10 the connection subscribed), its ticker and its depth-10 book
// delta, every update with its five stamps (docs/protocol.md).
std::string ui_message(int64_t i, int first, int instruments) {
  const auto stamps = [&](int64_t t, int merged) {
    return ",\"ts_exch_oldest\":" + std::to_string(kBase + t) + ",\"ts_recv_oldest\":" + std::to_string(kBase + t + 7000) +
           ",\"ts_exch\":" + std::to_string(kBase + t + 900) + ",\"ts_recv\":" + std::to_string(kBase + t + 7900) +
           ",\"merged\":" + std::to_string(merged);
  };
  std::string m = "{\"type\":\"data\",\"ts_send\":" + std::to_string(kBase + i * 1000 + 9000) + stamps(i * 1000, 24) +
                  ",\"updates\":[";
  for (int k = 0; k < instruments; ++k) {
    const std::string sym = "SIM:S" + std::to_string((first + k) % 10) + "X";
    if (k) m += ',';
    m += "{\"channel\":\"ticker." + sym + "\",\"kind\":\"ticker\",\"seq\":" + std::to_string(i + 1) +
         ",\"quality\":\"ok\",\"bid\":\"152.6000\",\"bid_size\":\"5100\",\"ask\":\"152.6100\",\"ask_size\":\"3600\","
         "\"last\":\"152.6000\",\"last_size\":\"200\",\"last_side\":\"sell\",\"last_seq\":108,\"last_ts_exch\":" +
         std::to_string(kBase + i * 1000) + ",\"volume\":\"87000\",\"open\":\"152.6000\",\"change\":\"0.0000\"" +
         stamps(i * 1000, 2) + "}";
    m += ",{\"channel\":\"book." + sym + ".10\",\"kind\":\"delta\",\"prev\":" + std::to_string(i) +
         ",\"seq\":" + std::to_string(i + 1) + ",\"checksum\":2855054678,\"quality\":\"ok\"" + stamps(i * 1000, 2) +
         ",\"bids\":[";
    for (int l = 0; l < 4; ++l) m += std::string(l ? "," : "") + "[\"152." + std::to_string(6000 - l * 100) + "\",\"5100\",4]";
    m += "],\"asks\":[";
    for (int l = 0; l < 3; ++l) m += std::string(l ? "," : "") + "[\"152." + std::to_string(6100 + l * 100) + "\",\"0\",0]";
    m += "]}";
  }
  return m + "]}";
}

void BM_harness_read_ui(benchmark::State& state) {
  constexpr int kConnections = 1000;
  constexpr int kMessages = 256;  // per connection: 256 x ~5.3 KB, about 1.4 MB of text
  std::vector<std::string> channels;
  for (int k = 0; k < 10; ++k) channels.push_back("book.SIM:S" + std::to_string(k) + "X.10");
  for (int k = 0; k < 10; ++k) channels.push_back("ticker.SIM:S" + std::to_string(k) + "X");
  std::vector<std::string> messages;
  std::size_t bytes = 0;
  for (int i = 0; i < kMessages; ++i) {
    messages.push_back(ui_message(i + 1, (i * 3) % 10, 6));
    bytes += messages.back().size();
  }
  std::vector<channel_table> tables(kConnections);
  for (auto& t : tables) t.assign(channels);
  const scan_keys keys;
  run_stats stats;
  for (auto _ : state) {
    for (auto& t : tables) t.reset_sequences();
    // As the ui scenario reads: every connection gets its next message in turn.
    for (int i = 0; i < kMessages; ++i)
      for (auto& t : tables) (void)record_message(messages[std::size_t(i)], kBase + 90000000, keys, t, stats);
  }
  if (stats.c.bad_messages || stats.c.seq_errors || stats.c.unknown_channel || stats.c.updates == 0)
    state.SkipWithError("the read path counted errors on valid input");
  state.SetItemsProcessed(int64_t(state.iterations()) * kMessages * kConnections);
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(bytes) * kConnections);
  state.counters["msg_bytes"] = double(bytes) / kMessages;
  state.counters["updates_per_msg"] = double(stats.c.updates) / double(stats.c.messages);
}
BENCHMARK(BM_harness_read_ui)->Unit(benchmark::kMillisecond);

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

// Accepts one connection, answers its upgrade, then sends `frames` over and over until
// the client goes away.
class blast_server {
 public:
  explicit blast_server(const std::vector<uint8_t>& frames) : frames_(frames) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(listen_fd_, 1) != 0 || ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      return;
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~blast_server() {
    ::shutdown(listen_fd_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    ::close(listen_fd_);
  }
  blast_server(const blast_server&) = delete;
  blast_server& operator=(const blast_server&) = delete;
  [[nodiscard]] uint16_t port() const { return port_; }

 private:
  void serve() {
    const int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) return;
    std::string req;
    char buf[4096];
    while (req.find("\r\n\r\n") == std::string::npos) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) {
        ::close(fd);
        return;
      }
      req.append(buf, std::size_t(n));
    }
    const std::string resp = ws_upgrade_reply(req);
    bool ok = ::send(fd, resp.data(), resp.size(), MSG_NOSIGNAL) == ssize_t(resp.size());
    while (ok) {  // the subscribe request is left unread: the stream starts at once
      for (std::size_t off = 0; ok && off < frames_.size();) {
        const ssize_t n = ::send(fd, frames_.data() + off, frames_.size() - off, MSG_NOSIGNAL);
        ok = n > 0;
        off += ok ? std::size_t(n) : 0;
      }
    }
    ::close(fd);
  }

  const std::vector<uint8_t>& frames_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
};

void BM_harness_loopback(benchmark::State& state) {
  constexpr uint64_t kMessages = 2'000'000;
  std::vector<std::string> channels;
  const std::vector<uint8_t> buf = frames(1, 1, channels);
  uint64_t messages = 0;
  double busy = 0;
  for (auto _ : state) {
    blast_server server(buf);
    bench_options o;
    o.url = parse_url("ws://127.0.0.1:" + std::to_string(server.port()) + "/ws");
    o.channels = channels;
    o.reconnect = false;
    connection_plan plan;
    plan.channels = channels;
    load_worker worker(o, resolve(o.url), nullptr, {plan});
    run_control control;
    control.max_messages = kMessages;
    const auto t0 = std::chrono::steady_clock::now();
    worker.run(control, std::chrono::duration_cast<std::chrono::nanoseconds>(t0.time_since_epoch()).count());
    const auto wall = std::chrono::steady_clock::now() - t0;
    const worker_snapshot snap = worker.snapshot();
    messages += snap.stats.c.messages;
    busy += double(snap.cpu_ns) / double(std::chrono::duration_cast<std::chrono::nanoseconds>(wall).count());
    if (snap.stats.c.messages < kMessages || snap.stats.c.bad_messages || snap.stats.c.unknown_channel) {
      state.SkipWithError("the loopback run did not read every message cleanly");
      break;
    }
  }
  state.SetItemsProcessed(int64_t(messages));
  state.counters["reader_busy"] = busy / double(std::max<benchmark::IterationCount>(state.iterations(), 1));
}
BENCHMARK(BM_harness_loopback)->Iterations(3)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace mdgw::bench
