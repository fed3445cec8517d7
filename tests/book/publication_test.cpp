// publication: the path from one feed thread to the io threads.
//
// The single-threaded tests pin down the contract step by step (conflation, wake once per
// batch, rearm, overflow). The threaded ones run a producer against two io threads that
// sleep until woken (one on a condition variable, one spinning on a flag; the producer
// calls the waker from flush()) and check what an io thread must be able to rely on:
// - nothing is stranded: after the producer's last flush, every io thread ends up having
//   read every instrument's final version and every trade up to the last (read from the
//   trade history by its cursor on trade notices), without being woken by anything but
//   the waker;
// - versions read per instrument never go backwards, and every read is a whole book;
// - every trade read is exactly the trade published under its seq, in order; a reader
//   misses trades only if it fell a whole history behind, and then its delivered + lost
//   adds up exactly to the trades published (with a large history: nothing lost);
// - the waker runs on the producer thread, at most once per flush per io thread, and
//   never again before the io thread has re-armed.
// Each run ends with a directed round against the one race the design must close: a
// publish landing while an io thread is busy with that instrument's previous notice
// (see harness::produce), for books and for trades. Checked by mutation: a publication
// that clears the pending flag after the read instead of before it strands a version
// there, every run (and one clearing the trade flag late strands trades: checked once).
#include "publication.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace mdgw {
namespace {

using clock_type = std::chrono::steady_clock;

// --- books whose every field is derived from (instrument, version) ---

std::size_t bids_for(std::uint64_t v) noexcept { return v % 56; }      // up to 55: past kMaxDepth too
std::size_t asks_for(std::uint64_t v) noexcept { return (v * 3) % 56; }
price_t bid_price(instrument_id id, std::size_t i) noexcept {
  return 1'000'000 + price_t{id} * 1000 - static_cast<price_t>(i);
}
price_t ask_price(instrument_id id, std::size_t i) noexcept {
  return 1'000'000 + price_t{id} * 1000 + 1 + static_cast<price_t>(i);
}
qty_t qty_for(std::uint64_t v, std::size_t i, side s) noexcept {
  return static_cast<qty_t>((v << 8) + (s == side::bid ? 0 : 128) + i + 1);
}
std::uint32_t orders_for(std::uint64_t v) noexcept { return static_cast<std::uint32_t>(v % 1000) + 1; }
std::uint64_t exch_ts_for(instrument_id id, std::uint64_t v) noexcept { return v * 3 + id; }

// Trades: every field derived from (instrument, seq).
side trade_side(std::uint64_t s) noexcept { return (s & 1U) != 0 ? side::bid : side::ask; }
price_t trade_price(instrument_id id, std::uint64_t s) noexcept { return bid_price(id, 0) + static_cast<price_t>(s % 97); }
qty_t trade_qty(std::uint64_t s) noexcept { return static_cast<qty_t>(s % 100) + 1; }

std::string check_trade(instrument_id id, std::uint64_t s, const trade_record& r) {
  if (r.seq != s) return "trade seq " + std::to_string(r.seq) + " where " + std::to_string(s) + " was expected";
  if (r.instrument != id || r.aggressor != trade_side(s) || r.price != trade_price(id, s) || r.qty != trade_qty(s) ||
      r.exch_ts != s || r.recv_ts != s * 2) {
    return "trade " + std::to_string(s) + " of instrument " + std::to_string(id) + " has wrong fields";
  }
  return {};
}

void build_book(level_book& book, instrument_id id, std::uint64_t v) {
  book.clear();
  for (std::size_t i = 0; i < bids_for(v); ++i) {
    if (book.set(side::bid, bid_price(id, i), qty_for(v, i, side::bid), orders_for(v)) != apply_status::ok) std::abort();
  }
  for (std::size_t i = 0; i < asks_for(v); ++i) {
    if (book.set(side::ask, ask_price(id, i), qty_for(v, i, side::ask), orders_for(v)) != apply_status::ok) std::abort();
  }
}

void publish(producer& p, level_book& scratch, instrument_id id, std::uint64_t v) {
  build_book(scratch, id, v);
  p.publish_book(id, scratch, v, exch_ts_for(id, v), v * 5, v * 7);
}

// Empty when t is exactly instrument id's book at t.version (or the never-published slot).
std::string check_top(instrument_id id, const book_top& t) {
  if (t.version == 0) {
    return t.n_bids == 0 && t.n_asks == 0 ? std::string{} : "version 0 with levels";
  }
  const std::uint64_t v = t.version;
  if (t.instrument != id) return "instrument " + std::to_string(t.instrument) + " in slot " + std::to_string(id);
  if (t.exch_ts != exch_ts_for(id, v) || t.recv_ts != v * 5 || t.recv_mono != v * 7) return "stamps";
  if (t.quality != data_quality::ok) return "quality";
  if (t.n_bids != std::min(bids_for(v), kMaxDepth) || t.n_asks != std::min(asks_for(v), kMaxDepth)) return "depth";
  for (std::size_t i = 0; i < t.n_bids; ++i) {
    if (!(t.bids()[i] == price_level{bid_price(id, i), qty_for(v, i, side::bid), orders_for(v), 0})) return "bid level";
  }
  for (std::size_t i = 0; i < t.n_asks; ++i) {
    if (!(t.asks()[i] == price_level{ask_price(id, i), qty_for(v, i, side::ask), orders_for(v), 0})) return "ask level";
  }
  return {};
}

void add_instruments(publication& pub, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    instrument_info info;
    info.symbol = "SIM:I" + std::to_string(i);
    info.venue = "SIM";
    ASSERT_EQ(pub.add_instrument(info), static_cast<instrument_id>(i));
  }
}

