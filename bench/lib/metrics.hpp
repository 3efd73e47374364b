#pragma once
/// Reading minidns's Prometheus /metrics page at the end of a run.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace minidns::bench {

/// GET http://127.0.0.1:PORT/PATH; the body, or empty on any failure.
std::string http_get(int port, const std::string& path);

/// One Prometheus histogram series read back from the text: its count,
/// sum, and the upper bound of the bucket that holds quantile q.
struct histogram_reading {
  uint64_t count = 0;     ///< observations
  double sum = 0;         ///< their sum
  double bucket_of_q = 0; ///< +Inf as infinity; 0 when empty
};

/// The buckets of one histogram series in `page`: (upper bound, cumulative
/// count) in the page's order, +Inf as infinity; empty when it has none.
std::vector<std::pair<double, uint64_t>>
read_buckets(const std::string& page, const std::string& name,
             const std::string& labels);

/// Reads `name`{`labels`,le=...} buckets, _count and _sum from `page`.
histogram_reading read_histogram(const std::string& page,
                                 const std::string& name,
                                 const std::string& labels, double q);

/// The value of the unlabelled sample `name` in `page`, as written there;
/// "?" when the page has none.
std::string sample_text(const std::string& page, const std::string& name);

} // namespace minidns::bench
