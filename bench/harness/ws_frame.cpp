#include "ws_frame.hpp"

namespace mdgw::bench {

frame_status parse_server_frame_header(const uint8_t* p, std::size_t n, ws_frame_header& h) noexcept {
  if (n < 2) return frame_status::need_more;
  const uint8_t b0 = p[0];
  const uint8_t b1 = p[1];
  if (b0 & 0x70) return frame_status::bad;  // RSV1-3: no extension was negotiated
  if (b1 & 0x80) return frame_status::bad;  // a server must not mask
  const uint8_t op = b0 & 0x0f;
  const bool control = op >= 8;
  if (!(op <= 2 || (op >= 8 && op <= 10))) return frame_status::bad;
  h.fin = (b0 & 0x80) != 0;
  h.opcode = ws_opcode(op);
  uint64_t len = b1 & 0x7f;
  std::size_t hl = 2;
  if (len == 126) {
    if (n < 4) return frame_status::need_more;
    len = (uint64_t(p[2]) << 8) | p[3];
    hl = 4;
  } else if (len == 127) {
    if (n < 10) return frame_status::need_more;
    len = 0;
    for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
    if (len >> 63) return frame_status::bad;
    hl = 10;
  }
  if (control && (len > 125 || !h.fin)) return frame_status::bad;
  h.header_len = hl;
  h.payload_len = len;
  return frame_status::ok;
}

namespace {

// FIN, the opcode and the payload length (the mask bit set when masked).
void append_frame_head(std::string& out, ws_opcode op, uint64_t n, bool masked) {
  const uint8_t m = masked ? 0x80 : 0;
  out.push_back(char(0x80 | uint8_t(op)));
  if (n < 126) {
    out.push_back(char(m | n));
  } else if (n < 65536) {
    out.push_back(char(m | 126));
    out.push_back(char(n >> 8));
    out.push_back(char(n & 0xff));
  } else {
    out.push_back(char(m | 127));
    for (int i = 7; i >= 0; --i) out.push_back(char((n >> (8 * i)) & 0xff));
  }
}

}  // namespace

void append_client_frame(std::string& out, ws_opcode op, std::string_view payload, uint32_t mask_key) {
  const uint64_t n = payload.size();
  append_frame_head(out, op, n, true);
  const uint8_t mask[4] = {uint8_t(mask_key >> 24), uint8_t(mask_key >> 16), uint8_t(mask_key >> 8),
                           uint8_t(mask_key)};
  out.append(reinterpret_cast<const char*>(mask), 4);
  const std::size_t base = out.size();
  out.append(payload);
  for (std::size_t i = 0; i < n; ++i) out[base + i] = char(uint8_t(out[base + i]) ^ mask[i & 3]);
}

void append_server_frame(std::string& out, ws_opcode op, std::string_view payload) {
  append_frame_head(out, op, payload.size(), false);
  out.append(payload);
}

}  // namespace mdgw::bench
