// Binance on the real capture: the diff stream must join the REST snapshots and keep an
// unbroken update-id chain, and the final books must equal an independent reference: a
// plain std::map book that follows Binance's documented procedure from the raw JSON
// (Boost.JSON, snapshots applied first rather than merged by time, its own string to
// integer conversion).
#include "binance_handler.hpp"

#include "crypto_test_util.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace mdgw::crypto {
namespace {

using test::data_path;
using test::recording_sink;

// Binance prints exactly 8 decimals: drop the point and read the integer.
std::int64_t fixed8(const boost::json::value& v) {
  const std::string s(v.as_string());
  const auto dot = s.find('.');
  EXPECT_EQ(s.size() - dot - 1, 8U) << s;
  return std::stoll(s.substr(0, dot) + s.substr(dot + 1));
}

struct ref_book {
  std::map<std::int64_t, std::int64_t> bids, asks; // price -> qty
  std::uint64_t last_id = 0;
  bool first_applied = false;
  void set(bool bid, std::int64_t p, std::int64_t q) {
    auto& m = bid ? bids : asks;
    if (q == 0) {
      m.erase(p);
    } else {
      m[p] = q;
    }
  }
};

struct reference {
  std::map<std::string, ref_book> books;
  std::size_t applied = 0, dropped = 0, breaks = 0, ticker_checks = 0, ticker_mismatches = 0;
};

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

reference build_reference() {
  reference ref;
  for (const std::string& line : lines_of(data_path("binance-depth-snapshots.rest"))) {
    if (line.empty()) continue;
    const auto sym_at = line.find("symbol=") + 7;
    const std::string symbol = line.substr(sym_at, line.find('&', sym_at) - sym_at);
    const boost::json::value doc = boost::json::parse(line.substr(line.find(": ") + 2));
    const auto& obj = doc.as_object();
    ref_book& b = ref.books[symbol];
    b.last_id = obj.at("lastUpdateId").to_number<std::uint64_t>();
    for (const auto& l : obj.at("bids").as_array()) b.set(true, fixed8(l.as_array()[0]), fixed8(l.as_array()[1]));
    for (const auto& l : obj.at("asks").as_array()) b.set(false, fixed8(l.as_array()[0]), fixed8(l.as_array()[1]));
  }
  std::map<std::pair<std::string, std::uint64_t>, boost::json::object> tickers; // (symbol, u)
  for (const std::string& line : lines_of(data_path("binance-depth.ws"))) {
    if (line.empty() || line.starts_with("wss://")) continue;
    const boost::json::value doc = boost::json::parse(line.substr(line.find(": ") + 2));
    const auto& data = doc.as_object().at("data").as_object();
    if (!data.contains("e")) {
      tickers[{std::string(data.at("s").as_string()), data.at("u").to_number<std::uint64_t>()}] = data;
    }
  }
  for (const std::string& line : lines_of(data_path("binance-depth.ws"))) {
    if (line.empty() || line.starts_with("wss://")) continue;
    const boost::json::value doc = boost::json::parse(line.substr(line.find(": ") + 2));
    const auto& data = doc.as_object().at("data").as_object();
    const std::string symbol(data.at("s").as_string());
    ref_book& b = ref.books.at(symbol);
    if (!data.contains("e") || data.at("e").as_string() != "depthUpdate") continue;
    const auto first = static_cast<std::uint64_t>(data.at("U").as_int64());
    const auto last = static_cast<std::uint64_t>(data.at("u").as_int64());
    if (last <= b.last_id) {
      ++ref.dropped;
      continue;
    }
    const bool joins = b.first_applied ? first == b.last_id + 1 : first <= b.last_id + 1 && b.last_id + 1 <= last;
    if (!joins) ++ref.breaks;
    for (const auto& l : data.at("b").as_array()) b.set(true, fixed8(l.as_array()[0]), fixed8(l.as_array()[1]));
    for (const auto& l : data.at("a").as_array()) b.set(false, fixed8(l.as_array()[0]), fixed8(l.as_array()[1]));
    b.last_id = last;
    b.first_applied = true;
    ++ref.applied;
    // Every bookTicker of the session stamped with exactly this id describes this state.
    if (const auto t = tickers.find({symbol, last}); t != tickers.end()) {
      ++ref.ticker_checks;
      const boost::json::object& tk = t->second;
      const bool ok = !b.bids.empty() && !b.asks.empty() && b.bids.rbegin()->first == fixed8(tk.at("b")) &&
                      b.bids.rbegin()->second == fixed8(tk.at("B")) && b.asks.begin()->first == fixed8(tk.at("a")) &&
                      b.asks.begin()->second == fixed8(tk.at("A"));
      if (!ok) ++ref.ticker_mismatches;
    }
  }
  return ref;
}

void expect_same_book(const crypto_instrument& in, const ref_book& ref) {
  ASSERT_EQ(in.book.depth(side::bid), ref.bids.size()) << in.info.symbol;
  ASSERT_EQ(in.book.depth(side::ask), ref.asks.size()) << in.info.symbol;
  std::size_t i = 0;
  for (auto it = ref.bids.rbegin(); it != ref.bids.rend(); ++it, ++i) {
    ASSERT_EQ(in.book.level(side::bid, i).price, it->first) << in.info.symbol << " bid " << i;
    ASSERT_EQ(in.book.level(side::bid, i).qty, it->second) << in.info.symbol << " bid " << i;
  }
  i = 0;
  for (auto it = ref.asks.begin(); it != ref.asks.end(); ++it, ++i) {
    ASSERT_EQ(in.book.level(side::ask, i).price, it->first) << in.info.symbol << " ask " << i;
    ASSERT_EQ(in.book.level(side::ask, i).qty, it->second) << in.info.symbol << " ask " << i;
  }
}

binance_config capture_config() {
  binance_config c;
  c.symbols = test::binance_capture_symbols();
  return c;
}

capture load_capture() {
  return capture::load(data_path("binance-depth.ws"), data_path("binance-depth-snapshots.rest"));
}

TEST(BinanceCapture, ChainHoldsAndBooksEqualIndependentReference) {
  const reference ref = build_reference();
  // The reference itself confirms the README's figures.
  EXPECT_EQ(ref.applied, 172U);
  EXPECT_EQ(ref.dropped, 5U);
  EXPECT_EQ(ref.breaks, 0U);
  EXPECT_EQ(ref.ticker_mismatches, 0U);
  EXPECT_EQ(ref.ticker_checks, 26U);

  const capture cap = load_capture();
  binance_handler h(capture_config());
  recording_sink sink;
  h.set_sink(&sink);
  const replay_stats st = replay(cap, h);

  const crypto_counters& c = h.counters();
  EXPECT_EQ(c.updates, 172U);
  EXPECT_EQ(c.dropped_old, 5U);
  EXPECT_EQ(c.sequence_gaps, 0U);
  EXPECT_EQ(c.snapshots, 4U);
  EXPECT_EQ(c.bad_frames, 0U);
  EXPECT_EQ(c.ticker_mismatches, 0U);
  EXPECT_EQ(c.resyncs, 0U);
  EXPECT_GT(c.buffered, 0U); // diffs that arrived before their snapshot (merged by time)
  // bookTickers whose id a diff ended at: 26 in this session, all agreeing.
  EXPECT_EQ(ref.ticker_checks, 26U);
  EXPECT_EQ(c.checks_ok, ref.ticker_checks);
  EXPECT_EQ(c.trades, 2U);
  EXPECT_EQ(st.count(frame_status::bad_frame), 0U);
  EXPECT_EQ(st.count(frame_status::mismatch), 0U);
  EXPECT_TRUE(sink.resyncs.empty());
  for (std::size_t i = 0; i < h.instrument_count(); ++i) {
    const crypto_instrument& in = h.instrument(i);
    EXPECT_EQ(in.quality, data_quality::ok) << in.info.symbol;
    EXPECT_EQ(h.last_update_id(i), ref.books.at(in.venue_symbol).last_id) << in.info.symbol;
    expect_same_book(in, ref.books.at(in.venue_symbol));
  }
  std::printf("binance: %llu bookTicker checks matched, %llu not comparable\n",
              static_cast<unsigned long long>(c.checks_ok), static_cast<unsigned long long>(c.unchecked_tickers));
}

TEST(BinanceCapture, AggTrade) {
  const capture cap = load_capture();
  binance_handler h(capture_config());
  recording_sink sink;
  h.set_sink(&sink);
  (void)replay(cap, h);
  ASSERT_EQ(sink.trades.size(), 2U);
  for (const auto& [index, t] : sink.trades) {
    EXPECT_GT(t.price, 0);
    EXPECT_GT(t.qty, 0);
    EXPECT_GT(t.exch_ts, 1'633'998'000'000'000'000ULL);
    EXPECT_EQ(t.trade_seq, 1U);
    (void)index;
  }
}

// Dropping one diff from the real stream must break the chain at the next one.
TEST(BinanceCapture, MissingDiffIsDetected) {
  const capture cap = load_capture();
  binance_handler h(capture_config());
  recording_sink sink;
  h.set_sink(&sink);
  const std::size_t nkn = *h.find("NKNUSDT");
  int applied_nkn = 0;
  bool dropped = false;
  for (const capture_record& r : cap.records()) {
    if (r.what == capture_record::kind::rest) {
      (void)h.on_rest(r.url, r.body);
      continue;
    }
    if (r.what != capture_record::kind::frame) continue;
    const std::string_view json(r.body.data, r.body.size);
    const bool nkn_depth = json.find("nknusdt@depth") != std::string_view::npos;
    if (nkn_depth && h.state(nkn) == binance_handler::sync_state::synced && ++applied_nkn == 20 && !dropped) {
      dropped = true; // lost on the way
      continue;
    }
    const frame_status st = h.on_frame(r.body);
    EXPECT_NE(st, frame_status::bad_frame);
  }
  ASSERT_TRUE(dropped);
  EXPECT_EQ(h.counters().sequence_gaps, 1U);
  ASSERT_EQ(sink.resyncs.size(), 1U);
  EXPECT_EQ(sink.resyncs[0].first, nkn);
  EXPECT_EQ(sink.resyncs[0].second, resync_reason::sequence_gap);
  // Everything after the gap waits for a fresh snapshot instead of being applied.
  EXPECT_EQ(h.state(nkn), binance_handler::sync_state::awaiting_snapshot);
  EXPECT_EQ(h.instrument(nkn).quality, data_quality::stale);
  for (std::size_t i = 0; i < h.instrument_count(); ++i) {
    if (i != nkn) {
      EXPECT_EQ(h.instrument(i).quality, data_quality::ok);
    }
  }
  // The old snapshot cannot bridge the gap: the instrument must stay stale.
  for (const capture_record& r : cap.records()) {
    if (r.what == capture_record::kind::rest && r.url.find("NKNUSDT") != std::string_view::npos) {
      (void)h.on_rest(r.url, r.body);
    }
  }
  EXPECT_NE(h.state(nkn), binance_handler::sync_state::synced);
  EXPECT_EQ(h.instrument(nkn).quality, data_quality::stale);
}

// ---- the procedure, step by step, on synthetic frames ----

class BinanceProcedure : public ::testing::Test {
protected:
  BinanceProcedure() : h_(make_config()) { h_.set_sink(&sink_); }
  static binance_config make_config() {
    binance_config c;
    instrument_config s;
    s.venue_symbol = "BTCUSDT";
    s.price_scale = 2;
    s.qty_scale = 8;
    c.symbols.push_back(s);
    return c;
  }
  frame_status diff(std::uint64_t first, std::uint64_t last, const std::string& bids = "",
                    const std::string& asks = "") {
    const std::string json = R"({"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1700000000000,)"
                             R"("s":"BTCUSDT","U":)" + std::to_string(first) + R"(,"u":)" + std::to_string(last) +
                             R"(,"b":[)" + bids + R"(],"a":[)" + asks + "]}}";
    return h_.on_frame(frame_buffer(json).frame());
  }
  frame_status snapshot(std::uint64_t id) {
    const std::string body = R"({"lastUpdateId":)" + std::to_string(id) +
                             R"(,"bids":[["100.00","1.00000000"],["99.00","2.00000000"]],"asks":[["101.00","1.50000000"]]})";
    return h_.on_rest("https://api.binance.com/api/v3/depth?symbol=BTCUSDT&limit=1000", frame_buffer(body).frame());
  }
  frame_status ticker(std::uint64_t id, const char* bid, const char* bid_qty, const char* ask, const char* ask_qty) {
    const std::string json = std::string(R"({"stream":"btcusdt@bookTicker","data":{"u":)") + std::to_string(id) +
                             R"(,"s":"BTCUSDT","b":")" + bid + R"(","B":")" + bid_qty + R"(","a":")" + ask +
                             R"(","A":")" + ask_qty + "\"}}";
    return h_.on_frame(frame_buffer(json).frame());
  }
  binance_handler h_;
  recording_sink sink_;
};

