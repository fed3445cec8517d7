// Kraken v1 on the real capture: every published checksum must match, and the books
// must equal an independent reference built from the raw strings with Boost.JSON (a
// different parser, no integer conversion for the checksum text, boost::crc).
#include "kraken_handler.hpp"

#include "crypto_test_util.hpp"
#include "decimal.hpp"

#include <boost/crc.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace mdgw::crypto {
namespace {

using test::data_path;
using test::recording_sink;

// ---- independent reference: strings in, strings out ----

std::int64_t key_of(const std::string& price) {
  std::string digits;
  for (char c : price) {
    if (c != '.') digits += c;
  }
  return std::stoll(digits); // fixed decimals per pair: order preserving
}

std::string checksum_text(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c != '.') out += c;
  }
  out.erase(0, std::min(out.find_first_not_of('0'), out.size()));
  return out;
}

bool is_zero(const std::string& s) { return s.find_first_not_of("0.") == std::string::npos; }

struct ref_book {
  std::map<std::int64_t, std::pair<std::string, std::string>> asks, bids; // price -> (price, volume)
  std::size_t depth = 1000;

  void set(bool ask, const std::string& price, const std::string& vol) {
    auto& m = ask ? asks : bids;
    if (is_zero(vol)) {
      m.erase(key_of(price));
    } else {
      m[key_of(price)] = {price, vol};
    }
  }
  void truncate() {
    while (asks.size() > depth) asks.erase(std::prev(asks.end()));
    while (bids.size() > depth) bids.erase(bids.begin());
  }
  std::uint32_t checksum() const {
    std::string text;
    std::size_t n = 0;
    for (auto it = asks.begin(); it != asks.end() && n < 10; ++it, ++n) {
      text += checksum_text(it->second.first) + checksum_text(it->second.second);
    }
    n = 0;
    for (auto it = bids.rbegin(); it != bids.rend() && n < 10; ++it, ++n) {
      text += checksum_text(it->second.first) + checksum_text(it->second.second);
    }
    boost::crc_32_type crc;
    crc.process_bytes(text.data(), text.size());
    return crc.checksum();
  }
};

// Applies one book frame (array form) to the reference; returns the "c" it carried (or -1).
long long apply_reference(std::map<std::string, ref_book>& books, const boost::json::array& frame) {
  const std::string pair(frame.back().as_string());
  ref_book& b = books[pair];
  long long c = -1;
  for (std::size_t i = 1; i + 2 < frame.size(); ++i) {
    for (const auto& [key, value] : frame[i].as_object()) {
      if (key == "c") {
        c = std::stoll(std::string(value.as_string()));
        continue;
      }
      if (key == "as" || key == "bs") {
        (key == "as" ? b.asks : b.bids).clear();
      }
      for (const auto& lv : value.as_array()) {
        const auto& l = lv.as_array();
        b.set(key.starts_with("a"), std::string(l[0].as_string()), std::string(l[1].as_string()));
      }
    }
  }
  b.truncate();
  return c;
}

void expect_same_book(const crypto_instrument& in, const ref_book& ref) {
  ASSERT_EQ(in.book.depth(side::ask), ref.asks.size()) << in.info.symbol;
  ASSERT_EQ(in.book.depth(side::bid), ref.bids.size()) << in.info.symbol;
  std::size_t i = 0;
  for (auto it = ref.asks.begin(); it != ref.asks.end(); ++it, ++i) {
    const price_level& l = in.book.level(side::ask, i);
    std::int64_t qty = 0;
    ASSERT_EQ(parse_decimal(it->second.second, 8, qty), decimal_status::ok);
    ASSERT_EQ(l.price, it->first) << in.info.symbol << " ask " << i;
    ASSERT_EQ(l.qty, qty) << in.info.symbol << " ask " << i;
    ASSERT_EQ(l.orders, 0U); // not reported by Kraken
  }
  i = 0;
  for (auto it = ref.bids.rbegin(); it != ref.bids.rend(); ++it, ++i) {
    const price_level& l = in.book.level(side::bid, i);
    std::int64_t qty = 0;
    ASSERT_EQ(parse_decimal(it->second.second, 8, qty), decimal_status::ok);
    ASSERT_EQ(l.price, it->first) << in.info.symbol << " bid " << i;
    ASSERT_EQ(l.qty, qty) << in.info.symbol << " bid " << i;
  }
}

