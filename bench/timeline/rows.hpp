#pragma once
/// The rows of --mode=timeline's CSV: one per second, what the client saw
/// in it beside minidns's sample of it (bench/lib/sampler.hpp), written as
/// soon as both are in (bench/mode_timeline.cpp).

#include "bench/lib/sampler.hpp"
#include "bench/timeline/traffic.hpp"

#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace minidns::bench {

/// The CSV's columns, one row per second of the run.
constexpr const char* csv_header =
    "t_s,casts_per_s,statuses_per_s,rss_kb,in_flight,casts_waiting,"
    "intake_pauses_per_s,lat_p50_us,lat_p99_us,timer_late_p99_le_ms,"
    "target_per_s,shed_per_s,outstanding,failed_checks,timeout_late_p99_ms,"
    "dns_queries_waiting,minidns_cpu_pct,host_idle_pct,host_steal_pct,"
    "late_sends_per_s";

/// What the client saw in one second.
struct second_bin {
  uint64_t sent = 0, shed = 0, statuses = 0, failed = 0;
  uint64_t late = 0;        ///< casts sent more than two ticks after their time
  std::vector<int64_t> lat; ///< cast to status, not silent, ns
  std::vector<int64_t> silent_late; ///< silent: status - cast - budget, ns
};

/// One closed second: what the client saw and its figures.
struct row {
  second_bin bin; ///< its samples cleared once written
  double p50_us = 0, p99_us = 0, silent_late_p99_ms = 0;
  uint64_t outstanding = 0; ///< casts in flight at its end
};

/// Closes the second `cur` with `outstanding` casts in flight: its row;
/// `cur` starts afresh.
row close_second(second_bin& cur, uint64_t outstanding);

/// Quantile q of `v` in its unit, or NaN when empty (reorders `v`).
double quantile(std::vector<int64_t>& v, double q);

/// A CSV field: empty for NaN or a negative (absent) value.
std::string field(double v, int decimals);

/// The upper bound (ms) of the bucket holding the p99 of what a cumulative
/// histogram gained between two readings; NaN when it gained nothing.
double p99_gained_ms(const std::vector<std::pair<double, uint64_t>>& before,
                     const std::vector<std::pair<double, uint64_t>>& after);

/// Writes the rows to the CSV, each once minidns's sample of its second is
/// in.
class row_writer {
public:
  /// `csv`: null for none. `baseline`: minidns's sample before the load.
  row_writer(std::FILE* csv, const schedule& plan, daemon_sample baseline)
      : csv_(csv), plan_(plan), prev_(std::move(baseline)) {}

  /// Writes the rows not written yet whose sample is in; with
  /// `final_rows`, all of them (a missed sample leaves its fields empty).
  void write(std::vector<row>& rows, sampler& samp, bool final_rows);

  /// Rows written so far.
  size_t written() const { return written_; }
  /// minidns's VmRSS (kB) in each second written.
  const std::vector<uint64_t>& rss_by_second() const { return rss_; }

private:
  std::FILE* csv_;
  const schedule& plan_;
  daemon_sample prev_;
  size_t written_ = 0;
  std::vector<uint64_t> rss_;
};

} // namespace minidns::bench
