// The stream of a plain WebSocket session: a tcp::socket that Beast's websocket stream
// reads and writes as usual, and that the session may also write a whole data frame to
// directly, with one non-blocking sendmsg, when no Beast write is under way.
//
// Rationale: in the ui scenario (1,000 clients on one core) a data message went through
// Beast's write op, Asio's composed write, the reactor's speculative send and a posted
// completion before the session could build its next message. A frame whose bytes all
// fit in the socket buffer (nearly every one: a client that reads keeps its buffer
// empty) now costs one sendmsg and nothing else.
//
// Byte order on the wire is the invariant: a WebSocket stream must never carry one
// frame's bytes inside another's. Beast writes control frames on its own (the pong to a
// client's ping, its keep-alive pings, close), so:
// - a direct write starts only when no Beast write is in flight on this socket
//   (can_write_direct); else the session uses Beast's write, which queues behind Beast's
//   own frame;
// - a direct frame the socket took only part of is finished with an async write of the
//   rest, and Beast's writes (async_write_some of this layer) wait at a gate until it is
//   done; a frame the socket took nothing of simply goes the Beast way.
// Direct writes stop once the websocket is no longer open (ws_session checks is_open()), so
// no data frame follows a close frame.
#pragma once

#include "net.hpp"
#include "send_batch.hpp"
#include "write_gate.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <memory>
#include <utility>

namespace mdgw {

namespace direct_detail {

struct state {
  explicit state(tcp::socket&& s) : socket(std::move(s)) {}
  tcp::socket socket;
  write_gate gate;
};

// Beast's async_write_some: counted from its start, after any direct frame in progress,
// then on the socket (write_gate.hpp).
template <class ConstBufferSequence>
struct gated_write_op {
  std::shared_ptr<state> st;
  ConstBufferSequence buffers;
  bool started = false;
  bool writing = false;

  template <class Self>
  void operator()(Self& self, error_code ec = {}, std::size_t n = 0) {
    if (writing) {
      st->gate.beast_done();
      self.complete(ec, n);
      return;
    }
    if (!started) {
      started = true;
      st->gate.beast_started();
    }
    if (st->gate.closed()) {
      st->gate.wait(st->socket.get_executor(), std::move(self)); // woken when the direct frame is done
      return;
    }
    writing = true;
    st->socket.async_write_some(buffers, std::move(self));
  }
};

} // namespace direct_detail

class direct_socket {
public:
  using executor_type = tcp::socket::executor_type;

  explicit direct_socket(tcp::socket&& socket)
      : st_(std::make_shared<direct_detail::state>(std::move(socket))) {}
  direct_socket(direct_socket&&) noexcept = default;
  direct_socket& operator=(direct_socket&&) noexcept = default;
  // Closes the socket, so that operations still holding the state complete (aborted).
  ~direct_socket() {
    if (!st_) return;
    error_code ignored;
    st_->socket.close(ignored);
    st_->gate.release();
  }

  [[nodiscard]] executor_type get_executor() noexcept { return st_->socket.get_executor(); }
  [[nodiscard]] tcp::socket& socket() noexcept { return st_->socket; }

  template <class MutableBufferSequence, class Token>
  auto async_read_some(const MutableBufferSequence& buffers, Token&& token) {
    return st_->socket.async_read_some(buffers, std::forward<Token>(token));
  }

  template <class ConstBufferSequence, class Token>
  auto async_write_some(const ConstBufferSequence& buffers, Token&& token) {
    return net::async_compose<Token, void(error_code, std::size_t)>(
        direct_detail::gated_write_op<ConstBufferSequence>{st_, buffers}, token, st_->socket);
  }

  // No write of Beast's or of ours is in flight: a direct write may start.
  [[nodiscard]] bool can_write_direct() const noexcept { return st_->gate.open(); }

  using direct_result = mdgw::direct_result;
  // Writes head then body with one non-blocking sendmsg (direct_result in net.hpp). Only
  // on partial is make_on_rest() called, for the handler (ec, n) called when the rest is
  // written (never from this call): a frame that goes out whole builds none. head and
  // body must stay valid until then.
  template <class MakeHandler>
  direct_result write_direct(net::const_buffer head, net::const_buffer body, error_code& ec,
                             MakeHandler&& make_on_rest) {
    std::array<iovec, 2> iov{{{const_cast<void*>(head.data()), head.size()},
                              {const_cast<void*>(body.data()), body.size()}}};
    msghdr msg{};
    msg.msg_iov = iov.data();
    msg.msg_iovlen = iov.size();
    ssize_t n;
    do {
      n = ::sendmsg(st_->socket.native_handle(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return after_send(n < 0 ? -errno : n, head, body, ec, std::forward<MakeHandler>(make_on_rest));
  }

  // The same write as one send of the io thread's batch (send_batch.hpp): queued, the
  // gate closed until the batch calls `sender` back, which then calls finish_batched.
  // (The signature is tls_fd_stream's, which may not queue.)
  template <class MakeHandler>
  direct_result queue_direct(send_batch& batch, net::const_buffer head, net::const_buffer body, error_code&,
                             MakeHandler&&, batched_sender* sender, std::shared_ptr<void> keep) {
    st_->gate.close();
    batch.queue(st_->socket.native_handle(), head.data(), head.size(), body.data(), body.size(), sender,
                std::move(keep));
    return direct_result::queued;
  }
  // How a queued write went (result: bytes sent, or -errno), as write_direct says it, with
  // the same arguments as queue_direct's.
  template <class MakeHandler>
  direct_result finish_batched(ssize_t result, net::const_buffer head, net::const_buffer body, error_code& ec,
                               MakeHandler&& make_on_rest) {
    st_->gate.reopen();
    return after_send(result, head, body, ec, std::forward<MakeHandler>(make_on_rest));
  }

  // Websocket teardown and close, as Beast does them for a socket.
  friend void teardown(beast::role_type role, direct_socket& s, error_code& ec) {
    websocket::teardown(role, s.st_->socket, ec);
  }
  template <class Handler>
  friend void async_teardown(beast::role_type role, direct_socket& s, Handler&& handler) {
    websocket::async_teardown(role, s.st_->socket, std::forward<Handler>(handler));
  }
  friend void beast_close_socket(direct_socket& s) {
    error_code ignored;
    s.st_->socket.close(ignored);
  }

private:
  // A send of head then body returned n (bytes, or -errno).
  template <class MakeHandler>
  direct_result after_send(ssize_t n, net::const_buffer head, net::const_buffer body, error_code& ec,
                           MakeHandler&& make_on_rest) {
    if (n < 0) {
      if (n == -EAGAIN || n == -EWOULDBLOCK || n == -EINTR) return direct_result::nothing;
      ec = error_code(static_cast<int>(-n), boost::system::system_category());
      return direct_result::failed;
    }
    const auto sent = static_cast<std::size_t>(n);
    if (sent == head.size() + body.size()) return direct_result::done;
    if (sent == 0) return direct_result::nothing;
    const std::array<net::const_buffer, 2> rest{head + std::min(sent, head.size()),
                                                body + (sent > head.size() ? sent - head.size() : 0)};
    st_->gate.close();
    net::async_write(st_->socket, rest, [st = st_, h = make_on_rest()](error_code e, std::size_t k) mutable {
      st->gate.reopen();
      h(e, k);
    });
    return direct_result::partial;
  }

  // Shared with the operations in flight, which may complete after the stream is gone.
  std::shared_ptr<direct_detail::state> st_;
};

} // namespace mdgw
