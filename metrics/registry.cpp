#include "metrics/registry.hpp"

#include <algorithm>
#include <cmath>

namespace minidns::metrics {

void histogram::observe(double seconds) noexcept {
  if (!(seconds >= 0)) // negative or NaN: a clock glitch, count as 0
    seconds = 0;
  auto i = std::lower_bound(bounds.begin(), bounds.end(), seconds);
  buckets_[static_cast<size_t>(i - bounds.begin())].fetch_add(
      1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<uint64_t>(std::llround(seconds * 1e9)),
                    std::memory_order_relaxed);
}

histogram::snapshot histogram::read() const noexcept {
  snapshot s;
  for (size_t i = 0; i < buckets_.size(); ++i)
    s.buckets[i] = buckets_[i].load(std::memory_order_relaxed);
  s.sum = static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
  return s;
}

void registry::request_ended(method_label m, bool success,
                             net::detail detail) noexcept {
  add(ended[static_cast<size_t>(m)][success ? 0 : 1]
           [static_cast<size_t>(detail)]);
}

void registry::cast_refused(messages::invalid_field f) noexcept {
  add(invalid[static_cast<size_t>(f)]);
}

registry& global() noexcept {
  static registry r;
  return r;
}

} // namespace minidns::metrics
