// The server side of a TLS connection: an OpenSSL SSL object that reads and writes the
// socket itself, as a Beast AsyncStream (async_read_some / async_write_some) with the
// handshake, shutdown, timeout and teardown the gateway's sessions use.
//
// Rationale: beast::ssl_stream<tcp_stream> (flat_stream over asio::ssl::stream) keeps
// four 17 KiB buffers per connection (the stream core's two zero-filled vectors and the
// engine's BIO pair), so an idle wss:// client cost ~80 KiB of gateway memory against
// ~8.5 KiB for ws://. Here OpenSSL's BIO is the socket: a custom BIO method recv()s and
// send()s the non-blocking fd (after first handing out the bytes TLS detection already
// read), so the only buffers are OpenSSL's record buffers, which SSL_MODE_RELEASE_BUFFERS
// frees whenever a connection is idle.
//
// - Reads: SSL_read straight into the caller's buffer.
// - Writes: Beast's websocket writes a long sequence of small fragments (one per channel
//   update); they are copied into a per-thread scratch of one full record (16 KiB) and
//   written with ONE SSL_write, so records stay full and each is one send(). OpenSSL
//   wants a write it refused (WANT_WRITE) retried with the same bytes: the op retries
//   with the same buffer sequence, re-copied (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER: the
//   scratch may have served other connections in between).
// - After a TLS 1.3 handshake, records to the client are sealed by tls13_record_key, not
//   SSL_write (state::own): the same writes, each sealed once, what the socket does not
//   take owed and sent before anything else; OpenSSL then only reads.
// - Waiting: on SSL_ERROR_WANT_READ / WANT_WRITE an op waits for that readiness of the
//   socket (socket.async_wait). A read and a write may be outstanding at once (the
//   websocket read loop, writes, pings), and TLS 1.3 post-handshake messages can make
//   SSL_read write or SSL_write read. Every SSL call is tried before waiting, and an op
//   only waits after its own call saw EAGAIN in that direction, so the next edge wakes
//   it; when one op's call consumed socket bytes while the other waits for readability
//   (its bytes may now sit in OpenSSL), the waiting op is woken ("kicked") to retry.
// - A handler is never invoked from the initiating call (posted instead).
// - Timeouts (expires_after / expires_never) behave like beast::basic_stream's: on expiry
//   the socket is closed and pending and later operations complete with
//   beast::error::timeout. The timer exists only while a timeout is set.
// - Errors: a peer that closes without close_notify ends with ssl::error::stream_truncated,
//   a close_notify with net::error::eof, a socket error with its errno; fail() treats
//   these ends as benign.
// - async_shutdown sends close_notify and does not wait for the peer's. The websocket
//   teardown (found by ADL) sends it, shuts the TCP send side and reads until the peer
//   closes, as Beast's TCP teardown does, so the client sees the close frame before any
//   reset.
#pragma once

#include "net.hpp"
#include "send_batch.hpp"
#include "tls13_record_key.hpp"
#include "write_gate.hpp"

#include <openssl/ssl.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <iterator>
#include <cstdint>
#include <memory>
#include <string>

namespace mdgw {

namespace tls_detail {

enum class want : unsigned char { nothing, read, write };

// One direction of the stream: an op is running or waiting in it.
struct slot {
  want waiting = want::nothing;
  bool kicked = false; // the wait was cancelled to retry, not to abort
};

struct state {
  state(tcp::socket&& s, SSL_CTX* ctx);
  ~state();
  state(const state&) = delete;
  state& operator=(const state&) = delete;

