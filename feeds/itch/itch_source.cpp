#include "itch_source.hpp"

#include "moldudp64.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <span>
#include <stdexcept>
#include <thread>

namespace mdgw::itch {

namespace {

using steady = std::chrono::steady_clock;

// The 48-bit timestamp (ns since midnight) at bytes 5..10 of every ITCH message.
std::uint64_t message_ts(std::span<const std::uint8_t> m) noexcept {
  if (m.size() < 11) return 0;
  std::uint64_t ts = 0;
  for (std::size_t i = 5; i < 11; ++i) ts = ts << 8 | m[i];
  return ts;
}

// A BinaryFILE, replayed flat out or paced by its timestamps.
class file_source final : public itch_source {
public:
  explicit file_source(const itch_source_config& c)
      : reader_(c.file, c.log), speed_(c.speed), progress_(c.progress && ::isatty(STDERR_FILENO) != 0) {}

  poll_result poll(message_sink& sink, std::size_t max_messages, std::chrono::milliseconds wait) override {
    std::size_t n = 0;
    const auto deadline = steady::now() + wait;
    while (n < max_messages) {
      if (speed_ == 0.0 && !have_pending_) {
        // Flat out: the reader's batches go to the sink whole, each with the next one read
        // behind it, so the sink can look ahead across them.
        const lookahead_batches::run r = batches_.next(max_messages - n);
        if (r.n == 0) {
          end_of_input();
          return n > 0 ? poll_result::messages : poll_result::end;
        }
        sink.on_batch(r.msgs, r.n, r.ahead);
        n += r.n;
        delivered_ += r.n;
        continue;
      }
      if (!have_pending_) {
        if (!reader_.next(pending_)) {
          end_of_input();
          return n > 0 ? poll_result::messages : poll_result::end;
        }
        have_pending_ = true;
      }
      if (speed_ > 0.0) {
        const auto due = due_time(message_ts(pending_));
        if (due > steady::now()) {
          if (n > 0) break; // deliver what is due now; the caller comes back
          if (due > deadline) {
            std::this_thread::sleep_until(deadline);
            show_progress();
            return poll_result::idle;
          }
          std::this_thread::sleep_until(due);
        }
      }
      sink.on_message(pending_.data(), pending_.size());
      have_pending_ = false;
      ++n;
      ++delivered_;
    }
    show_progress();
    return poll_result::messages;
  }

  [[nodiscard]] std::uint64_t errors() const noexcept override {
    const file_stats& s = reader_.stats();
    return s.unframeable + s.truncated_tail + s.unknown_framed;
  }
  [[nodiscard]] std::uint64_t delivered() const noexcept override { return delivered_; }

  [[nodiscard]] std::string describe() const override {
    const double secs = std::chrono::duration<double>(steady::now() - started_).count();
    const double pct = reader_.input_size() > 0
                           ? 100.0 * static_cast<double>(reader_.input_offset()) / static_cast<double>(reader_.input_size())
                           : 100.0;
    char line[160];
    std::snprintf(line, sizeof line, "itch file: %llu messages, %.2fM msg/s, %.1f%% of file%s",
                  static_cast<unsigned long long>(delivered_),
                  secs > 0 ? static_cast<double>(delivered_) / secs / 1e6 : 0.0, pct, ended_ ? ", done" : "");
    return line;
  }

private:
  // Pacing: message time t is due at start + (t - t0) / speed. A timestamp going
  // backwards (a new day in a concatenated file) is due at once.
  steady::time_point due_time(std::uint64_t ts) {
    if (!paced_started_) {
      paced_started_ = true;
      t0_ = ts;
      wall0_ = steady::now();
    }
    if (ts <= t0_) return wall0_;
    const auto offset_ns = static_cast<double>(ts - t0_) / speed_;
    return wall0_ + std::chrono::nanoseconds(static_cast<std::int64_t>(offset_ns));
  }

  void show_progress() {
    if (!progress_) return;
    const auto now = steady::now();
    if (now < next_progress_) return;
    next_progress_ = now + std::chrono::seconds(1);
    std::fprintf(stderr, "\r%s\x1b[K", describe().c_str());
    std::fflush(stderr);
  }

  void end_of_input() {
    if (ended_) return;
    ended_ = true;
    if (progress_) {
      std::fprintf(stderr, "\r%s\x1b[K\n", describe().c_str());
      std::fflush(stderr);
    }
  }

  binary_file_reader reader_;
  double speed_;
  bool progress_;
  std::span<const std::uint8_t> pending_;
  // Flat out: two batches of 64 views into the reader's buffers (the gateway's batch).
  std::array<std::span<const std::uint8_t>, 2 * 64> batch_;
  lookahead_batches batches_{reader_, batch_};
  bool have_pending_ = false;
  bool paced_started_ = false;
  bool ended_ = false;
  std::uint64_t t0_ = 0;
  steady::time_point wall0_{};
  steady::time_point started_ = steady::now();
  steady::time_point next_progress_ = steady::now() + std::chrono::seconds(1);
  std::uint64_t delivered_ = 0;
};

} // namespace

std::unique_ptr<itch_source> open_source(const itch_source_config& config) {
  if (!config.file.empty() && !config.mold_group.empty()) {
    throw std::runtime_error("itch: set either a file or a MoldUDP64 group (mold_group), not both");
  }
  if (!(config.speed >= 0.0)) throw std::runtime_error("itch speed: must be 0 (as fast as possible) or positive");
  if (!config.file.empty()) return std::make_unique<file_source>(config);
  if (!config.mold_group.empty()) return open_mold_source(config);
  throw std::runtime_error("itch: no source configured (a file or mold_group)");
}

} // namespace mdgw::itch
