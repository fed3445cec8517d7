#include "server.hpp"

#include "http_session.hpp"
#include "tls_fd_stream.hpp"

#include <openssl/ssl.h>

#include <cstdio>
#include <stdexcept>

namespace mdgw {

namespace {

// Mozilla's "intermediate" configuration (v5.7): TLS 1.2 and 1.3 only; for TLS 1.2,
// these AEAD suites with forward secrecy; TLS 1.3 uses OpenSSL's default suites, which
// are the same three Mozilla lists.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";
constexpr const char* kTls13Suites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

} // namespace

std::unique_ptr<ssl::context> make_tls_server_context(const gateway_config& cfg) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
  SSL_CTX* native = ctx->native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(native, kTls12Ciphers) != 1 || SSL_CTX_set_ciphersuites(native, kTls13Suites) != 1) {
    throw std::runtime_error("TLS: cannot apply the cipher configuration");
  }
  SSL_CTX_set_dh_auto(native, 1);
  // For tls_fd_stream: no record buffers while a connection is idle; a write may complete
  // in part and be retried from another address (the per-thread coalescing scratch); no
  // client-initiated renegotiation (TLS 1.2), which would make SSL_write read.
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                               SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION);
  tls_fd_stream::prepare_context(native); // records sealed by tls13_record_key after a TLS 1.3 handshake
  error_code ec;
  ctx->use_certificate_chain_file(cfg.cert_file, ec);
  if (ec) throw std::runtime_error("--cert '" + cfg.cert_file + "': " + ec.message());
  ctx->use_private_key_file(cfg.key_file, ssl::context::pem, ec);
  if (ec) throw std::runtime_error("--key '" + cfg.key_file + "': " + ec.message());
  if (SSL_CTX_check_private_key(native) != 1) {
    throw std::runtime_error("--key '" + cfg.key_file + "' does not match --cert '" + cfg.cert_file + "'");
  }
  return ctx;
}

server::server(const gateway_config& cfg, publication& pub, std::vector<feed*> feeds) : cfg_(cfg), pub_(pub) {
  if (pub.io_threads() != cfg.io_threads) throw std::logic_error("publication and config disagree on io threads");
  http_ctx_ = std::make_unique<http_context>(http_context{pub, std::move(feeds), {}, std::chrono::steady_clock::now()});
  for (unsigned i = 0; i < cfg.io_threads; ++i) {
    workers_.push_back(std::make_unique<io_worker>(i, pub, cfg));
    http_ctx_->workers.push_back(workers_.back().get());
  }
  if (!cfg.cert_file.empty()) tls_ = make_tls_server_context(cfg);
}

server::~server() {
  for (auto& w : workers_) w->join();
}

std::uint16_t server::start() {
  error_code ec;
  const auto addr = net::ip::make_address(cfg_.bind, ec);
  if (ec) throw std::runtime_error("--bind '" + cfg_.bind + "': not an IP address");
  const tcp::endpoint ep{addr, cfg_.port};
  acceptor_.open(ep.protocol());
  acceptor_.set_option(net::socket_base::reuse_address(true));
  acceptor_.bind(ep, ec);
  if (ec) throw std::runtime_error("--port " + std::to_string(cfg_.port) + ": cannot bind " + cfg_.bind + ": " + ec.message());
  acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("listen: " + ec.message());
  for (auto& w : workers_) w->start();
  signals_.async_wait([this](const error_code& e, int) {
    if (!e) shutdown();
  });
  do_accept();
  return acceptor_.local_endpoint().port();
}

void server::do_accept() {
  // The new socket belongs to the next worker's io_context: a connection lives on
  // exactly one io thread from its first byte to its last.
  io_worker& w = *workers_[next_worker_];
  next_worker_ = (next_worker_ + 1) % workers_.size();
  acceptor_.async_accept(w.context(), [this, &w](error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted) return;
    if (ec) {
      fail(ec, "accept");
    } else {
      std::size_t open = 0;
      for (auto& x : workers_) open += x->ws_connections() + x->http_connections();
      if (open >= cfg_.max_connections) {
        error_code ignored;
        socket.close(ignored);
      } else {
        error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        auto s = std::make_shared<detect_session>(w, *http_ctx_, tls_.get(), std::move(socket));
        net::post(w.context(), [s] { s->run(); });
      }
    }
    do_accept();
  });
}

void server::run_until_signal() { main_ioc_.run(); }

void server::shutdown() {
  std::fprintf(stdout, "mdgw: shutting down\n");
  std::fflush(stdout);
  error_code ec;
  acceptor_.close(ec);
  for (auto& w : workers_) w->begin_shutdown(std::chrono::milliseconds(3000));
  for (auto& w : workers_) w->join();
}

} // namespace mdgw
