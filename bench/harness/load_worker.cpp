#include "load_worker.hpp"

#include "tls13_record_key.hpp"

#include <netinet/tcp.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <limits>
#include <mutex>
#include <stdexcept>

namespace mdgw::bench {

namespace {

// Read buffers: 64 KiB each (one recv takes many messages), less when there are many
// connections so that they stay within about 128 MiB in all (16 KiB at least). A buffer
// grows when a single frame needs more.
constexpr std::size_t kReadBufferMax = 64 * 1024;
constexpr std::size_t kReadBufferMin = 16 * 1024;
constexpr std::size_t kReadBufferBudget = std::size_t{128} << 20;
constexpr std::size_t kMaxUpgradeResponse = 16 * 1024;
constexpr int kReadsPerEvent = 16;
// A batched TLS read takes up to this much ciphertext (then OpenSSL decrypts it).
constexpr std::size_t kCipherChunk = 32 * 1024;
constexpr int64_t kPublishEveryNs = 200'000'000;
constexpr int64_t kFirstBackoffNs = 250'000'000;
constexpr int64_t kMaxBackoffNs = 4'000'000'000;
constexpr std::size_t kMaxErrorsKept = 16;

int64_t mono_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t thread_cpu_ns() noexcept {
  timespec cpu{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
  return int64_t(cpu.tv_sec) * 1'000'000'000 + cpu.tv_nsec;
}

int64_t real_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool iequals_prefix(std::string_view s, std::string_view lower_prefix) noexcept {
  if (s.size() < lower_prefix.size()) return false;
  for (std::size_t i = 0; i < lower_prefix.size(); ++i)
    if (char(std::tolower(uint8_t(s[i]))) != lower_prefix[i]) return false;
  return true;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return std::string(s);
}

std::string subscribe_request(const std::vector<std::string>& channels) {
  std::string s = "{\"op\":\"subscribe\",\"id\":1,\"channels\":[";
  for (std::size_t i = 0; i < channels.size(); ++i) {
    if (i) s += ',';
    s += '"';
    s += channels[i];
    s += '"';
  }
  s += "]}";
  return s;
}

// The ciphertext OpenSSL reads once a wss connection is open and its reads are batched:
// the bytes a batched recv put in its scratch slot (`window`, only valid during read_tls),
// after those an earlier read_tls left unread (`spill`, copied there then; rare). The
// BIO hands OpenSSL these bytes in place: a memory BIO (BIO_s_mem) took a copy first and
// zeroed the memory it grew into, 8% of the reading thread in the tls scenario
// (docs/performance.md).
struct tls_source {
  std::string spill;
  std::size_t spill_off = 0;
  const char* window = nullptr;
  std::size_t window_len = 0;

  [[nodiscard]] std::size_t pending() const noexcept { return spill.size() - spill_off + window_len; }
  // Copies up to len bytes to out; 0 when there are none.
  std::size_t take(char* out, std::size_t len) noexcept {
    std::size_t done = 0;
    if (spill_off < spill.size()) {
      done = std::min(len, spill.size() - spill_off);
      std::memcpy(out, spill.data() + spill_off, done);
      spill_off += done;
      if (spill_off == spill.size()) {
        spill.clear();
        spill_off = 0;
      }
    }
    if (done < len && window_len != 0) {
      const std::size_t n = std::min(len - done, window_len);
      std::memcpy(out + done, window, n);
      window += n;
      window_len -= n;
      done += n;
    }
    return done;
  }
  // The end of a read_tls: what OpenSSL left of the window is kept for the next read.
  void keep_rest() {
    if (window_len != 0) spill.append(window, window_len);
    window = nullptr;
    window_len = 0;
  }
  void reset() noexcept {
    spill.clear();
    spill_off = 0;
    window = nullptr;
    window_len = 0;
  }
};

int tls_source_read(BIO* b, char* out, int len) {
  BIO_clear_retry_flags(b);
  if (len <= 0) return 0;
  const std::size_t n = static_cast<tls_source*>(BIO_get_data(b))->take(out, std::size_t(len));
  if (n == 0) {
    BIO_set_retry_read(b);  // drained: "retry", not end of stream
    return -1;
  }
  return int(n);
}

long tls_source_ctrl(BIO* b, int cmd, long, void*) {
  switch (cmd) {
    case BIO_CTRL_PENDING:
      return long(static_cast<tls_source*>(BIO_get_data(b))->pending());
    case BIO_CTRL_FLUSH:
      return 1;
    default:
      return 0;
  }
}

int tls_source_create(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

// Built once, shared by every connection; nullptr when OpenSSL could not make it (reads
// then go through OpenSSL's socket BIO, unbatched).
const BIO_METHOD* tls_source_method() {
  static const BIO_METHOD* const method = []() -> const BIO_METHOD* {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "mdgw-bench batched reads");
    if (m == nullptr) return nullptr;
    if (BIO_meth_set_read(m, tls_source_read) != 1 || BIO_meth_set_ctrl(m, tls_source_ctrl) != 1 ||
        BIO_meth_set_create(m, tls_source_create) != 1) {
      BIO_meth_free(m);
      return nullptr;
    }
    return m;
  }();
  return method;
}

// The server's first application traffic secret of a TLS 1.3 connection, from the
// context's keylog callback, and the records OpenSSL opened under it so far.
struct read_secret {
  unsigned char bytes[tls13_record_key::kMaxSecret] = {};
  std::size_t len = 0;
  std::uint32_t records = 0;
  read_secret() = default;
  read_secret(const read_secret&) = delete;
  read_secret& operator=(const read_secret&) = delete;
  ~read_secret() { OPENSSL_cleanse(bytes, sizeof bytes); }
};

// The client context's keylog callback (load_worker::prepare_tls_context): keeps the
// server's first application traffic secret for the connection.
void on_keylog(const SSL* ssl, const char* line);
// A connection's message callback: counts the records OpenSSL opens under that secret
// (each record's header is reported), to go on from.
void on_tls_message(int write_p, int, int content_type, const void*, std::size_t, SSL*, void* arg);

}  // namespace

struct load_worker::connection {
  enum class state { idle, connecting, tls, upgrading, open, closed };

