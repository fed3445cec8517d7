// io_worker's pass over its ready sessions: one message per session a pass; notices
// published while a long pass runs reach the sessions later in it (the pass drains again,
// at most every drain interval, checked every io_worker::kDrainEvery sessions), not only
// the next pass; and one pass is queued at a time. Sessions here are a transport that
// records what it is given and takes every message at once; the worker's io_context runs
// on the test's thread.
#include "io_worker.hpp"
#include "level_book.hpp"
#include "session_base.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mdgw {
namespace {

class recording_session final : public session_base {
public:
  explicit recording_session(io_worker& w) : session_base(w) {}
  ~recording_session() override { detach(); }
  void open_and_send(std::string_view request) {
    on_open();
    on_text(request);
  }
  void shutdown_going_away() override {}

  std::vector<std::string> messages;
  std::function<void()> on_write; // called as each message is written

protected:
  bool write_message(net::const_buffer m) override {
    messages.emplace_back(static_cast<const char*>(m.data()), m.size());
    if (on_write) on_write();
    return true;
  }
  void close_with(std::uint16_t, std::string_view) override {}
  std::shared_ptr<void> keep_alive() override { return nullptr; }
};

// The book seq of a data message for the one book channel ("seq":N after the channel).
std::uint64_t book_seq(const std::string& msg) {
  const auto at = msg.find("\"channel\":\"book.SIM:A.10\"");
  if (at == std::string::npos) return 0;
  const auto s = msg.find("\"seq\":", at);
  return s == std::string::npos ? 0 : std::stoull(msg.substr(s + 6));
}

class FlushPass : public ::testing::Test {
protected:
  static constexpr std::size_t kSessions = 3 * io_worker::kDrainEvery + 10;

  FlushPass() : pub_(1, 4, 1024), prod_(pub_.add_producer(4096)), worker_(0, pub_, cfg_) {
    instrument_info info;
    info.symbol = "SIM:A";
    info.venue = "SIM";
    info.price_scale = 2;
    id_ = *pub_.add_instrument(info);
    // A pass here takes microseconds: drain at every kDrainEvery sessions regardless.
    worker_.set_drain_interval(std::chrono::nanoseconds(0));
  }

  void publish(std::uint64_t version) {
    level_book b;
    ASSERT_EQ(b.set(side::bid, static_cast<price_t>(10000 + version), 100, 1), apply_status::ok);
    ASSERT_EQ(b.set(side::ask, static_cast<price_t>(20000 + version), 100, 1), apply_status::ok);
    prod_.publish_book(id_, b, version, version, version, version);
    prod_.flush();
  }
  // kSessions sessions on the book at version 1, their first messages read and cleared.
  std::vector<std::unique_ptr<recording_session>> subscribed_sessions() {
    publish(1);
    std::vector<std::unique_ptr<recording_session>> sessions;
    for (std::size_t i = 0; i < kSessions; ++i) {
      sessions.push_back(std::make_unique<recording_session>(worker_));
      worker_.add(sessions.back().get(), true);
      sessions.back()->open_and_send(R"({"op":"subscribe","id":1,"channels":["book.SIM:A.10"]})");
    }
    run();
    for (auto& s : sessions) {
      EXPECT_EQ(s->messages.empty() ? 0U : book_seq(s->messages.back()), 1U);
      s->messages.clear();
    }
    return sessions;
  }
  // Runs the worker's handlers until none is ready.
  void run() {
    worker_.context().restart();
    while (worker_.context().poll() != 0) {
    }
  }

