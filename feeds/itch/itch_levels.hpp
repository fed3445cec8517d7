// Price levels of every ITCH locate in stable slots: each live order holds the slot of its
// level, so a delete, cancel or execution updates its level with no search.
//
// Rationale:
// - Order messages only add to or take from one level at a time, and the book is read
//   (published, dumped, compared) far less often than it changes. So each locate and side
//   keeps its levels unsorted in a small array of slots, and a level never moves while it
//   lives; an order keeps its level's slot (order_entry::level). E/C/X/D and the old half
//   of U go straight to that slot: no search, no price compared, no level shifted.
// - A level that empties frees its slot (price 0); the next new level of that side takes
//   the first free slot, so a side's array is as long as its most levels at once, not its
//   day's. An add looks its price up in the side's array of slot prices (4 bytes a slot,
//   8 compared at once with SSE2, no loop exit that depends on where the price sits), then
//   updates that one 16-byte slot: the usual 5 to 8 levels of a side are two lines of
//   slots and a half line of prices.
// - An earlier try kept the levels in one pool with a global price index and a list per
//   side: each level created or removed then touched three unrelated lines (index entry,
//   list, the moved level) and the whole book was 14% slower than the sorted level_book
//   with position hints. Keeping each side's levels together keeps those lines the same.
// - Side headers (arrays, used slots, live levels, capacity) are dense by locate, 32 bytes
//   each, the two sides of a locate in one line (the array is allocated on a cache line:
//   line_allocator): the line a caller looking ahead in a batch loads first
//   (prefetch_sides), before the levels (prefetch_slots / prefetch_slot).
// - Arrays come from a memory resource (huge pages in itch_book) and double when full;
//   clear() keeps them, so after a warm-up day a message never allocates.
// - Each side also caches its levels' order: an array of 8-byte keys (the price, or its
//   complement for asks, above the slot), sorted worst first so the best is at the back.
//   A level created or removed only marks it stale (a flag in the side header, which the
//   message reads anyway); the reader rebuilds it (an insertion sort of the side's few
//   levels) and then takes the best levels in order with no copy (levels_of(): depth and
//   copy_top, which book_top::fill_from and so producer::publish_book read in place).
//   Measured both ways (docs/performance.md): keeping the keys sorted on every level
//   created or removed cost the book a cache line each time (the keys are touched far
//   less often than the slots), and the replay kept only half of its gain over the
//   sorted level_book; rebuilding on read costs the gateway's feed thread a sort per
//   publication of a changed side, and it still spends less than with the level_book.
//   The first version sorted into a level_book and copied it out again for each
//   publication, and the feed thread spent more than the book saved.
// - sorted_view() builds a level_book from one locate's levels in that order, for the
//   readers that want one (`mdgw book`, the tests).
// - A level is removed when its quantity reaches 0 (ITCH orders always have shares > 0, so
//   its order count is 0 too); a reduce of more than the level holds (a caller's bug,
//   never seen) empties the level and returns false.
#pragma once

#include "level_book.hpp"
#include "prefetch.hpp"
#include "types.hpp"

#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory_resource>
#include <new>
#include <vector>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace mdgw::itch {

// One price level. price 0: a free slot.
struct slot_level {
  std::uint32_t price = 0; // 4 implied decimals
  std::uint32_t orders = 0;
  qty_t qty = 0;
};
static_assert(sizeof(slot_level) == 16);

// Allocates on cache lines, so that the two 32-byte side headers of a locate share one
// line (std::allocator's blocks are 16-byte aligned: a locate's headers then straddled two
// lines, and a cache hint that loaded one line left the ask side's header a miss).
template <class T>
struct line_allocator {
  using value_type = T;
  static constexpr std::align_val_t kLine{64};
  line_allocator() = default;
  template <class U>
  explicit line_allocator(const line_allocator<U>&) noexcept {}
  [[nodiscard]] T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kLine)); }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, kLine); }
  friend bool operator==(const line_allocator&, const line_allocator&) noexcept { return true; }
};

class itch_levels {
  // One side of a locate.
  struct side_levels {
    slot_level* v = nullptr;        // cap slots, cap keys, then cap prices, in one block
    std::uint64_t* keys = nullptr;  // [0, live): the live levels' keys, ascending (best last)
    std::uint32_t used = 0;         // slots [0, used) may be live; the last one is
    std::uint32_t live = 0;         // live levels (keys and live: valid while ordered)
    std::uint32_t cap = 0;
    std::uint32_t ordered = 1;      // 0: a level came or went since the keys were built
  };
  static_assert(sizeof(side_levels) == 32);

public:
  explicit itch_levels(std::pmr::memory_resource* memory) : memory_(memory) {}
  ~itch_levels();
  itch_levels(const itch_levels&) = delete;
  itch_levels& operator=(const itch_levels&) = delete;

