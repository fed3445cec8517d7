// MoldUDP64: Nasdaq's framing of ITCH over UDP multicast, live. The wire format (packets,
// heartbeats, end of session, retransmission requests), a socket-free session state
// machine (mold_session) and the multicast source the ITCH feed pulls from (mold_source).
//
// Wire format (Nasdaq "MoldUDP64 Protocol Specification" 1.00): a downstream packet is a
// 20-byte header, session (10 ASCII bytes), sequence number of its first message (u64 BE)
// and message count (u16 BE), then per message a u16 BE length and the message. Count 0
// is a heartbeat (sequence = the next sequence the server will send); count 0xFFFF is
// end of session (sequence = one past the last message). A retransmission request, sent
// unicast to the server, has the same 20 bytes: session, first sequence, message count;
// the server answers with ordinary downstream packets, unicast, from that sequence.
//
// Rationale:
// - The session logic is pure (no sockets, time passed in) so every path (gap, fill,
//   duplicate, reorder, timeout, give-up, end of session, malformed input) is unit
//   tested on crafted packets; mold_source only moves datagrams between the kernel and it.
// - Delivery is strictly in sequence order and exactly once: a message is handed to the
//   sink only when its sequence equals next_sequence(), which then advances. Everything
//   else is a duplicate (counted, dropped) or ahead of a gap (buffered).
// - A packet is validated whole before anything in it is used: the header, then every
//   length prefix against the datagram's end, then the sequence range. A bad packet is
//   counted and dropped entirely (its messages are then simply missing, so the gap logic
//   re-requests them): no out-of-bounds read, no partial delivery.
// - The buffer of packets ahead of a gap is an ordered map of segments keyed by first
//   sequence, bounded in bytes. Past the bound, packets ahead are dropped (counted) and
//   recovered later by re-requests; the tail of an in-order packet that the consumer's
//   batch bound cut is always kept (at most one packet per call). In-order packets are
//   delivered straight from the receive buffer; held ones are copied into recycled map
//   nodes (node handles keep the node and its byte capacity), so after warm-up neither
//   path allocates.
// - Gaps: the session knows the highest sequence announced (packet ends, heartbeats, end
//   of session); every missing run below it is a hole. Up to max_outstanding holes are
//   re-requested at once (a slow server does not serialize recovery), each request
//   bounded to max_request_count messages. A request unanswered for request_timeout is
//   sent again; a partial answer (the hole shrank) restarts its clock. After max_tries
//   requests for the hole that blocks delivery, the session gives up on it: the messages
//   are counted as lost, reported (the first time in full, then counted), and delivery
//   resumes after them. A consumer that needs exact books must treat lost > 0 as
//   corruption (errors() of the source includes it).
// - Sequence numbers start at first_sequence (1): a receiver that joins late re-requests
//   from the start, because an order-by-order book needs every message of the day.
// - The first valid packet names the session; packets of any other session are counted
//   and ignored (a stale sender on the same group cannot corrupt the books).
#pragma once

#include "itch_decoder.hpp"
#include "itch_messages.hpp"
#include "itch_source.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mdgw::itch {

