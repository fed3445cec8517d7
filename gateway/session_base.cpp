#include "session_base.hpp"

#include "capnp_codec.hpp"
#include "prefetch.hpp"
#include "topic_codec.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace mdgw {

namespace {

using protocol::channel_kind;
using perr = protocol::error_code;

// The data buffer a session keeps between messages; a larger one is freed after its write.
constexpr std::size_t kKeepBuffer = 64 * 1024;

} // namespace

session_base::session_base(io_worker& worker) : worker_(worker) {}

session_base::~session_base() { detach(); }

void session_base::detach() {
  if (!attached_) return;
  attached_ = false;
  worker_.unready(this);
  for (auto& s : subs_) detach_one(*s);
  subs_.clear();
  dirty_.clear();
  if (timer_) timer_->cancel();
  worker_.remove(this, true);
}

void session_base::on_open() {
  const std::uint64_t now = monotonic_ns();
  tokens_ = static_cast<double>(worker_.config().max_requests_per_s);
  tokens_at_ = now;
  last_send_ = now;
  arm_timer(now + static_cast<std::uint64_t>(std::chrono::nanoseconds(worker_.config().heartbeat).count()));
}

void session_base::mark_dirty(subscription* s, std::uint64_t exch_ts, std::uint64_t recv_ts) {
  if (s->pending_recv_ts == 0 && recv_ts != 0) {
    s->pending_exch_ts = exch_ts;
    s->pending_recv_ts = recv_ts;
  }
  if (!s->dirty) {
    s->dirty = true;
    dirty_.push_back(s);
  }
  if (!writing_) worker_.mark_ready(this);
}

void session_base::queue_reply(std::string msg) {
  if (replies_.size() - replies_head_ >= kMaxPendingReplies) {
    // A client that floods requests without reading replies: close, do not queue.
    close_with(kCloseSlowConsumer, "too many unread replies");
    closing_ = true;
    return;
  }
  replies_.push_back(std::move(msg));
  flush();
}

void session_base::reply_error(const protocol::request_error& e) {
  queue_reply(format_ == protocol::wire_format::capnp ? capnp_wire::error(e) : protocol::encode_error(e));
}

void session_base::reply_error(protocol::error_code code, std::uint64_t id, std::string message) {
  reply_error(protocol::request_error{code, id, std::move(message)});
}

void session_base::open_fragment(bool& any) {
  if (any && format_ == protocol::wire_format::json) out_.push_back(',');
  ++updates_;
  any = true;
}

void session_base::add_fragment(std::string_view frag, bool& any) {
  open_fragment(any);
  out_.append(frag);
}

void session_base::gather_topic(subscription& s, protocol::batch_stamps& stamps, bool& any) {
  const bool binary = format_ == protocol::wire_format::capnp;
  const topic_message m = worker_.topic_fragment(s.instrument, s.kind, !binary);
  if (s.sent_any && m.version == s.last) return; // nothing new since the last send
  const std::uint64_t merged = s.sent_any ? std::max<std::uint64_t>(m.version - s.last, 1) : 1;
  const std::uint64_t oldest_exch = s.pending_recv_ts != 0 ? s.pending_exch_ts : m.exch_ts;
  const std::uint64_t oldest_recv = s.pending_recv_ts != 0 ? s.pending_recv_ts : m.recv_ts;
  if (binary) {
    add_fragment(worker_.topic_binary(s.instrument, s.kind, oldest_exch, oldest_recv, merged), any);
  } else {
    // The shared head, then this session's stamps and the closing brace.
    add_fragment(m.head, any);
    protocol::append_stamps(out_, oldest_exch, oldest_recv, m.exch_ts, m.recv_ts, merged);
    out_.push_back('}');
  }
  stamps.add(oldest_exch, oldest_recv, m.exch_ts, m.recv_ts, merged);
  s.last = m.version;
  s.sent_any = true;
  s.pending_exch_ts = 0;
  s.pending_recv_ts = 0;
}

