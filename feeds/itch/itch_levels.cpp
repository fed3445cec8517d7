#include "itch_levels.hpp"

#include <algorithm>

namespace mdgw::itch {

namespace {
// Slot arrays start on a cache line: a side's first 8 levels are two lines.
constexpr std::size_t kAlign = 64;
} // namespace

itch_levels::~itch_levels() {
  for (const side_levels& h : sides_) {
    if (h.v != nullptr) memory_->deallocate(h.v, block_bytes(h.cap), kAlign);
  }
}

void itch_levels::allocate(side_levels& h, std::uint32_t cap) {
  auto* v = static_cast<slot_level*>(memory_->allocate(block_bytes(cap), kAlign));
  auto* keys = reinterpret_cast<std::uint64_t*>(v + cap);
  auto* p = reinterpret_cast<std::uint32_t*>(keys + cap);
  std::fill_n(p, cap, 0U); // find() reads past used
  if (h.v != nullptr) {
    std::copy_n(h.v, h.used, v);
    std::copy_n(prices(h), h.used, p);
    std::copy_n(h.keys, h.ordered != 0 ? h.live : 0, keys);
    memory_->deallocate(h.v, block_bytes(h.cap), kAlign);
  }
  h.v = v;
  h.keys = keys;
  h.cap = cap;
}

void itch_levels::ensure_locates(std::size_t limit) {
  while (sides_.size() < limit * 2) {
    side_levels h;
    allocate(h, kInitialSlots);
    sides_.push_back(h);
  }
}

std::uint32_t itch_levels::create(side_levels& h, std::uint32_t price, std::uint32_t qty) {
  // The first free slot: a price 0 before used, else used itself (the prices past used
  // are 0; none when used == cap).
  std::uint32_t i = find(h, 0);
  if (i >= h.used) {
    i = h.used;
    if (h.used == h.cap) allocate(h, h.cap * 2);
    ++h.used;
  }
  h.v[i] = slot_level{price, 1, qty};
  prices(h)[i] = price;
  h.ordered = 0;
  return i;
}

void itch_levels::order(side_levels& h, side s) noexcept {
  std::uint64_t* keys = h.keys;
  std::uint32_t n = 0;
  // A side's few levels (nearly always) by insertion as they are read; a deep one by
  // std::sort, so a side of thousands of levels costs n log n, not n^2.
  constexpr std::uint32_t kInsertion = 32;
  const bool few = h.used <= kInsertion;
  const std::uint32_t* p = prices(h);
  for (std::uint32_t i = 0; i < h.used; ++i) {
    if (p[i] == 0) continue;
    const std::uint64_t k = key(s, p[i], i);
    std::uint32_t j = n++;
    if (few) {
      for (; j > 0 && keys[j - 1] > k; --j) keys[j] = keys[j - 1];
    }
    keys[j] = k;
  }
  if (!few) std::sort(keys, keys + n);
  h.live = n;
  h.ordered = 1;
}

void itch_levels::clear() noexcept {
  for (side_levels& h : sides_) {
    std::fill_n(prices(h), h.used, 0U);
    h.used = h.live = 0;
    h.ordered = 1;
  }
}

void itch_levels::sorted_view(std::uint16_t locate, level_book& out) const {
  for (const side s : {side::bid, side::ask}) {
    side_levels& h = sides_[index(locate, s)];
    if (h.ordered == 0) order(h, s);
    scratch_.clear();
    for (std::uint32_t j = 0; j < h.live; ++j) { // worst first, as a level_book keeps a side
      const slot_level& l = h.v[static_cast<std::uint32_t>(h.keys[j])];
      scratch_.push_back(price_level{l.price, l.qty, l.orders, 0});
    }
    out.assign_worst_first(s, scratch_.data(), scratch_.size());
  }
}

} // namespace mdgw::itch
