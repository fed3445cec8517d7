// Order-by-order ITCH 5.0 books: every live order by reference number, aggregated into
// price levels per stock locate (itch_levels.hpp, read sorted through book()), plus the
// per-locate directory, status and imbalance state.
//
// Rationale:
// - The orders are the hot structure (every A/F/E/C/X/D/U touches one or two). They live
//   in an order_store: a direct-mapped window indexed by reference (ITCH references
//   increase through the day and most orders die young, so the orders a message names sit
//   in a few consecutive, cache-warm slots: no hashing, no probing), and behind it an
//   order_map (open addressing, linear probing over 24-byte entries, Fibonacci hashing of
//   groups of 4 consecutive references, backward-shift deletion) for the orders that
//   outlive a window of references. No allocation per order: the window is fixed and the
//   spill map grows by doubling only when it passes a quarter full, so after warm-up (or
//   with book_config::expected_orders sized for the day) a message never allocates.
//   A slot is free when its shares are 0: a live order always has shares > 0 (an order
//   executed or cancelled down to 0 is removed), so no key value is reserved.
// - The window, the spill map and the levels (itch_levels.hpp) are in transparent huge
//   pages (huge_pages.hpp): a day's book touches a few MiB at random, and with 4 KiB
//   pages the TLB misses (two-level page walks under a hypervisor) cost more than the
//   cache misses. The per-message work is one order slot and one level.
// - The order keeps its locate, side and price: E/C/X/D/U carry only the reference, and
//   the order's own locate is the truth when a message's header disagrees (counted).
//   It also keeps its level's slot in itch_levels, where levels never move while they
//   live: a removal updates its level with no search; an add scans its side's few
//   unsorted levels. Each side caches its levels' price order as well, rebuilt on read
//   after a level came or went: publication reads a locate's best levels in place
//   (levels()), and book() copies them into a level_book for `mdgw book` and the tests.
// - Directory, status and imbalance (locate_state) sit in their own array by locate,
//   apart from the levels, which every order message touches.
// - Each order message updates the locate's levels and emits the normalized events
//   (book/events.hpp) through an event_sink: add, reduce (orders = 1 when the order
//   left the level), and trade for executions (E always, C when printable), P and Q.
//   A trade comes before the reduce its fill caused. instrument = stock locate; the
//   feed maps locates to publication ids. exch_ts = midnight_ns + ITCH timestamp.
// - The message handlers are templates over the sink's type (book_sink; defined in
//   itch_book_apply.hpp). A sink whose type is known where the book is applied (the
//   feed's adapter, null_sink) is called directly, and inlined where its body is in
//   sight (null_sink's calls and events vanish); through event_sink's vtable the replay
//   took about a tenth longer (docs/performance.md): an indirect call per event, and an
//   event built even for a sink that drops it. Through an event_sink& the calls stay
//   virtual.
// - Bad input never throws and never corrupts a book. Policies (the reference book in
//   tests/feeds/itch implements the same ones independently):
//     * E/C/X/D/U naming an order that is not live: counted per kind, skipped.
//     * A/F/U whose new reference is already live: the live order is removed first
//       (the exchange's newest statement wins), counted as duplicate_ref.
//     * Adds (and the new half of U) with 0 shares, price 0 or a side other than B/S:
//       counted as invalid, not added (U still removes its original order).
//     * E/C/X with 0 shares: invalid, order untouched. E/C/X for more shares than the
//       order has: the order is removed (over_execution); E/C still report the trade
//       for the quantity the exchange said traded.
//   Each kind is reported once through the log function.
#pragma once

#include "events.hpp"
#include "huge_pages.hpp"
#include "itch_decoder.hpp"
#include "itch_levels.hpp"
#include "itch_messages.hpp"
#include "level_book.hpp"
#include "types.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <memory_resource>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

