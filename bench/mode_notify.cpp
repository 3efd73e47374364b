/// --mode=notify: N notifies to an in-process NOERROR responder. Notifies
/// that are carried out get no reply, so the window is counted on the
/// responder's side: in flight = casts sent - NOTIFYs the responder has
/// received. The rate is N over the time from the first cast to the
/// responder's answer to the N-th NOTIFY; the daemon's counters then show
/// that every answer was accepted and nothing was resent.

#include "bench/lib/client.hpp"
#include "bench/lib/common.hpp"
#include "bench/lib/daemon.hpp"
#include "bench/lib/report.hpp"
#include "bench/modes.hpp"
#include "bench/responder.hpp"

#include <algorithm>
#include <cstdio>
#include <sys/eventfd.h>
#include <thread>
#include <unistd.h>

namespace minidns::bench {
namespace {

int run_notify(const options& o) {
  daemon_runner runner(o.daemon);
  auto n = o.count.value_or(300000);
  auto window = o.window;
  // Identical NOTIFYs in flight at once are coalesced (one follows the
  // other), which is not what this row measures: a zone comes back only
  // after ten windows of others.
  auto zones = static_cast<unsigned>(
      std::max<uint64_t>(o.zones, uint64_t{10} * o.window));
  double timeout = o.timeout.value_or(2);
  auto retries = static_cast<uint32_t>(o.max_retries);
  double limit = o.time_limit.value_or(120);

  responder resp("127.0.0.1", 0, false);
  int efd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  resp.notify_fd(efd);
  std::thread rt([&] { resp.run(); });
  auto dest = "127.0.0.1:" + std::to_string(resp.port());
  auto casts = zone_casts(messages::method::notify_zone_changed, dest, zones,
                          timeout, retries);
  auto d = runner.start(o.daemon_args, "notify");
  auto perf = runner.attach_tools(*d);
  tracker tr(n);
  auto check = [](uint32_t, const messages::reply& r) {
    return "unexpected reply to a notify: " + r.method + " " + r.error;
  };
  uint64_t sent = 0;
  int64_t start = now_ns();
  int64_t give_up = start + static_cast<int64_t>(limit * 1e9);
  dealer dl(d->endpoint(), 100000);
  while (resp.received() < n && now_ns() < give_up) {
    uint64_t seen = resp.received();
    bool blocked = send_casts(
        dl, casts, tr, sent, n,
        [&] { return sent - std::min(seen, sent) < window; }, now_ns);
    tr.drain(dl.socket(), check, now_ns);
    if (resp.received() == seen) {
      zmq_pollitem_t items[] = {
          {dl.socket(), 0,
           static_cast<short>(ZMQ_POLLIN | (blocked ? ZMQ_POLLOUT : 0)), 0},
          {nullptr, efd, ZMQ_POLLIN, 0}};
      zmq_poll(items, 2, 100);
      uint64_t v;
      [[maybe_unused]] auto r = ::read(efd, &v, sizeof(v));
    }
  }
  int64_t end = resp.last_answer_ns();
  // Give minidns a moment to take the last answers, and any error reply
  // time to arrive.
  int64_t settle = now_ns() + 500000000;
  while (now_ns() < settle) {
    zmq_pollitem_t item{dl.socket(), 0, ZMQ_POLLIN, 0};
    zmq_poll(&item, 1, 50);
    tr.drain(dl.socket(), check, now_ns);
  }
  perf.clear();
  auto s = runner.stop(*d);
  resp.stop();
  rt.join();
  ::close(efd);
  auto c = resp.counts();
  double secs = static_cast<double>(end - start) / 1e9;
  double rate = static_cast<double>(std::min<uint64_t>(c.notifies, n)) / secs;
  std::printf("notify: %llu notifies, window %llu: %.3f s, %.0f NOTIFYs/s "
              "answered by the responder\n",
              static_cast<unsigned long long>(n),
              static_cast<unsigned long long>(window), secs, rate);
  std::printf("  responder: received %llu (NOTIFY %llu, other %llu), "
              "answered %llu\n",
              static_cast<unsigned long long>(c.received),
              static_cast<unsigned long long>(c.notifies),
              static_cast<unsigned long long>(c.received - c.notifies),
              static_cast<unsigned long long>(c.answered));
  std::printf("  error replies from minidns: %llu\n",
              static_cast<unsigned long long>(tr.received()));
  // Every NOTIFY answered is accepted by minidns, none resent, no error.
  bool clean = c.notifies == n && c.received == n && c.answered == n &&
               tr.received() == 0 && s.found && s.casts == n && s.sent == n &&
               s.accepted == n && s.send_errors == 0 && s.warn_lines == 0;
  auto cpu = measure_cpu(s, n);
  print_cpu("notify", "this client (with the responder)", cpu);
  result_line res;
  add_throughput(res, n, window, secs, rate, cpu);
  res.add("responder_received", c.received);
  res.add("responder_notifies", c.notifies);
  res.add("responder_answered", c.answered);
  res.add("error_replies", tr.received());
  res.add("clean", clean ? 1 : 0);
  return finish(res, s, "notify", clean);
}

} // namespace

const mode_spec notify_mode{
    "notify",
    {"count", "window", "zones", "timeout", "max-retries", "time-limit"},
    true,
    run_notify};

} // namespace minidns::bench
