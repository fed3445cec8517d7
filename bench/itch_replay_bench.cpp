// Whole-file ITCH replay benchmark: reads a BinaryFILE (page cache warm) through
// binary_file_reader and measures, per message,
//   parse only   reader + itch_decoder::decode (a visitor that touches one field)
//   parse + book reader + itch_book::apply (order map, level books, events to a null sink),
//                with itch_book's two-stage prefetch (--no-prefetch: without)
// as the median of --repeats timed passes, plus peak RSS and the heap allocations made
// during the timed passes; then the cost of filling one locate's published top from its
// levels (book_top::fill_from(itch_book::levels()), what the gateway's feed thread does
// for each locate it publishes) over the final books.
//
//   build/bench/mdgw_itch_gen --messages 50000000 --seed 1 --out /tmp/itch50m.bin
//   build/bench/mdgw_itch_replay_bench /tmp/itch50m.bin --repeats 5
//
// Rationale:
// - One untimed warm-up pass per mode comes first: it pulls the file into the page cache
//   and lets the order map and the level books grow to the day's peak. The timed passes
//   then reuse the same itch_book (clear() keeps its memory), which is the steady state
//   of a feed thread after warm-up: the allocation count over the timed passes must be 0.
// - Allocations are counted by replacing the global operator new in this binary only
//   (every container in the book allocates through it). The reader's own buffer is
//   allocated before the count starts.
// - Times: wall (CLOCK_MONOTONIC) and CPU (CLOCK_PROCESS_CPUTIME_ID). The machine is
//   shared: CPU time leaves out the time other processes held the core, so it is the
//   figure to compare; both are printed. Medians, with the min and max.
// - CPU time is not enough on a virtual machine: the host's other tenants also share the
//   caches and memory bandwidth, and the same binary moved by 25% within minutes on one
//   instance. So each mode's line also gives the share of the machine's CPU time the host
//   took (steal, /proc/stat) over its timed passes, and a `# warning:` line before it
//   when that was more than scenarios.py's 2%: such figures are not comparable. The share
//   is taken over all passes (a 0.2 s pass is 40 ticks of 10 ms: one tick of steal in one
//   pass would be 2.5%); the line also shows the largest single pass's.
#include "book_top.hpp"
#include "host_cpu.hpp"
#include "itch_book.hpp"
#include "itch_decoder.hpp"

#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace {

std::uint64_t g_allocations = 0; // single-threaded binary: a plain counter

void* counted_alloc(std::size_t n, std::size_t align) {
  ++g_allocations;
  void* p = nullptr;
  if (align <= alignof(std::max_align_t)) {
    p = std::malloc(n == 0 ? 1 : n);
  } else if (::posix_memalign(&p, align, n == 0 ? align : n) != 0) {
    p = nullptr;
  }
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

} // namespace

