// Publication: how a feed thread hands book states and trades to the io threads.
//
//   feed thread ─► producer::publish_book ─► seqlock slot per instrument (latest state)
//                                        └─► change notice into an spsc ring per io thread
//   feed thread ─► producer::publish_trade ─► trade_history per instrument (bounded stream)
//                                         └─► trade notice into an spsc ring per io thread
//   feed thread ─► producer::flush (end of a batch) ─► wake each io thread at most once
//   io thread   ─► publication::drain ─► notices ─► reads slots, reads trades by cursor
//
// Why it is correct and bounded:
// - One spsc_queue per (producer, io thread): each has exactly one writer and one reader.
// - A book notice is pushed only when the instrument's pending flag for that io thread
//   was clear, so a ring never holds more than one book notice per instrument: the io
//   thread learns "this instrument changed" and reads the newest state from the slot
//   (conflation happens here, for free). The io thread clears the flag *before* reading
//   the slot (with a seq_cst fence between), so a publish that its read misses always
//   finds the flag clear and pushes a fresh notice.
// - Trades are a stream, but their notices are conflated the same way (a second pending
//   flag per instrument and io thread): the trades themselves live once, in the
//   instrument's trade_history (trade_history.hpp), and a notice only says "new trades
//   up to seq". The io thread reads every trade after its cursor from the history; one
//   that fell more than the history's capacity behind learns exactly how many it lost
//   from read()'s `lost`. So neither the rings nor the io threads' memory grow with the
//   trade rate, and a loss is always exact, per reader, never silent.
// - A history is allocated on its instrument's first trade, by the feed thread, and its
//   pointer published with release; readers load it with acquire (nullptr: no trades).
// - Wake-ups: `armed` is true while an io thread is idle. flush() wakes an io thread only
//   if it received notices in this batch and `armed` was true (exchange to false), so it
//   is woken at most once per batch. The io thread re-arms after draining and then checks
//   the rings once more (seq_cst fences on both sides: the store-buffer case), so a
//   notice pushed concurrently is never stranded.
// - If a ring is full (an io thread stalled for a long time), the notice is not lost
//   silently: the io thread's overflow flag is raised and its next drain treats every
//   instrument as changed (a book notice for each, and a trade notice for each that has
//   trades). No trade is lost by an overflow: the history still holds them.
#pragma once

#include "book_top.hpp"
#include "instrument_state.hpp"
#include "level_book.hpp"
#include "recorder.hpp"
#include "seqlock.hpp"
#include "trade_history.hpp"
#include "types.hpp"

#include <boost/lockfree/spsc_queue.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mdgw {

struct notice {
  enum class kind : std::uint8_t { book = 0, trade = 1, state = 2 };
  kind what = kind::book;
  side aggressor = side::bid;      // trades: the side that took liquidity
  std::uint16_t reserved_ = 0;
  instrument_id instrument = 0;
  std::uint64_t seq = 0;           // trades: the newest trade seq in the history at push
  price_t price = 0;               // trades: that newest trade's (read the rest from
  qty_t qty = 0;                   // publication::trades(instrument) by cursor)
  std::uint64_t exch_ts = 0;
  std::uint64_t recv_ts = 0;
};
static_assert(std::is_trivially_copyable_v<notice>);
static_assert(sizeof(notice) == 48);

class publication;

// The feed thread's handle. Not thread-safe: one producer per feed thread.
class producer {
public:
  producer(const producer&) = delete;
  producer& operator=(const producer&) = delete;

