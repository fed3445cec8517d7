#include "tls_fd_stream.hpp"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>

#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <new>

namespace mdgw {

namespace tls_detail {

namespace {

state* of(BIO* b) noexcept { return static_cast<state*>(BIO_get_data(b)); }

// The bytes TLS detection read come first, then the socket.
int bio_read(BIO* b, char* out, int len) {
  state& st = *of(b);
  BIO_clear_retry_flags(b);
  if (len <= 0) return 0;
  if (st.prefix.size() != 0) {
    const std::size_t n = std::min(st.prefix.size(), static_cast<std::size_t>(len));
    std::memcpy(out, st.prefix.data(), n);
    st.prefix += n;
    st.prefix_used += n;
    return static_cast<int>(n);
  }
  for (;;) {
    const ssize_t r = ::recv(st.socket.native_handle(), out, static_cast<std::size_t>(len), 0);
    if (r > 0) {
      st.bytes_in += static_cast<std::uint64_t>(r);
      return static_cast<int>(r);
    }
    if (r == 0) {
      st.eof = true;
      return 0;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      BIO_set_retry_read(b);
      return -1;
    }
    st.last_errno = errno;
    return -1;
  }
}

int bio_write(BIO* b, const char* in, int len) {
  state& st = *of(b);
  BIO_clear_retry_flags(b);
  if (len <= 0) return 0;
  if (st.own) return len; // sealed again from the message callback (state::own)
  if (st.capture != nullptr) { // into the send batch
    st.capture->append(in, static_cast<std::size_t>(len));
    return len;
  }
  if (st.owed.size() != st.owed_off) { // behind bytes the socket has not taken yet
    st.owed.append(in, static_cast<std::size_t>(len));
    return len;
  }
  for (;;) {
    const ssize_t r = ::send(st.socket.native_handle(), in, static_cast<std::size_t>(len), MSG_NOSIGNAL);
    if (r >= 0) return static_cast<int>(r);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      BIO_set_retry_write(b);
      return -1;
    }
    st.last_errno = errno;
    return -1;
  }
}

long bio_ctrl(BIO* b, int cmd, long, void*) {
  switch (cmd) {
  case BIO_CTRL_FLUSH:
    return 1; // nothing is buffered here
  case BIO_CTRL_EOF:
    return of(b)->eof ? 1 : 0;
  default:
    return 0;
  }
}

int bio_create(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

// The method table is immutable once built and shared by every connection (like
// OpenSSL's own BIO_s_socket()).
const BIO_METHOD* fd_bio_method() {
  static const BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "mdgw socket");
    if (m == nullptr || BIO_meth_set_read(m, bio_read) != 1 || BIO_meth_set_write(m, bio_write) != 1 ||
        BIO_meth_set_ctrl(m, bio_ctrl) != 1 || BIO_meth_set_create(m, bio_create) != 1) {
      throw std::bad_alloc();
    }
    return m;
  }();
  return method;
}

// A fatal error of the connection (see state::broken): kept, and returned.
step breaks(state& st, error_code ec) {
  st.broken = ec;
  return {ec, 0, want::nothing};
}

// Maps the result of a failed SSL call (ret <= 0) to a step.
step failed(state& st, int ret) {
  const int e = SSL_get_error(st.ssl, ret);
  switch (e) {
  case SSL_ERROR_WANT_READ:
    return {{}, 0, want::read};
  case SSL_ERROR_WANT_WRITE:
    return {{}, 0, want::write};
  case SSL_ERROR_ZERO_RETURN: // close_notify: the peer's direction ended, ours may go on
    return {net::error::eof, 0, want::nothing};
  case SSL_ERROR_SYSCALL:
    if (st.last_errno != 0) return breaks(st, error_code(st.last_errno, boost::system::system_category()));
    if (ERR_peek_error() == 0) return breaks(st, ssl::error::stream_truncated);
    break;
  default:
    break;
  }
  const unsigned long err = ERR_get_error();
  ERR_clear_error();
  if (ERR_GET_REASON(err) == SSL_R_UNEXPECTED_EOF_WHILE_READING || (err == 0 && st.eof)) {
    return breaks(st, ssl::error::stream_truncated);
  }
  if (err == 0) return breaks(st, ssl::error::unspecified_system_error);
  return breaks(st, error_code(static_cast<int>(err), net::error::get_ssl_category()));
}


// OpenSSL reports through the thread's error queue and our errno slot: both start empty.
void before_call(state& st) {
  ERR_clear_error();
  st.last_errno = 0;
}

thread_local char scratch[kRecord];

// Sends what the socket takes now of [data, data + len): the bytes taken (fewer when it
// is full), or -errno when it failed otherwise.
ssize_t send_now(state& st, const char* data, std::size_t len) {
  std::size_t sent = 0;
  while (sent < len) {
    const ssize_t r = ::send(st.socket.native_handle(), data + sent, len - sent, MSG_NOSIGNAL);
    if (r > 0) {
      sent += static_cast<std::size_t>(r);
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    return r < 0 ? -errno : -EPIPE;
  }
  return static_cast<ssize_t>(sent);
}

// tls_counts, summed over the io threads (relaxed: each is a count on its own).
struct {
  std::atomic<std::uint64_t> tls13_own{0};
  std::atomic<std::uint64_t> tls13_openssl{0};
  std::atomic<std::uint64_t> tls12{0};
  std::atomic<std::uint64_t> key_updates{0};
} g_counts;

// A record of a record's size and a KeyUpdate before it.
constexpr std::size_t kSealedMax = kRecord + 2 * tls13_record_key::kOverhead + 8;
thread_local unsigned char sealed_out[kSealedMax];

// KeyUpdate(update_not_requested): handshake type 24, length 1, value 0.
constexpr unsigned char kKeyUpdate[5] = {24, 0, 0, 1, 0};

// Seals, into out (kSealedMax bytes), a KeyUpdate first when one is due, then one record
// of `type`. 0 when sealing failed.
std::size_t seal_records(tls13_record_key& own, unsigned char type, const tls13_record_key::piece* pieces, std::size_t n,
                         unsigned char* out) {
  std::size_t k = 0;
  if (own.key_update_due()) {
    const tls13_record_key::piece ku{kKeyUpdate, sizeof kKeyUpdate};
    k = own.seal(tls13_record_key::kHandshake, &ku, 1, out);
    if (k == 0 || !own.update_key()) return 0;
    g_counts.key_updates.fetch_add(1, std::memory_order_relaxed);
  }
  const std::size_t r = own.seal(type, pieces, n, out + k);
  return r == 0 ? 0 : k + r;
}

// The context's keylog callback (prepare_context): keeps the server's first application
// traffic secret for the connection; the other lines are ignored.
void on_keylog(const SSL* ssl, const char* line) {
  auto* st = static_cast<state*>(SSL_get_app_data(ssl));
  if (st == nullptr) return;
  unsigned char secret[tls13_record_key::kMaxSecret];
  const std::size_t n = tls13_record_key::secret_from_keylog(line, "SERVER_TRAFFIC_SECRET_0", secret);
  if (n == 0) return; // another of the handshake's lines: nothing allocated for it
  if (!st->secret) st->secret = std::make_unique<unsigned char[]>(tls13_record_key::kMaxSecret);
  std::memcpy(st->secret.get(), secret, n);
  OPENSSL_cleanse(secret, sizeof secret);
  st->secret_len = n;
  st->app_records = 0;
}

void forget_secret(state& st) {
  if (!st.secret) return;
  OPENSSL_cleanse(st.secret.get(), tls13_record_key::kMaxSecret);
  st.secret.reset();
  st.secret_len = 0;
}

// Seals a record of `type` into `owed` (behind what is there), and with a KeyUpdate moves
// the sealer to the next secret.
void seal_owed(state& st, unsigned char type, const void* data, std::size_t len) {
  const tls13_record_key::piece p{data, len};
  const std::size_t k = seal_records(*st.own, type, &p, 1, sealed_out);
  const bool key_update = type == tls13_record_key::kHandshake && static_cast<const unsigned char*>(data)[0] == 24;
  if (k == 0 || (key_update && !st.own->update_key())) {
    st.broken = ssl::error::unspecified_system_error;
    return;
  }
  if (key_update) g_counts.key_updates.fetch_add(1, std::memory_order_relaxed);
  if (st.owed.size() == st.owed_off) {
    st.owed.clear();
    st.owed_off = 0;
  }
  st.owed.append(reinterpret_cast<const char*>(sealed_out), k);
}

// Every message OpenSSL reads or writes.
// - Before `own`: counts the records OpenSSL seals under the secret kept (each record's
//   header is reported).
// - With `own`: a handshake message or an alert OpenSSL writes by itself is sealed again
//   (seal_owed). A KeyUpdate from the client that asks for ours makes one due: OpenSSL 3.0
//   would only send it on its next call, after records of ours, so it is sealed here after
//   the read (flush_resealed) and OpenSSL's own, when it comes, is dropped.
void on_message(int write_p, int, int content_type, const void* buf, std::size_t len, SSL*, void* arg) {
  state& st = *static_cast<state*>(arg);
  const auto* bytes = static_cast<const unsigned char*>(buf);
  if (!st.own) {
    if (write_p != 0 && content_type == SSL3_RT_HEADER && st.secret) ++st.app_records;
    return;
  }
  if ((content_type != SSL3_RT_HANDSHAKE && content_type != SSL3_RT_ALERT) || len == 0 || st.broken) return;
  const bool key_update = content_type == SSL3_RT_HANDSHAKE && bytes[0] == 24;
  if (write_p == 0) {
    if (key_update && len == 5 && bytes[4] == 1) st.key_update_reply_due = true; // update_requested
    return;
  }
  if (len > tls13_record_key::kMaxPlaintext) {
    st.broken = ssl::error::unspecified_system_error;
    return;
  }
  if (key_update) {
    if (st.drop_openssl_key_update) { // answered already (flush_resealed)
      st.drop_openssl_key_update = false;
      return;
    }
    st.key_update_reply_due = false;
  }
  seal_owed(st, content_type == SSL3_RT_HANDSHAKE ? tls13_record_key::kHandshake : tls13_record_key::kAlert, buf, len);
}

// After an SSL call with `own`: seals the KeyUpdate due, then sends what is owed if nothing
// is queued in a send batch before it; what the socket does not take goes before the next
// record.
void flush_resealed(state& st) {
  if (!st.own || st.broken) return;
  if (st.key_update_reply_due) {
    st.key_update_reply_due = false;
    st.drop_openssl_key_update = true;
    seal_owed(st, tls13_record_key::kHandshake, kKeyUpdate, sizeof kKeyUpdate);
  }
  if (st.owed.size() != st.owed_off && st.queued.size() == 0 && !st.broken) (void)flush_owed(st);
}

} // namespace

state::state(tcp::socket&& s, SSL_CTX* ctx) : socket(std::move(s)) {
  error_code ec;
  socket.non_blocking(true, ec);
  ssl = SSL_new(ctx);
  if (ssl == nullptr) {
    broken = net::error::no_memory; // every operation then fails
    return;
  }
  BIO* bio = BIO_new(fd_bio_method());
  if (bio == nullptr) {
    SSL_free(ssl);
    ssl = nullptr;
    broken = net::error::no_memory;
    return;
  }
  BIO_set_data(bio, this);
  SSL_set_bio(ssl, bio, bio);
  SSL_set_accept_state(ssl);
  SSL_set_app_data(ssl, this);
  SSL_set_msg_callback(ssl, on_message);
  SSL_set_msg_callback_arg(ssl, this);
}

state::~state() {
  forget_secret(*this);
  if (ssl != nullptr) SSL_free(ssl); // frees the BIO
}

char* write_scratch() noexcept { return scratch; }

step handshake(state& st) {
  if (st.broken) return {st.broken, 0, want::nothing}; // also: no SSL object (no_memory)
  before_call(st);
  const int r = SSL_do_handshake(st.ssl);
  step s = r == 1 ? step{{}, st.prefix_used, want::nothing} : failed(st, r);
  if (s.w == want::nothing) {
    s.n = st.prefix_used;
    st.prefix = {}; // the caller's buffer is only valid during the handshake
  }
  if (r == 1) {
    const bool tls13 = SSL_version(st.ssl) == TLS1_3_VERSION;
    if (st.secret && tls13) {
      const SSL_CIPHER* c = SSL_get_current_cipher(st.ssl);
      if (c != nullptr) {
        st.own = tls13_record_key::make(SSL_CIPHER_get_protocol_id(c), st.secret.get(), st.secret_len, st.app_records);
      }
    }
    forget_secret(st);
    (st.own ? g_counts.tls13_own : tls13 ? g_counts.tls13_openssl : g_counts.tls12)
        .fetch_add(1, std::memory_order_relaxed);
  }
  return s;
}

step read(state& st, void* data, std::size_t size) {
  if (st.broken) return {st.broken, 0, want::nothing}; // also: no SSL object (no_memory)
  if (size == 0) return {};
  before_call(st);
  std::size_t n = 0;
  const int r = SSL_read_ex(st.ssl, data, size, &n);
  const step s = r == 1 ? step{{}, n, want::nothing} : failed(st, r);
  flush_resealed(st);
  return s;
}

step write(state& st, const void* data, std::size_t size) {
  if (st.broken) return {st.broken, 0, want::nothing}; // also: no SSL object (no_memory)
  if (size == 0) return {};
  before_call(st);
  std::size_t n = 0;
  const int r = SSL_write_ex(st.ssl, data, size, &n);
  return r == 1 ? step{{}, n, want::nothing} : failed(st, r);
}

step shutdown(state& st) {
  if (st.broken) return {st.broken, 0, want::nothing}; // also: no SSL object (no_memory)
  if (st.own) {
    if (!st.close_sealed) {
      static constexpr unsigned char kCloseNotify[2] = {1, 0}; // warning, close_notify
      seal_owed(st, tls13_record_key::kAlert, kCloseNotify, sizeof kCloseNotify);
      if (st.broken) return {st.broken, 0, want::nothing};
      st.close_sealed = true;
    }
    const step f = flush_owed(st);
    return f.w != want::nothing || f.ec ? f : step{};
  }
  before_call(st);
  const int r = SSL_shutdown(st.ssl);
  if (r >= 0) return {}; // 0: close_notify sent, the peer's is not awaited
  step s = failed(st, r);
  // WANT_READ: ours is out and OpenSSL would now wait for the peer's.
  if (s.w == want::read) return {};
  return s;
}

step own_write(state& st, const tls13_record_key::piece* pieces, std::size_t n, std::size_t size,
               std::size_t& sealed) {
  if (sealed == 0) {
    if (st.broken) return {st.broken, 0, want::nothing};
    const step f = flush_owed(st); // what OpenSSL's own messages left
    if (f.ec || f.w != want::nothing) return f;
    const std::size_t k = seal_records(*st.own, tls13_record_key::kApplicationData, pieces, n, sealed_out);
    if (k == 0) return breaks(st, ssl::error::unspecified_system_error);
    sealed = size;
    const ssize_t r = send_now(st, reinterpret_cast<const char*>(sealed_out), k);
    // The record is sealed (its sequence number used): the stream cannot go on without it.
    if (r < 0) return breaks(st, error_code(static_cast<int>(-r), boost::system::system_category()));
    if (static_cast<std::size_t>(r) == k) return {{}, size, want::nothing};
    st.owed.assign(reinterpret_cast<const char*>(sealed_out) + r, k - static_cast<std::size_t>(r));
    st.owed_off = 0;
    return {{}, 0, want::write};
  }
  const step f = flush_owed(st);
  return f.ec || f.w != want::nothing ? f : step{{}, size, want::nothing};
}

std::size_t seal_into(state& st, const tls13_record_key::piece* pieces, std::size_t n, std::string& out) {
  // Sized once (zeros written then only): the record is written over its start.
  if (out.size() < kSealedMax) out.resize(kSealedMax);
  const std::size_t k = seal_records(*st.own, tls13_record_key::kApplicationData, pieces, n,
                                     reinterpret_cast<unsigned char*>(out.data()));
  if (k == 0) st.broken = ssl::error::unspecified_system_error;
  return k;
}

step drain(state& st, bool& send_shut) {
  const int fd = st.socket.native_handle();
  if (!send_shut) {
    send_shut = true;
    ::shutdown(fd, SHUT_WR);
  }
  char sink[512];
  for (;;) {
    const ssize_t r = ::recv(fd, sink, sizeof sink, 0);
    if (r > 0) continue;
    if (r == 0) return {};
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return {{}, 0, want::read};
    return {error_code(errno, boost::system::system_category()), 0, want::nothing};
  }
}

step flush_owed(state& st) {
  if (st.owed_off < st.owed.size()) {
    const ssize_t r = send_now(st, st.owed.data() + st.owed_off, st.owed.size() - st.owed_off);
    // Counted as sent (by OpenSSL, or sealed by us): the stream cannot go on without them.
    if (r < 0) return breaks(st, error_code(static_cast<int>(-r), boost::system::system_category()));
    st.owed_off += static_cast<std::size_t>(r);
    if (st.owed_off < st.owed.size()) return {{}, 0, want::write};
  }
  const std::size_t n = st.owed.size();
  std::string().swap(st.owed); // a rare path: nothing stays allocated for it
  st.owed_off = 0;
  return {{}, n, want::nothing};
}

void kick_other(state& st, slot& mine) {
  slot& other = &mine == &st.rd ? st.wr : st.rd;
  if (other.waiting != want::read || other.kicked) return;
  // Cancels the other direction's wait only: this one is running, not waiting.
  other.kicked = true;
  error_code ec;
  st.socket.cancel(ec);
}

void on_timeout(state& st) {
  st.timed_out = true;
  st.rd.kicked = st.wr.kicked = false;
  error_code ec;
  st.socket.close(ec);
}

} // namespace tls_detail

