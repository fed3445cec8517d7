// itch_book: the order map and the order store (window + spill map) against std::map, each order message's effect on levels,
// events and counters (hand-computed), and message-by-message agreement with the
// independent reference book (itch_reference.hpp) on the RITCH sample, on a synthetic
// stream with every message type, and on random messages over a small reference space.
#include "itch_book.hpp"
#include "itch_decoder.hpp"
#include "itch_reference.hpp"
#include "itch_test_util.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace mdgw::itch {
namespace {

using itch_test::collect_sink;
using itch_test::raw;

book_config quiet(std::size_t expected = 16) { return book_config{0, expected, [](std::string_view) {}}; }

// ------------------------------------------------------------------------ order_map

TEST(OrderMap, AgreesWithStdMapThroughGrowthAndDeletes) {
  order_map m(4); // starts tiny: grows many times
  std::map<std::uint64_t, std::uint32_t> want;
  std::mt19937_64 rng(1);
  for (int i = 0; i < 300000; ++i) {
    // A small key space forces long clusters, wrap-around and many re-inserts.
    const std::uint64_t ref = (i % 3 == 0) ? rng() : rng() % 5000;
    const int op = static_cast<int>(rng() % 3);
    if (op < 2) {
      auto [e, fresh] = m.try_insert(ref);
      EXPECT_EQ(fresh, want.count(ref) == 0);
      e->shares = static_cast<std::uint32_t>(1 + rng() % 1000);
      e->price = static_cast<std::uint32_t>(ref);
      want[ref] = e->shares;
    } else {
      order_entry* e = m.find(ref);
      ASSERT_EQ(e != nullptr, want.count(ref) == 1);
      if (e != nullptr) {
        EXPECT_EQ(e->shares, want[ref]);
        m.erase(e);
        want.erase(ref);
      }
    }
    ASSERT_EQ(m.size(), want.size());
  }
  std::size_t live = 0;
  m.for_each([&](const order_entry& e) {
    ++live;
    ASSERT_EQ(want.count(e.ref), 1U);
    EXPECT_EQ(want[e.ref], e.shares);
  });
  EXPECT_EQ(live, want.size());
  for (const auto& [ref, shares] : want) {
    const order_entry* e = m.find(ref);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->shares, shares);
  }
  EXPECT_LE(m.size() * 2, m.capacity());
  m.clear();
  EXPECT_EQ(m.size(), 0U);
  EXPECT_EQ(m.find(want.begin()->first), nullptr);
}

// ---------------------------------------------------------------------- order_store

TEST(OrderStore, AgreesWithStdMapAcrossWindowAndSpill) {
  order_store m(16, 4); // a 16-slot window: orders spill all the time
  std::map<std::uint64_t, std::uint32_t> want;
  std::vector<std::uint64_t> live; // for picking a live order at random
  std::mt19937_64 rng(7);
  std::uint64_t next = 1;
  std::size_t max_spilled = 0;
  for (int i = 0; i < 200000; ++i) {
    const int op = static_cast<int>(rng() % 8);
    if (op < 4) {
      // Mostly the day's increasing references; sometimes an old, a repeated or a wild one.
      const int kind = static_cast<int>(rng() % 16);
      const std::uint64_t ref = kind < 12 ? next++ : kind < 14 ? 1 + rng() % next : kind < 15 ? next - 1 : rng();
      auto [e, fresh] = m.try_insert(ref);
      ASSERT_EQ(fresh, want.count(ref) == 0) << ref;
      EXPECT_EQ(e->ref, ref);
      e->shares = static_cast<std::uint32_t>(1 + rng() % 1000);
      if (fresh) live.push_back(ref);
      want[ref] = e->shares;
    } else if (!live.empty()) {
      // Deletes favour young orders, as a day's do.
      const std::size_t back = rng() % 4 == 0 ? rng() % live.size() : std::min<std::size_t>(rng() % 8, live.size() - 1);
      const std::size_t at = live.size() - 1 - back;
      const std::uint64_t ref = live[at];
      order_entry* e = m.find(ref);
      ASSERT_NE(e, nullptr) << ref;
      EXPECT_EQ(e->ref, ref);
      EXPECT_EQ(e->shares, want[ref]);
      m.erase(e);
      want.erase(ref);
      live[at] = live.back();
      live.pop_back();
      EXPECT_EQ(m.find(ref), nullptr);
    }
    ASSERT_EQ(m.size(), want.size());
    max_spilled = std::max(max_spilled, m.spilled());
  }
  EXPECT_GT(max_spilled, 20U) << "the test must exercise the spill map";
  std::size_t visited = 0;
  m.for_each([&](const order_entry& e) {
    ++visited;
    ASSERT_EQ(want.count(e.ref), 1U);
    EXPECT_EQ(want[e.ref], e.shares);
  });
  EXPECT_EQ(visited, want.size());
  for (const auto& [ref, shares] : want) {
    const order_entry* e = m.find(ref);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->shares, shares);
  }
  EXPECT_EQ(m.find(next + 1000), nullptr);
  m.clear();
  EXPECT_EQ(m.size(), 0U);
  EXPECT_EQ(m.spilled(), 0U);
  EXPECT_EQ(m.find(want.begin()->first), nullptr);
  // After clear() references start over: a smaller one is new again.
  auto [e, fresh] = m.try_insert(1);
  EXPECT_TRUE(fresh);
  e->shares = 1;
  EXPECT_EQ(m.size(), 1U);
}

