// ITCH 5.0 decoding: one message at a time (itch_decoder), and the BinaryFILE framing
// of a capture file, plain or gzip (binary_file_reader).
//
// Rationale:
// - A feed byte is untrusted. itch_decoder::decode looks at the tag byte, checks the
//   range holds the tag's fixed length (kMessageSize) and only then copies the struct
//   out; an empty range, an unknown tag or a short range is counted per kind (per tag
//   byte), reported once per kind through the log function, and skipped. A longer range
//   is decoded (the spec's fields are a prefix) and counted as oversize.
// - decode() is a template over the visitor so the dispatch switch and the struct
//   copies inline into the caller (itch_book): no indirect call per message.
// - BinaryFILE framing: each message is preceded by a 2-byte big-endian length. Some
//   files carry wrong prefixes (the RITCH sample's are all zero), so for a known tag the
//   tag's fixed length wins over a zero or disagreeing prefix (counted, said once). For
//   an unknown tag only the prefix can frame it: a nonzero prefix delivers it (the
//   decoder then counts it as unknown); a zero prefix leaves no way to find the next
//   message, so the reader reports it and stops (failed()).
// - Input is read in large chunks into a buffer and messages are handed out as spans
//   into it, so reading costs no allocation per message. There are two buffers: a refill
//   carries the partial message over into the other one and reads on there, so the
//   messages of the previous batch stay valid while the caller reads the next (and can
//   look ahead into it) for one more buffer of memory. gzip input is detected by its
//   magic bytes and inflated with zlib as it is read. next() is inline for the common
//   case (a true prefix, the message already buffered) and calls out for the rest.
#pragma once

#include "itch_messages.hpp"
#include "prefetch.hpp"

#include <algorithm>
#include <array>
#include <bitset>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mdgw::itch {

// Receives one line per report (without the newline). Empty: stderr.
using log_fn = std::function<void(std::string_view)>;
void log_to_stderr(std::string_view line);

enum class decode_status : std::uint8_t {
  ok = 0,
  empty,        // zero-length range
  unknown_type, // tag byte is no ITCH 5.0 message
  truncated,    // shorter than the tag's fixed length
};

class itch_decoder {
public:
  explicit itch_decoder(log_fn log = {});

  // Decodes [p, p + len) and calls visitor(const M&) with the message struct M of its
  // tag. The visitor is not called unless the status is ok.
  template <class Visitor>
  [[nodiscard]] decode_status decode(const std::uint8_t* p, std::size_t len, Visitor&& visitor);

  // Counters by tag byte.
  [[nodiscard]] std::uint64_t decoded(std::uint8_t tag) const noexcept { return decoded_[tag]; }
  [[nodiscard]] std::uint64_t decoded(msg_type t) const noexcept { return decoded_[static_cast<unsigned char>(t)]; }
  [[nodiscard]] std::uint64_t unknown(std::uint8_t tag) const noexcept { return unknown_[tag]; }
  [[nodiscard]] std::uint64_t truncated(std::uint8_t tag) const noexcept { return truncated_[tag]; }
  [[nodiscard]] std::uint64_t oversize(std::uint8_t tag) const noexcept { return oversize_[tag]; }
  [[nodiscard]] std::uint64_t empty() const noexcept { return empty_; }
  [[nodiscard]] std::uint64_t decoded_total() const noexcept;
  [[nodiscard]] std::uint64_t unknown_total() const noexcept;
  [[nodiscard]] std::uint64_t truncated_total() const noexcept;
  [[nodiscard]] std::uint64_t oversize_total() const noexcept;
  // Bad input of any kind (empty + unknown + truncated; oversize is decoded, not bad).
  [[nodiscard]] std::uint64_t errors() const noexcept { return empty_ + unknown_total() + truncated_total(); }
  [[nodiscard]] std::uint64_t reports() const noexcept { return reports_; } // lines logged
  void reset() noexcept; // counters and the once-per-kind memory

private:
  // Cold paths: count, and report the first of each kind.
  [[gnu::cold, gnu::noinline]] decode_status on_bad(decode_status status, std::uint8_t tag, std::size_t len);
  [[gnu::cold, gnu::noinline]] void on_oversize(std::uint8_t tag, std::size_t len);
  void report(std::string_view line);

  log_fn log_;
  std::array<std::uint64_t, 256> decoded_{};
  std::array<std::uint64_t, 256> unknown_{};
  std::array<std::uint64_t, 256> truncated_{};
  std::array<std::uint64_t, 256> oversize_{};
  std::uint64_t empty_ = 0;
  std::uint64_t reports_ = 0;
  std::bitset<256> reported_unknown_;
  std::bitset<256> reported_truncated_;
  std::bitset<256> reported_oversize_;
  bool reported_empty_ = false;
};

