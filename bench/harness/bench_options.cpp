#include "bench_options.hpp"

#include <charconv>
#include <stdexcept>

namespace mdgw::bench {

namespace {

template <class T>
T number(const std::string& flag, const std::string& v, T lo, T hi) {
  T x{};
  const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (ec != std::errc{} || p != v.data() + v.size() || x < lo || x > hi)
    throw std::invalid_argument("invalid value '" + v + "' for " + flag);
  return x;
}

std::vector<std::string> split_list(const std::string& v) {
  std::vector<std::string> out;
  std::size_t b = 0;
  while (b <= v.size()) {
    std::size_t e = v.find(',', b);
    if (e == std::string::npos) e = v.size();
    if (e > b) out.push_back(v.substr(b, e - b));
    b = e + 1;
  }
  return out;
}

}  // namespace

const char* usage() noexcept {
  return "usage: mdgw-bench --url ws://HOST:PORT/PATH|wss://... [options]\n"
         "  --connections N        WebSocket connections (default 1)\n"
         "  --ramp-per-s R         open R connections per second (default: all at once)\n"
         "  --channels A,B,...     channels every connection subscribes\n"
         "  --books N              per connection: N book channels over GET /instruments, round-robin\n"
         "  --depth D              depth of those book channels (default 10)\n"
         "  --tickers N            per connection: N ticker.<SYM> channels\n"
         "  --trades N             per connection: N trades.<SYM> channels (seq jumps count as gaps)\n"
         "  --duration S           run for S seconds (default 10)\n"
         "  --messages N           stop after N data messages (and at --duration at the latest)\n"
         "  --idle                 connections subscribe to nothing (memory per idle connection)\n"
         "  --warmup S             measure only from S s after every connection is open: the\n"
         "                         run lasts the ramp + S + --duration; rates, latencies and\n"
         "                         message counts cover the measured part (errors: the whole run)\n"
         "  --threads T            reader threads, each with its own epoll (default 1)\n"
         "  --read-batch N         the socket reads of one epoll round (up to N) made with one\n"
         "                         io_uring system call (default 256; 0: one recv each)\n"
         "  --json FILE|-          write a JSON report\n"
         "  --plot FILE.png        latency percentile plot (needs gnuplot)\n"
         "  --quiet                no progress line\n"
         "  --verify               verify the TLS certificate and host name (default: accept any)\n"
         "  --ca FILE              trust anchors for --verify (default: the system's)\n"
         "  --no-reconnect         leave lost connections closed\n"
         "  --oldest-field NAME    update field with the oldest merged receive stamp (default\n"
         "                         ts_recv_oldest; ts_recv is used when absent); 'none' to not look\n"
         "  --merged-field NAME    update field counting merged source updates (default merged)\n"
         "ticker.* and trades.* are protocol v1 channels: a v0 gateway answers them with error 1003.\n"
         "Exit status: 0 when data arrived and no error was counted, 1 otherwise, 2 on bad usage.\n";
}

target_url parse_url(const std::string& url) {
  target_url t;
  std::string rest;
  if (url.starts_with("ws://")) {
    rest = url.substr(5);
  } else if (url.starts_with("wss://")) {
    t.tls = true;
    rest = url.substr(6);
  } else {
    throw std::invalid_argument("--url must start with ws:// or wss://: '" + url + "'");
  }
  const std::size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) t.path = rest.substr(slash);
  const std::size_t colon = authority.rfind(':');
  std::string port = t.tls ? "443" : "80";
  if (colon != std::string::npos) {
    port = authority.substr(colon + 1);
    authority.resize(colon);
  }
  if (authority.starts_with('[') && authority.ends_with(']')) authority = authority.substr(1, authority.size() - 2);
  if (authority.empty()) throw std::invalid_argument("--url has no host: '" + url + "'");
  t.host = authority;
  t.port = number<uint16_t>("the --url port", port, 1, 65535);
  return t;
}

