/// --mode=timeline: a long run at a paced rate with mixed outcomes, sampled
/// once a second (bench/soak.sh's soak and overload records).
///
/// Polls are paced at --rate per second for --duration seconds (a timerfd
/// ticking every --tick-us, 1 ms by default; each tick sends the casts
/// due), or at --overload-rate from second --overload-from to
/// --overload-to. Each cast's class, and so the
/// reply it must get, follows from its zone; --mix gives the share of each
/// (percent, default 70,10,10,10), interleaved evenly over every 100 casts:
///   answered  z0000.bench. .. of --dest (NSD, run.sh's setup): SUCCESS,
///             the zone's serial, detail "matched" (--timeout,
///             --max-retries)
///   silent    r00000.soak. ..: UDP sockets of this process that never
///             read, so never answer: ERROR "timeout", no serial (--timeout,
///             1 retry). There are as many sockets as needed to keep under
///             250 of these queries outstanding per socket at the peak rate
///             (minidns queues queries past max-outstanding-per-destination,
///             500, and a silent server would hold those slots)
///   refused   a scripted in-process responder answers REFUSED: ERROR
///             "rcode REFUSED", no serial (1 retry, at once)
///   lagging   the same responder answers an SOA with the serial before the
///             one asked: ERROR "lower serial", that serial (1 retry)
/// Every reply is checked against its cast's class, and each cast must get
/// exactly one: missing, duplicate, undecodable and wrong replies are
/// counted. When ZeroMQ takes no more casts (minidns stopped reading them
/// and the queues are full), the casts due are shed, not sent later: the
/// schedule stays the offered load, and the CSV shows what was shed.
///
/// A thread of its own samples minidns at every second boundary (VmRSS
/// from /proc/PID/status, its /metrics page), so that the loop never waits
/// for HTTP. One row per second goes to --csv (see csv_header), written as
/// soon as the second is over. At the end: totals, the reply checks, RSS
/// after the warm-up (the first 10% of the run) against RSS at the end of
/// the load, and the latency p99 of the casts sent in the first quarter
/// against the last quarter.

#include "bench/lib/client.hpp"
#include "bench/lib/common.hpp"
#include "bench/lib/daemon.hpp"
#include "bench/lib/log_histogram.hpp"
#include "bench/lib/metrics.hpp"
#include "bench/lib/paced_timer.hpp"
#include "bench/lib/report.hpp"
#include "bench/lib/sampler.hpp"
#include "bench/lib/zones.hpp"
#include "bench/modes.hpp"
#include "bench/responder.hpp"
#include "bench/timeline/rows.hpp"
#include "bench/timeline/traffic.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <unordered_map>

