#include "publication.hpp"

#include <new>

#include <array>
#include <chrono>
#include <random>
#include <stdexcept>

namespace mdgw {

namespace {

// Random and never 0 (0 can then mean "no epoch" to a client). random_device alone may be
// deterministic on some platforms, so the wall clock is mixed in.
std::uint64_t draw_epoch() {
  std::random_device rd;
  std::uint64_t e = (std::uint64_t{rd()} << 32) ^ rd();
  e ^= static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  std::seed_seq seq{static_cast<std::uint32_t>(e), static_cast<std::uint32_t>(e >> 32)};
  std::mt19937_64 mix(seq);
  // 53 bits: a JavaScript client parses JSON numbers as doubles, exact only up to 2^53,
  // and must send the epoch back unchanged to resume.
  e = mix() & ((std::uint64_t{1} << 53) - 1);
  return e == 0 ? 1 : e;
}

} // namespace

publication::publication(std::size_t io_threads, std::size_t max_instruments, std::size_t trade_capacity)
    : max_instruments_(max_instruments),
      infos_(std::make_unique<instrument_info[]>(max_instruments)),
      slots_(std::make_unique<seqlock_slot<book_top>[]>(max_instruments)),
      states_(std::make_unique<seqlock_slot<instrument_state>[]>(max_instruments)),
      full_slots_(std::make_unique<std::atomic<seqlock_slot<full_book_top>*>[]>(max_instruments)),
      trade_capacity_(trade_capacity),
      trade_epoch_(draw_epoch()),
      histories_(std::make_unique<std::atomic<trade_history*>[]>(max_instruments)),
      io_(io_threads) {
  if (io_threads == 0) throw std::invalid_argument("publication needs at least one io thread");
  if (trade_capacity < 2 || (trade_capacity & (trade_capacity - 1)) != 0) {
    throw std::invalid_argument("trade history capacity must be a power of two >= 2");
  }
  for (std::size_t i = 0; i < max_instruments; ++i) {
    histories_[i].store(nullptr, std::memory_order_relaxed);
    full_slots_[i].store(nullptr, std::memory_order_relaxed);
  }
  for (auto& st : io_) {
    st.pending = std::make_unique<std::atomic<std::uint8_t>[]>(max_instruments);
    st.pending_trades = std::make_unique<std::atomic<std::uint8_t>[]>(max_instruments);
    for (std::size_t i = 0; i < max_instruments; ++i) {
      st.pending[i].store(0, std::memory_order_relaxed);
      st.pending_trades[i].store(0, std::memory_order_relaxed);
    }
  }
}

publication::~publication() {
  for (std::size_t i = 0; i < max_instruments_; ++i) delete full_slots_[i].load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < max_instruments_; ++i) delete histories_[i].load(std::memory_order_relaxed);
}

std::optional<instrument_id> publication::add_instrument(instrument_info info) {
  std::lock_guard lock(registry_mutex_);
  const std::size_t n = count_.load(std::memory_order_relaxed);
  if (n >= max_instruments_ || by_symbol_.contains(info.symbol)) return std::nullopt;
  const auto id = static_cast<instrument_id>(n);
  info.id = id;
  by_symbol_.emplace(info.symbol, id);
  infos_[n] = std::move(info);
  if (recorder_ != nullptr) recorder_->instrument_added(infos_[n]);
  // Publishes the info (and the empty slot) to readers that load count_ with acquire.
  count_.store(n + 1, std::memory_order_release);
  return id;
}

std::optional<instrument_id> publication::find(std::string_view symbol) const {
  std::lock_guard lock(registry_mutex_);
  auto it = by_symbol_.find(std::string(symbol));
  if (it == by_symbol_.end()) return std::nullopt;
  return it->second;
}

producer& publication::add_producer(std::size_t ring_capacity) {
  producers_.push_back(std::unique_ptr<producer>(new producer(*this, ring_capacity)));
  producer& p = *producers_.back();
  {
    std::lock_guard lock(registry_mutex_);
    if (recorder_ != nullptr) p.recorder_ = recorder_->make_producer_recorder();
  }
  for (std::size_t io = 0; io < io_.size(); ++io) io_[io].rings.push_back(p.rings_[io].get());
  return p;
}

void publication::set_recorder(publish_recorder& r) {
  std::lock_guard lock(registry_mutex_);
  recorder_ = &r;
  const std::size_t n = count_.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < n; ++i) r.instrument_added(infos_[i]);
  for (auto& p : producers_) p->recorder_ = r.make_producer_recorder();
}

void publication::set_waker(std::size_t io, std::function<void()> wake) { io_.at(io).wake = std::move(wake); }