namespace mdgw::itch {

using locate_t = std::uint16_t;

// One live order. 24 bytes.
struct order_entry {
  std::uint64_t ref = 0;
  std::uint32_t price = 0;  // 4 implied decimals
  std::uint32_t shares = 0; // 0: free slot
  locate_t locate = 0;
  side s = side::bid;
  std::uint8_t reserved_ = 0;
  // Its level's slot in its locate and side's itch_levels array (stable while it lives).
  std::uint32_t level = 0;
};
static_assert(sizeof(order_entry) == 24);

// Order reference -> order. Not thread-safe (the feed thread owns it).
class order_map {
public:
  explicit order_map(std::size_t expected_orders = 1 << 16);

  [[nodiscard]] order_entry* find(std::uint64_t ref) noexcept {
    std::size_t i = home(ref);
    for (;;) {
      order_entry& e = slots_[i];
      if (e.shares == 0) return nullptr;
      if (e.ref == ref) return &e;
      i = (i + 1) & mask_;
    }
  }
  [[nodiscard]] const order_entry* find(std::uint64_t ref) const noexcept {
    return const_cast<order_map*>(this)->find(ref);
  }
  // Finds the slot of `ref`, claiming a free one when it is not live: {slot, true} when
  // claimed, {live order, false} otherwise. The caller must give a claimed slot shares
  // > 0 before any other call (a slot with 0 shares is free). May grow the table first:
  // entry pointers from earlier calls are invalidated.
  [[nodiscard]] std::pair<order_entry*, bool> try_insert(std::uint64_t ref);
  // Starts loading the slot where `ref` would be: the first probe is a cache miss on a
  // large table, so a caller that sees messages ahead of time hides it.
  void prefetch(std::uint64_t ref) const noexcept { prefetch_line(&slots_[home(ref)]); }
  // Removes a live entry (a pointer from find). Other entry pointers are invalidated.
  void erase(order_entry* e) noexcept;
  void clear() noexcept;

  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] std::size_t capacity() const noexcept { return mask_ + 1; }
  // Visits every live order (tests, snapshots).
  template <class F>
  void for_each(F&& f) const {
    for (std::size_t i = 0; i <= mask_; ++i) {
      if (slots_[i].shares != 0) f(slots_[i]);
    }
  }

private:
  // Fibonacci hashing of ref / 4, keeping ref % 4 as the offset in a group of 4 slots.
  // ITCH references increase through the day, so orders added one after another share
  // a group (one cache line miss per 4 adds instead of one per add; twice as fast on
  // generated days); groups are scattered, so strided references (the RITCH sample's
  // are multiples of 100) still spread over the whole table. capacity >= 16, so the
  // shift stays below 64.
  [[nodiscard]] std::size_t home(std::uint64_t ref) const noexcept {
    return static_cast<std::size_t>((((ref >> 2) * 0x9E3779B97F4A7C15ULL) >> (shift_ + 2)) << 2 | (ref & 3));
  }
  [[gnu::noinline]] void rehash(std::size_t new_capacity);

  huge_array<order_entry> slots_;
  std::size_t mask_ = 0;
  unsigned shift_ = 64;
  std::size_t size_ = 0;
};

inline std::pair<order_entry*, bool> order_map::try_insert(std::uint64_t ref) {
  // At most a quarter full. Groups of 4 consecutive references fill 4 adjacent slots,
  // so clusters are longer than uniform hashing's; at half full the probes on insert and
  // the backward shifts on erase cost a third more instructions on a generated day.
  if ((size_ + 1) * 4 > mask_ + 1) [[unlikely]] rehash((mask_ + 1) * 2);
  std::size_t i = home(ref);
  for (;;) {
    order_entry& e = slots_[i];
    if (e.shares == 0) {
      e.ref = ref;
      ++size_;
      return {&e, true};
    }
    if (e.ref == ref) return {&e, false};
    i = (i + 1) & mask_;
  }
}

// Live orders by reference: a direct-mapped window (an order lives in slot ref mod
// capacity) backed by an order_map for the orders the window cannot hold. Not thread-safe.
//
// ITCH references increase through the day, and most orders are deleted soon after they
// were added: the live orders a message names are nearly always among the newest few
// thousand references, which sit in consecutive window slots (warm in cache; adds walk the
// window sequentially, which the hardware prefetcher follows). A lookup is one load and
// two compares, with no hashing and no probing; an erase clears the slot.
// A slot already taken by another live order when a new reference lands on it (an order
// that outlived a whole window of references) sends that older order to the spill map:
// the newest reference always owns its slot. An order is in exactly one place: in the
// window slot of its reference (the slot's ref is its ref) or in the spill map. A reference
// above every one inserted before cannot be live, so an add in a day's order skips the
// duplicate check; out-of-order references (still correct) also check the spill map.
class order_store {
public:
  // window_slots: rounded up to a power of two (at least 16).
  order_store(std::size_t window_slots, std::size_t expected_spilled);

