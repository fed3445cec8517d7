// The Cap'n Proto encoders read back with Cap'n Proto's reader: the fields a client sees
// are the ones the JSON protocol carries; binary requests parse like JSON ones.
#include "capnp_codec.hpp"

#include "mdgw.capnp.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <gtest/gtest.h>

#include <cstring>

namespace mdgw {
namespace {

struct decoded {
  kj::Array<capnp::word> words;
  std::unique_ptr<capnp::FlatArrayMessageReader> reader;
  wire::ServerMessage::Reader root() { return reader->getRoot<wire::ServerMessage>(); }
};

decoded read(const std::string& bytes) {
  decoded d;
  EXPECT_EQ(bytes.size() % sizeof(capnp::word), 0U);
  d.words = kj::heapArray<capnp::word>(bytes.size() / sizeof(capnp::word));
  std::memcpy(d.words.begin(), bytes.data(), bytes.size());
  d.reader = std::make_unique<capnp::FlatArrayMessageReader>(d.words);
  return d;
}

instrument_info info() {
  instrument_info in;
  in.symbol = "SIM:AAPL";
  in.price_scale = 4;
  in.qty_scale = 0;
  return in;
}

book_record record(std::uint64_t version, std::vector<price_level> bids, std::vector<price_level> asks) {
  book_top top;
  top.version = version;
  top.n_bids = static_cast<std::uint16_t>(bids.size());
  top.n_asks = static_cast<std::uint16_t>(asks.size());
  std::copy(bids.begin(), bids.end(), top.levels);
  std::copy(asks.begin(), asks.end(), top.levels + bids.size());
  book_record r;
  std::string scratch;
  r.assign(top, 10, info(), scratch);
  return r;
}

TEST(CapnpCodec, BookDeltaCarriesChangedAndRemovedLevels) {
  const auto a = record(7, {{1874200, 300, 3, 0}, {1874100, 100, 1, 0}}, {{1874300, 100, 1, 0}});
  const auto b = record(9, {{1874200, 500, 4, 0}}, {{1874300, 100, 1, 0}, {1874400, 50, 1, 0}});
  auto d = read(capnp_wire::book("book.SIM:AAPL.10", &a, b, {11, 12, 2}, info()));
  ASSERT_TRUE(d.root().isBook());
  auto bk = d.root().getBook();
  EXPECT_EQ(std::string(bk.getChannel().cStr()), "book.SIM:AAPL.10");
  EXPECT_FALSE(bk.getSnapshot());
  EXPECT_EQ(bk.getPrev(), 7U);
  EXPECT_EQ(bk.getSeq(), 9U);
  EXPECT_EQ(bk.getChecksum(), b.checksum);
  EXPECT_EQ(bk.getStamps().getTsRecvOldest(), 12U);
  EXPECT_EQ(bk.getStamps().getMerged(), 2U);
  ASSERT_EQ(bk.getBids().size(), 2U); // 187.42 changed, 187.41 removed
  EXPECT_EQ(std::string(bk.getBids()[0].getPrice().cStr()), "187.4200");
  EXPECT_EQ(std::string(bk.getBids()[0].getSize().cStr()), "500");
  EXPECT_EQ(std::string(bk.getBids()[1].getPrice().cStr()), "187.4100");
  EXPECT_EQ(std::string(bk.getBids()[1].getSize().cStr()), "0");
  ASSERT_EQ(bk.getAsks().size(), 1U); // only the new 187.44
  EXPECT_EQ(std::string(bk.getAsks()[0].getPrice().cStr()), "187.4400");
}

TEST(CapnpCodec, RepliesAndBatch) {
  auto e = read(capnp_wire::error({protocol::error_code::unknown_symbol, std::nullopt, "nope"}));
  ASSERT_TRUE(e.root().isError());
  EXPECT_FALSE(e.root().getError().getHasId());
  EXPECT_EQ(e.root().getError().getCode(), 1004);
  protocol::batch_stamps st;
  st.add(1, 2, 3, 4, 5);
  auto b = read(capnp_wire::batch(99, st, 3));
  ASSERT_TRUE(b.root().isBatch());
  EXPECT_EQ(b.root().getBatch().getUpdates(), 3U);
  EXPECT_EQ(b.root().getBatch().getStamps().getMerged(), 5U);
}

TEST(CapnpCodec, BinaryRequestsParseAndValidateLikeJson) {
  capnp::MallocMessageBuilder msg;
  auto req = msg.initRoot<wire::ClientRequest>();
  req.setId(5);
  req.setOp(wire::ClientRequest::Op::SUBSCRIBE);
  auto chans = req.initChannels(2);
  chans[0].setChannel("ticker.SIM:AAPL");
  chans[0].setMaxRate(4);
  chans[1].setChannel("trades.SIM:AAPL");
  chans[1].setResume(true);
  chans[1].setFromSeq(17);
  chans[1].setEpoch(99);
  const auto words = capnp::messageToFlatArray(msg);
  const auto bytes = words.asBytes();
  auto r = capnp_wire::parse_request(std::string_view(reinterpret_cast<const char*>(bytes.begin()), bytes.size()));
  ASSERT_TRUE(r.req);
  EXPECT_EQ(r.req->id, 5U);
  ASSERT_EQ(r.req->channels.size(), 2U);
  EXPECT_DOUBLE_EQ(*r.req->channels[0].max_rate, 4.0);
  EXPECT_FALSE(r.req->channels[0].interval_ms);
  EXPECT_EQ(*r.req->channels[1].from_seq, 17U);

  chans[0].setIntervalMs(100); // with max_rate: rejected as in JSON
  const auto words2 = capnp::messageToFlatArray(msg);
  const auto bytes2 = words2.asBytes();
  auto bad = capnp_wire::parse_request(std::string_view(reinterpret_cast<const char*>(bytes2.begin()), bytes2.size()));
  ASSERT_TRUE(bad.err);
  EXPECT_EQ(bad.err->code, protocol::error_code::bad_option);
  EXPECT_EQ(bad.err->id, 5U);

  for (std::string_view junk : {std::string_view("\x01\x02\x03", 3), std::string_view("12345678abcdefgh", 16)}) {
    auto j = capnp_wire::parse_request(junk);
    ASSERT_TRUE(j.err);
    EXPECT_EQ(j.err->code, protocol::error_code::bad_json);
  }
}

} // namespace
} // namespace mdgw
