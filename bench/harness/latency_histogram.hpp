// latency_histogram: a log-linear histogram of nanosecond values (HdrHistogram-style),
// fixed size, no allocation after construction, mergeable.
//
// Rationale
// - Layout: values below 256 ns get one bucket each (exact). Above, every power of two
//   [2^k, 2^(k+1)) is split into 128 equal sub-buckets, so a bucket is at most 1/128 of
//   its lower bound wide. value_at() returns the bucket's midpoint: the relative error of
//   any reported value is at most 1/256 (0.4%), well inside the 1% we promise.
// - Range: 0 to 2^40 ns (about 18 minutes), which covers the 100 ns .. 100 s we care
//   about. Larger values are clamped into the last bucket and counted in overflow();
//   negative values (a clock stepped backwards) are clamped to 0 and counted in
//   negative(). min/max/sum are exact.
// - Recording is an index computation (one count-leading-zeros) and an increment; the
//   counts are plain integers because each histogram has one writer (its reader thread).
//   Threads merge copies of each other's histograms, never share one.
#pragma once

#include <array>
#include <cstdint>

namespace mdgw::bench {

class latency_histogram {
 public:
  static constexpr int kSubBits = 7;                      // 128 sub-buckets per power of 2
  static constexpr int64_t kExactBelow = int64_t{1} << (kSubBits + 1);  // 256
  static constexpr int kMaxShift = 40;                    // top tracked power of two
  static constexpr int64_t kMaxValue = (int64_t{1} << kMaxShift) - 1;
  static constexpr std::size_t kBuckets =
      kExactBelow + std::size_t(kMaxShift - kSubBits - 1) * (std::size_t{1} << kSubBits);

  void record(int64_t ns) noexcept { record_n(ns, 1); }
  void record_n(int64_t ns, uint64_t n) noexcept;
  void merge(const latency_histogram& other) noexcept;
  void reset() noexcept { *this = latency_histogram{}; }

  [[nodiscard]] uint64_t count() const noexcept { return count_; }
  [[nodiscard]] int64_t min() const noexcept { return count_ ? min_ : 0; }
  [[nodiscard]] int64_t max() const noexcept { return count_ ? max_ : 0; }
  [[nodiscard]] double mean() const noexcept { return count_ ? double(sum_) / double(count_) : 0.0; }
  [[nodiscard]] uint64_t overflow() const noexcept { return overflow_; }
  [[nodiscard]] uint64_t negative() const noexcept { return negative_; }
  // The value at percentile p (0..100]: the midpoint of the bucket holding the value of
  // rank ceil(p/100 * count), clamped to [min, max]. 0 when empty.
  [[nodiscard]] int64_t percentile(double p) const noexcept;

  [[nodiscard]] static std::size_t index_of(int64_t ns) noexcept;
  [[nodiscard]] static int64_t lowest_at(std::size_t index) noexcept;
  [[nodiscard]] static int64_t width_at(std::size_t index) noexcept;
  [[nodiscard]] static int64_t value_at(std::size_t index) noexcept {
    return lowest_at(index) + width_at(index) / 2;
  }
  [[nodiscard]] uint64_t count_at(std::size_t index) const noexcept { return counts_[index]; }

  friend bool operator==(const latency_histogram&, const latency_histogram&) = default;

 private:
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  uint64_t overflow_ = 0;
  uint64_t negative_ = 0;
  int64_t min_ = kMaxValue;
  int64_t max_ = 0;
  // int64 nanoseconds: 2^63 ns is 292 years of accumulated latency, enough for any run.
  int64_t sum_ = 0;
};

}  // namespace mdgw::bench
