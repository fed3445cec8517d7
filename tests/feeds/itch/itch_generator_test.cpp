// itch_generator: deterministic from its seed, a real day's message mix with every type,
// increasing references and time, only live orders referenced (so a correct book counts
// no unknown references), adds concentrated near the inside, and both books agreeing on
// it message by message; over thousands of symbols, no crossed book once the market is
// open. write_binary_file round-trips through binary_file_reader.
#include "itch_book.hpp"
#include "itch_decoder.hpp"
#include "itch_generator.hpp"
#include "itch_reference.hpp"
#include "itch_test_util.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace mdgw::itch {
namespace {

std::vector<std::vector<std::uint8_t>> generate(const generator_config& cfg) {
  itch_generator g(cfg);
  std::vector<std::vector<std::uint8_t>> out;
  std::uint8_t buf[itch_generator::kMaxMessage];
  for (std::size_t n; (n = g.next(buf)) != 0;) out.emplace_back(buf, buf + n);
  EXPECT_EQ(out.size(), g.produced());
  EXPECT_EQ(out.size(), g.planned());
  return out;
}

// The order flow of a day by tag: the messages between the open (S 'Q') and the close
// (S 'M'), which should have a real day's mix (the directory and the pre-market books
// before the open are a fixed amount per stock).
struct flow_mix {
  std::map<char, std::uint64_t> by_tag;
  std::uint64_t total = 0;
  bool open = false;

  void observe(const std::uint8_t* m) {
    const char tag = static_cast<char>(m[0]);
    if (tag == 'S') {
      open = m[11] == 'Q' || (open && m[11] != 'M');
    } else if (open) {
      ++by_tag[tag];
      ++total;
    }
  }
  [[nodiscard]] double share(std::initializer_list<char> tags) const {
    std::uint64_t k = 0;
    for (char t : tags) k += by_tag.contains(t) ? by_tag.at(t) : 0;
    return 100.0 * static_cast<double>(k) / static_cast<double>(total);
  }
  void expect_real_day() const {
    EXPECT_NEAR(share({'A', 'F'}), 44.0, 1.0);
    EXPECT_NEAR(share({'D'}), 43.0, 1.0);
    EXPECT_NEAR(share({'U'}), 8.0, 0.5);
    EXPECT_NEAR(share({'E', 'C'}), 2.0, 0.3);
    EXPECT_NEAR(share({'X'}), 1.0, 0.2);
    EXPECT_NEAR(share({'P'}), 1.5, 0.3);
  }
};

TEST(ItchGenerator, DeterministicFromItsSeed) {
  const generator_config a{7, 50, 20000};
  generator_config b = a;
  b.seed = 8;
  const auto x = generate(a);
  EXPECT_EQ(x, generate(a));
  EXPECT_NE(x, generate(b));
  EXPECT_EQ(x.size(), 20000U);
}

TEST(ItchGenerator, ARealDaysMixWithEveryTypeAndOnlyLiveReferences) {
  const generator_config cfg{42, 300, 200000};
  const auto msgs = generate(cfg);
  ASSERT_EQ(msgs.size(), 200000U);

  itch_book fast(book_config{0, 1024, [](std::string_view) {}});
  itch_ref::reference_book ref;
  itch_test::collect_sink sink;
  std::vector<market_event> ref_events;
  std::uint64_t last_ts = 0;
  std::uint64_t last_ref = 0;
  std::uint64_t adds = 0;
  std::uint64_t adds_near_inside = 0;
  std::uint64_t failures = 0;
  flow_mix mix;
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    const auto& m = msgs[i];
    mix.observe(m.data());
    ASSERT_EQ(m.size(), message_size(m[0])) << i;
    const std::uint64_t ts = itch_ref::be(m.data(), 5, 6);
    ASSERT_GE(ts, last_ts) << "time goes backwards at message " << i;
    last_ts = ts;
    const char tag = static_cast<char>(m[0]);
    std::uint64_t new_ref = 0;
    if (tag == 'A' || tag == 'F') new_ref = itch_ref::be(m.data(), 11, 8);
    if (tag == 'U') new_ref = itch_ref::be(m.data(), 19, 8);
    if (new_ref != 0) {
      ASSERT_GT(new_ref, last_ref) << "references must increase (message " << i << ")";
      last_ref = new_ref;
    }
    sink.clear();
    ref_events.clear();
    ASSERT_EQ(fast.apply(m.data(), m.size(), sink), decode_status::ok);
    ref.apply(m.data(), m.size(), ref_events);
    // Where did the add land? Level index on its side after the add.
    if (tag == 'A' || tag == 'F') {
      ++adds;
      const auto locate = static_cast<locate_t>(itch_ref::be(m.data(), 1, 2));
      const side s = m[19] == 'B' ? side::bid : side::ask;
      const auto price = static_cast<price_t>(itch_ref::be(m.data(), 32, 4));
      const level_book* b = fast.book(locate);
      for (std::size_t k = 0; k < 5 && k < b->depth(s); ++k) {
        if (b->level(s, k).price == price) {
          ++adds_near_inside;
          break;
        }
      }
    }
    std::string err;
    if (sink.events.size() != ref_events.size()) err += "event count differs; ";
    for (std::size_t k = 0; k < ref_events.size() && k < sink.events.size(); ++k) {
      if (!itch_test::same_event(sink.events[k], ref_events[k])) err += "event differs; ";
    }
    err += itch_test::compare_levels(fast, ref, static_cast<locate_t>(itch_ref::be(m.data(), 1, 2)));
    if (!err.empty() && failures++ < 5) ADD_FAILURE() << "message " << i << " ('" << tag << "'): " << err;
  }
  EXPECT_EQ(failures, 0U);
  EXPECT_EQ(itch_test::compare_counters(fast, ref), "");
  EXPECT_EQ(itch_test::compare_states(fast, ref), "");
  for (locate_t l = 0; l <= cfg.symbols; ++l) EXPECT_EQ(itch_test::compare_levels(fast, ref, l), "");