namespace mold {

inline constexpr std::size_t kSessionSize = 10;
inline constexpr std::size_t kHeaderSize = 20;
inline constexpr std::uint16_t kEndOfSession = 0xFFFF;
inline constexpr std::uint16_t kMaxCount = 0xFFFE; // messages in one packet (0xFFFF is end of session)
inline constexpr std::size_t kMaxDatagram = 65507; // largest IPv4 UDP payload

using session_name = std::array<char, kSessionSize>;

// The 20-byte header of a downstream packet; a retransmission request has the same layout.
struct [[gnu::packed]] packet_header {
  session_name session;
  be64 sequence;
  be16 count;
};
static_assert(sizeof(packet_header) == kHeaderSize);
static_assert(alignof(packet_header) == 1);

// Space padded to 10 characters (longer names are cut).
[[nodiscard]] session_name make_session(std::string_view name) noexcept;
[[nodiscard]] inline std::string_view view(const session_name& s) noexcept { return {s.data(), s.size()}; }

[[nodiscard]] inline packet_header read_header(const std::uint8_t* p) noexcept {
  packet_header h;
  std::memcpy(&h, p, sizeof h);
  return h;
}
// Writes a 20-byte header (a heartbeat when count is 0, end of session when 0xFFFF, a
// request when sent to the retransmission server); returns kHeaderSize.
std::size_t write_header(std::uint8_t* out, const session_name& session, std::uint64_t sequence,
                         std::uint16_t count) noexcept;

// Packs messages into one downstream packet in a caller buffer of `capacity` bytes.
class packet_writer {
public:
  packet_writer(std::uint8_t* buf, std::size_t capacity) noexcept : buf_(buf), capacity_(capacity) {}
  void start(const session_name& session, std::uint64_t sequence) noexcept;
  // Appends one message; false (nothing written) when it does not fit or the packet is full.
  [[nodiscard]] bool add(const std::uint8_t* msg, std::size_t len) noexcept;
  // Writes the count into the header; returns the packet's size.
  std::size_t finish() noexcept;
  [[nodiscard]] std::uint16_t count() const noexcept { return count_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

private:
  std::uint8_t* buf_;
  std::size_t capacity_;
  std::size_t size_ = 0;
  std::uint16_t count_ = 0;
};

} // namespace mold

struct mold_session_config {
  std::uint64_t first_sequence = 1;
  std::uint16_t max_request_count = 1000; // messages asked for in one request
  std::size_t max_outstanding = 16;       // holes re-requested at once
  std::chrono::nanoseconds request_timeout = std::chrono::milliseconds(50);
  unsigned max_tries = 5;                 // requests for one hole before giving up on it
  std::size_t max_buffer_bytes = 32U << 20; // packets held ahead of a gap
  log_fn log;                             // reports; empty: stderr
};

struct mold_counters {
  std::uint64_t packets = 0;            // data packets accepted (this session)
  std::uint64_t heartbeats = 0;
  std::uint64_t end_packets = 0;        // end-of-session packets
  std::uint64_t delivered = 0;          // messages handed to the sink
  std::uint64_t malformed = 0;          // packets dropped: short, bad framing, bad sequence
  std::uint64_t foreign_session = 0;    // packets of another session, ignored
  std::uint64_t duplicate_packets = 0;  // packets that carried nothing new
  std::uint64_t duplicate_messages = 0; // messages received again (already delivered or held)
  std::uint64_t buffered_packets = 0;   // packets held ahead of a gap
  std::uint64_t buffer_full = 0;        // packets ahead of a gap dropped at the bound
  std::uint64_t gaps = 0;               // holes detected
  std::uint64_t gaps_filled = 0;        // holes that closed (recovered)
  std::uint64_t requests = 0;           // re-requests emitted (retries included)
  std::uint64_t request_retries = 0;    // re-requests repeated after a timeout
  std::uint64_t unrecoverable_gaps = 0; // holes given up on
  std::uint64_t lost = 0;               // messages skipped by giving up
  std::uint64_t beyond_end = 0;         // packets past the end of session, ignored
};

// One re-request: messages [sequence, sequence + count).
struct mold_request {
  std::uint64_t sequence = 0;
  std::uint16_t count = 0;
  friend bool operator==(const mold_request&, const mold_request&) = default;
};

class mold_session {
public:
  explicit mold_session(mold_session_config config = {});

