// The live source of a crypto feed: a Boost.Beast WebSocket client (ws:// and wss://)
// to a venue, running on the feed's own thread (its own io_context), feeding the
// venue's handler through the feed (feeds/crypto/crypto_feed.hpp).
//
// Rationale:
// - One connection per venue, subscribed to every configured instrument:
//     Kraken    {"event":"subscribe","pair":[..],"subscription":{"name":"book","depth":N}}
//               and the same with {"name":"trade"}
//     Binance   the combined stream URL <url>/stream?streams=<s>@depth@100ms/<s>@bookTicker/
//               <s>@aggTrade/...; every instrument then needs a REST depth snapshot
//               GET <rest-url>/api/v3/depth?symbol=S&limit=1000 (Binance's documented
//               procedure: the handler buffers diffs until it arrives)
//     Coinbase  {"type":"subscribe","product_ids":[..],"channels":["level2","ticker",
//               "matches","heartbeat"]}
// - Dead upstream: Beast's stream timeout pings the peer when it has been silent for
//   half of --upstream-timeout-ms and drops it when nothing (not even a pong) came for
//   the whole timeout; a watchdog also drops a connection that delivered no frame for
//   the timeout (a peer that answers pings but sends nothing is dead as a feed). All
//   three venues send heartbeats on quiet connections, so a healthy one is never idle.
// - Reconnect: exponential backoff from --upstream-backoff-min-ms to -max-ms with
//   jitter (a uniform draw in [b/2, b]) so gateways restarted together do not hammer a
//   venue in step; a connection that delivered frames resets the backoff (unless it was
//   closed to resynchronize: repeated failed checks back off too). On connect the
//   handler's on_connect() marks every ok book `resyncing` (kept, not published as ok)
//   and the subscriptions are sent again; the snapshots that follow make them ok.
// - Resync (an instrument went stale: checksum, sequence, ticker, bad update):
//   Kraken and Coinbase send a book snapshot only on subscription, so the client
//   reconnects (one path that always yields a fresh snapshot for every pair, whatever
//   channel ids and subscription state the venue holds; the other instruments go
//   `resyncing` for the round trip). Binance re-fetches the REST snapshot of that
//   instrument only (diffs are buffered meanwhile); after 3 consecutive rejected
//   snapshots (one that does not join the diff stream) it reconnects.
// - TLS verifies the peer (system trust store or --upstream-ca, host name checked, SNI
//   sent) unless --upstream-insecure is given (self-signed test exchanges only).
#pragma once

#include "crypto_feed.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace mdgw {

enum class crypto_venue : std::uint8_t { kraken, binance, coinbase };

// "kraken", "binance", "coinbase": the feed's name and its option prefix.
[[nodiscard]] const char* venue_name(crypto_venue v) noexcept;

struct upstream_url {
  bool tls = false;
  std::string host;
  std::string port;
  std::string target; // path and query, at least "/"
};

// ws://, wss:// (websocket = true) or http://, https:// URLs: scheme://host[:port][/path].
// Throws std::invalid_argument saying what is wrong.
[[nodiscard]] upstream_url parse_upstream_url(std::string_view url, bool websocket);

struct live_options {
  crypto_venue venue = crypto_venue::kraken;
  std::string url;      // ws[s]://...
  std::string rest_url; // Binance: http[s]://host[:port] of the REST API
  bool verify_peer = true;
  std::string ca_file;  // extra trust anchors (PEM); empty: the system's
  std::chrono::milliseconds timeout{30'000};
  std::chrono::milliseconds backoff_min{250};
  std::chrono::milliseconds backoff_max{10'000};
  int kraken_depth = 10;
};

class live_source final : public crypto::crypto_source {
public:
  // Validates the URLs and sets up TLS (throws std::invalid_argument / runtime_error).
  explicit live_source(live_options options);
  ~live_source() override;
  live_source(const live_source&) = delete;
  live_source& operator=(const live_source&) = delete;

  bool run(crypto::crypto_source_host& host, const std::stop_token& stop) override;
  void resync(std::size_t index, crypto::resync_reason why) override;
  [[nodiscard]] std::uint64_t reconnects() const noexcept override;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace mdgw