  connection_plan plan;
  channel_table table;
  std::string subscribe_json;
  state st = state::idle;
  int fd = -1;
  SSL* ssl = nullptr;
  // TLS once open, with batched reads: OpenSSL reads records through a BIO of ours
  // (tls_source_method, owned by ssl) from `cipher`.
  bool tls_batched = false;
  tls_source cipher;
  // TLS 1.3 once open: the server's records are opened here (tls13_record_key, a copy and
  // OpenSSL's per-record work saved), straight from the batch's scratch into rbuf;
  // cipher.spill holds a record cut at the end of a read. OpenSSL still writes.
  std::unique_ptr<read_secret> secret;
  std::unique_ptr<tls13_record_key> opener;
  uint32_t interest = 0;  // registered epoll events; 0: not registered
  bool want_write = false;  // the last TLS operation needs the socket writable
  bool started_before = false;
  int64_t next_start = 0;
  int64_t connect_started = 0;
  int64_t backoff = kFirstBackoffNs;
  std::vector<uint8_t> rbuf;
  std::size_t rlen = 0;
  std::string out;
  std::size_t out_off = 0;
  ws_reader reader;
  std::string ws_key;
  uint32_t mask_state = 1;

  // Masking keys only need to be unpredictable to intermediaries a browser might be
  // tricked into attacking (RFC 6455 10.3); a load generator uses a cheap xorshift.
  uint32_t next_mask() noexcept {
    mask_state ^= mask_state << 13;
    mask_state ^= mask_state >> 17;
    mask_state ^= mask_state << 5;
    return mask_state;
  }
};

struct load_worker::frame_handler {
  load_worker& w;
  connection& c;
  int64_t recv_ns;
  uint64_t data_messages = 0;
  bool closed = false;
  int close_code = 0;

