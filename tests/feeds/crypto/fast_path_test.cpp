// The handlers read frames with a strict scanner first and fall back to simdjson's DOM
// when it declines (feeds/crypto/json_util.hpp). The claim is that this changes nothing:
// a handler with the scanner and one without it (set_fast_json(false): every frame
// through the DOM) must agree on every frame status, every sink call, every counter
// and every book. Proven on every record of the captures, then on thousands of
// mutilated frames (truncated, one byte replaced, a blank inserted, odd bytes in the
// padding) where the two parsers' edge cases would part if the scanner were wrong.
#include "binance_handler.hpp"
#include "coinbase_handler.hpp"
#include "json_util.hpp"
#include "kraken_handler.hpp"

#include "crypto_test_util.hpp"

#include <gtest/gtest.h>

#include <charconv>
#include <fstream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace mdgw::crypto {
namespace {

using test::data_path;

// Every sink call as text, in order.
struct log_sink final : crypto_sink {
  void on_book(std::size_t index) override { log.push_back("book " + std::to_string(index)); }
  void on_trade(std::size_t index, const trade_print& t) override {
    log.push_back("trade " + std::to_string(index) + " " + std::to_string(static_cast<int>(t.aggressor)) + " " +
                  std::to_string(t.price) + " " + std::to_string(t.qty) + " " + std::to_string(t.trade_seq) + " " +
                  std::to_string(t.exch_ts) + " " + std::to_string(t.recv_ts));
  }
  void on_resync(std::size_t index, resync_reason why) override {
    log.push_back("resync " + std::to_string(index) + " " + to_string(why));
  }
  std::vector<std::string> log;
};

void expect_same_counters(const crypto_counters& a, const crypto_counters& b) {
  EXPECT_EQ(a.frames, b.frames);
  EXPECT_EQ(a.snapshots, b.snapshots);
  EXPECT_EQ(a.updates, b.updates);
  EXPECT_EQ(a.levels, b.levels);
  EXPECT_EQ(a.trades, b.trades);
  EXPECT_EQ(a.ignored, b.ignored);
  EXPECT_EQ(a.bad_frames, b.bad_frames);
  EXPECT_EQ(a.checks_ok, b.checks_ok);
  EXPECT_EQ(a.checksum_mismatches, b.checksum_mismatches);
  EXPECT_EQ(a.sequence_gaps, b.sequence_gaps);
  EXPECT_EQ(a.ticker_mismatches, b.ticker_mismatches);
  EXPECT_EQ(a.resyncs, b.resyncs);
  EXPECT_EQ(a.dropped_old, b.dropped_old);
  EXPECT_EQ(a.buffered, b.buffered);
  EXPECT_EQ(a.out_of_sync, b.out_of_sync);
  EXPECT_EQ(a.unknown_deletes, b.unknown_deletes);
  EXPECT_EQ(a.truncated, b.truncated);
  EXPECT_EQ(a.republished, b.republished);
  EXPECT_EQ(a.unchecked_tickers, b.unchecked_tickers);
}

bool same_books(const crypto_handler& a, const crypto_handler& b) {
  for (std::size_t i = 0; i < a.instrument_count(); ++i) {
    const crypto_instrument& x = a.instrument(i);
    const crypto_instrument& y = b.instrument(i);
    if (x.quality != y.quality || x.version != y.version || x.exch_ts != y.exch_ts || x.recv_ts != y.recv_ts ||
        x.trade_seq != y.trade_seq) {
      return false;
    }
    for (const side s : {side::bid, side::ask}) {
      if (x.book.depth(s) != y.book.depth(s)) return false;
      for (std::size_t k = 0; k < x.book.depth(s); ++k) {
        if (!(x.book.level(s, k) == y.book.level(s, k))) return false;
      }
    }
  }
  return true;
}

// Two handlers fed the same input: `fast` reads with the scanner, `ref` with the DOM.
template <class Handler>
struct twin {
  template <class Config>
  explicit twin(const Config& c) : fast(c), ref(c) {
    ref.set_fast_json(false);
    fast.set_sink(&fast_log);
    ref.set_sink(&ref_log);
  }

