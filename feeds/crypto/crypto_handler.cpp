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
  std::size_t slots = 16;
  unsigned bits = 4;
  while (slots < 2 * instruments.size()) {
    slots *= 2;
    ++bits;
  }
  slots_.resize(slots);
  slot_mask_ = slots - 1;
  slot_shift_ = 64 - bits;
  instruments_.reserve(instruments.size());
  for (const auto& c : instruments) {
    if (c.price_scale < 0 || c.price_scale > 18 || c.qty_scale < 0 || c.qty_scale > 18) {
      throw std::invalid_argument(venue_ + ": bad scale for " + c.venue_symbol);
    }
    const symbol_key k = key_of(c.venue_symbol, false);
    if (lookup(k, c.venue_symbol)) throw std::invalid_argument(venue_ + ": duplicate instrument " + c.venue_symbol);
    std::size_t i = slot_of(k);
    while (slots_[i].index != kNoSlot) i = (i + 1) & slot_mask_;
    slots_[i] = symbol_slot{k, instruments_.size()};
    crypto_instrument& in = instruments_.emplace_back();
    in.venue_symbol = c.venue_symbol;
    in.info.symbol = venue_ + ":" + c.venue_symbol;
    in.info.venue = venue_;
    in.info.price_scale = c.price_scale;
    in.info.qty_scale = c.qty_scale;
    in.info.tick_size = c.tick_size;
    in.info.lot_size = c.lot_size;
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

crypto_handler::symbol_key crypto_handler::key_of(std::string_view s, bool padded) noexcept {
  symbol_key k;
  k.size = s.size();
  if (!padded) {
    if (s.empty()) return k; // data() may be null
    std::memcpy(&k.lo, s.data(), std::min<std::size_t>(s.size(), 8));
    if (s.size() > 8) std::memcpy(&k.hi, s.data() + 8, std::min<std::size_t>(s.size() - 8, 8));
    return k;
  }
  return padded_key(s);
}

std::optional<std::size_t> crypto_handler::lookup(const symbol_key& k, std::string_view s) const noexcept {
  for (std::size_t i = slot_of(k);; i = (i + 1) & slot_mask_) {
    const symbol_slot& slot = slots_[i];
    // An empty slot's size is kNoSlot: it matches no key.
    if (slot.key.lo == k.lo && slot.key.hi == k.hi && slot.key.size == k.size) {
      if (k.size <= 16 || long_symbol_is(slot.index, s)) return slot.index;
    } else if (slot.index == kNoSlot) {
      return std::nullopt;
    }
  }
}

bool crypto_handler::long_symbol_is(std::size_t index, std::string_view s) const noexcept {
  return instruments_[index].venue_symbol == s;
}

std::optional<std::size_t> crypto_handler::find(std::string_view venue_symbol) const noexcept {
  return lookup(key_of(venue_symbol, false), venue_symbol);
}

std::optional<std::size_t> crypto_handler::find_in_frame_slow(std::string_view venue_symbol,
                                                              const padded_frame& f) const noexcept {
  // Inside the frame, the kFramePadding (>= 16) readable bytes after it cover the words.
  static_assert(kFramePadding >= 16);
  const auto at = reinterpret_cast<std::uintptr_t>(venue_symbol.data());
  const auto begin = reinterpret_cast<std::uintptr_t>(f.data);
  const bool inside = at >= begin && at + venue_symbol.size() <= begin + f.size;
  return lookup(key_of(venue_symbol, inside), venue_symbol);
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

std::size_t truncate_sides(level_book& book, std::size_t depth) {
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