  tcp::socket socket;
  SSL* ssl = nullptr;
  net::const_buffer prefix;     // bytes read before the handshake (TLS detection)
  std::size_t prefix_used = 0;
  std::uint64_t bytes_in = 0;   // received from the socket by the BIO
  int last_errno = 0;           // of the BIO's last failed recv/send
  bool eof = false;             // recv returned 0
  bool timed_out = false;
  std::uint64_t timer_gen = 0;
  std::unique_ptr<net::steady_timer> timer;
  slot rd;                      // handshake, read_some
  slot wr;                      // write_some, shutdown, teardown; a direct record's retry
  // Beast's write-direction operations against direct records (write_gate.hpp).
  write_gate gate;
  // A record through the io thread's send batch (queue_direct, finish_batched).
  // capture: while set, the BIO appends what OpenSSL writes there instead of sending it.
  // queued: the record's ciphertext in the batch. owed: ciphertext OpenSSL counts as sent
  // that the socket has not taken yet (what the batch could not send, then anything
  // OpenSSL writes meanwhile): the BIO appends to it while it is not empty, and
  // flush_owed sends it, in order, before any other write.
  std::string* capture = nullptr;
  net::const_buffer queued;
  std::string owed;
  std::size_t owed_off = 0;
  // The first fatal error: an SSL call failed (SSL_ERROR_SYSCALL or SSL_ERROR_SSL), or
  // ciphertext OpenSSL counts as sent never reached the socket. OpenSSL must not be called
  // again (SSL_get_error(3)): every later operation fails with this error, not with what a
  // call into the broken SSL object would say. (A record left half sent made the close
  // frame Beast writes in reply to a client's close fail with "bad length" instead of the
  // connection reset behind it.) Set from the start (no_memory) when there is no SSL
  // object. Direct frames meet it in tls_detail::write (with `own`, in direct_frame).
  error_code broken;
  // Records sealed here after the handshake (tls13_record_key.hpp), not by SSL_write.
  // - secret: the server's application traffic secret, from the context's keylog
  //   callback (prepare_context), held until the handshake ends; app_records: the records
  //   OpenSSL sealed under it meanwhile (its session tickets), counted by the message
  //   callback: the sequence number to go on from.
  // - own: set when the handshake ends with TLS 1.3 and a suite the sealer has. From then
  //   on every record to the client is sealed by it, and OpenSSL only reads. What OpenSSL
  //   still writes on its own (a KeyUpdate in reply to the client's, an alert) reaches
  //   the message callback as plaintext, is sealed again by `own` into `owed` (flushed
  //   before any other record) and its own bytes are dropped by the BIO.
  // Without a secret (a context without the callback), or under TLS 1.2, OpenSSL writes.
  std::unique_ptr<unsigned char[]> secret;
  std::size_t secret_len = 0;
  std::uint32_t app_records = 0;
  std::unique_ptr<tls13_record_key> own;
  bool close_sealed = false; // own: close_notify is sealed (sent or owed)
  bool key_update_reply_due = false;   // own: the client asked for our KeyUpdate
  bool drop_openssl_key_update = false; // own: ours answered it; OpenSSL's, when it comes, is not sent
};

// The outcome of one attempt: done (ec, n) or wait for `w`.
struct step {
  error_code ec;
  std::size_t n = 0;
  want w = want::nothing;
};

[[nodiscard]] step handshake(state& st);
[[nodiscard]] step read(state& st, void* data, std::size_t size);
// One SSL_write of `size` bytes (at most one record goes out per call).
[[nodiscard]] step write(state& st, const void* data, std::size_t size);
// The calling thread's scratch of one full record, for coalescing small fragments.
inline constexpr std::size_t kRecord = 16 * 1024;
[[nodiscard]] char* write_scratch() noexcept;
[[nodiscard]] step shutdown(state& st);
// own: one write of `n` pieces (`size` bytes in all, at most a record) as one application
// data record. First what is owed goes out; then the pieces are sealed, once (`sealed`
// becomes `size`; a retry only sends), and sent, after a KeyUpdate when one is due. done
// (n = size) when the socket has taken it all; want::write while some is owed.
[[nodiscard]] step own_write(state& st, const tls13_record_key::piece* pieces, std::size_t n, std::size_t size,
                             std::size_t& sealed);
// own: seals them over the start of `out` instead (sized once to hold any record, so that
// a batch entry's storage is not zero-filled per record); the records' size, 0 if sealing
// failed (the connection is then broken).
[[nodiscard]] std::size_t seal_into(state& st, const tls13_record_key::piece* pieces, std::size_t n, std::string& out);
// Shuts the TCP send side (once) and reads until the peer closes.
[[nodiscard]] step drain(state& st, bool& send_shut);
// Sends `owed` (see state); want::write while the socket is full.
[[nodiscard]] step flush_owed(state& st);
// After `mine` made an SSL call that took bytes off the socket: wakes the other
// direction if it waits for readability.
void kick_other(state& st, slot& mine);
void on_timeout(state& st);

// Writes the first non-empty buffer of a sequence directly when it is the only one or
// at least a record long, else the sequence's first 16 KiB copied into the scratch. The
// same sequence always gives the same bytes, as a retried SSL_write needs.
// With `own`, the same bytes are sealed once (`sealed`: how many), and the step then waits
// until the socket has taken the record.
template <class ConstBufferSequence>
[[nodiscard]] step write_some(state& st, const ConstBufferSequence& buffers, std::size_t& sealed) {
  if (st.own && sealed != 0) return own_write(st, nullptr, 0, sealed, sealed);
  auto it = net::buffer_sequence_begin(buffers);
  const auto end = net::buffer_sequence_end(buffers);
  while (it != end && net::const_buffer(*it).size() == 0) ++it;
  if (it == end) return {};
  const net::const_buffer first(*it);
  auto next = std::next(it);
  while (next != end && net::const_buffer(*next).size() == 0) ++next;
  const char* data = static_cast<const char*>(first.data());
  std::size_t n = first.size();
  if (next != end && n < kRecord) {
    char* out = write_scratch();
    n = 0;
    for (; it != end && n < kRecord; ++it) {
      const net::const_buffer c(*it);
      const std::size_t k = std::min(c.size(), kRecord - n);
      std::memcpy(out + n, c.data(), k);
      n += k;
    }
    data = out;
  }
  if (!st.own) return write(st, data, n);
  n = std::min(n, kRecord);
  const tls13_record_key::piece p{data, n};
  return own_write(st, &p, 1, n, sealed);
}

// A direct frame (head and body, at most a record) as one record: each attempt copies
// it into the scratch and SSL_writes what is not out yet. A call OpenSSL refused is
// made again with the same bytes (off only moves on success; the scratch may have
// served other connections in between, hence the copy and
// SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER).
// With `own` it is sealed straight from head and body, once (own_write; `off` is then the
// bytes sealed), and the step then waits until the socket has taken the record.
struct direct_frame {
  net::const_buffer head;
  net::const_buffer body;
  std::size_t off = 0;
  step operator()(state& st) {
    const std::size_t size = head.size() + body.size();
    if (st.own) {
      const tls13_record_key::piece p[2] = {{head.data(), head.size()}, {body.data(), body.size()}};
      return own_write(st, p, 2, size, off);
    }
    char* out = write_scratch();
    std::memcpy(out, head.data(), head.size());
    std::memcpy(out + head.size(), body.data(), body.size());
    while (off < size) {
      const step s = write(st, out + off, size - off);
      if (s.w != want::nothing || s.ec) return s;
      off += s.n;
    }
    return {{}, size, want::nothing};
  }
};

// The composed operation shared by every async function: attempts `Step`, waits for the
// readiness it asks for, attempts again. A Gated op (Beast's writes, shutdown and
// teardown) is counted by the write gate from its start until it completes, and first
// waits until no direct record is being retried.
// It shares the state, so that it can finish after the stream is gone (closed: every
// wait then ends).
template <class Step, bool WithSize, bool Gated = false>
struct io_op {
  std::shared_ptr<state> st;
  slot* me;
  Step attempt;
  enum class phase : unsigned char { start, gated, waiting, posted } ph = phase::start;
  bool counted = false;
  step res{};

