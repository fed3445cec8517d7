// level_book against an independent reference: a plain std::map per side, written from
// the contract in level_book.hpp and not from its code. A long random sequence of
// add/reduce/set (clustered near a drifting inside, as real order flow is, with a tail of
// far levels so the bisect path past the 8-level scan runs too) is applied to both, and
// after every step the status, the whole book, best() and a random top-N copy must agree.
#include "level_book.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <iterator>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace mdgw {
namespace {

struct ref_level {
  qty_t qty = 0;
  std::uint32_t orders = 0;
};

// The reference. Each side's map is ordered best first, so begin() is the best level.
class reference_book {
public:
  apply_status add(side s, price_t price, qty_t qty, std::uint32_t orders) {
    if (qty <= 0 || price <= 0) return apply_status::bad_quantity;
    return visit(s, [&](auto& m) {
      auto& l = m[price];
      l.qty += qty;
      l.orders += orders;
      return apply_status::ok;
    });
  }

  apply_status reduce(side s, price_t price, qty_t qty, std::uint32_t orders) {
    if (qty < 0) return apply_status::bad_quantity;
    return visit(s, [&](auto& m) {
      auto it = m.find(price);
      if (it == m.end()) return apply_status::unknown_level;
      if (qty > it->second.qty || orders > it->second.orders) {
        m.erase(it);
        return apply_status::over_reduce;
      }
      it->second.qty -= qty;
      it->second.orders -= orders;
      if (it->second.qty == 0) m.erase(it);
      return apply_status::ok;
    });
  }

  apply_status set(side s, price_t price, qty_t qty, std::uint32_t orders) {
    if (qty < 0 || price <= 0) return apply_status::bad_quantity;
    return visit(s, [&](auto& m) {
      if (qty == 0) return m.erase(price) == 1 ? apply_status::ok : apply_status::unknown_level;
      m[price] = ref_level{qty, orders};
      return apply_status::ok;
    });
  }

  void clear() {
    bids_.clear();
    asks_.clear();
  }

  // Fills out with up to max_n levels, best first, as level_book::copy_top
  // reports them. Reuses out's storage: the random test calls this on every step.
  void levels(side s, std::size_t max_n, std::vector<price_level>& out) const {
    out.clear();
    visit(s, [&](const auto& m) {
      for (const auto& [p, l] : m) {
        if (out.size() == max_n) break;
        out.push_back(price_level{p, l.qty, l.orders, 0});
      }
      return apply_status::ok;
    });
  }

  [[nodiscard]] std::size_t depth(side s) const { return s == side::bid ? bids_.size() : asks_.size(); }

  // The i-th level's price on a side (i < depth): how the random driver picks levels
  // that exist without asking the book under test.
  [[nodiscard]] price_t price_at(side s, std::size_t i) const {
    return s == side::bid ? std::next(bids_.begin(), static_cast<std::ptrdiff_t>(i))->first
                          : std::next(asks_.begin(), static_cast<std::ptrdiff_t>(i))->first;
  }
  [[nodiscard]] const ref_level& at(side s, price_t p) const { return s == side::bid ? bids_.at(p) : asks_.at(p); }

private:
  template <class F>
  apply_status visit(side s, F&& f) {
    return s == side::bid ? f(bids_) : f(asks_);
  }
  template <class F>
  apply_status visit(side s, F&& f) const {
    return s == side::bid ? f(bids_) : f(asks_);
  }

