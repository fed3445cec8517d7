// The built-in simulated market: a deterministic, matching-engine-like order flow
// generator for demos, tests and load benchmarks.
//
// Rationale:
// - Deterministic from the seed alone. The random source is a self-written
//   xoshiro256** seeded through splitmix64, and every distribution is an integer lookup
//   table built with integer arithmetic, so the stream is the same on every compiler,
//   standard library and machine (std::*_distribution is implementation-defined, and
//   libm's log/exp may differ in the last bit). Timestamps are passed in and only stamp
//   the events; they never influence the flow.
// - It keeps real order-level state (per instrument, per side, price -> FIFO of orders),
//   so every event it emits is consistent: a reduce never names quantity that is not
//   resting, fills take orders in time priority, and the book is never crossed (a limit
//   order that would cross executes first and only its remainder rests).
// - Order flow is the zero-intelligence model of Smith and Farmer: limit orders arrive
//   at geometric distances from a slowly random-walking mid, cancels pick a uniformly
//   random resting order (a constant cancel rate per order, which makes the depth
//   profile stationary), marketable orders walk the opposite side. Feedback on the
//   add/cancel mix holds each instrument near a target order count, and thin sides are
//   refilled first, so books keep 30-60 levels of depth and never empty.
// - Per action it touches one instrument and a handful of levels near the inside:
//   sorted vectors with the best level at the back, an intrusive FIFO per level over a
//   per-instrument order pool. No allocation after warm-up (the pools stop growing once
//   the order count is stationary), well under a microsecond per action.
#pragma once

#include "events.hpp"
#include "types.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace mdgw {

struct simulator_config {
  std::uint64_t seed = 42;
  std::size_t instruments = 64;
  double rate = 5000;          // order actions per second over all instruments; 0 means max:
                               // as fast as the book takes them
  std::uint64_t max_events = 0; // stop after this many order actions; 0 = never
};

// xoshiro256** 1.0 (Blackman and Vigna, public domain), state filled by splitmix64.
class sim_rng {
public:
  explicit sim_rng(std::uint64_t seed) noexcept;
  std::uint64_t next() noexcept;
  // Uniform in [0, n) for 0 < n < 2^32: multiply-shift on the high 32 bits (Lemire).
  // The bias (at most n / 2^32) is irrelevant here; what matters is that it is exact
  // integer arithmetic.
  std::uint32_t below(std::uint32_t n) noexcept {
    return static_cast<std::uint32_t>(((next() >> 32) * n) >> 32);
  }

private:
  std::uint64_t state_[4];
};

// A discrete distribution as a 4096-slot lookup table: one random number, one load.
class sim_table {
public:
  sim_table() = default;
  // weights[k] is the relative weight of value k (integers, so the table is exact).
  explicit sim_table(const std::vector<std::uint64_t>& weights);
  std::uint32_t sample(sim_rng& rng) const noexcept { return slots_[rng.next() >> 52]; }

private:
  std::array<std::uint8_t, 4096> slots_{};
};

namespace sim_detail {

inline constexpr std::uint32_t kNil = 0xffffffffU;

struct order {
  std::uint64_t id = 0;
  std::int64_t price = 0; // ticks
  std::int64_t lots = 0;
  std::uint32_t prev = kNil; // FIFO neighbours in the level (pool indices)
  std::uint32_t next = kNil;
  std::uint32_t live_pos = 0; // index in instrument::live
  side s = side::bid;
};

// Levels of both sides are ordered by key ascending with the best at the back:
// key = price for bids, -price for asks.
struct level {
  std::int64_t key = 0;
  std::int64_t lots = 0;
  std::uint32_t head = kNil; // oldest order: filled first
  std::uint32_t tail = kNil;
  std::uint32_t count = 0;
};

struct book_side {
  std::vector<level> levels;
  std::size_t orders = 0;
};

struct instrument {
  std::int64_t tick = 1;  // price units per tick
  std::int64_t lot = 1;   // quantity units per lot
  std::int64_t mid = 0;   // ticks; bids rest at <= mid - 1, asks at >= mid
  std::int64_t lo = 0;    // band the mid walks in (ticks)
  std::int64_t hi = 0;
  std::int64_t step = 1;  // spacing of the depth profile (ticks)
  std::int64_t move = 1;  // size of one mid move (ticks)
  book_side sides[2];
  std::vector<order> pool;
  std::vector<std::uint32_t> free;
  std::vector<std::uint32_t> live; // pool indices of resting orders, for uniform cancels
};

} // namespace sim_detail

