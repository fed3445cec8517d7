#include "itch_decoder.hpp"

#include <zlib.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <stdexcept>

namespace mdgw::itch {

namespace {

std::string tag_name(std::uint8_t tag) {
  char buf[32];
  if (tag >= 0x20 && tag < 0x7f) {
    std::snprintf(buf, sizeof buf, "'%c' (0x%02x)", static_cast<char>(tag), tag);
  } else {
    std::snprintf(buf, sizeof buf, "0x%02x", tag);
  }
  return buf;
}

std::uint64_t sum(const std::array<std::uint64_t, 256>& a) { return std::accumulate(a.begin(), a.end(), std::uint64_t{0}); }

} // namespace

void log_to_stderr(std::string_view line) {
  std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
}

// ------------------------------------------------------------------------- decoder

itch_decoder::itch_decoder(log_fn log) : log_(std::move(log)) {}

void itch_decoder::report(std::string_view line) {
  ++reports_;
  if (log_) {
    log_(line);
  } else {
    log_to_stderr(line);
  }
}

decode_status itch_decoder::on_bad(decode_status status, std::uint8_t tag, std::size_t len) {
  switch (status) {
  case decode_status::empty:
    ++empty_;
    if (!reported_empty_) {
      reported_empty_ = true;
      report("itch: empty message skipped (further ones counted, not reported)");
    }
    break;
  case decode_status::unknown_type:
    ++unknown_[tag];
    if (!reported_unknown_[tag]) {
      reported_unknown_[tag] = true;
      report("itch: unknown message type " + tag_name(tag) + " (" + std::to_string(len) +
             " bytes) skipped (further ones counted, not reported)");
    }
    break;
  case decode_status::truncated:
    ++truncated_[tag];
    if (!reported_truncated_[tag]) {
      reported_truncated_[tag] = true;
      report("itch: truncated message " + tag_name(tag) + ": " + std::to_string(len) + " bytes, needs " +
             std::to_string(kMessageSize[tag]) + "; skipped (further ones counted, not reported)");
    }
    break;
  case decode_status::ok: break;
  }
  return status;
}

void itch_decoder::on_oversize(std::uint8_t tag, std::size_t len) {
  ++oversize_[tag];
  if (!reported_oversize_[tag]) {
    reported_oversize_[tag] = true;
    report("itch: message " + tag_name(tag) + " is " + std::to_string(len) + " bytes, longer than its " +
           std::to_string(kMessageSize[tag]) + "; decoded, extra bytes ignored (further ones counted, not reported)");
  }
}

std::uint64_t itch_decoder::decoded_total() const noexcept { return sum(decoded_); }
std::uint64_t itch_decoder::unknown_total() const noexcept { return sum(unknown_); }
std::uint64_t itch_decoder::truncated_total() const noexcept { return sum(truncated_); }
std::uint64_t itch_decoder::oversize_total() const noexcept { return sum(oversize_); }

void itch_decoder::reset() noexcept {
  decoded_.fill(0);
  unknown_.fill(0);
  truncated_.fill(0);
  oversize_.fill(0);
  empty_ = 0;
  reports_ = 0;
  reported_unknown_.reset();
  reported_truncated_.reset();
  reported_oversize_.reset();
  reported_empty_ = false;
}

// ---------------------------------------------------------------- BinaryFILE reader

binary_file_reader::binary_file_reader(const std::string& path, log_fn log, std::size_t buffer_bytes)
    : log_(std::move(log)), path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw std::runtime_error("itch: cannot open " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd_, &st) == 0) file_size_ = static_cast<std::uint64_t>(st.st_size);
  std::uint8_t magic[2] = {0, 0};
  const ssize_t got = ::pread(fd_, magic, 2, 0);
  if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
    // gzdopen takes the descriptor over (gzclose closes it).
    gzFile gz = ::gzdopen(fd_, "rb");
    if (gz == nullptr) {
      ::close(fd_);
      fd_ = -1;
      throw std::runtime_error("itch: cannot start inflating " + path);
    }
    ::gzbuffer(gz, 1U << 17);
    gz_ = gz;
    fd_ = -1;
  }
  buf_.resize(std::max(buffer_bytes, kMinBuffer));
  spare_.resize(buf_.size());
}

binary_file_reader::~binary_file_reader() {
  if (gz_ != nullptr) ::gzclose(static_cast<gzFile>(gz_));
  if (fd_ >= 0) ::close(fd_);
}

void binary_file_reader::report(std::string_view line) {
  if (log_) {
    log_(line);
  } else {
    log_to_stderr(line);
  }
}