bench_options parse_options(int argc, const char* const* argv, bool& help) {
  bench_options o;
  help = false;
  bool have_url = false;
  for (int i = 0; i < argc; ++i) {
    if (i) o.command_line += ' ';
    o.command_line += argv[i];
  }
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument("missing value for " + a);
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      help = true;
      return o;
    } else if (a == "--url") {
      o.url = parse_url(value());
      have_url = true;
    } else if (a == "--connections") {
      o.connections = number<int>(a, value(), 1, 1'000'000);
    } else if (a == "--ramp-per-s") {
      o.ramp_per_s = number<double>(a, value(), 0.0, 1e9);
    } else if (a == "--channels") {
      o.channels = split_list(value());
    } else if (a == "--books") {
      o.books = number<int>(a, value(), 0, 100'000);
    } else if (a == "--depth") {
      o.depth = number<int>(a, value(), 1, 1000);
    } else if (a == "--tickers") {
      o.tickers = number<int>(a, value(), 0, 100'000);
    } else if (a == "--trades") {
      o.trades = number<int>(a, value(), 0, 100'000);
    } else if (a == "--duration") {
      o.duration_s = number<double>(a, value(), 0.001, 1e7);
    } else if (a == "--idle") {
      o.idle = true;
    } else if (a == "--warmup") {
      o.warmup_s = number<double>(a, value(), 0.0, 1e6);
    } else if (a == "--messages") {
      o.max_messages = number<uint64_t>(a, value(), 1, UINT64_MAX);
    } else if (a == "--read-batch") {
      o.read_batch = number<int>(a, value(), 0, 4096);
    } else if (a == "--threads") {
      o.threads = number<int>(a, value(), 1, 256);
    } else if (a == "--json") {
      o.json_file = value();
    } else if (a == "--plot") {
      o.plot_file = value();
    } else if (a == "--quiet") {
      o.quiet = true;
    } else if (a == "--verify") {
      o.verify = true;
    } else if (a == "--ca") {
      o.ca_file = value();
    } else if (a == "--no-reconnect") {
      o.reconnect = false;
    } else if (a == "--oldest-field") {
      const std::string v = value();
      o.keys.look_for_oldest = v != "none";
      o.keys.set_oldest(v);
    } else if (a == "--merged-field") {
      o.keys.set_merged(value());
    } else {
      throw std::invalid_argument("unknown argument '" + a + "' (see --help)");
    }
  }
  if (!have_url) throw std::invalid_argument("--url is required (see --help)");
  const bool subscribes = !o.channels.empty() || o.books + o.tickers + o.trades > 0;
  if (!subscribes && !o.idle)
    throw std::invalid_argument("nothing to subscribe: give --channels or --books/--tickers/--trades (or --idle)");
  if (subscribes && o.idle) throw std::invalid_argument("--idle connections subscribe to nothing: drop the channels");
  if (o.threads > o.connections) o.threads = o.connections;
  return o;
}

bool needs_instruments(const bench_options& o) noexcept { return o.books + o.tickers + o.trades > 0; }

std::vector<std::string> parse_symbols(const std::string& body) {
  static constexpr std::string_view kKey = "\"symbol\":\"";
  std::vector<std::string> out;
  std::size_t p = 0;
  while ((p = body.find(kKey, p)) != std::string::npos) {
    p += kKey.size();
    const std::size_t e = body.find('"', p);
    if (e == std::string::npos) break;
    out.push_back(body.substr(p, e - p));
    p = e + 1;
  }
  return out;
}

std::vector<std::string> plan_channels(const bench_options& o, const std::vector<std::string>& symbols, int conn) {
  std::vector<std::string> out = o.channels;
  auto add = [&](int count, const std::string& prefix, const std::string& suffix) {
    if (symbols.empty()) return;
    const std::size_t n = symbols.size();
    // At most one channel per symbol: a connection cannot subscribe one channel twice.
    const std::size_t k = std::min<std::size_t>(std::size_t(count), n);
    for (std::size_t j = 0; j < k; ++j)
      out.push_back(prefix + symbols[(std::size_t(conn) * k + j) % n] + suffix);
  };
  std::string depth_suffix = ".";
  depth_suffix += std::to_string(o.depth);
  add(o.books, "book.", depth_suffix);
  add(o.tickers, "ticker.", "");
  add(o.trades, "trades.", "");
  return out;
}

}  // namespace mdgw::bench
