// send_batch: queued sends go out with one submission, each sender hears what its send
// did (all, part, nothing), in queue order. (A direct_socket's frame in a batch:
// direct_socket_test.cpp; a TLS record in one: tls_direct_test.cpp.)
#include "send_batch.hpp"
#include "send_batch_required.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace mdgw {
namespace {

// What a sender was told.
struct recorder final : batched_sender {
  recorder() = default;
  recorder(std::vector<ssize_t>* l, int i, std::vector<int>* o) : log(l), id(i), order(o) {}
  std::vector<ssize_t>* log = nullptr;
  int id = 0;
  std::vector<int>* order = nullptr;
  void batch_sent(ssize_t result) override {
    log->push_back(result);
    order->push_back(id);
  }
};

struct socket_pair {
  int a = -1; // written
  int b = -1; // read
  socket_pair() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds) != 0) ADD_FAILURE() << "socketpair";
    a = fds[0];
    b = fds[1];
  }
  ~socket_pair() {
    ::close(a);
    ::close(b);
  }
  std::string read_available() const {
    std::string out;
    char buf[65536];
    for (;;) {
      const ssize_t n = ::recv(b, buf, sizeof buf, MSG_DONTWAIT);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }
  // Fills a's send path until it takes nothing more; returns the bytes it took.
  std::size_t fill() const {
    const std::string chunk(4096, 'f');
    std::size_t total = 0;
    for (;;) {
      const ssize_t n = ::send(a, chunk.data(), chunk.size(), MSG_DONTWAIT);
      if (n <= 0) break;
      total += static_cast<std::size_t>(n);
    }
    return total;
  }
};

TEST(SendBatch, EverySenderHearsItsSendInQueueOrderAfterOneSubmit) {
  send_batch batch(16);
  MDGW_REQUIRE_SEND_BATCH(batch);
  EXPECT_FALSE(batch.accepting()) << "outside a pass nothing may be queued";
  std::vector<socket_pair> pairs(5);
  std::vector<ssize_t> results;
  std::vector<int> order;
  std::vector<recorder> senders(pairs.size());
  std::vector<std::string> heads, bodies;
  batch.begin();
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    heads.push_back(std::string(i + 1, 'H')); // head sizes differ, as frame headers do
    bodies.push_back(std::string(100 + i * 1000, static_cast<char>('a' + i)));
  }
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    ASSERT_TRUE(batch.accepting());
    senders[i].log = &results;
    senders[i].order = &order;
    senders[i].id = static_cast<int>(i);
    batch.queue(pairs[i].a, heads[i].data(), heads[i].size(), bodies[i].data(), bodies[i].size(), &senders[i], {});
  }
  EXPECT_TRUE(batch.pending());
  EXPECT_TRUE(results.empty()) << "nothing is sent before submit";
  EXPECT_EQ(pairs[0].read_available(), "");
  batch.submit();
  batch.end();
  EXPECT_FALSE(batch.pending());
  ASSERT_EQ(results.size(), pairs.size());
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    EXPECT_EQ(order[i], static_cast<int>(i));
    EXPECT_EQ(results[i], static_cast<ssize_t>(heads[i].size() + bodies[i].size()));
    EXPECT_EQ(pairs[i].read_available(), heads[i] + bodies[i]) << "connection " << i;
  }
  EXPECT_EQ(batch.submits(), 1u);
  EXPECT_EQ(batch.sends(), pairs.size());
}

