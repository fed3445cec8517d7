// mdgw-moldcast: replays an ITCH 5.0 BinaryFILE as a live MoldUDP64 stream, for tests and
// demos of the MoldUDP64 source (feeds/itch/moldudp64.hpp) on one machine.
//
//   mdgw-moldcast --file DAY.ITCH_50[.gz] --group 239.1.2.3:30001 [options]
//
// It packs the file's messages into MoldUDP64 packets (at most --max-packet bytes of UDP
// payload), sends them to the multicast group through --interface (loopback by default)
// at --rate packets/s or --message-rate messages/s (default: as fast as it can), and
// serves retransmission requests on a unicast UDP port (--retrans-port, 0 = any free one;
// the port is printed on the first stdout line). It drops a share of the data packets
// (--drop 0.01 = 1%, chosen deterministically from --seed) to exercise gap recovery, sends
// a heartbeat after --heartbeat-ms without data, ends with --end-count end-of-session
// packets, then keeps answering re-requests (and repeating end of session every heartbeat
// interval) for --linger-ms. --retrans-delay-ms holds every answer back that long, so a
// test can watch a gap stay open. SIGINT or SIGTERM ends the replay or the linger early
// (a test stops it once its receiver has everything). Last stdout line: a summary of
// key=value counters.
//
// Rationale:
// - Every message of the file is kept in memory (its Mold message block: u16 length +
//   bytes), so any re-request can be answered, packed afresh from the requested sequence.
//   The tool is for test-sized files, not for a full day at production rates.
// - Drops apply to data packets only, decided by a seeded 64-bit generator (the same
//   packets drop on every run with the same seed); heartbeats and end of session always go
//   out, as a real server's would be seen eventually.
// - One thread, one loop: send when the pacing clock says so, otherwise wait in ppoll() on
//   the request socket until the next send, heartbeat or delayed answer is due.
// - Multicast on loopback needs no system change on Linux: IP_MULTICAST_IF 127.0.0.1
//   with IP_MULTICAST_LOOP routes the group through lo even without lo's MULTICAST flag.
//   If a host refuses it anyway, the tool says so (and names `ip link set lo multicast on`).
#include "itch_decoder.hpp"
#include "moldudp64.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace {

using namespace mdgw::itch;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

constexpr std::size_t kMaxPending = 4096; // delayed answers held at once

// Set by SIGINT/SIGTERM; the loops check it (ppoll returns EINTR on the signal).
volatile std::sig_atomic_t g_stop = 0;
void on_stop_signal(int) { g_stop = 1; }

struct options {
  std::string file;
  std::string group;
  std::string iface = "127.0.0.1";
  std::string session = "MDGW000001";
  std::uint16_t retrans_port = 0;
  double rate = 0;         // packets/s; 0: as fast as possible
  double message_rate = 0; // messages/s; 0: use rate
  double drop = 0;
  std::uint64_t seed = 1;
  std::size_t max_packet = 1400;
  int heartbeat_ms = 1000;
  int end_count = 3;
  int linger_ms = 2000;
  int retrans_delay_ms = 0;
  int ttl = 1;
};

constexpr const char* kUsage =
    "usage: mdgw-moldcast --file PATH --group ADDR:PORT [--interface ADDR] [--retrans-port PORT]\n"
    "         [--session NAME] [--rate PACKETS_PER_S | --message-rate MESSAGES_PER_S] [--drop SHARE]\n"
    "         [--seed N] [--max-packet BYTES] [--heartbeat-ms MS] [--end-count N] [--linger-ms MS]\n"
    "         [--retrans-delay-ms MS] [--ttl N]\n";

[[noreturn]] void usage_error(const std::string& what) {
  std::fprintf(stderr, "mdgw-moldcast: %s\n%s", what.c_str(), kUsage);
  std::exit(2);
}

