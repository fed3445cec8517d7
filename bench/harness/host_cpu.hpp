// host_cpu: how much of this machine's CPU time its host took away (steal) while a
// benchmark ran, read from /proc/stat.
//
// Rationale
// - On a shared virtual machine a figure measured while the host ran other tenants is
//   not comparable with one measured while it did not; nothing in the figure says so.
//   The scenario runner (bench/scenarios.py) has warned on steal since 2026-12-01; the
//   C++ benchmarks (the ITCH replay, the micro-benchmarks, mdgw-bench alone) print it
//   too, with the same threshold, so that every figure in docs/performance.md can be
//   qualified by the run that produced it.
// - Only the aggregate "cpu" line is read: jiffies of all CPUs. steal is its 8th value
//   (user nice system idle iowait irq softirq steal); guest and guest_nice are already
//   inside user and nice, so the total is the sum of the first eight. A kernel whose line
//   has no steal column (before 2.6.11) reports 0.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string_view>

namespace mdgw::bench {

struct cpu_ticks {
  std::uint64_t steal = 0;
  std::uint64_t total = 0;
  friend bool operator==(const cpu_ticks&, const cpu_ticks&) = default;
  // Sums spans (ticks_between results), e.g. over a benchmark's passes.
  cpu_ticks& operator+=(const cpu_ticks& o) noexcept {
    steal += o.steal;
    total += o.total;
    return *this;
  }
};

// The ticks of the first line of /proc/stat's text (`cpu  user nice ...`); nullopt when
// that line is not an aggregate cpu line with at least four numbers.
[[nodiscard]] std::optional<cpu_ticks> parse_cpu_ticks(std::string_view proc_stat);
// This machine's ticks now; {0, 0} where /proc/stat cannot be read. Allocates nothing.
[[nodiscard]] cpu_ticks read_cpu_ticks();
// The ticks between two readings (after minus before); {0, 0} when they are not two
// readings of one machine in that order (one of them unreadable, say).
[[nodiscard]] cpu_ticks ticks_between(const cpu_ticks& before, const cpu_ticks& after);
// steal's share of all CPU time in a span of ticks (ticks_between), 0 when it is empty.
[[nodiscard]] double steal_share(const cpu_ticks& span);
// steal's share of all CPU time between two readings, 0 when no time passed.
[[nodiscard]] double steal_share(const cpu_ticks& before, const cpu_ticks& after);

// Steal above this share of a run's CPU time makes its figures not comparable
// (scenarios.py's STEAL_WARN).
inline constexpr double kStealWarn = 0.02;
// Above kStealWarn, prints the one warning every benchmark gives: "# warning: <what>: the
// host took N% of this machine's CPU time (steal) during <during>: ...".
void warn_if_stolen(std::FILE* out, double share, std::string_view what, std::string_view during);

}  // namespace mdgw::bench
