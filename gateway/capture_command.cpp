// `mdgw capture info FILE` prints a recording's header, instruments, batch and event
// counts and time span. `mdgw capture dump FILE [--depth N]` writes one JSON line per
// event in file order, prices and quantities as the JSON protocol formats them, books as
// their top N levels after the change (docs/recording.md): what a server that is not
// mdgw (the benchmark's baseline) reads to replay the same updates.
//
// Exit status: 0, also for a truncated tail (everything before it is printed and the
// truncation reported on stderr); 1 for a corrupt record (likewise, after the good part)
// or a file that is not a recording; 2 for bad arguments.
#include "capture_command.hpp"

#include "capture_reader.hpp"
#include "protocol.hpp"

#include <charconv>
#include <cstdio>
#include <ctime>
#include <exception>
#include <string>
#include <unordered_map>

namespace mdgw {

namespace {

using namespace recording;

constexpr const char* kUsage =
    "usage: mdgw capture info FILE             header, instruments, batches, events by kind, time span\n"
    "       mdgw capture dump FILE [--depth N] one JSON line per event (book depth N, default 10)\n";

std::string utc_text(std::uint64_t ns) {
  const auto secs = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<unsigned>(ns % 1'000'000'000 / 1'000'000));
  return buf;
}

int info(const std::string& path) {
  const capture_summary s = scan_capture(path);
  std::printf("file: %s (%llu bytes)\n", path.c_str(), static_cast<unsigned long long>(s.bytes));
  std::printf("format: %u, created %s by mdgw %s\n", s.header.format_version, utc_text(s.header.created_ns).c_str(),
              s.header.mdgw_version.c_str());
  std::printf("instruments: %zu\n", s.instruments.size());
  for (const instrument_info& in : s.instruments) {
    std::printf("  %s venue=%s price_scale=%d qty_scale=%d tick_size=%lld lot_size=%lld\n", in.symbol.c_str(),
                in.venue.c_str(), in.price_scale, in.qty_scale, static_cast<long long>(in.tick_size),
                static_cast<long long>(in.lot_size));
  }
  std::printf("batches: %llu\n", static_cast<unsigned long long>(s.batches));
  std::printf("events: %llu (instrument %zu, book %llu, trade %llu, state %llu)\n",
              static_cast<unsigned long long>(s.instruments.size() + s.books + s.trades + s.states), s.instruments.size(),
              static_cast<unsigned long long>(s.books), static_cast<unsigned long long>(s.trades),
              static_cast<unsigned long long>(s.states));
  std::printf("source updates: %llu (book changes + trades)\n", static_cast<unsigned long long>(s.books + s.trades));
  std::printf("book levels recorded: %llu\n", static_cast<unsigned long long>(s.levels));
  const std::uint64_t span = s.last_recv_ts - s.first_recv_ts;
  std::printf("time span: %.6f s (%s to %s)\n", static_cast<double>(span) / 1e9, utc_text(s.first_recv_ts).c_str(),
              utc_text(s.last_recv_ts).c_str());
  if (s.end == capture_reader::status::end) {
    std::printf("end: complete\n");
    return 0;
  }
  std::printf("end: %s at byte offset %llu\n", to_string(s.end), static_cast<unsigned long long>(s.error_offset));
  std::fprintf(stderr, "mdgw capture: %s\n", s.error.c_str());
  return s.end == capture_reader::status::truncated ? 0 : 1;
}

struct dump_instrument {
  instrument_info info;
  level_book book{128};
};

void append_levels(std::string& out, const level_book& book, side s, std::size_t depth, const instrument_info& in) {
  out.push_back('[');
  const std::size_t n = std::min(depth, book.depth(s));
  for (std::size_t k = 0; k < n; ++k) {
    const price_level& l = book.level(s, k);
    if (k != 0) out.push_back(',');
    out.append("[\"");
    protocol::append_decimal(out, l.price, in.price_scale);
    out.append("\",\"");
    protocol::append_decimal(out, l.qty, in.qty_scale);
    out.append("\"]");
  }
  out.push_back(']');
}

int dump(const std::string& path, std::size_t depth) {
  capture_reader r(path);
  std::unordered_map<instrument_id, dump_instrument> instruments;
  recorded_batch b;
  std::string line;
  std::uint64_t batch_index = 0;
  std::uint64_t first_ts = 0;
  capture_reader::status st;
  while ((st = r.next(b)) == capture_reader::status::ok) {
    if (batch_index == 0) first_ts = b.recv_ts;
    const auto head = [&](const char* kind, const instrument_info& in) {
      line = "{\"kind\":\"";
      line.append(kind);
      line.append("\",\"batch\":");
      protocol::append_uint(line, batch_index);
      line.append(",\"t_ns\":");
      protocol::append_uint(line, b.recv_ts - first_ts);
      line.append(",\"symbol\":");
      protocol::append_json_string(line, in.symbol);
    };
    for (const recorded_event& e : b.events) {
      switch (e.what) {
      case recorded_event::kind::instrument: {
        const instrument_info& in = b.instruments[e.index];
        instruments[in.id].info = in;
        line = "{\"kind\":\"instrument\",\"symbol\":";
        protocol::append_json_string(line, in.symbol);
        line.append(",\"venue\":");
        protocol::append_json_string(line, in.venue);
        line.append(",\"price_scale\":");
        line.append(std::to_string(in.price_scale));
        line.append(",\"qty_scale\":");
        line.append(std::to_string(in.qty_scale));
        line.push_back('}');
        break;
      }
      case recorded_event::kind::book: {
        const recorded_book& bk = b.books[e.index];
        dump_instrument& d = instruments[bk.instrument]; // the reader checked it was announced
        (void)apply_levels(d.book, std::span(b.levels).subspan(bk.first_level, bk.n_levels));
        head("book", d.info);
        line.append(",\"version\":");
        protocol::append_uint(line, bk.version);
        line.append(",\"exch_ts\":");
        protocol::append_uint(line, bk.exch_ts);
        line.append(",\"bids\":");
        append_levels(line, d.book, side::bid, depth, d.info);
        line.append(",\"asks\":");
        append_levels(line, d.book, side::ask, depth, d.info);
        line.push_back('}');
        break;
      }
      case recorded_event::kind::trade: {
        const recorded_trade& t = b.trades[e.index];
        const instrument_info& in = instruments[t.instrument].info;
        head("trade", in);
        line.append(t.aggressor == side::bid ? ",\"side\":\"buy\",\"price\":\"" : ",\"side\":\"sell\",\"price\":\"");
        protocol::append_decimal(line, t.price, in.price_scale);
        line.append("\",\"qty\":\"");
        protocol::append_decimal(line, t.qty, in.qty_scale);
        line.append("\",\"exch_ts\":");
        protocol::append_uint(line, t.exch_ts);
        line.push_back('}');
        break;
      }
      case recorded_event::kind::state: {
        const recorded_state& rs = b.states[e.index];
        const instrument_info& in = instruments[rs.instrument].info;
        head("state", in);
        // The trading and imbalance fields of GET /status/<SYM> (docs/protocol.md), then
        // the state's version and exchange time.
        std::string body;
        protocol::encode_state_http(body, rs.state, in);
        const auto fields = body.find(",\"trading_state\":");
        if (fields != std::string::npos) line.append(body, fields, body.size() - 1 - fields);
        line.append(",\"version\":");
        protocol::append_uint(line, rs.state.version);
        line.append(",\"exch_ts\":");
        protocol::append_uint(line, rs.state.exch_ts);
        line.push_back('}');
        break;
      }
      }
      line.push_back('\n');
      std::fwrite(line.data(), 1, line.size(), stdout);
    }
    ++batch_index;
  }
  std::fflush(stdout);
  if (st == capture_reader::status::end) return 0;
  std::fprintf(stderr, "mdgw capture: %s\n", r.error().c_str());
  return st == capture_reader::status::truncated ? 0 : 1;
}

} // namespace

int run_capture_command(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  const std::string& cmd = args[0];
  std::string file;
  std::size_t depth = 10;
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (cmd == "dump" && args[i] == "--depth" && i + 1 < args.size()) {
      const std::string& v = args[++i];
      std::size_t d = 0;
      const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
      if (ec != std::errc{} || p != v.data() + v.size() || d < 1 || d > kMaxDepth) {
        std::fprintf(stderr, "mdgw capture: invalid value '%s' for --depth: expected an integer in 1..%zu\n%s",
                     v.c_str(), kMaxDepth, kUsage);
        return 2;
      }
      depth = d;
    } else if (file.empty() && args[i].rfind("--", 0) != 0) {
      file = args[i];
    } else {
      std::fprintf(stderr, "mdgw capture: unexpected argument '%s'\n%s", args[i].c_str(), kUsage);
      return 2;
    }
  }
  if ((cmd != "info" && cmd != "dump") || file.empty()) {
    std::fprintf(stderr, "mdgw capture: expected info or dump and a FILE\n%s", kUsage);
    return 2;
  }
  try {
    return cmd == "info" ? info(file) : dump(file, depth);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mdgw capture: %s\n", e.what());
    return 1;
  }
}

} // namespace mdgw
