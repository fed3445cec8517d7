#include "report.hpp"

#include "host_cpu.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <fstream>

namespace mdgw::bench {

namespace {

struct named_percentile {
  const char* json;
  const char* label;
  double p;
};
constexpr named_percentile kPercentiles[] = {
    {"p50", "p50", 50}, {"p90", "p90", 90}, {"p99", "p99", 99}, {"p99_9", "p99.9", 99.9}, {"p99_99", "p99.99", 99.99}};

std::string us(int64_t ns) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", double(ns) / 1e3);
  return b;
}

std::string json_escape(const std::string& s) {
  std::string o;
  for (const char ch : s) {
    const auto c = uint8_t(ch);
    if (c == '"' || c == '\\') {
      o += '\\';
      o += ch;
    } else if (c < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      o += b;
    } else {
      o += ch;
    }
  }
  return o;
}

std::string json_histogram(const latency_histogram& h) {
  std::string s = "{\"count\":" + std::to_string(h.count()) + ",\"min\":" + std::to_string(h.min());
  for (const auto& p : kPercentiles) s += ",\"" + std::string(p.json) + "\":" + std::to_string(h.percentile(p.p));
  char mean[32];
  std::snprintf(mean, sizeof mean, "%.0f", h.mean());
  s += ",\"max\":" + std::to_string(h.max()) + ",\"mean\":" + mean + ",\"negative\":" + std::to_string(h.negative()) +
       ",\"overflow\":" + std::to_string(h.overflow()) + "}";
  return s;
}

std::string seconds(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3f", v);
  return b;
}

std::string rate(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", v);
  return b;
}

}  // namespace

std::string progress_line(double elapsed_s, int open, int target, const run_counters& delta, double interval_s,
                          const run_stats& total, double thread_busy) {
  char b[320];
  const double iv = interval_s > 0 ? interval_s : 1;
  std::snprintf(b, sizeof b,
                "[%6.1fs] conns %d/%d  msg/s %.0f  upd/s %.0f  MB/s %.2f  fresh p50 %sus p99 %sus  send->recv p50 "
                "%sus p99 %sus  errors %llu  busy %.0f%%",
                elapsed_s, open, target, double(delta.messages) / iv, double(delta.represented) / iv,
                double(delta.bytes) / iv / 1e6, us(total.freshness.percentile(50)).c_str(),
                us(total.freshness.percentile(99)).c_str(), us(total.send_to_recv.percentile(50)).c_str(),
                us(total.send_to_recv.percentile(99)).c_str(), (unsigned long long)total.c.errors(),
                thread_busy * 100);
  return b;
}

