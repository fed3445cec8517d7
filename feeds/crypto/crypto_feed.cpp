#include "crypto_feed.hpp"

#include "capture.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>

namespace mdgw::crypto {

namespace {

using steady = std::chrono::steady_clock;

std::vector<instrument_id> register_all(const crypto_handler& h, publication& pub) {
  std::vector<instrument_id> ids;
  ids.reserve(h.instrument_count());
  for (std::size_t i = 0; i < h.instrument_count(); ++i) {
    const instrument_info& info = h.instrument(i).info;
    auto id = pub.add_instrument(info);
    if (!id) {
      throw std::runtime_error(h.venue() + " feed: cannot register instrument " + info.symbol +
                               " (symbol taken or publication full)");
    }
    ids.push_back(*id);
  }
  return ids;
}

// Sleeps until `due` unless a stop is requested first (checked every 50 ms).
void sleep_until(steady::time_point due, const std::stop_token& stop) {
  while (!stop.stop_requested()) {
    const auto now = steady::now();
    if (now >= due) return;
    std::this_thread::sleep_for(std::min<steady::duration>(due - now, std::chrono::milliseconds(50)));
  }
}

} // namespace

replay_source::replay_source(std::shared_ptr<const capture> c, double speed)
    : capture_(std::move(c)), speed_(speed) {}

bool replay_source::run(crypto_source_host& host, const std::stop_token& stop) {
  const auto& records = capture_->records();
  const auto t0 = steady::now();
  const std::uint64_t ts0 = records.empty() ? 0 : records.front().ts_ns;
  std::size_t in_batch = 0;
  for (const capture_record& r : records) {
    if (stop.stop_requested()) return false;
    if (speed_ > 0 && r.ts_ns > ts0) {
      // Recorded pace: wait only when ahead of the schedule (capture stamps jitter back).
      const auto due = t0 + std::chrono::nanoseconds(
                                static_cast<std::int64_t>(static_cast<double>(r.ts_ns - ts0) / speed_));
      if (due > steady::now()) {
        host.end_batch();
        in_batch = 0;
        sleep_until(due, stop);
        if (stop.stop_requested()) return false;
      }
    }
    switch (r.what) {
    case capture_record::kind::connect: host.connected(); break;
    case capture_record::kind::rest: host.rest(r.url, r.body); break;
    case capture_record::kind::frame: host.frame(r.body); break;
    }
    if (++in_batch >= kFastBatch) {
      host.end_batch();
      in_batch = 0;
    }
  }
  host.end_batch();
  return true;
}

// Instruments are registered before the producer is created, so a failed registration
// leaves no orphan producer behind (as simulator_feed).
crypto_feed::crypto_feed(std::string name, std::unique_ptr<crypto_handler> handler,
                         std::unique_ptr<crypto_source> source, publication& pub)
    : name_(std::move(name)),
      handler_(std::move(handler)),
      source_(std::move(source)),
      pub_ids_(register_all(*handler_, pub)),
      producer_(pub.add_producer(handler_->instrument_count() + kRingSlack)) {
  const std::size_t n = pub_ids_.size();
  versions_.assign(n, 0);
  touched_.assign(n, 0);
  touched_list_.reserve(n);
  handler_->set_sink(this);
}

crypto_feed::~crypto_feed() { stop(); }

void crypto_feed::start() {
  runner_.start([this](std::stop_token st) { run(std::move(st)); });
}

void crypto_feed::stop() { runner_.stop(); }

feed_status crypto_feed::status() const {
  feed_status s;
  s.name = name_;
  s.state = runner_.state_name();
  const auto get = [](const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  s.events = get(events_);
  s.errors = get(errors_);
  s.counters = {
      {"connected", connected_.load(std::memory_order_relaxed) ? 1 : 0},
      {"connects", get(connects_)},
      {"reconnects", source_->reconnects()},
      {"frames", get(frames_)},
      {"snapshots", get(snapshots_)},
      {"trades", get(trades_)},
      {"bad_frames", get(bad_frames_)},
      {"mismatches", get(mismatches_)},
      {"resyncs", get(resyncs_)},
      {"instruments_not_ok", get(stale_)},
  };
  return s;
}

void crypto_feed::touch(std::size_t index) {
  if (touched_[index] != 0) return;
  touched_[index] = 1;
  touched_list_.push_back(static_cast<std::uint32_t>(index));
}

void crypto_feed::on_book(std::size_t index) { touch(index); }

void crypto_feed::on_trade(std::size_t index, const trade_print& t) {
  producer_.publish_trade(pub_ids_[index], t.aggressor, t.price, t.qty, t.trade_seq, t.exch_ts, t.recv_ts);
}

void crypto_feed::on_resync(std::size_t index, resync_reason why) { source_->resync(index, why); }

void crypto_feed::frame(const padded_frame& f) { (void)handler_->on_frame(f); }

void crypto_feed::rest(std::string_view url, const padded_frame& body) { (void)handler_->on_rest(url, body); }

void crypto_feed::connected() {
  handler_->on_connect();
  connects_.fetch_add(1, std::memory_order_relaxed);
  connected_.store(true, std::memory_order_relaxed);
}

void crypto_feed::disconnected() { connected_.store(false, std::memory_order_relaxed); }

void crypto_feed::end_batch() {
  const std::uint64_t recv_ts = realtime_ns();
  const std::uint64_t recv_mono = monotonic_ns();
  for (const std::uint32_t i : touched_list_) {
    const crypto_instrument& in = handler_->instrument(i);
    // A handler's own receive stamp is the capture's in a replay: the gateway's is now.
    producer_.publish_book(pub_ids_[i], in.book, ++versions_[i], in.exch_ts, in.recv_ts != 0 ? in.recv_ts : recv_ts,
                           recv_mono, in.quality, in.reason);
    touched_[i] = 0;
  }
  touched_list_.clear();
  producer_.flush();
  publish_counters();
}

void crypto_feed::publish_counters() {
  const crypto_counters& c = handler_->counters();
  const auto set = [](std::atomic<std::uint64_t>& a, std::uint64_t v) { a.store(v, std::memory_order_relaxed); };
  set(frames_, c.frames);
  set(events_, c.snapshots + c.updates + c.trades);
  set(errors_, c.errors());
  set(mismatches_, c.checksum_mismatches + c.sequence_gaps + c.ticker_mismatches);
  set(bad_frames_, c.bad_frames);
  set(resyncs_, c.resyncs);
  set(snapshots_, c.snapshots);
  set(trades_, c.trades);
  std::uint64_t not_ok = 0;
  for (std::size_t i = 0; i < handler_->instrument_count(); ++i) {
    not_ok += handler_->instrument(i).quality != data_quality::ok ? 1 : 0;
  }
  set(stale_, not_ok);
}

void crypto_feed::run(std::stop_token stop) {
  // Every instrument published once (empty, resyncing) before the port opens.
  for (std::size_t i = 0; i < pub_ids_.size(); ++i) touch(i);
  end_batch();
  runner_.running();
  const bool ended = source_->run(*this, stop);
  end_batch();
  connected_.store(false, std::memory_order_relaxed);
  if (!ended) return;
  runner_.finish_and_idle(stop);
}

} // namespace mdgw::crypto