  // One datagram (multicast or retransmission reply). Delivers at most `budget` in-order
  // messages to sink and returns how many; the rest is kept for drain().
  // `next`: the datagram the caller will hand over next, if it already holds it (valid
  // during the call; nothing in it is delivered or counted here). When it continues this
  // packet, the sink is shown its first messages as look-ahead (message_sink::on_batch's
  // `ahead`): the book's cache hints then run on across packets instead of restarting at
  // each one. It is read only as far as it frames correctly.
  std::size_t on_packet(std::span<const std::uint8_t> packet, message_sink& sink, std::size_t budget,
                        std::span<const std::uint8_t> next = {});
  // Messages of `next` shown as look-ahead at most.
  static constexpr std::size_t kAhead = 16;
  // Delivers held messages that are next in sequence (a tail cut by the budget, or
  // packets a gap held back until it filled).
  std::size_t drain(message_sink& sink, std::size_t budget);
  // The re-requests due at `now` (monotonic): new holes, and holes whose request timed
  // out. Gives up on the hole that blocks delivery after max_tries (then ready() may be
  // true). The span is valid until the next call.
  [[nodiscard]] std::span<const mold_request> requests_due(std::chrono::nanoseconds now);
  // When requests_due needs to run again at the latest (max() when nothing is pending).
  [[nodiscard]] std::chrono::nanoseconds next_deadline() const noexcept;

  // Held messages are next in sequence (drain() would deliver).
  [[nodiscard]] bool ready() const noexcept;
  // Messages are known to be missing (a hole below the highest announced sequence).
  [[nodiscard]] bool gap_open() const noexcept;
  // End of session seen and every message before it delivered (or given up).
  [[nodiscard]] bool ended() const noexcept { return end_seen_ && next_ >= end_sequence_; }
  [[nodiscard]] bool has_session() const noexcept { return has_session_; }
  [[nodiscard]] std::string_view session() const noexcept { return mold::view(session_); }
  [[nodiscard]] const mold::session_name& session_name() const noexcept { return session_; }
  [[nodiscard]] std::uint64_t next_sequence() const noexcept { return next_; }
  // One past the highest sequence known to exist.
  [[nodiscard]] std::uint64_t highest_sequence() const noexcept { return highest_; }
  [[nodiscard]] std::size_t buffered_bytes() const noexcept { return buffered_bytes_; }
  [[nodiscard]] const mold_counters& counters() const noexcept { return counters_; }

private:
  // Messages [first, first + count) as Mold message blocks (u16 length + bytes each),
  // starting at bytes[pos].
  struct segment {
    std::uint32_t count = 0;
    std::size_t pos = 0;
    std::vector<std::uint8_t> bytes;
  };
  struct hole {
    std::uint64_t begin;
    std::uint64_t end;
  };
  struct outstanding {
    std::uint64_t first;
    std::uint16_t count;
    std::uint64_t progress; // hole start when last sent or answered in part
    std::chrono::nanoseconds sent_at;
    unsigned tries;
  };

  // Delivers from the (validated) message blocks at p + pos, whose first message has
  // sequence `seq` and which end before sequence `end`, skipping messages before next_;
  // stops at the budget. Updates pos and seq to the first message not delivered.
  // The last run of the packet also shows `next`'s first messages when it continues at
  // `end` (same session, data, framed within its datagram).
  std::size_t deliver(const std::uint8_t* p, std::size_t& pos, std::uint64_t& seq, std::uint64_t end,
                      message_sink& sink, std::size_t budget, std::span<const std::uint8_t> next = {});
  // Spans of up to kAhead first messages of `next` into out when it is the data packet
  // that starts at sequence `at`; returns how many (0 otherwise).
  [[nodiscard]] std::size_t look_ahead(std::span<const std::uint8_t> next, std::uint64_t at,
                                       std::span<const std::uint8_t>* out) const noexcept;
  // Holds messages [seq, seq + count) (blocks at [p, p + size)); `force` ignores the bound.
  void hold(std::uint64_t seq, std::uint32_t count, const std::uint8_t* p, std::size_t size, bool force);
  using node_type = std::map<std::uint64_t, segment>::node_type;
  void insert(node_type node);
  void erase(std::map<std::uint64_t, segment>::iterator it);
  // Keeps a node that left the map (with its byte capacity) for the next hold().
  void recycle(node_type node);
  // Up to `limit` holes in [next_, highest_), in order.
  void find_holes(std::size_t limit, std::vector<hole>& out) const;
  [[nodiscard]] std::uint64_t first_missing() const noexcept;
  void give_up(const hole& h, unsigned tries);
  std::size_t malformed(std::string_view why);
  void report(std::string_view line);

