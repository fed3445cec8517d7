// Nasdaq TotalView-ITCH 5.0 messages as wire structs, written from Nasdaq's published
// specification (NQTVITCHSpecification, version 5.0).
//
// Rationale:
// - Every field is a byte array wrapper (be_uint<N>, alpha<N>, char), so each struct has
//   alignment 1 and no padding: sizeof equals the spec's message length (asserted below)
//   and a field's offset equals the spec's offset. [[gnu::packed]] states the intent.
// - Integers are big-endian on the wire; be_uint<N>::get() converts (a bswap for 2, 4 and
//   8 bytes, and for the 48-bit timestamp a 2-byte and a 4-byte one) and set() encodes, so tests and the
//   generator build messages with the same types that decode them.
// - Structs are read with load<M>(bytes) (a memcpy into a local): no aliasing or
//   alignment assumptions about the input buffer. The compiler turns it into plain loads.
// - Prices: 4 implied decimals (price4, a be_uint<4>), except the MWCB decline levels,
//   which have 8 (price8, a be_uint<8>). Timestamps: nanoseconds since midnight, 48 bits.
// - Message tags are `enum class msg_type : char`; kMessageSize maps a tag byte to its
//   fixed length (0 = not an ITCH 5.0 message), which is what the decoder and the
//   BinaryFILE reader trust over a disagreeing length prefix.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>

namespace mdgw::itch {

static_assert(std::endian::native == std::endian::little, "be_uint assumes a little-endian host");

// An unsigned big-endian integer of N bytes on the wire.
template <std::size_t N>
struct be_uint {
  static_assert(N == 1 || N == 2 || N == 4 || N == 6 || N == 8);
  using value_type = std::conditional_t<N <= 1, std::uint8_t,
                     std::conditional_t<N <= 2, std::uint16_t,
                     std::conditional_t<N <= 4, std::uint32_t, std::uint64_t>>>;
  std::uint8_t bytes[N];

  [[nodiscard]] value_type get() const noexcept {
    if constexpr (N == 1) {
      return bytes[0];
    } else if constexpr (N == 6) {
      // A 2-byte and a 4-byte big-endian load (a 6-byte memcpy into a local would be two
      // stores read back as one: a store-forwarding stall).
      std::uint16_t hi;
      std::uint32_t lo;
      std::memcpy(&hi, bytes, 2);
      std::memcpy(&lo, bytes + 2, 4);
      return (std::uint64_t{__builtin_bswap16(hi)} << 32) | __builtin_bswap32(lo);
    } else {
      value_type v;
      std::memcpy(&v, bytes, N);
      if constexpr (N == 2) {
        return __builtin_bswap16(v);
      } else if constexpr (N == 4) {
        return __builtin_bswap32(v);
      } else {
        return __builtin_bswap64(v);
      }
    }
  }
  void set(value_type v) noexcept {
    for (std::size_t i = N; i-- > 0;) {
      bytes[i] = static_cast<std::uint8_t>(v & 0xffU);
      if constexpr (N > 1) v = static_cast<value_type>(v >> 8);
    }
  }
};

using be16 = be_uint<2>;
using be32 = be_uint<4>;
using be48 = be_uint<6>;
using be64 = be_uint<8>;
using price4 = be32; // 4 implied decimals: 1234500 is 123.45
using price8 = be64; // 8 implied decimals (MWCB decline levels only)

// Left-justified, space-padded ASCII (stock symbols, MPIDs, reasons).
template <std::size_t N>
struct alpha {
  char chars[N];

