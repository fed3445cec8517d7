// io_worker's trade text: every trade encoded once per io thread, and an update for a
// session at any cursor cut from that text. What a client receives must equal what
// encode_trades makes of the same trades read from the ring, for every cursor, across
// the text being trimmed and the ring overwriting trades nobody encoded yet.
#include "io_worker.hpp"
#include "session_base.hpp"
#include "topic_codec.hpp"

#include <gtest/gtest.h>

#include <array>
#include <initializer_list>
#include <span>
#include <string>

namespace mdgw {
namespace {

class TradeText : public ::testing::Test {
protected:
  static constexpr std::size_t kRing = 1024;

  TradeText() : pub_(1, 2, kRing), prod_(pub_.add_producer(4096)), worker_(0, pub_, cfg_) {
    instrument_info info;
    info.symbol = "SIM:T";
    info.venue = "SIM";
    info.price_scale = 4;
    info.qty_scale = 2;
    id_ = *pub_.add_instrument(info);
  }

  ~TradeText() override {
    if (topic_ != nullptr) topic_->subs.clear(); // the subscriptions are the tests' locals
  }

  // The instrument's trades topic on the worker, with these subscriptions at trade 1.
  void subscribe(std::initializer_list<subscription*> subs) {
    topic_ = &worker_.acquire_topic(id_, protocol::channel_kind::trades);
    for (subscription* s : subs) s->last = 1;
    topic_->subs.assign(subs.begin(), subs.end());
  }