// ------------------------------------------------------------------- order messages

class ItchBookOps : public ::testing::Test {
protected:
  static constexpr std::uint64_t kMidnight = 1'293'166'800'000'000'000ULL; // 2010-12-24 05:00 UTC
  ItchBookOps() : book_(book_config{kMidnight, 16, [this](std::string_view l) { log_.emplace_back(l); }}) {}

  void apply(const raw& m) {
    sink_.clear();
    ASSERT_EQ(book_.apply(m.data(), m.size(), sink_), decode_status::ok);
  }
  [[nodiscard]] price_level top(locate_t locate, side s) const {
    const level_book* b = book_.book(locate);
    return b == nullptr || b->depth(s) == 0 ? price_level{} : b->level(s, 0);
  }
  static market_event ev(market_event::type what, side s, locate_t locate, price_t price, qty_t qty,
                         std::uint32_t orders, std::uint64_t ts) {
    market_event e;
    e.what = what;
    e.s = s;
    e.instrument = locate;
    e.price = price;
    e.qty = qty;
    e.orders = orders;
    e.exch_ts = kMidnight + ts;
    return e;
  }
  void expect_events(const std::vector<market_event>& want) {
    ASSERT_EQ(sink_.events.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
      EXPECT_TRUE(itch_test::same_event(sink_.events[i], want[i]))
          << "event " << i << ": " << itch_test::describe(sink_.events[i]) << " want "
          << itch_test::describe(want[i]);
    }
  }

  std::vector<std::string> log_;
  itch_book book_;
  collect_sink sink_;
};

using T = market_event::type;

TEST_F(ItchBookOps, AddsAggregateIntoLevels) {
  apply(itch_test::add_msg(5, 100, 1, 'B', 100, 1'000'000));
  expect_events({ev(T::add, side::bid, 5, 1'000'000, 100, 1, 100)});
  apply(itch_test::add_mpid_msg(5, 101, 2, 'B', 50, 1'000'000));
  apply(itch_test::add_msg(5, 102, 3, 'S', 70, 1'000'100));
  EXPECT_EQ(top(5, side::bid), (price_level{1'000'000, 150, 2, 0}));
  EXPECT_EQ(top(5, side::ask), (price_level{1'000'100, 70, 1, 0}));
  EXPECT_EQ(book_.orders().size(), 3U);
  const order_entry* o = book_.find_order(2);
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->locate, 5);
  EXPECT_EQ(o->s, side::bid);
  EXPECT_EQ(o->shares, 50U);
  EXPECT_EQ(o->price, 1'000'000U);
}

TEST_F(ItchBookOps, ExecutionsTradeThenReduce) {
  apply(itch_test::add_msg(5, 100, 1, 'S', 100, 2'000'000));
  apply(itch_test::exec_msg(5, 110, 1, 30));
  // A resting sell was hit: the buyer aggressed.
  expect_events({ev(T::trade, side::bid, 5, 2'000'000, 30, 0, 110), ev(T::reduce, side::ask, 5, 2'000'000, 30, 0, 110)});
  EXPECT_EQ(top(5, side::ask), (price_level{2'000'000, 70, 1, 0}));
  // With its own price, printable: the trade is at the execution price, the level at the order's.
  apply(itch_test::exec_price_msg(5, 120, 1, 20, 'Y', 1'999'900));
  expect_events({ev(T::trade, side::bid, 5, 1'999'900, 20, 0, 120), ev(T::reduce, side::ask, 5, 2'000'000, 20, 0, 120)});
  // Non-printable: no trade, still a reduce.
  apply(itch_test::exec_price_msg(5, 130, 1, 10, 'N', 1'999'900));
  expect_events({ev(T::reduce, side::ask, 5, 2'000'000, 10, 0, 130)});
  EXPECT_EQ(book_.counters().non_printable, 1U);
  // The rest fills: the order leaves the level (orders = 1) and the map.
  apply(itch_test::exec_msg(5, 140, 1, 40));
  expect_events({ev(T::trade, side::bid, 5, 2'000'000, 40, 0, 140), ev(T::reduce, side::ask, 5, 2'000'000, 40, 1, 140)});
  EXPECT_EQ(book_.book(5)->depth(side::ask), 0U);
  EXPECT_EQ(book_.find_order(1), nullptr);
  EXPECT_EQ(book_.counters().trades, 3U);
}

