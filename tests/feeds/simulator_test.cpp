// Tests of the simulated market (feeds/simulator.hpp) and its feed
// (feeds/simulator_feed.hpp).
//
// The oracle is independent of the code under test: a plain std::map book per side
// written here, fed the simulator's events, checked event by event (a reduce names
// resting quantity and orders, a trade is at the passive best, the book is never
// crossed) and compared level by level with level_book. The feed is checked against a
// replay of the same seed, so the published versions and books must match exactly.
#include "level_book.hpp"
#include "publication.hpp"
#include "simulator.hpp"
#include "simulator_feed.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace mdgw {
namespace {

using namespace std::chrono_literals;

struct ref_level {
  qty_t qty = 0;
  std::uint64_t orders = 0;
};

// The reference: what a careful consumer would write, no cleverness.
struct ref_book {
  std::map<price_t, ref_level, std::greater<>> bids; // best first
  std::map<price_t, ref_level> asks;                  // best first

  [[nodiscard]] bool empty(side s) const { return s == side::bid ? bids.empty() : asks.empty(); }
  [[nodiscard]] std::size_t depth(side s) const { return s == side::bid ? bids.size() : asks.size(); }
  [[nodiscard]] price_t best_price(side s) const {
    return s == side::bid ? bids.begin()->first : asks.begin()->first;
  }
  [[nodiscard]] const ref_level* find(side s, price_t p) const {
    if (s == side::bid) {
      auto it = bids.find(p);
      return it == bids.end() ? nullptr : &it->second;
    }
    auto it = asks.find(p);
    return it == asks.end() ? nullptr : &it->second;
  }
  ref_level& at(side s, price_t p) { return s == side::bid ? bids[p] : asks[p]; }
  void erase(side s, price_t p) {
    if (s == side::bid) {
      bids.erase(p);
    } else {
      asks.erase(p);
    }
  }
  [[nodiscard]] std::uint64_t total_orders() const {
    std::uint64_t n = 0;
    for (const auto& [p, l] : bids) n += l.orders;
    for (const auto& [p, l] : asks) n += l.orders;
    return n;
  }
};

// Applies one event to the reference; returns an empty string or what was wrong.
std::string apply_ref(ref_book& b, const market_event& e) {
  switch (e.what) {
  case market_event::type::add: {
    if (e.qty <= 0 || e.orders == 0) return "add without quantity or orders";
    ref_level& l = b.at(e.s, e.price);
    l.qty += e.qty;
    l.orders += e.orders;
    return {};
  }
  case market_event::type::reduce: {
    const ref_level* found = b.find(e.s, e.price);
    if (found == nullptr) return "reduce of a price with no level: " + std::to_string(e.price);
    ref_level& l = b.at(e.s, e.price);
    if (e.qty <= 0 || e.qty > l.qty) return "reduce of more quantity than rests";
    if (e.orders > l.orders) return "reduce of more orders than rest";
    l.qty -= e.qty;
    l.orders -= e.orders;
    if ((l.qty == 0) != (l.orders == 0)) return "level left with quantity but no orders (or the reverse)";
    if (l.qty == 0) b.erase(e.s, e.price);
    return {};
  }
  case market_event::type::trade: {
    const side passive = opposite(e.s);
    if (b.empty(passive)) return "trade with an empty passive side";
    if (e.price != b.best_price(passive)) return "trade away from the passive best";
    if (e.qty <= 0 || e.qty > b.find(passive, e.price)->qty) return "trade larger than the passive best level";
    return {};
  }
  }
  return "unknown event type";
}

[[nodiscard]] bool crossed(const ref_book& b) {
  return !b.bids.empty() && !b.asks.empty() && b.bids.begin()->first >= b.asks.begin()->first;
}

// Compares every level of both sides; returns an empty string when equal.
std::string compare(const ref_book& ref, const level_book& book) {
  for (side s : {side::bid, side::ask}) {
    if (book.depth(s) != ref.depth(s)) {
      return "depth differs: " + std::to_string(book.depth(s)) + " vs " + std::to_string(ref.depth(s));
    }
    std::size_t i = 0;
    auto check = [&](price_t p, const ref_level& l) -> std::string {
      const price_level& got = book.level(s, i++);
      if (got.price != p || got.qty != l.qty || got.orders != l.orders) {
        return "level " + std::to_string(i - 1) + " differs at price " + std::to_string(p);
      }
      return {};
    };
    if (s == side::bid) {
      for (const auto& [p, l] : ref.bids) {
        if (auto err = check(p, l); !err.empty()) return err;
      }
    } else {
      for (const auto& [p, l] : ref.asks) {
        if (auto err = check(p, l); !err.empty()) return err;
      }
    }
  }
  return {};
}

[[nodiscard]] apply_status apply_book(level_book& b, const market_event& e) {
  switch (e.what) {
  case market_event::type::add: return b.add(e.s, e.price, e.qty, e.orders);
  case market_event::type::reduce: return b.reduce(e.s, e.price, e.qty, e.orders);
  case market_event::type::trade: return apply_status::ok;
  }
  return apply_status::bad_quantity;
}

// The stream of a simulator: seed events then `actions` actions, exch_ts = action index.
std::vector<market_event> stream(const simulator_config& cfg, std::uint64_t actions) {
  market_simulator sim(cfg);
  std::vector<market_event> out;
  sim.seed(0, out);
  for (std::uint64_t i = 0; i < actions; ++i) sim.next(i + 1, out);
  return out;
}

bool same_bytes(const std::vector<market_event>& a, const std::vector<market_event>& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](const auto& x, const auto& y) {
           return std::memcmp(&x, &y, sizeof(market_event)) == 0;
         });
}

