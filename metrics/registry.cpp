#include "metrics/registry.hpp"

#include <algorithm>
#include <cmath>

namespace minidns::metrics {

size_t detail_index(std::string_view detail) noexcept {
  auto i = std::find(std::begin(detail_names), std::end(detail_names), detail);
  return i == std::end(detail_names)
             ? detail_count - 1
             : static_cast<size_t>(i - std::begin(detail_names));
}

size_t invalid_reason_index(std::string_view error) noexcept {
  auto field = error.substr(0, error.find_first_of(": "));
  auto i =
      std::find(std::begin(invalid_reasons), std::end(invalid_reasons), field);
  return i == std::end(invalid_reasons)
             ? invalid_reason_count - 1
             : static_cast<size_t>(i - std::begin(invalid_reasons));
}

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
                             std::string_view detail) noexcept {
  add(ended[static_cast<size_t>(m)][success ? 0 : 1][detail_index(detail)]);
}

registry& global() noexcept {
  static registry r;
  return r;
}

} // namespace minidns::metrics
