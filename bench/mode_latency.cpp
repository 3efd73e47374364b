/// --mode=latency: polls to NSD paced at --rate per second for --duration
/// seconds (a timerfd ticking every --tick-us; each tick sends the casts
/// due). Every --probe-every casts, one direct SOA query goes to NSD from
/// this process (when none is outstanding) to measure the server's round
/// trip under the same load. The time minidns adds is reply minus cast
/// minus the median of those round trips.

#include "bench/lib/client.hpp"
#include "bench/lib/common.hpp"
#include "bench/lib/daemon.hpp"
#include "bench/lib/paced_timer.hpp"
#include "bench/lib/prober.hpp"
#include "bench/lib/report.hpp"
#include "bench/modes.hpp"

#include <algorithm>
#include <cstdio>
#include <unistd.h>

namespace minidns::bench {
namespace {

int run_latency(const options& o) {
  daemon_runner runner(o.daemon);
  const auto& dest = required(o.dest, "dest");
  double rate = o.rate;
  double duration = o.duration;
  auto zones = static_cast<unsigned>(o.zones);
  double timeout = o.timeout.value_or(2);
  auto retries = static_cast<uint32_t>(o.max_retries);
  auto probe_every = o.probe_every;
  double tick_us = o.tick_us.value_or(100);
  if (rate <= 0 || duration <= 0)
    die("--rate and --duration must be > 0");
  auto n = static_cast<uint64_t>(rate * duration);

  auto casts = zone_casts(messages::method::poll_for_serial_number, dest, zones,
                          timeout, retries);
  direct_prober probe(dest);
  auto d = runner.start(o.daemon_args, "latency");
  tracker tr(n);
  std::vector<int64_t> rtts;
  uint64_t late_sends = 0; // casts sent more than one tick after their time
  {
    dealer dl(d->endpoint(), 100000);
    auto check = [&](uint32_t id, const messages::reply& r) {
      return check_success(r, id % zones);
    };
    auto tick = static_cast<int64_t>(tick_us * 1e3);
    int64_t start = now_ns() + 10000000;
    paced_timer timer(start, tick);
    double ns_per_cast = 1e9 / rate;
    uint64_t sent = 0;
    int64_t give_up =
        start + static_cast<int64_t>((duration + 4 * timeout + 5) * 1e9);
    while (tr.completed() < n && now_ns() < give_up) {
      zmq_pollitem_t items[] = {{dl.socket(), 0, ZMQ_POLLIN, 0},
                                {nullptr, timer.fd(), ZMQ_POLLIN, 0},
                                {nullptr, probe.fd(), ZMQ_POLLIN, 0}};
      zmq_poll(items, 3, 100);
      int64_t t = now_ns();
      if (items[1].revents & ZMQ_POLLIN) {
        timer.take();
        auto due = std::min<uint64_t>(
            n, static_cast<uint64_t>(
                   static_cast<double>(t - start) / ns_per_cast + 1));
        while (sent < due) {
          auto& c = casts[sent % zones];
          c.set_id(static_cast<uint32_t>(sent));
          if (!dl.try_send(c.frame))
            break;
          int64_t ts = now_ns();
          if (ts - start -
                  static_cast<int64_t>(static_cast<double>(sent) *
                                       ns_per_cast) >
              2 * tick)
            ++late_sends;
          tr.sent(static_cast<uint32_t>(sent), ts);
          if (sent % probe_every == 0) {
            if (probe.outstanding() && ts - probe.sent_ns() > 1000000000)
              probe.abandon();
            if (!probe.outstanding())
              probe.send(static_cast<unsigned>((sent / probe_every) % zones));
          }
          ++sent;
        }
        if (sent == n)
          timer.stop();
      }
      if (items[2].revents & ZMQ_POLLIN) {
        auto rtt = probe.receive();
        if (rtt >= 0)
          rtts.push_back(rtt);
      }
      tr.drain(dl.socket(), check, now_ns);
    }
  }
  auto s = runner.stop(*d);
  auto e2e_ns = tr.latencies();
  auto rtt = summarize(rtts);
  auto rtt_median_ns = static_cast<int64_t>(rtt.p50 * 1e3);
  std::vector<int64_t> added_ns;
  added_ns.reserve(e2e_ns.size());
  for (auto v : e2e_ns)
    added_ns.push_back(v - rtt_median_ns);
  auto e2e = summarize(e2e_ns);
  auto added = summarize(added_ns);
  std::printf("latency: %llu polls at %.0f/s over %.1f s (%llu sent late by "
              "more than two ticks)\n",
              static_cast<unsigned long long>(n), rate, duration,
              static_cast<unsigned long long>(late_sends));
  print_percentiles("cast-to-status", e2e);
  print_percentiles("server round trip (direct probes)", rtt);
  print_percentiles("added by minidns (e2e - median RTT)", added);
  std::printf("  probes: %zu answered, %llu lost, %llu bad\n", rtts.size(),
              static_cast<unsigned long long>(probe.lost()),
              static_cast<unsigned long long>(probe.bad()));
  print_tally(tr.counts, n, tr.completed());
  result_line res;
  res.add("n", n);
  res.add("rate", rate);
  res.add("late_sends", late_sends);
  res.add_tally(tr.counts, n, tr.completed());
  res.add_percentiles("e2e", e2e);
  res.add_percentiles("rtt", rtt);
  res.add("rtt_n", rtt.n);
  res.add_percentiles("added", added);
  return finish(res, s, "latency", all_replies_ok(tr.counts, n, s));
}

} // namespace

const mode_spec latency_mode{"latency",
                             {"dest", "rate", "duration", "zones", "timeout",
                              "max-retries", "probe-every", "tick-us"},
                             true,
                             run_latency};

} // namespace minidns::bench