TEST_F(BinanceProcedure, BuffersDropsJoinsAndChains) {
  EXPECT_EQ(h_.state(0), binance_handler::sync_state::awaiting_snapshot);
  EXPECT_EQ(diff(95, 99, R"(["100.00","9.00000000"])"), frame_status::buffered);
  EXPECT_EQ(diff(100, 102, R"(["100.00","3.00000000"])"), frame_status::buffered);
  EXPECT_EQ(snapshot(100), frame_status::ok); // drops 95..99, joins with 100..102
  EXPECT_EQ(h_.counters().dropped_old, 1U);
  EXPECT_EQ(h_.state(0), binance_handler::sync_state::synced);
  EXPECT_EQ(h_.last_update_id(0), 102U);
  EXPECT_EQ(h_.instrument(0).book.best(side::bid)->qty, 300'000'000);
  EXPECT_EQ(diff(103, 103, "", R"(["101.00","0.00000000"],["102.00","1.00000000"])"), frame_status::ok);
  EXPECT_EQ(h_.instrument(0).book.best(side::ask)->price, 10200);
  EXPECT_EQ(ticker(103, "100.00", "3.00000000", "102.00", "1.00000000"), frame_status::ok);
  EXPECT_EQ(ticker(102, "100.00", "3.00000000", "102.00", "1.00000000"), frame_status::ignored); // behind the book
  EXPECT_EQ(h_.counters().checks_ok, 1U);
  EXPECT_EQ(diff(101, 103), frame_status::dropped_old); // replayed old diff
  EXPECT_TRUE(sink_.resyncs.empty());

  // 104 is lost: 105 breaks the chain.
  EXPECT_EQ(diff(105, 106, R"(["100.00","7.00000000"])"), frame_status::mismatch);
  EXPECT_EQ(h_.instrument(0).quality, data_quality::stale);
  ASSERT_EQ(sink_.resyncs.size(), 1U);
  EXPECT_EQ(sink_.resyncs[0].second, resync_reason::sequence_gap);
  EXPECT_EQ(h_.instrument(0).book.best(side::bid)->qty, 300'000'000); // not applied
  EXPECT_EQ(diff(107, 108), frame_status::buffered);
  // The fresh snapshot at 106: 105..106 dropped, 107..108 joins (107 <= 107 <= 108).
  EXPECT_EQ(snapshot(106), frame_status::ok);
  EXPECT_EQ(h_.instrument(0).quality, data_quality::ok);
  EXPECT_EQ(h_.state(0), binance_handler::sync_state::synced);
  EXPECT_EQ(h_.last_update_id(0), 108U);
  EXPECT_EQ(h_.instrument(0).book.best(side::bid)->qty, 100'000'000); // the snapshot's
  EXPECT_EQ(snapshot(50), frame_status::ignored); // older than the synced book
  EXPECT_EQ(h_.counters().sequence_gaps, 1U);
}

