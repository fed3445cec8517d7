// The test oracle for itch_book: an ITCH 5.0 order book written separately from the fast
// one and kept obviously correct rather than fast. It shares no code with feeds/itch:
// it reads fields at the specification's offsets with its own big-endian reader, keeps
// orders in a std::map and levels in std::maps, and applies the same documented policies
// for bad input (see the rationale in feeds/itch/itch_book.hpp) so the two can be
// compared message by message: levels, events and counters.
#pragma once

#include "events.hpp"
#include "types.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace mdgw::itch_ref {

// Message lengths, from the specification (again, on purpose).
inline std::size_t spec_length(char type) {
  switch (type) {
  case 'S': return 12;
  case 'R': return 39;
  case 'H': return 25;
  case 'Y': return 20;
  case 'L': return 26;
  case 'V': return 35;
  case 'W': return 12;
  case 'K': return 28;
  case 'J': return 35;
  case 'h': return 21;
  case 'A': return 36;
  case 'F': return 40;
  case 'E': return 31;
  case 'C': return 36;
  case 'X': return 23;
  case 'D': return 19;
  case 'U': return 35;
  case 'P': return 44;
  case 'Q': return 40;
  case 'B': return 19;
  case 'I': return 50;
  case 'N': return 20;
  case 'O': return 48;
  default: return 0;
  }
}

// Big-endian unsigned integer of n bytes at p + off.
inline std::uint64_t be(const std::uint8_t* p, std::size_t off, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = v * 256 + p[off + i];
  return v;
}

