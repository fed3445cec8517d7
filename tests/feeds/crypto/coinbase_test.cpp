// Coinbase on the real capture: from the second ticker of each product on, best bid and
// ask equal the level2 book built from the frames before it.
#include "coinbase_handler.hpp"

#include "crypto_test_util.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace mdgw::crypto {
namespace {

using test::data_path;
using test::recording_sink;

std::vector<instrument_config> capture_products() {
  std::ifstream in(data_path("coinbase-products.rest"));
  std::string line;
  std::getline(in, line);
  const auto r = parse_rest_line(line);
  if (!r) throw std::runtime_error("coinbase-products.rest: first line is not a REST reply");
  return coinbase_products(r->payload, test::coinbase_capture_products());
}

TEST(CoinbaseProducts, ScalesFromIncrements) {
  const auto products = capture_products();
  ASSERT_EQ(products.size(), 10U);
  const auto get = [&](const std::string& id) {
    for (const auto& p : products) {
      if (p.venue_symbol == id) return p;
    }
    throw std::runtime_error("missing " + id);
  };
  EXPECT_EQ(get("BAND-GBP").price_scale, 4); // quote_increment 0.0001
  EXPECT_EQ(get("BAND-GBP").qty_scale, 2);   // base_increment 0.01
  EXPECT_EQ(get("DASH-BTC").price_scale, 8);
  EXPECT_EQ(get("DASH-BTC").qty_scale, 3);
  EXPECT_EQ(get("SKL-USD").qty_scale, 1);
  EXPECT_EQ(get("SKL-USD").tick_size, 1);
  EXPECT_THROW(coinbase_products("[]", {"BTC-USD"}), std::runtime_error);
  EXPECT_THROW(coinbase_products("{", {"BTC-USD"}), std::runtime_error);
}

TEST(CoinbaseCapture, LaterTickersEqualTheBook) {
  const capture cap = capture::load(data_path("coinbase-level2.ws"));
  coinbase_handler h(coinbase_config{capture_products()});
  recording_sink sink;
  h.set_sink(&sink);
  const replay_stats st = replay(cap, h);

  const crypto_counters& c = h.counters();
  // 107 ticker frames for 10 products: the first of each is not comparable, and each of
  // the other 97 agrees with the book. (data/README.md says "100 frames": 100 tickers
  // agree with the book in total, because 3 of the first ones happen to as well.)
  EXPECT_EQ(c.unchecked_tickers, 10U);
  EXPECT_EQ(c.checks_ok, 97U);
  EXPECT_EQ(c.ticker_mismatches, 0U);
  EXPECT_EQ(c.snapshots, 10U);
  EXPECT_EQ(c.updates, 9719U);
  EXPECT_EQ(c.trades, 97U); // match; the 10 last_match are ignored
  EXPECT_EQ(c.bad_frames, 0U);
  EXPECT_EQ(c.resyncs, 0U);
  EXPECT_EQ(st.count(frame_status::bad_frame), 0U);
  EXPECT_EQ(st.count(frame_status::mismatch), 0U);
  EXPECT_EQ(cap.sent_lines(), 3U);
  EXPECT_TRUE(sink.resyncs.empty());
  for (std::size_t i = 0; i < h.instrument_count(); ++i) {
    EXPECT_EQ(h.instrument(i).quality, data_quality::ok) << h.instrument(i).info.symbol;
    EXPECT_EQ(h.instrument(i).info.symbol, "COINBASE:" + h.instrument(i).venue_symbol);
  }
}

class CoinbaseSynthetic : public ::testing::Test {
protected:
  CoinbaseSynthetic() : h_(make_config()) { h_.set_sink(&sink_); }
  static coinbase_config make_config() {
    instrument_config p;
    p.venue_symbol = "BTC-USD";
    p.price_scale = 2;
    p.qty_scale = 8;
    return coinbase_config{{p}};
  }
  frame_status send(const std::string& json) { return h_.on_frame(frame_buffer(json).frame()); }
  frame_status snapshot() {
    return send(R"({"type":"snapshot","product_id":"BTC-USD","bids":[["100.00","1.5"],["99.50","2"]],)"
                R"("asks":[["100.50","0.25"],["101.00","3"]]})");
  }
  frame_status ticker(const char* bid, const char* ask) {
    return send(std::string(R"({"type":"ticker","sequence":1,"product_id":"BTC-USD","price":"100.10","best_bid":")") +
                bid + R"(","best_ask":")" + ask + R"(","side":"buy","time":"2021-04-17T16:43:30.244075Z"})");
  }
  coinbase_handler h_;
  recording_sink sink_;
};

