// The gateway server: the io workers, the TLS context, the acceptor on the one port, and
// ordered shutdown (stop accepting, close sessions with "going away", drain, join).
#pragma once

#include "config.hpp"
#include "http_handler.hpp"
#include "io_worker.hpp"
#include "net.hpp"

#include <memory>
#include <vector>

namespace mdgw {

// The TLS configuration of wss:// and https:// (TLS 1.2+, AEAD suites, the modes
// tls_fd_stream needs) with cfg.cert_file and cfg.key_file; throws naming the bad one.
[[nodiscard]] std::unique_ptr<ssl::context> make_tls_server_context(const gateway_config& cfg);

class server {
public:
  // Throws std::runtime_error (bad certificate, address in use...) at startup.
  server(const gateway_config& cfg, publication& pub, std::vector<feed*> feeds);
  ~server();

  // Binds and starts the io threads. Returns the bound port.
  std::uint16_t start();
  // Blocks until SIGINT or SIGTERM, then shuts down in order.
  void run_until_signal();

private:
  void do_accept();
  void on_accept(error_code ec, tcp::socket socket);
  void shutdown();

  const gateway_config& cfg_;
  publication& pub_;
  std::vector<std::unique_ptr<io_worker>> workers_;
  std::unique_ptr<http_context> http_ctx_;
  std::unique_ptr<ssl::context> tls_;
  net::io_context main_ioc_{1};
  tcp::acceptor acceptor_{main_ioc_};
  net::signal_set signals_{main_ioc_, SIGINT, SIGTERM};
  std::size_t next_worker_ = 0;
};

} // namespace mdgw
