// The message scan and what record_message counts, on messages written as the protocol
// (docs/protocol.md) specifies them: fields of v0 data messages, the v1 oldest-merged
// stamp when present, reply types, unreadable messages, per-kind sequence rules, and
// freshness measured from the oldest stamp with subscription snapshots left out.
#include "message_scan.hpp"
#include "stream_stats.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace mdgw::bench {
namespace {

std::string update(const std::string& channel, int64_t seq, int64_t ts_recv, const std::string& extra = "") {
  return "{\"channel\":\"" + channel + "\",\"kind\":\"update\",\"seq\":" + std::to_string(seq) +
         ",\"ts_exch\":1000,\"ts_recv\":" + std::to_string(ts_recv) + extra +
         ",\"bids\":[[\"187.4200\",\"300\",3]],\"asks\":[[\"187.4300\",\"100\",1]]}";
}

std::string data(int64_t ts_send, const std::vector<std::string>& updates) {
  std::string s = "{\"type\":\"data\",\"ts_send\":" + std::to_string(ts_send) + ",\"updates\":[";
  for (std::size_t i = 0; i < updates.size(); ++i) s += (i ? "," : "") + updates[i];
  return s + "]}";
}

TEST(MessageScan, ReadsEveryUpdateOfADataMessage) {
  const std::string m = data(1796016124183781450, {update("book.SIM:AAPL.10", 18342, 1796016124181574516),
                                                   update("book.SIM:A.B.5", 7, 1796016124181574000)});
  std::vector<update_view> got;
  int64_t ts_send = 0;
  const scan_keys keys;
  ASSERT_EQ(scan_message(m, keys, ts_send, [&](const update_view& u) { got.push_back(u); }), msg_type::data);
  EXPECT_EQ(ts_send, 1796016124183781450);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].channel, "book.SIM:AAPL.10");
  EXPECT_EQ(got[0].seq, 18342);
  EXPECT_EQ(got[0].ts_recv, 1796016124181574516);
  EXPECT_EQ(got[0].ts_oldest, -1);
  EXPECT_EQ(got[0].merged, 1);
  EXPECT_EQ(got[1].channel, "book.SIM:A.B.5");
  EXPECT_EQ(got[1].seq, 7);
}

TEST(MessageScan, FindsKeysAtTheEdgesAndSkipsLookAlikes) {
  const auto find = [](const char* b, const char* e, std::string_view k) { return scan_detail::find(b, e, make_key(k)); };
  const std::string s = "\"seq\":1,\"sequence\":2,\"xseq\":3,\"seq\":";
  const char* b = s.data();
  const char* e = b + s.size();
  EXPECT_EQ(find(b, e, "\"seq\":"), b);
  EXPECT_EQ(find(b + 1, e, "\"seq\":"), b + s.size() - 6);  // the last 6 bytes, not "sequence" or "xseq"
  EXPECT_EQ(find(b + 1, e - 1, "\"seq\":"), nullptr);
  EXPECT_EQ(find(b, b + 3, "\"seq\":"), nullptr);
  EXPECT_EQ(find(b, e, "\"channel\":\""), nullptr);
}

// find() looks 16 bytes at a time and hands long stretches without the key's anchor to
// memchr: every position of a key, in every length of text around it (look-alikes and
// anchors without the key included), must give what std::string_view::find gives.
TEST(MessageScan, FindAgreesWithStringFindAtEveryOffset) {
  std::mt19937_64 rng(11);
  const std::string_view keys[] = {"\"seq\":", "{\"channel\":\"", "\"ts_recv_oldest\":", "\"merged\":"};
  const std::string_view filler[] = {"[\"152.6000\",\"5100\",4],", "\"quality\":\"ok\",", "\"prev\":17,",
                                     "\"xseq\":3,", "\"ts_recv\":1,", "\"mergedx\":2,", "{\"channel\"", "0"};
  for (const std::string_view key : keys) {
    const key_pattern k = make_key(key);
    for (int len = 0; len < 400; ++len) {
      std::string s;
      while (s.size() < std::size_t(len)) s += filler[rng() % std::size(filler)];
      s.resize(std::size_t(len));
      for (const bool with_key : {false, true}) {
        std::string t = s;
        if (with_key) t.insert(rng() % (t.size() + 1), key);
        const std::size_t want = std::string_view(t).find(key);
        const char* b = t.data();
        const char* got = scan_detail::find(b, b + t.size(), k);
        ASSERT_EQ(got ? std::size_t(got - b) : std::string_view::npos, want) << key << " in " << t;
      }
    }
  }
}