  template <class Self>
  void operator()(Self& self, error_code ec = {}) {
    switch (ph) {
    case phase::posted:
      return finish(self);
    case phase::gated: // woken by the gate's cancel, or the stream went away
      ph = phase::start;
      return (*this)(self);
    case phase::waiting:
      me->waiting = want::nothing;
      if (ec == net::error::operation_aborted && me->kicked) ec = {};
      me->kicked = false;
      if (ec) {
        res = {st->timed_out ? error_code(beast::error::timeout) : ec, 0, want::nothing};
        return finish(self);
      }
      break;
    case phase::start:
      if constexpr (Gated) {
        if (!counted) {
          counted = true;
          st->gate.beast_started();
        }
        if (st->gate.closed()) {
          ph = phase::gated;
          st->gate.wait(st->socket.get_executor(), std::move(self));
          return;
        }
      }
      if (st->timed_out) {
        res = {beast::error::timeout, 0, want::nothing};
        ph = phase::posted;
        return net::post(std::move(self));
      }
      break;
    }
    const std::uint64_t in = st->bytes_in;
    res = attempt(*st);
    if (st->bytes_in != in) kick_other(*st, *me);
    if (res.w != want::nothing) {
      ph = phase::waiting;
      me->waiting = res.w;
      st->socket.async_wait(res.w == want::read ? tcp::socket::wait_read : tcp::socket::wait_write, std::move(self));
      return;
    }
    if (ph == phase::start) {
      ph = phase::posted;
      return net::post(std::move(self));
    }
    finish(self);
  }

