// latency_histogram against exact answers: every value maps to a bucket that contains it
// and reports it within 1%; percentiles of random log-uniform samples (100 ns to 100 s)
// agree with the sorted samples within 1%; merging two histograms gives exactly the
// histogram of the combined recording.
#include "latency_histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

namespace mdgw::bench {
namespace {

std::vector<int64_t> log_uniform(std::size_t n, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> exp10(2.0, 11.0);  // 100 ns .. 100 s
  std::vector<int64_t> v(n);
  for (auto& x : v) x = int64_t(std::pow(10.0, exp10(rng)));
  return v;
}

double rel_err(int64_t got, int64_t want) { return std::abs(double(got - want)) / double(std::max<int64_t>(want, 1)); }

TEST(LatencyHistogram, EveryValueLandsInItsBucketWithinOnePercent) {
  std::mt19937_64 rng(7);
  std::vector<int64_t> values = {0, 1, 99, 100, 255, 256, 257, 511, 512, 1000, 123456789, latency_histogram::kMaxValue};
  for (int k = 0; k < 200000; ++k) values.push_back(int64_t(rng() % uint64_t(latency_histogram::kMaxValue)));
  for (const int64_t v : log_uniform(200000, 3)) values.push_back(v);
  for (const int64_t v : values) {
    const std::size_t i = latency_histogram::index_of(v);
    ASSERT_LT(i, latency_histogram::kBuckets) << v;
    EXPECT_LE(latency_histogram::lowest_at(i), v) << v;
    EXPECT_GT(latency_histogram::lowest_at(i) + latency_histogram::width_at(i), v) << v;
    EXPECT_LE(rel_err(latency_histogram::value_at(i), v), 0.01) << v;
  }
}

TEST(LatencyHistogram, BucketsAreContiguousAndIncreasing) {
  for (std::size_t i = 1; i < latency_histogram::kBuckets; ++i) {
    ASSERT_EQ(latency_histogram::lowest_at(i - 1) + latency_histogram::width_at(i - 1), latency_histogram::lowest_at(i))
        << i;
    ASSERT_EQ(latency_histogram::index_of(latency_histogram::lowest_at(i)), i);
  }
}

TEST(LatencyHistogram, PercentilesMatchSortedSamplesWithinOnePercent) {
  auto h = std::make_unique<latency_histogram>();
  std::vector<int64_t> v = log_uniform(100000, 11);
  for (const int64_t x : v) h->record(x);
  std::sort(v.begin(), v.end());
  ASSERT_EQ(h->count(), v.size());
  EXPECT_EQ(h->min(), v.front());
  EXPECT_EQ(h->max(), v.back());
  for (const double p : {0.1, 1.0, 10.0, 50.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
    const auto rank = std::size_t(std::ceil(p / 100.0 * double(v.size())));
    const int64_t want = v[std::max<std::size_t>(rank, 1) - 1];
    EXPECT_LE(rel_err(h->percentile(p), want), 0.01) << "p" << p << " got " << h->percentile(p) << " want " << want;
  }
}

TEST(LatencyHistogram, MergeEqualsCombinedRecording) {
  auto a = std::make_unique<latency_histogram>();
  auto b = std::make_unique<latency_histogram>();
  auto all = std::make_unique<latency_histogram>();
  const std::vector<int64_t> va = log_uniform(50000, 21);
  const std::vector<int64_t> vb = log_uniform(70000, 22);
  for (const int64_t x : va) {
    a->record(x);
    all->record(x);
  }
  for (const int64_t x : vb) {
    b->record(x);
    all->record(x);
  }
  a->record(-5);
  all->record(-5);
  b->record(latency_histogram::kMaxValue + 1000);
  all->record(latency_histogram::kMaxValue + 1000);
  EXPECT_NE(*a, *all);
  a->merge(*b);
  EXPECT_TRUE(*a == *all);
  EXPECT_EQ(a->percentile(99), all->percentile(99));
  EXPECT_EQ(a->count(), va.size() + vb.size() + 2);
}

TEST(LatencyHistogram, OutOfRangeValuesAreClampedAndCounted) {
  auto h = std::make_unique<latency_histogram>();
  EXPECT_EQ(h->percentile(50), 0);
  h->record(-100);
  h->record(latency_histogram::kMaxValue * 2);
  h->record(1000);
  EXPECT_EQ(h->negative(), 1u);
  EXPECT_EQ(h->overflow(), 1u);
  EXPECT_EQ(h->min(), 0);
  EXPECT_EQ(h->max(), latency_histogram::kMaxValue);
  EXPECT_EQ(h->count(), 3u);
  EXPECT_LE(rel_err(h->percentile(50), 1000), 0.01);
}

}  // namespace
}  // namespace mdgw::bench
