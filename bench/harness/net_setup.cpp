#include "net_setup.hpp"

#include "load_worker.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace mdgw::bench {

namespace {

std::string base64(const unsigned char* p, std::size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  const int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), p, int(n));
  out.resize(std::size_t(len));
  return out;
}

struct fd_guard {
  int fd;
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::string tls_error_text() {
  char buf[256];
  const unsigned long e = ERR_get_error();
  if (e == 0) return "unknown TLS error";
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

resolved_target resolve(const target_url& url) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(url.port);
  const int rc = getaddrinfo(url.host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0 || !res) throw std::runtime_error("cannot resolve '" + url.host + "': " + gai_strerror(rc));
  resolved_target t;
  std::memcpy(&t.addr, res->ai_addr, res->ai_addrlen);
  t.addr_len = res->ai_addrlen;
  freeaddrinfo(res);
  return t;
}

ssl_ctx_ptr make_client_tls(bool verify, const std::string& ca_file) {
  ssl_ctx_ptr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) throw std::runtime_error("SSL_CTX_new: " + tls_error_text());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // Read ahead: one read() fills OpenSSL's buffer with as many records as have arrived.
  // Without it OpenSSL reads each record's 5-byte header, then its body: two system
  // calls per message, which made the harness, not the server, the bottleneck of the
  // tls scenario (reader thread 99% busy; docs/performance.md). Buffered records are
  // invisible to epoll, so the reader checks SSL_has_pending after each burst.
  SSL_CTX_set_read_ahead(ctx.get(), 1);
  load_worker::prepare_tls_context(ctx.get());
  if (verify) {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    const int ok = ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx.get())
                                   : SSL_CTX_load_verify_locations(ctx.get(), ca_file.c_str(), nullptr);
    if (ok != 1) throw std::runtime_error("cannot load trust anchors '" + ca_file + "': " + tls_error_text());
  } else {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  }
  return ctx;
}

void prepare_client_ssl(SSL* ssl, const std::string& host) {
  SSL_set_tlsext_host_name(ssl, host.c_str());
  if (SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    unsigned char ip[16];
    if (inet_pton(AF_INET, host.c_str(), ip) == 1 || inet_pton(AF_INET6, host.c_str(), ip) == 1)
      X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
    else
      SSL_set1_host(ssl, host.c_str());
  }
}

std::string make_ws_key() {
  unsigned char raw[16];
  if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("RAND_bytes failed");
  return base64(raw, sizeof raw);
}

std::string ws_accept_for(const std::string& key) {
  const std::string in = key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(in.data(), in.size(), md, &len, EVP_sha1(), nullptr) != 1) throw std::runtime_error("SHA-1 failed");
  return base64(md, len);
}

std::string ws_upgrade_reply(std::string_view request) {
  static constexpr std::string_view kKey = "Sec-WebSocket-Key: ";
  const std::size_t k = request.find(kKey);
  const std::size_t from = k == std::string_view::npos ? request.size() : k + kKey.size();
  const std::string key(request.substr(from, request.find("\r\n", from) - from));
  return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
         ws_accept_for(key) + "\r\n\r\n";
}

std::string http_get(const target_url& url, const resolved_target& to, SSL_CTX* tls, const std::string& path,
                     int timeout_ms) {
  const std::string what = "GET " + path + " from " + url.host + ":" + std::to_string(url.port);
  fd_guard fd{::socket(to.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (fd.fd < 0) throw std::runtime_error(what + ": socket: " + std::strerror(errno));
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(fd.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (::connect(fd.fd, reinterpret_cast<const sockaddr*>(&to.addr), to.addr_len) != 0)
    throw std::runtime_error(what + ": connect: " + std::strerror(errno));
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(nullptr, SSL_free);
  if (url.tls) {
    ssl.reset(SSL_new(tls));
    if (!ssl) throw std::runtime_error(what + ": SSL_new: " + tls_error_text());
    SSL_set_fd(ssl.get(), fd.fd);
    prepare_client_ssl(ssl.get(), url.host);
    if (SSL_connect(ssl.get()) != 1) throw std::runtime_error(what + ": TLS handshake: " + tls_error_text());
  }
  const std::string req = "GET " + path + " HTTP/1.1\r\nHost: " + url.host + ":" + std::to_string(url.port) +
                          "\r\nAccept: */*\r\nConnection: close\r\n\r\n";
  const int sent = ssl ? SSL_write(ssl.get(), req.data(), int(req.size()))
                       : int(::send(fd.fd, req.data(), req.size(), MSG_NOSIGNAL));
  if (sent != int(req.size())) throw std::runtime_error(what + ": send failed");
  std::string resp;
  char buf[16384];
  for (;;) {
    const int n = ssl ? SSL_read(ssl.get(), buf, sizeof buf) : int(::recv(fd.fd, buf, sizeof buf, 0));
    if (n <= 0) break;
    resp.append(buf, std::size_t(n));
    if (resp.size() > (std::size_t{64} << 20)) throw std::runtime_error(what + ": response over 64 MiB");
  }
  const std::size_t head_end = resp.find("\r\n\r\n");
  if (head_end == std::string::npos) throw std::runtime_error(what + ": no complete HTTP response");
  if (!resp.starts_with("HTTP/1.1 200") && !resp.starts_with("HTTP/1.0 200"))
    throw std::runtime_error(what + ": " + resp.substr(0, resp.find("\r\n")));
  return resp.substr(head_end + 4);
}

}  // namespace mdgw::bench