bool publication::rearm(std::size_t io) noexcept {
  io_state& st = io_[io];
  st.armed.store(true, std::memory_order_relaxed);
  // Store-buffer case with producer::flush: without the fences both sides could miss
  // each other (we see empty rings, the producer sees armed == false).
  std::atomic_thread_fence(std::memory_order_seq_cst);
  bool more = st.overflow.load(std::memory_order_relaxed);
  for (const producer::ring* r : st.rings) more = more || r->read_available() > 0;
  if (!more) return false;
  // Notices arrived. If a producer already disarmed us it has posted a wake-up, which
  // will drain; otherwise we take the arm back and the caller drains now.
  return st.armed.exchange(false, std::memory_order_acq_rel);
}

producer::producer(publication& pub, std::size_t ring_capacity) : pub_(pub), touched_(pub.io_threads(), 0) {
  rings_.reserve(pub.io_threads());
  for (std::size_t i = 0; i < pub.io_threads(); ++i) rings_.push_back(std::make_unique<ring>(ring_capacity));
}

void producer::push(std::size_t io, const notice& n) noexcept {
  touched_[io] = 1;
  if (rings_[io]->push(n)) return;
  auto& st = pub_.io_[io];
  // Not queued: let the overflow rescan deliver it, and let later publishes notify. A
  // state notice needs nothing: its slot holds the newest state for the rescan.
  if (n.what == notice::kind::book) {
    st.pending[n.instrument].store(0, std::memory_order_relaxed);
  } else if (n.what == notice::kind::trade) {
    st.pending_trades[n.instrument].store(0, std::memory_order_relaxed);
  }

  pub_.overflows_.fetch_add(1, std::memory_order_relaxed);
  st.overflow.store(true, std::memory_order_release);
}

void producer::stage_book(instrument_id id, std::uint64_t version, std::uint64_t exch_ts, std::uint64_t recv_ts,
                          std::uint64_t recv_mono, data_quality quality, quality_reason reason) noexcept {
  staging_.version = version;
  staging_.exch_ts = exch_ts;
  staging_.recv_ts = recv_ts;
  staging_.recv_mono = recv_mono;
  staging_.instrument = id;
  staging_.quality = quality;
  staging_.reason = quality == data_quality::ok ? quality_reason::none : reason;
  full_slot_ = nullptr;
}

full_book_top* producer::stage_full() noexcept {
  const instrument_id id = staging_.instrument;
  seqlock_slot<full_book_top>* fs = pub_.full_slots_[id].load(std::memory_order_relaxed); // this thread's own
  if (fs == nullptr) {
    fs = new (std::nothrow) seqlock_slot<full_book_top>;
    pub_.full_slots_[id].store(fs, std::memory_order_release);
  }
  if (!staging_full_) staging_full_.reset(new (std::nothrow) full_book_top);
  if (fs == nullptr || !staging_full_) return nullptr;
  full_book_top& f = *staging_full_;
  f.version = staging_.version;
  f.exch_ts = staging_.exch_ts;
  f.recv_ts = staging_.recv_ts;
  f.recv_mono = staging_.recv_mono;
  f.instrument = id;
  f.quality = staging_.quality;
  f.reason = staging_.reason;
  full_slot_ = fs;
  return &f;
}

void producer::commit_book() noexcept {
  const instrument_id id = staging_.instrument;
  if (recorder_ != nullptr) recorder_->book(staging_);
  // The full slot first, so a reader that sees `deeper` finds this version or a newer
  // one there.
  if (full_slot_ != nullptr) full_slot_->store(*staging_full_, staging_full_->used_bytes());
  pub_.slots_[id].store(staging_, staging_.used_bytes());
  // Write-then-check: pairs with the clear-then-read fence in publication::drain.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  notice n;
  n.what = notice::kind::book;
  n.instrument = id;
  n.exch_ts = staging_.exch_ts;
  n.recv_ts = staging_.recv_ts;
  push_conflated(n);
}

bool publication::read_full(instrument_id id, full_book_top& out) const noexcept {
  const seqlock_slot<full_book_top>* fs = full_slots_[id].load(std::memory_order_acquire);
  if (fs == nullptr) return false;
  fs->load(out, full_book_top::kHeaderBytes, [](const full_book_top& t) { return t.used_bytes(); });
  return out.version != 0;
}

void producer::push_conflated(const notice& n) noexcept {
  for (std::size_t io = 0; io < rings_.size(); ++io) {
    auto& st = pub_.io_[io];
    auto& pending = n.what == notice::kind::book ? st.pending[n.instrument] : st.pending_trades[n.instrument];
    // Already pending: that io thread has not read the data yet and will see this too.
    if (pending.load(std::memory_order_relaxed) != 0) continue;
    if (pending.exchange(1, std::memory_order_acq_rel) != 0) continue;
    push(io, n);
  }
}

