#include "protocol.hpp"

#include <boost/json.hpp>

#include <charconv>

namespace mdgw::protocol {

namespace json = boost::json;

namespace {

request_error make_error(error_code c, std::optional<std::uint64_t> id, std::string msg) {
  return request_error{c, id, std::move(msg)};
}

} // namespace

parse_result parse_request(std::string_view text) {
  parse_result r;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) {
    r.err = make_error(error_code::bad_json, std::nullopt, "malformed JSON: " + ec.message());
    return r;
  }
  if (!v.is_object()) {
    r.err = make_error(error_code::bad_json, std::nullopt, "a request must be a JSON object");
    return r;
  }
  const json::object& o = v.get_object();
  std::optional<std::uint64_t> id;
  bool id_bad = false;
  if (const json::value* idv = o.if_contains("id")) {
    if (idv->is_uint64()) id = idv->get_uint64();
    else if (idv->is_int64() && idv->get_int64() >= 0) id = static_cast<std::uint64_t>(idv->get_int64());
    else id_bad = true;
  } else {
    id_bad = true;
  }
  const json::value* opv = o.if_contains("op");
  if (opv == nullptr || !opv->is_string()) {
    r.err = make_error(error_code::unknown_op, id, "missing \"op\"");
    return r;
  }
  const std::string_view opname = opv->get_string();
  request req;
  if (opname == "subscribe") req.what = op::subscribe;
  else if (opname == "unsubscribe") req.what = op::unsubscribe;
  else if (opname == "ping") req.what = op::ping;
  else {
    r.err = make_error(error_code::unknown_op, id, "unknown op '" + std::string(opname) + "'");
    return r;
  }
  if (id_bad) {
    r.err = make_error(error_code::bad_request, std::nullopt, "\"id\" must be a non-negative integer");
    return r;
  }
  req.id = *id;
  if (req.what != op::ping) {
    const json::value* chv = o.if_contains("channels");
    if (chv == nullptr || !chv->is_array() || chv->get_array().empty()) {
      r.err = make_error(error_code::bad_request, id, "\"channels\" must be a non-empty array of strings");
      return r;
    }
    for (const json::value& c : chv->get_array()) {
      if (!c.is_string()) {
        r.err = make_error(error_code::bad_request, id, "\"channels\" must be a non-empty array of strings");
        return r;
      }
      req.channels.emplace_back(c.get_string());
    }
  }
  r.req = std::move(req);
  return r;
}

channel_parse parse_channel(std::string_view name) {
  channel_parse r;
  const auto first = name.find('.');
  const auto last = name.rfind('.');
  if (first == std::string_view::npos || first == last || name.substr(0, first) != "book") {
    r.code = error_code::unknown_channel;
    r.message = "unknown channel '" + std::string(name) + "' (expected book.<SYM>.<depth>)";
    return r;
  }
  const std::string_view sym = name.substr(first + 1, last - first - 1);
  const std::string_view depth_s = name.substr(last + 1);
  int depth = 0;
  auto [p, ec] = std::from_chars(depth_s.data(), depth_s.data() + depth_s.size(), depth);
  if (sym.empty()) {
    r.code = error_code::unknown_channel;
    r.message = "channel '" + std::string(name) + "' has no symbol";
    return r;
  }
  if (ec != std::errc{} || p != depth_s.data() + depth_s.size() || depth < 1 ||
      depth > static_cast<int>(kMaxDepth)) {
    r.code = error_code::bad_depth;
    r.message = "depth '" + std::string(depth_s) + "' in '" + std::string(name) + "' must be an integer in 1.." +
                std::to_string(kMaxDepth);
    return r;
  }
  r.channel = book_channel{std::string(sym), depth};
  return r;
}

void append_uint(std::string& out, std::uint64_t v) {
  char buf[24];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  out.append(buf, p);
}