struct drained {
  std::vector<notice> books;
  std::vector<notice> trades;
};

drained drain_all(publication& pub, std::size_t io) {
  drained d;
  pub.drain(io, [&](const notice& n) { (n.what == notice::kind::book ? d.books : d.trades).push_back(n); });
  return d;
}

// --- single-threaded contract ---

TEST(publication, registry) {
  publication pub(1, 2);
  add_instruments(pub, 2);
  EXPECT_EQ(pub.instrument_count(), 2U);
  EXPECT_EQ(pub.find("SIM:I1"), instrument_id{1});
  EXPECT_EQ(pub.find("SIM:NOPE"), std::nullopt);
  EXPECT_EQ(pub.info(1).id, 1U);
  instrument_info dup;
  dup.symbol = "SIM:I0";
  EXPECT_EQ(pub.add_instrument(dup), std::nullopt); // duplicate symbol
  instrument_info more;
  more.symbol = "SIM:I9";
  EXPECT_EQ(pub.add_instrument(more), std::nullopt); // capacity
}

TEST(publication, book_notices_are_conflated_per_instrument) {
  publication pub(2, 4);
  add_instruments(pub, 4);
  producer& p = pub.add_producer(64);
  level_book scratch;
  for (std::uint64_t v = 1; v <= 10; ++v) publish(p, scratch, 2, v);
  publish(p, scratch, 3, 1);
  for (std::size_t io = 0; io < 2; ++io) {
    const drained d = drain_all(pub, io);
    ASSERT_EQ(d.books.size(), 2U) << "one notice per changed instrument, not per publish";
    EXPECT_EQ(d.books[0].instrument, 2U);
    EXPECT_EQ(d.books[1].instrument, 3U);
    book_top t;
    pub.read_top(2, t);
    EXPECT_EQ(t.version, 10U);
    EXPECT_EQ(check_top(2, t), "");
  }
  // The flag was cleared by the drain, so the next change notifies again.
  publish(p, scratch, 2, 11);
  EXPECT_EQ(drain_all(pub, 0).books.size(), 1U);
  EXPECT_EQ(pub.overflows(), 0U);
}

TEST(publication, read_top_clamps_depth_and_ignores_stale_levels) {
  publication pub(1, 1);
  add_instruments(pub, 1);
  producer& p = pub.add_producer(8);
  level_book scratch;
  std::uint64_t deep = 1;
  while (bids_for(deep) <= kMaxDepth || asks_for(deep) < 40) ++deep; // more than kMaxDepth bids
  std::uint64_t shallow = deep + 1;
  while (bids_for(shallow) + asks_for(shallow) > 6) ++shallow;
  publish(p, scratch, 0, deep);
  book_top t;
  pub.read_top(0, t);
  EXPECT_EQ(t.n_bids, kMaxDepth);
  EXPECT_EQ(check_top(0, t), "");
  publish(p, scratch, 0, shallow);
  ASSERT_TRUE(pub.try_read_top(0, t));
  EXPECT_EQ(t.version, shallow);
  EXPECT_EQ(check_top(0, t), "");
}

// Reads every trade of instrument id after *cursor from its history, as an io thread
// does on a trade notice. Returns the records; adds what was gone to *lost.
std::vector<trade_record> read_trades(const publication& pub, instrument_id id, std::uint64_t& cursor,
                                      std::uint64_t& lost) {
  std::vector<trade_record> all;
  const trade_history* h = pub.trades(id);
  if (h == nullptr) return all;
  trade_record buf[16];
  for (;;) {
    const auto r = h->read(cursor, buf);
    lost += r.lost;
    cursor = r.next_seq;
    all.insert(all.end(), buf, buf + r.count);
    if (r.count == 0 && r.lost == 0) return all;
  }
}

