// Book messages of protocol v1: applying a delta to the previous book gives exactly the
// new top N, and the checksum in every message equals the CRC32 of the documented text
// computed here independently from the message's own strings. Also the history's
// bookkeeping (which states are still there to compute a delta from).
#include "book_codec.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <zlib.h>

#include <map>
#include <random>
#include <string>

namespace mdgw {
namespace {

namespace json = boost::json;

instrument_info test_info() {
  instrument_info info;
  info.symbol = "SIM:T";
  info.price_scale = 2;
  info.qty_scale = 3;
  return info;
}

book_top make_top(std::mt19937_64& rng, std::uint64_t version) {
  book_top top{};
  top.version = version;
  top.exch_ts = 1000 + version;
  top.recv_ts = 2000 + version;
  // Prices on a small grid so consecutive books share many levels.
  std::uniform_int_distribution<int> n(0, 12), q(1, 5000), o(1, 9);
  std::map<price_t, price_level, std::greater<>> bids;
  std::map<price_t, price_level> asks;
  const int nb = n(rng);
  const int na = n(rng);
  for (int i = 0; i < nb; ++i) {
    const price_t p = 10000 - static_cast<price_t>(rng() % 20);
    bids[p] = {p, q(rng), static_cast<std::uint32_t>(o(rng)), 0};
  }
  for (int i = 0; i < na; ++i) {
    const price_t p = 10001 + static_cast<price_t>(rng() % 20);
    asks[p] = {p, q(rng), static_cast<std::uint32_t>(o(rng)), 0};
  }
  std::size_t k = 0;
  for (const auto& [p, l] : bids) top.levels[k++] = l;
  top.n_bids = static_cast<std::uint16_t>(bids.size());
  for (const auto& [p, l] : asks) top.levels[k++] = l;
  top.n_asks = static_cast<std::uint16_t>(asks.size());
  return top;
}

// The client's view: price string -> [qty string, orders], per side.
struct client_book {
  std::map<double, std::pair<std::string, std::string>, std::greater<>> bids; // best first
  std::map<double, std::pair<std::string, std::string>> asks;
  std::map<double, std::string> bid_price_text;
  std::map<double, std::string> ask_price_text;