  std::map<price_t, ref_level, std::greater<>> bids_; // highest first
  std::map<price_t, ref_level, std::less<>> asks_;    // lowest first
};

std::string to_string(side s) { return s == side::bid ? "bid" : "ask"; }

// Index of the first differing level, or n when the first n are equal.
std::size_t first_difference(const price_level* a, const price_level* b, std::size_t n) {
  std::size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

// Everything observable about one side must match the reference: depth, best(), a top-N
// copy and, when `full`, every level through level(i). `where` is called only when an
// assertion fails, to say which step it was. Compares in plain loops and asserts once on
// the first difference: a gtest assertion per level was most of the test's run time.
template <class Where>
void expect_same_side(const level_book& book, const reference_book& ref, side s, std::size_t top_n, bool full,
                      const Where& where) {
  thread_local std::vector<price_level> want;
  thread_local std::vector<price_level> have;
  thread_local std::vector<price_level> out;
  ASSERT_EQ(book.depth(s), ref.depth(s)) << where() << " side " << to_string(s);
  ref.levels(s, full ? SIZE_MAX : std::max<std::size_t>(top_n, 1), want);
  have.clear();
  for (std::size_t i = 0; i < want.size(); ++i) have.push_back(book.level(s, i));
  if (const std::size_t i = first_difference(have.data(), want.data(), want.size()); i != want.size()) {
    ASSERT_EQ(have[i], want[i]) << where() << " side " << to_string(s) << " level " << i;
  }
  const price_level* best = book.best(s);
  if (want.empty()) {
    ASSERT_EQ(best, nullptr) << where();
  } else {
    ASSERT_NE(best, nullptr) << where();
    ASSERT_EQ(*best, want.front()) << where();
  }
  // copy_top must write exactly min(n, depth) levels and nothing past them.
  const price_level sentinel{-7, -7, 7, 7};
  out.assign(top_n + 2, sentinel);
  const std::size_t got = book.copy_top(s, top_n, out.data());
  ASSERT_EQ(got, std::min(top_n, ref.depth(s))) << where();
  if (const std::size_t i = first_difference(out.data(), want.data(), got); i != got) {
    ASSERT_EQ(out[i], want[i]) << where() << " top " << i;
  }
  for (std::size_t i = got; i < out.size(); ++i) ASSERT_EQ(out[i], sentinel) << where() << " wrote past top " << i;
}

template <class Where>
void expect_same(const level_book& book, const reference_book& ref, std::size_t top_n, const Where& where,
                 bool full = true) {
  expect_same_side(book, ref, side::bid, top_n, full, where);
  expect_same_side(book, ref, side::ask, top_n, full, where);
}

// --- directed edge cases ---

TEST(level_book, empty_book) {
  level_book b;
  for (side s : {side::bid, side::ask}) {
    EXPECT_EQ(b.depth(s), 0U);
    EXPECT_EQ(b.best(s), nullptr);
    price_level out[4];
    EXPECT_EQ(b.copy_top(s, 4, out), 0U);
    EXPECT_EQ(b.reduce(s, 100, 1, 1), apply_status::unknown_level);
    EXPECT_EQ(b.set(s, 100, 0, 0), apply_status::unknown_level);
  }
}

TEST(level_book, best_is_highest_bid_and_lowest_ask) {
  level_book b;
  for (price_t p : {100, 103, 101, 99, 102}) {
    ASSERT_EQ(b.add(side::bid, p, 10), apply_status::ok);
    ASSERT_EQ(b.add(side::ask, p + 10, 10), apply_status::ok);
  }
  ASSERT_NE(b.best(side::bid), nullptr);
  EXPECT_EQ(b.best(side::bid)->price, 103);
  EXPECT_EQ(b.best(side::ask)->price, 109);
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(b.level(side::bid, i).price, 103 - static_cast<price_t>(i));
    EXPECT_EQ(b.level(side::ask, i).price, 109 + static_cast<price_t>(i));
  }
}

TEST(level_book, add_accumulates_qty_and_orders) {
  level_book b;
  ASSERT_EQ(b.add(side::bid, 100, 5, 1), apply_status::ok);
  ASSERT_EQ(b.add(side::bid, 100, 7, 2), apply_status::ok);
  EXPECT_EQ(b.depth(side::bid), 1U);
  EXPECT_EQ(*b.best(side::bid), (price_level{100, 12, 3, 0}));
}

TEST(level_book, add_rejects_zero_or_negative_qty_and_price) {
  level_book b;
  EXPECT_EQ(b.add(side::bid, 100, 0), apply_status::bad_quantity);
  EXPECT_EQ(b.add(side::bid, 100, -1), apply_status::bad_quantity);
  EXPECT_EQ(b.add(side::ask, 0, 5), apply_status::bad_quantity);
  EXPECT_EQ(b.add(side::ask, -3, 5), apply_status::bad_quantity);
  EXPECT_EQ(b.depth(side::bid), 0U);
  EXPECT_EQ(b.depth(side::ask), 0U);
}

TEST(level_book, reduce_to_exactly_zero_removes_level) {
  level_book b;
  ASSERT_EQ(b.add(side::ask, 200, 10, 2), apply_status::ok);
  ASSERT_EQ(b.add(side::ask, 201, 10, 1), apply_status::ok);
  EXPECT_EQ(b.reduce(side::ask, 200, 4, 1), apply_status::ok);
  EXPECT_EQ(*b.best(side::ask), (price_level{200, 6, 1, 0}));
  EXPECT_EQ(b.reduce(side::ask, 200, 6, 1), apply_status::ok);
  EXPECT_EQ(b.depth(side::ask), 1U);
  EXPECT_EQ(b.best(side::ask)->price, 201);
}

TEST(level_book, reduce_unknown_level_changes_nothing) {
  level_book b;
  ASSERT_EQ(b.add(side::bid, 100, 10, 1), apply_status::ok);
  ASSERT_EQ(b.add(side::bid, 98, 10, 1), apply_status::ok);
  EXPECT_EQ(b.reduce(side::bid, 99, 1, 1), apply_status::unknown_level);   // between levels
  EXPECT_EQ(b.reduce(side::bid, 101, 1, 1), apply_status::unknown_level);  // better than best
  EXPECT_EQ(b.reduce(side::bid, 50, 1, 1), apply_status::unknown_level);   // worse than worst
  EXPECT_EQ(b.reduce(side::ask, 100, 1, 1), apply_status::unknown_level);  // other side
  EXPECT_EQ(b.depth(side::bid), 2U);
  EXPECT_EQ(b.best(side::bid)->qty, 10);
}

TEST(level_book, over_reduce_removes_level) {
  level_book b;
  ASSERT_EQ(b.add(side::bid, 100, 10, 2), apply_status::ok);
  EXPECT_EQ(b.reduce(side::bid, 100, 11, 1), apply_status::over_reduce);
  EXPECT_EQ(b.depth(side::bid), 0U);
  // More orders than the level holds is an over-reduce too, even when qty fits.
  ASSERT_EQ(b.add(side::bid, 100, 10, 2), apply_status::ok);
  EXPECT_EQ(b.reduce(side::bid, 100, 1, 3), apply_status::over_reduce);
  EXPECT_EQ(b.depth(side::bid), 0U);
}

TEST(level_book, reduce_negative_is_bad_and_zero_is_a_no_op) {
  level_book b;
  ASSERT_EQ(b.add(side::ask, 100, 10, 2), apply_status::ok);
  EXPECT_EQ(b.reduce(side::ask, 100, -1, 0), apply_status::bad_quantity);
  EXPECT_EQ(b.reduce(side::ask, 100, 0, 0), apply_status::ok);
  EXPECT_EQ(*b.best(side::ask), (price_level{100, 10, 2, 0}));
}

TEST(level_book, set_creates_overwrites_and_erases) {
  level_book b;
  EXPECT_EQ(b.set(side::bid, 100, 5, 1), apply_status::ok);
  EXPECT_EQ(b.set(side::bid, 100, 9, 4), apply_status::ok);
  EXPECT_EQ(*b.best(side::bid), (price_level{100, 9, 4, 0}));
  EXPECT_EQ(b.set(side::bid, 100, 0, 0), apply_status::ok);
  EXPECT_EQ(b.depth(side::bid), 0U);
  EXPECT_EQ(b.set(side::bid, 100, 0, 0), apply_status::unknown_level);
  EXPECT_EQ(b.set(side::bid, 100, -1, 0), apply_status::bad_quantity);
  EXPECT_EQ(b.set(side::bid, 0, 5, 1), apply_status::bad_quantity);
}

TEST(level_book, many_levels_both_sides) {
  // Enough levels that find() must bisect below its 8-level inside scan, inserted in an
  // order that hits the front, the back and the middle of each vector.
  level_book b(4);
  reference_book ref;
  std::vector<price_t> prices;
  for (price_t p = 1; p <= 1500; ++p) prices.push_back(p * 3);
  std::mt19937_64 rng(7);
  std::shuffle(prices.begin(), prices.end(), rng);
  for (price_t p : prices) {
    for (side s : {side::bid, side::ask}) {
      ASSERT_EQ(b.add(s, p, p % 17 + 1, 1), ref.add(s, p, p % 17 + 1, 1));
    }
  }
  expect_same(b, ref, 50, [] { return std::string("after inserts"); });
  // Remove every other level, from the worst end toward the best and back.
  for (price_t p : prices) {
    if (p % 2 != 0) continue;
    for (side s : {side::bid, side::ask}) ASSERT_EQ(b.reduce(s, p, p % 17 + 1, 1), ref.reduce(s, p, p % 17 + 1, 1));
  }
  expect_same(b, ref, 2000, [] { return std::string("after removals"); });
  for (side s : {side::bid, side::ask}) {
    ASSERT_EQ(b.reduce(s, 2, 1, 1), apply_status::unknown_level);    // a gap below the first
    ASSERT_EQ(b.reduce(s, 4501, 1, 1), apply_status::unknown_level); // beyond the last
  }
}

TEST(level_book, copy_top_caps_at_depth) {
  level_book b;
  for (price_t p = 1; p <= 5; ++p) ASSERT_EQ(b.add(side::ask, 100 + p, p), apply_status::ok);
  price_level out[10]{};
  EXPECT_EQ(b.copy_top(side::ask, 3, out), 3U);
  EXPECT_EQ(out[0].price, 101);
  EXPECT_EQ(out[2].price, 103);
  EXPECT_EQ(b.copy_top(side::ask, 10, out), 5U);
  EXPECT_EQ(out[4].price, 105);
  EXPECT_EQ(b.copy_top(side::ask, 0, out), 0U);
}

TEST(level_book, the_highest_price_is_refused_on_both_sides) {
  // The book keeps guard levels at the largest and smallest prices; neither may become a
  // level, and the book must stay usable around them.
  constexpr price_t kMax = std::numeric_limits<price_t>::max();
  level_book b;
  ASSERT_EQ(b.add(side::ask, 7, 1), apply_status::ok);
  for (const side s : {side::bid, side::ask}) {
    EXPECT_EQ(b.add(s, kMax, 5), apply_status::bad_quantity);
    EXPECT_EQ(b.set(s, kMax, 5, 1), apply_status::bad_quantity);
    EXPECT_EQ(b.reduce(s, kMax, 1, 1), apply_status::unknown_level);
    EXPECT_EQ(b.reduce(s, std::numeric_limits<price_t>::min(), 1, 1), apply_status::unknown_level);
  }
  EXPECT_EQ(b.depth(side::bid), 0U);
  ASSERT_EQ(b.depth(side::ask), 1U);
  EXPECT_EQ(b.level(side::ask, 0), (price_level{7, 1, 1, 0}));
  ASSERT_EQ(b.add(side::bid, kMax - 1, 2), apply_status::ok);
  ASSERT_EQ(b.add(side::ask, kMax - 1, 2), apply_status::ok);
  EXPECT_EQ(b.best(side::bid)->price, kMax - 1);
  EXPECT_EQ(b.level(side::ask, 1).price, kMax - 1);
  price_level out[4];
  EXPECT_EQ(b.copy_top(side::ask, 4, out), 2U);
}

TEST(level_book, clear_empties_both_sides) {
  level_book b;
  ASSERT_EQ(b.add(side::bid, 10, 1), apply_status::ok);
  ASSERT_EQ(b.add(side::ask, 11, 1), apply_status::ok);
  b.clear();
  EXPECT_EQ(b.depth(side::bid), 0U);
  EXPECT_EQ(b.depth(side::ask), 0U);
  EXPECT_EQ(b.best(side::bid), nullptr);
  EXPECT_EQ(b.best(side::ask), nullptr);
}

// --- the long random comparison ---

// assign_worst_first replaces one side at once (the ITCH book's copy of its level store):
// the side reads as the levels given, the other side is untouched, and the book takes
// add/reduce/set after it as if it had been built level by level (its guard levels and
// search still hold), deep sides included (past the 8-level inside scan).
TEST(level_book, assign_worst_first_replaces_one_side_and_the_book_stays_usable) {
  level_book book;
  reference_book ref;
  const auto where = [] { return std::string("after assign"); };
  ASSERT_EQ(book.add(side::bid, 100, 5, 1), apply_status::ok); // replaced below
  ASSERT_EQ(book.add(side::ask, 110, 7, 2), apply_status::ok);
  ASSERT_EQ(ref.add(side::ask, 110, 7, 2), apply_status::ok);

  std::vector<price_level> bids; // worst first: ascending prices
  for (price_t p = 20; p <= 98; p += 2) bids.push_back(price_level{p, p / 2, 1 + static_cast<std::uint32_t>(p % 3), 0});
  book.assign_worst_first(side::bid, bids.data(), bids.size());
  for (const price_level& l : bids) ASSERT_EQ(ref.set(side::bid, l.price, l.qty, l.orders), apply_status::ok);
  expect_same(book, ref, 50, where);
  EXPECT_EQ(book.best(side::bid)->price, 98);
  EXPECT_EQ(book.reduce(side::bid, 100, 5, 1), apply_status::unknown_level) << "the old bid side is gone";

  // Updates after the assign, at the inside and deep in the side.
  const auto both = [&](auto&& f) { ASSERT_EQ(f(book), f(ref)); };
  both([](auto& b) { return b.add(side::bid, 99, 3, 1); });
  both([](auto& b) { return b.add(side::bid, 21, 4, 1); });
  both([](auto& b) { return b.reduce(side::bid, 98, 49, 1); });
  both([](auto& b) { return b.reduce(side::bid, 30, 15, 1); });
  both([](auto& b) { return b.set(side::bid, 50, 0, 0); });
  both([](auto& b) { return b.add(side::ask, 105, 1, 1); });
  expect_same(book, ref, 50, [] { return std::string("after updates"); });

  // Asks worst first are descending; an empty assign leaves an empty side that still works.
  const price_level asks[] = {{130, 1, 1, 0}, {120, 2, 1, 0}, {115, 3, 2, 0}};
  book.assign_worst_first(side::ask, asks, 3);
  price_level top[3];
  ASSERT_EQ(book.copy_top(side::ask, 3, top), 3U);
  EXPECT_EQ(top[0].price, 115);
  EXPECT_EQ(top[2].price, 130);
  book.assign_worst_first(side::ask, nullptr, 0);
  EXPECT_EQ(book.depth(side::ask), 0U);
  EXPECT_EQ(book.best(side::ask), nullptr);
  EXPECT_EQ(book.add(side::ask, 125, 4, 1), apply_status::ok);
  EXPECT_EQ(book.best(side::ask)->price, 125);
  expect_same_side(book, ref, side::bid, 50, true, [] { return std::string("bids after the ask assigns"); });
}

// One step of the random sequence: kept as data so that a failure message can say what
// it was, without formatting a string on each of the million steps that pass.
struct book_step {
  enum class op : std::uint8_t { add, reduce, set };
  op what = op::add;
  side s = side::bid;
  price_t price = 0;
  qty_t qty = 0;
  std::uint32_t orders = 0;
  const char* why = "";  // which case of the driver produced it
  bool cleared = false;  // both books were cleared after it
  apply_status want{};   // the reference's status
  apply_status got{};    // level_book's status
};

std::string describe(const book_step& st) {
  static constexpr const char* kOps[] = {"add", "reduce", "set"};
  std::string d = std::string(kOps[static_cast<int>(st.what)]) + " " + to_string(st.s) + " " +
                  std::to_string(st.price) + " qty " + std::to_string(st.qty) + " orders " + std::to_string(st.orders) +
                  " (" + st.why + "), status ref " + std::to_string(static_cast<int>(st.want)) + " book " +
                  std::to_string(static_cast<int>(st.got));
  if (st.cleared) d += ", then clear";
  return d;
}

class random_driver {
public:
  explicit random_driver(std::uint64_t seed) : rng_(seed) {}

