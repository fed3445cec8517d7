// The byte-order guard of a stream that a session may write whole frames to directly
// while Beast writes its own frames (pongs, pings, close) through the same stream:
// direct_socket (plain) and tls_fd_stream (TLS).
//
// - A direct write starts only when no write of Beast's is in flight and no direct
//   frame is unfinished (open()).
// - A Beast write counts from its start until it completes (beast_started/beast_done),
//   also while it waits, so a new direct frame never overtakes one that waits.
// - A direct frame the stream could not finish at once closes the gate (close) until its
//   rest is out (reopen); a Beast write that finds it closed waits on it (wait) and
//   checks again when woken.
#pragma once

#include "net.hpp"

#include <memory>
#include <utility>

namespace mdgw {

class write_gate {
public:
  [[nodiscard]] bool open() const noexcept { return beast_writes_ == 0 && !direct_pending_; }
  [[nodiscard]] bool closed() const noexcept { return direct_pending_; }

  void beast_started() noexcept { ++beast_writes_; }
  void beast_done() noexcept { --beast_writes_; }

  // A direct frame is queued in a send batch, or its rest is being written.
  void close() noexcept { direct_pending_ = true; }
  // The frame is out: Beast's writes that waited go now.
  void reopen() noexcept {
    direct_pending_ = false;
    if (waiting_) {
      waiting_ = false;
      timer_->cancel();
    }
  }
  // Waits (a composed op's `self`, called back with an error_code) until reopen or release.
  // The timer is made for the first write that waits, not when the gate closes: with
  // batched sends the gate closes for every frame, and a Beast write almost never finds
  // it closed.
  template <class Self>
  void wait(const net::any_io_executor& ex, Self&& self) {
    if (!timer_) {
      timer_ = std::make_unique<net::steady_timer>(ex);
      timer_->expires_at(net::steady_timer::time_point::max());
    }
    waiting_ = true;
    timer_->async_wait(std::forward<Self>(self));
  }
  // The stream is going away: waiting writes wake (and then fail on the closed socket).
  void release() noexcept {
    waiting_ = false;
    if (timer_) timer_->cancel();
  }

private:
  unsigned beast_writes_ = 0;
  bool direct_pending_ = false;
  bool waiting_ = false; // a Beast write waits on the timer
  std::unique_ptr<net::steady_timer> timer_;
};

} // namespace mdgw