// FNV-1a over the fields, little-endian: independent of the host's byte order.
std::uint64_t fingerprint(const std::vector<market_event>& events) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  auto mix = [&h](std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) {
      h ^= (v >> (8 * i)) & 0xffU;
      h *= 0x100000001b3ULL;
    }
  };
  for (const auto& e : events) {
    mix(static_cast<std::uint64_t>(e.what), 1);
    mix(static_cast<std::uint64_t>(e.s), 1);
    mix(e.orders, 4);
    mix(e.instrument, 4);
    mix(static_cast<std::uint64_t>(e.price), 8);
    mix(static_cast<std::uint64_t>(e.qty), 8);
    mix(e.exch_ts, 8);
  }
  return h;
}

// ---------------------------------------------------------------- instruments

TEST(MarketSimulator, InstrumentsLookLikeUsEquities) {
  market_simulator sim(simulator_config{});
  const auto& infos = sim.instruments();
  ASSERT_GE(infos.size(), 50U);
  ASSERT_EQ(infos.size(), 64U);
  std::set<std::string> symbols;
  for (std::size_t i = 0; i < infos.size(); ++i) {
    const auto& info = infos[i];
    SCOPED_TRACE(info.symbol);
    EXPECT_EQ(info.id, i);
    EXPECT_EQ(info.symbol.rfind("SIM:", 0), 0U);
    EXPECT_GT(info.symbol.size(), 4U);
    EXPECT_EQ(info.venue, "SIM");
    EXPECT_EQ(info.price_scale, 4);
    EXPECT_EQ(info.qty_scale, 0);
    EXPECT_TRUE(info.tick_size == 100 || info.tick_size == 1) << info.tick_size;
    EXPECT_TRUE(info.lot_size == 100 || info.lot_size == 1) << info.lot_size;
    symbols.insert(info.symbol);
  }
  EXPECT_EQ(symbols.size(), infos.size()) << "symbols must be distinct";
  EXPECT_EQ(infos[0].symbol, "SIM:AAPL");
}