TEST(MessageScan, ReadsIntegersOfEveryLength) {
  using scan_detail::read_uint;
  std::mt19937_64 rng(5);
  for (int len = 1; len <= 19; ++len) {
    for (int k = 0; k < 200; ++k) {
      std::string digits;
      for (int i = 0; i < len; ++i) digits += char('0' + (i == 0 && len > 1 ? 1 + rng() % 9 : rng() % 10));
      if (len == 19 && digits > "9223372036854775807") continue;  // over int64: covered below
      for (const std::string tail : {"", ",", "}", "]x"}) {
        const std::string t = digits + tail;
        ASSERT_EQ(read_uint(t.data(), t.data() + t.size()), std::stoll(digits)) << t;
      }
    }
  }
  auto read = [](const std::string& t) { return read_uint(t.data(), t.data() + t.size()); };
  EXPECT_EQ(read("9223372036854775807"), INT64_MAX);
  EXPECT_EQ(read("9223372036854775808"), -1);
  EXPECT_EQ(read("12345678901234567890"), -1);  // 20 digits
  EXPECT_EQ(read("1234567a9"), 1234567);
  EXPECT_EQ(read("-5"), -1);
  EXPECT_EQ(read(""), -1);
  const std::string t = "123456789";
  EXPECT_EQ(read_uint(t.data(), t.data() + 4), 1234);  // never reads past the end
}

TEST(MessageScan, UsesTheOldestMergedStampWhenPresent) {
  const std::string m = data(5000, {update("book.X.1", 3, 4000, ",\"ts_recv_oldest\":3500,\"merged\":4")});
  update_view got;
  int64_t ts_send = 0;
  scan_keys keys;
  ASSERT_EQ(scan_message(m, keys, ts_send, [&](const update_view& u) { got = u; }), msg_type::data);
  EXPECT_EQ(got.ts_recv, 4000);
  EXPECT_EQ(got.ts_oldest, 3500);
  EXPECT_EQ(got.merged, 4);
  keys.look_for_oldest = false;
  ASSERT_EQ(scan_message(m, keys, ts_send, [&](const update_view& u) { got = u; }), msg_type::data);
  EXPECT_EQ(got.ts_oldest, -1);
  EXPECT_EQ(got.merged, 1);
}

TEST(MessageScan, ClassifiesRepliesAndRejectsBrokenData) {
  const scan_keys keys;
  int64_t ts = 0;
  auto type = [&](const std::string& m) { return scan_message(m, keys, ts, [](const update_view&) {}); };
  EXPECT_EQ(type("{\"type\":\"subscribed\",\"id\":1,\"channels\":[\"book.SIM:AAPL.10\"]}"), msg_type::subscribed);
  EXPECT_EQ(type("{\"type\":\"unsubscribed\",\"id\":1,\"channels\":[]}"), msg_type::unsubscribed);
  EXPECT_EQ(type("{\"type\":\"error\",\"id\":1,\"code\":1004,\"message\":\"unknown symbol\"}"), msg_type::error);
  EXPECT_EQ(type("{\"type\":\"pong\",\"id\":3,\"ts\":1}"), msg_type::pong);
  EXPECT_EQ(type("{\"type\":\"status\"}"), msg_type::other);
  EXPECT_EQ(type("not json"), msg_type::bad);
  EXPECT_EQ(type("{\"type\":\"data\",\"updates\":[" + update("b.X.1", 1, 2) + "]}"), msg_type::bad);  // no ts_send
  EXPECT_EQ(type("{\"type\":\"data\",\"ts_send\":5,\"updates\":[]}"), msg_type::bad);                 // no update
  EXPECT_EQ(type("{\"type\":\"data\",\"ts_send\":5,\"updates\":[{\"channel\":\"b.X.1\",\"ts_recv\":2}]}"),
            msg_type::bad);  // no seq
  EXPECT_EQ(type("{\"type\":\"data\",\"ts_send\":5,\"updates\":[{\"channel\":\"b.X.1\",\"seq\":-1,\"ts_recv\":2}]}"),
            msg_type::bad);  // negative seq
  EXPECT_EQ(type("{\"type\":\"data\",\"ts_send\":99999999999999999999,\"updates\":[" + update("b.X.1", 1, 2) + "]}"),
            msg_type::bad);  // over int64
  EXPECT_EQ(type("{\"type\":\"data\",\"ts_send\":5,\"updates\":[{\"channel\":\"unterminated"), msg_type::bad);
}