  // Publishes the top of `book` as instrument `id`'s state at `version`. Levels: a
  // level_book, or anything book_top::fill_from reads (depth and copy_top, best first).
  template <class Levels>
  void publish_book(instrument_id id, const Levels& book, std::uint64_t version, std::uint64_t exch_ts,
                    std::uint64_t recv_ts, std::uint64_t recv_mono, data_quality quality = data_quality::ok,
                    quality_reason reason = quality_reason::none) noexcept {
    stage_book(id, version, exch_ts, recv_ts, recv_mono, quality, reason);
    staging_.fill_from(book);
    // Deeper than a book_top holds: the whole book goes to the full slot too.
    if (staging_.deeper != 0) {
      if (full_book_top* f = stage_full()) f->fill_from(book);
    }
    commit_book();
  }
  // Cache hint for a feed that knows which instruments it publishes next (a batch's
  // touched ones): starts loading the slot publish_book(id, ...) writes, as far as a
  // book of `levels` levels (both sides) fills it. The slots of thousands of
  // instruments are out of cache by the time each is published again.
  void prefetch_book(instrument_id id, std::size_t levels) const noexcept;
  // Appends a trade to instrument `id`'s history (allocated here on its first trade) and
  // notifies every io thread that has no trade notice pending for `id`. trade_seq is the
  // feed's numbering; the history numbers densely from 1 and a feed whose trade_seq
  // differs from that is counted (publication::renumbered_trades()).
  void publish_trade(instrument_id id, side aggressor, price_t price, qty_t qty, std::uint64_t trade_seq,
                     std::uint64_t exch_ts, std::uint64_t recv_ts) noexcept;
  // Publishes `trades` in order, exactly as publish_trade one by one, for a feed that
  // collects a batch's trades: over thousands of instruments each trade's history is out
  // of cache (and its page out of the TLB), so the histories are hinted a few trades
  // ahead, and one fence covers a run of up to kTradeRun trades instead of one each.
  static constexpr std::size_t kTradeRun = 64;
  void publish_trades(std::span<const feed_trade> trades) noexcept;
  // Publishes instrument `id`'s trading state / imbalance (rare: status messages). Each
  // io thread gets a state notice; the state itself is read from its slot.
  void publish_state(instrument_id id, const instrument_state& state) noexcept;
  // End of a batch: wakes each io thread that received notices, at most once.
  void flush();

private:
  friend class publication;
  using ring = boost::lockfree::spsc_queue<notice>;
  producer(publication& pub, std::size_t ring_capacity);
  void push(std::size_t io, const notice& n) noexcept;
  // publish_book's steps around the fills (the part that does not depend on the levels'
  // type): the staging header; the full staging (nullptr when it could not be
  // allocated), its header copied from the staging one; then the stores and notices.
  void stage_book(instrument_id id, std::uint64_t version, std::uint64_t exch_ts, std::uint64_t recv_ts,
                  std::uint64_t recv_mono, data_quality quality, quality_reason reason) noexcept;
  [[nodiscard]] full_book_top* stage_full() noexcept;
  void commit_book() noexcept;
  // Pushes n (a book or trade notice) to every io thread whose pending flag of that kind
  // for n.instrument was clear. Call after the fence that follows writing the data.
  void push_conflated(const notice& n) noexcept;
  // publish_trade's steps: the record (recorder and history; the history is allocated on
  // the instrument's first trade) returning its seq, 0 when the history could not be
  // allocated (counted); then, after the fence, the notices.
  [[nodiscard]] std::uint64_t append_trade(const feed_trade& t) noexcept;
  void notify_trade(const feed_trade& t, std::uint64_t seq) noexcept;

  publication& pub_;
  std::vector<std::unique_ptr<ring>> rings_; // one per io thread
  std::vector<std::uint8_t> touched_;         // io threads that got notices this batch
  std::unique_ptr<producer_recorder> recorder_; // null unless the publication records
  book_top staging_{};                        // built here, then copied into the slot
  std::unique_ptr<full_book_top> staging_full_; // the same for full slots, on first use
  seqlock_slot<full_book_top>* full_slot_ = nullptr; // stage_full's slot, for commit_book
};

class publication {
public:
  // trade_capacity: trades kept per instrument (a power of two >= 2; else
  // std::invalid_argument). The trade epoch is drawn at random here.
  publication(std::size_t io_threads, std::size_t max_instruments,
              std::size_t trade_capacity = trade_history::kDefaultCapacity);
  ~publication();
  publication(const publication&) = delete;
  publication& operator=(const publication&) = delete;

