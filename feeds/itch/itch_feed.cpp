#include "itch_feed.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <stdexcept>

namespace mdgw::itch {

namespace {

constexpr std::uint8_t kBookTouched = 1;
constexpr std::uint8_t kStateTouched = 2;
constexpr auto kPollWait = std::chrono::milliseconds(20);

// Day of month of the n-th Sunday (n >= 1) of month m.
unsigned nth_sunday(std::int64_t y, unsigned m, unsigned n) noexcept {
  const std::int64_t first = days_from_civil(y, m, 1);
  const auto weekday = static_cast<unsigned>(((first % 7) + 7 + 4) % 7); // 1970-01-01 was a Thursday (4)
  const unsigned first_sunday = 1 + (7 - weekday) % 7;
  return first_sunday + 7 * (n - 1);
}

std::uint64_t midnight_ny(std::int64_t y, unsigned m, unsigned d) {
  // At midnight the clocks have not changed yet on either transition day (they change
  // at 02:00), so daylight time holds after the 2nd Sunday of March, up to and
  // including the 1st Sunday of November.
  const std::int64_t day = days_from_civil(y, m, d);
  const bool dst = day > days_from_civil(y, 3, nth_sunday(y, 3, 2)) && day <= days_from_civil(y, 11, nth_sunday(y, 11, 1));
  const std::int64_t utc_offset_hours = dst ? 4 : 5;
  return static_cast<std::uint64_t>((day * 24 + utc_offset_hours) * 3600) * 1'000'000'000ULL;
}

} // namespace

std::uint64_t midnight_new_york(const std::string& date) {
  if (date.empty()) {
    // Today in New York: its midnight is at most 5 h after UTC midnight of the date.
    const auto now_s = static_cast<std::int64_t>(realtime_ns() / 1'000'000'000ULL);
    const civil_date today = civil_from_days((now_s - 5 * 3600) / 86400);
    return midnight_ny(today.year, today.month, today.day);
  }
  int y = 0;
  unsigned m = 0;
  unsigned d = 0;
  const char* p = date.data();
  const char* end = p + date.size();
  auto r1 = std::from_chars(p, end, y);
  bool ok = r1.ec == std::errc{} && r1.ptr == p + 4 && r1.ptr < end && *r1.ptr == '-';
  if (ok) {
    auto r2 = std::from_chars(r1.ptr + 1, end, m);
    ok = r2.ec == std::errc{} && r2.ptr == r1.ptr + 3 && r2.ptr < end && *r2.ptr == '-';
    if (ok) {
      auto r3 = std::from_chars(r2.ptr + 1, end, d);
      ok = r3.ec == std::errc{} && r3.ptr == end && r3.ptr == r2.ptr + 3;
    }
  }
  if (!ok || y < 1970 || m < 1 || m > 12 || d < 1 || d > 31) {
    throw std::runtime_error("itch date: '" + date + "' is not a date YYYY-MM-DD");
  }
  return midnight_ny(y, m, d);
}

itch_feed::itch_feed(const itch_feed_config& config, publication& pub) : itch_feed(config, pub, open_source(config.source)) {}

itch_feed::itch_feed(const itch_feed_config& config, publication& pub, std::unique_ptr<itch_source> source)
    : config_(config),
      pub_(pub),
      source_(std::move(source)),
      producer_(pub.add_producer(std::min<std::size_t>(config.max_symbols, 65536) + 8192)),
      book_(book_config{config.midnight_ns, config.expected_orders, config.source.log}) {
  touched_list_.reserve(4096);
  pending_trades_.reserve(2 * kMaxBatch); // a poll adds at most one trade a message
}

itch_feed::~itch_feed() { stop(); }

void itch_feed::start() {
  runner_.start([this](std::stop_token st) { run(std::move(st)); });
}

void itch_feed::stop() { runner_.stop(); }

feed_status itch_feed::status() const {
  feed_status s;
  s.name = "itch";
  s.state = runner_.state_name();
  s.events = messages_.load(std::memory_order_relaxed);
  s.errors = errors_.load(std::memory_order_relaxed);
  return s;
}

void itch_feed::on_message(const std::uint8_t* msg, std::size_t len) {
  book_events events{*this};
  (void)book_.apply(msg, len, events);
}

void itch_feed::on_batch(const std::span<const std::uint8_t>* msgs, std::size_t n, std::size_t ahead) {
  book_events events{*this};
  book_.apply_batch(msgs, n, events, ahead);
}

void itch_feed::touch(locate_t locate) {
  if (touched_[locate] == 0) touched_list_.push_back(locate);
  touched_[locate] |= kBookTouched;
}

void itch_feed::touch_state(locate_t locate) {
  if (touched_[locate] == 0) touched_list_.push_back(locate);
  touched_[locate] |= kStateTouched;
}

void itch_feed::on_event(const market_event& e) {
  const auto locate = static_cast<locate_t>(e.instrument);
  if (locate >= pub_ids_.size()) [[unlikely]] register_locate(locate);
  exch_ts_[locate] = e.exch_ts;
  if (e.what == market_event::type::trade) {
    if (pub_ids_[locate] != kNone) {
      pending_trades_.push_back(
          feed_trade{pub_ids_[locate], e.s, e.price, e.qty, ++trade_seqs_[locate], e.exch_ts, realtime_ns()});
    }
    return;
  }
  ++versions_[locate];
  touch(locate);
}

// Grows the per-locate arrays to cover `locate`; registers it when the directory knows it.
void itch_feed::register_locate(locate_t locate) {
  if (locate >= pub_ids_.size()) {
    const std::size_t n = static_cast<std::size_t>(locate) + 1;
    pub_ids_.resize(n, kNone);
    versions_.resize(n, 0);
    trade_seqs_.resize(n, 0);
    state_versions_.resize(n, 0);
    exch_ts_.resize(n, 0);
    touched_.resize(n, 0);
  }
  if (pub_ids_[locate] != kNone) return;
  const locate_state* st = book_.state(locate);
  if (st == nullptr || !st->info.known) return;
  if (registered_.size() >= config_.max_symbols) {
    if (!reported_full_) {
      reported_full_ = true;
      std::fprintf(stderr, "mdgw: itch: more than %zu symbols; the rest are not published (--itch-max-symbols)\n",
                   config_.max_symbols);
    }
    unpublished_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  instrument_info info;
  info.venue = config_.venue;
  info.symbol = config_.venue + ":" + std::string(st->info.symbol());
  info.price_scale = 4;
  info.qty_scale = 0;
  info.tick_size = 1;
  info.lot_size = st->info.round_lot > 0 ? st->info.round_lot : 1;
  const auto id = pub_.add_instrument(info);
  if (!id) {
    // The same stock under a second locate (or the publication is full): counted.
    unpublished_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  pub_ids_[locate] = *id;
  registered_.push_back(locate);
  touch(locate); // its (possibly empty) book is published at the end of the batch
  touch_state(locate);
}

void itch_feed::on_state(locate_t locate, state_change what) {
  switch (what) {
  case state_change::directory:
    register_locate(locate);
    return;
  case state_change::status:
  case state_change::imbalance:
    if (locate >= pub_ids_.size()) register_locate(locate);
    touch_state(locate);
    return;
  case state_change::market:
    for (const locate_t l : registered_) touch_state(l);
    return;
  case state_change::broken_trade:
    return; // counted by the book; no channel carries broken trades yet
  }
}

instrument_state itch_feed::make_state(locate_t locate) const {
  instrument_state s;
  s.version = state_versions_[locate];
  s.recv_ts = realtime_ns();
  const locate_state* ls = book_.state(locate);
  if (ls == nullptr) return s;
  const instrument_status& st = ls->status;
  s.exch_ts = std::max(st.ts, ls->imbalance.ts);
  s.trading_state = st.trading_state;
  const auto reason = st.trading_reason.view();
  std::copy_n(reason.data(), std::min<std::size_t>(reason.size(), 4), s.reason);
  s.short_sale = st.reg_sho_action;
  s.mwcb_breached = book_.market().mwcb_breached;
  if (st.luld_reference_price != 0 || st.luld_upper_price != 0 || st.luld_lower_price != 0) {
    s.has_luld = 1;
    s.luld_reference = st.luld_reference_price;
    s.luld_upper = st.luld_upper_price;
    s.luld_lower = st.luld_lower_price;
  }
  const auction_imbalance& im = ls->imbalance;
  if (im.valid) {
    s.has_imbalance = 1;
    s.imbalance_direction = im.direction;
    s.cross_type = im.cross_type;
    s.price_variation = im.price_variation;
    s.paired_qty = static_cast<qty_t>(im.paired_shares);
    s.imbalance_qty = static_cast<qty_t>(im.imbalance_shares);
    s.far_price = im.far_price;
    s.near_price = im.near_price;
    s.reference_price = im.reference_price;
    s.imbalance_ts = im.ts;
  }
  return s;
}

void itch_feed::publish_touched() {
  const std::uint64_t recv_ts = realtime_ns();
  const std::uint64_t recv_mono = monotonic_ns();
  const data_quality q = quality();
  // The batch's trades first, in order, as they happened (a trade before the book change
  // its fill caused).
  producer_.publish_trades(pending_trades_);
  pending_trades_.clear();
  // The levels of the locates a batch touched, and their publication slots, are out of
  // cache again by now (a batch touches hundreds): start loading them a few locates
  // ahead, in two stages (the level headers first: the rest is found through them).
  constexpr std::size_t kFar = 8;
  constexpr std::size_t kNear = 4;
  const auto near_stage = [this](locate_t l) {
    book_.prefetch_book_levels(l);
    if (pub_ids_[l] != kNone) {
      const itch_levels::view v = book_.levels(l);
      producer_.prefetch_book(pub_ids_[l], v.depth(side::bid) + v.depth(side::ask));
    }
  };
  const std::size_t n = touched_list_.size();
  for (std::size_t k = 0; k < n && k < kFar; ++k) book_.prefetch_book(touched_list_[k]);
  for (std::size_t k = 0; k < n && k < kNear; ++k) near_stage(touched_list_[k]);
  for (std::size_t k = 0; k < n; ++k) {
    if (k + kFar < n) book_.prefetch_book(touched_list_[k + kFar]);
    if (k + kNear < n) near_stage(touched_list_[k + kNear]);
    const locate_t l = touched_list_[k];
    const std::uint8_t what = touched_[l];
    touched_[l] = 0;
    const instrument_id id = pub_ids_[l];
    if (id == kNone) continue;
    if ((what & kBookTouched) != 0) {
      producer_.publish_book(id, book_.levels(l), versions_[l], exch_ts_[l], recv_ts, recv_mono, q,
                             lost_ ? quality_reason::data_lost : quality_reason::packet_gap);
    }
    if ((what & kStateTouched) != 0) {
      ++state_versions_[l];
      producer_.publish_state(id, make_state(l));
    }
  }
  touched_list_.clear();
  producer_.flush();
}

void itch_feed::run(std::stop_token stop) {
  runner_.running();
  bool ended = false;
  std::uint64_t published_at = monotonic_ns();
  bool holding = false; // the last poll's changes wait: the next one must not
  while (!stop.stop_requested() && !ended) {
    const std::uint64_t delivered_before = source_->delivered();
    const poll_result r = source_->poll(*this, kMaxBatch, holding ? std::chrono::milliseconds(0) : kPollWait);
    holding = false;
    ended = r == poll_result::end;
    const data_quality before = quality();
    gap_open_ = source_->gap_open();
    lost_ = lost_ || source_->lost() > 0;
    if (quality() != before) {
      // Every published instrument changes quality: republish them all.
      for (const locate_t l : registered_) touch(l);
    } else if (r == poll_result::messages && source_->delivered() - delivered_before >= kMaxBatch &&
               pending_trades_.size() < kMaxBatch && monotonic_ns() - published_at < kMaxHoldNs) {
      holding = true; // behind the source: more changes per publication (see the header)
      continue;
    }
    publish_touched();
    published_at = monotonic_ns();
    messages_.store(source_->delivered(), std::memory_order_relaxed);
    errors_.store(source_->errors() + book_.decoder().errors(), std::memory_order_relaxed);
  }
  if (!ended) return; // stopped
  runner_.finish_and_idle(stop);
}

} // namespace mdgw::itch
