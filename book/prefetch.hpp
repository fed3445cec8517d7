// A cache hint that the compiler keeps: the order-by-order books and the ITCH reader
// issue it for data they will read a few messages later.
//
// Rationale: the hot loops of a whole-day replay are bound by cache misses (order slots,
// price levels, the freshly read file buffer), not by instructions; a hint issued early
// enough overlaps the miss with the work on earlier messages.
#pragma once

#include <cstddef>

namespace mdgw {

// Starts loading the cache line at p (which must point into a live object). An asm
// statement, not __builtin_prefetch: g++ 12 at -O2/-O3 dropped the __builtin_prefetch
// calls of the ITCH book's cache hints (objdump of the replay benchmark showed no
// prefetch instruction at all), while an asm volatile is always kept.
inline void prefetch_line(const void* p) noexcept {
#if defined(__x86_64__) || defined(__i386__)
  asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(p)));
#else
  __builtin_prefetch(p);
#endif
}

// As prefetch_line, for a line about to be written (prefetchw: the line comes in owned,
// so the store that follows needs no second request; a no-op on CPUs without it).
inline void prefetch_line_for_write(const void* p) noexcept {
#if defined(__x86_64__) || defined(__i386__)
  asm volatile("prefetchw %0" : : "m"(*static_cast<const char*>(p)));
#else
  __builtin_prefetch(p, 1);
#endif
}

// How many elements ahead a loop over pointers to scattered objects (the gateway's
// subscriptions) hints the next one: enough to cover a miss, few enough to stay useful.
inline constexpr std::size_t kPrefetchAhead = 4;

} // namespace mdgw