template <class T>
T number(std::string_view name, std::string_view v, T lo, T hi) {
  T x{};
  const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (v.empty() || ec != std::errc() || p != v.data() + v.size() || x < lo || x > hi) {
    auto text = [](T x) {
      if constexpr (std::is_floating_point_v<T>) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%g", x);
        return std::string(buf);
      } else {
        return std::to_string(x);
      }
    };
    usage_error(std::string(name) + ": '" + std::string(v) + "' is not a number in [" + text(lo) + ", " + text(hi) +
                "]");
  }
  return x;
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    }
    std::string_view v;
    if (const auto eq = a.find('='); eq != std::string_view::npos) {
      v = a.substr(eq + 1);
      a = a.substr(0, eq);
    } else {
      if (i + 1 >= argc) usage_error(std::string(a) + " needs a value");
      v = argv[++i];
    }
    if (a == "--file") o.file = v;
    else if (a == "--group") o.group = v;
    else if (a == "--interface") o.iface = v;
    else if (a == "--session") o.session = v;
    else if (a == "--retrans-port") o.retrans_port = number<std::uint16_t>(a, v, 0, 65535);
    else if (a == "--rate") o.rate = number<double>(a, v, 0, 1e9);
    else if (a == "--message-rate") o.message_rate = number<double>(a, v, 0, 1e10);
    else if (a == "--drop") o.drop = number<double>(a, v, 0, 1);
    else if (a == "--seed") o.seed = number<std::uint64_t>(a, v, 0, UINT64_MAX);
    else if (a == "--max-packet") o.max_packet = number<std::size_t>(a, v, 64, mold::kMaxDatagram);
    else if (a == "--heartbeat-ms") o.heartbeat_ms = number<int>(a, v, 1, 3'600'000);
    else if (a == "--end-count") o.end_count = number<int>(a, v, 1, 1000);
    else if (a == "--linger-ms") o.linger_ms = number<int>(a, v, 0, 3'600'000);
    else if (a == "--retrans-delay-ms") o.retrans_delay_ms = number<int>(a, v, 0, 3'600'000);
    else if (a == "--ttl") o.ttl = number<int>(a, v, 0, 255);
    else usage_error("unknown option " + std::string(a));
  }
  if (o.file.empty()) usage_error("--file is required");
  if (o.group.empty()) usage_error("--group is required");
  if (o.session.empty() || o.session.size() > mold::kSessionSize) usage_error("--session: 1 to 10 characters");
  if (o.rate > 0 && o.message_rate > 0) usage_error("--rate and --message-rate exclude each other");
  return o;
}

nanoseconds mono_now() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::chrono::seconds(ts.tv_sec) + nanoseconds(ts.tv_nsec);
}

sockaddr_in ipv4(const std::string& host, std::uint16_t port, const char* what) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1) {
    usage_error(std::string(what) + ": bad IPv4 address '" + host + "'");
  }
  return a;
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "mdgw-moldcast: %s\n", what.c_str());
  std::exit(1);
}

// Every message of the file as Mold message blocks, back to back.
struct message_store {
  std::vector<std::uint8_t> blocks;
  std::vector<std::size_t> offsets; // offsets[k - 1]: block of sequence k; offsets[n]: end

  [[nodiscard]] std::uint64_t size() const noexcept { return offsets.size() - 1; }
  [[nodiscard]] const std::uint8_t* block(std::uint64_t seq) const noexcept { return blocks.data() + offsets[seq - 1]; }
};

message_store load(const std::string& path) {
  message_store s;
  binary_file_reader reader(path);
  std::span<const std::uint8_t> m;
  while (reader.next(m)) {
    s.offsets.push_back(s.blocks.size());
    s.blocks.push_back(static_cast<std::uint8_t>(m.size() >> 8));
    s.blocks.push_back(static_cast<std::uint8_t>(m.size() & 0xFF));
    s.blocks.insert(s.blocks.end(), m.begin(), m.end());
  }
  s.offsets.push_back(s.blocks.size());
  if (reader.failed()) std::fprintf(stderr, "mdgw-moldcast: %s could not be read to its end\n", path.c_str());
  return s;
}

struct answer {
  nanoseconds due;
  sockaddr_in to;
  std::uint64_t seq;
  std::uint16_t count;
};

struct counters {
  std::uint64_t packets = 0, dropped = 0, dropped_messages = 0, heartbeats = 0, end_packets = 0;
  std::uint64_t requests = 0, served_messages = 0, served_packets = 0, bad_requests = 0, queue_full = 0;
};