  // Only live orders are named: nothing unknown, duplicated, invalid or over-executed.
  const book_counters& c = fast.counters();
  EXPECT_EQ(c.unknown_refs(), 0U);
  EXPECT_EQ(c.duplicate_ref, 0U);
  EXPECT_EQ(c.invalid_order, 0U);
  EXPECT_EQ(c.over_execution, 0U);
  EXPECT_EQ(c.locate_mismatch, 0U);
  EXPECT_EQ(c.level_errors, 0U);
  EXPECT_EQ(fast.decoder().errors(), 0U);

  // Every type, and the mix of a real day in the order flow.
  const auto& d = fast.decoder();
  for (msg_type t : kAllMessageTypes) EXPECT_GT(d.decoded(t), 0U) << "no '" << static_cast<char>(t) << "'";
  mix.expect_real_day();
  EXPECT_EQ(d.decoded('R'), cfg.symbols);
  EXPECT_EQ(d.decoded('S'), 6U);
  // Books keep a resting background (the pre-market orders are not drained).
  EXPECT_GE(fast.orders().size(), 10U * cfg.symbols);
  // Concentrated near the inside: most adds land in the top 5 levels of their side.
  EXPECT_GT(static_cast<double>(adds_near_inside) / static_cast<double>(adds), 0.6)
      << adds_near_inside << " of " << adds;
  std::printf("[ generator ] %zu messages, %zu live orders at the close, %.1f%% of adds in the top 5 levels\n",
              msgs.size(), fast.orders().size(), 100.0 * static_cast<double>(adds_near_inside) / static_cast<double>(adds));
}