TEST_F(ItchBookOps, CancelDeleteReplace) {
  apply(itch_test::add_msg(9, 1, 10, 'B', 500, 3'000'000));
  apply(itch_test::add_msg(9, 2, 11, 'B', 200, 3'000'000));
  apply(itch_test::cancel_msg(9, 3, 10, 100));
  expect_events({ev(T::reduce, side::bid, 9, 3'000'000, 100, 0, 3)});
  EXPECT_EQ(top(9, side::bid), (price_level{3'000'000, 600, 2, 0}));
  apply(itch_test::delete_msg(9, 4, 11));
  expect_events({ev(T::reduce, side::bid, 9, 3'000'000, 200, 1, 4)});
  // Replace: the old order leaves, the new one (same side and locate) joins at its price.
  apply(itch_test::replace_msg(9, 5, 10, 12, 250, 3'000'100));
  expect_events({ev(T::reduce, side::bid, 9, 3'000'000, 400, 1, 5), ev(T::add, side::bid, 9, 3'000'100, 250, 1, 5)});
  EXPECT_EQ(book_.book(9)->depth(side::bid), 1U);
  EXPECT_EQ(top(9, side::bid), (price_level{3'000'100, 250, 1, 0}));
  EXPECT_EQ(book_.find_order(10), nullptr);
  ASSERT_NE(book_.find_order(12), nullptr);
  EXPECT_EQ(book_.find_order(12)->s, side::bid);
}

TEST_F(ItchBookOps, UnknownReferencesAreCountedPerKindAndReportedOnce) {
  for (int i = 0; i < 3; ++i) {
    apply(itch_test::exec_msg(1, 1, 999, 10));
    apply(itch_test::exec_price_msg(1, 1, 999, 10, 'Y', 100));
    apply(itch_test::cancel_msg(1, 1, 999, 10));
    apply(itch_test::delete_msg(1, 1, 999));
    apply(itch_test::replace_msg(1, 1, 999, 1000, 10, 100));
    EXPECT_TRUE(sink_.events.empty());
  }
  for (std::size_t k = 0; k < kRefKinds; ++k) EXPECT_EQ(book_.counters().unknown_ref[k], 3U) << k;
  EXPECT_EQ(book_.counters().unknown_refs(), 15U);
  EXPECT_EQ(std::count_if(log_.begin(), log_.end(), [](const std::string& l) { return l.find("unknown order") != std::string::npos; }),
            5);
  EXPECT_EQ(book_.find_order(1000), nullptr) << "a replace of an unknown order adds nothing";
  EXPECT_EQ(book_.orders().size(), 0U);
}

TEST_F(ItchBookOps, BadOrderInputIsCountedAndNeverCorruptsLevels) {
  apply(itch_test::add_msg(1, 1, 1, 'B', 0, 100)); // 0 shares
  apply(itch_test::add_msg(1, 1, 2, 'B', 10, 0));  // price 0
  apply(itch_test::add_msg(1, 1, 3, 'Z', 10, 100)); // bad side
  EXPECT_EQ(book_.counters().invalid_order, 3U);
  EXPECT_EQ(book_.orders().size(), 0U);
  // Duplicate reference: the old order leaves its level first.
  apply(itch_test::add_msg(1, 2, 4, 'B', 10, 100));
  apply(itch_test::add_msg(1, 3, 4, 'S', 20, 200));
  expect_events({ev(T::reduce, side::bid, 1, 100, 10, 1, 3), ev(T::add, side::ask, 1, 200, 20, 1, 3)});
  EXPECT_EQ(book_.counters().duplicate_ref, 1U);
  EXPECT_EQ(book_.book(1)->depth(side::bid), 0U);
  // Over-execution: the trade reports what the exchange said, the level loses what rested.
  apply(itch_test::exec_msg(1, 4, 4, 50));
  expect_events({ev(T::trade, side::bid, 1, 200, 50, 0, 4), ev(T::reduce, side::ask, 1, 200, 20, 1, 4)});
  EXPECT_EQ(book_.counters().over_execution, 1U);
  // Locate mismatch: the order's locate is used.
  apply(itch_test::add_msg(2, 5, 6, 'B', 10, 100));
  apply(itch_test::delete_msg(3, 6, 6));
  expect_events({ev(T::reduce, side::bid, 2, 100, 10, 1, 6)});
  EXPECT_EQ(book_.counters().locate_mismatch, 1U);
  // Zero-share execution: invalid, the order stays.
  apply(itch_test::add_msg(2, 7, 7, 'B', 10, 100));
  apply(itch_test::exec_msg(2, 8, 7, 0));
  EXPECT_TRUE(sink_.events.empty());
  EXPECT_NE(book_.find_order(7), nullptr);
  EXPECT_EQ(book_.counters().level_errors, 0U);
}