class caster {
public:
  caster(const options& o, message_store store)
      : o_(o), store_(std::move(store)), session_(mold::make_session(o.session)), rng_(o.seed), buf_(o.max_packet) {
    const auto colon = o.group.rfind(':');
    if (colon == std::string::npos) usage_error("--group: ADDR:PORT expected");
    const auto port = number<std::uint16_t>("--group port", std::string_view(o.group).substr(colon + 1), 1, 65535);
    group_ = ipv4(o.group.substr(0, colon), port, "--group");
    const sockaddr_in iface = ipv4(o.iface, 0, "--interface");

    mc_fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (mc_fd_ < 0) die(std::string("socket: ") + std::strerror(errno));
    const unsigned char loop = 1;
    const auto ttl = static_cast<unsigned char>(o.ttl);
    if (::setsockopt(mc_fd_, IPPROTO_IP, IP_MULTICAST_IF, &iface.sin_addr, sizeof iface.sin_addr) != 0 ||
        ::setsockopt(mc_fd_, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop) != 0 ||
        ::setsockopt(mc_fd_, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) != 0) {
      die("multicast options on " + o.iface + ": " + std::strerror(errno));
    }
    rq_fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in rq = iface;
    rq.sin_port = htons(o.retrans_port);
    if (rq_fd_ < 0 || ::bind(rq_fd_, reinterpret_cast<const sockaddr*>(&rq), sizeof rq) != 0) {
      die("retransmission port " + o.iface + ":" + std::to_string(o.retrans_port) + ": " + std::strerror(errno));
    }
    socklen_t len = sizeof rq;
    ::getsockname(rq_fd_, reinterpret_cast<sockaddr*>(&rq), &len);
    retrans_port_ = ntohs(rq.sin_port);
  }
  ~caster() {
    ::close(mc_fd_);
    ::close(rq_fd_);
  }
  caster(const caster&) = delete;
  caster& operator=(const caster&) = delete;

  int run() {
    std::printf("mdgw-moldcast: session %s group %s interface %s retrans %s:%u messages %llu\n", o_.session.c_str(),
                o_.group.c_str(), o_.iface.c_str(), o_.iface.c_str(), retrans_port_,
                static_cast<unsigned long long>(store_.size()));
    std::fflush(stdout);
    const nanoseconds heartbeat = milliseconds(o_.heartbeat_ms);
    nanoseconds next_send = mono_now();
    last_send_ = next_send;
    std::uint64_t seq = 1;
    while (seq <= store_.size() && g_stop == 0) {
      nanoseconds now = mono_now();
      if (now >= next_send) {
        const std::uint16_t n = send_data(seq);
        seq += n;
        if (o_.rate > 0) next_send += nanoseconds(static_cast<std::int64_t>(1e9 / o_.rate));
        if (o_.message_rate > 0) next_send += nanoseconds(static_cast<std::int64_t>(1e9 * n / o_.message_rate));
        // After a stall, do not burst to catch up more than 10 ms.
        next_send = std::max(next_send, now - milliseconds(10));
        next_seq_ = seq;
        if (o_.rate > 0 || o_.message_rate > 0 || stats_.packets % 8 == 0) serve(now);
        continue;
      }
      if (now - last_send_ >= heartbeat) send_header(next_seq_, 0, stats_.heartbeats);
      serve(now);
      wait_until(std::min(next_send, last_send_ + heartbeat));
    }
    for (int i = 0; i < o_.end_count; ++i) {
      send_header(next_seq_, mold::kEndOfSession, stats_.end_packets);
      serve(mono_now());
      wait_until(mono_now() + milliseconds(1));
    }
    const nanoseconds stop = mono_now() + milliseconds(o_.linger_ms);
    for (nanoseconds now = mono_now(); now < stop && g_stop == 0; now = mono_now()) {
      if (now - last_send_ >= heartbeat) send_header(next_seq_, mold::kEndOfSession, stats_.end_packets);
      serve(now);
      wait_until(std::min(stop, last_send_ + heartbeat));
    }
    std::printf("mdgw-moldcast: summary messages=%llu packets=%llu dropped=%llu dropped_messages=%llu heartbeats=%llu "
                "end_packets=%llu requests=%llu served_messages=%llu served_packets=%llu bad_requests=%llu "
                "queue_full=%llu\n",
                static_cast<unsigned long long>(store_.size()), u(stats_.packets), u(stats_.dropped),
                u(stats_.dropped_messages), u(stats_.heartbeats), u(stats_.end_packets), u(stats_.requests),
                u(stats_.served_messages), u(stats_.served_packets), u(stats_.bad_requests), u(stats_.queue_full));
    std::fflush(stdout);
    return 0;
  }

private:
  static unsigned long long u(std::uint64_t v) { return static_cast<unsigned long long>(v); }

  // Packs messages from `seq` (at most `limit`) into buf_; returns the packet's size.
  std::size_t pack(std::uint64_t seq, std::uint64_t limit, std::uint16_t& count) {
    mold::packet_writer w(buf_.data(), buf_.size());
    w.start(session_, seq);
    const std::uint64_t end = std::min(store_.size() + 1, seq + limit);
    for (std::uint64_t k = seq; k < end; ++k) {
      const std::uint8_t* b = store_.block(k);
      if (!w.add(b + 2, static_cast<std::size_t>(b[0] << 8 | b[1]))) break;
    }
    count = w.count();
    return w.finish();
  }