  [[nodiscard]] order_entry* find(std::uint64_t ref) noexcept {
    order_entry& e = window_[ref & mask_];
    if (e.ref == ref && e.shares != 0) [[likely]] return &e;
    return spill_.size() != 0 ? spill_.find(ref) : nullptr;
  }
  [[nodiscard]] const order_entry* find(std::uint64_t ref) const noexcept {
    return const_cast<order_store*>(this)->find(ref);
  }
  // As order_map::try_insert: {slot, true} when `ref` was not live (the caller must give
  // it shares > 0 before any other call), {live order, false} otherwise. Entry pointers
  // into the spill map from earlier calls are invalidated (it may grow).
  [[nodiscard]] std::pair<order_entry*, bool> try_insert(std::uint64_t ref) {
    order_entry& e = window_[ref & mask_];
    if (ref > newest_) [[likely]] {
      newest_ = ref; // above every reference inserted: not live anywhere
    } else {
      if (e.ref == ref && e.shares != 0) return {&e, false};
      if (spill_.size() != 0) {
        if (order_entry* s = spill_.find(ref)) return {s, false};
      }
    }
    if (e.shares != 0) [[unlikely]] {
      spill(e);
    } else {
      ++in_window_;
    }
    e.ref = ref;
    return {&e, true};
  }
  // Both ends of the slot: a 24-byte entry straddles two lines at 2 offsets in 8.
  void prefetch(std::uint64_t ref) const noexcept {
    const order_entry* e = &window_[ref & mask_];
    prefetch_line(e);
    prefetch_line(reinterpret_cast<const char*>(e) + sizeof(order_entry) - 1);
  }
  // For an add of `ref` (its window slot loaded by prefetch()): when a live order still
  // holds that slot, the add will move it to the spill map; starts loading where it goes.
  void prefetch_spill(std::uint64_t ref) const noexcept {
    const order_entry& e = window_[ref & mask_];
    if (e.shares != 0 && e.ref != ref) spill_.prefetch(e.ref);
  }
  // For a message naming `ref` when peek() did not find it in the window: the spill map
  // slot where a lookup starts (an order that outlived the window).
  void prefetch_spilled(std::uint64_t ref) const noexcept {
    if (spill_.size() != 0) spill_.prefetch(ref);
  }
  // The live order `ref` when it is in the window (no spill map lookup): a cache hint's
  // cheap look.
  [[nodiscard]] const order_entry* peek(std::uint64_t ref) const noexcept {
    const order_entry& e = window_[ref & mask_];
    return e.ref == ref && e.shares != 0 ? &e : nullptr;
  }
  // Removes a live entry (a pointer from find or try_insert).
  void erase(order_entry* e) noexcept {
    // Window or spill map: compared as addresses (relational operators on pointers into
    // different arrays are unspecified).
    const auto offset = reinterpret_cast<std::uintptr_t>(e) - reinterpret_cast<std::uintptr_t>(window_.get());
    if (offset < (mask_ + 1) * sizeof(order_entry)) [[likely]] {
      e->shares = 0;
      --in_window_;
    } else {
      spill_.erase(e);
    }
  }
  void clear() noexcept;

  [[nodiscard]] std::size_t size() const noexcept { return in_window_ + spill_.size(); }
  [[nodiscard]] std::size_t window_capacity() const noexcept { return mask_ + 1; }
  [[nodiscard]] std::size_t spilled() const noexcept { return spill_.size(); }
  [[nodiscard]] std::size_t spill_capacity() const noexcept { return spill_.capacity(); }
  template <class F>
  void for_each(F&& f) const {
    for (std::size_t i = 0; i <= mask_; ++i) {
      if (window_[i].shares != 0) f(window_[i]);
    }
    spill_.for_each(f);
  }

private:
  [[gnu::noinline]] void spill(const order_entry& e);

