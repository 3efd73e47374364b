#include "bench/lib/sampler.hpp"

#include "bench/lib/daemon.hpp"
#include "bench/lib/metrics.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unistd.h>

namespace minidns::bench {

double share_pct(uint64_t part_a, uint64_t part_b, uint64_t all_a,
                 uint64_t all_b) {
  if (all_b <= all_a || part_b < part_a)
    return -1;
  return 100.0 * static_cast<double>(part_b - part_a) /
         static_cast<double>(all_b - all_a);
}

namespace {

/// Reads /proc/PID/stat's utime + stime (seconds) and /proc/stat's first
/// line into `s`.
void sample_cpu(pid_t pid, daemon_sample& s) {
  const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
  if (std::FILE* f =
          std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r")) {
    char buf[1024];
    size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
    std::fclose(f);
    buf[n] = 0;
    // Fields after the command name, which may hold spaces: ") S ...";
    // utime and stime are the 12th and 13th after it.
    if (const char* p = std::strrchr(buf, ')')) {
      unsigned long long ut = 0, st = 0;
      if (std::sscanf(p + 2,
                      "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
                      &ut, &st) == 2)
        s.cpu_s = static_cast<double>(ut + st) / tick;
    }
  }
  if (std::FILE* f = std::fopen("/proc/stat", "r")) {
    unsigned long long v[8] = {};
    if (std::fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
                    &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
      for (auto x : v)
        s.host_all += x;
      s.host_idle = v[3] + v[4];
      s.host_steal = v[7];
    }
    std::fclose(f);
  }
}

} // namespace

daemon_sample sample_daemon(pid_t pid, int metrics_port) {
  daemon_sample s;
  s.rss_kb = proc_status_kb(pid, "VmRSS:");
  sample_cpu(pid, s);
  if (metrics_port <= 0)
    return s;
  auto page = http_get(metrics_port, "/metrics");
  auto number = [&page](const char* name) {
    auto text = sample_text(page, name);
    return text == "?" ? -1.0 : std::atof(text.c_str());
  };
  s.in_flight = number("minidns_requests_in_flight");
  s.casts_waiting = number("minidns_casts_waiting");
  s.queries_waiting = number("minidns_dns_queries_waiting");
  s.intake_pauses = number("minidns_cast_intake_pauses_total");
  s.timer_lateness = read_buckets(
      page, "minidns_dns_attempt_timer_lateness_seconds", "kind=\"soa\"");
  return s;
}

void sampler::run() {
  for (int64_t k = 1;; ++k) {
    std::chrono::steady_clock::time_point due{
        std::chrono::nanoseconds(start_ + k * 1000000000)};
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (wake_.wait_until(lock, due, [this] { return stop_; }))
        return;
    }
    auto s = sample_daemon(pid_, port_);
    std::lock_guard<std::mutex> lock(mutex_);
    samples_.push_back(std::move(s));
  }
}

} // namespace minidns::bench
