#include "bench/lib/metrics.hpp"

#include <cmath>
#include <cstdlib>
#include <httplib.h>
#include <sstream>
#include <utility>
#include <vector>

namespace minidns::bench {

std::string http_get(int port, const std::string& path) {
  httplib::Client cli("127.0.0.1", port);
  cli.set_read_timeout(5, 0);
  auto res = cli.Get(path);
  return res && res->status == 200 ? res->body : std::string{};
}

namespace {

/// Whether `line` is a bucket of the series whose bucket lines start with
/// `bucket`; adds it to `out` when it is.
bool read_bucket_line(const std::string& line, const std::string& bucket,
                      std::vector<std::pair<double, uint64_t>>& out) {
  if (line.compare(0, bucket.size(), bucket) != 0)
    return false;
  auto le =
      line.substr(bucket.size(), line.find('"', bucket.size()) - bucket.size());
  auto v = std::strtoull(line.c_str() + line.rfind(' ') + 1, nullptr, 10);
  out.emplace_back(le == "+Inf" ? HUGE_VAL : std::atof(le.c_str()), v);
  return true;
}

} // namespace

std::vector<std::pair<double, uint64_t>>
read_buckets(const std::string& page, const std::string& name,
             const std::string& labels) {
  std::vector<std::pair<double, uint64_t>> buckets;
  std::istringstream in(page);
  std::string line;
  auto bucket = name + "_bucket{" + labels + ",le=\"";
  while (std::getline(in, line))
    read_bucket_line(line, bucket, buckets);
  return buckets;
}

histogram_reading read_histogram(const std::string& page,
                                 const std::string& name,
                                 const std::string& labels, double q) {
  histogram_reading h;
  std::vector<std::pair<double, uint64_t>> buckets; // (le, cumulative)
  std::istringstream in(page);
  std::string line;
  auto bucket = name + "_bucket{" + labels + ",le=\"";
  auto count = name + "_count{" + labels + "} ";
  auto sum = name + "_sum{" + labels + "} ";
  while (std::getline(in, line)) {
    if (read_bucket_line(line, bucket, buckets))
      continue;
    if (line.compare(0, count.size(), count) == 0) {
      h.count = std::strtoull(line.c_str() + count.size(), nullptr, 10);
    } else if (line.compare(0, sum.size(), sum) == 0) {
      h.sum = std::atof(line.c_str() + sum.size());
    }
  }
  for (auto& [le, cumulative] : buckets)
    if (h.count > 0 &&
        static_cast<double>(cumulative) >= q * static_cast<double>(h.count)) {
      h.bucket_of_q = le;
      break;
    }
  return h;
}

std::string sample_text(const std::string& page, const std::string& name) {
  const std::string key = "\n" + name + " ";
  auto at = page.find(key);
  if (at == std::string::npos)
    return "?";
  auto from = at + key.size();
  return page.substr(from, page.find('\n', from) - from);
}

} // namespace minidns::bench
