#include "stream_stats.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

namespace mdgw::bench {

void run_counters::merge(const run_counters& o) noexcept {
  messages += o.messages;
  updates += o.updates;
  represented += o.represented;
  bytes += o.bytes;
  snapshots += o.snapshots;
  seq_gaps += o.seq_gaps;
  seq_missing += o.seq_missing;
  seq_gaps_warmup += o.seq_gaps_warmup;
  seq_missing_warmup += o.seq_missing_warmup;
  seq_errors += o.seq_errors;
  unknown_channel += o.unknown_channel;
  bad_messages += o.bad_messages;
  error_replies += o.error_replies;
  subscribed += o.subscribed;
  other_messages += o.other_messages;
  connects += o.connects;
  connect_failures += o.connect_failures;
  disconnects += o.disconnects;
  reconnects += o.reconnects;
  ws_errors += o.ws_errors;
}

uint64_t channel_table::hash(std::string_view name) noexcept {
  uint64_t a = 0, b = 0;
  const std::size_t n = name.size();
  if (n >= 8) {
    std::memcpy(&a, name.data() + n - 8, 8);
    std::memcpy(&b, name.data(), 8);
  } else {
    std::memcpy(&a, name.data(), n);
  }
  uint64_t h = (a ^ (b * 0x9E3779B97F4A7C15ull) ^ n) * 0xBF58476D1CE4E5B9ull;
  return h ^ (h >> 31);
}

void channel_table::assign(const std::vector<std::string>& channels) {
  entries_.clear();
  std::size_t slots = 16;
  while (slots < channels.size() * 2) slots *= 2;
  index_.assign(slots, 0);
  for (const auto& ch : channels) {
    if (find(ch)) continue;  // listed twice: one entry
    entries_.push_back(entry{ch, -1, ch.starts_with("trades.")});
    for (std::size_t i = hash(ch) & (slots - 1);; i = (i + 1) & (slots - 1)) {
      if (index_[i] == 0) {
        index_[i] = uint32_t(entries_.size());
        break;
      }
    }
  }
}

channel_table::entry* channel_table::find(std::string_view name) noexcept {
  if (index_.empty()) return nullptr;
  const std::size_t mask = index_.size() - 1;
  for (std::size_t i = hash(name) & mask;; i = (i + 1) & mask) {
    const uint32_t k = index_[i];
    if (k == 0) return nullptr;
    if (entries_[k - 1].name == name) return &entries_[k - 1];
  }
}

msg_type record_message(std::string_view msg, int64_t recv_ns, const scan_keys& keys, channel_table& channels,
                        run_stats& stats) {
  run_counters& c = stats.c;
  int64_t ts_send = -1;
  int64_t oldest = std::numeric_limits<int64_t>::max();
  const msg_type type = scan_message(msg, keys, ts_send, [&](const update_view& u) {
    ++c.updates;
    c.represented += uint64_t(u.merged);
    channel_table::entry* e = channels.find(u.channel);
    if (!e) {
      ++c.unknown_channel;
      return;
    }
    if (u.notice != update_view::notice_kind::none) {
      // lost: exactly u.lost trades are gone; reset: an unknown number.
      ++c.seq_gaps;
      if (u.notice == update_view::notice_kind::lost) c.seq_missing += uint64_t(u.lost);
    } else if (e->last_seq < 0) {
      ++c.snapshots;
    } else {
      if (e->stream) {
        const int64_t first = first_seq(u);
        if (first > e->last_seq + 1) {
          ++c.seq_gaps;
          c.seq_missing += uint64_t(first - e->last_seq - 1);
        } else if (first <= e->last_seq || u.seq < first) {
          ++c.seq_errors;
        }
      } else if (u.seq <= e->last_seq) {
        ++c.seq_errors;
      }
      oldest = std::min(oldest, u.ts_oldest >= 0 ? u.ts_oldest : u.ts_recv);
    }
    e->last_seq = u.seq;
  });
  switch (type) {
    case msg_type::data:
      ++c.messages;
      stats.send_to_recv.record(recv_ns - ts_send);
      if (oldest != std::numeric_limits<int64_t>::max()) stats.freshness.record(recv_ns - oldest);
      break;
    case msg_type::subscribed:
      ++c.subscribed;
      break;
    case msg_type::error:
      ++c.error_replies;
      break;
    case msg_type::bad:
      ++c.bad_messages;
      break;
    case msg_type::unsubscribed:
    case msg_type::pong:
    case msg_type::other:
      ++c.other_messages;
      break;
  }
  return type;
}

}  // namespace mdgw::bench