template <class Visitor>
decode_status itch_decoder::decode(const std::uint8_t* p, std::size_t len, Visitor&& visitor) {
  if (len == 0) [[unlikely]] return on_bad(decode_status::empty, 0, 0);
  const std::uint8_t tag = p[0];
  const std::size_t need = kMessageSize[tag];
  if (need == 0) [[unlikely]] return on_bad(decode_status::unknown_type, tag, len);
  if (len < need) [[unlikely]] return on_bad(decode_status::truncated, tag, len);
  if (len > need) [[unlikely]] on_oversize(tag, len);
  ++decoded_[tag];
  switch (static_cast<msg_type>(tag)) {
  case msg_type::system_event: visitor(load<system_event>(p)); break;
  case msg_type::stock_directory: visitor(load<stock_directory>(p)); break;
  case msg_type::stock_trading_action: visitor(load<stock_trading_action>(p)); break;
  case msg_type::reg_sho_restriction: visitor(load<reg_sho_restriction>(p)); break;
  case msg_type::market_participant_position: visitor(load<market_participant_position>(p)); break;
  case msg_type::mwcb_decline_level: visitor(load<mwcb_decline_level>(p)); break;
  case msg_type::mwcb_status: visitor(load<mwcb_status>(p)); break;
  case msg_type::ipo_quoting_period_update: visitor(load<ipo_quoting_period_update>(p)); break;
  case msg_type::luld_auction_collar: visitor(load<luld_auction_collar>(p)); break;
  case msg_type::operational_halt: visitor(load<operational_halt>(p)); break;
  case msg_type::add_order: visitor(load<add_order>(p)); break;
  case msg_type::add_order_mpid: visitor(load<add_order_mpid>(p)); break;
  case msg_type::order_executed: visitor(load<order_executed>(p)); break;
  case msg_type::order_executed_with_price: visitor(load<order_executed_with_price>(p)); break;
  case msg_type::order_cancel: visitor(load<order_cancel>(p)); break;
  case msg_type::order_delete: visitor(load<order_delete>(p)); break;
  case msg_type::order_replace: visitor(load<order_replace>(p)); break;
  case msg_type::trade: visitor(load<trade>(p)); break;
  case msg_type::cross_trade: visitor(load<cross_trade>(p)); break;
  case msg_type::broken_trade: visitor(load<broken_trade>(p)); break;
  case msg_type::noii: visitor(load<noii>(p)); break;
  case msg_type::rpii: visitor(load<rpii>(p)); break;
  case msg_type::dlcr_price_discovery: visitor(load<dlcr_price_discovery>(p)); break;
  }
  return decode_status::ok;
}

// Framing counters of a BinaryFILE.
struct file_stats {
  std::uint64_t messages = 0;          // handed out by next()
  std::uint64_t zero_prefix = 0;       // known tag, prefix 0: framed by the tag's length
  std::uint64_t mismatched_prefix = 0; // known tag, nonzero prefix != the tag's length
  std::uint64_t unknown_framed = 0;    // unknown tag framed by its nonzero prefix
  std::uint64_t unframeable = 0;       // unknown tag with prefix 0: reading stopped
  std::uint64_t truncated_tail = 0;    // input ended inside a message
  std::uint64_t bytes = 0;             // uncompressed bytes consumed
};

class binary_file_reader {
public:
  static constexpr std::size_t kMinBuffer = 1 << 17; // > 2 + the largest prefix (65535)
  static constexpr std::size_t kDefaultBuffer = 1 << 20;

  // Opens `path` (plain or gzip). Throws std::runtime_error when it cannot be opened:
  // this runs at startup, where exceptions are the reporting channel.
  explicit binary_file_reader(const std::string& path, log_fn log = {}, std::size_t buffer_bytes = kDefaultBuffer);
  ~binary_file_reader();
  binary_file_reader(const binary_file_reader&) = delete;
  binary_file_reader& operator=(const binary_file_reader&) = delete;

  // The next message: its tag byte first, exactly its length (the prefix not included).
  // The span stays valid until the call after next (as next_batch's). False at the end of input, on a read
  // error, or when the stream cannot be framed any more (then failed() is true).
  // Inline fast path (see next_batch): a known tag whose prefix is its fixed length,
  // wholly buffered, i.e. every message of a well-formed file but a few per refill.
  [[nodiscard]] bool next(std::span<const std::uint8_t>& msg) { return next_batch(&msg, 1) == 1; }

  // Up to `max` next messages at once (at least one unless next() would return false).
  // Returns how many were written to out. They stay valid until the call after next (a
  // refill reads into the other of two buffers), so a caller can read the next batch
  // before it applies this one and look ahead across batches (itch_book::apply_batch's
  // cache hints), not only within one.
  [[nodiscard]] std::size_t next_batch(std::span<const std::uint8_t>* out, std::size_t max) {
    std::size_t n = 0;
    // Only the fast path: it never moves the buffer, so earlier spans stay valid.
    while (n < max && end_ - pos_ >= 2 + kMaxFixedSize && !failed_) {
      const std::uint8_t* p = buf_.data() + pos_;
      // The buffer a read() filled is out of cache again by the time a book pass reaches
      // it (the book's misses evict it): start loading about 30 messages ahead.
      if (end_ - pos_ > kReadAhead) prefetch_line(p + kReadAhead);
      const std::size_t fixed = kMessageSize[p[2]];
      if (fixed == 0 || ((std::size_t{p[0]} << 8) | p[1]) != fixed) break;
      out[n++] = std::span<const std::uint8_t>(p + 2, fixed);
      pos_ += 2 + fixed;
      stats_.bytes += 2 + fixed;
      ++stats_.messages;
    }
    if (n == 0 && max > 0 && next_slow(out[0])) n = 1;
    return n;
  }

