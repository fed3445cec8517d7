// mdgw-bench: the latency and load harness. Opens N WebSocket connections (ws or wss,
// ramped), subscribes each to a channel mix, reads everything on T epoll threads and
// measures freshness, send->receive latency, rates, connects, reconnects and sequence
// gaps. See --help, and docs/performance.md for how the figures are taken.
//
// Rationale
// - The main thread does no I/O on the connections: it waits on SIGINT/SIGTERM with a
//   100 ms timeout (sigtimedwait; the signals are blocked in every thread, so no handler
//   and no global flag), prints the progress line each second from the workers'
//   published copies, and ends the run at --duration (or when a worker reaches
//   --messages).
// - --plot checks for gnuplot before the run, so a long run never ends without its plot.
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "bench_options.hpp"
#include "host_cpu.hpp"
#include "load_worker.hpp"
#include "net_setup.hpp"
#include "report.hpp"

using namespace mdgw::bench;

namespace {

int64_t mono_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct merged {
  run_stats stats;
  int open = 0;
  int64_t max_cpu_ns = 0;  // the busiest worker thread
};

merged merge_all(const std::vector<std::unique_ptr<load_worker>>& workers) {
  merged m;
  for (const auto& w : workers) {
    const worker_snapshot s = w->snapshot();
    m.stats.merge(s.stats);
    m.open += s.open;
    m.max_cpu_ns = std::max(m.max_cpu_ns, s.cpu_ns);
  }
  return m;
}

// One descriptor per connection plus a few: raise the soft limit (often 1024) up to the
// hard one, and say so when even that is too low.
void raise_fd_limit(int connections) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  const auto want = rlim_t(connections) + 64;
  if (lim.rlim_cur >= want) return;
  lim.rlim_cur = std::min(want, lim.rlim_max);
  (void)setrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur < want)
    std::fprintf(stderr, "mdgw-bench: warning: open file limit %llu is below %llu (ulimit -Hn)\n",
                 (unsigned long long)lim.rlim_cur, (unsigned long long)want);
}

// Counters since the previous progress line. When the measured part begins, a worker's
// counters restart from 0: a counter below its previous value counts from there.
run_counters difference(const run_counters& now, const run_counters& before) {
  const auto since = [](uint64_t n, uint64_t b) { return n >= b ? n - b : n; };
  run_counters d;
  d.messages = since(now.messages, before.messages);
  d.represented = since(now.represented, before.represented);
  d.bytes = since(now.bytes, before.bytes);
  return d;
}

