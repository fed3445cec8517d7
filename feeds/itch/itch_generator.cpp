#include "itch_generator.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace mdgw::itch {

namespace {

constexpr std::uint64_t kOpeningStartNs = 10'800'000'000'000ULL; // 03:00, start of messages
constexpr std::uint32_t kCrossEvery = 5;                          // every 5th stock crosses
// Orders each stock rests before the open (pre-market adds), and the fewest a stock
// keeps during the day: order flow that removes orders goes to a stock with more, so
// books keep a resting background instead of draining (removals slightly outnumber
// adds in the mix, as executions also remove).
constexpr std::uint32_t kPreOpenOrders = 20;
constexpr std::size_t kMinResting = kPreOpenOrders;

// Message mix of the order flow, per 10,000 messages.
struct mix_entry {
  msg_type type;
  std::uint32_t weight;
};
constexpr mix_entry kMix[] = {
    {msg_type::add_order, 4000},
    {msg_type::add_order_mpid, 400},
    {msg_type::order_delete, 4300},
    {msg_type::order_replace, 800},
    {msg_type::order_executed, 160},
    {msg_type::order_executed_with_price, 40},
    {msg_type::order_cancel, 100},
    {msg_type::trade, 150},
    {msg_type::stock_trading_action, 10},
    {msg_type::reg_sho_restriction, 5},
    {msg_type::luld_auction_collar, 5},
    {msg_type::operational_halt, 3},
    {msg_type::noii, 10},
    {msg_type::rpii, 3},
    {msg_type::broken_trade, 3},
    {msg_type::market_participant_position, 4},
    {msg_type::ipo_quoting_period_update, 2},
    {msg_type::dlcr_price_discovery, 1},
    {msg_type::cross_trade, 2},
    {msg_type::mwcb_status, 2},
};
constexpr std::uint32_t kMixTotal = [] {
  std::uint32_t t = 0;
  for (const auto& e : kMix) t += e.weight;
  return t;
}();
static_assert(kMixTotal == 10000);

constexpr const char* kMpids[] = {"NITE", "GSCO", "MSCO", "UBSS", "CDRG", "VIRT"};

} // namespace

itch_generator::itch_generator(const generator_config& config) : config_(config), rng_(config.seed) {
  if (config_.symbols == 0 || config_.symbols > 65535) throw std::invalid_argument("itch generator: symbols must be 1..65535");
  if (config_.end_ns <= config_.start_ns) throw std::invalid_argument("itch generator: end_ns must be after start_ns");
  stocks_.resize(config_.symbols);
  for (std::uint32_t i = 0; i < config_.symbols; ++i) {
    stock& s = stocks_[i];
    // Names AAAA, AAAB, ...: four letters of the index in base 26, then a digit-free pad.
    char name[8];
    std::uint32_t v = i;
    for (int k = 3; k >= 0; --k) {
      name[k] = static_cast<char>('A' + v % 26);
      v /= 26;
    }
    s.name.set(std::string_view(name, 4));
    // $5 to $500, on a 1-cent tick.
    const std::uint32_t dollars = 5 + static_cast<std::uint32_t>(rng_() % 496);
    s.mid = dollars * 10000;
    s.tick = 100;
  }
  // Activity by stock, Zipf-like: the stock of rank k (0 = busiest) gets a share of the
  // order flow proportional to 1 / (k + 10). With 3000 stocks the busiest has 1.6% of the
  // flow, the top 1% a quarter and the top 10% about 60%: a few busy names, a long tail.
  activity_.resize(config_.symbols);
  double total = 0;
  for (std::uint32_t k = 0; k < config_.symbols; ++k) activity_[k] = total += 1.0 / (k + 10.0);
  build_opening();
  const std::uint64_t fixed = (fixed_.size() - 1) + closing_count();
  main_count_ = config_.messages > fixed ? config_.messages - fixed : 0;
  opening_count_ = fixed_.size() - 1;
}

std::string itch_generator::symbol(std::uint16_t locate) const {
  if (locate == 0 || locate > stocks_.size()) return {};
  return std::string(stocks_[locate - 1u].name.trimmed());
}

std::uint64_t itch_generator::closing_count() const noexcept {
  // S 'M', I + Q per crossing stock, S 'E', S 'C'.
  const std::uint64_t crossing = (config_.symbols + kCrossEvery - 1) / kCrossEvery;
  return 3 + 2 * crossing;
}