struct recorder_fixture : ::testing::Test {
  scan_keys keys;
  channel_table table;
  run_stats stats;
  void SetUp() override { table.assign({"book.SIM:AAPL.10", "trades.SIM:AAPL"}); }
  msg_type rec(const std::string& m, int64_t recv) { return record_message(m, recv, keys, table, stats); }
};

TEST_F(recorder_fixture, BookSeqMaySkipButNeverGoBack) {
  EXPECT_EQ(rec(data(100, {update("book.SIM:AAPL.10", 10, 90)}), 200), msg_type::data);
  (void)rec(data(100, {update("book.SIM:AAPL.10", 15, 90)}), 200);  // conflated skip: fine
  EXPECT_EQ(stats.c.seq_errors, 0u);
  EXPECT_EQ(stats.c.seq_gaps, 0u);
  (void)rec(data(100, {update("book.SIM:AAPL.10", 15, 90)}), 200);  // repeated
  (void)rec(data(100, {update("book.SIM:AAPL.10", 14, 90)}), 200);  // backwards
  EXPECT_EQ(stats.c.seq_errors, 2u);
  EXPECT_EQ(stats.c.messages, 4u);
  EXPECT_EQ(stats.c.snapshots, 1u);
}

TEST_F(recorder_fixture, TradesSeqJumpsAreGaps) {
  for (const int64_t seq : {1, 2, 3, 7, 8, 8}) (void)rec(data(100, {update("trades.SIM:AAPL", seq, 90)}), 200);
  EXPECT_EQ(stats.c.seq_gaps, 1u);
  EXPECT_EQ(stats.c.seq_missing, 3u);  // 4, 5, 6
  EXPECT_EQ(stats.c.seq_errors, 1u);   // 8 twice
}