  // Both see the record; false (and a test failure) when they disagree on its status.
  bool feed(const capture_record& r) {
    frame_status a = frame_status::ok;
    frame_status b = frame_status::ok;
    switch (r.what) {
    case capture_record::kind::frame:
      a = fast.on_frame(r.body);
      b = ref.on_frame(r.body);
      break;
    case capture_record::kind::rest:
      a = fast.on_rest(r.url, r.body);
      b = ref.on_rest(r.url, r.body);
      break;
    case capture_record::kind::connect:
      fast.on_connect();
      ref.on_connect();
      break;
    }
    ++fed;
    EXPECT_EQ(to_string(a), std::string(to_string(b))) << std::string_view(r.body.data, r.body.size);
    return a == b;
  }

  void expect_same() {
    expect_same_counters(fast.counters(), ref.counters());
    EXPECT_EQ(fast_log.log, ref_log.log);
    EXPECT_TRUE(same_books(fast, ref));
  }

  Handler fast;
  Handler ref;
  log_sink fast_log;
  log_sink ref_log;
  std::size_t fed = 0;
};

// One frame's mutilations, each in its own buffer with `fill` bytes as its padding.
class variants {
public:
  explicit variants(std::string_view json) : json_(json) {}

  template <class F>
  void each(F&& f) const {
    static constexpr std::string_view kBytes = "\"\\,:]}[{0-.eE9 \x01\x7f\x80\xc3xn";
    static constexpr std::string_view kFill = " \"0]}";
    std::size_t k = 0;
    const auto run = [&](const std::string& text) {
      std::string storage = text;
      storage.append(kFramePadding, kFill[k++ % kFill.size()]);
      f(padded_frame{storage.data(), text.size(), 1});
    };
    for (std::size_t n = 0; n < json_.size(); ++n) run(std::string(json_.substr(0, n)));
    for (std::size_t i = 0; i < json_.size(); ++i) {
      for (const char c : kBytes) {
        if (json_[i] == c) continue;
        std::string s(json_);
        s[i] = c;
        run(s);
      }
      std::string s(json_);
      s.insert(i, 1, ' ');
      run(s);
    }
    run(std::string(json_) + " \n");
  }

private:
  std::string_view json_;
};

// Every record of a capture, in order; then the same frames again, mutilated.
template <class Handler, class Config, class Pick, class Heal>
void differential(const Config& config, const capture& cap, Pick&& pick, Heal&& heal) {
  twin<Handler> t(config);
  for (const capture_record& r : cap.records()) {
    if (!t.feed(r)) break;
  }
  t.expect_same();
  const std::size_t whole = t.fast.counters().frames;
  EXPECT_GT(whole, 0U);

  std::size_t mutants = 0;
  for (const capture_record& r : cap.records()) {
    if (r.what != capture_record::kind::frame || !pick(r)) continue;
    variants(std::string_view(r.body.data, r.body.size)).each([&](const padded_frame& f) {
      capture_record m = r;
      m.body = f;
      ASSERT_TRUE(t.feed(m));
      heal(t);
      ++mutants;
    });
    t.expect_same();
    if (::testing::Test::HasFailure()) return;
  }
  EXPECT_GT(mutants, 1000U);
}

bool has(const capture_record& r, std::string_view what) {
  return std::string_view(r.body.data, r.body.size).find(what) != std::string_view::npos;
}

// The first `per_kind` frames (under 400 bytes: mutilated byte by byte) containing each
// marker: one of every frame kind the handler reads.
auto first_of_each(std::vector<std::string> markers, std::size_t per_kind) {
  std::vector<std::size_t> seen(markers.size());
  return [markers = std::move(markers), seen = std::move(seen), per_kind](const capture_record& r) mutable {
    if (r.body.size >= 400) return false;
    for (std::size_t k = 0; k < markers.size(); ++k) {
      if (seen[k] < per_kind && has(r, markers[k])) {
        ++seen[k];
        return true;
      }
    }
    return false;
  };
}

// A frame the test writes itself, with padding.
capture_record frame_record(const std::string& storage, std::size_t size) {
  capture_record r;
  r.body = padded_frame{storage.data(), size, 1};
  return r;
}

// The scanner's integer against the grammar written out: 1 to 19 digits, no leading
// zero, not followed by '.', 'e' or 'E', value as from_chars. Runs of 1 to 24 digits,
// every byte that may follow (digits past the frame's end in the padding included),
// the frame ending anywhere in or right after the digits.
TEST(fast_path, scanner_integer_equals_grammar) {
  std::mt19937_64 rng(5);
  const std::string followers = ",}] .eE0x\"";
  for (int i = 0; i < 100'000; ++i) {
    const std::size_t digits = 1 + rng() % 24;
    std::string text;
    for (std::size_t k = 0; k < digits; ++k) {
      const bool nonzero = k == 0 && rng() % 4 != 0; // a leading zero now and then
      text += static_cast<char>(nonzero ? '1' + rng() % 9 : '0' + rng() % 10);
    }
    text += followers[rng() % followers.size()];
    const std::size_t size = rng() % 3 == 0 ? 1 + rng() % text.size() : text.size(); // the frame may end early
    // After 0 to 19 '[' (from 16 bytes into the frame on, the value is read with one
    // load ending at the digits), then the integer.
    const std::size_t before = rng() % 20;
    std::string buffer = std::string(before, '[') + text.substr(0, size) +
                         std::string(kFramePadding, static_cast<char>('0' + rng() % 10));
    json::scanner sc(buffer.data(), before + size);
    for (std::size_t k = 0; k < before; ++k) ASSERT_TRUE(sc.eat('['));
    json::scanner skipping = sc;
    std::uint64_t got = 7;
    const bool ok = sc.integer(got);
    ASSERT_EQ(skipping.skip_integer(), ok) << text.substr(0, size);
    ASSERT_EQ(skipping.pos(), sc.pos()) << text.substr(0, size);
    // The reference: the run of digits inside the frame.
    std::size_t n = 0;
    while (n < size && text[n] >= '0' && text[n] <= '9') ++n;
    const bool after_ok = n == size || (text[n] != '.' && text[n] != 'e' && text[n] != 'E');
    const bool want = n >= 1 && n <= 19 && !(text[0] == '0' && n > 1) && after_ok;
    ASSERT_EQ(ok, want) << text.substr(0, size);
    if (want) {
      std::uint64_t v = 0;
      std::from_chars(text.data(), text.data() + n, v);
      ASSERT_EQ(got, v) << text.substr(0, size);
      ASSERT_EQ(sc.pos(), buffer.data() + before + n);
    }
  }
}

TEST(fast_path, kraken_book_and_mutilations) {
  const capture cap = capture::load(data_path("kraken-book.ws"));
  kraken_config config;
  config.pairs = test::kraken_capture_pairs();
  config.default_depth = 1000;
  // A mutilated update usually breaks a checksum (and an intact one does not fit the
  // book left by the previous variant): the instrument goes stale. A one-level
  // snapshot brings it back cheaply, so every variant runs the update path again.
  std::vector<std::string> heal_text;
  for (const instrument_config& c : config.pairs) {
    const std::string zeros(static_cast<std::size_t>(c.price_scale), '0');
    heal_text.push_back(R"([1,{"as":[["2.)" + zeros + R"(","1.00000000","1618678133.000000"]],"bs":[["1.)" + zeros +
                        R"(","1.00000000","1618678133.000000"]]},"book-1000",")" + c.venue_symbol + "\"]" +
                        std::string(kFramePadding, ' '));
  }
  const auto heal = [&](twin<kraken_handler>& t) {
    for (std::size_t i = 0; i < t.fast.instrument_count(); ++i) {
      if (t.fast.instrument(i).quality == data_quality::ok && t.ref.instrument(i).quality == data_quality::ok) continue;
      t.feed(frame_record(heal_text[i], heal_text[i].size() - kFramePadding));
    }
  };
  differential<kraken_handler>(
      config, cap, first_of_each({"\"c\":\"", "},{", "heartbeat", "systemStatus", "subscriptionStatus"}, 2), heal);
}