  void send_multicast(const std::uint8_t* p, std::size_t n) {
    if (::sendto(mc_fd_, p, n, 0, reinterpret_cast<const sockaddr*>(&group_), sizeof group_) < 0) {
      const int e = errno;
      if (e == ENETUNREACH || e == EADDRNOTAVAIL || e == EPERM || e == EINVAL) {
        die("cannot send to " + o_.group + " through " + o_.iface + ": " + std::strerror(e) +
            ". Multicast on loopback may need `ip link set lo multicast on` (root) on this host.");
      }
      std::fprintf(stderr, "mdgw-moldcast: send: %s\n", std::strerror(e));
    }
    last_send_ = mono_now();
  }

  // Sends (or drops) the next data packet; returns its message count.
  std::uint16_t send_data(std::uint64_t seq) {
    std::uint16_t count = 0;
    const std::size_t n = pack(seq, mold::kMaxCount, count);
    if (count == 0) die("a message of " + std::to_string(seq) + " does not fit --max-packet");
    ++stats_.packets;
    // 53 random bits as a double in [0, 1): the same on every platform for a seed.
    if (static_cast<double>(rng_() >> 11) * 0x1.0p-53 < o_.drop) {
      ++stats_.dropped;
      stats_.dropped_messages += count;
      last_send_ = mono_now(); // a dropped packet was "sent": no heartbeat in its place
      return count;
    }
    send_multicast(buf_.data(), n);
    return count;
  }

  void send_header(std::uint64_t seq, std::uint16_t count, std::uint64_t& counter) {
    std::uint8_t h[mold::kHeaderSize];
    mold::write_header(h, session_, seq, count);
    send_multicast(h, sizeof h);
    ++counter;
  }

  // Reads pending requests, then sends the answers that are due.
  void serve(nanoseconds now) {
    for (;;) {
      std::uint8_t req[64];
      sockaddr_in from{};
      socklen_t len = sizeof from;
      const ssize_t n = ::recvfrom(rq_fd_, req, sizeof req, 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 0) break;
      ++stats_.requests;
      if (static_cast<std::size_t>(n) != mold::kHeaderSize) {
        ++stats_.bad_requests;
        continue;
      }
      const mold::packet_header h = mold::read_header(req);
      const std::uint64_t seq = h.sequence.get();
      const std::uint16_t count = h.count.get();
      if (h.session != session_ || seq == 0 || seq >= next_seq_ || count == 0 || count == mold::kEndOfSession) {
        ++stats_.bad_requests;
        continue;
      }
      if (pending_.size() >= kMaxPending) {
        ++stats_.queue_full;
        continue;
      }
      pending_.push_back({now + milliseconds(o_.retrans_delay_ms), from, seq, count});
    }
    while (!pending_.empty() && pending_.front().due <= now) {
      const answer a = pending_.front();
      pending_.pop_front();
      const std::uint64_t end = std::min(a.seq + a.count, next_seq_);
      for (std::uint64_t k = a.seq; k < end;) {
        std::uint16_t count = 0;
        const std::size_t n = pack(k, end - k, count);
        (void)::sendto(rq_fd_, buf_.data(), n, 0, reinterpret_cast<const sockaddr*>(&a.to), sizeof a.to);
        ++stats_.served_packets;
        stats_.served_messages += count;
        k += count;
      }
    }
  }

  void wait_until(nanoseconds t) {
    if (!pending_.empty()) t = std::min(t, pending_.front().due);
    const nanoseconds d = t - mono_now();
    if (d <= nanoseconds(0)) return;
    pollfd fd{rq_fd_, POLLIN, 0};
    const timespec ts{static_cast<time_t>(d.count() / 1'000'000'000), static_cast<long>(d.count() % 1'000'000'000)};
    (void)::ppoll(&fd, 1, &ts, nullptr);
  }

  const options& o_;
  message_store store_;
  mold::session_name session_;
  std::mt19937_64 rng_;
  std::vector<std::uint8_t> buf_;
  sockaddr_in group_{};
  int mc_fd_ = -1;
  int rq_fd_ = -1;
  std::uint16_t retrans_port_ = 0;
  std::uint64_t next_seq_ = 1; // one past the last message sent (or dropped)
  nanoseconds last_send_{0};
  std::deque<answer> pending_;
  counters stats_;
};

} // namespace

int main(int argc, char** argv) {
  const options o = parse(argc, argv);
  struct sigaction sa{};
  sa.sa_handler = on_stop_signal; // no SA_RESTART: ppoll returns EINTR
  ::sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  try {
    caster c(o, load(o.file));
    return c.run();
  } catch (const std::exception& e) {
    die(e.what());
  }
}
