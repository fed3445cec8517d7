// `mdgw --record FILE`: writes everything a publication's producers publish to a
// recording file (recording.capnp, docs/recording.md), one record per producer batch.
//
// Rationale:
// - On the feed thread: each producer's recorder buffers its batch in plain structs,
//   diffing each published top against the previous one of that instrument, and hands
//   the whole batch to the writer at flush. The writer encodes it and appends it to one
//   memory buffer under a mutex, so feeds sharing the file never interleave inside a
//   batch, and takes the lock once per batch, never per event.
// - Buffered writes: the buffer goes to the file when it holds 256 KiB or its oldest
//   byte is 50 ms old, so a run killed with SIGKILL loses at most that tail (the reader
//   reports the truncated last record and keeps the rest). close() (SIGTERM: the gateway
//   stops its feeds, then closes the recording) writes everything.
// - Instruments are recorded when they are added (publication::add_instrument), queued
//   and written as one batch ahead of the next batch written, so an instrument always
//   precedes the first event naming it and one added mid-stream (ITCH directory
//   messages) is recorded too.
// - A write error (disk full) is reported once on stderr and ends the recording; the
//   feeds go on.
#pragma once

#include "recorder.hpp"
#include "recording_format.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace mdgw::recording {

class recording_writer final : public publish_recorder {
public:
  static constexpr std::size_t kFlushBytes = 256 * 1024;
  static constexpr auto kFlushAge = std::chrono::milliseconds(50);

  // Creates (truncates) `path` and writes the header. Throws std::runtime_error naming
  // the file when it cannot.
  recording_writer(const std::string& path, std::string_view mdgw_version);
  ~recording_writer() override;
  recording_writer(const recording_writer&) = delete;
  recording_writer& operator=(const recording_writer&) = delete;

  void instrument_added(const instrument_info& info) noexcept override;
  std::unique_ptr<producer_recorder> make_producer_recorder() override;

  // Appends a producer's batch (stamped now, never before the previous batch). Any thread.
  void write_batch(recorded_batch& b) noexcept;
  // Writes everything buffered and closes the file; later batches are dropped.
  // Idempotent. Returns the error that ended the recording, empty when none.
  std::string close();

  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  [[nodiscard]] std::uint64_t batches() const;
  [[nodiscard]] std::uint64_t bytes() const;

private:
  void append_locked(recorded_batch& b);
  void write_out_locked();

  std::string path_;
  mutable std::mutex mutex_;
  int fd_ = -1;
  std::vector<std::byte> buffer_;
  std::chrono::steady_clock::time_point buffered_since_{};
  recorded_batch pending_instruments_; // added since the last batch written
  std::uint64_t last_recv_ts_ = 0;
  std::uint64_t batches_ = 0;
  std::uint64_t bytes_ = 0;
  std::string error_; // set once: the recording ended with it
};

} // namespace mdgw::recording
