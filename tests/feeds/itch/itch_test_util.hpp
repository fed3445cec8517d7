// Helpers shared by the ITCH tests: a byte-level message builder that writes fields at
// the specification's offsets (independent of the wire structs), an event-collecting
// sink, the path of the RITCH sample, and book comparison with the reference.
#pragma once

#include "itch_book.hpp"
#include "itch_reference.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace mdgw::itch_test {

// A message built byte by byte: raw m('A', 36); m.u(11, 8, ref).c(19, 'B')...
struct raw {
  std::vector<std::uint8_t> b;

  raw(char type, std::size_t len, std::uint16_t locate = 0, std::uint16_t tracking = 0, std::uint64_t ts = 0)
      : b(len, 0) {
    b[0] = static_cast<std::uint8_t>(type);
    u(1, 2, locate);
    u(3, 2, tracking);
    u(5, 6, ts);
  }
  raw& u(std::size_t off, std::size_t n, std::uint64_t v) {
    for (std::size_t i = 0; i < n; ++i) b[off + n - 1 - i] = static_cast<std::uint8_t>((v >> (8 * i)) & 0xff);
    return *this;
  }
  raw& c(std::size_t off, char ch) {
    b[off] = static_cast<std::uint8_t>(ch);
    return *this;
  }
  raw& a(std::size_t off, std::size_t n, std::string_view s) {
    for (std::size_t i = 0; i < n; ++i) b[off + i] = static_cast<std::uint8_t>(i < s.size() ? s[i] : ' ');
    return *this;
  }
  [[nodiscard]] const std::uint8_t* data() const { return b.data(); }
  [[nodiscard]] std::size_t size() const { return b.size(); }
};

// Common message shapes (spec offsets).
inline raw add_msg(std::uint16_t locate, std::uint64_t ts, std::uint64_t ref, char s, std::uint32_t shares,
                   std::uint32_t price, std::string_view stock = "TEST") {
  raw m('A', 36, locate, 0, ts);
  m.u(11, 8, ref).c(19, s).u(20, 4, shares).a(24, 8, stock).u(32, 4, price);
  return m;
}
inline raw add_mpid_msg(std::uint16_t locate, std::uint64_t ts, std::uint64_t ref, char s, std::uint32_t shares,
                        std::uint32_t price, std::string_view mpid = "MPID") {
  raw m('F', 40, locate, 0, ts);
  m.u(11, 8, ref).c(19, s).u(20, 4, shares).a(24, 8, "TEST").u(32, 4, price).a(36, 4, mpid);
  return m;
}
inline raw exec_msg(std::uint16_t locate, std::uint64_t ts, std::uint64_t ref, std::uint32_t shares,
                    std::uint64_t match = 1) {
  raw m('E', 31, locate, 0, ts);
  m.u(11, 8, ref).u(19, 4, shares).u(23, 8, match);
  return m;
}
inline raw exec_price_msg(std::uint16_t locate, std::uint64_t ts, std::uint64_t ref, std::uint32_t shares,
                          char printable, std::uint32_t price, std::uint64_t match = 1) {
  raw m('C', 36, locate, 0, ts);
  m.u(11, 8, ref).u(19, 4, shares).u(23, 8, match).c(31, printable).u(32, 4, price);
  return m;
}
inline raw cancel_msg(std::uint16_t locate, std::uint64_t ts, std::uint64_t ref, std::uint32_t shares) {
  raw m('X', 23, locate, 0, ts);
  m.u(11, 8, ref).u(19, 4, shares);
  return m;
}
inline raw delete_msg(std::uint16_t locate, std::uint64_t ts, std::uint64_t ref) {
  raw m('D', 19, locate, 0, ts);
  m.u(11, 8, ref);
  return m;
}
inline raw replace_msg(std::uint16_t locate, std::uint64_t ts, std::uint64_t old_ref, std::uint64_t new_ref,
                       std::uint32_t shares, std::uint32_t price) {
  raw m('U', 35, locate, 0, ts);
  m.u(11, 8, old_ref).u(19, 8, new_ref).u(27, 4, shares).u(31, 4, price);
  return m;
}
inline raw trade_msg(std::uint16_t locate, std::uint64_t ts, char s, std::uint32_t shares, std::uint32_t price,
                     std::uint64_t match = 1) {
  raw m('P', 44, locate, 0, ts);
  m.u(11, 8, 0).c(19, s).u(20, 4, shares).a(24, 8, "TEST").u(32, 4, price).u(36, 8, match);
  return m;
}
inline raw cross_msg(std::uint16_t locate, std::uint64_t ts, std::uint64_t shares, std::uint32_t price,
                     char cross_type = 'O', std::uint64_t match = 1) {
  raw m('Q', 40, locate, 0, ts);
  m.u(11, 8, shares).a(19, 8, "TEST").u(27, 4, price).u(31, 8, match).c(39, cross_type);
  return m;
}

