#include "capture.hpp"

#include "crypto_test_util.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>

namespace mdgw::crypto {
namespace {

TEST(CaptureLines, Kinds) {
  const ws_line f = parse_ws_line(R"(1618678134.045305: {"event":"heartbeat"})");
  EXPECT_EQ(f.kind, line_kind::frame);
  EXPECT_EQ(f.ts_ns, 1'618'678'134'045'305'000ULL);
  EXPECT_EQ(f.payload, R"({"event":"heartbeat"})");

  const ws_line c = parse_ws_line("wss://ws.kraken.com <-> 1618678132.3858151");
  EXPECT_EQ(c.kind, line_kind::connect);
  EXPECT_EQ(c.url, "wss://ws.kraken.com");
  EXPECT_EQ(c.ts_ns, 1'618'678'132'385'815'100ULL);

  const ws_line s = parse_ws_line(R"(wss://ws.kraken.com <- 1618678132.8253062: {"event":"subscribe"})");
  EXPECT_EQ(s.kind, line_kind::sent);
  EXPECT_EQ(s.payload, R"({"event":"subscribe"})");

  EXPECT_EQ(parse_ws_line("").kind, line_kind::blank);
  EXPECT_EQ(parse_ws_line("garbage").kind, line_kind::malformed);
  EXPECT_EQ(parse_ws_line("12x: {}").kind, line_kind::malformed);
  EXPECT_EQ(parse_ws_line("123: ").kind, line_kind::malformed);
  EXPECT_EQ(parse_ws_line("wss://x <~> 1").kind, line_kind::malformed);

  const auto r = parse_rest_line(R"(https://api.binance.com/api/v3/depth?symbol=NKNUSDT&limit=1000 -> 1633998512.320639: {"lastUpdateId":1})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->url, "https://api.binance.com/api/v3/depth?symbol=NKNUSDT&limit=1000");
  EXPECT_EQ(r->ts_ns, 1'633'998'512'320'639'000ULL);
  EXPECT_EQ(r->payload, R"({"lastUpdateId":1})");
  EXPECT_FALSE(parse_rest_line("configuration: {}"));
}

TEST(CaptureFiles, LoadAndMergeRestByTime) {
  const capture cap = capture::load(test::data_path("binance-depth.ws"), test::data_path("binance-depth-snapshots.rest"));
  EXPECT_EQ(cap.frames(), 265U);
  EXPECT_EQ(cap.malformed_lines(), 0U);
  std::size_t rest = 0, frames = 0;
  std::uint64_t last_rest = 0;
  for (const capture_record& r : cap.records()) {
    if (r.what == capture_record::kind::rest) {
      ++rest;
      EXPECT_GE(r.ts_ns, last_rest);
      last_rest = r.ts_ns;
    } else if (r.what == capture_record::kind::frame) {
      ++frames;
      // Frames are padded for the parser: the bytes behind each one are readable.
      EXPECT_EQ(r.body.data[r.body.size - 1], '}');
    }
  }
  EXPECT_EQ(rest, 4U);
  EXPECT_EQ(frames, 265U);
  EXPECT_EQ(cap.records().front().what, capture_record::kind::connect);
  EXPECT_THROW(capture::load("/nonexistent/file.ws"), std::runtime_error);
}

TEST(CaptureReplay, StopsWhenAsked) {
  const capture cap = capture::load(test::data_path("kraken-trade.ws"));
  std::atomic<bool> stop{true};
  struct counting final : crypto_handler {
    counting() : crypto_handler("X", {}) {}
    frame_status on_frame(const padded_frame&) override { return frame_status::ignored; }
  } h;
  replay_options opt;
  opt.stop = &stop;
  EXPECT_EQ(replay(cap, h, opt).records, 0U);
  stop = false;
  opt.speed = 1000.0; // recorded pace, 1000x: the 20 s session takes ~20 ms
  const replay_stats st = replay(cap, h, opt);
  EXPECT_EQ(st.records, cap.records().size());
  EXPECT_EQ(st.count(frame_status::ignored), cap.frames());
}

} // namespace
} // namespace mdgw::crypto
