// Encoding the protocol's book messages (docs/protocol.md), per message, as the io thread
// does once per (channel, from, to) and encoding:
//   BM_json_book/snapshot|delta    encode_book_message, depth 10 a side
//   BM_capnp_book/snapshot|delta   capnp_wire::book, the same records
// The delta changes the two best bid sizes, removes the best ask and adds a tenth ask: a
// typical change at the inside.
#include "book_codec.hpp"
#include "capnp_codec.hpp"

#include <benchmark/benchmark.h>

#include <string>

namespace {

using namespace mdgw;

instrument_info info() {
  instrument_info in;
  in.symbol = "SIM:AAPL";
  in.price_scale = 4;
  in.qty_scale = 0;
  return in;
}

// A depth-10 book around 187.42 / 187.43; `shift` changes the inside a little.
book_record record(std::uint64_t version, int shift) {
  book_top top;
  top.version = version;
  top.n_bids = 10;
  top.n_asks = 10;
  for (int i = 0; i < 10; ++i) {
    top.levels[i] = price_level{1874200 - 100 * i, static_cast<qty_t>(100 * (i + 1) + (i < 2 ? shift : 0)),
                                static_cast<std::uint32_t>(i + 1), 0};
    const int k = i + shift; // the ask ladder moves up by `shift` levels: sizes go with prices
    top.levels[10 + i] = price_level{1874300 + 100 * k, static_cast<qty_t>(200 * (k + 1)),
                                     static_cast<std::uint32_t>(k + 2), 0};
  }
  book_record r;
  std::string scratch;
  r.assign(top, 10, info(), scratch);
  return r;
}

const book_record kFrom = record(100, 0);
const book_record kTo = record(103, 1);
const book_message_stamps kStamps{1764467539123300000, 1764467539123310000, 3};

void BM_json_book(benchmark::State& state) {
  const book_record* from = state.range(0) != 0 ? &kFrom : nullptr;
  const instrument_info in = info();
  std::string out;
  for (auto _ : state) {
    out.clear();
    encode_book_message(out, "book.SIM:AAPL.10", from, kTo, kStamps, in);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["bytes"] = static_cast<double>(out.size());
}
BENCHMARK(BM_json_book)->ArgName("delta")->Arg(0)->Arg(1);

void BM_capnp_book(benchmark::State& state) {
  const book_record* from = state.range(0) != 0 ? &kFrom : nullptr;
  const instrument_info in = info();
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string out = capnp_wire::book("book.SIM:AAPL.10", from, kTo, kStamps, in);
    bytes = out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_capnp_book)->ArgName("delta")->Arg(0)->Arg(1);

} // namespace