kraken_config capture_config() {
  kraken_config c;
  c.pairs = test::kraken_capture_pairs();
  return c;
}

// ---- the real capture ----

TEST(KrakenCapture, EveryChecksumMatches) {
  const capture cap = capture::load(data_path("kraken-book.ws"));
  kraken_handler h(capture_config());
  recording_sink sink;
  h.set_sink(&sink);
  const replay_stats st = replay(cap, h);

  const crypto_counters& c = h.counters();
  EXPECT_EQ(c.checks_ok, 1691U); // README: 1,691 checksummed updates
  EXPECT_EQ(c.checksum_mismatches, 0U);
  EXPECT_EQ(c.updates, 1691U);
  EXPECT_EQ(c.snapshots, 10U);
  EXPECT_EQ(c.bad_frames, 0U);
  EXPECT_EQ(c.resyncs, 0U);
  EXPECT_EQ(c.out_of_sync, 0U);
  EXPECT_EQ(c.truncated, 0U); // no pair reaches 1000 levels in this session
  EXPECT_EQ(st.count(frame_status::bad_frame), 0U);
  EXPECT_EQ(st.count(frame_status::mismatch), 0U);
  EXPECT_EQ(st.count(frame_status::ok) + st.count(frame_status::ignored), cap.frames());
  EXPECT_EQ(st.connects, 1U);
  EXPECT_EQ(cap.sent_lines(), 1U);
  EXPECT_EQ(cap.malformed_lines(), 0U);
  EXPECT_TRUE(sink.resyncs.empty());
  EXPECT_EQ(h.system_status(), "online");
  EXPECT_GT(h.last_heartbeat(), 0U);
  for (std::size_t i = 0; i < h.instrument_count(); ++i) {
    const crypto_instrument& in = h.instrument(i);
    EXPECT_EQ(in.quality, data_quality::ok) << in.info.symbol;
    EXPECT_EQ(h.depth(i), 1000U) << in.info.symbol;
    EXPECT_GT(in.book.depth(side::bid), 10U);
    EXPECT_GT(in.book.depth(side::ask), 10U);
    EXPECT_GT(in.exch_ts, 1'618'678'000'000'000'000ULL);
    EXPECT_EQ(in.info.symbol, "KRAKEN:" + in.venue_symbol);
  }
}

TEST(KrakenCapture, MatchesIndependentReferenceFrameByFrame) {
  const capture cap = capture::load(data_path("kraken-book.ws"));
  kraken_handler h(capture_config());
  std::map<std::string, ref_book> ref;
  std::size_t compared = 0;
  for (const capture_record& r : cap.records()) {
    if (r.what != capture_record::kind::frame) continue;
    const frame_status st = h.on_frame(r.body);
    ASSERT_TRUE(st == frame_status::ok || st == frame_status::ignored) << to_string(st);
    const boost::json::value v = boost::json::parse(std::string_view(r.body.data, r.body.size));
    if (!v.is_array()) continue;
    const boost::json::array& frame = v.as_array();
    const long long c = apply_reference(ref, frame);
    const std::string pair(frame.back().as_string());
    const std::size_t index = *h.find(pair);
    if (c >= 0) {
      // Kraken's value, the reference's (from the original strings) and the handler's
      // from-scratch value all agree after every update.
      ASSERT_EQ(ref[pair].checksum(), static_cast<std::uint32_t>(c)) << pair;
      ASSERT_EQ(h.checksum(index), static_cast<std::uint32_t>(c)) << pair;
      ++compared;
    }
  }
  EXPECT_EQ(compared, 1691U);
  for (std::size_t i = 0; i < h.instrument_count(); ++i) {
    expect_same_book(h.instrument(i), ref[h.instrument(i).venue_symbol]);
  }
}

