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

struct scan_keys {
  std::string oldest = "\"ts_recv_oldest\":";  // '"name":' of the oldest-merged stamp
  std::string merged = "\"merged\":";          // source updates merged into this update
  bool look_for_oldest = true;
};

// One update of a data message. ts_oldest is -1 and merged 1 when absent.
struct update_view {
  std::string_view channel;
  int64_t seq = -1;
  int64_t ts_recv = -1;
  int64_t ts_oldest = -1;
  int64_t merged = 1;
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
constexpr int rarity(char ch) noexcept { return kRarity[uint8_t(ch)]; }

// The first occurrence of needle in [b, e): memchr for the needle's rarest letter, then
// a compare. memchr (SIMD, no set-up cost) skips the level arrays in long strides;
// glibc's memmem builds a shift table on every call, which cost more than the search
// itself on these short messages.
inline const char* find(const char* b, const char* e, std::string_view needle) noexcept {
  if (needle.empty() || e - b < std::ptrdiff_t(needle.size())) return nullptr;
  std::size_t a = 0;  // index of the anchor character in needle
  for (std::size_t i = 1; i < needle.size(); ++i)
    if (rarity(needle[i]) > rarity(needle[a])) a = i;
  const char* p = b + a;
  const char* last = e - (needle.size() - a);  // the anchor of a match lies at or before this
  while (p <= last) {
    p = static_cast<const char*>(std::memchr(p, needle[a], std::size_t(last - p + 1)));
    if (!p) return nullptr;
    if (std::memcmp(p - a, needle.data(), needle.size()) == 0) return p - a;
    ++p;
  }
  return nullptr;
}

// The non-negative integer at p (JSON number without sign, fraction or exponent), or -1.
inline int64_t read_uint(const char* p, const char* e) noexcept {
  if (p >= e || uint8_t(*p - '0') > 9) return -1;
  uint64_t v = 0;
  int digits = 0;
  for (; p < e && uint8_t(*p - '0') <= 9; ++p) {
    if (++digits > 19) return -1;  // 19 digits cannot overflow uint64
    v = v * 10 + uint64_t(*p - '0');
  }
  return v > uint64_t(INT64_MAX) ? -1 : int64_t(v);
}

inline int64_t field(const char* b, const char* e, std::string_view key) noexcept {
  const char* k = find(b, e, key);
  return k ? read_uint(k + key.size(), e) : -1;
}

}  // namespace scan_detail

// Classifies msg; for data messages reads ts_send and calls on_update(const update_view&)
// for each update. Returns bad when a data message lacks ts_send, has no update, or an
// update lacks a numeric seq or ts_recv.
template <class OnUpdate>
[[nodiscard]] msg_type scan_message(std::string_view msg, const scan_keys& keys, int64_t& ts_send,
                                    OnUpdate&& on_update) {
  using namespace scan_detail;
  const char* b = msg.data();
  const char* e = b + msg.size();
  static constexpr std::string_view kType = "\"type\":\"";
  const char* t = find(b, e, kType);
  if (!t) return msg_type::bad;
  t += kType.size();
  const std::string_view rest(t, std::size_t(e - t));
  if (!rest.starts_with("data\"")) {
    if (rest.starts_with("subscribed\"")) return msg_type::subscribed;
    if (rest.starts_with("unsubscribed\"")) return msg_type::unsubscribed;
    if (rest.starts_with("error\"")) return msg_type::error;
    if (rest.starts_with("pong\"")) return msg_type::pong;
    return msg_type::other;
  }
  ts_send = field(b, e, "\"ts_send\":");
  if (ts_send < 0) return msg_type::bad;
  static constexpr std::string_view kChannel = "\"channel\":\"";
  const char* c = find(t, e, kChannel);
  if (!c) return msg_type::bad;
  while (c) {
    const char* name = c + kChannel.size();
    const char* name_end = static_cast<const char*>(memchr(name, '"', std::size_t(e - name)));
    if (!name_end) return msg_type::bad;
    const char* next = find(name_end, e, kChannel);
    const char* stop = next ? next : e;
    update_view u;
    u.channel = std::string_view(name, std::size_t(name_end - name));
    u.seq = field(name_end, stop, "\"seq\":");
    u.ts_recv = field(name_end, stop, "\"ts_recv\":");
    if (u.seq < 0 || u.ts_recv < 0) return msg_type::bad;
    if (keys.look_for_oldest) {
      u.ts_oldest = field(name_end, stop, keys.oldest);
      if (u.ts_oldest >= 0) {
        const int64_t m = field(name_end, stop, keys.merged);
        if (m > 0) u.merged = m;
      }
    }
    on_update(u);
    c = next;
  }
  return msg_type::data;
}

}  // namespace mdgw::bench
