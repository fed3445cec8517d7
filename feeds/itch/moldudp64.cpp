#include "moldudp64.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <stdexcept>
#include <utility>

namespace mdgw::itch {

// ------------------------------------------------------------------------- wire format

namespace mold {

session_name make_session(std::string_view name) noexcept {
  session_name s;
  s.fill(' ');
  if (!name.empty()) std::memcpy(s.data(), name.data(), std::min(name.size(), s.size()));
  return s;
}

std::size_t write_header(std::uint8_t* out, const session_name& session, std::uint64_t sequence,
                         std::uint16_t count) noexcept {
  packet_header h;
  h.session = session;
  h.sequence.set(sequence);
  h.count.set(count);
  std::memcpy(out, &h, sizeof h);
  return kHeaderSize;
}

void packet_writer::start(const session_name& session, std::uint64_t sequence) noexcept {
  write_header(buf_, session, sequence, 0);
  size_ = kHeaderSize;
  count_ = 0;
}

bool packet_writer::add(const std::uint8_t* msg, std::size_t len) noexcept {
  if (count_ == kMaxCount || len > 0xFFFF || capacity_ - size_ < 2 + len) return false;
  buf_[size_] = static_cast<std::uint8_t>(len >> 8);
  buf_[size_ + 1] = static_cast<std::uint8_t>(len & 0xFF);
  std::memcpy(buf_ + size_ + 2, msg, len);
  size_ += 2 + len;
  ++count_;
  return true;
}

std::size_t packet_writer::finish() noexcept {
  buf_[18] = static_cast<std::uint8_t>(count_ >> 8);
  buf_[19] = static_cast<std::uint8_t>(count_ & 0xFF);
  return size_;
}

} // namespace mold

// ------------------------------------------------------------------------- session

namespace {

std::uint16_t read_u16(const std::uint8_t* p) noexcept {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

} // namespace

mold_session::mold_session(mold_session_config config)
    : config_(std::move(config)), next_(config_.first_sequence), highest_(config_.first_sequence) {
  if (config_.max_request_count == 0) config_.max_request_count = 1;
  if (config_.max_outstanding == 0) config_.max_outstanding = 1;
  if (config_.max_tries == 0) config_.max_tries = 1;
}

void mold_session::report(std::string_view line) {
  if (config_.log) {
    config_.log(line);
  } else {
    log_to_stderr(line);
  }
}

std::size_t mold_session::malformed(std::string_view why) {
  ++counters_.malformed;
  if (!reported_malformed_) {
    reported_malformed_ = true;
    report(std::string("mold: malformed packet dropped (") + std::string(why) +
           "); further ones are only counted");
  }
  return 0;
}

std::size_t mold_session::on_packet(std::span<const std::uint8_t> packet, message_sink& sink, std::size_t budget,
                                     std::span<const std::uint8_t> next) {
  const std::uint8_t* p = packet.data();
  const std::size_t size = packet.size();
  if (size < mold::kHeaderSize) return malformed("shorter than the 20-byte header") + drain(sink, budget);
  const mold::packet_header h = mold::read_header(p);
  if (has_session_ && h.session != session_) {
    ++counters_.foreign_session;
    if (!reported_foreign_) {
      reported_foreign_ = true;
      report("mold: packet of session '" + std::string(mold::view(h.session)) + "' ignored (following '" +
             std::string(session()) + "'); further ones are only counted");
    }
    return drain(sink, budget);
  }
  const std::uint64_t seq = h.sequence.get();
  const std::uint16_t count = h.count.get();

  if (count == mold::kEndOfSession || count == 0) {
    if (size != mold::kHeaderSize) return malformed("heartbeat or end of session with a body") + drain(sink, budget);
    if (seq < config_.first_sequence) return malformed("sequence before the first") + drain(sink, budget);
    if (!has_session_) {
      session_ = h.session;
      has_session_ = true;
    }
    if (count == 0) {
      ++counters_.heartbeats;
    } else {
      ++counters_.end_packets;
      if (!end_seen_) {
        end_seen_ = true;
        end_sequence_ = seq;
      }
    }
    if (seq > highest_ && !(end_seen_ && seq > end_sequence_)) {
      highest_ = seq;
      dirty_ = true;
    }
    return drain(sink, budget);
  }

  // Validate the whole packet before using any of it.
  std::size_t pos = mold::kHeaderSize;
  for (std::uint16_t i = 0; i < count; ++i) {
    if (size - pos < 2) return malformed("message count beyond the datagram") + drain(sink, budget);
    const std::size_t len = read_u16(p + pos);
    pos += 2;
    if (size - pos < len) return malformed("message length beyond the datagram") + drain(sink, budget);
    pos += len;
  }
  if (pos != size) return malformed("bytes after the last message") + drain(sink, budget);
  if (seq < config_.first_sequence || seq > UINT64_MAX - count) {
    return malformed("sequence out of range") + drain(sink, budget);
  }
  if (!has_session_) {
    session_ = h.session;
    has_session_ = true;
  }
  const std::uint64_t end = seq + count;
  if (end_seen_ && end > end_sequence_) {
    ++counters_.beyond_end;
    return drain(sink, budget);
  }
  ++counters_.packets;
  if (end > highest_) {
    highest_ = end;
    dirty_ = true;
  }
  if (end <= next_) {
    ++counters_.duplicate_packets;
    counters_.duplicate_messages += count;
    return drain(sink, budget);
  }

  // Held messages at next_ (a tail cut by an earlier budget) go first.
  std::size_t n = drain(sink, budget);
  if (seq > next_) {
    hold(seq, count, p + mold::kHeaderSize, size - mold::kHeaderSize, false);
    return n;
  }
  std::uint64_t s = seq;
  std::size_t off = mold::kHeaderSize;
  n += deliver(p, off, s, end, sink, budget - n, next);
  if (s < end) {
    // The budget ran out: keep the tail (always, or it would have to be re-requested).
    hold(s, static_cast<std::uint32_t>(end - s), p + off, size - off, true);
  } else if (n < budget) {
    n += drain(sink, budget - n);
  }
  return n;
}

std::size_t mold_session::look_ahead(std::span<const std::uint8_t> next, std::uint64_t at,
                                     std::span<const std::uint8_t>* out) const noexcept {
  const std::uint8_t* p = next.data();
  const std::size_t size = next.size();
  if (size < mold::kHeaderSize) return 0;
  const mold::packet_header h = mold::read_header(p);
  const std::uint16_t count = h.count.get();
  if (h.session != session_ || h.sequence.get() != at || count == 0 || count == mold::kEndOfSession) return 0;
  // Framed as far as it is read: a bad packet shows what precedes its first bad block
  // (hints only; on_packet validates it whole when its turn comes).
  std::size_t k = 0;
  std::size_t pos = mold::kHeaderSize;
  while (k < kAhead && k < count && size - pos >= 2) {
    const std::size_t len = read_u16(p + pos);
    if (size - pos - 2 < len) break;
    out[k++] = std::span<const std::uint8_t>(p + pos + 2, len);
    pos += 2 + len;
  }
  return k;
}

std::size_t mold_session::deliver(const std::uint8_t* p, std::size_t& pos, std::uint64_t& seq, std::uint64_t end,
                                  message_sink& sink, std::size_t budget, std::span<const std::uint8_t> next) {
  // The blocks were validated (every length within the datagram) when the packet arrived.
  std::size_t n = 0;
  while (seq < end && seq < next_) {
    pos += 2 + read_u16(p + pos);
    ++seq;
    ++counters_.duplicate_messages;
  }
  // In runs (a packet's messages at once, up to kRun): a sink that looks ahead (the ITCH
  // book's cache hints) sees the whole run, and the last run of the packet the first
  // messages of the next one when the caller holds it already.
  constexpr std::size_t kRun = 256;
  std::array<std::span<const std::uint8_t>, kRun + kAhead> run;
  while (seq < end && n < budget) {
    std::size_t k = 0;
    while (k < kRun && seq < end && n + k < budget) {
      const std::size_t len = read_u16(p + pos);
      run[k++] = std::span<const std::uint8_t>(p + pos + 2, len);
      pos += 2 + len;
      ++seq;
    }
    const std::size_t ahead = seq == end && !next.empty() ? look_ahead(next, end, run.data() + k) : 0;
    sink.on_batch(run.data(), k, ahead);
    n += k;
  }
  if (n != 0) {
    next_ = seq;
    counters_.delivered += n;
    dirty_ = true;
  }
  return n;
}

void mold_session::hold(std::uint64_t seq, std::uint32_t count, const std::uint8_t* p, std::size_t size, bool force) {
  if (!force && buffered_bytes_ + size > config_.max_buffer_bytes) {
    ++counters_.buffer_full;
    if (!reported_full_) {
      reported_full_ = true;
      report("mold: gap buffer full (" + std::to_string(config_.max_buffer_bytes) +
             " bytes); packets ahead of the gap are dropped and re-requested later");
    }
    return;
  }
  auto it = held_.find(seq);
  if (it != held_.end()) {
    if (it->second.count >= count) {
      ++counters_.duplicate_packets;
      counters_.duplicate_messages += count;
      return;
    }
    erase(it);
  }
  // A spare node (map node and byte vector with their capacity) when there is one.
  node_type node;
  if (!spare_.empty()) {
    node = std::move(spare_.back());
    spare_.pop_back();
    node.key() = seq;
  } else {
    node = held_.extract(held_.emplace(seq, segment{}).first);
  }
  segment& sg = node.mapped();
  sg.count = count;
  sg.pos = 0;
  sg.bytes.assign(p, p + size);
  buffered_bytes_ += size;
  held_.insert(std::move(node));
  ++counters_.buffered_packets;
  dirty_ = true;
}

void mold_session::erase(std::map<std::uint64_t, segment>::iterator it) {
  recycle(held_.extract(it));
}

void mold_session::recycle(node_type node) {
  buffered_bytes_ -= node.mapped().bytes.size();
  if (spare_.size() < kSpareNodes) spare_.push_back(std::move(node));
}

void mold_session::insert(node_type node) {
  auto it = held_.find(node.key());
  if (it != held_.end()) {
    if (it->second.count >= node.mapped().count) {
      recycle(std::move(node));
      return;
    }
    erase(it);
  }
  held_.insert(std::move(node));
}

std::size_t mold_session::drain(message_sink& sink, std::size_t budget) {
  std::size_t n = 0;
  while (n < budget && !held_.empty()) {
    auto it = held_.begin();
    if (it->first > next_) break;
    segment& sg = it->second;
    const std::uint64_t end = it->first + sg.count;
    if (end <= next_) {
      counters_.duplicate_messages += sg.count;
      erase(it);
      continue;
    }
    std::uint64_t seq = it->first;
    n += deliver(sg.bytes.data(), sg.pos, seq, end, sink, budget - n);
    if (seq >= end) {
      erase(it);
    } else if (seq != it->first) {
      auto node = held_.extract(it);
      node.key() = seq;
      node.mapped().count = static_cast<std::uint32_t>(end - seq);
      insert(std::move(node));
    }
  }
  return n;
}

bool mold_session::ready() const noexcept {
  if (held_.empty()) return false;
  const auto it = held_.begin();
  return it->first <= next_ && it->first + it->second.count > next_;
}

std::uint64_t mold_session::first_missing() const noexcept {
  std::uint64_t m = next_;
  for (const auto& [first, sg] : held_) {
    if (first > m) break;
    m = std::max(m, first + sg.count);
  }
  return m;
}

bool mold_session::gap_open() const noexcept { return first_missing() < highest_; }

void mold_session::find_holes(std::size_t limit, std::vector<hole>& out) const {
  out.clear();
  std::uint64_t m = next_;
  auto it = held_.begin();
  while (out.size() < limit) {
    while (it != held_.end() && it->first <= m) {
      m = std::max(m, it->first + it->second.count);
      ++it;
    }
    if (m >= highest_) break;
    const std::uint64_t end = it != held_.end() ? it->first : highest_;
    out.push_back({m, end});
    m = end;
  }
}

std::chrono::nanoseconds mold_session::next_deadline() const noexcept {
  return dirty_ ? std::chrono::nanoseconds::min() : deadline_;
}

void mold_session::give_up(const hole& h, unsigned tries) {
  const std::uint64_t lost = h.end - h.begin;
  ++counters_.unrecoverable_gaps;
  counters_.lost += lost;
  next_ = h.end;
  dirty_ = true;
  if (!reported_lost_) {
    reported_lost_ = true;
    report("mold: gave up on messages " + std::to_string(h.begin) + ".." + std::to_string(h.end - 1) + " after " +
           std::to_string(tries) + " unanswered re-requests: " + std::to_string(lost) +
           " messages lost, delivery resumes at " + std::to_string(h.end) +
           "; books are no longer exact. Further losses are only counted");
  }
}

std::span<const mold_request> mold_session::requests_due(std::chrono::nanoseconds now) {
  due_.clear();
  if (!dirty_ && now < deadline_) return {};
  dirty_ = false;
  deadline_ = std::chrono::nanoseconds::max();
  if (ended()) {
    outstanding_.clear();
    return {};
  }
  find_holes(config_.max_outstanding, holes_);
  kept_.clear();
  for (std::size_t i = 0; i < holes_.size(); ++i) {
    const hole& h = holes_[i];
    const auto count = static_cast<std::uint16_t>(std::min<std::uint64_t>(h.end - h.begin, config_.max_request_count));
    auto o = std::find_if(outstanding_.begin(), outstanding_.end(),
                          [&h](const outstanding& x) { return x.first <= h.begin && h.begin < x.first + x.count; });
    if (o == outstanding_.end()) {
      ++counters_.gaps;
      ++counters_.requests;
      due_.push_back({h.begin, count});
      kept_.push_back({h.begin, count, h.begin, now, 1});
    } else {
      outstanding x = *o;
      o->count = 0; // matched: not counted as filled below
      if (x.progress != h.begin) {
        x.progress = h.begin; // answered in part: the server is working on it
        x.sent_at = now;
      } else if (now - x.sent_at >= config_.request_timeout) {
        if (x.tries >= config_.max_tries) {
          if (i == 0 && h.begin == next_) {
            give_up(h, x.tries);
            continue;
          }
          // Exhausted but not yet blocking delivery: given up on when it is.
          kept_.push_back(x);
          continue;
        }
        x = {h.begin, count, h.begin, now, x.tries + 1};
        ++counters_.requests;
        ++counters_.request_retries;
        due_.push_back({h.begin, count});
      }
      kept_.push_back(x);
    }
  }
  if (holes_.size() < config_.max_outstanding) {
    // Every hole was seen: an outstanding request that matched none was answered.
    for (const outstanding& o : outstanding_) {
      if (o.count != 0) ++counters_.gaps_filled;
    }
  }
  outstanding_.swap(kept_);
  for (const outstanding& o : outstanding_) {
    if (o.tries < config_.max_tries || o.first == next_) {
      deadline_ = std::min(deadline_, o.sent_at + config_.request_timeout);
    }
  }
  return due_;
}

// ------------------------------------------------------------------------- source

namespace {

std::chrono::nanoseconds mono_now() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

[[noreturn]] void fail(const char* field, const std::string& what) {
  throw std::runtime_error(std::string(field) + ": " + what);
}

std::string errno_text(int e) { return std::strerror(e); }

// "HOST:PORT" -> host, port (1..65535).
std::pair<std::string, std::uint16_t> split_host_port(const char* field, const std::string& s) {
  const auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0) fail(field, "'" + s + "' is not HOST:PORT");
  unsigned port = 0;
  const char* b = s.data() + colon + 1;
  const char* e = s.data() + s.size();
  const auto [ptr, ec] = std::from_chars(b, e, port);
  if (b == e || ec != std::errc() || ptr != e || port == 0 || port > 65535) {
    fail(field, "'" + s + "' has no valid port (1..65535)");
  }
  return {s.substr(0, colon), static_cast<std::uint16_t>(port)};
}

in_addr parse_ipv4(const char* field, const std::string& s) {
  in_addr a{};
  if (::inet_pton(AF_INET, s.c_str(), &a) != 1) fail(field, "'" + s + "' is not an IPv4 address");
  return a;
}

class fd_guard {
public:
  explicit fd_guard(int fd) noexcept : fd_(fd) {}
  ~fd_guard() {
    if (fd_ >= 0) ::close(fd_);
  }
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  [[nodiscard]] int get() const noexcept { return fd_; }
  int release() noexcept { return std::exchange(fd_, -1); }

private:
  int fd_;
};

// A large receive buffer: a burst (or a consumer busy with a big batch) must not overflow
// the kernel queue. SO_RCVBUFFORCE passes net.core.rmem_max when we may (CAP_NET_ADMIN).
void grow_receive_buffer(int fd) {
  int bytes = 8 << 20;
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) != 0) {
    (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
  }
}

int open_group_socket(const itch_source_config& config) {
  const auto [host, port] = split_host_port("mold_group", config.mold_group);
  const in_addr group = parse_ipv4("mold_group", host);
  if ((ntohl(group.s_addr) >> 28) != 0xE) fail("mold_group", "'" + host + "' is not a multicast address (224.0.0.0/4)");
  const in_addr iface = parse_ipv4("mold_interface", config.mold_interface);

  fd_guard fd(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) fail("mold_group", "socket: " + errno_text(errno));
  const int one = 1;
  const int zero = 0;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) {
    fail("mold_group", "SO_REUSEADDR: " + errno_text(errno));
  }
  // Bound to the group address: this socket sees only this group's datagrams on the port.
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr = group;
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    fail("mold_group", "bind " + config.mold_group + ": " + errno_text(errno));
  }
  ip_mreq mreq{};
  mreq.imr_multiaddr = group;
  mreq.imr_interface = iface;
  if (::setsockopt(fd.get(), IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq) != 0) {
    fail("mold_interface", "joining " + host + " on " + config.mold_interface + ": " + errno_text(errno));
  }
  (void)::setsockopt(fd.get(), IPPROTO_IP, IP_MULTICAST_ALL, &zero, sizeof zero);
  grow_receive_buffer(fd.get());
  return fd.release();
}