TEST(fast_path, kraken_trades_and_mutilations) {
  const capture cap = capture::load(data_path("kraken-trade.ws"));
  kraken_config config;
  config.pairs = test::kraken_capture_pairs();
  differential<kraken_handler>(config, cap, first_of_each({"\"trade\"", "heartbeat"}, 3), [](twin<kraken_handler>&) {});
}

TEST(fast_path, binance_and_mutilations) {
  const capture cap = capture::load(data_path("binance-depth.ws"), data_path("binance-depth-snapshots.rest"));
  binance_config config;
  config.symbols = test::binance_capture_symbols();
  // Mutilated diffs break the update-id chain: a one-level REST snapshot of the symbol
  // at the id just before the diff's first (read from the unmutilated frame) lets the
  // next variant apply again.
  std::string heal_body;
  const auto heal = [&](twin<binance_handler>& t) {
    for (std::size_t i = 0; i < t.fast.instrument_count(); ++i) {
      if (t.fast.state(i) != binance_handler::sync_state::awaiting_snapshot &&
          t.ref.state(i) != binance_handler::sync_state::awaiting_snapshot) {
        continue;
      }
      capture_record r = frame_record(heal_body, heal_body.size() - kFramePadding);
      r.what = capture_record::kind::rest;
      const std::string url = "https://api.binance.com/api/v3/depth?symbol=" + t.fast.instrument(i).venue_symbol;
      r.url = url;
      t.feed(r);
    }
  };
  auto pick = first_of_each({"depthUpdate", "bookTicker", "aggTrade", "kline"}, 2);
  differential<binance_handler>(config, cap, [&](const capture_record& r) {
    if (!pick(r)) return false;
    const std::string_view body(r.body.data, r.body.size);
    const auto u = body.find("\"U\":");
    const std::string first = u == std::string_view::npos ? "1" : std::string(body.substr(u + 4, body.find(',', u) - u - 4));
    heal_body = R"({"lastUpdateId":)" + std::to_string(std::stoull(first) - 1) +
                R"(,"bids":[["0.00000001","1.00000000"]],"asks":[["90000.00000000","1.00000000"]]})" +
                std::string(kFramePadding, ' ');
    return true;
  }, heal);

  twin<binance_handler> t(config);
  const std::string small = R"({"lastUpdateId":499869749,"bids":[["0.35100000","100.00000000"]],"asks":[["0.35300000","5.00000000",[]]]})";
  variants(small).each([&](const padded_frame& f) {
    capture_record m;
    m.what = capture_record::kind::rest;
    m.url = "https://api.binance.com/api/v3/depth?symbol=NKNUSDT&limit=1000";
    m.body = f;
    ASSERT_TRUE(t.feed(m));
  });
  t.expect_same();
}

TEST(fast_path, coinbase_and_mutilations) {
  const capture cap = capture::load(data_path("coinbase-level2.ws"));
  std::ifstream in(data_path("coinbase-products.rest"));
  std::string line;
  std::getline(in, line);
  const auto rest = parse_rest_line(line);
  ASSERT_TRUE(rest.has_value());
  coinbase_config config{coinbase_products(rest->payload, test::coinbase_capture_products())};
  std::vector<const capture_record*> snapshots;
  for (const capture_record& r : cap.records()) {
    if (has(r, "\"type\":\"snapshot\"")) snapshots.push_back(&r);
  }
  const auto heal = [&](twin<coinbase_handler>& t) {
    for (std::size_t i = 0; i < t.fast.instrument_count(); ++i) {
      if (t.fast.instrument(i).quality == data_quality::ok && t.ref.instrument(i).quality == data_quality::ok) continue;
      for (const capture_record* s : snapshots) {
        if (has(*s, "\"" + t.fast.instrument(i).venue_symbol + "\"")) t.feed(*s);
      }
    }
  };
  differential<coinbase_handler>(config, cap, first_of_each({"l2update", "\"ticker\"", "\"match\"", "subscriptions"}, 1), heal);
}

} // namespace
} // namespace mdgw::crypto
