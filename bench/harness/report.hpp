// report: mdgw-bench's outputs: the progress line, the final human table, the JSON
// report and the gnuplot percentile plot.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "bench_options.hpp"
#include "stream_stats.hpp"

namespace mdgw::bench {

struct run_result {
  run_stats stats;
  double elapsed_s = 0;
  // From the harness's start to the measured part's: with the server's start, it places
  // the measured part on a paced source's schedule (scenarios.py's firehose).
  double measured_from_s = 0;
  int open_at_end = 0;
  // The busiest reader thread's CPU time over elapsed_s: near 1 means the harness, not
  // the gateway, limited the run.
  double max_thread_busy = 0;
  // The share of this machine's CPU time the host took (steal) during the measured part:
  // above kStealWarn the figures are not comparable with another run's (host_cpu.hpp).
  double steal = 0;
  std::vector<std::string> first_errors;
};

// One line: elapsed, connections open, rates since the previous line, percentiles so far.
[[nodiscard]] std::string progress_line(double elapsed_s, int open, int target, const run_counters& delta,
                                        double interval_s, const run_stats& total, double thread_busy);
void print_table(std::FILE* out, const bench_options& o, const run_result& r);
[[nodiscard]] std::string json_report(const bench_options& o, const run_result& r);

// The gnuplot program on PATH, or "" when there is none.
[[nodiscard]] std::string find_gnuplot();
// Writes a PNG percentile plot (freshness and send->receive) with gnuplot. Returns an
// error message, empty on success.
[[nodiscard]] std::string write_plot(const std::string& gnuplot, const std::string& png, const bench_options& o,
                                     const run_result& r);

}  // namespace mdgw::bench