  huge_array<order_entry> window_;
  std::size_t mask_ = 0;
  std::size_t in_window_ = 0;
  std::uint64_t newest_ = 0; // highest reference inserted since clear()
  order_map spill_;
};

// Directory (R) of a locate.
struct stock_info {
  bool known = false;             // an R message was seen
  alpha<8> stock{};               // symbol, space padded
  std::uint32_t round_lot = 0;
  char market_category = ' ';
  char financial_status = ' ';
  char round_lots_only = ' ';
  char issue_classification = ' ';
  alpha<2> issue_sub_type{};
  char authenticity = ' ';
  char short_sale_threshold = ' ';
  char ipo_flag = ' ';
  char luld_tier = ' ';
  char etp_flag = ' ';
  std::uint32_t etp_leverage_factor = 0;
  char inverse_indicator = ' ';

  [[nodiscard]] std::string_view symbol() const noexcept { return stock.trimmed(); }
};

// Instrument status of a locate: H, Y, J, h, K, N. ' ' = not announced yet.
struct instrument_status {
  char trading_state = ' '; // H: trading_state
  alpha<4> trading_reason{};
  char reg_sho_action = ' '; // Y: '0', '1', '2'
  // J (prices with 4 decimals)
  std::uint32_t luld_reference_price = 0;
  std::uint32_t luld_upper_price = 0;
  std::uint32_t luld_lower_price = 0;
  std::uint32_t luld_extension = 0;
  // h
  char operational_halt_market = ' ';
  char operational_halt_action = ' ';
  // K
  std::uint32_t ipo_release_time = 0; // seconds since midnight
  char ipo_release_qualifier = ' ';
  std::uint32_t ipo_price = 0;
  // N
  char rpii_interest = ' ';
  std::uint64_t ts = 0; // exchange ns of the newest status message
};

// Net Order Imbalance Indicator (I) of a locate: the auction imbalance clients see.
struct auction_imbalance {
  bool valid = false;
  std::uint64_t paired_shares = 0;
  std::uint64_t imbalance_shares = 0;
  char direction = ' '; // imbalance_direction
  std::uint32_t far_price = 0;   // 4 decimals
  std::uint32_t near_price = 0;
  std::uint32_t reference_price = 0;
  char cross_type = ' ';
  char price_variation = ' ';
  std::uint64_t ts = 0;
};

// Market-wide state: system events and MWCB (V/W, always locate 0).
struct market_status {
  char system_event = ' ';
  std::uint64_t mwcb_level[3] = {0, 0, 0}; // 8 implied decimals
  char mwcb_breached = ' ';
  std::uint64_t ts = 0;
};

// What is kept per stock locate besides its levels (those live in a separate dense
// array: they are touched by every order message, this only by the rarer ones).
struct locate_state {
  stock_info info;
  instrument_status status;
  auction_imbalance imbalance;
  std::uint64_t broken_trades = 0; // B messages naming this locate
};

// Order messages that name an existing order.
enum class ref_kind : std::uint8_t { executed = 0, executed_with_price, cancel, delete_order, replace, count_ };
inline constexpr std::size_t kRefKinds = static_cast<std::size_t>(ref_kind::count_);

struct book_counters {
  std::array<std::uint64_t, kRefKinds> unknown_ref{}; // by ref_kind
  std::uint64_t duplicate_ref = 0;   // A/F/U with a reference already live
  std::uint64_t invalid_order = 0;   // adds with 0 shares/price or a bad side; E/C/X of 0
  std::uint64_t over_execution = 0;  // E/C/X for more than the order had
  std::uint64_t locate_mismatch = 0; // header locate != the order's locate
  std::uint64_t level_errors = 0;    // a reduce took more than its level held (a bug if nonzero)
  std::uint64_t trades = 0;          // trade events (E, printable C, P, Q with shares)
  std::uint64_t non_printable = 0;   // C executions marked non-printable
  std::uint64_t cross_trades = 0;    // Q messages
  std::uint64_t broken_trades = 0;   // B messages

