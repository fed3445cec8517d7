#include "topic_codec.hpp"

#include "protocol.hpp"

#include <cstring>

namespace mdgw {

using protocol::append_decimal;
using protocol::append_json_string;
using protocol::append_uint;

const char* trading_state_name(char c) noexcept {
  switch (c) {
  case 'T': return "trading";
  case 'H': return "halted";
  case 'P': return "paused";
  case 'Q': return "quotation_only";
  default: return "unknown";
  }
}

const char* short_sale_name(char c) noexcept {
  switch (c) {
  case '0': return "none";
  case '1': return "in_effect";
  case '2': return "remains_in_effect";
  default: return "unknown";
  }
}

const char* imbalance_direction_name(char c) noexcept {
  switch (c) {
  case 'B': return "buy";
  case 'S': return "sell";
  case 'N': return "none";
  case 'O': return "insufficient_orders";
  case 'P': return "paused";
  default: return "unknown";
  }
}

const char* cross_type_name(char c) noexcept {
  switch (c) {
  case 'O': return "opening";
  case 'C': return "closing";
  case 'H': return "halt_or_ipo";
  case 'A': return "extended_trading_close";
  default: return "unknown";
  }
}

const char* side_name(side s) noexcept { return s == side::bid ? "buy" : "sell"; }

std::string_view trading_reason(const instrument_state& st) noexcept {
  std::string_view reason(st.reason, sizeof st.reason);
  while (!reason.empty() && (reason.back() == ' ' || reason.back() == '\0')) reason.remove_suffix(1);
  return reason;
}

namespace {

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(",\"");
  out.append(name);
  out.append("\":");
  append_json_string(out, value);
}

void append_price_field(std::string& out, std::string_view name, price_t p, int scale) {
  out.append(",\"");
  out.append(name);
  out.append("\":\"");
  append_decimal(out, p, scale);
  out.push_back('"');
}

void append_uint_field(std::string& out, std::string_view name, std::uint64_t v) {
  out.append(",\"");
  out.append(name);
  out.append("\":");
  append_uint(out, v);
}

void append_head(std::string& out, std::string_view channel, std::string_view kind) {
  out.append("{\"channel\":");
  append_json_string(out, channel);
  out.append(",\"kind\":\"");
  out.append(kind);
  out.push_back('"');
}

} // namespace

void ticker_view::set_book(const book_top& top) noexcept {
  book_version = top.version;
  quality = top.quality;
  has_bid = top.n_bids > 0;
  has_ask = top.n_asks > 0;
  bid = has_bid ? top.bids()[0] : price_level{};
  ask = has_ask ? top.asks()[0] : price_level{};
}

bool ticker_view::same_as(const ticker_view& o) const noexcept {
  const auto same_level = [](const price_level& a, const price_level& b) {
    return a.price == b.price && a.qty == b.qty;
  };
  return quality == o.quality && has_bid == o.has_bid && has_ask == o.has_ask && same_level(bid, o.bid) &&
         same_level(ask, o.ask) && last.seq == o.last.seq;
}

void encode_ticker_head(std::string& out, std::string_view channel, const ticker_view& t, const instrument_info& info) {
  append_head(out, channel, "ticker");
  append_uint_field(out, "seq", t.seq());
  append_field(out, "quality", to_string(t.quality));
  const auto level = [&](std::string_view px, std::string_view sz, bool has, const price_level& l) {
    if (has) {
      append_price_field(out, px, l.price, info.price_scale);
      append_price_field(out, sz, l.qty, info.qty_scale);
    } else {
      out.append(",\"");
      out.append(px);
      out.append("\":null,\"");
      out.append(sz);
      out.append("\":null");
    }
  };
  level("bid", "bid_size", t.has_bid, t.bid);
  level("ask", "ask_size", t.has_ask, t.ask);
  if (t.last.seq != 0) {
    append_price_field(out, "last", t.last.price, info.price_scale);
    append_price_field(out, "last_size", t.last.qty, info.qty_scale);
    append_field(out, "last_side", side_name(t.last.aggressor));
    append_uint_field(out, "last_seq", t.last.seq);
    append_uint_field(out, "last_ts_exch", t.last.exch_ts);
    append_price_field(out, "volume", t.last.volume, info.qty_scale);
    append_price_field(out, "open", t.last.open, info.price_scale);
    append_price_field(out, "change", t.last.price - t.last.open, info.price_scale);
  } else {
    out.append(",\"last\":null,\"last_size\":null,\"last_side\":null,\"last_seq\":0,\"last_ts_exch\":null,\"volume\":\"");
    append_decimal(out, 0, info.qty_scale);
    out.append("\",\"open\":null,\"change\":null");
  }
}

void append_trading_fields(std::string& out, const instrument_state& st, const instrument_info& info) {
  append_field(out, "trading_state", trading_state_name(st.trading_state));
  append_field(out, "reason", trading_reason(st));
  append_field(out, "short_sale_restriction", short_sale_name(st.short_sale));
  out.append(",\"mwcb_breached\":");
  if (st.mwcb_breached >= '1' && st.mwcb_breached <= '3') out.push_back(st.mwcb_breached);
  else out.append("null");
  out.append(",\"luld\":");
  if (st.has_luld != 0) {
    out.append("{\"reference\":\"");
    append_decimal(out, st.luld_reference, info.price_scale);
    out.push_back('"');
    append_price_field(out, "upper", st.luld_upper, info.price_scale);
    append_price_field(out, "lower", st.luld_lower, info.price_scale);
    out.push_back('}');
  } else {
    out.append("null");
  }
}