  bool on_message(std::string_view payload, bool text) {
    if (!text) {
      ++w.stats_.c.bad_messages;
      w.note_error("binary message (expected JSON text)");
      return true;
    }
    const msg_type t = record_message(payload, recv_ns, w.opts_.keys, c.table, w.stats_);
    if (t == msg_type::data) {
      ++data_messages;
    } else if (t == msg_type::error || t == msg_type::bad) {
      w.note_error(std::string(t == msg_type::error ? "gateway error: " : "unreadable message: ") +
                   std::string(payload.substr(0, 300)));
    }
    return true;
  }
  void on_ping(std::string_view payload) { append_client_frame(c.out, ws_opcode::pong, payload, c.next_mask()); }
  void on_pong(std::string_view) {}
  void on_close(int code, std::string_view) {
    closed = true;
    close_code = code;
  }
};

load_worker::load_worker(const bench_options& opts, const resolved_target& to, SSL_CTX* tls,
                         std::vector<connection_plan> plan)
    : opts_(opts), to_(to), tls_(tls), reads_(unsigned(opts.read_batch)) {
  // One ciphertext slot per read of a batch, and one for a read outside it.
  if (opts.url.tls && reads_.enabled()) cipher_scratch_.resize((std::size_t(opts.read_batch) + 1) * kCipherChunk);
  if (opts.read_batch != 0 && !reads_.enabled()) {
    static std::once_flag said;
    std::call_once(said, [&] {
      std::fprintf(stderr, "mdgw-bench: reads are not batched (%s): one recv per ready connection\n",
                   reads_.why_disabled().c_str());
    });
  }
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) throw std::runtime_error(std::string("epoll_create1: ") + std::strerror(errno));
  const auto total = std::size_t(std::max(opts.connections, 1));
  const std::size_t read_buffer = std::clamp(kReadBufferBudget / total, kReadBufferMin, kReadBufferMax);
  for (auto& p : plan) {
    auto c = std::make_unique<connection>();
    c->table.assign(p.channels);
    c->subscribe_json = subscribe_request(p.channels);
    c->mask_state = uint32_t(p.index) * 2654435761u + 1;
    c->plan = std::move(p);
    c->rbuf.resize(read_buffer);
    c->out.reserve(1024);
    conns_.push_back(std::move(c));
  }
}

load_worker::~load_worker() {
  for (auto& c : conns_) close_socket(*c);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

void load_worker::note_error(const std::string& what) {
  std::lock_guard lock(published_mutex_);
  if (errors_.size() >= kMaxErrorsKept) return;
  for (const auto& e : errors_)
    if (e.compare(0, 48, what, 0, 48) == 0) return;  // one example per kind
  errors_.push_back(what);
}

std::vector<std::string> load_worker::first_errors() const {
  std::lock_guard lock(published_mutex_);
  return errors_;
}

worker_snapshot load_worker::snapshot() const {
  std::lock_guard lock(published_mutex_);
  return published_;
}

void load_worker::publish() {
  std::lock_guard lock(published_mutex_);
  published_.stats = stats_;
  published_.open = open_;
  published_.cpu_ns = thread_cpu_ns() - cpu_at_start_;
}

void load_worker::update_interest(connection& c) {
  if (c.fd < 0) return;
  uint32_t want = 0;
  switch (c.st) {
    case connection::state::connecting:
      want = EPOLLOUT;
      break;
    case connection::state::tls:
      want = c.want_write ? EPOLLOUT : EPOLLIN;
      break;
    case connection::state::upgrading:
    case connection::state::open:
      want = EPOLLIN | ((c.out_off < c.out.size() || c.want_write) ? EPOLLOUT : 0u);
      break;
    case connection::state::idle:
    case connection::state::closed:
      return;
  }
  if (want == c.interest) return;
  epoll_event ev{};
  ev.events = want;
  ev.data.ptr = &c;
  const int op = c.interest == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
  if (epoll_ctl(epoll_fd_, op, c.fd, &ev) == 0) c.interest = want;
}

void load_worker::close_socket(connection& c) {
  if (c.fd >= 0) {
    if (c.interest) epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
    if (c.ssl) SSL_free(c.ssl);
    ::close(c.fd);
  }
  c.ssl = nullptr;
  c.tls_batched = false;
  c.secret.reset();
  c.opener.reset();
  c.cipher.reset();
  c.fd = -1;
  c.interest = 0;
  c.want_write = false;
  c.rlen = 0;
  c.out.clear();
  c.out_off = 0;
  c.reader.reset();
  c.table.reset_sequences();
}

void load_worker::fail(connection& c, const char* why, int64_t now, int err) {
  const bool stopping = control_ && control_->stop.load(std::memory_order_relaxed);
  if (c.st == connection::state::open) {
    --open_;
    if (!stopping) ++stats_.c.disconnects;
  } else if (!stopping) {
    ++stats_.c.connect_failures;
  }
  if (!stopping) {
    std::string what = why;
    if (err != 0) what += std::string(": ") + std::strerror(err);
    note_error(what);
  }
  close_socket(c);
  if (opts_.reconnect && !stopping) {
    c.st = connection::state::idle;
    c.next_start = now + c.backoff;
    c.backoff = std::min(c.backoff * 2, kMaxBackoffNs);
    next_due_ = std::min(next_due_, c.next_start);
  } else {
    c.st = connection::state::closed;
  }
}

void load_worker::start(connection& c, int64_t now) {
  if (c.started_before) ++stats_.c.reconnects;
  c.started_before = true;
  c.connect_started = now;
  c.fd = ::socket(to_.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0) {
    c.st = connection::state::connecting;
    fail(c, "socket", now, errno);
    return;
  }
  const int one = 1;
  setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c.st = connection::state::connecting;
  if (::connect(c.fd, reinterpret_cast<const sockaddr*>(&to_.addr), to_.addr_len) == 0) {
    on_connected(c, now);
  } else if (errno == EINPROGRESS) {
    update_interest(c);
  } else {
    fail(c, "connect", now, errno);
  }
}

void load_worker::on_connected(connection& c, int64_t now) {
  if (opts_.url.tls) {
    c.ssl = SSL_new(tls_);
    if (!c.ssl) {
      fail(c, "SSL_new failed", now);
      return;
    }
    SSL_set_fd(c.ssl, c.fd);
    prepare_client_ssl(c.ssl, opts_.url.host);
    SSL_set_app_data(c.ssl, &c);
    SSL_set_msg_callback(c.ssl, on_tls_message);
    SSL_set_msg_callback_arg(c.ssl, &c);
    SSL_set_connect_state(c.ssl);
    c.st = connection::state::tls;
    if (!handshake_tls(c)) fail(c, ("TLS handshake failed: " + tls_error_text()).c_str(), now);
    return;
  }
  c.st = connection::state::tls;  // no TLS: the handshake step is empty
  if (!handshake_tls(c)) fail(c, "upgrade request failed", now);
}

// Advances the TLS handshake; once done (at once without TLS), sends the upgrade request.
bool load_worker::handshake_tls(connection& c) {
  if (c.ssl) {
    ERR_clear_error();
    const int rc = SSL_do_handshake(c.ssl);
    if (rc != 1) {
      const int err = SSL_get_error(c.ssl, rc);
      if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) return false;
      c.want_write = err == SSL_ERROR_WANT_WRITE;
      update_interest(c);
      return true;
    }
  }
  c.want_write = false;
  c.ws_key = make_ws_key();
  c.out = "GET " + opts_.url.path + " HTTP/1.1\r\nHost: " + opts_.url.host + ":" + std::to_string(opts_.url.port) +
          "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + c.ws_key +
          "\r\nSec-WebSocket-Version: 13\r\nUser-Agent: mdgw-bench\r\n\r\n";
  c.out_off = 0;
  c.st = connection::state::upgrading;
  return flush(c);
}

// One read or write on c's socket, through OpenSSL when c has TLS.
load_worker::io_result load_worker::io_transfer(connection& c, bool write, void* p, std::size_t n,
                                                std::size_t& done) {
  if (c.ssl) {
    ERR_clear_error();
    const int len = int(std::min<std::size_t>(n, 1 << 30));
    const int rc = write ? SSL_write(c.ssl, p, len) : SSL_read(c.ssl, p, len);
    if (rc > 0) {
      done = std::size_t(rc);
      return io_result::progress;
    }
    const int err = SSL_get_error(c.ssl, rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      c.want_write = err == SSL_ERROR_WANT_WRITE;
      return io_result::would_block;
    }
    return io_result::closed;
  }
  for (;;) {
    const ssize_t rc = write ? ::send(c.fd, p, n, MSG_NOSIGNAL) : ::recv(c.fd, p, n, 0);
    if (rc > 0) {
      done = std::size_t(rc);
      return io_result::progress;
    }
    if (rc == 0) return io_result::closed;  // end of stream (n is never 0)
    if (errno == EINTR) continue;
    return (errno == EAGAIN || errno == EWOULDBLOCK) ? io_result::would_block : io_result::closed;
  }
}

bool load_worker::flush(connection& c) {
  while (c.out_off < c.out.size()) {
    std::size_t put = 0;
    const io_result r = io_transfer(c, true, c.out.data() + c.out_off, c.out.size() - c.out_off, put);
    if (r == io_result::closed) return false;
    if (r == io_result::would_block) break;
    c.out_off += put;
  }
  if (c.out_off == c.out.size()) {
    c.out.clear();
    c.out_off = 0;
  }
  update_interest(c);
  return true;
}

void load_worker::on_upgrade_response(connection& c, int64_t now) {
  const std::string_view data(reinterpret_cast<const char*>(c.rbuf.data()), c.rlen);
  const std::size_t end = data.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (c.rlen > kMaxUpgradeResponse) fail(c, "upgrade response over 16 KiB", now);
    return;
  }
  const std::string_view head = data.substr(0, end + 2);
  if (!head.starts_with("HTTP/1.1 101")) {
    note_error("upgrade refused: " + std::string(head.substr(0, head.find("\r\n"))));
    fail(c, "upgrade refused", now);
    return;
  }
  std::string accept;
  for (std::size_t p = head.find("\r\n"); p != std::string_view::npos && p + 2 < head.size();) {
    const std::size_t line_end = head.find("\r\n", p + 2);
    const std::string_view line = head.substr(p + 2, line_end - p - 2);
    if (iequals_prefix(line, "sec-websocket-accept:")) accept = trim(line.substr(21));
    p = line_end;
  }
  if (accept != ws_accept_for(c.ws_key)) {
    fail(c, "bad Sec-WebSocket-Accept in the upgrade response", now);
    return;
  }
  const std::size_t used = end + 4;
  std::memmove(c.rbuf.data(), c.rbuf.data() + used, c.rlen - used);
  c.rlen -= used;
  c.st = connection::state::open;
  if (c.ssl && reads_.enabled()) {
    // From now on the batch reads the socket and OpenSSL the bytes it read (records read
    // ahead already are in OpenSSL's own buffer). Writes still go to the socket.
    const BIO_METHOD* method = tls_source_method();
    BIO* m = method ? BIO_new(method) : nullptr;
    if (m) {
      BIO_set_data(m, &c.cipher);
      SSL_set0_rbio(c.ssl, m);
      c.tls_batched = true;
      // The server sends nothing after its 101 until the subscription: OpenSSL holds no
      // record, and the next one is the secret's records + 1.
      if (c.secret && SSL_version(c.ssl) == TLS1_3_VERSION && !SSL_has_pending(c.ssl)) {
        if (const SSL_CIPHER* suite = SSL_get_current_cipher(c.ssl)) {
          c.opener = tls13_record_key::make(SSL_CIPHER_get_protocol_id(suite), c.secret->bytes, c.secret->len,
                                            c.secret->records, true);
        }
      }
    }
  }
  c.secret.reset();
  ++open_;
  ++stats_.c.connects;
  stats_.connect.record(mono_ns() - c.connect_started);
  c.backoff = kFirstBackoffNs;
  if (!c.plan.channels.empty()) append_client_frame(c.out, ws_opcode::text, c.subscribe_json, c.next_mask());
}

