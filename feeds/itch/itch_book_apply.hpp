// itch_book's message handling, templates over the sink's type (itch_book.hpp's rationale
// says why), included at the end of itch_book.hpp.
#pragma once

#include "itch_book.hpp"

namespace mdgw::itch {

namespace detail {
// The one place a book event is built and handed to the sink.
template <class Sink>
void emit(Sink& sink, market_event::type what, side s, std::uint32_t orders, locate_t locate, price_t price, qty_t qty,
          std::uint64_t exch_ts) {
  sink.on_event(market_event{
      .what = what, .s = s, .orders = orders, .instrument = locate, .price = price, .qty = qty, .exch_ts = exch_ts});
}
} // namespace detail

template <class Sink>
struct itch_book::visitor {
  itch_book& b;
  Sink& sink;

  void operator()(const system_event& m) const {
    b.market_.system_event = m.event_code;
    b.market_.ts = b.ts(m.hdr);
    sink.on_state(m.hdr.stock_locate.get(), state_change::market);
  }
  void operator()(const stock_directory& m) const {
    const locate_t locate = m.hdr.stock_locate.get();
    stock_info& i = b.at(locate).info;
    i.known = true;
    i.stock = m.stock;
    i.round_lot = m.round_lot_size.get();
    i.market_category = m.market_category;
    i.financial_status = m.financial_status_indicator;
    i.round_lots_only = m.round_lots_only;
    i.issue_classification = m.issue_classification;
    i.issue_sub_type = m.issue_sub_type;
    i.authenticity = m.authenticity;
    i.short_sale_threshold = m.short_sale_threshold_indicator;
    i.ipo_flag = m.ipo_flag;
    i.luld_tier = m.luld_reference_price_tier;
    i.etp_flag = m.etp_flag;
    i.etp_leverage_factor = m.etp_leverage_factor.get();
    i.inverse_indicator = m.inverse_indicator;
    sink.on_state(locate, state_change::directory);
  }
  void operator()(const stock_trading_action& m) const {
    instrument_status& s = status(m.hdr);
    s.trading_state = m.trading_state;
    s.trading_reason = m.reason;
    sink.on_state(m.hdr.stock_locate.get(), state_change::status);
  }
  void operator()(const reg_sho_restriction& m) const {
    status(m.hdr).reg_sho_action = m.reg_sho_action;
    sink.on_state(m.hdr.stock_locate.get(), state_change::status);
  }
  void operator()(const market_participant_position&) const {} // per-MPID registration: not book state
  void operator()(const mwcb_decline_level& m) const {
    b.market_.mwcb_level[0] = m.level1.get();
    b.market_.mwcb_level[1] = m.level2.get();
    b.market_.mwcb_level[2] = m.level3.get();
    b.market_.ts = b.ts(m.hdr);
    sink.on_state(m.hdr.stock_locate.get(), state_change::market);
  }
  void operator()(const mwcb_status& m) const {
    b.market_.mwcb_breached = m.breached_level;
    b.market_.ts = b.ts(m.hdr);
    sink.on_state(m.hdr.stock_locate.get(), state_change::market);
  }
  void operator()(const ipo_quoting_period_update& m) const {
    instrument_status& s = status(m.hdr);
    s.ipo_release_time = m.ipo_quotation_release_time.get();
    s.ipo_release_qualifier = m.ipo_quotation_release_qualifier;
    s.ipo_price = m.ipo_price.get();
    sink.on_state(m.hdr.stock_locate.get(), state_change::status);
  }
  void operator()(const luld_auction_collar& m) const {
    instrument_status& s = status(m.hdr);
    s.luld_reference_price = m.auction_collar_reference_price.get();
    s.luld_upper_price = m.upper_auction_collar_price.get();
    s.luld_lower_price = m.lower_auction_collar_price.get();
    s.luld_extension = m.auction_collar_extension.get();
    sink.on_state(m.hdr.stock_locate.get(), state_change::status);
  }
  void operator()(const operational_halt& m) const {
    instrument_status& s = status(m.hdr);
    s.operational_halt_market = m.market_code;
    s.operational_halt_action = m.operational_halt_action;
    sink.on_state(m.hdr.stock_locate.get(), state_change::status);
  }
  void operator()(const add_order& m) const {
    b.add(sink, m.hdr.stock_locate.get(), b.ts(m.hdr), m.order_reference_number.get(), m.buy_sell_indicator, m.shares.get(),
          m.price.get());
  }
  void operator()(const add_order_mpid& m) const {
    b.add(sink, m.hdr.stock_locate.get(), b.ts(m.hdr), m.order_reference_number.get(), m.buy_sell_indicator, m.shares.get(),
          m.price.get());
  }
  void operator()(const order_executed& m) const {
    b.execute(sink, ref_kind::executed, m.hdr.stock_locate.get(), b.ts(m.hdr), m.order_reference_number.get(),
              m.executed_shares.get(), true, 0, false);
  }
  void operator()(const order_executed_with_price& m) const {
    b.execute(sink, ref_kind::executed_with_price, m.hdr.stock_locate.get(), b.ts(m.hdr), m.order_reference_number.get(),
              m.executed_shares.get(), m.printable == 'Y', m.execution_price.get(), true);
  }
  void operator()(const order_cancel& m) const {
    b.cancel(sink, m.hdr.stock_locate.get(), b.ts(m.hdr), m.order_reference_number.get(), m.cancelled_shares.get());
  }
  void operator()(const order_delete& m) const {
    b.remove(sink, ref_kind::delete_order, m.hdr.stock_locate.get(), b.ts(m.hdr), m.order_reference_number.get());
  }
  void operator()(const order_replace& m) const {
    b.replace(sink, m.hdr.stock_locate.get(), b.ts(m.hdr), m.original_order_reference_number.get(),
              m.new_order_reference_number.get(), m.shares.get(), m.price.get());
  }
  void operator()(const trade& m) const {
    // The indicator is the side of the resting non-displayed order: the other side took.
    const std::uint32_t shares = m.shares.get();
    if (shares == 0) return;
    const side aggressor = m.buy_sell_indicator == kBuy ? side::ask : side::bid;
    b.emit_trade(sink, m.hdr.stock_locate.get(), aggressor, m.price.get(), shares, b.ts(m.hdr));
  }
  void operator()(const cross_trade& m) const {
    ++b.counters_.cross_trades;
    // A cross has no aggressor; reported as bid. A cross of 0 shares did not trade.
    const std::uint64_t shares = m.shares.get();
    if (shares == 0) return;
    b.emit_trade(sink, m.hdr.stock_locate.get(), side::bid, m.cross_price.get(), shares, b.ts(m.hdr));
  }
  void operator()(const broken_trade& m) const {
    // A trade already published cannot be recalled from the stream; it is counted and
    // announced as a state change so a feed can tell its clients.
    ++b.counters_.broken_trades;
    ++b.at(m.hdr.stock_locate.get()).broken_trades;
    sink.on_state(m.hdr.stock_locate.get(), state_change::broken_trade);
  }
  void operator()(const noii& m) const {
    auction_imbalance& i = b.at(m.hdr.stock_locate.get()).imbalance;
    i.valid = true;
    i.paired_shares = m.paired_shares.get();
    i.imbalance_shares = m.imbalance_shares.get();
    i.direction = m.imbalance_direction;
    i.far_price = m.far_price.get();
    i.near_price = m.near_price.get();
    i.reference_price = m.current_reference_price.get();
    i.cross_type = m.cross_type;
    i.price_variation = m.price_variation_indicator;
    i.ts = b.ts(m.hdr);
    sink.on_state(m.hdr.stock_locate.get(), state_change::imbalance);
  }
  void operator()(const rpii& m) const {
    status(m.hdr).rpii_interest = m.interest_flag;
    sink.on_state(m.hdr.stock_locate.get(), state_change::status);
  }
  void operator()(const dlcr_price_discovery&) const {} // direct listings only: not kept yet

