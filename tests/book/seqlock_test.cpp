// seqlock_slot under contention: one writer stores values whose every word is derived
// from a counter, readers copy continuously and check each copy is one value (all words
// from the same counter), that the counter never goes backwards for a reader, and that a
// partial copy (book_top: header, then only n_bids + n_asks levels) copies only what the
// header says and stays consistent while the lengths change from store to store.
//
// Bounded by a write count and a wall-clock cap (see run_writer_and_readers), so it
// finishes under TSan on a small, shared machine. It asserts no speed, only that readers
// made many reads, saw many different values, and that none of their copies was torn.
#include "book_top.hpp"
#include "seqlock.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace mdgw {
namespace {

using clock_type = std::chrono::steady_clock;

constexpr std::uint64_t kMaxWrites = 3'000'000;
constexpr auto kMaxDuration = std::chrono::seconds(2);
constexpr int kReaders = 2;

constexpr std::uint64_t kMulA = 0x9e3779b97f4a7c15ULL;
constexpr std::uint64_t kMulB = 0xbf58476d1ce4e5b9ULL;

constexpr std::uint64_t mix(std::uint64_t c, std::uint64_t k) noexcept { return (c + 1) * kMulA ^ k * kMulB; }

// --- book_top: header and levels all derived from c ---

std::uint16_t bids_for(std::uint64_t c) noexcept { return static_cast<std::uint16_t>(c % (kMaxDepth + 1)); }
std::uint16_t asks_for(std::uint64_t c) noexcept { return static_cast<std::uint16_t>((c * 7 / 3) % (kMaxDepth + 1)); }

price_level level_for(std::uint64_t c, std::size_t i) noexcept {
  return price_level{static_cast<price_t>(mix(c, 100 + i) >> 1), static_cast<qty_t>(mix(c, 300 + i) >> 1),
                     static_cast<std::uint32_t>(mix(c, 500 + i)), static_cast<std::uint32_t>(mix(c, 700 + i) >> 32)};
}

// Writes c's value into t. Levels past n_bids + n_asks are left as they were: the writer
// reuses one staging value, as producer::publish_book does, so they are stale garbage.
void fill_top(book_top& t, std::uint64_t c) noexcept {
  t.version = c;
  t.exch_ts = mix(c, 1);
  t.recv_ts = mix(c, 2);
  t.recv_mono = mix(c, 3);
  t.instrument = static_cast<instrument_id>(mix(c, 4));
  t.n_bids = bids_for(c);
  t.n_asks = asks_for(c);
  t.quality = static_cast<data_quality>(c % 3);
  const std::uint64_t r = mix(c, 5);
  std::memcpy(t.reserved_, &r, sizeof t.reserved_);
  for (std::size_t i = 0; i < std::size_t{t.n_bids} + t.n_asks; ++i) t.levels[i] = level_for(c, i);
}

// Empty string when t is exactly the value of counter t.version (levels past n ignored).
std::string check_top(const book_top& t) {
  book_top want;
  fill_top(want, t.version);
  const auto bad = [&](const char* field) { return std::string(field) + " not from counter " + std::to_string(t.version); };
  if (t.exch_ts != want.exch_ts) return bad("exch_ts");
  if (t.recv_ts != want.recv_ts) return bad("recv_ts");
  if (t.recv_mono != want.recv_mono) return bad("recv_mono");
  if (t.instrument != want.instrument) return bad("instrument");
  if (t.n_bids != want.n_bids) return bad("n_bids");
  if (t.n_asks != want.n_asks) return bad("n_asks");
  if (t.quality != want.quality) return bad("quality");
  if (std::memcmp(t.reserved_, want.reserved_, sizeof t.reserved_) != 0) return bad("reserved_");
  for (std::size_t i = 0; i < std::size_t{t.n_bids} + t.n_asks; ++i) {
    if (!(t.levels[i] == want.levels[i])) return bad("a level");
  }
  return {};
}

std::size_t top_used_bytes(const book_top& t) noexcept { return t.used_bytes(); }

// Written into a reader's copy before a load: no store ever writes this level (its
// price is negative), so finding it past n_bids + n_asks proves those bytes were not copied.
constexpr price_level kPoison{-0x5a5a5a5a5a5a5a5a, -1, 0xcdcdcdcd, 0xcdcdcdcd};

// --- a plain small struct ---

struct small_value {
  std::uint64_t a, b, c, d;
};

small_value small_for(std::uint64_t c) noexcept { return small_value{c, mix(c, 1), ~c, mix(c, 2)}; }

bool small_ok(const small_value& v) noexcept {
  const small_value w = small_for(v.a);
  return v.b == w.b && v.c == w.c && v.d == w.d;
}

// A few pause instructions between stores. A writer that stores back to back (one store
// every few ns) starves seqlock readers: every copy overlaps a store and is refused, and
// the test would only prove that refusals work. A feed publishes one slot far less often;
// this still stores millions of times a second but leaves readers windows to succeed.
void relax(std::uint64_t c) noexcept {
  for (std::uint64_t k = c % 16; k > 0; --k) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#else
    std::this_thread::yield();
#endif
  }
}

