// Startup configuration: command-line flags, MDGW_* environment variables and an
// optional `--config FILE` of `name = value` lines (same names as the flags). Any bad
// name or value stops startup with a config_error that names it.
#pragma once

#include "crypto_config.hpp"

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace mdgw {

struct config_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct gateway_config {
  std::string bind = "0.0.0.0";
  std::uint16_t port = 8443;
  std::string cert_file; // TLS served only when both are set
  std::string key_file;
  std::string auth_token; // when set, a WebSocket must present it (?token= or Authorization: Bearer)
  unsigned io_threads = 1;
  // Sends a pass over the ready sessions makes with one io_uring submission (0: one
  // write each; send_batch.hpp).
  unsigned send_batch = 64;
  std::size_t max_message_bytes = 64 * 1024;
  std::size_t max_subscriptions = 1000;
  std::size_t max_connections = 100000;
  std::size_t trade_history = 1024; // trades kept per instrument (a power of two; 64 bytes each)
  std::size_t trade_queue = 1024;     // trades a session may fall behind before `lost`
  std::size_t max_requests_per_s = 50; // per connection (burst: the same number)
  std::chrono::milliseconds heartbeat{5'000};       // sent on a connection idle this long
  std::chrono::microseconds min_interval{1'000};     // bounds of a subscription's granted interval
  std::chrono::microseconds max_interval{60'000'000};
  std::chrono::milliseconds handshake_timeout{10'000};
  std::chrono::seconds idle_timeout{300};
  // simulator
  std::uint64_t sim_seed = 42;
  std::size_t sim_instruments = 64;
  double sim_rate = 5000; // order actions/s; 0 = max
  std::uint64_t sim_events = 0; // 0 = unbounded
  // ITCH 5.0 (a BinaryFILE replay or MoldUDP64 multicast); off when both are empty
  std::string itch_file;
  double itch_speed = 0; // 0 = as fast as possible, 1 = real time
  std::string itch_mold_group; // ADDR:PORT
  std::string itch_mold_interface = "127.0.0.1";
  std::string itch_mold_retrans; // HOST:PORT
  std::chrono::milliseconds itch_mold_timeout{50}; // re-request when unanswered this long
  std::string itch_date;         // YYYY-MM-DD of the ITCH day; empty: today (New York)
  std::string itch_venue = "NASDAQ";
  std::size_t itch_max_symbols = 10000;
  crypto_options crypto; // Kraken, Binance, Coinbase feeds (crypto_config.hpp)
  // recording and replay (docs/recording.md)
  std::string record_file;  // record everything published to this file
  std::string replay_file;  // replay this recording as a feed
  double replay_rate = -1;  // < 0: recorded pace; 0: as fast as possible; else updates/s
  bool replay_loop = false; // replay the file again and again until stopped
  bool help = false;
};

// Parses argv (and env, and --config). Throws config_error.
[[nodiscard]] gateway_config parse_config(const std::vector<std::string>& args);
[[nodiscard]] std::string usage();

} // namespace mdgw
