// trade_history: the bounded per-instrument trade stream.
//
// Single-threaded: the read contract step by step (empty, sequential, wraparound with
// exact lost counts, a cursor from the future, partial outputs, record contents).
// Threaded (suite 'concurrency', also run under TSan): one writer pushes a million trades
// through a ring of 64 while three readers follow it from their cursors. Every field of a
// trade is derived from its seq, so a torn copy or a copy of a later overwrite shows up
// as a mismatch; and each reader's delivered + lost must add up to exactly the trades
// pushed, with every delivered run consecutive. One reader stops now and then until the
// writer is two laps ahead, so losses (and their exact count) are exercised on every run.
// (A torn copy needs a reader and the writer on two cores at the same instant; on a
// loaded 2-core machine a read() without its second seq check went unnoticed in three
// runs, so the threaded test is a net, not a proof: the argument is in the header.)
#include "trade_history.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace mdgw {
namespace {

trade_record trade_for(std::uint64_t s) noexcept {
  trade_record r;
  r.seq = 0; // push numbers the trade itself
  r.price = 1'000'000 + static_cast<price_t>(s * 7);
  r.qty = static_cast<qty_t>(s % 1000) + 1;
  r.exch_ts = s * 11;
  r.recv_ts = s * 13 + 5;
  r.aggressor = (s & 1U) != 0 ? side::bid : side::ask;
  r.instrument = static_cast<instrument_id>(s >> 3);
  return r;
}

// Empty when r is exactly trade s as pushed.
std::string check(const trade_record& r, std::uint64_t s) {
  if (r.seq != s) return "seq " + std::to_string(r.seq) + " where " + std::to_string(s) + " was expected";
  const trade_record e = trade_for(s);
  if (r.price != e.price || r.qty != e.qty || r.exch_ts != e.exch_ts || r.recv_ts != e.recv_ts ||
      r.aggressor != e.aggressor || r.instrument != e.instrument) {
    return "torn or wrong record at seq " + std::to_string(s);
  }
  return {};
}

std::unique_ptr<trade_history> make(std::size_t capacity, std::uint64_t pushes) {
  auto h = trade_history::create(capacity, 42);
  if (h) {
    for (std::uint64_t s = 1; s <= pushes; ++s) {
      if (h->push(trade_for(s)) != s) return nullptr;
    }
  }
  return h;
}

TEST(trade_history, create_rejects_bad_capacities) {
  EXPECT_EQ(trade_history::create(0, 1), nullptr);
  EXPECT_EQ(trade_history::create(1, 1), nullptr);
  EXPECT_EQ(trade_history::create(3, 1), nullptr);
  EXPECT_EQ(trade_history::create(1000, 1), nullptr);
  auto h = trade_history::create(2, 77);
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->capacity(), 2U);
  EXPECT_EQ(h->epoch(), 77U);
}

TEST(trade_history, empty) {
  auto h = make(trade_history::kDefaultCapacity, 0);
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->head(), 0U);
  EXPECT_EQ(h->oldest(), 1U);
  std::vector<trade_record> out(4);
  for (std::uint64_t from : {0U, 1U, 5U}) {
    const auto r = h->read(from, out);
    EXPECT_EQ(r.count, 0U);
    EXPECT_EQ(r.lost, 0U);
    EXPECT_EQ(r.next_seq, from == 0 ? 1U : from);
  }
}

TEST(trade_history, push_numbers_densely_and_keeps_every_field) {
  auto h = trade_history::create(8, 1);
  ASSERT_NE(h, nullptr);
  trade_record r = trade_for(1);
  r.seq = 999; // ignored: the history owns the numbering
  EXPECT_EQ(h->push(r), 1U);
  EXPECT_EQ(h->push(trade_for(2)), 2U);
  std::vector<trade_record> out(8);
  const auto res = h->read(1, out);
  ASSERT_EQ(res.count, 2U);
  EXPECT_EQ(check(out[0], 1), "");
  EXPECT_EQ(check(out[1], 2), "");
  // The checker has teeth: one field off is caught.
  trade_record bad = out[1];
  bad.recv_ts += 1;
  EXPECT_NE(check(bad, 2), "");
  bad = out[1];
  bad.aggressor = opposite(bad.aggressor);
  EXPECT_NE(check(bad, 2), "");
  EXPECT_NE(check(out[1], 1), "");
}

