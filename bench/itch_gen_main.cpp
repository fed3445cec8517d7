// mdgw_itch_gen: writes a synthetic ITCH 5.0 day (itch_generator) as a BinaryFILE,
// deterministic from the seed, for the replay benchmark and for manual runs:
//   build/bench/mdgw_itch_gen --messages 50000000 --seed 1 --out /tmp/itch50m.bin
// gzip when the output ends in ".gz". Files belong under /tmp or a build directory.
#include "itch_generator.hpp"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

int main(int argc, char** argv) {
  mdgw::itch::generator_config cfg;
  cfg.symbols = 3000;
  std::string out;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--messages" && has_value) {
      cfg.messages = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--seed" && has_value) {
      cfg.seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--symbols" && has_value) {
      cfg.symbols = static_cast<std::uint32_t>(std::strtoul(argv[++i], nullptr, 10));
    } else if (a == "--out" && has_value) {
      out = argv[++i];
    } else {
      out.clear();
      break;
    }
  }
  if (out.empty()) {
    std::fprintf(stderr, "usage: mdgw_itch_gen --out FILE [--messages N (1000000)] [--seed S (1)] [--symbols K (3000)]\n");
    return 2;
  }
  try {
    const std::uint64_t n = mdgw::itch::write_binary_file(out, cfg);
    std::printf("%s: %llu messages, seed %llu, %u symbols\n", out.c_str(), static_cast<unsigned long long>(n),
                static_cast<unsigned long long>(cfg.seed), cfg.symbols);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mdgw_itch_gen: %s\n", e.what());
    return 1;
  }
  return 0;
}
