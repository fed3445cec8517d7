#include "http_handler.hpp"

#include "io_worker.hpp"
#include "protocol.hpp"
#include "tls_fd_stream.hpp"
#include "web_assets.hpp"

#include <charconv>
#include <cstdio>

namespace mdgw {

namespace {

http::response<http::string_body> reply(const http::request<http::string_body>& req, http::status status,
                                        std::string body, std::string_view content_type = "application/json") {
  http::response<http::string_body> res{status, req.version()};
  res.set(http::field::server, "mdgw");
  res.set(http::field::content_type, content_type);
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

std::string error_body(std::string_view msg) {
  std::string out = "{\"error\":";
  protocol::append_json_string(out, msg);
  out.push_back('}');
  return out;
}

std::string health(const http_context& ctx) {
  std::size_t ws = 0;
  std::size_t http_n = 0;
  for (const io_worker* w : ctx.workers) {
    ws += w->ws_connections();
    http_n += w->http_connections();
  }
  const double uptime =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - ctx.started).count();
  char up[32];
  std::snprintf(up, sizeof up, "%.3f", uptime);
  std::string out = "{\"status\":\"ok\",\"uptime_s\":";
  out.append(up);
  // `key` is the JSON before the value: separator, name, colon (and any opening brace).
  const auto field = [&out](std::string_view key, std::uint64_t v) {
    out.append(key);
    protocol::append_uint(out, v);
  };
  field(",\"connections\":{\"http\":", http_n);
  field(",\"ws\":", ws);
  field("},\"io_threads\":", ctx.workers.size());
  // ws/wss frames sent together with io_uring (send_batch.hpp), summed over io threads.
  std::uint64_t submits = 0;
  std::uint64_t batched = 0;
  bool enabled = !ctx.workers.empty();
  const char* why = "";
  for (const io_worker* w : ctx.workers) {
    submits += w->batch().submits();
    batched += w->batch().sends();
    if (!w->batch().enabled_any()) {
      enabled = false;
      why = w->batch().why_disabled();
    }
  }
  out.append(",\"send_batch\":{\"enabled\":");
  out.append(enabled ? "true" : "false");
  if (!enabled) {
    out.append(",\"why\":");
    protocol::append_json_string(out, why);
  }
  field(",\"submits\":", submits);
  field(",\"sends\":", batched);
  out.push_back('}');
  // The server's TLS handshakes by who seals the records to the client, and the
  // KeyUpdates sealed here (tls_fd_stream.hpp).
  const tls_counts tls = tls_counts_now();
  field(",\"tls\":{\"tls13_own_records\":", tls.tls13_own);
  field(",\"tls13_openssl_records\":", tls.tls13_openssl);
  field(",\"tls12\":", tls.tls12);
  field(",\"key_updates\":", tls.key_updates);
  out.push_back('}');
  field(",\"instruments\":", ctx.pub.instrument_count());
  out.append(",\"feeds\":[");
  for (std::size_t i = 0; i < ctx.feeds.size(); ++i) {
    const feed_status st = ctx.feeds[i]->status();
    if (i != 0) out.push_back(',');
    out.append("{\"name\":");
    protocol::append_json_string(out, st.name);
    out.append(",\"state\":");
    protocol::append_json_string(out, st.state);
    field(",\"events\":", st.events);
    field(",\"errors\":", st.errors);
    if (!st.counters.empty()) {
      out.append(",\"counters\":{");
      for (std::size_t k = 0; k < st.counters.size(); ++k) {
        if (k != 0) out.push_back(',');
        protocol::append_json_string(out, st.counters[k].first);
        out.push_back(':');
        protocol::append_uint(out, st.counters[k].second);
      }
      out.push_back('}');
    }
    out.push_back('}');
  }
  field("],\"publication\":{\"wakeups\":", ctx.pub.wakeups());
  field(",\"ring_overflows\":", ctx.pub.overflows());
  out.append("}}");
  return out;
}

std::string instruments(const http_context& ctx) {
  std::string out = "[";
  const std::size_t n = ctx.pub.instrument_count();
  for (std::size_t i = 0; i < n; ++i) {
    const instrument_info& in = ctx.pub.info(static_cast<instrument_id>(i));
    if (i != 0) out.push_back(',');
    protocol::append_instrument(out, in);
  }
  out.push_back(']');
  return out;
}

// Percent-decodes a path segment ("SIM%3AAAPL" → "SIM:AAPL"); nullopt when malformed.
std::optional<std::string> url_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    unsigned v = 0;
    auto [p, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
    if (ec != std::errc{} || p != s.data() + i + 3) return std::nullopt;
    out.push_back(static_cast<char>(v));
    i += 2;
  }
  return out;
}

} // namespace

const web_asset* find_web_asset(std::string_view path) {
  if (path == "/") path = "/index.html";
  // Exact names from a fixed table: "..", "%2e" or a backslash can match nothing.
  for (const web_asset& a : web_assets()) {
    if (a.path == path) return &a;
  }
  return nullptr;
}

http::response<http::string_body> handle_http(const http_context& ctx, const http::request<http::string_body>& req) {
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    return reply(req, http::status::method_not_allowed, error_body("only GET is supported"));
  }
  std::string_view target = req.target();
  std::string_view query;
  if (const auto q = target.find('?'); q != std::string_view::npos) {
    query = target.substr(q + 1);
    target = target.substr(0, q);
  }
  if (const web_asset* asset = find_web_asset(target)) {
    return reply(req, http::status::ok, std::string(asset->body), asset->content_type);
  }
  if (target == "/health") return reply(req, http::status::ok, health(ctx));
  if (target == "/instruments") return reply(req, http::status::ok, instruments(ctx));
  constexpr std::string_view kBook = "/book/";
  constexpr std::string_view kStatus = "/status/";
  const bool is_book = target.starts_with(kBook);
  if (is_book || target.starts_with(kStatus)) {
    auto sym = url_decode(target.substr(is_book ? kBook.size() : kStatus.size()));
    if (!sym) return reply(req, http::status::bad_request, error_body("malformed symbol"));
    auto id = ctx.pub.find(*sym);
    if (!id) return reply(req, http::status::not_found, error_body("unknown symbol"));
    if (!is_book) {
      instrument_state st;
      ctx.pub.read_state(*id, st);
      std::string body;
      protocol::encode_state_http(body, st, ctx.pub.info(*id));
      return reply(req, http::status::ok, std::move(body));
    }
    int depth = static_cast<int>(kMaxDepth);
    if (query.starts_with("depth=")) {
      const std::string_view d = query.substr(6);
      auto [p, ec] = std::from_chars(d.data(), d.data() + d.size(), depth);
      if (ec != std::errc{} || p != d.data() + d.size() || depth < 1 || depth > static_cast<int>(kMaxDepth)) {
        return reply(req, http::status::bad_request, error_body("depth must be an integer in 1..50"));
      }
    }
    auto top = std::make_unique<book_top>();
    ctx.pub.read_top(*id, *top);
    std::string body;
    protocol::encode_book_http(body, *top, depth, ctx.pub.info(*id));
    return reply(req, http::status::ok, std::move(body));
  }
  return reply(req, http::status::not_found, error_body("not found"));
}

} // namespace mdgw
