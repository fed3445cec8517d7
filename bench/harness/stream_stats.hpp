// stream_stats: what mdgw-bench measures per message, and the per-connection channel
// state that sequence checking needs.
//
// Rationale
// - One run_stats per reader thread, written by that thread only; threads publish copies
//   and the main thread merges them (run_stats::merge), so the hot path has no atomics.
// - Freshness of a message = client receive time minus the gateway-receive stamp of the
//   oldest source update merged into it (the oldest over its updates): the age of the
//   stalest information a UI shows after applying the message. The first update of a
//   channel on a connection (the subscription snapshot) is left out: its stamp is the
//   time of the book's last change, however long ago, which says nothing about delivery.
// - Sequence rules by channel kind: trades.* channels are streams whose seq has no holes,
//   so a jump is a gap (counted, with the number of missing sequences). Every other
//   channel is conflated state (v0 books: seq is the book version), where skipping is
//   legitimate and only a seq that does not increase is an error.
// - A channel table is a small vector searched linearly from the last hit: a connection
//   has tens of channels, and updates of one channel often come in a row.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "latency_histogram.hpp"
#include "message_scan.hpp"

namespace mdgw::bench {

struct run_counters {
  uint64_t messages = 0;        // data messages
  uint64_t updates = 0;         // channel updates in them
  uint64_t represented = 0;     // source updates represented (sum of merged counts)
  uint64_t bytes = 0;           // bytes read from sockets (after TLS)
  uint64_t snapshots = 0;       // first update of a channel (not in freshness)
  uint64_t seq_gaps = 0;        // trades.*: jumps in seq
  uint64_t seq_missing = 0;     // trades.*: sequences missing in those jumps
  // Of seq_gaps and seq_missing (whole run, like the errors), those before the measured
  // part (--warmup: the ramp and the warm-up), so that a verdict on the measured part
  // can leave them out while the report still shows every one.
  uint64_t seq_gaps_warmup = 0;
  uint64_t seq_missing_warmup = 0;
  uint64_t seq_errors = 0;      // seq not increasing
  uint64_t unknown_channel = 0; // data for a channel this connection did not subscribe
  uint64_t bad_messages = 0;    // messages the scan could not read
  uint64_t error_replies = 0;   // {"type":"error"} from the gateway
  uint64_t subscribed = 0;      // subscribe acks
  uint64_t other_messages = 0;  // pong, unsubscribed and types we do not know
  uint64_t connects = 0;        // WebSocket handshakes completed
  uint64_t connect_failures = 0;
  uint64_t disconnects = 0;     // connections lost before the end of the run
  uint64_t reconnects = 0;
  uint64_t ws_errors = 0;       // framing violations by the server

  void merge(const run_counters& o) noexcept;
  [[nodiscard]] uint64_t errors() const noexcept {
    return seq_errors + unknown_channel + bad_messages + error_replies + connect_failures + disconnects + ws_errors;
  }
};

struct run_stats {
  run_counters c;
  latency_histogram freshness;     // receive - oldest gateway receive stamp
  latency_histogram send_to_recv;  // receive - ts_send
  latency_histogram connect;       // connect() to the 101 response

  // The measured part of a run begins (--warmup): the volume counters and the delivery
  // latencies start again; connect times, every error counter and the sequence gaps are
  // kept (the gaps so far are noted as the warm-up's).
  void restart_measurement() noexcept {
    c.messages = c.updates = c.represented = c.bytes = c.snapshots = 0;
    c.seq_gaps_warmup = c.seq_gaps;
    c.seq_missing_warmup = c.seq_missing;
    freshness.reset();
    send_to_recv.reset();
  }
  void merge(const run_stats& o) noexcept {
    c.merge(o.c);
    freshness.merge(o.freshness);
    send_to_recv.merge(o.send_to_recv);
    connect.merge(o.connect);
  }
};

class channel_table {
 public:
  struct entry {
    std::string name;
    int64_t last_seq = -1;  // -1: nothing received yet (next update is the snapshot)
    bool stream = false;    // trades.*: gapless sequence
  };

  void assign(const std::vector<std::string>& channels);
  void reset_sequences() noexcept {
    for (auto& e : entries_) e.last_seq = -1;
  }
  [[nodiscard]] entry* find(std::string_view name) noexcept;
  [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }

 private:
  // An update's channel is looked up by a hash of its length and end bytes (where names
  // like book.SIM:S3X.10 differ): a linear scan compared about half of a ui client's 20
  // names per update.
  [[nodiscard]] static uint64_t hash(std::string_view name) noexcept;
  std::vector<entry> entries_;
  std::vector<uint32_t> index_;  // open addressing, a power of two: entry + 1, 0 when empty
};

// Scans one text message received at recv_ns (CLOCK_REALTIME ns) and records it.
msg_type record_message(std::string_view msg, int64_t recv_ns, const scan_keys& keys, channel_table& channels,
                        run_stats& stats);

}  // namespace mdgw::bench