struct reader_stats {
  std::uint64_t ok = 0;         // consistent copies
  std::uint64_t retries = 0;    // try_load refused (writer mid-store or torn): expected, harmless
  std::uint64_t torn = 0;       // copies accepted by the seqlock but inconsistent: must be 0
  std::uint64_t backwards = 0;  // counter went down: must be 0
  std::uint64_t overcopied = 0; // a level past n_bids + n_asks was written into the copy
  std::uint64_t last = 0;
  std::string first_error;
  // How many different counters this reader saw: proof that its reads interleaved with the
  // writes. Atomic because the writer watches it to decide when it has done enough.
  std::atomic<std::uint64_t> distinct{0};

  // Books one accepted copy of counter c (consistent or not, per why).
  void record(std::uint64_t c, const std::string& why) {
    if (!why.empty()) {
      if (torn++ == 0) first_error = why;
    } else {
      ++ok;
    }
    if (c < last) ++backwards;
    if (c != last) distinct.fetch_add(1, std::memory_order_relaxed);
    last = c;
  }
};

// Runs write(c) for c = 1, 2, ... on a writer thread against kReaders threads calling
// read(r, stats) in a loop, then one last read(r, stats) after the final store.
//
// Stops after kMaxWrites stores or kMaxDuration, but not before every reader has seen
// kMinDistinct different values (up to kHardCap): the machine is shared, and when other
// builds hold the CPUs our threads run by turns rather than side by side, so a fixed
// write count can pass with the readers having seen next to nothing. Returns the count.
constexpr std::uint64_t kMinDistinct = 50;
constexpr auto kHardCap = std::chrono::seconds(15);

template <class Write, class Read>
std::uint64_t run_writer_and_readers(Write&& write, Read&& read, std::vector<reader_stats>& stats) {
  std::atomic<int> started{0};
  std::atomic<bool> done{false};
  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&, r] {
      reader_stats& st = stats[static_cast<std::size_t>(r)];
      started.fetch_add(1, std::memory_order_acq_rel);
      while (!done.load(std::memory_order_acquire)) read(r, st);
      read(r, st); // after the final store: must see it
    });
  }
  std::uint64_t written = 0;
  std::thread writer([&] {
    // Readers first, so the loads overlap the stores from the first one.
    while (started.load(std::memory_order_acquire) < kReaders) std::this_thread::yield();
    const auto start = clock_type::now();
    auto enough = [&] {
      const auto elapsed = clock_type::now() - start;
      if (elapsed > kHardCap) return true;
      if (written < kMaxWrites && elapsed < kMaxDuration) return false;
      for (const reader_stats& st : stats) {
        if (st.distinct.load(std::memory_order_relaxed) < kMinDistinct) return false;
      }
      return true;
    };
    for (std::uint64_t c = 1;; ++c) {
      write(c);
      written = c;
      if ((c & 1023U) == 0 && enough()) break;
    }
    done.store(true, std::memory_order_release);
  });
  writer.join();
  for (auto& t : readers) t.join();
  return written;
}

void expect_clean(const std::vector<reader_stats>& stats, std::uint64_t written, const char* what) {
  for (int r = 0; r < kReaders; ++r) {
    const reader_stats& st = stats[static_cast<std::size_t>(r)];
    SCOPED_TRACE(std::string(what) + " reader " + std::to_string(r));
    EXPECT_EQ(st.torn, 0U) << st.first_error;
    EXPECT_EQ(st.backwards, 0U);
    EXPECT_EQ(st.overcopied, 0U);
    EXPECT_GT(st.ok, 1000U);
    EXPECT_GE(st.distinct.load(), kMinDistinct); // the reads really overlapped the writes
    EXPECT_EQ(st.last, written);                 // the final store is what a reader sees after it
    std::printf("[ stats    ] %s reader %d: %llu consistent reads of %llu distinct values, %llu refused "
                "attempts, %llu writes\n",
                what, r, static_cast<unsigned long long>(st.ok), static_cast<unsigned long long>(st.distinct.load()),
                static_cast<unsigned long long>(st.retries), static_cast<unsigned long long>(written));
  }
}

TEST(seqlock, checker_detects_a_torn_book_top) {
  // The check must have teeth: a header of one store with a level of the next is torn.
  book_top a;
  fill_top(a, 1000);
  EXPECT_EQ(check_top(a), "");
  book_top b;
  fill_top(b, 1001);
  book_top mixed = a;
  if (mixed.n_bids + mixed.n_asks > 0) mixed.levels[0] = b.levels[0];
  EXPECT_NE(check_top(mixed), "");
  mixed = a;
  mixed.recv_mono = b.recv_mono;
  EXPECT_NE(check_top(mixed), "");
  small_value s = small_for(5);
  EXPECT_TRUE(small_ok(s));
  s.d = small_for(6).d;
  EXPECT_FALSE(small_ok(s));
}