TEST(trade_history, sequential_reads_from_a_cursor) {
  auto h = make(16, 10);
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->head(), 10U);
  EXPECT_EQ(h->oldest(), 1U);
  std::vector<trade_record> out(4);
  std::uint64_t cursor = 1;
  std::vector<std::uint64_t> got;
  for (;;) {
    const auto r = h->read(cursor, out);
    EXPECT_EQ(r.lost, 0U);
    EXPECT_EQ(r.next_seq, cursor + r.count);
    for (std::size_t k = 0; k < r.count; ++k) {
      EXPECT_EQ(check(out[k], cursor + k), "");
      got.push_back(out[k].seq);
    }
    cursor = r.next_seq;
    if (r.count == 0) break;
  }
  ASSERT_EQ(got.size(), 10U);
  EXPECT_EQ(got.front(), 1U);
  EXPECT_EQ(got.back(), 10U);
  EXPECT_EQ(cursor, 11U);
  // New trades continue the same cursor.
  ASSERT_EQ(h->push(trade_for(11)), 11U);
  const auto r = h->read(cursor, out);
  ASSERT_EQ(r.count, 1U);
  EXPECT_EQ(check(out[0], 11), "");
  EXPECT_EQ(r.next_seq, 12U);
}

TEST(trade_history, wraparound_reports_exactly_what_was_overwritten) {
  auto h = make(8, 20);
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->head(), 20U);
  EXPECT_EQ(h->oldest(), 13U); // 20 - 8 + 1
  std::vector<trade_record> out(16);

  auto r = h->read(1, out); // 1..12 are gone
  EXPECT_EQ(r.lost, 12U);
  ASSERT_EQ(r.count, 8U);
  for (std::size_t k = 0; k < r.count; ++k) EXPECT_EQ(check(out[k], 13 + k), "");
  EXPECT_EQ(r.next_seq, 21U);

  r = h->read(12, out); // just one too old
  EXPECT_EQ(r.lost, 1U);
  EXPECT_EQ(r.count, 8U);
  EXPECT_EQ(check(out[0], 13), "");

  r = h->read(13, out); // the oldest: nothing lost
  EXPECT_EQ(r.lost, 0U);
  EXPECT_EQ(r.count, 8U);

  r = h->read(15, std::span(out).first(3)); // a window in the middle
  EXPECT_EQ(r.lost, 0U);
  ASSERT_EQ(r.count, 3U);
  for (std::size_t k = 0; k < 3; ++k) EXPECT_EQ(check(out[k], 15 + k), "");
  EXPECT_EQ(r.next_seq, 18U);

  r = h->read(2, std::span(out).first(2)); // lost, then a partial run
  EXPECT_EQ(r.lost, 11U);
  EXPECT_EQ(r.count, 2U);
  EXPECT_EQ(check(out[0], 13), "");
  EXPECT_EQ(r.next_seq, 15U);

  // Many laps later, the slot of an old seq holds a much newer trade: still "lost".
  for (std::uint64_t s = 21; s <= 1000; ++s) ASSERT_EQ(h->push(trade_for(s)), s);
  r = h->read(20, out);
  EXPECT_EQ(r.lost, 1000U - 8 + 1 - 20);
  ASSERT_EQ(r.count, 8U);
  EXPECT_EQ(check(out[0], 993), "");
  EXPECT_EQ(check(out[7], 1000), "");
}

TEST(trade_history, cursor_in_the_future_gets_nothing) {
  auto h = make(8, 5);
  ASSERT_NE(h, nullptr);
  std::vector<trade_record> out(8);
  for (std::uint64_t from : {6U, 7U, 1000U}) {
    const auto r = h->read(from, out);
    EXPECT_EQ(r.count, 0U);
    EXPECT_EQ(r.lost, 0U);
    EXPECT_EQ(r.next_seq, from);
  }
  const auto r = h->read(3, std::span<trade_record>{}); // no room: nothing consumed
  EXPECT_EQ(r.count, 0U);
  EXPECT_EQ(r.lost, 0U);
  EXPECT_EQ(r.next_seq, 3U);
}

// --- threaded ---

