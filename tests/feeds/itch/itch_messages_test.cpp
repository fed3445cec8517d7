// Wire structs of feeds/itch/itch_messages.hpp against messages built byte by byte at the
// specification's offsets (itch_test_util.hpp's raw builder, which does not use the
// structs). Each field gets a value whose bytes all differ, so a wrong offset, width or
// byte order shows. Then the reverse: a message encoded through the structs' set()
// equals the hand-built bytes.
#include "itch_decoder.hpp"
#include "itch_messages.hpp"
#include "itch_test_util.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <optional>
#include <type_traits>

namespace mdgw::itch {
namespace {

using itch_test::raw;

constexpr std::uint16_t kLocate = 0xBEEF;
constexpr std::uint16_t kTracking = 0x1234;
constexpr std::uint64_t kTs = 0x123456789ABCULL; // 48 bits, every byte distinct
constexpr std::uint64_t kRef = 0x0102030405060708ULL;
constexpr std::uint64_t kRef2 = 0x1112131415161718ULL;
constexpr std::uint32_t kShares = 0xA1B2C3D4U;
constexpr std::uint32_t kPrice = 0x0C0D0E0FU;
constexpr std::uint64_t kMatch = 0x2122232425262728ULL;

template <class M>
M decode_as(const raw& r) {
  itch_decoder d([](std::string_view) {});
  std::optional<M> got;
  int calls = 0;
  const decode_status st = d.decode(r.data(), r.size(), [&](const auto& m) {
    ++calls;
    if constexpr (std::is_same_v<std::decay_t<decltype(m)>, M>) got = m;
  });
  EXPECT_EQ(st, decode_status::ok);
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(got.has_value()) << "visited with another struct";
  EXPECT_EQ(d.decoded(r.b[0]), 1U);
  EXPECT_EQ(d.errors(), 0U);
  EXPECT_EQ(r.size(), sizeof(M));
  if (!got) return M{};
  EXPECT_EQ(got->hdr.type, static_cast<char>(r.b[0]));
  EXPECT_EQ(got->hdr.stock_locate.get(), kLocate);
  EXPECT_EQ(got->hdr.tracking_number.get(), kTracking);
  EXPECT_EQ(got->hdr.timestamp.get(), kTs);
  return *got;
}

// Encoding through the structs gives the same bytes as the hand-built message.
template <class M, class Fill>
void expect_encodes_to(const raw& r, Fill&& fill) {
  M m = make<M>(static_cast<msg_type>(r.b[0]));
  m.hdr.stock_locate.set(kLocate);
  m.hdr.tracking_number.set(kTracking);
  m.hdr.timestamp.set(kTs);
  fill(m);
  ASSERT_EQ(sizeof(M), r.size());
  EXPECT_EQ(std::memcmp(&m, r.data(), sizeof(M)), 0);
}

raw msg(char type, std::size_t len) { return raw(type, len, kLocate, kTracking, kTs); }

TEST(ItchMessages, SizesMatchTheSpecification) {
  // The lengths the spec gives, by tag; kMessageSize must agree and know nothing else.
  const std::pair<char, std::size_t> spec[] = {
      {'S', 12}, {'R', 39}, {'H', 25}, {'Y', 20}, {'L', 26}, {'V', 35}, {'W', 12}, {'K', 28},
      {'J', 35}, {'h', 21}, {'A', 36}, {'F', 40}, {'E', 31}, {'C', 36}, {'X', 23}, {'D', 19},
      {'U', 35}, {'P', 44}, {'Q', 40}, {'B', 19}, {'I', 50}, {'N', 20}, {'O', 48}};
  std::size_t known = 0;
  for (int t = 0; t < 256; ++t) {
    if (message_size(static_cast<std::uint8_t>(t)) != 0) ++known;
  }
  EXPECT_EQ(known, 23U);
  for (const auto& [tag, len] : spec) {
    EXPECT_EQ(message_size(static_cast<std::uint8_t>(tag)), len) << tag;
  }
  EXPECT_EQ(kAllMessageTypes.size(), 23U);
  for (msg_type t : kAllMessageTypes) EXPECT_NE(message_size(t), 0U);
}

TEST(ItchMessages, BigEndianIntegers) {
  be_uint<2> a{{0x12, 0x34}};
  EXPECT_EQ(a.get(), 0x1234);
  be_uint<4> b{{0x12, 0x34, 0x56, 0x78}};
  EXPECT_EQ(b.get(), 0x12345678U);
  be_uint<6> c{{0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC}};
  EXPECT_EQ(c.get(), 0x123456789ABCULL);
  be_uint<8> d{{0xFF, 0xEE, 0xDD, 0xCC, 0xBB, 0xAA, 0x99, 0x88}};
  EXPECT_EQ(d.get(), 0xFFEEDDCCBBAA9988ULL);
  be_uint<6> e{};
  e.set(0xFFFFFFFFFFFFULL);
  EXPECT_EQ(e.get(), 0xFFFFFFFFFFFFULL);
  e.set(86'399'999'999'999ULL); // last ns of a day fits in 48 bits
  EXPECT_EQ(e.get(), 86'399'999'999'999ULL);
  alpha<8> s{};
  s.set("AAPL");
  EXPECT_EQ(s.view(), "AAPL    ");
  EXPECT_EQ(s.trimmed(), "AAPL");
}

TEST(ItchMessages, SystemEvent) {
  raw r = msg('S', 12);
  r.c(11, 'O');
  const auto m = decode_as<system_event>(r);
  EXPECT_EQ(m.event_code, static_cast<char>(system_event_code::start_of_messages));
  expect_encodes_to<system_event>(r, [](auto& x) { x.event_code = 'O'; });
}

TEST(ItchMessages, StockDirectory) {
  raw r = msg('R', 39);
  r.a(11, 8, "AAPL").c(19, 'Q').c(20, 'N').u(21, 4, 0x00010203).c(25, 'Y').c(26, 'C').a(27, 2, "Z1")
      .c(29, 'P').c(30, 'N').c(31, 'Y').c(32, '1').c(33, 'N').u(34, 4, 0x04050607).c(38, 'Y');
  const auto m = decode_as<stock_directory>(r);
  EXPECT_EQ(m.stock.trimmed(), "AAPL");
  EXPECT_EQ(m.market_category, 'Q');
  EXPECT_EQ(m.financial_status_indicator, 'N');
  EXPECT_EQ(m.round_lot_size.get(), 0x00010203U);
  EXPECT_EQ(m.round_lots_only, 'Y');
  EXPECT_EQ(m.issue_classification, 'C');
  EXPECT_EQ(m.issue_sub_type.view(), "Z1");
  EXPECT_EQ(m.authenticity, 'P');
  EXPECT_EQ(m.short_sale_threshold_indicator, 'N');
  EXPECT_EQ(m.ipo_flag, 'Y');
  EXPECT_EQ(m.luld_reference_price_tier, '1');
  EXPECT_EQ(m.etp_flag, 'N');
  EXPECT_EQ(m.etp_leverage_factor.get(), 0x04050607U);
  EXPECT_EQ(m.inverse_indicator, 'Y');
  expect_encodes_to<stock_directory>(r, [](auto& x) {
    x.stock.set("AAPL");
    x.market_category = 'Q';
    x.financial_status_indicator = 'N';
    x.round_lot_size.set(0x00010203);
    x.round_lots_only = 'Y';
    x.issue_classification = 'C';
    x.issue_sub_type.set("Z1");
    x.authenticity = 'P';
    x.short_sale_threshold_indicator = 'N';
    x.ipo_flag = 'Y';
    x.luld_reference_price_tier = '1';
    x.etp_flag = 'N';
    x.etp_leverage_factor.set(0x04050607);
    x.inverse_indicator = 'Y';
  });
}

TEST(ItchMessages, StockTradingAction) {
  raw r = msg('H', 25);
  r.a(11, 8, "MSFT").c(19, 'H').c(20, ' ').a(21, 4, "T1");
  const auto m = decode_as<stock_trading_action>(r);
  EXPECT_EQ(m.stock.trimmed(), "MSFT");
  EXPECT_EQ(m.trading_state, static_cast<char>(trading_state::halted));
  EXPECT_EQ(m.reserved, ' ');
  EXPECT_EQ(m.reason.trimmed(), "T1");
  expect_encodes_to<stock_trading_action>(r, [](auto& x) {
    x.stock.set("MSFT");
    x.trading_state = 'H';
    x.reserved = ' ';
    x.reason.set("T1");
  });
}

TEST(ItchMessages, RegShoRestriction) {
  raw r = msg('Y', 20);
  r.a(11, 8, "IBM").c(19, '1');
  const auto m = decode_as<reg_sho_restriction>(r);
  EXPECT_EQ(m.stock.trimmed(), "IBM");
  EXPECT_EQ(m.reg_sho_action, '1');
  expect_encodes_to<reg_sho_restriction>(r, [](auto& x) {
    x.stock.set("IBM");
    x.reg_sho_action = '1';
  });
}

TEST(ItchMessages, MarketParticipantPosition) {
  raw r = msg('L', 26);
  r.a(11, 4, "GSCO").a(15, 8, "IBM").c(23, 'Y').c(24, 'N').c(25, 'A');
  const auto m = decode_as<market_participant_position>(r);
  EXPECT_EQ(m.mpid.view(), "GSCO");
  EXPECT_EQ(m.stock.trimmed(), "IBM");
  EXPECT_EQ(m.primary_market_maker, 'Y');
  EXPECT_EQ(m.market_maker_mode, 'N');
  EXPECT_EQ(m.market_participant_state, 'A');
  expect_encodes_to<market_participant_position>(r, [](auto& x) {
    x.mpid.set("GSCO");
    x.stock.set("IBM");
    x.primary_market_maker = 'Y';
    x.market_maker_mode = 'N';
    x.market_participant_state = 'A';
  });
}

TEST(ItchMessages, MwcbDeclineLevel) {
  // 8 implied decimals: 3000.12345678 is 300012345678.
  raw r = msg('V', 35);
  r.u(11, 8, 300012345678ULL).u(19, 8, 0x0102030405060708ULL).u(27, 8, 0x1112131415161718ULL);
  const auto m = decode_as<mwcb_decline_level>(r);
  EXPECT_EQ(m.level1.get(), 300012345678ULL);
  EXPECT_EQ(m.level2.get(), 0x0102030405060708ULL);
  EXPECT_EQ(m.level3.get(), 0x1112131415161718ULL);
  expect_encodes_to<mwcb_decline_level>(r, [](auto& x) {
    x.level1.set(300012345678ULL);
    x.level2.set(0x0102030405060708ULL);
    x.level3.set(0x1112131415161718ULL);
  });
}

TEST(ItchMessages, MwcbStatus) {
  raw r = msg('W', 12);
  r.c(11, '2');
  EXPECT_EQ(decode_as<mwcb_status>(r).breached_level, '2');
  expect_encodes_to<mwcb_status>(r, [](auto& x) { x.breached_level = '2'; });
}

TEST(ItchMessages, IpoQuotingPeriodUpdate) {
  raw r = msg('K', 28);
  r.a(11, 8, "NEWCO").u(19, 4, 34200).c(23, 'A').u(24, 4, kPrice);
  const auto m = decode_as<ipo_quoting_period_update>(r);
  EXPECT_EQ(m.stock.trimmed(), "NEWCO");
  EXPECT_EQ(m.ipo_quotation_release_time.get(), 34200U);
  EXPECT_EQ(m.ipo_quotation_release_qualifier, 'A');
  EXPECT_EQ(m.ipo_price.get(), kPrice);
  expect_encodes_to<ipo_quoting_period_update>(r, [](auto& x) {
    x.stock.set("NEWCO");
    x.ipo_quotation_release_time.set(34200);
    x.ipo_quotation_release_qualifier = 'A';
    x.ipo_price.set(kPrice);
  });
}

TEST(ItchMessages, LuldAuctionCollar) {
  raw r = msg('J', 35);
  r.a(11, 8, "TSLA").u(19, 4, 0x01020304).u(23, 4, 0x05060708).u(27, 4, 0x090A0B0C).u(31, 4, 0x0D0E0F10);
  const auto m = decode_as<luld_auction_collar>(r);
  EXPECT_EQ(m.stock.trimmed(), "TSLA");
  EXPECT_EQ(m.auction_collar_reference_price.get(), 0x01020304U);
  EXPECT_EQ(m.upper_auction_collar_price.get(), 0x05060708U);
  EXPECT_EQ(m.lower_auction_collar_price.get(), 0x090A0B0CU);
  EXPECT_EQ(m.auction_collar_extension.get(), 0x0D0E0F10U);
  expect_encodes_to<luld_auction_collar>(r, [](auto& x) {
    x.stock.set("TSLA");
    x.auction_collar_reference_price.set(0x01020304);
    x.upper_auction_collar_price.set(0x05060708);
    x.lower_auction_collar_price.set(0x090A0B0C);
    x.auction_collar_extension.set(0x0D0E0F10);
  });
}

TEST(ItchMessages, OperationalHalt) {
  raw r = msg('h', 21);
  r.a(11, 8, "QQQ").c(19, 'Q').c(20, 'H');
  const auto m = decode_as<operational_halt>(r);
  EXPECT_EQ(m.stock.trimmed(), "QQQ");
  EXPECT_EQ(m.market_code, 'Q');
  EXPECT_EQ(m.operational_halt_action, 'H');
  expect_encodes_to<operational_halt>(r, [](auto& x) {
    x.stock.set("QQQ");
    x.market_code = 'Q';
    x.operational_halt_action = 'H';
  });
}

TEST(ItchMessages, AddOrder) {
  raw r = msg('A', 36);
  r.u(11, 8, kRef).c(19, 'S').u(20, 4, kShares).a(24, 8, "AAPL").u(32, 4, kPrice);
  const auto m = decode_as<add_order>(r);
  EXPECT_EQ(m.order_reference_number.get(), kRef);
  EXPECT_EQ(m.buy_sell_indicator, kSell);
  EXPECT_EQ(m.shares.get(), kShares);
  EXPECT_EQ(m.stock.trimmed(), "AAPL");
  EXPECT_EQ(m.price.get(), kPrice);
  expect_encodes_to<add_order>(r, [](auto& x) {
    x.order_reference_number.set(kRef);
    x.buy_sell_indicator = 'S';
    x.shares.set(kShares);
    x.stock.set("AAPL");
    x.price.set(kPrice);
  });
}

TEST(ItchMessages, AddOrderMpid) {
  raw r = msg('F', 40);
  r.u(11, 8, kRef).c(19, 'B').u(20, 4, kShares).a(24, 8, "AAPL").u(32, 4, kPrice).a(36, 4, "NITE");
  const auto m = decode_as<add_order_mpid>(r);
  EXPECT_EQ(m.order_reference_number.get(), kRef);
  EXPECT_EQ(m.buy_sell_indicator, kBuy);
  EXPECT_EQ(m.shares.get(), kShares);
  EXPECT_EQ(m.stock.trimmed(), "AAPL");
  EXPECT_EQ(m.price.get(), kPrice);
  EXPECT_EQ(m.attribution.view(), "NITE");
  expect_encodes_to<add_order_mpid>(r, [](auto& x) {
    x.order_reference_number.set(kRef);
    x.buy_sell_indicator = 'B';
    x.shares.set(kShares);
    x.stock.set("AAPL");
    x.price.set(kPrice);
    x.attribution.set("NITE");
  });
}

TEST(ItchMessages, OrderExecuted) {
  raw r = msg('E', 31);
  r.u(11, 8, kRef).u(19, 4, kShares).u(23, 8, kMatch);
  const auto m = decode_as<order_executed>(r);
  EXPECT_EQ(m.order_reference_number.get(), kRef);
  EXPECT_EQ(m.executed_shares.get(), kShares);
  EXPECT_EQ(m.match_number.get(), kMatch);
  expect_encodes_to<order_executed>(r, [](auto& x) {
    x.order_reference_number.set(kRef);
    x.executed_shares.set(kShares);
    x.match_number.set(kMatch);
  });
}

TEST(ItchMessages, OrderExecutedWithPrice) {
  raw r = msg('C', 36);
  r.u(11, 8, kRef).u(19, 4, kShares).u(23, 8, kMatch).c(31, 'N').u(32, 4, kPrice);
  const auto m = decode_as<order_executed_with_price>(r);
  EXPECT_EQ(m.order_reference_number.get(), kRef);
  EXPECT_EQ(m.executed_shares.get(), kShares);
  EXPECT_EQ(m.match_number.get(), kMatch);
  EXPECT_EQ(m.printable, 'N');
  EXPECT_EQ(m.execution_price.get(), kPrice);
  expect_encodes_to<order_executed_with_price>(r, [](auto& x) {
    x.order_reference_number.set(kRef);
    x.executed_shares.set(kShares);
    x.match_number.set(kMatch);
    x.printable = 'N';
    x.execution_price.set(kPrice);
  });
}

TEST(ItchMessages, OrderCancel) {
  raw r = msg('X', 23);
  r.u(11, 8, kRef).u(19, 4, kShares);
  const auto m = decode_as<order_cancel>(r);
  EXPECT_EQ(m.order_reference_number.get(), kRef);
  EXPECT_EQ(m.cancelled_shares.get(), kShares);
  expect_encodes_to<order_cancel>(r, [](auto& x) {
    x.order_reference_number.set(kRef);
    x.cancelled_shares.set(kShares);
  });
}

TEST(ItchMessages, OrderDelete) {
  raw r = msg('D', 19);
  r.u(11, 8, kRef);
  EXPECT_EQ(decode_as<order_delete>(r).order_reference_number.get(), kRef);
  expect_encodes_to<order_delete>(r, [](auto& x) { x.order_reference_number.set(kRef); });
}

TEST(ItchMessages, OrderReplace) {
  raw r = msg('U', 35);
  r.u(11, 8, kRef).u(19, 8, kRef2).u(27, 4, kShares).u(31, 4, kPrice);
  const auto m = decode_as<order_replace>(r);
  EXPECT_EQ(m.original_order_reference_number.get(), kRef);
  EXPECT_EQ(m.new_order_reference_number.get(), kRef2);
  EXPECT_EQ(m.shares.get(), kShares);
  EXPECT_EQ(m.price.get(), kPrice);
  expect_encodes_to<order_replace>(r, [](auto& x) {
    x.original_order_reference_number.set(kRef);
    x.new_order_reference_number.set(kRef2);
    x.shares.set(kShares);
    x.price.set(kPrice);
  });
}

TEST(ItchMessages, Trade) {
  raw r = msg('P', 44);
  r.u(11, 8, kRef).c(19, 'B').u(20, 4, kShares).a(24, 8, "AAPL").u(32, 4, kPrice).u(36, 8, kMatch);
  const auto m = decode_as<trade>(r);
  EXPECT_EQ(m.order_reference_number.get(), kRef);
  EXPECT_EQ(m.buy_sell_indicator, 'B');
  EXPECT_EQ(m.shares.get(), kShares);
  EXPECT_EQ(m.stock.trimmed(), "AAPL");
  EXPECT_EQ(m.price.get(), kPrice);
  EXPECT_EQ(m.match_number.get(), kMatch);
  expect_encodes_to<trade>(r, [](auto& x) {
    x.order_reference_number.set(kRef);
    x.buy_sell_indicator = 'B';
    x.shares.set(kShares);
    x.stock.set("AAPL");
    x.price.set(kPrice);
    x.match_number.set(kMatch);
  });
}

TEST(ItchMessages, CrossTrade) {
  raw r = msg('Q', 40);
  r.u(11, 8, 0x0102030405060708ULL).a(19, 8, "SPY").u(27, 4, kPrice).u(31, 8, kMatch).c(39, 'C');
  const auto m = decode_as<cross_trade>(r);
  EXPECT_EQ(m.shares.get(), 0x0102030405060708ULL);
  EXPECT_EQ(m.stock.trimmed(), "SPY");
  EXPECT_EQ(m.cross_price.get(), kPrice);
  EXPECT_EQ(m.match_number.get(), kMatch);
  EXPECT_EQ(m.cross_type, 'C');
  expect_encodes_to<cross_trade>(r, [](auto& x) {
    x.shares.set(0x0102030405060708ULL);
    x.stock.set("SPY");
    x.cross_price.set(kPrice);
    x.match_number.set(kMatch);
    x.cross_type = 'C';
  });
}

TEST(ItchMessages, BrokenTrade) {
  raw r = msg('B', 19);
  r.u(11, 8, kMatch);
  EXPECT_EQ(decode_as<broken_trade>(r).match_number.get(), kMatch);
  expect_encodes_to<broken_trade>(r, [](auto& x) { x.match_number.set(kMatch); });
}

TEST(ItchMessages, Noii) {
  raw r = msg('I', 50);
  r.u(11, 8, 0x0102030405060708ULL).u(19, 8, 0x1112131415161718ULL).c(27, 'S').a(28, 8, "SPY")
      .u(36, 4, 0x21222324).u(40, 4, 0x25262728).u(44, 4, 0x292A2B2C).c(48, 'O').c(49, 'L');
  const auto m = decode_as<noii>(r);
  EXPECT_EQ(m.paired_shares.get(), 0x0102030405060708ULL);
  EXPECT_EQ(m.imbalance_shares.get(), 0x1112131415161718ULL);
  EXPECT_EQ(m.imbalance_direction, static_cast<char>(imbalance_direction::sell));
  EXPECT_EQ(m.stock.trimmed(), "SPY");
  EXPECT_EQ(m.far_price.get(), 0x21222324U);
  EXPECT_EQ(m.near_price.get(), 0x25262728U);
  EXPECT_EQ(m.current_reference_price.get(), 0x292A2B2CU);
  EXPECT_EQ(m.cross_type, 'O');
  EXPECT_EQ(m.price_variation_indicator, 'L');
  expect_encodes_to<noii>(r, [](auto& x) {
    x.paired_shares.set(0x0102030405060708ULL);
    x.imbalance_shares.set(0x1112131415161718ULL);
    x.imbalance_direction = 'S';
    x.stock.set("SPY");
    x.far_price.set(0x21222324);
    x.near_price.set(0x25262728);
    x.current_reference_price.set(0x292A2B2C);
    x.cross_type = 'O';
    x.price_variation_indicator = 'L';
  });
}

TEST(ItchMessages, Rpii) {
  raw r = msg('N', 20);
  r.a(11, 8, "AAPL").c(19, 'A');
  const auto m = decode_as<rpii>(r);
  EXPECT_EQ(m.stock.trimmed(), "AAPL");
  EXPECT_EQ(m.interest_flag, 'A');
  expect_encodes_to<rpii>(r, [](auto& x) {
    x.stock.set("AAPL");
    x.interest_flag = 'A';
  });
}

TEST(ItchMessages, DlcrPriceDiscovery) {
  raw r = msg('O', 48);
  r.a(11, 8, "DLCR").c(19, 'Y').u(20, 4, 0x01020304).u(24, 4, 0x05060708).u(28, 4, 0x090A0B0C)
      .u(32, 8, 0x1112131415161718ULL).u(40, 4, 0x21222324).u(44, 4, 0x25262728);
  const auto m = decode_as<dlcr_price_discovery>(r);
  EXPECT_EQ(m.stock.trimmed(), "DLCR");
  EXPECT_EQ(m.open_eligibility_status, 'Y');
  EXPECT_EQ(m.minimum_allowable_price.get(), 0x01020304U);
  EXPECT_EQ(m.maximum_allowable_price.get(), 0x05060708U);
  EXPECT_EQ(m.near_execution_price.get(), 0x090A0B0CU);
  EXPECT_EQ(m.near_execution_time.get(), 0x1112131415161718ULL);
  EXPECT_EQ(m.lower_price_range_collar.get(), 0x21222324U);
  EXPECT_EQ(m.upper_price_range_collar.get(), 0x25262728U);
  expect_encodes_to<dlcr_price_discovery>(r, [](auto& x) {
    x.stock.set("DLCR");
    x.open_eligibility_status = 'Y';
    x.minimum_allowable_price.set(0x01020304);
    x.maximum_allowable_price.set(0x05060708);
    x.near_execution_price.set(0x090A0B0C);
    x.near_execution_time.set(0x1112131415161718ULL);
    x.lower_price_range_collar.set(0x21222324);
    x.upper_price_range_collar.set(0x25262728);
  });
}

} // namespace
} // namespace mdgw::itch
