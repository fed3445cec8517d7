#include "io_worker.hpp"

#include "capnp_codec.hpp"
#include "prefetch.hpp"
#include "session_base.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

namespace mdgw {

namespace {

// Marks every subscription of a channel or topic dirty. 100 subscribers an instrument in
// ui, mostly out of cache: each one is hinted a few iterations ahead.
void mark_all(const std::vector<subscription*>& subs, std::uint64_t exch_ts = 0, std::uint64_t recv_ts = 0) {
  for (std::size_t i = 0; i < subs.size(); ++i) {
    if (i + kPrefetchAhead < subs.size()) prefetch_line(subs[i + kPrefetchAhead]);
    subs[i]->owner->mark_dirty(subs[i], exch_ts, recv_ts);
  }
}

} // namespace

io_worker::io_worker(std::size_t index, publication& pub, const gateway_config& cfg)
    : index_(index), pub_(pub), cfg_(cfg), batch_(cfg.send_batch) {
  if (cfg.send_batch != 0 && !batch_.enabled() && index == 0) {
    std::fprintf(stderr, "mdgw: sends are not batched (%s): each frame is written at once\n", batch_.why_disabled());
  }
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

void io_worker::run_handshake(std::function<void()> start) {
  if (handshakes_ < kMaxHandshakes) {
    ++handshakes_;
    start();
    return;
  }
  handshake_queue_.push_back(std::move(start));
}

void io_worker::handshake_done() {
  if (handshake_queue_.empty()) {
    --handshakes_;
    return;
  }
  // The slot passes to the next one, started from the loop (not inside a completion).
  net::post(ioc_, std::move(handshake_queue_.front()));
  handshake_queue_.pop_front();
}

io_worker::instrument_view& io_worker::view(instrument_id id) {
  if (instruments_.size() <= id) instruments_.resize(id + 1);
  auto& is = instruments_[id];
  if (!is.top) {
    is.top = std::make_unique<book_top>();
    is.changed = true;
  }
  return is;
}

void io_worker::release_view(instrument_id id) {
  auto& is = instruments_[id];
  if (std::none_of(is.channels.begin(), is.channels.end(),
                   [](const book_channel* c) { return c->depth > static_cast<int>(kMaxDepth); })) {
    is.full.reset();
    is.full_ok = false;
  }
  if (is.topics && is.topics->empty()) is.topics.reset();
  if (is.channels.empty() && !is.topics) is.top.reset();
}

book_channel* io_worker::acquire_channel(instrument_id id, int depth) {
  auto& is = view(id);
  for (book_channel* ch : is.channels) {
    if (ch->depth == depth) return ch;
  }
  if (depth > static_cast<int>(kMaxDepth) && !is.full) {
    is.full = std::make_unique<full_book_top>();
    is.full_ok = false;
    is.changed = true;
  }
  auto ch = std::make_unique<book_channel>();
  ch->instrument = id;
  ch->depth = depth;
  ch->name = protocol::channel_name(protocol::channel_kind::book, pub_.info(id).symbol, depth);
  is.channels.push_back(ch.get());
  channel_store_.push_back(std::move(ch));
  return channel_store_.back().get();
}

void io_worker::release_channel(book_channel* ch) {
  if (!ch->subs.empty()) return;
  auto& is = instruments_[ch->instrument];
  std::erase(is.channels, ch);
  const instrument_id id = ch->instrument;
  std::erase_if(channel_store_, [ch](const std::unique_ptr<book_channel>& p) { return p.get() == ch; });
  release_view(id);
}

topic& io_worker::topics_state::get(protocol::channel_kind k) noexcept {
  switch (k) {
  case protocol::channel_kind::ticker: return ticker;
  case protocol::channel_kind::trades: return trades;
  case protocol::channel_kind::status: return status;
  case protocol::channel_kind::imbalance: return imbalance;
  case protocol::channel_kind::book: break;
  }
  return ticker;
}

topic& io_worker::acquire_topic(instrument_id id, protocol::channel_kind kind) {
  auto& is = view(id);
  if (!is.topics) {
    auto t = std::make_unique<topics_state>();
    const std::string& sym = pub_.info(id).symbol;
    for (auto k : {protocol::channel_kind::ticker, protocol::channel_kind::trades, protocol::channel_kind::status,
                   protocol::channel_kind::imbalance}) {
      t->get(k).name = protocol::channel_name(k, sym, 0);
    }
    // The first state of each topic, before any notice: what a new subscriber is shown.
    refresh(is, id);
    t->view.set_book(*is.top);
    t->quality = is.top->quality;
    t->reason = is.top->reason;
    pub_.read_state(id, t->state);
    read_last_trade(*t, id);
    t->ticker.version = t->view.seq();
    t->ticker.exch_ts = std::max(is.top->exch_ts, t->view.last.exch_ts);
    t->ticker.recv_ts = std::max(is.top->recv_ts, t->view.last.recv_ts);
    t->status.version = 1;
    t->status.exch_ts = std::max(is.top->exch_ts, t->state.exch_ts);
    t->status.recv_ts = std::max(is.top->recv_ts, t->state.recv_ts);
    t->imbalance.version = 1;
    t->imbalance.exch_ts = t->state.exch_ts;
    t->imbalance.recv_ts = t->state.recv_ts;
    is.topics = std::move(t);
  }
  return is.topics->get(kind);
}

void io_worker::release_topic(instrument_id id, protocol::channel_kind kind, subscription* s) {
  auto& is = instruments_[id];
  if (!is.topics) return;
  std::erase(is.topics->get(kind).subs, s);
  release_view(id);
}

void io_worker::read_last_trade(topics_state& t, instrument_id id) {
  const trade_history* h = pub_.trades(id);
  if (h == nullptr) return;
  // The newest trade; a writer lapping this reader (capacity trades while it copies
  // one) makes it try again with the new head.
  for (int attempt = 0; attempt < 4; ++attempt) {
    const std::uint64_t head = h->head();
    if (head == 0 || head == t.view.last.seq) return;
    trade_record r;
    if (h->read(head, std::span<trade_record>(&r, 1)).count == 1) {
      t.view.last = r;
      return;
    }
  }
}

topic_message io_worker::topic_fragment(instrument_id id, protocol::channel_kind kind, bool with_head) {
  auto& is = instruments_[id];
  topics_state& t = *is.topics;
  topic& tp = t.get(kind);
  if (!with_head) return {{}, tp.version, tp.exch_ts, tp.recv_ts};
  if (tp.frag_version != tp.version) { // frag_version starts at ~0: the first read encodes
    std::string& s = tp.head;
    s.clear();
    const instrument_info& info = pub_.info(id);
    switch (kind) {
    case protocol::channel_kind::ticker: encode_ticker_head(s, tp.name, t.view, info); break;
    case protocol::channel_kind::status:
      encode_status_head(s, tp.name, tp.version, t.state, t.quality, t.reason, info);
      break;
    case protocol::channel_kind::imbalance: encode_imbalance_head(s, tp.name, tp.version, t.state, info); break;
    case protocol::channel_kind::book:
    case protocol::channel_kind::trades: break;
    }
    tp.frag_version = tp.version;
  }
  return {tp.head, tp.version, tp.exch_ts, tp.recv_ts};
}

std::string io_worker::topic_binary(instrument_id id, protocol::channel_kind kind, std::uint64_t oldest_exch,
                                   std::uint64_t oldest_recv, std::uint64_t merged) {
  topics_state& t = *instruments_[id].topics;
  const topic& tp = t.get(kind);
  const protocol::batch_stamps st{oldest_exch, oldest_recv, tp.exch_ts, tp.recv_ts, merged};
  const instrument_info& info = pub_.info(id);
  switch (kind) {
  case protocol::channel_kind::ticker: return capnp_wire::ticker(tp.name, t.view, info, st);
  case protocol::channel_kind::status:
    return capnp_wire::status(tp.name, tp.version, t.state, t.quality, t.reason, info, st);
  case protocol::channel_kind::imbalance: return capnp_wire::imbalance(tp.name, tp.version, t.state, info, st);
  case protocol::channel_kind::book:
  case protocol::channel_kind::trades: break;
  }
  return {};
}

std::uint64_t io_worker::trade_head(instrument_id id) const noexcept {
  const trade_history* h = pub_.trades(id);
  return h != nullptr ? h->head() : 0;
}

std::uint64_t io_worker::trade_oldest(instrument_id id) const noexcept {
  const trade_history* h = pub_.trades(id);
  return h != nullptr ? h->oldest() : 1;
}

trade_batch io_worker::trade_fragment(instrument_id id, std::uint64_t from_seq, protocol::wire_format fmt,
                                      std::uint64_t upto) {
  trade_batch b;
  if (fmt == protocol::wire_format::json && trade_text(id, from_seq, b, upto)) return b;
  const trade_batch none{from_seq, {}, from_seq, {}};
  const trade_history* h = pub_.trades(id);
  if (h == nullptr) return none;
  const std::uint64_t head = std::min(h->head(), upto);
  if (from_seq > head) return none;
  topics_state& t = *instruments_[id].topics;
  if (t.trade_cache_head != head) {
    t.trade_cache.clear();
    t.trade_cache_head = head;
  }
  for (const trade_frag& f : t.trade_cache) {
    if (f.from == from_seq && f.fmt == fmt) return f.batch();
  }
  trade_record* buf = trade_buf_.get();
  const auto r = h->read(from_seq, std::span<trade_record>(
                                       buf, static_cast<std::size_t>(std::min<std::uint64_t>(
                                                kMaxTradesPerUpdate, head + 1 - from_seq))));
  // Where the ring overwrote trades from from_seq on, the read starts later and may run
  // past head: those are not this update's.
  const std::uint64_t past = r.next_seq > head + 1 ? std::min<std::uint64_t>(r.next_seq - (head + 1), r.count) : 0;
  const std::size_t count = r.count - static_cast<std::size_t>(past);
  trade_frag& f = t.trade_cache.emplace_back();
  f.from = from_seq;
  f.fmt = fmt;
  f.resume_seq = from_seq + r.lost;
  f.next_seq = r.next_seq - past;
  if (count != 0) {
    const std::span<const trade_record> got(buf, count);
    if (fmt == protocol::wire_format::capnp) {
      f.text = capnp_wire::trades(t.trades.name, h->epoch(), got, pub_.info(id));
    } else {
      f.text.reserve(160 + r.count * 120);
      encode_trades(f.text, t.trades.name, h->epoch(), got, pub_.info(id));
    }
    f.stamps.add(got.front().exch_ts, got.front().recv_ts, got.back().exch_ts, got.back().recv_ts, count);
  }
  return f.batch();
}

void io_worker::trade_texts::restart(std::uint64_t ep, std::uint64_t seq) {
  epoch = ep;
  first_seq = seq;
  base = 0;
  entries.clear();
  text.clear();
  head_first = head_last = 0;
  compact_at = kTradeTextSlack;
}

void io_worker::extend_texts(trade_texts& x, const trade_history& h, const instrument_info& info,
                             const std::vector<subscription*>& subs, std::uint64_t asked) {
  const std::uint64_t head = h.head();
  trade_record* buf = trade_buf_.get();
  while (x.next_seq() <= head) {
    const auto r = h.read(x.next_seq(), std::span<trade_record>(buf, kMaxTradesPerUpdate));
    // Overwritten before this thread encoded them: hold from the oldest one read; a
    // session before it gets its lost notice from trade_fragment.
    if (r.lost != 0) x.restart(x.epoch, r.next_seq - r.count);
    if (r.count == 0) break;
    for (std::size_t i = 0; i < r.count; ++i) {
      const trade_record& t = buf[i];
      x.entries.push_back({x.base + x.text.size(), t.exch_ts, t.recv_ts});
      x.text.push_back(',');
      encode_trade(x.text, t, info);
    }
  }
  if (x.entries.size() < x.compact_at) return;
  // Keep from the oldest cursor of a subscription here or the one asking (a cursor
  // before the text counts as its start: it resumes there or later once trade_fragment
  // has told it what it lost), but no further back than a subscription may lag: one
  // more than trade_queue behind is moved up to that (session_base::gather_trades).
  const std::uint64_t next = x.next_seq();
  std::uint64_t keep = std::clamp(asked, x.first_seq, next);
  for (const subscription* s : subs) keep = std::min(keep, std::clamp(s->last, x.first_seq, next));
  const std::uint64_t queue = cfg_.trade_queue;
  if (next > queue && keep < next - queue) keep = std::max(x.first_seq, next - queue);
  const std::size_t drop = static_cast<std::size_t>(keep - x.first_seq);
  if (drop != 0) {
    const std::uint64_t new_base = drop < x.entries.size() ? x.entries[drop].begin : x.base + x.text.size();
    x.text.erase(0, static_cast<std::size_t>(new_base - x.base));
    x.entries.erase(x.entries.begin(), x.entries.begin() + static_cast<std::ptrdiff_t>(drop));
    x.first_seq = keep;
    x.base = new_base;
  }
  x.compact_at = x.entries.size() + kTradeTextSlack;
}

bool io_worker::trade_text(instrument_id id, std::uint64_t from_seq, trade_batch& out, std::uint64_t upto) {
  const trade_history* h = pub_.trades(id);
  if (h == nullptr) return false;
  topics_state& t = *instruments_[id].topics;
  trade_texts& x = t.texts;
  if (x.first_seq == 0 || x.epoch != h->epoch()) x.restart(h->epoch(), std::max<std::uint64_t>(from_seq, 1));
  if (from_seq < x.first_seq) return false;
  extend_texts(x, *h, pub_.info(id), t.trades.subs, from_seq);
  // Before the text (the ring overwrote trades first) or past it (a head newer than the
  // text's: only a resume beyond the head asks that, and trade_fragment answers it).
  if (from_seq < x.first_seq || from_seq > x.next_seq()) return false;
  const std::size_t i0 = static_cast<std::size_t>(from_seq - x.first_seq);
  // At most kMaxTradesPerUpdate, and none after upto (kNoBound: upto + 1 would wrap).
  const std::size_t n =
      upto < from_seq ? 0
                      : std::min(x.entries.size() - i0, static_cast<std::size_t>(std::min<std::uint64_t>(
                                                            upto - from_seq, kMaxTradesPerUpdate - 1)) + 1);
  out.resume_seq = from_seq;
  out.next_seq = from_seq + n;
  out.stamps = {};
  if (n == 0) {
    out.parts = {}; // nothing new
    return true;
  }
  const std::size_t i1 = i0 + n;
  out.stamps.add(x.entries[i0].exch_ts, x.entries[i0].recv_ts, x.entries[i1 - 1].exch_ts, x.entries[i1 - 1].recv_ts, n);
  const std::uint64_t last_seq = out.next_seq - 1;
  if (x.head_first != from_seq || x.head_last != last_seq) {
    x.head.clear();
    encode_trades_head(x.head, t.trades.name, x.epoch, from_seq, last_seq, out.stamps);
    x.head_first = from_seq;
    x.head_last = last_seq;
  }
  const std::uint64_t begin = x.entries[i0].begin + 1; // after its ','
  const std::uint64_t end = i1 < x.entries.size() ? x.entries[i1].begin : x.base + x.text.size();
  out.parts = {x.head,
               std::string_view(x.text).substr(static_cast<std::size_t>(begin - x.base),
                                               static_cast<std::size_t>(end - begin)),
               kTradesSuffix};
  return true;
}

void io_worker::add_wildcard(subscription* parent) {
  if (wildcards_.empty()) wildcard_known_ = pub_.instrument_count();
  wildcards_.push_back(parent);
}

void io_worker::remove_wildcard(subscription* parent) { std::erase(wildcards_, parent); }

void io_worker::grow_wildcards() {
  const std::size_t count = pub_.instrument_count();
  if (count <= wildcard_known_) return;
  const std::size_t from = wildcard_known_;
  wildcard_known_ = count;
  // Copy: extending may not change the list, but a session closing inside could.
  const std::vector<subscription*> parents = wildcards_;
  for (subscription* p : parents) {
    for (std::size_t id = from; id < count; ++id) p->owner->extend_wildcard(p, static_cast<instrument_id>(id));
  }
}

void io_worker::update_book_topics(instrument_view& is, instrument_id id, const notice& n) {
  topics_state& t = *is.topics;
  // Read, not refresh(): recording a state in the book channels here would fill their
  // histories with states no one was sent, and push slower readers out to snapshots.
  // is.changed stays set, so the book channels read the slot when they flush.
  pub_.read_top(id, *is.top);
  const book_top& top = *is.top;
  ticker_view next = t.view;
  next.set_book(top);
  if (!next.same_as(t.view)) {
    t.view = next;
    t.ticker.version = t.view.seq();
    t.ticker.exch_ts = top.exch_ts;
    t.ticker.recv_ts = top.recv_ts;
    mark_all(t.ticker.subs, n.exch_ts, n.recv_ts);
  } else {
    t.view.book_version = top.version; // deeper changes: the ticker shows nothing new
  }
  if (top.quality != t.quality || top.reason != t.reason) {
    t.quality = top.quality;
    t.reason = top.reason;
    ++t.status.version;
    t.status.exch_ts = top.exch_ts;
    t.status.recv_ts = top.recv_ts;
    mark_all(t.status.subs, n.exch_ts, n.recv_ts);
  }
}

void io_worker::update_trade_topics(instrument_view& is, instrument_id id, const notice& n) {
  topics_state& t = *is.topics;
  mark_all(t.trades.subs, n.exch_ts, n.recv_ts);
  if (t.ticker.subs.empty()) return;
  const std::uint64_t before = t.view.last.seq;
  read_last_trade(t, id);
  if (t.view.last.seq == before) return;
  t.ticker.version = t.view.seq();
  t.ticker.exch_ts = t.view.last.exch_ts;
  t.ticker.recv_ts = t.view.last.recv_ts;
  mark_all(t.ticker.subs, n.exch_ts, n.recv_ts);
}

void io_worker::update_state_topics(instrument_view& is, instrument_id id, const notice& n) {
  topics_state& t = *is.topics;
  mdgw::instrument_state st;
  pub_.read_state(id, st);
  if (trading_fields_differ(st, t.state)) {
    ++t.status.version;
    t.status.exch_ts = st.exch_ts;
    t.status.recv_ts = st.recv_ts;
    mark_all(t.status.subs, n.exch_ts, n.recv_ts);
  }
  if (imbalance_differs(st, t.state)) {
    ++t.imbalance.version;
    t.imbalance.exch_ts = st.exch_ts;
    t.imbalance.recv_ts = st.recv_ts;
    mark_all(t.imbalance.subs, n.exch_ts, n.recv_ts);
  }
  t.state = st;
}

void io_worker::record(book_channel& ch, const instrument_view& is) {
  const bool from_full = ch.depth > static_cast<int>(kMaxDepth) && is.top->deeper != 0;
  if (from_full && !is.full_ok) return; // the whole book was not published yet
  const auto& top = *is.top;
  const std::uint64_t version = from_full ? is.full->version : top.version;
  const data_quality quality = from_full ? is.full->quality : top.quality;
  const book_record* newest = ch.history.newest();
  if (newest != nullptr && newest->version == version && newest->quality == quality) return;
  if (from_full) candidate_.assign(*is.full, kFullDepth, pub_.info(ch.instrument), scratch_);
  else candidate_.assign(top, static_cast<std::size_t>(ch.depth), pub_.info(ch.instrument), scratch_);
  const std::uint64_t first_exch = is.first_exch_ts != 0 ? is.first_exch_ts : top.exch_ts;
  const std::uint64_t first_recv = is.first_recv_ts != 0 ? is.first_recv_ts : top.recv_ts;
  // The same top `depth` levels and quality (the change was deeper in the book): the
  // subscribers' books are still exact, so there is nothing to send. Those updates count
  // in the next state's `merged` (version difference) but do not age it: the client's
  // book was exact while they happened, so they say nothing about its freshness.
  if (newest != nullptr && newest->quality == candidate_.quality && newest->checksum == candidate_.checksum &&
      newest->levels == candidate_.levels && newest->n_bids == candidate_.n_bids) {
    return;
  }
  candidate_.first_exch_ts = first_exch;
  candidate_.first_recv_ts = first_recv;
  book_record& r = ch.history.prepare();
  // Swap, not copy: the level vectors circulate and keep their capacity.
  std::swap(r, candidate_);
  ch.history.commit();
}

void io_worker::refresh(instrument_view& is, instrument_id id) {
  if (!is.changed) return;
  // Clear first: a notice arriving later (on this same thread) sets it again.
  is.changed = false;
  pub_.read_top(id, *is.top);
  if (is.full && is.top->deeper != 0) is.full_ok = pub_.read_full(id, *is.full);
  for (book_channel* ch : is.channels) record(*ch, is);
  is.first_exch_ts = 0;
  is.first_recv_ts = 0;
}

encoded io_worker::book_fragment(book_channel& ch, std::uint64_t from_rec, protocol::wire_format fmt) {
  auto& is = instruments_[ch.instrument];
  refresh(is, ch.instrument);
  if (ch.history.newest() == nullptr) record(ch, is); // a channel added since the last read
  encoded e;
  if (ch.history.newest() == nullptr) {
    e.rec = from_rec; // nothing to show yet (a full book not yet published whole)
    return e;
  }
  const book_record& to = *ch.history.newest();
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
    for (auto& c : ch.cache) {
      c.snapshot.clear();
      c.deltas.clear();
    }
  }
  auto& cache = ch.cache[static_cast<std::size_t>(fmt)];
  std::string* slot = &cache.snapshot;
  if (from != nullptr) {
    auto it = std::find_if(cache.deltas.begin(), cache.deltas.end(),
                           [from_rec](const auto& d) { return d.first == from_rec; });
    if (it == cache.deltas.end()) it = cache.deltas.insert(cache.deltas.end(), {from_rec, std::string()});
    slot = &it->second;
  }
  if (slot->empty()) {
    if (fmt == protocol::wire_format::capnp) {
      *slot = capnp_wire::book(ch.name, from, to, e.stamps, pub_.info(ch.instrument));
    } else {
      slot->reserve(256 + static_cast<std::size_t>(ch.depth) * 2 * 32);
      encode_book_message(*slot, ch.name, from, to, e.stamps, pub_.info(ch.instrument));
    }
  }
  e.frag = *slot;
  return e;
}

void io_worker::mark_ready(session_base* s) {
  if (s->in_ready_list) return;
  s->in_ready_list = true;
  ready_.push_back(s);
}

void io_worker::defer_flush(session_base* s) {
  mark_ready(s);
  if (!flushing_) post_pass();
}

void io_worker::post_pass() {
  if (pass_posted_) return;
  pass_posted_ = true;
  net::post(ioc_, [this] {
    pass_posted_ = false;
    on_wake();
  });
}

void io_worker::unready(session_base* s) {
  if (!s->in_ready_list) return;
  s->in_ready_list = false;
  std::replace(ready_.begin(), ready_.end(), s, static_cast<session_base*>(nullptr));
  std::replace(later_.begin(), later_.end(), s, static_cast<session_base*>(nullptr));
}

void io_worker::on_notice(const notice& n) {
  if (n.instrument >= instruments_.size()) return;
  auto& is = instruments_[n.instrument];
  if (is.channels.empty() && !is.topics) return;
  switch (n.what) {
  case notice::kind::book:
    if (!is.changed || is.first_recv_ts == 0) {
      is.first_exch_ts = n.exch_ts;
      is.first_recv_ts = n.recv_ts;
    }
    is.changed = true;
    for (book_channel* ch : is.channels) mark_all(ch->subs);
    if (is.topics) update_book_topics(is, n.instrument, n);
    break;
  case notice::kind::trade:
    if (is.topics) update_trade_topics(is, n.instrument, n);
    break;
  case notice::kind::state:
    if (is.topics) update_state_topics(is, n.instrument, n);
    break;
  }
}

void io_worker::flush_ready() {
  flushing_ = true;
  ++pass_;
  std::size_t flushed = 0;
  auto drained_at = std::chrono::steady_clock::now(); // on_wake drained just before
  batch_.begin();
  // By index: a session flushed here may list itself again (defer_flush) at the end, also
  // when its batched send is called back, so the loop goes on after each submit.
  for (std::size_t i = 0;;) {
    if (i < ready_.size()) {
      session_base* s = ready_[i++];
      if (s == nullptr) continue;
      if (s->flushed_pass == pass_) {
        // Listed again after its message of this pass (by a drain below, or with more to
        // send): its next message waits for the next pass, a pass after this one.
        later_.push_back(s);
        continue;
      }
      // Hints for the sessions next in line (session_base::prefetch_session).
      const std::size_t n = ready_.size();
      if (i + 2 < n && ready_[i + 2] != nullptr) ready_[i + 2]->prefetch_session();
      if (i + 1 < n && ready_[i + 1] != nullptr) ready_[i + 1]->prefetch_dirty_list();
      if (i < n && ready_[i] != nullptr) ready_[i]->prefetch_first_dirty();
      s->in_ready_list = false;
      s->flushed_pass = pass_;
      s->flush();
      if (batch_.full()) batch_.submit();
      if (++flushed % kDrainEvery == 0) {
        // The notices published while this pass ran (over 1,000 sessions it takes
        // milliseconds): the sessions after this point carry them. A session's oldest
        // update is then about a pass old when it is sent, not a pass plus the part of
        // this one before its turn (docs/performance.md, "Notices drained during a pass").
        const auto now = std::chrono::steady_clock::now();
        if (now - drained_at >= drain_interval_) {
          drain();
          drained_at = now;
        }
      }
      continue;
    }
    if (!batch_.pending()) break;
    batch_.submit();
  }
  batch_.end();
  ready_.clear();
  ready_.swap(later_);
  flushing_ = false;
}

void io_worker::drain() {
  if (!wildcards_.empty()) grow_wildcards();
  pub_.drain(index_, [this](const notice& n) { on_notice(n); });
}

void io_worker::on_wake() {
  drain();
  // Sessions are flushed after the whole drain: one message carries every change.
  flush_ready();
  // What comes next runs in a fresh handler rather than a loop here: under a flat-out
  // feed a loop would never yield to reads and write completions. Sessions listed again
  // during the pass (by its drains, or with more to send) go to the next pass, posted
  // without re-arming the publication: its drain takes whatever the feed publishes
  // meanwhile, and the feed, finding the thread disarmed, posts no wake-up of its own.
  // Only with no session left does the thread re-arm. So one pass is queued at a time
  // (two for a moment when a deferred flush posted one while the thread was armed), and the
  // handlers queued meanwhile (reads, write completions, TLS handshakes) run after it
  // (FlushPass.PassesDoNotPileUpBetweenOtherHandlers).
  if (!ready_.empty() || pub_.rearm(index_)) post_pass();
}

} // namespace mdgw
