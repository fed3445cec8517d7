#include "recording_format.hpp"

#include "crypto/crc32.hpp"
#include "recording.capnp.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/io.h>

#include <algorithm>
#include <cstring>

namespace mdgw::recording {

namespace schema_ns = mdgw::recording::schema;

void recorded_batch::add_instrument(const instrument_info& info) {
  events.push_back({recorded_event::kind::instrument, static_cast<std::uint32_t>(instruments.size())});
  instruments.push_back(info);
}

void recorded_batch::add_trade(const recorded_trade& t) {
  events.push_back({recorded_event::kind::trade, static_cast<std::uint32_t>(trades.size())});
  trades.push_back(t);
}

void recorded_batch::add_state(instrument_id id, const instrument_state& st) {
  events.push_back({recorded_event::kind::state, static_cast<std::uint32_t>(states.size())});
  states.push_back({id, st});
}

void recorded_batch::add_book(const recorded_book& b) {
  events.push_back({recorded_event::kind::book, static_cast<std::uint32_t>(books.size())});
  books.push_back(b);
  books.back().n_levels = static_cast<std::uint32_t>(levels.size() - b.first_level);
}

void recorded_batch::clear() noexcept {
  recv_ts = 0;
  events.clear();
  instruments.clear();
  books.clear();
  levels.clear();
  trades.clear();
  states.clear();
}

void diff_side(side s, std::span<const price_level> prev, std::span<const price_level> now,
               std::vector<recorded_level>& out) {
  // Both runs are sorted best first; merge them by price.
  const auto better = [s](price_t a, price_t b) { return s == side::bid ? a > b : a < b; };
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < prev.size() || j < now.size()) {
    if (j == now.size() || (i < prev.size() && better(prev[i].price, now[j].price))) {
      out.push_back({s, prev[i].price, 0, 0}); // gone
      ++i;
    } else if (i == prev.size() || better(now[j].price, prev[i].price)) {
      out.push_back({s, now[j].price, now[j].qty, now[j].orders}); // new
      ++j;
    } else {
      if (prev[i].qty != now[j].qty || prev[i].orders != now[j].orders) {
        out.push_back({s, now[j].price, now[j].qty, now[j].orders});
      }
      ++i;
      ++j;
    }
  }
}

std::size_t apply_levels(level_book& book, std::span<const recorded_level> levels) {
  std::size_t bad = 0;
  for (const recorded_level& l : levels) bad += book.set(l.s, l.price, l.qty, l.orders) != apply_status::ok ? 1 : 0;
  return bad;
}

namespace {

// kj output into a byte vector: capnp::writeMessage's target.
class vector_output final : public kj::OutputStream {
public:
  explicit vector_output(std::vector<std::byte>& out) : out_(out) {}
  void write(const void* buffer, size_t size) override {
    const auto* p = static_cast<const std::byte*>(buffer);
    out_.insert(out_.end(), p, p + size);
  }

private:
  std::vector<std::byte>& out_;
};

void put_u32(std::byte* p, std::uint32_t v) {
  for (int k = 0; k < 4; ++k) p[k] = static_cast<std::byte>(v >> (8 * k));
}

// Appends length + CRC + the message.
void append_record(std::vector<std::byte>& out, capnp::MessageBuilder& message) {
  const std::size_t at = out.size();
  out.resize(at + kRecordPrefix);
  vector_output os(out);
  capnp::writeMessage(os, message);
  const std::size_t len = out.size() - at - kRecordPrefix;
  put_u32(out.data() + at, static_cast<std::uint32_t>(len));
  put_u32(out.data() + at + 4, crypto::crc32(out.data() + at + kRecordPrefix, len));
}

schema_ns::Side to_wire(side s) { return s == side::bid ? schema_ns::Side::BID : schema_ns::Side::ASK; }

void set_state(schema_ns::State::Builder w, const recorded_state& rs) {
  const instrument_state& s = rs.state;
  w.setInstrument(rs.instrument);
  w.setVersion(s.version);
  w.setExchTs(s.exch_ts);
  w.setRecvTs(s.recv_ts);
  w.setTradingState(static_cast<std::uint8_t>(s.trading_state));
  w.setReason(kj::arrayPtr(reinterpret_cast<const kj::byte*>(s.reason), sizeof s.reason));
  w.setShortSale(static_cast<std::uint8_t>(s.short_sale));
  w.setMwcbBreached(static_cast<std::uint8_t>(s.mwcb_breached));
  w.setHasLuld(s.has_luld != 0);
  w.setLuldReference(s.luld_reference);
  w.setLuldUpper(s.luld_upper);
  w.setLuldLower(s.luld_lower);
  w.setHasImbalance(s.has_imbalance != 0);
  w.setImbalanceDirection(static_cast<std::uint8_t>(s.imbalance_direction));
  w.setCrossType(static_cast<std::uint8_t>(s.cross_type));
  w.setPriceVariation(static_cast<std::uint8_t>(s.price_variation));
  w.setPairedQty(s.paired_qty);
  w.setImbalanceQty(s.imbalance_qty);
  w.setFarPrice(s.far_price);
  w.setNearPrice(s.near_price);
  w.setReferencePrice(s.reference_price);
  w.setImbalanceTs(s.imbalance_ts);
}

} // namespace