std::size_t load_worker::read_space(connection& c) {
  const uint64_t need = c.reader.pending_frame_size();
  if (need > c.rbuf.size()) c.rbuf.resize(std::size_t(need));
  if (c.rlen == c.rbuf.size()) c.rbuf.resize(c.rbuf.size() * 2);
  return c.rbuf.size() - c.rlen;
}

void load_worker::read_some(connection& c, int64_t now) {
  for (int iter = 0; iter < kReadsPerEvent; ++iter) {
    const std::size_t space = read_space(c);
    std::size_t got = 0;
    const io_result r = io_transfer(c, false, c.rbuf.data() + c.rlen, space, got);
    if (!on_read(c, r, got, space, real_ns(), now)) return;
  }
  // Records OpenSSL read ahead but did not decrypt yet count too (SSL_pending does not),
  // and ciphertext a batched read left for it.
  if (c.ssl && (SSL_has_pending(c.ssl) || c.cipher.pending() != 0)) ready_.push_back(&c);
}

bool load_worker::on_read(connection& c, io_result r, std::size_t got, std::size_t space, int64_t recv_ns,
                          int64_t now) {
  if (r == io_result::would_block) {
    update_interest(c);
    return false;
  }
  if (r == io_result::closed) {
    fail(c, c.st == connection::state::open ? "connection closed by the server" : "connection closed during upgrade",
         now);
    return false;
  }
  stats_.c.bytes += got;
  c.rlen += got;
  if (c.st == connection::state::upgrading) {
    on_upgrade_response(c, now);
    if (c.st != connection::state::open) return false;
  }
  frame_handler h{*this, c, recv_ns};
  const std::size_t used = c.reader.consume(c.rbuf.data(), c.rlen, h);
  if (c.reader.failed()) {
    ++stats_.c.ws_errors;
    note_error(std::string("WebSocket protocol violation: ") + c.reader.error());
    fail(c, "WebSocket protocol violation", now);
    return false;
  }
  if (used) {
    std::memmove(c.rbuf.data(), c.rbuf.data() + used, c.rlen - used);
    c.rlen -= used;
  }
  if (h.data_messages) {
    const uint64_t total = control_->messages.fetch_add(h.data_messages, std::memory_order_relaxed) + h.data_messages;
    if (control_->max_messages && total >= control_->max_messages) control_->stop.store(true);
  }
  if (h.closed) {
    // Echo the close (RFC 6455 5.5.1), then drop the connection.
    const uint8_t code[2] = {uint8_t(h.close_code >> 8), uint8_t(h.close_code)};
    append_client_frame(c.out, ws_opcode::close,
                        h.close_code == 1005 ? std::string_view{}
                                             : std::string_view(reinterpret_cast<const char*>(code), 2),
                        c.next_mask());
    (void)flush(c);
    const std::string why = "server closed the WebSocket with code " + std::to_string(h.close_code);
    note_error(why);
    fail(c, "connection closed by the server", now);
    return false;
  }
  if (!c.out.empty() && !flush(c)) {
    fail(c, "write failed", now);
    return false;
  }
  return c.ssl || got == space;  // else the socket is drained: skip the EAGAIN round trip
}