std::uint64_t binary_file_reader::input_offset() const noexcept {
  if (gz_ != nullptr) {
    const auto off = ::gzoffset(static_cast<gzFile>(gz_));
    return off < 0 ? 0 : static_cast<std::uint64_t>(off);
  }
  return raw_offset_;
}

std::size_t binary_file_reader::read_some(std::uint8_t* dst, std::size_t n) {
  if (gz_ != nullptr) {
    const int got = ::gzread(static_cast<gzFile>(gz_), dst, static_cast<unsigned>(n));
    if (got < 0) {
      int err = 0;
      const char* what = ::gzerror(static_cast<gzFile>(gz_), &err);
      report("itch: " + path_ + ": gzip read error: " + (what != nullptr ? what : "?"));
      failed_ = true;
      return 0;
    }
    return static_cast<std::size_t>(got);
  }
  for (;;) {
    const ssize_t got = ::read(fd_, dst, n);
    if (got >= 0) {
      raw_offset_ += static_cast<std::uint64_t>(got);
      return static_cast<std::size_t>(got);
    }
    if (errno == EINTR) continue;
    report("itch: " + path_ + ": read error: " + std::strerror(errno));
    failed_ = true;
    return 0;
  }
}

std::size_t binary_file_reader::fill(std::size_t n) {
  std::size_t avail = end_ - pos_;
  if (avail >= n || eof_) return avail;
  // Copy the partial message to the front of the other buffer and read on there: the
  // messages handed out from this one stay where they are until the next refill.
  if (pos_ != 0) {
    if (avail != 0) std::memcpy(spare_.data(), buf_.data() + pos_, avail);
    buf_.swap(spare_);
    pos_ = 0;
    end_ = avail;
  }
  while (end_ - pos_ < n && !eof_) {
    const std::size_t got = read_some(buf_.data() + end_, buf_.size() - end_);
    if (got == 0) {
      eof_ = true;
      break;
    }
    end_ += got;
  }
  return end_ - pos_;
}

bool binary_file_reader::next_slow(std::span<const std::uint8_t>& msg) {
  if (failed_) return false;
  std::size_t avail = fill(3); // prefix + tag
  if (avail < 3) {
    if (avail != 0) {
      ++stats_.truncated_tail;
      report("itch: " + path_ + ": input ends inside a message (" + std::to_string(avail) + " bytes left)");
      pos_ = end_;
    }
    return false;
  }
  const std::uint8_t* p = buf_.data() + pos_;
  const std::size_t prefix = (std::size_t{p[0]} << 8) | p[1];
  const std::uint8_t tag = p[2];
  const std::size_t fixed = kMessageSize[tag];
  std::size_t len = fixed;
  if (fixed == 0) {
    if (prefix == 0) {
      ++stats_.unframeable;
      failed_ = true;
      report("itch: " + path_ + ": unknown message type " + tag_name(tag) + " with a zero length prefix at byte " +
             std::to_string(stats_.bytes) + ": cannot find the next message, reading stopped");
      return false;
    }
    len = prefix;
    ++stats_.unknown_framed;
    if (!reported_unknown_) {
      reported_unknown_ = true;
      report("itch: " + path_ + ": unknown message type " + tag_name(tag) +
             " framed by its length prefix (further ones counted, not reported)");
    }
  } else if (prefix != fixed) {
    if (prefix == 0) {
      ++stats_.zero_prefix;
      if (!reported_zero_) {
        reported_zero_ = true;
        report("itch: " + path_ + ": zero length prefix; taking message lengths from their types "
               "(further ones counted, not reported)");
      }
    } else {
      ++stats_.mismatched_prefix;
      if (!reported_mismatch_) {
        reported_mismatch_ = true;
        report("itch: " + path_ + ": length prefix " + std::to_string(prefix) + " disagrees with type " +
               tag_name(tag) + " (" + std::to_string(fixed) +
               " bytes); taking lengths from types (further ones counted, not reported)");
      }
    }
  }
  avail = fill(2 + len);
  if (avail < 2 + len) {
    ++stats_.truncated_tail;
    report("itch: " + path_ + ": input ends inside a message " + tag_name(tag) + " (" + std::to_string(avail - 2) +
           " of " + std::to_string(len) + " bytes)");
    pos_ = end_;
    return false;
  }
  msg = std::span<const std::uint8_t>(buf_.data() + pos_ + 2, len);
  pos_ += 2 + len;
  stats_.bytes += 2 + len;
  ++stats_.messages;
  return true;
}

} // namespace mdgw::itch
