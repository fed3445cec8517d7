#include "host_cpu.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace mdgw::bench {
namespace {

TEST(HostCpu, ReadsStealAndTheTotalFromTheAggregateLine) {
  // A line as this machine's kernel writes it, with the per-CPU lines after it.
  const auto t = parse_cpu_ticks("cpu  109348 0 29621 2773406 1498 0 8617 5528 0 0\n"
                                 "cpu0 55471 0 13999 1387124 263 0 5765 1979 0 0\n");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->steal, 5528U);
  // user nice system idle iowait irq softirq steal; guest and guest_nice are inside user and nice.
  EXPECT_EQ(t->total, 109348U + 29621U + 2773406U + 1498U + 8617U + 5528U);
}

TEST(HostCpu, AnOldKernelsLineHasNoSteal) {
  const auto t = parse_cpu_ticks("cpu  10 20 30 40 5 6 7\n");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->steal, 0U);
  EXPECT_EQ(t->total, 118U);
}

TEST(HostCpu, AnythingElseIsNotRead) {
  EXPECT_FALSE(parse_cpu_ticks("").has_value());
  EXPECT_FALSE(parse_cpu_ticks("cpu0 1 2 3 4 5 6 7 8\n").has_value()); // a per-CPU line
  EXPECT_FALSE(parse_cpu_ticks("cpu  1 2 3\n").has_value());           // too few values
  EXPECT_FALSE(parse_cpu_ticks("cpu  1 2 x 4 5 6 7 8\n").has_value());
  EXPECT_FALSE(parse_cpu_ticks("cpu  1 2 -3 4 5 6 7 8\n").has_value());
  EXPECT_FALSE(parse_cpu_ticks("intr 1 2 3 4 5\n").has_value());
}

TEST(HostCpu, StealShareIsStealOverAllTimeBetweenTwoReadings) {
  EXPECT_DOUBLE_EQ(steal_share({100, 1000}, {130, 1600}), 30.0 / 600.0);
  EXPECT_DOUBLE_EQ(steal_share({100, 1000}, {100, 1000}), 0.0); // no time passed
  EXPECT_DOUBLE_EQ(steal_share({0, 0}, {0, 0}), 0.0);           // /proc/stat unreadable
  EXPECT_DOUBLE_EQ(steal_share({100, 1000}, {90, 1100}), 0.0);  // not two readings of one machine
  EXPECT_DOUBLE_EQ(steal_share({100, 1000}, {0, 0}), 0.0);      // the second one unreadable
  EXPECT_DOUBLE_EQ(steal_share({0, 0}, {100, 1000}), 0.0);      // the first one unreadable
}

TEST(HostCpu, SpansAddUpAndTheirShareIsStealOverAll) {
  cpu_ticks sum;
  sum += ticks_between({100, 1000}, {130, 1600}); // 30 of 600
  sum += ticks_between({0, 0}, {100, 1000});      // an unreadable reading adds nothing
  sum += cpu_ticks{10, 400};
  EXPECT_EQ(sum, (cpu_ticks{40, 1000}));
  EXPECT_DOUBLE_EQ(steal_share(sum), 0.04);
  EXPECT_DOUBLE_EQ(steal_share(cpu_ticks{}), 0.0);
}

TEST(HostCpu, TheWarningIsGivenAboveTwoPercentOnly) {
  const auto printed = [](double share) {
    char buf[256] = {};
    std::FILE* f = fmemopen(buf, sizeof buf - 1, "w");
    warn_if_stolen(f, share, "parse+book", "the timed passes");
    std::fclose(f);
    return std::string(buf);
  };
  EXPECT_EQ(printed(0.02), "");
  EXPECT_EQ(printed(0.035), "# warning: parse+book: the host took 4% of this machine's CPU time (steal) during the "
                            "timed passes: its figures are not comparable\n");
}

TEST(HostCpu, TicksBetweenTwoReadingsAreTheirDifferenceOrNothing) {
  EXPECT_EQ(ticks_between({100, 1000}, {130, 1600}), (cpu_ticks{30, 600}));
  EXPECT_EQ(ticks_between({100, 1000}, {100, 1000}), (cpu_ticks{0, 0}));
  EXPECT_EQ(ticks_between({100, 1000}, {0, 0}), (cpu_ticks{0, 0}));     // no underflow
  EXPECT_EQ(ticks_between({0, 0}, {100, 1000}), (cpu_ticks{0, 0}));     // not a span of time
  EXPECT_EQ(ticks_between({100, 1000}, {90, 1100}), (cpu_ticks{0, 0}));
  EXPECT_EQ(ticks_between({100, 1000}, {400, 1100}), (cpu_ticks{0, 0})); // more steal than time
}

TEST(HostCpu, ThisMachinesTicksMoveForward) {
  const cpu_ticks a = read_cpu_ticks();
  ASSERT_GT(a.total, 0U) << "/proc/stat should be readable on Linux";
  volatile std::uint64_t spin = 0;
  cpu_ticks b = read_cpu_ticks();
  for (int i = 0; i < 1000 && b.total == a.total; ++i) {
    for (int k = 0; k < 1000000; ++k) spin = spin + 1;
    b = read_cpu_ticks();
  }
  EXPECT_GT(b.total, a.total);
  EXPECT_GE(b.steal, a.steal);
  const double s = steal_share(a, b);
  EXPECT_GE(s, 0.0);
  EXPECT_LE(s, 1.0);
}

}  // namespace
}  // namespace mdgw::bench
