// Client protocol v0 (docs/protocol.md): request parsing and message encoding.
//
// Encoding is hand-written into std::string with std::to_chars: book fragments are built
// once per (instrument, depth, version) and shared by every session that sends them, so
// the encoder is on the fan-out hot path; a DOM would allocate per value.
#pragma once

#include "book_top.hpp"
#include "instrument_state.hpp"
#include "types.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mdgw::protocol {

enum class error_code : int {
  bad_json = 1000,
  unknown_op = 1001,
  bad_request = 1002,
  unknown_channel = 1003,
  unknown_symbol = 1004,
  bad_depth = 1005,
  not_subscribed = 1006,
  too_many_subscriptions = 1007,
  already_subscribed = 1008,
  rate_limited = 1009,
  bad_option = 1010,
};

// The encoding of a connection, chosen by Sec-WebSocket-Protocol: mdgw.json.v1 (default)
// or mdgw.capnp.v1 (gateway/mdgw.capnp).
enum class wire_format : std::uint8_t { json = 0, capnp = 1 };
inline constexpr std::size_t kWireFormats = 2;

enum class op { subscribe, unsubscribe, ping, list };

// One entry of "channels": a name, or an object with the name and options.
struct channel_request {
  std::string name;
  std::optional<double> max_rate;          // updates per second (> 0)
  std::optional<double> interval_ms;       // minimum time between updates (>= 0)
  std::optional<std::uint64_t> from_seq;   // trades: resume from this trade
  std::optional<std::uint64_t> epoch;      // trades: the epoch from_seq belongs to
  bool options = false;                    // any option given (unsubscribe takes none)
};

struct request {
  op what = op::ping;
  std::uint64_t id = 0;
  std::vector<channel_request> channels;
};

struct request_error {
  error_code code;
  std::optional<std::uint64_t> id; // the request's id when it had a usable one
  std::string message;
};

// Parses one client text frame. Exactly one of the two is set.
struct parse_result {
  std::optional<request> req;
  std::optional<request_error> err;
};
[[nodiscard]] parse_result parse_request(std::string_view text);
// The checks every request passes whatever its encoding: non-empty channel lists, option
// ranges and combinations (bad_request / bad_option).
[[nodiscard]] parse_result validate_request(request req);

enum class channel_kind : std::uint8_t { book, ticker, trades, status, imbalance };
// The depth of `book.<SYM>.full`: every level, up to kFullDepth a side.
inline constexpr int kFullDepthChannel = static_cast<int>(kFullDepth);
[[nodiscard]] const char* to_string(channel_kind k) noexcept;

// A parsed channel name: `book.<SYM>.<depth>`, `ticker.<SYM>`, `trades.<SYM>`,
// `status.<SYM>`, `imbalance.<SYM>`; `*` as the symbol of ticker, status and imbalance
// (every instrument).
struct channel_spec {
  channel_kind kind = channel_kind::book;
  std::string symbol;
  int depth = 0; // book only
  [[nodiscard]] bool wildcard() const noexcept { return symbol == "*"; }
};
// The canonical name of a channel.
[[nodiscard]] std::string channel_name(channel_kind kind, std::string_view symbol, int depth);
// Returns the channel, or an error code (unknown_channel / bad_depth) and message.
struct channel_parse {
  std::optional<channel_spec> channel;
  error_code code = error_code::unknown_channel;
  std::string message;
};
[[nodiscard]] channel_parse parse_channel(std::string_view name);

// --- encoding ---
// Appends an exact decimal for value / 10^scale ("187.4200", "-0.0100", "300").
void append_decimal(std::string& out, std::int64_t value, int scale);
void append_uint(std::string& out, std::uint64_t v);
void append_json_string(std::string& out, std::string_view s);

// The body of GET /book/<SYM>.
void encode_book_http(std::string& out, const book_top& top, int depth, const instrument_info& info);

// The body of GET /status/<SYM>: trading state, short-sale restriction, LULD collar,
// market-wide circuit breaker and auction imbalance (docs/protocol.md).
void encode_state_http(std::string& out, const instrument_state& st, const instrument_info& info);

[[nodiscard]] std::string encode_error(const request_error& e);
[[nodiscard]] std::string encode_ack(std::string_view type, std::uint64_t id, const std::vector<std::string>& channels);
// What a subscription was granted (the "granted" array of a subscribed ack).
struct grant {
  std::string channel;
  std::uint64_t interval_ns = 0; // 0: as fast as the client reads (conflated)
  bool trades = false;           // the rest is for trades channels
  std::uint64_t epoch = 0;
  std::uint64_t next_seq = 0;    // the first trade seq the client will receive
  const char* resume = "live";   // live, replay, reset
};
[[nodiscard]] std::string encode_subscribed(std::uint64_t id, const std::vector<grant>& grants);
[[nodiscard]] std::string encode_pong(std::uint64_t id, std::uint64_t ts);
[[nodiscard]] std::string encode_heartbeat(std::uint64_t ts);
// The reply to `list`: every instrument with its metadata (as GET /instruments).
void append_instrument(std::string& out, const instrument_info& in);
[[nodiscard]] std::string encode_instruments(std::uint64_t id, const std::vector<const instrument_info*>& list);
// What a data message merges: the oldest and newest source updates over all its
// updates, and how many source updates it represents.
struct batch_stamps {
  std::uint64_t oldest_exch_ts = 0;
  std::uint64_t oldest_recv_ts = 0;
  std::uint64_t newest_exch_ts = 0;
  std::uint64_t newest_recv_ts = 0;
  std::uint64_t merged = 0;
  void add(std::uint64_t first_exch, std::uint64_t first_recv, std::uint64_t exch, std::uint64_t recv,
           std::uint64_t n) noexcept {
    if (oldest_recv_ts == 0 || (first_recv != 0 && first_recv < oldest_recv_ts)) {
      oldest_recv_ts = first_recv;
      oldest_exch_ts = first_exch;
    }
    if (recv >= newest_recv_ts) {
      newest_recv_ts = recv;
      newest_exch_ts = exch;
    }
    merged += n;
  }
};
// `,"ts_exch_oldest":..,"ts_recv_oldest":..,"ts_exch":..,"ts_recv":..,"merged":N` (the
// stamps of docs/protocol.md, in a data message and in each of its updates).
void append_stamps(std::string& out, std::uint64_t oldest_exch, std::uint64_t oldest_recv, std::uint64_t newest_exch,
                   std::uint64_t newest_recv, std::uint64_t merged);
// Prefix of a data batch: `{"type":"data","ts_send":N,<stamps>,"updates":[`; the caller
// appends fragments separated by commas and then kBatchSuffix.
void encode_batch_prefix(std::string& out, std::uint64_t ts_send, const batch_stamps& stamps);
inline constexpr std::string_view kBatchSuffix = "]}";

} // namespace mdgw::protocol
