# mdgw recording (capture) format, version 1: the normalized event stream the gateway
# publishes, as written by `mdgw --record FILE` and read by `mdgw --replay FILE` and
# `mdgw capture info|dump FILE` (docs/recording.md).
#
# File layout (all integers little-endian):
#   magic     8 bytes  "MDGWREC\0"
#   records   one after another, each:
#               u32  length of the message in bytes (a multiple of 8)
#               u32  CRC-32 (zlib's) of the message bytes
#               message: one Cap'n Proto message in the standard stream framing
#                        (segment table + segments, unpacked)
#   The first record's root is Header; every later record's root is Batch.
#
# A Batch is what one producer published between two flushes (one feed batch), its events
# in publication order. Several feeds recording into one file write whole batches, so the
# batches of different feeds interleave but never mix. Batch.recvTs never decreases along
# the file. A record whose length runs past the end of the file is a truncated tail (a
# writer killed mid-write); a CRC or decoding failure is corruption. Readers stop at the
# first of either and keep everything before it.
@0x95769a945ec32fc5;

$import "/capnp/c++.capnp".namespace("mdgw::recording::schema");

struct Header {
  formatVersion @0 :UInt32;  # 1 for this schema; a reader refuses versions it does not know
  createdNs @1 :UInt64;      # when recording started, realtime ns since the epoch
  mdgwVersion @2 :Text;      # the writer's version (meson project version)
}

enum Side {
  bid @0;
  ask @1;
}

# An instrument as registered (publication::add_instrument), before any event naming it.
struct Instrument {
  id @0 :UInt32;             # the id events name it by, in this file
  symbol @1 :Text;           # e.g. "SIM:AAPL"
  venue @2 :Text;
  priceScale @3 :Int32;      # decimals in a price
  qtyScale @4 :Int32;        # decimals in a quantity
  tickSize @5 :Int64;        # in price units
  lotSize @6 :Int64;         # in quantity units
}

# A level of the published top that differs from the previous recorded top of the same
# instrument: its new quantity and order count; qty 0 = the level left the top.
struct Level {
  side @0 :Side;
  price @1 :Int64;           # in 10^-priceScale units
  qty @2 :Int64;             # in 10^-qtyScale units
  orders @3 :UInt32;
}

# A published book (producer::publish_book) as a diff of its top (at most 50 levels a
# side) against the instrument's previous book event in this file (an empty book before
# the first). Applying the levels in order reproduces the published top exactly.
struct BookChange {
  instrument @0 :UInt32;
  version @1 :UInt64;        # the feed's per-instrument version
  exchTs @2 :UInt64;         # exchange time of the newest update, ns since the epoch
  recvTs @3 :UInt64;         # gateway receive time, realtime ns
  quality @4 :UInt8;         # 0 ok, 1 stale, 2 resyncing (book_top.hpp data_quality)
  reason @5 :UInt8;          # book_top.hpp quality_reason; 0 while ok
  levels @6 :List(Level);
}

struct Trade {
  instrument @0 :UInt32;
  aggressor @1 :Side;        # the side that took liquidity (bid: a buy)
  price @2 :Int64;
  qty @3 :Int64;
  tradeSeq @4 :UInt64;       # the feed's numbering
  exchTs @5 :UInt64;
  recvTs @6 :UInt64;
}

# instrument_state (book/instrument_state.hpp) field for field; characters as bytes.
struct State {
  instrument @0 :UInt32;
  version @1 :UInt64;
  exchTs @2 :UInt64;
  recvTs @3 :UInt64;
  tradingState @4 :UInt8;    # 'T' trading, 'H' halted, 'P' paused, 'Q' quotation only, ' '
  reason @5 :Data;           # 4 bytes, space padded
  shortSale @6 :UInt8;
  mwcbBreached @7 :UInt8;
  hasLuld @8 :Bool;
  luldReference @9 :Int64;
  luldUpper @10 :Int64;
  luldLower @11 :Int64;
  hasImbalance @12 :Bool;
  imbalanceDirection @13 :UInt8;
  crossType @14 :UInt8;
  priceVariation @15 :UInt8;
  pairedQty @16 :Int64;
  imbalanceQty @17 :Int64;
  farPrice @18 :Int64;
  nearPrice @19 :Int64;
  referencePrice @20 :Int64;
  imbalanceTs @21 :UInt64;
}

struct Event {
  union {
    instrument @0 :Instrument;
    book @1 :BookChange;
    trade @2 :Trade;
    state @3 :State;
  }
}

struct Batch {
  recvTs @0 :UInt64;         # when the batch was written (realtime ns): replay paces by it
  events @1 :List(Event);
}
