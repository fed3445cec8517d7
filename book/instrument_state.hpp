// The published non-book state of an instrument: trading state and its reason, short-sale
// restriction, limit-up/limit-down band, market-wide circuit breaker and the auction
// imbalance (Nasdaq NOII). Feeds that know none of it never publish one (version 0).
// Like book_top it is the payload of a seqlock slot: trivially copyable, whole words.
#pragma once

#include "types.hpp"

#include <cstdint>
#include <type_traits>

namespace mdgw {

struct instrument_state {
  std::uint64_t version = 0; // state changes published; 0: the feed never published one
  std::uint64_t exch_ts = 0; // exchange time of the newest change, ns since the epoch
  std::uint64_t recv_ts = 0; // gateway receive time of the newest change, realtime ns
  // Trading state: 'T' trading, 'H' halted, 'P' paused, 'Q' quotation only, ' ' unknown.
  char trading_state = ' ';
  char reason[4] = {' ', ' ', ' ', ' '}; // the venue's reason code, space padded
  char short_sale = ' ';     // Reg SHO: '0' none, '1' restriction in effect, '2' remains
  char mwcb_breached = ' ';  // market-wide circuit breaker level breached: '1' '2' '3'
  std::uint8_t has_luld = 0;
  price_t luld_reference = 0; // limit-up/limit-down auction collar (price units)
  price_t luld_upper = 0;
  price_t luld_lower = 0;
  // Auction imbalance. has_imbalance = 0: none announced.
  std::uint8_t has_imbalance = 0;
  char imbalance_direction = ' '; // 'B' buy, 'S' sell, 'N' none, 'O' insufficient orders
  char cross_type = ' ';          // 'O' opening, 'C' closing, 'H' halt/IPO, 'A' extended
  char price_variation = ' ';
  std::uint8_t reserved_[4] = {};
  qty_t paired_qty = 0;
  qty_t imbalance_qty = 0;
  price_t far_price = 0;
  price_t near_price = 0;
  price_t reference_price = 0;
  std::uint64_t imbalance_ts = 0; // exchange time of the newest imbalance message
};
static_assert(std::is_trivially_copyable_v<instrument_state>);
static_assert(sizeof(instrument_state) % 8 == 0);

} // namespace mdgw