  // One random step applied to both books. The result records what it did.
  const book_step& step(level_book& book, reference_book& ref) {
    // The inside drifts slowly, so levels pile up on both sides over time.
    if (pct(5)) mid_ = std::max<price_t>(200, mid_ + (coin() ? 1 : -1));
    const side s = coin() ? side::bid : side::ask;
    const std::uint32_t r = pick(100);
    using op = book_step::op;
    if (r < 40) { // add, mostly near the inside; 1 in 8 deep in the book
      const bool far = pct(12.5);
      apply(book, ref, op::add, s, far ? far_price(s) : near_price(s), qty(), 1 + pick(3), far ? "far add" : "add");
    } else if (r < 70 && ref.depth(s) > 0) { // reduce an existing level: part, all, or too much
      const price_t p = existing_price(ref, s);
      const ref_level l = ref.at(s, p);
      const std::uint32_t k = pick(10);
      if (k < 6) {
        const qty_t q = std::min<qty_t>(l.qty, 1 + static_cast<qty_t>(pick(static_cast<std::uint32_t>(l.qty))));
        apply(book, ref, op::reduce, s, p, q, l.orders > 0 ? pick(l.orders + 1) : 0, "partial reduce");
      } else if (k < 8) {
        apply(book, ref, op::reduce, s, p, l.qty, l.orders, "reduce all");
      } else if (k < 9) {
        apply(book, ref, op::reduce, s, p, l.qty + 1 + pick(5), 1, "over-reduce qty");
      } else {
        apply(book, ref, op::reduce, s, p, 1, l.orders + 1, "over-reduce orders");
      }
    } else if (r < 85) { // set: new, overwrite, or erase with qty 0
      const bool erase = pct(30);
      const price_t p = (ref.depth(s) > 0 && pct(60)) ? existing_price(ref, s) : near_price(s);
      apply(book, ref, op::set, s, p, erase ? 0 : qty(), erase ? 0 : 1 + pick(4), erase ? "set 0" : "set");
    } else { // edge cases. Driver prices are even, so an odd price is never a level.
      const price_t p = near_price(s);
      switch (pick(8)) {
      case 0: apply(book, ref, op::reduce, s, p + 1, 1, 1, "reduce unknown level"); break;
      case 1: apply(book, ref, op::add, s, p, 0, 1, "add qty 0"); break;
      case 2: apply(book, ref, op::add, s, p, -5, 1, "add qty < 0"); break;
      case 3: apply(book, ref, op::add, s, -static_cast<price_t>(pick(3)), 5, 1, "add price <= 0"); break;
      case 4: apply(book, ref, op::reduce, s, p, -1, 0, "reduce qty < 0"); break;
      case 5: apply(book, ref, op::set, s, p + 1, 0, 0, "set 0 unknown level"); break;
      case 6: apply(book, ref, op::set, s, -static_cast<price_t>(pick(3)), 5, 1, "set price <= 0"); break;
      default: apply(book, ref, op::reduce, s, far_price(s) + 1, 1, 1, "reduce unknown far level"); break;
      }
    }
    if (pct(0.002)) { // rare full reset, as a resync does
      book.clear();
      ref.clear();
      last_.cleared = true;
    }
    return last_;
  }

