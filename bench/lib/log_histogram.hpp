#pragma once
/// A histogram of latencies for the long stretches of a timeline run.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace minidns::bench {

/// A histogram of latencies in ns, 32 buckets per power of two (a
/// percentile is within about 3%), for the long stretches of a run (a
/// quarter, the whole) that would not fit as a sample.
class log_histogram {
public:
  log_histogram() : counts_(size_t{60} << sub, 0) {}

  /// Adds one value (negative values count as 0).
  void add(int64_t ns) {
    auto v = static_cast<uint64_t>(std::max<int64_t>(ns, 0));
    ++counts_[std::min(index(v), counts_.size() - 1)];
    ++n_;
  }
  /// Values added.
  uint64_t count() const { return n_; }
  /// The upper end of the bucket holding quantile q, in us; 0 when empty.
  double quantile_us(double q) const {
    if (n_ == 0)
      return 0;
    auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(n_)));
    uint64_t seen = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= std::max<uint64_t>(rank, 1))
        return static_cast<double>(upper(i)) / 1e3;
    }
    return static_cast<double>(upper(counts_.size() - 1)) / 1e3;
  }

private:
  static constexpr int sub = 5;
  static size_t index(uint64_t v) {
    int msb = 63 - __builtin_clzll(v | 1);
    if (msb <= sub)
      return static_cast<size_t>(v);
    int shift = msb - sub;
    return (static_cast<size_t>(shift + 1) << sub) +
           static_cast<size_t>((v >> shift) - (uint64_t{1} << sub));
  }
  static uint64_t upper(size_t i) {
    if (i < (size_t{2} << sub))
      return i;
    int shift = static_cast<int>(i >> sub) - 1;
    uint64_t base = (i & ((size_t{1} << sub) - 1)) + (uint64_t{1} << sub);
    return ((base + 1) << shift) - 1;
  }
  std::vector<uint64_t> counts_;
  uint64_t n_ = 0;
};

} // namespace minidns::bench