void session_base::gather_trades(subscription& s, protocol::batch_stamps& stamps, bool& any, bool& more) {
  const std::uint64_t epoch = worker_.pub().trade_epoch();
  const bool binary = format_ == protocol::wire_format::capnp;
  const auto owned = [&](const std::string& text) { add_fragment(text, any); };
  const auto lost = [&](std::uint64_t from, std::uint64_t resume) {
    std::string text;
    if (binary) text = capnp_wire::lost(s.name, epoch, from, resume);
    else encode_trades_lost(text, s.name, epoch, from, resume);
    owned(text);
  };
  if (resets_pending_ != 0 && s.reset_reason != nullptr) { // reset_reason is on a cold line
    std::string text;
    if (binary) text = capnp_wire::reset(s.name, epoch, s.reset_head, s.reset_reason);
    else encode_trades_reset(text, s.name, epoch, s.reset_head, s.reset_reason);
    owned(text);
    s.reset_reason = nullptr;
    --resets_pending_;
  }
  const std::uint64_t head = worker_.trade_head(s.instrument);
  const std::uint64_t queue = worker_.config().trade_queue;
  if (head + 1 > s.last && head + 1 - s.last > queue) {
    // Fell further behind than this session may queue: skip to the newest `queue`.
    const std::uint64_t resume = head + 1 - queue;
    lost(s.last, resume);
    s.last = resume;
  }
  // No trade after that head: the feed may publish more meanwhile, and this message holds
  // at most `queue` trades (the next one carries the rest).
  const trade_batch b = worker_.trade_fragment(s.instrument, s.last, format_, head);
  if (b.resume_seq > s.last) lost(s.last, b.resume_seq); // overwritten before this session read them
  if (!b.parts[0].empty()) {
    open_fragment(any);
    for (const std::string_view part : b.parts) out_.append(part);
    stamps.add(b.stamps.oldest_exch_ts, b.stamps.oldest_recv_ts, b.stamps.newest_exch_ts, b.stamps.newest_recv_ts,
               b.stamps.merged);
  }
  s.last = b.next_seq;
  more = s.last <= worker_.trade_head(s.instrument);
}

bool session_base::gather(subscription& s, protocol::batch_stamps& stamps, bool& more) {
  const std::size_t before = out_.size();
  bool any = updates_ != 0;
  switch (s.kind) {
  case channel_kind::book: {
    encoded e = worker_.book_fragment(*s.channel, s.last, format_);
    // Already at the newest state (e.g. a notice whose change went out with the
    // previous message): nothing new for this subscription.
    if (e.rec == s.last) return false;
    add_fragment(e.frag, any);
    s.last = e.rec;
    stamps.add(e.stamps.first_exch_ts, e.stamps.first_recv_ts, e.exch_ts, e.recv_ts, e.stamps.merged);
    break;
  }
  case channel_kind::trades: gather_trades(s, stamps, any, more); break;
  case channel_kind::ticker:
  case channel_kind::status:
  case channel_kind::imbalance: gather_topic(s, stamps, any); break;
  }
  return out_.size() != before;
}

void session_base::flush() {
  if (writing_ || closing_ || !attached_) return;
  if (!flush_one()) return; // nothing to send, or the write completes later
  written_at_once();
}

void session_base::written_at_once() {
  // The socket took the message at once. One message a session a round: anything more
  // (the next reply, a trade backlog) waits for the other ready sessions.
  writing_ = false;
  after_write();
  if (replies_head_ != replies_.size() || !dirty_.empty()) worker_.defer_flush(this);
}

void session_base::after_write() {
  // A burst's large message does not pin its memory for the rest of the connection.
  if (out_.capacity() > kKeepBuffer) out_ = {};
}

void session_base::prefetch_session() const noexcept { prefetch_line(&dirty_); }