  // --- setup and instrument registry (any thread; not on the hot path) ---
  // Returns the new id, or nullopt when the symbol exists or capacity is exhausted.
  std::optional<instrument_id> add_instrument(instrument_info info);
  [[nodiscard]] std::optional<instrument_id> find(std::string_view symbol) const;
  [[nodiscard]] std::size_t instrument_count() const noexcept { return count_.load(std::memory_order_acquire); }
  // Precondition: id < instrument_count(). Infos are immutable once added.
  [[nodiscard]] const instrument_info& info(instrument_id id) const noexcept { return infos_[id]; }
  [[nodiscard]] std::size_t io_threads() const noexcept { return io_.size(); }

  // Before any producer publishes: one producer per feed thread.
  producer& add_producer(std::size_t ring_capacity);
  // Before start: how to wake io thread `io` (e.g. post a drain to its io_context).
  void set_waker(std::size_t io, std::function<void()> wake);
  // Records everything published from now on (feeds/recording/): the instruments already
  // added are announced to it at once, every producer gets its producer_recorder. Call
  // before any producer publishes; `r` must outlive this publication.
  void set_recorder(publish_recorder& r);

  // --- io thread side ---
  // Pops every pending notice for io thread `io` and calls on_notice(const notice&).
  // Book and trade notices come with their pending flag already cleared, so the caller
  // reads the slot / the trade history after this returns or inside on_notice. Returns
  // the number of notices.
  template <class OnNotice>
  std::size_t drain(std::size_t io, OnNotice&& on_notice);
  // Call when drain returned and the io thread goes idle. Returns true when notices
  // arrived meanwhile: the caller then drains again (it stays disarmed).
  [[nodiscard]] bool rearm(std::size_t io) noexcept;

  void read_top(instrument_id id, book_top& out) const noexcept {
    slots_[id].load(out, book_top::kHeaderBytes, [](const book_top& t) { return t.used_bytes(); });
  }
  [[nodiscard]] bool try_read_top(instrument_id id, book_top& out) const noexcept {
    return slots_[id].try_load(out, book_top::kHeaderBytes, [](const book_top& t) { return t.used_bytes(); });
  }

  void read_state(instrument_id id, instrument_state& out) const noexcept { states_[id].load(out); }

  // Full depth (`book.<SYM>.full`): whenever a book is deeper than kMaxDepth on a side
  // (book_top::deeper), the producer also publishes it whole, up to kFullDepth levels a
  // side, into the instrument's full slot (allocated on the first such publish, like a
  // trade history: 48 KiB per instrument that was ever that deep). Otherwise book_top is
  // the whole book. Reads the full slot; false when there is none.
  [[nodiscard]] bool read_full(instrument_id id, full_book_top& out) const noexcept;

  // Instrument id's trade history, nullptr until its first trade (any thread).
  [[nodiscard]] const trade_history* trades(instrument_id id) const noexcept {
    return histories_[id].load(std::memory_order_acquire);
  }
  // The epoch of every trade history of this publication (random, never 0): a client
  // resuming with another epoch resumes from trades of another process.
  [[nodiscard]] std::uint64_t trade_epoch() const noexcept { return trade_epoch_; }
  [[nodiscard]] std::size_t trade_capacity() const noexcept { return trade_capacity_; }

