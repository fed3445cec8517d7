// The transport-independent half of a WebSocket session: requests, subscriptions,
// conflation, rates, heartbeats and batching. ws_session<Stream> adds the socket (plain
// or TLS).
//
// Conflation: each subscription has a dirty flag and what it sent last (a book record, a
// topic version, the next trade seq). While a write is in flight, changes only set
// flags; when it completes, every dirty subscription goes out in ONE message: the
// channels' shared fragments (encoded once per change, never per client) copied into
// one contiguous buffer of the session, so the transport makes one write of one buffer.
// (A buffer sequence over the fragments themselves, 40 to 60 of them per message, cost
// more in Beast/Asio's buffer-sequence iteration than the copy does: docs/performance.md.) A session therefore holds at most
// one pending update per subscription plus a bounded queue of control replies: its
// memory is bounded by its subscription count, not by the feed rate. Trades are a
// stream: a subscription's backlog is its distance to the instrument's trade history
// head, bounded by --trade-queue; beyond it the client is told `lost` (exact count and
// where the stream goes on).
//
// Rates: a subscription granted an interval is sent at most once per interval: a change
// that comes sooner stays dirty (conflated) until its due time, when one timer per
// session fires. Due times advance by exactly the interval while the session keeps up,
// so the delivered rate is the granted one.
//
// Liveness: the same timer sends a heartbeat when the session sent nothing for
// --heartbeat-ms; WebSocket ping/pong and the idle timeout are Beast's (ws_session).
#pragma once

