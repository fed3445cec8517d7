// Reads a recording file (recording.capnp) batch by batch, validating every record: its
// frame (length, CRC-32), its Cap'n Proto structure and its content (known instrument
// ids, enum values in range, prices and quantities a book accepts).
//
// Rationale:
// - The file is mapped, not read: a replay that loops over it again and again decodes it
//   in place, and a capture of any size costs no heap.
// - Nothing in the file is trusted. A bad record ends the reading there with a status
//   (truncated: the record runs past the end of the file, the tail of a killed writer;
//   corrupt: anything else) and a message naming the file and the record's byte offset.
//   Everything before it stays usable. Cap'n Proto reports malformed messages with
//   kj exceptions: they are caught here, at the record, and never leave the reader.
#pragma once

#include "recording_format.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mdgw::recording {

class capture_reader {
public:
  enum class status : std::uint8_t { ok, end, truncated, corrupt };

  // Maps `path` and reads its header. Throws std::runtime_error naming the file (and
  // the byte offset) when it cannot be opened or is not a recording of a known version.
  explicit capture_reader(const std::string& path);
  ~capture_reader();
  capture_reader(const capture_reader&) = delete;
  capture_reader& operator=(const capture_reader&) = delete;

  [[nodiscard]] const capture_header& header() const noexcept { return header_; }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  [[nodiscard]] std::uint64_t size() const noexcept { return size_; }

  // Decodes the next batch into `out`. ok: out holds it; end: the file ended cleanly;
  // truncated / corrupt: error() says where and why, and every later call returns the same.
  status next(recorded_batch& out);
  // Byte offset of the next record (of the bad one after truncated / corrupt).
  [[nodiscard]] std::uint64_t offset() const noexcept { return offset_; }
  // "FILE: truncated record at byte offset N: ..." / "FILE: corrupt record at byte offset N: ...".
  [[nodiscard]] const std::string& error() const noexcept { return error_; }
  // Back to the first batch (for a replay that loops).
  void rewind() noexcept;

private:
  status fail(status s, const std::string& why);
  // The next record's message bytes, validated frame; ok or an error status.
  status frame(const unsigned char*& msg, std::uint32_t& len);
  bool decode(const unsigned char* msg, std::uint32_t len, recorded_batch& out, std::string& why);

  std::string path_;
  const unsigned char* data_ = nullptr;
  std::uint64_t size_ = 0;
  std::uint64_t first_batch_ = 0;
  std::uint64_t offset_ = 0;
  status sticky_ = status::ok;
  std::string error_;
  capture_header header_;
  std::vector<std::uint8_t> known_; // by file instrument id: announced before this point
};

[[nodiscard]] constexpr const char* to_string(capture_reader::status s) noexcept {
  switch (s) {
  case capture_reader::status::ok: return "ok";
  case capture_reader::status::end: return "complete";
  case capture_reader::status::truncated: return "truncated";
  case capture_reader::status::corrupt: return "corrupt";
  }
  return "corrupt";
}

// A whole file read once: what `mdgw capture info` prints and what a replay checks at
// startup. Throws like capture_reader's constructor.
struct capture_summary {
  capture_header header;
  std::uint64_t bytes = 0;
  std::vector<instrument_info> instruments; // in file order, with their file ids
  std::uint64_t batches = 0;
  std::uint64_t books = 0;
  std::uint64_t trades = 0;
  std::uint64_t states = 0;
  std::uint64_t levels = 0; // book levels recorded (the size of the diffs)
  std::uint64_t first_recv_ts = 0;
  std::uint64_t last_recv_ts = 0;
  capture_reader::status end = capture_reader::status::end;
  std::uint64_t error_offset = 0;
  std::string error; // empty when end == status::end
};
[[nodiscard]] capture_summary scan_capture(const std::string& path);

} // namespace mdgw::recording