TEST_F(BinanceProcedure, FirstDiffMustStraddleTheSnapshot) {
  EXPECT_EQ(snapshot(100), frame_status::ok);
  EXPECT_EQ(diff(103, 104), frame_status::mismatch); // 101 and 102 are missing
  EXPECT_EQ(h_.counters().sequence_gaps, 1U);
  EXPECT_EQ(h_.instrument(0).quality, data_quality::stale);
}

TEST_F(BinanceProcedure, TickerAheadOfTheBookIsCheckedWhenTheBookGetsThere) {
  EXPECT_EQ(snapshot(100), frame_status::ok);
  EXPECT_EQ(ticker(101, "100.00", "1.00000000", "101.00", "1.50000000"), frame_status::buffered); // passed over
  EXPECT_EQ(ticker(103, "100.00", "5.00000000", "101.00", "1.50000000"), frame_status::buffered);
  EXPECT_EQ(ticker(104, "100.00", "9.00000000", "101.00", "1.50000000"), frame_status::buffered);
  EXPECT_EQ(diff(100, 103, R"(["100.00","5.00000000"])"), frame_status::ok);
  EXPECT_EQ(h_.counters().checks_ok, 1U);
  EXPECT_EQ(h_.counters().unchecked_tickers, 1U);
  // The book reaches 104 with a size the ticker did not announce.
  EXPECT_EQ(diff(104, 104, R"(["100.00","8.00000000"])"), frame_status::mismatch);
  EXPECT_EQ(h_.counters().ticker_mismatches, 1U);
  EXPECT_EQ(h_.instrument(0).quality, data_quality::stale);
  ASSERT_EQ(sink_.resyncs.size(), 1U);
  EXPECT_EQ(sink_.resyncs[0].second, resync_reason::ticker_mismatch);
}

