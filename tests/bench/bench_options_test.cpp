// mdgw-bench's command line: URLs, the checks that stop a run before it starts, and the
// channel plan (mix spec spread round-robin over the instrument list).
#include "bench_options.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace mdgw::bench {
namespace {

bench_options parse(std::vector<const char*> args) {
  args.insert(args.begin(), "mdgw-bench");
  bool help = false;
  return parse_options(int(args.size()), args.data(), help);
}

TEST(BenchOptions, ParsesUrls) {
  const target_url a = parse_url("ws://127.0.0.1:8443/ws");
  EXPECT_FALSE(a.tls);
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 8443);
  EXPECT_EQ(a.path, "/ws");
  const target_url b = parse_url("wss://localhost");
  EXPECT_TRUE(b.tls);
  EXPECT_EQ(b.port, 443);
  EXPECT_EQ(b.path, "/");
  const target_url c = parse_url("ws://[::1]:9000/x?y=1");
  EXPECT_EQ(c.host, "::1");
  EXPECT_EQ(c.port, 9000);
  EXPECT_EQ(c.path, "/x?y=1");
  EXPECT_THROW((void)parse_url("http://x/"), std::invalid_argument);
  EXPECT_THROW((void)parse_url("ws://:80/"), std::invalid_argument);
  EXPECT_THROW((void)parse_url("ws://h:99999/"), std::invalid_argument);
}

TEST(BenchOptions, ParsesAFullCommandLine) {
  const bench_options o = parse({"--url", "wss://127.0.0.1:8443/ws", "--connections", "100", "--ramp-per-s", "50",
                                 "--channels", "book.SIM:AAPL.10,ticker.SIM:AAPL", "--duration", "2.5", "--threads",
                                 "4", "--messages", "1000", "--json", "-", "--quiet", "--oldest-field", "t_old"});
  EXPECT_TRUE(o.url.tls);
  EXPECT_EQ(o.connections, 100);
  EXPECT_DOUBLE_EQ(o.ramp_per_s, 50);
  EXPECT_EQ(o.channels, (std::vector<std::string>{"book.SIM:AAPL.10", "ticker.SIM:AAPL"}));
  EXPECT_DOUBLE_EQ(o.duration_s, 2.5);
  EXPECT_EQ(o.threads, 4);
  EXPECT_EQ(o.max_messages, 1000u);
  EXPECT_EQ(o.json_file, "-");
  EXPECT_TRUE(o.quiet);
  EXPECT_EQ(o.keys.oldest().text, "\"t_old\":");
  EXPECT_TRUE(o.keys.look_for_oldest);
}

TEST(BenchOptions, RejectsBadUsage) {
  EXPECT_THROW(parse({"--channels", "book.SIM:AAPL.10"}), std::invalid_argument);        // no --url
  EXPECT_THROW(parse({"--url", "ws://h:1/"}), std::invalid_argument);                      // nothing to subscribe
  EXPECT_THROW(parse({"--url", "ws://h:1/", "--idle", "--books", "1"}), std::invalid_argument);  // idle subscribes nothing
  EXPECT_FALSE(parse({"--url", "ws://h:1/", "--idle"}).books);
  EXPECT_EQ(parse({"--url", "ws://h:1/", "--idle", "--warmup", "2.5"}).warmup_s, 2.5);
  EXPECT_THROW(parse({"--url", "ws://h:1/", "--idle", "--warmup", "-1"}), std::invalid_argument);
  EXPECT_THROW(parse({"--url", "ws://h:1/", "--books", "x"}), std::invalid_argument);
  EXPECT_THROW(parse({"--url", "ws://h:1/", "--books", "1", "--connections", "0"}), std::invalid_argument);
  EXPECT_THROW(parse({"--url", "ws://h:1/", "--books", "1", "--bogus"}), std::invalid_argument);
  EXPECT_THROW(parse({"--url", "ws://h:1/", "--books"}), std::invalid_argument);
  // More threads than connections: one thread per connection.
  EXPECT_EQ(parse({"--url", "ws://h:1/", "--books", "1", "--connections", "2", "--threads", "8"}).threads, 2);
}

TEST(BenchOptions, PlansTheMixRoundRobinOverInstruments) {
  const bench_options o =
      parse({"--url", "ws://h:1/", "--channels", "book.SIM:X.1", "--books", "2", "--depth", "5", "--tickers", "1"});
  EXPECT_TRUE(needs_instruments(o));
  const std::vector<std::string> syms =
      parse_symbols("[{\"symbol\":\"SIM:A\",\"venue\":\"SIM\"},{\"symbol\":\"SIM:B\"},{\"symbol\":\"SIM:C\"}]");
  ASSERT_EQ(syms, (std::vector<std::string>{"SIM:A", "SIM:B", "SIM:C"}));
  EXPECT_EQ(plan_channels(o, syms, 0),
            (std::vector<std::string>{"book.SIM:X.1", "book.SIM:A.5", "book.SIM:B.5", "ticker.SIM:A"}));
  EXPECT_EQ(plan_channels(o, syms, 1),
            (std::vector<std::string>{"book.SIM:X.1", "book.SIM:C.5", "book.SIM:A.5", "ticker.SIM:B"}));
  // Never the same channel twice on one connection, even when asking for more than exist.
  const bench_options many = parse({"--url", "ws://h:1/", "--books", "10"});
  EXPECT_EQ(plan_channels(many, syms, 0).size(), 3u);
}

}  // namespace
}  // namespace mdgw::bench
