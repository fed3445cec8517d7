// message_scan: a minimal hand scan of the gateway's JSON messages for the few fields
// mdgw-bench measures. Not a JSON parser.
//
// Rationale
// - The reader must sustain millions of messages a second on one thread, so a message is
//   not parsed: the scan looks for key patterns ("seq": and so on) and reads the integer
//   after them. A key pattern with its quotes cannot occur inside a JSON
//   string value (a quote there is escaped), so the patterns only match keys.
// - An update is the stretch from one "channel":"..." to the next; its fields are looked
//   up inside that stretch only. The gateway writes "channel" first in every update.
// - Freshness wants the gateway-receive stamp of the OLDEST source update merged into a
//   message. Protocol v0 has only ts_recv (the newest update of a state); a later
//   version may add an oldest stamp and a merged count. The key of the oldest stamp is
//   configurable; when an update carries it, it is used, otherwise ts_recv.
#pragma once

#include <cstdint>
#include <array>
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

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
// the level arrays that make up most of a message.
inline constexpr auto kRarity = [] {
  std::array<uint8_t, 256> r{};
  constexpr std::string_view kRarestFirst = "qjzxlvwyfgbmkphucodirnaste";
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

// The first occurrence of key in [b, e): memchr for the key's rarest letter, then a
// compare. memchr (SIMD, no set-up cost) skips the level arrays in long strides;
// glibc's memmem builds a shift table on every call, which cost more than the search
// itself on these short messages.
inline const char* find(const char* b, const char* e, key_pattern key) noexcept {
  const std::string_view t = key.text;
  const std::size_t a = key.anchor;
  if (t.empty() || e - b < std::ptrdiff_t(t.size())) return nullptr;
  const char* p = b + a;
  const char* last = e - (t.size() - a);  // the anchor of a match lies at or before this
  while (p <= last) {
    p = static_cast<const char*>(std::memchr(p, t[a], std::size_t(last - p + 1)));
    if (!p) return nullptr;
    if (std::memcmp(p - a, t.data(), t.size()) == 0) return p - a;
    ++p;
  }
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

inline constexpr key_pattern kType = make_key("\"type\":\"");
inline constexpr key_pattern kTsSend = make_key("\"ts_send\":");
inline constexpr key_pattern kChannel = make_key("\"channel\":\"");
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
    u.ts_recv = field(name_end, stop, kTsRecv);
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
    if (keys.look_for_oldest) {
      u.ts_oldest = field(name_end, stop, keys.oldest());
      if (u.ts_oldest >= 0) {
        const int64_t m = field(name_end, stop, keys.merged());
        if (m > 0) u.merged = m;
      }
    }
    on_update(u);
    c = next;
  }
  return msg_type::data;
}

}  // namespace mdgw::bench
