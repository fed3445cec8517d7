#include "crypto_feed.hpp"

#include "capture.hpp"
#include "crypto_test_util.hpp"
#include "kraken_handler.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace mdgw::crypto {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<kraken_handler> make_kraken() {
  kraken_config kc;
  kc.pairs = test::kraken_capture_pairs();
  return std::make_unique<kraken_handler>(kc);
}

bool wait_state(const feed& f, const std::string& state, std::chrono::seconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (f.status().state == state) return true;
    std::this_thread::sleep_for(1ms);
  }
  return false;
}

void expect_published(const publication& pub, instrument_id id, const crypto_instrument& want) {
  book_top top;
  pub.read_top(id, top);
  EXPECT_EQ(top.quality, want.quality) << want.info.symbol;
  const std::size_t nb = std::min<std::size_t>(want.book.depth(side::bid), kMaxDepth);
  const std::size_t na = std::min<std::size_t>(want.book.depth(side::ask), kMaxDepth);
  ASSERT_EQ(top.n_bids, nb) << want.info.symbol;
  ASSERT_EQ(top.n_asks, na) << want.info.symbol;
  for (std::size_t i = 0; i < nb; ++i) {
    EXPECT_EQ(top.bids()[i].price, want.book.level(side::bid, i).price) << want.info.symbol << " bid " << i;
    EXPECT_EQ(top.bids()[i].qty, want.book.level(side::bid, i).qty) << want.info.symbol << " bid " << i;
  }
  for (std::size_t i = 0; i < na; ++i) {
    EXPECT_EQ(top.asks()[i].price, want.book.level(side::ask, i).price) << want.info.symbol << " ask " << i;
    EXPECT_EQ(top.asks()[i].qty, want.book.level(side::ask, i).qty) << want.info.symbol << " ask " << i;
  }
}

// The feed thread replays kraken-book.ws and publishes; the published top of every pair
// equals the book of a second handler fed the same capture directly.
TEST(CryptoFeed, ReplayPublishesTheHandlersBooks) {
  auto cap = std::make_shared<const capture>(capture::load(test::data_path("kraken-book.ws")));
  auto reference = make_kraken();
  (void)replay(*cap, *reference);

  publication pub(1, 16);
  crypto_feed f("kraken", make_kraken(), std::make_unique<replay_source>(cap, 0.0), pub);
  ASSERT_EQ(f.instrument_count(), 10U);
  // Registered before start: every instrument known, nothing published yet.
  EXPECT_TRUE(pub.find("KRAKEN:XBT/CHF"));
  f.start();
  ASSERT_TRUE(wait_state(f, "finished", 60s));
  for (std::size_t i = 0; i < f.instrument_count(); ++i) {
    ASSERT_EQ(reference->instrument(i).quality, data_quality::ok);
    expect_published(pub, f.publication_id(i), reference->instrument(i));
  }
  const feed_status st = f.status();
  EXPECT_EQ(st.errors, 0U);
  auto counter = [&](const std::string& name) {
    for (const auto& [k, v] : st.counters) {
      if (k == name) return v;
    }
    ADD_FAILURE() << "no counter " << name;
    return std::uint64_t{0};
  };
  EXPECT_EQ(counter("snapshots"), 10U);
  EXPECT_EQ(counter("mismatches"), 0U);
  EXPECT_EQ(counter("frames"), cap->frames());
  f.stop();
  EXPECT_EQ(f.status().state, "stopped");
}

// A scripted source: the capture up to and including the first update of one pair, with
// that update's checksum broken; then (as a live source would after the resync it was
// asked for) a reconnect and the capture again from the start.
class scripted_source final : public crypto_source {
public:
  // pub: the feed's publication, fresh (publication ids = handler indices).
  scripted_source(std::shared_ptr<const capture> c, const publication& pub) : capture_(std::move(c)), pub_(pub) {}

  bool run(crypto_source_host& host, const std::stop_token&) override {
    bool corrupted = false;
    for (const capture_record& r : capture_->records()) {
      if (r.what != capture_record::kind::frame) continue;
      std::string json(r.body.data, r.body.size);
      const auto c = json.find("\"c\":\"");
      if (!corrupted && c != std::string::npos) {
        // A valid checksum, but not this book's.
        const auto end = json.find('"', c + 5);
        const std::string wrong = json.substr(c + 5, end - (c + 5)) == "7" ? "8" : "7";
        json = json.substr(0, c + 5) + wrong + json.substr(end);
        corrupted = true;
        corrupted_frame_ = json;
      }
      frame_buffer fb(json, r.ts_ns);
      host.frame(fb.frame());
      host.end_batch();
      if (corrupted) break;
    }
    // What the owner saw at this point.
    stale_after_corruption_ = resyncs_.size();
    if (!resyncs_.empty()) {
      const std::size_t i = resyncs_.front().first;
      book_top top;
      pub_.read_top(static_cast<instrument_id>(i), top); // what clients are shown
      quality_after_corruption_ = top.quality;
    }
    host.connected();
    host.end_batch();
    for (const capture_record& r : capture_->records()) {
      if (r.what != capture_record::kind::frame) continue;
      host.frame(r.body);
      host.end_batch();
    }
    return true;
  }
  void resync(std::size_t index, resync_reason why) override { resyncs_.emplace_back(index, why); }

  std::vector<std::pair<std::size_t, resync_reason>> resyncs_;
  std::size_t stale_after_corruption_ = 0;
  data_quality quality_after_corruption_ = data_quality::ok;
  std::string corrupted_frame_;

private:
  std::shared_ptr<const capture> capture_;
  const publication& pub_;
};

TEST(CryptoFeed, MismatchPublishesStaleAsksForResyncAndRecovers) {
  auto cap = std::make_shared<const capture>(capture::load(test::data_path("kraken-book.ws")));
  auto reference = make_kraken();
  (void)replay(*cap, *reference);

  publication pub(1, 16);
  auto source = std::make_unique<scripted_source>(cap, pub);
  scripted_source* src = source.get();
  crypto_feed f("kraken", make_kraken(), std::move(source), pub);
  f.start();
  ASSERT_TRUE(wait_state(f, "finished", 60s));
  ASSERT_FALSE(src->corrupted_frame_.empty());
  ASSERT_EQ(src->stale_after_corruption_, 1U);
  EXPECT_EQ(src->resyncs_.front().second, resync_reason::checksum_mismatch);
  EXPECT_EQ(src->quality_after_corruption_, data_quality::stale);
  // After the reconnect and fresh snapshots, every book is right and ok again.
  for (std::size_t i = 0; i < f.instrument_count(); ++i) {
    expect_published(pub, f.publication_id(i), reference->instrument(i));
  }
  bool counted = false;
  for (const auto& [k, v] : f.status().counters) counted = counted || (k == "mismatches" && v == 1);
  EXPECT_TRUE(counted);
  f.stop();
}

} // namespace
} // namespace mdgw::crypto
