#include "itch_levels.hpp"

#include <algorithm>

namespace mdgw::itch {

namespace {
// Slot arrays start on a cache line: a side's first 8 levels are two lines.
constexpr std::size_t kAlign = 64;
} // namespace

itch_levels::~itch_levels() {
  for (const side_levels& h : sides_) {
    if (h.v != nullptr) memory_->deallocate(h.v, std::size_t{h.cap} * sizeof(slot_level), kAlign);
  }
}

void itch_levels::ensure_locates(std::size_t limit) {
  while (sides_.size() < limit * 2) {
    side_levels h;
    h.v = static_cast<slot_level*>(memory_->allocate(kInitialSlots * sizeof(slot_level), kAlign));
    h.cap = kInitialSlots;
    sides_.push_back(h);
  }
}

std::uint32_t itch_levels::create(side_levels& h, std::uint32_t price, std::uint32_t qty) {
  std::uint32_t i = 0;
  while (i < h.used && h.v[i].price != 0) ++i;
  if (i == h.used) {
    if (h.used == h.cap) {
      const std::uint32_t cap = h.cap * 2;
      auto* v = static_cast<slot_level*>(memory_->allocate(std::size_t{cap} * sizeof(slot_level), kAlign));
      std::copy_n(h.v, h.used, v);
      memory_->deallocate(h.v, std::size_t{h.cap} * sizeof(slot_level), kAlign);
      h.v = v;
      h.cap = cap;
    }
    ++h.used;
  }
  h.v[i] = slot_level{price, 1, qty};
  return i;
}

void itch_levels::clear() noexcept {
  for (side_levels& h : sides_) h.used = 0;
}

void itch_levels::sorted_view(std::uint16_t locate, level_book& out) const {
  for (const side s : {side::bid, side::ask}) {
    scratch_.clear();
    const side_levels& h = sides_[index(locate, s)];
    const slot_level* v = h.v;
    // Worst first, as a level_book keeps a side: bids ascending, asks descending. A side
    // of up to kKeys levels (nearly all) is sorted as 8-byte keys (price, or its
    // complement for asks, above the slot) by insertion: the view is built for every
    // publication, and moving 24-byte levels through std::sort cost twice as much.
    constexpr std::uint32_t kKeys = 64;
    if (h.used <= kKeys) {
      std::uint64_t keys[kKeys];
      std::uint32_t n = 0;
      for (std::uint32_t i = 0; i < h.used; ++i) {
        if (v[i].price == 0) continue;
        const std::uint32_t p = s == side::bid ? v[i].price : ~v[i].price;
        std::uint64_t k = (std::uint64_t{p} << 32) | i;
        std::uint32_t j = n++;
        for (; j > 0 && keys[j - 1] > k; --j) keys[j] = keys[j - 1];
        keys[j] = k;
      }
      for (std::uint32_t j = 0; j < n; ++j) {
        const slot_level& l = v[static_cast<std::uint32_t>(keys[j])];
        scratch_.push_back(price_level{l.price, l.qty, l.orders, 0});
      }
    } else {
      for (std::uint32_t i = 0; i < h.used; ++i) {
        if (v[i].price != 0) scratch_.push_back(price_level{v[i].price, v[i].qty, v[i].orders, 0});
      }
      if (s == side::bid) {
        std::sort(scratch_.begin(), scratch_.end(), [](const price_level& a, const price_level& b) { return a.price < b.price; });
      } else {
        std::sort(scratch_.begin(), scratch_.end(), [](const price_level& a, const price_level& b) { return a.price > b.price; });
      }
    }
    out.assign_worst_first(s, scratch_.data(), scratch_.size());
  }
}

} // namespace mdgw::itch
