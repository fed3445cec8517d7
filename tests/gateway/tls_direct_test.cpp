// tls_fd_stream's direct writes: a frame written as one TLS record never has another
// write's bytes inside it, a record OpenSSL could not send at once is finished before any
// write of Beast's, and a direct write never starts while Beast's write is under way. The
// server end is configured as the gateway configures it (make_tls_server_context, with a
// key and certificate made here); loopback sockets with small buffers make the socket
// refuse records, so the orders are deterministic.
#include "direct_write_checks.hpp"
#include "self_signed.hpp"
#include "send_batch_required.hpp"
#include "server.hpp"
#include "tls_fd_stream.hpp"

#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <optional>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

namespace mdgw {
namespace {

constexpr int kSmallBuffer = 4096;

// A self-signed P-256 certificate and its key, written as PEM files for the gateway's
// own loader; removed when done.
struct cert_files {
  std::filesystem::path dir;
  gateway_config cfg;

  cert_files() {
    dir = std::filesystem::temp_directory_path() / ("mdgw-tls-direct-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    cfg.cert_file = (dir / "cert.pem").string();
    cfg.key_file = (dir / "key.pem").string();
    const test::self_signed s = test::make_self_signed();
    EXPECT_NE(s.cert, nullptr);
    FILE* f = std::fopen(cfg.cert_file.c_str(), "w");
    PEM_write_X509(f, s.cert.get());
    std::fclose(f);
    f = std::fopen(cfg.key_file.c_str(), "w");
    PEM_write_PrivateKey(f, s.key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
  }
  ~cert_files() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
};

// Counts the KeyUpdate messages a client receives (its message callback).
void count_key_updates(int write_p, int, int content_type, const void* buf, std::size_t len, SSL*, void* arg) {
  if (write_p == 0 && content_type == SSL3_RT_HANDSHAKE && len > 0 && static_cast<const unsigned char*>(buf)[0] == 24) {
    ++*static_cast<int*>(arg);
  }
}

struct tls_pair {
  cert_files certs;
  std::unique_ptr<ssl::context> server_ctx = make_tls_server_context(certs.cfg);
  ssl::context client_ctx{ssl::context::tls_client};
  net::io_context ioc;
  std::optional<ssl::stream<tcp::socket>> client_storage;
  ssl::stream<tcp::socket>& client;
  std::unique_ptr<tls_fd_stream> server;
  int key_updates_received = 0; // by the client

  // `configure` may change either context before the connection (suites, versions,
  // session tickets).
  explicit tls_pair(const std::function<void(SSL_CTX* server, SSL_CTX* client)>& configure = {})
      : client(setup(configure)) {
    SSL_set_msg_callback(client.native_handle(), count_key_updates);
    SSL_set_msg_callback_arg(client.native_handle(), &key_updates_received);
    tcp::acceptor acc(ioc, tcp::endpoint(net::ip::address_v4::loopback(), 0));
    // Small buffers on both ends, set before the connection so the window stays small.
    tcp::socket& c = client.next_layer();
    c.open(tcp::v4());
    const int small = kSmallBuffer;
    setsockopt(c.native_handle(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    c.connect(acc.local_endpoint());
    tcp::socket s = acc.accept();
    setsockopt(s.native_handle(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    server = std::make_unique<tls_fd_stream>(std::move(s), server_ctx->native_handle());
    client.set_verify_mode(ssl::verify_none);
    bool shaken = false;
    server->async_handshake(ssl::stream_base::server, net::const_buffer{}, [&](error_code e, std::size_t) {
      EXPECT_FALSE(e) << e.message();
      shaken = true;
    });
    std::thread t([&] {
      error_code e;
      client.handshake(ssl::stream_base::client, e);
      EXPECT_FALSE(e) << e.message();
    });
    ioc.run();
    t.join();
    ioc.restart();
    EXPECT_TRUE(shaken);
  }

  std::string read_all(std::size_t n) { return test::read_all(ioc, client, n); }

private:
  ssl::stream<tcp::socket>& setup(const std::function<void(SSL_CTX*, SSL_CTX*)>& configure) {
    if (configure) configure(server_ctx->native_handle(), client_ctx.native_handle());
    return client_storage.emplace(ioc, client_ctx);
  }
};

// Writes `count` direct frames of distinct bytes and returns what the client must read.
std::string write_frames(tls_pair& p, int count, std::size_t size) {
  std::string expected;
  for (int i = 0; i < count; ++i) {
    const std::string body(size, static_cast<char>('a' + i % 26));
    error_code ec;
    int made = 0;
    EXPECT_EQ(p.server->write_direct(net::buffer("F:", 2), net::buffer(body), ec, test::counted_rest(made)),
              direct_result::done);
    EXPECT_FALSE(ec) << ec.message();
    expected.append("F:").append(body);
  }
  return expected;
}

TEST(TlsDirect, BeastWriteWaitsForARefusedDirectRecord) {
  tls_pair p;
  // Frames of a record each until the socket, which nobody reads yet, refuses one.
  std::string expected;
  std::vector<std::string> frames; // each stays valid: a refused record is retried from it
  frames.reserve(64);
  bool rest_done = false;
  auto r = direct_result::done;
  while (r == direct_result::done && frames.size() < 64) {
    frames.push_back(std::string(tls_detail::kRecord - 2, static_cast<char>('a' + frames.size() % 26)));
    error_code ec;
    r = p.server->write_direct(net::buffer("H:", 2), net::buffer(frames.back()), ec, test::rest_handler(p, rest_done));
    ASSERT_FALSE(ec) << ec.message();
    expected.append("H:").append(frames.back());
  }
  ASSERT_EQ(r, direct_result::partial) << frames.size() << " full records into 4 KiB buffers all went out at once";
  test::pong_waits_for_the_direct_rest(p, rest_done, expected);
}

// A record the socket refused, then the client resets the connection: the record's retry
// fails with the reset, and so must every later operation, without calling into the
// broken SSL object (which still holds the half-sent record: a 4-byte write then failed
// with "bad length" from OpenSSL, the log line a mass disconnect of wss clients left).
TEST(TlsDirect, AfterTheConnectionBreaksEveryOperationFailsWithItsCause) {
  tls_pair p;
  std::vector<std::string> frames;
  frames.reserve(64);
  error_code rest_error;
  bool rest_done = false;
  auto r = direct_result::done;
  while (r == direct_result::done && frames.size() < 64) {
    frames.push_back(std::string(tls_detail::kRecord - 2, 'r'));
    error_code ec;
    r = p.server->write_direct(net::buffer("H:", 2), net::buffer(frames.back()), ec, [&] {
      return [&](error_code e, std::size_t) {
        rest_error = e;
        rest_done = true;
      };
    });
    ASSERT_FALSE(ec) << ec.message();
  }
  ASSERT_EQ(r, direct_result::partial) << "the socket took every record";
  // The client goes away with its receive buffer full: the kernel resets the connection.
  const linger hard{1, 0};
  setsockopt(p.client.next_layer().native_handle(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  p.client.next_layer().close();
  p.ioc.run_for(std::chrono::seconds(5));
  p.ioc.restart();
  ASSERT_TRUE(rest_done);
  ASSERT_TRUE(rest_error == net::error::connection_reset || rest_error == net::error::broken_pipe)
      << rest_error.message();
  // Beast's close frame (what it writes when a client's close arrives), a read, another
  // direct frame: each fails with the reset, none with an error of OpenSSL's.
  error_code write_error, read_error;
  net::async_write(*p.server, net::buffer("\x88\x02\x03\xe8", 4), [&](error_code e, std::size_t) { write_error = e; });
  char buf[64];
  p.server->async_read_some(net::buffer(buf), [&](error_code e, std::size_t) { read_error = e; });
  p.ioc.run_for(std::chrono::seconds(5));
  EXPECT_EQ(write_error, rest_error) << write_error.message();
  EXPECT_EQ(read_error, rest_error) << read_error.message();
  error_code ec;
  int made = 0;
  EXPECT_EQ(p.server->write_direct(net::buffer("H", 1), net::buffer("x", 1), ec, test::counted_rest(made)),
            direct_result::failed);
  EXPECT_EQ(ec, rest_error) << ec.message();
  EXPECT_EQ(made, 0);
}

TEST(TlsDirect, NoDirectWriteWhileBeastWrites) {
  tls_pair p;
  test::no_direct_write_while_beast_writes(p);
}

TEST(TlsDirect, AFrameLongerThanARecordIsLeftToBeast) {
  tls_pair p;
  const std::string body(tls_detail::kRecord, 'x'); // with its head, one byte too many
  error_code ec;
  int rest_handlers_made = 0;
  EXPECT_EQ(p.server->write_direct(net::buffer("H", 1), net::buffer(body), ec,
                                   test::counted_rest(rest_handlers_made)),
            direct_result::nothing);
  EXPECT_FALSE(ec);
  EXPECT_TRUE(p.server->can_write_direct()) << "nothing was written: nothing is pending";
  // A small frame is one record and goes out whole.
  EXPECT_EQ(p.server->write_direct(net::buffer("H", 1), net::buffer(body.data(), 999), ec,
                                   test::counted_rest(rest_handlers_made)),
            direct_result::done);
  const std::string got = p.read_all(1000);
  EXPECT_TRUE(got == std::string("H").append(body, 0, 999));
  EXPECT_EQ(rest_handlers_made, 0);
}

TEST(TlsDirect, BatchedRecordsStayInOrderAndBeastWaitsForOneTheSocketRefused) {
  tls_pair p;
  send_batch batch(4);
  MDGW_REQUIRE_SEND_BATCH(batch);
  std::string expected;
  std::vector<std::string> frames; // each stays valid: OpenSSL retries a refused record from it
  frames.reserve(64);
  std::vector<test::batched_frame<tls_pair>> recs(64);
  const std::string head = "H:";
  bool rest_done = false;
  auto r = direct_result::done;
  while (r == direct_result::done && frames.size() < 64) {
    frames.push_back(std::string(tls_detail::kRecord - 2, static_cast<char>('a' + frames.size() % 26)));
    r = test::send_batched(batch, p, recs[frames.size() - 1], head, frames.back(), rest_done);
    expected.append(head).append(frames.back());
    if (r == direct_result::done) {
      EXPECT_TRUE(p.server->can_write_direct());
    }
  }
  // The batch sent part of the record or none of it: OpenSSL sends the rest itself.
  ASSERT_EQ(r, direct_result::partial) << frames.size() << " full records into 4 KiB buffers all went out at once";
  test::pong_waits_for_the_direct_rest(p, rest_done, expected);
}

TEST(TlsDirect, ASmallBatchedRecordGoesOutWholeAndOpensTheGate) {
  tls_pair p;
  send_batch batch(4);
  MDGW_REQUIRE_SEND_BATCH(batch);
  const std::string head = "\x81\x05";
  const std::string body = "hello";
  bool rest_done = false;
  test::batched_frame<tls_pair> rec;
  EXPECT_EQ(test::send_batched(batch, p, rec, head, body, rest_done), direct_result::done);
  EXPECT_TRUE(p.server->can_write_direct());
  EXPECT_FALSE(rest_done);
  // And a direct record after it arrives after it.
  error_code ec;
  int made = 0;
  EXPECT_EQ(p.server->write_direct(net::buffer("2", 1), net::buffer("nd", 2), ec, test::counted_rest(made)),
            direct_result::done);
  EXPECT_EQ(p.read_all(head.size() + body.size() + 3), head + body + "2nd");
}

TEST(TlsDirect, AFrameLongerThanARecordIsNotQueued) {
  tls_pair p;
  send_batch batch(4);
  MDGW_REQUIRE_SEND_BATCH(batch);
  const std::string body(tls_detail::kRecord, 'x');
  test::batched_frame<tls_pair> rec;
  error_code ec;
  int made = 0;
  batch.begin();
  EXPECT_EQ(p.server->queue_direct(batch, net::buffer("H", 1), net::buffer(body), ec, test::counted_rest(made), &rec, {}),
            direct_result::nothing);
  EXPECT_FALSE(batch.pending());
  EXPECT_TRUE(p.server->can_write_direct());
  batch.end();
}

// After a TLS 1.3 handshake the server seals its records itself (tls13_record_key), going on
// from the session tickets OpenSSL sent, however many: OpenSSL's client reads them.
TEST(TlsOwnRecords, TheClientReadsThemAfterAnyNumberOfSessionTickets) {
  const tls_counts c0 = tls_counts_now(); // /health's "tls"
  for (const std::size_t tickets : {0, 1, 2, 5}) {
    tls_pair p([&](SSL_CTX* server, SSL_CTX*) { SSL_CTX_set_num_tickets(server, tickets); });
    ASSERT_TRUE(p.server->seals_own_records()) << tickets << " tickets";
    const std::string expected = write_frames(p, 3, 1000);
    EXPECT_TRUE(p.read_all(expected.size()) == expected) << tickets << " tickets";
  }
  const tls_counts c1 = tls_counts_now();
  EXPECT_EQ(c1.tls13_own - c0.tls13_own, 4U);
  EXPECT_EQ(c1.tls13_openssl, c0.tls13_openssl);
  EXPECT_EQ(c1.tls12, c0.tls12);
}

TEST(TlsOwnRecords, EverySuiteOfTls13) {
  for (const char* suite : {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}) {
    tls_pair p([&](SSL_CTX*, SSL_CTX* client) { ASSERT_EQ(SSL_CTX_set_ciphersuites(client, suite), 1); });
    ASSERT_STREQ(SSL_CIPHER_get_name(SSL_get_current_cipher(p.client.native_handle())), suite);
    ASSERT_TRUE(p.server->seals_own_records()) << suite;
    // A full record, a small one, and Beast's write of a gathered sequence.
    std::string expected = write_frames(p, 1, 2000);
    expected += write_frames(p, 1, 10);
    const std::array<net::const_buffer, 3> parts{net::buffer("one,", 4), net::buffer("two,", 4), net::buffer("3", 1)};
    net::async_write(*p.server, parts, [](error_code e, std::size_t) { EXPECT_FALSE(e) << e.message(); });
    expected += "one,two,3";
    EXPECT_TRUE(p.read_all(expected.size()) == expected) << suite;
  }
}

// A TLS 1.2 client: OpenSSL writes every record, as before.
TEST(TlsOwnRecords, Tls12IsLeftToOpenSsl) {
  const tls_counts c0 = tls_counts_now();
  tls_pair p([](SSL_CTX*, SSL_CTX* client) { SSL_CTX_set_max_proto_version(client, TLS1_2_VERSION); });
  EXPECT_EQ(tls_counts_now().tls12 - c0.tls12, 1U);
  EXPECT_EQ(tls_counts_now().tls13_own, c0.tls13_own);
  ASSERT_EQ(SSL_version(p.client.native_handle()), TLS1_2_VERSION);
  EXPECT_FALSE(p.server->seals_own_records());
  const std::string expected = write_frames(p, 3, 1000);
  EXPECT_TRUE(p.read_all(expected.size()) == expected);
}

// The client asks for a KeyUpdate: OpenSSL's reply is sealed under the old key, and every
// record after it under the next one, which the client derives on its own.
TEST(TlsOwnRecords, AClientsKeyUpdateRequestIsAnsweredAndTheKeyMovesOn) {
  const std::uint64_t k0 = tls_counts_now().key_updates;
  tls_pair p;
  ASSERT_TRUE(p.server->seals_own_records());
  std::string expected = write_frames(p, 2, 500);
  ASSERT_TRUE(p.read_all(expected.size()) == expected);
  for (int round = 1; round <= 3; ++round) {
    ASSERT_EQ(SSL_key_update(p.client.native_handle(), SSL_KEY_UPDATE_REQUESTED), 1);
    net::write(p.client, net::buffer("x", 1)); // the KeyUpdate goes out before it
    char got = 0;
    bool read = false;
    p.server->async_read_some(net::buffer(&got, 1), [&](error_code e, std::size_t n) {
      EXPECT_FALSE(e) << e.message();
      read = n == 1;
    });
    p.ioc.run();
    p.ioc.restart();
    ASSERT_TRUE(read);
    EXPECT_EQ(got, 'x');
    expected = write_frames(p, 2, 500);
    EXPECT_TRUE(p.read_all(expected.size()) == expected) << "round " << round;
    EXPECT_EQ(p.key_updates_received, round);
  }
  EXPECT_EQ(tls_counts_now().key_updates - k0, 3U);
}

// The sealer updates its key on its own after so many records (here 3 instead of 2^24).
TEST(TlsOwnRecords, TheServerUpdatesItsKeyAfterSoManyRecords) {
  const std::uint64_t k0 = tls_counts_now().key_updates;
  tls_pair p;
  ASSERT_TRUE(p.server->seals_own_records());
  p.server->set_records_per_key(3);
  std::string expected = write_frames(p, 10, 300);
  send_batch batch(4);
  if (batch.enabled()) { // and through a send batch
    bool rest_done = false;
    std::vector<test::batched_frame<tls_pair>> recs(4);
    for (auto& rec : recs) {
      const std::string body(200, 'q');
      EXPECT_EQ(test::send_batched(batch, p, rec, "B:", body, rest_done), direct_result::done);
      expected.append("B:").append(body);
    }
  }
  EXPECT_TRUE(p.read_all(expected.size()) == expected);
  EXPECT_GE(p.key_updates_received, 3);
  EXPECT_EQ(tls_counts_now().key_updates - k0, static_cast<std::uint64_t>(p.key_updates_received));
}

// close_notify, sealed here, ends the client's reading cleanly.
TEST(TlsOwnRecords, CloseNotifyEndsTheStream) {
  tls_pair p;
  ASSERT_TRUE(p.server->seals_own_records());
  const std::string expected = write_frames(p, 1, 100);
  bool shut = false;
  p.server->async_shutdown([&](error_code e) {
    EXPECT_FALSE(e) << e.message();
    shut = true;
  });
  EXPECT_TRUE(p.read_all(expected.size()) == expected);
  EXPECT_TRUE(shut);
  p.server->close(); // without a close_notify before it, the client's read ends truncated
  char c;
  error_code ec;
  p.client.read_some(net::buffer(&c, 1), ec);
  EXPECT_EQ(ec, net::error::eof) << ec.message();
}

} // namespace
} // namespace mdgw