void append_imbalance_value(std::string& out, const instrument_state& st, const instrument_info& info) {
  if (st.has_imbalance == 0) {
    out.append("null");
    return;
  }
  out.append("{\"ts_exch\":");
  append_uint(out, st.imbalance_ts);
  out.append(",\"paired\":\"");
  append_decimal(out, st.paired_qty, info.qty_scale);
  out.append("\",\"imbalance\":\"");
  append_decimal(out, st.imbalance_qty, info.qty_scale);
  out.push_back('"');
  append_field(out, "direction", imbalance_direction_name(st.imbalance_direction));
  append_price_field(out, "far_price", st.far_price, info.price_scale);
  append_price_field(out, "near_price", st.near_price, info.price_scale);
  append_price_field(out, "reference_price", st.reference_price, info.price_scale);
  append_field(out, "cross_type", cross_type_name(st.cross_type));
  append_field(out, "price_variation", std::string_view(&st.price_variation, 1));
  out.push_back('}');
}

bool trading_fields_differ(const instrument_state& a, const instrument_state& b) noexcept {
  return a.trading_state != b.trading_state || std::memcmp(a.reason, b.reason, sizeof a.reason) != 0 ||
         a.short_sale != b.short_sale || a.mwcb_breached != b.mwcb_breached || a.has_luld != b.has_luld ||
         a.luld_reference != b.luld_reference || a.luld_upper != b.luld_upper || a.luld_lower != b.luld_lower;
}

bool imbalance_differs(const instrument_state& a, const instrument_state& b) noexcept {
  return a.has_imbalance != b.has_imbalance || a.imbalance_ts != b.imbalance_ts ||
         a.imbalance_direction != b.imbalance_direction || a.cross_type != b.cross_type ||
         a.price_variation != b.price_variation || a.paired_qty != b.paired_qty ||
         a.imbalance_qty != b.imbalance_qty || a.far_price != b.far_price || a.near_price != b.near_price ||
         a.reference_price != b.reference_price;
}

void encode_status_head(std::string& out, std::string_view channel, std::uint64_t version, const instrument_state& st,
                        data_quality quality, quality_reason reason, const instrument_info& info) {
  append_head(out, channel, "status");
  append_uint_field(out, "version", version);
  append_trading_fields(out, st, info);
  append_field(out, "quality", to_string(quality));
  append_field(out, "quality_reason", to_string(reason));
}

void encode_imbalance_head(std::string& out, std::string_view channel, std::uint64_t version,
                           const instrument_state& st, const instrument_info& info) {
  append_head(out, channel, "imbalance");
  append_uint_field(out, "version", version);
  out.append(",\"imbalance\":");
  append_imbalance_value(out, st, info);
}

void encode_trades_head(std::string& out, std::string_view channel, std::uint64_t epoch, std::uint64_t first_seq,
                        std::uint64_t last_seq, const protocol::batch_stamps& st) {
  append_head(out, channel, "trades");
  append_uint_field(out, "epoch", epoch);
  append_uint_field(out, "first_seq", first_seq);
  append_uint_field(out, "seq", last_seq);
  protocol::append_stamps(out, st.oldest_exch_ts, st.oldest_recv_ts, st.newest_exch_ts, st.newest_recv_ts, st.merged);
  out.append(",\"trades\":[");
}

void encode_trade(std::string& out, const trade_record& t, const instrument_info& info) {
  out.append("{\"seq\":");
  append_uint(out, t.seq);
  append_price_field(out, "price", t.price, info.price_scale);
  append_price_field(out, "qty", t.qty, info.qty_scale);
  append_field(out, "side", side_name(t.aggressor));
  append_uint_field(out, "ts_exch", t.exch_ts);
  append_uint_field(out, "ts_recv", t.recv_ts);
  out.push_back('}');
}

void encode_trades(std::string& out, std::string_view channel, std::uint64_t epoch, std::span<const trade_record> trades,
                   const instrument_info& info) {
  const trade_record& first = trades.front();
  const trade_record& last = trades.back();
  protocol::batch_stamps st;
  st.add(first.exch_ts, first.recv_ts, last.exch_ts, last.recv_ts, trades.size());
  encode_trades_head(out, channel, epoch, first.seq, last.seq, st);
  for (std::size_t i = 0; i < trades.size(); ++i) {
    if (i != 0) out.push_back(',');
    encode_trade(out, trades[i], info);
  }
  out.append(kTradesSuffix);
}

void encode_trades_lost(std::string& out, std::string_view channel, std::uint64_t epoch, std::uint64_t from_seq,
                        std::uint64_t resume_seq) {
  append_head(out, channel, "lost");
  append_uint_field(out, "epoch", epoch);
  append_uint_field(out, "lost", resume_seq - from_seq);
  append_uint_field(out, "from_seq", from_seq);
  append_uint_field(out, "resume_seq", resume_seq);
  out.push_back('}');
}

void encode_trades_reset(std::string& out, std::string_view channel, std::uint64_t epoch, std::uint64_t head,
                         std::string_view reason) {
  append_head(out, channel, "reset");
  append_uint_field(out, "epoch", epoch);
  append_uint_field(out, "seq", head);
  append_field(out, "reason", reason);
  out.push_back('}');
}

} // namespace mdgw
