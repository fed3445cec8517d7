#include "read_batch.hpp"

#include <liburing.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace mdgw::bench {

read_batch::read_batch(unsigned capacity) : capacity_(capacity) {
  if (capacity == 0) {
    why_ = "--read-batch 0";
    return;
  }
  auto ring = std::make_unique<io_uring>();
  if (const int r = io_uring_queue_init(capacity, ring.get(), 0); r < 0) {
    why_ = std::string("io_uring_queue_init: ") + std::strerror(-r);
    capacity_ = 0;
    return;
  }
  ring_ = std::move(ring);
  done_.resize(capacity);
}

read_batch::~read_batch() {
  if (ring_) io_uring_queue_exit(ring_.get());
}

void read_batch::queue(int fd, void* buf, std::size_t space, void* user) {
  io_uring_sqe* sqe = io_uring_get_sqe(ring_.get());  // never null: at most capacity_ queued
  io_uring_prep_recv(sqe, fd, buf, space, MSG_DONTWAIT);
  io_uring_sqe_set_data64(sqe, count_);
  done_[count_] = {user, -ECANCELED, space};
  ++count_;
}

std::span<const read_batch::done> read_batch::submit() {
  const unsigned n = count_;
  count_ = 0;
  if (n == 0) return {};
  int r;
  do {
    r = io_uring_submit_and_wait(ring_.get(), n);
  } while (r == -EINTR);
  recv_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  const unsigned taken = r < 0 ? 0 : std::min(unsigned(r), n);
  for (unsigned seen = 0; seen < taken;) {
    io_uring_cqe* cqe = nullptr;
    const int w = io_uring_wait_cqe(ring_.get(), &cqe);
    if (w == -EINTR) continue;
    if (w < 0) break;
    const uint64_t i = io_uring_cqe_get_data64(cqe);
    if (i < n) done_[i].result = cqe->res;
    io_uring_cqe_seen(ring_.get(), cqe);
    ++seen;
  }
  if (taken != n) {
    // The kernel refused (part of) the submission: those reads fail (their connections
    // reconnect) and reading goes one recv at a time from now on.
    why_ = std::string("io_uring submission failed: ") + std::strerror(r < 0 ? -r : EIO);
    io_uring_queue_exit(ring_.get());
    ring_.reset();
    open_ = false;
  }
  return {done_.data(), n};
}

}  // namespace mdgw::bench
