#include "session_base.hpp"

#include <algorithm>

namespace mdgw {

session_base::session_base(io_worker& worker) : worker_(worker) {}

session_base::~session_base() { detach(); }

void session_base::detach() {
  if (!attached_) return;
  attached_ = false;
  for (auto& s : subs_) {
    std::erase(s->channel->subs, s.get());
    worker_.release_channel(s->channel);
  }
  subs_.clear();
  dirty_.clear();
  worker_.remove(this, true);
}

void session_base::mark_dirty(subscription* s) {
  if (!s->dirty) {
    s->dirty = true;
    dirty_.push_back(s);
  }
  if (!writing_) worker_.mark_ready(this);
}

void session_base::queue_reply(std::string msg) {
  if (replies_.size() >= kMaxPendingReplies) {
    // A client that floods requests without reading replies: close, do not queue.
    close_with(websocket::close_code::policy_error, "too many unread replies");
    closing_ = true;
    return;
  }
  replies_.push_back(std::move(msg));
  flush();
}

void session_base::flush() {
  if (writing_ || closing_ || !attached_) return;
  buffers_.clear();
  hold_.clear();
  if (!replies_.empty()) {
    // Replies go first, each in its own message: an ack precedes its snapshot.
    reply_in_flight_ = std::move(replies_.front());
    replies_.pop_front();
    buffers_.push_back(net::buffer(reply_in_flight_));
  } else {
    if (dirty_.empty()) return;
    buffers_.emplace_back(); // the prefix, once its send stamp is known
    protocol::batch_stamps stamps;
    bool any = false;
    for (subscription* s : dirty_) {
      s->dirty = false;
      encoded e = worker_.book_fragment(*s->channel, s->last_rec);
      // Already at the newest state (e.g. a notice whose change went out with the
      // previous message): nothing new for this subscription.
      if (e.rec == s->last_rec) continue;
      if (any) buffers_.push_back(net::buffer(",", 1));
      buffers_.push_back(net::buffer(*e.frag));
      hold_.push_back(std::move(e.frag));
      s->last_rec = e.rec;
      stamps.add(e.stamps.first_exch_ts, e.stamps.first_recv_ts, e.exch_ts, e.recv_ts, e.stamps.merged);
      any = true;
    }
    dirty_.clear();
    if (!any) return;
    // Stamped after the fragments were gathered: every state in the message was
    // received before ts_send.
    prefix_.clear();
    protocol::encode_batch_prefix(prefix_, realtime_ns(), stamps);
    buffers_[0] = net::buffer(prefix_);
    buffers_.push_back(net::buffer(protocol::kBatchSuffix.data(), protocol::kBatchSuffix.size()));
  }
  writing_ = true;
  write_message(std::span<const net::const_buffer>(buffers_.data(), buffers_.size()));
}

void session_base::on_write_done() {
  writing_ = false;
  hold_.clear();
  flush();
}

subscription* session_base::find(instrument_id id, int depth) {
  for (auto& s : subs_) {
    if (s->channel->instrument == id && s->channel->depth == depth) return s.get();
  }
  return nullptr;
}

void session_base::on_text(std::string_view text) {
  auto r = protocol::parse_request(text);
  if (r.err) {
    queue_reply(protocol::encode_error(*r.err));
    return;
  }
  const protocol::request& req = *r.req;
  switch (req.what) {
  case protocol::op::ping: queue_reply(protocol::encode_pong(req.id, realtime_ns())); break;
  case protocol::op::subscribe: subscribe(req); break;
  case protocol::op::unsubscribe: unsubscribe(req); break;
  }
}

namespace {

struct resolved {
  instrument_id id;
  int depth;
};

} // namespace

void session_base::subscribe(const protocol::request& req) {
  // All or nothing: validate every channel before changing anything.
  std::vector<resolved> want;
  want.reserve(req.channels.size());
  for (const std::string& name : req.channels) {
    auto cp = protocol::parse_channel(name);
    if (!cp.channel) {
      queue_reply(protocol::encode_error({cp.code, req.id, cp.message}));
      return;
    }
    auto id = worker_.pub().find(cp.channel->symbol);
    if (!id) {
      queue_reply(protocol::encode_error(
          {protocol::error_code::unknown_symbol, req.id, "unknown symbol '" + cp.channel->symbol + "'"}));
      return;
    }
    const bool dup_in_request = std::any_of(want.begin(), want.end(), [&](const resolved& r) {
      return r.id == *id && r.depth == cp.channel->depth;
    });
    if (dup_in_request || find(*id, cp.channel->depth) != nullptr) {
      queue_reply(protocol::encode_error(
          {protocol::error_code::already_subscribed, req.id, "already subscribed to '" + name + "'"}));
      return;
    }
    want.push_back({*id, cp.channel->depth});
  }
  if (subs_.size() + want.size() > worker_.config().max_subscriptions) {
    queue_reply(protocol::encode_error({protocol::error_code::too_many_subscriptions, req.id,
                                        "at most " + std::to_string(worker_.config().max_subscriptions) +
                                            " subscriptions per connection"}));
    return;
  }
  std::vector<std::string> granted;
  granted.reserve(want.size());
  std::vector<subscription*> added;
  for (const resolved& w : want) {
    auto s = std::make_unique<subscription>();
    s->owner = this;
    s->channel = worker_.acquire_channel(w.id, w.depth);
    s->channel->subs.push_back(s.get());
    granted.push_back(s->channel->name);
    added.push_back(s.get());
    subs_.push_back(std::move(s));
  }
  queue_reply(protocol::encode_ack("subscribed", req.id, granted));
  // Snapshots follow the ack (replies are written first).
  for (subscription* s : added) mark_dirty(s);
  flush();
}

void session_base::unsubscribe(const protocol::request& req) {
  std::vector<subscription*> drop;
  for (const std::string& name : req.channels) {
    auto cp = protocol::parse_channel(name);
    if (!cp.channel) {
      queue_reply(protocol::encode_error({cp.code, req.id, cp.message}));
      return;
    }
    auto id = worker_.pub().find(cp.channel->symbol);
    subscription* s = id ? find(*id, cp.channel->depth) : nullptr;
    if (s == nullptr || std::find(drop.begin(), drop.end(), s) != drop.end()) {
      queue_reply(protocol::encode_error(
          {protocol::error_code::not_subscribed, req.id, "not subscribed to '" + name + "'"}));
      return;
    }
    drop.push_back(s);
  }
  std::vector<std::string> names;
  for (subscription* s : drop) {
    names.push_back(s->channel->name);
    std::erase(dirty_, s);
    std::erase(s->channel->subs, s);
    worker_.release_channel(s->channel);
    std::erase_if(subs_, [s](const std::unique_ptr<subscription>& p) { return p.get() == s; });
  }
  queue_reply(protocol::encode_ack("unsubscribed", req.id, names));
}

} // namespace mdgw
