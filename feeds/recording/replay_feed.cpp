#include "replay_feed.hpp"

#include <sys/prctl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <thread>

namespace mdgw::recording {

namespace {

using steady = owed_rate::clock;
// A recorded-pace wait sleeps in slices this long so a stop is never held up by a gap.
constexpr auto kSleepSlice = std::chrono::milliseconds(5);
constexpr std::size_t kRingSlack = 8192;
// A fixed-rate replay sleeps at least this long between batches it had to wait for
// (ui's batches are about 1 ms apart, so each of them still goes out when due).
constexpr auto kMinWake = std::chrono::microseconds(500);

void sleep_until_or_stop(steady::time_point t, const std::stop_token& stop) {
  for (auto now = steady::now(); now < t && !stop.stop_requested(); now = steady::now()) {
    std::this_thread::sleep_until(std::min(t, now + kSleepSlice));
  }
}

} // namespace

replay_feed::replay_feed(const replay_config& config, const capture_summary& scan, publication& pub)
    : config_(config),
      reader_(config.file),
      damaged_(scan.end != capture_reader::status::end),
      file_batches_(scan.batches),
      producer_([&]() -> producer& {
        for (const instrument_info& in : scan.instruments) {
          if (in.id >= local_.size()) local_.resize(in.id + std::size_t{1}, kNone);
          if (local_[in.id] != kNone) continue; // announced twice: the first counts
          const auto id = pub.add_instrument(in);
          if (!id) {
            throw std::runtime_error("--replay " + config.file + ": cannot register instrument " + in.symbol +
                                     " (symbol taken by another feed, or too many instruments)");
          }
          local_[in.id] = pub_ids_.size();
          pub_ids_.push_back(*id);
        }
        return pub.add_producer(pub_ids_.size() + kRingSlack);
      }()) {
  const std::size_t n = pub_ids_.size();
  books_.reserve(n);
  for (std::size_t i = 0; i < n; ++i) books_.emplace_back(2 * kMaxDepth + 8);
  version_base_.assign(n, 0);
  last_version_.assign(n, 0);
  state_base_.assign(n, 0);
  last_state_.assign(n, 0);
  trade_seqs_.assign(n, 0);
  if (damaged_) {
    errors_.store(1, std::memory_order_relaxed);
    std::fprintf(stderr, "mdgw: --replay %s; replaying the %llu batches before it\n", scan.error.c_str(),
                 static_cast<unsigned long long>(scan.batches));
  }
}

replay_feed::~replay_feed() { stop(); }

void replay_feed::start() {
  runner_.start([this](std::stop_token st) { run(std::move(st)); });
}

void replay_feed::stop() { runner_.stop(); }

feed_status replay_feed::status() const {
  feed_status s;
  s.name = "replay";
  s.state = runner_.state_name();
  const std::uint64_t books = books_published_.load(std::memory_order_relaxed);
  const std::uint64_t trades = trades_.load(std::memory_order_relaxed);
  s.events = books + trades; // source updates, what --replay-rate paces
  s.errors = errors_.load(std::memory_order_relaxed);
  s.counters = {{"batches", batches_.load(std::memory_order_relaxed)},
                {"books", books},
                {"trades", trades},
                {"states", states_.load(std::memory_order_relaxed)},
                {"loops", loops_.load(std::memory_order_relaxed)},
                {"damaged", damaged_ ? 1 : 0}};
  return s;
}

void replay_feed::publish(const recorded_batch& b, std::uint64_t late_ns) {
  // Received when it was due: a feed thread running late delays the stamp's clients too.
  const std::uint64_t recv_ts = realtime_ns() - late_ns;
  const std::uint64_t recv_mono = monotonic_ns() - late_ns;
  std::uint64_t errors = 0;
  std::uint64_t books = 0;
  std::uint64_t trades = 0;
  std::uint64_t states = 0;
  for (const recorded_event& e : b.events) {
    if (e.what == recorded_event::kind::instrument) continue; // registered at startup
    const std::size_t i = local(instrument_of(b, e));
    if (i == kNone) { // the reader checks every id was announced: the file changed under us
      ++errors;
      continue;
    }
    switch (e.what) {
    case recorded_event::kind::instrument: break;
    case recorded_event::kind::book: {
      const recorded_book& bk = b.books[e.index];
      errors += apply_levels(books_[i], std::span(b.levels).subspan(bk.first_level, bk.n_levels));
      last_version_[i] = version_base_[i] + bk.version;
      producer_.publish_book(pub_ids_[i], books_[i], last_version_[i], bk.exch_ts, recv_ts, recv_mono, bk.quality,
                             bk.reason);
      ++books;
      break;
    }
    case recorded_event::kind::trade: {
      const recorded_trade& t = b.trades[e.index];
      producer_.publish_trade(pub_ids_[i], t.aggressor, t.price, t.qty, ++trade_seqs_[i], t.exch_ts, recv_ts);
      ++trades;
      break;
    }
    case recorded_event::kind::state: {
      instrument_state st = b.states[e.index].state;
      st.version += state_base_[i];
      st.recv_ts = recv_ts;
      last_state_[i] = st.version;
      producer_.publish_state(pub_ids_[i], st);
      ++states;
      break;
    }
    }
  }
  producer_.flush();
  // Single writer: plain load + store keeps the counters off any locked instruction.
  const auto add = [](std::atomic<std::uint64_t>& c, std::uint64_t n) {
    if (n != 0) c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  };
  add(batches_, 1);
  add(books_published_, books);
  add(trades_, trades);
  add(states_, states);
  add(errors_, errors);
}

bool replay_feed::pass(const std::stop_token& stop, owed_rate* schedule) {
  reader_.rewind();
  const auto t0 = steady::now();
  std::uint64_t first_ts = 0;
  bool first = true;
  steady::time_point last_wake{};
  while (!stop.stop_requested()) {
    if (reader_.next(batch_) != capture_reader::status::ok) return true; // reported at startup
    std::optional<steady::time_point> due; // when the batch is due (as fast as possible: now)
    if (config_.rate < 0) {
      if (first) first_ts = batch_.recv_ts;
      const std::uint64_t since = batch_.recv_ts > first_ts ? batch_.recv_ts - first_ts : 0;
      due = t0 + std::chrono::nanoseconds(since);
      sleep_until_or_stop(*due, stop);
    } else if (schedule != nullptr && batch_.updates() > 0) {
      // Publish a batch when its first update is due, stamped with that time; the rest
      // of the batch runs ahead, and the next batch waits until time catches up. The wait
      // ends at the due time itself, not at a fixed 1 ms grid: a batch held to the next
      // tick carried up to 1 ms of the replay's own waiting into every client's
      // freshness (ui's captures hold about one batch per millisecond). But the thread
      // wakes at most once per kMinWake: where batches are denser (firehose), the ones
      // due by then go out together (waking for each one took the gateway's CPU in
      // firehose's 40k step from 76-90% to 97-100%, and the step fell behind). Nothing
      // owed is forgiven: a late feed thread catches up, and its updates carry their
      // due time.
      due = schedule->due_time();
      if (*due > steady::now()) {
        sleep_until_or_stop(std::max(*due, last_wake + kMinWake), stop);
        last_wake = steady::now();
      }
      schedule->done(batch_.updates());
    }
    first = false;
    if (stop.stop_requested()) return false;
    const auto now = steady::now();
    const auto late = due && *due < now ? std::chrono::duration_cast<std::chrono::nanoseconds>(now - *due).count() : 0;
    publish(batch_, static_cast<std::uint64_t>(late));
  }
  return false;
}

void replay_feed::run(std::stop_token stop) {
  runner_.running();
  // A paced replay's waits end when a batch is due: 1 us of timer slack instead of the
  // default 50 us, which every update's stamp (its due time) would otherwise carry.
  if (config_.rate != 0) ::prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);
  std::optional<owed_rate> schedule;
  if (config_.rate > 0) schedule.emplace(config_.rate, steady::now(), /*forgive=*/false);
  for (;;) {
    if (!pass(stop, schedule ? &*schedule : nullptr)) return; // stopped
    if (!config_.loop || file_batches_ == 0) break;
    loops_.store(loops_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    for (std::size_t i = 0; i < books_.size(); ++i) {
      books_[i].clear();
      version_base_[i] = last_version_[i];
      state_base_[i] = last_state_[i];
    }
  }
  runner_.finish_and_idle(stop);
}

} // namespace mdgw::recording
