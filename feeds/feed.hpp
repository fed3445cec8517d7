// A feed: one thread that decodes a source, applies it to books it owns and publishes
// through a producer (book/publication.hpp). The gateway starts, stops and reports them.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
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

// The thread and life cycle every feed shares: started once, stopped idempotently (the
// thread is asked to stop and joined), the state /health shows, and the idle wait once
// the input ended (the final books stay served until stop). A feed holds one as its
// LAST member, so the thread is joined before the state it uses is destroyed.
class feed_runner {
public:
  // Once; later calls (and a call after stop) do nothing. body(std::stop_token) runs on
  // the feed thread.
  template <class Body>
  void start(Body&& body) {
    if (started_) return;
    started_ = true;
    thread_ = std::jthread(std::forward<Body>(body));
  }
  // Idempotent; from the thread that owns the feed.
  void stop() {
    started_ = true; // a stopped feed does not start again
    if (thread_.joinable()) {
      thread_.request_stop(); // also wakes the idle wait (condition_variable_any + stop_token)
      thread_.join();
    }
    state_.store(state::stopped, std::memory_order_release);
  }
  // Feed thread: the initial state is published, the feed runs.
  void running() noexcept { state_.store(state::running, std::memory_order_release); }
  // Feed thread: the input ended and the final state is published. Returns when stop is
  // requested. Release: readers of the final books acquire through finished().
  void finish_and_idle(const std::stop_token& stop) {
    finished_.store(true, std::memory_order_release);
    state_.store(state::finished, std::memory_order_release);
    std::unique_lock lock(idle_mutex_);
    idle_cv_.wait(lock, stop, [] { return false; });
  }
  [[nodiscard]] bool finished() const noexcept { return finished_.load(std::memory_order_acquire); }
  // "starting", "running", "finished", "stopped" (feed_status::state).
  [[nodiscard]] const char* state_name() const noexcept {
    switch (state_.load(std::memory_order_acquire)) {
    case state::starting: return "starting";
    case state::running: return "running";
    case state::finished: return "finished";
    case state::stopped: return "stopped";
    }
    return "stopped";
  }

private:
  enum class state : std::uint8_t { starting, running, finished, stopped };

  std::atomic<state> state_{state::starting};
  std::atomic<bool> finished_{false}; // stays true after stop: the books are final
  std::mutex idle_mutex_;             // only for the idle wait after finishing
  std::condition_variable_any idle_cv_;
  bool started_ = false;
  std::jthread thread_; // last: joined before the rest goes
};

} // namespace mdgw
