#include "itch_book.hpp"

#include <algorithm>
#include <bit>
#include <string>

namespace mdgw::itch {

// ----------------------------------------------------------------------- order_map

order_map::order_map(std::size_t expected_orders) {
  std::size_t cap = 16;
  while (cap < expected_orders * 2) cap <<= 1;
  rehash(cap);
}

void order_map::rehash(std::size_t new_capacity) {
  huge_array<order_entry> old = std::move(slots_);
  const std::size_t old_capacity = old.size();
  slots_ = huge_array<order_entry>(new_capacity);
  mask_ = new_capacity - 1;
  shift_ = 64U - static_cast<unsigned>(std::countr_zero(new_capacity));
  for (std::size_t k = 0; k < old_capacity; ++k) {
    const order_entry& e = old[k];
    if (e.shares == 0) continue;
    std::size_t i = home(e.ref);
    while (slots_[i].shares != 0) i = (i + 1) & mask_;
    slots_[i] = e;
  }
}

void order_map::erase(order_entry* e) noexcept {
  // Backward-shift deletion: walk the cluster after the hole and move back every entry
  // whose home is not cyclically within (hole, its slot]; such an entry would otherwise
  // be unreachable from its home once the hole is free.
  std::size_t i = static_cast<std::size_t>(e - slots_.get());
  std::size_t j = i;
  for (;;) {
    j = (j + 1) & mask_;
    const order_entry& n = slots_[j];
    if (n.shares == 0) break;
    const std::size_t k = home(n.ref);
    const bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
    if (!stays) {
      slots_[i] = n;
      i = j;
    }
  }
  slots_[i].shares = 0;
  --size_;
}

void order_map::clear() noexcept {
  for (std::size_t i = 0; i <= mask_; ++i) slots_[i] = order_entry{};
  size_ = 0;
}

// --------------------------------------------------------------------- order_store

order_store::order_store(std::size_t window_slots, std::size_t expected_spilled)
    : window_(std::max<std::size_t>(16, std::bit_ceil(window_slots))),
      mask_(std::max<std::size_t>(16, std::bit_ceil(window_slots)) - 1), spill_(expected_spilled) {}

void order_store::spill(const order_entry& e) {
  auto [s, fresh] = spill_.try_insert(e.ref);
  (void)fresh; // e's reference is live only in the window
  *s = e;
}

void order_store::clear() noexcept {
  for (std::size_t i = 0; i <= mask_; ++i) window_[i] = order_entry{};
  in_window_ = 0;
  newest_ = 0;
  spill_.clear();
}

// ----------------------------------------------------------------------- itch_book


itch_book::itch_book(book_config config)
    : config_(std::move(config)), decoder_(config_.log), orders_(config_.expected_orders, config_.expected_orders / 4),
      levels_(&level_memory_) {}


void itch_book::clear() {
  orders_.clear();
  // The locates keep their levels' memory: a new session reuses it.
  levels_.clear();
  for (locate_state& st : locates_) {
    st.info = stock_info{};
    st.status = instrument_status{};
    st.imbalance = auction_imbalance{};
    st.broken_trades = 0;
  }
  market_ = market_status{};
  counters_ = book_counters{};
  decoder_.reset();
  reported_unknown_.fill(false);
  reported_duplicate_ = reported_invalid_ = reported_over_ = reported_mismatch_ = reported_level_ = false;
  hinted_from_ = nullptr; // a new session's first batch continues nothing
  hinted_ahead_ = 0;
}

void itch_book::grow(locate_t locate) {
  const std::size_t n = std::size_t{locate} + 1;
  locates_.resize(n);
  levels_.ensure_locates(n);
}

const level_book* itch_book::book(locate_t locate) const {
  if (locate >= locates_.size()) return nullptr;
  levels_.sorted_view(locate, view_);
  return &view_;
}

void itch_book::report(std::string_view line) {
  if (config_.log) {
    config_.log(line);
  } else {
    log_to_stderr(line);
  }
}

void itch_book::note(std::uint64_t& counter, bool& reported, std::string_view what) {
  ++counter;
  if (!reported) {
    reported = true;
    report(std::string("itch book: ") + std::string(what) + " (further ones counted, not reported)");
  }
}

void itch_book::on_unknown_ref(ref_kind kind, std::uint64_t ref) {
  const auto k = static_cast<std::size_t>(kind);
  ++counters_.unknown_ref[k];
  if (!reported_unknown_[k]) {
    reported_unknown_[k] = true;
    static constexpr const char* kNames[kRefKinds] = {"execution (E)", "execution with price (C)", "cancel (X)",
                                                      "delete (D)", "replace (U)"};
    report(std::string("itch book: ") + kNames[k] + " of unknown order " + std::to_string(ref) +
           " skipped (further ones counted, not reported)");
  }
}

} // namespace mdgw::itch
