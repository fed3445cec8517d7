// Common names for the network code. Asio and Beast are compiled once in
// beast_asio.cpp (separate compilation); this header only declares.
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

namespace mdgw {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = boost::asio::ip::tcp;
using error_code = boost::system::error_code;

class tls_fd_stream;
class direct_socket;

// What a direct write of a whole WebSocket frame (direct_socket, tls_fd_stream) did.
// done: all of it went out. nothing: the stream took no byte (use Beast's write).
// partial: the rest is being written and the write's handler is called when it is done.
// failed: the error says why. queued: in the io thread's send batch (send_batch.hpp);
// the stream's finish_batched says how it went once the batch is sent.
enum class direct_result : unsigned char { done, nothing, partial, failed, queued };

using plain_stream = beast::tcp_stream;
// The stream a WebSocket session runs on after the upgrade from an HTTP session on Stream.
// Plain: the socket, which the session may also write data frames to directly
// (direct_socket.hpp). beast::tcp_stream's per-operation timeout and rate-policy
// bookkeeping (executor copies, timer checks) was about 5% of the io thread under load,
// and a websocket stream keeps its own timeouts.
template <class Stream>
struct ws_layer {
  using type = Stream;
};
template <>
struct ws_layer<plain_stream> {
  using type = direct_socket;
};
// The gateway's server side of wss:// and https:// (tls_fd_stream.hpp: no buffers of its
// own); the upstream clients (crypto_live.cpp) keep Beast's SSL stream.
using tls_server_stream = tls_fd_stream;
using tls_client_stream = beast::ssl_stream<beast::tcp_stream>;

// Reports an I/O failure unless it is one of the benign ends of a connection
// (operation_aborted, websocket closed, end of stream, TLS stream truncated, reset).
void fail(const error_code& ec, const char* what);
[[nodiscard]] bool benign(const error_code& ec);

} // namespace mdgw
