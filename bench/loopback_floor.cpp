// mdgw_loopback_floor: what one core can send over loopback TCP to N connections when it
// does nothing else, with every connection read by a reader on another core. It is the
// floor under any WebSocket server's write path on this machine: a server that gives each
// of N clients one message per pass over them needs at least N times the time of one
// send for a pass, whatever it does in user space (docs/performance.md, "Load scenarios").
//
//   mdgw_loopback_floor [--connections N] [--bytes B] [--seconds S] [--writer-cpu C] [--reader-cpu C]
//                       [--batch K]
//
// The writer (pinned to --writer-cpu, default 0) sends B bytes (default 1400, about a
// ui100 message) to each connection in turn with one send() each, non-blocking, skipping
// a connection whose socket buffer is full; the reader (--reader-cpu, default 1) drains
// every connection through level-triggered epoll. After a 1 s warm-up it measures for S
// seconds (default 5) and prints sends/s, the writer's CPU time per send, and the time a
// pass over all N connections takes at that rate. With --batch K the writer makes K
// sends (to K connections) with one io_uring system call, as mdgw does (--send-batch,
// gateway/send_batch.hpp): the floor when the crossings are shared.
//
// Rationale
// - Loopback runs the receiver's TCP path in the sender's softirq, so a send's cost
//   includes delivery to the peer socket and its wake-up; that is the kernel share of
//   mdgw's own profile in the ui scenario.
// - Plain sockets and one send per message, as mdgw's write path does since the message
//   is one buffer; nothing here is WebSocket-specific (a frame header is 2 to 4 bytes).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <liburing.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

namespace {

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "mdgw_loopback_floor: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

void pin(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0) std::fprintf(stderr, "cannot pin to CPU %d\n", cpu);
}

double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

struct options {
  int connections = 1000;
  std::size_t bytes = 1400;
  double seconds = 5;
  int writer_cpu = 0;
  int reader_cpu = 1;
  int batch = 0; // sends per io_uring submission (0: one send() each)
};

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "mdgw_loopback_floor: %s needs a value\n", a.c_str());
      std::exit(2);
    }
    const char* v = argv[++i];
    if (a == "--connections") o.connections = std::atoi(v);
    else if (a == "--bytes") o.bytes = std::size_t(std::atol(v));
    else if (a == "--seconds") o.seconds = std::atof(v);
    else if (a == "--writer-cpu") o.writer_cpu = std::atoi(v);
    else if (a == "--reader-cpu") o.reader_cpu = std::atoi(v);
    else if (a == "--batch") o.batch = std::atoi(v);
    else {
      std::fprintf(stderr, "mdgw_loopback_floor: unknown option %s\n", a.c_str());
      std::exit(2);
    }
  }
  if (o.connections <= 0 || o.bytes == 0 || o.seconds <= 0 || o.batch < 0 || o.batch > 4096) {
    std::fprintf(stderr, "mdgw_loopback_floor: --connections, --bytes and --seconds must be positive, --batch 0..4096\n");
    std::exit(2);
  }
  return o;
}

} // namespace

