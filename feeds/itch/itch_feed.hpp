// The ITCH 5.0 feed: one thread pulls messages from an itch_source (a BinaryFILE replay or
// MoldUDP64 multicast), applies them to an order-by-order itch_book and publishes books,
// trades and instrument state through a producer (book/publication.hpp), exactly like the
// simulator feed.
//
// Rationale:
// - Instruments appear when the stock directory (R) names them: symbol
//   "<venue>:<stock>" (venue "NASDAQ" by default), price scale 4, quantity scale 0, lot =
//   the round lot. Orders for a locate the directory never named are applied to the book
//   (the book stays exact) but not published; they are counted (unpublished_locates).
// - Batches: up to kMaxBatch messages are applied, then every touched instrument is
//   published once and the producer flushed once. The batch's trades are published at
//   its end too, in order and before the books (producer::publish_trades: with thousands
//   of instruments each trade's history is a cache and TLB miss, which a run of them can
//   hint ahead; one at a time, as they happened, they cost the feed thread 14% of its
//   time flat out). The io threads are woken at the flush either way.
// - Behind the source (a poll took a whole kMaxBatch: a file flat out, a MoldUDP64 burst
//   queued in the socket), the feed goes on applying without publishing for up to
//   kMaxHoldNs since its last publication, or until kMaxBatch trades wait: a day has
//   thousands of instruments and a batch of 1,024 messages touches most of the ones
//   active, so each publication carried little more than one change; held 1 ms, one
//   carries several, and the feed catches up sooner (flat out on a generated day, the
//   feed thread's time per message fell by a quarter; docs/performance.md). The poll
//   after one that held does not wait for input: if the burst ended there, what was held
//   is published at once. A feed that keeps up publishes after every poll as before.
//   A book's version is the number of add/reduce events applied to it.
// - Trading state (H), Reg SHO (Y), LULD collars (J), MWCB (V/W, market-wide) and the
//   NOII imbalance (I) become the instrument's published instrument_state.
// - A live source's gap: while gap_open(), every published instrument is republished as
//   stale (clients see it), and as ok again once the gap is filled. Messages are only
//   ever delivered in order, so the books themselves stay exact. If the source gives up
//   on a gap (lost() > 0), the books are no longer exact: every instrument stays stale
//   (ITCH has no snapshot to repair them from) and the loss is counted as errors.
// - At the end of input (file end, MoldUDP64 end of session) the final books stay served
//   and the state says "finished".
#pragma once

#include "feed.hpp"
#include "itch_book.hpp"
#include "itch_source.hpp"
#include "publication.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <stop_token>
#include <string>
#include <vector>

namespace mdgw::itch {

struct itch_feed_config {
  itch_source_config source;
  std::string venue = "NASDAQ";
  std::uint64_t midnight_ns = 0; // exch_ts = midnight_ns + ITCH timestamp (see midnight_new_york)
  std::size_t max_symbols = 10000; // instruments this feed may register
  std::size_t expected_orders = 1 << 20;
};

// Midnight in New York (where ITCH timestamps start) of the date "YYYY-MM-DD", as ns
// since the epoch, with US daylight saving rules (since 2007). Throws std::runtime_error
// on a malformed date. An empty date: today's date in New York.
[[nodiscard]] std::uint64_t midnight_new_york(const std::string& date);

class itch_feed final : public feed, private message_sink {
public:
  static constexpr std::size_t kMaxBatch = 1024;
  static constexpr std::uint64_t kMaxHoldNs = 1'000'000;

  // Opens the source (throws std::runtime_error when it cannot) and creates the producer.
  itch_feed(const itch_feed_config& config, publication& pub);
  // The same over a source the caller opened (config.source is then not used; tests).
  itch_feed(const itch_feed_config& config, publication& pub, std::unique_ptr<itch_source> source);
  ~itch_feed() override;
  itch_feed(const itch_feed&) = delete;
  itch_feed& operator=(const itch_feed&) = delete;

  void start() override;
  void stop() override;
  [[nodiscard]] feed_status status() const override;

  // True once the input ended and the final state was published (acquire).
  [[nodiscard]] bool finished() const noexcept { return runner_.finished(); }
  // Read only before start(), after finished() is true, or after stop().
  [[nodiscard]] const itch_book& book() const noexcept { return book_; }
  [[nodiscard]] std::uint64_t unpublished_locates() const noexcept { return unpublished_.load(std::memory_order_relaxed); }

private:
  void run(std::stop_token stop);
  void publish_touched();
  void on_message(const std::uint8_t* msg, std::size_t len) override;
  void on_batch(const std::span<const std::uint8_t>* msgs, std::size_t n, std::size_t ahead) override;
  // The book's events and state changes (what an event_sink gets).
  void on_event(const market_event& e);
  void on_state(locate_t locate, state_change what);
  // What the book's apply and apply_batch are given (a book_sink): calls the two above,
  // which are private, directly.
  struct book_events {
    itch_feed& feed;
    void on_event(const market_event& e) { feed.on_event(e); }
    void on_state(locate_t locate, state_change what) { feed.on_state(locate, what); }
  };
  void register_locate(locate_t locate);
  void touch(locate_t locate);
  void touch_state(locate_t locate);
  [[nodiscard]] instrument_state make_state(locate_t locate) const;
  [[nodiscard]] data_quality quality() const noexcept {
    return gap_open_ || lost_ ? data_quality::stale : data_quality::ok;
  }

  static constexpr instrument_id kNone = ~instrument_id{0};

  itch_feed_config config_;
  publication& pub_;
  std::unique_ptr<itch_source> source_;
  producer& producer_;
  itch_book book_;
  std::vector<instrument_id> pub_ids_;    // by locate; kNone: not registered
  std::vector<std::uint64_t> versions_;   // by locate
  std::vector<std::uint64_t> trade_seqs_; // by locate
  std::vector<std::uint64_t> state_versions_;
  std::vector<std::uint64_t> exch_ts_;    // by locate: newest event
  std::vector<std::uint8_t> touched_;     // bit 0: book, bit 1: state
  std::vector<locate_t> touched_list_;
  std::vector<locate_t> registered_;      // locates with a publication id
  std::vector<feed_trade> pending_trades_; // the batch's trades, published with its books
  bool gap_open_ = false;
  bool lost_ = false; // the source gave up on a gap: the books are not exact any more
  bool reported_full_ = false;

  std::atomic<std::uint64_t> messages_{0};
  std::atomic<std::uint64_t> errors_{0};
  std::atomic<std::uint64_t> unpublished_{0};

  feed_runner runner_; // last: its thread is joined before the rest goes
};

} // namespace mdgw::itch