void print_table(std::FILE* out, const bench_options& o, const run_result& r) {
  const run_counters& c = r.stats.c;
  const double t = r.elapsed_s > 0 ? r.elapsed_s : 1;
  std::fprintf(out,
               "mdgw-bench %s://%s:%u%s  %d connections (%d open at the end), %d threads (busiest %.0f%% busy), "
               "%.2f s\n",
               o.url.tls ? "wss" : "ws", o.url.host.c_str(), unsigned(o.url.port), o.url.path.c_str(), o.connections,
               r.open_at_end, o.threads, r.max_thread_busy * 100, r.elapsed_s);
  warn_if_stolen(out, r.steal, "mdgw-bench", "the measured part");
  std::fprintf(out, "\n%-28s %12s", "latency (us)", "count");
  for (const auto& p : kPercentiles) std::fprintf(out, " %10s", p.label);
  std::fprintf(out, " %10s %10s\n", "max", "mean");
  const std::pair<const char*, const latency_histogram*> rows[] = {
      {"freshness (recv - ts_recv)", &r.stats.freshness},
      {"gateway send -> recv", &r.stats.send_to_recv},
      {"connect (to 101)", &r.stats.connect}};
  for (const auto& [name, h] : rows) {
    std::fprintf(out, "%-28s %12llu", name, (unsigned long long)h->count());
    for (const auto& p : kPercentiles) std::fprintf(out, " %10s", us(h->percentile(p.p)).c_str());
    std::fprintf(out, " %10s %10.1f\n", us(h->max()).c_str(), h->mean() / 1e3);
  }
  std::fprintf(out, "\n%-34s %14s %14s\n", "throughput", "total", "per second");
  const std::pair<const char*, uint64_t> tp[] = {{"data messages", c.messages},
                                                 {"channel updates", c.updates},
                                                 {"source updates represented", c.represented},
                                                 {"bytes", c.bytes}};
  for (const auto& [name, v] : tp)
    std::fprintf(out, "%-34s %14llu %14.0f\n", name, (unsigned long long)v, double(v) / t);
  std::fprintf(out, "\n%-34s %14s\n", "counts", "");
  const std::pair<const char*, uint64_t> counts[] = {
      {"connects", c.connects},           {"reconnects", c.reconnects},
      {"snapshots (not in freshness)", c.snapshots},
      {"seq gaps (trades.*)", c.seq_gaps}, {"seq missing in gaps", c.seq_missing},
      {"  of them before the measured part", c.seq_gaps_warmup},
      {"  missing in those", c.seq_missing_warmup},
      {"seq not increasing (error)", c.seq_errors},
      {"unknown channel (error)", c.unknown_channel},
      {"unreadable messages (error)", c.bad_messages},
      {"gateway error replies (error)", c.error_replies},
      {"connect failures (error)", c.connect_failures},
      {"disconnects (error)", c.disconnects},
      {"WebSocket violations (error)", c.ws_errors},
      {"errors", c.errors()}};
  for (const auto& [name, v] : counts) std::fprintf(out, "%-34s %14llu\n", name, (unsigned long long)v);
  for (const auto& e : r.first_errors) std::fprintf(out, "first error: %s\n", e.c_str());
}

std::string json_report(const bench_options& o, const run_result& r) {
  const run_counters& c = r.stats.c;
  const double t = r.elapsed_s > 0 ? r.elapsed_s : 1;
  std::string s = "{\"tool\":\"mdgw-bench\",\"command\":\"" + json_escape(o.command_line) + "\",\"url\":\"" +
                  (o.url.tls ? "wss://" : "ws://") + json_escape(o.url.host) + ":" + std::to_string(o.url.port) +
                  json_escape(o.url.path) + "\",\"connections\":" + std::to_string(o.connections) +
                  ",\"threads\":" + std::to_string(o.threads) + ",\"elapsed_s\":" + seconds(r.elapsed_s) +
                  ",\"measured_from_s\":" + seconds(r.measured_from_s) +
                  ",\"warmup_s\":" + (o.warmup_s >= 0 ? seconds(o.warmup_s) : std::string("null")) +
                  ",\"open_at_end\":" + std::to_string(r.open_at_end) +
                  ",\"max_thread_busy\":" + seconds(r.max_thread_busy) + ",\"steal\":" + seconds(r.steal);
  s += ",\"counters\":{";
  const std::pair<const char*, uint64_t> counts[] = {
      {"messages", c.messages},         {"updates", c.updates},
      {"represented", c.represented},   {"bytes", c.bytes},
      {"snapshots", c.snapshots},       {"seq_gaps", c.seq_gaps},
      {"seq_missing", c.seq_missing},   {"seq_gaps_warmup", c.seq_gaps_warmup},
      {"seq_missing_warmup", c.seq_missing_warmup}, {"seq_errors", c.seq_errors},
      {"unknown_channel", c.unknown_channel}, {"bad_messages", c.bad_messages},
      {"error_replies", c.error_replies}, {"subscribed", c.subscribed},
      {"other_messages", c.other_messages}, {"connects", c.connects},
      {"connect_failures", c.connect_failures}, {"disconnects", c.disconnects},
      {"reconnects", c.reconnects},     {"ws_errors", c.ws_errors}};
  bool first = true;
  for (const auto& [name, v] : counts) {
    s += (first ? "\"" : ",\"") + std::string(name) + "\":" + std::to_string(v);
    first = false;
  }
  s += "},\"rates\":{\"messages_per_s\":" + rate(double(c.messages) / t) +
       ",\"updates_per_s\":" + rate(double(c.updates) / t) +
       ",\"represented_per_s\":" + rate(double(c.represented) / t) + ",\"bytes_per_s\":" + rate(double(c.bytes) / t) +
       "}";
  s += ",\"latency_ns\":{\"freshness\":" + json_histogram(r.stats.freshness) +
       ",\"send_to_recv\":" + json_histogram(r.stats.send_to_recv) + ",\"connect\":" + json_histogram(r.stats.connect) +
       "}";
  s += ",\"errors\":" + std::to_string(c.errors()) + ",\"first_errors\":[";
  for (std::size_t i = 0; i < r.first_errors.size(); ++i)
    s += (i ? ",\"" : "\"") + json_escape(r.first_errors[i]) + "\"";
  s += "]}\n";
  return s;
}

