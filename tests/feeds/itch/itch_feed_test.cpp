// The ITCH feed end to end inside one process: a generated day replayed from a BinaryFILE
// through itch_feed into a publication. What a gateway client would check: every symbol
// of the directory is published under NASDAQ:<stock>, each published book equals the
// order-by-order book (an independent itch_book fed the same file), every trade is read
// from its instrument's trade history (by cursor, on trade notices, as an io thread
// does) with per-instrument sequences 1, 2, 3, ... and the trading state is published. Also
// the file source's pacing semantics and New York midnights across DST changes.
#include "itch_feed.hpp"
#include "itch_generator.hpp"
#include "itch_source.hpp"
#include "itch_test_util.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace mdgw::itch {
namespace {

using itch_test::raw;

std::string temp_path(const char* name) {
  return "/tmp/mdgw_itch_feed_" + std::to_string(::getpid()) + "_" + name;
}

struct temp_file {
  std::string path;
  ~temp_file() { std::remove(path.c_str()); }
};

TEST(MidnightNewYork, FollowsUsDaylightSavingRules) {
  constexpr std::uint64_t h = 3'600'000'000'000ULL;
  // 2010-12-24 (the RITCH sample's day): EST, midnight = 05:00 UTC.
  EXPECT_EQ(midnight_new_york("2010-12-24"), 1293148800ULL * 1'000'000'000ULL + 5 * h);
  // 2019-03-10 is the 2nd Sunday of March: at midnight still EST; the next day EDT.
  EXPECT_EQ(midnight_new_york("2019-03-10"), 1552176000ULL * 1'000'000'000ULL + 5 * h);
  EXPECT_EQ(midnight_new_york("2019-03-11"), 1552262400ULL * 1'000'000'000ULL + 4 * h);
  // 2019-11-03 is the 1st Sunday of November: at midnight still EDT; the next day EST.
  EXPECT_EQ(midnight_new_york("2019-11-03"), 1572739200ULL * 1'000'000'000ULL + 4 * h);
  EXPECT_EQ(midnight_new_york("2019-11-04"), 1572825600ULL * 1'000'000'000ULL + 5 * h);
  EXPECT_THROW((void)midnight_new_york("2019-13-01"), std::runtime_error);
  EXPECT_THROW((void)midnight_new_york("20191101"), std::runtime_error);
  EXPECT_THROW((void)midnight_new_york("2019-11-1"), std::runtime_error);
  const std::uint64_t today = midnight_new_york("");
  const std::uint64_t now = realtime_ns();
  EXPECT_LE(today, now);
  EXPECT_GT(today + 24 * h, now);
}

class collecting_sink final : public message_sink {
public:
  void on_message(const std::uint8_t* msg, std::size_t len) override { messages.emplace_back(msg, msg + len); }
  std::vector<std::vector<std::uint8_t>> messages;
};

void write_prefixed(const std::string& path, const std::vector<raw>& msgs) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  for (const raw& m : msgs) {
    const std::uint8_t prefix[2] = {static_cast<std::uint8_t>(m.size() >> 8), static_cast<std::uint8_t>(m.size())};
    std::fwrite(prefix, 1, 2, f);
    std::fwrite(m.data(), 1, m.size(), f);
  }
  std::fclose(f);
}

TEST(FileSource, FlatOutDeliversEverythingInOrderThenEnds) {
  temp_file tf{temp_path("flat.itch")};
  std::vector<raw> msgs;
  for (std::uint64_t i = 0; i < 10; ++i) msgs.push_back(itch_test::add_msg(1, 1000 + i, i + 1, 'B', 100, 10000));
  write_prefixed(tf.path, msgs);
  itch_source_config c;
  c.file = tf.path;
  auto src = open_source(c);
  collecting_sink sink;
  EXPECT_EQ(src->poll(sink, 4, std::chrono::milliseconds(0)), poll_result::messages);
  EXPECT_EQ(sink.messages.size(), 4U);
  EXPECT_EQ(src->poll(sink, 100, std::chrono::milliseconds(0)), poll_result::messages);
  EXPECT_EQ(src->poll(sink, 100, std::chrono::milliseconds(0)), poll_result::end);
  ASSERT_EQ(sink.messages.size(), 10U);
  for (std::size_t i = 0; i < msgs.size(); ++i) EXPECT_EQ(sink.messages[i], msgs[i].b) << i;
  EXPECT_EQ(src->delivered(), 10U);
  EXPECT_EQ(src->errors(), 0U);
  EXPECT_NE(src->describe().find("10 messages"), std::string::npos) << src->describe();
}

// A sink that looks ahead (as itch_feed does) gets the flat-out replay in batches: every
// message once, in order, never more per poll than asked for.
class batch_sink final : public message_sink {
public:
  void on_message(const std::uint8_t* msg, std::size_t len) override {
    messages.emplace_back(msg, msg + len);
    ++singles;
  }
  void on_batch(const std::span<const std::uint8_t>* msgs, std::size_t n, std::size_t ahead) override {
    // The messages the last call said were next are what this one starts with.
    for (std::size_t i = 0; i < n && i < promised.size(); ++i) {
      if (!std::equal(msgs[i].begin(), msgs[i].end(), promised[i].begin(), promised[i].end())) ++broken_promises;
    }
    for (std::size_t i = 0; i < n; ++i) messages.emplace_back(msgs[i].begin(), msgs[i].end());
    promised.clear();
    for (std::size_t i = n; i < n + ahead; ++i) promised.emplace_back(msgs[i].begin(), msgs[i].end());
    if (ahead != 0) ++looked_ahead;
    batches.push_back(n);
  }
  std::vector<std::vector<std::uint8_t>> messages;
  std::vector<std::vector<std::uint8_t>> promised; // the last call's ahead
  std::vector<std::size_t> batches;
  std::size_t singles = 0;
  std::size_t broken_promises = 0;
  std::size_t looked_ahead = 0; // calls with ahead > 0
};

TEST(FileSource, FlatOutHandsBatchesToASinkThatTakesThem) {
  temp_file tf{temp_path("batches.itch")};
  std::vector<raw> msgs;
  for (std::uint64_t i = 0; i < 200; ++i) msgs.push_back(itch_test::add_msg(1, 1000 + i, i + 1, 'S', 100, 10000));
  write_prefixed(tf.path, msgs);
  itch_source_config c;
  c.file = tf.path;
  auto src = open_source(c);
  batch_sink sink;
  EXPECT_EQ(src->poll(sink, 3, std::chrono::milliseconds(0)), poll_result::messages);
  EXPECT_EQ(sink.messages.size(), 3U);
  while (src->poll(sink, 150, std::chrono::milliseconds(0)) == poll_result::messages) {
  }
  ASSERT_EQ(sink.messages.size(), 200U);
  for (std::size_t i = 0; i < msgs.size(); ++i) EXPECT_EQ(sink.messages[i], msgs[i].b) << i;
  EXPECT_EQ(sink.singles, 0U);
  EXPECT_GT(sink.batches.size(), 1U);
  EXPECT_GT(*std::max_element(sink.batches.begin(), sink.batches.end()), 1U);
  EXPECT_EQ(src->delivered(), 200U);
  EXPECT_GT(sink.looked_ahead, 0U);
  EXPECT_EQ(sink.broken_promises, 0U);
  EXPECT_TRUE(sink.promised.empty()) << "nothing is ahead of the last batch";
}

// Each batch comes with the next one already read behind it (the book's cache hints run
// on into it), across the reader's buffer refills: what a call shows as ahead is what the
// next call starts with, byte for byte.
TEST(FileSource, FlatOutShowsTheNextBatchAheadAcrossRefills) {
  temp_file tf{temp_path("ahead.itch")};
  std::vector<raw> msgs;
  for (std::uint64_t i = 0; i < 90000; ++i) {
    msgs.push_back(i % 2 == 0 ? itch_test::add_msg(static_cast<std::uint16_t>(1 + i % 7), 1000 + i, i + 1, 'S', 100, 10000)
                              : itch_test::delete_msg(static_cast<std::uint16_t>(1 + i % 7), 1000 + i, i));
  }
  write_prefixed(tf.path, msgs); // about 2.6 MB: the reader's 1 MiB buffer refills twice
  itch_source_config c;
  c.file = tf.path;
  auto src = open_source(c);
  batch_sink sink;
  std::size_t polls = 0;
  // Odd poll sizes cut the reader's batches, so some calls look ahead into their own batch.
  while (src->poll(sink, polls++ % 2 == 0 ? 100 : 37, std::chrono::milliseconds(0)) == poll_result::messages) {
  }
  ASSERT_EQ(sink.messages.size(), msgs.size());
  for (std::size_t i = 0; i < msgs.size(); ++i) ASSERT_EQ(sink.messages[i], msgs[i].b) << i;
  EXPECT_EQ(sink.broken_promises, 0U);
  EXPECT_GT(sink.looked_ahead, sink.batches.size() * 9 / 10);
  EXPECT_TRUE(sink.promised.empty());
}

TEST(FileSource, PacedReplayHoldsMessagesUntilTheirTime) {
  temp_file tf{temp_path("paced.itch")};
  constexpr std::uint64_t s = 1'000'000'000ULL;
  // Two messages at the same instant, then one 60 s later: at real time the third is not
  // due for a minute, so polls return idle and never deliver it early.
  write_prefixed(tf.path, {itch_test::add_msg(1, 10 * s, 1, 'B', 100, 10000),
                           itch_test::add_msg(1, 10 * s, 2, 'B', 100, 10000),
                           itch_test::add_msg(1, 70 * s, 3, 'B', 100, 10000)});
  itch_source_config c;
  c.file = tf.path;
  c.speed = 1.0;
  auto src = open_source(c);
  collecting_sink sink;
  EXPECT_EQ(src->poll(sink, 100, std::chrono::milliseconds(0)), poll_result::messages);
  EXPECT_EQ(sink.messages.size(), 2U);
  EXPECT_EQ(src->poll(sink, 100, std::chrono::milliseconds(0)), poll_result::idle);
  EXPECT_EQ(src->poll(sink, 100, std::chrono::milliseconds(20)), poll_result::idle);
  EXPECT_EQ(sink.messages.size(), 2U);
}

TEST(FileSource, ConfigurationErrorsNameTheField) {
  itch_source_config none;
  EXPECT_THROW((void)open_source(none), std::runtime_error);
  itch_source_config both;
  both.file = "/tmp/x";
  both.mold_group = "239.1.1.1:5000";
  try {
    (void)open_source(both);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("mold_group"), std::string::npos) << e.what();
  }
  itch_source_config missing;
  missing.file = "/nonexistent/file.itch";
  EXPECT_THROW((void)open_source(missing), std::runtime_error);
}

// Starts the feed and drains io thread 0 (with `drain`, as an io thread would) until the
// feed has finished or `limit` passed; true when it finished.
template <class Drain>
bool run_to_end(itch_feed& feed, Drain&& drain, std::chrono::seconds limit = std::chrono::seconds(30)) {
  feed.start();
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!feed.finished() && std::chrono::steady_clock::now() < deadline) {
    drain();
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return feed.finished();
}

TEST(ItchFeed, PublishesEveryDirectorySymbolWithTheExactBookTradesAndState) {
  temp_file tf{temp_path("day.itch")};
  generator_config gc;
  gc.seed = 7;
  gc.symbols = 300;
  gc.messages = 200'000;
  const std::uint64_t written = write_binary_file(tf.path, gc);
  ASSERT_GT(written, 0U);

  publication pub(1, 1000);
  itch_feed_config fc;
  fc.source.file = tf.path;
  fc.midnight_ns = midnight_new_york("2024-06-03");
  fc.max_symbols = 1000;
  itch_feed feed(fc, pub);
  std::map<instrument_id, std::vector<std::uint64_t>> trade_seqs;
  std::map<instrument_id, std::uint64_t> cursors;
  std::uint64_t trades = 0;
  std::uint64_t trades_lost = 0;
  auto drain = [&] {
    (void)pub.drain(0, [&](const notice& n) {
      if (n.what != notice::kind::trade) return;
      const trade_history* h = pub.trades(n.instrument);
      if (h == nullptr) return;
      std::uint64_t& cursor = cursors.try_emplace(n.instrument, 1).first->second;
      trade_record buf[32];
      for (;;) {
        const auto r = h->read(cursor, buf);
        for (std::size_t k = 0; k < r.count; ++k) trade_seqs[n.instrument].push_back(buf[k].seq);
        trades += r.count;
        trades_lost += r.lost;
        cursor = r.next_seq;
        if (r.count == 0 && r.lost == 0) break;
      }
    });
  };
  ASSERT_TRUE(run_to_end(feed, drain, std::chrono::seconds(60)));
  drain();
  EXPECT_EQ(feed.status().state, "finished");
  EXPECT_EQ(feed.status().events, written);
  EXPECT_EQ(feed.status().errors, 0U);
  EXPECT_EQ(pub.lost_trades(), 0U);
  EXPECT_EQ(pub.renumbered_trades(), 0U);

  // An independent book fed the same file.
  itch_book ref;
  null_sink ns;
  binary_file_reader reader(tf.path);
  reader.for_each([&](std::span<const std::uint8_t> m) { (void)ref.apply(m.data(), m.size(), ns); });

  ASSERT_EQ(pub.instrument_count(), gc.symbols);
  itch_generator names(gc);
  auto top = std::make_unique<book_top>();
  for (locate_t l = 1; l <= gc.symbols; ++l) {
    const auto id = pub.find("NASDAQ:" + names.symbol(l));
    ASSERT_TRUE(id.has_value()) << names.symbol(l);
    EXPECT_EQ(pub.info(*id).lot_size, static_cast<qty_t>(ref.state(l)->info.round_lot));
    pub.read_top(*id, *top);
    EXPECT_EQ(top->quality, data_quality::ok);
    const level_book& want = *ref.book(l);
    ASSERT_EQ(top->n_bids, std::min<std::size_t>(want.depth(side::bid), kMaxDepth)) << names.symbol(l);
    ASSERT_EQ(top->n_asks, std::min<std::size_t>(want.depth(side::ask), kMaxDepth)) << names.symbol(l);
    for (std::size_t i = 0; i < top->n_bids; ++i) {
      EXPECT_EQ(top->bids()[i].price, want.level(side::bid, i).price);
      EXPECT_EQ(top->bids()[i].qty, want.level(side::bid, i).qty);
      EXPECT_EQ(top->bids()[i].orders, want.level(side::bid, i).orders);
    }
    for (std::size_t i = 0; i < top->n_asks; ++i) {
      EXPECT_EQ(top->asks()[i].price, want.level(side::ask, i).price);
      EXPECT_EQ(top->asks()[i].qty, want.level(side::ask, i).qty);
    }
    instrument_state st;
    pub.read_state(*id, st);
    EXPECT_GT(st.version, 0U);
    EXPECT_EQ(st.trading_state, ref.state(l)->status.trading_state);
    EXPECT_EQ(st.has_imbalance != 0, ref.state(l)->imbalance.valid);
    if (st.has_imbalance != 0) {
      EXPECT_EQ(st.imbalance_qty, static_cast<qty_t>(ref.state(l)->imbalance.imbalance_shares));
      EXPECT_EQ(st.reference_price, static_cast<price_t>(ref.state(l)->imbalance.reference_price));
    }
  }
  // Every trade of the day, per instrument in sequence from 1. (No instrument trades
  // more than a history holds, so even a reader that slept through the whole day would
  // lose nothing.)
  EXPECT_EQ(trades_lost, 0U);
  EXPECT_EQ(trades, ref.counters().trades);
  for (const auto& [id, seqs] : trade_seqs) {
    EXPECT_LE(seqs.size(), pub.trade_capacity()) << pub.info(id).symbol;
    for (std::size_t i = 0; i < seqs.size(); ++i) ASSERT_EQ(seqs[i], i + 1) << pub.info(id).symbol;
  }
}

// A book deeper than a published top (kMaxDepth levels a side): the feed publishes its
// best kMaxDepth levels with `deeper` set and the whole book in the full slot, in price
// order, from the level store (whose order is rebuilt after levels came and went).
TEST(ItchFeed, PublishesABookDeeperThanATopWholeInTheFullSlot) {
  temp_file tf{temp_path("deep.itch")};
  std::vector<raw> msgs;
  raw r('R', 39, 1, 0, 1);
  r.a(11, 8, "DEEP").c(19, 'Q').c(20, 'N').u(21, 4, 100).c(25, 'N').c(26, 'C').a(27, 2, "Z").c(29, 'P');
  msgs.push_back(r);
  std::uint64_t ref = 1;
  // Bids at prices in a scrambled order (37 and 72 are coprime: 72 distinct prices), so
  // slots and price order differ; then 5 deleted (one order each: 5 levels go) and 2 new
  // bids, which take freed slots, inside the book and at its worst end.
  const std::size_t first = kMaxDepth + 22;
  for (std::size_t i = 0; i < first; ++i) {
    const auto price = static_cast<std::uint32_t>(100'000 + ((i * 37) % first) * 100);
    msgs.push_back(itch_test::add_msg(1, 10 + i, ref++, 'B', static_cast<std::uint32_t>(100 + i), price));
  }
  for (std::uint64_t k = 3; k < 8; ++k) msgs.push_back(itch_test::delete_msg(1, 1000 + k, k));
  msgs.push_back(itch_test::add_msg(1, 1100, ref++, 'B', 7, 100'050));
  msgs.push_back(itch_test::add_msg(1, 1101, ref++, 'B', 9, 99'900));
  const std::size_t deep = first - 5 + 2;
  for (std::uint32_t i = 0; i < 3; ++i) {
    msgs.push_back(itch_test::add_msg(1, 2000 + i, ref++, 'S', 50, 200'000 + 100 * i));
  }
  write_prefixed(tf.path, msgs);

  publication pub(1, 16);
  itch_feed_config fc;
  fc.source.file = tf.path;
  fc.midnight_ns = midnight_new_york("2024-06-03");
  itch_feed feed(fc, pub);
  ASSERT_TRUE(run_to_end(feed, [&pub] { (void)pub.drain(0, [](const notice&) {}); }));

  itch_book ref_book;
  null_sink ns;
  for (const raw& m : msgs) (void)ref_book.apply(m.data(), m.size(), ns);
  const level_book& want = *ref_book.book(1);
  ASSERT_EQ(want.depth(side::bid), deep) << "the test needs a book deeper than a top";

  const auto id = pub.find("NASDAQ:DEEP");
  ASSERT_TRUE(id.has_value());
  auto top = std::make_unique<book_top>();
  pub.read_top(*id, *top);
  EXPECT_EQ(top->deeper, 1);
  ASSERT_EQ(static_cast<std::size_t>(top->n_bids), kMaxDepth);
  ASSERT_EQ(static_cast<std::size_t>(top->n_asks), 3U);
  auto full = std::make_unique<full_book_top>();
  ASSERT_TRUE(pub.read_full(*id, *full));
  EXPECT_EQ(full->version, top->version);
  ASSERT_EQ(static_cast<std::size_t>(full->n_bids), deep);
  ASSERT_EQ(static_cast<std::size_t>(full->n_asks), 3U);
  for (std::size_t i = 0; i < deep; ++i) {
    EXPECT_EQ(full->bids()[i], want.level(side::bid, i)) << "bid " << i;
    if (i > 0) {
      EXPECT_LT(full->bids()[i].price, full->bids()[i - 1].price) << "bid " << i;
    }
    if (i < kMaxDepth) {
      EXPECT_EQ(top->bids()[i], want.level(side::bid, i)) << "bid " << i;
    }
  }
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(full->asks()[i], want.level(side::ask, i)) << "ask " << i;
  EXPECT_EQ(full->asks()[0].price, 200'000);
}

// A source that delivers scripted polls (then ends) and records, at each call, the wait it
// was given and the version of one instrument's published book at that moment.
class scripted_source final : public itch_source {
public:
  scripted_source(std::vector<std::vector<raw>> polls, const publication& pub)
      : polls_(std::move(polls)), pub_(pub) {}
  struct call {
    std::chrono::milliseconds wait{};
    std::uint64_t published = 0; // the book's version in the publication
    std::uint64_t applied = 0;   // add messages delivered before this call
  };
  poll_result poll(message_sink& sink, std::size_t max_messages, std::chrono::milliseconds wait) override {
    call c{wait, 0, adds_};
    if (const auto id = pub_.find("NASDAQ:HOLD")) {
      auto top = std::make_unique<book_top>();
      pub_.read_top(*id, *top);
      c.published = top->version;
    }
    calls.push_back(c);
    if (next_ == polls_.size()) return poll_result::end;
    const std::vector<raw>& p = polls_[next_++];
    if (p.size() > max_messages) throw std::logic_error("a scripted poll larger than the feed's budget");
    for (const raw& m : p) {
      sink.on_message(m.data(), m.size());
      if (m.b[0] == 'A') ++adds_;
    }
    delivered_ += p.size();
    return p.empty() ? poll_result::idle : poll_result::messages;
  }
  [[nodiscard]] std::uint64_t errors() const noexcept override { return 0; }
  [[nodiscard]] std::uint64_t delivered() const noexcept override { return delivered_; }
  [[nodiscard]] std::string describe() const override { return "scripted"; }

  std::vector<call> calls; // read after the feed finished

private:
  std::vector<std::vector<raw>> polls_;
  const publication& pub_;
  std::size_t next_ = 0;
  std::uint64_t delivered_ = 0;
  std::uint64_t adds_ = 0;
};

TEST(ItchFeed, HoldsPublicationOnlyWhileBehindAndNeverWhileItWaitsForInput) {
  // Full polls (a feed behind its source) may be applied without publishing (up to 1 ms),
  // but whenever the feed asks its source to wait for input, everything delivered so far
  // must already be published: the end of a burst is never left to the next poll's wait.
  std::vector<std::vector<raw>> polls;
  std::uint64_t ref = 1;
  std::uint64_t ts = 1;
  const auto adds = [&](std::size_t n) {
    std::vector<raw> p;
    for (std::size_t i = 0; i < n; ++i) {
      p.push_back(itch_test::add_msg(1, ts++, ref, (ref & 1) != 0 ? 'B' : 'S', 100,
                                     static_cast<std::uint32_t>((ref & 1) != 0 ? 100'000 - ref % 50 : 100'100 + ref % 50)));
      ++ref;
    }
    return p;
  };
  raw r('R', 39, 1, 0, ts++);
  r.a(11, 8, "HOLD").c(19, 'Q').c(20, 'N').u(21, 4, 100).c(25, 'N').c(26, 'C').a(27, 2, "Z").c(29, 'P');
  std::vector<raw> first{r};
  for (raw& m : adds(itch_feed::kMaxBatch - 1)) first.push_back(std::move(m));
  polls.push_back(std::move(first));           // full: may be held
  polls.push_back(adds(itch_feed::kMaxBatch)); // full again
  polls.push_back(adds(10));                   // the end of the burst
  polls.push_back({});                         // idle
  polls.push_back(adds(itch_feed::kMaxBatch)); // another burst, then the end of input
  polls.push_back({});

  publication pub(1, 16);
  itch_feed_config fc;
  fc.midnight_ns = midnight_new_york("2024-06-03");
  auto owned = std::make_unique<scripted_source>(std::move(polls), pub);
  scripted_source& src = *owned;
  itch_feed feed(fc, pub, std::move(owned));
  ASSERT_TRUE(run_to_end(feed, [&pub] { (void)pub.drain(0, [](const notice&) {}); }));
  ASSERT_EQ(src.calls.size(), 7U);
  std::size_t held = 0;
  for (std::size_t k = 0; k < src.calls.size(); ++k) {
    const scripted_source::call& c = src.calls[k];
    SCOPED_TRACE("poll " + std::to_string(k));
    if (c.wait > std::chrono::milliseconds(0)) {
      EXPECT_EQ(c.published, c.applied) << "the feed waits for input with changes unpublished";
    } else {
      ++held;
      EXPECT_LT(c.published, c.applied) << "a poll without waiting, though nothing was held";
    }
  }
  std::printf("[ stats    ] %zu of 7 polls came after a held one\n", held);
  // At the end of input, everything is published.
  const auto id = pub.find("NASDAQ:HOLD");
  ASSERT_TRUE(id.has_value());
  auto top = std::make_unique<book_top>();
  pub.read_top(*id, *top);
  EXPECT_EQ(top->version, 3 * itch_feed::kMaxBatch + 9);
}

} // namespace
} // namespace mdgw::itch
