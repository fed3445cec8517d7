#include "simulator.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace mdgw {

namespace {

using sim_detail::book_side;
using sim_detail::kNil;
using sim_detail::level;
using sim_detail::order;

// Plausible US-equity names with illustrative starting prices in 1e-4 dollars (price
// scale 4). The order is fixed: it is part of the deterministic stream. The first
// entries are the most active names (see pick_instrument).
struct ticker {
  const char* name;
  std::int64_t price;
};
constexpr ticker kTickers[] = {
    {"AAPL", 1'892'500},  {"MSFT", 4'151'000},  {"NVDA", 8'753'000},  {"AMZN", 1'784'000},
    {"TSLA", 1'710'500},  {"META", 4'962'000},  {"GOOGL", 1'526'000}, {"AMD", 1'623'500},
    {"JPM", 1'984'500},   {"V", 2'768'000},     {"UNH", 4'921'500},   {"XOM", 1'173'000},
    {"JNJ", 1'529'000},   {"WMT", 602'500},     {"MA", 4'657'000},    {"PG", 1'614'000},
    {"HD", 3'485'500},    {"CVX", 1'581'000},   {"MRK", 1'283'500},   {"ABBV", 1'716'000},
    {"KO", 601'500},      {"PEP", 1'689'000},   {"COST", 7'352'000},  {"AVGO", 13'205'000},
    {"ADBE", 5'057'500},  {"CRM", 2'974'000},   {"NFLX", 6'228'000},  {"INTC", 352'000},
    {"CSCO", 486'500},    {"ORCL", 1'251'000},  {"BAC", 374'500},     {"WFC", 582'000},
    {"C", 628'500},       {"GS", 4'553'000},    {"MS", 934'000},      {"T", 170'500},
    {"VZ", 401'500},      {"DIS", 1'126'000},   {"NKE", 931'000},     {"MCD", 2'713'500},
    {"SBUX", 879'000},    {"BA", 1'822'500},    {"CAT", 3'554'000},   {"GE", 1'612'000},
    {"F", 121'500},       {"GM", 443'000},      {"UBER", 718'000},    {"PYPL", 645'000},
    {"SHOP", 734'000},    {"SNAP", 113'500},    {"PLTR", 226'000},    {"SOFI", 74'500},
    {"NIO", 46'500},      {"LCID", 28'500},     {"AAL", 142'000},     {"CCL", 153'500},
    {"PFE", 279'000},     {"BMY", 441'000},     {"LLY", 7'806'000},   {"TMO", 5'652'000},
    {"ISRG", 3'857'000},  {"AMGN", 2'753'000},  {"GILD", 684'000},    {"QCOM", 1'702'500},
    {"TXN", 1'728'000},   {"MU", 1'189'000},    {"AMAT", 2'056'000},  {"LRCX", 9'204'000},
    {"KLAC", 6'901'500},  {"TSM", 1'402'000},   {"IBM", 1'835'000},   {"NOW", 7'602'000},
    {"INTU", 6'403'000},  {"AZO", 29'500'000},  {"CMG", 28'905'000},  {"MKL", 15'204'000},
    {"TDG", 12'607'000},  {"FICO", 11'803'000}, {"MTD", 13'502'000},  {"ORLY", 10'106'000},
    {"GWW", 9'604'000},   {"DECK", 8'805'000},  {"SIRI", 31'000},     {"GRAB", 32'500},
    {"BBD", 26'000},      {"ITUB", 64'000},     {"VALE", 121'000},    {"PLUG", 31'500},
    {"HBAN", 131'000},    {"KEY", 145'000},     {"RIG", 52'000},      {"TLRY", 18'500},
    {"MULN", 5'600},      {"CENN", 6'200},      {"GNS", 8'700},       {"TRKA", 5'000},
    {"BBIG", 7'300},      {"NKLA", 7'850},      {"IDEX", 9'150},      {"FFIE", 6'650},
};
constexpr std::size_t kTickerCount = sizeof(kTickers) / sizeof(kTickers[0]);
static_assert(kTickerCount >= 64);

constexpr std::int64_t kDollar = 10'000;        // price units per dollar at scale 4
constexpr std::size_t kHotInstruments = 8;      // a quarter of the flow goes to these
constexpr std::size_t kSeedOrders = 300;        // initial resting orders per instrument
constexpr std::uint32_t kMidMoveOdds = 32;      // the mid moves on 1 in 32 actions

// Shares of the order actions, out of 1024, away from the thin-side and cap rules.
constexpr std::int64_t kMarketableShare = 102; // ~10%
constexpr std::int64_t kAddShare = 563;        // ~55% at the target order count
constexpr std::int64_t kAddFeedback = 256;     // add share moves by this per target of excess
constexpr std::int64_t kAddMin = 307;
constexpr std::int64_t kAddMax = 819;

std::uint64_t splitmix64(std::uint64_t& x) noexcept {
  std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }

constexpr std::int64_t key_of(side s, std::int64_t price) noexcept { return s == side::bid ? price : -price; }
constexpr std::int64_t price_of(side s, std::int64_t key) noexcept { return s == side::bid ? key : -key; }

// Index of the level with this key, or where it would be inserted. Activity clusters at
// the inside (the back), so look there before bisecting.
std::size_t find_level(const std::vector<level>& v, std::int64_t key) noexcept {
  const std::size_t n = v.size();
  const std::size_t scan = std::min<std::size_t>(n, 8);
  for (std::size_t k = 0; k < scan; ++k) {
    const std::size_t i = n - 1 - k;
    if (v[i].key <= key) return v[i].key == key ? i : i + 1;
  }
  if (scan == n) return 0;
  const auto end = v.begin() + static_cast<std::ptrdiff_t>(n - scan);
  return static_cast<std::size_t>(
      std::lower_bound(v.begin(), end, key, [](const level& l, std::int64_t k) { return l.key < k; }) - v.begin());
}

std::vector<std::uint64_t> geometric_weights(std::size_t n, std::uint64_t num, std::uint64_t den) {
  std::vector<std::uint64_t> w(n);
  std::uint64_t x = 1'000'000;
  for (auto& e : w) {
    e = x;
    x = x * num / den;
  }
  return w;
}

// Lots of a new order: mostly one lot, round sizes more popular than their neighbours.
std::vector<std::uint64_t> size_weights() {
  std::vector<std::uint64_t> w(41, 0);
  const std::pair<int, int> table[] = {{1, 300}, {2, 180}, {3, 120}, {4, 80}, {5, 100}, {6, 30},
                                       {7, 25},  {8, 25},  {9, 15},  {10, 60}, {15, 15}, {20, 25},
                                       {25, 10}, {30, 8},  {40, 6}};
  for (auto [lots, weight] : table) w[static_cast<std::size_t>(lots)] = static_cast<std::uint64_t>(weight);
  for (std::size_t k = 11; k < 40; ++k) {
    if (w[k] == 0) w[k] = 3;
  }
  return w;
}

std::uint32_t alloc_order(sim_detail::instrument& in) {
  if (!in.free.empty()) {
    const std::uint32_t idx = in.free.back();
    in.free.pop_back();
    return idx;
  }
  in.pool.emplace_back();
  return static_cast<std::uint32_t>(in.pool.size() - 1);
}

// Appends a new order at the tail of its level's FIFO (creating the level).
void rest_order(sim_detail::instrument& in, std::uint64_t id, side s, std::int64_t price, std::int64_t lots) {
  const std::uint32_t idx = alloc_order(in);
  book_side& bs = in.sides[static_cast<int>(s)];
  const std::int64_t key = key_of(s, price);
  std::size_t li = find_level(bs.levels, key);
  if (li == bs.levels.size() || bs.levels[li].key != key) {
    level l;
    l.key = key;
    bs.levels.insert(bs.levels.begin() + static_cast<std::ptrdiff_t>(li), l);
  }
  level& l = bs.levels[li];
  order& o = in.pool[idx];
  o.id = id;
  o.price = price;
  o.lots = lots;
  o.s = s;
  o.prev = l.tail;
  o.next = kNil;
  o.live_pos = static_cast<std::uint32_t>(in.live.size());
  if (l.tail != kNil) {
    in.pool[l.tail].next = idx;
  } else {
    l.head = idx;
  }
  l.tail = idx;
  l.lots += lots;
  ++l.count;
  ++bs.orders;
  in.live.push_back(idx);
}

// Unlinks an order (and its remaining lots) from level li of its side and frees it;
// erases the level when it empties.
void remove_order(sim_detail::instrument& in, std::uint32_t idx, std::size_t li) {
  order& o = in.pool[idx];
  book_side& bs = in.sides[static_cast<int>(o.s)];
  level& l = bs.levels[li];
  if (o.prev != kNil) {
    in.pool[o.prev].next = o.next;
  } else {
    l.head = o.next;
  }
  if (o.next != kNil) {
    in.pool[o.next].prev = o.prev;
  } else {
    l.tail = o.prev;
  }
  l.lots -= o.lots;
  --l.count;
  --bs.orders;
  if (l.count == 0) bs.levels.erase(bs.levels.begin() + static_cast<std::ptrdiff_t>(li));
  // Swap-remove from the live list, fixing the position of the order moved into the hole.
  const std::uint32_t pos = o.live_pos;
  const std::uint32_t last = in.live.back();
  in.live[pos] = last;
  in.pool[last].live_pos = pos;
  in.live.pop_back();
  o.lots = 0;
  o.prev = o.next = kNil;
  in.free.push_back(idx);
}

void emit(std::vector<market_event>& out, market_event::type what, side s, std::uint32_t orders, instrument_id id,
          std::int64_t price_ticks, std::int64_t lots, const sim_detail::instrument& in, std::uint64_t ts) {
  market_event e;
  e.what = what;
  e.s = s;
  e.orders = orders;
  e.instrument = id;
  e.price = price_ticks * in.tick;
  e.qty = lots * in.lot;
  e.exch_ts = ts;
  out.push_back(e);
}

instrument_info make_info(std::size_t k) {
  const ticker& t = kTickers[k % kTickerCount];
  const std::size_t round = k / kTickerCount;
  std::int64_t price = t.price;
  // Appended piece by piece: `"..." + std::string` trips a GCC 12 -Wrestrict false
  // positive (PR 105329) at -O3.
  std::string symbol = "SIM:";
  symbol += t.name;
  if (round > 0) {
    // More instruments than names: share-class-like variants, priced 70%..130% of the base.
    symbol += '.';
    symbol += std::to_string(round + 1);
    price = price * static_cast<std::int64_t>(70 + (round * 37) % 61) / 100;
  }
  instrument_info info;
  info.id = static_cast<instrument_id>(k);
  info.symbol = std::move(symbol);
  info.venue = "SIM";
  info.price_scale = 4;
  info.qty_scale = 0;
  // US equities: $0.01 ticks from $1, $0.0001 below; round lots of 100, single shares
  // for the names priced like AZO or CMG.
  info.tick_size = price < kDollar ? 1 : 100;
  info.lot_size = price >= 500 * kDollar ? 1 : 100;
  return info;
}

std::int64_t start_price(std::size_t k, std::int64_t tick) {
  const ticker& t = kTickers[k % kTickerCount];
  const std::size_t round = k / kTickerCount;
  std::int64_t price = t.price;
  if (round > 0) price = price * static_cast<std::int64_t>(70 + (round * 37) % 61) / 100;
  return std::max<std::int64_t>(1, price / tick);
}

} // namespace

sim_rng::sim_rng(std::uint64_t seed) noexcept {
  std::uint64_t x = seed;
  for (auto& s : state_) s = splitmix64(x);
}

std::uint64_t sim_rng::next() noexcept {
  const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
  const std::uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = rotl(state_[3], 45);
  return result;
}

sim_table::sim_table(const std::vector<std::uint64_t>& weights) {
  if (weights.empty() || weights.size() > 256) throw std::invalid_argument("sim_table: 1..256 values");
  std::uint64_t total = 0;
  for (auto w : weights) total += w;
  if (total == 0 || total > (1ULL << 48)) throw std::invalid_argument("sim_table: bad weights");
  // Slot j stands for the quantile (j + 1/2) / 4096: it gets the first value whose
  // cumulative weight passes it.
  std::size_t k = 0;
  std::uint64_t cum = weights[0];
  for (std::size_t j = 0; j < slots_.size(); ++j) {
    const std::uint64_t target = (2 * j + 1) * total;
    while (cum * 2 * slots_.size() <= target && k + 1 < weights.size()) cum += weights[++k];
    slots_[j] = static_cast<std::uint8_t>(k);
  }
}

market_simulator::market_simulator(const simulator_config& config)
    : config_(config), rng_(config.seed), distance_(geometric_weights(80, 9, 10)), size_(size_weights()) {
  if (config.instruments == 0 || config.instruments > kMaxInstruments) {
    std::string what = "simulator: instruments must be in 1..";
    what += std::to_string(kMaxInstruments);
    throw std::invalid_argument(what);
  }
  if (!(config.rate >= 0 && config.rate <= kMaxRate)) { // also rejects NaN
    throw std::invalid_argument("simulator: rate must be in 0..1e9 actions/s");
  }
  infos_.reserve(config.instruments);
  state_.resize(config.instruments);
  for (std::size_t k = 0; k < config.instruments; ++k) {
    infos_.push_back(make_info(k));
    instrument& in = state_[k];
    in.tick = infos_.back().tick_size;
    in.lot = infos_.back().lot_size;
    const std::int64_t start = start_price(k, in.tick);
    in.mid = start;
    // Depth spacing about half a basis point, mid moves about one: a $3000 name is
    // not quoted on every cent, a $0.56 one is.
    in.step = std::max<std::int64_t>(1, start / 20'000);
    in.move = std::max<std::int64_t>(1, start / 10'000);
    // The mid stays within a factor of two of the start, so prices stay positive and
    // the deepest bid (about 64 steps under the mid) stays above zero.
    in.lo = std::max<std::int64_t>(start / 2, 80 * in.step + 2);
    in.hi = std::max<std::int64_t>(start * 2, in.lo + 2 * in.move);
    in.mid = std::clamp(in.mid, in.lo, in.hi);
    for (auto& bs : in.sides) bs.levels.reserve(128);
    in.pool.reserve(kTargetRestingOrders * 2);
    in.live.reserve(kTargetRestingOrders * 2);
  }
}

std::int64_t market_simulator::limit_distance(const instrument& in) noexcept {
  std::int64_t d = static_cast<std::int64_t>(distance_.sample(rng_)) * in.step;
  if (in.step > 1) d += rng_.below(static_cast<std::uint32_t>(in.step));
  return d;
}

void market_simulator::seed(std::uint64_t exch_ts, std::vector<market_event>& out) {
  if (seeded_) return;
  seeded_ = true;
  for (std::size_t k = 0; k < state_.size(); ++k) {
    instrument& in = state_[k];
    // Bids at or under mid - 1, asks at or over mid: nothing crosses while seeding.
    for (std::size_t n = 0; n < kSeedOrders; ++n) {
      const side s = (n & 1U) != 0 ? side::ask : side::bid;
      const std::int64_t d = limit_distance(in);
      const std::int64_t price = s == side::bid ? std::max<std::int64_t>(1, in.mid - 1 - d) : in.mid + d;
      rest_order(in, next_order_id_++, s, price, size_.sample(rng_));
    }
    const auto id = static_cast<instrument_id>(k);
    for (side s : {side::bid, side::ask}) {
      const auto& levels = in.sides[static_cast<int>(s)].levels;
      for (auto it = levels.rbegin(); it != levels.rend(); ++it) {
        emit(out, market_event::type::add, s, it->count, id, price_of(s, it->key), it->lots, in, exch_ts);
      }
    }
  }
}

void market_simulator::next(std::uint64_t exch_ts, std::vector<market_event>& out) {
  if (done()) return;
  if (!seeded_) seed(exch_ts, out);
  // A quarter of the flow goes to the few most active names, the rest is uniform.
  const std::size_t n = state_.size();
  const std::size_t hot = std::min(n, kHotInstruments);
  const bool pick_hot = rng_.below(4) == 0;
  const auto id = static_cast<instrument_id>(rng_.below(static_cast<std::uint32_t>(pick_hot ? hot : n)));
  act(id, exch_ts, out);
  ++actions_;
}

void market_simulator::act(instrument_id id, std::uint64_t ts, std::vector<market_event>& out) {
  instrument& in = state_[id];
  if (rng_.below(kMidMoveOdds) == 0) {
    std::int64_t m = in.mid + (rng_.below(2) == 0 ? in.move : -in.move);
    if (m < in.lo || m > in.hi) m = 2 * in.mid - m; // reflect at the band
    in.mid = m;
  }
  if (in.live.size() >= kMaxRestingOrders) {
    cancel_farthest(id, ts, out);
    return;
  }
  const bool thin_bid = in.sides[0].levels.size() < kThinLevels;
  const bool thin_ask = in.sides[1].levels.size() < kThinLevels;
  if ((thin_bid || thin_ask) && rng_.below(8) != 0) {
    side s = thin_bid ? side::bid : side::ask;
    if (thin_bid && thin_ask && rng_.below(2) != 0) s = side::ask;
    add_limit(id, s, ts, out);
    return;
  }
  // Feedback toward the target order count keeps the depth profile stationary.
  const auto count = static_cast<std::int64_t>(in.live.size());
  const auto target = static_cast<std::int64_t>(kTargetRestingOrders);
  const std::int64_t add_share =
      std::clamp(kAddShare + kAddFeedback * (target - count) / target, kAddMin, kAddMax);
  const auto r = static_cast<std::int64_t>(rng_.below(1024));
  if (r < kMarketableShare) {
    marketable(id, ts, out);
  } else if (r < kMarketableShare + add_share) {
    add_limit(id, rng_.below(2) == 0 ? side::bid : side::ask, ts, out);
  } else {
    cancel_random(id, ts, out);
  }
}

void market_simulator::add_limit(instrument_id id, side s, std::uint64_t ts, std::vector<market_event>& out) {
  instrument& in = state_[id];
  std::int64_t lots = size_.sample(rng_);
  const std::int64_t d = limit_distance(in);
  std::int64_t price = s == side::bid ? std::max<std::int64_t>(1, in.mid - 1 - d) : in.mid + d;
  const book_side& opp = in.sides[static_cast<int>(opposite(s))];
  if (!opp.levels.empty()) {
    const std::int64_t best = price_of(opposite(s), opp.levels.back().key);
    const bool crosses = s == side::bid ? price >= best : price <= best;
    if (crosses) {
      // Marketable: execute first, rest the remainder. The limit is held inside the
      // deepest opposite level so the order can never empty that side; the remainder
      // then rests strictly better than nothing it could trade with: never crossed.
      const std::int64_t worst = price_of(opposite(s), opp.levels.front().key);
      price = s == side::bid ? std::min(price, worst - 1) : std::max(price, worst + 1);
      lots = sweep(id, s, price, lots, ts, out);
    }
  }
  if (lots > 0 && price > 0) {
    rest_order(in, next_order_id_++, s, price, lots);
    emit(out, market_event::type::add, s, 1, id, price, lots, in, ts);
  }
}

void market_simulator::cancel_random(instrument_id id, std::uint64_t ts, std::vector<market_event>& out) {
  instrument& in = state_[id];
  if (in.live.empty()) {
    add_limit(id, rng_.below(2) == 0 ? side::bid : side::ask, ts, out);
    return;
  }
  // Uniform over resting orders: a constant cancel rate per order, like real books
  // where stale far-away orders eventually go.
  const std::uint32_t idx = in.live[rng_.below(static_cast<std::uint32_t>(in.live.size()))];
  order& o = in.pool[idx];
  const side s = o.s;
  book_side& bs = in.sides[static_cast<int>(s)];
  const std::size_t li = find_level(bs.levels, key_of(s, o.price));
  const std::int64_t price = o.price;
  bool full = o.lots == 1 || rng_.below(4) != 0;
  if (full && bs.orders == 1) {
    // The last order of a side: never empty it.
    if (o.lots == 1) {
      add_limit(id, s, ts, out);
      return;
    }
    full = false;
  }
  if (full) {
    emit(out, market_event::type::reduce, s, 1, id, price, o.lots, in, ts);
    remove_order(in, idx, li);
  } else {
    const std::int64_t cut = 1 + rng_.below(static_cast<std::uint32_t>(o.lots - 1));
    o.lots -= cut;
    bs.levels[li].lots -= cut;
    emit(out, market_event::type::reduce, s, 0, id, price, cut, in, ts);
  }
}

void market_simulator::cancel_farthest(instrument_id id, std::uint64_t ts, std::vector<market_event>& out) {
  instrument& in = state_[id];
  const side s = in.sides[0].orders >= in.sides[1].orders ? side::bid : side::ask;
  book_side& bs = in.sides[static_cast<int>(s)];
  const std::uint32_t idx = bs.levels.front().head;
  const order& o = in.pool[idx];
  emit(out, market_event::type::reduce, s, 1, id, o.price, o.lots, in, ts);
  remove_order(in, idx, 0);
}

void market_simulator::marketable(instrument_id id, std::uint64_t ts, std::vector<market_event>& out) {
  instrument& in = state_[id];
  const side a = rng_.below(2) == 0 ? side::bid : side::ask;
  const side o = opposite(a);
  const book_side& opp = in.sides[static_cast<int>(o)];
  if (opp.levels.size() < 2) {
    add_limit(id, o, ts, out);
    return;
  }
  // An immediate-or-cancel order a few steps through the inside, held inside the
  // deepest opposite level so it can never empty the side. Its remainder expires.
  const std::int64_t best = price_of(o, opp.levels.back().key);
  const std::int64_t worst = price_of(o, opp.levels.front().key);
  const std::int64_t through = static_cast<std::int64_t>(rng_.below(4)) * in.step;
  const std::int64_t limit = a == side::bid ? std::min(best + through, worst - 1) : std::max(best - through, worst + 1);
  const std::int64_t lots = static_cast<std::int64_t>(size_.sample(rng_)) + size_.sample(rng_);
  (void)sweep(id, a, limit, lots, ts, out);
}

std::int64_t market_simulator::sweep(instrument_id id, side aggressor, std::int64_t limit, std::int64_t lots,
                                     std::uint64_t ts, std::vector<market_event>& out) {
  instrument& in = state_[id];
  const side o = opposite(aggressor);
  book_side& bs = in.sides[static_cast<int>(o)];
  while (lots > 0 && !bs.levels.empty()) {
    const std::size_t li = bs.levels.size() - 1;
    const std::int64_t price = price_of(o, bs.levels[li].key);
    if (aggressor == side::bid ? price > limit : price < limit) break;
    std::int64_t filled = 0;
    std::uint32_t gone = 0;
    bool level_gone = false;
    while (lots > 0) {
      level& l = bs.levels[li];
      const std::uint32_t idx = l.head;
      order& ord = in.pool[idx];
      const std::int64_t take = std::min(lots, ord.lots);
      lots -= take;
      filled += take;
      if (take == ord.lots) {
        ++gone;
        level_gone = l.count == 1;
        remove_order(in, idx, li); // takes ord.lots off the level
        if (level_gone) break;
      } else {
        ord.lots -= take;
        l.lots -= take;
      }
    }
    // Trade first, then the passive reduce: a consumer sees each trade against the
    // book as it stood, so the trade price is the passive best at that moment.
    emit(out, market_event::type::trade, aggressor, 0, id, price, filled, in, ts);
    emit(out, market_event::type::reduce, o, gone, id, price, filled, in, ts);
    if (!level_gone) break; // the level absorbed the rest
  }
  return lots;
}

} // namespace mdgw