  // Trades no reader will ever see: their instrument's history could not be allocated.
  // (A reader that falls behind a history counts its own losses: read()'s `lost`.)
  [[nodiscard]] std::uint64_t lost_trades() const noexcept { return lost_trades_.load(std::memory_order_relaxed); }
  // Trades whose feed trade_seq was not the history's next seq (the history renumbers).
  [[nodiscard]] std::uint64_t renumbered_trades() const noexcept {
    return renumbered_trades_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t overflows() const noexcept { return overflows_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t wakeups() const noexcept { return wakeups_.load(std::memory_order_relaxed); }

private:
  friend class producer;
  struct alignas(64) io_state {
    std::atomic<bool> armed{true};
    std::atomic<bool> overflow{false};
    std::unique_ptr<std::atomic<std::uint8_t>[]> pending;        // per instrument: book notice queued
    std::unique_ptr<std::atomic<std::uint8_t>[]> pending_trades; // per instrument: trade notice queued
    std::function<void()> wake;
    std::vector<producer::ring*> rings; // one per producer
  };

  std::size_t max_instruments_;
  std::unique_ptr<instrument_info[]> infos_;
  std::unique_ptr<seqlock_slot<book_top>[]> slots_;
  std::unique_ptr<seqlock_slot<instrument_state>[]> states_;
  std::unique_ptr<std::atomic<seqlock_slot<full_book_top>*>[]> full_slots_; // owned, deleted in ~publication
  std::size_t trade_capacity_;
  std::uint64_t trade_epoch_;
  std::unique_ptr<std::atomic<trade_history*>[]> histories_; // owned: deleted in ~publication
  std::atomic<std::size_t> count_{0};
  mutable std::mutex registry_mutex_; // registry only: never taken on the data path
  std::unordered_map<std::string, instrument_id> by_symbol_;
  std::vector<std::unique_ptr<producer>> producers_;
  publish_recorder* recorder_ = nullptr; // guarded by registry_mutex_ (set before publishing)
  std::vector<io_state> io_;
  std::atomic<std::uint64_t> lost_trades_{0};
  std::atomic<std::uint64_t> renumbered_trades_{0};
  std::atomic<std::uint64_t> overflows_{0};
  std::atomic<std::uint64_t> wakeups_{0};
};

inline void producer::prefetch_book(instrument_id id, std::size_t levels) const noexcept {
  pub_.slots_[id].prefetch_store(book_top::kHeaderBytes + std::min(levels, 2 * kMaxDepth) * sizeof(price_level));
}

template <class OnNotice>
std::size_t publication::drain(std::size_t io, OnNotice&& on_notice) {
  io_state& st = io_[io];
  std::size_t n = 0;
  if (st.overflow.exchange(false, std::memory_order_acq_rel)) {
    // A ring was full: some notices were not queued. Treat everything as changed.
    const std::size_t count = instrument_count();
    for (std::size_t i = 0; i < count; ++i) {
      st.pending[i].store(0, std::memory_order_relaxed);
      st.pending_trades[i].store(0, std::memory_order_relaxed);
    }
    std::atomic_thread_fence(std::memory_order_seq_cst);
    for (std::size_t i = 0; i < count; ++i) {
      notice nt;
      nt.instrument = static_cast<instrument_id>(i);
      on_notice(static_cast<const notice&>(nt));
      ++n;
      if (const trade_history* h = trades(nt.instrument); h != nullptr) {
        nt.what = notice::kind::trade;
        nt.seq = h->head();
        on_notice(static_cast<const notice&>(nt));
        ++n;
      }
    }
  }
  for (producer::ring* r : st.rings) {
    notice batch[64];
    std::size_t got;
    while ((got = r->pop(batch, 64)) != 0) {
      for (std::size_t k = 0; k < got; ++k) {
        if (batch[k].what == notice::kind::book) {
          st.pending[batch[k].instrument].store(0, std::memory_order_relaxed);
        } else if (batch[k].what == notice::kind::trade) {
          st.pending_trades[batch[k].instrument].store(0, std::memory_order_relaxed);
        }
      }
      // Clear-then-read: pairs with the fences in producer::publish_book / publish_trade.
      std::atomic_thread_fence(std::memory_order_seq_cst);
      for (std::size_t k = 0; k < got; ++k) on_notice(static_cast<const notice&>(batch[k]));
      n += got;
    }
  }
  return n;
}

} // namespace mdgw