template <class M>
M itch_generator::start(msg_type type, std::uint16_t locate, std::uint64_t ts) {
  M m = make<M>(type);
  m.hdr.stock_locate.set(locate);
  m.hdr.tracking_number.set(++tracking_);
  m.hdr.timestamp.set(ts);
  return m;
}

template <class M>
std::size_t itch_generator::put(const M& m, std::uint8_t* out) {
  std::memcpy(out, &m, sizeof(M));
  return sizeof(M);
}

template <class M>
void itch_generator::push_fixed(const M& m) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(&m);
  fixed_bytes_.insert(fixed_bytes_.end(), p, p + sizeof(M));
  fixed_.push_back(static_cast<std::uint32_t>(fixed_bytes_.size()));
}

void itch_generator::build_opening() {
  fixed_bytes_.clear();
  fixed_.assign(1, 0);
  fixed_pos_ = 0;
  // The opening spans 03:00 to the open; spread its messages evenly.
  const std::uint64_t n = 4 + (2ULL + kPreOpenOrders) * config_.symbols + config_.symbols / 5 +
                          2ULL * ((config_.symbols + 4) / 5);
  const std::uint64_t step = std::max<std::uint64_t>(1, (config_.start_ns - std::min(config_.start_ns, kOpeningStartNs)) / (n + 1));
  std::uint64_t ts = std::min(config_.start_ns, kOpeningStartNs);
  auto tick = [&] { return ts += step; };
  auto sys = [&](system_event_code code) {
    auto m = start<system_event>(msg_type::system_event, 0, tick());
    m.event_code = static_cast<char>(code);
    push_fixed(m);
  };
  sys(system_event_code::start_of_messages);
  sys(system_event_code::start_of_system_hours);
  {
    auto v = start<mwcb_decline_level>(msg_type::mwcb_decline_level, 0, tick());
    v.level1.set(3'400'000'000'000ULL); // 34000.00000000
    v.level2.set(3'150'000'000'000ULL);
    v.level3.set(2'900'000'000'000ULL);
    push_fixed(v);
  }
  for (std::uint32_t i = 0; i < config_.symbols; ++i) {
    const auto locate = static_cast<std::uint16_t>(i + 1);
    const stock& s = stocks_[i];
    auto r = start<stock_directory>(msg_type::stock_directory, locate, tick());
    r.stock = s.name;
    r.market_category = "QGS"[i % 3];
    r.financial_status_indicator = 'N';
    r.round_lot_size.set(100);
    r.round_lots_only = 'N';
    r.issue_classification = 'C';
    r.issue_sub_type.set("Z");
    r.authenticity = 'P';
    r.short_sale_threshold_indicator = 'N';
    r.ipo_flag = 'N';
    r.luld_reference_price_tier = i % 4 == 0 ? '1' : '2';
    r.etp_flag = 'N';
    r.etp_leverage_factor.set(0);
    r.inverse_indicator = 'N';
    push_fixed(r);
    auto h = start<stock_trading_action>(msg_type::stock_trading_action, locate, tick());
    h.stock = s.name;
    h.trading_state = static_cast<char>(trading_state::trading);
    h.reserved = ' ';
    h.reason.set("");
    push_fixed(h);
    if (i % 5 == 0) {
      auto y = start<reg_sho_restriction>(msg_type::reg_sho_restriction, locate, tick());
      y.stock = s.name;
      y.reg_sho_action = '0';
      push_fixed(y);
    }
  }
  // Pre-market: each stock's resting book, buys and sells in turn.
  for (std::uint32_t i = 0; i < config_.symbols; ++i) {
    stock& s = stocks_[i];
    for (std::uint32_t k = 0; k < kPreOpenOrders; ++k) {
      const bool buy = k % 2 == 0;
      const live_order o{next_ref_++, near_price(s, buy), pick_shares(), buy};
      rest(s, o);
      auto a = start<add_order>(msg_type::add_order, static_cast<std::uint16_t>(i + 1), tick());
      a.order_reference_number.set(o.ref);
      a.buy_sell_indicator = buy ? kBuy : kSell;
      a.shares.set(o.shares);
      a.stock = s.name;
      a.price.set(o.price);
      push_fixed(a);
    }
  }
  sys(system_event_code::start_of_market_hours);
  // Opening cross: imbalance then the cross, for every 5th stock.
  for (std::uint32_t i = 0; i < config_.symbols; i += kCrossEvery) push_cross(static_cast<std::uint16_t>(i + 1), 'O', 50, ts, step);
  ts_ = std::max(ts, config_.start_ns);
}