  [[nodiscard]] std::string_view view() const noexcept { return {chars, N}; }
  // Without the right padding.
  [[nodiscard]] std::string_view trimmed() const noexcept {
    std::size_t n = N;
    while (n > 0 && (chars[n - 1] == ' ' || chars[n - 1] == '\0')) --n;
    return {chars, n};
  }
  void set(std::string_view s) noexcept {
    for (std::size_t i = 0; i < N; ++i) chars[i] = i < s.size() ? s[i] : ' ';
  }
};

enum class msg_type : char {
  system_event = 'S',
  stock_directory = 'R',
  stock_trading_action = 'H',
  reg_sho_restriction = 'Y',
  market_participant_position = 'L',
  mwcb_decline_level = 'V',
  mwcb_status = 'W',
  ipo_quoting_period_update = 'K',
  luld_auction_collar = 'J',
  operational_halt = 'h',
  add_order = 'A',
  add_order_mpid = 'F',
  order_executed = 'E',
  order_executed_with_price = 'C',
  order_cancel = 'X',
  order_delete = 'D',
  order_replace = 'U',
  trade = 'P',
  cross_trade = 'Q',
  broken_trade = 'B',
  noii = 'I',
  rpii = 'N',
  dlcr_price_discovery = 'O',
};

inline constexpr std::array<msg_type, 23> kAllMessageTypes = {
    msg_type::system_event, msg_type::stock_directory, msg_type::stock_trading_action,
    msg_type::reg_sho_restriction, msg_type::market_participant_position, msg_type::mwcb_decline_level,
    msg_type::mwcb_status, msg_type::ipo_quoting_period_update, msg_type::luld_auction_collar,
    msg_type::operational_halt, msg_type::add_order, msg_type::add_order_mpid, msg_type::order_executed,
    msg_type::order_executed_with_price, msg_type::order_cancel, msg_type::order_delete,
    msg_type::order_replace, msg_type::trade, msg_type::cross_trade, msg_type::broken_trade,
    msg_type::noii, msg_type::rpii, msg_type::dlcr_price_discovery,
};

// System event codes (S).
enum class system_event_code : char {
  start_of_messages = 'O',
  start_of_system_hours = 'S',
  start_of_market_hours = 'Q',
  end_of_market_hours = 'M',
  end_of_system_hours = 'E',
  end_of_messages = 'C',
};

// Trading states (H).
enum class trading_state : char { halted = 'H', paused = 'P', quotation_only = 'Q', trading = 'T' };

// Imbalance direction (I).
enum class imbalance_direction : char { buy = 'B', sell = 'S', none = 'N', insufficient = 'O' };

// Buy/sell indicator of A, F and P.
inline constexpr char kBuy = 'B';
inline constexpr char kSell = 'S';

// Common to every message: offsets 0..10.
struct [[gnu::packed]] header {
  char type;                // 0
  be16 stock_locate;        // 1  0 for market-wide messages
  be16 tracking_number;     // 3
  be48 timestamp;           // 5  ns since midnight
};
static_assert(sizeof(header) == 11);

struct [[gnu::packed]] system_event {
  header hdr;
  char event_code; // 11 system_event_code
};

struct [[gnu::packed]] stock_directory {
  header hdr;
  alpha<8> stock;                      // 11
  char market_category;                // 19
  char financial_status_indicator;     // 20
  be32 round_lot_size;                 // 21
  char round_lots_only;                // 25
  char issue_classification;           // 26
  alpha<2> issue_sub_type;             // 27
  char authenticity;                   // 29
  char short_sale_threshold_indicator; // 30
  char ipo_flag;                       // 31
  char luld_reference_price_tier;      // 32
  char etp_flag;                       // 33
  be32 etp_leverage_factor;            // 34
  char inverse_indicator;              // 38
};

struct [[gnu::packed]] stock_trading_action {
  header hdr;
  alpha<8> stock;      // 11
  char trading_state;  // 19 trading_state
  char reserved;       // 20
  alpha<4> reason;     // 21
};

struct [[gnu::packed]] reg_sho_restriction {
  header hdr;
  alpha<8> stock;      // 11
  char reg_sho_action; // 19 '0' none, '1' in effect (intraday drop), '2' remains in effect
};

struct [[gnu::packed]] market_participant_position {
  header hdr;
  alpha<4> mpid;                 // 11
  alpha<8> stock;                // 15
  char primary_market_maker;     // 23
  char market_maker_mode;        // 24
  char market_participant_state; // 25
};

struct [[gnu::packed]] mwcb_decline_level {
  header hdr;
  price8 level1; // 11
  price8 level2; // 19
  price8 level3; // 27
};

struct [[gnu::packed]] mwcb_status {
  header hdr;
  char breached_level; // 11 '1', '2' or '3'
};

struct [[gnu::packed]] ipo_quoting_period_update {
  header hdr;
  alpha<8> stock;                       // 11
  be32 ipo_quotation_release_time;      // 19 seconds since midnight
  char ipo_quotation_release_qualifier; // 23 'A' anticipated, 'C' cancelled/postponed
  price4 ipo_price;                     // 24
};

struct [[gnu::packed]] luld_auction_collar {
  header hdr;
  alpha<8> stock;                        // 11
  price4 auction_collar_reference_price; // 19
  price4 upper_auction_collar_price;     // 23
  price4 lower_auction_collar_price;     // 27
  be32 auction_collar_extension;         // 31
};

struct [[gnu::packed]] operational_halt {
  header hdr;
  alpha<8> stock;              // 11
  char market_code;            // 19 'Q' Nasdaq, 'B' BX, 'X' PSX
  char operational_halt_action; // 20 'H' halted, 'T' resumed
};

struct [[gnu::packed]] add_order {
  header hdr;
  be64 order_reference_number; // 11
  char buy_sell_indicator;     // 19
  be32 shares;                 // 20
  alpha<8> stock;              // 24
  price4 price;                // 32
};

struct [[gnu::packed]] add_order_mpid {
  header hdr;
  be64 order_reference_number; // 11
  char buy_sell_indicator;     // 19
  be32 shares;                 // 20
  alpha<8> stock;              // 24
  price4 price;                // 32
  alpha<4> attribution;        // 36
};

struct [[gnu::packed]] order_executed {
  header hdr;
  be64 order_reference_number; // 11
  be32 executed_shares;        // 19
  be64 match_number;           // 23
};

struct [[gnu::packed]] order_executed_with_price {
  header hdr;
  be64 order_reference_number; // 11
  be32 executed_shares;        // 19
  be64 match_number;           // 23
  char printable;              // 31 'Y' / 'N'
  price4 execution_price;      // 32
};

struct [[gnu::packed]] order_cancel {
  header hdr;
  be64 order_reference_number; // 11
  be32 cancelled_shares;       // 19
};

struct [[gnu::packed]] order_delete {
  header hdr;
  be64 order_reference_number; // 11
};

struct [[gnu::packed]] order_replace {
  header hdr;
  be64 original_order_reference_number; // 11
  be64 new_order_reference_number;      // 19
  be32 shares;                          // 27
  price4 price;                         // 31
};

struct [[gnu::packed]] trade {
  header hdr;
  be64 order_reference_number; // 11
  char buy_sell_indicator;     // 19 side of the non-displayed resting order
  be32 shares;                 // 20
  alpha<8> stock;              // 24
  price4 price;                // 32
  be64 match_number;           // 36
};

struct [[gnu::packed]] cross_trade {
  header hdr;
  be64 shares;       // 11
  alpha<8> stock;    // 19
  price4 cross_price; // 27
  be64 match_number; // 31
  char cross_type;   // 39 'O' opening, 'C' closing, 'H' IPO/halted, 'I' intraday
};

struct [[gnu::packed]] broken_trade {
  header hdr;
  be64 match_number; // 11
};

struct [[gnu::packed]] noii {
  header hdr;
  be64 paired_shares;            // 11
  be64 imbalance_shares;         // 19
  char imbalance_direction;      // 27 imbalance_direction
  alpha<8> stock;                // 28
  price4 far_price;              // 36
  price4 near_price;             // 40
  price4 current_reference_price; // 44
  char cross_type;               // 48
  char price_variation_indicator; // 49
};

struct [[gnu::packed]] rpii {
  header hdr;
  alpha<8> stock;     // 11
  char interest_flag; // 19 'B', 'S', 'A' (both) or 'N'
};

struct [[gnu::packed]] dlcr_price_discovery {
  header hdr;
  alpha<8> stock;                 // 11
  char open_eligibility_status;   // 19 'N' / 'Y'
  price4 minimum_allowable_price; // 20
  price4 maximum_allowable_price; // 24
  price4 near_execution_price;    // 28
  be64 near_execution_time;       // 32 ns since midnight
  price4 lower_price_range_collar; // 40
  price4 upper_price_range_collar; // 44
};

// Message lengths from the specification.
static_assert(sizeof(system_event) == 12);
static_assert(sizeof(stock_directory) == 39);
static_assert(sizeof(stock_trading_action) == 25);
static_assert(sizeof(reg_sho_restriction) == 20);
static_assert(sizeof(market_participant_position) == 26);
static_assert(sizeof(mwcb_decline_level) == 35);
static_assert(sizeof(mwcb_status) == 12);
static_assert(sizeof(ipo_quoting_period_update) == 28);
static_assert(sizeof(luld_auction_collar) == 35);
static_assert(sizeof(operational_halt) == 21);
static_assert(sizeof(add_order) == 36);
static_assert(sizeof(add_order_mpid) == 40);
static_assert(sizeof(order_executed) == 31);
static_assert(sizeof(order_executed_with_price) == 36);
static_assert(sizeof(order_cancel) == 23);
static_assert(sizeof(order_delete) == 19);
static_assert(sizeof(order_replace) == 35);
static_assert(sizeof(trade) == 44);
static_assert(sizeof(cross_trade) == 40);
static_assert(sizeof(broken_trade) == 19);
static_assert(sizeof(noii) == 50);
static_assert(sizeof(rpii) == 20);
static_assert(sizeof(dlcr_price_discovery) == 48);

// Reading from a byte buffer needs only alignment 1 and a trivially copyable type.
template <class M>
concept wire_message = std::is_trivially_copyable_v<M> && alignof(M) == 1 && sizeof(M) >= sizeof(header);

// The struct for each tag, for generic code (tests, the generator).
template <msg_type T> struct message_for;
#define MDGW_ITCH_MAP(tag, type_name)                          \
  template <> struct message_for<msg_type::tag> {              \
    using type = type_name;                                    \
  };                                                           \
  static_assert(wire_message<type_name>)
MDGW_ITCH_MAP(system_event, system_event);
MDGW_ITCH_MAP(stock_directory, stock_directory);
MDGW_ITCH_MAP(stock_trading_action, stock_trading_action);
MDGW_ITCH_MAP(reg_sho_restriction, reg_sho_restriction);
MDGW_ITCH_MAP(market_participant_position, market_participant_position);
MDGW_ITCH_MAP(mwcb_decline_level, mwcb_decline_level);
MDGW_ITCH_MAP(mwcb_status, mwcb_status);
MDGW_ITCH_MAP(ipo_quoting_period_update, ipo_quoting_period_update);
MDGW_ITCH_MAP(luld_auction_collar, luld_auction_collar);
MDGW_ITCH_MAP(operational_halt, operational_halt);
MDGW_ITCH_MAP(add_order, add_order);
MDGW_ITCH_MAP(add_order_mpid, add_order_mpid);
MDGW_ITCH_MAP(order_executed, order_executed);
MDGW_ITCH_MAP(order_executed_with_price, order_executed_with_price);
MDGW_ITCH_MAP(order_cancel, order_cancel);
MDGW_ITCH_MAP(order_delete, order_delete);
MDGW_ITCH_MAP(order_replace, order_replace);
MDGW_ITCH_MAP(trade, trade);
MDGW_ITCH_MAP(cross_trade, cross_trade);
MDGW_ITCH_MAP(broken_trade, broken_trade);
MDGW_ITCH_MAP(noii, noii);
MDGW_ITCH_MAP(rpii, rpii);
MDGW_ITCH_MAP(dlcr_price_discovery, dlcr_price_discovery);
#undef MDGW_ITCH_MAP

template <msg_type T>
inline constexpr std::size_t kSizeOf = sizeof(typename message_for<T>::type);

// Fixed length of each message by tag byte; 0 for a byte that is no ITCH 5.0 tag.
inline constexpr std::array<std::uint8_t, 256> kMessageSize = [] {
  std::array<std::uint8_t, 256> t{};
  auto set = [&t](msg_type m, std::size_t n) { t[static_cast<unsigned char>(m)] = static_cast<std::uint8_t>(n); };
  set(msg_type::system_event, sizeof(system_event));
  set(msg_type::stock_directory, sizeof(stock_directory));
  set(msg_type::stock_trading_action, sizeof(stock_trading_action));
  set(msg_type::reg_sho_restriction, sizeof(reg_sho_restriction));
  set(msg_type::market_participant_position, sizeof(market_participant_position));
  set(msg_type::mwcb_decline_level, sizeof(mwcb_decline_level));
  set(msg_type::mwcb_status, sizeof(mwcb_status));
  set(msg_type::ipo_quoting_period_update, sizeof(ipo_quoting_period_update));
  set(msg_type::luld_auction_collar, sizeof(luld_auction_collar));
  set(msg_type::operational_halt, sizeof(operational_halt));
  set(msg_type::add_order, sizeof(add_order));
  set(msg_type::add_order_mpid, sizeof(add_order_mpid));
  set(msg_type::order_executed, sizeof(order_executed));
  set(msg_type::order_executed_with_price, sizeof(order_executed_with_price));
  set(msg_type::order_cancel, sizeof(order_cancel));
  set(msg_type::order_delete, sizeof(order_delete));
  set(msg_type::order_replace, sizeof(order_replace));
  set(msg_type::trade, sizeof(trade));
  set(msg_type::cross_trade, sizeof(cross_trade));
  set(msg_type::broken_trade, sizeof(broken_trade));
  set(msg_type::noii, sizeof(noii));
  set(msg_type::rpii, sizeof(rpii));
  set(msg_type::dlcr_price_discovery, sizeof(dlcr_price_discovery));
  return t;
}();

[[nodiscard]] constexpr std::size_t message_size(std::uint8_t tag) noexcept { return kMessageSize[tag]; }
[[nodiscard]] constexpr std::size_t message_size(msg_type tag) noexcept {
  return kMessageSize[static_cast<unsigned char>(tag)];
}

// Copies a message out of a buffer. Precondition: `bytes` holds at least sizeof(M).
template <wire_message M>
[[nodiscard]] inline M load(const std::uint8_t* bytes) noexcept {
  M m;
  std::memcpy(&m, bytes, sizeof(M));
  return m;
}

// A zeroed message with its tag set (for tests and the generator).
template <wire_message M>
[[nodiscard]] inline M make(msg_type tag) noexcept {
  M m;
  std::memset(&m, 0, sizeof(M));
  m.hdr.type = static_cast<char>(tag);
  return m;
}

} // namespace mdgw::itch