  void publish(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      ++published_;
      // Prices and sizes that vary in length, so the trades' texts do too.
      prod_.publish_trade(id_, published_ % 3 == 0 ? side::ask : side::bid,
                          static_cast<price_t>(1'000'000 + (published_ * 7919) % 100'000),
                          static_cast<qty_t>(1 + (published_ * 104'729) % 1'000'000), published_,
                          1'700'000'000'000'000'000ULL + published_ * 1000, 1'700'000'000'000'000'500ULL + published_ * 1000);
    }
    prod_.flush();
  }

  // The update in a batch's pieces, joined.
  static std::string joined(const trade_batch& b) {
    std::string out;
    for (const std::string_view part : b.parts) out.append(part);
    return out;
  }

  // The update a session at `cursor` is sent from the text (nullopt: not served from
  // the text), and where its cursor goes.
  std::optional<std::string> from_text(std::uint64_t cursor, std::uint64_t& next) {
    trade_batch b;
    if (!worker_.trade_text(id_, cursor, b)) return std::nullopt;
    EXPECT_EQ(b.resume_seq, cursor);
    next = b.next_seq;
    return joined(b);
  }

  // What encode_trades makes of the same trades, read from the ring.
  std::string reference(std::uint64_t cursor, std::uint64_t& next,
                        std::size_t limit = io_worker::kMaxTradesPerUpdate) {
    const trade_history* h = pub_.trades(id_);
    std::array<trade_record, io_worker::kMaxTradesPerUpdate> buf;
    const auto r = h->read(cursor, std::span<trade_record>(buf.data(), limit));
    EXPECT_EQ(r.lost, 0u) << "cursor " << cursor;
    next = r.next_seq;
    std::string out;
    if (r.count != 0) {
      encode_trades(out, "trades.SIM:T", h->epoch(), std::span<const trade_record>(buf.data(), r.count),
                    pub_.info(id_));
    }
    return out;
  }

  void expect_same(std::uint64_t cursor) {
    std::uint64_t next_text = 0, next_ref = 0;
    const auto text = from_text(cursor, next_text);
    ASSERT_TRUE(text.has_value()) << "cursor " << cursor;
    EXPECT_EQ(*text, reference(cursor, next_ref)) << "cursor " << cursor;
    EXPECT_EQ(next_text, next_ref) << "cursor " << cursor;
  }

  gateway_config cfg_;
  publication pub_;
  producer& prod_;
  io_worker worker_;
  instrument_id id_ = 0;
  std::uint64_t published_ = 0;
  topic* topic_ = nullptr;
};

TEST_F(TradeText, EveryCursorGetsWhatEncodeTradesMakes) {
  subscription a, b;
  subscribe({&a, &b});
  publish(300);
  // More than one update's worth (256) from the start, then every later cursor, and
  // the cursor past the head (nothing new).
  for (std::uint64_t c = 1; c <= published_ + 1; ++c) expect_same(c);
  std::uint64_t next = 0;
  EXPECT_EQ(from_text(published_ + 1, next), std::string());
  // Trades arriving between two reads: the text grows and older cursors still match.
  publish(40);
  for (std::uint64_t c : {1ull, 200ull, 299ull, 301ull, 340ull, 341ull}) expect_same(c);
}

TEST_F(TradeText, TrimsOnlyWhatNoSubscriptionNeeds) {
  subscription slow, fast;
  subscribe({&slow, &fast});
  publish(100);
  expect_same(1);
  // The slow subscription stays at 101; the fast one keeps up while 900 more trades
  // come (over the trimming slack): the text is trimmed to the slow one's cursor.
  slow.last = 101;
  for (int round = 0; round < 9; ++round) {
    publish(100);
    std::uint64_t next = 0;
    ASSERT_TRUE(from_text(fast.last, next).has_value());
    fast.last = next;
  }
  EXPECT_EQ(fast.last, published_ + 1);
  expect_same(101); // still held for the slow one
  std::uint64_t next = 0;
  EXPECT_FALSE(from_text(100, next).has_value()) << "trimmed: served by trade_fragment";
  expect_same(slow.last + 57);
}

TEST_F(TradeText, AStuckSubscriptionPinsNoMoreThanTheTradeQueue) {
  // A session that stopped reading keeps its cursor; the text still stops growing at
  // trade_queue trades behind the newest, where that session resumes when it reads.
  cfg_.trade_queue = 200;
  subscription stuck, fast;
  subscribe({&stuck, &fast});
  for (int round = 0; round < 10; ++round) {
    publish(100);
    std::uint64_t next = 0;
    ASSERT_TRUE(from_text(fast.last, next).has_value());
    fast.last = next;
  }
  std::uint64_t next = 0;
  EXPECT_FALSE(from_text(1, next).has_value());
  EXPECT_FALSE(from_text(published_ - 700, next).has_value());
  expect_same(published_ + 1 - 200);
}

TEST_F(TradeText, RingOverwritingUnencodedTradesStartsTheTextAfresh) {
  subscription s;
  subscribe({&s});
  publish(10);
  expect_same(1);
  // Three rings' worth with nobody reading: trades 11.. are gone before the text has
  // them.
  publish(3 * kRing);
  const std::uint64_t oldest = pub_.trades(id_)->oldest();
  ASSERT_GT(oldest, 11u);
  std::uint64_t next = 0;
  EXPECT_FALSE(from_text(11, next).has_value()) << "lost trades are trade_fragment's to announce";
  expect_same(oldest);
  expect_same(published_ - 5);
}

TEST_F(TradeText, TradeFragmentGivesTheSameBytesInsideAndBeforeTheText) {
  // trade_fragment, what a session calls, serves a cursor the text holds from the text and
  // an older one update by update: a client gets the same bytes either way.
  subscription s;
  subscribe({&s});
  publish(50);
  std::uint64_t next = 0;
  ASSERT_TRUE(from_text(30, next).has_value()); // the text starts at the first cursor asked
  for (std::uint64_t c = 1; c <= published_ + 1; ++c) {
    EXPECT_EQ(from_text(c, next).has_value(), c >= 30) << "cursor " << c;
    std::uint64_t next_ref = 0;
    const trade_batch b = worker_.trade_fragment(id_, c);
    EXPECT_EQ(b.resume_seq, c);
    EXPECT_EQ(joined(b), reference(c, next_ref)) << "cursor " << c;
    EXPECT_EQ(b.next_seq, next_ref) << "cursor " << c;
  }
}

TEST_F(TradeText, AnUpdateHoldsNoTradeAfterTheHeadItIsGiven) {
  // A session judges its lag by the head it read; the feed may publish more before its
  // update is cut, and the update must stop at that head (from the text, from older
  // cursors' shared updates, and in Cap'n Proto), or it holds more than --trade-queue.
  subscription s;
  subscribe({&s});
  publish(50);
  std::uint64_t next = 0;
  ASSERT_TRUE(from_text(30, next).has_value()); // cursors from 30 on: the text; before: shared updates
  for (std::uint64_t c = 1; c <= published_ + 1; ++c) {
    for (const std::uint64_t upto : {c - 1, c, c + 3, std::uint64_t{40}, published_, io_worker::kNoBound}) {
      const std::size_t limit =
          upto < c ? 0 : static_cast<std::size_t>(std::min<std::uint64_t>(upto - c, io_worker::kMaxTradesPerUpdate - 1) + 1);
      std::uint64_t next_ref = 0;
      const std::string want = reference(c, next_ref, limit);
      const trade_batch b = worker_.trade_fragment(id_, c, protocol::wire_format::json, upto);
      EXPECT_EQ(joined(b), want) << "cursor " << c << " upto " << upto;
      EXPECT_EQ(b.next_seq, next_ref) << "cursor " << c << " upto " << upto;
      const trade_batch bin = worker_.trade_fragment(id_, c, protocol::wire_format::capnp, upto);
      EXPECT_EQ(bin.next_seq, next_ref) << "capnp, cursor " << c << " upto " << upto;
      EXPECT_EQ(bin.parts[0].empty(), want.empty()) << "capnp, cursor " << c << " upto " << upto;
    }
  }
}

} // namespace
} // namespace mdgw