  template <class Self>
  void finish(Self& self) {
    if (counted) st->gate.beast_done();
    if constexpr (WithSize) {
      self.complete(res.ec, res.n);
    } else {
      self.complete(res.ec);
    }
  }
};

} // namespace tls_detail

// How the server's TLS connections went, over the whole process (/health reports them):
// handshakes by who seals the records to the client, and the KeyUpdates sent.
struct tls_counts {
  std::uint64_t tls13_own = 0;     // TLS 1.3, records sealed by tls13_record_key (state::own)
  std::uint64_t tls13_openssl = 0; // TLS 1.3 without the secret or with a suite it lacks: OpenSSL's records
  std::uint64_t tls12 = 0;         // TLS 1.2 or older: OpenSSL's records
  std::uint64_t key_updates = 0;   // sealed here: after so many records, and in reply to the client's
};
[[nodiscard]] tls_counts tls_counts_now() noexcept;

class tls_fd_stream {
public:
  using executor_type = net::any_io_executor;

  // Takes over an accepted socket (made non-blocking). `ctx` configures the SSL object.
  tls_fd_stream(tcp::socket&& socket, SSL_CTX* ctx);
  tls_fd_stream(tls_fd_stream&&) noexcept = default;
  tls_fd_stream& operator=(tls_fd_stream&&) noexcept = default;
  // Closes the socket and opens the gate, so that operations still holding the state
  // complete (aborted).
  ~tls_fd_stream();

  [[nodiscard]] executor_type get_executor() noexcept { return st_->socket.get_executor(); }
  [[nodiscard]] tcp::socket& socket() noexcept { return st_->socket; }
  [[nodiscard]] SSL* native_handle() noexcept { return st_->ssl; }
  // Whether records to the client are sealed by tls13_record_key (see state::own).
  [[nodiscard]] bool seals_own_records() const noexcept { return st_->own != nullptr; }
  // For tests: a KeyUpdate after every `n` records sealed here.
  void set_records_per_key(std::uint64_t n) noexcept {
    if (st_->own) st_->own->set_records_per_key(n);
  }

  // Sets up a server context for tls_fd_stream's own TLS 1.3 records (state::own): its
  // keylog callback hands each connection its application traffic secret. A context
  // without it still works; OpenSSL then writes every record.
  static void prepare_context(SSL_CTX* ctx);

  // --- the lowest-layer API of beast::tcp_stream that the sessions use ---
  void expires_after(std::chrono::steady_clock::duration d);
  void expires_never();
  void cancel();
  void close();

  // Server handshake. `prefix`: bytes already read from the socket (must stay valid until
  // completion). Completes with (error_code, bytes of prefix used).
  template <class Token>
  auto async_handshake(ssl::stream_base::handshake_type, net::const_buffer prefix, Token&& token) {
    st_->prefix = prefix;
    st_->prefix_used = 0;
    return start<true>(st_->rd, [](tls_detail::state& st) { return tls_detail::handshake(st); },
                       std::forward<Token>(token));
  }

  // Sends close_notify; does not wait for the peer's. Completes with (error_code).
  template <class Token>
  auto async_shutdown(Token&& token) {
    return start<false, true>(st_->wr, [](tls_detail::state& st) { return tls_detail::shutdown(st); },
                        std::forward<Token>(token));
  }