struct reader_result {
  std::uint64_t delivered = 0;
  std::uint64_t lost = 0;
  std::uint64_t loss_events = 0;
  std::uint64_t bad = 0;          // wrong content, or seq not where the cursor says
  std::uint64_t bad_accounting = 0; // next_seq != from + lost + count
  std::uint64_t reads = 0;
  std::uint64_t cursor = 1;
  std::string first_error;
};

TEST(trade_history_threads, one_writer_three_readers_small_ring) {
  constexpr std::uint64_t kTrades = 1'000'000;
  constexpr std::size_t kCapacity = 64;
  constexpr int kReaders = 3;
  auto h = trade_history::create(kCapacity, 9);
  ASSERT_NE(h, nullptr);
  std::atomic<bool> done{false};
  std::vector<reader_result> results(kReaders);

  auto reader = [&](int id) {
    reader_result& res = results[static_cast<std::size_t>(id)];
    // Reader 0 reads one trade at a time, reader 1 up to 7, reader 2 up to 64 and, every
    // 4096 trades it gets, waits until the writer is two laps ahead (a sure loss).
    const std::size_t batch = id == 0 ? 1 : id == 1 ? 7 : 64;
    std::vector<trade_record> out(batch);
    std::uint64_t next_stall = 4096;
    for (;;) {
      const bool finished = done.load(std::memory_order_acquire);
      const std::uint64_t from = res.cursor;
      const auto r = h->read(from, out);
      ++res.reads;
      if (r.next_seq != from + r.lost + r.count) ++res.bad_accounting;
      for (std::size_t k = 0; k < r.count; ++k) {
        if (std::string why = check(out[k], from + r.lost + k); !why.empty() && res.bad++ == 0) {
          res.first_error = why;
        }
      }
      res.delivered += r.count;
      res.lost += r.lost;
      res.loss_events += r.lost != 0 ? 1 : 0;
      res.cursor = r.next_seq;
      if (r.count == 0 && r.lost == 0) {
        if (finished) break;
        std::this_thread::yield(); // caught up: let the writer run (2 cores, 4 threads)
      }
      if (id == 2 && res.delivered >= next_stall) {
        next_stall += 4096;
        const std::uint64_t target = res.cursor + 2 * kCapacity;
        while (h->head() < target && !done.load(std::memory_order_acquire)) std::this_thread::yield();
      }
    }
  };

  std::vector<std::thread> threads;
  for (int r = 0; r < kReaders; ++r) threads.emplace_back(reader, r);
  std::thread writer([&] {
    for (std::uint64_t s = 1; s <= kTrades; ++s) {
      if (h->push(trade_for(s)) != s) std::abort();
      // Now and then give the readers the core: on a small machine a writer that never
      // yields laps them before they run, and the test would check little. Phases of
      // 64k trades alternate: yielding every 32 (readers keep up, reading the slots being
      // written) and every 1024 (readers are lapped and must count their losses).
      const std::uint64_t every = ((s >> 16) & 1U) == 0 ? 32 : 1024;
      if (s % every == 0) std::this_thread::yield();
    }
    done.store(true, std::memory_order_release);
  });
  writer.join();
  for (auto& t : threads) t.join();

  EXPECT_EQ(h->head(), kTrades);
  for (int r = 0; r < kReaders; ++r) {
    const reader_result& res = results[static_cast<std::size_t>(r)];
    SCOPED_TRACE("reader " + std::to_string(r));
    EXPECT_EQ(res.bad, 0U) << res.first_error;
    EXPECT_EQ(res.bad_accounting, 0U);
    EXPECT_EQ(res.delivered + res.lost, kTrades) << "every trade delivered or counted lost, once";
    EXPECT_EQ(res.cursor, kTrades + 1);
    EXPECT_GT(res.delivered, 0U);
    std::printf("[ stats    ] reader %d: %llu delivered, %llu lost in %llu gaps, %llu reads\n", r,
                static_cast<unsigned long long>(res.delivered), static_cast<unsigned long long>(res.lost),
                static_cast<unsigned long long>(res.loss_events), static_cast<unsigned long long>(res.reads));
  }
  // The stalling reader lost trades on purpose (unless the writer ended first every time).
  EXPECT_GT(results[2].lost, 0U);
}

} // namespace
} // namespace mdgw