// Collects everything a book emits.
class collect_sink final : public itch::event_sink {
public:
  std::vector<market_event> events;
  std::vector<std::pair<itch::locate_t, itch::state_change>> states;
  void on_event(const market_event& e) override { events.push_back(e); }
  void on_state(itch::locate_t locate, itch::state_change what) override { states.emplace_back(locate, what); }
  void clear() {
    events.clear();
    states.clear();
  }
};

// The RITCH sample: MDGW_ITCH_SAMPLE (set by meson to an absolute path) or the path
// relative to the project root.
inline std::string sample_path() {
  if (const char* p = std::getenv("MDGW_ITCH_SAMPLE"); p != nullptr && *p != '\0') return p;
  return "../shared/data/itch/ex20101224.TEST_ITCH_50";
}

inline bool same_event(const market_event& a, const market_event& b) {
  return a.what == b.what && a.s == b.s && a.orders == b.orders && a.instrument == b.instrument &&
         a.price == b.price && a.qty == b.qty && a.exch_ts == b.exch_ts;
}

inline std::string describe(const market_event& e) {
  static constexpr const char* kWhat[] = {"add", "reduce", "trade"};
  return std::string(kWhat[static_cast<int>(e.what)]) + (e.s == side::bid ? " bid" : " ask") +
         " loc=" + std::to_string(e.instrument) + " px=" + std::to_string(e.price) + " qty=" + std::to_string(e.qty) +
         " orders=" + std::to_string(e.orders) + " ts=" + std::to_string(e.exch_ts);
}

// Empty when the level book of `locate` equals the reference's; else what differs.
inline std::string compare_levels(const itch::itch_book& fast, const itch_ref::reference_book& ref,
                                  itch::locate_t locate) {
  const level_book* lb = fast.book(locate);
  auto it = ref.books.find(locate);
  const itch_ref::book empty;
  const itch_ref::book& rb = it == ref.books.end() ? empty : it->second;
  for (side s : {side::bid, side::ask}) {
    std::vector<std::pair<std::uint32_t, itch_ref::level>> want;
    if (s == side::bid) {
      for (const auto& [p, l] : rb.bids) want.emplace_back(p, l);
    } else {
      for (const auto& [p, l] : rb.asks) want.emplace_back(p, l);
    }
    const std::size_t depth = lb == nullptr ? 0 : lb->depth(s);
    const char* name = s == side::bid ? "bid" : "ask";
    if (depth != want.size()) {
      return std::string(name) + " depth " + std::to_string(depth) + " vs reference " + std::to_string(want.size()) +
             " at locate " + std::to_string(locate);
    }
    for (std::size_t i = 0; i < depth; ++i) {
      const price_level& got = lb->level(s, i);
      if (got.price != want[i].first || got.qty != want[i].second.qty || got.orders != want[i].second.orders) {
        return std::string(name) + " level " + std::to_string(i) + " at locate " + std::to_string(locate) +
               ": fast " + std::to_string(got.price) + "/" + std::to_string(got.qty) + "/" +
               std::to_string(got.orders) + " vs reference " + std::to_string(want[i].first) + "/" +
               std::to_string(want[i].second.qty) + "/" + std::to_string(want[i].second.orders);
      }
    }
  }
  return {};
}