  template <class MutableBufferSequence, class Token>
  auto async_read_some(const MutableBufferSequence& buffers, Token&& token) {
    net::mutable_buffer b;
    for (auto it = net::buffer_sequence_begin(buffers); it != net::buffer_sequence_end(buffers); ++it) {
      if (net::mutable_buffer(*it).size() != 0) {
        b = *it;
        break;
      }
    }
    return start<true>(st_->rd, [b](tls_detail::state& st) { return tls_detail::read(st, b.data(), b.size()); },
                       std::forward<Token>(token));
  }

  // No write of Beast's or of ours is in flight: a direct write may start.
  [[nodiscard]] bool can_write_direct() const noexcept { return st_->gate.open(); }

  using direct_result = mdgw::direct_result;
  // Writes head then body as ONE TLS record (one SSL_write of a copy in the thread's
  // scratch) when they fit in one, else returns nothing (use Beast's write). A record
  // OpenSSL could not send at once is committed: it keeps it and wants the same bytes
  // offered again, so it is retried asynchronously from head and body (partial), with
  // Beast's write-direction operations held at the gate until it is out. Only then is
  // make_on_rest() called, for the handler (ec, n) called when it is out (never from
  // this call); head and body must stay valid until then. Must only be called when
  // can_write_direct().
  template <class MakeHandler>
  direct_result write_direct(net::const_buffer head, net::const_buffer body, error_code& ec,
                             MakeHandler&& make_on_rest) {
    tls_detail::state& st = *st_;
    if (head.size() + body.size() > tls_detail::kRecord || st.timed_out || st.ssl == nullptr) {
      return direct_result::nothing;
    }
    tls_detail::direct_frame frame{head, body};
    const std::uint64_t in = st.bytes_in;
    const tls_detail::step s = frame(st);
    if (st.bytes_in != in) tls_detail::kick_other(st, st.wr);
    return after_attempt(s, frame, ec, std::forward<MakeHandler>(make_on_rest));
  }

  // The same record through the io thread's send batch: OpenSSL encrypts it into the
  // batch's storage (the BIO captures it; OpenSSL counts it as sent), the gate closes,
  // and the batch sends it; `sender` is then called back and calls finish_batched.
  // queued when so; when OpenSSL wrote nothing (a handshake message must be read first,
  // an error), what write_direct would say, having done what it would.
  template <class MakeHandler>
  direct_result queue_direct(send_batch& batch, net::const_buffer head, net::const_buffer body, error_code& ec,
                             MakeHandler&& make_on_rest, batched_sender* sender, std::shared_ptr<void> keep) {
    tls_detail::state& st = *st_;
    if (head.size() + body.size() > tls_detail::kRecord || st.timed_out || st.ssl == nullptr) {
      return direct_result::nothing;
    }
    std::string& out = batch.next_storage();
    if (st.own) {
      // Sealed straight into the batch; nothing may go before what is owed.
      if (st.owed.size() != st.owed_off || st.broken) return direct_result::nothing;
      const tls13_record_key::piece p[2] = {{head.data(), head.size()}, {body.data(), body.size()}};
      const std::size_t k = tls_detail::seal_into(st, p, 2, out);
      if (k == 0) {
        ec = st.broken;
        return direct_result::failed;
      }
      st.gate.close();
      st.queued = net::buffer(out.data(), k);
      batch.queue(st.socket.native_handle(), nullptr, 0, out.data(), k, sender, std::move(keep));
      return direct_result::queued;
    }
    out.clear();
    st.capture = &out;
    tls_detail::direct_frame frame{head, body};
    const std::uint64_t in = st.bytes_in;
    const tls_detail::step s = frame(st);
    st.capture = nullptr;
    if (st.bytes_in != in) tls_detail::kick_other(st, st.wr);
    if (!out.empty()) {
      // Sent by OpenSSL's count: these bytes must reach the socket before any other.
      st.gate.close();
      st.queued = net::buffer(out);
      batch.queue(st.socket.native_handle(), nullptr, 0, out.data(), out.size(), sender, std::move(keep));
      return direct_result::queued;
    }
    return after_attempt(s, frame, ec, std::forward<MakeHandler>(make_on_rest));
  }
  // How a queued record went (result: bytes the batch sent, or -errno). What the socket
  // did not take is owed and sent asynchronously, the gate closed until it is out.
  template <class MakeHandler>
  direct_result finish_batched(ssize_t result, net::const_buffer, net::const_buffer, error_code& ec,
                               MakeHandler&& make_on_rest) {
    tls_detail::state& st = *st_;
    const net::const_buffer queued = st.queued;
    st.queued = {};
    if (result >= 0 && static_cast<std::size_t>(result) == queued.size()) {
      st.gate.reopen();
      return direct_result::done;
    }
    if (result < 0 && result != -EAGAIN && result != -EWOULDBLOCK && result != -EINTR) {
      st.gate.reopen();
      ec = error_code(static_cast<int>(-result), boost::system::system_category());
      st.broken = ec; // OpenSSL counted the record as sent
      return direct_result::failed;
    }
    const std::size_t sent = result > 0 ? static_cast<std::size_t>(result) : 0;
    st.owed.assign(static_cast<const char*>(queued.data()) + sent, queued.size() - sent);
    st.owed_off = 0;
    return finish_async([](tls_detail::state& s) { return tls_detail::flush_owed(s); },
                        std::forward<MakeHandler>(make_on_rest));
  }