int run(const bench_options& o) {
  std::string gnuplot;
  if (!o.plot_file.empty()) {
    gnuplot = find_gnuplot();
    if (gnuplot.empty()) {
      std::fprintf(stderr,
                   "mdgw-bench: --plot needs gnuplot on PATH (Debian package gnuplot-nox; scripts/bootstrap "
                   "installs it)\n");
      return 2;
    }
  }
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);  // inherited by the workers
  signal(SIGPIPE, SIG_IGN);                    // OpenSSL writes with write(2)

  raise_fd_limit(o.connections);
  const resolved_target to = resolve(o.url);
  ssl_ctx_ptr tls;
  if (o.url.tls) tls = make_client_tls(o.verify, o.ca_file);
  std::vector<std::string> symbols;
  if (needs_instruments(o)) {
    symbols = parse_symbols(http_get(o.url, to, tls.get(), "/instruments"));
    if (symbols.empty()) throw std::runtime_error("GET /instruments listed no symbol");
  }

  std::vector<std::vector<connection_plan>> plans(std::size_t(o.threads));
  for (int i = 0; i < o.connections; ++i) {
    connection_plan p;
    p.index = i;
    p.start_offset_ns = o.ramp_per_s > 0 ? int64_t(double(i) / o.ramp_per_s * 1e9) : 0;
    p.channels = plan_channels(o, symbols, i);
    plans[std::size_t(i % o.threads)].push_back(std::move(p));
  }
  std::vector<std::unique_ptr<load_worker>> workers;
  for (auto& p : plans) workers.push_back(std::make_unique<load_worker>(o, to, tls.get(), std::move(p)));

  run_control control;
  control.max_messages = o.max_messages;
  const int64_t start = mono_ns();
  std::vector<std::thread> threads;
  for (auto& w : workers) threads.emplace_back([&control, &w, start] { w->run(control, start); });

  // Without --warmup the measured part is the whole run. With it, the measured part
  // begins --warmup s after every connection opened (or, if some never do, that long
  // after the ramp plus kOpenGraceNs, with a warning) and lasts --duration.
  const bool warmup = o.warmup_s >= 0;
  constexpr int64_t kOpenGraceNs = 30'000'000'000;
  const int64_t ramp_ns = o.ramp_per_s > 0 ? int64_t(double(o.connections) / o.ramp_per_s * 1e9) : 0;
  int64_t measure_start = warmup ? 0 : start;
  cpu_ticks ticks_at_start = read_cpu_ticks(); // the host's steal over the measured part
  int64_t all_open_at = 0;
  int64_t end = warmup ? start + ramp_ns + kOpenGraceNs + int64_t((o.warmup_s + o.duration_s) * 1e9)
                       : start + int64_t(o.duration_s * 1e9);
  int64_t last_line = start;
  run_counters last_counters;
  int64_t last_cpu_ns = 0;
  bool interrupted = false;
  while (!control.stop.load()) {
    const int64_t now = mono_ns();
    if (now >= end) break;
    const int64_t wait = std::min<int64_t>(end - now, 100'000'000);
    timespec ts{time_t(wait / 1'000'000'000), long(wait % 1'000'000'000)};
    if (sigtimedwait(&sigs, nullptr, &ts) > 0) {
      interrupted = true;
      break;
    }
    const int64_t t = mono_ns();
    if (measure_start == 0) {
      if (all_open_at == 0) {
        if (merge_all(workers).open >= o.connections) {
          all_open_at = t;
        } else if (t >= start + ramp_ns + kOpenGraceNs) {
          std::fprintf(stderr, "mdgw-bench: not every connection opened; measuring anyway\n");
          all_open_at = t;
        }
      }
      if (all_open_at != 0 && t >= all_open_at + int64_t(o.warmup_s * 1e9)) {
        measure_start = t;
        ticks_at_start = read_cpu_ticks();
        end = t + int64_t(o.duration_s * 1e9);
        control.measuring.store(true);
        last_counters = {};
        last_cpu_ns = 0;
        if (!o.quiet) std::fprintf(stderr, "mdgw-bench: measuring from %.1f s\n", double(t - start) / 1e9);
      }
    }
    if (!o.quiet && t - last_line >= 1'000'000'000) {
      const merged m = merge_all(workers);
      std::fprintf(stderr, "%s\n",
                   progress_line(double(t - start) / 1e9, m.open, o.connections,
                                 difference(m.stats.c, last_counters), double(t - last_line) / 1e9, m.stats,
                                 double(m.max_cpu_ns - last_cpu_ns) / double(t - last_line))
                       .c_str());
      last_counters = m.stats.c;
      last_cpu_ns = m.max_cpu_ns;
      last_line = t;
    }
  }
  control.stop.store(true);
  const int64_t stopped = mono_ns();
  const cpu_ticks ticks_at_stop = read_cpu_ticks();
  for (auto& t : threads) t.join();
  if (measure_start == 0) {
    std::fprintf(stderr, "mdgw-bench: the run ended before the measured part began\n");
    measure_start = stopped;
  }

  run_result r;
  const merged m = merge_all(workers);
  r.stats = m.stats;
  r.open_at_end = m.open;
  r.elapsed_s = double(stopped - measure_start) / 1e9;
  r.measured_from_s = double(measure_start - start) / 1e9;
  r.max_thread_busy = stopped > measure_start ? double(m.max_cpu_ns) / double(stopped - measure_start) : 0;
  r.steal = steal_share(ticks_at_start, ticks_at_stop);
  for (const auto& w : workers)
    for (auto& e : w->first_errors())
      if (r.first_errors.size() < 16) r.first_errors.push_back(std::move(e));
  if (interrupted) std::fprintf(stderr, "mdgw-bench: interrupted, reporting what was measured\n");

  const bool json_to_stdout = o.json_file == "-";
  print_table(json_to_stdout ? stderr : stdout, o, r);
  if (!o.json_file.empty()) {
    const std::string j = json_report(o, r);
    if (json_to_stdout) {
      std::fwrite(j.data(), 1, j.size(), stdout);
    } else {
      std::ofstream f(o.json_file);
      f << j;
      if (!f) {
        std::fprintf(stderr, "mdgw-bench: cannot write %s\n", o.json_file.c_str());
        return 1;
      }
    }
  }
  if (!gnuplot.empty()) {
    const std::string err = write_plot(gnuplot, o.plot_file, o, r);
    if (!err.empty()) {
      std::fprintf(stderr, "mdgw-bench: --plot: %s\n", err.c_str());
      return 1;
    }
  }
  if (o.idle) {
    if (r.open_at_end < o.connections) {
      std::fprintf(stderr, "mdgw-bench: %d of %d idle connections open at the end\n", r.open_at_end, o.connections);
      return 1;
    }
    return r.stats.c.errors() ? 1 : 0;
  }
  if (r.stats.c.messages == 0) {
    std::fprintf(stderr, "mdgw-bench: no data message received\n");
    return 1;
  }
  return r.stats.c.errors() ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  bench_options o;
  try {
    bool help = false;
    o = parse_options(argc, argv, help);
    if (help) {
      std::fputs(usage(), stdout);
      return 0;
    }
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "mdgw-bench: %s\n", e.what());
    return 2;
  }
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mdgw-bench: %s\n", e.what());
    return 1;
  }
}