// Protocol v1 batches trades (first_seq..seq) and announces losses with notices that
// carry no stamps: the exact text mdgw's topic codec writes.
TEST_F(recorder_fixture, TradesBatchesLostAndResetNoticesAreCountedExactly) {
  const auto batch = [](int64_t first, int64_t last) {
    return "{\"channel\":\"trades.SIM:AAPL\",\"kind\":\"trades\",\"epoch\":77,\"first_seq\":" +
           std::to_string(first) + ",\"seq\":" + std::to_string(last) +
           ",\"ts_exch_oldest\":80,\"ts_recv_oldest\":85,\"ts_exch\":88,\"ts_recv\":90,\"merged\":" +
           std::to_string(last - first + 1) + ",\"trades\":[]}";
  };
  (void)rec(data(100, {batch(1, 4)}), 200);  // first update: the stream starts
  (void)rec(data(100, {batch(5, 9)}), 200);  // contiguous batch: no gap
  EXPECT_EQ(stats.c.seq_gaps, 0u);
  EXPECT_EQ(stats.c.seq_errors, 0u);
  EXPECT_EQ(stats.c.represented, 4u + 5u);
  const std::string lost =
      "{\"channel\":\"trades.SIM:AAPL\",\"kind\":\"lost\",\"epoch\":77,\"lost\":6,\"from_seq\":10,"
      "\"resume_seq\":16}";
  EXPECT_EQ(rec("{\"type\":\"data\",\"ts_send\":300,\"ts_exch_oldest\":300,\"ts_recv_oldest\":300,\"ts_exch\":300,"
                "\"ts_recv\":300,\"merged\":0,\"updates\":[" + lost + "," + batch(16, 20) + "]}",
                400),
            msg_type::data);
  EXPECT_EQ(stats.c.seq_gaps, 1u);
  EXPECT_EQ(stats.c.seq_missing, 6u);  // 10..15, as the notice says; 16 follows it
  EXPECT_EQ(stats.c.seq_errors, 0u);
  EXPECT_EQ(stats.c.bad_messages, 0u);
  const std::string reset =
      "{\"channel\":\"trades.SIM:AAPL\",\"kind\":\"reset\",\"epoch\":78,\"seq\":500,\"reason\":\"epoch\"}";
  (void)rec(data(500, {reset}), 600);
  (void)rec(data(500, {batch(501, 501)}), 600);
  EXPECT_EQ(stats.c.seq_gaps, 2u);
  EXPECT_EQ(stats.c.seq_errors, 0u);
  (void)rec(data(500, {batch(503, 503)}), 600);  // 502 silently missing: a gap
  EXPECT_EQ(stats.c.seq_gaps, 3u);
  EXPECT_EQ(stats.c.seq_missing, 7u);
  (void)rec(data(500, {batch(503, 504)}), 600);  // overlaps 503: an error
  EXPECT_EQ(stats.c.seq_errors, 1u);
  // A lost notice without its count cannot be read.
  EXPECT_EQ(rec(data(500, {"{\"channel\":\"trades.SIM:AAPL\",\"kind\":\"lost\",\"resume_seq\":9}"}), 600),
            msg_type::bad);
}

TEST(RunStats, RestartingTheMeasurementKeepsConnectsAndErrors) {
  run_stats s;
  s.c.messages = 5;
  s.c.bytes = 100;
  s.c.connects = 3;
  s.c.seq_gaps = 1;
  s.c.seq_missing = 7;
  s.c.bad_messages = 2;
  s.freshness.record(10);
  s.send_to_recv.record(10);
  s.connect.record(10);
  s.restart_measurement();
  EXPECT_EQ(s.c.messages, 0u);
  EXPECT_EQ(s.c.bytes, 0u);
  EXPECT_EQ(s.freshness.count(), 0u);
  EXPECT_EQ(s.send_to_recv.count(), 0u);
  EXPECT_EQ(s.c.connects, 3u);
  EXPECT_EQ(s.c.seq_gaps, 1u);
  EXPECT_EQ(s.c.seq_missing, 7u);
  EXPECT_EQ(s.c.errors(), 2u);
  EXPECT_EQ(s.connect.count(), 1u);
  // The gaps so far are the warm-up's; later ones count in the totals only.
  EXPECT_EQ(s.c.seq_gaps_warmup, 1u);
  EXPECT_EQ(s.c.seq_missing_warmup, 7u);
  s.c.seq_gaps += 2;
  s.c.seq_missing += 5;
  run_stats merged;
  merged.merge(s);
  merged.merge(s);
  EXPECT_EQ(merged.c.seq_gaps, 6u);
  EXPECT_EQ(merged.c.seq_gaps_warmup, 2u);
  EXPECT_EQ(merged.c.seq_missing_warmup, 14u);
}

