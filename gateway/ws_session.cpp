#include "ws_session.hpp"

namespace mdgw {

template <class NextLayer>
ws_session<NextLayer>::ws_session(io_worker& worker, NextLayer&& stream)
    : session_base(worker), ws_(std::move(stream)) {}

template <class NextLayer>
ws_session<NextLayer>::~ws_session() = default;

template <class NextLayer>
void ws_session<NextLayer>::run(http::request<http::string_body> req) {
  // The websocket stream has its own timeouts: the TCP stream's must be off (Beast
  // requires this before the upgrade).
  beast::get_lowest_layer(ws_).expires_never();
  const auto& cfg = worker_.config();
  websocket::stream_base::timeout t{};
  t.handshake_timeout = cfg.handshake_timeout;
  t.idle_timeout = cfg.idle_timeout;
  t.keep_alive_pings = true; // ping at half the idle timeout, close if nothing comes back
  ws_.set_option(t);
  ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(http::field::server, "mdgw"); }));
  ws_.read_message_max(cfg.max_message_bytes);
  ws_.auto_fragment(false);
  ws_.async_accept(req, beast::bind_front_handler(&ws_session::on_accept, this->shared_from_this()));
}

template <class NextLayer>
void ws_session<NextLayer>::on_accept(error_code ec) {
  if (ec) {
    fail(ec, "websocket accept");
    detach();
    return;
  }
  worker_.add(this, true);
  on_open();
  do_read();
}

template <class NextLayer>
void ws_session<NextLayer>::do_read() {
  ws_.async_read(buffer_, beast::bind_front_handler(&ws_session::on_read, this->shared_from_this()));
}

template <class NextLayer>
void ws_session<NextLayer>::on_read(error_code ec, std::size_t) {
  if (ec) {
    // message_too_big: Beast has already failed the connection with close code 1009.
    if (ec != websocket::error::message_too_big) fail(ec, "websocket read");
    closing_ = true;
    detach();
    return;
  }
  const auto data = buffer_.cdata();
  on_text(std::string_view(static_cast<const char*>(data.data()), data.size()));
  buffer_.consume(buffer_.size());
  if (!closing_) do_read();
}

template <class NextLayer>
void ws_session<NextLayer>::write_message(std::span<const net::const_buffer> buffers) {
  ws_.text(true);
  ws_.async_write(buffers, beast::bind_front_handler(&ws_session::on_write, this->shared_from_this()));
}

template <class NextLayer>
void ws_session<NextLayer>::on_write(error_code ec, std::size_t) {
  if (ec) {
    fail(ec, "websocket write");
    closing_ = true;
    detach();
    return;
  }
  on_write_done();
}

template <class NextLayer>
void ws_session<NextLayer>::close_with(std::uint16_t code, std::string_view reason) {
  if (close_started_) return;
  close_started_ = true;
  closing_ = true;
  ws_.async_close(websocket::close_reason(static_cast<websocket::close_code>(code), reason),
                  beast::bind_front_handler(&ws_session::on_close, this->shared_from_this()));
}

template <class NextLayer>
void ws_session<NextLayer>::on_close(error_code ec) {
  if (ec) fail(ec, "websocket close");
  detach();
}

template <class NextLayer>
void ws_session<NextLayer>::shutdown_going_away() {
  close_with(websocket::close_code::going_away, "server shutting down");
}

template class ws_session<plain_stream>;
template class ws_session<tls_stream>;

} // namespace mdgw
