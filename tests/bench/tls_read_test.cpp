// mdgw-bench over TLS reads ahead (one read() takes every record that has arrived), so
// records can wait inside OpenSSL while the socket is empty and epoll says nothing. The
// reader must go back to them by itself: here a TLS server sends a burst of small
// messages, many more than one read event handles, and then stays silent; the client
// must still read every one. With the check after each burst made by SSL_pending (the
// bytes of a record already decrypted) instead of SSL_has_pending, it stops short and
// the watchdog ends the run.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench_options.hpp"
#include "load_worker.hpp"
#include "net_setup.hpp"
#include "self_signed.hpp"
#include "ws_frame.hpp"

namespace mdgw::bench {
namespace {

constexpr int kMessages = 400;  // 25 read events' worth (16 records each)

// A server context with a fresh self-signed certificate.
SSL_CTX* server_context() {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  const test::self_signed s = test::make_self_signed();
  EXPECT_NE(s.cert, nullptr);
  SSL_CTX_use_certificate(ctx, s.cert.get());
  SSL_CTX_use_PrivateKey(ctx, s.key.get());
  return ctx;
}

// How the server sends its burst.
struct burst_shape {
  bool after_subscribe = false;  // waits for the client's first frame (as mdgw does)
  int key_update_every = 0;      // a KeyUpdate of the server's every so many messages
  std::size_t pad = 0;           // bytes of padding per message
};

// Accepts one TLS connection, answers the upgrade, writes kMessages data messages, each
// in its own record, at once, then waits without writing until told to stop.
class burst_server {
 public:
  explicit burst_server(burst_shape shape = {}) : shape_(shape), ctx_(server_context()) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 1) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      return;
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~burst_server() {
    done_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
    SSL_CTX_free(ctx_);
  }
  [[nodiscard]] uint16_t port() const { return port_; }

 private:
  void serve() {
    const int c = ::accept(fd_, nullptr, nullptr);
    if (c < 0) return;
    SSL* ssl = SSL_new(ctx_);
    SSL_set_fd(ssl, c);
    if (SSL_accept(ssl) == 1) {
      std::string req;
      char buf[4096];
      while (req.find("\r\n\r\n") == std::string::npos) {
        const int n = SSL_read(ssl, buf, sizeof buf);
        if (n <= 0) break;
        req.append(buf, std::size_t(n));
      }
      const std::string resp = ws_upgrade_reply(req);
      SSL_write(ssl, resp.data(), int(resp.size()));
      if (shape_.after_subscribe) (void)SSL_read(ssl, buf, sizeof buf);
      const int64_t base = 1764467539000000000;
      const std::string pad = shape_.pad ? ",\"pad\":\"" + std::string(shape_.pad, 'x') + "\"" : "";
      for (int i = 1; i <= kMessages; ++i) {
        if (shape_.key_update_every && i % shape_.key_update_every == 0) SSL_key_update(ssl, SSL_KEY_UPDATE_NOT_REQUESTED);
        std::string msg;
        append_server_frame(msg, ws_opcode::text, "{\"type\":\"data\"" + pad + ",\"ts_send\":" + std::to_string(base + i * 1000 + 900) +
                                      ",\"updates\":[{\"channel\":\"book.SIM:A.1\",\"kind\":\"delta\",\"seq\":" +
                                      std::to_string(i) + ",\"ts_recv\":" + std::to_string(base + i * 1000) + "}]}");
        SSL_write(ssl, msg.data(), int(msg.size()));
      }
      while (!done_) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    SSL_free(ssl);
    ::close(c);
  }

  burst_shape shape_;
  SSL_CTX* ctx_;
  std::atomic<bool> done_{false};
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
};

// read_batch: the harness's --read-batch (0: OpenSSL reads the socket itself; else the
// batch reads it, and OpenSSL or, for TLS 1.3 once the WebSocket is open, the harness's
// tls13_record_key opens the records).
// Returns the records the harness opened itself (tls13_record_key).
uint64_t reads_every_record_of_a_burst(int read_batch, burst_shape shape = {}) {
  std::signal(SIGPIPE, SIG_IGN);  // the server writes on when a failing harness has gone
  burst_server server(shape);
  EXPECT_NE(server.port(), 0);
  if (server.port() == 0) return 0;
  bench_options o;
  o.read_batch = read_batch;
  o.url = parse_url("wss://127.0.0.1:" + std::to_string(server.port()) + "/ws");
  o.channels = {"book.SIM:A.1"};
  o.reconnect = false;
  const ssl_ctx_ptr tls = make_client_tls(false, "");
  connection_plan plan;
  plan.channels = o.channels;
  load_worker worker(o, resolve(o.url), tls.get(), {plan});
  run_control control;
  control.max_messages = kMessages;
  std::atomic<bool> finished{false};
  std::thread watchdog([&] {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!finished && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    control.stop = true;
  });
  worker.run(control, std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count());
  finished = true;
  watchdog.join();
  const worker_snapshot snap = worker.snapshot();
  EXPECT_EQ(snap.stats.c.messages, uint64_t(kMessages)) << "records left inside OpenSSL were never read";
  EXPECT_EQ(snap.stats.c.bad_messages, 0u);
  EXPECT_EQ(snap.stats.c.seq_errors, 0u);
  EXPECT_EQ(snap.stats.c.disconnects, 0u);
  return worker.own_records_opened();
}

TEST(HarnessTls, ReadsEveryRecordOfABurstThatEndsInSilence) {
  EXPECT_EQ(reads_every_record_of_a_burst(0), 0u) << "unbatched reads are OpenSSL's";
}

// Records right behind the 101 may sit in OpenSSL's read-ahead: it keeps reading them.
TEST(HarnessTls, BatchedReadsEveryRecordOfABurstThatEndsInSilence) { reads_every_record_of_a_burst(256); }

// A server that waits for the subscription, as mdgw does: the harness opens the records
// itself, following the server's KeyUpdates, across records cut at the end of a read
// (3 KiB messages against 32 KiB reads).
TEST(HarnessTls, OpensTheServersRecordsItselfThroughKeyUpdatesAndCutRecords) {
  burst_shape shape;
  shape.after_subscribe = true;
  shape.key_update_every = 37;
  shape.pad = 3000;
  const uint64_t opened = reads_every_record_of_a_burst(256, shape);
  EXPECT_GE(opened, uint64_t(kMessages) + kMessages / 37) << "the harness left the records to OpenSSL";
}

}  // namespace
}  // namespace mdgw::bench