  [[nodiscard]] std::size_t count(apply_status st) const noexcept { return status_count_[static_cast<std::size_t>(st)]; }
  std::size_t top_n() { return static_cast<std::size_t>(pick(60)); }

private:
  void apply(level_book& book, reference_book& ref, book_step::op what, side s, price_t p, qty_t q, std::uint32_t o,
             const char* why) {
    last_ = book_step{what, s, p, q, o, why, false, {}, {}};
    switch (what) {
    case book_step::op::add:
      last_.want = ref.add(s, p, q, o);
      last_.got = book.add(s, p, q, o);
      break;
    case book_step::op::reduce:
      last_.want = ref.reduce(s, p, q, o);
      last_.got = book.reduce(s, p, q, o);
      break;
    case book_step::op::set:
      last_.want = ref.set(s, p, q, o);
      last_.got = book.set(s, p, q, o);
      break;
    }
    ++status_count_[static_cast<std::size_t>(last_.got)];
  }

  bool coin() { return (rng_() & 1U) != 0; }
  bool pct(double p) { return std::uniform_real_distribution<double>(0, 100)(rng_) < p; }
  std::uint32_t pick(std::uint32_t n) { return n == 0 ? 0 : static_cast<std::uint32_t>(rng_() % n); }
  qty_t qty() { return 1 + static_cast<qty_t>(std::geometric_distribution<int>(0.05)(rng_)); }
  // Distance from the inside is roughly geometric: most updates touch the top few levels.
  // Prices are even so that odd prices are reliably unknown levels.
  price_t near_price(side s) {
    const auto d = static_cast<price_t>(std::geometric_distribution<int>(0.25)(rng_));
    return 2 * (s == side::bid ? mid_ - d : mid_ + 1 + d);
  }
  // A level well past the 8-level inside scan, so find() bisects (even: see near_price).
  price_t far_price(side s) {
    const auto d = 20 + static_cast<price_t>(pick(2000));
    return 2 * (s == side::bid ? std::max<price_t>(1, mid_ - d) : mid_ + d);
  }
  price_t existing_price(const reference_book& ref, side s) {
    // Bias toward the best levels, as real cancels are.
    const std::size_t n = ref.depth(s);
    const std::size_t i = pct(80) ? std::min<std::size_t>(n - 1, pick(6)) : pick(static_cast<std::uint32_t>(n));
    return ref.price_at(s, i);
  }

