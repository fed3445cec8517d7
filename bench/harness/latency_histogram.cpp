#include "latency_histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace mdgw::bench {

std::size_t latency_histogram::index_of(int64_t ns) noexcept {
  if (ns < kExactBelow) return std::size_t(std::max<int64_t>(ns, 0));
  if (ns > kMaxValue) ns = kMaxValue;
  const int k = 63 - std::countl_zero(uint64_t(ns));   // k >= kSubBits + 1
  const int shift = k - kSubBits;
  const auto top = std::size_t(uint64_t(ns) >> shift);  // in [128, 256)
  return std::size_t(kExactBelow) + std::size_t(k - kSubBits - 1) * (std::size_t{1} << kSubBits) +
         (top - (std::size_t{1} << kSubBits));
}

int64_t latency_histogram::lowest_at(std::size_t index) noexcept {
  if (index < std::size_t(kExactBelow)) return int64_t(index);
  const std::size_t rel = index - std::size_t(kExactBelow);
  const int k = int(rel >> kSubBits) + kSubBits + 1;
  const auto top = int64_t((rel & ((std::size_t{1} << kSubBits) - 1)) + (std::size_t{1} << kSubBits));
  return top << (k - kSubBits);
}

int64_t latency_histogram::width_at(std::size_t index) noexcept {
  if (index < std::size_t(kExactBelow)) return 1;
  const int k = int((index - std::size_t(kExactBelow)) >> kSubBits) + kSubBits + 1;
  return int64_t{1} << (k - kSubBits);
}

void latency_histogram::record_n(int64_t ns, uint64_t n) noexcept {
  if (n == 0) return;
  if (ns < 0) {
    negative_ += n;
    ns = 0;
  } else if (ns > kMaxValue) {
    overflow_ += n;
    ns = kMaxValue;
  }
  counts_[index_of(ns)] += n;
  count_ += n;
  sum_ += ns * int64_t(n);
  min_ = std::min(min_, ns);
  max_ = std::max(max_, ns);
}

void latency_histogram::merge(const latency_histogram& other) noexcept {
  if (other.count_ == 0) return;
  for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  overflow_ += other.overflow_;
  negative_ += other.negative_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

int64_t latency_histogram::percentile(double p) const noexcept {
  if (count_ == 0) return 0;
  p = std::clamp(p, 0.0, 100.0);
  auto rank = uint64_t(std::ceil(p / 100.0 * double(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::clamp(value_at(i), min_, max_);
  }
  return max_;
}

}  // namespace mdgw::bench
