# mdgw client protocol v1 in Cap'n Proto: the WebSocket subprotocol `mdgw.capnp.v1`.
#
# The same messages as the JSON protocol (docs/protocol.md), field for field. Every
# server WebSocket message is a binary frame holding one or more Cap'n Proto messages in
# the standard stream framing (segment table + segments, unpacked), each with root
# ServerMessage:
#   - a reply (subscribed, unsubscribed, instruments, pong, heartbeat, error): one message;
#   - a data message: a `batch` message, then exactly `batch.updates` update messages
#     (book, ticker, trades, lost, reset, status, imbalance).
# `capnp convert binary:json gateway/mdgw.capnp ServerMessage < frame` decodes a frame.
#
# Prices and sizes are exact decimal strings, as in JSON: the book checksum is defined on
# that text, so a binary client computes it exactly like a JSON one. Timestamps are ns
# since the epoch. Clients send requests as JSON text frames, or as binary frames holding
# one ClientRequest message.
@0xac4e3a8c40356fd5;

$import "/capnp/c++.capnp".namespace("mdgw::wire");

struct ServerMessage {
  union {
    batch @0 :Batch;
    book @1 :Book;
    ticker @2 :Ticker;
    trades @3 :Trades;
    lost @4 :Lost;
    reset @5 :Reset;
    status @6 :Status;
    imbalance @7 :Imbalance;
    subscribed @8 :Subscribed;
    unsubscribed @9 :Unsubscribed;
    instruments @10 :Instruments;
    pong @11 :Pong;
    heartbeat @12 :Heartbeat;
    error @13 :Error;
  }
}

# The merged-update stamps (docs/protocol.md, "Stamps").
struct Stamps {
  tsExchOldest @0 :UInt64;
  tsRecvOldest @1 :UInt64;
  tsExch @2 :UInt64;
  tsRecv @3 :UInt64;
  merged @4 :UInt64;
}

# Starts a data message: `updates` update messages follow in the same frame.
struct Batch {
  tsSend @0 :UInt64;
  stamps @1 :Stamps;
  updates @2 :UInt32;
}

enum Quality {
  ok @0;
  stale @1;
  resyncing @2;
}

struct Level {
  price @0 :Text;
  size @1 :Text;   # "0": the level is removed (deltas)
  orders @2 :UInt32;
}

struct Book {
  channel @0 :Text;
  snapshot @1 :Bool;     # false: a delta from `prev`
  prev @2 :UInt64;
  seq @3 :UInt64;
  checksum @4 :UInt32;   # CRC-32 of "p:q,...|p:q,..." of the resulting book
  quality @5 :Quality;
  stamps @6 :Stamps;
  bids @7 :List(Level);
  asks @8 :List(Level);
}

# Optional prices and sizes are empty strings when absent (JSON: null).
struct Ticker {
  channel @0 :Text;
  seq @1 :UInt64;
  quality @2 :Quality;
  bid @3 :Text;
  bidSize @4 :Text;
  ask @5 :Text;
  askSize @6 :Text;
  last @7 :Text;
  lastSize @8 :Text;
  lastSide @9 :Text;     # "buy", "sell", "" before the first trade
  lastSeq @10 :UInt64;
  lastTsExch @11 :UInt64;
  volume @12 :Text;
  open @13 :Text;
  change @14 :Text;
  stamps @15 :Stamps;
}

struct Trade {
  seq @0 :UInt64;
  price @1 :Text;
  qty @2 :Text;
  side @3 :Text;         # the aggressor: "buy" or "sell"
  tsExch @4 :UInt64;
  tsRecv @5 :UInt64;
}

struct Trades {
  channel @0 :Text;
  epoch @1 :UInt64;
  firstSeq @2 :UInt64;
  seq @3 :UInt64;
  stamps @4 :Stamps;
  trades @5 :List(Trade);
}

struct Lost {
  channel @0 :Text;
  epoch @1 :UInt64;
  lost @2 :UInt64;
  fromSeq @3 :UInt64;
  resumeSeq @4 :UInt64;
}

struct Reset {
  channel @0 :Text;
  epoch @1 :UInt64;
  seq @2 :UInt64;
  reason @3 :Text;       # "epoch", "gone", "ahead"
}

struct Luld {
  reference @0 :Text;
  upper @1 :Text;
  lower @2 :Text;
}

struct Status {
  channel @0 :Text;
  version @1 :UInt64;
  tradingState @2 :Text;
  reason @3 :Text;
  shortSaleRestriction @4 :Text;
  mwcbBreached @5 :UInt8;  # 0: none, else level 1..3
  hasLuld @6 :Bool;
  luld @7 :Luld;
  quality @8 :Quality;
  qualityReason @9 :Text;
  stamps @10 :Stamps;
}

struct Imbalance {
  channel @0 :Text;
  version @1 :UInt64;
  present @2 :Bool;        # false: no imbalance announced (JSON: null)
  tsExch @3 :UInt64;
  paired @4 :Text;
  imbalance @5 :Text;
  direction @6 :Text;
  farPrice @7 :Text;
  nearPrice @8 :Text;
  referencePrice @9 :Text;
  crossType @10 :Text;
  priceVariation @11 :Text;
  stamps @12 :Stamps;
}

struct Grant {
  channel @0 :Text;
  intervalMs @1 :Float64;  # 0: as fast as the client reads
  maxRate @2 :Float64;     # 0: unthrottled (JSON: null)
  trades @3 :Bool;         # the rest is for trades channels
  epoch @4 :UInt64;
  nextSeq @5 :UInt64;
  resume @6 :Text;         # "live", "replay", "reset"
}

struct Subscribed {
  id @0 :UInt64;
  channels @1 :List(Text);
  granted @2 :List(Grant);
}

struct Unsubscribed {
  id @0 :UInt64;
  channels @1 :List(Text);
}

struct Instrument {
  symbol @0 :Text;
  venue @1 :Text;
  priceScale @2 :Int32;
  qtyScale @3 :Int32;
  tickSize @4 :Text;
  lotSize @5 :Text;
}

struct Instruments {
  id @0 :UInt64;
  instruments @1 :List(Instrument);
}

struct Pong {
  id @0 :UInt64;
  ts @1 :UInt64;
}

struct Heartbeat {
  ts @0 :UInt64;
}

struct Error {
  hasId @0 :Bool;          # false: the request had no usable id (JSON: null)
  id @1 :UInt64;
  code @2 :UInt16;
  message @3 :Text;
}

# A request in a binary frame (the JSON requests, field for field).
struct ClientRequest {
  id @0 :UInt64;
  op @1 :Op;
  channels @2 :List(ChannelRequest);

  enum Op {
    subscribe @0;
    unsubscribe @1;
    list @2;
    ping @3;
  }
}

struct ChannelRequest {
  channel @0 :Text;
  maxRate @1 :Float64;     # 0: not given
  intervalMs @2 :Float64 = -1;  # < 0: not given (0 is "unthrottled")
  resume @3 :Bool;         # from_seq and epoch given
  fromSeq @4 :UInt64;
  epoch @5 :UInt64;
}