TEST_F(CoinbaseSynthetic, TickerDisagreementMarksStaleUntilSnapshot) {
  ASSERT_EQ(snapshot(), frame_status::ok);
  EXPECT_EQ(ticker("1.00", "2.00"), frame_status::ignored); // first one: subscription-time state
  EXPECT_EQ(send(R"({"type":"l2update","product_id":"BTC-USD","changes":[["buy","100.25","0.1"]],)"
                 R"("time":"2021-04-17T16:43:37.075687Z"})"),
            frame_status::ok);
  EXPECT_EQ(h_.instrument(0).exch_ts, 1'618'677'817'075'687'000ULL);
  EXPECT_EQ(ticker("100.25", "100.50"), frame_status::ok);
  EXPECT_EQ(ticker("100.00", "100.50"), frame_status::mismatch);
  EXPECT_EQ(h_.instrument(0).quality, data_quality::stale);
  ASSERT_EQ(sink_.resyncs.size(), 1U);
  EXPECT_EQ(sink_.resyncs[0].second, resync_reason::ticker_mismatch);
  EXPECT_EQ(send(R"({"type":"l2update","product_id":"BTC-USD","changes":[["sell","100.50","0"]]})"),
            frame_status::out_of_sync);
  ASSERT_EQ(snapshot(), frame_status::ok);
  EXPECT_EQ(h_.instrument(0).quality, data_quality::ok);
  EXPECT_EQ(ticker("100.00", "100.50"), frame_status::ok);
  EXPECT_EQ(h_.counters().checks_ok, 2U);
}

TEST_F(CoinbaseSynthetic, MatchesAndBadInput) {
  ASSERT_EQ(snapshot(), frame_status::ok);
  EXPECT_EQ(send(R"({"type":"match","trade_id":1,"side":"sell","size":"0.5","price":"100.50",)"
                 R"("product_id":"BTC-USD","sequence":2,"time":"2021-04-17T16:43:37.089723Z"})"),
            frame_status::ok);
  ASSERT_EQ(sink_.trades.size(), 1U);
  EXPECT_EQ(sink_.trades[0].second.aggressor, side::bid); // maker sold: a buyer took it
  EXPECT_EQ(sink_.trades[0].second.price, 10050);
  EXPECT_EQ(sink_.trades[0].second.qty, 50'000'000);
  EXPECT_EQ(send(R"({"type":"last_match","side":"sell","size":"0.5","price":"100.50","product_id":"BTC-USD"})"),
            frame_status::ignored);
  // A bad size in an update: nothing applied, stale.
  EXPECT_EQ(send(R"({"type":"l2update","product_id":"BTC-USD","changes":[["buy","100.00","1.5e2"]]})"),
            frame_status::bad_frame);
  EXPECT_EQ(h_.instrument(0).book.best(side::bid)->qty, 150'000'000);
  EXPECT_EQ(h_.instrument(0).quality, data_quality::stale);
  EXPECT_EQ(send(R"({"type":"l2update","product_id":"BTC-USD","changes":[["hold","100.00","1"]]})"),
            frame_status::bad_frame);
  EXPECT_EQ(send(R"({"type":"snapshot","product_id":"ETH-USD","bids":[],"asks":[]})"), frame_status::unknown_instrument);
  EXPECT_EQ(send(R"({"type":"subscriptions","channels":[]})"), frame_status::ignored);
  EXPECT_EQ(send("[]"), frame_status::bad_frame);
}

} // namespace
} // namespace mdgw::crypto