  std::mt19937_64 rng_;
  price_t mid_ = 5000;
  book_step last_;
  std::size_t status_count_[4] = {};
};

// Sanitizer builds run a quarter of the steps: they are there to catch memory errors and
// undefined behaviour, which show within a few thousand steps, and run 5-20x slower (past
// meson's 30 s timeout on a busy machine). The plain build runs the whole sequence.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr int kSteps = 50'000;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr int kSteps = 50'000;
#else
constexpr int kSteps = 200'000;
#endif
#else
constexpr int kSteps = 200'000;
#endif

class level_book_random : public ::testing::TestWithParam<std::uint64_t> {};

TEST_P(level_book_random, matches_map_reference) {
  level_book book(GetParam() % 2 == 0 ? 0 : 64); // also start from an unreserved book
  reference_book ref;
  random_driver drv(GetParam());
  std::size_t max_depth = 0;
  for (int i = 0; i < kSteps; ++i) {
    const book_step& st = drv.step(book, ref);
    const auto where = [&] { return "step " + std::to_string(i) + ": " + describe(st); };
    ASSERT_EQ(st.got, st.want) << where();
    // Depth, best and a top-N copy (N up to 59) after every step; the whole book every 64
    // steps and at the end: with hundreds of levels, a full walk per step would be most
    // of the test's time (and push it past meson's timeout under the sanitizers).
    ASSERT_NO_FATAL_FAILURE(expect_same(book, ref, drv.top_n(), where, i % 64 == 0 || i == kSteps - 1));
    max_depth = std::max({max_depth, book.depth(side::bid), book.depth(side::ask)});
  }
  // The sequence must really have built a deep book (else the bisect path went untested)
  // and hit every outcome, edge cases included.
  EXPECT_GT(max_depth, 100U);
  for (apply_status st : {apply_status::ok, apply_status::unknown_level, apply_status::over_reduce,
                          apply_status::bad_quantity}) {
    EXPECT_GT(drv.count(st), 1000U) << "status " << static_cast<int>(st);
  }
  std::printf("[ stats    ] max depth %zu; ok %zu, unknown_level %zu, over_reduce %zu, bad_quantity %zu\n", max_depth,
              drv.count(apply_status::ok), drv.count(apply_status::unknown_level),
              drv.count(apply_status::over_reduce), drv.count(apply_status::bad_quantity));
}

INSTANTIATE_TEST_SUITE_P(seeds, level_book_random, ::testing::Values(1U, 2U, 20240601U, 0xdeadbeefULL));

} // namespace
} // namespace mdgw
