// bench_options: mdgw-bench's command line, the target URL, and the channel plan (which
// channels each connection subscribes). Errors here are startup errors: they throw
// std::invalid_argument with a message for the user.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "message_scan.hpp"

namespace mdgw::bench {

struct target_url {
  bool tls = false;
  std::string host;
  uint16_t port = 0;
  std::string path = "/";
};

struct bench_options {
  target_url url;
  int connections = 1;
  double ramp_per_s = 0;  // new connections per second; 0: all at once
  std::vector<std::string> channels;  // subscribed by every connection
  int books = 0;          // per connection, instruments from GET /instruments round-robin
  int depth = 10;
  int tickers = 0;
  int trades = 0;
  bool idle = false;      // subscribe to nothing: the connections only stay open
  double duration_s = 10;
  double warmup_s = -1;   // >= 0: measure only from this long after every connection opened
  uint64_t max_messages = 0;  // stop after this many data messages (0: duration only)
  int threads = 1;
  int read_batch = 256;    // socket reads of one epoll round made with one io_uring call (0: one recv each)
  std::string json_file;   // "" none, "-" stdout
  std::string plot_file;   // PNG
  bool quiet = false;
  bool verify = false;     // TLS: verify the server certificate (and host name)
  std::string ca_file;     // trust anchors for --verify (default: the system's)
  bool reconnect = true;
  scan_keys keys;
  std::string command_line;
};

[[nodiscard]] target_url parse_url(const std::string& url);
// Returns the options, or throws std::invalid_argument. Sets help when --help was given.
[[nodiscard]] bench_options parse_options(int argc, const char* const* argv, bool& help);
[[nodiscard]] const char* usage() noexcept;
// Whether the plan needs GET /instruments (a mix spec was given).
[[nodiscard]] bool needs_instruments(const bench_options& o) noexcept;
// The symbols of a GET /instruments body, in order ("symbol":"..." values).
[[nodiscard]] std::vector<std::string> parse_symbols(const std::string& body);
// The channels of connection conn: --channels, then the mix spec with instruments taken
// round-robin (connection c's books start at symbol c*books, so connections spread over
// the instrument list).
[[nodiscard]] std::vector<std::string> plan_channels(const bench_options& o, const std::vector<std::string>& symbols,
                                                     int conn);

}  // namespace mdgw::bench
