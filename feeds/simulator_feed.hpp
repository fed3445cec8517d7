// The simulated market as a feed: one thread runs a market_simulator, applies its
// events to a level_book per instrument and publishes them.
//
// Rationale:
// - Batches, not messages: a batch of actions is generated and applied, then every
//   instrument it touched is published once (the slot holds only the newest state
//   anyway) and the producer is flushed once, so io threads are woken at most once per
//   batch. Trades are a stream and are published as they are applied.
// - Pacing at rate R: the owed-rate schedule of pacing.hpp; each 1 ms tick generates
//   what is owed (about R * 1 ms, in batches of at most 256). Rate 0 runs flat out in
//   batches of 256.
// - Version of an instrument = number of add/reduce events applied to its book: a
//   client (or test) replaying the same simulator stream can name the exact state.
// - When max_events is reached the final books are published and the thread idles
//   until stop(): the gateway keeps serving the final state.
#pragma once

#include "feed.hpp"
#include "level_book.hpp"
#include "publication.hpp"
#include "simulator.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <stop_token>
#include <vector>

namespace mdgw {

class simulator_feed final : public feed {
public:
  static constexpr std::size_t kMaxBatch = 256;       // actions per batch
  static constexpr std::size_t kRingSlack = 8192;     // producer ring: instruments + this

  // Registers every simulated instrument in `pub` (throws std::runtime_error naming the
  // symbol when one cannot be added) and creates this feed's producer. `pub` must
  // outlive the feed. Not started: call start().
  simulator_feed(const simulator_config& config, publication& pub);
  ~simulator_feed() override;
  simulator_feed(const simulator_feed&) = delete;
  simulator_feed& operator=(const simulator_feed&) = delete;

  void start() override;   // once; later calls (and a call after stop) do nothing
  void stop() override;    // idempotent; call from the thread that owns the feed
  [[nodiscard]] feed_status status() const override;

  // True once max_events actions were applied and the final books published; the feed
  // thread no longer touches the books after that (acquire pairs with its release).
  [[nodiscard]] bool finished() const noexcept { return runner_.finished(); }

  [[nodiscard]] std::size_t instrument_count() const noexcept { return pub_ids_.size(); }
  // Publication id of the simulator's instrument `index` (0..instrument_count()-1).
  [[nodiscard]] instrument_id publication_id(std::size_t index) const { return pub_ids_.at(index); }
  // The feed's own book of instrument `id` (a publication id; std::out_of_range if it is
  // not one of this feed's). The feed thread writes the books without locks: read them
  // only before start(), after finished() returned true, or after stop() returned.
  [[nodiscard]] const level_book& book(instrument_id id) const;

private:
  void run(std::stop_token stop);
  void run_paced(const std::stop_token& stop);
  void run_flat_out(const std::stop_token& stop);
  // Applies buffer_ to the books, publishes the touched instruments, flushes.
  void apply_batch();
  void touch(std::size_t index);

  simulator_config config_;
  market_simulator sim_;
  publication& pub_;
  std::vector<instrument_id> pub_ids_;   // simulator index -> publication id
  producer& producer_;
  std::vector<level_book> books_;        // by simulator index
  std::vector<std::uint64_t> versions_;  // add/reduce events applied, by simulator index
  std::vector<std::uint64_t> trade_seqs_; // last trade sequence published (first is 1)
  std::vector<std::uint64_t> last_exch_ts_;
  std::vector<std::uint8_t> touched_;
  std::vector<std::uint32_t> touched_list_;
  std::vector<market_event> buffer_;

  std::atomic<std::uint64_t> events_{0};
  std::atomic<std::uint64_t> errors_{0};

  feed_runner runner_; // last: its thread is joined before the rest goes
};

} // namespace mdgw