int main(int argc, char** argv) {
  const options o = parse(argc, argv);
  const int lfd = socket(AF_INET, SOCK_STREAM, 0);
  if (lfd < 0) die("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(lfd, 4096) != 0 ||
      getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    die("listen");
  std::vector<int> readers, writers;
  const int one = 1;
  for (int i = 0; i < o.connections; ++i) {
    const int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c < 0) die("socket (raise the open file limit?)");
    if (connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS) die("connect");
    const int s = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK);
    if (s < 0) die("accept");
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    readers.push_back(c);
    writers.push_back(s);
  }
  close(lfd);

  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> bytes_read{0};
  double reader_cpu = 0;
  std::thread reader([&] {
    pin(o.reader_cpu);
    const int ep = epoll_create1(0);
    for (int fd : readers) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.fd = fd;
      if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) die("epoll_ctl");
    }
    std::vector<epoll_event> events(256);
    std::vector<char> buf(256 * 1024);
    std::uint64_t n = 0;
    const double cpu0 = thread_cpu_s();
    while (!stop.load(std::memory_order_relaxed)) {
      const int k = epoll_wait(ep, events.data(), int(events.size()), 50);
      for (int i = 0; i < k; ++i) {
        for (;;) {
          const ssize_t r = recv(events[std::size_t(i)].data.fd, buf.data(), buf.size(), 0);
          if (r <= 0) break;
          n += std::uint64_t(r);
          if (std::size_t(r) < buf.size()) break;
        }
      }
      bytes_read.store(n, std::memory_order_relaxed);
    }
    reader_cpu = thread_cpu_s() - cpu0;
    close(ep);
  });

  pin(o.writer_cpu);
  const std::string msg(o.bytes, 'x');
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  const auto measure_from = start + std::chrono::seconds(1);
  const auto until = measure_from + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(o.seconds));
  bool measuring = false;
  std::uint64_t sends = 0, full = 0, read_at_start = 0;
  double cpu_at_start = 0;
  auto t0 = start;
  io_uring ring{};
  if (o.batch > 0) {
    if (const int r = io_uring_queue_init(unsigned(o.batch), &ring, 0); r < 0) {
      errno = -r;
      die("io_uring_queue_init");
    }
  }
  const auto count = [&](ssize_t r) {
    if (r > 0) ++sends;
    else if (r == -EAGAIN || r == -EWOULDBLOCK) ++full;
    else {
      errno = int(-r);
      die("send");
    }
  };
  for (std::size_t i = 0;;) {
    if (i == 0) {
      const auto now = clock::now();
      if (now >= until) break;
      if (!measuring && now >= measure_from) {
        measuring = true;
        sends = full = 0;
        t0 = now;
        cpu_at_start = thread_cpu_s();
        read_at_start = bytes_read.load(std::memory_order_relaxed);
      }
    }
    if (o.batch == 0) {
      const ssize_t r = send(writers[i], msg.data(), msg.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      count(r < 0 ? -errno : r);
      i = (i + 1) % writers.size();
      continue;
    }
    // K sends to the next K connections, one system call; MSG_DONTWAIT: all complete in it.
    const std::size_t k = std::min<std::size_t>(std::size_t(o.batch), writers.size() - i);
    for (std::size_t j = 0; j < k; ++j)
      io_uring_prep_send(io_uring_get_sqe(&ring), writers[i + j], msg.data(), msg.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (const int r = io_uring_submit_and_wait(&ring, unsigned(k)); r < 0) {
      errno = -r;
      die("io_uring_submit_and_wait");
    }
    for (std::size_t j = 0; j < k; ++j) {
      io_uring_cqe* cqe = nullptr;
      if (const int r = io_uring_wait_cqe(&ring, &cqe); r < 0) {
        errno = -r;
        die("io_uring_wait_cqe");
      }
      count(cqe->res);
      io_uring_cqe_seen(&ring, cqe);
    }
    i = (i + k) % writers.size();
  }
  if (o.batch > 0) io_uring_queue_exit(&ring);
  const double wall = std::chrono::duration<double>(clock::now() - t0).count();
  const double cpu = thread_cpu_s() - cpu_at_start;
  const std::uint64_t read = bytes_read.load(std::memory_order_relaxed) - read_at_start;
  stop = true;
  reader.join();
  const double per_send_us = cpu / double(sends) * 1e6;
  std::printf("connections %d, %zu bytes per send, %s, %.1f s measured\n", o.connections, o.bytes,
              o.batch > 0 ? ("batches of " + std::to_string(o.batch) + " sends per io_uring call").c_str() : "one send() each",
              wall);
  std::printf("sends/s %.0f (socket full: %llu skipped), writer CPU %.0f%%, %.2f us of writer CPU per send\n",
              double(sends) / wall, static_cast<unsigned long long>(full), cpu / wall * 100, per_send_us);
  std::printf("reader: %.1f MB/s, CPU %.0f%% (whole run)\n", double(read) / wall / 1e6, reader_cpu / (wall + 1) * 100);
  std::printf("a pass over all %d connections: %.2f ms\n", o.connections, per_send_us * o.connections / 1000);
  for (int fd : writers) close(fd);
  for (int fd : readers) close(fd);
  return 0;
}