void itch_generator::push_cross(std::uint16_t locate, char cross_type, std::uint64_t max_lots, std::uint64_t& ts,
                                std::uint64_t step) {
  // The auction's imbalance (I), then its cross (Q). The opening's far price is a tick
  // above the mid and its price variation small ('L'); the close's are the mid and ' '.
  const stock& s = stocks_[locate - 1u];
  const bool opening = cross_type == 'O';
  auto im = start<noii>(msg_type::noii, locate, ts += step);
  im.paired_shares.set(1000 * (1 + rng_() % 50));
  im.imbalance_shares.set(100 * (rng_() % 20));
  im.imbalance_direction = "BSN"[rng_() % 3];
  im.stock = s.name;
  im.far_price.set(opening ? s.mid + s.tick : s.mid);
  im.near_price.set(s.mid);
  im.current_reference_price.set(s.mid);
  im.cross_type = cross_type;
  im.price_variation_indicator = opening ? 'L' : ' ';
  push_fixed(im);
  auto q = start<cross_trade>(msg_type::cross_trade, locate, ts += step);
  q.shares.set(1000 * (1 + rng_() % max_lots));
  q.stock = s.name;
  q.cross_price.set(s.mid);
  q.match_number.set(next_match_++);
  q.cross_type = cross_type;
  push_fixed(q);
}

void itch_generator::build_closing() {
  fixed_bytes_.clear();
  fixed_.assign(1, 0);
  fixed_pos_ = 0;
  std::uint64_t ts = std::max(ts_, config_.end_ns);
  auto tick = [&] { return ts += 1000; };
  auto sys = [&](system_event_code code) {
    auto m = start<system_event>(msg_type::system_event, 0, tick());
    m.event_code = static_cast<char>(code);
    push_fixed(m);
  };
  sys(system_event_code::end_of_market_hours);
  for (std::uint32_t i = 0; i < config_.symbols; i += kCrossEvery) push_cross(static_cast<std::uint16_t>(i + 1), 'C', 100, ts, 1000);
  sys(system_event_code::end_of_system_hours);
  sys(system_event_code::end_of_messages);
  ts_ = ts;
}

std::size_t itch_generator::next(std::uint8_t* out) {
  for (;;) {
    switch (phase_) {
    case phase::opening:
    case phase::closing:
      if (fixed_pos_ + 1 < fixed_.size()) {
        const std::uint32_t a = fixed_[fixed_pos_];
        const std::uint32_t b = fixed_[fixed_pos_ + 1];
        ++fixed_pos_;
        std::memcpy(out, fixed_bytes_.data() + a, b - a);
        ++produced_;
        return b - a;
      }
      if (phase_ == phase::opening) {
        phase_ = phase::flow;
      } else {
        phase_ = phase::done;
      }
      break;
    case phase::flow:
      if (main_done_ < main_count_) {
        ++main_done_;
        ++produced_;
        return flow_message(out);
      }
      build_closing();
      phase_ = phase::closing;
      break;
    case phase::done: return 0;
    }
  }
}

std::uint64_t itch_generator::flow_ts() {
  // Evenly over the session, with jitter, never backwards.
  const std::uint64_t span = config_.end_ns - config_.start_ns;
  const std::uint64_t target = config_.start_ns + static_cast<std::uint64_t>(
                                                      static_cast<double>(span) * static_cast<double>(main_done_) /
                                                      static_cast<double>(main_count_ + 1));
  ts_ = std::max(ts_ + 1, target + rng_() % 50);
  return ts_;
}

std::uint16_t itch_generator::pick_stock() {
  const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng_) * activity_.back();
  const auto i = static_cast<std::uint32_t>(std::upper_bound(activity_.begin(), activity_.end(), u) - activity_.begin());
  return static_cast<std::uint16_t>(std::min<std::uint32_t>(i, config_.symbols - 1) + 1);
}

std::uint32_t itch_generator::pick_shares() {
  if (rng_() % 10 == 0) return 1 + static_cast<std::uint32_t>(rng_() % 99); // odd lot
  std::uint32_t lots = 1;
  while (lots < 50 && rng_() % 3 != 0) ++lots;
  return 100 * lots;
}

