// One io thread: an io_context, the sessions that live on it, and this thread's view of
// the market (which instruments changed, encoded fragments of book, ticker, status,
// imbalance and trades channels).
//
// Data flow on this thread (DESIGN.md, "Threads and data flow"):
//   wake-up (posted by a feed's flush) → drain notices → mark instruments changed and
//   their subscriptions dirty → flush every session that is not writing (a pass), draining
//   again during a long pass (every 0.5 ms) so that the sessions later in it carry what
//   was published while it ran → post the next pass if a session was listed again, else
//   re-arm the publication and wait for the feed's next wake-up.
// A book channel (instrument, depth) encodes its state at most once per version and
// every session sending it copies those bytes into its message (the cache is this
// thread's, so a session reads it by plain reference: no reference count per read).
// Ticker, status and imbalance are "topics": one small state per instrument, re-encoded
// once per change (topic_codec.hpp) and shared the same way; a topic is only marked for
// its subscribers when its state really changed. Trades are read from the instrument's
// trade_history; each trade is encoded once (JSON) into a run of text from which an
// update for a session at any seq is cut (trade_text). A session behind that text, and
// Cap'n Proto, get the update from a given seq encoded once and shared by every session
// that was there (trade_fragment). Nothing here is touched by another thread except
// through publication (rings, slots) and the atomic counters read by /health.
#pragma once

#include "book_codec.hpp"
#include "config.hpp"
#include "net.hpp"
#include "protocol.hpp"
#include "publication.hpp"
#include "send_batch.hpp"
#include "topic_codec.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
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
  // Encoded messages to the newest record (cache_rec): its snapshot and the deltas from
  // older records, per wire format, each built on first use and shared by every session
  // that needs it.
  std::uint64_t cache_rec = 0;
  // An empty string: not built yet (no encoded message is empty).
  struct frags {
    std::string snapshot;
    std::vector<std::pair<std::uint64_t, std::string>> deltas; // by from-record
  };
  frags cache[protocol::kWireFormats];
};

// A ticker, status or imbalance channel of one instrument on this io thread.
struct topic {
  std::vector<subscription*> subs;
  std::string name;           // canonical, e.g. "ticker.SIM:AAPL"
  std::uint64_t version = 0;  // ticker: ticker_view::seq(); status, imbalance: changes seen here
  std::uint64_t exch_ts = 0;  // the newest source update in the state
  std::uint64_t recv_ts = 0;
  std::uint64_t frag_version = ~std::uint64_t{0};
  std::string head; // encode_*_head of `frag_version`, shared
};

// The shared head of a topic update and what it is (head: valid until the io thread
// next encodes this topic; empty when not asked for).
struct topic_message {
  std::string_view head;
  std::uint64_t version = 0;
  std::uint64_t exch_ts = 0;
  std::uint64_t recv_ts = 0;
};

// What a trades subscription at from_seq gets next: trades it can no longer get (lost:
// from_seq..resume_seq-1, when resume_seq > from_seq) and an update of the consecutive
// trades after them, in pieces to append in order: JSON cut from the io thread's trade
// text is its head, the trades and kTradesSuffix; otherwise the whole update is parts[0].
// parts[0] is empty when there is nothing new. The views are valid until the io thread
// next reads this instrument's trades. No field is initialized here: trade_fragment sets
// every one, and one is built per gathered update.
struct trade_batch {
  std::uint64_t resume_seq;
  std::array<std::string_view, 3> parts;
  std::uint64_t next_seq; // the subscription's cursor afterwards
  protocol::batch_stamps stamps;
};