  // Makes room for locates [0, limit). Locates not covered must not be used.
  void ensure_locates(std::size_t limit);
  [[nodiscard]] std::size_t locate_limit() const noexcept { return sides_.size() / 2; }

  // Adds qty and one order at (locate, s, price), creating the level when new; returns
  // its slot. price > 0, qty > 0, locate < locate_limit().
  [[nodiscard]] std::uint32_t add(std::uint16_t locate, side s, std::uint32_t price, std::uint32_t qty) {
    side_levels& h = sides_[index(locate, s)];
    const std::uint32_t i = find(h, price);
    if (i == kNone) return create(h, price, qty);
    slot_level& l = h.v[i];
    l.qty += qty;
    ++l.orders;
    return i;
  }
  // Takes qty and `orders` orders from the level in `slot` of (locate, s) (a slot add
  // returned, still live); frees it when its quantity reaches 0. False when qty was more
  // than it held.
  [[nodiscard]] bool reduce(std::uint16_t locate, side s, std::uint32_t slot, std::uint32_t qty,
                            std::uint32_t orders) noexcept {
    side_levels& h = sides_[index(locate, s)];
    slot_level& l = h.v[slot];
    const bool ok = qty <= l.qty;
    l.qty -= qty;
    l.orders -= orders;
    if (l.qty <= 0) free_slot(h, slot);
    return ok;
  }

  // The levels of one locate in price order, read in place (the caller keeps the store
  // alive and unchanged while it reads): what book_top::fill_from takes.
  class view {
  public:
    [[nodiscard]] std::size_t depth(side s) const noexcept { return sides_[s == side::ask ? 1 : 0].live; }
    // Copies up to n best levels into out (best first); returns how many.
    std::size_t copy_top(side s, std::size_t n, price_level* out) const noexcept {
      const side_levels& h = sides_[s == side::ask ? 1 : 0];
      const std::size_t m = n < h.live ? n : h.live;
      for (std::size_t k = 0; k < m; ++k) {
        const slot_level& l = h.v[static_cast<std::uint32_t>(h.keys[h.live - 1 - k])];
        out[k] = price_level{l.price, l.qty, l.orders, 0};
      }
      return m;
    }

  private:
    friend class itch_levels;
    explicit view(const side_levels* sides) noexcept : sides_(sides) {}
    const side_levels* sides_; // bid, ask
  };
  // Precondition: locate < locate_limit(). Orders the locate's keys first when a level
  // came or went since they were last built.
  [[nodiscard]] view levels_of(std::uint16_t locate) const noexcept {
    side_levels* h = &sides_[index(locate, side::bid)];
    if (h[0].ordered == 0) order(h[0], side::bid);
    if (h[1].ordered == 0) order(h[1], side::ask);
    return view(h);
  }

  // Cache hints (any arguments are safe): the side headers of a locate; the first slots
  // of one side (what an add scans); one level (what a removal updates).
  void prefetch_sides(std::uint16_t locate) const noexcept {
    if (std::size_t{locate} * 2 < sides_.size()) prefetch_line(&sides_[index(locate, side::bid)]);
  }
  void prefetch_slots(std::uint16_t locate, side s) const noexcept {
    if (std::size_t{locate} * 2 >= sides_.size()) return;
    const side_levels& h = sides_[index(locate, s)];
    const auto* p = reinterpret_cast<const char*>(h.v);
    prefetch_line(p);
    prefetch_line(p + 64);
    prefetch_line(prices(h));
  }
  void prefetch_slot(std::uint16_t locate, side s, std::uint32_t slot) const noexcept {
    if (std::size_t{locate} * 2 >= sides_.size()) return;
    const side_levels& h = sides_[index(locate, s)];
    if (slot < h.cap) prefetch_line(&h.v[slot]);
  }
  // What a reader of levels_of() loads first, on both sides: the first slots and their
  // prices (what an add reads too) and the best keys (read, or rewritten when the order
  // is stale).
  void prefetch_view(std::uint16_t locate) const noexcept {
    if (std::size_t{locate} * 2 >= sides_.size()) return;
    for (const side s : {side::bid, side::ask}) {
      prefetch_slots(locate, s);
      const side_levels& h = sides_[index(locate, s)];
      prefetch_line(h.keys + (h.live != 0 ? h.live - 1 : 0));
    }
  }