  mold_session_config config_;
  mold::session_name session_{};
  bool has_session_ = false;
  std::uint64_t next_;
  std::uint64_t highest_;
  bool end_seen_ = false;
  std::uint64_t end_sequence_ = 0;
  static constexpr std::size_t kSpareNodes = 64;
  std::map<std::uint64_t, segment> held_; // by first sequence
  std::vector<node_type> spare_;          // recycled nodes: holding allocates only while warming up
  std::size_t buffered_bytes_ = 0;
  std::vector<outstanding> outstanding_;
  std::vector<outstanding> kept_;
  std::vector<hole> holes_;
  std::vector<mold_request> due_;
  bool dirty_ = false; // state changed since the last requests_due scan
  std::chrono::nanoseconds deadline_ = std::chrono::nanoseconds::max();
  mold_counters counters_;
  bool reported_malformed_ = false;
  bool reported_foreign_ = false;
  bool reported_full_ = false;
  bool reported_lost_ = false;
};

// The live MoldUDP64 source: joins the multicast group, feeds a mold_session, sends its
// re-requests to the retransmission server and reads the unicast answers on the same
// socket. Public so tests and tools can read its counters.
class mold_source final : public itch_source {
public:
  // Opens the sockets; throws std::runtime_error naming the config field on bad config.
  explicit mold_source(const itch_source_config& config, mold_session_config session = {});
  ~mold_source() override;
  mold_source(const mold_source&) = delete;
  mold_source& operator=(const mold_source&) = delete;

  poll_result poll(message_sink& sink, std::size_t max_messages, std::chrono::milliseconds wait) override;
  [[nodiscard]] bool gap_open() const noexcept override { return session_.gap_open(); }
  // Malformed and truncated datagrams, foreign-session packets, lost messages.
  [[nodiscard]] std::uint64_t errors() const noexcept override;
  [[nodiscard]] std::uint64_t delivered() const noexcept override { return session_.counters().delivered; }
  [[nodiscard]] std::uint64_t lost() const noexcept override { return session_.counters().lost; }
  [[nodiscard]] std::string describe() const override;

  [[nodiscard]] const mold_session& session() const noexcept { return session_; }
  [[nodiscard]] std::uint64_t truncated_datagrams() const noexcept { return truncated_; }
  [[nodiscard]] std::uint64_t send_errors() const noexcept { return send_errors_; }
  // The local port re-requests leave from (0 without a retransmission server).
  [[nodiscard]] std::uint16_t request_port() const noexcept { return request_port_; }

private:
  static constexpr std::size_t kBatch = 32;
  static constexpr std::size_t kSlot = 9216; // jumbo frame; longer datagrams are truncated (counted)

  // Reads what the kernel holds on fd (bounded); returns messages delivered.
  std::size_t receive(int fd, message_sink& sink, std::size_t budget);
  void send_requests(std::chrono::nanoseconds now);
  void report(std::string_view line);

  itch_source_config config_;
  mold_session session_;
  int data_fd_ = -1;
  int request_fd_ = -1;
  std::uint16_t request_port_ = 0;
  std::vector<std::uint8_t> slots_;
  std::uint64_t truncated_ = 0;
  std::uint64_t send_errors_ = 0;
  std::chrono::nanoseconds last_packet_{0};
  bool reported_send_ = false;
  bool reported_timeout_ = false;
};

// The MoldUDP64 source of config (mold_group set). Throws std::runtime_error naming the
// field ("mold_group: ...", "mold_interface: ...", "mold_retrans: ...").
[[nodiscard]] std::unique_ptr<itch_source> open_mold_source(const itch_source_config& config);

} // namespace mdgw::itch
