#include "protocol.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace mdgw::protocol {
namespace {

namespace json = boost::json;

std::string decimal(std::int64_t v, int scale) {
  std::string s;
  append_decimal(s, v, scale);
  return s;
}

TEST(Decimal, ExactFixedScale) {
  EXPECT_EQ(decimal(1874200, 4), "187.4200");
  EXPECT_EQ(decimal(1, 4), "0.0001");
  EXPECT_EQ(decimal(0, 2), "0.00");
  EXPECT_EQ(decimal(-100, 4), "-0.0100");
  EXPECT_EQ(decimal(300, 0), "300");
  EXPECT_EQ(decimal(123456789012345678, 8), "1234567890.12345678");
  EXPECT_EQ(decimal(INT64_MIN, 0), "-9223372036854775808");
}

TEST(Request, Subscribe) {
  auto r = parse_request(R"({"op":"subscribe","id":7,"channels":["book.SIM:AAPL.10","book.SIM:BRK.A.5"]})");
  ASSERT_TRUE(r.req);
  EXPECT_EQ(r.req->what, op::subscribe);
  EXPECT_EQ(r.req->id, 7U);
  ASSERT_EQ(r.req->channels.size(), 2U);
  EXPECT_EQ(r.req->channels[1].name, "book.SIM:BRK.A.5");
  EXPECT_FALSE(r.req->channels[1].max_rate);
}

TEST(Request, ChannelObjectsCarryOptions) {
  auto r = parse_request(R"({"op":"subscribe","id":1,"channels":[{"channel":"ticker.SIM:A","max_rate":4},
      {"channel":"book.SIM:A.5","interval_ms":250},{"channel":"trades.SIM:A","from_seq":17,"epoch":99}]})");
  ASSERT_TRUE(r.req) << r.err->message;
  ASSERT_EQ(r.req->channels.size(), 3U);
  EXPECT_EQ(r.req->channels[0].name, "ticker.SIM:A");
  EXPECT_DOUBLE_EQ(*r.req->channels[0].max_rate, 4.0);
  EXPECT_DOUBLE_EQ(*r.req->channels[1].interval_ms, 250.0);
  EXPECT_EQ(*r.req->channels[2].from_seq, 17U);
  EXPECT_EQ(*r.req->channels[2].epoch, 99U);
  auto l = parse_request(R"({"op":"list","id":2})");
  ASSERT_TRUE(l.req);
  EXPECT_EQ(l.req->what, op::list);
}

TEST(Request, BadOptionsAreRejectedWithTheirCode) {
  const char* cases[] = {
      R"({"op":"subscribe","id":1,"channels":[{"channel":"ticker.X","max_rate":0}]})",
      R"({"op":"subscribe","id":1,"channels":[{"channel":"ticker.X","max_rate":"fast"}]})",
      R"({"op":"subscribe","id":1,"channels":[{"channel":"ticker.X","interval_ms":-1}]})",
      R"({"op":"subscribe","id":1,"channels":[{"channel":"ticker.X","max_rate":1,"interval_ms":5}]})",
      R"({"op":"subscribe","id":1,"channels":[{"channel":"trades.X","from_seq":5}]})",
      R"({"op":"subscribe","id":1,"channels":[{"channel":"trades.X","from_seq":-5,"epoch":1}]})",
      R"({"op":"subscribe","id":1,"channels":[{"channel":"trades.X","colour":"red"}]})",
      R"({"op":"unsubscribe","id":1,"channels":[{"channel":"trades.X","max_rate":1}]})",
  };
  for (const char* c : cases) {
    auto r = parse_request(c);
    ASSERT_TRUE(r.err) << c;
    EXPECT_EQ(r.err->code, error_code::bad_option) << c;
    EXPECT_EQ(r.err->id, 1U) << c;
  }
  auto nochan = parse_request(R"({"op":"subscribe","id":3,"channels":[{"max_rate":1}]})");
  ASSERT_TRUE(nochan.err);
  EXPECT_EQ(nochan.err->code, error_code::bad_request);
}

