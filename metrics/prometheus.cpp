#include "metrics/prometheus.hpp"

#include "net/dns_message.hpp"

#include <algorithm>
#include <cstdio>
#include <unistd.h>

namespace minidns::metrics {

namespace {

/// Builds the page one metric family at a time.
class page {
public:
  void family(const char* name, const char* type, const char* help) {
    name_ = name;
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }

  /// One sample of the current family; `labels` is "" or `a="x",b="y"`.
  void sample(const std::string& labels, uint64_t value,
              const char* suffix = "") {
    line(labels, suffix);
    out_ += std::to_string(value);
    out_ += '\n';
  }

  void sample(const std::string& labels, double value, const char* suffix) {
    line(labels, suffix);
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.9g", value);
    out_ += buf;
    out_ += '\n';
  }

  /// A histogram sample set for one label set.
  void histogram(const std::string& labels, const histogram::snapshot& h) {
    uint64_t cumulative = 0;
    for (size_t i = 0; i < h.buckets.size(); ++i) {
      cumulative += h.buckets[i];
      std::string le = "+Inf";
      if (i < histogram::bounds.size()) {
        char buf[32];
        std::snprintf(buf, sizeof(buf), "%g", histogram::bounds[i]);
        le = buf;
      }
      sample(join(labels, "le=\"" + le + "\""), cumulative, "_bucket");
    }
    sample(labels, h.sum, "_sum");
    sample(labels, cumulative, "_count");
  }

  std::string take() { return std::move(out_); }

private:
  static std::string join(const std::string& a, const std::string& b) {
    return a.empty() ? b : a + "," + b;
  }

  void line(const std::string& labels, const char* suffix) {
    out_ += name_;
    out_ += suffix;
    if (!labels.empty()) {
      out_ += '{';
      out_ += labels;
      out_ += '}';
    }
    out_ += ' ';
  }

  std::string out_;
  const char* name_ = "";
};

std::string label(const char* name, std::string_view value) {
  // Label values here come from fixed tables: no escaping needed.
  std::string out = name;
  out += "=\"";
  out += value;
  out += '"';
  return out;
}

uint64_t get(const std::atomic<uint64_t>& a) {
  return a.load(std::memory_order_relaxed);
}

} // namespace

uint64_t resident_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr)
    return 0;
  unsigned long long size = 0, resident = 0;
  int n = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  long page = sysconf(_SC_PAGESIZE);
  return n == 2 && page > 0 ? resident * static_cast<uint64_t>(page) : 0;
}

