#include "crypto_handler.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace mdgw::crypto {

namespace {

class null_sink final : public crypto_sink {
public:
  void on_book(std::size_t) override {}
  void on_trade(std::size_t, const trade_print&) override {}
  void on_resync(std::size_t, resync_reason) override {}
};

null_sink g_null_sink; // stateless; shared by every handler without a sink

} // namespace

const char* to_string(frame_status s) noexcept {
  switch (s) {
  case frame_status::ok: return "ok";
  case frame_status::ignored: return "ignored";
  case frame_status::buffered: return "buffered";
  case frame_status::dropped_old: return "dropped_old";
  case frame_status::out_of_sync: return "out_of_sync";
  case frame_status::mismatch: return "mismatch";
  case frame_status::bad_frame: return "bad_frame";
  case frame_status::unknown_instrument: return "unknown_instrument";
  }
  return "unknown";
}

const char* to_string(resync_reason r) noexcept {
  switch (r) {
  case resync_reason::checksum_mismatch: return "checksum_mismatch";
  case resync_reason::sequence_gap: return "sequence_gap";
  case resync_reason::ticker_mismatch: return "ticker_mismatch";
  case resync_reason::bad_update: return "bad_update";
  case resync_reason::snapshot_rejected: return "snapshot_rejected";
  }
  return "unknown";
}

quality_reason to_quality_reason(resync_reason r) noexcept {
  switch (r) {
  case resync_reason::checksum_mismatch: return quality_reason::checksum_mismatch;
  case resync_reason::sequence_gap: return quality_reason::sequence_gap;
  case resync_reason::ticker_mismatch: return quality_reason::ticker_mismatch;
  case resync_reason::bad_update: return quality_reason::bad_update;
  case resync_reason::snapshot_rejected: return quality_reason::snapshot_rejected;
  }
  return quality_reason::bad_update;
}

crypto_handler::crypto_handler(std::string venue, const std::vector<instrument_config>& instruments)
    : venue_(std::move(venue)), sink_(&g_null_sink) {
  instruments_.reserve(instruments.size());
  for (const auto& c : instruments) {
    if (c.price_scale < 0 || c.price_scale > 18 || c.qty_scale < 0 || c.qty_scale > 18) {
      throw std::invalid_argument(venue_ + ": bad scale for " + c.venue_symbol);
    }
    if (!by_symbol_.emplace(c.venue_symbol, instruments_.size()).second) {
      throw std::invalid_argument(venue_ + ": duplicate instrument " + c.venue_symbol);
    }
    crypto_instrument& in = instruments_.emplace_back();
    in.venue_symbol = c.venue_symbol;
    in.info.symbol = venue_ + ":" + c.venue_symbol;
    in.info.venue = venue_;
    in.info.price_scale = c.price_scale;
    in.info.qty_scale = c.qty_scale;
    in.info.tick_size = c.tick_size;
    in.info.lot_size = c.lot_size;
  }
  if (instruments_.size() <= kLinearFind) {
    for (const crypto_instrument& in : instruments_) heads_.push_back(symbol_head(in.venue_symbol));
  }
}

crypto_handler::~crypto_handler() = default;

frame_status crypto_handler::on_rest(std::string_view, const padded_frame&) {
  ++counters_.ignored;
  return frame_status::ignored;
}

void crypto_handler::on_connect() {
  for (std::size_t i = 0; i < instruments_.size(); ++i) {
    if (instruments_[i].quality == data_quality::ok) {
      instruments_[i].quality = data_quality::resyncing;
      instruments_[i].reason = quality_reason::reconnecting;
      sink_->on_book(i);
    }
  }
}

void crypto_handler::set_sink(crypto_sink* sink) noexcept { sink_ = sink != nullptr ? sink : &g_null_sink; }

std::uint64_t crypto_handler::symbol_head(std::string_view s) noexcept {
  std::uint64_t head = 0;
  if (!s.empty()) std::memcpy(&head, s.data(), std::min<std::size_t>(s.size(), sizeof head));
  return head;
}

std::optional<std::size_t> crypto_handler::find(std::string_view venue_symbol) const noexcept {
  if (last_symbol_ != nullptr && *last_symbol_ == venue_symbol) return last_index_;
  if (!heads_.empty()) {
    // Few instruments: compare length and first 8 bytes, no hashing.
    const std::uint64_t head = symbol_head(venue_symbol);
    for (std::size_t i = 0; i < heads_.size(); ++i) {
      const crypto_instrument& in = instruments_[i];
      if (heads_[i] == head && in.venue_symbol.size() == venue_symbol.size() &&
          (venue_symbol.size() <= sizeof head || in.venue_symbol == venue_symbol)) {
        last_symbol_ = &in.venue_symbol;
        last_index_ = i;
        return i;
      }
    }
    return std::nullopt;
  }
  const auto it = by_symbol_.find(venue_symbol);
  if (it == by_symbol_.end()) return std::nullopt;
  last_symbol_ = &it->first;
  last_index_ = it->second;
  return it->second;
}

void crypto_handler::book_changed(std::size_t index, std::uint64_t exch_ts, std::uint64_t recv_ts) {
  crypto_instrument& in = instruments_[index];
  ++in.version;
  if (exch_ts != 0) in.exch_ts = exch_ts;
  in.recv_ts = recv_ts;
  sink_->on_book(index);
}

void crypto_handler::mark_stale(std::size_t index, resync_reason why) {
  crypto_instrument& in = instruments_[index];
  in.quality = data_quality::stale;
  in.reason = to_quality_reason(why);
  ++counters_.resyncs;
  sink_->on_book(index);
  sink_->on_resync(index, why);
}

void crypto_handler::report_trade(std::size_t index, trade_print t) {
  t.trade_seq = ++instruments_[index].trade_seq;
  ++counters_.trades;
  sink_->on_trade(index, t);
}

bool crypto_handler::set_level(std::size_t index, side s, price_t price, qty_t qty) {
  switch (instruments_[index].book.set(s, price, qty, 0)) {
  case apply_status::ok: ++counters_.levels; return true;
  case apply_status::unknown_level: ++counters_.unknown_deletes; return true; // delete of an absent level
  default: return false;
  }
}

std::size_t truncate_book(level_book& book, std::size_t depth) {
  if (book.depth(side::bid) <= depth && book.depth(side::ask) <= depth) return 0; // the usual case
  std::size_t dropped = 0;
  for (const side s : {side::bid, side::ask}) {
    while (book.depth(s) > depth) {
      const price_t worst = book.level(s, book.depth(s) - 1).price;
      (void)book.set(s, worst, 0, 0); // the level exists: cannot fail
      ++dropped;
    }
  }
  return dropped;
}

} // namespace mdgw::crypto
