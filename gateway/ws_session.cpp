#include "ws_session.hpp"

namespace mdgw {

template <class NextLayer>
ws_session<NextLayer>::ws_session(io_worker& worker, NextLayer&& stream)
    : session_base(worker), ws_(std::move(stream)) {}

template <class NextLayer>
ws_session<NextLayer>::~ws_session() = default;

namespace {

// Compares without an early exit, so the time taken does not tell how much of a token
// of the right length matched.
bool same_token(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size() || b.empty()) return false;
  unsigned diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned>(a[i] ^ b[i]);
  return diff == 0;
}

// The token a WebSocket upgrade presents: `Authorization: Bearer T` or `?token=T`.
std::string_view presented_token(const http::request<http::string_body>& req) {
  const auto auth = req[http::field::authorization];
  if (auth.size() > 7 && auth.substr(0, 7) == "Bearer ") return {auth.data() + 7, auth.size() - 7};
  const std::string_view target(req.target().data(), req.target().size());
  const auto q = target.find('?');
  if (q == std::string_view::npos) return {};
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view kv = query.substr(0, amp);
    if (kv.substr(0, 6) == "token=") return kv.substr(6);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

// The subprotocol a client offered (Sec-WebSocket-Protocol, comma separated), by our
// preference: mdgw.capnp.v1 only when asked for, else mdgw.json.v1 when offered.
std::string_view chosen_subprotocol(std::string_view offered) {
  bool json = false;
  while (!offered.empty()) {
    const auto comma = offered.find(',');
    std::string_view p = offered.substr(0, comma);
    while (!p.empty() && p.front() == ' ') p.remove_prefix(1);
    while (!p.empty() && p.back() == ' ') p.remove_suffix(1);
    if (p == "mdgw.capnp.v1") return p;
    if (p == "mdgw.json.v1") json = true;
    if (comma == std::string_view::npos) break;
    offered.remove_prefix(comma + 1);
  }
  return json ? "mdgw.json.v1" : "";
}

} // namespace

template <class NextLayer>
void ws_session<NextLayer>::run(http::request<http::string_body> req) {
  // The websocket stream has its own timeouts: the TCP stream's must be off (Beast
  // requires this before the upgrade). A direct_socket has none.
  if constexpr (!std::is_same_v<NextLayer, direct_socket>) beast::get_lowest_layer(ws_).expires_never();
  const auto& cfg = worker_.config();
  // Checked here, answered after the upgrade: a browser sees a close code, never the
  // status of a refused handshake.
  unauthorized_ = !cfg.auth_token.empty() && !same_token(presented_token(req), cfg.auth_token);
  websocket::stream_base::timeout t{};
  t.handshake_timeout = cfg.handshake_timeout;
  t.idle_timeout = cfg.idle_timeout;
  t.keep_alive_pings = true; // ping at half the idle timeout, close if nothing comes back
  ws_.set_option(t);
  const auto offered = req[http::field::sec_websocket_protocol];
  const std::string chosen(chosen_subprotocol(std::string_view(offered.data(), offered.size())));
  if (chosen == "mdgw.capnp.v1") format_ = protocol::wire_format::capnp;
  ws_.set_option(websocket::stream_base::decorator([chosen](websocket::response_type& res) {
    res.set(http::field::server, "mdgw");
    if (!chosen.empty()) res.set(http::field::sec_websocket_protocol, chosen);
  }));
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
  if (unauthorized_) {
    close_with(kCloseUnauthorized, "unauthorized: missing or wrong token");
    do_read(); // reads the peer's close reply
    return;
  }
  on_open();
  do_read();
}

// Reads in chunks of at most kReadChunk bytes until a message is complete. A pending
// Beast async_read prepares its default 1536 bytes in the buffer while it waits: on an
// idle connection (most of them: clients rarely send) that is memory for nothing.
// Requests are small, so one chunk usually holds a whole message; a large one grows the
// buffer as it comes and the buffer is freed again after it.
template <class NextLayer>
void ws_session<NextLayer>::do_read() {
  ws_.async_read_some(buffer_, kReadChunk,
                      beast::bind_front_handler(&ws_session::on_read, this->shared_from_this()));
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
  if (!ws_.is_message_done()) return do_read();
  const auto data = buffer_.cdata();
  if (!closing_) on_text(std::string_view(static_cast<const char*>(data.data()), data.size()), ws_.got_binary());
  buffer_.consume(buffer_.size());
  if (buffer_.capacity() > kReadChunk) buffer_.shrink_to_fit();
  if (!closing_) do_read();
}

namespace {

// The header of an unmasked, final server frame of `size` bytes (RFC 6455 5.2).
std::size_t frame_header(unsigned char* out, bool binary, std::size_t size) noexcept {
  out[0] = binary ? 0x82 : 0x81;
  if (size < 126) {
    out[1] = static_cast<unsigned char>(size);
    return 2;
  }
  if (size <= 0xffff) {
    out[1] = 126;
    out[2] = static_cast<unsigned char>(size >> 8);
    out[3] = static_cast<unsigned char>(size);
    return 4;
  }
  out[1] = 127;
  for (int i = 0; i < 8; ++i) out[2 + i] = static_cast<unsigned char>(static_cast<std::uint64_t>(size) >> (56 - 8 * i));
  return 10;
}

} // namespace

template <class NextLayer>
bool ws_session<NextLayer>::write_message(net::const_buffer message) {
  const bool binary = format_ == protocol::wire_format::capnp;
  // The whole frame in one write when nothing else writes: one sendmsg (plain,
  // direct_socket.hpp) or one TLS record (tls_fd_stream.hpp). The completion handler,
  // which holds the session, is only built for a frame that does not go out at once.
  NextLayer& stream = ws_.next_layer();
  if (ws_.is_open() && stream.can_write_direct()) {
    const std::size_t head = frame_header(frame_head_.data(), binary, message.size());
    const net::const_buffer head_buf = net::buffer(frame_head_.data(), head);
    error_code ec;
    const auto make_on_rest = [this] { return on_write_handler(); };
    direct_result r;
    if (send_batch& batch = worker_.batch(); batch.accepting()) {
      // In a pass over the ready sessions: one system call sends many sessions' frames.
      batched_head_ = head;
      batched_ = message;
      r = stream.queue_direct(batch, head_buf, message, ec, make_on_rest, this, this->shared_from_this());
    } else {
      r = stream.write_direct(head_buf, message, ec, make_on_rest);
    }
    switch (r) {
    case direct_result::done: return true;
    case direct_result::partial:
    case direct_result::queued: return false;
    case direct_result::failed:
      on_write(ec, 0);
      return false;
    case direct_result::nothing: break; // Beast's write waits for the socket
    }
  }
  ws_.binary(binary);
  ws_.async_write(message, on_write_handler());
  return false;
}

template <class NextLayer>
void ws_session<NextLayer>::batch_sent(ssize_t result) {
  error_code ec;
  const auto make_on_rest = [this] { return on_write_handler(); };
  const net::const_buffer head = net::buffer(frame_head_.data(), batched_head_);
  switch (ws_.next_layer().finish_batched(result, head, batched_, ec, make_on_rest)) {
  case direct_result::done: written_at_once(); return;
  case direct_result::partial:
  case direct_result::queued: return; // on_write when the rest is out
  case direct_result::failed: on_write(ec, 0); return;
  case direct_result::nothing: break;
  }
  // The socket took nothing (plain): Beast's write waits for it, as in write_message.
  ws_.binary(format_ == protocol::wire_format::capnp);
  ws_.async_write(batched_, on_write_handler());
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

template class ws_session<direct_socket>;
template class ws_session<tls_server_stream>;

} // namespace mdgw
