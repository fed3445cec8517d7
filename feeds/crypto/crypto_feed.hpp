// A crypto venue as a feed: one thread owns one handler (Kraken, Binance or Coinbase),
// pulls frames from a source (a capture replay or the live WebSocket client) and
// publishes the handler's books and trades through a producer (book/publication.hpp).
//
// Rationale:
// - The source is an interface so the feed (here, in feeds/, which knows nothing of
//   sockets) and the live client (in gateway/, which compiles Asio/Beast) stay apart;
//   the source runs on the feed's thread and calls back into the feed through
//   crypto_source_host. Everything the handler does therefore happens on one thread.
// - Batches: the handler reports changed books through crypto_sink::on_book; the feed
//   only marks them. At the end of a batch (a source decides: every 64 records of a
//   fast replay, each frame of a paced replay or of a live connection) every touched
//   instrument is published once with its quality and the producer is flushed once.
//   Trades are a stream and are published as they are reported.
// - Versions: the published seq of an instrument counts its publications (book changes
//   and quality changes alike), so a client sees a new seq whenever the state it shows
//   changed, including stale -> ok, and the io threads re-encode on a new version.
// - Quality is the handler's: `resyncing` before the first snapshot (the initial state
//   published before the port opens is an empty book, resyncing), `stale` from a failed
//   check until a fresh snapshot: a stale book is never published as ok.
// - Counters for /health are copied from the handler's (single-threaded) counters into
//   relaxed atomics at the end of each batch.
#pragma once

#include "crypto_handler.hpp"
#include "feed.hpp"
#include "publication.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

namespace mdgw::crypto {

class capture;

// What a source calls, on the feed thread.
class crypto_source_host {
public:
  virtual void frame(const padded_frame& f) = 0;
  virtual void rest(std::string_view url, const padded_frame& body) = 0;
  // A connection was (re)established: handler.on_connect() (every ok book -> resyncing).
  virtual void connected() = 0;
  virtual void disconnected() = 0;
  // End of a batch: publish what changed, flush.
  virtual void end_batch() = 0;
  [[nodiscard]] virtual crypto_handler& handler() = 0;

protected:
  ~crypto_source_host() = default;
};

class crypto_source {
public:
  virtual ~crypto_source() = default;
  // Runs on the feed thread until the input ends (returns true) or stop is requested
  // (returns false).
  virtual bool run(crypto_source_host& host, const std::stop_token& stop) = 0;
  // Called during host.frame()/rest() when an instrument went stale: arrange a fresh
  // snapshot (live: resubscribe, reconnect or refetch; a replay cannot).
  virtual void resync(std::size_t index, resync_reason why) = 0;
  // Reconnects so far (live); 0 for a replay.
  [[nodiscard]] virtual std::uint64_t reconnects() const noexcept { return 0; }
};

// Replays a capture (crypto/capture.hpp) as fast as possible (speed 0) or at the
// recorded pace times `speed`.
class replay_source final : public crypto_source {
public:
  static constexpr std::size_t kFastBatch = 64; // records per published batch at speed 0

  replay_source(std::shared_ptr<const capture> c, double speed);
  bool run(crypto_source_host& host, const std::stop_token& stop) override;
  void resync(std::size_t, resync_reason) override {}

private:
  std::shared_ptr<const capture> capture_;
  double speed_;
};

class crypto_feed final : public feed, private crypto_sink, private crypto_source_host {
public:
  static constexpr std::size_t kRingSlack = 8192;

  // Registers the handler's instruments in `pub` (throws std::runtime_error naming the
  // symbol when one cannot be added) and creates the producer. `name` is the feed's name
  // in /health ("kraken"...). Not started: call start().
  crypto_feed(std::string name, std::unique_ptr<crypto_handler> handler, std::unique_ptr<crypto_source> source,
              publication& pub);
  ~crypto_feed() override;
  crypto_feed(const crypto_feed&) = delete;
  crypto_feed& operator=(const crypto_feed&) = delete;

  void start() override;
  void stop() override;
  [[nodiscard]] feed_status status() const override;

  [[nodiscard]] std::size_t instrument_count() const noexcept { return pub_ids_.size(); }
  [[nodiscard]] instrument_id publication_id(std::size_t index) const { return pub_ids_.at(index); }

private:
  void run(std::stop_token stop);
  void touch(std::size_t index);
  void publish_counters();

  // crypto_sink
  void on_book(std::size_t index) override;
  void on_trade(std::size_t index, const trade_print& t) override;
  void on_resync(std::size_t index, resync_reason why) override;
  // crypto_source_host
  void frame(const padded_frame& f) override;
  void rest(std::string_view url, const padded_frame& body) override;
  void connected() override;
  void disconnected() override;
  void end_batch() override;
  crypto_handler& handler() override { return *handler_; }

  std::string name_;
  std::unique_ptr<crypto_handler> handler_;
  std::unique_ptr<crypto_source> source_;
  std::vector<instrument_id> pub_ids_;
  producer& producer_;
  std::vector<std::uint64_t> versions_; // publications per instrument
  std::vector<std::uint8_t> touched_;
  std::vector<std::uint32_t> touched_list_;

  std::atomic<bool> connected_{false};
  std::atomic<std::uint64_t> frames_{0};
  std::atomic<std::uint64_t> events_{0};
  std::atomic<std::uint64_t> errors_{0};
  std::atomic<std::uint64_t> mismatches_{0};
  std::atomic<std::uint64_t> bad_frames_{0};
  std::atomic<std::uint64_t> resyncs_{0};
  std::atomic<std::uint64_t> snapshots_{0};
  std::atomic<std::uint64_t> trades_{0};
  std::atomic<std::uint64_t> stale_{0}; // instruments not ok right now
  std::atomic<std::uint64_t> connects_{0};

  feed_runner runner_; // last: its thread is joined before the rest goes
};

} // namespace mdgw::crypto
