// The checks that direct_socket_test.cpp and tls_direct_test.cpp share: a stream that
// writes whole frames directly (write_direct / can_write_direct) must keep Beast's own
// writes (pongs, close frames) whole and in order around them. `P` is a test's
// connected pair: `server` (the stream under test), `ioc`, and read_all(n), which reads
// n bytes at the client end while the io_context runs.
#pragma once

#include "net.hpp"
#include "send_batch.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>

namespace mdgw::test {

// Reads `n` bytes at `client` on a thread of its own (blocking), while `ioc` runs.
template <class Client>
std::string read_all(net::io_context& ioc, Client& client, std::size_t n) {
  std::string got(n, '\0');
  std::thread reader([&] {
    error_code ec;
    net::read(client, net::buffer(got), ec);
    EXPECT_FALSE(ec) << ec.message();
  });
  ioc.run();
  reader.join();
  ioc.restart();
  return got;
}

// write_direct's make_on_rest for a write expected to be partial: its handler sets
// `done`, and checks that Beast's write waiting at the gate stays counted, so no new
// direct frame overtakes it.
template <class P>
auto rest_handler(P& p, bool& done) {
  return [&p, &done] {
    return [&p, &done](error_code e, std::size_t) {
      EXPECT_FALSE(e) << e.message();
      done = true;
      EXPECT_FALSE(p.server->can_write_direct()) << "Beast's write waits: a new direct frame would overtake it";
    };
  };
}

// write_direct's make_on_rest for a write expected to go out whole (or not at all):
// counts the handlers it makes, which must stay 0.
inline auto counted_rest(int& made) {
  return [&made] {
    ++made;
    return [](error_code, std::size_t) {};
  };
}

// After a direct write that was partial (its rest pending, `rest_done` set by
// rest_handler): Beast's write of a pong must wait for the rest, and the client must
// read `direct` (everything written directly) and then the pong, whole.
template <class P>
void pong_waits_for_the_direct_rest(P& p, const bool& rest_done, const std::string& direct) {
  EXPECT_FALSE(p.server->can_write_direct()) << "a second direct frame may not start inside the first";
  // What Beast does for a pong or a close frame: a composed write over the layer.
  bool pong_done = false;
  net::async_write(*p.server, net::buffer("PONG", 4), [&](error_code e, std::size_t n) {
    EXPECT_FALSE(e) << e.message();
    EXPECT_EQ(n, 4u);
    EXPECT_TRUE(rest_done) << "Beast's write completed before the direct frame";
    pong_done = true;
  });
  const std::string got = p.read_all(direct.size() + 4);
  EXPECT_TRUE(rest_done);
  EXPECT_TRUE(pong_done);
  EXPECT_TRUE(got == direct + "PONG") << "bytes of the two writes interleaved or were lost";
  EXPECT_TRUE(p.server->can_write_direct());
}

// While Beast's write of 1 MiB is in flight, no direct write may start.
template <class P>
void no_direct_write_while_beast_writes(P& p) {
  const std::string big(1 << 20, 'b');
  bool done = false;
  net::async_write(*p.server, net::buffer(big), [&](error_code e, std::size_t) {
    EXPECT_FALSE(e) << e.message();
    done = true;
  });
  // The write is in flight (the socket took at most a few KiB of it).
  p.ioc.poll();
  EXPECT_FALSE(done);
  EXPECT_FALSE(p.server->can_write_direct()) << "a direct frame would land inside Beast's write";
  const std::string got = p.read_all(big.size());
  EXPECT_TRUE(done);
  EXPECT_TRUE(got == big);
  EXPECT_TRUE(p.server->can_write_direct());
}

// A frame in a send batch (send_batch.hpp), as ws_session queues it: finish_batched is
// called the way ws_session calls it, and what it said is kept.
template <class P>
struct batched_frame final : batched_sender {
  P* p = nullptr;
  net::const_buffer head, body;
  direct_result said = direct_result::nothing;
  bool* rest_done = nullptr;
  void batch_sent(ssize_t result) override {
    error_code ec;
    said = p->server->finish_batched(result, head, body, ec, rest_handler(*p, *rest_done));
    EXPECT_FALSE(ec) << ec.message();
  }
};

// Queues head + body in `batch` (the stream must queue it), checks that the gate is
// closed meanwhile, sends the batch and returns what finish_batched said. head and body
// must stay valid until the frame is out.
template <class P>
direct_result send_batched(send_batch& batch, P& p, batched_frame<P>& f, const std::string& head,
                           const std::string& body, bool& rest_done) {
  f.p = &p;
  f.head = net::buffer(head);
  f.body = net::buffer(body);
  f.rest_done = &rest_done;
  batch.begin();
  EXPECT_TRUE(p.server->can_write_direct());
  error_code ec;
  int made = 0;
  EXPECT_EQ(p.server->queue_direct(batch, f.head, f.body, ec, counted_rest(made), &f, {}), direct_result::queued);
  EXPECT_FALSE(p.server->can_write_direct()) << "a queued frame must keep every other write out";
  batch.submit();
  batch.end();
  EXPECT_EQ(made, 0);
  return f.said;
}

} // namespace mdgw::test