std::uint32_t itch_generator::near_price(const stock& s, bool buy) {
  // A geometric number of ticks away from the inside: most adds land in the top levels.
  std::uint32_t away = 0;
  while (away < 200 && rng_() % 100 < 65) ++away;
  const std::uint32_t d = s.tick * away;
  if (buy) {
    const std::uint32_t p = s.mid > 2 * s.tick + d ? s.mid - s.tick - d : s.tick;
    // Asks are never below 2 ticks (a sell is at least a tick above a bid >= 1 tick).
    return s.asks.empty() ? p : std::min(p, s.asks.begin()->first - s.tick);
  }
  const std::uint32_t p = s.mid + s.tick + d;
  return s.bids.empty() ? p : std::max(p, s.bids.rbegin()->first + s.tick);
}

std::size_t itch_generator::pick_order(const stock& s) {
  const std::size_t n = s.orders.size();
  if (rng_() % 8 == 0) return static_cast<std::size_t>(rng_() % n);
  // One of the youngest: a geometric number of orders back from the newest (mean 4).
  std::size_t back = 0;
  while (back + 1 < n && rng_() % 5 != 0) ++back;
  return n - 1 - back;
}

std::size_t itch_generator::pick_at_inside(const stock& s) {
  // The youngest order at the best price of a random side (the other side when empty).
  bool buy = (rng_() & 1) != 0;
  if (buy ? s.bids.empty() : s.asks.empty()) buy = !buy;
  const std::uint32_t best = buy ? s.bids.rbegin()->first : s.asks.begin()->first;
  for (std::size_t i = s.orders.size(); i-- > 0;) {
    if (s.orders[i].buy == buy && s.orders[i].price == best) return i;
  }
  return s.orders.size() - 1; // not reached: every level counts a live order
}

void itch_generator::rest(stock& s, const live_order& o) {
  s.orders.push_back(o);
  ++(o.buy ? s.bids : s.asks)[o.price];
}

itch_generator::live_order itch_generator::take(stock& s, std::size_t i) {
  const live_order o = s.orders[i];
  s.orders.erase(s.orders.begin() + static_cast<std::ptrdiff_t>(i));
  auto& side = o.buy ? s.bids : s.asks;
  const auto it = side.find(o.price);
  if (--it->second == 0) side.erase(it);
  return o;
}

