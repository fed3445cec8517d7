// The client side of RFC 6455 framing: masked client frames decode back to their
// payload; server frames are delivered whole however the byte stream is split across
// reads; fragmented messages are reassembled with control frames between fragments;
// protocol violations fail the reader instead of being delivered.
#include "ws_frame.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace mdgw::bench {
namespace {

std::vector<uint8_t> server_frame(uint8_t first_byte, const std::string& payload) {
  std::vector<uint8_t> f{first_byte};
  const uint64_t n = payload.size();
  if (n < 126) {
    f.push_back(uint8_t(n));
  } else if (n < 65536) {
    f.push_back(126);
    f.push_back(uint8_t(n >> 8));
    f.push_back(uint8_t(n));
  } else {
    f.push_back(127);
    for (int i = 7; i >= 0; --i) f.push_back(uint8_t(n >> (8 * i)));
  }
  f.insert(f.end(), payload.begin(), payload.end());
  return f;
}

void append(std::vector<uint8_t>& to, const std::vector<uint8_t>& f) { to.insert(to.end(), f.begin(), f.end()); }

struct recorder {
  std::vector<std::string> messages;
  std::vector<std::string> pings;
  int pongs = 0;
  int close_code = -1;
  std::string close_reason;
  bool on_message(std::string_view p, bool text) {
    messages.push_back(std::string(text ? "T:" : "B:") + std::string(p));
    return true;
  }
  void on_ping(std::string_view p) { pings.emplace_back(p); }
  void on_pong(std::string_view) { ++pongs; }
  void on_close(int code, std::string_view reason) {
    close_code = code;
    close_reason = reason;
  }
};

// Feeds stream to a reader in chunks of `chunk` bytes, keeping unconsumed bytes in front
// as load_worker does with its read buffer.
recorder feed(const std::vector<uint8_t>& stream, std::size_t chunk, ws_reader& reader) {
  recorder r;
  std::vector<uint8_t> buf;
  for (std::size_t pos = 0; pos < stream.size() && !reader.failed();) {
    const std::size_t n = std::min(chunk, stream.size() - pos);
    buf.insert(buf.end(), stream.begin() + long(pos), stream.begin() + long(pos + n));
    pos += n;
    const std::size_t used = reader.consume(buf.data(), buf.size(), r);
    buf.erase(buf.begin(), buf.begin() + long(used));
  }
  return r;
}

TEST(WsFrame, ClientFramesAreMaskedAndDecodeToThePayload) {
  for (const std::size_t n : {std::size_t{0}, std::size_t{5}, std::size_t{125}, std::size_t{126}, std::size_t{65535},
                              std::size_t{65536}, std::size_t{70000}}) {
    std::string payload(n, '\0');
    for (std::size_t i = 0; i < n; ++i) payload[i] = char('a' + i % 26);
    std::string out;
    append_client_frame(out, ws_opcode::text, payload, 0xA1B2C3D4u);
    const auto* p = reinterpret_cast<const uint8_t*>(out.data());
    ASSERT_EQ(p[0], 0x81) << n;
    ASSERT_TRUE(p[1] & 0x80) << "mask bit, n=" << n;
    uint64_t len = p[1] & 0x7f;
    std::size_t at = 2;
    if (len == 126) {
      len = (uint64_t(p[2]) << 8) | p[3];
      at = 4;
    } else if (len == 127) {
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
      at = 10;
    }
    ASSERT_EQ(len, n);
    const uint8_t* mask = p + at;
    EXPECT_EQ(mask[0], 0xA1);
    EXPECT_EQ(mask[3], 0xD4);
    ASSERT_EQ(out.size(), at + 4 + n);
    std::string decoded(n, '\0');
    for (std::size_t i = 0; i < n; ++i) decoded[i] = char(p[at + 4 + i] ^ mask[i & 3]);
    EXPECT_EQ(decoded, payload) << n;
  }
}

TEST(WsFrame, MessagesSurviveAnySplitAcrossReads) {
  std::vector<uint8_t> stream;
  std::vector<std::string> want;
  for (const std::size_t n : {std::size_t{1}, std::size_t{125}, std::size_t{126}, std::size_t{300}, std::size_t{70000}}) {
    std::string m(n, 'x');
    m[0] = '{';
    m[n - 1] = '}';
    append(stream, server_frame(0x81, m));
    want.push_back("T:" + m);
  }
  append(stream, server_frame(0x82, "bin"));
  want.push_back("B:bin");
  for (const std::size_t chunk : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{7}, std::size_t{127},
                                  std::size_t{4096}, stream.size()}) {
    ws_reader reader;
    const recorder r = feed(stream, chunk, reader);
    EXPECT_FALSE(reader.failed()) << reader.error();
    EXPECT_EQ(r.messages, want) << "chunk " << chunk;
  }
}