TEST(seqlock, partial_store_and_load_single_thread) {
  auto slot = std::make_unique<seqlock_slot<book_top>>();
  EXPECT_EQ(slot->stores(), 0U);
  book_top staging;
  // A deep value, then a shallow one: the slot keeps stale levels past the shallow one's
  // length, and a reader must get exactly the shallow value.
  std::uint64_t deep = 0;
  while (bids_for(deep) + asks_for(deep) < 80) ++deep;
  std::uint64_t shallow = deep + 1;
  while (bids_for(shallow) + asks_for(shallow) > 5) ++shallow;
  fill_top(staging, deep);
  slot->store(staging, staging.used_bytes());
  fill_top(staging, shallow);
  slot->store(staging, staging.used_bytes());
  EXPECT_EQ(slot->stores(), 2U);

  book_top out;
  std::fill(std::begin(out.levels), std::end(out.levels), kPoison);
  slot->load(out, book_top::kHeaderBytes, top_used_bytes);
  EXPECT_EQ(out.version, shallow);
  EXPECT_EQ(check_top(out), "");
  // Only the used prefix was copied: the levels after it are still the poison.
  for (std::size_t i = std::size_t{out.n_bids} + out.n_asks; i < 2 * kMaxDepth; ++i) {
    ASSERT_EQ(out.levels[i], kPoison) << i;
  }
  EXPECT_TRUE(slot->try_load(out, book_top::kHeaderBytes, top_used_bytes));
  EXPECT_EQ(out.version, shallow);
}

TEST(seqlock, used_bytes_clamps_a_torn_header) {
  book_top t;
  t.n_bids = 60000;
  t.n_asks = 60000;
  EXPECT_EQ(t.used_bytes(), sizeof(book_top)); // never past the slot
}

TEST(seqlock, book_top_writer_vs_readers) {
  auto slot = std::make_unique<seqlock_slot<book_top>>();
  {
    book_top initial;
    fill_top(initial, 0);
    slot->store(initial, initial.used_bytes());
  }
  // The writer reuses one staging value, as producer::publish_book does.
  auto staging = std::make_unique<book_top>();
  auto write = [&](std::uint64_t c) {
    fill_top(*staging, c);
    slot->store(*staging, staging->used_bytes());
  };
  std::vector<std::unique_ptr<book_top>> outs;
  std::vector<std::uint64_t> attempts(kReaders, 0);
  for (int r = 0; r < kReaders; ++r) outs.push_back(std::make_unique<book_top>());
  auto read = [&](int r, reader_stats& st) {
    book_top& out = *outs[static_cast<std::size_t>(r)];
    // Reader 0 spins in load(); the others make single try_load attempts and count the
    // refused ones. Every 16th attempt of those, the levels are poisoned first, to prove
    // an accepted copy stops at n_bids + n_asks. (Not for load(): it retries, and a
    // refused torn attempt may leave deeper levels in out, which is allowed: only the
    // used prefix of an accepted copy is defined.)
    bool poisoned = false;
    if (r == 0) {
      slot->load(out, book_top::kHeaderBytes, top_used_bytes);
    } else {
      poisoned = (attempts[static_cast<std::size_t>(r)]++ & 15U) == 0;
      if (poisoned) std::fill(std::begin(out.levels), std::end(out.levels), kPoison);
      if (!slot->try_load(out, book_top::kHeaderBytes, top_used_bytes)) {
        ++st.retries;
        return;
      }
    }
    st.record(out.version, check_top(out));
    if (poisoned) {
      for (std::size_t k = std::size_t{out.n_bids} + out.n_asks; k < 2 * kMaxDepth; ++k) {
        if (!(out.levels[k] == kPoison)) {
          ++st.overcopied;
          break;
        }
      }
    }
  };
  std::vector<reader_stats> stats(kReaders);
  const std::uint64_t written = run_writer_and_readers(write, read, stats);
  EXPECT_GT(written, 10'000U);
  EXPECT_EQ(slot->stores(), written + 1);
  expect_clean(stats, written, "book_top");
}

TEST(seqlock, small_struct_writer_vs_readers) {
  seqlock_slot<small_value> slot;
  slot.store(small_for(0));
  auto write = [&](std::uint64_t c) {
    slot.store(small_for(c));
    relax(c);
  };
  auto read = [&](int r, reader_stats& st) {
    small_value v{};
    if (r == 0) {
      slot.load(v);
    } else if (!slot.try_load(v)) {
      ++st.retries;
      return;
    }
    st.record(v.a, small_ok(v) ? std::string{} : "torn at counter " + std::to_string(v.a));
  };
  std::vector<reader_stats> stats(kReaders);
  const std::uint64_t written = run_writer_and_readers(write, read, stats);
  EXPECT_GT(written, 10'000U);
  EXPECT_EQ(slot.stores(), written + 1);
  expect_clean(stats, written, "small");
}

} // namespace
} // namespace mdgw
