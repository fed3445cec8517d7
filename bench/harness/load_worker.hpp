// load_worker: one reader thread of mdgw-bench. It owns an epoll instance and a share
// of the connections, and drives each through TCP connect, TLS handshake, WebSocket
// upgrade and subscribe, then reads everything.
//
// Rationale
// - A raw non-blocking epoll client rather than Beast/Asio: the harness must never be
//   the bottleneck, so a read is one large recv (or SSL_read per TLS record) into the
//   connection's buffer and every complete frame in it is scanned in place. One receive
//   timestamp (CLOCK_REALTIME) per read: every message of a read arrived together.
// - Level-triggered epoll. Reads per event are bounded for fairness; a TLS connection
//   that may hold decrypted bytes inside OpenSSL (invisible to epoll) is put on a ready
//   list and served again without waiting.
// - The worker's run_stats are written by its thread only. It publishes a copy under a
//   mutex every 200 ms (and at the end); the main thread merges the copies for the
//   progress line and the report. A --messages limit is shared through one atomic
//   counter, added to once per read, not per message.
// - Lost connections (server close, reset, framing violation) are counted and, unless
//   --no-reconnect, reopened after a back-off of 250 ms doubling to 4 s.
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bench_options.hpp"
#include "net_setup.hpp"
#include "read_batch.hpp"
#include "stream_stats.hpp"
#include "ws_frame.hpp"

namespace mdgw::bench {

struct worker_snapshot {
  run_stats stats;
  int open = 0;         // connections with a completed WebSocket handshake
  int64_t cpu_ns = 0;   // CPU time of run() on its thread: is the harness the bottleneck?
};

struct connection_plan {
  int index = 0;                      // global connection number
  int64_t start_offset_ns = 0;        // from the start of the run (ramp)
  std::vector<std::string> channels;
};

struct run_control {
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> messages{0};  // data messages, all workers
  // Raised once by the main thread when the measured part begins (--warmup): each worker
  // restarts its measurement (run_stats::restart_measurement) and its CPU clock.
  std::atomic<bool> measuring{false};
  uint64_t max_messages = 0;          // 0: no limit
};

class load_worker {
 public:
  load_worker(const bench_options& opts, const resolved_target& to, SSL_CTX* tls, std::vector<connection_plan> plan);
  ~load_worker();
  load_worker(const load_worker&) = delete;
  load_worker& operator=(const load_worker&) = delete;

  // The thread body: runs until control.stop, starting connection i at
  // start_mono_ns + its offset. Closes every connection before returning.
  void run(run_control& control, int64_t start_mono_ns);

  [[nodiscard]] worker_snapshot snapshot() const;
  // The first error seen of each kind, for the report (empty when none).
  [[nodiscard]] std::vector<std::string> first_errors() const;

  // Sets up the client context so that TLS 1.3 connections open the server's records
  // themselves once the WebSocket is open (its keylog callback hands each connection the
  // server's traffic secret). Without it OpenSSL reads every record.
  static void prepare_tls_context(SSL_CTX* ctx);

  struct connection;  // public for the context's callbacks; defined in load_worker.cpp

  // Records opened by tls13_record_key instead of OpenSSL (read when run() has returned).
  [[nodiscard]] uint64_t own_records_opened() const noexcept { return own_records_; }

 private:
  struct frame_handler;
  enum class io_result { progress, would_block, closed };

  void start(connection& c, int64_t now);
  void on_event(connection& c, uint32_t events, int64_t now);
  void on_connected(connection& c, int64_t now);
  bool handshake_tls(connection& c);
  void on_upgrade_response(connection& c, int64_t now);
  void read_some(connection& c, int64_t now);
  // Room to read into at the end of c's buffer (grown for a frame that needs more).
  std::size_t read_space(connection& c);
  // A read of c ended: r, with got bytes of the `space` offered at its buffer's end.
  // Handles what arrived; true when c may have more to read now.
  bool on_read(connection& c, io_result r, std::size_t got, std::size_t space, int64_t recv_ns, int64_t now);
  // Queues c's read in this round's batch (true), when it is open and has nothing to
  // write; finish_reads() makes them all and handles what they got.
  bool queue_read(connection& c);
  void finish_reads(int64_t now);
  // A TLS connection's ciphertext read by the batch: to OpenSSL, then read as usual.
  void read_tls(connection& c, const char* cipher, std::size_t n, int64_t now);
  // read_tls with c.opener: opens the whole records of the read into rbuf.
  void open_records(connection& c, const char* cipher, std::size_t n, int64_t now);
  bool flush(connection& c);
  void update_interest(connection& c);
  // Ends c (counted as a connect failure or a disconnect) and schedules its reconnect.
  // err: the errno behind it, 0 when none.
  void fail(connection& c, const char* why, int64_t now, int err = 0);
  void close_socket(connection& c);
  io_result io_transfer(connection& c, bool write, void* p, std::size_t n, std::size_t& done);
  void note_error(const std::string& what);
  void publish();

  const bench_options& opts_;
  resolved_target to_;
  SSL_CTX* tls_;
  uint64_t own_records_ = 0;
  int epoll_fd_ = -1;
  std::vector<std::unique_ptr<connection>> conns_;
  std::vector<connection*> ready_;  // TLS connections with bytes possibly buffered in OpenSSL
  read_batch reads_;
  std::vector<char> cipher_scratch_;  // TLS: a ciphertext slot per batched read, and one more
  run_stats stats_;
  int open_ = 0;
  run_control* control_ = nullptr;
  int64_t next_due_ = 0;  // earliest next_start of an idle connection (monotonic ns)
  int64_t cpu_at_start_ = 0;  // this thread's CPU time when run() began

  mutable std::mutex published_mutex_;
  worker_snapshot published_;
  std::vector<std::string> errors_;  // guarded by published_mutex_
};

}  // namespace mdgw::bench
