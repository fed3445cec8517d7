// main() of mdgw_micro_bench, separate from the benchmark sources so that every bench
// source (book_bench.cpp, and sim_bench.cpp when it lands) only registers benchmarks.
// It records the exact command line in the report's context, so a figure can be rerun.
#include <benchmark/benchmark.h>

#include <string>

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
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
