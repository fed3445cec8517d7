// net_setup: the start-up side of mdgw-bench's networking: resolving the target, the
// client TLS context, the WebSocket key/accept pair, and one blocking HTTP GET (the
// instrument list). Errors throw std::runtime_error: they end the run before it starts.
#pragma once

#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <memory>
#include <string>
#include <string_view>

#include "bench_options.hpp"

namespace mdgw::bench {

struct resolved_target {
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
};

[[nodiscard]] resolved_target resolve(const target_url& url);

struct ssl_ctx_deleter {
  void operator()(SSL_CTX* c) const noexcept { SSL_CTX_free(c); }
};
using ssl_ctx_ptr = std::unique_ptr<SSL_CTX, ssl_ctx_deleter>;

// Accepts any certificate unless verify (then ca_file, or the system's trust anchors).
[[nodiscard]] ssl_ctx_ptr make_client_tls(bool verify, const std::string& ca_file);

// The oldest queued OpenSSL error of this thread, as text.
[[nodiscard]] std::string tls_error_text();

// Sets SNI and, when the context verifies, the expected host name.
void prepare_client_ssl(SSL* ssl, const std::string& host);

// A fresh random Sec-WebSocket-Key and the Sec-WebSocket-Accept a server must answer.
[[nodiscard]] std::string make_ws_key();
[[nodiscard]] std::string ws_accept_for(const std::string& key);
// The 101 reply a server sends to `request` (a client's upgrade request, headers whole);
// for the test and benchmark servers that feed the harness.
[[nodiscard]] std::string ws_upgrade_reply(std::string_view request);

// GET path over a blocking connection (TLS when url.tls); returns the body of a 200.
[[nodiscard]] std::string http_get(const target_url& url, const resolved_target& to, SSL_CTX* tls,
                                   const std::string& path, int timeout_ms = 10000);

}  // namespace mdgw::bench