  [[nodiscard]] std::uint64_t unknown_refs() const noexcept {
    std::uint64_t n = 0;
    for (auto v : unknown_ref) n += v;
    return n;
  }
  friend bool operator==(const book_counters&, const book_counters&) = default;
};

// Non-book state that changed (for a feed to publish status / imbalance).
enum class state_change : std::uint8_t { directory, status, imbalance, market, broken_trade };

class event_sink {
public:
  virtual ~event_sink() = default;
  // A normalized book or trade event; e.instrument is the stock locate.
  virtual void on_event(const market_event& e) = 0;
  // Directory, status or imbalance of `locate` changed (locate 0 with market: market-wide).
  virtual void on_state(locate_t locate, state_change what) {
    (void)locate;
    (void)what;
  }
};

// Discards everything (benchmarks, replays that only want the final books).
class null_sink final : public event_sink {
public:
  void on_event(const market_event&) override {}
};

// What itch_book's apply and apply_batch call: event_sink, or any type with these two
// members. The book's handlers are templates over it (itch_book_apply.hpp), so a final
// sink or one with plain members is called directly, not through the vtable.
template <class S>
concept book_sink = requires(S& s, const market_event& e, locate_t locate, state_change what) {
  s.on_event(e);
  s.on_state(locate, what);
};

struct book_config {
  std::uint64_t midnight_ns = 0;       // added to ITCH timestamps: exch_ts since the epoch
  std::size_t expected_orders = 1 << 16; // order window slots (a span of references) and spill map size / 4
  log_fn log;                          // reports; empty: stderr
};

class itch_book {
public:
  explicit itch_book(book_config config = {});

  // Decodes and applies one message (tag byte first). Bad input is counted (decoder()
  // and counters()) and skipped; the return value says whether it was decoded.
  template <book_sink Sink>
  [[nodiscard]] decode_status apply(const std::uint8_t* msg, std::size_t len, Sink& sink);

