#include "protocol.hpp"

#include "topic_codec.hpp"

#include <boost/json.hpp>

#include <array>
#include <charconv>
#include <cstring>

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
  else if (opname == "list") req.what = op::list;
  else {
    r.err = make_error(error_code::unknown_op, id, "unknown op '" + std::string(opname) + "'");
    return r;
  }
  if (id_bad) {
    r.err = make_error(error_code::bad_request, std::nullopt, "\"id\" must be a non-negative integer");
    return r;
  }
  req.id = *id;
  if (req.what == op::subscribe || req.what == op::unsubscribe) {
    static constexpr const char* kShape =
        "\"channels\" must be a non-empty array of channel names or {\"channel\":name,...} objects";
    const json::value* chv = o.if_contains("channels");
    if (chv == nullptr || !chv->is_array()) {
      r.err = make_error(error_code::bad_request, id, kShape);
      return r;
    }
    for (const json::value& c : chv->get_array()) {
      channel_request cr;
      if (c.is_string()) {
        cr.name = c.get_string();
      } else if (c.is_object()) {
        const json::value* nv = c.get_object().if_contains("channel");
        if (nv == nullptr || !nv->is_string()) {
          r.err = make_error(error_code::bad_request, id, kShape);
          return r;
        }
        cr.name = nv->get_string();
        for (const auto& kv : c.get_object()) {
          const std::string_view key = kv.key();
          if (key == "channel") continue;
          std::string bad;
          cr.options = true;
          if (key == "max_rate" || key == "interval_ms") {
            if (!kv.value().is_number()) bad = "must be a number";
            else (key == "max_rate" ? cr.max_rate : cr.interval_ms) = kv.value().to_number<double>();
          } else if (key == "from_seq" || key == "epoch") {
            const json::value& x = kv.value();
            if (x.is_uint64() || (x.is_int64() && x.get_int64() >= 0)) {
              (key == "from_seq" ? cr.from_seq : cr.epoch) =
                  x.is_uint64() ? x.get_uint64() : static_cast<std::uint64_t>(x.get_int64());
            } else {
              bad = "must be a non-negative integer";
            }
          } else {
            bad = "is not an option (max_rate, interval_ms, from_seq, epoch)";
          }
          if (!bad.empty()) {
            r.err = make_error(error_code::bad_option, id,
                               "\"" + std::string(key) + "\" of '" + cr.name + "' " + bad);
            return r;
          }
        }
      } else {
        r.err = make_error(error_code::bad_request, id, kShape);
        return r;
      }
      req.channels.push_back(std::move(cr));
    }
  }
  return validate_request(std::move(req));
}

parse_result validate_request(request req) {
  parse_result r;
  const auto fail = [&](error_code code, std::string message) {
    r.err = make_error(code, req.id, std::move(message));
    return r;
  };
  if ((req.what == op::subscribe || req.what == op::unsubscribe) && req.channels.empty()) {
    return fail(error_code::bad_request, "\"channels\" must not be empty");
  }
  for (const channel_request& cr : req.channels) {
    const std::string who = "'" + cr.name + "': ";
    if (req.what == op::unsubscribe && cr.options) return fail(error_code::bad_option, who + "unsubscribe takes no options");
    if (cr.max_rate && !(*cr.max_rate > 0.0)) {
      return fail(error_code::bad_option, who + "max_rate must be a number > 0 (updates per second)");
    }
    if (cr.interval_ms && !(*cr.interval_ms >= 0.0)) {
      return fail(error_code::bad_option, who + "interval_ms must be a number >= 0 (ms)");
    }
    if (cr.max_rate && cr.interval_ms) return fail(error_code::bad_option, who + "give max_rate or interval_ms, not both");
    if (cr.from_seq.has_value() != cr.epoch.has_value()) {
      return fail(error_code::bad_option, who + "from_seq and epoch go together");
    }
  }
  r.req = std::move(req);
  return r;
}

const char* to_string(channel_kind k) noexcept {
  switch (k) {
  case channel_kind::book: return "book";
  case channel_kind::ticker: return "ticker";
  case channel_kind::trades: return "trades";
  case channel_kind::status: return "status";
  case channel_kind::imbalance: return "imbalance";
  }
  return "book";
}

std::string channel_name(channel_kind kind, std::string_view symbol, int depth) {
  std::string out = to_string(kind);
  out.push_back('.');
  out.append(symbol);
  if (kind == channel_kind::book) {
    out.push_back('.');
    out.append(depth == kFullDepthChannel ? std::string("full") : std::to_string(depth));
  }
  return out;
}