// Empty when the counters agree.
inline std::string compare_counters(const itch::itch_book& fast, const itch_ref::reference_book& ref) {
  const itch::book_counters& f = fast.counters();
  const itch_ref::counters& r = ref.count;
  std::string out;
  auto check = [&out](const char* what, std::uint64_t a, std::uint64_t b) {
    if (a != b) out += std::string(what) + " " + std::to_string(a) + " vs reference " + std::to_string(b) + "; ";
  };
  static constexpr const char* kKinds[] = {"unknown E", "unknown C", "unknown X", "unknown D", "unknown U"};
  for (std::size_t k = 0; k < itch::kRefKinds; ++k) check(kKinds[k], f.unknown_ref[k], r.unknown_ref[k]);
  check("duplicate_ref", f.duplicate_ref, r.duplicate_ref);
  check("invalid_order", f.invalid_order, r.invalid_order);
  check("over_execution", f.over_execution, r.over_execution);
  check("locate_mismatch", f.locate_mismatch, r.locate_mismatch);
  check("trades", f.trades, r.trades);
  check("non_printable", f.non_printable, r.non_printable);
  check("cross_trades", f.cross_trades, r.cross_trades);
  check("broken_trades", f.broken_trades, r.broken_trades);
  check("bad messages", fast.decoder().errors(), r.bad_messages);
  check("level_errors", f.level_errors, 0);
  return out;
}

// Empty when the per-locate state (directory, status, imbalance) agrees.
inline std::string compare_states(const itch::itch_book& fast, const itch_ref::reference_book& ref) {
  std::string out;
  for (const auto& [locate, r] : ref.states) {
    const itch::locate_state* f = fast.state(locate);
    const std::string at = " at locate " + std::to_string(locate) + "; ";
    if (f == nullptr) {
      out += "no state" + at;
      continue;
    }
    auto check = [&](const char* what, std::uint64_t a, std::uint64_t b) {
      if (a != b) out += std::string(what) + " " + std::to_string(a) + " vs " + std::to_string(b) + at;
    };
    if (!r.symbol.empty() && std::string(f->info.symbol()) != r.symbol) out += "symbol" + at;
    check("round_lot", f->info.round_lot, r.round_lot);
    check("trading_state", static_cast<std::uint64_t>(f->status.trading_state), static_cast<std::uint64_t>(r.trading_state));
    if (r.trading_state != ' ' && std::string(f->status.trading_reason.trimmed()) != r.trading_reason) {
      out += "trading_reason" + at;
    }
    check("reg_sho", static_cast<std::uint64_t>(f->status.reg_sho_action), static_cast<std::uint64_t>(r.reg_sho));
    check("luld_ref", f->status.luld_reference_price, r.luld_ref);
    check("luld_upper", f->status.luld_upper_price, r.luld_upper);
    check("luld_lower", f->status.luld_lower_price, r.luld_lower);
    check("luld_ext", f->status.luld_extension, r.luld_ext);
    check("halt_market", static_cast<std::uint64_t>(f->status.operational_halt_market),
          static_cast<std::uint64_t>(r.halt_market));
    check("halt_action", static_cast<std::uint64_t>(f->status.operational_halt_action),
          static_cast<std::uint64_t>(r.halt_action));
    check("ipo_time", f->status.ipo_release_time, r.ipo_time);
    check("ipo_price", f->status.ipo_price, r.ipo_price);
    check("ipo_qualifier", static_cast<std::uint64_t>(f->status.ipo_release_qualifier),
          static_cast<std::uint64_t>(r.ipo_qualifier));
    check("rpii", static_cast<std::uint64_t>(f->status.rpii_interest), static_cast<std::uint64_t>(r.rpii));
    check("imbalance", f->imbalance.valid ? 1 : 0, r.imbalance ? 1 : 0);
    check("paired", f->imbalance.paired_shares, r.paired);
    check("imbalance_shares", f->imbalance.imbalance_shares, r.imbalance_shares);
    check("direction", static_cast<std::uint64_t>(f->imbalance.direction), static_cast<std::uint64_t>(r.direction));
    check("far", f->imbalance.far_price, r.far);
    check("near", f->imbalance.near_price, r.near);
    check("reference", f->imbalance.reference_price, r.reference);
    check("cross_type", static_cast<std::uint64_t>(f->imbalance.cross_type), static_cast<std::uint64_t>(r.cross_type));
    check("variation", static_cast<std::uint64_t>(f->imbalance.price_variation), static_cast<std::uint64_t>(r.variation));
    check("broken", f->broken_trades, r.broken);
  }
  if (fast.market().system_event != ref.system_event) out += "system_event; ";
  for (int i = 0; i < 3; ++i) {
    if (fast.market().mwcb_level[i] != ref.mwcb[static_cast<std::size_t>(i)]) out += "mwcb level; ";
  }
  if (fast.market().mwcb_breached != ref.mwcb_breached) out += "mwcb breached; ";
  return out;
}

} // namespace mdgw::itch_test
