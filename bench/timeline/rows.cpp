#include "bench/timeline/rows.hpp"

#include <algorithm>
#include <cmath>

namespace minidns::bench {

row close_second(second_bin& cur, uint64_t outstanding) {
  row r;
  r.p50_us = quantile(cur.lat, 0.5) / 1e3;
  r.p99_us = quantile(cur.lat, 0.99) / 1e3;
  r.silent_late_p99_ms = quantile(cur.silent_late, 0.99) / 1e6;
  r.outstanding = outstanding;
  r.bin.sent = cur.sent;
  r.bin.shed = cur.shed;
  r.bin.statuses = cur.statuses;
  r.bin.failed = cur.failed;
  r.bin.late = cur.late;
  cur.sent = cur.shed = cur.statuses = cur.failed = cur.late = 0;
  cur.lat.clear(); // keeps their capacity for the next second
  cur.silent_late.clear();
  return r;
}

double quantile(std::vector<int64_t>& v, double q) {
  if (v.empty())
    return std::nan("");
  auto i = static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(i), v.end());
  return static_cast<double>(v[i]);
}

std::string field(double v, int decimals) {
  if (std::isnan(v) || v < 0)
    return {};
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}

double p99_gained_ms(const std::vector<std::pair<double, uint64_t>>& before,
                     const std::vector<std::pair<double, uint64_t>>& after) {
  if (after.empty())
    return std::nan("");
  auto gained = [&](size_t i) {
    uint64_t b = i < before.size() ? before[i].second : 0;
    return after[i].second >= b ? after[i].second - b : 0;
  };
  uint64_t total = gained(after.size() - 1);
  if (total == 0)
    return std::nan("");
  for (size_t i = 0; i < after.size(); ++i)
    if (static_cast<double>(gained(i)) >= 0.99 * static_cast<double>(total))
      return after[i].first * 1e3;
  return std::nan("");
}

void row_writer::write(std::vector<row>& rows, sampler& samp, bool final_rows) {
  daemon_sample now_sample;
  while (written_ < rows.size()) {
    bool sampled = samp.get(written_, now_sample);
    if (!sampled && !final_rows)
      return;
    if (!sampled)
      now_sample = daemon_sample{}; // the sampler missed it: empty fields
    auto& r = rows[written_];
    rss_.push_back(now_sample.rss_kb);
    double pauses = now_sample.intake_pauses >= 0 && prev_.intake_pauses >= 0
                        ? now_sample.intake_pauses - prev_.intake_pauses
                        : -1;
    double t_s = static_cast<double>(written_ + 1);
    double target = plan_.due_at(t_s) - plan_.due_at(t_s - 1);
    if (csv_ != nullptr)
      std::fprintf(
          csv_,
          "%zu,%llu,%llu,%s,%s,%s,%s,%s,%s,%s,%.0f,%llu,%llu,%llu,%s,%s,%s,"
          "%s,%s,%llu\n",
          written_ + 1, static_cast<unsigned long long>(r.bin.sent),
          static_cast<unsigned long long>(r.bin.statuses),
          field(now_sample.rss_kb > 0 ? static_cast<double>(now_sample.rss_kb)
                                      : -1.0,
                0)
              .c_str(),
          field(now_sample.in_flight, 0).c_str(),
          field(now_sample.casts_waiting, 0).c_str(), field(pauses, 0).c_str(),
          field(r.p50_us, 1).c_str(), field(r.p99_us, 1).c_str(),
          field(p99_gained_ms(prev_.timer_lateness, now_sample.timer_lateness),
                2)
              .c_str(),
          target, static_cast<unsigned long long>(r.bin.shed),
          static_cast<unsigned long long>(r.outstanding),
          static_cast<unsigned long long>(r.bin.failed),
          field(r.silent_late_p99_ms, 1).c_str(),
          field(now_sample.queries_waiting, 0).c_str(),
          field(now_sample.cpu_s >= 0 && prev_.cpu_s >= 0
                    ? 100.0 * (now_sample.cpu_s - prev_.cpu_s)
                    : -1.0,
                0)
              .c_str(),
          field(share_pct(prev_.host_idle, now_sample.host_idle, prev_.host_all,
                          now_sample.host_all),
                0)
              .c_str(),
          field(share_pct(prev_.host_steal, now_sample.host_steal,
                          prev_.host_all, now_sample.host_all),
                1)
              .c_str(),
          static_cast<unsigned long long>(r.bin.late));
    if (sampled)
      prev_ = now_sample;
    r.bin = second_bin{}; // the samples are no longer needed
    ++written_;
  }
  if (csv_ != nullptr)
    std::fflush(csv_);
}

} // namespace minidns::bench
