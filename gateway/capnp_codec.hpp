// Protocol v1 in Cap'n Proto (WebSocket subprotocol `mdgw.capnp.v1`, schema
// gateway/mdgw.capnp): the same messages as the JSON encoders (protocol.hpp,
// book_codec.hpp, topic_codec.hpp), each returned as one serialized Cap'n Proto message
// in the standard stream framing. A binary data frame is the batch message followed by
// its update messages, so shared update messages are concatenated like JSON fragments.
//
// Rationale: the book and trades updates are the expensive ones and are encoded once per
// (channel, from, to) and shared, exactly as in JSON; the small per-session ones (topic
// updates with their stamps, replies) are built per session.
#pragma once

#include "book_codec.hpp"
#include "protocol.hpp"
#include "topic_codec.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mdgw::capnp_wire {

[[nodiscard]] std::string batch(std::uint64_t ts_send, const protocol::batch_stamps& stamps, std::uint32_t updates);
[[nodiscard]] std::string book(const std::string& channel, const book_record* from, const book_record& to,
                               const book_message_stamps& stamps, const instrument_info& info);
[[nodiscard]] std::string ticker(const std::string& channel, const ticker_view& t, const instrument_info& info,
                                 const protocol::batch_stamps& stamps);
[[nodiscard]] std::string status(const std::string& channel, std::uint64_t version, const instrument_state& st,
                                 data_quality quality, quality_reason reason, const instrument_info& info,
                                 const protocol::batch_stamps& stamps);
[[nodiscard]] std::string imbalance(const std::string& channel, std::uint64_t version, const instrument_state& st,
                                    const instrument_info& info, const protocol::batch_stamps& stamps);
[[nodiscard]] std::string trades(const std::string& channel, std::uint64_t epoch, std::span<const trade_record> trades,
                                 const instrument_info& info);
[[nodiscard]] std::string lost(const std::string& channel, std::uint64_t epoch, std::uint64_t from_seq,
                               std::uint64_t resume_seq);
[[nodiscard]] std::string reset(const std::string& channel, std::uint64_t epoch, std::uint64_t head,
                                const char* reason);

[[nodiscard]] std::string error(const protocol::request_error& e);
[[nodiscard]] std::string subscribed(std::uint64_t id, const std::vector<protocol::grant>& grants);
[[nodiscard]] std::string unsubscribed(std::uint64_t id, const std::vector<std::string>& channels);
[[nodiscard]] std::string instruments(std::uint64_t id, const std::vector<const instrument_info*>& list);
[[nodiscard]] std::string pong(std::uint64_t id, std::uint64_t ts);
[[nodiscard]] std::string heartbeat(std::uint64_t ts);

// A binary request frame: one ClientRequest message. Malformed bytes are bad_json (1000).
[[nodiscard]] protocol::parse_result parse_request(std::string_view bytes);

} // namespace mdgw::capnp_wire