  // Calls f(std::span<const std::uint8_t>) for each remaining message; returns how many.
  template <class F>
  std::uint64_t for_each(F&& f) {
    std::uint64_t n = 0;
    std::span<const std::uint8_t> m;
    while (next(m)) {
      f(m);
      ++n;
    }
    return n;
  }

  [[nodiscard]] const file_stats& stats() const noexcept { return stats_; }
  [[nodiscard]] bool gzip() const noexcept { return gz_ != nullptr; }
  [[nodiscard]] bool failed() const noexcept { return failed_; }
  // Bytes of the file read so far (compressed bytes for gzip) and its size: progress.
  [[nodiscard]] std::uint64_t input_offset() const noexcept;
  [[nodiscard]] std::uint64_t input_size() const noexcept { return file_size_; }

private:
  static constexpr std::size_t kReadAhead = 1024; // bytes
  static constexpr std::size_t kMaxFixedSize = [] {
    std::size_t m = 0;
    for (const std::uint8_t n : kMessageSize) m = n > m ? n : m;
    return m;
  }();
  // Everything else: refills, zero or wrong prefixes, unknown tags, the end of input.
  [[nodiscard]] bool next_slow(std::span<const std::uint8_t>& msg);
  // Makes at least n bytes available at pos_ unless the input ends; returns the count.
  std::size_t fill(std::size_t n);
  std::size_t read_some(std::uint8_t* dst, std::size_t n);
  void report(std::string_view line);

  log_fn log_;
  std::string path_;
  int fd_ = -1;
  void* gz_ = nullptr; // gzFile; void* keeps zlib.h out of this header
  std::uint64_t file_size_ = 0;
  std::uint64_t raw_offset_ = 0;
  std::vector<std::uint8_t> buf_;
  std::vector<std::uint8_t> spare_; // the other buffer: the previous one's messages, until a refill
  std::size_t pos_ = 0;
  std::size_t end_ = 0;
  bool eof_ = false;
  bool failed_ = false;
  bool reported_zero_ = false;
  bool reported_mismatch_ = false;
  bool reported_unknown_ = false;
  file_stats stats_;
};

// A binary_file_reader's batches, each with the next one already read behind it (the
// reader keeps both valid): what itch_book::apply_batch takes as `ahead`, so that its
// cache hints run on across batches. The file source (flat out) and the replay benchmark
// read this way.
class lookahead_batches {
public:
  // Messages that follow one another, and how many already read come after them:
  // msgs[n, n + ahead).
  struct run {
    const std::span<const std::uint8_t>* msgs = nullptr;
    std::size_t n = 0;
    std::size_t ahead = 0;
  };
  // `storage` holds two batches of spans (the reader's batches are half its size).
  lookahead_batches(binary_file_reader& reader, std::span<std::span<const std::uint8_t>> storage) noexcept
      : reader_(reader), spans_(storage), batch_(storage.size() / 2) {}

  // Up to max (> 0) next messages; n 0 when the input has ended. The run and the messages
  // after it stay valid until the next call.
  [[nodiscard]] run next(std::size_t max) {
    if (off_ == cur_end_) { // the current batch is taken: the next one moves to the front
      if (next_n_ != 0) {
        std::copy_n(spans_.begin() + static_cast<std::ptrdiff_t>(cur_end_), next_n_, spans_.begin());
        cur_end_ = next_n_;
        next_n_ = 0;
      } else {
        cur_end_ = done_ ? 0 : reader_.next_batch(spans_.data(), batch_);
      }
      off_ = 0;
      if (cur_end_ == 0) {
        done_ = true;
        return {};
      }
    }
    if (next_n_ == 0 && !done_) {
      next_n_ = reader_.next_batch(spans_.data() + cur_end_, batch_);
      done_ = next_n_ == 0;
    }
    const std::size_t n = std::min(cur_end_ - off_, max);
    const run r{spans_.data() + off_, n, cur_end_ - off_ - n + next_n_};
    off_ += n;
    return r;
  }

private:
  binary_file_reader& reader_;
  // The current batch at [off_, cur_end_), the next one at [cur_end_, cur_end_ + next_n_).
  std::span<std::span<const std::uint8_t>> spans_;
  std::size_t batch_;
  std::size_t off_ = 0;
  std::size_t cur_end_ = 0;
  std::size_t next_n_ = 0;
  bool done_ = false; // the reader has no more
};

} // namespace mdgw::itch