  void apply(const json::array& levels, bool bid, bool snapshot) {
    if (snapshot) {
      if (bid) bids.clear();
      else asks.clear();
    }
    for (const auto& lv : levels) {
      const auto& a = lv.as_array();
      const std::string price(a[0].as_string());
      const std::string qty(a[1].as_string());
      const double key = std::stod(price);
      const bool remove = std::stod(qty) == 0.0;
      if (bid) {
        if (remove) ASSERT_EQ(bids.erase(key), 1U) << "removed a level the client does not have: " << price;
        else bids[key] = {qty, std::to_string(a[2].to_number<int>())}, bid_price_text[key] = price;
      } else {
        if (remove) ASSERT_EQ(asks.erase(key), 1U) << "removed a level the client does not have: " << price;
        else asks[key] = {qty, std::to_string(a[2].to_number<int>())}, ask_price_text[key] = price;
      }
    }
  }
  // The documented checksum text: bids best first "p:q" joined by ',', '|', asks.
  [[nodiscard]] std::uint32_t checksum() const {
    std::string text;
    bool first = true;
    for (const auto& [k, v] : bids) {
      if (!first) text += ',';
      first = false;
      text += bid_price_text.at(k) + ":" + v.first;
    }
    text += '|';
    first = true;
    for (const auto& [k, v] : asks) {
      if (!first) text += ',';
      first = false;
      text += ask_price_text.at(k) + ":" + v.first;
    }
    return static_cast<std::uint32_t>(::crc32(0L, reinterpret_cast<const Bytef*>(text.data()), static_cast<uInt>(text.size())));
  }
};

void expect_equal(const client_book& c, const book_record& r, const std::string& where) {
  ASSERT_EQ(c.bids.size(), r.n_bids) << where;
  ASSERT_EQ(c.asks.size(), r.n_asks) << where;
  std::size_t i = 0;
  for (const auto& [k, v] : c.bids) {
    EXPECT_EQ(std::llround(k * 100), r.bids()[i].price) << where;
    EXPECT_EQ(std::llround(std::stod(v.first) * 1000), r.bids()[i].qty) << where;
    EXPECT_EQ(v.second, std::to_string(r.bids()[i].orders)) << where;
    ++i;
  }
  i = 0;
  for (const auto& [k, v] : c.asks) {
    EXPECT_EQ(std::llround(k * 100), r.asks()[i].price) << where;
    ++i;
  }
}

TEST(BookCodec, DeltasRebuildEveryStateAndChecksumsProveIt) {
  std::mt19937_64 rng(11);
  const instrument_info info = test_info();
  std::string scratch;
  for (const std::size_t depth : {1U, 3U, 10U, 50U}) {
    book_history hist;
    client_book client;
    std::uint64_t at = 0; // the record the client is at
    for (std::uint64_t v = 1; v <= 400; ++v) {
      const book_top top = make_top(rng, v);
      book_record& r = hist.prepare();
      r.assign(top, depth, info, scratch);
      r.first_exch_ts = top.exch_ts;
      r.first_recv_ts = top.recv_ts;
      hist.commit();
      const book_record& to = *hist.newest();
      // Sometimes the client skips states (conflation): delta from an older record.
      if (rng() % 3 == 0 && v < 400) continue;
      const book_record* from = hist.find(at);
      std::string msg;
      book_message_stamps st{1, 2, 3};
      encode_book_message(msg, "book.SIM:T." + std::to_string(depth), from, to, st, info);
      const auto m = json::parse(msg).as_object();
      const std::string where = "depth " + std::to_string(depth) + " v" + std::to_string(v) + ": " + msg;
      EXPECT_EQ(m.at("kind").as_string(), from ? "delta" : "snapshot") << where;
      if (from != nullptr) {
        EXPECT_EQ(m.at("prev").to_number<std::uint64_t>(), from->version) << where;
      }
      EXPECT_EQ(m.at("seq").to_number<std::uint64_t>(), v) << where;
      EXPECT_EQ(m.at("merged").to_number<std::uint64_t>(), 3U);
      EXPECT_EQ(m.at("ts_recv_oldest").to_number<std::uint64_t>(), 2U);
      client.apply(m.at("bids").as_array(), true, from == nullptr);
      client.apply(m.at("asks").as_array(), false, from == nullptr);
      expect_equal(client, to, where);
      EXPECT_EQ(client.checksum(), m.at("checksum").to_number<std::uint32_t>()) << where;
      at = to.rec;
    }
  }
}

TEST(BookCodec, AnUnchangedLevelIsNotRepeatedInADelta) {
  const instrument_info info = test_info();
  std::string scratch;
  book_top a{};
  a.version = 1;
  a.n_bids = 2;
  a.n_asks = 1;
  a.levels[0] = {10000, 5000, 1, 0};
  a.levels[1] = {9990, 7000, 2, 0};
  a.levels[2] = {10010, 1000, 1, 0};
  book_top b = a;
  b.version = 2;
  b.levels[1] = {9990, 6000, 2, 0}; // second bid changed
  book_record ra;
  book_record rb;
  ra.assign(a, 10, info, scratch);
  rb.assign(b, 10, info, scratch);
  std::string msg;
  encode_book_message(msg, "book.SIM:T.10", &ra, rb, {}, info);
  const auto m = json::parse(msg).as_object();
  ASSERT_EQ(m.at("bids").as_array().size(), 1U) << msg;
  EXPECT_EQ(m.at("bids").as_array()[0].as_array()[0].as_string(), "99.90");
  EXPECT_EQ(m.at("bids").as_array()[0].as_array()[1].as_string(), "6.000");
  EXPECT_TRUE(m.at("asks").as_array().empty()) << msg;
  // The documented text of b: "100.00:5.000,99.90:6.000|100.10:1.000".
  const std::string text = "100.00:5.000,99.90:6.000|100.10:1.000";
  EXPECT_EQ(rb.checksum, static_cast<std::uint32_t>(::crc32(0L, reinterpret_cast<const Bytef*>(text.data()),
                                                            static_cast<uInt>(text.size()))));
}

TEST(BookHistory, HoldsTheLastRecordsOnly) {
  book_history h;
  EXPECT_EQ(h.newest(), nullptr);
  EXPECT_EQ(h.find(0), nullptr);
  EXPECT_EQ(h.find(1), nullptr);
  for (std::uint64_t i = 1; i <= book_history::kCapacity + 5; ++i) {
    h.prepare().version = i * 10;
    h.commit();
    ASSERT_EQ(h.newest()->rec, i);
    ASSERT_EQ(h.newest()->version, i * 10);
  }
  const std::uint64_t last = book_history::kCapacity + 5;
  EXPECT_EQ(h.find(last + 1), nullptr);
  EXPECT_EQ(h.find(5), nullptr); // overwritten
  ASSERT_NE(h.find(6), nullptr);
  EXPECT_EQ(h.find(6)->version, 60U);
  EXPECT_EQ(h.after(6)->rec, 7U);
  EXPECT_EQ(h.after(last), nullptr);
}

} // namespace
} // namespace mdgw