TEST(SendBatch, AFullSocketTakesNothingAndAnAlmostFullOneTakesPart) {
  send_batch batch(4);
  MDGW_REQUIRE_SEND_BATCH(batch);
  socket_pair full, room;
  full.fill();
  const std::size_t filled = room.fill();
  ASSERT_GT(filled, 8192u);
  // Room for a few KiB again: a 1 MiB frame goes out in part.
  std::string drained(8192, '\0');
  ASSERT_EQ(::recv(room.b, drained.data(), drained.size(), MSG_WAITALL), 8192);
  std::vector<ssize_t> results;
  std::vector<int> order;
  recorder r1(&results, 1, &order);
  recorder r2(&results, 2, &order);
  const std::string head = "HH";
  const std::string body(1 << 20, 'x');
  batch.begin();
  batch.queue(full.a, head.data(), head.size(), body.data(), body.size(), &r1, {});
  batch.queue(room.a, head.data(), head.size(), body.data(), body.size(), &r2, {});
  batch.submit();
  batch.end();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0], -EAGAIN) << "a full socket must not make the batch wait";
  EXPECT_GT(results[1], 0);
  EXPECT_LT(results[1], static_cast<ssize_t>(head.size() + body.size()));
}

TEST(SendBatch, CapacityBoundsAPassAndACallbackMayQueueForTheNextSubmit) {
  send_batch batch(2);
  MDGW_REQUIRE_SEND_BATCH(batch);
  socket_pair p1, p2, p3;
  std::vector<ssize_t> results;
  std::vector<int> order;
  const std::string msg = "hello";
  // The second sender queues p3's send when it hears back, as a session could.
  struct requeue final : batched_sender {
    send_batch* b;
    int fd;
    const std::string* m;
    recorder* next;
    std::vector<ssize_t>* log;
    void batch_sent(ssize_t result) override {
      log->push_back(result);
      ASSERT_TRUE(b->accepting());
      b->queue(fd, m->data(), 2, m->data() + 2, m->size() - 2, next, {});
    }
  };
  recorder r1(&results, 1, &order);
  recorder r3(&results, 3, &order);
  requeue r2;
  r2.b = &batch;
  r2.fd = p3.a;
  r2.m = &msg;
  r2.next = &r3;
  r2.log = &results;
  batch.begin();
  batch.queue(p1.a, msg.data(), 1, msg.data() + 1, msg.size() - 1, &r1, {});
  batch.queue(p2.a, msg.data(), 1, msg.data() + 1, msg.size() - 1, &r2, {});
  EXPECT_TRUE(batch.full());
  EXPECT_FALSE(batch.accepting());
  batch.submit();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(batch.pending()) << "the callback's send waits for the next submit";
  EXPECT_EQ(p3.read_available(), "");
  batch.submit();
  batch.end();
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[2], static_cast<ssize_t>(msg.size()));
  EXPECT_EQ(p1.read_available(), msg);
  EXPECT_EQ(p2.read_available(), msg);
  EXPECT_EQ(p3.read_available(), msg);
  EXPECT_EQ(batch.submits(), 2u);
}

TEST(SendBatch, ZeroCapacityIsOffAndSaysWhy) {
  send_batch batch(0);
  EXPECT_FALSE(batch.enabled());
  EXPECT_FALSE(batch.enabled_any());
  EXPECT_STREQ(batch.why_disabled(), "--send-batch 0");
  batch.begin();
  EXPECT_FALSE(batch.accepting()) << "a disabled batch takes nothing: sessions send one by one";
}

TEST(SendBatch, AClosedDescriptorFailsItsSendOnly) {
  send_batch batch(4);
  MDGW_REQUIRE_SEND_BATCH(batch);
  socket_pair good;
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  ::close(fds[1]); // the peer is gone: EPIPE
  std::vector<ssize_t> results;
  std::vector<int> order;
  recorder r1(&results, 1, &order);
  recorder r2(&results, 2, &order);
  const std::string msg = "data";
  batch.begin();
  batch.queue(fds[0], msg.data(), 1, msg.data() + 1, 3, &r1, {});
  batch.queue(good.a, msg.data(), 1, msg.data() + 1, 3, &r2, {});
  batch.submit();
  batch.end();
  ::close(fds[0]);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0], -EPIPE) << "MSG_NOSIGNAL: an error, not SIGPIPE";
  EXPECT_EQ(results[1], 4);
  EXPECT_EQ(good.read_available(), msg);
  EXPECT_TRUE(batch.enabled()) << "one failed send does not end batching";
}

} // namespace
} // namespace mdgw