TEST(publication, trade_notices_are_conflated_and_the_history_has_every_trade) {
  publication pub(2, 3);
  add_instruments(pub, 3);
  producer& p = pub.add_producer(64);
  EXPECT_EQ(pub.trades(0), nullptr);
  std::uint64_t seqs[2] = {0, 0};
  for (std::uint64_t k = 1; k <= 20; ++k) {
    const auto id = static_cast<instrument_id>(k % 2);
    p.publish_trade(id, side::ask, 100 + k, k, ++seqs[id], k * 3, k * 5);
  }
  EXPECT_EQ(pub.trades(2), nullptr) << "no trade, no history";
  for (std::size_t io = 0; io < 2; ++io) {
    const drained d = drain_all(pub, io);
    ASSERT_EQ(d.trades.size(), 2U) << "one trade notice per instrument, not per trade";
    EXPECT_EQ(d.trades[0].instrument, 1U); // the first trade was on instrument 1
    EXPECT_EQ(d.trades[0].seq, 1U) << "the newest seq when the notice was pushed";
    EXPECT_EQ(d.trades[1].instrument, 0U);
    for (instrument_id id = 0; id < 2; ++id) {
      std::uint64_t cursor = 1;
      std::uint64_t lost = 0;
      const std::vector<trade_record> got = read_trades(pub, id, cursor, lost);
      ASSERT_EQ(got.size(), 10U);
      EXPECT_EQ(lost, 0U);
      for (std::size_t j = 0; j < got.size(); ++j) {
        const std::uint64_t k = 2 * j + (id == 1 ? 1 : 2); // the k that published it
        EXPECT_EQ(got[j].seq, j + 1);
        EXPECT_EQ(got[j].instrument, id);
        EXPECT_EQ(got[j].price, static_cast<price_t>(100 + k));
        EXPECT_EQ(got[j].qty, static_cast<qty_t>(k));
        EXPECT_EQ(got[j].exch_ts, k * 3);
        EXPECT_EQ(got[j].recv_ts, k * 5);
        EXPECT_EQ(got[j].aggressor, side::ask);
      }
    }
  }
  // The flag was cleared by the drain: the next trade notifies again, with its seq.
  p.publish_trade(0, side::bid, 1, 1, ++seqs[0], 0, 0);
  const drained d = drain_all(pub, 0);
  ASSERT_EQ(d.trades.size(), 1U);
  EXPECT_EQ(d.trades[0].seq, 11U);
  EXPECT_EQ(pub.lost_trades(), 0U);
  EXPECT_EQ(pub.renumbered_trades(), 0U);
  EXPECT_EQ(pub.overflows(), 0U);
}

TEST(publication, trade_history_capacity_epoch_and_renumbering) {
  EXPECT_THROW(publication(1, 1, 1000), std::invalid_argument);
  EXPECT_THROW(publication(1, 1, 1), std::invalid_argument);
  publication pub(1, 2, 8);
  add_instruments(pub, 2);
  EXPECT_EQ(pub.trade_capacity(), 8U);
  EXPECT_NE(pub.trade_epoch(), 0U);
  publication other(1, 1);
  EXPECT_EQ(other.trade_capacity(), trade_history::kDefaultCapacity);
  EXPECT_NE(other.trade_epoch(), pub.trade_epoch()) << "a restarted gateway must not reuse the epoch";

  producer& p = pub.add_producer(64);
  for (std::uint64_t s = 1; s <= 20; ++s) p.publish_trade(0, side::bid, 10, 1, s, 0, 0);
  const trade_history* h = pub.trades(0);
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->capacity(), 8U);
  EXPECT_EQ(h->epoch(), pub.trade_epoch());
  EXPECT_EQ(h->head(), 20U);
  std::uint64_t cursor = 1;
  std::uint64_t lost = 0;
  EXPECT_EQ(read_trades(pub, 0, cursor, lost).size(), 8U);
  EXPECT_EQ(lost, 12U) << "a reader 12 behind an 8-slot history lost exactly 12";
  EXPECT_EQ(pub.lost_trades(), 0U) << "the publication itself lost nothing";

  // A feed that skips or repeats a seq: the history stays dense and counts it.
  p.publish_trade(1, side::bid, 10, 1, 5, 0, 0);
  p.publish_trade(1, side::bid, 10, 1, 5, 0, 0);
  EXPECT_EQ(pub.trades(1)->head(), 2U);
  EXPECT_EQ(pub.renumbered_trades(), 2U);
}

TEST(publication, wakes_at_most_once_per_batch_and_rearm_closes_the_gap) {
  publication pub(2, 4);
  add_instruments(pub, 4);
  producer& p = pub.add_producer(64);
  int wakes[2] = {0, 0};
  pub.set_waker(0, [&] { ++wakes[0]; });
  pub.set_waker(1, [&] { ++wakes[1]; });
  level_book scratch;

  p.flush(); // nothing published: nobody is woken
  EXPECT_EQ(wakes[0] + wakes[1], 0);

  for (std::uint64_t v = 1; v <= 5; ++v) {
    publish(p, scratch, 0, v);
    publish(p, scratch, 1, v);
    p.publish_trade(0, side::bid, 10, 1, v, 0, 0);
  }
  p.flush();
  EXPECT_EQ(wakes[0], 1);
  EXPECT_EQ(wakes[1], 1);

  // Woken but not yet drained (disarmed): more batches wake nobody.
  publish(p, scratch, 2, 1);
  p.flush();
  EXPECT_EQ(wakes[0], 1);
  EXPECT_EQ(wakes[1], 1);
  EXPECT_EQ(pub.wakeups(), 2U);

  // io 0 drains and goes idle; rearm finds the rings empty.
  EXPECT_EQ(drain_all(pub, 0).books.size(), 3U);
  EXPECT_FALSE(pub.rearm(0));
  publish(p, scratch, 3, 1);
  p.flush();
  EXPECT_EQ(wakes[0], 2); // idle again, so woken
  EXPECT_EQ(wakes[1], 1); // io 1 never re-armed

  // A publish between io 0's drain and its rearm: the producer sees io 0 disarmed and
  // does not wake it, so rearm must report the notice and the io thread drains again.
  (void)drain_all(pub, 0);
  publish(p, scratch, 3, 2);
  p.flush();
  EXPECT_EQ(wakes[0], 2);
  EXPECT_TRUE(pub.rearm(0));
  EXPECT_EQ(drain_all(pub, 0).books.size(), 1U);
  EXPECT_FALSE(pub.rearm(0));
  EXPECT_EQ(pub.wakeups(), 3U);
}

