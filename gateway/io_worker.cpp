#include "io_worker.hpp"

#include "session_base.hpp"

#include <algorithm>

namespace mdgw {

io_worker::io_worker(std::size_t index, publication& pub, const gateway_config& cfg)
    : index_(index), pub_(pub), cfg_(cfg) {
  guard_.emplace(net::make_work_guard(ioc_));
  // The feed thread calls this at most once per batch (publication's armed flag).
  pub_.set_waker(index_, [this] { net::post(ioc_, [this] { on_wake(); }); });
}

io_worker::~io_worker() { join(); }

void io_worker::start() {
  thread_ = std::thread([this] {
    for (;;) {
      try {
        ioc_.run();
        break;
      } catch (const std::exception& e) {
        // A bug in a handler: report it and keep serving the other sessions.
        std::fprintf(stderr, "mdgw: io thread %zu: unexpected exception: %s\n", index_, e.what());
      }
    }
  });
}

void io_worker::join() {
  if (thread_.joinable()) thread_.join();
}

void io_worker::begin_shutdown(std::chrono::milliseconds grace) {
  net::post(ioc_, [this, grace] {
    shutting_down_ = true;
    shutdown_deadline_ = std::chrono::steady_clock::now() + grace;
    // Copy: closing may remove connections from the set.
    std::vector<connection*> all(connections_.begin(), connections_.end());
    for (connection* c : all) c->shutdown_going_away();
    guard_.reset();
    shutdown_timer_ = std::make_unique<net::steady_timer>(ioc_);
    check_drained();
  });
}

void io_worker::check_drained() {
  if (connections_.empty() || std::chrono::steady_clock::now() >= shutdown_deadline_) {
    ioc_.stop();
    return;
  }
  shutdown_timer_->expires_after(std::chrono::milliseconds(20));
  shutdown_timer_->async_wait([this](const error_code& ec) {
    if (!ec) check_drained();
  });
}

void io_worker::add(connection* c, bool websocket) {
  connections_.insert(c);
  (websocket ? ws_count_ : http_count_).fetch_add(1, std::memory_order_relaxed);
  if (shutting_down_) c->shutdown_going_away();
}

void io_worker::remove(connection* c, bool websocket) {
  if (connections_.erase(c) != 0) (websocket ? ws_count_ : http_count_).fetch_sub(1, std::memory_order_relaxed);
}

book_channel* io_worker::acquire_channel(instrument_id id, int depth) {
  if (instruments_.size() <= id) instruments_.resize(id + 1);
  auto& is = instruments_[id];
  for (book_channel* ch : is.channels) {
    if (ch->depth == depth) return ch;
  }
  if (!is.top) {
    is.top = std::make_unique<book_top>();
    is.changed = true;
  }
  auto ch = std::make_unique<book_channel>();
  ch->instrument = id;
  ch->depth = depth;
  ch->name = "book." + pub_.info(id).symbol + "." + std::to_string(depth);
  is.channels.push_back(ch.get());
  channel_store_.push_back(std::move(ch));
  return channel_store_.back().get();
}

void io_worker::release_channel(book_channel* ch) {
  if (!ch->subs.empty()) return;
  auto& is = instruments_[ch->instrument];
  std::erase(is.channels, ch);
  if (is.channels.empty()) is.top.reset();
  std::erase_if(channel_store_, [ch](const std::unique_ptr<book_channel>& p) { return p.get() == ch; });
}

void io_worker::record(book_channel& ch, const instrument_state& is) {
  const book_top& top = *is.top;
  const book_record* newest = ch.history.newest();
  if (newest != nullptr && newest->version == top.version && newest->quality == top.quality) return;
  candidate_.assign(top, static_cast<std::size_t>(ch.depth), pub_.info(ch.instrument), scratch_);
  const std::uint64_t first_exch = is.first_exch_ts != 0 ? is.first_exch_ts : top.exch_ts;
  const std::uint64_t first_recv = is.first_recv_ts != 0 ? is.first_recv_ts : top.recv_ts;
  // The same top `depth` levels and quality (the change was deeper in the book): the
  // subscribers' books are still exact, so there is nothing to send. The next state that
  // is sent merges these updates too, so it carries their (older) stamps.
  if (newest != nullptr && newest->quality == candidate_.quality && newest->checksum == candidate_.checksum &&
      newest->levels == candidate_.levels && newest->n_bids == candidate_.n_bids) {
    if (ch.skipped_first_recv_ts == 0) {
      ch.skipped_first_exch_ts = first_exch;
      ch.skipped_first_recv_ts = first_recv;
    }
    return;
  }
  const bool skipped = ch.skipped_first_recv_ts != 0;
  candidate_.first_exch_ts = skipped ? ch.skipped_first_exch_ts : first_exch;
  candidate_.first_recv_ts = skipped ? ch.skipped_first_recv_ts : first_recv;
  ch.skipped_first_exch_ts = 0;
  ch.skipped_first_recv_ts = 0;
  book_record& r = ch.history.prepare();
  // Swap, not copy: the level vectors circulate and keep their capacity.
  std::swap(r, candidate_);
  ch.history.commit();
}

void io_worker::refresh(instrument_state& is, instrument_id id) {
  if (!is.changed) return;
  // Clear first: a notice arriving later (on this same thread) sets it again.
  is.changed = false;
  pub_.read_top(id, *is.top);
  for (book_channel* ch : is.channels) record(*ch, is);
  is.first_exch_ts = 0;
  is.first_recv_ts = 0;
}

encoded io_worker::book_fragment(book_channel& ch, std::uint64_t from_rec) {
  auto& is = instruments_[ch.instrument];
  refresh(is, ch.instrument);
  if (ch.history.newest() == nullptr) record(ch, is); // a channel added since the last read
  const book_record& to = *ch.history.newest();
  encoded e;
  e.rec = to.rec;
  e.exch_ts = to.exch_ts;
  e.recv_ts = to.recv_ts;
  if (from_rec == to.rec) return e;
  const book_record* from = ch.history.find(from_rec);
  if (from != nullptr) {
    const book_record* first = ch.history.after(from_rec);
    e.stamps = {first->first_exch_ts, first->first_recv_ts, to.version >= from->version ? to.version - from->version : 0};
  } else {
    const book_record* prev = ch.history.find(to.rec - 1);
    e.stamps = {to.first_exch_ts, to.first_recv_ts,
                prev != nullptr && to.version > prev->version ? to.version - prev->version : 1};
  }
  if (ch.cache_rec != to.rec) {
    ch.cache_rec = to.rec;
    ch.snapshot_frag.reset();
    ch.delta_frags.clear();
  }
  std::shared_ptr<const std::string>* slot = &ch.snapshot_frag;
  if (from != nullptr) {
    auto it = std::find_if(ch.delta_frags.begin(), ch.delta_frags.end(),
                           [from_rec](const auto& d) { return d.first == from_rec; });
    if (it == ch.delta_frags.end()) it = ch.delta_frags.insert(ch.delta_frags.end(), {from_rec, nullptr});
    slot = &it->second;
  }
  if (!*slot) {
    // A fresh string: sessions with writes in flight still hold the previous ones.
    auto s = std::make_shared<std::string>();
    s->reserve(256 + static_cast<std::size_t>(ch.depth) * 2 * 32);
    encode_book_message(*s, ch.name, from, to, e.stamps, pub_.info(ch.instrument));
    *slot = std::move(s);
  }
  e.frag = *slot;
  return e;
}

void io_worker::mark_ready(session_base* s) {
  if (s->in_ready_list) return;
  s->in_ready_list = true;
  ready_.push_back(s);
}

void io_worker::on_notice(const notice& n) {
  if (n.what != notice::kind::book) return; // trades: no trade channel in protocol v0
  if (n.instrument >= instruments_.size()) return;
  auto& is = instruments_[n.instrument];
  if (is.channels.empty()) return;
  if (!is.changed || is.first_recv_ts == 0) {
    is.first_exch_ts = n.exch_ts;
    is.first_recv_ts = n.recv_ts;
  }
  is.changed = true;
  for (book_channel* ch : is.channels) {
    for (subscription* s : ch->subs) s->owner->mark_dirty(s);
  }
}

void io_worker::on_wake() {
  pub_.drain(index_, [this](const notice& n) { on_notice(n); });
  // Sessions are flushed after the whole drain: one message carries every change.
  for (std::size_t i = 0; i < ready_.size(); ++i) {
    session_base* s = ready_[i];
    s->in_ready_list = false;
    s->flush();
  }
  ready_.clear();
  // Notices that arrived meanwhile are drained by a fresh handler rather than a loop
  // here: under a flat-out feed a loop would never yield to write completions.
  if (pub_.rearm(index_)) net::post(ioc_, [this] { on_wake(); });
}

} // namespace mdgw