// One altered volume inside the top 10 must be caught by the next checksum; the pair
// goes stale, asks for a resync, ignores its updates; the other pairs are unaffected.
TEST(KrakenCapture, CorruptedVolumeIsCaughtByChecksum) {
  const capture cap = capture::load(data_path("kraken-book.ws"));
  kraken_handler h(capture_config());
  recording_sink sink;
  h.set_sink(&sink);
  std::string corrupted_pair;
  std::size_t corrupted_index = 0;
  std::size_t skipped_after = 0;
  for (const capture_record& r : cap.records()) {
    if (r.what != capture_record::kind::frame) continue;
    const std::string_view json(r.body.data, r.body.size);
    if (corrupted_pair.empty() && json.find("\"c\":\"") != std::string_view::npos) {
      // First update whose first level is a non-zero volume inside its side's top 10.
      const boost::json::array frame = boost::json::parse(json).as_array();
      const std::string pair(frame.back().as_string());
      const std::size_t index = *h.find(pair);
      const auto& obj = frame[1].as_object();
      const bool ask = obj.contains("a");
      const auto& level = obj.at(ask ? "a" : "b").as_array()[0].as_array();
      const std::string price(level[0].as_string());
      const std::string vol(level[1].as_string());
      const level_book& book = h.instrument(index).book;
      const side s = ask ? side::ask : side::bid;
      std::int64_t p = 0;
      ASSERT_EQ(parse_decimal(price, h.instrument(index).info.price_scale, p), decimal_status::ok);
      const price_t tenth = book.level(s, 9).price;
      if (!is_zero(vol) && (ask ? p <= tenth : p >= tenth)) {
        std::string bad(json);
        const auto pos = bad.find(vol);
        ASSERT_NE(pos, std::string::npos);
        char& last = bad[pos + vol.size() - 1];
        last = last == '9' ? '8' : static_cast<char>(last + 1); // one unit of the last digit
        const frame_buffer fb(bad, r.body.recv_ts);
        EXPECT_EQ(h.on_frame(fb.frame()), frame_status::mismatch);
        corrupted_pair = pair;
        corrupted_index = index;
        EXPECT_EQ(h.instrument(index).quality, data_quality::stale);
        ASSERT_EQ(sink.resyncs.size(), 1U);
        EXPECT_EQ(sink.resyncs[0].first, index);
        EXPECT_EQ(sink.resyncs[0].second, resync_reason::checksum_mismatch);
        continue;
      }
    }
    const frame_status st = h.on_frame(r.body);
    if (!corrupted_pair.empty() && json.ends_with("\"" + corrupted_pair + "\"]") &&
        json.find("\"c\":\"") != std::string_view::npos) {
      EXPECT_EQ(st, frame_status::out_of_sync); // never applied to a wrong book
      ++skipped_after;
    } else {
      EXPECT_TRUE(st == frame_status::ok || st == frame_status::ignored) << to_string(st);
    }
  }
  ASSERT_FALSE(corrupted_pair.empty());
  const crypto_counters& c = h.counters();
  EXPECT_EQ(c.checksum_mismatches, 1U);
  EXPECT_EQ(c.resyncs, 1U);
  EXPECT_EQ(c.out_of_sync, skipped_after);
  EXPECT_EQ(c.checks_ok, 1691U - 1U - skipped_after);
  EXPECT_EQ(h.instrument(corrupted_index).quality, data_quality::stale);
  for (std::size_t i = 0; i < h.instrument_count(); ++i) {
    if (i != corrupted_index) {
      EXPECT_EQ(h.instrument(i).quality, data_quality::ok);
    }
  }
  // A fresh snapshot (here: the pair's original one) makes it usable again.
  for (const capture_record& r : cap.records()) {
    const std::string_view json(r.body.data, r.body.size);
    if (r.what == capture_record::kind::frame && json.find("\"as\":") != std::string_view::npos &&
        json.ends_with("\"" + corrupted_pair + "\"]")) {
      EXPECT_EQ(h.on_frame(r.body), frame_status::ok);
    }
  }
  EXPECT_EQ(h.instrument(corrupted_index).quality, data_quality::ok);
}