#include "io_worker.hpp"
#include "protocol.hpp"

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace mdgw {

class session_base;

// The fields every update touches (mark_dirty, flush, gather) come first and fill one
// cache line; the struct starts on a line. With 1,000 sessions of 20 subscriptions each,
// a pass over them finds most of them out of cache, and one line a touch instead of two
// was a measurable part of flush() and mark_dirty().
struct alignas(64) subscription {
  session_base* owner = nullptr;
  book_channel* channel = nullptr; // book
  instrument_id instrument = 0;
  protocol::channel_kind kind = protocol::channel_kind::book;
  bool dirty = false;
  bool sent_any = false; // ticker/status/imbalance: `last` is a version that was sent
  // A wildcard (`ticker.*`) has no data of its own: one child per instrument, children[i]
  // for instrument i, so it covers the instruments [0, children.size()).
  bool wildcard = false;
  // book: the channel record the client is at (0: none); ticker/status/imbalance: the
  // version sent; trades: the next trade seq to send.
  std::uint64_t last = 0;
  std::uint64_t interval_ns = 0; // granted; 0: as fast as the client reads
  std::uint64_t next_due = 0;    // monotonic ns
  // The oldest source update this subscription has not been sent yet (0: none known).
  std::uint64_t pending_exch_ts = 0;
  std::uint64_t pending_recv_ts = 0;
  // Cold: names, wildcard children, a pending trades reset.
  std::string name; // canonical channel name
  std::vector<std::unique_ptr<subscription>> children;
  // trades: a resume that could not be served, announced before anything else.
  const char* reset_reason = nullptr;
  std::uint64_t reset_head = 0;
};
static_assert(offsetof(subscription, pending_recv_ts) + sizeof(std::uint64_t) <= 64,
              "the hot fields of a subscription fit in its first cache line");

class session_base : public connection {
public:
  // Control replies a client may leave unread before it is closed as a slow consumer.
  static constexpr std::size_t kMaxPendingReplies = 1024;
  // Application close codes (docs/protocol.md).
  static constexpr std::uint16_t kCloseSlowConsumer = 4001;
  static constexpr std::uint16_t kCloseUnauthorized = 4003;
  static constexpr std::uint16_t kClosePolicy = 1008; // a request flood past the rate limit

  explicit session_base(io_worker& worker);
  ~session_base() override;

  // A change for s; exch/recv: the source update that caused it (0: unknown).
  void mark_dirty(subscription* s, std::uint64_t exch_ts = 0, std::uint64_t recv_ts = 0);
  // A wildcard learns about instrument id (added to the publication after it subscribed).
  void extend_wildcard(subscription* parent, instrument_id id);
  // Starts a write if none is in flight and something is pending.
  void flush();
  bool in_ready_list = false;
  // The io_worker pass that last flushed this session from the ready list
  // (io_worker::flush_ready: one message a session a pass).
  std::uint64_t flushed_pass = 0;
  // Cache hints for io_worker::flush_ready, which looks ahead along its ready list: a
  // pass finds nearly every session out of cache, and flush_one waited on its list of
  // dirty subscriptions and on the subscriptions in it (its own hints run 4 ahead in the
  // list, so the first 4 were never hinted). In three stages, each reading what the one
  // before loaded: the session's line with the list, the list, the first subscriptions.
  void prefetch_session() const noexcept;
  void prefetch_dirty_list() const noexcept;
  void prefetch_first_dirty() const noexcept;

protected:
  // The WebSocket is open: starts the heartbeat.
  void on_open();
  // Handles one client frame: JSON text, or (binary) one Cap'n Proto ClientRequest.
  void on_text(std::string_view text, bool binary = false);
  // The transport writes one WebSocket message (text, or binary for Cap'n Proto) of these
  // bytes. True: it is written already. False: the write completes later with a call to
  // on_write_done (or fails and the session detaches); the bytes stay valid until then.
  virtual bool write_message(net::const_buffer message) = 0;
  // Closes the WebSocket with a code (after pending writes).
  virtual void close_with(std::uint16_t code, std::string_view reason) = 0;
  // Keeps the session alive while a timer of it is pending.
  virtual std::shared_ptr<void> keep_alive() = 0;
  void on_write_done();
  // The message went out whole in the io thread's send batch (write_message returned
  // false for it): as if the socket had taken it at once.
  void written_at_once();
  // The connection is over: leave every channel and the worker's registry.
  void detach();

  io_worker& worker_;
  bool closing_ = false;
  protocol::wire_format format_ = protocol::wire_format::json; // set before on_open

private:
  void queue_reply(std::string msg);
  // Replies in this connection's wire format.
  void reply_error(const protocol::request_error& e);
  void reply_error(protocol::error_code code, std::uint64_t id, std::string message);
  void subscribe(const protocol::request& req);
  void unsubscribe(const protocol::request& req);
  void list(const protocol::request& req);
  [[nodiscard]] subscription* find(std::string_view name);
  [[nodiscard]] bool covered_by_wildcard(protocol::channel_kind kind) const;
  // Attaches s (kind, instrument set) to its channel on this io thread.
  void attach(subscription& s);
  void detach_one(subscription& s);
  [[nodiscard]] std::unique_ptr<subscription> make_child(subscription& parent, instrument_id id);
  // Appends s's update to the message being built; false when it had nothing new.
  bool gather(subscription& s, protocol::batch_stamps& stamps, bool& more);
  void gather_topic(subscription& s, protocol::batch_stamps& stamps, bool& any);
  void gather_trades(subscription& s, protocol::batch_stamps& stamps, bool& any, bool& more);
  // Starts an update in the message being built (the ',' before it in JSON).
  void open_fragment(bool& any);
  void add_fragment(std::string_view frag, bool& any);
  // Builds and starts the next message (a reply, else the dirty subscriptions' updates).
  // True: it is written already; false: nothing to send, or the write is under way.
  bool flush_one();
  void after_write();
  void arm_timer(std::uint64_t at_mono_ns);
  void on_timer();

  std::vector<std::unique_ptr<subscription>> subs_;
  std::vector<subscription*> dirty_;
  std::vector<subscription*> keep_; // flush(): the dirty ones that stay dirty (capacity reused)
  // Replies waiting to be sent: replies_[replies_head_..], oldest first. A vector, freed
  // when drained, because an empty one costs nothing; a deque allocates 576 bytes per
  // connection up front.
  std::vector<std::string> replies_;
  std::size_t replies_head_ = 0;
  bool writing_ = false;
  bool attached_ = true;
  // The message in flight: a reply, or a data message built in out_ from out_from_ on.
  // Updates are appended after kHeadroom bytes; the batch prefix, known only once they
  // are gathered, is then written into the headroom just before them.
  static constexpr std::size_t kHeadroom = 256;
  std::string reply_in_flight_;
  std::string prefix_;
  std::string out_;
  std::size_t out_from_ = 0;
  std::uint32_t updates_ = 0; // in the data message being built
  // Trades subscriptions with a reset notice to send (subscription::reset_reason, on the
  // subscription's cold line: gathering reads it only while this is not 0).
  std::size_t resets_pending_ = 0;
  // Requests: a token bucket of --max-requests-per-s.
  double tokens_ = 0;
  std::uint64_t tokens_at_ = 0;
  std::size_t rejected_in_row_ = 0; // rate-limited requests since the last accepted one
  // Heartbeat and rate timer.
  std::unique_ptr<net::steady_timer> timer_;
  std::uint64_t timer_at_ = 0; // monotonic ns it is armed for (0: not armed)
  std::uint64_t timer_gen_ = 0;
  std::uint64_t last_send_ = 0; // monotonic ns of the last message handed to the socket
};

} // namespace mdgw
