#include "capnp_codec.hpp"

#include "decimal.hpp"
#include "mdgw.capnp.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <charconv>
#include <cstring>

namespace mdgw::capnp_wire {

namespace {

// A decimal as NUL-terminated text on the stack (Cap'n Proto copies it into the message),
// spelled exactly as the JSON encoder spells it (crypto::format_decimal: same digits).
class decimal_text {
public:
  decimal_text(std::int64_t v, int scale) noexcept : len_(crypto::format_decimal(v, scale, buf_)) { buf_[len_] = '\0'; }
  operator capnp::Text::Reader() const { return capnp::Text::Reader(buf_, len_); } // NOLINT: implicit by design
private:
  char buf_[48]; // 21 + scale (at most 18) + NUL
  std::size_t len_;
};

capnp::Text::Reader text(const std::string& s) { return capnp::Text::Reader(s.c_str(), s.size()); }

std::string serialize(capnp::MessageBuilder& msg) {
  const kj::Array<capnp::word> words = capnp::messageToFlatArray(msg);
  const auto bytes = words.asBytes();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

wire::Quality quality_of(data_quality q) {
  switch (q) {
  case data_quality::ok: return wire::Quality::OK;
  case data_quality::stale: return wire::Quality::STALE;
  case data_quality::resyncing: return wire::Quality::RESYNCING;
  }
  return wire::Quality::OK;
}

void set_stamps(wire::Stamps::Builder b, std::uint64_t oldest_exch, std::uint64_t oldest_recv, std::uint64_t exch,
                std::uint64_t recv, std::uint64_t merged) {
  b.setTsExchOldest(oldest_exch);
  b.setTsRecvOldest(oldest_recv);
  b.setTsExch(exch);
  b.setTsRecv(recv);
  b.setMerged(merged);
}

void set_stamps(wire::Stamps::Builder b, const protocol::batch_stamps& s) {
  set_stamps(b, s.oldest_exch_ts, s.oldest_recv_ts, s.newest_exch_ts, s.newest_recv_ts, s.merged);
}

void set_level(wire::Level::Builder b, const price_level& l, const instrument_info& info) {
  b.setPrice(decimal_text(l.price, info.price_scale));
  b.setSize(decimal_text(l.qty, info.qty_scale));
  b.setOrders(l.orders);
}

// One side of a book message: the levels of `to` (snapshot), or of the delta from -> to,
// counted first (a Cap'n Proto list is sized when it is made) and then written.
void set_side(wire::Book::Builder b, side s, const book_record* from, const book_record& to,
              const instrument_info& info) {
  const bool bid = s == side::bid;
  const price_level* t = bid ? to.bids() : to.asks();
  const std::size_t nt = bid ? to.n_bids : to.n_asks;
  const auto init = [&](std::size_t n) { return bid ? b.initBids(static_cast<unsigned>(n)) : b.initAsks(static_cast<unsigned>(n)); };
  if (from == nullptr) {
    auto list = init(nt);
    for (unsigned i = 0; i < nt; ++i) set_level(list[i], t[i], info);
    return;
  }
  const price_level* f = bid ? from->bids() : from->asks();
  const std::size_t nf = bid ? from->n_bids : from->n_asks;
  std::size_t n = 0;
  delta_levels(s, f, nf, t, nt, [&](const price_level&) { ++n; });
  auto list = init(n);
  unsigned i = 0;
  delta_levels(s, f, nf, t, nt, [&](const price_level& l) { set_level(list[i++], l, info); });
}

} // namespace

std::string batch(std::uint64_t ts_send, const protocol::batch_stamps& stamps, std::uint32_t updates) {
  capnp::MallocMessageBuilder msg(64);
  auto b = msg.initRoot<wire::ServerMessage>().initBatch();
  b.setTsSend(ts_send);
  set_stamps(b.initStamps(), stamps);
  b.setUpdates(updates);
  return serialize(msg);
}

std::string book(const std::string& channel, const book_record* from, const book_record& to,
                 const book_message_stamps& stamps, const instrument_info& info) {
  capnp::MallocMessageBuilder msg(256 + 16 * to.levels.size());
  auto b = msg.initRoot<wire::ServerMessage>().initBook();
  b.setChannel(text(channel));
  b.setSnapshot(from == nullptr);
  b.setPrev(from != nullptr ? from->version : 0);
  b.setSeq(to.version);
  b.setChecksum(to.checksum);
  b.setQuality(quality_of(to.quality));
  set_stamps(b.initStamps(), stamps.first_exch_ts, stamps.first_recv_ts, to.exch_ts, to.recv_ts, stamps.merged);
  set_side(b, side::bid, from, to, info);
  set_side(b, side::ask, from, to, info);
  return serialize(msg);
}

std::string ticker(const std::string& channel, const ticker_view& t, const instrument_info& info,
                   const protocol::batch_stamps& stamps) {
  capnp::MallocMessageBuilder msg(128);
  auto b = msg.initRoot<wire::ServerMessage>().initTicker();
  b.setChannel(text(channel));
  b.setSeq(t.seq());
  b.setQuality(quality_of(t.quality));
  if (t.has_bid) {
    b.setBid(decimal_text(t.bid.price, info.price_scale));
    b.setBidSize(decimal_text(t.bid.qty, info.qty_scale));
  }
  if (t.has_ask) {
    b.setAsk(decimal_text(t.ask.price, info.price_scale));
    b.setAskSize(decimal_text(t.ask.qty, info.qty_scale));
  }
  if (t.last.seq != 0) {
    b.setLast(decimal_text(t.last.price, info.price_scale));
    b.setLastSize(decimal_text(t.last.qty, info.qty_scale));
    b.setLastSide(side_name(t.last.aggressor));
    b.setLastSeq(t.last.seq);
    b.setLastTsExch(t.last.exch_ts);
    b.setVolume(decimal_text(t.last.volume, info.qty_scale));
    b.setOpen(decimal_text(t.last.open, info.price_scale));
    b.setChange(decimal_text(t.last.price - t.last.open, info.price_scale));
  } else {
    b.setVolume(decimal_text(0, info.qty_scale));
  }
  set_stamps(b.initStamps(), stamps);
  return serialize(msg);
}

std::string status(const std::string& channel, std::uint64_t version, const instrument_state& st, data_quality quality,
                   quality_reason reason, const instrument_info& info, const protocol::batch_stamps& stamps) {
  capnp::MallocMessageBuilder msg(128);
  auto b = msg.initRoot<wire::ServerMessage>().initStatus();
  b.setChannel(text(channel));
  b.setVersion(version);
  b.setTradingState(trading_state_name(st.trading_state));
  const std::string_view why = trading_reason(st);
  char why_text[sizeof st.reason + 1] = {};
  std::memcpy(why_text, why.data(), why.size());
  b.setReason(capnp::Text::Reader(why_text, why.size()));
  b.setShortSaleRestriction(short_sale_name(st.short_sale));
  b.setMwcbBreached(st.mwcb_breached >= '1' && st.mwcb_breached <= '3'
                        ? static_cast<std::uint8_t>(st.mwcb_breached - '0')
                        : std::uint8_t{0});
  b.setHasLuld(st.has_luld != 0);
  if (st.has_luld != 0) {
    auto l = b.initLuld();
    l.setReference(decimal_text(st.luld_reference, info.price_scale));
    l.setUpper(decimal_text(st.luld_upper, info.price_scale));
    l.setLower(decimal_text(st.luld_lower, info.price_scale));
  }
  b.setQuality(quality_of(quality));
  b.setQualityReason(to_string(reason));
  set_stamps(b.initStamps(), stamps);
  return serialize(msg);
}

std::string imbalance(const std::string& channel, std::uint64_t version, const instrument_state& st,
                      const instrument_info& info, const protocol::batch_stamps& stamps) {
  capnp::MallocMessageBuilder msg(128);
  auto b = msg.initRoot<wire::ServerMessage>().initImbalance();
  b.setChannel(text(channel));
  b.setVersion(version);
  b.setPresent(st.has_imbalance != 0);
  if (st.has_imbalance != 0) {
    b.setTsExch(st.imbalance_ts);
    b.setPaired(decimal_text(st.paired_qty, info.qty_scale));
    b.setImbalance(decimal_text(st.imbalance_qty, info.qty_scale));
    b.setDirection(imbalance_direction_name(st.imbalance_direction));
    b.setFarPrice(decimal_text(st.far_price, info.price_scale));
    b.setNearPrice(decimal_text(st.near_price, info.price_scale));
    b.setReferencePrice(decimal_text(st.reference_price, info.price_scale));
    b.setCrossType(cross_type_name(st.cross_type));
    const char pv[2] = {st.price_variation, '\0'};
    b.setPriceVariation(kj::StringPtr(pv, 1));
  }
  set_stamps(b.initStamps(), stamps);
  return serialize(msg);
}

std::string trades(const std::string& channel, std::uint64_t epoch, std::span<const trade_record> trades,
                   const instrument_info& info) {
  capnp::MallocMessageBuilder msg(128 + 24 * trades.size());
  auto b = msg.initRoot<wire::ServerMessage>().initTrades();
  const trade_record& first = trades.front();
  const trade_record& last = trades.back();
  b.setChannel(text(channel));
  b.setEpoch(epoch);
  b.setFirstSeq(first.seq);
  b.setSeq(last.seq);
  set_stamps(b.initStamps(), first.exch_ts, first.recv_ts, last.exch_ts, last.recv_ts, trades.size());
  auto list = b.initTrades(static_cast<unsigned>(trades.size()));
  for (unsigned i = 0; i < trades.size(); ++i) {
    const trade_record& t = trades[i];
    auto tb = list[i];
    tb.setSeq(t.seq);
    tb.setPrice(decimal_text(t.price, info.price_scale));
    tb.setQty(decimal_text(t.qty, info.qty_scale));
    tb.setSide(side_name(t.aggressor));
    tb.setTsExch(t.exch_ts);
    tb.setTsRecv(t.recv_ts);
  }
  return serialize(msg);
}

std::string lost(const std::string& channel, std::uint64_t epoch, std::uint64_t from_seq, std::uint64_t resume_seq) {
  capnp::MallocMessageBuilder msg(64);
  auto b = msg.initRoot<wire::ServerMessage>().initLost();
  b.setChannel(text(channel));
  b.setEpoch(epoch);
  b.setLost(resume_seq - from_seq);
  b.setFromSeq(from_seq);
  b.setResumeSeq(resume_seq);
  return serialize(msg);
}

std::string reset(const std::string& channel, std::uint64_t epoch, std::uint64_t head, const char* reason) {
  capnp::MallocMessageBuilder msg(64);
  auto b = msg.initRoot<wire::ServerMessage>().initReset();
  b.setChannel(text(channel));
  b.setEpoch(epoch);
  b.setSeq(head);
  b.setReason(reason);
  return serialize(msg);
}

std::string error(const protocol::request_error& e) {
  capnp::MallocMessageBuilder msg(64);
  auto b = msg.initRoot<wire::ServerMessage>().initError();
  b.setHasId(e.id.has_value());
  b.setId(e.id.value_or(0));
  b.setCode(static_cast<std::uint16_t>(e.code));
  b.setMessage(text(e.message));
  return serialize(msg);
}

std::string subscribed(std::uint64_t id, const std::vector<protocol::grant>& grants) {
  capnp::MallocMessageBuilder msg(256);
  auto b = msg.initRoot<wire::ServerMessage>().initSubscribed();
  b.setId(id);
  auto names = b.initChannels(static_cast<unsigned>(grants.size()));
  auto list = b.initGranted(static_cast<unsigned>(grants.size()));
  for (unsigned i = 0; i < grants.size(); ++i) {
    const protocol::grant& g = grants[i];
    names.set(i, kj::StringPtr(g.channel.c_str(), g.channel.size()));
    auto gb = list[i];
    gb.setChannel(kj::StringPtr(g.channel.c_str(), g.channel.size()));
    gb.setIntervalMs(static_cast<double>(g.interval_ns) / 1e6);
    gb.setMaxRate(g.interval_ns == 0 ? 0.0 : 1e9 / static_cast<double>(g.interval_ns));
    gb.setTrades(g.trades);
    if (g.trades) {
      gb.setEpoch(g.epoch);
      gb.setNextSeq(g.next_seq);
      gb.setResume(g.resume);
    }
  }
  return serialize(msg);
}

std::string unsubscribed(std::uint64_t id, const std::vector<std::string>& channels) {
  capnp::MallocMessageBuilder msg(128);
  auto b = msg.initRoot<wire::ServerMessage>().initUnsubscribed();
  b.setId(id);
  auto names = b.initChannels(static_cast<unsigned>(channels.size()));
  for (unsigned i = 0; i < channels.size(); ++i) names.set(i, kj::StringPtr(channels[i].c_str(), channels[i].size()));
  return serialize(msg);
}

std::string instruments(std::uint64_t id, const std::vector<const instrument_info*>& list) {
  capnp::MallocMessageBuilder msg(256 + 16 * list.size());
  auto b = msg.initRoot<wire::ServerMessage>().initInstruments();
  b.setId(id);
  auto out = b.initInstruments(static_cast<unsigned>(list.size()));
  for (unsigned i = 0; i < list.size(); ++i) {
    const instrument_info& in = *list[i];
    auto ib = out[i];
    ib.setSymbol(kj::StringPtr(in.symbol.c_str(), in.symbol.size()));
    ib.setVenue(kj::StringPtr(in.venue.c_str(), in.venue.size()));
    ib.setPriceScale(in.price_scale);
    ib.setQtyScale(in.qty_scale);
    ib.setTickSize(decimal_text(in.tick_size, in.price_scale));
    ib.setLotSize(decimal_text(in.lot_size, in.qty_scale));
  }
  return serialize(msg);
}

std::string pong(std::uint64_t id, std::uint64_t ts) {
  capnp::MallocMessageBuilder msg(32);
  auto b = msg.initRoot<wire::ServerMessage>().initPong();
  b.setId(id);
  b.setTs(ts);
  return serialize(msg);
}

std::string heartbeat(std::uint64_t ts) {
  capnp::MallocMessageBuilder msg(32);
  msg.initRoot<wire::ServerMessage>().initHeartbeat().setTs(ts);
  return serialize(msg);
}

protocol::parse_result parse_request(std::string_view bytes) {
  protocol::parse_result r;
  const auto bad = [&](std::string why) {
    r.err = protocol::request_error{protocol::error_code::bad_json, std::nullopt,
                                    "malformed binary request: " + std::move(why)};
    return r;
  };
  if (bytes.empty() || bytes.size() % sizeof(capnp::word) != 0) return bad("not a whole number of words");
  // Aligned copy: the frame buffer has no alignment guarantee.
  auto words = kj::heapArray<capnp::word>(bytes.size() / sizeof(capnp::word));
  std::memcpy(words.begin(), bytes.data(), bytes.size());
  kj::Maybe<kj::Exception> failure = kj::runCatchingExceptions([&] {
    capnp::ReaderOptions opts;
    opts.traversalLimitInWords = words.size() * 4 + 64;
    opts.nestingLimit = 16;
    capnp::FlatArrayMessageReader reader(words, opts);
    auto in = reader.getRoot<wire::ClientRequest>();
    protocol::request req;
    req.id = in.getId();
    switch (in.getOp()) {
    case wire::ClientRequest::Op::SUBSCRIBE: req.what = protocol::op::subscribe; break;
    case wire::ClientRequest::Op::UNSUBSCRIBE: req.what = protocol::op::unsubscribe; break;
    case wire::ClientRequest::Op::LIST: req.what = protocol::op::list; break;
    case wire::ClientRequest::Op::PING: req.what = protocol::op::ping; break;
    default:
      r.err = protocol::request_error{protocol::error_code::unknown_op, req.id, "unknown op"};
      return;
    }
    for (auto c : in.getChannels()) {
      protocol::channel_request cr;
      cr.name = c.getChannel().cStr();
      if (c.getMaxRate() != 0.0) cr.max_rate = c.getMaxRate();
      if (c.getIntervalMs() >= 0.0) cr.interval_ms = c.getIntervalMs();
      if (c.getResume()) {
        cr.from_seq = c.getFromSeq();
        cr.epoch = c.getEpoch();
      }
      cr.options = cr.max_rate || cr.interval_ms || cr.from_seq;
      req.channels.push_back(std::move(cr));
    }
    r.req = std::move(req);
  });
  KJ_IF_MAYBE(e, failure) {
    return bad(std::string(e->getDescription().cStr()));
  }
  if (r.err) return r;
  // The same checks as a JSON request (options, channel lists): re-validated by the
  // JSON parser's rules through one shared function.
  return protocol::validate_request(std::move(*r.req));
}

} // namespace mdgw::capnp_wire
