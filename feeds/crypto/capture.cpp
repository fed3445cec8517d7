#include "capture.hpp"

#include "decimal.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <tuple>

namespace mdgw::crypto {

namespace {

std::unique_ptr<std::string> read_padded(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("capture: cannot open " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw std::runtime_error("capture: cannot read " + path);
  std::string text = std::move(ss).str();
  text.append(kFramePadding, ' ');
  return std::make_unique<std::string>(std::move(text));
}

// "<ts>: <rest>" -> ts and rest.
bool split_ts(std::string_view s, std::uint64_t& ts, std::string_view& rest) noexcept {
  const auto colon = s.find(": ");
  if (colon == std::string_view::npos) return false;
  if (!parse_epoch_seconds(s.substr(0, colon), ts)) return false;
  rest = s.substr(colon + 2);
  return true;
}

template <class OnLine>
void for_each_line(std::string_view text, OnLine&& on_line) {
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    on_line(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

} // namespace

ws_line parse_ws_line(std::string_view line) noexcept {
  ws_line out;
  if (line.empty()) {
    out.kind = line_kind::blank;
    return out;
  }
  if (line.starts_with("wss://") || line.starts_with("ws://")) {
    const auto sp = line.find(' ');
    if (sp == std::string_view::npos) return out;
    out.url = line.substr(0, sp);
    const std::string_view rest = line.substr(sp + 1);
    if (rest.starts_with("<-> ")) {
      if (!parse_epoch_seconds(rest.substr(4), out.ts_ns)) return out;
      out.kind = line_kind::connect;
    } else if (rest.starts_with("<- ")) {
      if (!split_ts(rest.substr(3), out.ts_ns, out.payload)) return out;
      out.kind = line_kind::sent;
    }
    return out;
  }
  if (!split_ts(line, out.ts_ns, out.payload) || out.payload.empty()) return out;
  out.kind = line_kind::frame;
  return out;
}

std::optional<rest_line> parse_rest_line(std::string_view line) noexcept {
  const auto arrow = line.find(" -> ");
  if (arrow == std::string_view::npos) return std::nullopt;
  rest_line out;
  out.url = line.substr(0, arrow);
  if (!split_ts(line.substr(arrow + 4), out.ts_ns, out.payload) || out.payload.empty()) return std::nullopt;
  return out;
}

capture capture::load(const std::string& ws_path, const std::string& rest_path) {
  capture c;
  c.ws_text_ = read_padded(ws_path);
  std::vector<capture_record> rest;
  if (!rest_path.empty()) {
    c.rest_text_ = read_padded(rest_path);
    const std::string_view text(c.rest_text_->data(), c.rest_text_->size() - kFramePadding);
    for_each_line(text, [&](std::string_view line) {
      if (line.empty()) return;
      const auto r = parse_rest_line(line);
      // A REST file is configuration-like input to a replay: a bad line is an error.
      if (!r) throw std::runtime_error("capture: malformed line in " + rest_path);
      capture_record rec;
      rec.what = capture_record::kind::rest;
      rec.ts_ns = r->ts_ns;
      rec.url = r->url;
      rec.body = {r->payload.data(), r->payload.size(), r->ts_ns};
      rest.push_back(rec);
    });
    std::stable_sort(rest.begin(), rest.end(),
                     [](const capture_record& a, const capture_record& b) { return a.ts_ns < b.ts_ns; });
  }
  std::size_t next_rest = 0;
  const std::string_view text(c.ws_text_->data(), c.ws_text_->size() - kFramePadding);
  for_each_line(text, [&](std::string_view line) {
    const ws_line l = parse_ws_line(line);
    switch (l.kind) {
    case line_kind::blank: return;
    case line_kind::sent: ++c.sent_; return;
    case line_kind::malformed: ++c.malformed_; return;
    case line_kind::connect: {
      capture_record rec;
      rec.what = capture_record::kind::connect;
      rec.ts_ns = l.ts_ns;
      rec.url = l.url;
      c.records_.push_back(rec);
      return;
    }
    case line_kind::frame: {
      while (next_rest < rest.size() && rest[next_rest].ts_ns <= l.ts_ns) c.records_.push_back(rest[next_rest++]);
      capture_record rec;
      rec.what = capture_record::kind::frame;
      rec.ts_ns = l.ts_ns;
      rec.body = {l.payload.data(), l.payload.size(), l.ts_ns};
      c.records_.push_back(rec);
      ++c.frames_;
      return;
    }
    }
  });
  while (next_rest < rest.size()) c.records_.push_back(rest[next_rest++]);
  return c;
}

static_assert(static_cast<std::size_t>(frame_status::unknown_instrument) + 1 ==
                  std::tuple_size_v<decltype(replay_stats::by_status)>,
              "one counter per frame_status");

replay_stats replay(const capture& c, crypto_handler& handler, const replay_options& options) {
  using clock = std::chrono::steady_clock;
  replay_stats stats;
  const auto t0 = clock::now();
  const std::uint64_t ts0 = c.records().empty() ? 0 : c.records().front().ts_ns;
  for (const capture_record& r : c.records()) {
    if (options.stop != nullptr && options.stop->load(std::memory_order_relaxed)) break;
    if (options.speed > 0 && r.ts_ns > ts0) {
      // Recorded pace: sleep only when ahead of the schedule (timestamps jitter back).
      const auto due = t0 + std::chrono::nanoseconds(static_cast<std::int64_t>(
                                static_cast<double>(r.ts_ns - ts0) / options.speed));
      if (due > clock::now()) std::this_thread::sleep_until(due);
    }
    ++stats.records;
    switch (r.what) {
    case capture_record::kind::connect:
      ++stats.connects;
      handler.on_connect();
      break;
    case capture_record::kind::rest:
      ++stats.by_status[static_cast<std::size_t>(handler.on_rest(r.url, r.body))];
      break;
    case capture_record::kind::frame:
      ++stats.by_status[static_cast<std::size_t>(handler.on_frame(r.body))];
      break;
    }
  }
  return stats;
}

} // namespace mdgw::crypto