tls_counts tls_counts_now() noexcept {
  const auto& c = tls_detail::g_counts;
  return {c.tls13_own.load(std::memory_order_relaxed), c.tls13_openssl.load(std::memory_order_relaxed),
          c.tls12.load(std::memory_order_relaxed), c.key_updates.load(std::memory_order_relaxed)};
}

void tls_fd_stream::prepare_context(SSL_CTX* ctx) { SSL_CTX_set_keylog_callback(ctx, tls_detail::on_keylog); }

tls_fd_stream::tls_fd_stream(tcp::socket&& socket, SSL_CTX* ctx)
    : st_(std::make_shared<tls_detail::state>(std::move(socket), ctx)) {}

tls_fd_stream::~tls_fd_stream() {
  if (!st_) return; // moved from
  close();
  st_->gate.release();
}

void tls_fd_stream::expires_after(std::chrono::steady_clock::duration d) {
  tls_detail::state& st = *st_;
  if (!st.timer) st.timer = std::make_unique<net::steady_timer>(st.socket.get_executor());
  const std::uint64_t gen = ++st.timer_gen;
  st.timer->expires_after(d);
  st.timer->async_wait([weak = std::weak_ptr<tls_detail::state>(st_), gen](error_code ec) {
    if (ec) return;
    // The generation tells a timer that fired before it was re-armed or dropped.
    const auto s = weak.lock();
    if (s && s->timer_gen == gen) tls_detail::on_timeout(*s);
  });
}

void tls_fd_stream::expires_never() {
  ++st_->timer_gen;
  st_->timer.reset();
}

void tls_fd_stream::cancel() {
  st_->rd.kicked = st_->wr.kicked = false;
  error_code ec;
  st_->socket.cancel(ec);
}

void tls_fd_stream::close() {
  st_->rd.kicked = st_->wr.kicked = false;
  error_code ec;
  st_->socket.close(ec);
}

void teardown(beast::role_type, tls_fd_stream& s, error_code& ec) {
  // Synchronous teardown is not used by the gateway; send close_notify once and close.
  (void)tls_detail::shutdown(*s.st_);
  s.close();
  ec = {};
}

} // namespace mdgw