void session_base::prefetch_dirty_list() const noexcept {
  // The whole list, up to 4 lines (32 subscriptions; a ui client has 20: 3 lines).
  const std::size_t bytes = std::min<std::size_t>(dirty_.size(), 32) * sizeof(subscription*);
  const auto* p = reinterpret_cast<const char*>(dirty_.data());
  for (std::size_t off = 0; off < bytes; off += 64) prefetch_line(p + off);
}

void session_base::prefetch_first_dirty() const noexcept {
  const std::size_t n = std::min(dirty_.size(), kPrefetchAhead);
  for (std::size_t i = 0; i < n; ++i) prefetch_line(dirty_[i]);
}

bool session_base::flush_one() {
  net::const_buffer message;
  if (replies_head_ != replies_.size()) {
    // Replies go first, each in its own message: an ack precedes its snapshot.
    reply_in_flight_ = std::move(replies_[replies_head_++]);
    if (replies_head_ == replies_.size()) {
      replies_ = {};
      replies_head_ = 0;
    }
    message = net::buffer(reply_in_flight_);
  } else {
    if (dirty_.empty()) return false;
    out_.assign(kHeadroom, '\0'); // the prefix goes at its end, once its send stamp is known
    updates_ = 0;
    protocol::batch_stamps stamps;
    const std::uint64_t now = monotonic_ns();
    std::uint64_t earliest_due = 0;
    keep_.clear();
    for (std::size_t i = 0; i < dirty_.size(); ++i) {
      subscription* s = dirty_[i];
      // Out of cache on most passes (20,000 subscriptions in ui): ask for a later one now.
      if (i + kPrefetchAhead < dirty_.size()) prefetch_line(dirty_[i + kPrefetchAhead]);
      if (s->interval_ns != 0 && now < s->next_due) {
        // Granted a rate: conflated until its due time.
        keep_.push_back(s);
        if (earliest_due == 0 || s->next_due < earliest_due) earliest_due = s->next_due;
        continue;
      }
      s->dirty = false;
      bool more = false;
      if (gather(*s, stamps, more) && s->interval_ns != 0) {
        // Due times advance by the interval while the session keeps up: the granted rate.
        s->next_due = now - s->next_due < s->interval_ns ? s->next_due + s->interval_ns : now + s->interval_ns;
      }
      if (more) {
        // A trade backlog longer than one update: the rest goes in the next message.
        s->dirty = true;
        keep_.push_back(s);
      }
    }
    dirty_.swap(keep_);
    if (earliest_due != 0) arm_timer(earliest_due);
    if (out_.size() == kHeadroom) return false;
    // Stamped after the fragments were gathered: every state in the message was
    // received before ts_send.
    prefix_.clear();
    const std::uint64_t ts_send = realtime_ns();
    if (stamps.merged == 0) {
      // Only lost/reset notices: no source update merged; the stamps say "now".
      stamps.add(ts_send, ts_send, ts_send, ts_send, 0);
    }
    if (format_ == protocol::wire_format::capnp) {
      // A batch message announcing its update messages, which follow as they are.
      prefix_ = capnp_wire::batch(ts_send, stamps, updates_);
    } else {
      protocol::encode_batch_prefix(prefix_, ts_send, stamps);
      out_.append(protocol::kBatchSuffix);
    }
    if (prefix_.size() <= kHeadroom) {
      out_from_ = kHeadroom - prefix_.size();
      out_.replace(out_from_, prefix_.size(), prefix_);
    } else {
      out_.replace(0, kHeadroom, prefix_); // not for any prefix encoded today
      out_from_ = 0;
    }
    message = net::buffer(out_.data() + out_from_, out_.size() - out_from_);
  }
  writing_ = true;
  last_send_ = monotonic_ns();
  return write_message(message);
}

void session_base::on_write_done() {
  writing_ = false;
  after_write();
  flush();
}

