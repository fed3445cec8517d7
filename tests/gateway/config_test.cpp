#include "config.hpp"
#include "config_test_util.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace mdgw {
namespace {

TEST(Config, Defaults) {
  ::unsetenv("MDGW_PORT");
  auto c = parse_config({});
  EXPECT_EQ(c.port, 8443);
  EXPECT_GE(c.io_threads, 1U);
  EXPECT_EQ(c.max_message_bytes, 65536U);
  EXPECT_EQ(c.send_batch, 64U);
}

TEST(Config, SendBatch) {
  EXPECT_EQ(parse_config({"--send-batch", "0"}).send_batch, 0U); // off: one write per frame
  EXPECT_EQ(parse_config({"--send-batch=256"}).send_batch, 256U);
  EXPECT_NE(error_of({"--send-batch", "4097"}).find("--send-batch"), std::string::npos);
  EXPECT_NE(error_of({"--send-batch", "-1"}).find("--send-batch"), std::string::npos);
  EXPECT_NE(error_of({"--send-batch", "lots"}).find("--send-batch"), std::string::npos);
}

TEST(Config, FlagsAndEnv) {
  ::setenv("MDGW_PORT", "9001", 1);
  auto c = parse_config({"--io-threads", "3", "--sim-rate=max", "--sim-events", "1000"});
  EXPECT_EQ(c.port, 9001);
  EXPECT_EQ(c.io_threads, 3U);
  EXPECT_EQ(c.sim_rate, 0.0);
  EXPECT_EQ(c.sim_events, 1000U);
  EXPECT_EQ(parse_config({"--port", "7000"}).port, 7000); // a flag beats the environment
  ::setenv("MDGW_PORT", "nope", 1);
  EXPECT_NE(error_of({}).find("MDGW_PORT"), std::string::npos);
  ::unsetenv("MDGW_PORT");
}

TEST(Config, BadInputNamesTheField) {
  EXPECT_NE(error_of({"--port", "abc"}).find("--port"), std::string::npos);
  EXPECT_NE(error_of({"--port", "70000"}).find("--port"), std::string::npos);
  EXPECT_NE(error_of({"--io-threads", "0"}).find("--io-threads"), std::string::npos);
  EXPECT_NE(error_of({"--bogus"}).find("--bogus"), std::string::npos);
  EXPECT_NE(error_of({"--bogus", "1"}).find("--bogus"), std::string::npos);
  EXPECT_NE(error_of({"--sim-rate", "fast"}).find("--sim-rate"), std::string::npos);
  EXPECT_NE(error_of({"--port"}).find("--port"), std::string::npos);
  EXPECT_NE(error_of({"--cert", "a.pem"}).find("--key"), std::string::npos);
  EXPECT_NE(error_of({"stray"}).find("stray"), std::string::npos);
}

TEST(Config, RecordAndReplay) {
  auto c = parse_config({"--record", "out.rec"});
  EXPECT_EQ(c.record_file, "out.rec");
  EXPECT_TRUE(c.replay_file.empty());
  EXPECT_LT(c.replay_rate, 0.0); // the recorded pace
  EXPECT_FALSE(c.replay_loop);
  // --replay-loop takes no value; the replay alone is a feed.
  c = parse_config({"--sim-instruments", "0", "--replay", "in.rec", "--replay-loop", "--replay-rate", "20000"});
  EXPECT_EQ(c.replay_file, "in.rec");
  EXPECT_TRUE(c.replay_loop);
  EXPECT_EQ(c.replay_rate, 20000.0);
  EXPECT_EQ(parse_config({"--replay", "in.rec", "--replay-rate", "max"}).replay_rate, 0.0);
  EXPECT_EQ(parse_config({"--replay", "in.rec", "--replay-rate", "0"}).replay_rate, 0.0);
  EXPECT_LT(parse_config({"--replay", "in.rec", "--replay-rate", "recorded"}).replay_rate, 0.0);
  EXPECT_FALSE(parse_config({"--replay", "in.rec", "--replay-loop=false"}).replay_loop);
  EXPECT_NE(error_of({"--replay", "in.rec", "--replay-rate", "fast"}).find("--replay-rate"), std::string::npos);
  EXPECT_NE(error_of({"--replay", "in.rec", "--replay-rate", "-5"}).find("--replay-rate"), std::string::npos);
  EXPECT_NE(error_of({"--replay-rate", "100"}).find("--replay-rate given without --replay"), std::string::npos);
  EXPECT_NE(error_of({"--replay-loop"}).find("--replay-loop given without --replay"), std::string::npos);
  EXPECT_NE(error_of({"--record", ""}).find("--record"), std::string::npos);
  EXPECT_NE(error_of({"--replay", "a.rec", "--record", "a.rec"}).find("same file"), std::string::npos);
  EXPECT_NE(error_of({"--sim-instruments", "0"}).find("leaves no feed"), std::string::npos);
}

TEST(Config, File) {
  const std::string path = ::testing::TempDir() + "mdgw_config_test.conf";
  {
    std::ofstream f(path);
    f << "# comment\nport = 9100\n\nsim-instruments = 80\n";
  }
  auto c = parse_config({"--config", path});
  EXPECT_EQ(c.port, 9100);
  EXPECT_EQ(c.sim_instruments, 80U);
  {
    std::ofstream f(path);
    f << "port = 9100\nio-threads = many\n";
  }
  const std::string e = error_of({"--config", path});
  EXPECT_NE(e.find(":2:"), std::string::npos) << e;
  EXPECT_NE(e.find("--io-threads"), std::string::npos) << e;
  std::remove(path.c_str());
  EXPECT_NE(error_of({"--config", "/nonexistent/x.conf"}).find("--config"), std::string::npos);
}

} // namespace
} // namespace mdgw