// A book message for one subscription: the shared bytes (valid until the io thread next
// refreshes the channel), the record they bring the client to, and the stamps of what
// they merge.
struct encoded {
  std::string_view frag;
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
  // TLS handshakes: at most kMaxHandshakes run at once on this thread, the others start
  // in arrival order as those end (handshake_done, once per start). A handshake holds
  // ~50 KiB of OpenSSL state (a 16 KiB handshake buffer, record buffers) until it ends,
  // and heap freed after a burst of thousands of handshakes stays resident: without the
  // cap, a connection storm would set the gateway's memory for good.
  static constexpr std::size_t kMaxHandshakes = 64;
  void run_handshake(std::function<void()> start);
  void handshake_done();
  book_channel* acquire_channel(instrument_id id, int depth);
  void release_channel(book_channel* ch);
  // The message that brings a client at record `from_rec` (0: none yet) to the channel's
  // newest state: a delta when from_rec is still in the history, else a snapshot.
  // rec == from_rec when the client is already there (frag is then empty).
  [[nodiscard]] encoded book_fragment(book_channel& ch, std::uint64_t from_rec,
                                      protocol::wire_format fmt = protocol::wire_format::json);
  // Sends of a pass over the ready sessions, made together (send_batch.hpp); plain
  // and TLS sessions queue their frame here while it accepts.
  [[nodiscard]] send_batch& batch() noexcept { return batch_; }
  [[nodiscard]] const send_batch& batch() const noexcept { return batch_; }
  // A pass looks at the clock after every kDrainEvery sessions it flushed (the default
  // send batch, --send-batch 64) and drains the publication again when drain_interval
  // (kDrainInterval unless set) has passed since its last drain. A pass over 1,000
  // sessions (ui: several ms here) then drains about every 0.5 ms, as often as the feeds
  // publish in the load scenarios; one over 100 (ui100: about 0.5 ms) runs as it did
  // before passes drained.
  static constexpr std::size_t kDrainEvery = 64;
  static constexpr std::chrono::nanoseconds kDrainInterval{500'000};
  // Tests: 0 drains at every kDrainEvery sessions.
  void set_drain_interval(std::chrono::nanoseconds d) noexcept { drain_interval_ = d; }
  void mark_ready(session_base* s); // a session with dirty subscriptions to flush
  // A session with more to send after a message it wrote at once: flushed again in the
  // next pass (one message each a pass; posted when no pass is running).
  void defer_flush(session_base* s);
  // A session that is going away leaves the ready list.
  void unready(session_base* s);

  // Topics (ticker, status, imbalance) and trades: sessions add their subscription to
  // the returned channel's subs and remove it with release_topic.
  topic& acquire_topic(instrument_id id, protocol::channel_kind kind);
  void release_topic(instrument_id id, protocol::channel_kind kind, subscription* s);
  // The topic's version and stamps, and (JSON) its shared head.
  [[nodiscard]] topic_message topic_fragment(instrument_id id, protocol::channel_kind kind, bool with_head = true);
  // A whole topic update in Cap'n Proto with a session's stamps (not shared: the stamps differ).
  [[nodiscard]] std::string topic_binary(instrument_id id, protocol::channel_kind kind,
                                         std::uint64_t oldest_exch, std::uint64_t oldest_recv, std::uint64_t merged);
  // Trades after from_seq - 1 for a subscription, none after upto; at most
  // kMaxTradesPerUpdate of them. A session passes the head it judged its lag by (the feed
  // publishes meanwhile: read again, the head would give it more than its --trade-queue).
  // JSON comes from the trade text (trade_text) when it holds from_seq; otherwise, and for
  // Cap'n Proto, the update from from_seq is encoded once and shared by every session at
  // from_seq until the head moves.
  static constexpr std::size_t kMaxTradesPerUpdate = 256;
  static constexpr std::uint64_t kNoBound = ~std::uint64_t{0};
  [[nodiscard]] trade_batch trade_fragment(instrument_id id, std::uint64_t from_seq,
                                         protocol::wire_format fmt = protocol::wire_format::json,
                                         std::uint64_t upto = kNoBound);
  // trade_fragment's JSON from this thread's trade text; false when the text does not hold
  // from_seq (it is older: a session further behind than the text, or trades the ring
  // overwrote before the text had them).
  [[nodiscard]] bool trade_text(instrument_id id, std::uint64_t from_seq, trade_batch& out,
                                std::uint64_t upto = kNoBound);
  // The newest trade seq of an instrument (0: none yet) and the oldest still held.
  [[nodiscard]] std::uint64_t trade_head(instrument_id id) const noexcept;
  [[nodiscard]] std::uint64_t trade_oldest(instrument_id id) const noexcept;
  // Wildcard subscriptions (`ticker.*`): told about every instrument added later.
  void add_wildcard(subscription* parent);
  void remove_wildcard(subscription* parent);

  // --- any thread (/health) ---
  [[nodiscard]] std::size_t ws_connections() const noexcept { return ws_count_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::size_t http_connections() const noexcept { return http_count_.load(std::memory_order_relaxed); }

private:
  struct trade_frag {
    std::uint64_t from = 0; // the cursor it serves
    protocol::wire_format fmt = protocol::wire_format::json;
    std::uint64_t resume_seq = 0;
    std::uint64_t next_seq = 0;
    protocol::batch_stamps stamps;
    std::string text; // the update (empty: nothing new)
    [[nodiscard]] trade_batch batch() const noexcept { return {resume_seq, {text, {}, {}}, next_seq, stamps}; }
  };
  // An instrument's trades as JSON text, each trade encoded once on this thread and put
  // after the one before as `,{..}`, so the trades from any held seq on are one run.
  // Every kTradeTextSlack trades, text that no subscription here still needs is dropped;
  // at most trade_queue trades before the newest are needed (a subscription further
  // behind skips to there), so an instrument holds at most trade_queue + kTradeTextSlack
  // trades' text (117 bytes with its comma for docs/protocol.md's example trade with
  // 19-digit stamps), and about kTradeTextSlack when its readers keep up.
  static constexpr std::size_t kTradeTextSlack = 512;
  struct trade_texts {
    std::uint64_t epoch = 0;
    std::uint64_t first_seq = 0; // seq of entries[0]; 0: nothing held yet
    std::uint64_t base = 0;      // stream offset of text[0]
    std::size_t compact_at = kTradeTextSlack;
    struct entry {
      std::uint64_t begin = 0; // stream offset of the trade's ','
      std::uint64_t exch_ts = 0;
      std::uint64_t recv_ts = 0;
    };
    std::vector<entry> entries;
    std::string text;
    // The head of the last update cut (sessions at the same cursor share it).
    std::uint64_t head_first = 0;
    std::uint64_t head_last = 0;
    std::string head;
    [[nodiscard]] std::uint64_t next_seq() const noexcept { return first_seq + entries.size(); }
    void restart(std::uint64_t ep, std::uint64_t seq);
  };
  // Encodes the trades after texts.next_seq() up to the head, then drops what neither a
  // subscription in subs nor the cursor `asked` needs any more.
  void extend_texts(trade_texts& x, const trade_history& h, const instrument_info& info,
                    const std::vector<subscription*>& subs, std::uint64_t asked);
  // Ticker, trades, status and imbalance of one instrument (allocated on first use).
  struct topics_state {
    topic ticker, trades, status, imbalance;
    ticker_view view;
    mdgw::instrument_state state;
    data_quality quality = data_quality::ok;
    quality_reason reason = quality_reason::none;
    std::uint64_t trade_cache_head = 0;
    std::vector<trade_frag> trade_cache;
    trade_texts texts;
    [[nodiscard]] topic& get(protocol::channel_kind k) noexcept;
    [[nodiscard]] bool empty() const noexcept {
      return ticker.subs.empty() && trades.subs.empty() && status.subs.empty() && imbalance.subs.empty();
    }
  };
  struct instrument_view {
    std::unique_ptr<book_top> top; // this thread's copy of the slot, read lazily
    bool changed = true;           // a notice arrived since `top` was read
    // Stamps of the first notice since `top` was read: the oldest source update the
    // next read merges (0: unknown, e.g. after a ring overflow rescan).
    std::uint64_t first_exch_ts = 0;
    std::uint64_t first_recv_ts = 0;
    std::vector<book_channel*> channels;
    std::unique_ptr<topics_state> topics;
    // Full depth channels: the full slot's copy, read when the book is deeper than `top`.
    std::unique_ptr<full_book_top> full;
    bool full_ok = false; // `full` holds a published state
  };

  // Reads the slot when a notice arrived and records a new state in every channel of
  // the instrument whose top `depth` levels, version or quality changed.
  void refresh(instrument_view& is, instrument_id id);
  void record(book_channel& ch, const instrument_view& is);
  instrument_view& view(instrument_id id);
  void release_view(instrument_id id);
  // After a notice: re-derive the topics of `is` and mark the subscribers of those that changed.
  void update_book_topics(instrument_view& is, instrument_id id, const notice& n);
  void update_trade_topics(instrument_view& is, instrument_id id, const notice& n);
  void update_state_topics(instrument_view& is, instrument_id id, const notice& n);
  void read_last_trade(topics_state& t, instrument_id id);
  void grow_wildcards();

  void on_wake();
  // Posts on_wake (a drain, then a pass over the ready sessions) unless it is posted.
  void post_pass();
  // Notices published since the last drain (and instruments new to the wildcards).
  void drain();
  void flush_ready();
  void on_notice(const notice& n);
  void check_drained();

  std::size_t index_;
  publication& pub_;
  const gateway_config& cfg_;

  std::vector<instrument_view> instruments_;
  std::vector<subscription*> wildcards_;
  std::size_t wildcard_known_ = 0; // instruments the wildcards were told about
  std::vector<std::unique_ptr<book_channel>> channel_store_;
  std::vector<session_base*> ready_; // null: a session that left while listed
  // Sessions listed again during a pass that had already flushed in it: the next pass's.
  std::vector<session_base*> later_;
  std::uint64_t pass_ = 0;           // flush_ready() calls
  std::chrono::nanoseconds drain_interval_ = kDrainInterval;
  bool flushing_ = false;            // flush_ready() is running
  send_batch batch_;
  bool pass_posted_ = false; // post_pass()
  std::string scratch_;     // checksum text
  book_record candidate_;   // the next state, before it is known to differ
  // Trades read from a history (trade_fragment, extend_texts): a member, not a local,
  // because trade_record's initializers would zero a local of that size on every call.
  std::unique_ptr<trade_record[]> trade_buf_ = std::make_unique<trade_record[]>(kMaxTradesPerUpdate);
  std::unordered_set<connection*> connections_;
  // After connections_: a waiting handshake holds its session, whose destructor leaves
  // the registry.
  std::size_t handshakes_ = 0;
  std::deque<std::function<void()>> handshake_queue_;
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
