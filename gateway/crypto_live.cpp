#include "crypto_live.hpp"

#include "net.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cctype>
#include <atomic>
#include <charconv>
#include <cstdio>
#include <exception>
#include <functional>
#include <random>
#include <stdexcept>
#include <vector>

namespace mdgw {

namespace {

using steady = std::chrono::steady_clock;
template <class T>
using awaitable = net::awaitable<T>;

constexpr std::size_t kMaxFrameBytes = 64U << 20;   // a Kraken 1000-level snapshot is ~100 KiB
constexpr std::size_t kMaxRestBytes = 64U << 20;
constexpr int kMaxRejectedSnapshots = 3;

void append_json_list(std::string& out, const std::vector<std::string>& items) {
  out.push_back('[');
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i != 0) out.push_back(',');
    out.push_back('"');
    for (const char c : items[i]) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
  }
  out.push_back(']');
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// The target of `u` without a trailing '/' (so a path can be appended).
std::string base_path(const upstream_url& u) {
  std::string p = u.target;
  while (!p.empty() && p.back() == '/') p.pop_back();
  return p;
}

} // namespace

const char* venue_name(crypto_venue v) noexcept {
  switch (v) {
  case crypto_venue::kraken: return "kraken";
  case crypto_venue::binance: return "binance";
  case crypto_venue::coinbase: return "coinbase";
  }
  return "?";
}

upstream_url parse_upstream_url(std::string_view url, bool websocket) {
  upstream_url out;
  const std::string_view plain = websocket ? "ws://" : "http://";
  const std::string_view secure = websocket ? "wss://" : "https://";
  std::string_view rest;
  if (url.starts_with(secure)) {
    out.tls = true;
    rest = url.substr(secure.size());
  } else if (url.starts_with(plain)) {
    rest = url.substr(plain.size());
  } else {
    throw std::invalid_argument("'" + std::string(url) + "' is not a " + std::string(plain) + " or " +
                                std::string(secure) + " URL");
  }
  const auto slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (out.target.front() == '?') out.target.insert(0, "/");
  std::string_view port;
  if (authority.starts_with('[')) { // [v6]:port
    const auto close = authority.find(']');
    if (close == std::string_view::npos) throw std::invalid_argument("'" + std::string(url) + "': unclosed '['");
    out.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') throw std::invalid_argument("'" + std::string(url) + "': bad port");
      port = authority.substr(close + 2);
    }
  } else {
    const auto colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) throw std::invalid_argument("'" + std::string(url) + "': empty port");
    }
  }
  if (out.host.empty()) throw std::invalid_argument("'" + std::string(url) + "': no host");
  if (port.empty()) {
    out.port = out.tls ? "443" : "80";
  } else {
    unsigned p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc{} || end != port.data() + port.size() || p == 0 || p > 65535) {
      throw std::invalid_argument("'" + std::string(url) + "': bad port '" + std::string(port) + "'");
    }
    out.port = std::string(port);
  }
  return out;
}

struct live_source::impl {
  explicit impl(live_options o)
      : opt(std::move(o)), ws_url(parse_upstream_url(opt.url, true)), tls(ssl::context::tls_client) {
    if (opt.venue == crypto_venue::binance) rest_url = parse_upstream_url(opt.rest_url, false);
    if (opt.verify_peer) {
      tls.set_default_verify_paths();
      if (!opt.ca_file.empty()) tls.load_verify_file(opt.ca_file);
      tls.set_verify_mode(ssl::verify_peer);
    } else {
      tls.set_verify_mode(ssl::verify_none);
    }
    std::random_device rd;
    rng.seed((static_cast<std::uint64_t>(rd()) << 32) ^ rd());
  }

  // --- the connection loop ---
  awaitable<void> main_loop();
  template <class Stream>
  awaitable<std::string> session(std::uint64_t& frames);
  template <class Stream>
  awaitable<bool> connect(Stream& s, const upstream_url& u, error_code& ec);
  awaitable<void> rest_loop(std::uint64_t generation);
  template <class Stream>
  awaitable<bool> http_get(const std::string& target, std::string& body, error_code& ec);
  awaitable<void> pause(std::chrono::milliseconds d);

  std::vector<std::string> subscriptions() const;
  std::string stream_target() const;
  void log(const std::string& what) const {
    std::fprintf(stderr, "mdgw: %s upstream %s: %s\n", venue_name(opt.venue), opt.url.c_str(), what.c_str());
  }

  live_options opt;
  upstream_url ws_url;
  upstream_url rest_url;
  ssl::context tls;
  std::mt19937_64 rng;
  std::atomic<std::uint64_t> connects{0};

