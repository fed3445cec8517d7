// A synthetic TotalView-ITCH 5.0 day, deterministic from a seed: for tests at any size,
// and for benchmarks on days far larger than the real samples we may keep.
//
// Rationale:
// - The day has the shape of a real one: system events (S) around everything, a
//   directory (R) and trading action (H) per stock, Reg SHO, participant positions, IPO
//   updates and MWCB levels before the open, pre-market adds that rest a small book per
//   stock (which order flow then never drains below its size), opening and closing crosses (I imbalances
//   then Q), and in between order flow with the message mix of a real Nasdaq day:
//   about 44% adds (A, 10% of them F), 43% deletes, 8% replaces, 2% executions (E, some
//   C), 1% cancels, 1.5% non-displayed trades (P), and a trickle of every other type
//   (H, Y, J, h, I, N, B, L, K, O, Q, W) so every message type occurs in every day of
//   more than a few thousand messages.
// - Order references increase through the day (A, F and U's new reference). Every
//   E/C/X/D/U names an order that is live at that moment, so a correct book sees no
//   unknown references; the fast book and the reference book are compared on it.
// - Activity is concentrated: stocks are chosen with a Zipf-like skew (a few are busy,
//   most are quiet; see activity_), and prices sit a geometric number of ticks from the stock's mid, so most
//   adds land in the top few levels. Executions take an order at the best price of one
//   side, i.e. at the inside.
// - The book never crosses once order flow starts (a real day shows crossed books only
//   in auctions, which ITCH reports as I and Q messages, not as resting orders): a buy is
//   never priced at or above the best ask, nor a sell at or below the best bid. The mid
//   drifts; when it runs into the other side, the new orders queue a tick behind the
//   opposite best until executions and deletes clear it.
// - Orders live short lives, as on a real day where most orders are cancelled soon after
//   they are placed: deletes, cancels and replaces name one of the stock's youngest
//   orders (a geometric number of orders back from the newest) 7 times in 8, any live
//   order otherwise. The old orders left behind are the book's deeper levels.
// - Timestamps never decrease; order flow is spread over [start_ns, end_ns).
// - The generator allocates as it goes (it keeps the live orders of each stock); it is a
//   tool, not the hot path.
#pragma once

#include "itch_messages.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace mdgw::itch {

struct generator_config {
  std::uint64_t seed = 1;
  std::uint32_t symbols = 2000;          // stock locates 1..symbols
  std::uint64_t messages = 1'000'000;    // total messages of the day (at least the fixed ones)
  std::uint64_t start_ns = 34'200'000'000'000ULL; // 09:30, ns since midnight
  std::uint64_t end_ns = 57'600'000'000'000ULL;   // 16:00
};

class itch_generator {
public:
  static constexpr std::size_t kMaxMessage = 64; // bytes next() may write

  explicit itch_generator(const generator_config& config);

  // Writes the next message (tag byte first, no length prefix) to out, which must hold
  // kMaxMessage bytes; returns its length, or 0 once the day is over.
  std::size_t next(std::uint8_t* out);

  [[nodiscard]] std::uint64_t produced() const noexcept { return produced_; }
  // Messages the whole day will have (config.messages, or the fixed ones if more).
  [[nodiscard]] std::uint64_t planned() const noexcept { return opening_count_ + main_count_ + closing_count(); }
  // The symbol of a locate (1..symbols), as in its R message.
  [[nodiscard]] std::string symbol(std::uint16_t locate) const;

private:
  struct live_order {
    std::uint64_t ref;
    std::uint32_t price;
    std::uint32_t shares;
    bool buy;
  };
  struct stock {
    alpha<8> name;
    std::uint32_t mid;  // 4 decimals
    std::uint32_t tick; // 4 decimals
    std::vector<live_order> orders;           // oldest first
    std::map<std::uint32_t, std::uint32_t> bids; // price -> live orders: the best prices
    std::map<std::uint32_t, std::uint32_t> asks;
  };
  enum class phase : std::uint8_t { opening, flow, closing, done };

  void build_opening();
  void build_closing();
  std::size_t flow_message(std::uint8_t* out);
  [[nodiscard]] std::uint64_t closing_count() const noexcept;

  std::uint64_t flow_ts();
  std::uint16_t pick_stock();
  std::uint32_t pick_shares();
  // A price near the mid that does not cross the other side's best.
  std::uint32_t near_price(const stock& s, bool buy);
  std::size_t pick_order(const stock& s);
  std::size_t pick_at_inside(const stock& s);
  static void rest(stock& s, const live_order& o);
  static live_order take(stock& s, std::size_t i);
  void push_cross(std::uint16_t locate, char cross_type, std::uint64_t max_lots, std::uint64_t& ts, std::uint64_t step);

  template <class M>
  M start(msg_type type, std::uint16_t locate, std::uint64_t ts);
  template <class M>
  std::size_t put(const M& m, std::uint8_t* out);
  template <class M>
  void push_fixed(const M& m);

  generator_config config_;
  std::mt19937_64 rng_;
  std::vector<stock> stocks_; // index = locate - 1
  std::vector<double> activity_; // cumulative share of the order flow by stock index
  std::vector<std::uint8_t> fixed_bytes_; // opening or closing messages, back to back
  std::vector<std::uint32_t> fixed_;      // their offsets (+ end)
  std::size_t fixed_pos_ = 0;
  phase phase_ = phase::opening;
  std::uint64_t opening_count_ = 0;
  std::uint64_t main_count_ = 0;
  std::uint64_t main_done_ = 0;
  std::uint64_t produced_ = 0;
  std::uint64_t ts_ = 0;
  std::uint64_t next_ref_ = 1;
  std::uint64_t next_match_ = 1;
  std::uint16_t tracking_ = 0;
};

// Writes a generated day as a BinaryFILE (each message after a 2-byte big-endian length);
// gzip when the path ends in ".gz". Returns the number of messages. Throws
// std::runtime_error when the file cannot be written (a tool: startup-style errors).
std::uint64_t write_binary_file(const std::string& path, const generator_config& config);

} // namespace mdgw::itch