  instrument_status& status(const header& h) const {
    instrument_status& s = b.at(h.stock_locate.get()).status;
    s.ts = b.ts(h);
    return s;
  }
};

template <book_sink Sink>
decode_status itch_book::apply(const std::uint8_t* msg, std::size_t len, Sink& sink) {
  return decoder_.decode(msg, len, visitor<Sink>{*this, sink});
}

inline void itch_book::check_locate(const order_entry& o, locate_t locate) {
  if (o.locate != locate) [[unlikely]] {
    note(counters_.locate_mismatch, reported_mismatch_, "message locate differs from its order's; the order's is used");
  }
}

template <class Sink>
void itch_book::emit_trade(Sink& sink, locate_t locate, side aggressor, std::uint64_t price, std::uint64_t qty,
                           std::uint64_t exch_ts) {
  ++counters_.trades;
  detail::emit(sink, market_event::type::trade, aggressor, 0, locate, static_cast<price_t>(price),
               static_cast<qty_t>(qty), exch_ts);
}

template <class Sink>
void itch_book::place(Sink& sink, locate_t locate, side s, std::uint64_t ref, std::uint32_t price, std::uint32_t shares,
                      std::uint64_t exch_ts) {
  if (locate >= locates_.size()) [[unlikely]] grow(locate);
  auto [o, fresh] = orders_.try_insert(ref);
  if (!fresh) [[unlikely]] {
    // The live order with this reference leaves its level; its slot takes the new one.
    note(counters_.duplicate_ref, reported_duplicate_, "order reference already live; the old order was removed");
    const order_entry old = *o;
    if (!levels_.reduce(old.locate, old.s, old.level, old.shares, 1)) [[unlikely]] {
      note(counters_.level_errors, reported_level_, "a reduce took more than its level held");
    }
    detail::emit(sink, market_event::type::reduce, old.s, 1, old.locate, old.price, old.shares, exch_ts);
  }
  o->price = price;
  o->shares = shares;
  o->locate = locate;
  o->s = s;
  o->level = levels_.add(locate, s, price, shares);
  detail::emit(sink, market_event::type::add, s, 1, locate, price, shares, exch_ts);
}

template <class Sink>
void itch_book::add(Sink& sink, locate_t locate, std::uint64_t exch_ts, std::uint64_t ref, char side_char, std::uint32_t shares,
                    std::uint32_t price) {
  if (shares == 0 || price == 0 || (side_char != kBuy && side_char != kSell)) [[unlikely]] {
    note(counters_.invalid_order, reported_invalid_, "add with 0 shares, price 0 or a bad side skipped");
    return;
  }
  place(sink, locate, side_char == kBuy ? side::bid : side::ask, ref, price, shares, exch_ts);
}

template <class Sink>
void itch_book::reduce_order(Sink& sink, order_entry* o, std::uint32_t qty, std::uint64_t exch_ts) {
  const order_entry cur = *o;
  const bool gone = qty >= cur.shares;
  if (gone) {
    qty = cur.shares;
    orders_.erase(o);
  } else {
    o->shares -= qty;
  }
  const std::uint32_t orders = gone ? 1 : 0;
  if (!levels_.reduce(cur.locate, cur.s, cur.level, qty, orders)) [[unlikely]] {
    note(counters_.level_errors, reported_level_, "a reduce took more than its level held");
  }
  detail::emit(sink, market_event::type::reduce, cur.s, orders, cur.locate, cur.price, qty, exch_ts);
}

template <class Sink>
void itch_book::execute(Sink& sink, ref_kind kind, locate_t locate, std::uint64_t exch_ts, std::uint64_t ref, std::uint32_t shares,
                        bool printable, std::uint32_t trade_price, bool has_price) {
  order_entry* o = orders_.find(ref);
  if (o == nullptr) [[unlikely]] {
    on_unknown_ref(kind, ref);
    return;
  }
  check_locate(*o, locate);
  if (shares == 0) [[unlikely]] {
    note(counters_.invalid_order, reported_invalid_, "execution or cancel of 0 shares skipped");
    return;
  }
  if (printable) {
    emit_trade(sink, o->locate, opposite(o->s), has_price ? trade_price : o->price, shares, exch_ts);
  } else {
    ++counters_.non_printable;
  }
  if (shares > o->shares) [[unlikely]] {
    note(counters_.over_execution, reported_over_, "execution or cancel of more shares than the order had");
  }
  reduce_order(sink, o, shares, exch_ts);
}

template <class Sink>
void itch_book::cancel(Sink& sink, locate_t locate, std::uint64_t exch_ts, std::uint64_t ref, std::uint32_t shares) {
  order_entry* o = orders_.find(ref);
  if (o == nullptr) [[unlikely]] {
    on_unknown_ref(ref_kind::cancel, ref);
    return;
  }
  check_locate(*o, locate);
  if (shares == 0) [[unlikely]] {
    note(counters_.invalid_order, reported_invalid_, "execution or cancel of 0 shares skipped");
    return;
  }
  if (shares > o->shares) [[unlikely]] {
    note(counters_.over_execution, reported_over_, "execution or cancel of more shares than the order had");
  }
  reduce_order(sink, o, shares, exch_ts);
}

template <class Sink>
void itch_book::remove(Sink& sink, ref_kind kind, locate_t locate, std::uint64_t exch_ts, std::uint64_t ref) {
  order_entry* o = orders_.find(ref);
  if (o == nullptr) [[unlikely]] {
    on_unknown_ref(kind, ref);
    return;
  }
  check_locate(*o, locate);
  reduce_order(sink, o, o->shares, exch_ts);
}

template <class Sink>
void itch_book::replace(Sink& sink, locate_t locate, std::uint64_t exch_ts, std::uint64_t old_ref, std::uint64_t new_ref,
                        std::uint32_t shares, std::uint32_t price) {
  order_entry* o = orders_.find(old_ref);
  if (o == nullptr) [[unlikely]] {
    on_unknown_ref(ref_kind::replace, old_ref);
    return;
  }
  check_locate(*o, locate);
  const locate_t order_locate = o->locate;
  const side s = o->s;
  reduce_order(sink, o, o->shares, exch_ts);
  if (shares == 0 || price == 0) [[unlikely]] {
    note(counters_.invalid_order, reported_invalid_, "replace with 0 shares or price 0: original removed only");
    return;
  }
  place(sink, order_locate, s, new_ref, price, shares, exch_ts);
}

} // namespace mdgw::itch