bool load_worker::queue_read(connection& c) {
  if (!reads_.accepting() || c.st != connection::state::open || (c.ssl && !c.tls_batched) || !c.out.empty()) return false;
  if (c.tls_batched) {
    // Ciphertext into this round's scratch slot; decrypted in finish_reads.
    char* slot = cipher_scratch_.data() + std::size_t(reads_.queued()) * kCipherChunk;
    reads_.queue(c.fd, slot, kCipherChunk, &c);
    return true;
  }
  const std::size_t space = read_space(c);
  reads_.queue(c.fd, c.rbuf.data() + c.rlen, space, &c);
  return true;
}

void load_worker::read_tls(connection& c, const char* cipher, std::size_t n, int64_t now) {
  if (c.opener) {
    open_records(c, cipher, n, now);
    return;
  }
  c.cipher.window = cipher;
  c.cipher.window_len = n;
  read_some(c, now);
  // The slot is reused by the next round: what OpenSSL did not take yet (read_some's
  // reads ran out, or the connection failed and reset it) is copied aside.
  c.cipher.keep_rest();
}

void load_worker::open_records(connection& c, const char* cipher, std::size_t n, int64_t now) {
  std::string& spill = c.cipher.spill;
  const unsigned char* p = reinterpret_cast<const unsigned char*>(cipher);
  std::size_t avail = n;
  if (!spill.empty()) { // the start of a record from the last read
    spill.append(cipher, n);
    p = reinterpret_cast<const unsigned char*>(spill.data());
    avail = spill.size();
  }
  std::size_t used = 0;
  std::size_t got = 0;
  bool closed = false;
  const char* error = nullptr;
  while (avail - used >= 5) {
    const unsigned char* h = p + used;
    const std::size_t len = std::size_t(h[3]) << 8 | h[4];
    if (h[0] != tls13_record_key::kApplicationData || len > tls13_record_key::kMaxPlaintext + 256) {
      error = "malformed TLS record from the server";
      break;
    }
    if (avail - used < 5 + len) break;
    if (c.rbuf.size() - c.rlen - got < len) c.rbuf.resize(c.rlen + got + len);
    unsigned char* out = c.rbuf.data() + c.rlen + got;
    unsigned char type = 0;
    const long k = c.opener->open(h, h + 5, len, out, type);
    if (k < 0) {
      error = "a TLS record from the server does not authenticate";
      break;
    }
    used += 5 + len;
    ++own_records_;
    if (type == tls13_record_key::kApplicationData) {
      got += std::size_t(k);
    } else if (type == tls13_record_key::kHandshake) {
      // Handshake messages after the handshake: a KeyUpdate moves the key on (and is
      // answered through OpenSSL's writer if the server asks); a session ticket is not kept.
      for (long m = 0; m + 4 <= k;) {
        const std::size_t body = std::size_t(out[m + 1]) << 16 | std::size_t(out[m + 2]) << 8 | out[m + 3];
        if (out[m] == 24) {
          if (!c.opener->update_key()) error = "TLS key update failed";
          if (body == 1 && m + 4 < k && out[m + 4] == 1) SSL_key_update(c.ssl, SSL_KEY_UPDATE_NOT_REQUESTED);
        }
        m += 4 + long(body);
      }
      if (error) break;
    } else if (type == tls13_record_key::kAlert) {
      closed = true; // close_notify, or a fatal alert: the server ends the stream
      break;
    } else {
      error = "unexpected TLS record type from the server";
      break;
    }
  }
  if (error == nullptr && !closed) {
    if (p == reinterpret_cast<const unsigned char*>(spill.data())) {
      spill.erase(0, used);
    } else if (used < avail) {
      spill.assign(reinterpret_cast<const char*>(p + used), avail - used);
    }
  }
  if (got != 0) {
    (void)on_read(c, io_result::progress, got, got, real_ns(), now);
    if (c.st != connection::state::open) return; // on_read failed it
  }
  if (error) note_error(error);
  if (error || closed) fail(c, "connection closed by the server", now);
}