std::size_t itch_generator::flow_message(std::uint8_t* out) {
  std::uint32_t r = static_cast<std::uint32_t>(rng_() % kMixTotal);
  msg_type type = msg_type::add_order;
  for (const auto& e : kMix) {
    if (r < e.weight) {
      type = e.type;
      break;
    }
    r -= e.weight;
  }
  // Messages that remove or change an order look for a stock resting more than
  // kMinResting (a few tries keep the mix), and become adds when they find none.
  const bool needs_order = type == msg_type::order_delete || type == msg_type::order_replace ||
                           type == msg_type::order_executed || type == msg_type::order_executed_with_price ||
                           type == msg_type::order_cancel;
  std::uint16_t locate = pick_stock();
  for (int tries = 0; needs_order && stocks_[locate - 1u].orders.size() <= kMinResting && tries < 8; ++tries) {
    locate = pick_stock();
  }
  stock& s = stocks_[locate - 1u];
  const std::uint64_t ts = flow_ts();
  if (needs_order && s.orders.size() <= kMinResting) type = msg_type::add_order;
  // The mid drifts a tick now and then.
  if (rng_() % 512 == 0) {
    if ((rng_() & 1) != 0) {
      s.mid += s.tick;
    } else if (s.mid > 20 * s.tick) {
      s.mid -= s.tick;
    }
  }

  switch (type) {
  case msg_type::add_order:
  case msg_type::add_order_mpid: {
    const bool buy = (rng_() & 1) != 0;
    const live_order o{next_ref_++, near_price(s, buy), pick_shares(), buy};
    rest(s, o);
    if (type == msg_type::add_order) {
      auto m = start<add_order>(type, locate, ts);
      m.order_reference_number.set(o.ref);
      m.buy_sell_indicator = buy ? kBuy : kSell;
      m.shares.set(o.shares);
      m.stock = s.name;
      m.price.set(o.price);
      return put(m, out);
    }
    auto m = start<add_order_mpid>(type, locate, ts);
    m.order_reference_number.set(o.ref);
    m.buy_sell_indicator = buy ? kBuy : kSell;
    m.shares.set(o.shares);
    m.stock = s.name;
    m.price.set(o.price);
    m.attribution.set(kMpids[rng_() % std::size(kMpids)]);
    return put(m, out);
  }
  case msg_type::order_delete: {
    auto m = start<order_delete>(type, locate, ts);
    m.order_reference_number.set(take(s, pick_order(s)).ref);
    return put(m, out);
  }
  case msg_type::order_replace: {
    // The replacement is a new order (new reference, back of the queue): the youngest.
    live_order o = take(s, pick_order(s));
    auto m = start<order_replace>(type, locate, ts);
    m.original_order_reference_number.set(o.ref);
    o.ref = next_ref_++;
    o.price = near_price(s, o.buy);
    o.shares = pick_shares();
    rest(s, o);
    m.new_order_reference_number.set(o.ref);
    m.shares.set(o.shares);
    m.price.set(o.price);
    return put(m, out);
  }
  case msg_type::order_executed:
  case msg_type::order_executed_with_price: {
    const std::size_t i = pick_at_inside(s);
    live_order& o = s.orders[i];
    const std::uint32_t qty = rng_() % 5 < 3 ? o.shares : 1 + static_cast<std::uint32_t>(rng_() % o.shares);
    const std::uint64_t ref = o.ref;
    const std::uint32_t price = o.price;
    if (qty >= o.shares) {
      (void)take(s, i);
    } else {
      o.shares -= qty;
    }
    if (type == msg_type::order_executed) {
      auto m = start<order_executed>(type, locate, ts);
      m.order_reference_number.set(ref);
      m.executed_shares.set(qty);
      m.match_number.set(next_match_++);
      return put(m, out);
    }
    auto m = start<order_executed_with_price>(type, locate, ts);
    m.order_reference_number.set(ref);
    m.executed_shares.set(qty);
    m.match_number.set(next_match_++);
    m.printable = rng_() % 10 == 0 ? 'N' : 'Y';
    m.execution_price.set(price);
    return put(m, out);
  }
  case msg_type::order_cancel: {
    const std::size_t i = pick_order(s);
    live_order& o = s.orders[i];
    const std::uint32_t qty = o.shares > 1 ? 1 + static_cast<std::uint32_t>(rng_() % (o.shares - 1)) : 1;
    auto m = start<order_cancel>(type, locate, ts);
    m.order_reference_number.set(o.ref);
    m.cancelled_shares.set(qty);
    if (qty >= o.shares) {
      (void)take(s, i);
    } else {
      o.shares -= qty;
    }
    return put(m, out);
  }
  case msg_type::trade: {
    auto m = start<trade>(type, locate, ts);
    m.order_reference_number.set(0);
    m.buy_sell_indicator = kBuy;
    m.shares.set(pick_shares());
    m.stock = s.name;
    m.price.set(s.mid);
    m.match_number.set(next_match_++);
    return put(m, out);
  }
  case msg_type::cross_trade: {
    auto m = start<cross_trade>(type, locate, ts);
    m.shares.set(rng_() % 4 == 0 ? 0 : 100ULL * (1 + rng_() % 100));
    m.stock = s.name;
    m.cross_price.set(s.mid);
    m.match_number.set(next_match_++);
    m.cross_type = rng_() % 2 == 0 ? 'H' : 'I';
    return put(m, out);
  }
  case msg_type::broken_trade: {
    auto m = start<broken_trade>(type, locate, ts);
    m.match_number.set(1 + rng_() % next_match_);
    return put(m, out);
  }
  case msg_type::stock_trading_action: {
    auto m = start<stock_trading_action>(type, locate, ts);
    m.stock = s.name;
    m.trading_state = "HPQT"[rng_() % 4];
    m.reserved = ' ';
    m.reason.set(m.trading_state == 'T' ? "" : "LUDP");
    return put(m, out);
  }
  case msg_type::reg_sho_restriction: {
    auto m = start<reg_sho_restriction>(type, locate, ts);
    m.stock = s.name;
    m.reg_sho_action = "012"[rng_() % 3];
    return put(m, out);
  }
  case msg_type::luld_auction_collar: {
    auto m = start<luld_auction_collar>(type, locate, ts);
    m.stock = s.name;
    m.auction_collar_reference_price.set(s.mid);
    m.upper_auction_collar_price.set(s.mid + s.mid / 20);
    m.lower_auction_collar_price.set(s.mid - s.mid / 20);
    m.auction_collar_extension.set(static_cast<std::uint32_t>(rng_() % 3));
    return put(m, out);
  }
  case msg_type::operational_halt: {
    auto m = start<operational_halt>(type, locate, ts);
    m.stock = s.name;
    m.market_code = "QBX"[rng_() % 3];
    m.operational_halt_action = "HT"[rng_() % 2];
    return put(m, out);
  }
  case msg_type::noii: {
    auto m = start<noii>(type, locate, ts);
    m.paired_shares.set(100 * (rng_() % 1000));
    m.imbalance_shares.set(100 * (rng_() % 100));
    m.imbalance_direction = "BSNO"[rng_() % 4];
    m.stock = s.name;
    m.far_price.set(s.mid + s.tick);
    m.near_price.set(s.mid);
    m.current_reference_price.set(s.mid);
    m.cross_type = 'H';
    m.price_variation_indicator = "L12345"[rng_() % 6];
    return put(m, out);
  }
  case msg_type::rpii: {
    auto m = start<rpii>(type, locate, ts);
    m.stock = s.name;
    m.interest_flag = "BSAN"[rng_() % 4];
    return put(m, out);
  }
  case msg_type::market_participant_position: {
    auto m = start<market_participant_position>(type, locate, ts);
    m.mpid.set(kMpids[rng_() % std::size(kMpids)]);
    m.stock = s.name;
    m.primary_market_maker = "YN"[rng_() % 2];
    m.market_maker_mode = 'N';
    m.market_participant_state = 'A';
    return put(m, out);
  }
  case msg_type::ipo_quoting_period_update: {
    auto m = start<ipo_quoting_period_update>(type, locate, ts);
    m.stock = s.name;
    m.ipo_quotation_release_time.set(static_cast<std::uint32_t>(ts / 1'000'000'000ULL + 1800));
    m.ipo_quotation_release_qualifier = "AC"[rng_() % 2];
    m.ipo_price.set(s.mid);
    return put(m, out);
  }
  case msg_type::dlcr_price_discovery: {
    auto m = start<dlcr_price_discovery>(type, locate, ts);
    m.stock = s.name;
    m.open_eligibility_status = "NY"[rng_() % 2];
    m.minimum_allowable_price.set(s.mid - s.mid / 10);
    m.maximum_allowable_price.set(s.mid + s.mid / 10);
    m.near_execution_price.set(s.mid);
    m.near_execution_time.set(ts + 60'000'000'000ULL);
    m.lower_price_range_collar.set(s.mid - s.mid / 20);
    m.upper_price_range_collar.set(s.mid + s.mid / 20);
    return put(m, out);
  }
  case msg_type::mwcb_status: {
    auto m = start<mwcb_status>(type, 0, ts);
    m.breached_level = "123"[rng_() % 3];
    return put(m, out);
  }
  default: break;
  }
  // Not in the mix (S, R, V): never reached; a system event keeps the stream valid.
  auto m = start<system_event>(msg_type::system_event, 0, ts);
  m.event_code = 'Q';
  return put(m, out);
}

std::uint64_t write_binary_file(const std::string& path, const generator_config& config) {
  itch_generator g(config); // first: a bad config throws before a file exists
  const bool gz = path.size() >= 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> plain(nullptr, &std::fclose);
  gzFile gzf = nullptr;
  if (gz) {
    gzf = ::gzopen(path.c_str(), "wb6");
    if (gzf == nullptr) throw std::runtime_error("itch generator: cannot write " + path);
  } else {
    plain.reset(std::fopen(path.c_str(), "wb"));
    if (!plain) throw std::runtime_error("itch generator: cannot write " + path);
  }
  std::vector<std::uint8_t> buf;
  buf.reserve(1 << 20);
  bool ok = true;
  auto flush = [&] {
    if (buf.empty()) return;
    if (gz) {
      ok = ok && ::gzwrite(gzf, buf.data(), static_cast<unsigned>(buf.size())) == static_cast<int>(buf.size());
    } else {
      ok = ok && std::fwrite(buf.data(), 1, buf.size(), plain.get()) == buf.size();
    }
    buf.clear();
  };
  std::uint8_t msg[itch_generator::kMaxMessage];
  std::uint64_t n = 0;
  for (std::size_t len; (len = g.next(msg)) != 0; ++n) {
    buf.push_back(static_cast<std::uint8_t>(len >> 8));
    buf.push_back(static_cast<std::uint8_t>(len & 0xff));
    buf.insert(buf.end(), msg, msg + len);
    if (buf.size() > (1 << 20) - 128) flush();
  }
  flush();
  if (gz) {
    ok = ::gzclose(gzf) == Z_OK && ok;
  } else {
    ok = std::fclose(plain.release()) == 0 && ok;
  }
  if (!ok) throw std::runtime_error("itch generator: write to " + path + " failed");
  return n;
}

} // namespace mdgw::itch
