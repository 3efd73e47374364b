/// --mode=scale: N polls with --timeout to a silent UDP socket of this
/// process, sent as fast as minidns takes them. Each poll has its own zone
/// ("q0000042.scale.") so that the silent socket can tell which request a
/// query belongs to and record the kernel's timestamp of its arrival: the
/// attempt's departure, from which its timeout is due. Lateness is reply
/// time minus (query arrival + timeout) (wall clock, the kernel's
/// timestamps' clock), and, as an upper bound, reply time minus (cast sent
/// + timeout). Peak RSS per request is (VmHWM at the end - VmRSS before
/// the first cast) / the most requests in flight at once inside minidns
/// (queries seen by the silent socket minus statuses received).

#include "bench/lib/client.hpp"
#include "bench/lib/common.hpp"
#include "bench/lib/daemon.hpp"
#include "bench/lib/metrics.hpp"
#include "bench/lib/report.hpp"
#include "bench/modes.hpp"
#include "bench/responder.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <thread>
#include <unistd.h>

namespace minidns::bench {
namespace {

/// What the silent socket saw: the arrival time of each request's first
/// query (wall clock, ns; 0 when none came), and what did not fit.
struct silent_log {
  explicit silent_log(uint64_t n) : arrival(n, 0) {}

  /// Records one datagram (on the responder's thread).
  void record(const uint8_t* p, size_t len, int64_t ts) {
    // Header, then the first label: 8 octets "q" + 7 digits.
    if (len < 12 + 9 || p[12] != 8 || p[13] != 'q') {
      foreign.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    uint64_t id = 0;
    for (int i = 14; i < 21; ++i) {
      if (p[i] < '0' || p[i] > '9') {
        foreign.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      id = id * 10 + static_cast<uint64_t>(p[i] - '0');
    }
    if (id >= arrival.size()) {
      foreign.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (arrival[id] != 0) {
      dup_queries.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    arrival[id] = ts != 0 ? ts : wall_ns();
    seen.fetch_add(1, std::memory_order_release);
  }

  std::vector<int64_t> arrival;         ///< by request_id
  std::atomic<uint64_t> seen{0};        ///< requests with a query
  std::atomic<uint64_t> dup_queries{0}; ///< second queries (resends)
  std::atomic<uint64_t> foreign{0};     ///< not one of our queries
};

/// Checks an update_status that should be ERROR "timeout" without serial.
std::string check_timeout(uint32_t, const messages::reply& r) {
  if (r.method != "update_status")
    return "method " + r.method + ": " + r.error;
  if (r.status != "ERROR" || r.detail != "timeout")
    return "status " + r.status + " (" + r.detail + ")";
  if (r.actual_serial)
    return "actual_serial set";
  return {};
}

int run_scale(const options& o) {
  daemon_runner runner(o.daemon);
  auto n = o.count.value_or(1000000);
  double timeout = o.timeout.value_or(10);
  double limit = o.time_limit.value_or(180);
  auto sndhwm = static_cast<int>(o.sndhwm);
  const auto& dump = o.dump;
  if (n > 10000000)
    die("--count: at most 10,000,000");

  // The silent destination: reads and timestamps queries, never answers.
  silent_log log(n);
  responder silent("127.0.0.1", 0, true);
  silent.on_datagram([&log](const uint8_t* p, size_t len, int64_t ts) {
    log.record(p, len, ts);
  });
  std::thread st([&] { silent.run(); });
  auto dest = "127.0.0.1:" + std::to_string(silent.port());

  // One template; the 7 digits of the zone name are patched with the id.
  auto tmpl = make_template(messages::method::poll_for_serial_number,
                            "q0000000.scale.", 1, dest, timeout, 0, 0);
  auto digits = tmpl.frame.find("q0000000");
  if (digits == std::string::npos)
    die("zone name not found in the cast");
  ++digits;

  // Its /metrics, to read minidns's own timer lateness at the end.
  auto daemon_args = o.daemon_args;
  daemon_args.push_back("--minidns.metrics-endpoint=127.0.0.1:0");
  auto d = runner.start(daemon_args, "scale");
  ::usleep(200000);
  uint64_t baseline_kb = proc_status_kb(d->pid(), "VmRSS:");
  auto perf = runner.attach_tools(*d);
  tracker tr(n);
  uint64_t sent = 0, peak_client = 0, peak_inside = 0, peak_rss_kb = 0;
  int64_t first_send = 0, last_send = 0;
  int64_t timeout_ns = static_cast<int64_t>(timeout * 1e9);
  {
    dealer dl(d->endpoint(), sndhwm);
    int64_t start = now_ns();
    int64_t give_up = start + static_cast<int64_t>(limit * 1e9);
    int64_t next_sample = 0;
    first_send = wall_ns();
    while (tr.completed() < n && now_ns() < give_up) {
      bool blocked = false;
      for (int burst = 0; sent < n && burst < 256; ++burst) {
        auto id = static_cast<uint32_t>(sent);
        char* p = tmpl.frame.data() + digits;
        for (int i = 6, v = static_cast<int>(id); i >= 0; --i, v /= 10)
          p[i] = static_cast<char>('0' + v % 10);
        tmpl.set_id(id);
        if (!dl.try_send(tmpl.frame)) {
          blocked = true;
          break;
        }
        tr.sent(id, wall_ns());
        ++sent;
        if (sent == n)
          last_send = wall_ns();
      }
      size_t got = tr.drain(dl.socket(), check_timeout, wall_ns);
      uint64_t inside = log.seen.load(std::memory_order_acquire);
      inside = inside > tr.completed() ? inside - tr.completed() : 0;
      peak_inside = std::max(peak_inside, inside);
      peak_client = std::max(peak_client, sent - tr.completed());
      int64_t t = now_ns();
      if (t >= next_sample) {
        peak_rss_kb = std::max(peak_rss_kb, proc_status_kb(d->pid(), "VmRSS:"));
        next_sample = t + 100000000;
      }
      if (got == 0 && (blocked || sent == n)) {
        zmq_pollitem_t item{
            dl.socket(), 0,
            static_cast<short>(ZMQ_POLLIN | (blocked ? ZMQ_POLLOUT : 0)), 0};
        zmq_poll(&item, 1, 20);
      }
    }
  }
  uint64_t hwm_kb = proc_status_kb(d->pid(), "VmHWM:");
  auto page = d->metrics_port() > 0 ? http_get(d->metrics_port(), "/metrics")
                                    : std::string{};
  perf.clear();
  auto s = runner.stop(*d);
  silent.stop();
  st.join();

  std::vector<int64_t> late_query, late_cast;
  late_query.reserve(n);
  late_cast.reserve(n);
  uint64_t no_arrival = 0;
  const auto& arrival = log.arrival;
  for (uint32_t i = 0; i < n; ++i) {
    if (tr.done_at(i) == 0)
      continue;
    late_cast.push_back(tr.done_at(i) - (tr.sent_at(i) + timeout_ns));
    if (arrival[i] != 0)
      late_query.push_back(tr.done_at(i) - (arrival[i] + timeout_ns));
    else
      ++no_arrival;
  }
  auto lq = summarize(late_query);
  auto lc = summarize(late_cast);
  if (!dump.empty()) {
    // One line per request: cast sent, query seen, status received (wall
    // clock, ns since the first cast).
    std::ofstream f(dump);
    for (uint32_t i = 0; i < n; ++i)
      f << i << ' ' << tr.sent_at(i) - first_send << ' '
        << (arrival[i] != 0 ? arrival[i] - first_send : -1) << ' '
        << (tr.done_at(i) != 0 ? tr.done_at(i) - first_send : -1) << '\n';
  }
  double send_secs = static_cast<double>(last_send - first_send) / 1e9;
  // How fast minidns actually took the casts: first to last query out.
  int64_t first_query = INT64_MAX, last_query = 0;
  for (auto a : arrival)
    if (a != 0) {
      first_query = std::min(first_query, a);
      last_query = std::max(last_query, a);
    }
  double intake_secs =
      last_query > 0 ? static_cast<double>(last_query - first_query) / 1e9 : 0;
  double per_req =
      peak_inside > 0
          ? static_cast<double>(hwm_kb - std::min(hwm_kb, baseline_kb)) *
                1024.0 / static_cast<double>(peak_inside)
          : 0;
  std::printf(
      "scale: %llu polls, timeout %.1f s: handed to ZeroMQ in %.2f "
      "s; first to last query out of minidns %.2f s (%.0f/s)\n",
      static_cast<unsigned long long>(n), timeout, send_secs, intake_secs,
      intake_secs > 0 ? static_cast<double>(log.seen.load()) / intake_secs
                      : 0.0);
  std::printf("  in flight at once: %llu inside minidns (queries seen minus "
              "statuses), %llu counted by the client\n",
              static_cast<unsigned long long>(peak_inside),
              static_cast<unsigned long long>(peak_client));
  std::printf("  minidns RSS: baseline %llu kB, VmHWM %llu kB: %.0f bytes "
              "per request in flight\n",
              static_cast<unsigned long long>(baseline_kb),
              static_cast<unsigned long long>(hwm_kb), per_req);
  std::printf("  queries at the silent socket: %llu (duplicates %llu, "
              "foreign %llu); statuses without a query seen: %llu\n",
              static_cast<unsigned long long>(log.seen.load()),
              static_cast<unsigned long long>(log.dup_queries.load()),
              static_cast<unsigned long long>(log.foreign.load()),
              static_cast<unsigned long long>(no_arrival));
  print_percentiles("lateness from query departure", lq);
  // minidns's own part: its UDP thread's timer fired minus due.
  auto own = read_histogram(page, "minidns_dns_attempt_timer_lateness_seconds",
                            "kind=\"soa\"", 0.99);
  auto pauses = sample_text(page, "minidns_cast_intake_pauses_total");
  auto trims = sample_text(page, "minidns_memory_trims_total");
  auto trim_secs = sample_text(page, "minidns_memory_trim_seconds_total");
  if (own.count == 0)
    std::printf("  minidns's own timer lateness: not read from /metrics\n");
  else
    std::printf("  minidns's own timer lateness (fired minus due, its "
                "/metrics): p99 <= %.1f ms (bucket), mean %.2f ms "
                "(n=%llu); intake pauses %s\n",
                own.bucket_of_q * 1e3,
                own.sum / static_cast<double>(own.count) * 1e3,
                static_cast<unsigned long long>(own.count), pauses.c_str());
  std::printf("  memory trims: %s, taking %s s in all\n", trims.c_str(),
              trim_secs.c_str());
  print_percentiles("lateness from cast sent (upper bound)", lc);
  print_tally(tr.counts, n, tr.completed());
  result_line res;
  res.add("n", n);
  res.add("timeout", timeout);
  res.add("send_seconds", send_secs);
  res.add("intake_seconds", intake_secs);
  res.add("peak_in_flight", peak_inside);
  res.add("peak_in_flight_client", peak_client);
  res.add("baseline_kb", baseline_kb);
  res.add("hwm_kb", hwm_kb);
  res.add("bytes_per_request", per_req);
  res.add("own_late_p99_le_ms", own.bucket_of_q * 1e3);
  res.add("own_late_mean_ms",
          own.count > 0 ? own.sum / static_cast<double>(own.count) * 1e3 : 0);
  res.add("queries_seen", log.seen.load());
  res.add("dup_queries", log.dup_queries.load());
  res.add_tally(tr.counts, n, tr.completed());
  res.add_percentiles("late_query", lq);
  res.add_percentiles("late_cast", lc);
  return finish(res, s, "scale", all_replies_ok(tr.counts, n, s));
}

} // namespace

const mode_spec scale_mode{"scale",
                           {"count", "timeout", "time-limit", "sndhwm", "dump"},
                           true,
                           run_scale};

} // namespace minidns::bench