  gateway_config cfg_;
  publication pub_;
  producer& prod_;
  io_worker worker_;
  instrument_id id_ = 0;
};

TEST_F(FlushPass, NoticesPublishedDuringAPassReachTheSessionsLaterInIt) {
  auto sessions = subscribed_sessions();
  // Version 2 starts a pass; while the third session writes, version 3 is published.
  // A handler posted meanwhile (a read, a write completion) runs between the passes, not
  // after a pass that goes on with the sessions listed again during it.
  std::vector<std::size_t> order; // sessions in the order the pass wrote them
  std::size_t written_before_handler = 0;
  for (std::size_t i = 0; i < kSessions; ++i) {
    sessions[i]->on_write = [&, i] {
      order.push_back(i);
      if (order.size() == 3) {
        publish(3);
        net::post(worker_.context(), [&] { written_before_handler = order.size(); });
      }
    };
  }
  publish(2);
  run();

  ASSERT_EQ(order.size(), kSessions + io_worker::kDrainEvery);
  EXPECT_EQ(written_before_handler, kSessions);
  std::size_t direct_to_3 = 0;
  for (std::size_t k = 0; k < kSessions; ++k) {
    const auto& got = sessions[order[k]]->messages;
    ASSERT_FALSE(got.empty());
    const std::uint64_t first = book_seq(got.front());
    if (k < io_worker::kDrainEvery) {
      // Written before the pass drained again: version 2, then 3 in the next pass.
      EXPECT_EQ(first, 2U) << "session written " << k << "th";
      ASSERT_EQ(got.size(), 2U) << "session written " << k << "th";
      EXPECT_EQ(book_seq(got[1]), 3U);
    } else {
      // After the drain: straight to version 3, one message.
      EXPECT_EQ(first, 3U) << "session written " << k << "th";
      EXPECT_EQ(got.size(), 1U) << "session written " << k << "th";
      ++direct_to_3;
    }
  }
  EXPECT_EQ(direct_to_3, kSessions - io_worker::kDrainEvery);
  // The pass wrote each session once before any of them a second time.
  std::vector<int> seen(kSessions, 0);
  for (std::size_t k = 0; k < kSessions; ++k) EXPECT_EQ(++seen[order[k]], 1) << "session " << order[k] << " twice in a pass";
  for (auto& s : sessions) worker_.remove(s.get(), true);
}

// A pass shorter than the drain interval does not drain: every session of it carries
// what was there when it began, and the notice published during it goes to every
// session in the next pass. (An hour, so that no machine, sanitizer or load makes this
// pass of a few hundred sessions longer than the interval.)
TEST_F(FlushPass, APassShorterThanTheIntervalDoesNotDrainAgain) {
  worker_.set_drain_interval(std::chrono::hours(1));
  auto sessions = subscribed_sessions();
  std::size_t written = 0;
  for (auto& s : sessions)
    s->on_write = [&] {
      if (++written == 3) publish(3);
    };
  publish(2);
  run();
  for (std::size_t i = 0; i < kSessions; ++i) {
    const auto& got = sessions[i]->messages;
    ASSERT_EQ(got.size(), 2U) << "session " << i;
    EXPECT_EQ(book_seq(got[0]), 2U) << "session " << i;
    EXPECT_EQ(book_seq(got[1]), 3U) << "session " << i;
  }
  for (auto& s : sessions) worker_.remove(s.get(), true);
}

// A handler that reposts itself stands for a connection's I/O (a TLS handshake moves on
// one step a handler). While the feed publishes during every pass, so that every pass
// lists every session again, passes must not pile up in the queue between its steps:
// exactly one pass runs between two of them. (A version that posted a pass at the end of
// each pass as well as taking the feed's wake-ups let them grow without bound, and TLS
// connects made under load took seconds.)
TEST_F(FlushPass, PassesDoNotPileUpBetweenOtherHandlers) {
  auto sessions = subscribed_sessions();
  constexpr int kSteps = 40;
  int steps = 0;
  std::uint64_t version = 2;
  // Each pass writes session 0 once (it is first in every pass) and publishes then,
  // before the pass drains again: so the pass ends with every session listed again and
  // nothing left to drain (the point where a worker that re-arms would let the feed post
  // a wake-up beside its own next pass).
  sessions[0]->on_write = [&] {
    if (steps < kSteps) publish(version++);
  };
  std::vector<std::size_t> passes_between; // session 0's messages between two steps
  std::size_t seen = sessions[0]->messages.size();
  std::function<void()> step = [&] {
    passes_between.push_back(sessions[0]->messages.size() - seen);
    seen = sessions[0]->messages.size();
    if (++steps < kSteps) net::post(worker_.context(), step);
  };
  net::post(worker_.context(), step);
  publish(version++);
  // At most this many handlers: passes that pile up would never let the queue empty.
  worker_.context().restart();
  for (int k = 0; k < 20000 && worker_.context().poll_one() != 0; ++k) {
  }

  ASSERT_EQ(passes_between.size(), std::size_t(kSteps)) << "the steps did not all run";
  // The first step runs before any pass; every later one after exactly one.
  EXPECT_EQ(passes_between[0], 0U);
  for (std::size_t k = 1; k < passes_between.size(); ++k) EXPECT_EQ(passes_between[k], 1U) << "passes before step " << k;
  for (auto& s : sessions) worker_.remove(s.get(), true);
}

}  // namespace
}  // namespace mdgw
