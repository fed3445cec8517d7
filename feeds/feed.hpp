// A feed: one thread that decodes a source, applies it to books it owns and publishes
// through a producer (book/publication.hpp). The gateway starts, stops and reports them.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace mdgw {

struct feed_status {
  std::string name;        // e.g. "sim"
  std::string state;       // "starting", "running", "finished" (input ended), "stopped"
  std::uint64_t events = 0; // normalized events applied
  std::uint64_t errors = 0; // bad input counted (and resynchronized)
  // Feed-specific counters shown in /health as "counters":{name:value} (e.g. a crypto
  // feed's frames, reconnects, resyncs, mismatches).
  std::vector<std::pair<std::string, std::uint64_t>> counters;
};

class feed {
public:
  virtual ~feed() = default;
  virtual void start() = 0; // starts the feed thread
  virtual void stop() = 0;  // asks it to stop and joins it; idempotent
  [[nodiscard]] virtual feed_status status() const = 0; // any thread
};

} // namespace mdgw