void* operator new(std::size_t n) { return counted_alloc(n, alignof(std::max_align_t)); }
void* operator new[](std::size_t n) { return counted_alloc(n, alignof(std::max_align_t)); }
void* operator new(std::size_t n, std::align_val_t a) { return counted_alloc(n, static_cast<std::size_t>(a)); }
void* operator new[](std::size_t n, std::align_val_t a) { return counted_alloc(n, static_cast<std::size_t>(a)); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace mdgw::itch {
namespace {

struct options {
  std::string path;
  bool parse_only = false;
  bool prefetch = true;
  int repeats = 5;
  std::size_t expected_orders = 1 << 18; // order window of 262144 references (6 MiB)
  std::size_t far = itch_book::kFar;     // prefetch distances, in messages
  std::size_t near = itch_book::kNear;
  std::size_t read_buffer = binary_file_reader::kDefaultBuffer; // bytes
  std::size_t batch = 64; // messages per reader batch (the gateway's file source takes 64)
  bool ahead = true;       // read each batch before the last one is applied: hints across batches
};

struct pass_result {
  double wall_ns = 0;
  double cpu_ns = 0;
  std::uint64_t messages = 0;
  std::uint64_t allocations = 0;
  bench::cpu_ticks host; // the machine's ticks during the pass (after minus before)
};

double now_ns(clockid_t clock) {
  timespec ts{};
  ::clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

void quiet(std::string_view) {}

// Runs body(reader) timed; the reader is opened (and its buffer allocated) before.
template <class Body>
pass_result timed_pass(const std::string& path, std::size_t read_buffer, Body&& body) {
  binary_file_reader reader(path, quiet, read_buffer);
  pass_result r;
  const std::uint64_t allocs0 = g_allocations;
  const bench::cpu_ticks t0 = bench::read_cpu_ticks();
  const double w0 = now_ns(CLOCK_MONOTONIC);
  const double c0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
  r.messages = body(reader);
  r.cpu_ns = now_ns(CLOCK_PROCESS_CPUTIME_ID) - c0;
  r.wall_ns = now_ns(CLOCK_MONOTONIC) - w0;
  r.allocations = g_allocations - allocs0;
  r.host = bench::ticks_between(t0, bench::read_cpu_ticks());
  if (reader.failed()) throw std::runtime_error("itch: " + path + ": the file cannot be framed to its end");
  return r;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

long peak_rss_kib() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

// Prints one mode's line: median, min and max ns/message of the timed passes (CPU and
// wall), messages/s at the CPU median, the allocations of the timed passes and the host's
// steal over them (and in the worst pass), after a warning when it was too much.
void report(const char* mode, const pass_result& warm, const std::vector<pass_result>& runs) {
  std::vector<double> cpu;
  std::vector<double> wall;
  std::uint64_t allocs = 0;
  bench::cpu_ticks host;
  double steal_max = 0;
  for (const pass_result& r : runs) {
    cpu.push_back(r.cpu_ns / static_cast<double>(r.messages));
    wall.push_back(r.wall_ns / static_cast<double>(r.messages));
    allocs += r.allocations;
    host += r.host;
    steal_max = std::max(steal_max, bench::steal_share(r.host));
  }
  const double cpu_med = median(cpu);
  const double steal = bench::steal_share(host);
  bench::warn_if_stolen(stdout, steal, mode, "the timed passes");
  std::printf("%-12s ns/msg cpu median %.1f (min %.1f max %.1f)  wall median %.1f (min %.1f max %.1f)  "
              "%.1f M msg/s  allocations in timed passes %llu (warm-up pass %llu)  host steal %.1f%% (worst pass %.1f%%)\n",
              mode, cpu_med, *std::min_element(cpu.begin(), cpu.end()), *std::max_element(cpu.begin(), cpu.end()),
              median(wall), *std::min_element(wall.begin(), wall.end()), *std::max_element(wall.begin(), wall.end()),
              1e3 / cpu_med, static_cast<unsigned long long>(allocs),
              static_cast<unsigned long long>(warm.allocations), steal * 100, steal_max * 100);
  std::fflush(stdout);
}

std::uint64_t parse_pass(binary_file_reader& reader, itch_decoder& decoder, std::uint64_t& checksum) {
  return reader.for_each([&](std::span<const std::uint8_t> m) {
    (void)decoder.decode(m.data(), m.size(), [&checksum](const auto& msg) { checksum += msg.hdr.timestamp.get(); });
  });
}

// Messages are taken in batches (as a feed gets them, a MoldUDP64 packet at a time) so
// that the book can be told early which order slot and levels they touch, in two stages
// (itch_book::apply_batch: prefetch kFar messages ahead, prefetch_levels kNear ahead):
// the first touch of each is a cache miss on a day this size. The next batch is read before
// a batch is applied (lookahead_batches, as in the gateway's file source), so the hints run
// on into it; with --no-ahead they stop at the end of each batch and start again at the next.
std::uint64_t book_pass(binary_file_reader& reader, itch_book& book, null_sink& sink, bool prefetch,
                        std::size_t kFar, std::size_t kNear, std::vector<std::span<const std::uint8_t>>& batch,
                        bool use_ahead) {
  std::uint64_t total = 0;
  if (!use_ahead) {
    for (std::size_t n; (n = reader.next_batch(batch.data(), batch.size() / 2)) != 0; total += n) {
      book.apply_batch(batch.data(), n, sink, 0, prefetch ? kFar : 0, kNear);
    }
    return total;
  }
  lookahead_batches batches(reader, batch);
  for (lookahead_batches::run r; (r = batches.next(SIZE_MAX)).n != 0; total += r.n) {
    book.apply_batch(r.msgs, r.n, sink, r.ahead, prefetch ? kFar : 0, kNear);
  }
  return total;
}

int usage() {
  std::fprintf(stderr,
               "usage: mdgw_itch_replay_bench FILE [--parse-only] [--no-prefetch] [--repeats N] [--expected-orders N]\n"
               "       [--prefetch-far N] [--prefetch-near N] [--read-buffer BYTES] [--batch N] [--no-ahead]\n"
               "  FILE: an ITCH 5.0 BinaryFILE (plain or gzip), e.g. from mdgw_itch_gen\n");
  return 2;
}

int run(const options& opt) {
  {
    binary_file_reader probe(opt.path, quiet);
    std::printf("file %s: %llu bytes%s\n", opt.path.c_str(), static_cast<unsigned long long>(probe.input_size()),
                probe.gzip() ? " (gzip)" : "");
  }
  std::printf("repeats %d (after one untimed warm-up pass per mode); times are medians; book prefetch %s "
              "(%zu and %zu messages ahead)\n",
              opt.repeats, opt.prefetch ? "on" : "off", opt.far, opt.near);

  itch_decoder decoder(quiet);
  std::uint64_t checksum = 0;
  auto parse = [&](binary_file_reader& r) { return parse_pass(r, decoder, checksum); };
  const pass_result parse_warm = timed_pass(opt.path, opt.read_buffer, parse);
  std::vector<pass_result> parse_runs;
  for (int i = 0; i < opt.repeats; ++i) parse_runs.push_back(timed_pass(opt.path, opt.read_buffer, parse));
  std::printf("messages %llu (decode errors %llu)\n", static_cast<unsigned long long>(parse_warm.messages),
              static_cast<unsigned long long>(decoder.errors()));
  report("parse-only", parse_warm, parse_runs);

  if (!opt.parse_only) {
    itch_book book(book_config{0, opt.expected_orders, quiet});
    null_sink sink;
    std::size_t peak_orders = 0;
    std::vector<std::span<const std::uint8_t>> batch(2 * opt.batch); // a batch and the next
    auto apply = [&](binary_file_reader& r) {
      book.clear();
      const std::uint64_t n = book_pass(r, book, sink, opt.prefetch, opt.far, opt.near, batch, opt.ahead);
      peak_orders = std::max(peak_orders, book.orders().size());
      return n;
    };
    const pass_result book_warm = timed_pass(opt.path, opt.read_buffer, apply);
    std::vector<pass_result> book_runs;
    for (int i = 0; i < opt.repeats; ++i) book_runs.push_back(timed_pass(opt.path, opt.read_buffer, apply));
    report("parse+book", book_warm, book_runs);
    // Every locate's published top, timed: the gateway fills one per touched locate per
    // batch (producer::publish_book).
    std::size_t levels = 0;
    auto top = std::make_unique<book_top>();
    const double v0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    for (std::size_t l = 0; l < book.locate_limit(); ++l) {
      const itch_levels::view v = book.levels(static_cast<locate_t>(l));
      top->fill_from(v);
      levels += v.depth(side::bid) + v.depth(side::ask);
    }
    const double view_ns = now_ns(CLOCK_PROCESS_CPUTIME_ID) - v0;
    std::printf("published tops (book_top::fill_from(levels())): %.0f ns per locate (%zu locates, once each after the passes)\n",
                view_ns / static_cast<double>(std::max<std::size_t>(1, book.locate_limit())), book.locate_limit());
    const book_counters& c = book.counters();
    std::printf("book at the end: %zu live orders (%zu of them spilled; order window %zu slots, spill map %zu), "
                "%zu levels over %zu locates; unknown refs %llu, level errors %llu, trades %llu\n",
                book.orders().size(), book.orders().spilled(), book.orders().window_capacity(),
                book.orders().spill_capacity(), levels, book.locate_limit(),
                static_cast<unsigned long long>(c.unknown_refs()), static_cast<unsigned long long>(c.level_errors),
                static_cast<unsigned long long>(c.trades));
  }
  std::printf("peak RSS %.1f MiB (getrusage ru_maxrss)\n", static_cast<double>(peak_rss_kib()) / 1024.0);
  return 0;
}

} // namespace
} // namespace mdgw::itch

int main(int argc, char** argv) {
  mdgw::itch::options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--parse-only") {
      opt.parse_only = true;
    } else if (a == "--no-prefetch") {
      opt.prefetch = false;
    } else if (a == "--repeats" && i + 1 < argc) {
      opt.repeats = std::atoi(argv[++i]);
    } else if (a == "--prefetch-far" && i + 1 < argc) {
      opt.far = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--prefetch-near" && i + 1 < argc) {
      opt.near = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--no-ahead") {
      opt.ahead = false;
    } else if (a == "--batch" && i + 1 < argc) {
      opt.batch = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--read-buffer" && i + 1 < argc) {
      opt.read_buffer = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--expected-orders" && i + 1 < argc) {
      opt.expected_orders = std::strtoull(argv[++i], nullptr, 10);
    } else if (!a.starts_with("--") && opt.path.empty()) {
      opt.path = a;
    } else {
      return mdgw::itch::usage();
    }
  }
  if (opt.path.empty() || opt.repeats < 1 || opt.batch < 1) return mdgw::itch::usage();
  // The command that reproduces these figures (see docs/performance.md).
  std::printf("command:");
  for (int i = 0; i < argc; ++i) std::printf(" %s", argv[i]);
  std::printf("\n");
  try {
    return mdgw::itch::run(opt);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mdgw_itch_replay_bench: %s\n", e.what());
    return 1;
  }
}
