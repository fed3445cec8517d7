// One io thread: an io_context, the sessions that live on it, and this thread's view of
// the market (which instruments changed, encoded fragments of book channels).
//
// Data flow on this thread (DESIGN.md, "Threads and data flow"):
//   wake-up (posted by a feed's flush) → drain notices → mark instruments changed and
//   their subscriptions dirty → flush every session that is not writing.
// A book channel (instrument, depth) encodes its state at most once per version and
// shares the bytes (shared_ptr<const string>) with every session sending it; sessions
// only gather pointers. Nothing here is touched by another thread except through
// publication (rings, slots) and the atomic counters read by /health.
#pragma once

#include "config.hpp"
#include "net.hpp"
#include "publication.hpp"

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

namespace mdgw {

class session_base;
struct subscription;

// Something the worker can close at shutdown (HTTP and WebSocket sessions).
class connection {
public:
  virtual ~connection() = default;
  virtual void shutdown_going_away() = 0;
};

struct book_channel {
  instrument_id instrument = 0;
  int depth = 0;
  std::string name; // canonical "book.<SYM>.<depth>"
  std::vector<subscription*> subs;
  // Encoded state, each for the version beside it (kNone = not encoded yet).
  static constexpr std::uint64_t kNone = ~std::uint64_t{0};
  std::uint64_t update_version = kNone;
  std::shared_ptr<const std::string> update_frag;
  std::uint64_t snapshot_version = kNone;
  std::shared_ptr<const std::string> snapshot_frag;
};

struct encoded {
  std::shared_ptr<const std::string> frag;
  std::uint64_t version = 0;
};

class io_worker {
public:
  io_worker(std::size_t index, publication& pub, const gateway_config& cfg);
  ~io_worker();
  io_worker(const io_worker&) = delete;
  io_worker& operator=(const io_worker&) = delete;

  [[nodiscard]] net::io_context& context() noexcept { return ioc_; }
  [[nodiscard]] std::size_t index() const noexcept { return index_; }
  [[nodiscard]] publication& pub() noexcept { return pub_; }
  [[nodiscard]] const gateway_config& config() const noexcept { return cfg_; }

  void start();
  // Any thread: closes every connection with "going away" and lets the thread finish
  // (forcibly after `grace`). join() waits for it.
  void begin_shutdown(std::chrono::milliseconds grace);
  void join();

  // --- this thread only ---
  void add(connection* c, bool websocket);
  void remove(connection* c, bool websocket);
  book_channel* acquire_channel(instrument_id id, int depth);
  void release_channel(book_channel* ch);
  // The channel's current state, encoded (once per version) as an update or a snapshot.
  [[nodiscard]] encoded fragment(book_channel& ch, bool snapshot);
  void mark_ready(session_base* s); // a session with dirty subscriptions to flush

  // --- any thread (/health) ---
  [[nodiscard]] std::size_t ws_connections() const noexcept { return ws_count_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::size_t http_connections() const noexcept { return http_count_.load(std::memory_order_relaxed); }

private:
  struct instrument_state {
    std::unique_ptr<book_top> top; // this thread's copy of the slot, read lazily
    bool changed = true;           // a notice arrived since `top` was read
    std::vector<book_channel*> channels;
  };

  void on_wake();
  void on_notice(const notice& n);
  void check_drained();

  std::size_t index_;
  publication& pub_;
  const gateway_config& cfg_;

  std::vector<instrument_state> instruments_;
  std::vector<std::unique_ptr<book_channel>> channel_store_;
  std::vector<session_base*> ready_;
  std::unordered_set<connection*> connections_;
  std::atomic<std::size_t> ws_count_{0};
  std::atomic<std::size_t> http_count_{0};
  bool shutting_down_ = false;
  std::chrono::steady_clock::time_point shutdown_deadline_{};
  // Declared after the state above on purpose: destroying the io_context destroys the
  // handlers still queued, and with them sessions whose destructors leave channels and
  // the connection registry, which must still exist then.
  net::io_context ioc_{1};
  std::optional<net::executor_work_guard<net::io_context::executor_type>> guard_;
  std::unique_ptr<net::steady_timer> shutdown_timer_;
  std::thread thread_;
};

} // namespace mdgw
