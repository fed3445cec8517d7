// Trade history: one bounded broadcast ring of trades per instrument. The feed thread
// appends; any number of io threads read it by sequence number, each from its own cursor,
// without locks and without ever slowing the writer down (Disruptor / Aeron style).
//
//   feed thread ─► push(trade) ─► slot[seq & mask] ─► head = seq (release)
//   io thread   ─► read(cursor, out) ─► {count, lost, next_seq}; cursor = next_seq
//
// Rationale:
// - Trades are a stream: a reader must get every one in order, or be told exactly how
//   many it missed. Keeping them once per instrument (instead of one copy per io thread
//   in the notice rings) makes the bound a property of the instrument, lets a reader that
//   fell behind learn the exact gap from sequence numbers alone, and lets a session that
//   reconnects resume from the same history (epoch + from_seq) or be told `reset`.
// - Sequences are 1, 2, 3, ...: trade s lives in slot s & mask (capacity a power of two).
//   A reader can therefore locate trade s in O(1) and knows that trades older than
//   head - capacity + 1 are gone.
// - Each slot is a seqlock whose version word is the trade's own sequence. The writer
//   stores 0 in it, issues a release fence, stores the payload words (relaxed atomics),
//   then stores seq with release. A reader loads the word with acquire and needs exactly
//   the seq it wants, copies the payload words relaxed, issues an acquire fence and loads
//   the word again: the same seq twice means the copy is trade seq, whole. Why: the
//   values a slot's word takes are 0 between writes and otherwise strictly increasing
//   (s, s + capacity, ...), so it never returns to a value (no ABA); had the copy seen any
//   payload store of a later write, the fences make that write's store of 0 visible to
//   the second load (Boehm 2012, as in seqlock.hpp). The first acquire load pairs with
//   the release store of seq, so the words are those of write seq or later, never older.
//   Everything shared is an atomic: no data race, no UB, nothing for TSan to report.
// - head is stored (release) after the slot, so a reader that sees head >= s finds slot s
//   holding s or a later overwrite, never an older trade or an empty slot.
// - The reader is wait-free: it copies at most out.size() slots and retries a slot that
//   was overwritten under it a bounded number of times (kMaxRestarts); a reader lapped
//   that often returns count 0 with the skipped trades in `lost` and calls again.
// - The epoch names this history's numbering. It is drawn at random per publication
//   (per process start; 53 bits, exact in a JavaScript number), so a client resuming with the epoch of a previous gateway
//   process is told `reset` instead of being served other trades under the same seqs.
#pragma once

#include "prefetch.hpp"
#include "types.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <type_traits>

namespace mdgw {

struct trade_record {
  std::uint64_t seq = 0;      // per-instrument trade sequence, from 1
  price_t price = 0;
  qty_t qty = 0;
  std::uint64_t exch_ts = 0;  // exchange timestamp, ns
  std::uint64_t recv_ts = 0;  // gateway receive time, CLOCK_REALTIME ns
  // Set by push: the quantity of every trade of this history up to and including this
  // one (the session volume the ticker shows), and the price of the first (the open).
  qty_t volume = 0;
  price_t open = 0;
  side aggressor = side::bid; // the side that took liquidity
  std::uint8_t reserved_[3] = {};
  instrument_id instrument = 0;
};
static_assert(std::is_trivially_copyable_v<trade_record>);

// A trade as a feed states it, before a history numbers it (the history keeps its own dense
// sequence and sums the volume): what producer::publish_trade(s) take, and what a capture
// records (recorded_trade).
struct feed_trade {
  instrument_id instrument = 0;
  side aggressor = side::bid;
  price_t price = 0;
  qty_t qty = 0;
  std::uint64_t trade_seq = 0; // the feed's numbering
  std::uint64_t exch_ts = 0;
  std::uint64_t recv_ts = 0;
  friend bool operator==(const feed_trade&, const feed_trade&) = default;
};
static_assert(sizeof(trade_record) == 8 * sizeof(std::uint64_t), "whole words, no padding");

class trade_history {
public:
  static constexpr std::size_t kDefaultCapacity = 1024;
  // A slot overwritten under a reader this many times in one read() ends the call.
  static constexpr int kMaxRestarts = 8;

