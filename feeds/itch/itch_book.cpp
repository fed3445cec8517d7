#include "itch_book.hpp"

#include <algorithm>
#include <bit>
#include <string>

namespace mdgw::itch {

// ----------------------------------------------------------------------- order_map

order_map::order_map(std::size_t expected_orders) {
  std::size_t cap = 16;
  while (cap < expected_orders * 2) cap <<= 1;
  rehash(cap);
}

void order_map::rehash(std::size_t new_capacity) {
  huge_array<order_entry> old = std::move(slots_);
  const std::size_t old_capacity = old.size();
  slots_ = huge_array<order_entry>(new_capacity);
  mask_ = new_capacity - 1;
  shift_ = 64U - static_cast<unsigned>(std::countr_zero(new_capacity));
  for (std::size_t k = 0; k < old_capacity; ++k) {
    const order_entry& e = old[k];
    if (e.shares == 0) continue;
    std::size_t i = home(e.ref);
    while (slots_[i].shares != 0) i = (i + 1) & mask_;
    slots_[i] = e;
  }
}

void order_map::erase(order_entry* e) noexcept {
  // Backward-shift deletion: walk the cluster after the hole and move back every entry
  // whose home is not cyclically within (hole, its slot]; such an entry would otherwise
  // be unreachable from its home once the hole is free.
  std::size_t i = static_cast<std::size_t>(e - slots_.get());
  std::size_t j = i;
  for (;;) {
    j = (j + 1) & mask_;
    const order_entry& n = slots_[j];
    if (n.shares == 0) break;
    const std::size_t k = home(n.ref);
    const bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
    if (!stays) {
      slots_[i] = n;
      i = j;
    }
  }
  slots_[i].shares = 0;
  --size_;
}

void order_map::clear() noexcept {
  for (std::size_t i = 0; i <= mask_; ++i) slots_[i] = order_entry{};
  size_ = 0;
}

// --------------------------------------------------------------------- order_store

order_store::order_store(std::size_t window_slots, std::size_t expected_spilled)
    : window_(std::max<std::size_t>(16, std::bit_ceil(window_slots))),
      mask_(std::max<std::size_t>(16, std::bit_ceil(window_slots)) - 1), spill_(expected_spilled) {}

void order_store::spill(const order_entry& e) {
  auto [s, fresh] = spill_.try_insert(e.ref);
  (void)fresh; // e's reference is live only in the window
  *s = e;
}

void order_store::clear() noexcept {
  for (std::size_t i = 0; i <= mask_; ++i) window_[i] = order_entry{};
  in_window_ = 0;
  newest_ = 0;
  spill_.clear();
}

// ----------------------------------------------------------------------- itch_book

struct itch_book::visitor {
  itch_book& b;