TEST_F(BinanceProcedure, TickerDisagreementMarksStale) {
  EXPECT_EQ(snapshot(100), frame_status::ok);
  EXPECT_EQ(diff(101, 101), frame_status::ok);
  EXPECT_EQ(ticker(101, "100.00", "1.00000000", "101.00", "1.40000000"), frame_status::mismatch);
  EXPECT_EQ(h_.counters().ticker_mismatches, 1U);
  EXPECT_EQ(h_.instrument(0).quality, data_quality::stale);
  EXPECT_EQ(h_.state(0), binance_handler::sync_state::awaiting_snapshot);
}

TEST_F(BinanceProcedure, TradesCombinedAndRaw) {
  // Combined stream aggTrade, and a raw (single stream) trade event.
  EXPECT_EQ(h_.on_frame(frame_buffer(R"({"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1700000000001,)"
                                     R"("s":"BTCUSDT","a":5,"p":"100.50","q":"0.25000000","f":7,"l":8,)"
                                     R"("T":1700000000000,"m":true,"M":true}})")
                            .frame()),
            frame_status::ok);
  EXPECT_EQ(h_.on_frame(frame_buffer(R"({"e":"trade","E":1700000000003,"s":"BTCUSDT","t":9,"p":"100.75",)"
                                     R"("q":"1.00000000","b":88,"a":99,"T":1700000000002,"m":false,"M":true})")
                            .frame()),
            frame_status::ok);
  ASSERT_EQ(sink_.trades.size(), 2U);
  EXPECT_EQ(sink_.trades[0].second.aggressor, side::ask); // buyer was the maker: a seller hit the bid
  EXPECT_EQ(sink_.trades[0].second.price, 10050);
  EXPECT_EQ(sink_.trades[0].second.qty, 25'000'000);
  EXPECT_EQ(sink_.trades[0].second.exch_ts, 1'700'000'000'000'000'000ULL);
  EXPECT_EQ(sink_.trades[1].second.aggressor, side::bid);
  EXPECT_EQ(sink_.trades[1].second.trade_seq, 2U);
  // A raw depthUpdate goes through the same procedure as a combined one.
  EXPECT_EQ(h_.on_frame(frame_buffer(R"({"e":"depthUpdate","E":1,"s":"BTCUSDT","U":1,"u":2,"b":[],"a":[]})").frame()),
            frame_status::buffered);
  EXPECT_EQ(h_.on_frame(frame_buffer(R"({"stream":"btcusdt@kline_1m","data":{"e":"kline","s":"BTCUSDT"}})").frame()),
            frame_status::ignored);
}