  struct read_result {
    std::size_t count = 0;     // records copied into out[0, count): seqs next_seq - count ...
    std::uint64_t lost = 0;    // trades from from_seq on that were gone (overwritten)
    std::uint64_t next_seq = 0; // where the next read continues: from_seq + lost + count
  };

  // Returns nullptr when capacity is not a power of two (>= 2) or memory is short.
  // Allocates capacity slots once; push never allocates.
  [[nodiscard]] static std::unique_ptr<trade_history> create(std::size_t capacity, std::uint64_t epoch) noexcept;

  trade_history(const trade_history&) = delete;
  trade_history& operator=(const trade_history&) = delete;

  // --- writer (one thread: the instrument's feed thread) ---
  // Appends r as trade head() + 1, which it returns; r.seq, r.volume and r.open are
  // ignored (the history owns the numbering, so it stays dense whatever the caller
  // passes, and sums the volume).
  std::uint64_t push(const trade_record& r) noexcept;
  // Cache hints for a writer that will push soon (a feed with thousands of histories
  // finds each one out of cache), in two stages: prefetch() loads the history's own
  // lines (no load needed for their addresses); prefetch_slot(), once those are in,
  // loads the slot the next push writes (found through head and the slot array).
  void prefetch() const noexcept {
    prefetch_line_for_write(&head_);
    prefetch_line(&slots_);
  }
  void prefetch_slot() const noexcept {
    prefetch_line_for_write(&slots_[(head_.load(std::memory_order_relaxed) + 1) & mask_]);
  }

  // --- readers (any thread, lock-free, wait-free) ---
  // The last sequence published, 0 before the first trade.
  [[nodiscard]] std::uint64_t head() const noexcept { return head_.load(std::memory_order_acquire); }
  // The oldest sequence still readable (1 when empty): max(1, head - capacity + 1). A
  // trade being written may overwrite it at any moment; read() reports that exactly.
  [[nodiscard]] std::uint64_t oldest() const noexcept { return oldest_for(head()); }
  [[nodiscard]] std::size_t capacity() const noexcept { return mask_ + 1; }
  [[nodiscard]] std::uint64_t epoch() const noexcept { return epoch_; }

  // Copies consecutive trades from from_seq (0 is taken as 1) into out, at most
  // out.size(), up to the head seen at the call. When from_seq is older than the oldest
  // trade it can still read consistently, it skips to that trade and reports how many it
  // skipped in lost. A from_seq beyond head() + 1 returns nothing, lost 0 and next_seq
  // from_seq (the caller decides whether such a cursor is valid). Every record returned
  // is exactly trade out[k].seq as pushed: never torn, never a later overwrite.
  [[nodiscard]] read_result read(std::uint64_t from_seq, std::span<trade_record> out) const noexcept;

private:
  static constexpr std::size_t kPayloadWords = sizeof(trade_record) / sizeof(std::uint64_t) - 1;
  // On a cache line of its own: a push or a read of a record touches one line, not two.
  struct alignas(64) slot {
    std::atomic<std::uint64_t> seq{0}; // 0: never written or being written
    std::atomic<std::uint64_t> words[kPayloadWords]; // value-initialized (C++20)
  };
  static_assert(sizeof(slot) == sizeof(trade_record));

  trade_history(std::unique_ptr<slot[]> slots, std::size_t capacity, std::uint64_t epoch) noexcept;
  [[nodiscard]] std::uint64_t oldest_for(std::uint64_t head) const noexcept {
    return head > mask_ ? head - mask_ : 1;
  }
  // One attempt at trade s: true when out is exactly trade s.
  [[nodiscard]] bool try_copy(std::uint64_t s, trade_record& out) const noexcept;

  alignas(64) std::atomic<std::uint64_t> head_{0};
  qty_t volume_ = 0; // writer only
  price_t open_ = 0;
  alignas(64) std::unique_ptr<slot[]> slots_;
  std::uint64_t mask_;
  std::uint64_t epoch_;
};

} // namespace mdgw