  void operator()(const system_event& m) const {
    b.market_.system_event = m.event_code;
    b.market_.ts = b.ts(m.hdr);
    b.sink_->on_state(m.hdr.stock_locate.get(), state_change::market);
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
    b.sink_->on_state(locate, state_change::directory);
  }
  void operator()(const stock_trading_action& m) const {
    instrument_status& s = status(m.hdr);
    s.trading_state = m.trading_state;
    s.trading_reason = m.reason;
    b.sink_->on_state(m.hdr.stock_locate.get(), state_change::status);
  }
  void operator()(const reg_sho_restriction& m) const {
    status(m.hdr).reg_sho_action = m.reg_sho_action;
    b.sink_->on_state(m.hdr.stock_locate.get(), state_change::status);
  }
  void operator()(const market_participant_position&) const {} // per-MPID registration: not book state
  void operator()(const mwcb_decline_level& m) const {
    b.market_.mwcb_level[0] = m.level1.get();
    b.market_.mwcb_level[1] = m.level2.get();
    b.market_.mwcb_level[2] = m.level3.get();
    b.market_.ts = b.ts(m.hdr);
    b.sink_->on_state(m.hdr.stock_locate.get(), state_change::market);
  }
  void operator()(const mwcb_status& m) const {
    b.market_.mwcb_breached = m.breached_level;
    b.market_.ts = b.ts(m.hdr);
    b.sink_->on_state(m.hdr.stock_locate.get(), state_change::market);
  }
  void operator()(const ipo_quoting_period_update& m) const {
    instrument_status& s = status(m.hdr);
    s.ipo_release_time = m.ipo_quotation_release_time.get();
    s.ipo_release_qualifier = m.ipo_quotation_release_qualifier;
    s.ipo_price = m.ipo_price.get();
    b.sink_->on_state(m.hdr.stock_locate.get(), state_change::status);
  }
  void operator()(const luld_auction_collar& m) const {
    instrument_status& s = status(m.hdr);
    s.luld_reference_price = m.auction_collar_reference_price.get();
    s.luld_upper_price = m.upper_auction_collar_price.get();
    s.luld_lower_price = m.lower_auction_collar_price.get();
    s.luld_extension = m.auction_collar_extension.get();
    b.sink_->on_state(m.hdr.stock_locate.get(), state_change::status);
  }
  void operator()(const operational_halt& m) const {
    instrument_status& s = status(m.hdr);
    s.operational_halt_market = m.market_code;
    s.operational_halt_action = m.operational_halt_action;
    b.sink_->on_state(m.hdr.stock_locate.get(), state_change::status);
  }
  void operator()(const add_order& m) const {
    b.add(m.hdr.stock_locate.get(), b.ts(m.hdr), m.order_reference_number.get(), m.buy_sell_indicator, m.shares.get(),
          m.price.get());
  }
  void operator()(const add_order_mpid& m) const {
    b.add(m.hdr.stock_locate.get(), b.ts(m.hdr), m.order_reference_number.get(), m.buy_sell_indicator, m.shares.get(),
          m.price.get());
  }
  void operator()(const order_executed& m) const {
    b.execute(ref_kind::executed, m.hdr.stock_locate.get(), b.ts(m.hdr), m.order_reference_number.get(),
              m.executed_shares.get(), true, 0, false);
  }
  void operator()(const order_executed_with_price& m) const {
    b.execute(ref_kind::executed_with_price, m.hdr.stock_locate.get(), b.ts(m.hdr), m.order_reference_number.get(),
              m.executed_shares.get(), m.printable == 'Y', m.execution_price.get(), true);
  }
  void operator()(const order_cancel& m) const {
    b.cancel(m.hdr.stock_locate.get(), b.ts(m.hdr), m.order_reference_number.get(), m.cancelled_shares.get());
  }
  void operator()(const order_delete& m) const {
    b.remove(ref_kind::delete_order, m.hdr.stock_locate.get(), b.ts(m.hdr), m.order_reference_number.get());
  }
  void operator()(const order_replace& m) const {
    b.replace(m.hdr.stock_locate.get(), b.ts(m.hdr), m.original_order_reference_number.get(),
              m.new_order_reference_number.get(), m.shares.get(), m.price.get());
  }
  void operator()(const trade& m) const {
    // The indicator is the side of the resting non-displayed order: the other side took.
    const std::uint32_t shares = m.shares.get();
    if (shares == 0) return;
    const side aggressor = m.buy_sell_indicator == kBuy ? side::ask : side::bid;
    b.emit_trade(m.hdr.stock_locate.get(), aggressor, m.price.get(), shares, b.ts(m.hdr));
  }
  void operator()(const cross_trade& m) const {
    ++b.counters_.cross_trades;
    // A cross has no aggressor; reported as bid. A cross of 0 shares did not trade.
    const std::uint64_t shares = m.shares.get();
    if (shares == 0) return;
    b.emit_trade(m.hdr.stock_locate.get(), side::bid, m.cross_price.get(), shares, b.ts(m.hdr));
  }
  void operator()(const broken_trade& m) const {
    // A trade already published cannot be recalled from the stream; it is counted and
    // announced as a state change so a feed can tell its clients.
    ++b.counters_.broken_trades;
    ++b.at(m.hdr.stock_locate.get()).broken_trades;
    b.sink_->on_state(m.hdr.stock_locate.get(), state_change::broken_trade);
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
    b.sink_->on_state(m.hdr.stock_locate.get(), state_change::imbalance);
  }
  void operator()(const rpii& m) const {
    status(m.hdr).rpii_interest = m.interest_flag;
    b.sink_->on_state(m.hdr.stock_locate.get(), state_change::status);
  }
  void operator()(const dlcr_price_discovery&) const {} // direct listings only: not kept yet