TEST(publication, ring_overflow_is_counted_and_rescans_every_instrument) {
  publication pub(2, 8);
  add_instruments(pub, 8);
  producer& p = pub.add_producer(2);
  level_book scratch;
  for (instrument_id id = 0; id < 5; ++id) publish(p, scratch, id, 7); // 2 queued, 3 not
  // No notice fits, but the trades are in the history: nothing is lost.
  for (std::uint64_t s = 1; s <= 3; ++s) p.publish_trade(0, side::bid, 10, 1, s, 0, 0);
  EXPECT_EQ(pub.lost_trades(), 0U);
  EXPECT_EQ(pub.overflows(), (3U + 3U) * 2);
  for (std::size_t io = 0; io < 2; ++io) {
    const drained d = drain_all(pub, io);
    // The rescan tells about instrument 0's trades (the only one that has any).
    ASSERT_EQ(d.trades.size(), 1U);
    EXPECT_EQ(d.trades[0].instrument, 0U);
    EXPECT_EQ(d.trades[0].seq, 3U);
    std::uint64_t cursor = 1;
    std::uint64_t lost = 0;
    EXPECT_EQ(read_trades(pub, 0, cursor, lost).size(), 3U);
    EXPECT_EQ(lost, 0U);
    // Every registered instrument is reported changed, then the 2 queued notices.
    std::vector<int> seen(8, 0);
    for (const notice& n : d.books) ++seen.at(n.instrument);
    for (instrument_id id = 0; id < 8; ++id) EXPECT_GE(seen[id], 1) << id;
    for (instrument_id id = 0; id < 5; ++id) {
      book_top t;
      pub.read_top(id, t);
      EXPECT_EQ(t.version, 7U);
      EXPECT_EQ(check_top(id, t), "");
    }
    EXPECT_FALSE(pub.rearm(io));
  }
  // Back to normal once drained.
  publish(p, scratch, 6, 1);
  p.publish_trade(0, side::bid, 10, 1, 4, 0, 0);
  const drained d = drain_all(pub, 0);
  EXPECT_EQ(d.books.size(), 1U);
  ASSERT_EQ(d.trades.size(), 1U);
  EXPECT_EQ(d.trades[0].seq, 4U);
  EXPECT_EQ(pub.lost_trades(), 0U);
}

TEST(publication, publish_trades_is_publish_trade_one_by_one) {
  // Two publications side by side: one gets each trade through publish_trade, the other
  // the same trades in runs through publish_trades (runs longer than kTradeRun, an
  // instrument's first trade inside a run, a renumbered seq). Histories, notices per io
  // thread (what is conflated, and in which order) and counters must be the same.
  publication one(2, 6, 64);
  publication runs(2, 6, 64);
  add_instruments(one, 6);
  add_instruments(runs, 6);
  producer& p1 = one.add_producer(256);
  producer& p2 = runs.add_producer(256);
  std::mt19937_64 rng(11);
  std::vector<std::uint64_t> seqs(6, 0);
  std::vector<feed_trade> batch;
  const std::size_t sizes[] = {1, producer::kTradeRun - 1, producer::kTradeRun, producer::kTradeRun + 1, 150, 3};
  std::uint64_t k = 0;
  for (const std::size_t n : sizes) {
    batch.clear();
    for (std::size_t j = 0; j < n; ++j, ++k) {
      // Instrument 5 trades only from the third run on: its history is allocated inside one.
      const auto id = static_cast<instrument_id>(rng() % (k < 100 ? 5 : 6));
      const std::uint64_t seq = ++seqs[id] + (k == 200 ? 1000 : 0); // one seq the history renumbers
      const feed_trade t{id, (rng() & 1U) != 0 ? side::bid : side::ask, static_cast<price_t>(1000 + rng() % 50),
                               static_cast<qty_t>(1 + rng() % 9), seq, k * 3, k * 5};
      p1.publish_trade(t.instrument, t.aggressor, t.price, t.qty, t.trade_seq, t.exch_ts, t.recv_ts);
      batch.push_back(t);
    }
    p2.publish_trades(batch);
    p1.flush();
    p2.flush();
    for (std::size_t io = 0; io < 2; ++io) {
      const drained a = drain_all(one, io);
      const drained b = drain_all(runs, io);
      ASSERT_EQ(a.trades.size(), b.trades.size()) << "run of " << n << ", io thread " << io;
      ASSERT_FALSE(a.trades.empty());
      for (std::size_t j = 0; j < a.trades.size(); ++j) {
        EXPECT_EQ(std::memcmp(&a.trades[j], &b.trades[j], sizeof(notice)), 0) << "notice " << j << ", run of " << n;
      }
    }
  }
  for (instrument_id id = 0; id < 6; ++id) {
    SCOPED_TRACE("instrument " + std::to_string(id));
    ASSERT_NE(one.trades(id), nullptr);
    ASSERT_NE(runs.trades(id), nullptr);
    EXPECT_EQ(one.trades(id)->head(), runs.trades(id)->head());
    std::uint64_t c1 = 1;
    std::uint64_t c2 = 1;
    std::uint64_t lost1 = 0;
    std::uint64_t lost2 = 0;
    const std::vector<trade_record> a = read_trades(one, id, c1, lost1);
    const std::vector<trade_record> b = read_trades(runs, id, c2, lost2);
    ASSERT_EQ(a.size(), b.size());
    EXPECT_EQ(lost1, lost2);
    for (std::size_t j = 0; j < a.size(); ++j) {
      EXPECT_EQ(std::memcmp(&a[j], &b[j], sizeof(trade_record)), 0) << "trade " << a[j].seq;
    }
  }
  EXPECT_EQ(k, 346U);
  EXPECT_EQ(one.renumbered_trades(), 1U);
  EXPECT_EQ(runs.renumbered_trades(), one.renumbered_trades());
  EXPECT_EQ(runs.lost_trades(), 0U);
  EXPECT_EQ(runs.overflows(), 0U);
}

