#include "http_session.hpp"

#include "ws_session.hpp"

#include <type_traits>

namespace mdgw {

namespace {

constexpr std::size_t kMaxRequestBytes = 16 * 1024;
template <class S>
constexpr bool kIsTls = std::is_same_v<S, tls_server_stream>;

} // namespace

template <class Stream>
http_session<Stream>::http_session(io_worker& worker, const http_context& ctx, Stream&& stream,
                                   beast::flat_buffer&& buffer)
    : worker_(worker), ctx_(ctx), stream_(std::move(stream)), buffer_(std::move(buffer)) {}

template <class Stream>
http_session<Stream>::~http_session() {
  if (registered_) worker_.remove(this, false);
}

template <class Stream>
void http_session<Stream>::run() {
  worker_.add(this, false);
  registered_ = true;
  if constexpr (kIsTls<Stream>) {
    // The handshake timeout starts with the slot (io_worker::run_handshake): under a
    // connection storm, a handshake that waited is not dropped for the others' slowness.
    worker_.run_handshake([self = this->shared_from_this()] { self->start_handshake(); });
  } else {
    do_read();
  }
}

template <class Stream>
void http_session<Stream>::start_handshake() {
  if constexpr (kIsTls<Stream>) {
    // Closed while waiting (shutdown): nothing to report.
    if (!stream_.socket().is_open()) return worker_.handshake_done();
    beast::get_lowest_layer(stream_).expires_after(worker_.config().handshake_timeout);
    stream_.async_handshake(ssl::stream_base::server, buffer_.data(),
                            beast::bind_front_handler(&http_session::on_handshake, this->shared_from_this()));
  }
}

template <class Stream>
void http_session<Stream>::on_handshake(error_code ec, std::size_t used) {
  worker_.handshake_done();
  if (ec) return fail(ec, "tls handshake");
  buffer_.consume(used);
  do_read();
}

template <class Stream>
void http_session<Stream>::do_read() {
  parser_.emplace();
  parser_->body_limit(kMaxRequestBytes);
  parser_->header_limit(kMaxRequestBytes);
  beast::get_lowest_layer(stream_).expires_after(worker_.config().handshake_timeout);
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&http_session::on_read, this->shared_from_this()));
}

template <class Stream>
void http_session<Stream>::on_read(error_code ec, std::size_t) {
  if (ec == http::error::end_of_stream) return do_eof();
  if (ec) return fail(ec, "http read");
  if (websocket::is_upgrade(parser_->get())) {
    worker_.remove(this, false);
    registered_ = false;
    std::shared_ptr<ws_session<typename ws_layer<Stream>::type>> ws;
    if constexpr (std::is_same_v<Stream, plain_stream>) {
      beast::get_lowest_layer(stream_).expires_never();
      ws = std::make_shared<ws_session<direct_socket>>(worker_, direct_socket(stream_.release_socket()));
    } else {
      ws = std::make_shared<ws_session<Stream>>(worker_, std::move(stream_));
    }
    ws->run(parser_->release());
    return;
  }
  res_ = handle_http(ctx_, parser_->get());
  const bool keep_alive = res_.keep_alive();
  http::async_write(stream_, res_,
                    beast::bind_front_handler(&http_session::on_write, this->shared_from_this(), keep_alive));
}

template <class Stream>
void http_session<Stream>::on_write(bool keep_alive, error_code ec, std::size_t) {
  if (ec) return fail(ec, "http write");
  if (!keep_alive) return do_eof();
  do_read();
}

template <class Stream>
void http_session<Stream>::do_eof() {
  if constexpr (kIsTls<Stream>) {
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(2));
    stream_.async_shutdown([self = this->shared_from_this()](error_code) {});
  } else {
    error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }
}

template <class Stream>
void http_session<Stream>::shutdown_going_away() {
  // No request in progress matters more than a clean exit: cancel it.
  beast::get_lowest_layer(stream_).cancel();
  error_code ec;
  beast::get_lowest_layer(stream_).socket().close(ec);
}

template class http_session<plain_stream>;
template class http_session<tls_server_stream>;

detect_session::detect_session(io_worker& worker, const http_context& ctx, ssl::context* tls, tcp::socket&& socket)
    : worker_(worker), ctx_(ctx), tls_(tls), stream_(std::move(socket)) {}

void detect_session::run() {
  stream_.expires_after(worker_.config().handshake_timeout);
  beast::async_detect_ssl(stream_, buffer_, beast::bind_front_handler(&detect_session::on_detect, shared_from_this()));
}

void detect_session::on_detect(error_code ec, bool is_tls) {
  if (ec) return fail(ec, "detect");
  if (is_tls) {
    if (tls_ == nullptr) {
      // No certificate configured: a TLS client cannot be served.
      error_code ignored;
      stream_.socket().close(ignored);
      return;
    }
    std::make_shared<http_session<tls_server_stream>>(
        worker_, ctx_, tls_server_stream(stream_.release_socket(), tls_->native_handle()), std::move(buffer_))
        ->run();
    return;
  }
  std::make_shared<http_session<plain_stream>>(worker_, ctx_, std::move(stream_), std::move(buffer_))->run();
}

} // namespace mdgw