  template <class ConstBufferSequence, class Token>
  auto async_write_some(const ConstBufferSequence& buffers, Token&& token) {
    return start<true, true>(st_->wr,
                             [buffers, sealed = std::size_t{0}](tls_detail::state& st) mutable {
                               return tls_detail::write_some(st, buffers, sealed);
                             },
                             std::forward<Token>(token));
  }

  // Websocket teardown: close_notify, then the TCP close as Beast does for a socket.
  template <class Handler>
  friend void async_teardown(beast::role_type, tls_fd_stream& s, Handler&& handler) {
    struct teardown_step {
      bool notified = false;
      bool send_shut = false;
      tls_detail::step operator()(tls_detail::state& st) {
        if (!notified) {
          auto r = tls_detail::shutdown(st);
          if (r.w != tls_detail::want::nothing) return r;
          notified = true; // a failed close_notify does not stop the TCP close
        }
        return tls_detail::drain(st, send_shut);
      }
    };
    s.start<false, true>(s.st_->wr, teardown_step{}, std::forward<Handler>(handler));
  }
  friend void teardown(beast::role_type, tls_fd_stream& s, error_code& ec);
  friend void beast_close_socket(tls_fd_stream& s) { s.close(); }

private:
  // A direct record's SSL_write returned s: done, failed, or retried asynchronously with
  // the gate closed until it is out (partial).
  template <class MakeHandler>
  direct_result after_attempt(const tls_detail::step& s, const tls_detail::direct_frame& frame, error_code& ec,
                              MakeHandler&& make_on_rest) {
    if (s.w == tls_detail::want::nothing) {
      if (!s.ec) return direct_result::done;
      ec = s.ec;
      return direct_result::failed;
    }
    return finish_async(frame, std::forward<MakeHandler>(make_on_rest));
  }
  // Runs `step` asynchronously until it is done, the gate closed meanwhile, then calls the
  // handler make_on_rest() makes (partial).
  template <class Step, class MakeHandler>
  direct_result finish_async(Step step, MakeHandler&& make_on_rest) {
    st_->gate.close();
    start<true>(st_->wr, std::move(step), [st = st_, h = make_on_rest()](error_code e, std::size_t k) mutable {
      st->gate.reopen();
      h(e, k);
    });
    return direct_result::partial;
  }

  template <bool WithSize, bool Gated = false, class Step, class Token>
  auto start(tls_detail::slot& slot, Step attempt, Token&& token) {
    using sig = std::conditional_t<WithSize, void(error_code, std::size_t), void(error_code)>;
    return net::async_compose<Token, sig>(tls_detail::io_op<Step, WithSize, Gated>{st_, &slot, std::move(attempt)},
                                          token, st_->socket);
  }

  // Shared so that a timer's handler, which may run after the stream is gone, can tell.
  std::shared_ptr<tls_detail::state> st_;
};

} // namespace mdgw
