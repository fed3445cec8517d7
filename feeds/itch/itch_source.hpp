// Where ITCH messages come from: a BinaryFILE replayed (as fast as possible, at real time
// from the message timestamps, or at a speed factor) or a MoldUDP64 multicast stream.
// The ITCH feed thread (itch_feed.hpp) and `mdgw book` pull in-order messages from a
// source and apply them to an itch_book; the source owns framing, pacing, loss and
// recovery.
//
// Rationale:
// - Pull, in batches: the consumer asks for at most N messages and gets them through one
//   virtual call per message, or per run of consecutive messages (on_batch: the file
//   source flat out, with the next run already read behind it, so the book can prefetch
//   ahead across runs; MoldUDP64, a packet's in-order messages at once), into a sink it
//   owns. Messages are views into the source's
//   buffers, valid only during the call: nothing is copied or allocated per message.
// - Pacing belongs to the file source (it sees the timestamps); the consumer only learns
//   "nothing available now" (idle) or "no more input" (end).
// - A live source can lose messages. While a detected gap is open, gap_open() is true and
//   the consumer marks its instruments stale (clients see it) until the gap is filled and
//   delivery resumes in order; no message is ever delivered twice or out of order.
#pragma once

#include "itch_decoder.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace mdgw::itch {

class message_sink {
public:
  virtual ~message_sink() = default;
  // One ITCH message, tag byte first, without any framing. Valid during the call only.
  virtual void on_message(const std::uint8_t* msg, std::size_t len) = 0;
  // Consecutive messages at once, in order (valid during the call only): a sink that
  // looks ahead (itch_book::apply_batch's cache hints) overrides it. msgs[n, n + ahead)
  // are the messages the next call starts with, already read: a sink may look at them
  // (hint what they will touch), not take them. By default, one on_message each.
  virtual void on_batch(const std::span<const std::uint8_t>* msgs, std::size_t n, std::size_t ahead) {
    (void)ahead;
    for (std::size_t i = 0; i < n; ++i) on_message(msgs[i].data(), msgs[i].size());
  }
};

enum class poll_result : std::uint8_t {
  messages, // at least one message was delivered
  idle,     // nothing available within the wait (pacing, or a live source is quiet)
  end,      // no more input (end of file, MoldUDP64 end of session)
};

class itch_source {
public:
  virtual ~itch_source() = default;
  // Delivers up to max_messages in-order messages to sink. When none is available, waits
  // at most `wait` for one. Never throws on bad input (counted in errors()).
  virtual poll_result poll(message_sink& sink, std::size_t max_messages, std::chrono::milliseconds wait) = 0;
  // True while messages are known to be missing and not yet recovered.
  [[nodiscard]] virtual bool gap_open() const noexcept { return false; }
  // Bad input and unrecoverable loss, counted.
  [[nodiscard]] virtual std::uint64_t errors() const noexcept = 0;
  // Messages known to be lost for good (a gap the source gave up on). Once nonzero the
  // books built from this source are no longer exact: the consumer marks them stale.
  [[nodiscard]] virtual std::uint64_t lost() const noexcept { return 0; }
  // Messages delivered so far.
  [[nodiscard]] virtual std::uint64_t delivered() const noexcept = 0;
  // One line describing where the source stands (progress line, logs, /health).
  [[nodiscard]] virtual std::string describe() const = 0;
};

struct itch_source_config {
  // BinaryFILE (plain or gzip). Set exactly one of file / mold_group.
  std::string file;
  double speed = 0.0; // 0: as fast as possible; 1: real time from the timestamps; 2: twice
  bool progress = false; // file: a progress line on stderr each second (when a terminal)

  // MoldUDP64: multicast group "ADDR:PORT", joined on the interface address; gap re-requests
  // go (unicast) to the retransmission server "HOST:PORT".
  std::string mold_group;
  std::string mold_interface = "127.0.0.1";
  std::string mold_retrans;
  std::chrono::milliseconds mold_request_timeout{50}; // re-request when no answer by then
  std::chrono::milliseconds mold_session_timeout{0};  // 0: wait for end of session forever

  log_fn log; // reports; empty: stderr
};

// Opens the configured source. Throws std::runtime_error (naming the field) when the
// configuration is invalid or the source cannot be opened: this runs at startup.
[[nodiscard]] std::unique_ptr<itch_source> open_source(const itch_source_config& config);

} // namespace mdgw::itch