void session_base::arm_timer(std::uint64_t at) {
  if (closing_ || !attached_) return;
  if (timer_at_ != 0 && timer_at_ <= at) return;
  if (!timer_) timer_ = std::make_unique<net::steady_timer>(worker_.context());
  timer_at_ = at;
  const std::uint64_t gen = ++timer_gen_;
  // monotonic_ns() is CLOCK_MONOTONIC, the clock of std::chrono::steady_clock on Linux.
  timer_->expires_at(std::chrono::steady_clock::time_point(std::chrono::nanoseconds(at)));
  timer_->async_wait([this, self = keep_alive(), gen](const error_code& ec) {
    if (gen != timer_gen_) return; // re-armed for an earlier time meanwhile
    timer_at_ = 0;
    if (ec || closing_ || !attached_) return;
    on_timer();
  });
}

void session_base::on_timer() {
  const std::uint64_t now = monotonic_ns();
  const auto hb = static_cast<std::uint64_t>(std::chrono::nanoseconds(worker_.config().heartbeat).count());
  if (!writing_ && replies_head_ == replies_.size() && now - last_send_ >= hb) {
    const std::uint64_t now_ts = realtime_ns();
    queue_reply(format_ == protocol::wire_format::capnp ? capnp_wire::heartbeat(now_ts)
                                                        : protocol::encode_heartbeat(now_ts));
  } else {
    flush(); // subscriptions whose due time came
  }
  if (closing_) return;
  arm_timer(last_send_ + hb);
}

subscription* session_base::find(std::string_view name) {
  for (auto& s : subs_) {
    if (s->name == name) return s.get();
  }
  return nullptr;
}

bool session_base::covered_by_wildcard(channel_kind kind) const {
  return std::any_of(subs_.begin(), subs_.end(),
                     [kind](const std::unique_ptr<subscription>& s) { return s->wildcard && s->kind == kind; });
}

void session_base::attach(subscription& s) {
  if (s.kind == channel_kind::book) {
    s.channel->subs.push_back(&s);
  } else {
    worker_.acquire_topic(s.instrument, s.kind).subs.push_back(&s);
  }
}

void session_base::detach_one(subscription& s) {
  std::erase(dirty_, &s);
  if (s.reset_reason != nullptr) --resets_pending_; // never sent
  if (s.wildcard) {
    worker_.remove_wildcard(&s);
    for (auto& c : s.children) detach_one(*c);
    s.children.clear();
  } else if (s.kind == channel_kind::book) {
    std::erase(s.channel->subs, &s);
    worker_.release_channel(s.channel);
  } else {
    worker_.release_topic(s.instrument, s.kind, &s);
  }
}

std::unique_ptr<subscription> session_base::make_child(subscription& parent, instrument_id id) {
  auto c = std::make_unique<subscription>();
  c->owner = this;
  c->kind = parent.kind;
  c->instrument = id;
  c->name = protocol::channel_name(parent.kind, worker_.pub().info(id).symbol, 0);
  c->interval_ns = parent.interval_ns;
  attach(*c);
  return c;
}

void session_base::extend_wildcard(subscription* parent, instrument_id id) {
  if (closing_ || !attached_) return;
  while (parent->children.size() <= id) {
    parent->children.push_back(make_child(*parent, static_cast<instrument_id>(parent->children.size())));
    mark_dirty(parent->children.back().get());
  }
}