class market_simulator {
public:
  static constexpr std::size_t kMaxInstruments = 4096;
  // Memory bound: above this many resting orders an instrument's action is a cancel of
  // its farthest order.
  static constexpr std::size_t kMaxRestingOrders = 4096;
  // The add/cancel mix leans toward this many resting orders per instrument.
  static constexpr std::size_t kTargetRestingOrders = 600;
  // A side with fewer levels than this is refilled before anything else happens to it.
  static constexpr std::size_t kThinLevels = 5;

  // Far above what one core generates; bounds the pacing arithmetic.
  static constexpr double kMaxRate = 1e9;

  // Throws std::invalid_argument when instruments is 0 or above kMaxInstruments, or
  // when the rate is not in [0, kMaxRate].
  explicit market_simulator(const simulator_config& config);

  // Ids 0..n-1 in order; symbols "SIM:<TICKER>", venue "SIM". Fixed for a given count
  // (independent of the seed).
  [[nodiscard]] const std::vector<instrument_info>& instruments() const noexcept { return infos_; }
  [[nodiscard]] const simulator_config& config() const noexcept { return config_; }

  // Appends the add events of the initial depth of every instrument (one per level,
  // aggregated). Happens once: later calls append nothing, and next() calls it first if
  // nobody did. Not an order action: does not count toward max_events.
  void seed(std::uint64_t exch_ts, std::vector<market_event>& out);
  // Performs one order action on a random instrument and appends the events it causes.
  // Appends nothing once done().
  void next(std::uint64_t exch_ts, std::vector<market_event>& out);

  [[nodiscard]] std::uint64_t actions() const noexcept { return actions_; }
  [[nodiscard]] bool seeded() const noexcept { return seeded_; }
  [[nodiscard]] bool done() const noexcept { return config_.max_events != 0 && actions_ >= config_.max_events; }
  // Resting orders of an instrument (the memory bound). Precondition: id < instruments().size().
  [[nodiscard]] std::size_t resting_orders(instrument_id id) const noexcept { return state_[id].live.size(); }

private:
  using instrument = sim_detail::instrument;

  void act(instrument_id id, std::uint64_t ts, std::vector<market_event>& out);
  void add_limit(instrument_id id, side s, std::uint64_t ts, std::vector<market_event>& out);
  void cancel_random(instrument_id id, std::uint64_t ts, std::vector<market_event>& out);
  void cancel_farthest(instrument_id id, std::uint64_t ts, std::vector<market_event>& out);
  void marketable(instrument_id id, std::uint64_t ts, std::vector<market_event>& out);
  // Takes liquidity from the side opposite to `aggressor` up to `limit` (ticks);
  // returns the lots left.
  std::int64_t sweep(instrument_id id, side aggressor, std::int64_t limit, std::int64_t lots, std::uint64_t ts,
                     std::vector<market_event>& out);
  [[nodiscard]] std::int64_t limit_distance(const instrument& in) noexcept;

  simulator_config config_;
  std::vector<instrument_info> infos_;
  std::vector<instrument> state_;
  sim_rng rng_;
  sim_table distance_; // levels (in steps) from the inside of a new limit order
  sim_table size_;     // lots of a new order
  std::uint64_t next_order_id_ = 1;
  std::uint64_t actions_ = 0;
  bool seeded_ = false;
};

} // namespace mdgw
