// message_scan: a minimal hand scan of the gateway's JSON messages for the few fields
// mdgw-bench measures. Not a JSON parser.
//
// Rationale
// - The reader must sustain millions of messages a second on one thread, so a message is
//   not parsed: the scan looks for key patterns ("seq": and so on) and reads the integer
//   after them. A key pattern with its quotes cannot occur inside a JSON
//   string value (a quote there is escaped), so the patterns only match keys.
// - An update is the stretch from one {"channel":"..." to the next; its fields are looked
//   up inside that stretch only. The gateway (and the baseline) writes "channel" first in
//   every update, so the '{' before it marks an update's start; ts_recv and merged are
//   looked for after the oldest stamp first (where the gateway writes them), then in the
//   whole update, so any order of the other keys still reads right.
// - Freshness wants the gateway-receive stamp of the OLDEST source update merged into a
//   message. Protocol v0 has only ts_recv (the newest update of a state); a later
//   version may add an oldest stamp and a merged count. The key of the oldest stamp is
//   configurable; when an update carries it, it is used, otherwise ts_recv.
#pragma once

#include <cstdint>
#include <array>
#include <bit>
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace mdgw::bench {

enum class msg_type { data, subscribed, unsubscribed, error, pong, other, bad };

// A key to search for ('"name":') and the index of its rarest letter, the character
// find() looks for with memchr (see scan_detail::find).
struct key_pattern {
  std::string_view text;
  std::size_t anchor = 0;
};

namespace scan_detail {

// How rarely a character appears in the gateway's messages (higher: rarer). Letters
// only appear in keys, kinds and symbols; digits, dots, quotes, commas and brackets fill
// the level arrays that make up most of a message. The order is counted from a ui
// message (BM_harness_read_ui's: tickers and depth-10 deltas with their stamps), where
// 'l' is the third most common letter ("quality", "last_*", "*_oldest"): the earlier,
// guessed order made it the anchor of "channel" and of "ts_recv_oldest", with 11 false
// hits in a ticker update and 4 in a book delta (counted for "channel", which is searched
// through a whole update). '{' opens the message and each update, and in a trades
// update each trade; book levels are arrays.
inline constexpr auto kRarity = [] {
  std::array<uint8_t, 256> r{};
  constexpr std::string_view kRarestFirst = "{fjwypzgbmuqxvnhrokidacltse";
  for (std::size_t i = 0; i < kRarestFirst.size(); ++i) r[uint8_t(kRarestFirst[i])] = uint8_t(kRarestFirst.size() - i);
  return r;
}();

}  // namespace scan_detail

constexpr key_pattern make_key(std::string_view text) noexcept {
  key_pattern k{text, 0};
  for (std::size_t i = 1; i < text.size(); ++i)
    if (scan_detail::kRarity[uint8_t(text[i])] > scan_detail::kRarity[uint8_t(text[k.anchor])]) k.anchor = i;
  return k;
}

// The field names of a later protocol version, configurable (--oldest-field,
// --merged-field).
class scan_keys {
 public:
  scan_keys() {
    set_oldest("ts_recv_oldest");
    set_merged("merged");
  }
  scan_keys(const scan_keys& o) { *this = o; }
  scan_keys& operator=(const scan_keys& o) {
    look_for_oldest = o.look_for_oldest;
    set_oldest(o.oldest_name_);
    set_merged(o.merged_name_);
    return *this;
  }
  // The update field with the oldest merged receive stamp.
  void set_oldest(std::string_view name) { oldest_ = pattern(oldest_name_, oldest_text_, name); }
  // The update field counting the source updates merged into it.
  void set_merged(std::string_view name) { merged_ = pattern(merged_name_, merged_text_, name); }
  [[nodiscard]] key_pattern oldest() const noexcept { return oldest_; }
  [[nodiscard]] key_pattern merged() const noexcept { return merged_; }

  bool look_for_oldest = true;

 private:
  static key_pattern pattern(std::string& name_out, std::string& text_out, std::string_view name) {
    name_out.assign(name);
    text_out.clear();
    text_out += '"';
    text_out += name;
    text_out += "\":";
    return make_key(text_out);
  }
  std::string oldest_name_, merged_name_, oldest_text_, merged_text_;
  key_pattern oldest_, merged_;
};

// One update of a data message. ts_oldest is -1 and merged 1 when absent.
// Protocol v1 trades channels also send notices without stamps: `lost` (the reader fell
// behind: `lost` trades are gone, the stream resumes at `resume_seq`; seq is set to
// resume_seq - 1 and lost to the count) and `reset` (a resume was impossible: the stream
// goes on after `seq`). A notice represents no source update (merged 0).
struct update_view {
  enum class notice_kind : uint8_t { none, lost, reset };
  std::string_view channel;
  int64_t seq = -1;
  int64_t ts_recv = -1;
  int64_t ts_oldest = -1;
  int64_t merged = 1;
  notice_kind notice = notice_kind::none;
  int64_t lost = 0;
  std::string_view body;  // the update's text after the channel name, for lazy lookups
};

namespace scan_detail {

// Whether the t.size() bytes at p are t (8 at a time: keys are 6 to 17 bytes).
inline bool equal_at(const char* p, std::string_view t) noexcept {
  std::size_t i = 0;
  for (; i + 8 <= t.size(); i += 8) {
    uint64_t x, y;
    std::memcpy(&x, p + i, 8);
    std::memcpy(&y, t.data() + i, 8);
    if (x != y) return false;
  }
  for (; i < t.size(); ++i)
    if (p[i] != t[i]) return false;
  return true;
}

// The first occurrence of key in [b, e): the key's rarest character looked for 16 bytes
// at a time (SSE2), each hit compared in place. Inline, with no call: a ui update takes
// five or six searches, and with memchr and memcmp the calls cost more than the bytes
// (glibc's memmem, before them, built a shift table on every call).
inline const char* find(const char* b, const char* e, key_pattern key) noexcept {
  const std::string_view t = key.text;
  const std::size_t a = key.anchor;
  if (t.empty() || e - b < std::ptrdiff_t(t.size())) return nullptr;
  const char* p = b + a;
  const char* last = e - (t.size() - a);  // the anchor of a match lies at or before this
#if defined(__SSE2__)
  const __m128i want = _mm_set1_epi8(t[a]);
  int empty = 0;  // blocks in a row without the character
  while (last - p >= 15) {  // p[0..15] are all candidates, and inside [b, e)
    auto m = unsigned(_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), want)));
    if (m == 0) {
      p += 16;
      // A long stretch without it (the level arrays of a deep book): glibc's memchr,
      // wider than SSE2 where the machine has it, strides over it.
      if (++empty == 4 && last - p >= 64) {
        p = static_cast<const char*>(std::memchr(p, t[a], std::size_t(last - p + 1)));
        if (!p) return nullptr;
        empty = 0;
      }
      continue;
    }
    empty = 0;
    for (; m != 0; m &= m - 1) {
      const char* q = p + std::countr_zero(m) - a;
      if (equal_at(q, t)) return q;
    }
    p += 16;
  }