TEST_F(recorder_fixture, FreshnessIsFromTheOldestStampAndSkipsSnapshots) {
  // The first update of each channel is the snapshot: send->recv counts, freshness not.
  (void)rec(data(1000, {update("book.SIM:AAPL.10", 1, 10), update("trades.SIM:AAPL", 1, 20)}), 1500);
  EXPECT_EQ(stats.freshness.count(), 0u);
  EXPECT_EQ(stats.send_to_recv.count(), 1u);
  EXPECT_EQ(stats.send_to_recv.max(), 500);
  // Oldest of the two updates: the book's v1 oldest stamp 700 (its ts_recv 900 is newer).
  (void)rec(data(1900, {update("book.SIM:AAPL.10", 2, 900, ",\"ts_recv_oldest\":700,\"merged\":3"),
                        update("trades.SIM:AAPL", 2, 800)}),
            2000);
  ASSERT_EQ(stats.freshness.count(), 1u);
  EXPECT_EQ(stats.freshness.max(), 1300);
  EXPECT_EQ(stats.send_to_recv.max(), 500);
  EXPECT_EQ(stats.c.updates, 4u);
  EXPECT_EQ(stats.c.represented, 1u + 1u + 3u + 1u);
  // A reconnect starts over: the next update is a snapshot again.
  table.reset_sequences();
  (void)rec(data(2900, {update("book.SIM:AAPL.10", 1, 2800)}), 3000);
  EXPECT_EQ(stats.c.seq_errors, 0u);
  EXPECT_EQ(stats.freshness.count(), 1u);
  EXPECT_EQ(stats.c.snapshots, 3u);
}

TEST_F(recorder_fixture, UnsubscribedChannelsAndRepliesAreCounted) {
  (void)rec(data(100, {update("book.SIM:MSFT.10", 1, 90)}), 200);
  EXPECT_EQ(stats.c.unknown_channel, 1u);
  (void)rec("{\"type\":\"error\",\"id\":1,\"code\":1004,\"message\":\"x\"}", 200);
  (void)rec("{\"type\":\"subscribed\",\"id\":1,\"channels\":[]}", 200);
  (void)rec("garbage", 200);
  EXPECT_EQ(stats.c.error_replies, 1u);
  EXPECT_EQ(stats.c.subscribed, 1u);
  EXPECT_EQ(stats.c.bad_messages, 1u);
  EXPECT_EQ(stats.c.errors(), 3u);
}

// Channels are looked up by a hash of their ends: names that share them (differing in the
// middle), near misses and many names must all resolve to their own entry.
TEST(ChannelTable, FindsEveryNameAndNothingElse) {
  std::vector<std::string> names;
  for (int i = 0; i < 300; ++i) names.push_back("book.SIM:S" + std::to_string(i) + "X.10");
  for (int i = 0; i < 40; ++i) names.push_back("book.SIM:LONGSYMBOL" + std::string(1, char('A' + i % 26)) +
                                               std::to_string(i / 26) + "MIDDLE.10");  // same first and last 8
  names.push_back("trades.SIM:AAPL");
  names.push_back("t.X");
  channel_table t;
  t.assign(names);
  ASSERT_EQ(t.size(), names.size());
  for (const auto& n : names) {
    channel_table::entry* e = t.find(n);
    ASSERT_NE(e, nullptr) << n;
    EXPECT_EQ(e->name, n);
    EXPECT_EQ(e->stream, n.starts_with("trades."));
  }
  for (const std::string_view miss : {"book.SIM:S300X.10", "book.SIM:S1X.1", "book.SIM:S1X.100", "t.Y", "", "t.",
                                      "book.SIM:LONGSYMBOLA0MIDDLE.1", "book.SIM:LONGSYMBOLZ9MIDDLE.10"})
    EXPECT_EQ(t.find(miss), nullptr) << miss;
  channel_table empty;
  EXPECT_EQ(empty.find("book.SIM:S1X.10"), nullptr);
}

TEST(RunStats, MergeAddsCountersAndHistograms) {
  run_stats a, b;
  a.c.messages = 3;
  a.c.disconnects = 1;
  a.freshness.record(100);
  b.c.messages = 4;
  b.c.seq_gaps = 2;
  b.freshness.record(300);
  a.merge(b);
  EXPECT_EQ(a.c.messages, 7u);
  EXPECT_EQ(a.c.seq_gaps, 2u);
  EXPECT_EQ(a.c.errors(), 1u);
  EXPECT_EQ(a.freshness.count(), 2u);
  EXPECT_EQ(a.freshness.max(), 300);
}

}  // namespace
}  // namespace mdgw::bench