void session_base::on_text(std::string_view text, bool binary) {
  auto r = binary ? capnp_wire::parse_request(text) : protocol::parse_request(text);
  // Every frame counts against the request rate, well-formed or not.
  const std::uint64_t now = monotonic_ns();
  const double rate = static_cast<double>(worker_.config().max_requests_per_s);
  tokens_ = std::min(rate, tokens_ + static_cast<double>(now - tokens_at_) * 1e-9 * rate);
  tokens_at_ = now;
  if (tokens_ < 1.0) {
    if (++rejected_in_row_ > std::max<std::size_t>(2 * worker_.config().max_requests_per_s, 10)) {
      // Two seconds' worth of requests refused in a row: not a burst, a flood.
      close_with(kClosePolicy, "request flood: rate limit exceeded");
      closing_ = true;
      return;
    }
    const std::optional<std::uint64_t> id = r.req ? std::optional<std::uint64_t>(r.req->id) : r.err->id;
    reply_error({perr::rate_limited, id,
                 "more than " + std::to_string(worker_.config().max_requests_per_s) +
                     " requests per second: request ignored"});
    return;
  }
  tokens_ -= 1.0;
  rejected_in_row_ = 0;
  if (r.err) {
    reply_error(*r.err);
    return;
  }
  const protocol::request& req = *r.req;
  switch (req.what) {
  case protocol::op::ping: {
    const std::uint64_t ts = realtime_ns();
    queue_reply(format_ == protocol::wire_format::capnp ? capnp_wire::pong(req.id, ts) : protocol::encode_pong(req.id, ts));
    break;
  }
  case protocol::op::subscribe: subscribe(req); break;
  case protocol::op::unsubscribe: unsubscribe(req); break;
  case protocol::op::list: list(req); break;
  }
}

void session_base::list(const protocol::request& req) {
  const publication& pub = worker_.pub();
  std::vector<const instrument_info*> all;
  const std::size_t n = pub.instrument_count();
  all.reserve(n);
  for (std::size_t i = 0; i < n; ++i) all.push_back(&pub.info(static_cast<instrument_id>(i)));
  queue_reply(format_ == protocol::wire_format::capnp ? capnp_wire::instruments(req.id, all)
                                                      : protocol::encode_instruments(req.id, all));
}

namespace {

struct resolved {
  protocol::channel_spec spec;
  std::string name;
  instrument_id id = 0;
  std::uint64_t interval_ns = 0;
  const protocol::channel_request* req = nullptr;
};

} // namespace