// A day over thousands of symbols, checked on the independent reference book: never a
// crossed book (best bid >= best ask) after any message once the market opens; every
// stock trades, every message type occurs, references increase, and the order flow
// between the open and the close has a real day's mix.
TEST(ItchGenerator, ThousandsOfSymbolsNeverCrossAndKeepARealMix) {
  const generator_config cfg{11, 3000, 400000};
  itch_generator g(cfg);
  itch_ref::reference_book ref;
  std::vector<market_event> events;
  flow_mix mix;
  std::uint64_t last_ref = 0;
  std::uint64_t crossed = 0;
  std::uint64_t checked = 0;
  std::vector<bool> has_orders(cfg.symbols + 1, false);
  std::uint8_t m[itch_generator::kMaxMessage];
  for (std::size_t n; (n = g.next(m)) != 0;) {
    const char tag = static_cast<char>(m[0]);
    mix.observe(m);
    const bool open = mix.open;
    std::uint64_t new_ref = 0;
    if (tag == 'A' || tag == 'F') new_ref = itch_ref::be(m, 11, 8);
    if (tag == 'U') new_ref = itch_ref::be(m, 19, 8);
    if (new_ref != 0) {
      ASSERT_GT(new_ref, last_ref) << "references must increase";
      last_ref = new_ref;
    }
    events.clear();
    ref.apply(m, n, events);
    const auto locate = static_cast<std::uint16_t>(itch_ref::be(m, 1, 2));
    const bool order_message = std::string_view("AFECXDU").find(tag) != std::string_view::npos;
    if (open && order_message) {
      const auto it = ref.books.find(locate);
      ASSERT_NE(it, ref.books.end());
      const itch_ref::book& b = it->second;
      if (!b.bids.empty() || !b.asks.empty()) has_orders[locate] = true;
      ++checked;
      if (!b.bids.empty() && !b.asks.empty() && b.bids.begin()->first >= b.asks.begin()->first && crossed++ < 5) {
        ADD_FAILURE() << "crossed book of locate " << locate << " after a '" << tag << "': bid "
                      << b.bids.begin()->first << " >= ask " << b.asks.begin()->first;
      }
    }
  }
  EXPECT_EQ(crossed, 0U) << "of " << checked << " book changes";
  EXPECT_GT(checked, 300000U);
  EXPECT_EQ(ref.count.bad_messages, 0U);
  EXPECT_EQ(ref.count.unknown_ref, (std::array<std::uint64_t, 5>{}));
  std::size_t stocks_with_orders = 0;
  for (std::uint32_t l = 1; l <= cfg.symbols; ++l) stocks_with_orders += has_orders[l] ? 1 : 0;
  EXPECT_EQ(stocks_with_orders, cfg.symbols) << "every stock has order flow";
  for (msg_type t : kAllMessageTypes) {
    EXPECT_GT(ref.count.by_type[static_cast<char>(t)], 0U) << "no '" << static_cast<char>(t) << "'";
  }
  mix.expect_real_day();
}

TEST(ItchGenerator, WritesBinaryFilesPlainAndGzip) {
  const generator_config cfg{3, 40, 30000};
  const auto want = generate(cfg);
  const std::string base = ::testing::TempDir() + "itch_gen_" + std::to_string(::getpid());
  for (const std::string& path : {base + ".itch", base + ".itch.gz"}) {
    EXPECT_EQ(write_binary_file(path, cfg), want.size());
    binary_file_reader r(path, [](std::string_view) {});
    std::vector<std::vector<std::uint8_t>> got;
    r.for_each([&got](std::span<const std::uint8_t> m) { got.emplace_back(m.begin(), m.end()); });
    EXPECT_EQ(got, want) << path;
    EXPECT_EQ(r.stats().zero_prefix + r.stats().mismatched_prefix, 0U) << "the generator writes true prefixes";
    EXPECT_EQ(r.gzip(), path.ends_with(".gz"));
    // True prefixes: a batch read hands out many messages at a time, the same ones.
    binary_file_reader batched(path, [](std::string_view) {});
    std::vector<std::vector<std::uint8_t>> again;
    std::span<const std::uint8_t> batch[16];
    std::size_t batches = 0;
    for (std::size_t n; (n = batched.next_batch(batch, std::size(batch))) != 0; ++batches) {
      for (std::size_t i = 0; i < n; ++i) again.emplace_back(batch[i].begin(), batch[i].end());
    }
    EXPECT_EQ(again, want) << path;
    EXPECT_LT(batches, want.size() / 8) << path;
    std::remove(path.c_str());
  }
  EXPECT_THROW(write_binary_file("/nonexistent/dir/x.itch", cfg), std::runtime_error);
}

TEST(ItchGenerator, RejectsImpossibleConfigs) {
  EXPECT_THROW(itch_generator(generator_config{1, 0, 10}), std::invalid_argument);
  EXPECT_THROW(itch_generator(generator_config{1, 70000, 10}), std::invalid_argument);
  // Fewer messages than the fixed opening and closing: just those, no order flow.
  const auto small = generate(generator_config{1, 10, 5});
  EXPECT_GT(small.size(), 5U);
}

} // namespace
} // namespace mdgw::itch