  // Feed thread only (run() and the coroutines it runs).
  crypto::crypto_source_host* host = nullptr;
  net::io_context* ioc = nullptr;
  std::uint64_t generation = 0;       // sessions started; a REST loop serves one
  bool reconnect_wanted = false;      // a resync that needs a new connection
  std::function<void()> abort_session; // closes the current connection's socket
  std::vector<std::uint8_t> snapshot_wanted; // Binance, by instrument
  std::vector<int> rejected;                 // Binance: consecutive rejected snapshots
  std::uint64_t rest_owner = 0; // generation whose REST loop runs (0: none)
  bool resync_seen = false;
};

std::vector<std::string> live_source::impl::subscriptions() const {
  const crypto::crypto_handler& h = host->handler();
  std::vector<std::string> syms;
  for (std::size_t i = 0; i < h.instrument_count(); ++i) syms.push_back(h.instrument(i).venue_symbol);
  std::vector<std::string> out;
  switch (opt.venue) {
  case crypto_venue::kraken: {
    std::string book = "{\"event\":\"subscribe\",\"pair\":";
    append_json_list(book, syms);
    std::string trade = book;
    book += ",\"subscription\":{\"name\":\"book\",\"depth\":" + std::to_string(opt.kraken_depth) + "}}";
    trade += ",\"subscription\":{\"name\":\"trade\"}}";
    out.push_back(std::move(book));
    out.push_back(std::move(trade));
    break;
  }
  case crypto_venue::coinbase: {
    std::string sub = "{\"type\":\"subscribe\",\"product_ids\":";
    append_json_list(sub, syms);
    sub += ",\"channels\":[\"level2\",\"ticker\",\"matches\",\"heartbeat\"]}";
    out.push_back(std::move(sub));
    break;
  }
  case crypto_venue::binance: break; // the URL names the streams
  }
  return out;
}

std::string live_source::impl::stream_target() const {
  if (opt.venue != crypto_venue::binance) return ws_url.target;
  const crypto::crypto_handler& h = host->handler();
  std::string t = base_path(ws_url) + "/stream?streams=";
  for (std::size_t i = 0; i < h.instrument_count(); ++i) {
    const std::string s = lower(h.instrument(i).venue_symbol);
    if (i != 0) t.push_back('/');
    t += s + "@depth@100ms/" + s + "@bookTicker/" + s + "@aggTrade";
  }
  return t;
}

awaitable<void> live_source::impl::pause(std::chrono::milliseconds d) {
  net::steady_timer t(*ioc, d);
  error_code ec;
  co_await t.async_wait(net::redirect_error(net::use_awaitable, ec));
}

template <class Stream>
awaitable<bool> live_source::impl::connect(Stream& s, const upstream_url& u, error_code& ec) {
  tcp::resolver resolver(*ioc);
  const auto results = co_await resolver.async_resolve(u.host, u.port, net::redirect_error(net::use_awaitable, ec));
  if (ec) co_return false;
  auto& low = beast::get_lowest_layer(s);
  low.expires_after(opt.timeout);
  co_await low.async_connect(results, net::redirect_error(net::use_awaitable, ec));
  if (ec) co_return false;
  low.socket().set_option(tcp::no_delay(true), ec);
  if constexpr (std::is_same_v<Stream, tls_client_stream>) {
    if (SSL_set_tlsext_host_name(s.native_handle(), u.host.c_str()) != 1) {
      ec = error_code(static_cast<int>(::ERR_get_error()), net::error::get_ssl_category());
      co_return false;
    }
    if (opt.verify_peer) s.set_verify_callback(ssl::host_name_verification(u.host));
    co_await s.async_handshake(ssl::stream_base::client, net::redirect_error(net::use_awaitable, ec));
    if (ec) co_return false;
  }
  low.expires_never();
  co_return true;
}