void session_base::subscribe(const protocol::request& req) {
  const gateway_config& cfg = worker_.config();
  const auto fail = [&](perr code, std::string message) { reply_error(code, req.id, std::move(message)); };
  // All or nothing: validate every channel before changing anything.
  std::vector<resolved> want;
  want.reserve(req.channels.size());
  for (const protocol::channel_request& cr : req.channels) {
    auto cp = protocol::parse_channel(cr.name);
    if (!cp.channel) return fail(cp.code, cp.message);
    resolved w;
    w.spec = std::move(*cp.channel);
    w.req = &cr;
    if (w.spec.wildcard()) {
      w.name = protocol::channel_name(w.spec.kind, "*", 0);
    } else {
      auto id = worker_.pub().find(w.spec.symbol);
      if (!id) return fail(perr::unknown_symbol, "unknown symbol '" + w.spec.symbol + "'");
      w.id = *id;
      w.name = protocol::channel_name(w.spec.kind, worker_.pub().info(*id).symbol, w.spec.depth);
    }
    const bool dup = std::any_of(want.begin(), want.end(), [&](const resolved& o) { return o.name == w.name; });
    if (dup || find(w.name) != nullptr) return fail(perr::already_subscribed, "already subscribed to '" + w.name + "'");
    if (!w.spec.wildcard() && w.spec.kind != channel_kind::book && w.spec.kind != channel_kind::trades &&
        covered_by_wildcard(w.spec.kind)) {
      return fail(perr::already_subscribed,
                  "'" + w.name + "' is covered by " + protocol::channel_name(w.spec.kind, "*", 0));
    }
    if (cr.from_seq && w.spec.kind != channel_kind::trades) {
      return fail(perr::bad_option, "'" + w.name + "': from_seq and epoch are for trades channels");
    }
    double interval_ns = 0;
    if (cr.max_rate) interval_ns = 1e9 / *cr.max_rate;
    if (cr.interval_ms) interval_ns = *cr.interval_ms * 1e6;
    if (interval_ns > 0) {
      // Granted within the configured bounds; the ack says what.
      const auto lo = static_cast<double>(std::chrono::nanoseconds(cfg.min_interval).count());
      const auto hi = static_cast<double>(std::chrono::nanoseconds(cfg.max_interval).count());
      w.interval_ns = static_cast<std::uint64_t>(std::llround(std::clamp(interval_ns, std::max(lo, 1.0), hi)));
    }
    want.push_back(std::move(w));
  }
  if (subs_.size() + want.size() > cfg.max_subscriptions) {
    return fail(perr::too_many_subscriptions,
                "at most " + std::to_string(cfg.max_subscriptions) + " subscriptions per connection");
  }
  std::vector<protocol::grant> grants;
  grants.reserve(want.size());
  std::vector<subscription*> added;
  for (resolved& w : want) {
    auto s = std::make_unique<subscription>();
    s->owner = this;
    s->kind = w.spec.kind;
    s->instrument = w.id;
    s->name = w.name;
    s->interval_ns = w.interval_ns;
    protocol::grant g;
    g.channel = w.name;
    g.interval_ns = w.interval_ns;
    if (w.spec.wildcard()) {
      s->wildcard = true;
      worker_.add_wildcard(s.get());
      const std::size_t n = worker_.pub().instrument_count();
      for (std::size_t i = 0; i < n; ++i) {
        s->children.push_back(make_child(*s, static_cast<instrument_id>(i)));
        added.push_back(s->children.back().get());
      }
    } else {
      if (s->kind == channel_kind::book) s->channel = worker_.acquire_channel(w.id, w.spec.depth);
      attach(*s);
      added.push_back(s.get());
    }
    if (s->kind == channel_kind::trades) {
      const std::uint64_t head = worker_.trade_head(w.id);
      const std::uint64_t epoch = worker_.pub().trade_epoch();
      g.trades = true;
      g.epoch = epoch;
      s->last = head + 1;
      if (w.req->from_seq) {
        const std::uint64_t from = std::max<std::uint64_t>(*w.req->from_seq, 1);
        const char* why = nullptr;
        if (*w.req->epoch != epoch) why = "epoch";
        else if (from > head + 1) why = "ahead";
        else if (from < worker_.trade_oldest(w.id) || head + 1 - from > cfg.trade_queue) why = "gone";
        if (why == nullptr) {
          s->last = from;
          g.resume = "replay";
        } else {
          if (s->reset_reason == nullptr) ++resets_pending_;
          s->reset_reason = why;
          s->reset_head = head;
          g.resume = "reset";
        }
      }
      g.next_seq = s->last;
    }
    grants.push_back(std::move(g));
    subs_.push_back(std::move(s));
  }
  queue_reply(format_ == protocol::wire_format::capnp ? capnp_wire::subscribed(req.id, grants)
                                                      : protocol::encode_subscribed(req.id, grants));
  // First states follow the ack (replies are written first).
  for (subscription* s : added) mark_dirty(s);
  flush();
}

void session_base::unsubscribe(const protocol::request& req) {
  std::vector<subscription*> drop;
  for (const protocol::channel_request& cr : req.channels) {
    auto cp = protocol::parse_channel(cr.name);
    if (!cp.channel) return reply_error(cp.code, req.id, cp.message);
    std::string name = cr.name;
    if (!cp.channel->wildcard()) {
      if (auto id = worker_.pub().find(cp.channel->symbol)) {
        name = protocol::channel_name(cp.channel->kind, worker_.pub().info(*id).symbol, cp.channel->depth);
      }
    }
    subscription* s = find(name);
    if (s == nullptr || std::find(drop.begin(), drop.end(), s) != drop.end()) {
      return reply_error(perr::not_subscribed, req.id, "not subscribed to '" + cr.name + "'");
    }
    drop.push_back(s);
  }
  std::vector<std::string> names;
  for (subscription* s : drop) {
    names.push_back(s->name);
    detach_one(*s);
    std::erase_if(subs_, [s](const std::unique_ptr<subscription>& p) { return p.get() == s; });
  }
  queue_reply(format_ == protocol::wire_format::capnp ? capnp_wire::unsubscribed(req.id, names)
                                                      : protocol::encode_ack("unsubscribed", req.id, names));
}

} // namespace mdgw