void producer::publish_trade(instrument_id id, side aggressor, price_t price, qty_t qty, std::uint64_t trade_seq,
                             std::uint64_t exch_ts, std::uint64_t recv_ts) noexcept {
  const feed_trade t{id, aggressor, price, qty, trade_seq, exch_ts, recv_ts};
  const std::uint64_t seq = append_trade(t);
  if (seq == 0) return;
  // Write-then-check: pairs with the clear-then-read fence in publication::drain.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  notify_trade(t, seq);
}

void producer::publish_trades(std::span<const feed_trade> trades) noexcept {
  // Two stages, as the feeds' book hints: a history's own lines kFar trades ahead, then,
  // once they are in, the slot its next push writes kNear ahead (its address is read
  // from them). A history not allocated yet gets none.
  constexpr std::size_t kFar = 8;
  constexpr std::size_t kNear = 4;
  const std::size_t n = trades.size();
  const auto history = [this, trades](std::size_t k) {
    return pub_.histories_[trades[k].instrument].load(std::memory_order_relaxed); // only this thread stores it
  };
  for (std::size_t k = 0; k < n && k < kFar; ++k) {
    if (const trade_history* h = history(k)) h->prefetch();
  }
  for (std::size_t k = 0; k < n && k < kNear; ++k) {
    if (const trade_history* h = history(k)) h->prefetch_slot();
  }
  std::array<std::uint64_t, kTradeRun> seqs;
  for (std::size_t from = 0; from < n; from += kTradeRun) {
    const std::size_t to = std::min(n, from + kTradeRun);
    for (std::size_t k = from; k < to; ++k) {
      if (k + kFar < n) {
        if (const trade_history* h = history(k + kFar)) h->prefetch();
      }
      if (k + kNear < n) {
        if (const trade_history* h = history(k + kNear)) h->prefetch_slot();
      }
      seqs[k - from] = append_trade(trades[k]);
    }
    // Write-then-check for the whole run: every record above is written before any of
    // the checks below (each pair still has the fence between them).
    std::atomic_thread_fence(std::memory_order_seq_cst);
    for (std::size_t k = from; k < to; ++k) {
      if (seqs[k - from] != 0) notify_trade(trades[k], seqs[k - from]);
    }
  }
}

std::uint64_t producer::append_trade(const feed_trade& t) noexcept {
  if (recorder_ != nullptr) recorder_->trade(t.instrument, t.aggressor, t.price, t.qty, t.trade_seq, t.exch_ts, t.recv_ts);
  trade_history* h = pub_.histories_[t.instrument].load(std::memory_order_relaxed); // only this thread stores it
  if (h == nullptr) {
    // The first trade of this instrument: the one allocation of its history.
    h = trade_history::create(pub_.trade_capacity_, pub_.trade_epoch_).release();
    if (h == nullptr) {
      pub_.lost_trades_.fetch_add(1, std::memory_order_relaxed);
      return 0;
    }
    pub_.histories_[t.instrument].store(h, std::memory_order_release);
  }
  const std::uint64_t seq = h->push(trade_record{.price = t.price, .qty = t.qty, .exch_ts = t.exch_ts,
                                                 .recv_ts = t.recv_ts, .aggressor = t.aggressor, .instrument = t.instrument});
  if (seq != t.trade_seq) pub_.renumbered_trades_.fetch_add(1, std::memory_order_relaxed);
  return seq;
}

void producer::notify_trade(const feed_trade& t, std::uint64_t seq) noexcept {
  notice n;
  n.what = notice::kind::trade;
  n.aggressor = t.aggressor;
  n.instrument = t.instrument;
  n.seq = seq;
  n.price = t.price;
  n.qty = t.qty;
  n.exch_ts = t.exch_ts;
  n.recv_ts = t.recv_ts;
  push_conflated(n);
}

void producer::publish_state(instrument_id id, const instrument_state& state) noexcept {
  if (recorder_ != nullptr) recorder_->state(id, state);
  pub_.states_[id].store(state);
  notice n;
  n.what = notice::kind::state;
  n.instrument = id;
  n.seq = state.version;
  n.exch_ts = state.exch_ts;
  n.recv_ts = state.recv_ts;
  for (std::size_t io = 0; io < rings_.size(); ++io) push(io, n);
}

void producer::flush() {
  if (recorder_ != nullptr) recorder_->flush();
  bool any = false;
  for (auto t : touched_) any = any || t != 0;
  if (!any) return;
  // Push-then-check: pairs with the fence in publication::rearm.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  for (std::size_t io = 0; io < touched_.size(); ++io) {
    if (touched_[io] == 0) continue;
    touched_[io] = 0;
    auto& st = pub_.io_[io];
    if (st.armed.load(std::memory_order_relaxed) && st.armed.exchange(false, std::memory_order_acq_rel)) {
      pub_.wakeups_.fetch_add(1, std::memory_order_relaxed);
      if (st.wake) st.wake();
    }
  }
}

} // namespace mdgw
