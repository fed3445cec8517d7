// Builds the crypto feeds (Kraken, Binance, Coinbase) the configuration asks for: each
// gets its handler, its instruments (scales from crypto_config.hpp's sources) and its
// source (a capture replay or the live client). Kept out of main.cpp so feeds can be
// added there without touching each other.
#pragma once

#include "crypto_config.hpp"
#include "crypto_handler.hpp"
#include "crypto_live.hpp"
#include "feed.hpp"
#include "publication.hpp"

#include <cstddef>
#include <memory>
#include <vector>

namespace mdgw {

// Instruments the configured crypto feeds will register (to size the publication).
[[nodiscard]] std::size_t crypto_instrument_count(const crypto_options& c);

// The handler of `venue` with the configured instruments (Coinbase scales from the
// products list). Throws std::runtime_error naming the option.
[[nodiscard]] std::unique_ptr<crypto::crypto_handler> make_crypto_handler(crypto_venue venue, const crypto_options& c);

// Loads captures and product lists, builds and registers the feeds (not started).
// Throws std::runtime_error naming the option when a file or value is unusable.
[[nodiscard]] std::vector<std::unique_ptr<feed>> make_crypto_feeds(const crypto_options& c, publication& pub);

} // namespace mdgw