TEST(MarketSimulator, StartingPricesSpanPennyStocksToThousands) {
  simulator_config cfg;
  cfg.instruments = 200;
  const auto events = stream(cfg, 0);
  market_simulator sim(cfg);
  std::vector<price_t> best_bid(cfg.instruments, 0);
  for (const auto& e : events) {
    if (e.s == side::bid) best_bid[e.instrument] = std::max(best_bid[e.instrument], e.price);
  }
  const auto [lo, hi] = std::minmax_element(best_bid.begin(), best_bid.end());
  EXPECT_GE(*lo, 4'000);        // >= $0.40
  EXPECT_LT(*lo, 10'000);       // some names under $1
  EXPECT_GT(*hi, 20'000'000);   // some over $2000
  EXPECT_LE(*hi, 40'000'000);   // none far over $3000 and a bit
  for (std::size_t i = 0; i < cfg.instruments; ++i) {
    const auto& info = sim.instruments()[i];
    // Sub-dollar names quote in 0.0001, everything else in cents.
    EXPECT_EQ(info.tick_size, best_bid[i] < 10'000 ? 1 : 100) << info.symbol;
  }
}

TEST(MarketSimulator, ManyInstrumentsKeepDistinctSymbols) {
  simulator_config cfg;
  cfg.instruments = 1000;
  market_simulator sim(cfg);
  std::set<std::string> symbols;
  for (const auto& info : sim.instruments()) symbols.insert(info.symbol);
  EXPECT_EQ(symbols.size(), 1000U);
}

TEST(MarketSimulator, RejectsBadConfig) {
  simulator_config cfg;
  cfg.instruments = 0;
  EXPECT_THROW(market_simulator{cfg}, std::invalid_argument);
  cfg.instruments = market_simulator::kMaxInstruments + 1;
  EXPECT_THROW(market_simulator{cfg}, std::invalid_argument);
  cfg.instruments = 1;
  cfg.rate = -1;
  EXPECT_THROW(market_simulator{cfg}, std::invalid_argument);
  cfg.rate = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(market_simulator{cfg}, std::invalid_argument);
  cfg.rate = std::numeric_limits<double>::infinity();
  EXPECT_THROW(market_simulator{cfg}, std::invalid_argument);
  cfg.rate = 2 * market_simulator::kMaxRate;
  EXPECT_THROW(market_simulator{cfg}, std::invalid_argument);
  cfg.rate = 0;
  EXPECT_NO_THROW(market_simulator{cfg});
}

// ---------------------------------------------------------------- determinism

TEST(MarketSimulator, SameSeedGivesByteIdenticalStream) {
  simulator_config cfg;
  cfg.seed = 7;
  const auto a = stream(cfg, 50'000);
  const auto b = stream(cfg, 50'000);
  ASSERT_GT(a.size(), 50'000U);
  EXPECT_TRUE(same_bytes(a, b));
}

TEST(MarketSimulator, DifferentSeedGivesDifferentStream) {
  simulator_config cfg;
  cfg.seed = 1;
  const auto a = stream(cfg, 10'000);
  cfg.seed = 2;
  const auto b = stream(cfg, 10'000);
  EXPECT_FALSE(same_bytes(a, b));
  EXPECT_NE(fingerprint(a), fingerprint(b));
}

TEST(MarketSimulator, TimestampsOnlyStampTheEvents) {
  simulator_config cfg;
  market_simulator a(cfg);
  market_simulator b(cfg);
  std::vector<market_event> ea;
  std::vector<market_event> eb;
  for (std::uint64_t i = 0; i < 5'000; ++i) {
    a.next(i, ea);
    b.next(1'700'000'000'000'000'000ULL + i * 997, eb);
  }
  ASSERT_EQ(ea.size(), eb.size());
  for (auto& e : eb) e.exch_ts = 0;
  for (auto& e : ea) e.exch_ts = 0;
  EXPECT_TRUE(same_bytes(ea, eb));
}

// The stream is a contract: demos, captures and benchmark runs are reproducible from a
// seed on any machine and standard library. If the generator is changed on purpose,
// replace the constant with the value printed here.
TEST(MarketSimulator, StreamFingerprintIsStable) {
  const auto events = stream(simulator_config{}, 10'000);
  EXPECT_EQ(fingerprint(events), 0x089014c7454a7794ULL) << "fingerprint 0x" << std::hex << fingerprint(events);
}

// ---------------------------------------------------------------- event validity

TEST(MarketSimulator, EventsAreWellFormed) {
  simulator_config cfg;
  cfg.instruments = 120; // past the name list: variants too
  market_simulator sim(cfg);
  std::vector<market_event> events;
  sim.seed(0, events);
  for (std::uint64_t i = 0; i < 100'000; ++i) sim.next(i, events);
  const auto& infos = sim.instruments();
  std::size_t trades = 0;
  for (std::size_t k = 0; k < events.size(); ++k) {
    const auto& e = events[k];
    ASSERT_LT(e.instrument, infos.size());
    const auto& info = infos[e.instrument];
    ASSERT_GT(e.price, 0) << info.symbol;
    ASSERT_EQ(e.price % info.tick_size, 0) << info.symbol << " price " << e.price;
    ASSERT_GT(e.qty, 0) << info.symbol;
    ASSERT_EQ(e.qty % info.lot_size, 0) << info.symbol << " qty " << e.qty;
    ASSERT_EQ(e.reserved_, 0U);
    ASSERT_EQ(e.reserved2_, 0U);
    if (e.what == market_event::type::add) {
      ASSERT_GE(e.orders, 1U);
    }
    if (e.what == market_event::type::trade) {
      ++trades;
      // Every trade comes with the reduce of the passive level it hit.
      ASSERT_LT(k + 1, events.size());
      const auto& r = events[k + 1];
      EXPECT_EQ(r.what, market_event::type::reduce);
      EXPECT_EQ(r.instrument, e.instrument);
      EXPECT_EQ(r.s, opposite(e.s));
      EXPECT_EQ(r.price, e.price);
      EXPECT_EQ(r.qty, e.qty);
    }
  }
  EXPECT_GT(trades, 1'000U);
}

// ---------------------------------------------------------------- against the reference

TEST(MarketSimulator, LongRunMatchesReferenceBookAndIsNeverCrossed) {
  const simulator_config cfg; // 64 instruments, seed 42
  constexpr std::uint64_t kActions = 200'000;
  market_simulator sim(cfg);
  const std::size_t n = sim.instruments().size();
  std::vector<ref_book> ref(n);
  std::vector<level_book> books(n);
  std::vector<market_event> out;

  auto apply_all = [&](std::uint64_t action) {
    for (const auto& e : out) {
      const std::string err = apply_ref(ref[e.instrument], e);
      ASSERT_TRUE(err.empty()) << err << " (action " << action << ", " << sim.instruments()[e.instrument].symbol
                               << ")";
      ASSERT_EQ(apply_book(books[e.instrument], e), apply_status::ok) << "action " << action;
      // Not even transiently: trades and reduces come before a remainder rests.
      ASSERT_FALSE(crossed(ref[e.instrument])) << "crossed at action " << action;
    }
  };

  sim.seed(0, out);
  apply_all(0);
  for (std::size_t i = 0; i < n; ++i) {
    ASSERT_FALSE(ref[i].bids.empty());
    ASSERT_FALSE(ref[i].asks.empty());
  }

  std::uint64_t add_actions = 0;
  std::uint64_t cancel_actions = 0;
  std::uint64_t trade_actions = 0;
  std::uint64_t trades = 0;
  for (std::uint64_t a = 1; a <= kActions; ++a) {
    out.clear();
    sim.next(a, out);
    ASSERT_FALSE(out.empty()) << "every action has an effect";
    apply_all(a);
    if (HasFatalFailure()) return;
    const auto id = out.front().instrument;
    for (const auto& e : out) ASSERT_EQ(e.instrument, id) << "an action touches one instrument";
    ASSERT_FALSE(ref[id].bids.empty()) << "a side emptied";
    ASSERT_FALSE(ref[id].asks.empty()) << "a side emptied";
    const auto t = static_cast<std::uint64_t>(
        std::count_if(out.begin(), out.end(), [](const auto& e) { return e.what == market_event::type::trade; }));
    trades += t;
    if (t > 0) {
      ++trade_actions;
    } else if (out.size() == 1 && out[0].what == market_event::type::add) {
      ++add_actions;
    } else if (out.size() == 1 && out[0].what == market_event::type::reduce) {
      ++cancel_actions;
    } else {
      ADD_FAILURE() << "an action that is neither add, cancel nor execution";
    }
    if (a % 50'000 == 0) {
      for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(compare(ref[i], books[i]), "") << sim.instruments()[i].symbol;
    }
  }
  EXPECT_EQ(sim.actions(), kActions);
  for (std::size_t i = 0; i < n; ++i) {
    SCOPED_TRACE(sim.instruments()[i].symbol);
    EXPECT_EQ(compare(ref[i], books[i]), "");
    // The simulator's own order count agrees with what its events built.
    EXPECT_EQ(ref[i].total_orders(), sim.resting_orders(static_cast<instrument_id>(i)));
    EXPECT_LE(sim.resting_orders(static_cast<instrument_id>(i)), market_simulator::kMaxRestingOrders);
  }
  // The mix: mostly adds, many cancels, a steady trickle of executions.
  const double total = static_cast<double>(kActions);
  EXPECT_GT(add_actions / total, 0.40);
  EXPECT_LT(add_actions / total, 0.65);
  EXPECT_GT(cancel_actions / total, 0.25);
  EXPECT_LT(cancel_actions / total, 0.50);
  EXPECT_GT(trade_actions / total, 0.05);
  EXPECT_LT(trade_actions / total, 0.25);
  EXPECT_GE(trades, trade_actions);
}

TEST(MarketSimulator, BooksKeepRealDepth) {
  const simulator_config cfg;
  market_simulator sim(cfg);
  const std::size_t n = sim.instruments().size();
  std::vector<level_book> books(n);
  std::vector<market_event> out;
  std::size_t min_depth = SIZE_MAX;
  for (std::uint64_t a = 0; a < 200'000; ++a) {
    sim.next(a, out);
    for (const auto& e : out) ASSERT_EQ(apply_book(books[e.instrument], e), apply_status::ok);
    out.clear();
    if (a >= 20'000 && a % 1'000 == 0) {
      for (const auto& b : books) min_depth = std::min({min_depth, b.depth(side::bid), b.depth(side::ask)});
    }
  }
  std::size_t deep = 0;
  std::size_t full_top = 0;
  for (const auto& b : books) {
    if (b.depth(side::bid) >= 10 && b.depth(side::ask) >= 10) ++deep;
    if (b.depth(side::bid) >= 30 && b.depth(side::ask) >= 30) ++full_top;
  }
  EXPECT_GE(deep, n * 9 / 10) << "instruments with >= 10 levels per side";
  EXPECT_GE(full_top, n / 2) << "instruments with >= 30 levels per side";
  EXPECT_GE(min_depth, market_simulator::kThinLevels) << "thinnest side seen after warm-up";
}

TEST(MarketSimulator, RestingOrdersStayBoundedOnOneInstrument) {
  simulator_config cfg;
  cfg.instruments = 1;
  market_simulator sim(cfg);
  std::vector<market_event> out;
  std::size_t most = 0;
  for (std::uint64_t a = 0; a < 300'000; ++a) {
    sim.next(a, out);
    out.clear();
    most = std::max(most, sim.resting_orders(0));
  }
  EXPECT_LE(most, market_simulator::kMaxRestingOrders);
  EXPECT_GT(sim.resting_orders(0), 100U);
}

// ---------------------------------------------------------------- seeding and stopping

TEST(MarketSimulator, SeedingHappensOnceAndIsNotAnAction) {
  simulator_config cfg;
  cfg.instruments = 3;
  market_simulator implicit(cfg);
  market_simulator explicit_seed(cfg);
  std::vector<market_event> a;
  std::vector<market_event> b;
  implicit.next(5, a);
  explicit_seed.seed(5, b);
  EXPECT_TRUE(explicit_seed.seeded());
  EXPECT_EQ(explicit_seed.actions(), 0U);
  explicit_seed.seed(5, b); // again: nothing
  explicit_seed.next(5, b);
  EXPECT_TRUE(same_bytes(a, b));
  EXPECT_EQ(implicit.actions(), 1U);
  std::set<instrument_id> seeded;
  for (const auto& e : b) seeded.insert(e.instrument);
  EXPECT_EQ(seeded.size(), 3U);
}

TEST(MarketSimulator, MaxEventsStopsExactlyAfterNActions) {
  simulator_config cfg;
  cfg.max_events = 1'000;
  market_simulator sim(cfg);
  std::vector<market_event> out;
  for (int i = 0; i < 999; ++i) sim.next(0, out);
  EXPECT_FALSE(sim.done());
  EXPECT_EQ(sim.actions(), 999U);
  const std::size_t before = out.size();
  sim.next(0, out);
  EXPECT_GT(out.size(), before);
  EXPECT_TRUE(sim.done());
  EXPECT_EQ(sim.actions(), 1'000U);
  const std::size_t final_size = out.size();
  for (int i = 0; i < 10; ++i) sim.next(0, out);
  EXPECT_EQ(out.size(), final_size);
  EXPECT_EQ(sim.actions(), 1'000U);
}

// ---------------------------------------------------------------- the feed

// What a consumer replaying the same seed knows: books, versions, trade counts.
struct replay {
  std::vector<ref_book> books;
  std::vector<std::uint64_t> versions;
  std::vector<std::uint64_t> trades;
  std::uint64_t events = 0;

  replay(const simulator_config& cfg, std::uint64_t actions) {
    const auto events_list = stream(cfg, actions);
    books.resize(cfg.instruments);
    versions.assign(cfg.instruments, 0);
    trades.assign(cfg.instruments, 0);
    events = events_list.size();
    for (const auto& e : events_list) {
      EXPECT_EQ(apply_ref(books[e.instrument], e), "");
      if (e.what == market_event::type::trade) {
        ++trades[e.instrument];
      } else {
        ++versions[e.instrument];
      }
    }
  }
};

bool wait_for(const std::function<bool()>& cond, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// Levels of a published top, compared with the best kMaxDepth levels of a book.
std::string compare_top(const book_top& top, const level_book& book) {
  const std::size_t nb = std::min(book.depth(side::bid), kMaxDepth);
  const std::size_t na = std::min(book.depth(side::ask), kMaxDepth);
  if (top.n_bids != nb || top.n_asks != na) return "published depth differs";
  for (std::size_t i = 0; i < nb; ++i) {
    if (!(top.bids()[i] == book.level(side::bid, i))) return "bid level " + std::to_string(i) + " differs";
  }
  for (std::size_t i = 0; i < na; ++i) {
    if (!(top.asks()[i] == book.level(side::ask, i))) return "ask level " + std::to_string(i) + " differs";
  }
  return {};
}

TEST(SimulatorFeed, RegistersEveryInstrument) {
  publication pub(1, 256);
  ASSERT_TRUE(pub.add_instrument(instrument_info{0, "OTHER:X", "OTHER", 4, 0, 1, 1}).has_value());
  simulator_feed feed(simulator_config{}, pub);
  EXPECT_EQ(pub.instrument_count(), 65U);
  EXPECT_EQ(feed.instrument_count(), 64U);
  const auto id = pub.find("SIM:AAPL");
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(*id, feed.publication_id(0));
  EXPECT_EQ(pub.info(*id).venue, "SIM");
  EXPECT_EQ(pub.info(*id).tick_size, 100);
  EXPECT_EQ(feed.status().name, "sim");
  EXPECT_EQ(feed.status().state, "starting");
  EXPECT_THROW((void)feed.book(0), std::out_of_range); // id 0 is OTHER:X
}

TEST(SimulatorFeed, RegistrationFailureNamesTheSymbol) {
  {
    publication pub(1, 256);
    ASSERT_TRUE(pub.add_instrument(instrument_info{0, "SIM:MSFT", "SIM", 4, 0, 100, 100}).has_value());
    try {
      simulator_feed feed(simulator_config{}, pub);
      FAIL() << "expected std::runtime_error";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("SIM:MSFT"), std::string::npos) << e.what();
    }
  }
  {
    publication pub(1, 10); // full after ten
    try {
      simulator_feed feed(simulator_config{}, pub);
      FAIL() << "expected std::runtime_error";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("SIM:"), std::string::npos) << e.what();
    }
  }
}

TEST(SimulatorFeed, FinishedFeedPublishedWhatItsBooksAndAReplayHold) {
  simulator_config cfg;
  cfg.rate = 0;
  cfg.max_events = 30'000;
  publication pub(1, 256);
  // Another feed's instrument first: the simulator's publication ids are not 0..n-1.
  ASSERT_TRUE(pub.add_instrument(instrument_info{0, "OTHER:X", "OTHER", 4, 0, 1, 1}).has_value());
  simulator_feed feed(cfg, pub);
  const replay expect(cfg, cfg.max_events);

  feed.start();
  ASSERT_TRUE(wait_for([&] { return feed.finished(); }, 60s)) << "feed did not finish";
  const feed_status st = feed.status();
  EXPECT_EQ(st.state, "finished");
  EXPECT_EQ(st.errors, 0U);
  EXPECT_EQ(st.events, expect.events);

  for (std::size_t i = 0; i < feed.instrument_count(); ++i) {
    const instrument_id id = feed.publication_id(i);
    SCOPED_TRACE(pub.info(id).symbol);
    const level_book& book = feed.book(id);
    EXPECT_EQ(compare(expect.books[i], book), "");
    book_top top;
    pub.read_top(id, top);
    EXPECT_EQ(top.instrument, id);
    EXPECT_EQ(top.version, expect.versions[i]);
    EXPECT_EQ(top.quality, data_quality::ok);
    EXPECT_GT(top.exch_ts, 0U);
    EXPECT_GE(top.recv_ts, top.exch_ts);
    EXPECT_EQ(compare_top(top, book), "");
  }
  // Finished feeds keep their final state and stop cleanly, more than once.
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(feed.status().events, expect.events);
  feed.stop();
  EXPECT_EQ(feed.status().state, "stopped");
  EXPECT_TRUE(feed.finished());
  feed.stop();
  EXPECT_EQ(feed.status().state, "stopped");
}

TEST(SimulatorFeed, RateLimitsTheFlow) {
  simulator_config cfg;
  cfg.rate = 20'000;
  cfg.max_events = 2'000; // 100 ms worth
  publication pub(1, 256);
  simulator_feed feed(cfg, pub);
  const auto t0 = std::chrono::steady_clock::now();
  feed.start();
  ASSERT_TRUE(wait_for([&] { return feed.finished(); }, 30s));
  const auto took = std::chrono::steady_clock::now() - t0;
  // A lower bound only (an upper bound would be a timed test): the schedule cannot
  // have run ahead of 20000 actions/s, give or take the first 1 ms batch.
  EXPECT_GE(took, 90ms);
  EXPECT_EQ(feed.status().errors, 0U);
}

TEST(SimulatorFeed, RateAboveCapacityRunsInBoundedBatches) {
  simulator_config cfg;
  cfg.rate = 1e9; // far more than a core generates: every tick owes ~10 ms of backlog
  cfg.max_events = 50'000;
  publication pub(1, 256);
  simulator_feed feed(cfg, pub);
  feed.start();
  ASSERT_TRUE(wait_for([&] { return feed.finished(); }, 60s));
  const replay expect(cfg, cfg.max_events);
  EXPECT_EQ(feed.status().events, expect.events);
  EXPECT_EQ(feed.status().errors, 0U);
  for (std::size_t i = 0; i < feed.instrument_count(); ++i) {
    EXPECT_EQ(compare(expect.books[i], feed.book(feed.publication_id(i))), "");
  }
}

TEST(SimulatorFeed, StopsWhileRunningAndWithoutStart) {
  {
    simulator_config cfg;
    cfg.rate = 0; // runs until stopped
    publication pub(1, 256);
    simulator_feed feed(cfg, pub);
    feed.start();
    feed.start(); // once only
    ASSERT_TRUE(wait_for([&] { return feed.status().events > 100'000; }, 30s));
    EXPECT_EQ(feed.status().state, "running");
    feed.stop();
    EXPECT_EQ(feed.status().state, "stopped");
    EXPECT_FALSE(feed.finished());
    const auto events = feed.status().events;
    std::this_thread::sleep_for(10ms);
    EXPECT_EQ(feed.status().events, events) << "the thread is gone";
    EXPECT_EQ(feed.status().errors, 0U);
    feed.start(); // a stopped feed stays stopped
    EXPECT_EQ(feed.status().state, "stopped");
  }
  {
    publication pub(1, 256);
    simulator_feed feed(simulator_config{}, pub);
    feed.stop();
    EXPECT_EQ(feed.status().state, "stopped");
  }
  {
    publication pub(1, 256);
    simulator_feed feed(simulator_config{}, pub); // paced at the default rate
    feed.start();
    std::this_thread::sleep_for(5ms);
  } // destroyed while running: joins
}

// An io thread's view while the feed runs flat out: tops are never crossed, versions
// only go up, and trades are read from the history in sequence (a loss only as counted
// gaps). Registered again in suite 'concurrency'
// (tests/feeds/meson.build) for the TSan run.
TEST(SimulatorFeedConcurrency, ReaderNeverSeesACrossedTop) {
  simulator_config cfg;
  cfg.rate = 0;
  cfg.max_events = 150'000;
  publication pub(1, 256);
  simulator_feed feed(cfg, pub);
  const std::size_t n = feed.instrument_count();
  std::atomic<bool> feed_done{false};
  std::uint64_t crossed_tops = 0;
  std::uint64_t version_regressions = 0;
  std::uint64_t trade_gaps = 0; // trades a reader found gone from the history
  std::uint64_t bad_trades = 0; // a trade not at its cursor's seq, or on another instrument
  std::uint64_t book_notices = 0;
  std::uint64_t reads = 0;
  std::vector<std::uint64_t> last_version(pub.instrument_count(), 0);
  std::vector<std::uint64_t> next_trade(pub.instrument_count(), 1);

  std::thread reader([&] {
    book_top top;
    auto check_top = [&](instrument_id id) {
      pub.read_top(id, top);
      ++reads;
      if (top.n_bids > 0 && top.n_asks > 0 && top.bids()[0].price >= top.asks()[0].price) ++crossed_tops;
      if (top.version < last_version[id]) ++version_regressions;
      last_version[id] = top.version;
    };
    auto on_notice = [&](const notice& nt) {
      if (nt.what == notice::kind::book) {
        ++book_notices;
        check_top(nt.instrument);
      } else if (const trade_history* h = pub.trades(nt.instrument); h != nullptr) {
        // Every trade after the cursor, from the instrument's history.
        std::uint64_t& cursor = next_trade[nt.instrument];
        trade_record buf[16];
        for (;;) {
          const auto r = h->read(cursor, buf);
          for (std::size_t k = 0; k < r.count; ++k) {
            if (buf[k].seq != cursor + r.lost + k || buf[k].instrument != nt.instrument) ++bad_trades;
          }
          trade_gaps += r.lost;
          cursor = r.next_seq;
          if (r.count == 0 && r.lost == 0) break;
        }
      }
    };
    std::size_t sweep_at = 0;
    for (;;) {
      const bool was_done = feed_done.load(std::memory_order_acquire);
      const std::size_t got = pub.drain(0, on_notice);
      // Also read slots nobody told us about: mid-publish reads must be consistent too.
      check_top(feed.publication_id(sweep_at++ % n));
      if (was_done && got == 0) break;
      if (got == 0) std::this_thread::yield();
    }
  });

  feed.start();
  const bool finished = wait_for([&] { return feed.finished(); }, 120s);
  feed_done.store(true, std::memory_order_release);
  reader.join();
  ASSERT_TRUE(finished);

  EXPECT_GT(book_notices, 0U);
  EXPECT_GT(reads, book_notices);
  EXPECT_EQ(crossed_tops, 0U);
  EXPECT_EQ(version_regressions, 0U);
  EXPECT_EQ(feed.status().errors, 0U);
  const replay expect(cfg, cfg.max_events);
  for (std::size_t i = 0; i < n; ++i) {
    EXPECT_EQ(last_version[feed.publication_id(i)], expect.versions[i]) << "final version seen by the reader";
  }
  // Every trade read or, if the reader fell a whole history behind (slow sanitizer
  // machine), counted lost: the cursor ends past the last trade either way.
  EXPECT_EQ(bad_trades, 0U);
  EXPECT_EQ(pub.lost_trades(), 0U);
  for (std::size_t i = 0; i < n; ++i) EXPECT_EQ(next_trade[feed.publication_id(i)], expect.trades[i] + 1);
  if (trade_gaps > 0) std::printf("[ stats    ] the reader fell behind: %llu trades lost\n",
                                  static_cast<unsigned long long>(trade_gaps));
}

} // namespace
} // namespace mdgw
