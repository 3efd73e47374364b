/// --mode=poll: N polls to NSD with a window of W casts in flight; every
/// reply must be SUCCESS with the zone's serial. Rate = polls that passed
/// every check / (last reply - first cast).

#include "bench/lib/client.hpp"
#include "bench/lib/common.hpp"
#include "bench/lib/daemon.hpp"
#include "bench/lib/report.hpp"
#include "bench/modes.hpp"

#include <algorithm>
#include <cstdio>

namespace minidns::bench {
namespace {

int run_poll(const options& o) {
  daemon_runner runner(o.daemon);
  const auto& dest = required(o.dest, "dest");
  auto n = o.count.value_or(300000);
  auto window = o.window;
  auto zones = static_cast<unsigned>(o.zones);
  double timeout = o.timeout.value_or(2);
  auto retries = static_cast<uint32_t>(o.max_retries);
  double limit = o.time_limit.value_or(120);

  auto casts = zone_casts(messages::method::poll_for_serial_number, dest, zones,
                          timeout, retries);
  auto d = runner.start(o.daemon_args, "poll");
  auto perf = runner.attach_tools(*d);
  tracker tr(n);
  dealer dl(d->endpoint(), 100000);
  auto check = [&](uint32_t id, const messages::reply& r) {
    return check_success(r, id % zones);
  };
  uint64_t sent = 0;
  int64_t start = now_ns();
  int64_t give_up = start + static_cast<int64_t>(limit * 1e9);
  uint64_t max_in_flight = 0;
  while (tr.completed() < n && now_ns() < give_up) {
    bool blocked = send_casts(
        dl, casts, tr, sent, n, [&] { return sent - tr.completed() < window; },
        now_ns);
    max_in_flight = std::max(max_in_flight, sent - tr.completed());
    if (tr.drain(dl.socket(), check, now_ns) == 0) {
      zmq_pollitem_t item{
          dl.socket(), 0,
          static_cast<short>(ZMQ_POLLIN | (blocked ? ZMQ_POLLOUT : 0)), 0};
      zmq_poll(&item, 1, 100);
    }
  }
  int64_t end = now_ns();
  perf.clear();
  auto lat = summarize(tr.latencies());
  double secs = static_cast<double>(end - start) / 1e9;
  double rate = static_cast<double>(tr.counts.ok) / secs;
  std::printf("poll: %llu polls, window %llu: %.3f s, %.0f polls/s (all "
              "checks passed: %llu)\n",
              static_cast<unsigned long long>(n),
              static_cast<unsigned long long>(window), secs, rate,
              static_cast<unsigned long long>(tr.counts.ok));
  print_percentiles("cast-to-status latency", lat);
  print_tally(tr.counts, n, tr.completed());
  auto s = runner.stop(*d);
  auto cpu = measure_cpu(s, n);
  print_cpu("poll", "this client", cpu);
  result_line res;
  add_throughput(res, n, window, secs, rate, cpu);
  res.add_tally(tr.counts, n, tr.completed());
  res.add("max_in_flight", max_in_flight);
  res.add_percentiles("lat", lat);
  return finish(res, s, "poll", all_replies_ok(tr.counts, n, s));
}

} // namespace

const mode_spec poll_mode{"poll",
                          {"dest", "count", "window", "zones", "timeout",
                           "max-retries", "time-limit"},
                          true,
                          run_poll};

} // namespace minidns::bench