TEST(Request, ErrorsCarryCodesAndIds) {
  struct tc {
    const char* text;
    error_code code;
    std::optional<std::uint64_t> id;
  };
  const tc cases[] = {
      {"{not json", error_code::bad_json, std::nullopt},
      {"[1,2]", error_code::bad_json, std::nullopt},
      {R"({"id":3})", error_code::unknown_op, 3},
      {R"({"op":"dance","id":4})", error_code::unknown_op, 4},
      {R"({"op":"subscribe","id":5})", error_code::bad_request, 5},
      {R"({"op":"subscribe","id":6,"channels":[]})", error_code::bad_request, 6},
      {R"({"op":"subscribe","id":7,"channels":[1]})", error_code::bad_request, 7},
      {R"({"op":"subscribe","id":-1,"channels":["book.X.1"]})", error_code::bad_request, std::nullopt},
      {R"({"op":"ping"})", error_code::bad_request, std::nullopt},
  };
  for (const auto& c : cases) {
    auto r = parse_request(c.text);
    ASSERT_TRUE(r.err) << c.text;
    EXPECT_FALSE(r.req);
    EXPECT_EQ(r.err->code, c.code) << c.text;
    EXPECT_EQ(r.err->id, c.id) << c.text;
    // The encoded error is valid JSON with the same code and id.
    auto v = json::parse(encode_error(*r.err)).as_object();
    EXPECT_EQ(v.at("type").as_string(), "error");
    EXPECT_EQ(v.at("code").to_number<int>(), static_cast<int>(c.code));
    if (c.id) EXPECT_EQ(v.at("id").to_number<std::uint64_t>(), *c.id);
    else EXPECT_TRUE(v.at("id").is_null());
  }
}

TEST(Channel, Parse) {
  auto ok = parse_channel("book.SIM:BRK.A.25");
  ASSERT_TRUE(ok.channel);
  EXPECT_EQ(ok.channel->symbol, "SIM:BRK.A");
  EXPECT_EQ(ok.channel->depth, 25);
  EXPECT_EQ(parse_channel("quotes.SIM:AAPL.5").code, error_code::unknown_channel);
  EXPECT_EQ(parse_channel("book.*.5").code, error_code::unknown_channel);
  EXPECT_EQ(parse_channel("trades.*").code, error_code::unknown_channel);
  EXPECT_EQ(parse_channel("ticker.").code, error_code::unknown_channel);
  auto t = parse_channel("trades.SIM:BRK.A");
  ASSERT_TRUE(t.channel);
  EXPECT_EQ(t.channel->kind, channel_kind::trades);
  EXPECT_EQ(t.channel->symbol, "SIM:BRK.A");
  auto w = parse_channel("ticker.*");
  ASSERT_TRUE(w.channel);
  EXPECT_TRUE(w.channel->wildcard());
  EXPECT_EQ(channel_name(channel_kind::status, "SIM:A", 0), "status.SIM:A");
  EXPECT_EQ(channel_name(channel_kind::book, "SIM:A", 10), "book.SIM:A.10");
  EXPECT_EQ(parse_channel("book.SIM:AAPL").code, error_code::unknown_channel);
  EXPECT_EQ(parse_channel("book..5").code, error_code::unknown_channel);
  EXPECT_EQ(parse_channel("book.SIM:AAPL.0").code, error_code::bad_depth);
  EXPECT_EQ(parse_channel("book.SIM:AAPL.51").code, error_code::bad_depth);
  EXPECT_EQ(parse_channel("book.SIM:AAPL.x").code, error_code::bad_depth);
  EXPECT_EQ(parse_channel("book.SIM:AAPL.5x").code, error_code::bad_depth);
  EXPECT_FALSE(parse_channel("book.SIM:AAPL.0").channel);
}