  instrument_status& status(const header& h) const {
    instrument_status& s = b.at(h.stock_locate.get()).status;
    s.ts = b.ts(h);
    return s;
  }
};

itch_book::itch_book(book_config config)
    : config_(std::move(config)), decoder_(config_.log), orders_(config_.expected_orders, config_.expected_orders / 4),
      levels_(&level_memory_) {}

decode_status itch_book::apply(const std::uint8_t* msg, std::size_t len, event_sink& sink) {
  sink_ = &sink;
  return decoder_.decode(msg, len, visitor{*this});
}

void itch_book::clear() {
  orders_.clear();
  // The locates keep their levels' memory: a new session reuses it.
  levels_.clear();
  for (locate_state& st : locates_) {
    st.info = stock_info{};
    st.status = instrument_status{};
    st.imbalance = auction_imbalance{};
    st.broken_trades = 0;
  }
  market_ = market_status{};
  counters_ = book_counters{};
  decoder_.reset();
  reported_unknown_.fill(false);
  reported_duplicate_ = reported_invalid_ = reported_over_ = reported_mismatch_ = reported_level_ = false;
  hinted_from_ = nullptr; // a new session's first batch continues nothing
  hinted_ahead_ = 0;
}

void itch_book::grow(locate_t locate) {
  const std::size_t n = std::size_t{locate} + 1;
  locates_.resize(n);
  levels_.ensure_locates(n);
}

const level_book* itch_book::book(locate_t locate) const {
  if (locate >= locates_.size()) return nullptr;
  levels_.sorted_view(locate, view_);
  return &view_;
}

void itch_book::report(std::string_view line) {
  if (config_.log) {
    config_.log(line);
  } else {
    log_to_stderr(line);
  }
}

void itch_book::note(std::uint64_t& counter, bool& reported, std::string_view what) {
  ++counter;
  if (!reported) {
    reported = true;
    report(std::string("itch book: ") + std::string(what) + " (further ones counted, not reported)");
  }
}

void itch_book::on_unknown_ref(ref_kind kind, std::uint64_t ref) {
  const auto k = static_cast<std::size_t>(kind);
  ++counters_.unknown_ref[k];
  if (!reported_unknown_[k]) {
    reported_unknown_[k] = true;
    static constexpr const char* kNames[kRefKinds] = {"execution (E)", "execution with price (C)", "cancel (X)",
                                                      "delete (D)", "replace (U)"};
    report(std::string("itch book: ") + kNames[k] + " of unknown order " + std::to_string(ref) +
           " skipped (further ones counted, not reported)");
  }
}

void itch_book::check_locate(const order_entry& o, locate_t locate) {
  if (o.locate != locate) [[unlikely]] {
    note(counters_.locate_mismatch, reported_mismatch_, "message locate differs from its order's; the order's is used");
  }
}

void itch_book::emit_trade(locate_t locate, side aggressor, std::uint64_t price, std::uint64_t qty,
                           std::uint64_t exch_ts) {
  ++counters_.trades;
  market_event e;
  e.what = market_event::type::trade;
  e.s = aggressor;
  e.orders = 0;
  e.instrument = locate;
  e.price = static_cast<price_t>(price);
  e.qty = static_cast<qty_t>(qty);
  e.exch_ts = exch_ts;
  sink_->on_event(e);
}

void itch_book::place(locate_t locate, side s, std::uint64_t ref, std::uint32_t price, std::uint32_t shares,
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
    market_event r;
    r.what = market_event::type::reduce;
    r.s = old.s;
    r.orders = 1;
    r.instrument = old.locate;
    r.price = old.price;
    r.qty = old.shares;
    r.exch_ts = exch_ts;
    sink_->on_event(r);
  }
  o->price = price;
  o->shares = shares;
  o->locate = locate;
  o->s = s;
  o->level = levels_.add(locate, s, price, shares);
  market_event e;
  e.what = market_event::type::add;
  e.s = s;
  e.orders = 1;
  e.instrument = locate;
  e.price = price;
  e.qty = shares;
  e.exch_ts = exch_ts;
  sink_->on_event(e);
}

void itch_book::add(locate_t locate, std::uint64_t exch_ts, std::uint64_t ref, char side_char, std::uint32_t shares,
                    std::uint32_t price) {
  if (shares == 0 || price == 0 || (side_char != kBuy && side_char != kSell)) [[unlikely]] {
    note(counters_.invalid_order, reported_invalid_, "add with 0 shares, price 0 or a bad side skipped");
    return;
  }
  place(locate, side_char == kBuy ? side::bid : side::ask, ref, price, shares, exch_ts);
}

void itch_book::reduce_order(order_entry* o, std::uint32_t qty, std::uint64_t exch_ts) {
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
  market_event e;
  e.what = market_event::type::reduce;
  e.s = cur.s;
  e.orders = orders;
  e.instrument = cur.locate;
  e.price = cur.price;
  e.qty = qty;
  e.exch_ts = exch_ts;
  sink_->on_event(e);
}

void itch_book::execute(ref_kind kind, locate_t locate, std::uint64_t exch_ts, std::uint64_t ref, std::uint32_t shares,
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
    emit_trade(o->locate, opposite(o->s), has_price ? trade_price : o->price, shares, exch_ts);
  } else {
    ++counters_.non_printable;
  }
  if (shares > o->shares) [[unlikely]] {
    note(counters_.over_execution, reported_over_, "execution or cancel of more shares than the order had");
  }
  reduce_order(o, shares, exch_ts);
}

void itch_book::cancel(locate_t locate, std::uint64_t exch_ts, std::uint64_t ref, std::uint32_t shares) {
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
  reduce_order(o, shares, exch_ts);
}

void itch_book::remove(ref_kind kind, locate_t locate, std::uint64_t exch_ts, std::uint64_t ref) {
  order_entry* o = orders_.find(ref);
  if (o == nullptr) [[unlikely]] {
    on_unknown_ref(kind, ref);
    return;
  }
  check_locate(*o, locate);
  reduce_order(o, o->shares, exch_ts);
}

void itch_book::replace(locate_t locate, std::uint64_t exch_ts, std::uint64_t old_ref, std::uint64_t new_ref,
                        std::uint32_t shares, std::uint32_t price) {
  order_entry* o = orders_.find(old_ref);
  if (o == nullptr) [[unlikely]] {
    on_unknown_ref(ref_kind::replace, old_ref);
    return;
  }
  check_locate(*o, locate);
  const locate_t order_locate = o->locate;
  const side s = o->s;
  reduce_order(o, o->shares, exch_ts);
  if (shares == 0 || price == 0) [[unlikely]] {
    note(counters_.invalid_order, reported_invalid_, "replace with 0 shares or price 0: original removed only");
    return;
  }
  place(order_locate, s, new_ref, price, shares, exch_ts);
}

} // namespace mdgw::itch
