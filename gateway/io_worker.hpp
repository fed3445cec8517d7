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

#include "book_codec.hpp"
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
  book_history history; // the states this io thread saw, newest last
  // Stamps of the oldest update since the newest record whose state was not recorded
  // because it left this channel's top `depth` unchanged (0: none).
  std::uint64_t skipped_first_exch_ts = 0;
  std::uint64_t skipped_first_recv_ts = 0;
  // Encoded messages to the newest record (cache_rec): its snapshot and the deltas from
  // older records, each built on first use and shared by every session that needs it.
  std::uint64_t cache_rec = 0;
  std::shared_ptr<const std::string> snapshot_frag;
  std::vector<std::pair<std::uint64_t, std::shared_ptr<const std::string>>> delta_frags; // by from-record
};

// A book message for one subscription: the shared bytes, the record they bring the
// client to, and the stamps of what they merge.
struct encoded {
  std::shared_ptr<const std::string> frag;
  std::uint64_t rec = 0;
  book_message_stamps stamps;
  std::uint64_t exch_ts = 0; // newest
  std::uint64_t recv_ts = 0;
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
  // The message that brings a client at record `from_rec` (0: none yet) to the channel's
  // newest state: a delta when from_rec is still in the history, else a snapshot.
  // rec == from_rec when the client is already there (frag is then empty).
  [[nodiscard]] encoded book_fragment(book_channel& ch, std::uint64_t from_rec);
  void mark_ready(session_base* s); // a session with dirty subscriptions to flush

  // --- any thread (/health) ---
  [[nodiscard]] std::size_t ws_connections() const noexcept { return ws_count_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::size_t http_connections() const noexcept { return http_count_.load(std::memory_order_relaxed); }

private:
  struct instrument_state {
    std::unique_ptr<book_top> top; // this thread's copy of the slot, read lazily
    bool changed = true;           // a notice arrived since `top` was read
    // Stamps of the first notice since `top` was read: the oldest source update the
    // next read merges (0: unknown, e.g. after a ring overflow rescan).
    std::uint64_t first_exch_ts = 0;
    std::uint64_t first_recv_ts = 0;
    std::vector<book_channel*> channels;
  };

  // Reads the slot when a notice arrived and records a new state in every channel of
  // the instrument whose top `depth` levels, version or quality changed.
  void refresh(instrument_state& is, instrument_id id);
  void record(book_channel& ch, const instrument_state& is);

  void on_wake();
  void on_notice(const notice& n);
  void check_drained();

  std::size_t index_;
  publication& pub_;
  const gateway_config& cfg_;

  std::vector<instrument_state> instruments_;
  std::vector<std::unique_ptr<book_channel>> channel_store_;
  std::vector<session_base*> ready_;
  std::string scratch_;     // checksum text
  book_record candidate_;   // the next state, before it is known to differ
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