#endif
  for (; p <= last; ++p)
    if (*p == t[a] && equal_at(p - a, t)) return p - a;
  return nullptr;
}

// Eight ASCII digits at p as a number, or -1 if any is not a digit (SWAR, after Lemire:
// a timestamp has 19 digits, and a digit-at-a-time loop was the scan's largest cost).
inline int64_t eight_digits(const char* p) noexcept {
  uint64_t v;
  std::memcpy(&v, p, 8);
  // A byte is a digit iff its high nibble is 3 and adding 6 keeps it 3.
  if (((v & 0xF0F0F0F0F0F0F0F0ull) | (((v + 0x0606060606060606ull) & 0xF0F0F0F0F0F0F0F0ull) >> 4)) !=
      0x3333333333333333ull)
    return -1;
  v -= 0x3030303030303030ull;
  v = (v * 10 + (v >> 8)) & 0x00FF00FF00FF00FFull;               // pairs
  v = (v * 100 + (v >> 16)) & 0x0000FFFF0000FFFFull;             // quads
  return int64_t((v * 10000 + (v >> 32)) & 0xFFFFFFFFull);       // eight
}

// The non-negative integer at p (JSON number without sign, fraction or exponent), or -1.
inline int64_t read_uint(const char* p, const char* e) noexcept {
  if (p >= e || uint8_t(*p - '0') > 9) return -1;
  uint64_t v = 0;
  int digits = 0;
  // Eight at a time while 19 digits (the most an int64 holds) are not exceeded.
  for (int64_t eight; digits <= 11 && e - p >= 8 && (eight = eight_digits(p)) >= 0; p += 8, digits += 8)
    v = v * 100000000 + uint64_t(eight);
  for (; p < e && uint8_t(*p - '0') <= 9; ++p) {
    if (++digits > 19) return -1;  // 19 digits cannot overflow uint64
    v = v * 10 + uint64_t(*p - '0');
  }
  return v > uint64_t(INT64_MAX) ? -1 : int64_t(v);
}

inline int64_t field(const char* b, const char* e, key_pattern key) noexcept {
  const char* k = find(b, e, key);
  return k ? read_uint(k + key.text.size(), e) : -1;
}