int open_request_socket(const itch_source_config& config, std::uint16_t& local_port) {
  const auto [host, port] = split_host_port("mold_retrans", config.mold_retrans);
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res); rc != 0) {
    fail("mold_retrans", "'" + host + "': " + ::gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> guard(res, ::freeaddrinfo);
  fd_guard fd(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) fail("mold_retrans", "socket: " + errno_text(errno));
  // Connected: send() needs no address, and only the server's answers are received.
  if (::connect(fd.get(), res->ai_addr, res->ai_addrlen) != 0) {
    fail("mold_retrans", "connect " + config.mold_retrans + ": " + errno_text(errno));
  }
  grow_receive_buffer(fd.get());
  sockaddr_in local{};
  socklen_t len = sizeof local;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&local), &len) == 0) local_port = ntohs(local.sin_port);
  return fd.release();
}

} // namespace

mold_source::mold_source(const itch_source_config& config, mold_session_config session)
    : config_(config), session_([&] {
        session.request_timeout = config.mold_request_timeout;
        if (!session.log) session.log = config.log;
        return session;
      }()),
      slots_(kBatch * kSlot) {
  if (config.mold_group.empty()) fail("mold_group", "not set");
  if (config.mold_request_timeout <= std::chrono::milliseconds(0)) fail("mold_request_timeout", "must be > 0");
  data_fd_ = open_group_socket(config);
  if (!config.mold_retrans.empty()) {
    try {
      request_fd_ = open_request_socket(config, request_port_);
    } catch (...) {
      ::close(data_fd_);
      throw;
    }
  }
  last_packet_ = mono_now();
}

