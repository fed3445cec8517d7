#include "recording_writer.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include <fcntl.h>
#include <unistd.h>

namespace mdgw::recording {

namespace {

// One producer's recorder: buffers its batch and the previous recorded top of each of
// its instruments (the base of the next diff). Feed thread only.
class producer_session final : public producer_recorder {
public:
  explicit producer_session(recording_writer& w) : writer_(w) {}

  void book(const book_top& top) noexcept override {
    if (top.instrument >= prev_.size()) prev_.resize(top.instrument + std::size_t{1});
    previous& p = prev_[top.instrument];
    recorded_book b;
    b.instrument = top.instrument;
    b.version = top.version;
    b.exch_ts = top.exch_ts;
    b.recv_ts = top.recv_ts;
    b.quality = top.quality;
    b.reason = top.reason;
    b.first_level = static_cast<std::uint32_t>(batch_.levels.size());
    const std::span<const price_level> old_levels(p.levels);
    diff_side(side::bid, old_levels.first(p.n_bids), {top.bids(), top.n_bids}, batch_.levels);
    diff_side(side::ask, old_levels.subspan(p.n_bids), {top.asks(), top.n_asks}, batch_.levels);
    batch_.add_book(b);
    p.levels.assign(top.levels, top.levels + top.n_bids + top.n_asks);
    p.n_bids = top.n_bids;
  }

  void trade(instrument_id id, side aggressor, price_t price, qty_t qty, std::uint64_t trade_seq,
             std::uint64_t exch_ts, std::uint64_t recv_ts) noexcept override {
    batch_.add_trade({id, aggressor, price, qty, trade_seq, exch_ts, recv_ts});
  }

  void state(instrument_id id, const instrument_state& st) noexcept override { batch_.add_state(id, st); }

  void flush() noexcept override {
    if (batch_.empty()) return;
    writer_.write_batch(batch_);
    batch_.clear();
  }

private:
  struct previous {
    std::vector<price_level> levels; // bids then asks, best first (as in a book_top)
    std::size_t n_bids = 0;
  };
  recording_writer& writer_;
  recorded_batch batch_;
  std::vector<previous> prev_; // by instrument id
};

} // namespace

recording_writer::recording_writer(const std::string& path, std::string_view mdgw_version) : path_(path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) throw std::runtime_error(path + ": cannot create: " + std::strerror(errno));
  capture_header h;
  h.created_ns = realtime_ns();
  h.mdgw_version = std::string(mdgw_version);
  buffer_.reserve(kFlushBytes * 2);
  append_file_start(buffer_, h);
  std::lock_guard lock(mutex_);
  write_out_locked();
  if (!error_.empty()) {
    ::close(fd_);
    fd_ = -1;
    throw std::runtime_error(error_);
  }
}

recording_writer::~recording_writer() { (void)close(); }

std::unique_ptr<producer_recorder> recording_writer::make_producer_recorder() {
  return std::make_unique<producer_session>(*this);
}

void recording_writer::instrument_added(const instrument_info& info) noexcept {
  std::lock_guard lock(mutex_);
  pending_instruments_.add_instrument(info);
}

void recording_writer::append_locked(recorded_batch& b) {
  // Stamped under the lock: recv_ts never decreases along the file.
  b.recv_ts = std::max(realtime_ns(), last_recv_ts_);
  last_recv_ts_ = b.recv_ts;
  if (buffer_.empty()) buffered_since_ = std::chrono::steady_clock::now();
  append_batch(buffer_, b);
  ++batches_;
}

void recording_writer::write_batch(recorded_batch& b) noexcept {
  std::lock_guard lock(mutex_);
  if (fd_ < 0) return;
  if (!pending_instruments_.empty()) {
    append_locked(pending_instruments_);
    pending_instruments_.clear();
  }
  append_locked(b);
  if (buffer_.size() >= kFlushBytes || std::chrono::steady_clock::now() - buffered_since_ >= kFlushAge) {
    write_out_locked();
  }
}

void recording_writer::write_out_locked() {
  std::size_t done = 0;
  while (done < buffer_.size() && error_.empty()) {
    const ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error_ = path_ + ": write failed: " + std::strerror(n < 0 ? errno : EIO) + " (recording ended)";
      std::fprintf(stderr, "mdgw: --record %s\n", error_.c_str());
      ::close(fd_);
      fd_ = -1;
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  bytes_ += done;
  buffer_.clear();
}

std::string recording_writer::close() {
  std::lock_guard lock(mutex_);
  if (fd_ >= 0) {
    if (!pending_instruments_.empty()) {
      append_locked(pending_instruments_);
      pending_instruments_.clear();
    }
    write_out_locked();
    if (fd_ >= 0 && ::close(fd_) != 0 && error_.empty()) {
      error_ = path_ + ": close failed: " + std::strerror(errno);
    }
    fd_ = -1;
  }
  return error_;
}

std::uint64_t recording_writer::batches() const {
  std::lock_guard lock(mutex_);
  return batches_;
}

std::uint64_t recording_writer::bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

} // namespace mdgw::recording
