#include "send_batch.hpp"

#include <liburing.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace mdgw {

send_batch::send_batch(unsigned capacity) : capacity_(capacity) {
  if (capacity == 0) {
    why_ = "--send-batch 0";
    return;
  }
  auto ring = std::make_unique<io_uring>();
  // The completion queue holds two submissions' worth (the kernel's default).
  const int r = io_uring_queue_init(capacity, ring.get(), 0);
  if (r < 0) {
    capacity_ = 0;
    why_text_ = std::string("io_uring_queue_init: ") + std::strerror(-r);
    why_.store(why_text_.c_str(), std::memory_order_release);
    return;
  }
  ring_ = std::move(ring);
  entries_.resize(capacity);
  in_flight_.resize(capacity);
  why_ = "";
  enabled_ = true;
}

send_batch::~send_batch() {
  if (ring_) io_uring_queue_exit(ring_.get());
}

void send_batch::queue(int fd, const void* head, std::size_t head_size, const void* body, std::size_t body_size,
                       batched_sender* sender, std::shared_ptr<void> keep) {
  entry& e = entries_[count_];
  e.iov[0] = {const_cast<void*>(head), head_size};
  e.iov[1] = {const_cast<void*>(body), body_size};
  e.msg = msghdr{};
  e.msg.msg_iov = e.iov;
  e.msg.msg_iovlen = 2;
  e.sender = sender;
  e.keep = std::move(keep);
  e.result = 0;
  e.done = false;
  io_uring_sqe* sqe = io_uring_get_sqe(ring_.get()); // never null: at most capacity_ are queued
  io_uring_prep_sendmsg(sqe, fd, &e.msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  // Tagged with the submission it belongs to: a completion left over from a failed one
  // is never taken for a later send.
  io_uring_sqe_set_data64(sqe, (submits_.load(std::memory_order_relaxed) & 0xffffffffU) << 32 | count_);
  ++count_;
}

void send_batch::submit() {
  if (count_ == 0) return;
  const unsigned n = count_;
  int r;
  do {
    r = io_uring_submit_and_wait(ring_.get(), n);
  } while (r == -EINTR);
  // Every send is MSG_DONTWAIT, so each one the kernel took completes during the call.
  const unsigned taken = r < 0 ? 0 : std::min(static_cast<unsigned>(r), n);
  unsigned seen = 0;
  while (seen < taken) {
    io_uring_cqe* cqe = nullptr;
    const int w = io_uring_wait_cqe(ring_.get(), &cqe);
    if (w == -EINTR) continue;
    if (w < 0) {
      r = w;
      break;
    }
    const std::uint64_t tag = io_uring_cqe_get_data64(cqe);
    const std::uint64_t i = tag & 0xffffffffU;
    if (tag >> 32 == (submits_.load(std::memory_order_relaxed) & 0xffffffffU) && i < n) {
      entries_[i].result = cqe->res;
      entries_[i].done = true;
      ++seen;
    }
    io_uring_cqe_seen(ring_.get(), cqe);
  }
  if (seen != n) {
    // The kernel refused the submission, or part of it (out of memory): the sends it did
    // not complete fail with its error, and batching ends here (what it did not take would
    // otherwise go out with a later submission).
    why_text_ = std::string("io_uring submission failed: ") + std::strerror(r < 0 ? -r : EIO);
    why_.store(why_text_.c_str(), std::memory_order_release);
    enabled_ = false;
    io_uring_queue_exit(ring_.get());
    ring_.reset();
    open_ = false;
  }
  submits_.store(submits_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  sends_.store(sends_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  entries_.swap(in_flight_);
  count_ = 0;
  for (unsigned i = 0; i < n; ++i) {
    entry& e = in_flight_[i];
    const std::shared_ptr<void> keep = std::move(e.keep);
    e.sender->batch_sent(e.done ? e.result : static_cast<ssize_t>(r < 0 ? r : -EIO));
  }
}

} // namespace mdgw