// --- threaded ---

struct scenario {
  std::size_t instruments = 64;
  std::size_t ring_capacity = 1U << 16;
  std::uint32_t min_batch = 1;
  std::uint32_t max_batch = 32;
  std::uint32_t trade_pct = 20;
  std::size_t trade_capacity = 4096; // per instrument: more than a run's trades on one
  std::uint64_t max_steps = 200'000;
  std::chrono::milliseconds max_duration{2000};
  std::uint64_t seed = 42;
  // Trades collected and published at the end of each batch with publish_trades (one
  // fence per run), as the ITCH feed does, instead of one publish_trade each.
  bool trades_in_runs = false;
};

constexpr std::size_t kIoThreads = 2;

// One io thread's view. The atomics are read by the test thread while the io thread runs
// (to see when it has caught up); everything else is read only after join.
struct io_view {
  // waking (io 0: mutex + condition variable, io 1: spin on a flag)
  std::mutex mutex;
  std::condition_variable cv;
  bool woken = false;
  bool stop = false;
  std::atomic<bool> flag{false};
  std::atomic<bool> stop_flag{false};

  std::unique_ptr<std::atomic<std::uint64_t>[]> version_seen;
  std::unique_ptr<std::atomic<std::uint64_t>[]> trade_seen; // per instrument: cursor - 1
  std::atomic<std::uint64_t> trades_accounted{0}; // received + lost, all instruments

  std::vector<std::uint64_t> trade_cursor;     // per instrument: the next seq to read
  std::uint64_t trades_received = 0;
  std::uint64_t trades_lost = 0;
  std::uint64_t book_notices = 0;
  std::uint64_t drains = 0;
  std::uint64_t idles = 0; // rearm() returned false: armed again, waiting for the waker
  std::uint64_t bad_books = 0;
  std::uint64_t backwards = 0;
  std::uint64_t bad_trades = 0; // a record that is not the trade published under its seq
  std::string first_error;
};

void work_a_little() noexcept {
  for (int k = 0; k < 40; ++k) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#else
    std::this_thread::yield();
#endif
  }
}

class harness {
public:
  explicit harness(const scenario& sc) : sc_(sc), pub_(kIoThreads, sc.instruments, sc.trade_capacity) {
    add_instruments(pub_, sc.instruments);
    prod_ = &pub_.add_producer(sc.ring_capacity);
    for (std::size_t io = 0; io < kIoThreads; ++io) {
      auto v = std::make_unique<io_view>();
      v->version_seen = std::make_unique<std::atomic<std::uint64_t>[]>(sc.instruments);
      v->trade_seen = std::make_unique<std::atomic<std::uint64_t>[]>(sc.instruments);
      for (std::size_t i = 0; i < sc.instruments; ++i) {
        v->version_seen[i].store(0, std::memory_order_relaxed);
        v->trade_seen[i].store(0, std::memory_order_relaxed);
      }
      v->trade_cursor.assign(sc.instruments, 1);
      io_.push_back(std::move(v));
      pub_.set_waker(io, [this, io] { on_wake(io); });
    }
    last_wake_flush_.assign(kIoThreads, 0);
    wakes_.assign(kIoThreads, 0);
    final_version_.assign(sc.instruments, 0);
    final_trade_.assign(sc.instruments, 0);
  }