// As field, looking from `from` first (where the gateway writes the key: after the one
// found before it), then in the whole of [b, e).
inline int64_t field_after(const char* b, const char* from, const char* e, key_pattern key) noexcept {
  const char* k = from != b ? find(from, e, key) : nullptr;
  if (!k) k = find(b, e, key);
  return k ? read_uint(k + key.text.size(), e) : -1;
}

inline constexpr key_pattern kType = make_key("\"type\":\"");
inline constexpr key_pattern kTsSend = make_key("\"ts_send\":");
// An update opens with its channel (the gateway's and the baseline's order): the '{' is
// the anchor, which nothing else in a book or ticker update has (a trades update's trades
// are objects: each a hit that the compare rejects).
inline constexpr key_pattern kChannel = make_key("{\"channel\":\"");
inline constexpr key_pattern kSeq = make_key("\"seq\":");
inline constexpr key_pattern kTsRecv = make_key("\"ts_recv\":");
inline constexpr key_pattern kResumeSeq = make_key("\"resume_seq\":");
inline constexpr key_pattern kLost = make_key("\"lost\":");
inline constexpr key_pattern kKindReset = make_key("\"kind\":\"reset\"");
inline constexpr key_pattern kFirstSeq = make_key("\"first_seq\":");

}  // namespace scan_detail

// The first trade seq of a trades update (protocol v1 batches trades: `first_seq` ..
// `seq`), or its seq when it has no first_seq.
inline int64_t first_seq(const update_view& u) noexcept {
  const int64_t f = scan_detail::field(u.body.data(), u.body.data() + u.body.size(), scan_detail::kFirstSeq);
  return f >= 0 ? f : u.seq;
}

// Classifies msg; for data messages reads ts_send and calls on_update(const update_view&)
// for each update. Returns bad when a data message lacks ts_send, has no update, or an
// update lacks a numeric seq or ts_recv (other than a trades notice, above).
template <class OnUpdate>
[[nodiscard]] msg_type scan_message(std::string_view msg, const scan_keys& keys, int64_t& ts_send,
                                    OnUpdate&& on_update) {
  using namespace scan_detail;
  const char* b = msg.data();
  const char* e = b + msg.size();
  const char* t = find(b, e, kType);
  if (!t) return msg_type::bad;
  t += kType.text.size();
  const std::string_view rest(t, std::size_t(e - t));
  if (!rest.starts_with("data\"")) {
    if (rest.starts_with("subscribed\"")) return msg_type::subscribed;
    if (rest.starts_with("unsubscribed\"")) return msg_type::unsubscribed;
    if (rest.starts_with("error\"")) return msg_type::error;
    if (rest.starts_with("pong\"")) return msg_type::pong;
    return msg_type::other;
  }
  ts_send = field(b, e, kTsSend);
  if (ts_send < 0) return msg_type::bad;
  const char* c = find(t, e, kChannel);
  if (!c) return msg_type::bad;
  while (c) {
    const char* name = c + kChannel.text.size();
    const char* name_end = static_cast<const char*>(memchr(name, '"', std::size_t(e - name)));
    if (!name_end) return msg_type::bad;
    const char* next = find(name_end, e, kChannel);
    const char* stop = next ? next : e;
    update_view u;
    u.channel = std::string_view(name, std::size_t(name_end - name));
    u.body = std::string_view(name_end, std::size_t(stop - name_end));
    u.seq = field(name_end, stop, kSeq);
    // The gateway writes ts_recv after the oldest stamp: looked for from there first.
    const char* oldest = keys.look_for_oldest ? find(name_end, stop, keys.oldest()) : nullptr;
    u.ts_recv = field_after(name_end, oldest ? oldest : name_end, stop, kTsRecv);
    if (u.ts_recv < 0) {
      // Only trades notices carry no stamps.
      if (const int64_t resume = field(name_end, stop, kResumeSeq); resume >= 1 && u.seq < 0) {
        u.notice = update_view::notice_kind::lost;
        u.seq = resume - 1;
        u.lost = field(name_end, stop, kLost);
        if (u.lost < 0) return msg_type::bad;
      } else if (u.seq >= 0 && find(name_end, stop, kKindReset)) {
        u.notice = update_view::notice_kind::reset;
      } else {
        return msg_type::bad;
      }
      u.merged = 0;
      on_update(u);
      c = next;
      continue;
    }
    if (u.seq < 0) return msg_type::bad;
    if (oldest) {
      u.ts_oldest = read_uint(oldest + keys.oldest().text.size(), stop);
      if (u.ts_oldest >= 0) {
        const int64_t m = field_after(name_end, oldest, stop, keys.merged());  // the gateway's: after it
        if (m > 0) u.merged = m;
      }
    }
    on_update(u);
    c = next;
  }
  return msg_type::data;
}

}  // namespace mdgw::bench
