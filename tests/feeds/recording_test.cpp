// Tests of the recording file (feeds/recording/): what a producer publishes is written by
// recording_writer and read back by capture_reader field for field; the book diffs
// rebuild every published top exactly (the oracle: the tops the publication itself
// served, read from its slots after each publish); a truncated file and a corrupted
// byte are reported with the documented status and byte offset and everything before
// them stays readable; several producers share one file; replay_feed publishes the
// recorded tops again and refuses a symbol another feed has.
#include "capture_reader.hpp"
#include "crypto/crc32.hpp"
#include "publication.hpp"
#include "recording_writer.hpp"
#include "replay_feed.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace mdgw::recording {
namespace {

using namespace std::chrono_literals;

class temp_file {
public:
  explicit temp_file(const std::string& tag)
      : path_((std::filesystem::temp_directory_path() /
               ("mdgw-recording-test-" + tag + "-" + std::to_string(::getpid()) + ".rec"))
                  .string()) {}
  ~temp_file() { std::filesystem::remove(path_); }
  [[nodiscard]] const std::string& path() const { return path_; }

private:
  std::string path_;
};

std::vector<char> read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_all(const std::string& path, const std::vector<char>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

instrument_info make_info(const std::string& symbol, int price_scale = 4, int qty_scale = 0) {
  instrument_info in;
  in.symbol = symbol;
  in.venue = "TST";
  in.price_scale = price_scale;
  in.qty_scale = qty_scale;
  in.tick_size = 100;
  in.lot_size = 1;
  return in;
}

instrument_state make_state(std::uint64_t version) {
  instrument_state s;
  s.version = version;
  s.exch_ts = 1'000 + version;
  s.recv_ts = 2'000 + version;
  s.trading_state = 'H';
  std::memcpy(s.reason, "LUDP", 4);
  s.short_sale = '1';
  s.mwcb_breached = '2';
  s.has_luld = 1;
  s.luld_reference = 1'000'000;
  s.luld_upper = 1'100'000;
  s.luld_lower = 900'000;
  s.has_imbalance = 1;
  s.imbalance_direction = 'B';
  s.cross_type = 'C';
  s.price_variation = 'A';
  s.paired_qty = 500;
  s.imbalance_qty = 300;
  s.far_price = 1'010'000;
  s.near_price = 1'005'000;
  s.reference_price = 1'002'500;
  s.imbalance_ts = 3'000 + version;
  return s;
}

void expect_same_state(const instrument_state& a, const instrument_state& b) {
  EXPECT_EQ(a.version, b.version);
  EXPECT_EQ(a.exch_ts, b.exch_ts);
  EXPECT_EQ(a.recv_ts, b.recv_ts);
  EXPECT_EQ(a.trading_state, b.trading_state);
  EXPECT_EQ(std::string(a.reason, 4), std::string(b.reason, 4));
  EXPECT_EQ(a.short_sale, b.short_sale);
  EXPECT_EQ(a.mwcb_breached, b.mwcb_breached);
  EXPECT_EQ(a.has_luld, b.has_luld);
  EXPECT_EQ(a.luld_reference, b.luld_reference);
  EXPECT_EQ(a.luld_upper, b.luld_upper);
  EXPECT_EQ(a.luld_lower, b.luld_lower);
  EXPECT_EQ(a.has_imbalance, b.has_imbalance);
  EXPECT_EQ(a.imbalance_direction, b.imbalance_direction);
  EXPECT_EQ(a.cross_type, b.cross_type);
  EXPECT_EQ(a.price_variation, b.price_variation);
  EXPECT_EQ(a.paired_qty, b.paired_qty);
  EXPECT_EQ(a.imbalance_qty, b.imbalance_qty);
  EXPECT_EQ(a.far_price, b.far_price);
  EXPECT_EQ(a.near_price, b.near_price);
  EXPECT_EQ(a.reference_price, b.reference_price);
  EXPECT_EQ(a.imbalance_ts, b.imbalance_ts);
}

// The levels of a top, bids then asks, best first.
std::vector<price_level> levels_of(const book_top& t) {
  return {t.levels, t.levels + t.n_bids + t.n_asks};
}
std::vector<price_level> top_of(const level_book& b, std::size_t depth = kMaxDepth) {
  std::vector<price_level> out(2 * depth);
  const std::size_t nb = b.copy_top(side::bid, depth, out.data());
  const std::size_t na = b.copy_top(side::ask, depth, out.data() + nb);
  out.resize(nb + na);
  return out;
}

TEST(Recording, EveryEventKindRoundTrips) {
  temp_file f("roundtrip");
  std::vector<std::vector<price_level>> published; // the tops the publication served
  {
    recording_writer w(f.path(), "9.9.9");
    publication pub(1, 8);
    const auto before = pub.add_instrument(make_info("TST:AAA")); // announced by set_recorder
    pub.set_recorder(w);
    producer& p = pub.add_producer(64);
    const auto after = pub.add_instrument(make_info("TST:BBB", 2, 3)); // announced by add_instrument
    ASSERT_TRUE(before && after);
    level_book book;
    ASSERT_EQ(book.add(side::bid, 1'000'000, 300, 2), apply_status::ok);
    ASSERT_EQ(book.add(side::ask, 1'000'100, 200, 1), apply_status::ok);
    p.publish_book(*before, book, 7, 111, 222, 333, data_quality::stale, quality_reason::sequence_gap);
    p.publish_trade(*before, side::ask, 1'000'000, 50, 1, 444, 555);
    p.publish_state(*after, make_state(3));
    p.flush();
    ASSERT_EQ(book.reduce(side::bid, 1'000'000, 100, 1), apply_status::ok);
    ASSERT_EQ(book.add(side::bid, 999'900, 10, 1), apply_status::ok);
    p.publish_book(*before, book, 8, 666, 777, 888);
    p.flush();
    p.flush(); // an empty batch writes nothing
    ASSERT_EQ(w.close(), "");
    EXPECT_EQ(w.batches(), 3U); // the instruments, then the two producer batches
  }
  capture_reader r(f.path());
  EXPECT_EQ(r.header().format_version, kFormatVersion);
  EXPECT_EQ(r.header().mdgw_version, "9.9.9");
  EXPECT_GT(r.header().created_ns, 1'600'000'000'000'000'000ULL);

  recorded_batch b;
  ASSERT_EQ(r.next(b), capture_reader::status::ok);
  ASSERT_EQ(b.instruments.size(), 2U);
  EXPECT_EQ(b.events.size(), 2U);
  EXPECT_EQ(b.instruments[0].symbol, "TST:AAA");
  EXPECT_EQ(b.instruments[0].id, 0U);
  EXPECT_EQ(b.instruments[1].symbol, "TST:BBB");
  EXPECT_EQ(b.instruments[1].id, 1U);
  EXPECT_EQ(b.instruments[1].venue, "TST");
  EXPECT_EQ(b.instruments[1].price_scale, 2);
  EXPECT_EQ(b.instruments[1].qty_scale, 3);
  EXPECT_EQ(b.instruments[1].tick_size, 100);
  const std::uint64_t first_ts = b.recv_ts;

  ASSERT_EQ(r.next(b), capture_reader::status::ok);
  EXPECT_GE(b.recv_ts, first_ts);
  ASSERT_EQ(b.events.size(), 3U);
  EXPECT_EQ(b.events[0].what, recorded_event::kind::book);
  EXPECT_EQ(b.events[1].what, recorded_event::kind::trade);
  EXPECT_EQ(b.events[2].what, recorded_event::kind::state);
  const recorded_book& bk = b.books[0];
  EXPECT_EQ(bk.instrument, 0U);
  EXPECT_EQ(bk.version, 7U);
  EXPECT_EQ(bk.exch_ts, 111U);
  EXPECT_EQ(bk.recv_ts, 222U);
  EXPECT_EQ(bk.quality, data_quality::stale);
  EXPECT_EQ(bk.reason, quality_reason::sequence_gap);
  ASSERT_EQ(bk.n_levels, 2U);
  EXPECT_EQ(b.levels[0], (recorded_level{side::bid, 1'000'000, 300, 2}));
  EXPECT_EQ(b.levels[1], (recorded_level{side::ask, 1'000'100, 200, 1}));
  EXPECT_EQ(b.trades[0], (recorded_trade{0, side::ask, 1'000'000, 50, 1, 444, 555}));
  EXPECT_EQ(b.states[0].instrument, 1U);
  expect_same_state(b.states[0].state, make_state(3));

  ASSERT_EQ(r.next(b), capture_reader::status::ok);
  ASSERT_EQ(b.books.size(), 1U);
  EXPECT_EQ(b.books[0].version, 8U);
  EXPECT_EQ(b.books[0].quality, data_quality::ok);
  // Only what changed: the reduced best bid and the new second bid; the ask is unchanged.
  ASSERT_EQ(b.books[0].n_levels, 2U);
  EXPECT_EQ(b.levels[0], (recorded_level{side::bid, 1'000'000, 200, 1}));
  EXPECT_EQ(b.levels[1], (recorded_level{side::bid, 999'900, 10, 1}));

  EXPECT_EQ(r.next(b), capture_reader::status::end);
  EXPECT_EQ(r.next(b), capture_reader::status::end);
  r.rewind();
  ASSERT_EQ(r.next(b), capture_reader::status::ok);
  EXPECT_EQ(b.instruments.size(), 2U);
}

TEST(Recording, DiffSideMergesByPrice) {
  const std::vector<price_level> prev = {{105, 1, 1, 0}, {104, 2, 1, 0}, {102, 3, 1, 0}};
  const std::vector<price_level> now = {{106, 9, 1, 0}, {104, 2, 2, 0}, {103, 4, 1, 0}};
  std::vector<recorded_level> out;
  diff_side(side::bid, prev, now, out);
  const std::vector<recorded_level> want = {{side::bid, 106, 9, 1}, {side::bid, 105, 0, 0}, {side::bid, 104, 2, 2},
                                            {side::bid, 103, 4, 1}, {side::bid, 102, 0, 0}};
  EXPECT_EQ(out, want);
}

// Random order flow on two instruments, books deeper than a top at times (levels move in
// and out of the top 50), empty sides, every top published and recorded: replaying the
// diffs must give every published top exactly, in order.
TEST(Recording, DiffsRebuildEveryPublishedTop) {
  temp_file f("diffs");
  std::vector<std::vector<std::vector<price_level>>> served(2);
  {
    recording_writer w(f.path(), "t");
    publication pub(1, 4);
    pub.set_recorder(w);
    const auto a = pub.add_instrument(make_info("TST:A"));
    const auto c = pub.add_instrument(make_info("TST:C"));
    ASSERT_TRUE(a && c);
    producer& p = pub.add_producer(64);
    std::vector<level_book> books(2);
    std::mt19937_64 rng(7);
    std::uint64_t version = 0;
    for (int step = 0; step < 4000; ++step) {
      const std::size_t k = rng() % 2;
      const side s = rng() % 2 == 0 ? side::bid : side::ask;
      const price_t base = s == side::bid ? 10'000 : 10'100;
      // Wide at first (deeper than 50 levels), then narrow; sometimes cleared.
      const price_t spread = step < 2000 ? 120 : 20;
      const price_t px = s == side::bid ? base - static_cast<price_t>(rng() % spread)
                                        : base + static_cast<price_t>(rng() % spread);
      if (rng() % 500 == 0) {
        books[k].clear();
      } else if (rng() % 3 == 0 && books[k].depth(s) > 0) {
        const price_level& l = books[k].level(s, rng() % books[k].depth(s));
        (void)books[k].reduce(s, l.price, l.qty, l.orders);
      } else {
        (void)books[k].add(s, px, 1 + static_cast<qty_t>(rng() % 100), 1);
      }
      const instrument_id id = k == 0 ? *a : *c;
      ++version;
      p.publish_book(id, books[k], version, version, version, version);
      book_top t;
      pub.read_top(id, t);
      served[k].push_back(levels_of(t));
      if (rng() % 4 == 0) p.flush();
    }
    p.flush();
    ASSERT_EQ(w.close(), "");
  }
  capture_reader r(f.path());
  recorded_batch b;
  std::vector<level_book> rebuilt(2);
  std::vector<std::size_t> seen(2, 0);
  std::size_t max_depth_seen = 0;
  while (r.next(b) == capture_reader::status::ok) {
    for (const recorded_book& bk : b.books) {
      ASSERT_LT(bk.instrument, 2U);
      EXPECT_EQ(apply_levels(rebuilt[bk.instrument], std::span(b.levels).subspan(bk.first_level, bk.n_levels)), 0U);
      const auto top = top_of(rebuilt[bk.instrument]);
      max_depth_seen = std::max(max_depth_seen, rebuilt[bk.instrument].depth(side::bid));
      ASSERT_LT(seen[bk.instrument], served[bk.instrument].size());
      ASSERT_EQ(top, served[bk.instrument][seen[bk.instrument]]) << "instrument " << bk.instrument << " event "
                                                                 << seen[bk.instrument];
      ++seen[bk.instrument];
    }
  }
  EXPECT_EQ(r.next(b), capture_reader::status::end);
  EXPECT_EQ(seen[0], served[0].size());
  EXPECT_EQ(seen[1], served[1].size());
  EXPECT_EQ(max_depth_seen, kMaxDepth); // the deep phase really filled a whole top
}

// A recording of `batches` one-trade batches; returns the byte offsets of its records.
std::vector<std::uint64_t> write_trades(const std::string& path, int batches) {
  {
    recording_writer w(path, "t");
    publication pub(1, 4);
    pub.set_recorder(w);
    const auto id = pub.add_instrument(make_info("TST:T"));
    producer& p = pub.add_producer(64);
    for (int k = 1; k <= batches; ++k) {
      p.publish_trade(*id, side::bid, 100 * k, k, static_cast<std::uint64_t>(k), 1, 2);
      p.flush();
    }
    EXPECT_EQ(w.close(), "");
  }
  capture_reader r(path);
  std::vector<std::uint64_t> offsets{r.offset()};
  recorded_batch b;
  while (r.next(b) == capture_reader::status::ok) offsets.push_back(r.offset());
  return offsets; // the last one is the file size
}

TEST(Recording, TruncatedTailKeepsEverythingBeforeIt) {
  temp_file f("truncated");
  const auto offsets = write_trades(f.path(), 5); // records: instruments + 5 trades
  ASSERT_EQ(offsets.size(), 7U);
  const auto bytes = read_all(f.path());
  ASSERT_EQ(bytes.size(), offsets.back());
  // Cut inside the last record's prefix and inside its message.
  for (const std::uint64_t cut : {offsets[5] + 3, offsets[5] + 20, offsets[6] - 1}) {
    write_all(f.path(), {bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut)});
    capture_reader r(f.path());
    recorded_batch b;
    int good = 0;
    capture_reader::status st;
    while ((st = r.next(b)) == capture_reader::status::ok) ++good;
    EXPECT_EQ(st, capture_reader::status::truncated) << cut;
    EXPECT_EQ(good, 5) << cut; // the instruments and 4 of 5 trades
    EXPECT_EQ(r.offset(), offsets[5]);
    EXPECT_NE(r.error().find(f.path() + ": truncated record at byte offset " + std::to_string(offsets[5])),
              std::string::npos)
        << r.error();
    const capture_summary s = scan_capture(f.path());
    EXPECT_EQ(s.end, capture_reader::status::truncated);
    EXPECT_EQ(s.error_offset, offsets[5]);
    EXPECT_EQ(s.trades, 4U);
  }
}

TEST(Recording, CorruptedByteIsReportedWithItsOffset) {
  temp_file f("corrupt");
  const auto offsets = write_trades(f.path(), 5);
  auto bytes = read_all(f.path());
  // A byte in the middle of the third record's message (the second trade).
  const std::uint64_t at = offsets[2] + kRecordPrefix + (offsets[3] - offsets[2] - kRecordPrefix) / 2;
  bytes[at] = static_cast<char>(bytes[at] ^ 0x40);
  write_all(f.path(), bytes);
  capture_reader r(f.path());
  recorded_batch b;
  int good = 0;
  capture_reader::status st;
  while ((st = r.next(b)) == capture_reader::status::ok) ++good;
  EXPECT_EQ(st, capture_reader::status::corrupt);
  EXPECT_EQ(good, 2);
  EXPECT_EQ(r.error(), f.path() + ": corrupt record at byte offset " + std::to_string(offsets[2]) + ": CRC-32 mismatch");
  EXPECT_EQ(r.next(b), capture_reader::status::corrupt); // sticky

  // A length that is not a whole number of words.
  bytes = read_all(f.path());
  bytes[at] = static_cast<char>(bytes[at] ^ 0x40); // repaired
  bytes[offsets[4]] = static_cast<char>(bytes[offsets[4]] + 1);
  write_all(f.path(), bytes);
  const capture_summary s = scan_capture(f.path());
  EXPECT_EQ(s.end, capture_reader::status::corrupt);
  EXPECT_EQ(s.error_offset, offsets[4]);
  EXPECT_NE(s.error.find("bad record length"), std::string::npos) << s.error;
  EXPECT_EQ(s.trades, 3U);
}

// Records whose CRC is right but whose Cap'n Proto message is not (every byte of a
// record's message flipped in turn, the CRC recomputed): the reader reports corrupt or
// decodes a valid batch, never crashes, never throws, and keeps the batches before it.
TEST(Recording, MalformedMessagesWithAValidCrcAreCorruptNotACrash) {
  temp_file f("malformed");
  const auto offsets = write_trades(f.path(), 3);
  const auto original = read_all(f.path());
  const std::uint64_t rec = offsets[2]; // the second trade's record
  const std::uint64_t len = offsets[3] - rec - kRecordPrefix;
  int corrupt = 0;
  for (std::uint64_t k = 0; k < len; ++k) {
    for (const unsigned char mask : {0x01, 0x80, 0xff}) {
      auto bytes = original;
      bytes[rec + kRecordPrefix + k] = static_cast<char>(bytes[rec + kRecordPrefix + k] ^ mask);
      const std::uint32_t crc = crypto::crc32(bytes.data() + rec + kRecordPrefix, len);
      for (int b = 0; b < 4; ++b) bytes[rec + 4 + static_cast<std::uint64_t>(b)] = static_cast<char>(crc >> (8 * b));
      write_all(f.path(), bytes);
      capture_reader r(f.path());
      recorded_batch batch;
      int good = 0;
      capture_reader::status st;
      while ((st = r.next(batch)) == capture_reader::status::ok) ++good;
      if (st == capture_reader::status::corrupt) {
        ++corrupt;
        EXPECT_EQ(good, 2);
        EXPECT_EQ(r.offset(), rec);
        EXPECT_EQ(r.error().rfind(f.path() + ": corrupt record at byte offset " + std::to_string(rec) + ": ", 0), 0U)
            << r.error();
      } else {
        EXPECT_EQ(st, capture_reader::status::end);
        EXPECT_EQ(good, 4);
      }
    }
  }
  EXPECT_GT(corrupt, 0);
}

TEST(Recording, NotARecordingIsRefusedNamingTheFile) {
  temp_file f("foreign");
  write_all(f.path(), std::vector<char>(100, 'x'));
  try {
    capture_reader r(f.path());
    ADD_FAILURE() << "accepted a foreign file";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(f.path() + ": not an mdgw recording"), std::string::npos) << e.what();
  }
  EXPECT_THROW(capture_reader("/nonexistent/mdgw.rec"), std::runtime_error);
  // The header cut short.
  const auto offsets = write_trades(f.path(), 1);
  auto bytes = read_all(f.path());
  write_all(f.path(), {bytes.begin(), bytes.begin() + 20});
  EXPECT_THROW(capture_reader{f.path()}, std::runtime_error);
}

// Two producers on two threads share one file: every batch is whole (one producer's
// instrument only, its trades numbered without a gap) and nothing is lost.
TEST(RecordingConcurrency, ProducersShareOneFile) {
  temp_file f("shared");
  constexpr int kBatches = 2000;
  constexpr int kPerBatch = 5;
  {
    recording_writer w(f.path(), "t");
    publication pub(1, 4);
    pub.set_recorder(w);
    const auto a = pub.add_instrument(make_info("TST:A"));
    const auto c = pub.add_instrument(make_info("TST:C"));
    producer& pa = pub.add_producer(1 << 16);
    producer& pc = pub.add_producer(1 << 16);
    const auto run = [](producer& p, instrument_id id) {
      std::uint64_t seq = 0;
      for (int k = 0; k < kBatches; ++k) {
        for (int j = 0; j < kPerBatch; ++j) p.publish_trade(id, side::bid, 100, 1, ++seq, 1, 2);
        p.flush();
      }
    };
    std::thread ta(run, std::ref(pa), *a);
    std::thread tc(run, std::ref(pc), *c);
    ta.join();
    tc.join();
    ASSERT_EQ(w.close(), "");
  }
  capture_reader r(f.path());
  recorded_batch b;
  std::vector<std::uint64_t> next_seq(2, 1);
  int batches = 0;
  std::uint64_t last_ts = 0;
  while (r.next(b) == capture_reader::status::ok) {
    EXPECT_GE(b.recv_ts, last_ts);
    last_ts = b.recv_ts;
    if (!b.instruments.empty()) continue;
    ++batches;
    ASSERT_EQ(b.trades.size(), static_cast<std::size_t>(kPerBatch));
    for (const recorded_trade& t : b.trades) {
      ASSERT_EQ(t.instrument, b.trades[0].instrument);
      EXPECT_EQ(t.trade_seq, next_seq[t.instrument]++);
    }
  }
  EXPECT_EQ(batches, 2 * kBatches);
  EXPECT_EQ(next_seq[0], static_cast<std::uint64_t>(kBatches * kPerBatch + 1));
  EXPECT_EQ(next_seq[1], static_cast<std::uint64_t>(kBatches * kPerBatch + 1));
}

// Replay publishes the recorded tops again (as fast as possible, then in a loop with
// increasing versions), and refuses an instrument another feed already has.
TEST(ReplayFeed, PublishesTheRecordedBooks) {
  temp_file f("replay");
  std::vector<std::vector<price_level>> final_tops(3);
  {
    recording_writer w(f.path(), "t");
    publication pub(1, 8);
    pub.set_recorder(w);
    producer& p = pub.add_producer(64);
    std::vector<level_book> books(3);
    for (int k = 0; k < 3; ++k) ASSERT_TRUE(pub.add_instrument(make_info("TST:R" + std::to_string(k))));
    std::mt19937_64 rng(3);
    for (std::uint64_t v = 1; v <= 300; ++v) {
      const auto k = static_cast<instrument_id>(rng() % 3);
      const side s = rng() % 2 == 0 ? side::bid : side::ask;
      (void)books[k].add(s, s == side::bid ? 5'000 - static_cast<price_t>(rng() % 80) : 5'100 + static_cast<price_t>(rng() % 80),
                         1 + static_cast<qty_t>(rng() % 9), 1);
      p.publish_book(k, books[k], v, v, v, v);
      if (v % 7 == 0) p.publish_trade(k, side::ask, 5'000, 1, v, v, v);
      p.flush();
    }
    for (instrument_id k = 0; k < 3; ++k) {
      book_top t;
      pub.read_top(k, t);
      final_tops[k] = levels_of(t);
    }
    ASSERT_EQ(w.close(), "");
  }
  const capture_summary scan = scan_capture(f.path());
  ASSERT_EQ(scan.instruments.size(), 3U);
  std::uint64_t one_pass_version = 0; // TST:R0's version at the end of one pass
  {
    publication pub(1, 8);
    ASSERT_TRUE(pub.add_instrument(make_info("TST:OTHER")));
    replay_config rc;
    rc.file = f.path();
    rc.rate = 0;
    replay_feed feed(rc, scan, pub);
    feed.start();
    for (int i = 0; i < 5000 && !feed.finished(); ++i) std::this_thread::sleep_for(1ms);
    ASSERT_TRUE(feed.finished());
    for (int k = 0; k < 3; ++k) {
      const auto id = pub.find("TST:R" + std::to_string(k));
      ASSERT_TRUE(id);
      book_top t;
      pub.read_top(*id, t);
      EXPECT_EQ(levels_of(t), final_tops[static_cast<std::size_t>(k)]) << k;
      if (k == 0) one_pass_version = t.version;
    }
    ASSERT_GT(one_pass_version, 0U);
    const feed_status st = feed.status();
    EXPECT_EQ(st.name, "replay");
    EXPECT_EQ(st.state, "finished");
    EXPECT_EQ(st.events, scan.books + scan.trades);
    EXPECT_EQ(st.errors, 0U);
  }
  {
    publication pub(1, 8);
    replay_config rc;
    rc.file = f.path();
    rc.rate = 0;
    rc.loop = true;
    replay_feed feed(rc, scan, pub);
    feed.start();
    const auto loops = [&feed] {
      for (const auto& [name, v] : feed.status().counters) {
        if (name == "loops") return v;
      }
      return std::uint64_t{0};
    };
    for (int i = 0; i < 5000 && loops() < 3; ++i) std::this_thread::sleep_for(1ms);
    feed.stop();
    ASSERT_GE(loops(), 3U);
    book_top t;
    pub.read_top(*pub.find("TST:R0"), t);
    // Versions keep increasing across passes: three whole passes are done (the fourth
    // may not have published TST:R0 yet when the feed stops).
    EXPECT_GE(t.version, 3 * one_pass_version);
    EXPECT_FALSE(feed.finished());
  }
  {
    publication pub(1, 8);
    ASSERT_TRUE(pub.add_instrument(make_info("TST:R1")));
    replay_config rc;
    rc.file = f.path();
    try {
      replay_feed feed(rc, scan, pub);
      ADD_FAILURE() << "a symbol clash was accepted";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("TST:R1"), std::string::npos) << e.what();
    }
  }
}

} // namespace
} // namespace mdgw::recording