TEST(KrakenCapture, Trades) {
  const capture cap = capture::load(data_path("kraken-trade.ws"));
  kraken_handler h(capture_config());
  recording_sink sink;
  h.set_sink(&sink);
  const replay_stats st = replay(cap, h);
  EXPECT_EQ(st.count(frame_status::bad_frame), 0U);
  EXPECT_EQ(h.counters().trades, 10U);
  ASSERT_EQ(sink.trades.size(), 10U);
  // [993,[["354.11000000","0.89594024","1618678142.557535","s","l",""]],"trade","XMR/USD"]
  const auto& [index, t] = sink.trades[0];
  EXPECT_EQ(h.instrument(index).venue_symbol, "XMR/USD");
  EXPECT_EQ(t.price, 35'411'000'000);
  EXPECT_EQ(t.qty, 89'594'024);
  EXPECT_EQ(t.aggressor, side::ask);
  EXPECT_EQ(t.exch_ts, 1'618'678'142'557'535'000ULL);
  EXPECT_EQ(t.trade_seq, 1U);
  EXPECT_EQ(sink.trades[1].second.aggressor, side::bid);
  EXPECT_GE(h.counters().ignored, 30U); // heartbeats
  EXPECT_GT(h.last_heartbeat(), 0U);
}

// ---- synthetic frames: depth truncation, republish, bad input ----

std::string level_json(const std::string& p, const std::string& v, bool republish = false) {
  return "[\"" + p + "\",\"" + v + "\",\"1618678133.000001\"" + (republish ? ",\"r\"" : "") + "]";
}

class KrakenSynthetic : public ::testing::Test {
protected:
  KrakenSynthetic() : h_(make_config()) { h_.set_sink(&sink_); }

  static kraken_config make_config() {
    kraken_config c;
    instrument_config p;
    p.venue_symbol = "XBT/USD";
    p.price_scale = 1;
    p.qty_scale = 8;
    c.pairs.push_back(p);
    return c;
  }

  frame_status send(const std::string& json) { return h_.on_frame(frame_buffer(json).frame()); }

  // Sends an update, applying it to the reference first and attaching its checksum.
  frame_status update(bool ask, const std::string& p, const std::string& v, bool republish = false) {
    ref_.set(ask, p, v);
    ref_.truncate();
    return send("[42,{\"" + std::string(ask ? "a" : "b") + "\":[" + level_json(p, v, republish) + "],\"c\":\"" +
                std::to_string(ref_.checksum()) + "\"},\"book-10\",\"XBT/USD\"]");
  }

  // A fresh reference book of `depth` and the snapshot; returns the channel name.
  std::string start_at_depth(std::size_t depth) {
    ref_ = ref_book{};
    ref_.depth = depth;
    snapshot();
    return "book-" + std::to_string(depth);
  }

  void snapshot() {
    std::string as, bs;
    for (int i = 0; i < 10; ++i) {
      const std::string ap = std::to_string(50010 + i) + ".0";
      const std::string bp = std::to_string(50000 - i) + ".0";
      const std::string v = "1.0000000" + std::to_string(i);
      as += (i != 0 ? "," : "") + level_json(ap, v);
      bs += (i != 0 ? "," : "") + level_json(bp, v);
      ref_.set(true, ap, v);
      ref_.set(false, bp, v);
    }
    ASSERT_EQ(send("[42,{\"as\":[" + as + "],\"bs\":[" + bs + "]},\"book-10\",\"XBT/USD\"]"), frame_status::ok);
  }

  kraken_handler h_;
  recording_sink sink_;
  ref_book ref_ = [] {
    ref_book b;
    b.depth = 10;
    return b;
  }();
};

TEST_F(KrakenSynthetic, TruncatesToSubscribedDepthAndTakesRepublishedLevels) {
  ASSERT_EQ(send(R"({"channelID":42,"channelName":"book-10","event":"subscriptionStatus","pair":"XBT/USD",)"
                 R"("status":"subscribed","subscription":{"depth":10,"name":"book"}})"),
            frame_status::ok);
  EXPECT_EQ(h_.depth(0), 10U);
  snapshot();
  // A better bid pushes the worst (49991.0) out of the 10-level window: Kraken sends no
  // delete for it, the handler drops it itself.
  EXPECT_EQ(update(false, "50000.5", "2.00000000"), frame_status::ok);
  EXPECT_EQ(h_.instrument(0).book.depth(side::bid), 10U);
  EXPECT_EQ(h_.instrument(0).book.level(side::bid, 9).price, 499920);
  EXPECT_EQ(h_.counters().truncated, 1U);
  // The best bid goes: Kraken deletes it and re-sends the level now back in the window.
  EXPECT_EQ(update(false, "50000.5", "0.00000000"), frame_status::ok);
  EXPECT_EQ(update(false, "49991.0", "1.00000009", true), frame_status::ok);
  EXPECT_EQ(h_.instrument(0).book.depth(side::bid), 10U);
  EXPECT_EQ(h_.counters().republished, 1U);
  // Two objects in one frame (asks then bids), checksum in the last one.
  ref_.set(true, "50009.5", "0.50000000");
  ref_.set(false, "49999.5", "0.25000000");
  ref_.truncate();
  EXPECT_EQ(send("[42,{\"a\":[" + level_json("50009.5", "0.50000000") + "]},{\"b\":[" +
                 level_json("49999.5", "0.25000000") + "],\"c\":\"" + std::to_string(ref_.checksum()) +
                 "\"},\"book-10\",\"XBT/USD\"]"),
            frame_status::ok);
  EXPECT_EQ(h_.instrument(0).book.best(side::ask)->price, 500095);
  EXPECT_EQ(h_.counters().checks_ok, 4U);
  EXPECT_EQ(h_.checksum(0), ref_.checksum());
  EXPECT_TRUE(sink_.resyncs.empty());
}

// The "c" text as digits (leading zeros allowed) of at most 2^32 - 1, whatever its
// length: the word-at-a-time read of 8 to 10 digits and the loop for the others.
TEST_F(KrakenSynthetic, ChecksumTextReadExactly) {
  const auto with_c = [](const std::string& c) {
    return "[42,{\"a\":[" + level_json("50010.0", "2.00000000") + "],\"c\":\"" + c + "\"},\"book-10\",\"XBT/USD\"]";
  };
  snapshot();
  ref_.set(true, "50010.0", "2.00000000");
  const std::string c = std::to_string(ref_.checksum());
  for (std::size_t width : {c.size(), std::size_t{10}, std::size_t{12}}) {
    const std::string text = std::string(width - std::min(width, c.size()), '0') + c;
    EXPECT_EQ(send(with_c(text)), frame_status::ok) << text;
  }
  const std::uint64_t wrapped = ref_.checksum() + (std::uint64_t{1} << 32); // 10 digits, same low 32 bits
  for (const std::string& bad : {std::to_string(wrapped), std::string("4294967296"), c.substr(0, c.size() - 1) + "x",
                                std::string("12345678:"), std::string("1234567 8")}) {
    snapshot();
    EXPECT_EQ(send(with_c(bad)), frame_status::bad_frame) << bad;
  }
}

TEST_F(KrakenSynthetic, BadNumberMarksStaleAndChangesNothing) {
  snapshot();
  const std::uint64_t version = h_.instrument(0).version;
  const price_level best = *h_.instrument(0).book.best(side::bid);
  for (const char* bad : {"1e-5", "1.5.0", "", "abc", "99999999999999999999.00000000", "0.000000001"}) {
    const frame_status expected =
        h_.instrument(0).quality == data_quality::ok ? frame_status::bad_frame : frame_status::out_of_sync;
    EXPECT_EQ(send("[42,{\"b\":[" + level_json("50000.0", bad) + "],\"c\":\"1\"},\"book-10\",\"XBT/USD\"]"),
              expected)
        << bad;
    EXPECT_EQ(h_.instrument(0).quality, data_quality::stale);
  }
  EXPECT_EQ(*h_.instrument(0).book.best(side::bid), best); // nothing applied
  EXPECT_EQ(h_.instrument(0).version, version);
  ASSERT_EQ(sink_.resyncs.size(), 1U);
  EXPECT_EQ(sink_.resyncs[0].second, resync_reason::bad_update);
  EXPECT_EQ(h_.counters().bad_frames, 1U);
  EXPECT_EQ(h_.counters().out_of_sync, 5U);
}

TEST_F(KrakenSynthetic, WrongDecimalsAreRejectedNotGuessed) {
  // "50000.00" has two decimals but the pair is configured with one: the checksum text
  // could not be regenerated, so the snapshot is refused.
  EXPECT_EQ(send("[42,{\"as\":[" + level_json("50001.00", "1.00000000") + "],\"bs\":[" +
                 level_json("50000.00", "1.00000000") + "]},\"book-10\",\"XBT/USD\"]"),
            frame_status::bad_frame);
  EXPECT_NE(h_.instrument(0).quality, data_quality::ok);
}

TEST_F(KrakenSynthetic, MalformedFramesAreCounted) {
  for (const char* bad : {"", "[", "{\"event\":", "[42,{\"a\":[[1,2,3]]},\"book-10\",\"XBT/USD\"]", "[42,17,\"x\",\"y\",\"z\"]",
                          "null", "[42,{\"as\":[]},\"book-10\",\"NOPE/USD\"]"}) {
    const frame_status st = send(bad);
    EXPECT_TRUE(st == frame_status::bad_frame || st == frame_status::unknown_instrument) << bad << " " << to_string(st);
  }
  EXPECT_EQ(h_.counters().bad_frames, 7U);
  EXPECT_EQ(send(R"({"event":"heartbeat"})"), frame_status::ignored);
  EXPECT_EQ(send(R"({"event":"systemStatus","status":"maintenance","version":"1.8.3"})"), frame_status::ok);
  EXPECT_EQ(h_.system_status(), "maintenance");
}

// The cached checksum (per-level pieces, refreshed only where an update touched the top
// 10) against the reference's plain CRC of the whole text, over random updates: inserts,
// changes and deletes at and beyond the top 10, volumes of every length, one or two
// levels per frame, depth 10 (every insert truncates) and 25 (levels move in and out of
// the top 10).
TEST_F(KrakenSynthetic, CachedChecksumMatchesPlainCrcOverRandomUpdates) {
  std::mt19937_64 rng(2024);
  for (const std::size_t depth : {std::size_t{10}, std::size_t{25}}) {
    const std::string channel = start_at_depth(depth);
    const std::uint64_t checks_before = h_.counters().checks_ok;
    const auto random_level = [&](bool ask) {
      const int tick = static_cast<int>(rng() % 30);
      const int price = ask ? 50010 + tick : 50000 - tick;
      std::string p = std::to_string(price) + "." + std::to_string(rng() % 10);
      std::string v;
      if (rng() % 4 != 0) {
        v = std::to_string(rng() % (std::uint64_t{1} << (rng() % 34))) + ".";
        for (int k = 0; k < 8; ++k) v += static_cast<char>('0' + rng() % 10);
      } else {
        v = "0.00000000"; // a delete (of a level that may not exist)
      }
      ref_.set(ask, p, v);
      return level_json(p, v);
    };
    for (int i = 0; i < 3000; ++i) {
      const bool ask = rng() % 2 == 0;
      std::string levels = random_level(ask);
      if (rng() % 3 == 0) levels += "," + random_level(ask);
      ref_.truncate();
      ASSERT_EQ(send("[42,{\"" + std::string(ask ? "a" : "b") + "\":[" + levels + "],\"c\":\"" +
                     std::to_string(ref_.checksum()) + "\"}," + "\"" + channel + "\",\"XBT/USD\"]"),
                frame_status::ok)
          << "update " << i << " depth " << depth;
    }
    EXPECT_EQ(h_.counters().checks_ok - checks_before, 3000U);
    EXPECT_EQ(h_.checksum(0), ref_.checksum());
    expect_same_book(h_.instrument(0), ref_);
  }
  EXPECT_TRUE(sink_.resyncs.empty());
}

// The checksum pieces are kept in step with the book level by level (an update, an
// insert, a delete that pulls the next level into the top 10), also across frames that
// carry no "c" and frames that set a level to the volume it already has: each "c" sent
// equals the plain CRC of the reference book, at depths 10 and 25 over a 30-tick range
// (so the top 10 changes by inserts, deletes and in place, and levels come in from
// below it).
TEST_F(KrakenSynthetic, PiecesFollowTheBookAcrossFramesWithoutChecksum) {
  std::mt19937_64 rng(77);
  for (const std::size_t depth : {std::size_t{10}, std::size_t{25}}) {
    const std::string channel = start_at_depth(depth);
    const std::uint64_t checks_before = h_.counters().checks_ok;
    std::string last_p = "50000.0";
    std::string last_v = "1.00000000";
    bool last_ask = false;
    std::uint64_t sent_checks = 0;
    for (int i = 0; i < 4000; ++i) {
      bool ask = rng() % 2 == 0;
      std::string p;
      std::string v;
      if (rng() % 8 == 0) { // the last level again, same volume (a republish)
        ask = last_ask;
        p = last_p;
        v = last_v;
      } else {
        const int tick = static_cast<int>(rng() % 30);
        p = std::to_string(ask ? 50010 + tick : 50000 - tick) + "." + std::to_string(rng() % 3);
        v = rng() % 3 != 0 ? std::to_string(1 + rng() % 5000) + ".00000000" : "0.00000000";
      }
      ref_.set(ask, p, v);
      ref_.truncate();
      last_ask = ask;
      last_p = p;
      last_v = v;
      const bool with_c = rng() % 3 != 0;
      sent_checks += with_c ? 1 : 0;
      const std::string c = with_c ? ",\"c\":\"" + std::to_string(ref_.checksum()) + "\"" : "";
      ASSERT_EQ(send("[42,{\"" + std::string(ask ? "a" : "b") + "\":[" + level_json(p, v, rng() % 5 == 0) + "]" + c +
                     "}," + "\"" + channel + "\",\"XBT/USD\"]"),
                frame_status::ok)
          << "update " << i << " depth " << depth;
    }
    EXPECT_EQ(h_.counters().checks_ok - checks_before, sent_checks);
    EXPECT_EQ(h_.checksum(0), ref_.checksum());
    expect_same_book(h_.instrument(0), ref_);
  }
  EXPECT_TRUE(sink_.resyncs.empty());
}

// ---- the symbol table (crypto_handler::find, find_in_frame) ----

// Symbols of 1 to 20 bytes, several sharing their first 8 or 16 bytes: each is found
// by its exact spelling, read from a frame (the word loads over the frame's padding)
// and given as a string (the copying path); one byte more, less or different is not.
TEST(KrakenSymbols, EverySymbolFoundExactlyFromFramesAndStrings) {
  const std::string base = "ABCDEFGHIJKLMNOPQRST";
  std::vector<std::string> names;
  for (std::size_t n = 1; n <= base.size(); ++n) names.push_back(base.substr(0, n));
  names.push_back("ABCDEFGHIJKLMNOPQRSX"); // differs from a 20-byte one in its last byte
  names.push_back("ABCDEFGX");             // in byte 8 of 8
  names.push_back("ABCDEFGHIJKLMNOX");     // in byte 16 of 16
  kraken_config c;
  for (const std::string& n : names) c.pairs.push_back({n, 1, 8, 1, 1});
  kraken_handler h(c);
  for (std::size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(h.find(names[i]), i) << names[i];
    // A snapshot frame naming the pair: applied to that instrument's book only.
    const std::string price = std::to_string(100 + i) + ".0";
    ASSERT_EQ(h.on_frame(frame_buffer("[1,{\"as\":[" + level_json(price, "1.00000000") + "],\"bs\":[]},\"book-10\",\"" +
                                      names[i] + "\"]")
                             .frame()),
              frame_status::ok)
        << names[i];
    ASSERT_EQ(h.instrument(i).book.depth(side::ask), 1U) << names[i];
    EXPECT_EQ(h.instrument(i).book.level(side::ask, 0).price, static_cast<price_t>(1000 + 10 * i)) << names[i];
  }
  for (const std::string& absent : {std::string("ABCDEFGHIJKLMNOPQRSTU"), std::string("ABCDEFGY"),
                                    std::string("ABCDEFGHIJKLMNOY"), std::string("XBCDEFGHIJKLMNOPQRST"),
                                    std::string("B"), std::string()}) {
    EXPECT_FALSE(h.find(absent)) << absent;
    EXPECT_EQ(h.on_frame(frame_buffer("[1,{\"as\":[" + level_json("1.0", "1.00000000") + "],\"bs\":[]},\"book-10\",\"" +
                                      absent + "\"]")
                             .frame()),
              frame_status::unknown_instrument)
        << absent;
  }
  EXPECT_THROW(kraken_handler(kraken_config{{{"ABCDEFGHIJKLMNOPQ", 1, 8, 1, 1}, {"ABCDEFGHIJKLMNOPQ", 1, 8, 1, 1}}, 10}),
               std::invalid_argument);
}

} // namespace
} // namespace mdgw::crypto