inline std::string text(const std::uint8_t* p, std::size_t off, std::size_t n) {
  std::string s(reinterpret_cast<const char*>(p + off), n);
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

struct order {
  std::uint16_t locate = 0;
  bool buy = true;
  std::uint32_t price = 0;
  std::uint32_t shares = 0;
};

struct level {
  std::int64_t qty = 0;
  std::uint64_t orders = 0;
};

struct book {
  std::map<std::uint32_t, level, std::greater<>> bids; // best first
  std::map<std::uint32_t, level> asks;                  // best first
};

// The per-locate state the fast book also keeps (a subset, enough to check each field
// reaches the right place).
struct state {
  std::string symbol;
  std::uint32_t round_lot = 0;
  char trading_state = ' ';
  std::string trading_reason;
  char reg_sho = ' ';
  std::uint32_t luld_ref = 0, luld_upper = 0, luld_lower = 0, luld_ext = 0;
  char halt_market = ' ', halt_action = ' ';
  std::uint32_t ipo_time = 0, ipo_price = 0;
  char ipo_qualifier = ' ';
  char rpii = ' ';
  bool imbalance = false;
  std::uint64_t paired = 0, imbalance_shares = 0;
  char direction = ' ';
  std::uint32_t far = 0, near = 0, reference = 0;
  char cross_type = ' ', variation = ' ';
  std::uint64_t broken = 0;
};

struct counters {
  // E, C, X, D, U
  std::array<std::uint64_t, 5> unknown_ref{};
  std::uint64_t duplicate_ref = 0;
  std::uint64_t invalid_order = 0;
  std::uint64_t over_execution = 0;
  std::uint64_t locate_mismatch = 0;
  std::uint64_t trades = 0;
  std::uint64_t non_printable = 0;
  std::uint64_t cross_trades = 0;
  std::uint64_t broken_trades = 0;
  std::uint64_t bad_messages = 0; // empty, unknown type or truncated
  std::map<char, std::uint64_t> by_type;
};

class reference_book {
public:
  explicit reference_book(std::uint64_t midnight_ns = 0) : midnight_(midnight_ns) {}

  std::map<std::uint64_t, order> orders;
  std::map<std::uint16_t, book> books;
  std::map<std::uint16_t, state> states;
  char system_event = ' ';
  std::array<std::uint64_t, 3> mwcb{};
  char mwcb_breached = ' ';
  counters count;

  // Applies one message; appends the events it causes to out.
  void apply(const std::uint8_t* p, std::size_t len, std::vector<market_event>& out) {
    if (len == 0) {
      ++count.bad_messages;
      return;
    }
    const char type = static_cast<char>(p[0]);
    const std::size_t need = spec_length(type);
    if (need == 0 || len < need) {
      ++count.bad_messages;
      return;
    }
    ++count.by_type[type];
    const auto locate = static_cast<std::uint16_t>(be(p, 1, 2));
    const std::uint64_t ts = midnight_ + be(p, 5, 6);
    out_ = &out;
    switch (type) {
    case 'S': system_event = static_cast<char>(p[11]); break;
    case 'R':
      states[locate].symbol = text(p, 11, 8);
      states[locate].round_lot = static_cast<std::uint32_t>(be(p, 21, 4));
      break;
    case 'H':
      states[locate].trading_state = static_cast<char>(p[19]);
      states[locate].trading_reason = text(p, 21, 4);
      break;
    case 'Y': states[locate].reg_sho = static_cast<char>(p[19]); break;
    case 'L': break;
    case 'V':
      mwcb = {be(p, 11, 8), be(p, 19, 8), be(p, 27, 8)};
      break;
    case 'W': mwcb_breached = static_cast<char>(p[11]); break;
    case 'K': {
      state& s = states[locate];
      s.ipo_time = static_cast<std::uint32_t>(be(p, 19, 4));
      s.ipo_qualifier = static_cast<char>(p[23]);
      s.ipo_price = static_cast<std::uint32_t>(be(p, 24, 4));
      break;
    }
    case 'J': {
      state& s = states[locate];
      s.luld_ref = static_cast<std::uint32_t>(be(p, 19, 4));
      s.luld_upper = static_cast<std::uint32_t>(be(p, 23, 4));
      s.luld_lower = static_cast<std::uint32_t>(be(p, 27, 4));
      s.luld_ext = static_cast<std::uint32_t>(be(p, 31, 4));
      break;
    }
    case 'h':
      states[locate].halt_market = static_cast<char>(p[19]);
      states[locate].halt_action = static_cast<char>(p[20]);
      break;
    case 'A':
    case 'F':
      add(locate, be(p, 11, 8), static_cast<char>(p[19]), static_cast<std::uint32_t>(be(p, 20, 4)),
          static_cast<std::uint32_t>(be(p, 32, 4)), ts);
      break;
    case 'E':
      execute(0, locate, be(p, 11, 8), static_cast<std::uint32_t>(be(p, 19, 4)), true, 0, false, ts);
      break;
    case 'C':
      execute(1, locate, be(p, 11, 8), static_cast<std::uint32_t>(be(p, 19, 4)), p[31] == 'Y',
              static_cast<std::uint32_t>(be(p, 32, 4)), true, ts);
      break;
    case 'X': cancel(locate, be(p, 11, 8), static_cast<std::uint32_t>(be(p, 19, 4)), ts); break;
    case 'D': {
      auto it = find(3, locate, be(p, 11, 8));
      if (it != orders.end()) take(it, it->second.shares, ts);
      break;
    }
    case 'U': {
      auto it = find(4, locate, be(p, 11, 8));
      if (it == orders.end()) break;
      const order old = it->second;
      take(it, old.shares, ts);
      const auto shares = static_cast<std::uint32_t>(be(p, 27, 4));
      const auto price = static_cast<std::uint32_t>(be(p, 31, 4));
      if (shares == 0 || price == 0) {
        ++count.invalid_order;
        break;
      }
      put(be(p, 19, 8), order{old.locate, old.buy, price, shares}, ts);
      break;
    }
    case 'P': {
      const auto shares = be(p, 20, 4);
      if (shares > 0) trade(locate, p[19] == 'B' ? side::ask : side::bid, be(p, 32, 4), shares, ts);
      break;
    }
    case 'Q': {
      ++count.cross_trades;
      const auto shares = be(p, 11, 8);
      if (shares > 0) trade(locate, side::bid, be(p, 27, 4), shares, ts);
      break;
    }
    case 'B':
      ++count.broken_trades;
      ++states[locate].broken;
      break;
    case 'I': {
      state& s = states[locate];
      s.imbalance = true;
      s.paired = be(p, 11, 8);
      s.imbalance_shares = be(p, 19, 8);
      s.direction = static_cast<char>(p[27]);
      s.far = static_cast<std::uint32_t>(be(p, 36, 4));
      s.near = static_cast<std::uint32_t>(be(p, 40, 4));
      s.reference = static_cast<std::uint32_t>(be(p, 44, 4));
      s.cross_type = static_cast<char>(p[48]);
      s.variation = static_cast<char>(p[49]);
      break;
    }
    case 'N': states[locate].rpii = static_cast<char>(p[19]); break;
    case 'O': break;
    default: break;
    }
  }

private:
  using order_it = std::map<std::uint64_t, order>::iterator;

  order_it find(std::size_t kind, std::uint16_t locate, std::uint64_t ref) {
    auto it = orders.find(ref);
    if (it == orders.end()) {
      ++count.unknown_ref[kind];
    } else if (it->second.locate != locate) {
      ++count.locate_mismatch;
    }
    return it;
  }

  level& level_of(const order& o) {
    book& b = books[o.locate];
    return o.buy ? b.bids[o.price] : b.asks[o.price];
  }
  void erase_level(const order& o) {
    book& b = books[o.locate];
    if (o.buy) {
      b.bids.erase(o.price);
    } else {
      b.asks.erase(o.price);
    }
  }

  void event(market_event::type what, const order& o, std::uint64_t qty, std::uint32_t n, std::uint64_t ts) {
    market_event e;
    e.what = what;
    e.s = o.buy ? side::bid : side::ask;
    e.orders = n;
    e.instrument = o.locate;
    e.price = o.price;
    e.qty = static_cast<qty_t>(qty);
    e.exch_ts = ts;
    out_->push_back(e);
  }

  void trade(std::uint16_t locate, side aggressor, std::uint64_t price, std::uint64_t qty, std::uint64_t ts) {
    ++count.trades;
    market_event e;
    e.what = market_event::type::trade;
    e.s = aggressor;
    e.orders = 0;
    e.instrument = locate;
    e.price = static_cast<price_t>(price);
    e.qty = static_cast<qty_t>(qty);
    e.exch_ts = ts;
    out_->push_back(e);
  }

  // Takes qty shares (at most what rests) off an order; removes it at zero.
  void take(order_it it, std::uint64_t qty, std::uint64_t ts) {
    order o = it->second;
    if (qty > o.shares) qty = o.shares;
    const bool gone = qty == o.shares;
    level& l = level_of(o);
    l.qty -= static_cast<std::int64_t>(qty);
    if (gone) l.orders -= 1;
    if (l.qty == 0) erase_level(o);
    if (gone) {
      orders.erase(it);
    } else {
      it->second.shares -= static_cast<std::uint32_t>(qty);
    }
    event(market_event::type::reduce, o, qty, gone ? 1 : 0, ts);
  }

  void put(std::uint64_t ref, const order& o, std::uint64_t ts) {
    auto it = orders.find(ref);
    if (it != orders.end()) {
      ++count.duplicate_ref;
      take(it, it->second.shares, ts);
    }
    orders[ref] = o;
    level& l = level_of(o);
    l.qty += o.shares;
    l.orders += 1;
    event(market_event::type::add, o, o.shares, 1, ts);
  }

  void add(std::uint16_t locate, std::uint64_t ref, char side_char, std::uint32_t shares, std::uint32_t price,
           std::uint64_t ts) {
    if (shares == 0 || price == 0 || (side_char != 'B' && side_char != 'S')) {
      ++count.invalid_order;
      return;
    }
    put(ref, order{locate, side_char == 'B', price, shares}, ts);
  }

  void execute(std::size_t kind, std::uint16_t locate, std::uint64_t ref, std::uint32_t shares, bool printable,
               std::uint32_t price, bool has_price, std::uint64_t ts) {
    auto it = find(kind, locate, ref);
    if (it == orders.end()) return;
    if (shares == 0) {
      ++count.invalid_order;
      return;
    }
    const order& o = it->second;
    if (printable) {
      trade(o.locate, o.buy ? side::ask : side::bid, has_price ? price : o.price, shares, ts);
    } else {
      ++count.non_printable;
    }
    if (shares > o.shares) ++count.over_execution;
    take(it, shares, ts);
  }

  void cancel(std::uint16_t locate, std::uint64_t ref, std::uint32_t shares, std::uint64_t ts) {
    auto it = find(2, locate, ref);
    if (it == orders.end()) return;
    if (shares == 0) {
      ++count.invalid_order;
      return;
    }
    if (shares > it->second.shares) ++count.over_execution;
    take(it, shares, ts);
  }

  std::uint64_t midnight_;
  std::vector<market_event>* out_ = nullptr;
};

} // namespace mdgw::itch_ref