std::string find_gnuplot() {
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/bin:/bin";
  std::size_t b = 0;
  while (b <= p.size()) {
    std::size_t e = p.find(':', b);
    if (e == std::string::npos) e = p.size();
    const std::string cand = (e > b ? p.substr(b, e - b) : std::string(".")) + "/gnuplot";
    if (::access(cand.c_str(), X_OK) == 0) return cand;
    b = e + 1;
  }
  return {};
}

std::string write_plot(const std::string& gnuplot, const std::string& png, const bench_options& o,
                       const run_result& r) {
  // HdrHistogram's percentile-spectrum view: x = 1/(1-p) on a log axis, so the tail
  // (99%, 99.9%, ...) gets as much room as the median.
  const std::string data = png + ".dat";
  const std::string script = png + ".gp";
  const double n = double(std::max<uint64_t>(std::max(r.stats.freshness.count(), r.stats.send_to_recv.count()), 1));
  const double top = std::max(1.0, std::log10(n));  // the deepest percentile the samples support
  {
    std::ofstream d(data);
    for (double x = 0; x <= top + 1e-9; x += 0.05) {
      const double p = 100.0 * (1.0 - std::pow(10.0, -x));
      d << std::pow(10.0, x) << ' ' << double(r.stats.freshness.percentile(p)) / 1e3 << ' '
        << double(r.stats.send_to_recv.percentile(p)) / 1e3 << '\n';
    }
    if (!d) return "cannot write " + data;
  }
  {
    std::ofstream g(script);
    // Tic labels are printf formats to gnuplot: '%%' prints one '%'.
    g << "set terminal png size 1000,600\n"
      << "set output '" << png << "'\n"
      << "set title 'mdgw-bench " << (o.url.tls ? "wss" : "ws") << ", " << o.connections << " connections, "
      << rate(r.elapsed_s) << " s, " << r.stats.c.messages << " messages'\n"
      << "set logscale x\nset logscale y\nset grid\n"
      << "set xlabel 'percentile'\nset ylabel 'latency (us)'\nset key top left\n"
      << "set termoption noenhanced\n"
      << "set xtics ('0%%' 1, '90%%' 10, '99%%' 100, '99.9%%' 1000, '99.99%%' 10000, '99.999%%' 100000, "
         "'99.9999%%' 1000000)\n"
      << "set xrange [1:" << std::pow(10.0, std::ceil(top)) << "]\n"
      << "plot '" << data << "' using 1:2 with lines lw 2 title 'freshness (recv - ts_recv)', '" << data
      << "' using 1:3 with lines lw 2 title 'gateway send -> client receive'\n";
    if (!g) return "cannot write " + script;
  }
  const pid_t pid = fork();
  if (pid < 0) return "fork failed";
  if (pid == 0) {
    execl(gnuplot.c_str(), gnuplot.c_str(), script.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return "gnuplot failed on " + script;
  std::remove(data.c_str());
  std::remove(script.c_str());
  return {};
}

}  // namespace mdgw::bench