  // Cache hints for a message that apply() will see soon, in two stages: prefetch() when
  // it is kFar messages ahead (its order slot and its locate's level headers, whose
  // addresses need no load), then prefetch_levels() when it is kNear ahead (the levels
  // it touches: an add's side, a removal's own level; finding them reads the headers
  // and, for E/C/X/D/U, the order slot, which the first stage brought in; and the spill
  // map slot an add's displaced order goes to, or where a removal of an order that is not
  // in the window looks). One stage that read them itself would stall. Read nothing past
  // len; any bytes are fine.
  static constexpr std::size_t kFar = 16;
  static constexpr std::size_t kNear = 6;
  void prefetch(const std::uint8_t* msg, std::size_t len) const noexcept {
    if (!is_order_message(msg, len)) return;
    orders_.prefetch(ref_at(msg, 11));
    levels_.prefetch_sides(locate_at(msg));
  }
  void prefetch_levels(const std::uint8_t* msg, std::size_t len) const noexcept {
    if (!is_order_message(msg, len)) return;
    if (msg[0] == 'A' || msg[0] == 'F') {
      if (len < 20) return;
      levels_.prefetch_slots(locate_at(msg), msg[19] == kSell ? side::ask : side::bid);
      orders_.prefetch_spill(ref_at(msg, 11)); // the order its slot's old tenant goes to
      return;
    }
    // The order's level: the line a removal reads.
    const std::uint64_t ref = ref_at(msg, 11);
    const order_entry* o = orders_.peek(ref);
    if (o == nullptr) { // spilled, or unknown
      orders_.prefetch_spilled(ref);
      return;
    }
    levels_.prefetch_slot(o->locate, o->s, o->level);
    if (msg[0] == 'U' && len >= 27) {
      levels_.prefetch_slots(o->locate, o->s); // the new order's side
      orders_.prefetch_spill(ref_at(msg, 19));
    }
  }
  // Applies msgs[0..n) in order, as apply() each, with the cache hints above issued `far`
  // and `near` messages ahead (far 0: no hints). A feed that gets its messages in batches
  // hides most of the cache misses of its order slots and levels this way; one message at
  // a time it cannot look ahead.
  // msgs[n, n + ahead) are messages the caller already holds and will apply next (valid
  // during the call, not applied by it): the hints run on into them, and a call whose first
  // message is the previous call's first `ahead` message skips the hints that call issued.
  // Without them the hints restart at each batch, whose first messages then miss again.
  template <book_sink Sink>
  void apply_batch(const std::span<const std::uint8_t>* msgs, std::size_t n, Sink& sink, std::size_t ahead = 0,
                   std::size_t far = kFar, std::size_t near = kNear) {
    if (far == 0) {
      for (std::size_t i = 0; i < n; ++i) (void)apply(msgs[i].data(), msgs[i].size(), sink);
      hinted_from_ = nullptr;
      return;
    }
    const std::size_t total = n + ahead;
    // Continuing the last call: it hinted its `ahead` up to far and near messages in.
    const std::size_t done = n != 0 && msgs[0].data() == hinted_from_ ? hinted_ahead_ : 0;
    for (std::size_t i = std::min(done, far); i < total && i < far; ++i) prefetch(msgs[i].data(), msgs[i].size());
    for (std::size_t i = std::min(done, near); i < total && i < near; ++i) {
      prefetch_levels(msgs[i].data(), msgs[i].size());
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (i + far < total) prefetch(msgs[i + far].data(), msgs[i + far].size());
      if (i + near < total) prefetch_levels(msgs[i + near].data(), msgs[i + near].size());
      (void)apply(msgs[i].data(), msgs[i].size(), sink);
    }
    hinted_from_ = ahead != 0 ? msgs[n].data() : nullptr;
    hinted_ahead_ = ahead;
  }
  // The levels of `locate`, read in place and in price order (depth, copy_top: what
  // producer::publish_book takes). Precondition: locate < locate_limit(). Valid until the
  // next apply. Sorts a side's few levels when one came or went since the last read.
  [[nodiscard]] itch_levels::view levels(locate_t locate) const noexcept { return levels_.levels_of(locate); }
  // The levels of `locate` copied into a level_book, or nullptr when nothing named that
  // locate yet: for readers that want one (`mdgw book`, tests). One copy for every locate:
  // valid until the next book() call or the next apply; not thread-safe.
  [[nodiscard]] const level_book* book(locate_t locate) const;
  // Cache hints for a reader that will ask for levels(locate) soon (publication walks its
  // touched locates; by then their levels are out of cache): the locate's level headers
  // first, then, a few locates later, its best levels (finding them reads the headers).
  void prefetch_book(locate_t locate) const noexcept { levels_.prefetch_sides(locate); }
  void prefetch_book_levels(locate_t locate) const noexcept { levels_.prefetch_view(locate); }
  [[nodiscard]] const locate_state* state(locate_t locate) const noexcept {
    return locate < locates_.size() ? &locates_[locate] : nullptr;
  }
  // One past the highest locate seen.
  [[nodiscard]] std::size_t locate_limit() const noexcept { return locates_.size(); }
  [[nodiscard]] const market_status& market() const noexcept { return market_; }
  [[nodiscard]] const book_counters& counters() const noexcept { return counters_; }
  [[nodiscard]] const itch_decoder& decoder() const noexcept { return decoder_; }
  [[nodiscard]] const order_store& orders() const noexcept { return orders_; }
  [[nodiscard]] const order_entry* find_order(std::uint64_t ref) const noexcept { return orders_.find(ref); }
  // Forgets every order, level, state and counter (a new session). Keeps the memory:
  // locates seen stay allocated (with empty books), the order map keeps its capacity.
  void clear();