TEST_F(ItchBookOps, TradesCrossesAndBrokenTrades) {
  apply(itch_test::trade_msg(4, 10, 'B', 300, 500'000));
  expect_events({ev(T::trade, side::ask, 4, 500'000, 300, 0, 10)});
  apply(itch_test::cross_msg(4, 11, 10'000'000'000ULL, 500'100));
  expect_events({ev(T::trade, side::bid, 4, 500'100, 10'000'000'000LL, 0, 11)});
  apply(itch_test::cross_msg(4, 12, 0, 500'100)); // no cross happened
  EXPECT_TRUE(sink_.events.empty());
  raw b('B', 19, 4, 0, 13);
  b.u(11, 8, 77);
  apply(b);
  EXPECT_EQ(book_.counters().broken_trades, 1U);
  EXPECT_EQ(book_.state(4)->broken_trades, 1U);
  ASSERT_EQ(sink_.states.size(), 1U);
  EXPECT_EQ(sink_.states[0].second, state_change::broken_trade);
  EXPECT_EQ(book_.counters().cross_trades, 2U);
  EXPECT_EQ(book_.counters().trades, 2U);
  EXPECT_EQ(book_.book(4)->depth(side::bid) + book_.book(4)->depth(side::ask), 0U) << "trades do not touch levels";
}

TEST_F(ItchBookOps, DirectoryStatusAndImbalanceAreKeptPerLocate) {
  raw r('R', 39, 3, 0, 1);
  r.a(11, 8, "AAPL").c(19, 'Q').c(20, 'N').u(21, 4, 100).c(25, 'N').c(26, 'C').a(27, 2, "Z").c(29, 'P');
  apply(r);
  raw h('H', 25, 3, 0, 2);
  h.a(11, 8, "AAPL").c(19, 'H').a(21, 4, "LUDP");
  apply(h);
  raw y('Y', 20, 3, 0, 3);
  y.a(11, 8, "AAPL").c(19, '1');
  apply(y);
  raw j('J', 35, 3, 0, 4);
  j.a(11, 8, "AAPL").u(19, 4, 1'500'000).u(23, 4, 1'650'000).u(27, 4, 1'350'000).u(31, 4, 2);
  apply(j);
  raw i('I', 50, 3, 0, 5);
  i.u(11, 8, 1000).u(19, 8, 250).c(27, 'B').a(28, 8, "AAPL").u(36, 4, 1'510'000).u(40, 4, 1'505'000)
      .u(44, 4, 1'500'000).c(48, 'C').c(49, 'L');
  apply(i);
  raw v('V', 35, 0, 0, 6);
  v.u(11, 8, 300000000000ULL).u(19, 8, 280000000000ULL).u(27, 8, 250000000000ULL);
  apply(v);
  raw w('W', 12, 0, 0, 7);
  w.c(11, '1');
  apply(w);

  const locate_state* s = book_.state(3);
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->info.known);
  EXPECT_EQ(s->info.symbol(), "AAPL");
  EXPECT_EQ(s->info.round_lot, 100U);
  EXPECT_EQ(s->info.market_category, 'Q');
  EXPECT_EQ(s->status.trading_state, 'H');
  EXPECT_EQ(s->status.trading_reason.trimmed(), "LUDP");
  EXPECT_EQ(s->status.reg_sho_action, '1');
  EXPECT_EQ(s->status.luld_reference_price, 1'500'000U);
  EXPECT_EQ(s->status.luld_upper_price, 1'650'000U);
  EXPECT_EQ(s->status.luld_lower_price, 1'350'000U);
  EXPECT_EQ(s->status.luld_extension, 2U);
  EXPECT_EQ(s->status.ts, kMidnight + 4);
  EXPECT_TRUE(s->imbalance.valid);
  EXPECT_EQ(s->imbalance.paired_shares, 1000U);
  EXPECT_EQ(s->imbalance.imbalance_shares, 250U);
  EXPECT_EQ(s->imbalance.direction, 'B');
  EXPECT_EQ(s->imbalance.far_price, 1'510'000U);
  EXPECT_EQ(s->imbalance.near_price, 1'505'000U);
  EXPECT_EQ(s->imbalance.reference_price, 1'500'000U);
  EXPECT_EQ(s->imbalance.cross_type, 'C');
  EXPECT_EQ(s->imbalance.price_variation, 'L');
  EXPECT_EQ(s->imbalance.ts, kMidnight + 5);
  EXPECT_EQ(book_.market().mwcb_level[0], 300000000000ULL);
  EXPECT_EQ(book_.market().mwcb_level[2], 250000000000ULL);
  EXPECT_EQ(book_.market().mwcb_breached, '1');
  ASSERT_EQ(sink_.states.size(), 1U);
  EXPECT_EQ(sink_.states[0].second, state_change::market);
}

// --------------------------------------------------- agreement with the reference

struct harness {
  itch_book fast;
  itch_ref::reference_book ref;
  collect_sink sink;
  std::vector<market_event> ref_events;
  std::uint64_t messages = 0;

  explicit harness(std::uint64_t midnight = 0) : fast(book_config{midnight, 16, [](std::string_view) {}}), ref(midnight) {}

  // Applies one message to both; returns what differs (empty when they agree).
  std::string step(const std::uint8_t* p, std::size_t len) {
    sink.clear();
    ref_events.clear();
    (void)fast.apply(p, len, sink);
    ref.apply(p, len, ref_events);
    ++messages;
    std::string err;
    if (sink.events.size() != ref_events.size()) {
      err += "event count " + std::to_string(sink.events.size()) + " vs " + std::to_string(ref_events.size()) + "; ";
    } else {
      for (std::size_t i = 0; i < ref_events.size(); ++i) {
        if (!itch_test::same_event(sink.events[i], ref_events[i])) {
          err += "event " + std::to_string(i) + ": " + itch_test::describe(sink.events[i]) + " vs " +
                 itch_test::describe(ref_events[i]) + "; ";
        }
      }
    }
    // The levels of every locate this message touched.
    std::set<locate_t> touched;
    if (len >= 3) touched.insert(static_cast<locate_t>((p[1] << 8) | p[2]));
    for (const auto& e : ref_events) touched.insert(static_cast<locate_t>(e.instrument));
    for (locate_t l : touched) err += itch_test::compare_levels(fast, ref, l);
    err += itch_test::compare_counters(fast, ref);
    return err;
  }

  // Everything, at the end.
  std::string final_check() const {
    std::string err;
    for (std::size_t l = 0; l < 65536; ++l) {
      if (fast.book(static_cast<locate_t>(l)) != nullptr || ref.books.count(static_cast<locate_t>(l)) != 0) {
        err += itch_test::compare_levels(fast, ref, static_cast<locate_t>(l));
      }
    }
    err += itch_test::compare_counters(fast, ref);
    err += itch_test::compare_states(fast, ref);
    if (fast.orders().size() != ref.orders.size()) err += "live order count differs; ";
    for (const auto& [r, o] : ref.orders) {
      const order_entry* f = fast.find_order(r);
      if (f == nullptr || f->locate != o.locate || f->shares != o.shares || f->price != o.price ||
          (f->s == side::bid) != o.buy) {
        err += "order " + std::to_string(r) + " differs; ";
        break;
      }
    }
    for (const auto& [tag, n] : ref.count.by_type) {
      if (fast.decoder().decoded(static_cast<std::uint8_t>(tag)) != n) err += std::string("count of ") + tag + "; ";
    }
    return err;
  }
};

TEST(ItchBookVsReference, RitchSampleAgreesAfterEveryMessage) {
  // 2010-12-24 is in EST: midnight in New York is 05:00 UTC.
  harness h(1'293'166'800'000'000'000ULL);
  binary_file_reader r(itch_test::sample_path(), [](std::string_view) {});
  std::uint64_t failures = 0;
  r.for_each([&](std::span<const std::uint8_t> m) {
    const std::string err = h.step(m.data(), m.size());
    if (!err.empty() && failures++ < 5) ADD_FAILURE() << "message " << h.messages << " ('" << static_cast<char>(m[0]) << "'): " << err;
  });
  EXPECT_EQ(failures, 0U);
  EXPECT_EQ(h.messages, 12012U);
  EXPECT_EQ(h.final_check(), "");
  // The sample is sampled: executions and deletes name orders that were sampled away.
  // Both books saw the same ones (compare_counters above); the fast book must have seen
  // some, or the test proves nothing about them.
  const book_counters& c = h.fast.counters();
  EXPECT_GT(c.unknown_refs(), 0U);
  EXPECT_EQ(c.level_errors, 0U);
  EXPECT_EQ(c.trades, 5000U + 198U - c.unknown_ref[0]) << "every P and every E of a live order trades";
  std::size_t named = 0;
  for (locate_t l = 0; l < h.fast.locate_limit(); ++l) named += h.fast.state(l)->info.known ? 1 : 0;
  EXPECT_EQ(named, 3U) << "three R messages";
  std::printf("[ sample ] unknown refs E %llu C %llu X %llu D %llu U %llu; live orders %zu; trades %llu\n",
              static_cast<unsigned long long>(c.unknown_ref[0]), static_cast<unsigned long long>(c.unknown_ref[1]),
              static_cast<unsigned long long>(c.unknown_ref[2]), static_cast<unsigned long long>(c.unknown_ref[3]),
              static_cast<unsigned long long>(c.unknown_ref[4]), h.fast.orders().size(),
              static_cast<unsigned long long>(c.trades));
}

// A synthetic session with every message type: a few stocks, system and status
// messages, order flow that mostly names live orders (and sometimes not), trades,
// crosses, breaks, imbalances.
std::vector<raw> synthetic_stream(std::uint64_t seed, std::size_t n) {
  std::mt19937_64 rng(seed);
  std::vector<raw> out;
  std::uint64_t ts = 34'200'000'000'000ULL;
  auto tick = [&] { return ts += 1 + rng() % 100000; };
  auto sys = [&](char code) {
    raw m('S', 12, 0, 0, tick());
    m.c(11, code);
    out.push_back(m);
  };
  sys('O');
  sys('S');
  raw v('V', 35, 0, 0, tick());
  v.u(11, 8, 312345678901ULL).u(19, 8, 290000000000ULL).u(27, 8, 260000000000ULL);
  out.push_back(v);
  const char* names[] = {"AAA", "BBB", "CCC", "DDD"};
  for (std::uint16_t l = 1; l <= 4; ++l) {
    raw r('R', 39, l, 0, tick());
    r.a(11, 8, names[l - 1]).c(19, 'Q').c(20, 'N').u(21, 4, 100 * l).c(25, 'N').c(26, 'C').a(27, 2, "Z").c(29, 'P')
        .c(30, 'N').c(31, 'N').c(32, '1').c(33, 'N').u(34, 4, 1).c(38, 'N');
    out.push_back(r);
    raw h('H', 25, l, 0, tick());
    h.a(11, 8, names[l - 1]).c(19, 'T').a(21, 4, "");
    out.push_back(h);
    raw y('Y', 20, l, 0, tick());
    y.a(11, 8, names[l - 1]).c(19, '0');
    out.push_back(y);
    raw lp('L', 26, l, 0, tick());
    lp.a(11, 4, "GSCO").a(15, 8, names[l - 1]).c(23, 'Y').c(24, 'N').c(25, 'A');
    out.push_back(lp);
  }
  sys('Q');
  std::vector<std::uint64_t> live;
  std::uint64_t next_ref = 1;
  std::uint64_t match = 1;
  auto pick = [&]() -> std::uint64_t {
    if (live.empty() || rng() % 50 == 0) return 1'000'000 + rng() % 1000; // unknown
    return live[rng() % live.size()];
  };
  auto drop = [&](std::uint64_t ref) {
    auto it = std::find(live.begin(), live.end(), ref);
    if (it != live.end()) {
      *it = live.back();
      live.pop_back();
    }
  };
  for (std::size_t i = 0; i < n; ++i) {
    const auto l = static_cast<std::uint16_t>(1 + rng() % 4);
    const std::uint32_t mid = 100'000u * l;
    const bool buy = (rng() & 1) != 0;
    const auto price = static_cast<std::uint32_t>(buy ? mid - 100 * (rng() % 10) : mid + 100 + 100 * (rng() % 10));
    const auto shares = static_cast<std::uint32_t>(100 * (1 + rng() % 5));
    const unsigned r = static_cast<unsigned>(rng() % 1000);
    if (r < 400 || live.size() < 10) {
      const std::uint64_t ref = next_ref++;
      out.push_back(r % 10 == 0 ? itch_test::add_mpid_msg(l, tick(), ref, buy ? 'B' : 'S', shares, price)
                                : itch_test::add_msg(l, tick(), ref, buy ? 'B' : 'S', shares, price));
      live.push_back(ref);
    } else if (r < 700) {
      const std::uint64_t ref = pick();
      out.push_back(itch_test::delete_msg(l, tick(), ref));
      drop(ref);
    } else if (r < 780) {
      const std::uint64_t ref = pick();
      const std::uint64_t nref = next_ref++;
      out.push_back(itch_test::replace_msg(l, tick(), ref, nref, shares, price));
      if (std::find(live.begin(), live.end(), ref) != live.end()) {
        drop(ref);
        live.push_back(nref);
      }
    } else if (r < 830) {
      out.push_back(itch_test::exec_msg(l, tick(), pick(), static_cast<std::uint32_t>(1 + rng() % 300), match++));
    } else if (r < 860) {
      out.push_back(itch_test::exec_price_msg(l, tick(), pick(), static_cast<std::uint32_t>(1 + rng() % 300),
                                              rng() % 4 == 0 ? 'N' : 'Y', price, match++));
    } else if (r < 900) {
      out.push_back(itch_test::cancel_msg(l, tick(), pick(), static_cast<std::uint32_t>(1 + rng() % 300)));
    } else if (r < 940) {
      out.push_back(itch_test::trade_msg(l, tick(), buy ? 'B' : 'S', shares, price, match++));
    } else if (r < 950) {
      out.push_back(itch_test::cross_msg(l, tick(), rng() % 3 == 0 ? 0 : shares * 10ULL, mid, 'I', match++));
    } else if (r < 955) {
      raw b('B', 19, l, 0, tick());
      b.u(11, 8, 1 + rng() % match);
      out.push_back(b);
    } else if (r < 970) {
      raw im('I', 50, l, 0, tick());
      im.u(11, 8, rng() % 100000).u(19, 8, rng() % 10000).c(27, "BSNO"[rng() % 4]).a(28, 8, names[l - 1])
          .u(36, 4, mid + 100).u(40, 4, mid).u(44, 4, mid - 100).c(48, 'C').c(49, 'L');
      out.push_back(im);
    } else if (r < 975) {
      raw h('H', 25, l, 0, tick());
      h.a(11, 8, names[l - 1]).c(19, "HPQT"[rng() % 4]).a(21, 4, "MWC1");
      out.push_back(h);
    } else if (r < 980) {
      raw y('Y', 20, l, 0, tick());
      y.a(11, 8, names[l - 1]).c(19, "012"[rng() % 3]);
      out.push_back(y);
    } else if (r < 985) {
      raw j('J', 35, l, 0, tick());
      j.a(11, 8, names[l - 1]).u(19, 4, mid).u(23, 4, mid + 5000).u(27, 4, mid - 5000).u(31, 4, rng() % 5);
      out.push_back(j);
    } else if (r < 988) {
      raw oh('h', 21, l, 0, tick());
      oh.a(11, 8, names[l - 1]).c(19, 'Q').c(20, "HT"[rng() % 2]);
      out.push_back(oh);
    } else if (r < 991) {
      raw k('K', 28, l, 0, tick());
      k.a(11, 8, names[l - 1]).u(19, 4, 36000).c(23, 'A').u(24, 4, mid);
      out.push_back(k);
    } else if (r < 994) {
      raw np('N', 20, l, 0, tick());
      np.a(11, 8, names[l - 1]).c(19, "BSAN"[rng() % 4]);
      out.push_back(np);
    } else if (r < 997) {
      raw o('O', 48, l, 0, tick());
      o.a(11, 8, names[l - 1]).c(19, 'Y').u(20, 4, mid - 1000).u(24, 4, mid + 1000).u(28, 4, mid).u(32, 8, ts + 1000)
          .u(40, 4, mid - 2000).u(44, 4, mid + 2000);
      out.push_back(o);
    } else {
      raw w('W', 12, 0, 0, tick());
      w.c(11, "123"[rng() % 3]);
      out.push_back(w);
    }
  }
  sys('M');
  sys('E');
  sys('C');
  return out;
}

TEST(ItchBookVsReference, SyntheticStreamWithEveryMessageTypeAgrees) {
  const auto stream = synthetic_stream(42, 60000);
  harness h(1'700'000'000'000'000'000ULL);
  std::uint64_t failures = 0;
  for (const raw& m : stream) {
    const std::string err = h.step(m.data(), m.size());
    if (!err.empty() && failures++ < 5) ADD_FAILURE() << "message " << h.messages << " ('" << static_cast<char>(m.b[0]) << "'): " << err;
  }
  EXPECT_EQ(failures, 0U);
  EXPECT_EQ(h.final_check(), "");
  for (msg_type t : kAllMessageTypes) {
    EXPECT_GT(h.fast.decoder().decoded(t), 0U) << "type '" << static_cast<char>(t) << "' not covered";
  }
  const book_counters& c = h.fast.counters();
  EXPECT_GT(c.unknown_refs(), 0U);
  EXPECT_GT(c.over_execution, 0U);
  EXPECT_GT(c.non_printable, 0U);
  EXPECT_GT(c.broken_trades, 0U);
  EXPECT_GT(h.fast.orders().size(), 0U);
  EXPECT_EQ(c.level_errors, 0U);
}

// Random bytes shaped like order messages over a tiny reference and locate space, so
// duplicates, mismatched locates, zero shares/prices and bad sides all happen often; one
// in 50 is truncated (down to empty) or cut short.
std::vector<raw> random_order_messages(std::uint64_t seed, std::size_t n) {
  std::mt19937_64 rng(seed);
  const char tags[] = {'A', 'F', 'E', 'C', 'X', 'D', 'U', 'P', 'Q', 'B'};
  std::vector<raw> out;
  for (std::size_t i = 0; i < n; ++i) {
    const char tag = tags[rng() % sizeof tags];
    raw m(tag, message_size(static_cast<std::uint8_t>(tag)), static_cast<std::uint16_t>(rng() % 3), 0, rng() % 1000000);
    for (std::size_t k = 11; k < m.size(); ++k) m.b[k] = static_cast<std::uint8_t>(rng());
    m.u(11, 8, rng() % 40); // order reference
    switch (tag) {
    case 'A':
    case 'F':
      m.c(19, rng() % 20 == 0 ? 'x' : "BS"[rng() % 2]).u(20, 4, rng() % 20 == 0 ? 0 : rng() % 1000)
          .u(32, 4, rng() % 30 == 0 ? 0 : 1000 + rng() % 10);
      break;
    case 'E':
    case 'C':
    case 'X': m.u(19, 4, rng() % 700); break;
    case 'U': m.u(19, 8, rng() % 40).u(27, 4, rng() % 30 == 0 ? 0 : rng() % 1000).u(31, 4, 1000 + rng() % 10); break;
    default: break;
    }
    // Sometimes truncated or oversize.
    if (rng() % 50 == 0) m.b.erase(m.b.begin() + static_cast<std::ptrdiff_t>(rng() % m.size()), m.b.end());
    out.push_back(std::move(m));
  }
  return out;
}

TEST(ItchBookVsReference, RandomOrderMessagesAgree) {
  harness h;
  std::uint64_t failures = 0;
  for (const raw& m : random_order_messages(99, 200000)) {
    const std::string err = h.step(m.data(), m.size());
    if (!err.empty() && failures++ < 5) {
      ADD_FAILURE() << "message " << h.messages << " ('" << (m.size() != 0 ? static_cast<char>(m.b[0]) : '?') << "'): " << err;
    }
  }
  EXPECT_EQ(failures, 0U);
  EXPECT_EQ(h.final_check(), "");
  const book_counters& c = h.fast.counters();
  EXPECT_GT(c.duplicate_ref, 0U);
  EXPECT_GT(c.locate_mismatch, 0U);
  EXPECT_GT(c.invalid_order, 0U);
  EXPECT_GT(c.over_execution, 0U);
  EXPECT_GT(h.fast.decoder().truncated_total(), 0U);
}

// apply_batch's cache hints read messages ahead of the one applied, into the batch and
// past it (its `ahead`): they must never change what is applied, nor read past a
// message's length (the ASan build runs this). Batches of random sizes, random look-ahead,
// hints on and off, over every message type and over malformed order messages, against
// the same book fed one message at a time.
TEST(ItchBook, BatchesWithLookAheadAgreeWithOneMessageAtATime) {
  std::vector<raw> stream = synthetic_stream(7, 30000);
  for (raw& m : random_order_messages(5, 30000)) stream.push_back(std::move(m));
  std::mt19937_64 rng(5);
  std::vector<std::span<const std::uint8_t>> spans;
  for (const raw& m : stream) spans.emplace_back(m.data(), m.size());

  itch_book one(quiet());
  itch_book batched(quiet());
  collect_sink one_sink;
  collect_sink batched_sink;
  // One message at a time through the virtual interface, batches through the sink's own
  // type (apply's two instantiations: event_sink, and a sink called directly).
  event_sink& one_events = one_sink;
  for (const auto& m : spans) (void)one.apply(m.data(), m.size(), one_events);
  std::size_t looked_ahead = 0;
  for (std::size_t i = 0; i < spans.size();) {
    const std::size_t n = std::min<std::size_t>(1 + rng() % 150, spans.size() - i);
    const std::size_t rest = spans.size() - i - n;
    // Mostly the whole next batch (as the file source), sometimes a part, sometimes none.
    const std::size_t ahead = rng() % 4 == 0 ? 0 : std::min<std::size_t>(rng() % 2 == 0 ? 64 : rng() % 20, rest);
    const std::size_t far = rng() % 10 == 0 ? 0 : itch_book::kFar;
    batched.apply_batch(spans.data() + i, n, batched_sink, ahead, far);
    looked_ahead += ahead != 0 ? 1 : 0;
    i += n;
  }
  ASSERT_GT(looked_ahead, 0U);
  ASSERT_EQ(batched_sink.events.size(), one_sink.events.size());
  for (std::size_t i = 0; i < one_sink.events.size(); ++i) {
    ASSERT_TRUE(itch_test::same_event(batched_sink.events[i], one_sink.events[i]))
        << "event " << i << ": " << itch_test::describe(batched_sink.events[i]) << " vs "
        << itch_test::describe(one_sink.events[i]);
  }
  EXPECT_EQ(batched_sink.states, one_sink.states);
  EXPECT_EQ(batched.counters(), one.counters());
  EXPECT_EQ(batched.decoder().decoded_total(), one.decoder().decoded_total());
  EXPECT_EQ(batched.decoder().truncated_total(), one.decoder().truncated_total());
  EXPECT_GT(one.decoder().truncated_total(), 0U);
  EXPECT_EQ(batched.orders().size(), one.orders().size());
  ASSERT_EQ(batched.locate_limit(), one.locate_limit());
  for (std::size_t l = 0; l < one.locate_limit(); ++l) {
    const level_book a = *batched.book(static_cast<locate_t>(l)); // book() reuses one copy
    const level_book& b = *one.book(static_cast<locate_t>(l));
    for (const side s : {side::bid, side::ask}) {
      ASSERT_EQ(a.depth(s), b.depth(s)) << "locate " << l;
      for (std::size_t k = 0; k < b.depth(s); ++k) {
        ASSERT_EQ(a.level(s, k).price, b.level(s, k).price) << "locate " << l;
        ASSERT_EQ(a.level(s, k).qty, b.level(s, k).qty) << "locate " << l;
        ASSERT_EQ(a.level(s, k).orders, b.level(s, k).orders) << "locate " << l;
      }
    }
  }
}

TEST(ItchBook, ClearForgetsEverything) {
  itch_book b(quiet());
  collect_sink sink;
  const raw a = itch_test::add_msg(1, 1, 1, 'B', 10, 100);
  ASSERT_EQ(b.apply(a.data(), a.size(), sink), decode_status::ok);
  const raw d = itch_test::delete_msg(1, 1, 2);
  ASSERT_EQ(b.apply(d.data(), d.size(), sink), decode_status::ok);
  b.clear();
  EXPECT_EQ(b.orders().size(), 0U);
  ASSERT_NE(b.book(1), nullptr) << "memory is kept";
  EXPECT_EQ(b.book(1)->depth(side::bid), 0U);
  EXPECT_EQ(b.counters(), book_counters{});
  EXPECT_EQ(b.decoder().decoded_total(), 0U);
  ASSERT_EQ(b.apply(a.data(), a.size(), sink), decode_status::ok);
  EXPECT_EQ(b.book(1)->depth(side::bid), 1U);
}

} // namespace
} // namespace mdgw::itch