void append_file_start(std::vector<std::byte>& out, const capture_header& h) {
  const auto* m = reinterpret_cast<const std::byte*>(kMagic);
  out.insert(out.end(), m, m + sizeof kMagic);
  capnp::MallocMessageBuilder message;
  auto w = message.initRoot<schema_ns::Header>();
  w.setFormatVersion(h.format_version);
  w.setCreatedNs(h.created_ns);
  w.setMdgwVersion(h.mdgw_version);
  append_record(out, message);
}

void append_batch(std::vector<std::byte>& out, const recorded_batch& b) {
  // A scratch first segment sized for a typical batch: most batches allocate nothing.
  // MallocMessageBuilder zeroes what it used on destruction, so it stays reusable.
  thread_local std::vector<capnp::word> scratch(16384, capnp::word{});
  capnp::MallocMessageBuilder message(kj::arrayPtr(scratch.data(), scratch.size()));
  auto w = message.initRoot<schema_ns::Batch>();
  w.setRecvTs(b.recv_ts);
  auto events = w.initEvents(static_cast<unsigned>(b.events.size()));
  for (unsigned k = 0; k < b.events.size(); ++k) {
    const recorded_event& e = b.events[k];
    auto ev = events[k];
    switch (e.what) {
    case recorded_event::kind::instrument: {
      const instrument_info& in = b.instruments[e.index];
      auto x = ev.initInstrument();
      x.setId(in.id);
      x.setSymbol(in.symbol);
      x.setVenue(in.venue);
      x.setPriceScale(in.price_scale);
      x.setQtyScale(in.qty_scale);
      x.setTickSize(in.tick_size);
      x.setLotSize(in.lot_size);
      break;
    }
    case recorded_event::kind::book: {
      const recorded_book& bk = b.books[e.index];
      auto x = ev.initBook();
      x.setInstrument(bk.instrument);
      x.setVersion(bk.version);
      x.setExchTs(bk.exch_ts);
      x.setRecvTs(bk.recv_ts);
      x.setQuality(static_cast<std::uint8_t>(bk.quality));
      x.setReason(static_cast<std::uint8_t>(bk.reason));
      auto lv = x.initLevels(bk.n_levels);
      for (unsigned i = 0; i < bk.n_levels; ++i) {
        const recorded_level& l = b.levels[bk.first_level + i];
        lv[i].setSide(to_wire(l.s));
        lv[i].setPrice(l.price);
        lv[i].setQty(l.qty);
        lv[i].setOrders(l.orders);
      }
      break;
    }
    case recorded_event::kind::trade: {
      const recorded_trade& t = b.trades[e.index];
      auto x = ev.initTrade();
      x.setInstrument(t.instrument);
      x.setAggressor(to_wire(t.aggressor));
      x.setPrice(t.price);
      x.setQty(t.qty);
      x.setTradeSeq(t.trade_seq);
      x.setExchTs(t.exch_ts);
      x.setRecvTs(t.recv_ts);
      break;
    }
    case recorded_event::kind::state: set_state(ev.initState(), b.states[e.index]); break;
    }
  }
  append_record(out, message);
}

} // namespace mdgw::recording