  // Decoder visitor entry points (public for itch_decoder::decode; not an API).
  template <class Sink>
  struct visitor;

private:
  [[nodiscard]] locate_state& at(locate_t locate) {
    if (locate >= locates_.size()) [[unlikely]] grow(locate);
    return locates_[locate];
  }
  [[gnu::noinline]] void grow(locate_t locate);
  static constexpr std::size_t kViewReserve = 64; // levels per side before the view grows
  [[nodiscard]] static bool is_order_message(const std::uint8_t* msg, std::size_t len) noexcept {
    if (len < 19) return false;
    switch (msg[0]) {
    case 'A': case 'F': case 'E': case 'C': case 'X': case 'D': case 'U': return true;
    default: return false;
    }
  }
  [[nodiscard]] static std::uint64_t ref_at(const std::uint8_t* msg, std::size_t at) noexcept {
    be64 ref;
    std::memcpy(&ref, msg + at, sizeof ref);
    return ref.get();
  }
  [[nodiscard]] static locate_t locate_at(const std::uint8_t* msg) noexcept {
    return static_cast<locate_t>((msg[1] << 8) | msg[2]);
  }
  [[nodiscard]] std::uint64_t ts(const header& h) const noexcept { return config_.midnight_ns + h.timestamp.get(); }

  // Order messages get the header's locate and exchange time as values: a header passed
  // by reference would make the decoder keep each message's copy in memory.
  // The handlers (itch_book_apply.hpp) take the sink of the apply() or apply_batch() call.
  template <class Sink>
  void add(Sink& sink, locate_t locate, std::uint64_t exch_ts, std::uint64_t ref, char side_char,
           std::uint32_t shares, std::uint32_t price);
  // Makes `ref` a live order (replacing a live one with that reference).
  template <class Sink>
  void place(Sink& sink, locate_t locate, side s, std::uint64_t ref, std::uint32_t price, std::uint32_t shares,
             std::uint64_t exch_ts);
  void check_locate(const order_entry& o, locate_t locate);
  template <class Sink>
  void execute(Sink& sink, ref_kind kind, locate_t locate, std::uint64_t exch_ts, std::uint64_t ref,
               std::uint32_t shares, bool printable, std::uint32_t trade_price, bool has_price);
  template <class Sink>
  void cancel(Sink& sink, locate_t locate, std::uint64_t exch_ts, std::uint64_t ref, std::uint32_t shares);
  template <class Sink>
  void remove(Sink& sink, ref_kind kind, locate_t locate, std::uint64_t exch_ts, std::uint64_t ref);
  template <class Sink>
  void replace(Sink& sink, locate_t locate, std::uint64_t exch_ts, std::uint64_t old_ref, std::uint64_t new_ref,
               std::uint32_t shares, std::uint32_t price);
  template <class Sink>
  void emit_trade(Sink& sink, locate_t locate, side aggressor, std::uint64_t price, std::uint64_t qty,
                  std::uint64_t exch_ts);
  // Removes `qty` shares of a live order from its level (and the order itself when it
  // reaches 0); emits the reduce.
  template <class Sink>
  void reduce_order(Sink& sink, order_entry* o, std::uint32_t qty, std::uint64_t exch_ts);

  [[gnu::cold, gnu::noinline]] void on_unknown_ref(ref_kind kind, std::uint64_t ref);
  [[gnu::cold, gnu::noinline]] void note(std::uint64_t& counter, bool& reported, std::string_view what);
  void report(std::string_view line);

  book_config config_;
  itch_decoder decoder_;
  order_store orders_;
  // The locates' level lists, in huge pages: a pool (freed arrays are reused) over an
  // arena. Declared before levels_, which returns its arrays to the pool.
  huge_page_arena level_arena_;
  std::pmr::unsynchronized_pool_resource level_memory_{&level_arena_};
  itch_levels levels_;                 // every locate's levels (hot: every order message)
  std::vector<locate_state> locates_; // by locate: cold
  // book()'s copy: one for every locate (a level_book per locate would double the
  // book's memory for readers that look at one locate at a time).
  mutable level_book view_{kViewReserve};
  market_status market_;
  book_counters counters_;
  // The first message after the last apply_batch's batch (nullptr: none), and how many it
  // was told were there (its `ahead`, hinted up to far and near messages in).
  const std::uint8_t* hinted_from_ = nullptr;
  std::size_t hinted_ahead_ = 0;
  std::array<bool, kRefKinds> reported_unknown_{};
  bool reported_duplicate_ = false;
  bool reported_invalid_ = false;
  bool reported_over_ = false;
  bool reported_mismatch_ = false;
  bool reported_level_ = false;
};

} // namespace mdgw::itch

#include "itch_book_apply.hpp"
