// `mdgw --replay FILE`: a recording replayed as a feed. Its instruments are registered
// at startup; each recorded batch is applied (book diffs to a level_book per instrument,
// trades, states) and published as one producer batch.
//
// Rationale:
// - Deterministic load for benchmarks: the same updates every run, at the recorded pace
//   (each batch when its recorded receive time, relative to the first batch's, comes
//   round) or at a fixed rate of source updates (book changes + trades) per second with
//   the owed-rate schedule of pacing.hpp (each batch when its first update is owed,
//   waking at most every 0.5 ms; whole batches, so the rate is met on average,
//   one batch at a time), or flat out.
// - Loop: the file again and again until stopped. Versions (books and states) keep
//   increasing across passes (each pass adds the previous pass's last version) and
//   trades keep their dense numbering, so a client sees a plausible endless stream.
//   At the start of a pass the replay's own books are cleared: the first diff of each
//   instrument in the file is its whole top.
// - Stamps: exchange times from the file; the gateway receive stamps (recv_ts,
//   recv_mono) are the time the batch was due at replay (recorded pace or fixed rate;
//   as fast as possible: now): freshness is measured from them, so a feed thread that
//   runs late counts against the gateway instead of being hidden. At a fixed rate
//   nothing owed is skipped: a late thread catches up.
// - The file is scanned before startup (scan_capture): a bad header stops startup, a
//   truncated or corrupt record is reported once with its byte offset and everything
//   before it is replayed (every pass).
#pragma once

#include "capture_reader.hpp"
#include "feed.hpp"
#include "level_book.hpp"
#include "pacing.hpp"
#include "publication.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <stop_token>
#include <string>
#include <vector>

namespace mdgw::recording {

struct replay_config {
  std::string file;
  double rate = -1; // < 0: the recorded pace; 0: as fast as possible; > 0: updates per second
  bool loop = false;
};

class replay_feed final : public feed {
public:
  // Opens the file and registers the instruments of `scan` (scan_capture of the same file)
  // in `pub`; throws std::runtime_error naming the file or the symbol that cannot be
  // registered. `pub` must outlive the feed. Not started: call start().
  replay_feed(const replay_config& config, const capture_summary& scan, publication& pub);
  ~replay_feed() override;
  replay_feed(const replay_feed&) = delete;
  replay_feed& operator=(const replay_feed&) = delete;

  void start() override;
  void stop() override;
  [[nodiscard]] feed_status status() const override;
  [[nodiscard]] bool finished() const noexcept { return runner_.finished(); }

private:
  void run(std::stop_token stop);
  // One pass over the file; false when stopped.
  bool pass(const std::stop_token& stop, owed_rate* schedule);
  // late_ns: how long after its due time the batch is published (stamps: the due time).
  void publish(const recorded_batch& b, std::uint64_t late_ns);
  [[nodiscard]] std::size_t local(instrument_id file_id) const noexcept {
    return file_id < local_.size() ? local_[file_id] : kNone;
  }

  static constexpr std::size_t kNone = ~std::size_t{0};

  replay_config config_;
  capture_reader reader_;
  bool damaged_; // the file ends in a truncated or corrupt record
  std::uint64_t file_batches_;
  // Before producer_: its initializer registers the instruments into these.
  std::vector<std::size_t> local_;        // file instrument id -> index below (kNone: unknown)
  std::vector<instrument_id> pub_ids_;    // by index
  producer& producer_;
  std::vector<level_book> books_;
  std::vector<std::uint64_t> version_base_, last_version_;
  std::vector<std::uint64_t> state_base_, last_state_;
  std::vector<std::uint64_t> trade_seqs_;
  recorded_batch batch_;

  std::atomic<std::uint64_t> batches_{0};
  std::atomic<std::uint64_t> books_published_{0};
  std::atomic<std::uint64_t> trades_{0};
  std::atomic<std::uint64_t> states_{0};
  std::atomic<std::uint64_t> loops_{0};
  std::atomic<std::uint64_t> errors_{0};

  feed_runner runner_; // last: its thread is joined before the rest goes
};

} // namespace mdgw::recording
