// direct_socket: a frame written directly never has another write's bytes inside it, and
// a direct write never starts while Beast's write is under way, also for a frame sent
// through the io thread's send batch. Loopback sockets with small buffers make every
// large write partial, so the orders are deterministic.
#include "direct_socket.hpp"
#include "direct_write_checks.hpp"
#include "send_batch_required.hpp"

#include <gtest/gtest.h>

#include <sys/socket.h>

#include <string>
#include <thread>

namespace mdgw {
namespace {

constexpr int kSmallBuffer = 4096;

struct pair {
  net::io_context ioc;
  tcp::socket client{ioc};
  std::unique_ptr<direct_socket> server;

  pair() {
    tcp::acceptor acc(ioc, tcp::endpoint(net::ip::address_v4::loopback(), 0));
    // Small buffers on both ends, set before the connection so the window stays small.
    client.open(tcp::v4());
    const int small = kSmallBuffer;
    setsockopt(client.native_handle(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    client.connect(acc.local_endpoint());
    tcp::socket s = acc.accept();
    setsockopt(s.native_handle(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    s.non_blocking(true);
    server = std::make_unique<direct_socket>(std::move(s));
  }

  std::string read_all(std::size_t n) { return test::read_all(ioc, client, n); }
};

TEST(DirectSocket, BeastWriteWaitsForTheRestOfAPartialDirectFrame) {
  pair p;
  const std::string head = "HH";
  const std::string body(1 << 20, 'a');
  error_code ec;
  bool rest_done = false;
  const auto r = p.server->write_direct(net::buffer(head), net::buffer(body), ec, test::rest_handler(p, rest_done));
  ASSERT_EQ(r, direct_socket::direct_result::partial) << "1 MiB into a 4 KiB buffer went out at once";
  test::pong_waits_for_the_direct_rest(p, rest_done, head + body);
}

TEST(DirectSocket, NoDirectWriteWhileBeastWrites) {
  pair p;
  test::no_direct_write_while_beast_writes(p);
}

TEST(DirectSocket, AFullSocketTakesNothingAndSaysSo) {
  pair p;
  // Fill the socket behind the layer's back, as far as it takes.
  const std::string chunk(kSmallBuffer, 'c');
  std::size_t filled = 0;
  for (;;) {
    const ssize_t n = ::send(p.server->socket().native_handle(), chunk.data(), chunk.size(), MSG_DONTWAIT);
    if (n <= 0) break;
    filled += static_cast<std::size_t>(n);
  }
  ASSERT_GT(filled, 0u);
  error_code ec;
  int rest_handlers_made = 0;
  const std::string frame = "xyz";
  EXPECT_EQ(p.server->write_direct(net::buffer("\x81\x03", 2), net::buffer(frame), ec,
                                   test::counted_rest(rest_handlers_made)),
            direct_socket::direct_result::nothing)
      << "a full socket took part of a frame";
  EXPECT_FALSE(ec);
  EXPECT_TRUE(p.server->can_write_direct()) << "nothing was written: nothing is pending";
  const std::string got = p.read_all(filled);
  EXPECT_EQ(got, std::string(filled, 'c'));
  // With room again, a small frame goes out whole.
  EXPECT_EQ(p.server->write_direct(net::buffer("\x81\x03", 2), net::buffer(frame), ec,
                                   test::counted_rest(rest_handlers_made)),
            direct_socket::direct_result::done);
  std::string tail(5, '\0');
  net::read(p.client, net::buffer(tail));
  EXPECT_EQ(tail, std::string("\x81\x03xyz", 5));
  EXPECT_EQ(rest_handlers_made, 0);
}

TEST(DirectSocket, AFrameInASendBatchHoldsBeastBackUntilItsRestIsOut) {
  pair p;
  const std::string head = "HH";
  const std::string body(1 << 20, 'a');
  bool rest_done = false;
  send_batch batch(4);
  MDGW_REQUIRE_SEND_BATCH(batch);
  test::batched_frame<pair> f;
  ASSERT_EQ(test::send_batched(batch, p, f, head, body, rest_done), direct_result::partial)
      << "1 MiB into a 4 KiB buffer went out at once";
  test::pong_waits_for_the_direct_rest(p, rest_done, head + body);
}

TEST(DirectSocket, ASmallFrameInASendBatchGoesOutWholeAndOpensTheGate) {
  pair p;
  const std::string head = "\x81\x03";
  const std::string body = "xyz";
  bool rest_done = false;
  send_batch batch(4);
  MDGW_REQUIRE_SEND_BATCH(batch);
  test::batched_frame<pair> f;
  EXPECT_EQ(test::send_batched(batch, p, f, head, body, rest_done), direct_result::done);
  EXPECT_TRUE(p.server->can_write_direct());
  EXPECT_FALSE(rest_done);
  std::string got(5, '\0');
  net::read(p.client, net::buffer(got));
  EXPECT_EQ(got, head + body);
}

} // namespace
} // namespace mdgw