void load_worker::finish_reads(int64_t now) {
  // One receive stamp for the batch: every read in it was in this thread's hands when
  // the one system call returned.
  const std::span<const read_batch::done> done = reads_.submit();
  for (std::size_t i = 0; i < done.size(); ++i) {
    const read_batch::done& d = done[i];
    connection& c = *static_cast<connection*>(d.user);
    if (c.tls_batched) {
      if (d.result > 0) read_tls(c, cipher_scratch_.data() + i * kCipherChunk, std::size_t(d.result), now);
      else if (d.result == 0) fail(c, "connection closed by the server", now);
      else if (d.result != -EAGAIN && d.result != -EINTR) fail(c, "connection closed by the server", now, -d.result);
      continue;
    }
    io_result r = io_result::progress;
    std::size_t got = 0;
    if (d.result > 0) got = std::size_t(d.result);
    else if (d.result == 0) r = io_result::closed;  // end of stream
    else r = (d.result == -EAGAIN || d.result == -EINTR) ? io_result::would_block : io_result::closed;
    if (on_read(c, r, got, d.space, reads_.recv_ns(), now)) read_some(c, now);  // it filled the buffer: more may wait
  }
}

void load_worker::on_event(connection& c, uint32_t events, int64_t now) {
  switch (c.st) {
    case connection::state::connecting: {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0 || (events & EPOLLERR)) {
        fail(c, "connect", now, err);
        return;
      }
      on_connected(c, now);
      return;
    }
    case connection::state::tls:
      if (!handshake_tls(c)) fail(c, ("TLS handshake failed: " + tls_error_text()).c_str(), now);
      return;
    case connection::state::upgrading:
    case connection::state::open:
      if (!c.out.empty() && !flush(c)) {
        fail(c, "write failed", now);
        return;
      }
      if (c.tls_batched) {
        // Not in this round's batch (a write was pending, or the batch was full).
        const ssize_t n = ::recv(c.fd, cipher_scratch_.data() + cipher_scratch_.size() - kCipherChunk, kCipherChunk, 0);
        if (n > 0) read_tls(c, cipher_scratch_.data() + cipher_scratch_.size() - kCipherChunk, std::size_t(n), now);
        else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
          fail(c, "connection closed by the server", now, n == 0 ? 0 : errno);
        return;
      }
      read_some(c, now);
      return;
    case connection::state::idle:
    case connection::state::closed:
      return;
  }
}

