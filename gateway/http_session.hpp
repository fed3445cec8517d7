// HTTP on a plain or TLS stream: serves the endpoints of http_handler and hands a
// WebSocket upgrade to ws_session. Instantiated in http_session.cpp for both streams.
#pragma once

#include "http_handler.hpp"
#include "io_worker.hpp"
#include "net.hpp"
#include "tls_fd_stream.hpp"

#include <memory>
#include <optional>

namespace mdgw {

template <class Stream>
class http_session final : public connection, public std::enable_shared_from_this<http_session<Stream>> {
public:
  // `buffer` holds bytes already read by TLS detection.
  http_session(io_worker& worker, const http_context& ctx, Stream&& stream, beast::flat_buffer&& buffer);
  ~http_session() override;
  void run();
  void shutdown_going_away() override;

private:
  void start_handshake();
  void on_handshake(error_code ec, std::size_t used);
  void do_read();
  void on_read(error_code ec, std::size_t n);
  void on_write(bool keep_alive, error_code ec, std::size_t n);
  void do_eof();

  io_worker& worker_;
  const http_context& ctx_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  bool registered_ = false;
};

extern template class http_session<plain_stream>;
extern template class http_session<tls_server_stream>;

// Reads the first bytes of a new connection and starts TLS or plain HTTP.
class detect_session : public std::enable_shared_from_this<detect_session> {
public:
  detect_session(io_worker& worker, const http_context& ctx, ssl::context* tls, tcp::socket&& socket);
  void run();

private:
  void on_detect(error_code ec, bool is_tls);

  io_worker& worker_;
  const http_context& ctx_;
  ssl::context* tls_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
};

} // namespace mdgw
