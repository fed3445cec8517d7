// A WebSocket session on a plain or TLS stream. Everything of a session runs on its io
// thread, so it needs no strand. Instantiated in ws_session.cpp for direct_socket (plain,
// ws_layer in net.hpp) and tls_server_stream only: Beast's websocket templates are
// compiled in that one file.
#pragma once

#include "direct_socket.hpp"
#include "net.hpp"
#include "send_batch.hpp"
#include "session_base.hpp"
#include "tls_fd_stream.hpp"

#include <array>
#include <memory>

namespace mdgw {

template <class NextLayer>
class ws_session final : public session_base,
                         public batched_sender,
                         public std::enable_shared_from_this<ws_session<NextLayer>> {
public:
  ws_session(io_worker& worker, NextLayer&& stream);
  ~ws_session() override;
  // Completes the upgrade for an HTTP request that asked for it.
  void run(http::request<http::string_body> req);
  void shutdown_going_away() override;

private:
  void on_accept(error_code ec);
  void do_read();
  void on_read(error_code ec, std::size_t n);
  bool write_message(net::const_buffer message) override;
  void on_write(error_code ec, std::size_t n);
  // on_write bound to this session (which it keeps alive): a data frame's completion.
  auto on_write_handler() { return beast::bind_front_handler(&ws_session::on_write, this->shared_from_this()); }
  void batch_sent(ssize_t result) override; // a frame queued in the io thread's send batch
  void close_with(std::uint16_t code, std::string_view reason) override;
  std::shared_ptr<void> keep_alive() override { return this->shared_from_this(); }
  void on_close(error_code ec);

  websocket::stream<NextLayer> ws_;
  static constexpr std::size_t kReadChunk = 256; // bytes a pending read prepares (do_read)
  beast::flat_buffer buffer_;
  std::array<unsigned char, 10> frame_head_{}; // of a direct frame in flight
  // A frame in the io thread's send batch: its header's size and the message.
  std::size_t batched_head_ = 0;
  net::const_buffer batched_{};
  bool close_started_ = false;
  bool unauthorized_ = false;
};

extern template class ws_session<direct_socket>;
extern template class ws_session<tls_server_stream>;

} // namespace mdgw