TEST(Encode, StampsAreTheirValuesWhateverTheRenderedTableHolds) {
  // Nanosecond stamps go through a per-thread table of rendered values: many values
  // that share slots, each seen more than once, must still come out as themselves.
  std::uint64_t x = 0x2545F4914F6CDD1Dull;
  std::vector<std::uint64_t> values;
  for (int i = 0; i < 5000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    values.push_back(i % 7 == 0 ? x % 1'000'000 : 1'700'000'000'000'000'000ull + x % 200'000'000'000'000'000ull);
  }
  for (int round = 0; round < 3; ++round) {
    for (std::size_t i = 0; i + 4 < values.size(); ++i) {
      std::string out = "{\"a\":1";
      append_stamps(out, values[i], values[i + 1], values[i + 2], values[i + 3], values[i + 4]);
      out += '}';
      const auto o = json::parse(out).as_object();
      ASSERT_EQ(o.at("ts_exch_oldest").to_number<std::uint64_t>(), values[i]) << out;
      ASSERT_EQ(o.at("ts_recv_oldest").to_number<std::uint64_t>(), values[i + 1]) << out;
      ASSERT_EQ(o.at("ts_exch").to_number<std::uint64_t>(), values[i + 2]) << out;
      ASSERT_EQ(o.at("ts_recv").to_number<std::uint64_t>(), values[i + 3]) << out;
      ASSERT_EQ(o.at("merged").to_number<std::uint64_t>(), values[i + 4]) << out;
      ASSERT_EQ(o.size(), 6U) << out;
    }
  }
}

TEST(Encode, BatchPrefixCarriesTheMergedStamps) {
  batch_stamps st;
  st.add(10, 20, 30, 40, 2);
  st.add(5, 15, 35, 45, 3);
  std::string batch;
  encode_batch_prefix(batch, 99, st);
  batch += "{}";
  batch += kBatchSuffix;
  auto b = json::parse(batch).as_object();
  EXPECT_EQ(b.at("type").as_string(), "data");
  EXPECT_EQ(b.at("ts_send").to_number<int>(), 99);
  EXPECT_EQ(b.at("ts_exch_oldest").to_number<int>(), 5);
  EXPECT_EQ(b.at("ts_recv_oldest").to_number<int>(), 15);
  EXPECT_EQ(b.at("ts_exch").to_number<int>(), 35);
  EXPECT_EQ(b.at("ts_recv").to_number<int>(), 45);
  EXPECT_EQ(b.at("merged").to_number<int>(), 5);
  EXPECT_EQ(b.at("updates").as_array().size(), 1U);
}

TEST(Encode, Replies) {
  auto ack = json::parse(encode_ack("subscribed", 9, {"book.A.1", "book.B.2"})).as_object();
  EXPECT_EQ(ack.at("type").as_string(), "subscribed");
  EXPECT_EQ(ack.at("id").to_number<int>(), 9);
  EXPECT_EQ(ack.at("channels").as_array().size(), 2U);
  grant g;
  g.channel = "trades.A";
  g.interval_ns = 250'000'000;
  g.trades = true;
  g.epoch = 7;
  g.next_seq = 12;
  g.resume = "replay";
  auto sub = json::parse(encode_subscribed(4, {g})).as_object();
  EXPECT_EQ(sub.at("channels").as_array().at(0).as_string(), "trades.A");
  const auto& gr = sub.at("granted").as_array().at(0).as_object();
  EXPECT_DOUBLE_EQ(gr.at("interval_ms").to_number<double>(), 250.0);
  EXPECT_DOUBLE_EQ(gr.at("max_rate").to_number<double>(), 4.0);
  EXPECT_EQ(gr.at("next_seq").to_number<int>(), 12);
  EXPECT_EQ(gr.at("resume").as_string(), "replay");
  auto pong = json::parse(encode_pong(5, 123)).as_object();
  EXPECT_EQ(pong.at("type").as_string(), "pong");
  EXPECT_EQ(pong.at("ts").to_number<int>(), 123);
}

} // namespace
} // namespace mdgw::protocol
