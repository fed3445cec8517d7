// Single-writer seqlock slot: the feed thread publishes a value, any number of io
// threads read it without locks and without ever blocking the writer.
//
// Why it is correct (Boehm, "Can seqlocks get along with programming language memory
// models?", 2012): the payload lives in relaxed atomic words, so concurrent access is
// never a data race (no UB, and TSan sees only atomics). The writer makes seq odd,
// issues a release fence, stores the words, then publishes seq+2 with a release store.
// A reader loads seq with acquire, copies the words relaxed, issues an acquire fence and
// reloads seq: if both loads saw the same even value, no store of the writer's next
// round can have been observed (the acquire fence orders the word loads before the
// second seq load, which would otherwise have seen the odd value the release fence
// ordered before those stores), so the copy is one consistent value.
#pragma once

#include "prefetch.hpp"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace mdgw {

template <class T>
class seqlock_slot {
  static_assert(std::is_trivially_copyable_v<T>, "seqlock payload is copied word by word");
  static_assert(sizeof(T) % sizeof(std::uint64_t) == 0, "pad the payload to whole words");
  static constexpr std::size_t kWords = sizeof(T) / sizeof(std::uint64_t);

public:
  seqlock_slot() noexcept {
    for (auto& w : words_) w.store(0, std::memory_order_relaxed);
  }
  seqlock_slot(const seqlock_slot&) = delete;
  seqlock_slot& operator=(const seqlock_slot&) = delete;

  // Single writer. Publishes the first `bytes` bytes of v (rounded up to whole words);
  // the rest of the slot keeps stale words, which a reader must ignore by using the
  // payload's own length fields (see load's used_bytes).
  void store(const T& v, std::size_t bytes = sizeof(T)) noexcept {
    const std::size_t n = bytes >= sizeof(T) ? kWords : (bytes + 7) / 8;
    const std::uint64_t s = seq_.load(std::memory_order_relaxed);
    seq_.store(s + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    const auto* src = reinterpret_cast<const unsigned char*>(&v);
    for (std::size_t i = 0; i < n; ++i) {
      std::uint64_t w;
      std::memcpy(&w, src + i * 8, 8);
      words_[i].store(w, std::memory_order_relaxed);
    }
    seq_.store(s + 2, std::memory_order_release);
  }

  // One attempt. Copies `header_bytes` first, asks used_bytes(out) how much of the
  // payload is meaningful, copies that, and validates. Returns false on a torn read
  // (or when the writer was mid-update); out is then unspecified.
  template <class UsedBytes>
  [[nodiscard]] bool try_load(T& out, std::size_t header_bytes, UsedBytes&& used_bytes) const noexcept {
    const std::uint64_t s1 = seq_.load(std::memory_order_acquire);
    if (s1 & 1U) return false;
    auto* dst = reinterpret_cast<unsigned char*>(&out);
    const std::size_t h = header_bytes >= sizeof(T) ? kWords : (header_bytes + 7) / 8;
    copy_words(dst, 0, h);
    // used_bytes reads a possibly torn header: it must clamp, and the seq check below
    // throws the result away if it was torn.
    std::size_t u = used_bytes(static_cast<const T&>(out));
    const std::size_t n = u >= sizeof(T) ? kWords : (u + 7) / 8;
    if (n > h) copy_words(dst, h, n);
    std::atomic_thread_fence(std::memory_order_acquire);
    return seq_.load(std::memory_order_relaxed) == s1;
  }

  [[nodiscard]] bool try_load(T& out) const noexcept {
    return try_load(out, sizeof(T), [](const T&) { return sizeof(T); });
  }

  // Spins until a consistent copy is made. The writer holds the odd state only for the
  // duration of a copy, so this never waits long.
  template <class UsedBytes>
  void load(T& out, std::size_t header_bytes, UsedBytes&& used_bytes) const noexcept {
    while (!try_load(out, header_bytes, used_bytes)) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
  }
  void load(T& out) const noexcept {
    load(out, sizeof(T), [](const T&) { return sizeof(T); });
  }

  // Cache hint for the writer: starts loading the lines a store of `bytes` writes (the
  // sequence line and the payload's first lines, up to `max_lines` of them).
  void prefetch_store(std::size_t bytes, std::size_t max_lines = 4) const noexcept {
    prefetch_line_for_write(&seq_);
    const auto* p = reinterpret_cast<const char*>(words_);
    const std::size_t n = std::min(std::min(bytes, sizeof(T)), max_lines * 64);
    for (std::size_t off = 0; off < n; off += 64) prefetch_line_for_write(p + off);
  }

  // Number of completed stores (the writer's version of this slot).
  [[nodiscard]] std::uint64_t stores() const noexcept { return seq_.load(std::memory_order_acquire) / 2; }

private:
  void copy_words(unsigned char* dst, std::size_t from, std::size_t to) const noexcept {
    for (std::size_t i = from; i < to; ++i) {
      const std::uint64_t w = words_[i].load(std::memory_order_relaxed);
      std::memcpy(dst + i * 8, &w, 8);
    }
  }

  alignas(64) std::atomic<std::uint64_t> seq_{0};
  alignas(64) std::atomic<std::uint64_t> words_[kWords];
};

} // namespace mdgw
