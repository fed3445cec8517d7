// Capture files (the cryptofeed sample format, see ../shared/data/README.md) and their
// replay into a crypto handler.
//
//   .ws    wss://host <-> <ts>            the connection was opened
//          wss://host <- <ts>: <json>     what the client sent (subscriptions): skipped
//          <ts>: <json>                   one received frame
//   .rest  <url> -> <ts>: <json>          one REST reply
//
// Rationale:
// - A file is read once into one buffer with kFramePadding bytes after it; records are
//   views into it. Every frame is then followed by readable bytes (the next lines, or
//   the padding), which is all the JSON parser needs: no per-frame copy.
// - REST replies are merged into the frame sequence by timestamp: one is delivered just
//   before the first frame received after it. Frame timestamps in a .ws file are not
//   strictly monotonic (they are stamped per stream), so the file order of frames is
//   kept as it is: it is the order they arrived in.
// - Replay delivers records as fast as possible or at the recorded pace (scaled), and
//   gives the handler the capture's timestamp as receive time so a replay is
//   deterministic.
#pragma once

#include "crypto_handler.hpp"

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mdgw::crypto {

enum class line_kind : std::uint8_t { frame, sent, connect, blank, malformed };

struct ws_line {
  line_kind kind = line_kind::malformed;
  std::uint64_t ts_ns = 0;
  std::string_view url;     // sent, connect
  std::string_view payload; // frame, sent
};

struct rest_line {
  std::string_view url;
  std::uint64_t ts_ns = 0;
  std::string_view payload;
};

// One line without its newline.
[[nodiscard]] ws_line parse_ws_line(std::string_view line) noexcept;
[[nodiscard]] std::optional<rest_line> parse_rest_line(std::string_view line) noexcept;

struct capture_record {
  enum class kind : std::uint8_t { frame, rest, connect };
  kind what = kind::frame;
  std::uint64_t ts_ns = 0;
  std::string_view url; // rest, connect
  padded_frame body;    // frame, rest (recv_ts = ts_ns)
};

class capture {
public:
  // Loads a .ws file and, optionally, a .rest file of the same session. Throws
  // std::runtime_error when a file cannot be read or a .rest line is malformed.
  static capture load(const std::string& ws_path, const std::string& rest_path = {});

  [[nodiscard]] const std::vector<capture_record>& records() const noexcept { return records_; }
  [[nodiscard]] std::size_t frames() const noexcept { return frames_; }
  [[nodiscard]] std::size_t sent_lines() const noexcept { return sent_; }
  [[nodiscard]] std::size_t malformed_lines() const noexcept { return malformed_; }

private:
  // File text + kFramePadding; records point into it. Held by pointer so the views
  // stay valid when the capture is moved.
  std::unique_ptr<std::string> ws_text_;
  std::unique_ptr<std::string> rest_text_;
  std::vector<capture_record> records_;
  std::size_t frames_ = 0;
  std::size_t sent_ = 0;
  std::size_t malformed_ = 0;
};

struct replay_options {
  double speed = 0.0; // 0: as fast as possible; 1: recorded pace; 2: twice as fast
  const std::atomic<bool>* stop = nullptr; // checked before each record
};

struct replay_stats {
  std::uint64_t records = 0;
  std::uint64_t connects = 0;
  std::array<std::uint64_t, 8> by_status{}; // indexed by frame_status
  [[nodiscard]] std::uint64_t count(frame_status s) const noexcept { return by_status[static_cast<std::size_t>(s)]; }
};

// Feeds every record to the handler: frames to on_frame, REST replies to on_rest,
// connects to on_connect.
replay_stats replay(const capture& c, crypto_handler& handler, const replay_options& options = {});

} // namespace mdgw::crypto