namespace minidns::bench {
namespace {

int run_timeline(const options& o) {
  daemon_runner runner(o.daemon);
  const auto& dest = required(o.dest, "dest");
  schedule plan{o.rate, o.duration, o.overload_rate, o.overload_from,
                o.overload_to};
  auto zones = static_cast<unsigned>(o.zones);
  double timeout = o.timeout.value_or(2);
  auto retries = static_cast<uint32_t>(o.max_retries);
  double limit = o.time_limit.value_or(60);
  // A coarser tick than latency mode's: every wake-up costs the client a
  // context switch, and on 2 cores that CPU is minidns's (1 ms: 16 CPU s
  // for 15 s at 20,000/s, against 25 with 100 us).
  double tick_us = o.tick_us.value_or(1000);
  auto sndhwm = static_cast<int>(o.sndhwm);
  if (plan.rate <= 0 || plan.duration <= 0 || tick_us <= 0)
    die("--rate, --duration and --tick-us must be > 0");
  if (plan.over_rate > 0 &&
      !(plan.from >= 0 && plan.from < plan.to && plan.to <= plan.duration))
    die("--overload-from and --overload-to: 0 <= from < to <= --duration");
  if (zones == 0 || zones > 30000)
    die("--zones: 1 to 30000");
  std::array<unsigned, classes> pct{};
  auto slots = parse_mix(o.mix, pct);
  auto total = static_cast<uint64_t>(plan.due_at(plan.duration));
  if (total >= (uint64_t{1} << 32))
    die("more than 2^32 casts: lower --rate or --duration");

  // The silent sockets: enough of them that none has more than
  // silent_outstanding_per_socket queries outstanding at the peak rate (a
  // silent poll has one query outstanding for its whole life).
  double silent_budget_s = timeout * (1 + scripted_retries);
  auto silent_count = static_cast<size_t>(
      std::clamp(std::ceil(plan.peak() * pct[silent] / 100.0 * silent_budget_s /
                           silent_outstanding_per_socket),
                 1.0, static_cast<double>(std::min(zones, 1000u))));
  silent_sockets silent_socks(silent_count);

  // The scripted responder: REFUSED for the refused zones, the serial
  // before the one asked for the lagging ones.
  std::atomic<uint64_t> foreign{0};
  responder resp("127.0.0.1", 0, false);
  resp.script([zones, &foreign](uint8_t* d, size_t len, size_t cap) {
    unsigned j = 0;
    size_t out = 0;
    if (script_index(d, len, j)) {
      if (j / zones == 1)
        out = write_rcode_answer(d, len, 5); // REFUSED
      else if (j / zones == 2)
        out = write_soa_answer(d, len, cap, script_serial(j) - 1);
    }
    if (out == 0)
      foreign.fetch_add(1, std::memory_order_relaxed);
    return out;
  });
  std::thread rt([&] { resp.run(); });
  auto resp_dest = "127.0.0.1:" + std::to_string(resp.port());

  // One cast template per zone and class. Scripted zone j: silent j <
  // zones, refused zones + z, lagging 2 zones + z.
  using messages::method;
  std::array<std::vector<cast_template>, classes> casts;
  casts[answered] =
      zone_casts(method::poll_for_serial_number, dest, zones, timeout, retries);
  for (unsigned z = 0; z < zones; ++z) {
    casts[silent].push_back(make_template(
        method::poll_for_serial_number, script_zone(z), script_serial(z),
        silent_socks.dest(z), timeout, 0, scripted_retries));
    for (unsigned c : {1u, 2u})
      casts[c + 1].push_back(make_template(
          method::poll_for_serial_number, script_zone(c * zones + z),
          script_serial(c * zones + z), resp_dest, timeout, 0,
          scripted_retries));
  }

  std::FILE* csv = nullptr;
  if (!o.csv.empty()) {
    csv = std::fopen(o.csv.c_str(), "w");
    if (csv == nullptr)
      die("cannot write " + o.csv);
    std::fprintf(csv, "%s\n", csv_header);
    std::fflush(csv);
  }

  auto daemon_args = o.daemon_args;
  daemon_args.push_back("--minidns.metrics-endpoint=127.0.0.1:0");
  auto d = runner.start(daemon_args, "timeline");
  int metrics_port = d->metrics_port();
  if (metrics_port <= 0)
    std::printf("  minidns serves no /metrics: those columns stay empty\n");
  std::printf("timeline: %.0f s at %.0f polls/s", plan.duration, plan.rate);
  if (plan.over_rate > 0)
    std::printf(", %.0f polls/s from %.0f s to %.0f s", plan.over_rate,
                plan.from, plan.to);
  std::printf(" (%llu casts); mix answered %u%%, silent %u%%, refused %u%%, "
              "lagging %u%%; %zu silent sockets, responder %s\n",
              static_cast<unsigned long long>(total), pct[0], pct[1], pct[2],
              pct[3], silent_socks.size(), resp_dest.c_str());
  ::usleep(200000);
  auto baseline = sample_daemon(d->pid(), metrics_port);

  auto tick = static_cast<int64_t>(tick_us * 1e3);
  int64_t start = now_ns() + 10000000;
  paced_timer timer(start, tick);
  sampler samp(d->pid(), metrics_port, start);

  // The casts in flight, and one bit per request_id: answered yet.
  std::unordered_map<uint32_t, pending> in_flight;
  in_flight.reserve(1 << 20);
  std::vector<uint64_t> done_bits;
  tally counts;
  std::array<uint64_t, classes> class_sent{}, class_ok{};
  uint64_t offered = 0, sent = 0, shed = 0, completed = 0, frames = 0;
  uint64_t late_sends = 0;
  std::array<uint32_t, classes> next_zone{};
  auto silent_budget_ns = static_cast<int64_t>(silent_budget_s * 1e9);
  auto duration_ns = static_cast<int64_t>(plan.duration * 1e9);
  log_histogram all_lat, first_q, last_q, all_silent_late;

  // The rows: closed seconds, written once their sample is in.
  second_bin cur;
  std::vector<row> rows;
  row_writer writer(csv, plan, baseline);

  auto on_reply = [&](const messages::reply* r, const std::string& err,
                      int64_t t) {
    ++frames;
    ++cur.statuses;
    // Our request_ids are msgpack uint32s.
    uint32_t id = 0;
    bool ours = r != nullptr && r->raw_request_id.size() == 5 &&
                static_cast<uint8_t>(r->raw_request_id[0]) == 0xce;
    if (ours)
      for (size_t i = 1; i < 5; ++i)
        id = id << 8 | static_cast<uint8_t>(r->raw_request_id[i]);
    if (!ours || id >= sent) {
      ++counts.undecodable;
      ++cur.failed;
      ++counts.kinds[r == nullptr ? "undecodable: " + err
                     : !ours ? "reply without our request_id: " + r->method +
                                   " " + r->error
                             : std::string("reply to a request_id never sent")];
      return;
    }
    auto& word = done_bits[id / 64];
    uint64_t bit = uint64_t{1} << (id % 64);
    if ((word & bit) != 0) {
      ++counts.duplicates;
      ++cur.failed;
      return;
    }
    word |= bit;
    ++completed;
    auto it = in_flight.find(id);
    pending p = it->second;
    in_flight.erase(it);
    auto problem = check_class(*r, p.cls, p.zone, zones);
    if (problem.empty()) {
      ++counts.ok;
      ++class_ok[p.cls];
    } else {
      ++counts.bad;
      ++cur.failed;
      ++counts.kinds[std::string(class_names[p.cls]) + ": " + problem];
    }
    int64_t lat = t - p.sent;
    if (p.cls == silent) {
      cur.silent_late.push_back(lat - silent_budget_ns);
      all_silent_late.add(lat - silent_budget_ns);
      return;
    }
    cur.lat.push_back(lat);
    all_lat.add(lat);
    int64_t when = p.sent - start;
    if (when < duration_ns / 4)
      first_q.add(lat);
    else if (when >= duration_ns - duration_ns / 4)
      last_q.add(lat);
  };

  {
    dealer dl(d->endpoint(), sndhwm);
    int64_t give_up =
        start +
        static_cast<int64_t>(std::ceil(plan.duration + limit)) * 1000000000;
    int64_t grace_until = 0; // after the last status: catch duplicates
    int64_t t = now_ns();
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    while (true) {
      zmq_pollitem_t items[] = {{dl.socket(), 0, ZMQ_POLLIN, 0},
                                {nullptr, timer.fd(), ZMQ_POLLIN, 0}};
      zmq_poll(items, 2, 100);
      t = now_ns();
      if (items[1].revents & ZMQ_POLLIN) {
        timer.take();
        double elapsed = static_cast<double>(t - start) / 1e9;
        auto due = std::min<uint64_t>(
            total, static_cast<uint64_t>(plan.due_at(elapsed)) + 1);
        bool blocked = false;
        while (offered < due) {
          if (!blocked) {
            auto id = static_cast<uint32_t>(sent);
            uint8_t cls = slots[sent % slots.size()];
            uint32_t z = next_zone[cls];
            auto& c = casts[cls][z];
            c.set_id(id);
            blocked = !dl.try_send(c.frame);
            if (!blocked) {
              int64_t ts = now_ns();
              if (ts - start -
                      static_cast<int64_t>(
                          plan.time_of(static_cast<double>(offered)) * 1e9) >
                  2 * tick) {
                ++late_sends;
                ++cur.late;
              }
              in_flight.emplace(id, pending{ts, z, cls});
              if (id / 64 >= done_bits.size())
                done_bits.push_back(0);
              next_zone[cls] = (z + 1) % zones;
              ++class_sent[cls];
              ++sent;
              ++cur.sent;
            }
          }
          if (blocked) {
            ++shed;
            ++cur.shed;
          }
          ++offered;
        }
        if (offered == total)
          timer.stop();
      }
      while (zmq_msg_recv(&msg, dl.socket(), ZMQ_DONTWAIT) >= 0) {
        int64_t tr = now_ns();
        std::string err;
        auto r =
            messages::decode_reply(zmq_msg_data(&msg), zmq_msg_size(&msg), err);
        on_reply(r ? &*r : nullptr, err, tr);
      }
      t = now_ns();
      while (t >= start + static_cast<int64_t>(rows.size() + 1) * 1000000000)
        rows.push_back(close_second(cur, in_flight.size()));
      writer.write(rows, samp, false);
      if (offered == total && in_flight.empty() && grace_until == 0) {
        // Wait one more whole second for stray (duplicate) replies, and
        // end on a second boundary.
        grace_until =
            start + static_cast<int64_t>(rows.size() + 2) * 1000000000;
      }
      if ((grace_until != 0 && t >= grace_until) || t >= give_up)
        break;
    }
    zmq_msg_close(&msg);
  }
  // The last sample is taken at the boundary the loop ended on.
  for (int i = 0; i < 50 && samp.taken() < rows.size(); ++i)
    ::usleep(20000);
  samp.stop();
  writer.write(rows, samp, true);
  if (csv != nullptr)
    std::fclose(csv);
  auto final_page =
      metrics_port > 0 ? http_get(metrics_port, "/metrics") : std::string{};
  auto s = runner.stop(*d);
  resp.stop();
  rt.join();

  // RSS after the warm-up (the first 10% of the run) and at the end of the
  // load (the row of the last second of casts).
  auto rss_at = [&](double t_s) -> uint64_t {
    const auto& rss = writer.rss_by_second();
    if (rss.empty())
      return 0;
    auto i = static_cast<size_t>(std::max(1.0, std::round(t_s))) - 1;
    return rss[std::min(i, rss.size() - 1)];
  };
  uint64_t rss_warm = rss_at(std::ceil(plan.duration * 0.1));
  uint64_t rss_end = rss_at(plan.duration);
  double growth =
      rss_warm > 0
          ? (static_cast<double>(rss_end) - static_cast<double>(rss_warm)) *
                100.0 / static_cast<double>(rss_warm)
          : 0;
  uint64_t missing = sent - completed;
  auto own =
      read_histogram(final_page, "minidns_dns_attempt_timer_lateness_seconds",
                     "kind=\"soa\"", 0.99);
  auto pauses = sample_text(final_page, "minidns_cast_intake_pauses_total");
  auto busy = sample_text(final_page, "minidns_casts_busy_total");

  std::printf("  casts: %llu offered, %llu sent (%llu shed: ZeroMQ full), "
              "%llu sent late by more than two ticks\n",
              static_cast<unsigned long long>(offered),
              static_cast<unsigned long long>(sent),
              static_cast<unsigned long long>(shed),
              static_cast<unsigned long long>(late_sends));
  std::printf("  passed checks by class:");
  for (size_t c = 0; c < classes; ++c)
    std::printf(" %s %llu/%llu", class_names[c],
                static_cast<unsigned long long>(class_ok[c]),
                static_cast<unsigned long long>(class_sent[c]));
  std::printf("; frames received %llu; responder: answered %llu, foreign "
              "%llu\n",
              static_cast<unsigned long long>(frames),
              static_cast<unsigned long long>(resp.counts().answered),
              static_cast<unsigned long long>(foreign.load()));
  print_tally(counts, sent, completed);
  std::printf("  RSS: %llu kB before the load, %llu kB after the warm-up "
              "(t=%.0f s), %llu kB at the end of the load (t=%.0f s): "
              "growth %+.1f%%; VmHWM %llu kB\n",
              static_cast<unsigned long long>(baseline.rss_kb),
              static_cast<unsigned long long>(rss_warm),
              std::max(1.0, std::ceil(plan.duration * 0.1)),
              static_cast<unsigned long long>(rss_end), plan.duration, growth,
              static_cast<unsigned long long>(s.hwm_kb));
  std::printf("  cast-to-status (not silent, us): p50 %.0f p99 %.0f (n=%llu); "
              "p99 first quarter %.0f, last quarter %.0f\n",
              all_lat.quantile_us(0.5), all_lat.quantile_us(0.99),
              static_cast<unsigned long long>(all_lat.count()),
              first_q.quantile_us(0.99), last_q.quantile_us(0.99));
  std::printf("  silent polls: status after cast + %.1f s: p99 %+.1f ms "
              "(n=%llu)\n",
              silent_budget_s, all_silent_late.quantile_us(0.99) / 1e3,
              static_cast<unsigned long long>(all_silent_late.count()));
  if (own.count > 0)
    std::printf("  minidns: timer lateness p99 <= %.2f ms (bucket), intake "
                "pauses %s, casts answered busy %s\n",
                own.bucket_of_q * 1e3, pauses.c_str(), busy.c_str());
  if (csv != nullptr)
    std::printf("  csv: %s (%zu rows)\n", o.csv.c_str(), writer.written());

  result_line res;
  res.add("duration", plan.duration);
  res.add("rate", plan.rate);
  res.add("overload_rate", plan.over_rate);
  res.add("offered", offered);
  res.add("sent", sent);
  res.add("shed", shed);
  res.add("late_sends", late_sends);
  res.add("frames", frames);
  res.add_tally(counts, sent, completed);
  for (size_t c = 0; c < classes; ++c)
    res.add(std::string("ok_") + class_names[c], class_ok[c]);
  res.add("rss_start_kb", baseline.rss_kb);
  res.add("rss_warm_kb", rss_warm);
  res.add("rss_end_kb", rss_end);
  res.add("rss_growth_pct", growth);
  res.add("lat_p50_us", all_lat.quantile_us(0.5));
  res.add("lat_p99_us", all_lat.quantile_us(0.99));
  res.add("p99_first_us", first_q.quantile_us(0.99));
  res.add("p99_last_us", last_q.quantile_us(0.99));
  res.add("silent_late_p99_ms", all_silent_late.quantile_us(0.99) / 1e3);
  res.add("own_late_p99_le_ms", own.bucket_of_q * 1e3);
  res.add("intake_pauses", pauses);
  res.add("rows", writer.written());
  bool clean = counts.bad == 0 && counts.duplicates == 0 &&
               counts.undecodable == 0 && missing == 0 && foreign.load() == 0 &&
               s.found && s.casts == sent;
  return finish(res, s, "timeline", clean);
}

} // namespace

const mode_spec timeline_mode{"timeline",
                              {"dest", "rate", "duration", "overload-rate",
                               "overload-from", "overload-to", "mix", "csv",
                               "zones", "timeout", "max-retries", "time-limit",
                               "tick-us", "sndhwm"},
                              true,
                              run_timeline};

} // namespace minidns::bench
