// What a recording (feeds/recording/) sees of a publication: every instrument added and,
// per producer, every book, trade and state it publishes, batch by batch.
//
// Rationale:
// - book/ knows nothing of files or Cap'n Proto: it calls these interfaces, the
//   recording writer implements them. A producer without a recorder pays one null
//   pointer test per publish.
// - One producer_recorder per producer, called only on that producer's feed thread, so
//   it buffers a batch without locks; flush() ends the batch (the writer then takes its
//   file lock once, for the whole batch).
#pragma once

#include "book_top.hpp"
#include "instrument_state.hpp"
#include "types.hpp"

#include <cstdint>
#include <memory>

namespace mdgw {

class producer_recorder {
public:
  virtual ~producer_recorder() = default;
  // The published top (as staged by producer::publish_book), before it is stored.
  virtual void book(const book_top& top) noexcept = 0;
  virtual void trade(instrument_id id, side aggressor, price_t price, qty_t qty, std::uint64_t trade_seq,
                     std::uint64_t exch_ts, std::uint64_t recv_ts) noexcept = 0;
  virtual void state(instrument_id id, const instrument_state& state) noexcept = 0;
  // End of the producer's batch (producer::flush).
  virtual void flush() noexcept = 0;
};

class publish_recorder {
public:
  virtual ~publish_recorder() = default;
  // Called by publication::add_instrument under its registry lock (any thread), with the
  // instrument's id set, before any producer can publish it.
  virtual void instrument_added(const instrument_info& info) noexcept = 0;
  // One per producer; lives as long as the producer.
  virtual std::unique_ptr<producer_recorder> make_producer_recorder() = 0;
};

} // namespace mdgw
