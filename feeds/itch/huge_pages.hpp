// Memory for the ITCH book's hot tables (order window, spill map, level arrays), asked of
// the kernel as transparent huge pages.
//
// Rationale:
// - A whole-day book touches a few MiB at random (one order slot and one stock's levels
//   per message). With 4 KiB pages that is more pages than the TLB holds, and a TLB miss
//   under a hypervisor walks two page tables: on the 2-core KVM machine the book spent
//   more time in page walks than in cache misses. 2 MiB pages make the whole hot set a
//   handful of TLB entries.
// - madvise(MADV_HUGEPAGE) is a hint: with THP set to "never" the memory is ordinary
//   pages and everything works the same, only slower. Blocks below 1 MiB are not worth a
//   huge page (tests make many small books) and get plain memory.
// - Allocation goes through operator new (aligned), so allocation counters see it; it
//   happens at construction and while tables grow, never per message in steady state.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <memory_resource>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

namespace mdgw::itch {

inline constexpr std::size_t kHugePage = std::size_t{2} << 20;

// Allocates `bytes` (2 MiB aligned and advised as huge pages when at least 1 MiB).
inline void* allocate_huge(std::size_t bytes) {
  if (bytes < (kHugePage >> 1)) return ::operator new(bytes, std::align_val_t{64});
  const std::size_t rounded = (bytes + kHugePage - 1) & ~(kHugePage - 1);
  void* p = ::operator new(rounded, std::align_val_t{kHugePage});
  (void)::madvise(p, rounded, MADV_HUGEPAGE); // a hint: failure leaves ordinary pages
  return p;
}

inline void deallocate_huge(void* p, std::size_t bytes) noexcept {
  ::operator delete(p, bytes < (kHugePage >> 1) ? std::align_val_t{64} : std::align_val_t{kHugePage});
}

// A fixed-size array of trivially copyable T in huge-page memory, value-initialized.
template <class T>
class huge_array {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>);

public:
  huge_array() = default;
  explicit huge_array(std::size_t n) : p_(static_cast<T*>(allocate_huge(n * sizeof(T)))), n_(n) {
    for (std::size_t i = 0; i < n; ++i) ::new (p_ + i) T{};
  }
  huge_array(huge_array&& o) noexcept : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)) {}
  huge_array& operator=(huge_array&& o) noexcept {
    if (this != &o) {
      release();
      p_ = std::exchange(o.p_, nullptr);
      n_ = std::exchange(o.n_, 0);
    }
    return *this;
  }
  huge_array(const huge_array&) = delete;
  huge_array& operator=(const huge_array&) = delete;
  ~huge_array() { release(); }

  [[nodiscard]] T* get() const noexcept { return p_; }
  [[nodiscard]] T& operator[](std::size_t i) const noexcept { return p_[i]; }
  [[nodiscard]] std::size_t size() const noexcept { return n_; }

private:
  void release() noexcept {
    if (p_ != nullptr) deallocate_huge(p_, n_ * sizeof(T));
    p_ = nullptr;
  }

  T* p_ = nullptr;
  std::size_t n_ = 0;
};

// Bump allocation from huge-page chunks; memory goes back only when the arena is
// destroyed. The upstream of a pool resource (which keeps and reuses freed blocks itself).
class huge_page_arena final : public std::pmr::memory_resource {
public:
  huge_page_arena() = default;
  huge_page_arena(const huge_page_arena&) = delete;
  huge_page_arena& operator=(const huge_page_arena&) = delete;
  ~huge_page_arena() override {
    for (const auto& [p, n] : chunks_) deallocate_huge(p, n);
  }

private:
  void* do_allocate(std::size_t bytes, std::size_t align) override {
    std::size_t at = (used_ + align - 1) & ~(align - 1);
    if (chunks_.empty() || at + bytes > chunks_.back().second) {
      const std::size_t n = bytes + align > kHugePage ? bytes + align : kHugePage;
      chunks_.reserve(chunks_.size() + 1); // before allocate_huge: no leak if this throws
      chunks_.emplace_back(allocate_huge(n), n);
      at = 0;
    }
    used_ = at + bytes;
    return static_cast<std::uint8_t*>(chunks_.back().first) + at;
  }
  void do_deallocate(void*, std::size_t, std::size_t) override {}
  bool do_is_equal(const std::pmr::memory_resource& o) const noexcept override { return this == &o; }

  std::vector<std::pair<void*, std::size_t>> chunks_;
  std::size_t used_ = 0;
};

} // namespace mdgw::itch