TEST_F(BinanceProcedure, BadNumbersAreRejected) {
  EXPECT_EQ(snapshot(100), frame_status::ok);
  EXPECT_EQ(diff(101, 101, R"(["100.001","1.00000000"])"), frame_status::bad_frame); // finer than the tick scale
  EXPECT_EQ(h_.instrument(0).quality, data_quality::stale);
  EXPECT_EQ(h_.instrument(0).book.best(side::bid)->qty, 100'000'000);
  EXPECT_EQ(diff(102, 102, R"(["1e2","1.00000000"])"), frame_status::bad_frame);
  EXPECT_EQ(h_.on_frame(frame_buffer(R"({"stream":"x","data":{"e":"depthUpdate","s":"BTCUSDT","U":"1"}})").frame()),
            frame_status::bad_frame);
  EXPECT_EQ(h_.on_frame(frame_buffer(R"({"result":null,"id":1})").frame()), frame_status::ignored);
  EXPECT_EQ(h_.on_frame(frame_buffer(R"({"stream":"x","data":{"e":"depthUpdate","s":"ETHUSDT","U":1,"u":2,"b":[],"a":[]}})").frame()),
            frame_status::unknown_instrument);
  EXPECT_EQ(h_.on_rest("https://api.binance.com/api/v3/depth?symbol=BTCUSDT", frame_buffer("{\"bids\":[]}").frame()),
            frame_status::bad_frame);
}

} // namespace
} // namespace mdgw::crypto