  // Rebuilds `out` (both sides) with the levels of `locate`, in order (a copy: for readers
  // that want a level_book, not for every message).
  void sorted_view(std::uint16_t locate, level_book& out) const;
  // Forgets every level; keeps the memory.
  void clear() noexcept;

private:
  static constexpr std::uint32_t kInitialSlots = 8; // a multiple of kScan
  static constexpr std::uint32_t kNone = ~std::uint32_t{0};
  static constexpr std::uint32_t kScan = 8; // prices compared at once by find()

  // A side's prices by slot (0: free, and past used). After the keys: they start a line
  // of their own (cap * 24 is a multiple of 64), and the keys stay where they were before
  // the prices came, the first 8 in one line.
  [[nodiscard]] static std::uint32_t* prices(const side_levels& h) noexcept {
    return reinterpret_cast<std::uint32_t*>(h.keys + h.cap);
  }
  // The first slot whose price is `price`, or kNone: for price > 0 the live level's slot
  // (before used); for 0 a free slot, which may be at or past used. Compares kScan prices
  // at once with no exit that depends on where the price is (an add's level is anywhere
  // in its side's unsorted slots, so a loop that stops at it mispredicted about once per
  // add). Reads up to used rounded up to kScan: cap is a multiple of kScan, and the
  // prices past used are 0.
  [[nodiscard]] static std::uint32_t find(const side_levels& h, std::uint32_t price) noexcept {
    const std::uint32_t* p = prices(h);
#if defined(__SSE2__)
    const __m128i want = _mm_set1_epi32(static_cast<int>(price));
    for (std::uint32_t i = 0; i < h.used; i += kScan) {
      const __m128i a = _mm_cmpeq_epi32(_mm_load_si128(reinterpret_cast<const __m128i*>(p + i)), want);
      const __m128i b = _mm_cmpeq_epi32(_mm_load_si128(reinterpret_cast<const __m128i*>(p + i + 4)), want);
      const auto m = static_cast<std::uint32_t>(_mm_movemask_ps(_mm_castsi128_ps(a))) |
                     static_cast<std::uint32_t>(_mm_movemask_ps(_mm_castsi128_ps(b))) << 4;
      if (m != 0) return i + static_cast<std::uint32_t>(std::countr_zero(m));
    }
#else
    for (std::uint32_t i = 0; i < h.used; ++i) {
      if (p[i] == price) return i;
    }
#endif
    return kNone;
  }

  [[nodiscard]] static std::size_t index(std::uint16_t locate, side s) noexcept {
    return std::size_t{locate} * 2 + (s == side::ask ? 1 : 0);
  }
  // Orders a side's levels: ascending keys put the worst first (bids ascending prices,
  // asks descending); the slot in the low half makes a level's key unique.
  [[nodiscard]] static std::uint64_t key(side s, std::uint32_t price, std::uint32_t slot) noexcept {
    return (std::uint64_t{s == side::bid ? price : ~price} << 32) | slot;
  }
  // A new level in the first free slot (growing the arrays when none is).
  [[gnu::noinline]] std::uint32_t create(side_levels& h, std::uint32_t price, std::uint32_t qty);
  static void free_slot(side_levels& h, std::uint32_t slot) noexcept {
    h.v[slot].price = 0;
    std::uint32_t* p = prices(h);
    p[slot] = 0;
    h.ordered = 0;
    // The used range ends at a live level: drop the free slots at its end.
    while (h.used != 0 && p[h.used - 1] == 0) --h.used;
  }
  // Rebuilds a side's keys from its slots.
  static void order(side_levels& h, side s) noexcept;
  // One side's block: cap slots, cap keys, then cap prices.
  [[nodiscard]] static std::size_t block_bytes(std::uint32_t cap) noexcept {
    return std::size_t{cap} * (sizeof(slot_level) + sizeof(std::uint32_t) + sizeof(std::uint64_t));
  }
  void allocate(side_levels& h, std::uint32_t cap);

  std::pmr::memory_resource* memory_;
  // By locate * 2 + side (ask 1). Mutable: readers (levels_of) rebuild the keys, a cache
  // of the levels' order.
  mutable std::vector<side_levels, line_allocator<side_levels>> sides_;
  mutable std::vector<price_level> scratch_; // sorted_view's
};

} // namespace mdgw::itch
