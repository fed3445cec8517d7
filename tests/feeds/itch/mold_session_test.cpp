// mold_session on crafted MoldUDP64 packets: in order, duplicates, gaps filled by a
// retransmission reply, reordering, heartbeats and end of session revealing gaps, foreign
// sessions, malformed and truncated packets, the batch budget, the buffer bound,
// re-request timeouts and giving up; then a randomized run against a lossy, reordering,
// duplicating network and a lossy retransmission server. Packets are built byte by byte
// here (not with mold::packet_writer) so the tests do not share the code under test.
#include "moldudp64.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace mdgw::itch {
namespace {

using namespace std::chrono_literals;
using bytes = std::vector<std::uint8_t>;

void put_be(bytes& b, std::uint64_t v, int n) {
  for (int i = n - 1; i >= 0; --i) b.push_back(static_cast<std::uint8_t>((v >> (8 * i)) & 0xFF));
}

bytes header(std::string_view session, std::uint64_t seq, std::uint16_t count) {
  bytes b;
  for (std::size_t i = 0; i < 10; ++i) b.push_back(static_cast<std::uint8_t>(i < session.size() ? session[i] : ' '));
  put_be(b, seq, 8);
  put_be(b, count, 2);
  return b;
}

// Message k is 9 bytes: 'M' and k as u64 BE, so the sink can tell which one it got.
bytes packet(std::uint64_t first, std::uint16_t count, std::string_view session = "SESSION1") {
  bytes b = header(session, first, count);
  for (std::uint64_t k = first; k < first + count; ++k) {
    put_be(b, 9, 2);
    b.push_back('M');
    put_be(b, k, 8);
  }
  return b;
}
bytes heartbeat(std::uint64_t next, std::string_view session = "SESSION1") { return header(session, next, 0); }
bytes end_of_session(std::uint64_t next, std::string_view session = "SESSION1") {
  return header(session, next, 0xFFFF);
}

class seq_sink final : public message_sink {
public:
  std::vector<std::uint64_t> got;
  std::uint64_t bad = 0;
  void on_message(const std::uint8_t* msg, std::size_t len) override {
    if (len != 9 || msg[0] != 'M') {
      ++bad;
      return;
    }
    std::uint64_t k = 0;
    for (int i = 1; i < 9; ++i) k = (k << 8) | msg[i];
    got.push_back(k);
  }
};

std::vector<std::uint64_t> range(std::uint64_t first, std::uint64_t end) {
  std::vector<std::uint64_t> v;
  for (std::uint64_t k = first; k < end; ++k) v.push_back(k);
  return v;
}

mold_session_config quiet() {
  mold_session_config c;
  c.log = [](std::string_view) {};
  return c;
}

struct fixture {
  mold_session s;
  seq_sink sink;
  explicit fixture(mold_session_config c = quiet()) : s(std::move(c)) {}
  std::size_t feed(const bytes& b, std::size_t budget = 1'000'000) { return s.on_packet(b, sink, budget); }
  std::vector<mold_request> due(std::chrono::nanoseconds now) {
    const auto r = s.requests_due(now);
    return {r.begin(), r.end()};
  }
};

TEST(MoldSession, InOrderPacketsDeliverEveryMessageOnce) {
  fixture f;
  EXPECT_EQ(f.feed(packet(1, 3)), 3U);
  EXPECT_EQ(f.feed(packet(4, 2)), 2U);
  EXPECT_EQ(f.feed(heartbeat(6)), 0U);
  EXPECT_EQ(f.feed(packet(6, 1)), 1U);
  EXPECT_EQ(f.sink.got, range(1, 7));
  EXPECT_EQ(f.sink.bad, 0U);
  EXPECT_EQ(f.s.session(), "SESSION1  ");
  EXPECT_EQ(f.s.next_sequence(), 7U);
  EXPECT_FALSE(f.s.gap_open());
  EXPECT_TRUE(f.due(0ns).empty());
  EXPECT_EQ(f.s.counters().delivered, 6U);
  EXPECT_EQ(f.s.counters().packets, 3U);
  EXPECT_EQ(f.s.counters().heartbeats, 1U);
  EXPECT_EQ(f.s.counters().gaps, 0U);
}

// A sink that takes runs (itch_feed: the book's cache hints look along them) gets a
// packet's in-order messages at once, at most 256 a run, cut at the budget; held
// messages drained later come as runs too. It keeps what each run showed as look-ahead
// (the messages' sequences; 0 for one that is not a 9-byte 'M').
class run_sink final : public message_sink {
public:
  seq_sink messages;
  std::vector<std::size_t> runs;
  std::vector<std::vector<std::uint64_t>> aheads;
  void on_message(const std::uint8_t* msg, std::size_t len) override { messages.on_message(msg, len); }
  void on_batch(const std::span<const std::uint8_t>* msgs, std::size_t n, std::size_t ahead) override {
    runs.push_back(n);
    for (std::size_t i = 0; i < n; ++i) messages.on_message(msgs[i].data(), msgs[i].size());
    std::vector<std::uint64_t> shown;
    for (std::size_t i = n; i < n + ahead; ++i) {
      std::uint64_t k = 0;
      if (msgs[i].size() == 9 && msgs[i][0] == 'M') {
        for (std::size_t j = 1; j < 9; ++j) k = k << 8 | msgs[i][j];
      }
      shown.push_back(k);
    }
    aheads.push_back(std::move(shown));
  }
};

using seqs = std::vector<std::uint64_t>;

TEST(MoldSession, PacketsAreDeliveredAsRunsToASinkThatTakesThem) {
  mold_session s(quiet());
  run_sink sink;
  EXPECT_EQ(s.on_packet(packet(1, 300), sink, 1'000'000), 300U);
  EXPECT_EQ(sink.runs, (std::vector<std::size_t>{256, 44}));
  EXPECT_EQ(s.on_packet(packet(301, 50), sink, 20), 20U); // the budget cuts the run
  EXPECT_EQ(s.drain(sink, 1'000'000), 30U);                // the held tail, one run
  EXPECT_EQ(s.on_packet(packet(361, 5), sink, 1'000'000), 0U); // 351..360 missing: held
  EXPECT_EQ(s.on_packet(packet(351, 10), sink, 1'000'000), 15U); // the fill, then the held packet
  EXPECT_EQ(sink.runs, (std::vector<std::size_t>{256, 44, 20, 30, 10, 5}));
  EXPECT_EQ(sink.messages.got, range(1, 366));
  EXPECT_EQ(sink.messages.bad, 0U);
  for (const seqs& a : sink.aheads) EXPECT_TRUE(a.empty()) << "no next datagram given, none shown";
}

TEST(MoldSession, TheNextDatagramIsShownAheadOnlyWhenItContinuesThePacket) {
  mold_session s(quiet());
  run_sink sink;
  // It continues: the last run of the packet shows its first kAhead messages.
  EXPECT_EQ(s.on_packet(packet(1, 300), sink, 1'000'000, packet(301, 40)), 300U);
  ASSERT_EQ(sink.aheads.size(), 2U);
  EXPECT_TRUE(sink.aheads[0].empty()) << "the packet's first run is followed by its own messages";
  EXPECT_EQ(sink.aheads[1], range(301, 301 + mold_session::kAhead));
  // Nothing of it was delivered or counted: it is delivered when it comes.
  EXPECT_EQ(s.next_sequence(), 301U);
  EXPECT_EQ(s.highest_sequence(), 301U);
  EXPECT_EQ(s.counters().packets, 1U);
  EXPECT_EQ(s.on_packet(packet(301, 40), sink, 1'000'000, packet(341, 3)), 40U);
  EXPECT_EQ(sink.aheads.back(), range(341, 344)) << "a shorter packet is shown whole";

  // Not shown: a packet further on (a gap), an older one, another session's, a
  // heartbeat, the end of session, a datagram shorter than a header.
  std::uint64_t at = 341;
  EXPECT_EQ(s.on_packet(packet(at, 3), sink, 1'000'000, packet(at + 3, 2)), 3U);
  EXPECT_EQ(sink.aheads.back(), range(at + 3, at + 5)) << "the control case";
  at += 3;
  for (int c = 0; c < 6; ++c) {
    const bytes next = c == 0   ? packet(at + 4, 5)
                       : c == 1 ? packet(at + 2, 5)
                       : c == 2 ? packet(at + 3, 5, "OTHER")
                       : c == 3 ? heartbeat(at + 3)
                       : c == 4 ? end_of_session(at + 3)
                                : bytes(12, 0);
    EXPECT_EQ(s.on_packet(packet(at, 3), sink, 1'000'000, next), 3U);
    EXPECT_TRUE(sink.aheads.back().empty()) << "case " << c;
    at += 3;
  }
  // Nor when the budget cuts the packet: its tail is held and goes first.
  EXPECT_EQ(s.on_packet(packet(at, 10), sink, 4, packet(at + 10, 5)), 4U);
  EXPECT_TRUE(sink.aheads.back().empty()) << "cut by the budget";
  EXPECT_EQ(s.drain(sink, 1'000'000), 6U);
  at += 10;
  // A next packet that frames badly is shown up to its first bad block, and dropped whole
  // (counted) when it comes.
  bytes bad = packet(at + 3, 5);
  bad[20 + 2 * 11] = 0xFF; // the third message's length runs past the datagram
  EXPECT_EQ(s.on_packet(packet(at, 3), sink, 1'000'000, bad), 3U);
  EXPECT_EQ(sink.aheads.back(), range(at + 3, at + 5));
  EXPECT_EQ(s.on_packet(bad, sink, 1'000'000), 0U);
  EXPECT_EQ(s.counters().malformed, 1U);
  at += 3;
  // Every truncation of a next packet (an exact-size copy: ASan sees any read past it)
  // shows exactly its whole messages.
  for (std::size_t len = 0; len <= 20 + 5 * 11; ++len) {
    const bytes whole = packet(at + 3, 5);
    const bytes cut(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(len));
    EXPECT_EQ(s.on_packet(packet(at, 3), sink, 1'000'000, cut), 3U);
    const std::size_t complete = len < 20 ? 0 : (len - 20) / 11;
    EXPECT_EQ(sink.aheads.back(), range(at + 3, at + 3 + complete)) << "cut to " << len << " bytes";
    at += 3;
  }
  EXPECT_EQ(s.counters().foreign_session, 0U) << "a datagram only looked at is not counted";
  EXPECT_EQ(sink.messages.got, range(1, at));
  EXPECT_EQ(sink.messages.bad, 0U);
}

TEST(MoldSession, DuplicatesAreCountedAndNeverDeliveredTwice) {
  fixture f;
  f.feed(packet(1, 3));
  EXPECT_EQ(f.feed(packet(1, 3)), 0U);
  EXPECT_EQ(f.feed(packet(2, 3)), 1U); // 2, 3 again; 4 is new
  EXPECT_EQ(f.sink.got, range(1, 5));
  EXPECT_EQ(f.s.counters().duplicate_packets, 1U);
  EXPECT_EQ(f.s.counters().duplicate_messages, 5U);
  EXPECT_FALSE(f.s.gap_open());
}

TEST(MoldSession, GapIsReRequestedAndFilledByTheReply) {
  fixture f;
  f.feed(packet(1, 2));
  EXPECT_EQ(f.feed(packet(5, 2)), 0U); // 3 and 4 missing: held
  EXPECT_TRUE(f.s.gap_open());
  EXPECT_EQ(f.sink.got, range(1, 3));
  EXPECT_EQ(f.due(1ms), (std::vector<mold_request>{{3, 2}}));
  EXPECT_EQ(f.s.counters().gaps, 1U);
  EXPECT_TRUE(f.due(2ms).empty()); // outstanding, not timed out
  EXPECT_EQ(f.feed(packet(3, 2)), 4U); // the reply, then the held packet
  EXPECT_EQ(f.sink.got, range(1, 7));
  EXPECT_FALSE(f.s.gap_open());
  EXPECT_EQ(f.s.buffered_bytes(), 0U);
  EXPECT_TRUE(f.due(3ms).empty());
  EXPECT_EQ(f.s.counters().gaps_filled, 1U);
  EXPECT_EQ(f.s.counters().requests, 1U);
  EXPECT_EQ(f.s.counters().lost, 0U);
}

TEST(MoldSession, ReorderedPacketsAreHeldAndDeliveredInOrder) {
  fixture f;
  f.feed(packet(1, 1));
  EXPECT_EQ(f.feed(packet(6, 2)), 0U);
  EXPECT_EQ(f.feed(packet(4, 2)), 0U);
  EXPECT_EQ(f.s.counters().buffered_packets, 2U);
  EXPECT_EQ(f.due(0ns), (std::vector<mold_request>{{2, 2}}));
  EXPECT_EQ(f.feed(packet(2, 2)), 6U);
  EXPECT_EQ(f.sink.got, range(1, 8));
  EXPECT_FALSE(f.s.gap_open());
}

TEST(MoldSession, LateJoinReRequestsFromTheFirstSequence) {
  fixture f;
  EXPECT_EQ(f.feed(packet(10, 2)), 0U);
  EXPECT_TRUE(f.s.gap_open());
  EXPECT_EQ(f.due(0ns), (std::vector<mold_request>{{1, 9}}));
}

TEST(MoldSession, HeartbeatRevealsAGap) {
  fixture f;
  f.feed(packet(1, 2));
  f.feed(heartbeat(3));
  EXPECT_FALSE(f.s.gap_open());
  f.feed(heartbeat(5)); // 3 and 4 were sent and lost
  EXPECT_TRUE(f.s.gap_open());
  EXPECT_EQ(f.s.highest_sequence(), 5U);
  EXPECT_EQ(f.due(0ns), (std::vector<mold_request>{{3, 2}}));
  f.feed(packet(3, 2));
  EXPECT_FALSE(f.s.gap_open());
  EXPECT_EQ(f.sink.got, range(1, 5));
}

TEST(MoldSession, EndOfSessionEndsOnceEverythingBeforeItIsDelivered) {
  fixture f;
  f.feed(packet(1, 2));
  f.feed(end_of_session(5));
  EXPECT_FALSE(f.s.ended()); // 3 and 4 are still missing
  EXPECT_TRUE(f.s.gap_open());
  EXPECT_EQ(f.due(0ns), (std::vector<mold_request>{{3, 2}}));
  f.feed(packet(3, 2));
  EXPECT_TRUE(f.s.ended());
  EXPECT_FALSE(f.s.gap_open());
  EXPECT_EQ(f.feed(packet(5, 1)), 0U); // past the end
  EXPECT_EQ(f.s.counters().beyond_end, 1U);
  EXPECT_EQ(f.sink.got, range(1, 5));
  EXPECT_EQ(f.s.counters().end_packets, 1U);
}

TEST(MoldSession, ForeignSessionIsCountedAndIgnored) {
  fixture f;
  f.feed(packet(1, 2, "SESSIONA"));
  EXPECT_EQ(f.feed(packet(3, 2, "SESSIONB")), 0U);
  EXPECT_EQ(f.feed(heartbeat(9, "SESSIONB")), 0U);
  EXPECT_EQ(f.feed(end_of_session(3, "SESSIONB")), 0U);
  EXPECT_EQ(f.s.counters().foreign_session, 3U);
  EXPECT_FALSE(f.s.gap_open());
  EXPECT_FALSE(f.s.ended());
  EXPECT_EQ(f.feed(packet(3, 2, "SESSIONA")), 2U);
  EXPECT_EQ(f.sink.got, range(1, 5));
}

TEST(MoldSession, MalformedPacketsAreCountedAndDeliverNothing) {
  int reports = 0;
  mold_session_config c = quiet();
  c.log = [&reports](std::string_view) { ++reports; };
  fixture f(c);
  const bytes good = packet(1, 3);
  bytes short_header(good.begin(), good.begin() + 19);
  bytes count_too_big = good;
  count_too_big[19] = 4; // says 4 messages, holds 3
  bytes length_too_big = good;
  length_too_big[21] = 200; // first message claims 200 bytes
  bytes trailing = good;
  trailing.push_back(0);
  bytes seq_zero = packet(0, 1);
  bytes heartbeat_body = heartbeat(1);
  heartbeat_body.push_back(0);
  bytes seq_overflow = header("SESSION1", UINT64_MAX, 1);
  seq_overflow.insert(seq_overflow.end(), {0, 1, 'M'});
  for (const bytes* b : {&short_header, &count_too_big, &length_too_big, &trailing, &seq_zero, &heartbeat_body,
                         &seq_overflow}) {
    EXPECT_EQ(f.feed(*b), 0U);
  }
  EXPECT_EQ(f.s.counters().malformed, 7U);
  EXPECT_EQ(reports, 1); // once per kind of trouble, then counted
  EXPECT_TRUE(f.sink.got.empty());
  EXPECT_FALSE(f.s.has_session()); // a bad packet does not name the session
  EXPECT_EQ(f.feed(good), 3U);
  EXPECT_EQ(f.sink.got, range(1, 4));
}

TEST(MoldSession, EveryTruncationOfAPacketIsRejectedOrExact) {
  // Under ASan this proves no read past the datagram for any cut.
  const bytes good = packet(1, 5);
  for (std::size_t cut = 0; cut <= good.size(); ++cut) {
    fixture f;
    const bytes b(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(cut));
    const std::size_t n = f.feed(b);
    if (cut == good.size()) {
      EXPECT_EQ(n, 5U);
    } else {
      EXPECT_EQ(n, 0U) << "cut at " << cut;
      EXPECT_EQ(f.s.counters().malformed, 1U) << "cut at " << cut;
    }
  }
  // Random bytes: whatever they say, nothing crashes and the sink only sees whole blocks.
  std::mt19937_64 rng(7);
  fixture f;
  for (int i = 0; i < 20000; ++i) {
    bytes b(rng() % 64);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    if (b.size() >= 20 && i % 2 == 0) std::copy_n("SESSION1  ", 10, b.begin());
    (void)f.s.on_packet(b, f.sink, 100);
  }
  EXPECT_GT(f.s.counters().malformed, 0U);
}

TEST(MoldSession, BudgetCutsAPacketAndDrainDeliversTheRest) {
  fixture f;
  EXPECT_EQ(f.feed(packet(1, 5), 2), 2U);
  EXPECT_TRUE(f.s.ready());
  EXPECT_FALSE(f.s.gap_open()); // held, not missing
  EXPECT_EQ(f.feed(packet(6, 2), 0), 0U);
  EXPECT_EQ(f.s.drain(f.sink, 2), 2U);
  EXPECT_EQ(f.s.drain(f.sink, 10), 3U);
  EXPECT_FALSE(f.s.ready());
  EXPECT_EQ(f.sink.got, range(1, 8));
  EXPECT_EQ(f.s.buffered_bytes(), 0U);
}

TEST(MoldSession, BufferBoundDropsPacketsAheadWhichAreReRequestedLater) {
  mold_session_config c = quiet();
  c.max_buffer_bytes = 2 * 3 * 11; // two packets of 3 messages (11 bytes each with the prefix)
  fixture f(c);
  f.feed(packet(1, 1));
  f.feed(packet(5, 3));
  f.feed(packet(8, 3));
  f.feed(packet(11, 3)); // over the bound: dropped
  EXPECT_EQ(f.s.counters().buffer_full, 1U);
  // 11..13 were announced, then dropped at the bound: a hole like any other.
  EXPECT_EQ(f.due(0ns), (std::vector<mold_request>{{2, 3}, {11, 3}}));
  f.feed(packet(2, 3));
  EXPECT_EQ(f.sink.got, range(1, 11));
  EXPECT_TRUE(f.s.gap_open());
  f.feed(packet(11, 3));
  EXPECT_EQ(f.sink.got, range(1, 14));
  EXPECT_EQ(f.s.counters().lost, 0U);
}

TEST(MoldSession, RequestsAreBoundedAndSeveralHolesAreAskedAtOnce) {
  mold_session_config c = quiet();
  c.max_request_count = 1000;
  c.max_outstanding = 2;
  fixture f(c);
  f.feed(packet(1, 1));
  f.feed(packet(2502, 1)); // hole 2..2501
  f.feed(packet(2600, 1)); // hole 2503..2599
  f.feed(packet(2700, 1)); // hole 2601..2699: beyond max_outstanding for now
  EXPECT_EQ(f.due(0ns), (std::vector<mold_request>{{2, 1000}, {2503, 97}}));
  EXPECT_EQ(f.s.counters().gaps, 2U);
  // The first 1000 arrive: the rest of the first hole is asked for at once.
  for (std::uint64_t k = 2; k < 1002; k += 100) f.feed(packet(k, 100));
  EXPECT_EQ(f.due(1ms), (std::vector<mold_request>{{1002, 1000}}));
}

TEST(MoldSession, UnansweredRequestIsRepeatedThenGivenUp) {
  mold_session_config c = quiet();
  c.request_timeout = 50ms;
  c.max_tries = 3;
  int reports = 0;
  c.log = [&reports](std::string_view) { ++reports; };
  fixture f(c);
  f.feed(packet(1, 2));
  f.feed(packet(5, 2));
  EXPECT_EQ(f.due(0ms), (std::vector<mold_request>{{3, 2}}));
  EXPECT_EQ(f.s.next_deadline(), 50ms);
  EXPECT_TRUE(f.due(49ms).empty());
  EXPECT_EQ(f.due(50ms), (std::vector<mold_request>{{3, 2}}));
  EXPECT_TRUE(f.due(99ms).empty());
  EXPECT_EQ(f.due(100ms), (std::vector<mold_request>{{3, 2}}));
  EXPECT_EQ(f.s.counters().requests, 3U);
  EXPECT_EQ(f.s.counters().request_retries, 2U);
  EXPECT_TRUE(f.s.gap_open());
  EXPECT_EQ(reports, 0);
  EXPECT_TRUE(f.due(150ms).empty()); // third timeout: give up
  EXPECT_EQ(f.s.counters().unrecoverable_gaps, 1U);
  EXPECT_EQ(f.s.counters().lost, 2U);
  EXPECT_EQ(reports, 1);
  EXPECT_FALSE(f.s.gap_open());
  EXPECT_TRUE(f.s.ready()); // delivery resumes after the lost messages
  EXPECT_EQ(f.s.drain(f.sink, 10), 2U);
  EXPECT_EQ((std::vector<std::uint64_t>{1, 2, 5, 6}), f.sink.got);
  // A late answer for the lost messages is a duplicate now.
  EXPECT_EQ(f.feed(packet(3, 2)), 0U);
  EXPECT_EQ(f.sink.got.size(), 4U);
}

TEST(MoldSession, PartialAnswerRestartsTheRequestClock) {
  mold_session_config c = quiet();
  c.request_timeout = 50ms;
  fixture f(c);
  f.feed(packet(1, 1));
  f.feed(packet(11, 1));
  EXPECT_EQ(f.due(0ms), (std::vector<mold_request>{{2, 9}}));
  f.feed(packet(2, 3)); // the server is answering
  EXPECT_TRUE(f.due(40ms).empty());
  EXPECT_TRUE(f.due(60ms).empty()); // would have timed out without the progress
  EXPECT_EQ(f.due(90ms), (std::vector<mold_request>{{5, 6}}));
  EXPECT_EQ(f.s.counters().request_retries, 1U);
}

// A lossy, reordering, duplicating network and a retransmission server that loses some
// answers: every message arrives exactly once, in order, and the session ends.
TEST(MoldSession, RandomLossReorderAndDuplicationDeliverEverythingInOrder) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    std::mt19937_64 rng(seed);
    mold_session_config c = quiet();
    c.request_timeout = 10ms;
    c.max_tries = 1000;
    c.max_request_count = 50;
    c.max_buffer_bytes = (rng() % 2 == 0) ? 400 : (1U << 20);
    fixture f(c);
    std::vector<bytes> wire;
    std::uint64_t seq = 1;
    while (seq < 3000) {
      const auto n = static_cast<std::uint16_t>(1 + rng() % 20);
      wire.push_back(packet(seq, n));
      seq += n;
      if (rng() % 10 == 0) wire.push_back(heartbeat(seq));
    }
    const std::uint64_t total = seq - 1;
    for (int i = 0; i < 3; ++i) wire.push_back(end_of_session(seq));
    // Network: 10% lost, 5% duplicated, 10% swapped with the next.
    std::vector<bytes> net;
    for (const bytes& b : wire) {
      if (rng() % 10 == 0) continue;
      net.push_back(b);
      if (rng() % 20 == 0) net.push_back(b);
    }
    for (std::size_t i = 0; i + 1 < net.size(); ++i) {
      if (rng() % 10 == 0) std::swap(net[i], net[i + 1]);
    }
    net.push_back(end_of_session(seq)); // the replayer repeats it until one arrives
    std::chrono::nanoseconds now{0};
    std::size_t i = 0;
    int steps = 0;
    while (!f.s.ended() && steps++ < 100000) {
      if (i < net.size()) f.feed(net[i++], 1 + rng() % 40);
      f.s.drain(f.sink, 1 + rng() % 40);
      now += 1ms;
      for (const mold_request& r : f.s.requests_due(now)) {
        if (rng() % 4 == 0) continue; // the answer is lost
        for (std::uint64_t k = r.sequence; k < r.sequence + r.count && k <= total;) {
          const auto n = static_cast<std::uint16_t>(std::min<std::uint64_t>(7, total + 1 - k));
          f.feed(packet(k, n), 1 + rng() % 40);
          k += n;
        }
      }
    }
    ASSERT_TRUE(f.s.ended()) << "seed " << seed << ": " << f.s.next_sequence() << " of " << total;
    ASSERT_EQ(f.sink.got, range(1, total + 1)) << "seed " << seed;
    EXPECT_EQ(f.s.counters().lost, 0U);
    EXPECT_GT(f.s.counters().gaps, 0U);
    EXPECT_EQ(f.s.buffered_bytes(), 0U);
  }
}

// The encoder the replayer and tests share agrees with the byte-level builder above.
TEST(MoldWire, PacketWriterMatchesTheSpecificationLayout) {
  std::vector<std::uint8_t> buf(50);
  mold::packet_writer w(buf.data(), buf.size());
  w.start(mold::make_session("SESSION1"), 7);
  const bytes msg7 = {'M', 0, 0, 0, 0, 0, 0, 0, 7};
  const bytes msg8 = {'M', 0, 0, 0, 0, 0, 0, 0, 8};
  ASSERT_TRUE(w.add(msg7.data(), msg7.size()));
  ASSERT_TRUE(w.add(msg8.data(), msg8.size()));
  ASSERT_FALSE(w.add(msg8.data(), msg8.size())); // 20 + 3 * 11 > 50
  buf.resize(w.finish());
  EXPECT_EQ(buf, packet(7, 2));
  bytes hb(20);
  mold::write_header(hb.data(), mold::make_session("SESSION1"), 9, 0);
  EXPECT_EQ(hb, heartbeat(9));
  mold::write_header(hb.data(), mold::make_session("SESSION1"), 9, mold::kEndOfSession);
  EXPECT_EQ(hb, end_of_session(9));
}

} // namespace
} // namespace mdgw::itch