void load_worker::run(run_control& control, int64_t start_mono_ns) {
  control_ = &control;
  cpu_at_start_ = thread_cpu_ns();
  next_due_ = std::numeric_limits<int64_t>::max();
  for (auto& c : conns_) {
    c->next_start = start_mono_ns + c->plan.start_offset_ns;
    c->st = connection::state::idle;
    next_due_ = std::min(next_due_, c->next_start);
  }
  std::vector<epoll_event> events(256);
  std::vector<connection*> ready;
  int64_t last_publish = mono_ns();
  bool measuring = control.measuring.load(std::memory_order_relaxed);
  while (!control.stop.load(std::memory_order_relaxed)) {
    int64_t now = mono_ns();
    if (!measuring && control.measuring.load(std::memory_order_relaxed)) {
      measuring = true;
      stats_.restart_measurement();
      cpu_at_start_ = thread_cpu_ns();
      publish();
    }
    if (now >= next_due_) {
      next_due_ = std::numeric_limits<int64_t>::max();
      for (auto& c : conns_) {
        if (c->st != connection::state::idle) continue;
        if (c->next_start <= now)
          start(*c, now);
        else
          next_due_ = std::min(next_due_, c->next_start);
      }
    }
    int timeout_ms = 100;
    if (!ready_.empty()) {
      timeout_ms = 0;
    } else if (next_due_ != std::numeric_limits<int64_t>::max()) {
      timeout_ms = int(std::clamp<int64_t>((next_due_ - now + 999'999) / 1'000'000, 0, 100));
    }
    const int n = epoll_wait(epoll_fd_, events.data(), int(events.size()), timeout_ms);
    now = mono_ns();
    // Open connections with nothing to write are read together, with one system call
    // (read_batch.hpp); the others one by one as before.
    reads_.begin();
    for (int i = 0; i < n; ++i) {
      connection& c = *static_cast<connection*>(events[std::size_t(i)].data.ptr);
      if (!queue_read(c)) on_event(c, events[std::size_t(i)].events, now);
    }
    finish_reads(now);
    reads_.end();
    if (!ready_.empty()) {
      ready.swap(ready_);
      for (connection* c : ready)
        if (c->st == connection::state::open && c->ssl) read_some(*c, now);
      ready.clear();
    }
    if (now - last_publish >= kPublishEveryNs) {
      publish();
      last_publish = now;
    }
  }
  publish();
  // A polite end: close frames (1000) where the socket takes them at once, then close.
  static constexpr uint8_t kNormal[2] = {0x03, 0xe8};
  for (auto& c : conns_) {
    if (c->st == connection::state::open) {
      append_client_frame(c->out, ws_opcode::close, std::string_view(reinterpret_cast<const char*>(kNormal), 2),
                          c->next_mask());
      (void)flush(*c);
      --open_;
    }
    close_socket(*c);
    c->st = connection::state::closed;
  }
}

namespace {

void on_keylog(const SSL* ssl, const char* line) {
  auto* c = static_cast<load_worker::connection*>(SSL_get_app_data(ssl));
  if (c == nullptr) return;
  unsigned char secret[tls13_record_key::kMaxSecret];
  const std::size_t n = tls13_record_key::secret_from_keylog(line, "SERVER_TRAFFIC_SECRET_0", secret);
  if (n == 0) return;  // another of the handshake's lines: nothing allocated for it
  c->secret = std::make_unique<read_secret>();
  std::memcpy(c->secret->bytes, secret, n);
  OPENSSL_cleanse(secret, sizeof secret);
  c->secret->len = n;
}

void on_tls_message(int write_p, int, int content_type, const void*, std::size_t, SSL*, void* arg) {
  auto& c = *static_cast<load_worker::connection*>(arg);
  if (write_p == 0 && content_type == SSL3_RT_HEADER && c.secret) ++c.secret->records;
}

}  // namespace

void load_worker::prepare_tls_context(SSL_CTX* ctx) { SSL_CTX_set_keylog_callback(ctx, on_keylog); }

}  // namespace mdgw::bench