std::string render(const registry& r) {
  auto& udp = r.udp;
  auto& zmq = r.zmq;
  page p;
  p.family("minidns_casts_total", "counter",
           "Valid casts accepted from pool managers, by method.");
  for (size_t m = 0; m < 2; ++m)
    p.sample(label("method", method_names[m]), get(r.casts[m]));

  p.family("minidns_invalid_casts_total", "counter",
           "Frames answered with an error, by the field at fault.");
  for (size_t i = 0; i < invalid_reason_count; ++i)
    p.sample(label("reason", invalid_reasons[i]), get(r.invalid[i]));

  p.family("minidns_requests_total", "counter",
           "Requests ended, by method, status and detail (combinations "
           "seen so far).");
  for (size_t m = 0; m < 2; ++m)
    for (size_t st = 0; st < 2; ++st)
      for (size_t d = 0; d < detail_count; ++d) {
        auto n = get(r.ended[m][st][d]);
        // Always show the usual outcomes, so that rates start at zero.
        auto usual_success =
            m == 1 ? net::detail::matched : net::detail::acknowledged;
        bool usual =
            (st == 0 && d == static_cast<size_t>(usual_success)) ||
            (st == 1 && d == static_cast<size_t>(net::detail::timeout));
        if (n == 0 && !usual)
          continue;
        p.sample(label("method", method_names[m]) + "," +
                     label("status", st == 0 ? "SUCCESS" : "ERROR") + "," +
                     label("detail", detail_names[d]),
                 n);
      }

  p.family("minidns_requests_in_flight", "gauge",
           "Requests running plus replies waiting for their pool manager.");
  p.sample("", get(zmq.in_flight));
  p.family("minidns_requests_in_flight_limit", "gauge",
           "minidns.max-in-flight: casts wait in ZeroMQ beyond it.");
  p.sample("", get(zmq.max_in_flight));

  p.family("minidns_request_duration_seconds", "histogram",
           "Time from cast to the request's end, by method.");
  for (size_t m = 0; m < 2; ++m)
    p.histogram(label("method", method_names[m]), r.duration[m].read());

  p.family("minidns_dns_queries_total", "counter",
           "DNS queries sent, by kind.");
  for (size_t k = 0; k < 2; ++k)
    p.sample(label("kind", kind_names[k]), get(r.queries[k]));

  p.family("minidns_dns_send_errors_total", "counter",
           "DNS queries the kernel refused to send.");
  p.sample("", get(udp.send_errors));
  p.family("minidns_dns_send_retries_total", "counter",
           "DNS queries the kernel refused once and that were sent again at "
           "once (a pending ICMP error about an earlier datagram, or a "
           "firewall or queue that refuses now and then).");
  p.sample("", get(udp.send_retries));
  p.family("minidns_dns_send_waits_total", "counter",
           "Times a full socket send buffer made queries wait.");
  p.sample("", get(udp.send_waits));

  p.family("minidns_dns_queries_queued_total", "counter",
           "Queries that waited in their destination's queue (flow "
           "control: max-outstanding-per-destination, notify-rate, "
           "poll-rate).");
  p.sample("", get(udp.queued));
  p.family("minidns_dns_queries_waiting", "gauge",
           "Queries waiting in the per-destination queues now.");
  p.sample("", get(udp.waiting));
  p.family("minidns_dns_queries_outstanding", "gauge",
           "Queries sent and not yet answered, timed out or failed, as flow "
           "control counts them (0 while it is off).");
  p.sample("", get(udp.outstanding));

  p.family("minidns_dns_tcp_queries_total", "counter",
           "Queries asked again over TCP because the UDP reply was "
           "truncated (TC=1).");
  p.sample("", get(udp.tcp_queries));
  p.family("minidns_dns_tcp_connections", "gauge",
           "TCP connections to DNS servers open now.");
  p.sample("", get(udp.tcp_connections));

  p.family("minidns_dns_attempts_timed_out_total", "counter",
           "Attempts that got no usable answer in time, by kind.");
  for (size_t k = 0; k < 2; ++k)
    p.sample(label("kind", kind_names[k]), get(r.timeouts[k]));

  p.family("minidns_dns_datagrams_received_total", "counter",
           "UDP datagrams read from minidns's sockets.");
  p.sample("", get(udp.received));

  p.family("minidns_dns_replies_total", "counter",
           "DNS replies accepted (matched and checked), by RCODE.");
  for (uint8_t rc = 0; rc < 16; ++rc) {
    auto n = get(r.rcodes[rc]);
    if (n == 0 && rc != 0)
      continue;
    p.sample(label("rcode", net::rcode_name(rc)), n);
  }

  p.family("minidns_dns_replies_dropped_total", "counter",
           "Datagrams dropped: unmatched (no attempt with that socket, "
           "source and ID: forged or very late), mismatched (failed the "
           "reply check) or tsig (a reply to a signed query without a valid "
           "signature).");
  p.sample(label("reason", "unmatched"), get(udp.unmatched));
  p.sample(label("reason", "mismatched"), get(udp.mismatched));
  p.sample(label("reason", "tsig"), get(udp.tsig_dropped));

  p.family("minidns_dns_icmp_errors_total", "counter",
           "ICMP errors read from the sockets: matched ones ended an "
           "attempt early.");
  p.sample(label("matched", "true"), get(udp.icmp_matched));
  p.sample(label("matched", "false"), get(udp.icmp_unmatched));

  p.family("minidns_dns_round_trip_seconds", "histogram",
           "Time from a query's send to its accepted reply, by kind.");
  for (size_t k = 0; k < 2; ++k)
    p.histogram(label("kind", kind_names[k]), r.rtt[k].read());

  p.family("minidns_dns_attempt_timer_lateness_seconds", "histogram",
           "Attempt timeouts: time fired minus time due, by kind. Above a "
           "few ms the UDP thread is saturated.");
  for (size_t k = 0; k < 2; ++k)
    p.histogram(label("kind", kind_names[k]), r.timer_lateness[k].read());

  p.family("minidns_cast_intake_pauses_total", "counter",
           "Times new casts were left in ZeroMQ because attempt timers ran "
           "more than 2 ms late.");
  p.sample("", get(zmq.intake_pauses));

  p.family("minidns_casts_refused_draining_total", "counter",
           "Casts refused because minidns was shutting down.");
  p.sample("", get(zmq.drain_refused));

  p.family("minidns_casts_waiting", "gauge",
           "Casts read and waiting to start, in the queues per pool "
           "manager.");
  p.sample("", get(zmq.queued));
  p.family("minidns_casts_busy_total", "counter",
           "Casts answered busy at once: their pool manager had "
           "max-queued-per-pool-manager casts waiting.");
  p.sample("", get(zmq.busy));

  p.family("minidns_notifies_coalesced_total", "counter",
           "NOTIFY casts coalesced with an identical one (zone, destination, "
           "key, transport): deferred to follow the one running (one more "
           "NOTIFY after it), or merged into the one waiting (no NOTIFY of "
           "their own).");
  p.sample(label("how", "deferred"), get(zmq.notify_deferred));
  p.sample(label("how", "merged"), get(zmq.notify_merged));

  p.family("minidns_cancels_total", "counter",
           "Cancel casts taken from pool managers.");
  p.sample("", get(zmq.cancels));
  p.family("minidns_casts_cancelled_total", "counter",
           "Casts (running or waiting to start) that a cancel ended.");
  p.sample("", get(zmq.cancelled));
  p.family("minidns_pool_polls_total", "counter",
           "Polls across several destinations (destinations), by their one "
           "status.");
  p.sample(label("status", "SUCCESS"), get(zmq.pool_polls[0]));
  p.sample(label("status", "ERROR"), get(zmq.pool_polls[1]));
  p.family("minidns_shared_attempts_total", "counter",
           "Poll attempts that rode on an identical SOA query in flight "
           "(zone, destination, key, transport) instead of sending one.");
  p.sample("", get(udp.shared_attempts));
  p.family("minidns_shared_answers_total", "counter",
           "Answers to a shared SOA query handed to the polls riding on "
           "it.");
  p.sample("", get(udp.shared_answers));

  p.family("minidns_zmq_connections", "gauge",
           "ZeroMQ connections from pool managers now open.");
  p.sample("", static_cast<uint64_t>(std::max<int64_t>(
                   0, zmq.connected.load(std::memory_order_relaxed))));
  p.family("minidns_zmq_connections_refused_total", "counter",
           "Connections that failed the ZeroMQ handshake (CURVE key not "
           "allowed, wrong mechanism, closed early).");
  p.sample("", get(zmq.refused));

  p.family("minidns_replies_sent_total", "counter",
           "Replies handed to ZeroMQ for pool managers.");
  p.sample("", get(zmq.replies));
  p.family("minidns_replies_dropped_total", "counter",
           "Replies dropped: their pool manager did not come back in time.");
  p.sample("", get(zmq.undeliverable));
  p.family("minidns_replies_held", "gauge",
           "Replies waiting for a pool manager that disconnected.");
  p.sample("", get(zmq.held));
  p.family("minidns_replies_held_delivered_total", "counter",
           "Held replies delivered when their pool manager came back.");
  p.sample("", get(zmq.held_delivered));

  p.family("minidns_memory_trims_total", "counter",
           "Times freed heap memory was handed back to the system "
           "(malloc_trim) because much more was resident than in use, "
           "e.g. after a burst.");
  p.sample("", get(zmq.memory_trims));
  p.family("minidns_memory_trim_seconds_total", "counter",
           "Time the ZeroMQ thread spent looking at the heap and trimming "
           "it.");
  p.sample("", static_cast<double>(get(zmq.memory_look_ns)) / 1e9, "");
  p.family("process_resident_memory_bytes", "gauge",
           "Resident memory of the minidns process.");
  p.sample("", resident_bytes());
  return p.take();
}

} // namespace minidns::metrics
