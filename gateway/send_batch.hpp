// Many sessions' frames sent with one system call: an io_uring submission of up to
// `capacity` sends, one per session, made during a pass over the ready sessions.
//
// Rationale: in ui (1,000 clients on one core) each message costs one sendmsg, and on
// this project's machines the system call's entry and exit are a large share of it
// (page-table isolation, a paravirtualized kernel): mdgw_loopback_floor's bare loop of
// send() over 1,000 loopback connections took about twice the writer CPU per send of
// batches of 64 sends in one io_uring_enter (4.33 to 4.52 against 2.03 to 2.16 µs;
// docs/performance.md, "Sends batched with io_uring"). The kernel's TCP work per send
// stays the same; only the crossings are shared.
//
// Contract:
// - Only a pass of io_worker::flush_ready() queues (begin() .. end()); a session that
//   writes at any other time (a reply to a request, a timer, a write completion) uses its
//   one write as before (sendmsg, or SSL_write), so nothing queued ever waits for a later event.
// - Every queued send is MSG_DONTWAIT: the kernel completes it during submit(), whole,
//   in part, or not at all (-EAGAIN), and submit() calls each sender back with that
//   result before it returns. The caller keeps the bytes valid until then and holds its
//   stream's write gate closed meanwhile (write_gate.hpp), so no other frame can start.
// - Without io_uring (an old kernel, a sandbox that forbids it, --send-batch 0) enabled()
//   is false and sessions write each frame at once.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

struct io_uring;

namespace mdgw {

// A stream with a send in a batch: told how it ended (bytes sent, or -errno).
class batched_sender {
public:
  virtual void batch_sent(ssize_t result) = 0;

protected:
  ~batched_sender() = default;
};

class send_batch {
public:
  // capacity 0: disabled. Otherwise sets up a ring of that many entries; if the kernel
  // refuses, the batch stays disabled and why_disabled() says why.
  explicit send_batch(unsigned capacity);
  ~send_batch();
  send_batch(const send_batch&) = delete;
  send_batch& operator=(const send_batch&) = delete;

  // This thread: whether sends are batched now. Any thread: enabled_any() and the counters.
  [[nodiscard]] bool enabled() const noexcept { return ring_ != nullptr; }
  [[nodiscard]] bool enabled_any() const noexcept { return enabled_.load(std::memory_order_relaxed); }
  // Why it is not (set once, before the io thread starts, or by the io thread when a
  // submission fails; read it once enabled_any() is false).
  [[nodiscard]] const char* why_disabled() const noexcept { return why_.load(std::memory_order_acquire); }

  // A pass: queue() is accepted only between begin() and end().
  void begin() noexcept { open_ = enabled(); }
  void end() noexcept { open_ = false; }
  [[nodiscard]] bool accepting() const noexcept { return open_ && count_ < capacity_; }
  [[nodiscard]] bool full() const noexcept { return count_ == capacity_; }
  [[nodiscard]] bool pending() const noexcept { return count_ != 0; }

  // Queues one send of head then body to fd (accepting() must be true). `keep` holds the
  // sender alive until its callback has run.
  void queue(int fd, const void* head, std::size_t head_size, const void* body, std::size_t body_size,
             batched_sender* sender, std::shared_ptr<void> keep);
  // Bytes owned by the batch for the next queue() (accepting() must be true): valid until
  // that send's sender has been called back. A TLS stream encrypts its record into it.
  [[nodiscard]] std::string& next_storage() noexcept { return entries_[count_].storage; }
  // Sends everything queued with one system call and calls every sender back, in queue
  // order. A sender's callback may queue again (accepting() permitting): that send goes
  // in the next submit().
  void submit();

  // Totals for /health and tests (any thread).
  [[nodiscard]] std::uint64_t submits() const noexcept { return submits_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t sends() const noexcept { return sends_.load(std::memory_order_relaxed); }

private:
  struct entry {
    iovec iov[2];
    msghdr msg;
    batched_sender* sender;
    std::shared_ptr<void> keep;
    ssize_t result;
    bool done;
    std::string storage; // next_storage(): kept (capacity too) for the next pass
  };

  std::unique_ptr<io_uring> ring_;
  std::atomic<bool> enabled_{false};
  std::atomic<const char*> why_{"not started"};
  std::string why_text_; // why_'s storage when it is an error message
  unsigned capacity_ = 0;
  unsigned count_ = 0;
  bool open_ = false;
  // capacity_ of each; the first count_ of entries_ are queued. submit() swaps them, so
  // that a callback may queue into entries_ while in_flight_ is called back.
  std::vector<entry> entries_;
  std::vector<entry> in_flight_;
  std::atomic<std::uint64_t> submits_{0};
  std::atomic<std::uint64_t> sends_{0};
};

} // namespace mdgw
