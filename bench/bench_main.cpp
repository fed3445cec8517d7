// main() of mdgw_micro_bench, separate from the benchmark sources so that every bench
// source (book_bench.cpp, and sim_bench.cpp when it lands) only registers benchmarks.
// It records the exact command line in the report's context, so a figure can be rerun,
// and prints on stderr at the end how much of the machine's CPU time the host took (steal)
// during the run, with a warning above 2% (host_cpu.hpp: such figures are not comparable).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>

#include "host_cpu.hpp"

int main(int argc, char** argv) {
  std::string command;
  for (int i = 0; i < argc; ++i) {
    if (i > 0) command += ' ';
    command += argv[i];
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("command", command);
  benchmark::AddCustomContext("rerun", "see docs/performance.md");
  const mdgw::bench::cpu_ticks t0 = mdgw::bench::read_cpu_ticks();
  benchmark::RunSpecifiedBenchmarks();
  const double steal = mdgw::bench::steal_share(t0, mdgw::bench::read_cpu_ticks());
  mdgw::bench::warn_if_stolen(stderr, steal, argv[0], "the run");
  std::fprintf(stderr, "host steal during the run: %.1f%%\n", steal * 100);
  benchmark::Shutdown();
  return 0;
}