template <class Stream>
awaitable<std::string> live_source::impl::session(std::uint64_t& frames) {
  struct state {
    state(net::io_context& ioc, ssl::context& ctx) : ws(make(ioc, ctx)), watchdog(ioc) {}
    static websocket::stream<Stream> make(net::io_context& ioc, ssl::context& ctx) {
      if constexpr (std::is_same_v<Stream, tls_client_stream>) {
        return websocket::stream<Stream>(ioc, ctx);
      } else {
        (void)ctx;
        return websocket::stream<Stream>(ioc);
      }
    }
    websocket::stream<Stream> ws;
    net::steady_timer watchdog;
    steady::time_point last_frame = steady::now();
    bool done = false;
  };
  auto st = std::make_shared<state>(*ioc, tls);
  auto& ws = st->ws;
  error_code ec;
  if (!co_await connect(ws.next_layer(), ws_url, ec)) co_return "connect failed: " + ec.message();
  ws.set_option(websocket::stream_base::timeout{opt.timeout, opt.timeout, true});
  ws.set_option(websocket::stream_base::decorator(
      [](websocket::request_type& req) { req.set(http::field::user_agent, "mdgw"); }));
  ws.read_message_max(kMaxFrameBytes);
  const std::string host_header = ws_url.host + ":" + ws_url.port;
  co_await ws.async_handshake(host_header, stream_target(), net::redirect_error(net::use_awaitable, ec));
  if (ec) co_return "handshake failed: " + ec.message();

  const std::uint64_t gen = ++generation;
  if (connects.fetch_add(1, std::memory_order_relaxed) != 0) log("reconnected");
  if (opt.venue == crypto_venue::binance) {
    // Before on_connect: it may already ask for snapshots (resync()).
    snapshot_wanted.assign(host->handler().instrument_count(), 1);
    rejected.assign(host->handler().instrument_count(), 0);
  }
  host->connected();
  reconnect_wanted = false; // this connection's subscriptions bring the snapshots
  host->end_batch();
  abort_session = [weak = std::weak_ptr<state>(st)] {
    if (auto s = weak.lock()) beast::get_lowest_layer(s->ws).socket().close();
  };
  for (const std::string& msg : subscriptions()) {
    co_await ws.async_write(net::buffer(msg), net::redirect_error(net::use_awaitable, ec));
    if (ec) co_return "subscribe failed: " + ec.message();
  }
  if (opt.venue == crypto_venue::binance) net::co_spawn(*ioc, rest_loop(gen), net::detached);

  // Watchdog: no frame for the timeout -> the upstream is dead.
  net::co_spawn(
      *ioc,
      [st, timeout = opt.timeout]() -> awaitable<void> {
        while (!st->done) {
          st->watchdog.expires_at(st->last_frame + timeout);
          error_code wec;
          co_await st->watchdog.async_wait(net::redirect_error(net::use_awaitable, wec));
          if (st->done) co_return;
          if (steady::now() - st->last_frame >= timeout) {
            beast::get_lowest_layer(st->ws).socket().close();
            co_return;
          }
        }
      },
      net::detached);

  beast::flat_buffer buf;
  std::string why;
  for (;;) {
    buf.consume(buf.size());
    co_await ws.async_read(buf, net::redirect_error(net::use_awaitable, ec));
    if (ec) {
      why = steady::now() - st->last_frame >= opt.timeout ? "no frame for " + std::to_string(opt.timeout.count()) + " ms"
                                                          : "read: " + ec.message();
      break;
    }
    st->last_frame = steady::now();
    ++frames;
    // The parser may read kFramePadding bytes past the frame: make them exist.
    (void)buf.prepare(crypto::kFramePadding);
    const auto data = buf.cdata();
    host->frame({static_cast<const char*>(data.data()), data.size(), realtime_ns()});
    host->end_batch();
    if (reconnect_wanted) {
      why = "resynchronizing";
      // A polite close, but a peer that does not answer it gets 1 s, not the timeout.
      const auto close_wait = std::min<std::chrono::milliseconds>(opt.timeout, std::chrono::seconds(1));
      ws.set_option(websocket::stream_base::timeout{close_wait, opt.timeout, false});
      co_await ws.async_close(websocket::close_code::normal, net::redirect_error(net::use_awaitable, ec));
      break;
    }
    if (opt.venue == crypto_venue::binance && rest_owner != gen &&
        std::find(snapshot_wanted.begin(), snapshot_wanted.end(), 1) != snapshot_wanted.end()) {
      net::co_spawn(*ioc, rest_loop(gen), net::detached);
    }
  }
  ++generation; // the REST loop of this session stops delivering
  abort_session = nullptr;
  st->done = true;
  st->watchdog.cancel();
  host->disconnected();
  co_return why;
}

template <class Stream>
awaitable<bool> live_source::impl::http_get(const std::string& target, std::string& body, error_code& ec) {
  std::unique_ptr<Stream> s;
  if constexpr (std::is_same_v<Stream, tls_client_stream>) {
    s = std::make_unique<Stream>(*ioc, tls);
  } else {
    s = std::make_unique<Stream>(*ioc);
  }
  if (!co_await connect(*s, rest_url, ec)) co_return false;
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, rest_url.host);
  req.set(http::field::user_agent, "mdgw");
  beast::get_lowest_layer(*s).expires_after(opt.timeout);
  co_await http::async_write(*s, req, net::redirect_error(net::use_awaitable, ec));
  if (ec) co_return false;
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxRestBytes);
  co_await http::async_read(*s, buf, parser, net::redirect_error(net::use_awaitable, ec));
  if (ec) co_return false;
  beast::get_lowest_layer(*s).socket().shutdown(tcp::socket::shutdown_both, ec);
  ec = {};
  if (parser.get().result() != http::status::ok) {
    ec = make_error_code(boost::system::errc::protocol_error);
    co_return false;
  }
  body = std::move(parser.get().body());
  co_return true;
}

