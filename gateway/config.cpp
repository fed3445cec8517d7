#include "config.hpp"

#include "itch_feed.hpp"

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <thread>

namespace mdgw {

namespace {

template <class Int>
Int parse_int(const std::string& name, const std::string& v, Int lo, Int hi) {
  Int x{};
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (v.empty() || ec != std::errc{} || p != v.data() + v.size() || x < lo || x > hi) {
    throw config_error("invalid value '" + v + "' for " + name + ": expected an integer in " + std::to_string(lo) +
                       ".." + std::to_string(hi));
  }
  return x;
}

double parse_double(const std::string& name, const std::string& v, double lo, double hi) {
  double x = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (v.empty() || ec != std::errc{} || p != v.data() + v.size() || !(x >= lo && x <= hi)) {
    throw config_error("invalid value '" + v + "' for " + name + ": expected a number in " + std::to_string(lo) + ".." +
                       std::to_string(hi));
  }
  return x;
}

// "HOST:PORT" with a port in 1..65535.
std::string parse_endpoint(const std::string& name, const std::string& v) {
  const auto colon = v.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    throw config_error("invalid value '" + v + "' for " + name + ": expected HOST:PORT");
  }
  (void)parse_int<std::uint16_t>(name + " port", v.substr(colon + 1), 1, 65535);
  return v;
}

void apply(gateway_config& c, const std::string& name, const std::string& v) {
  const std::string flag = "--" + name;
  if (name == "bind") {
    if (v.empty()) throw config_error("invalid value '' for --bind: expected an IP address");
    c.bind = v;
  } else if (name == "port") {
    c.port = parse_int<std::uint16_t>(flag, v, 0, 65535);
  } else if (name == "cert") {
    c.cert_file = v;
  } else if (name == "key") {
    c.key_file = v;
  } else if (name == "auth-token") {
    if (v.empty()) throw config_error("invalid value '' for --auth-token: expected a non-empty token");
    c.auth_token = v;
  } else if (name == "io-threads") {
    c.io_threads = parse_int<unsigned>(flag, v, 1, 256);
  } else if (name == "send-batch") {
    c.send_batch = parse_int<unsigned>(flag, v, 0, 4096);
  } else if (name == "max-message-bytes") {
    c.max_message_bytes = parse_int<std::size_t>(flag, v, 64, std::size_t{1} << 30);
  } else if (name == "max-subscriptions") {
    c.max_subscriptions = parse_int<std::size_t>(flag, v, 1, 1'000'000);
  } else if (name == "max-connections") {
    c.max_connections = parse_int<std::size_t>(flag, v, 1, 10'000'000);
  } else if (name == "trade-history") {
    c.trade_history = parse_int<std::size_t>(flag, v, 2, std::size_t{1} << 20);
    if ((c.trade_history & (c.trade_history - 1)) != 0) {
      throw config_error("invalid value '" + v + "' for --trade-history: expected a power of two in 2..1048576");
    }
  } else if (name == "trade-queue") {
    c.trade_queue = parse_int<std::size_t>(flag, v, 1, std::size_t{1} << 20);
  } else if (name == "max-requests-per-s") {
    c.max_requests_per_s = parse_int<std::size_t>(flag, v, 1, 1'000'000);
  } else if (name == "heartbeat-ms") {
    c.heartbeat = std::chrono::milliseconds(parse_int<std::int64_t>(flag, v, 50, 3'600'000));
  } else if (name == "min-interval-ms") {
    c.min_interval = std::chrono::microseconds(
        static_cast<std::int64_t>(parse_double(flag, v, 0.0, 3'600'000.0) * 1000.0));
  } else if (name == "max-interval-ms") {
    c.max_interval = std::chrono::microseconds(
        static_cast<std::int64_t>(parse_double(flag, v, 1.0, 3'600'000.0) * 1000.0));
  } else if (name == "handshake-timeout-ms") {
    c.handshake_timeout = std::chrono::milliseconds(parse_int<std::int64_t>(flag, v, 100, 600'000));
  } else if (name == "idle-timeout-s") {
    c.idle_timeout = std::chrono::seconds(parse_int<std::int64_t>(flag, v, 1, 86'400));
  } else if (name == "sim-seed") {
    c.sim_seed = parse_int<std::uint64_t>(flag, v, 0, std::numeric_limits<std::uint64_t>::max());
  } else if (name == "sim-instruments") {
    c.sim_instruments = parse_int<std::size_t>(flag, v, 0, 100'000);
  } else if (name == "sim-rate") {
    c.sim_rate = v == "max" ? 0.0 : static_cast<double>(parse_int<std::uint64_t>(flag + " (or 'max')", v, 1, 1'000'000'000));
  } else if (name == "sim-events") {
    c.sim_events = parse_int<std::uint64_t>(flag, v, 0, std::numeric_limits<std::uint64_t>::max());
  } else if (name == "itch-file") {
    if (v.empty()) throw config_error("invalid value '' for --itch-file: expected a file name");
    c.itch_file = v;
  } else if (name == "itch-speed") {
    c.itch_speed = v == "max" ? 0.0 : v == "realtime" ? 1.0 : parse_double(flag + " (or 'max', 'realtime')", v, 0.0, 1e9);
  } else if (name == "itch-mold-group") {
    c.itch_mold_group = parse_endpoint(flag, v);
  } else if (name == "itch-mold-interface") {
    c.itch_mold_interface = v;
  } else if (name == "itch-mold-retrans") {
    c.itch_mold_retrans = parse_endpoint(flag, v);
  } else if (name == "itch-mold-timeout-ms") {
    c.itch_mold_timeout = std::chrono::milliseconds(parse_int<std::int64_t>(flag, v, 1, 60'000));
  } else if (name == "itch-date") {
    try {
      (void)itch::midnight_new_york(v);
    } catch (const std::runtime_error& e) {
      throw config_error("invalid value '" + v + "' for --itch-date: expected a date YYYY-MM-DD");
    }
    c.itch_date = v;
  } else if (name == "itch-venue") {
    if (v.empty() || v.find(':') != std::string::npos) {
      throw config_error("invalid value '" + v + "' for --itch-venue: expected a name without ':'");
    }
    c.itch_venue = v;
  } else if (name == "itch-max-symbols") {
    c.itch_max_symbols = parse_int<std::size_t>(flag, v, 1, 65'536);
  } else if (name == "record") {
    if (v.empty()) throw config_error("invalid value '' for --record: expected a file name");
    c.record_file = v;
  } else if (name == "replay") {
    if (v.empty()) throw config_error("invalid value '' for --replay: expected a file name");
    c.replay_file = v;
  } else if (name == "replay-rate") {
    c.replay_rate = v == "recorded" ? -1.0
                    : v == "max"    ? 0.0
                                    : parse_double(flag + " (or 'recorded', 'max')", v, 0.0, 1e9);
  } else if (name == "replay-loop") {
    if (v != "true" && v != "false" && v != "1" && v != "0") {
      throw config_error("invalid value '" + v + "' for --replay-loop: expected true or false");
    }
    c.replay_loop = v == "true" || v == "1";
  } else if (!apply_crypto_option(c.crypto, name, v)) {
    throw config_error("unknown option '" + flag + "' (see --help)");
  }
}

bool known_option(const std::string& name) {
  static constexpr const char* kNames[] = {"bind", "port", "cert", "key", "auth-token", "io-threads", "send-batch", "max-message-bytes",
                                           "max-subscriptions", "max-connections", "trade-history", "trade-queue", "max-requests-per-s",
                                           "heartbeat-ms", "min-interval-ms", "max-interval-ms", "handshake-timeout-ms",
                                           "idle-timeout-s", "sim-seed", "sim-instruments", "sim-rate", "sim-events",
                                           "itch-file", "itch-speed", "itch-mold-group", "itch-mold-interface",
                                           "itch-mold-retrans", "itch-mold-timeout-ms", "itch-date", "itch-venue", "itch-max-symbols",
                                           "record", "replay", "replay-rate", "replay-loop"};
  for (const char* n : kNames) {
    if (name == n) return true;
  }
  return is_crypto_option(name);
}

// Options that take no value on the command line (`--name=false` still can).
bool is_switch(const std::string& name) { return name == "replay-loop"; }

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

void apply_file(gateway_config& c, const std::string& path) {
  std::ifstream in(path);
  if (!in) throw config_error("--config: cannot open '" + path + "'");
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    const std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    const auto eq = t.find('=');
    if (eq == std::string::npos) {
      throw config_error(path + ":" + std::to_string(lineno) + ": expected 'name = value'");
    }
    try {
      apply(c, trim(t.substr(0, eq)), trim(t.substr(eq + 1)));
    } catch (const config_error& e) {
      throw config_error(path + ":" + std::to_string(lineno) + ": " + e.what());
    }
  }
}

} // namespace

std::string usage() {
  return "usage: mdgw [options]\n"
         "  --bind ADDR                 listen address (default 0.0.0.0)\n"
         "  --port N                    port for HTTP/ws and TLS https/wss (default 8443, env MDGW_PORT; 0 = any)\n"
         "  --cert FILE --key FILE      PEM certificate and key; TLS is served only with both\n"
         "  --io-threads N              network threads, one io_context each (default 1)\n"
         "  --send-batch N              ws/wss frames of a pass sent with one io_uring system call (default 64; 0 = one write each)\n"
         "  --max-message-bytes N       largest client frame; bigger closes with 1009 (default 65536)\n"
         "  --max-subscriptions N       per connection (default 1000)\n"
         "  --max-connections N         total (default 100000)\n"
         "  --trade-history N           trades kept per instrument for readers that fall behind (power of two, default 1024)\n"
         "  --auth-token T              WebSockets must present T (?token=T or Authorization: Bearer T), else close 4003\n"
         "  --trade-queue N             trades a connection may fall behind on a trades channel before `lost` (default 1024)\n"
         "  --max-requests-per-s N      requests per connection and second; more get error 1009 (default 50)\n"
         "  --heartbeat-ms N            heartbeat on a connection that sent nothing for N ms (default 5000)\n"
         "  --min-interval-ms X         shortest interval a subscription may be granted (default 1)\n"
         "  --max-interval-ms X         longest interval a subscription may be granted (default 60000)\n"
         "  --handshake-timeout-ms N    HTTP request / WebSocket handshake timeout (default 10000)\n"
         "  --idle-timeout-s N          WebSocket idle timeout; pings at half of it (default 300)\n"
         "  --sim-seed N                simulated market seed (default 42)\n"
         "  --sim-instruments N         simulated instruments (default 64; 0 = no simulator)\n"
         "  --sim-rate N|max            simulated order actions per second (default 5000)\n"
         "  --sim-events N              stop the simulator after N actions (default: never)\n"
         "  --itch-file FILE            replay an ITCH 5.0 BinaryFILE (plain or gzip)\n"
         "  --itch-speed X|max|realtime replay pace: max (default), realtime (1) or a factor\n"
         "  --itch-mold-group ADDR:PORT ITCH over MoldUDP64 multicast instead of a file\n"
         "  --itch-mold-interface ADDR  interface address to join the group on (default 127.0.0.1)\n"
         "  --itch-mold-retrans H:P     MoldUDP64 retransmission (re-request) server\n"
         "  --itch-mold-timeout-ms N    re-request an unanswered gap after N ms; give up after 5 (default 50)\n"
         "  --itch-date YYYY-MM-DD      the ITCH day (timestamps count from its New York midnight; default today)\n"
         "  --itch-venue NAME           symbol prefix, NAME:<stock> (default NASDAQ)\n"
         "  --itch-max-symbols N        ITCH instruments published at most (default 10000)\n"
         + crypto_usage() +
         "  --record FILE               record every feed's published events to FILE (docs/recording.md)\n"
         "  --replay FILE               replay a recording as a feed (instruments must not clash with other feeds)\n"
         "  --replay-rate N|recorded|max  replay pace: the recorded pace (default), N source updates (book\n"
         "                              changes + trades) per second, or max (also 0: as fast as possible)\n"
         "  --replay-loop               replay the file again and again until stopped\n"
         "  --config FILE               'name = value' lines with the names above\n"
         "  --help\n"
         "\n"
         "usage: mdgw capture info FILE             what a recording holds\n"
         "       mdgw capture dump FILE [--depth N] its events as JSON lines (docs/recording.md)\n"
         "       mdgw book ...                      print ITCH books (mdgw book --help)\n";
}

gateway_config parse_config(const std::vector<std::string>& args) {
  gateway_config c;
  c.io_threads = std::max(1U, std::thread::hardware_concurrency() > 1 ? std::thread::hardware_concurrency() - 1 : 1U);
  if (const char* p = std::getenv("MDGW_PORT"); p != nullptr && *p != '\0') {
    try {
      apply(c, "port", p);
    } catch (const config_error& e) {
      throw config_error(std::string("MDGW_PORT: ") + e.what());
    }
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    if (a == "--help" || a == "-h") {
      c.help = true;
      continue;
    }
    if (a.rfind("--", 0) != 0 || a.size() == 2) throw config_error("unexpected argument '" + a + "' (see --help)");
    std::string name = a.substr(2);
    std::string value;
    const auto eq = name.find('=');
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (name != "config" && !known_option(name)) throw config_error("unknown option '--" + name + "' (see --help)");
    if (eq == std::string::npos && is_switch(name)) {
      value = "true"; // a switch: `--replay-loop` alone turns it on
    } else if (eq == std::string::npos) {
      if (i + 1 >= args.size()) throw config_error("missing value for --" + name);
      value = args[++i];
    }
    if (name == "config") apply_file(c, value);
    else apply(c, name, value);
  }
  if (!c.itch_file.empty() && !c.itch_mold_group.empty()) {
    throw config_error("--itch-file and --itch-mold-group are exclusive: one ITCH source");
  }
  if (c.itch_file.empty() && c.itch_mold_group.empty() && c.sim_instruments == 0 && c.replay_file.empty() &&
      !c.crypto.kraken.enabled() && !c.crypto.binance.enabled() && !c.crypto.coinbase.enabled()) {
    throw config_error("--sim-instruments 0 leaves no feed: give an ITCH, a crypto or a --replay feed");
  }
  if (c.cert_file.empty() != c.key_file.empty()) {
    throw config_error(c.cert_file.empty() ? "--key given without --cert" : "--cert given without --key");
  }
  if (c.min_interval > c.max_interval) {
    throw config_error("--min-interval-ms is larger than --max-interval-ms");
  }
  if (c.replay_file.empty() && (c.replay_rate >= 0 || c.replay_loop)) {
    throw config_error(c.replay_loop ? "--replay-loop given without --replay" : "--replay-rate given without --replay");
  }
  if (!c.record_file.empty() && c.record_file == c.replay_file) {
    throw config_error("--record and --replay name the same file '" + c.record_file + "'");
  }
  validate_crypto_options(c.crypto);
  return c;
}

} // namespace mdgw
