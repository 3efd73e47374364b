#pragma once
/// What the timeline mode samples once a second: minidns's RSS, CPU and
/// /metrics, and the machine's idle and stolen CPU, on a thread of its own
/// so that the load loop never waits for HTTP.

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <sys/types.h>
#include <thread>
#include <utility>
#include <vector>

namespace minidns::bench {

/// What minidns looked like at one moment (-1: not on its /metrics page).
struct daemon_sample {
  uint64_t rss_kb = 0;
  double in_flight = -1, casts_waiting = -1, queries_waiting = -1,
         intake_pauses = -1;
  /// minidns_dns_attempt_timer_lateness_seconds{kind="soa"}: (le,
  /// cumulative count).
  std::vector<std::pair<double, uint64_t>> timer_lateness;
  double cpu_s = -1; ///< minidns's CPU time (user + system) so far
  /// The host's CPU time in clock ticks, all CPUs: all, idle (with
  /// iowait), stolen by the hypervisor. What else ran, and whether the VM
  /// ran at all, tells a stall of minidns from one of the machine.
  uint64_t host_all = 0, host_idle = 0, host_steal = 0;
};

/// Percent of `part`'s growth in `all`'s from `a` to `b`; -1 when unknown.
double share_pct(uint64_t part_a, uint64_t part_b, uint64_t all_a,
                 uint64_t all_b);

/// Reads minidns's VmRSS, CPU time and /metrics page, and the machine's
/// CPU times, now.
daemon_sample sample_daemon(pid_t pid, int metrics_port);

/// Samples minidns at every second boundary after `start` (now_ns() time)
/// on a thread of its own, until stopped.
class sampler {
public:
  sampler(pid_t pid, int metrics_port, int64_t start)
      : pid_(pid), port_(metrics_port), start_(start),
        thread_([this] { run(); }) {}
  ~sampler() { stop(); }
  sampler(const sampler&) = delete;
  sampler& operator=(const sampler&) = delete;

  /// Sample k (taken at start + k + 1 seconds), when it has been taken.
  bool get(size_t k, daemon_sample& out) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (k >= samples_.size())
      return false;
    out = samples_[k];
    return true;
  }
  /// Samples taken so far.
  size_t taken() {
    std::lock_guard<std::mutex> lock(mutex_);
    return samples_.size();
  }
  /// Stops and joins the thread.
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable())
      thread_.join();
  }

private:
  void run();

  pid_t pid_;
  int port_;
  int64_t start_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::vector<daemon_sample> samples_;
  std::thread thread_; // last: starts once the rest is set up
};

} // namespace minidns::bench
