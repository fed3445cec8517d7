#include "simulator_feed.hpp"

#include "pacing.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>

namespace mdgw {

namespace {

using steady = owed_rate::clock;

std::vector<instrument_id> register_all(const market_simulator& sim, publication& pub) {
  std::vector<instrument_id> ids;
  ids.reserve(sim.instruments().size());
  for (const auto& info : sim.instruments()) {
    auto id = pub.add_instrument(info);
    if (!id) {
      throw std::runtime_error("simulator feed: cannot register instrument " + info.symbol +
                               " (symbol taken or publication full)");
    }
    ids.push_back(*id);
  }
  return ids;
}

} // namespace

// Instruments are registered before the producer is created, so a failed registration
// leaves no orphan producer (with rings the io threads would poll) behind.
simulator_feed::simulator_feed(const simulator_config& config, publication& pub)
    : config_(config),
      sim_(config),
      pub_(pub),
      pub_ids_(register_all(sim_, pub)),
      producer_(pub.add_producer(config.instruments + kRingSlack)) {
  const std::size_t n = pub_ids_.size();
  books_.reserve(n);
  for (std::size_t i = 0; i < n; ++i) books_.emplace_back(128);
  versions_.assign(n, 0);
  trade_seqs_.assign(n, 0);
  last_exch_ts_.assign(n, 0);
  touched_.assign(n, 0);
  touched_list_.reserve(n);
  buffer_.reserve(kMaxBatch * 32);
}

simulator_feed::~simulator_feed() { stop(); }

void simulator_feed::start() {
  runner_.start([this](std::stop_token st) { run(std::move(st)); });
}

void simulator_feed::stop() { runner_.stop(); }

feed_status simulator_feed::status() const {
  feed_status s;
  s.name = "sim";
  s.state = runner_.state_name();
  s.events = events_.load(std::memory_order_relaxed);
  s.errors = errors_.load(std::memory_order_relaxed);
  return s;
}

const level_book& simulator_feed::book(instrument_id id) const {
  // Ids are usually consecutive (registered in one go), so try that first.
  if (!pub_ids_.empty() && id >= pub_ids_.front()) {
    const std::size_t guess = id - pub_ids_.front();
    if (guess < pub_ids_.size() && pub_ids_[guess] == id) return books_[guess];
  }
  const auto it = std::find(pub_ids_.begin(), pub_ids_.end(), id);
  if (it == pub_ids_.end()) throw std::out_of_range("simulator feed: not one of its instruments");
  return books_[static_cast<std::size_t>(it - pub_ids_.begin())];
}

void simulator_feed::touch(std::size_t index) {
  if (touched_[index] != 0) return;
  touched_[index] = 1;
  touched_list_.push_back(static_cast<std::uint32_t>(index));
}

void simulator_feed::apply_batch() {
  std::uint64_t errors = 0;
  for (const market_event& e : buffer_) {
    const std::size_t i = e.instrument;
    switch (e.what) {
    case market_event::type::add:
      errors += books_[i].add(e.s, e.price, e.qty, e.orders) != apply_status::ok ? 1 : 0;
      ++versions_[i];
      break;
    case market_event::type::reduce:
      errors += books_[i].reduce(e.s, e.price, e.qty, e.orders) != apply_status::ok ? 1 : 0;
      ++versions_[i];
      break;
    case market_event::type::trade:
      producer_.publish_trade(pub_ids_[i], e.s, e.price, e.qty, ++trade_seqs_[i], e.exch_ts, realtime_ns());
      break;
    }
    last_exch_ts_[i] = e.exch_ts;
    touch(i);
  }
  const std::uint64_t recv_ts = realtime_ns();
  const std::uint64_t recv_mono = monotonic_ns();
  for (const std::uint32_t i : touched_list_) {
    producer_.publish_book(pub_ids_[i], books_[i], versions_[i], last_exch_ts_[i], recv_ts, recv_mono);
    touched_[i] = 0;
  }
  touched_list_.clear();
  producer_.flush();
  // Single writer: plain load + store keeps the counters off any locked instruction.
  events_.store(events_.load(std::memory_order_relaxed) + buffer_.size(), std::memory_order_relaxed);
  if (errors != 0) errors_.store(errors_.load(std::memory_order_relaxed) + errors, std::memory_order_relaxed);
  buffer_.clear();
}

void simulator_feed::run(std::stop_token stop) {
  // Initial depth, then every instrument published once, so a client subscribing before
  // the first action already gets a book.
  sim_.seed(realtime_ns(), buffer_);
  for (std::size_t i = 0; i < books_.size(); ++i) touch(i);
  // The simulated market is open all session: every instrument trades (status channel).
  instrument_state open;
  open.version = 1;
  open.exch_ts = realtime_ns();
  open.recv_ts = open.exch_ts;
  open.trading_state = 'T';
  open.short_sale = '0';
  for (const instrument_id id : pub_ids_) producer_.publish_state(id, open);
  apply_batch();
  runner_.running();

  if (config_.rate > 0) {
    run_paced(stop);
  } else {
    run_flat_out(stop);
  }
  if (!sim_.done()) return; // stopped

  runner_.finish_and_idle(stop);
}

void simulator_feed::run_flat_out(const std::stop_token& stop) {
  while (!stop.stop_requested() && !sim_.done()) {
    for (std::size_t k = 0; k < kMaxBatch && !sim_.done(); ++k) sim_.next(realtime_ns(), buffer_);
    apply_batch();
  }
}

void simulator_feed::run_paced(const std::stop_token& stop) {
  owed_rate schedule(config_.rate, steady::now());
  while (!stop.stop_requested() && !sim_.done()) {
    std::uint64_t due = schedule.due(steady::now());
    // One batch per tick up to 256 actions (256k actions/s); above that, several, so
    // the event buffer stays small whatever the rate.
    while (due > 0 && !sim_.done() && !stop.stop_requested()) {
      const std::uint64_t batch = std::min<std::uint64_t>(due, kMaxBatch);
      for (std::uint64_t k = 0; k < batch && !sim_.done(); ++k) sim_.next(realtime_ns(), buffer_);
      apply_batch();
      due -= batch;
      schedule.done(batch);
    }
    if (sim_.done()) break;
    // Sleep to the next 1 ms boundary of the schedule (a stop waits at most that long).
    std::this_thread::sleep_until(schedule.next_tick(steady::now()));
  }
}

} // namespace mdgw
