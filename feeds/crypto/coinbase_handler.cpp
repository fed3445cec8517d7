#include "coinbase_handler.hpp"

#include "json_util.hpp"

#include <algorithm>
#include <stdexcept>

namespace mdgw::crypto {

namespace {

using json::parsed_level;
using json::raw_level;

struct message_fields {
  std::string_view type, product_id, time;
  std::string_view best_bid, best_ask, best_bid_size, best_ask_size; // ticker
  std::string_view price, size, side_word;                           // match
};

// [price, size] (snapshot) or [side, price, size] (l2update changes), strings only.
template <class Value>
bool collect_levels(Value v, bool with_side, side s, std::vector<raw_level>& out) {
  return json::for_each_row<3>(v, true, [&](const std::array<std::string_view, 3>& f, std::size_t count) {
    if (!with_side) {
      if (count != 2) return false;
      out.push_back({f[0], f[1], s});
      return true;
    }
    raw_level r{f[1], f[2], s};
    if (count != 3 || !json::parse_side_word(f[0], r.s)) return false;
    out.push_back(r);
    return true;
  });
}

// Any message, any field order.
template <class Value>
bool walk_message(Value root, message_fields& mf, bool& has_levels, std::vector<raw_level>& raw) {
  mf = message_fields{};
  has_levels = false;
  raw.clear();
  return root.for_each_field([&](std::string_view key, Value v) {
    if (key == "type") return v.get_string(mf.type);
    if (key == "product_id") return v.get_string(mf.product_id);
    if (key == "changes") {
      has_levels = true;
      return collect_levels(v, true, side::bid, raw);
    }
    if (key == "bids" || key == "asks") {
      has_levels = true;
      return collect_levels(v, false, key == "bids" ? side::bid : side::ask, raw);
    }
    if (key == "time") return v.get_string(mf.time);
    if (key == "best_bid") return v.get_string(mf.best_bid);
    if (key == "best_ask") return v.get_string(mf.best_ask);
    if (key == "best_bid_size") return v.get_string(mf.best_bid_size);
    if (key == "best_ask_size") return v.get_string(mf.best_ask_size);
    if (key == "price") return v.get_string(mf.price);
    if (key == "size") return v.get_string(mf.size);
    if (key == "side") return v.get_string(mf.side_word);
    return true;
  });
}

// Decimals of an increment string: "0.00010" -> 4, "1" -> 0.
int increment_decimals(std::string_view inc) {
  const auto dot = inc.find('.');
  if (dot == std::string_view::npos) return 0;
  std::string_view frac = inc.substr(dot + 1);
  while (!frac.empty() && frac.back() == '0') frac.remove_suffix(1);
  return static_cast<int>(frac.size());
}

} // namespace

std::vector<instrument_config> coinbase_products(std::string_view products_json,
                                                 const std::vector<std::string>& product_ids) {
  const simdjson::padded_string json(products_json);
  json::dom::parser parser;
  json::dom::element root;
  json::dom::array arr;
  if (parser.parse(json).get(root) || root.get_array().get(arr)) {
    throw std::runtime_error("coinbase products: not a JSON array");
  }
  std::vector<instrument_config> found(product_ids.size());
  std::vector<bool> seen(product_ids.size(), false);
  for (const json::dom::element pv : arr) {
    json::dom::object obj;
    if (pv.get_object().get(obj)) throw std::runtime_error("coinbase products: element is not an object");
    std::string_view id, quote_inc, base_inc;
    for (const json::dom::key_value_pair kv : obj) {
      if (kv.key == "id") {
        (void)json::dom_value(kv.value).get_string(id);
      } else if (kv.key == "quote_increment") {
        (void)json::dom_value(kv.value).get_string(quote_inc);
      } else if (kv.key == "base_increment") {
        (void)json::dom_value(kv.value).get_string(base_inc);
      }
    }
    const auto it = std::find(product_ids.begin(), product_ids.end(), id);
    if (it == product_ids.end()) continue;
    const auto k = static_cast<std::size_t>(it - product_ids.begin());
    instrument_config c;
    c.venue_symbol = std::string(id);
    c.price_scale = increment_decimals(quote_inc);
    c.qty_scale = increment_decimals(base_inc);
    if (c.price_scale > kMaxScale || c.qty_scale > kMaxScale ||
        parse_decimal(quote_inc, c.price_scale, c.tick_size) != decimal_status::ok ||
        parse_decimal(base_inc, c.qty_scale, c.lot_size) != decimal_status::ok || c.tick_size <= 0 || c.lot_size <= 0) {
      throw std::runtime_error("coinbase products: bad increments for " + c.venue_symbol);
    }
    found[k] = std::move(c);
    seen[k] = true;
  }
  for (std::size_t k = 0; k < product_ids.size(); ++k) {
    if (!seen[k]) throw std::runtime_error("coinbase products: no product " + product_ids[k]);
  }
  return found;
}

struct coinbase_handler::impl {
  json::dom::parser parser;
  std::vector<raw_level> raw;
  std::vector<parsed_level> parsed;
  std::vector<std::uint32_t> tickers_seen; // per instrument, since the connection began
};

coinbase_handler::coinbase_handler(const coinbase_config& config)
    : crypto_handler("COINBASE", config.products), impl_(std::make_unique<impl>()) {
  impl_->tickers_seen.assign(instruments_.size(), 0);
  impl_->raw.reserve(4096);
  impl_->parsed.reserve(4096);
}

coinbase_handler::~coinbase_handler() = default;

void coinbase_handler::on_connect() {
  crypto_handler::on_connect();
  std::fill(impl_->tickers_seen.begin(), impl_->tickers_seen.end(), 0);
}

frame_status coinbase_handler::on_frame(const padded_frame& f) {
  ++counters_.frames;
  impl& m = *impl_;
  message_fields mf;
  bool has_levels = false;
  if (!json::read_frame(m.parser, f, fast_json_,
                        [&](auto root) { return walk_message(root, mf, has_levels, m.raw); })) {
    return reject_frame();
  }

  const bool snapshot = mf.type == "snapshot";
  const bool update = mf.type == "l2update";
  const bool ticker = mf.type == "ticker";
  const bool match = mf.type == "match";
  if (!snapshot && !update && !ticker && !match) {
    ++counters_.ignored; // subscriptions, heartbeat, last_match, error, ...
    return frame_status::ignored;
  }
  const auto found = find_in_frame(mf.product_id, f);
  if (!found) {
    ++counters_.bad_frames;
    return frame_status::unknown_instrument;
  }
  const std::size_t index = *found;
  crypto_instrument& in = instruments_[index];
  std::uint64_t exch_ts = 0;
  if (!mf.time.empty() && !parse_iso8601_utc(mf.time, exch_ts)) return reject_frame();

  if (match) {
    trade_print t;
    side maker{};
    if (!json::get_decimal(mf.price, in.info.price_scale, t.price) ||
        !json::get_decimal(mf.size, in.info.qty_scale, t.qty) || !json::parse_side_word(mf.side_word, maker)) {
      return reject_frame();
    }
    t.aggressor = opposite(maker);
    t.exch_ts = exch_ts;
    t.recv_ts = f.recv_ts;
    report_trade(index, t);
    return frame_status::ok;
  }

  if (ticker) {
    price_t bid = 0, ask = 0;
    if (!json::get_decimal(mf.best_bid, in.info.price_scale, bid) ||
        !json::get_decimal(mf.best_ask, in.info.price_scale, ask)) {
      return reject_frame();
    }
    qty_t bid_qty = -1, ask_qty = -1; // -1: the feed did not send sizes
    if ((!mf.best_bid_size.empty() && !json::get_decimal(mf.best_bid_size, in.info.qty_scale, bid_qty)) ||
        (!mf.best_ask_size.empty() && !json::get_decimal(mf.best_ask_size, in.info.qty_scale, ask_qty))) {
      return reject_frame();
    }
    if (m.tickers_seen[index]++ == 0 || in.quality != data_quality::ok) {
      ++counters_.unchecked_tickers;
      return frame_status::ignored;
    }
    const price_level* b = in.book.best(side::bid);
    const price_level* a = in.book.best(side::ask);
    const bool agree = b != nullptr && a != nullptr && b->price == bid && a->price == ask &&
                       (bid_qty < 0 || b->qty == bid_qty) && (ask_qty < 0 || a->qty == ask_qty);
    if (!agree) {
      ++counters_.ticker_mismatches;
      mark_stale(index, resync_reason::ticker_mismatch);
      return frame_status::mismatch;
    }
    ++counters_.checks_ok;
    return frame_status::ok;
  }

  if (!has_levels) return reject_frame();
  if (update && in.quality != data_quality::ok) {
    ++counters_.out_of_sync;
    return frame_status::out_of_sync;
  }
  if (!json::parse_levels(f, m.raw, in.info, m.parsed)) {
    ++counters_.bad_frames;
    if (in.quality == data_quality::ok) {
      mark_stale(index, snapshot ? resync_reason::snapshot_rejected : resync_reason::bad_update);
    }
    return frame_status::bad_frame;
  }
  if (snapshot) {
    in.book.clear();
    ++counters_.snapshots;
  } else {
    ++counters_.updates;
  }
  // Validated above, so set cannot fail. A snapshot lists each side best first and is
  // applied backwards (a book side keeps its best at the back: appends, not shifts); an
  // update is applied in order (it may change one level twice).
  if (snapshot) {
    for (auto it = m.parsed.rbegin(); it != m.parsed.rend(); ++it) (void)set_level(index, it->s, it->price, it->qty);
  } else {
    for (const parsed_level& p : m.parsed) (void)set_level(index, p.s, p.price, p.qty);
  }
  if (snapshot) in.quality = data_quality::ok;
  book_changed(index, exch_ts, f.recv_ts);
  return frame_status::ok;
}

} // namespace mdgw::crypto
