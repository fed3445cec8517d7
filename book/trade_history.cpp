#include "trade_history.hpp"

#include <cstring>
#include <new>

namespace mdgw {

std::unique_ptr<trade_history> trade_history::create(std::size_t capacity, std::uint64_t epoch) noexcept {
  if (capacity < 2 || (capacity & (capacity - 1)) != 0) return nullptr;
  std::unique_ptr<slot[]> slots(new (std::nothrow) slot[capacity]);
  if (!slots) return nullptr;
  return std::unique_ptr<trade_history>(new (std::nothrow) trade_history(std::move(slots), capacity, epoch));
}

trade_history::trade_history(std::unique_ptr<slot[]> slots, std::size_t capacity, std::uint64_t epoch) noexcept
    : slots_(std::move(slots)), mask_(capacity - 1), epoch_(epoch) {}

std::uint64_t trade_history::push(const trade_record& r) noexcept {
  const std::uint64_t s = head_.load(std::memory_order_relaxed) + 1; // single writer
  slot& sl = slots_[s & mask_];
  sl.seq.store(0, std::memory_order_relaxed);
  // Orders the 0 before the payload stores: a reader that sees any of them sees the 0 in
  // its second load (see the rationale in the header).
  std::atomic_thread_fence(std::memory_order_release);
  trade_record rec = r;
  if (s == 1) open_ = r.price;
  volume_ += r.qty;
  rec.volume = volume_;
  rec.open = open_;
  std::uint64_t words[kPayloadWords + 1];
  std::memcpy(words, &rec, sizeof(words));
  for (std::size_t i = 0; i < kPayloadWords; ++i) sl.words[i].store(words[i + 1], std::memory_order_relaxed);
  sl.seq.store(s, std::memory_order_release);
  head_.store(s, std::memory_order_release);
  return s;
}

bool trade_history::try_copy(std::uint64_t s, trade_record& out) const noexcept {
  const slot& sl = slots_[s & mask_];
  if (sl.seq.load(std::memory_order_acquire) != s) return false;
  std::uint64_t words[kPayloadWords + 1];
  words[0] = s;
  for (std::size_t i = 0; i < kPayloadWords; ++i) words[i + 1] = sl.words[i].load(std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_acquire);
  if (sl.seq.load(std::memory_order_relaxed) != s) return false;
  std::memcpy(&out, words, sizeof(words));
  return true;
}

trade_history::read_result trade_history::read(std::uint64_t from_seq, std::span<trade_record> out) const noexcept {
  const std::uint64_t start = from_seq == 0 ? 1 : from_seq;
  std::uint64_t h = head();
  read_result res;
  res.next_seq = start;
  if (start > h) return res; // nothing new (or a cursor from the future)
  std::uint64_t s = start < oldest_for(h) ? oldest_for(h) : start;
  int restarts = 0;
  while (s <= h && res.count < out.size()) {
    if (try_copy(s, out[res.count])) {
      ++res.count;
      ++s;
      continue;
    }
    // Trade s was overwritten (the writer is at s + capacity or beyond). With records
    // already copied, return them: they end a consecutive run, and the next call reports
    // the gap. Otherwise skip to the oldest trade the current head leaves readable.
    if (res.count > 0 || ++restarts > kMaxRestarts) break;
    h = head();
    const std::uint64_t oldest = oldest_for(h);
    s = oldest > s ? oldest : s + 1;
  }
  res.lost = s - res.count - start;
  res.next_seq = s;
  return res;
}

} // namespace mdgw