// Fetches the depth snapshot of every instrument that wants one, one at a time, while
// the session that started it lasts. A failed fetch is retried after a backoff.
awaitable<void> live_source::impl::rest_loop(std::uint64_t gen) {
  if (rest_owner == gen) co_return;
  rest_owner = gen; // a loop of an older session may still be in flight: it stops delivering
  crypto::frame_buffer fb;
  std::chrono::milliseconds retry = opt.backoff_min;
  while (gen == generation) {
    const auto it = std::find(snapshot_wanted.begin(), snapshot_wanted.end(), 1);
    if (it == snapshot_wanted.end()) break;
    const auto index = static_cast<std::size_t>(it - snapshot_wanted.begin());
    *it = 0;
    const std::string target = base_path(rest_url) + "/api/v3/depth?symbol=" +
                               host->handler().instrument(index).venue_symbol + "&limit=1000";
    std::string body;
    error_code ec;
    bool ok = false;
    if (rest_url.tls) {
      ok = co_await http_get<tls_client_stream>(target, body, ec);
    } else {
      ok = co_await http_get<plain_stream>(target, body, ec);
    }
    if (gen != generation) break;
    if (!ok) {
      log("GET " + target + " failed: " + ec.message());
      snapshot_wanted[index] = 1;
      co_await pause(retry);
      retry = std::min(retry * 2, opt.backoff_max);
      continue;
    }
    retry = opt.backoff_min;
    fb.assign(body, realtime_ns());
    resync_seen = false;
    host->rest(target, fb.frame());
    host->end_batch();
    if (!resync_seen) {
      rejected[index] = 0;
    } else if (++rejected[index] >= kMaxRejectedSnapshots) {
      log("snapshot of " + host->handler().instrument(index).venue_symbol + " rejected " +
          std::to_string(rejected[index]) + " times: reconnecting");
      reconnect_wanted = true;
      if (abort_session) abort_session();
      break;
    } else {
      co_await pause(opt.backoff_min * (1 << rejected[index]));
    }
  }
  if (rest_owner == gen) rest_owner = 0;
}

awaitable<void> live_source::impl::main_loop() {
  std::chrono::milliseconds backoff = opt.backoff_min;
  for (;;) {
    std::uint64_t frames = 0;
    // (No co_await inside ?: here: gcc 12 miscompiles a temporary's lifetime there.)
    std::string why;
    if (ws_url.tls) {
      why = co_await session<tls_client_stream>(frames);
    } else {
      why = co_await session<plain_stream>(frames);
    }
    // A connection that worked resets the backoff, unless it ended to resynchronize: a
    // venue whose books keep failing their checks is not reconnected to in a tight loop.
    if (frames > 0 && !reconnect_wanted) backoff = opt.backoff_min;
    std::uniform_int_distribution<std::int64_t> jitter(backoff.count() / 2, backoff.count());
    const std::chrono::milliseconds wait(jitter(rng));
    log(why + "; reconnecting in " + std::to_string(wait.count()) + " ms");
    co_await pause(wait);
    backoff = std::min(backoff * 2, opt.backoff_max);
  }
}

live_source::live_source(live_options options) : impl_(std::make_unique<impl>(std::move(options))) {}

live_source::~live_source() = default;

bool live_source::run(crypto::crypto_source_host& host, const std::stop_token& stop) {
  net::io_context ioc{1};
  impl_->host = &host;
  impl_->ioc = &ioc;
  std::stop_callback on_stop(stop, [&ioc] { ioc.stop(); });
  // The loop reports every I/O error as a value; only a bug or bad_alloc can throw. It is
  // logged (a silently dead feed would show only as stale books).
  net::co_spawn(ioc, impl_->main_loop(), [this](const std::exception_ptr& e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      impl_->log(std::string("client stopped: ") + x.what());
    } catch (...) {
      impl_->log("client stopped: unknown exception");
    }
  });
  ioc.run();
  impl_->abort_session = nullptr;
  return false; // a live feed never ends by itself
}

void live_source::resync(std::size_t index, crypto::resync_reason why) {
  impl& m = *impl_;
  m.resync_seen = true;
  if (m.opt.venue == crypto_venue::binance && index < m.snapshot_wanted.size()) {
    m.snapshot_wanted[index] = 1; // the session (or the running REST loop) fetches it
    (void)why;
    return;
  }
  m.reconnect_wanted = true;
}

std::uint64_t live_source::reconnects() const noexcept {
  const std::uint64_t c = impl_->connects.load(std::memory_order_relaxed);
  return c > 0 ? c - 1 : 0;
}

} // namespace mdgw
