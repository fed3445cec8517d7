// The owed-rate schedule that paces a feed at R units per second (simulator actions,
// replayed source updates).
//
// Rationale: the schedule owes R * elapsed units; each 1 ms tick the feed produces what is
// owed. Owing rather than a fixed ceil(R * 1 ms) per tick keeps rates that are not
// multiples of 1000/s exact. The simulator forgives a backlog beyond 10 ms (the thread
// was descheduled) rather than producing it as one huge burst. A replay that drives a
// benchmark must not: an update skipped would flatter the gateway, so it catches up
// (forgive = false) and stamps each update with the time it was due (due_time).
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>

namespace mdgw {

class owed_rate {
public:
  using clock = std::chrono::steady_clock;
  static constexpr auto kTick = std::chrono::milliseconds(1);
  static constexpr double kMaxBacklogSeconds = 0.010;

  // rate > 0 units per second, owed from t0.
  owed_rate(double rate, clock::time_point t0, bool forgive = true) noexcept
      : rate_(rate),
        max_backlog_(static_cast<std::uint64_t>(std::max(1.0, std::ceil(rate * kMaxBacklogSeconds)))),
        forgive_(forgive),
        t0_(t0) {}

  // Units owed at `now` and not yet done (with forgive, a backlog beyond 10 ms is
  // forgiven for good).
  [[nodiscard]] std::uint64_t due(clock::time_point now) noexcept {
    const double elapsed = std::chrono::duration<double>(now - t0_).count();
    const auto owed = static_cast<std::uint64_t>(rate_ * elapsed);
    if (forgive_ && owed > done_ + forgiven_ + max_backlog_) forgiven_ = owed - done_ - max_backlog_;
    return owed > done_ + forgiven_ ? owed - done_ - forgiven_ : 0;
  }
  // When the next unit (the first not done) was or will be due.
  [[nodiscard]] clock::time_point due_time() const noexcept {
    return t0_ + std::chrono::duration_cast<clock::duration>(
                     std::chrono::duration<double>(static_cast<double>(done_ + forgiven_) / rate_));
  }
  // n units produced (may run ahead of what was due: due() is then 0 until time catches up).
  void done(std::uint64_t n) noexcept { done_ += n; }
  // The next 1 ms boundary of the schedule after `now`: where to sleep to.
  [[nodiscard]] clock::time_point next_tick(clock::time_point now) const noexcept {
    return t0_ + ((now - t0_) / kTick + 1) * kTick;
  }

private:
  double rate_;
  std::uint64_t max_backlog_;
  bool forgive_;
  clock::time_point t0_;
  std::uint64_t done_ = 0;     // units produced since t0
  std::uint64_t forgiven_ = 0; // units owed but dropped as backlog
};

} // namespace mdgw
