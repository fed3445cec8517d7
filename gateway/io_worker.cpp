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

encoded io_worker::fragment(book_channel& ch, bool snapshot) {
  auto& is = instruments_[ch.instrument];
  if (is.changed) {
    // Clear first: a notice arriving later (on this same thread) sets it again.
    is.changed = false;
    pub_.read_top(ch.instrument, *is.top);
  }
  const book_top& top = *is.top;
  auto& version = snapshot ? ch.snapshot_version : ch.update_version;
  auto& frag = snapshot ? ch.snapshot_frag : ch.update_frag;
  if (version != top.version || !frag) {
    // Encode into a fresh string: sessions with writes in flight still hold the old one.
    auto s = std::make_shared<std::string>();
    s->reserve(64 + static_cast<std::size_t>(ch.depth) * 2 * 32);
    protocol::encode_book_update(*s, ch.name, snapshot, top, ch.depth, pub_.info(ch.instrument));
    frag = std::move(s);
    version = top.version;
  }
  return encoded{frag, version};
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