TEST(WsFrame, FragmentsAreReassembledAroundControlFrames) {
  std::vector<uint8_t> stream;
  append(stream, server_frame(0x01, "{\"a\":"));  // text, FIN=0
  append(stream, server_frame(0x89, "pp"));       // ping between fragments
  append(stream, server_frame(0x00, "12"));       // continuation, FIN=0
  append(stream, server_frame(0x8A, ""));         // pong
  append(stream, server_frame(0x80, "3}"));       // continuation, FIN=1
  append(stream, server_frame(0x81, "next"));
  append(stream, server_frame(0x88, std::string("\x03\xe9going", 7)));  // close 1001
  append(stream, server_frame(0x81, "after close"));
  for (const std::size_t chunk : {std::size_t{1}, std::size_t{5}, stream.size()}) {
    ws_reader reader;
    const recorder r = feed(stream, chunk, reader);
    EXPECT_FALSE(reader.failed()) << reader.error();
    EXPECT_EQ(r.messages, (std::vector<std::string>{"T:{\"a\":123}", "T:next"})) << chunk;
    EXPECT_EQ(r.pings, std::vector<std::string>{"pp"});
    EXPECT_EQ(r.pongs, 1);
    EXPECT_EQ(r.close_code, 1001);
    EXPECT_EQ(r.close_reason, "going");
  }
}

TEST(WsFrame, ViolationsFailTheReader) {
  const std::vector<std::vector<uint8_t>> bad = {
      {0x81, 0x82, 1, 2, 3, 4, 'a', 'b'},  // masked server frame
      {0xC1, 0x01, 'a'},                   // RSV1 without an extension
      {0x83, 0x00},                        // reserved opcode 3
      {0x80, 0x01, 'a'},                   // continuation without a message
      {0x09, 0x00},                        // fragmented ping
      {0x88, 0x01, 0x03},                  // close with a 1-byte payload
  };
  for (std::size_t k = 0; k < bad.size(); ++k) {
    ws_reader reader;
    const recorder r = feed(bad[k], bad[k].size(), reader);
    EXPECT_TRUE(reader.failed()) << k;
    EXPECT_TRUE(r.messages.empty()) << k;
  }
  std::vector<uint8_t> big_ping = server_frame(0x89, std::string(126, 'p'));
  ws_reader reader;
  (void)feed(big_ping, big_ping.size(), reader);
  EXPECT_TRUE(reader.failed()) << "control frame over 125 bytes";

  std::vector<uint8_t> nested;
  append(nested, server_frame(0x01, "a"));
  append(nested, server_frame(0x81, "b"));
  ws_reader reader2;
  (void)feed(nested, nested.size(), reader2);
  EXPECT_TRUE(reader2.failed()) << "a new message inside a fragmented one";
}

TEST(WsFrame, MessageSizeLimitHolds) {
  ws_reader reader(100);
  (void)feed(server_frame(0x81, std::string(101, 'x')), 4096, reader);
  EXPECT_TRUE(reader.failed());
  std::vector<uint8_t> frags;
  append(frags, server_frame(0x01, std::string(60, 'x')));
  append(frags, server_frame(0x80, std::string(60, 'x')));
  ws_reader reader2(100);
  const recorder r = feed(frags, 4096, reader2);
  EXPECT_TRUE(reader2.failed());
  EXPECT_TRUE(r.messages.empty());
}

TEST(WsFrame, PendingFrameSizeTellsHowMuchTheBufferMustHold) {
  const std::vector<uint8_t> f = server_frame(0x81, std::string(1000, 'x'));
  ws_reader reader;
  recorder r;
  EXPECT_EQ(reader.consume(f.data(), 100, r), 0u);
  EXPECT_EQ(reader.pending_frame_size(), f.size());
  EXPECT_EQ(reader.consume(f.data(), f.size(), r), f.size());
  EXPECT_EQ(r.messages.size(), 1u);
}

}  // namespace
}  // namespace mdgw::bench