  void run() {
    std::vector<std::thread> io_threads;
    for (std::size_t io = 0; io < kIoThreads; ++io) io_threads.emplace_back([this, io] { io_loop(io); });
    std::thread producer_thread([this] { produce(); });
    producer_thread.join();

    // Caught up? Only the waker (and rearm) may get the io threads there: nothing here
    // wakes them. A stranded notice shows up as this wait timing out.
    const auto deadline = clock_type::now() + std::chrono::seconds(60);
    while (!caught_up() && clock_type::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    caught_up_ = caught_up();

    for (std::size_t io = 0; io < kIoThreads; ++io) {
      io_view& v = *io_[io];
      {
        std::lock_guard lock(v.mutex);
        v.stop = true;
      }
      v.cv.notify_one();
      v.stop_flag.store(true, std::memory_order_release);
    }
    for (auto& t : io_threads) t.join();
  }

  void check(bool expect_overflow) {
    ASSERT_TRUE(caught_up_) << "io threads never caught up with the final state: stranded notice\n" << stranded();
    EXPECT_EQ(wrong_thread_wakes_, 0U) << "the waker must run on the producer thread, in flush()";
    EXPECT_EQ(double_wakes_, 0U) << "an io thread was woken twice in one flush";
    std::uint64_t total_wakes = 0;
    std::uint64_t total_trades = 0;
    for (std::uint64_t t : final_trade_) total_trades += t;
    const std::uint64_t max_trades = *std::max_element(final_trade_.begin(), final_trade_.end());
    for (std::size_t io = 0; io < kIoThreads; ++io) {
      const io_view& v = *io_[io];
      SCOPED_TRACE("io thread " + std::to_string(io));
      EXPECT_EQ(v.bad_books, 0U) << v.first_error;
      EXPECT_EQ(v.backwards, 0U) << "a version read went backwards";
      EXPECT_EQ(v.bad_trades, 0U) << v.first_error;
      EXPECT_GE(wakes_[io], 1U);
      EXPECT_LE(wakes_[io], flushes_);
      // A wake-up disarms: the next needs the io thread to have gone idle (re-armed) in
      // between. Armed once at the start, then once per idle.
      EXPECT_LE(wakes_[io], 1 + v.idles);
      total_wakes += wakes_[io];
      const std::uint64_t received = v.trades_received;
      EXPECT_EQ(received + v.trades_lost, total_trades) << "every trade read or counted lost, once";
      for (std::size_t id = 0; id < sc_.instruments; ++id) {
        EXPECT_EQ(v.trade_cursor[id], final_trade_[id] + 1);
      }
      if (max_trades <= sc_.trade_capacity) {
        EXPECT_EQ(v.trades_lost, 0U) << "no history wrapped: nothing to lose";
      }
      std::printf("[ stats    ] io %zu: %llu book notices for %llu publishes, %llu/%llu trades, %llu wakes for "
                  "%llu flushes, %llu drains\n",
                  io, static_cast<unsigned long long>(v.book_notices), static_cast<unsigned long long>(publishes_),
                  static_cast<unsigned long long>(received), static_cast<unsigned long long>(total_trades),
                  static_cast<unsigned long long>(wakes_[io]), static_cast<unsigned long long>(flushes_),
                  static_cast<unsigned long long>(v.drains));
    }
    EXPECT_EQ(total_wakes, pub_.wakeups());
    // The publication itself never drops a trade (its histories were allocated), and
    // the feed's numbering is the history's.
    EXPECT_EQ(pub_.lost_trades(), 0U);
    EXPECT_EQ(pub_.renumbered_trades(), 0U);
    if (expect_overflow) {
      EXPECT_GT(pub_.overflows(), 0U);
    } else {
      EXPECT_EQ(pub_.overflows(), 0U);
    }
    EXPECT_GT(publishes_, 1000U);
    EXPECT_GT(total_trades, 100U);
    std::printf("[ stats    ] %llu steps, overflows %llu, lost trades %llu\n", static_cast<unsigned long long>(steps_),
                static_cast<unsigned long long>(pub_.overflows()), static_cast<unsigned long long>(pub_.lost_trades()));
  }

private:
  void produce() {
    producer_tid_ = std::this_thread::get_id();
    std::mt19937_64 rng(sc_.seed);
    level_book scratch;
    const auto deadline = clock_type::now() + sc_.max_duration;
    std::uint32_t batch_left = 0;
    auto new_batch = [&] {
      batch_left = sc_.min_batch + static_cast<std::uint32_t>(rng() % (sc_.max_batch - sc_.min_batch + 1));
    };
    new_batch();
    std::vector<feed_trade> run;
    for (steps_ = 0; steps_ < sc_.max_steps; ++steps_) {
      const auto id = static_cast<instrument_id>(rng() % sc_.instruments);
      if (rng() % 100 < sc_.trade_pct) {
        const std::uint64_t s = ++final_trade_[id];
        if (sc_.trades_in_runs) {
          run.push_back(feed_trade{id, trade_side(s), trade_price(id, s), trade_qty(s), s, s, s * 2});
        } else {
          prod_->publish_trade(id, trade_side(s), trade_price(id, s), trade_qty(s), s, s, s * 2);
        }
      } else {
        publish(*prod_, scratch, id, ++final_version_[id]);
        ++publishes_;
      }
      if (--batch_left == 0) {
        prod_->publish_trades(run);
        run.clear();
        flush();
        new_batch();
        if ((flushes_ & 15U) == 0 && clock_type::now() > deadline) break;
      }
    }
    prod_->publish_trades(run);
    flush(); // the last batch

    // The final round aims at the race the design must close: for each instrument,
    // publish v and flush; wait until every io thread has read v (it is then busy with
    // that notice: io threads pause after reading the targeted instrument); publish v + 1 at once
    // and flush. The io threads are disarmed, so no wake-up is sent: v + 1 reaches them
    // only if the pending flag was cleared before the read (so a fresh notice is pushed)
    // and rearm() sees that notice. Otherwise v + 1 is stranded and run() times out.
    // Then the same for trades: trade s, wait until read, trade s + 1 (the trade
    // notice's pending flag must be cleared before the history is read).
    for (std::size_t i = 0; i < sc_.instruments; ++i) {
      const auto id = static_cast<instrument_id>(i);
      final_target_.store(id, std::memory_order_relaxed);
      const std::uint64_t v = ++final_version_[id];
      publish(*prod_, scratch, id, v);
      flush();
      const auto give_up = clock_type::now() + std::chrono::seconds(2);
      for (const auto& io : io_) {
        while (io->version_seen[id].load(std::memory_order_relaxed) < v && clock_type::now() < give_up) {
          std::this_thread::yield();
        }
      }
      publish(*prod_, scratch, id, ++final_version_[id]);
      flush();
      publishes_ += 2;

      const std::uint64_t s = ++final_trade_[id];
      trade(id, s);
      flush();
      const auto give_up_trades = clock_type::now() + std::chrono::seconds(2);
      for (const auto& io : io_) {
        while (io->trade_seen[id].load(std::memory_order_relaxed) < s && clock_type::now() < give_up_trades) {
          std::this_thread::yield();
        }
      }
      const std::uint64_t s2 = ++final_trade_[id];
      trade(id, s2);
      flush();
    }
    final_target_.store(kNoTarget, std::memory_order_relaxed);
  }

  // One trade, the way the scenario publishes them.
  void trade(instrument_id id, std::uint64_t s) {
    const feed_trade t{id, trade_side(s), trade_price(id, s), trade_qty(s), s, s, s * 2};
    if (sc_.trades_in_runs) {
      prod_->publish_trades({&t, 1});
    } else {
      prod_->publish_trade(t.instrument, t.aggressor, t.price, t.qty, t.trade_seq, t.exch_ts, t.recv_ts);
    }
  }

  void flush() {
    ++flushes_; // the waker reads it on this thread, inside flush()
    prod_->flush();
  }

  // Runs inside producer::flush on the producer thread.
  void on_wake(std::size_t io) {
    if (std::this_thread::get_id() != producer_tid_) ++wrong_thread_wakes_;
    if (last_wake_flush_[io] == flushes_) ++double_wakes_;
    last_wake_flush_[io] = flushes_;
    ++wakes_[io];
    io_view& v = *io_[io];
    if (io == 0) {
      {
        std::lock_guard lock(v.mutex);
        v.woken = true;
      }
      v.cv.notify_one();
    } else {
      v.flag.store(true, std::memory_order_release);
    }
  }

  // Sleeps until woken, drains, re-arms; drains again if rearm says notices slipped in.
  void io_loop(std::size_t io) {
    io_view& v = *io_[io];
    book_top top;
    trade_record trades[8];
    auto on_notice = [&](const notice& n) {
      if (n.what == notice::kind::book) {
        ++v.book_notices;
        pub_.read_top(n.instrument, top);
        if (std::string why = check_top(n.instrument, top); !why.empty()) {
          if (v.bad_books++ == 0) v.first_error = why;
        }
        const std::uint64_t before = v.version_seen[n.instrument].load(std::memory_order_relaxed);
        if (top.version < before) ++v.backwards;
        v.version_seen[n.instrument].store(top.version, std::memory_order_relaxed);
        // A real io thread encodes and formats after reading; here, now and then, a
        // short pause stands for that. It widens the window between this read and the
        // end of the drain, where a publication that cleared its flag too late (after
        // the read instead of before it) would strand the producer's next publish.
        if (final_target_.load(std::memory_order_relaxed) == n.instrument) {
          std::this_thread::sleep_for(std::chrono::microseconds(200));
        } else if ((v.book_notices & 15U) == 0) {
          work_a_little();
        }
        return;
      }
      // A trade notice: read every trade after the cursor (the notice's seq and more).
      const trade_history* h = pub_.trades(n.instrument);
      if (h == nullptr || h->head() < n.seq) {
        if (v.bad_trades++ == 0) v.first_error = "trade notice without its trades in the history";
        return;
      }
      std::uint64_t& cursor = v.trade_cursor[n.instrument];
      for (;;) {
        const std::uint64_t from = cursor;
        const auto r = h->read(from, trades);
        for (std::size_t k = 0; k < r.count; ++k) {
          if (std::string why = check_trade(n.instrument, from + r.lost + k, trades[k]); !why.empty()) {
            if (v.bad_trades++ == 0) v.first_error = why;
          }
        }
        cursor = r.next_seq;
        v.trades_received += r.count;
        v.trades_lost += r.lost;
        v.trades_accounted.fetch_add(r.count + r.lost, std::memory_order_relaxed);
        if (r.count == 0 && r.lost == 0) break;
      }
      v.trade_seen[n.instrument].store(cursor - 1, std::memory_order_relaxed);
      // As for books: the final round's target pauses here, so its next trade lands
      // while this notice is being handled.
      if (final_target_.load(std::memory_order_relaxed) == n.instrument) {
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    };
    for (;;) {
      if (io == 0) {
        std::unique_lock lock(v.mutex);
        v.cv.wait(lock, [&] { return v.woken || v.stop; });
        if (!v.woken) break; // stop, and no wake-up pending
        v.woken = false;
      } else {
        while (!v.flag.exchange(false, std::memory_order_acquire)) {
          if (v.stop_flag.load(std::memory_order_acquire)) return;
          std::this_thread::yield();
        }
      }
      for (;;) {
        pub_.drain(io, on_notice);
        ++v.drains;
        if (!pub_.rearm(io)) break;
      }
      ++v.idles;
    }
  }

  [[nodiscard]] bool caught_up() const {
    std::uint64_t total_trades = 0;
    for (std::uint64_t t : final_trade_) total_trades += t;
    for (const auto& v : io_) {
      for (std::size_t id = 0; id < sc_.instruments; ++id) {
        if (v->version_seen[id].load(std::memory_order_relaxed) != final_version_[id]) return false;
      }
      if (v->trades_accounted.load(std::memory_order_relaxed) != total_trades) return false;
    }
    return true;
  }

  [[nodiscard]] std::string stranded() const {
    std::string s;
    for (std::size_t io = 0; io < kIoThreads; ++io) {
      for (std::size_t id = 0; id < sc_.instruments; ++id) {
        const std::uint64_t seen = io_[io]->version_seen[id].load(std::memory_order_relaxed);
        if (seen != final_version_[id]) {
          s += "io " + std::to_string(io) + " instrument " + std::to_string(id) + ": saw " + std::to_string(seen) +
               ", final " + std::to_string(final_version_[id]) + "\n";
        }
      }
      s += "io " + std::to_string(io) + " trades read or lost " +
           std::to_string(io_[io]->trades_accounted.load(std::memory_order_relaxed)) + "\n";
    }
    return s;
  }

  scenario sc_;
  publication pub_;
  producer* prod_ = nullptr;
  std::vector<std::unique_ptr<io_view>> io_;
  bool caught_up_ = false;
  // The instrument the final round is aiming at: io threads pause after reading it.
  static constexpr instrument_id kNoTarget = ~instrument_id{0};
  std::atomic<instrument_id> final_target_{kNoTarget};

  // Producer thread only until it is joined (the waker runs on it too).
  std::thread::id producer_tid_;
  std::uint64_t steps_ = 0;
  std::uint64_t publishes_ = 0;
  std::uint64_t flushes_ = 0;
  std::vector<std::uint64_t> last_wake_flush_;
  std::vector<std::uint64_t> wakes_;
  std::uint64_t double_wakes_ = 0;
  std::uint64_t wrong_thread_wakes_ = 0;
  std::vector<std::uint64_t> final_version_;
  std::vector<std::uint64_t> final_trade_;
};

TEST(publication_threads, producer_and_two_io_threads_deliver_everything) {
  // Rings far larger than the trades of the whole run: nothing may overflow or be lost.
  scenario sc;
  harness h(sc);
  h.run();
  h.check(false);
}

TEST(publication_threads, trades_published_in_runs_deliver_everything) {
  // As the ITCH feed publishes them: a batch's trades in one publish_trades call, one
  // fence per run. Batches up to 400 steps, so runs pass kTradeRun.
  scenario sc;
  sc.trades_in_runs = true;
  sc.max_batch = 400;
  sc.seed = 99;
  harness h(sc);
  h.run();
  h.check(false);
}

TEST(publication_threads, single_instrument_hot_path) {
  // Every publish hits one instrument: the pending flag is contended on every step.
  scenario sc;
  sc.instruments = 1;
  sc.max_batch = 4;
  sc.seed = 7;
  sc.trade_capacity = 1U << 16; // 3 MiB: more than the run's trades (about 40k)
  harness h(sc);
  h.run();
  h.check(false);
}

TEST(publication_threads, tiny_rings_and_histories_overflow_but_final_state_arrives) {
  // Capacity 4 and batches of 64: the first batch overflows before any io thread is woken
  // (the producer's sequence is seeded, so this does not depend on timing).
  scenario sc;
  sc.ring_capacity = 4;
  sc.min_batch = 64;
  sc.max_batch = 64;
  sc.seed = 1234;
  sc.trade_capacity = 8; // io threads may fall a history behind: losses must add up
  harness h(sc);
  h.run();
  h.check(true);
}

} // namespace
} // namespace mdgw
