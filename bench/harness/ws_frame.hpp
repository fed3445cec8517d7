// ws_frame: the client side of RFC 6455 framing for mdgw-bench. Server frames are parsed
// in place from a connection's read buffer; client frames are built masked.
//
// Rationale
// - The reader never copies a complete unfragmented frame: it hands out a view into the
//   read buffer. Only a fragmented message (FIN=0 then continuations) is gathered into a
//   per-connection buffer, which keeps its capacity, so after warm-up nothing allocates
//   per message.
// - A frame split across reads is left in the buffer (need_more) and parsed again once
//   the rest arrived; the caller compacts and, for a frame larger than its buffer, grows
//   it to frame_size().
// - Violations a server must not commit (masked frames, reserved bits, unknown opcodes,
//   fragmented or oversize control frames, a continuation without a start, a message
//   over the size limit) end the connection with a counted protocol error, never a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mdgw::bench {

enum class ws_opcode : uint8_t { continuation = 0, text = 1, binary = 2, close = 8, ping = 9, pong = 10 };

struct ws_frame_header {
  bool fin = false;
  ws_opcode opcode = ws_opcode::continuation;
  std::size_t header_len = 0;
  uint64_t payload_len = 0;
  [[nodiscard]] uint64_t frame_size() const noexcept { return header_len + payload_len; }
};

enum class frame_status { ok, need_more, bad };

// Parses the header of an unmasked (server) frame at p[0..n). need_more: fewer bytes
// than the header needs (header_len/payload_len unset); the payload may still be short
// when ok is returned: check frame_size() against n.
[[nodiscard]] frame_status parse_server_frame_header(const uint8_t* p, std::size_t n, ws_frame_header& h) noexcept;

// Appends a masked client frame (FIN set) carrying payload.
void append_client_frame(std::string& out, ws_opcode op, std::string_view payload, uint32_t mask_key);
// Appends an unmasked server frame (FIN set): for the test and benchmark servers that feed
// the harness.
void append_server_frame(std::string& out, ws_opcode op, std::string_view payload);

// What the reader hands to its handler. The views are valid during the call only.
//   on_message(std::string_view payload, bool text) -> bool (false: stop, error set by handler)
//   on_ping(std::string_view), on_pong(std::string_view), on_close(int code, std::string_view reason)
// consume() parses complete frames from data[0..n) and returns how many bytes it used;
// the rest (a partial frame) stays for the next call. failed() after a violation;
// after a close frame every byte counts as used and nothing more is delivered.
class ws_reader {
 public:
  explicit ws_reader(std::size_t max_message_bytes = std::size_t{64} << 20) : max_message_(max_message_bytes) {}

  template <class Handler>
  std::size_t consume(const uint8_t* data, std::size_t n, Handler& handler);

  [[nodiscard]] bool failed() const noexcept { return error_ != nullptr; }
  // After a close frame: everything later is discarded (RFC 6455 5.5.1).
  [[nodiscard]] bool closed() const noexcept { return closed_; }
  [[nodiscard]] const char* error() const noexcept { return error_; }
  // Bytes a buffer must hold to make progress on the frame at its front (0: unknown).
  [[nodiscard]] uint64_t pending_frame_size() const noexcept { return pending_frame_; }
  void reset() noexcept {
    fragment_.clear();
    in_fragment_ = false;
    closed_ = false;
    error_ = nullptr;
    pending_frame_ = 0;
  }

 private:
  std::size_t max_message_;
  std::string fragment_;
  bool in_fragment_ = false;
  bool fragment_text_ = false;
  bool closed_ = false;
  const char* error_ = nullptr;
  uint64_t pending_frame_ = 0;
};

template <class Handler>
std::size_t ws_reader::consume(const uint8_t* data, std::size_t n, Handler& handler) {
  std::size_t pos = 0;
  pending_frame_ = 0;
  if (closed_) return n;
  while (pos < n && !error_) {
    ws_frame_header h;
    const frame_status st = parse_server_frame_header(data + pos, n - pos, h);
    if (st == frame_status::bad) {
      error_ = "bad frame header";
      break;
    }
    if (st == frame_status::need_more) break;
    if (h.payload_len > max_message_) {
      error_ = "frame over the message size limit";
      break;
    }
    if (h.frame_size() > n - pos) {
      pending_frame_ = h.frame_size();
      break;
    }
    const std::string_view payload(reinterpret_cast<const char*>(data + pos + h.header_len),
                                   std::size_t(h.payload_len));
    pos += std::size_t(h.frame_size());
    switch (h.opcode) {
      case ws_opcode::text:
      case ws_opcode::binary:
        if (in_fragment_) {
          error_ = "new message inside a fragmented one";
          break;
        }
        if (h.fin) {
          if (!handler.on_message(payload, h.opcode == ws_opcode::text)) error_ = "handler stopped";
        } else {
          in_fragment_ = true;
          fragment_text_ = h.opcode == ws_opcode::text;
          fragment_.assign(payload);
        }
        break;
      case ws_opcode::continuation:
        if (!in_fragment_) {
          error_ = "continuation without a message";
          break;
        }
        if (fragment_.size() + payload.size() > max_message_) {
          error_ = "fragmented message over the size limit";
          break;
        }
        fragment_.append(payload);
        if (h.fin) {
          in_fragment_ = false;
          if (!handler.on_message(std::string_view(fragment_), fragment_text_)) error_ = "handler stopped";
        }
        break;
      case ws_opcode::ping:
        handler.on_ping(payload);
        break;
      case ws_opcode::pong:
        handler.on_pong(payload);
        break;
      case ws_opcode::close: {
        int code = 1005;  // no status received
        std::string_view reason;
        if (payload.size() >= 2) {
          code = (uint8_t(payload[0]) << 8) | uint8_t(payload[1]);
          reason = payload.substr(2);
        } else if (payload.size() == 1) {
          error_ = "close frame with a 1-byte payload";
          break;
        }
        closed_ = true;
        handler.on_close(code, reason);
        return n;
      }
    }
  }
  return pos;
}

}  // namespace mdgw::bench