void append_decimal(std::string& out, std::int64_t value, int scale) {
  char buf[40];
  char* end = buf + sizeof buf;
  char* p = end;
  const bool neg = value < 0;
  // Work in unsigned so INT64_MIN does not overflow.
  std::uint64_t u = neg ? 0 - static_cast<std::uint64_t>(value) : static_cast<std::uint64_t>(value);
  for (int i = 0; i < scale; ++i) {
    *--p = static_cast<char>('0' + u % 10);
    u /= 10;
  }
  if (scale > 0) *--p = '.';
  do {
    *--p = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u != 0);
  if (neg) *--p = '-';
  out.append(p, end);
}

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char c : s) {
    const auto uc = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (uc < 0x20) {
      static constexpr char kHex[] = "0123456789abcdef";
      out.append("\\u00");
      out.push_back(kHex[uc >> 4]);
      out.push_back(kHex[uc & 15]);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

namespace {

void append_levels(std::string& out, const price_level* levels, std::size_t n, const instrument_info& info) {
  out.push_back('[');
  for (std::size_t i = 0; i < n; ++i) {
    if (i != 0) out.push_back(',');
    out.append("[\"");
    append_decimal(out, levels[i].price, info.price_scale);
    out.append("\",\"");
    append_decimal(out, levels[i].qty, info.qty_scale);
    out.append("\",");
    append_uint(out, levels[i].orders);
    out.push_back(']');
  }
  out.push_back(']');
}

void append_book_stamps(std::string& out, const book_top& top) {
  out.append(",\"seq\":");
  append_uint(out, top.version);
  out.append(",\"ts_exch\":");
  append_uint(out, top.exch_ts);
  out.append(",\"ts_recv\":");
  append_uint(out, top.recv_ts);
  out.append(",\"quality\":\"");
  out.append(to_string(top.quality));
  out.push_back('"');
}

} // namespace

void encode_book_http(std::string& out, const book_top& top, int depth, const instrument_info& info) {
  const auto d = static_cast<std::size_t>(depth);
  out.append("{\"symbol\":");
  append_json_string(out, info.symbol);
  append_book_stamps(out, top);
  out.append(",\"bids\":");
  append_levels(out, top.bids(), std::min<std::size_t>(top.n_bids, d), info);
  out.append(",\"asks\":");
  append_levels(out, top.asks(), std::min<std::size_t>(top.n_asks, d), info);
  out.push_back('}');
}

namespace {

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

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(",\"");
  out.append(name);
  out.append("\":");
  append_json_string(out, value);
}

void append_price_field(std::string& out, std::string_view name, price_t p, const instrument_info& info) {
  out.append(",\"");
  out.append(name);
  out.append("\":\"");
  append_decimal(out, p, info.price_scale);
  out.push_back('"');
}

} // namespace

void encode_state_http(std::string& out, const instrument_state& st, const instrument_info& info) {
  out.append("{\"symbol\":");
  append_json_string(out, info.symbol);
  out.append(",\"version\":");
  append_uint(out, st.version);
  out.append(",\"ts_exch\":");
  append_uint(out, st.exch_ts);
  out.append(",\"ts_recv\":");
  append_uint(out, st.recv_ts);
  append_field(out, "trading_state", trading_state_name(st.trading_state));
  std::string_view reason(st.reason, sizeof st.reason);
  while (!reason.empty() && (reason.back() == ' ' || reason.back() == '\0')) reason.remove_suffix(1);
  append_field(out, "reason", reason);
  append_field(out, "short_sale_restriction", short_sale_name(st.short_sale));
  out.append(",\"mwcb_breached\":");
  if (st.mwcb_breached >= '1' && st.mwcb_breached <= '3') out.push_back(st.mwcb_breached);
  else out.append("null");
  out.append(",\"luld\":");
  if (st.has_luld != 0) {
    out.append("{\"reference\":\"");
    append_decimal(out, st.luld_reference, info.price_scale);
    out.push_back('"');
    append_price_field(out, "upper", st.luld_upper, info);
    append_price_field(out, "lower", st.luld_lower, info);
    out.push_back('}');
  } else {
    out.append("null");
  }
  out.append(",\"imbalance\":");
  if (st.has_imbalance != 0) {
    out.append("{\"ts_exch\":");
    append_uint(out, st.imbalance_ts);
    out.append(",\"paired\":\"");
    append_decimal(out, st.paired_qty, info.qty_scale);
    out.append("\",\"imbalance\":\"");
    append_decimal(out, st.imbalance_qty, info.qty_scale);
    out.push_back('"');
    append_field(out, "direction", imbalance_direction_name(st.imbalance_direction));
    append_price_field(out, "far_price", st.far_price, info);
    append_price_field(out, "near_price", st.near_price, info);
    append_price_field(out, "reference_price", st.reference_price, info);
    append_field(out, "cross_type", cross_type_name(st.cross_type));
    append_field(out, "price_variation", std::string_view(&st.price_variation, 1));
    out.push_back('}');
  } else {
    out.append("null");
  }
  out.push_back('}');
}

std::string encode_error(const request_error& e) {
  std::string out = "{\"type\":\"error\",\"id\":";
  if (e.id) append_uint(out, *e.id);
  else out.append("null");
  out.append(",\"code\":");
  append_uint(out, static_cast<std::uint64_t>(e.code));
  out.append(",\"message\":");
  append_json_string(out, e.message);
  out.push_back('}');
  return out;
}

std::string encode_ack(std::string_view type, std::uint64_t id, const std::vector<std::string>& channels) {
  std::string out = "{\"type\":";
  append_json_string(out, type);
  out.append(",\"id\":");
  append_uint(out, id);
  out.append(",\"channels\":[");
  for (std::size_t i = 0; i < channels.size(); ++i) {
    if (i != 0) out.push_back(',');
    append_json_string(out, channels[i]);
  }
  out.append("]}");
  return out;
}

std::string encode_pong(std::uint64_t id, std::uint64_t ts) {
  std::string out = "{\"type\":\"pong\",\"id\":";
  append_uint(out, id);
  out.append(",\"ts\":");
  append_uint(out, ts);
  out.push_back('}');
  return out;
}

void append_stamps(std::string& out, std::uint64_t oldest_exch, std::uint64_t oldest_recv, std::uint64_t newest_exch,
                   std::uint64_t newest_recv, std::uint64_t merged) {
  out.append(",\"ts_exch_oldest\":");
  append_uint(out, oldest_exch);
  out.append(",\"ts_recv_oldest\":");
  append_uint(out, oldest_recv);
  out.append(",\"ts_exch\":");
  append_uint(out, newest_exch);
  out.append(",\"ts_recv\":");
  append_uint(out, newest_recv);
  out.append(",\"merged\":");
  append_uint(out, merged);
}

void encode_batch_prefix(std::string& out, std::uint64_t ts_send, const batch_stamps& stamps) {
  out.append("{\"type\":\"data\",\"ts_send\":");
  append_uint(out, ts_send);
  append_stamps(out, stamps.oldest_exch_ts, stamps.oldest_recv_ts, stamps.newest_exch_ts, stamps.newest_recv_ts,
                stamps.merged);
  out.append(",\"updates\":[");
}

} // namespace mdgw::protocol
