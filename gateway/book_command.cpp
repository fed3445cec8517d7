// `mdgw book`: replays an ITCH source into an order-by-order book and prints the books of
// chosen symbols after N messages or at the end of input. Format: docs/itch.md.
#include "book_command.hpp"

#include "itch_book.hpp"
#include "itch_source.hpp"

#include <charconv>
#include <cstdio>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>

namespace mdgw {

namespace {

constexpr const char* kUsage =
    "usage: mdgw book (--itch FILE | --mold-group ADDR:PORT [--mold-retrans HOST:PORT]\n"
    "                  [--mold-interface ADDR] [--mold-timeout-ms N])\n"
    "                 [--symbols A,B,...] [--after N] [--depth N] [--speed X]\n"
    "Prints the order-by-order books of the symbols (default: every symbol with orders)\n"
    "after N messages (default: at the end of input). Format: docs/itch.md.\n";

struct book_options {
  itch::itch_source_config source;
  std::vector<std::string> symbols;
  std::uint64_t after = std::numeric_limits<std::uint64_t>::max();
  std::size_t depth = std::numeric_limits<std::size_t>::max();
};

template <class T>
T number(const std::string& flag, const std::string& v) {
  T x{};
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (v.empty() || ec != std::errc{} || p != v.data() + v.size()) {
    throw std::runtime_error("invalid value '" + v + "' for " + flag);
  }
  return x;
}

book_options parse(const std::vector<std::string>& args) {
  book_options o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (i + 1 >= args.size()) throw std::runtime_error("missing value for " + a);
    const std::string& v = args[++i];
    if (a == "--itch") o.source.file = v;
    else if (a == "--mold-group") o.source.mold_group = v;
    else if (a == "--mold-retrans") o.source.mold_retrans = v;
    else if (a == "--mold-interface") o.source.mold_interface = v;
    else if (a == "--mold-timeout-ms") o.source.mold_session_timeout = std::chrono::milliseconds(number<std::int64_t>(a, v));
    else if (a == "--after") o.after = number<std::uint64_t>(a, v);
    else if (a == "--depth") o.depth = number<std::size_t>(a, v);
    else if (a == "--speed") o.source.speed = number<double>(a, v);
    else if (a == "--symbols") {
      std::string_view rest = v;
      while (!rest.empty()) {
        const auto comma = rest.find(',');
        const auto sym = rest.substr(0, comma);
        if (sym.empty()) throw std::runtime_error("--symbols: empty symbol in '" + v + "'");
        o.symbols.emplace_back(sym);
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      }
    } else {
      throw std::runtime_error("unknown option '" + a + "'");
    }
  }
  if (o.source.file.empty() && o.source.mold_group.empty()) throw std::runtime_error("give --itch FILE or --mold-group");
  o.source.progress = true;
  return o;
}

class applier final : public itch::message_sink {
public:
  explicit applier(itch::itch_book& book) : book_(book) {}
  void on_message(const std::uint8_t* msg, std::size_t len) override { (void)book_.apply(msg, len, sink_); }
  void on_batch(const std::span<const std::uint8_t>* msgs, std::size_t n, std::size_t ahead) override {
    book_.apply_batch(msgs, n, sink_, ahead);
  }

private:
  itch::itch_book& book_;
  itch::null_sink sink_;
};

void print_price(std::FILE* out, price_t p) {
  std::fprintf(out, "%lld.%04lld", static_cast<long long>(p / 10000), static_cast<long long>(p % 10000));
}

void print_book(std::FILE* out, const itch::itch_book& book, itch::locate_t locate, std::string_view symbol,
                std::uint64_t messages, std::size_t depth) {
  const level_book& lb = *book.book(locate);
  const itch::locate_state& st = *book.state(locate);
  const std::size_t nb = lb.depth(side::bid);
  const std::size_t na = lb.depth(side::ask);
  std::fprintf(out, "book %.*s locate=%u messages=%llu bid_levels=%zu ask_levels=%zu state=%c\n",
               static_cast<int>(symbol.size()), symbol.data(), static_cast<unsigned>(locate),
               static_cast<unsigned long long>(messages), nb, na,
               st.status.trading_state == ' ' ? '-' : st.status.trading_state);
  for (const side s : {side::bid, side::ask}) {
    const std::size_t n = std::min(depth, s == side::bid ? nb : na);
    for (std::size_t i = 0; i < n; ++i) {
      const price_level l = lb.level(s, i);
      std::fputs(s == side::bid ? "bid " : "ask ", out);
      print_price(out, l.price);
      std::fprintf(out, " %lld %u\n", static_cast<long long>(l.qty), static_cast<unsigned>(l.orders));
    }
  }
  std::fputs("end\n", out);
}

} // namespace

int run_book_command(const std::vector<std::string>& args) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  book_options o;
  std::unique_ptr<itch::itch_source> source;
  try {
    o = parse(args);
    source = itch::open_source(o.source);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mdgw book: %s\n%s", e.what(), kUsage);
    return 2;
  }
  itch::book_config bc;
  bc.expected_orders = 1 << 20;
  itch::itch_book book(bc);
  applier sink(book);
  std::uint64_t messages = 0;
  while (messages < o.after) {
    const std::uint64_t want = std::min<std::uint64_t>(o.after - messages, 4096);
    const auto r = source->poll(sink, static_cast<std::size_t>(want), std::chrono::milliseconds(100));
    messages = source->delivered();
    if (r == itch::poll_result::end) break;
  }

  std::map<std::string, itch::locate_t, std::less<>> by_symbol;
  for (std::size_t l = 0; l < book.locate_limit(); ++l) {
    const auto* st = book.state(static_cast<itch::locate_t>(l));
    if (st != nullptr && st->info.known) by_symbol.emplace(std::string(st->info.symbol()), static_cast<itch::locate_t>(l));
  }
  int rc = 0;
  if (o.symbols.empty()) {
    for (const auto& [sym, locate] : by_symbol) {
      const level_book& lb = *book.book(locate);
      if (lb.depth(side::bid) + lb.depth(side::ask) > 0) print_book(stdout, book, locate, sym, messages, o.depth);
    }
  } else {
    for (const auto& sym : o.symbols) {
      const auto it = by_symbol.find(sym);
      if (it == by_symbol.end()) {
        std::printf("book %s unknown\n", sym.c_str());
        rc = 3;
        continue;
      }
      print_book(stdout, book, it->second, sym, messages, o.depth);
    }
  }
  std::fflush(stdout);
  if (source->lost() > 0) {
    std::fprintf(stderr, "mdgw book: %llu messages were lost for good: these books are not exact\n",
                 static_cast<unsigned long long>(source->lost()));
    rc = 4;
  }
  const auto& c = book.counters();
  std::fprintf(stderr, "mdgw book: %llu messages, %llu decode errors, %llu source errors, %llu unknown order references\n",
               static_cast<unsigned long long>(messages), static_cast<unsigned long long>(book.decoder().errors()),
               static_cast<unsigned long long>(source->errors()), static_cast<unsigned long long>(c.unknown_refs()));
  return rc;
}

} // namespace mdgw
