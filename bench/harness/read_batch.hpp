// The reads of one epoll round made with one system call: an io_uring submission of one
// recv per ready connection (a TLS connection's ciphertext then goes to OpenSSL through
// a memory BIO).
//
// Rationale: the harness must not be the bottleneck (issue 6), and on loopback a recv is
// mostly the system call's crossing on this project's machines (page-table isolation, a
// paravirtualized kernel): with mdgw batching its sends, ui's one reader thread was 93%
// busy at 107,000 messages/s with one recv per ready connection. Each recv is
// MSG_DONTWAIT, so the kernel completes all of them during the submission.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

struct io_uring;

namespace mdgw::bench {

class read_batch {
 public:
  struct done {
    void* user;
    int result;         // bytes read, 0 at end of stream, or -errno
    std::size_t space;  // bytes offered
  };

  // capacity 0: off. When the kernel refuses a ring, off too, and why_disabled() says so.
  explicit read_batch(unsigned capacity);
  ~read_batch();
  read_batch(const read_batch&) = delete;
  read_batch& operator=(const read_batch&) = delete;

  [[nodiscard]] bool enabled() const noexcept { return ring_ != nullptr; }
  [[nodiscard]] const std::string& why_disabled() const noexcept { return why_; }

  void begin() noexcept { open_ = enabled(); }
  void end() noexcept { open_ = false; }
  [[nodiscard]] bool accepting() const noexcept { return open_ && count_ < capacity_; }
  [[nodiscard]] unsigned queued() const noexcept { return count_; }

  void queue(int fd, void* buf, std::size_t space, void* user);
  // Reads everything queued with one system call; the results are in queue order, valid
  // until the next queue(). recv_ns(): CLOCK_REALTIME when the call returned.
  std::span<const done> submit();
  [[nodiscard]] int64_t recv_ns() const noexcept { return recv_ns_; }

 private:
  std::unique_ptr<io_uring> ring_;
  std::string why_;
  unsigned capacity_ = 0;
  unsigned count_ = 0;
  bool open_ = false;
  std::vector<done> done_;
  int64_t recv_ns_ = 0;
};

}  // namespace mdgw::bench