mold_source::~mold_source() {
  if (data_fd_ >= 0) ::close(data_fd_);
  if (request_fd_ >= 0) ::close(request_fd_);
}

void mold_source::report(std::string_view line) {
  if (config_.log) {
    config_.log(line);
  } else {
    log_to_stderr(line);
  }
}

std::uint64_t mold_source::errors() const noexcept {
  const mold_counters& c = session_.counters();
  return c.malformed + c.foreign_session + c.lost + truncated_;
}

std::size_t mold_source::receive(int fd, message_sink& sink, std::size_t budget) {
  std::array<mmsghdr, kBatch> msgs{};
  std::array<iovec, kBatch> iov{};
  std::size_t n = 0;
  // Bounded: a flood on one socket cannot starve the other or the request timer.
  for (int round = 0; round < 8; ++round) {
    // Read about as many datagrams as the budget has room for (at the average messages
    // per packet so far), so that little is read only to be held for the next call.
    const mold_counters& c = session_.counters();
    const std::uint64_t per = c.packets == 0 ? 1 : std::max<std::uint64_t>(1, c.delivered / c.packets);
    const auto want = static_cast<std::size_t>(std::clamp<std::uint64_t>((budget - n) / per + 1, 1, kBatch));
    for (std::size_t i = 0; i < want; ++i) {
      iov[i] = {slots_.data() + i * kSlot, kSlot};
      msgs[i].msg_hdr = {};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    const int got = ::recvmmsg(fd, msgs.data(), static_cast<unsigned>(want), MSG_DONTWAIT, nullptr);
    if (got <= 0) break; // EAGAIN, or ECONNREFUSED from a retransmission server not up yet
    last_packet_ = mono_now();
    for (int i = 0; i < got; ++i) {
      const auto k = static_cast<std::size_t>(i);
      if ((msgs[k].msg_hdr.msg_flags & MSG_TRUNC) != 0) {
        ++truncated_;
        continue;
      }
      // The next datagram, when it was read whole: the book's hints look into it.
      const bool next_whole = k + 1 < static_cast<std::size_t>(got) && (msgs[k + 1].msg_hdr.msg_flags & MSG_TRUNC) == 0;
      const std::span<const std::uint8_t> next =
          next_whole ? std::span<const std::uint8_t>(slots_.data() + (k + 1) * kSlot, msgs[k + 1].msg_len)
                     : std::span<const std::uint8_t>();
      n += session_.on_packet({slots_.data() + k * kSlot, msgs[k].msg_len}, sink, budget - n, next);
    }
    if (static_cast<std::size_t>(got) < want || n >= budget) break;
  }
  return n;
}

void mold_source::send_requests(std::chrono::nanoseconds now) {
  for (const mold_request& r : session_.requests_due(now)) {
    if (request_fd_ < 0) continue; // no server: the gap is given up on after max_tries timeouts
    std::array<std::uint8_t, mold::kHeaderSize> buf;
    mold::write_header(buf.data(), session_.session_name(), r.sequence, r.count);
    if (::send(request_fd_, buf.data(), buf.size(), MSG_DONTWAIT) != static_cast<ssize_t>(buf.size())) {
      ++send_errors_;
      if (!reported_send_) {
        reported_send_ = true;
        report("mold_retrans: sending a re-request to " + config_.mold_retrans + " failed: " + errno_text(errno) +
               " (retried after the request timeout)");
      }
    }
  }
}

poll_result mold_source::poll(message_sink& sink, std::size_t max_messages, std::chrono::milliseconds wait) {
  if (max_messages == 0) return poll_result::idle;
  const std::chrono::nanoseconds deadline = mono_now() + wait;
  for (;;) {
    std::size_t n = session_.drain(sink, max_messages);
    if (request_fd_ >= 0 && n < max_messages) n += receive(request_fd_, sink, max_messages - n);
    if (n < max_messages) n += receive(data_fd_, sink, max_messages - n);
    const std::chrono::nanoseconds now = mono_now();
    send_requests(now);
    if (n > 0) return poll_result::messages;
    if (session_.ready()) continue; // a give-up skipped ahead to held messages
    if (session_.ended()) return poll_result::end;
    if (config_.mold_session_timeout > std::chrono::milliseconds(0) &&
        now - last_packet_ >= config_.mold_session_timeout) {
      if (!reported_timeout_) {
        reported_timeout_ = true;
        report("mold_session_timeout: no packet for " + std::to_string(config_.mold_session_timeout.count()) +
               " ms; treating the session as ended");
      }
      return poll_result::end;
    }
    if (now >= deadline) return poll_result::idle;
    const std::chrono::nanoseconds until = std::min(deadline, session_.next_deadline()) - now;
    if (until <= std::chrono::nanoseconds(0)) continue;
    pollfd fds[2] = {{data_fd_, POLLIN, 0}, {request_fd_, POLLIN, 0}};
    const timespec ts{static_cast<time_t>(until.count() / 1'000'000'000),
                      static_cast<long>(until.count() % 1'000'000'000)};
    (void)::ppoll(fds, request_fd_ >= 0 ? 2 : 1, &ts, nullptr);
  }
}

std::string mold_source::describe() const {
  const mold_counters& c = session_.counters();
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "mold %s session '%.*s' next %llu of %llu%s: delivered %llu, gaps %llu (filled %llu, open %s), "
                "requests %llu (retries %llu), lost %llu, duplicates %llu, malformed %llu, foreign %llu",
                config_.mold_group.c_str(), static_cast<int>(session_.session().size()), session_.session().data(),
                static_cast<unsigned long long>(session_.next_sequence()),
                static_cast<unsigned long long>(session_.highest_sequence()), session_.ended() ? " (ended)" : "",
                static_cast<unsigned long long>(c.delivered), static_cast<unsigned long long>(c.gaps),
                static_cast<unsigned long long>(c.gaps_filled), session_.gap_open() ? "yes" : "no",
                static_cast<unsigned long long>(c.requests), static_cast<unsigned long long>(c.request_retries),
                static_cast<unsigned long long>(c.lost), static_cast<unsigned long long>(c.duplicate_messages),
                static_cast<unsigned long long>(c.malformed + truncated_),
                static_cast<unsigned long long>(c.foreign_session));
  return buf;
}

std::unique_ptr<itch_source> open_mold_source(const itch_source_config& config) {
  return std::make_unique<mold_source>(config);
}

} // namespace mdgw::itch
