#include "book_codec.hpp"

#include "protocol.hpp"

#include <zlib.h>

#include <algorithm>

namespace mdgw {

namespace {

void append_level_text(std::string& out, const price_level& l, const instrument_info& info) {
  protocol::append_decimal(out, l.price, info.price_scale);
  out.push_back(':');
  protocol::append_decimal(out, l.qty, info.qty_scale);
}

void append_side_text(std::string& out, const price_level* levels, std::size_t n, const instrument_info& info) {
  for (std::size_t i = 0; i < n; ++i) {
    if (i != 0) out.push_back(',');
    append_level_text(out, levels[i], info);
  }
}

void append_level(std::string& out, const price_level& l, const instrument_info& info) {
  out.append("[\"");
  protocol::append_decimal(out, l.price, info.price_scale);
  out.append("\",\"");
  protocol::append_decimal(out, l.qty, info.qty_scale);
  out.append("\",");
  protocol::append_uint(out, l.orders);
  out.push_back(']');
}

void append_side_delta(std::string& out, side s, const price_level* from, std::size_t nf, const price_level* to,
                       std::size_t nt, const instrument_info& info) {
  out.push_back('[');
  bool first = true;
  delta_levels(s, from, nf, to, nt, [&](const price_level& l) {
    if (!first) out.push_back(',');
    first = false;
    append_level(out, l, info);
  });
  out.push_back(']');
}

void append_side(std::string& out, const price_level* levels, std::size_t n, const instrument_info& info) {
  out.push_back('[');
  for (std::size_t i = 0; i < n; ++i) {
    if (i != 0) out.push_back(',');
    append_level(out, levels[i], info);
  }
  out.push_back(']');
}

} // namespace

std::uint32_t book_checksum(const price_level* bids, std::size_t n_bids, const price_level* asks, std::size_t n_asks,
                            const instrument_info& info, std::string& scratch) {
  scratch.clear();
  append_side_text(scratch, bids, n_bids, info);
  scratch.push_back('|');
  append_side_text(scratch, asks, n_asks, info);
  return static_cast<std::uint32_t>(
      ::crc32(0L, reinterpret_cast<const Bytef*>(scratch.data()), static_cast<uInt>(scratch.size())));
}

const book_record* book_history::find(std::uint64_t rec) const noexcept {
  if (rec == 0 || rec >= next_ || next_ - rec > count_) return nullptr;
  return &ring_[rec % kCapacity];
}

void book_history::commit() noexcept {
  ring_[next_ % kCapacity].rec = next_;
  ++next_;
  count_ = std::min(count_ + 1, kCapacity);
}

void encode_book_message(std::string& out, std::string_view channel, const book_record* from, const book_record& to,
                         const book_message_stamps& stamps, const instrument_info& info) {
  out.append("{\"channel\":");
  protocol::append_json_string(out, channel);
  out.append(from == nullptr ? ",\"kind\":\"snapshot\"" : ",\"kind\":\"delta\",\"prev\":");
  if (from != nullptr) protocol::append_uint(out, from->version);
  out.append(",\"seq\":");
  protocol::append_uint(out, to.version);
  out.append(",\"checksum\":");
  protocol::append_uint(out, to.checksum);
  out.append(",\"quality\":\"");
  out.append(to_string(to.quality));
  out.push_back('"');
  protocol::append_stamps(out, stamps.first_exch_ts, stamps.first_recv_ts, to.exch_ts, to.recv_ts, stamps.merged);
  out.append(",\"bids\":");
  if (from == nullptr) append_side(out, to.bids(), to.n_bids, info);
  else append_side_delta(out, side::bid, from->bids(), from->n_bids, to.bids(), to.n_bids, info);
  out.append(",\"asks\":");
  if (from == nullptr) append_side(out, to.asks(), to.n_asks, info);
  else append_side_delta(out, side::ask, from->asks(), from->n_asks, to.asks(), to.n_asks, info);
  out.push_back('}');
}

} // namespace mdgw
