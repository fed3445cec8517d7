// Messages of the ticker, status, imbalance and trades channels (docs/protocol.md).
//
// Rationale:
// - Ticker, status and imbalance are small complete states: a client replaces what it
//   had, so nothing is lost by conflation and no delta is needed. The io thread encodes
//   each state once per change and every session shares the bytes; only the stamps
//   differ per session (which update a client saw last), so the shared part ends before
//   them ("head") and a session appends its own stamps and the closing brace.
// - Trades are a stream: an update carries consecutive trades first_seq..seq of one
//   instrument with their own stamps (the oldest and newest trade). Each trade's object
//   is encoded once per io thread and the objects of consecutive trades are one run of
//   text, so an update for a session at any seq is a small head (encode_trades_head),
//   that run and the suffix: sessions at different seqs share the trades' bytes.
// - `lost` and `reset` tell a client exactly what it did not get and where the stream
//   goes on, so a gap is never silent.
#pragma once

#include "book_top.hpp"
#include "instrument_state.hpp"
#include "protocol.hpp"
#include "trade_history.hpp"
#include "types.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace mdgw {

// What a ticker shows: best bid and ask with sizes, the last trade, session volume.
struct ticker_view {
  std::uint64_t book_version = 0;
  data_quality quality = data_quality::ok;
  bool has_bid = false;
  bool has_ask = false;
  price_level bid{};
  price_level ask{};
  trade_record last{}; // last.seq == 0: no trade yet
  // Its sequence: book version + trades. Both only grow, so it does too.
  [[nodiscard]] std::uint64_t seq() const noexcept { return book_version + last.seq; }
  void set_book(const book_top& top) noexcept;
  [[nodiscard]] bool same_as(const ticker_view& o) const noexcept;
};

// `{"channel":..,"kind":"ticker","seq":..,...` without the stamps and the closing brace.
void encode_ticker_head(std::string& out, std::string_view channel, const ticker_view& t, const instrument_info& info);
// `{"channel":..,"kind":"status","trading_state":..,...,"quality":..,"quality_reason":..`
void encode_status_head(std::string& out, std::string_view channel, std::uint64_t version, const instrument_state& st,
                        data_quality quality, quality_reason reason, const instrument_info& info);
// `{"channel":..,"kind":"imbalance","version":..,"imbalance":{..}|null`
void encode_imbalance_head(std::string& out, std::string_view channel, std::uint64_t version,
                           const instrument_state& st, const instrument_info& info);
// A complete trades update of consecutive trades (not empty): encode_trades_head, the
// trades (encode_trade) joined by ',', then kTradesSuffix.
void encode_trades(std::string& out, std::string_view channel, std::uint64_t epoch, std::span<const trade_record> trades,
                   const instrument_info& info);
// `{"channel":..,"kind":"trades","epoch":..,"first_seq":..,"seq":..,<stamps>,"trades":[`
void encode_trades_head(std::string& out, std::string_view channel, std::uint64_t epoch, std::uint64_t first_seq,
                        std::uint64_t last_seq, const protocol::batch_stamps& stamps);
// One trade object `{"seq":..,"price":..,...}`.
void encode_trade(std::string& out, const trade_record& t, const instrument_info& info);
inline constexpr std::string_view kTradesSuffix = "]}";
// Trades from_seq..resume_seq-1 will never reach this client; the stream goes on at resume_seq.
void encode_trades_lost(std::string& out, std::string_view channel, std::uint64_t epoch, std::uint64_t from_seq,
                        std::uint64_t resume_seq);
// A resume that cannot be served: the stream goes on after `head` (reason: epoch, gone, ahead).
void encode_trades_reset(std::string& out, std::string_view channel, std::uint64_t epoch, std::uint64_t head,
                         std::string_view reason);

// The names clients see for the venue's codes (docs/protocol.md).
[[nodiscard]] const char* trading_state_name(char c) noexcept;
[[nodiscard]] const char* short_sale_name(char c) noexcept;
[[nodiscard]] const char* imbalance_direction_name(char c) noexcept;
[[nodiscard]] const char* cross_type_name(char c) noexcept;
[[nodiscard]] const char* side_name(side s) noexcept; // the aggressor: "buy" or "sell"
// The venue's reason code without its padding.
[[nodiscard]] std::string_view trading_reason(const instrument_state& st) noexcept;

// The status channel's fields (also GET /status/<SYM>): trading state, reason, short-sale
// restriction, circuit breaker, LULD band.
void append_trading_fields(std::string& out, const instrument_state& st, const instrument_info& info);
// The auction imbalance object, or null.
void append_imbalance_value(std::string& out, const instrument_state& st, const instrument_info& info);
// Whether the fields of each part differ.
[[nodiscard]] bool trading_fields_differ(const instrument_state& a, const instrument_state& b) noexcept;
[[nodiscard]] bool imbalance_differs(const instrument_state& a, const instrument_state& b) noexcept;

} // namespace mdgw