channel_parse parse_channel(std::string_view name) {
  channel_parse r;
  const auto first = name.find('.');
  const std::string_view prefix = name.substr(0, first);
  static constexpr channel_kind kKinds[] = {channel_kind::book, channel_kind::ticker, channel_kind::trades,
                                            channel_kind::status, channel_kind::imbalance};
  const channel_kind* kind = nullptr;
  for (const channel_kind& k : kKinds) {
    if (prefix == to_string(k)) kind = &k;
  }
  if (first == std::string_view::npos || kind == nullptr) {
    r.code = error_code::unknown_channel;
    r.message = "unknown channel '" + std::string(name) +
                "' (expected book.<SYM>.<depth>, ticker.<SYM>, trades.<SYM>, status.<SYM> or imbalance.<SYM>)";
    return r;
  }
  if (*kind != channel_kind::book) {
    const std::string_view sym = name.substr(first + 1);
    if (sym.empty()) {
      r.code = error_code::unknown_channel;
      r.message = "channel '" + std::string(name) + "' has no symbol";
      return r;
    }
    if (sym == "*" && *kind == channel_kind::trades) {
      r.code = error_code::unknown_channel;
      r.message = "'trades.*': the wildcard is for ticker, status and imbalance (trades are a stream per symbol)";
      return r;
    }
    r.channel = channel_spec{*kind, std::string(sym), 0};
    return r;
  }
  const auto last = name.rfind('.');
  if (first == last) {
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
  if (sym == "*") {
    r.code = error_code::unknown_channel;
    r.message = "'" + std::string(name) + "': the wildcard is for ticker, status and imbalance";
    return r;
  }
  if (depth_s == "full") {
    r.channel = channel_spec{channel_kind::book, std::string(sym), kFullDepthChannel};
    return r;
  }
  if (ec != std::errc{} || p != depth_s.data() + depth_s.size() || depth < 1 ||
      depth > static_cast<int>(kMaxDepth)) {
    r.code = error_code::bad_depth;
    r.message = "depth '" + std::string(depth_s) + "' in '" + std::string(name) + "' must be an integer in 1.." +
                std::to_string(kMaxDepth) + " or full";
    return r;
  }
  r.channel = channel_spec{channel_kind::book, std::string(sym), depth};
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

void encode_state_http(std::string& out, const instrument_state& st, const instrument_info& info) {
  out.append("{\"symbol\":");
  append_json_string(out, info.symbol);
  out.append(",\"version\":");
  append_uint(out, st.version);
  out.append(",\"ts_exch\":");
  append_uint(out, st.exch_ts);
  out.append(",\"ts_recv\":");
  append_uint(out, st.recv_ts);
  append_trading_fields(out, st, info);
  out.append(",\"imbalance\":");
  append_imbalance_value(out, st, info);
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

std::string encode_subscribed(std::uint64_t id, const std::vector<grant>& grants) {
  std::string out = "{\"type\":\"subscribed\",\"id\":";
  append_uint(out, id);
  out.append(",\"channels\":[");
  for (std::size_t i = 0; i < grants.size(); ++i) {
    if (i != 0) out.push_back(',');
    append_json_string(out, grants[i].channel);
  }
  out.append("],\"granted\":[");
  for (std::size_t i = 0; i < grants.size(); ++i) {
    const grant& g = grants[i];
    if (i != 0) out.push_back(',');
    out.append("{\"channel\":");
    append_json_string(out, g.channel);
    if (g.interval_ns == 0) {
      out.append(",\"interval_ms\":0,\"max_rate\":null");
    } else {
      char buf[64];
      out.append(",\"interval_ms\":");
      auto [p, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<double>(g.interval_ns) / 1e6);
      out.append(buf, p);
      out.append(",\"max_rate\":");
      auto [p2, ec2] = std::to_chars(buf, buf + sizeof buf, 1e9 / static_cast<double>(g.interval_ns));
      out.append(buf, p2);
      (void)ec;
      (void)ec2;
    }
    if (g.trades) {
      out.append(",\"epoch\":");
      append_uint(out, g.epoch);
      out.append(",\"next_seq\":");
      append_uint(out, g.next_seq);
      out.append(",\"resume\":\"");
      out.append(g.resume);
      out.push_back('"');
    }
    out.push_back('}');
  }
  out.append("]}");
  return out;
}

std::string encode_heartbeat(std::uint64_t ts) {
  std::string out = "{\"type\":\"heartbeat\",\"ts\":";
  append_uint(out, ts);
  out.push_back('}');
  return out;
}

void append_instrument(std::string& out, const instrument_info& in) {
  out.append("{\"symbol\":");
  append_json_string(out, in.symbol);
  out.append(",\"venue\":");
  append_json_string(out, in.venue);
  out.append(",\"price_scale\":");
  append_uint(out, static_cast<std::uint64_t>(in.price_scale));
  out.append(",\"qty_scale\":");
  append_uint(out, static_cast<std::uint64_t>(in.qty_scale));
  out.append(",\"tick_size\":\"");
  append_decimal(out, in.tick_size, in.price_scale);
  out.append("\",\"lot_size\":\"");
  append_decimal(out, in.lot_size, in.qty_scale);
  out.append("\"}");
}

std::string encode_instruments(std::uint64_t id, const std::vector<const instrument_info*>& list) {
  std::string out = "{\"type\":\"instruments\",\"id\":";
  append_uint(out, id);
  out.append(",\"instruments\":[");
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (i != 0) out.push_back(',');
    append_instrument(out, *list[i]);
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

namespace {

template <std::size_t N>
char* put(char* p, const char (&text)[N]) noexcept {
  std::memcpy(p, text, N - 1);
  return p + N - 1;
}

char* put(char* p, std::uint64_t v) noexcept { return std::to_chars(p, p + 20, v).ptr; }

// Nanosecond stamps rendered once per value on each thread. A ticker's stamps are per
// session, but the values are not: the topic's newest stamps, and the oldest pending
// update of every session that one notice dirtied, are the same for the 100 sessions on
// an instrument (ui). A direct-mapped table of 1,024 values; a miss renders and replaces.
struct stamp_text {
  std::uint64_t value = 0;
  std::uint8_t size = 0;
  char text[20];
};
thread_local std::array<stamp_text, 1024> t_stamp_texts{};

// Writes v at p, which must have 20 bytes of room (the entry is copied whole).
char* put_stamp(char* p, std::uint64_t v) noexcept {
  if (v < 1'000'000) return put(p, v); // merged counts, and 0 (unknown)
  stamp_text& e = t_stamp_texts[(v * 0x9E3779B97F4A7C15ull) >> 54];
  if (e.value != v) {
    e.value = v;
    e.size = static_cast<std::uint8_t>(std::to_chars(e.text, e.text + sizeof e.text, v).ptr - e.text);
  }
  std::memcpy(p, e.text, sizeof e.text);
  return p + e.size;
}

} // namespace

// Written in place after one resize: the stamps go out with every update (a ticker's are
// per session), and ten small appends, each with its capacity check, cost about twice
// as much; the values come rendered from the thread's table when it has them.
void append_stamps(std::string& out, std::uint64_t oldest_exch, std::uint64_t oldest_recv, std::uint64_t newest_exch,
                   std::uint64_t newest_recv, std::uint64_t merged) {
  constexpr std::size_t kMax = 5 * 20 + sizeof(",\"ts_exch_oldest\":") + sizeof(",\"ts_recv_oldest\":") +
                               sizeof(",\"ts_exch\":") + sizeof(",\"ts_recv\":") + sizeof(",\"merged\":");
  const std::size_t at = out.size();
  out.resize(at + kMax);
  char* const begin = out.data() + at;
  char* p = begin;
  p = put_stamp(put(p, ",\"ts_exch_oldest\":"), oldest_exch);
  p = put_stamp(put(p, ",\"ts_recv_oldest\":"), oldest_recv);
  p = put_stamp(put(p, ",\"ts_exch\":"), newest_exch);
  p = put_stamp(put(p, ",\"ts_recv\":"), newest_recv);
  p = put_stamp(put(p, ",\"merged\":"), merged);
  out.resize(at + static_cast<std::size_t>(p - begin));
}

void encode_batch_prefix(std::string& out, std::uint64_t ts_send, const batch_stamps& stamps) {
  out.append("{\"type\":\"data\",\"ts_send\":");
  append_uint(out, ts_send);
  append_stamps(out, stamps.oldest_exch_ts, stamps.oldest_recv_ts, stamps.newest_exch_ts, stamps.newest_recv_ts,
                stamps.merged);
  out.append(",\"updates\":[");
}

} // namespace mdgw::protocol
