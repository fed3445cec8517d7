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
