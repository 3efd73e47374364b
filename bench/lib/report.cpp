#include "bench/lib/report.hpp"

#include "bench/lib/common.hpp"

#include <algorithm>
#include <cstdio>

namespace minidns::bench {

percentiles summarize(std::vector<int64_t> ns) {
  percentiles p;
  p.n = ns.size();
  if (ns.empty())
    return p;
  std::sort(ns.begin(), ns.end());
  auto at = [&](double q) {
    auto i = static_cast<size_t>(q * static_cast<double>(ns.size() - 1) + 0.5);
    return static_cast<double>(ns[i]) / 1e3;
  };
  p.p50 = at(0.5);
  p.p90 = at(0.9);
  p.p99 = at(0.99);
  p.p999 = at(0.999);
  p.max = static_cast<double>(ns.back()) / 1e3;
  double sum = 0;
  for (auto v : ns)
    sum += static_cast<double>(v);
  p.mean = sum / static_cast<double>(ns.size()) / 1e3;
  return p;
}

// ---------------------------------------------------------- result_line

void result_line::add_daemon(const daemon_summary& d) {
  add("daemon_summary", d.found ? 1 : 0);
  add("daemon_casts", d.casts);
  add("daemon_invalid", d.invalid);
  add("daemon_replies", d.replies);
  add("daemon_undeliverable", d.undeliverable);
  add("daemon_queries_sent", d.sent);
  add("daemon_send_errors", d.send_errors);
  add("daemon_datagrams", d.datagrams);
  add("daemon_accepted", d.accepted);
  add("daemon_unmatched", d.unmatched);
  add("daemon_mismatched", d.mismatched);
  add("daemon_warn_lines", d.warn_lines);
  add("daemon_hwm_kb", d.hwm_kb);
  add("daemon_cpu_seconds", d.cpu_seconds);
  add("daemon_threads", d.threads);
}

void result_line::add_percentiles(const std::string& prefix,
                                  const percentiles& p) {
  add(prefix + "_p50_us", p.p50);
  add(prefix + "_p90_us", p.p90);
  add(prefix + "_p99_us", p.p99);
  add(prefix + "_p999_us", p.p999);
  add(prefix + "_max_us", p.max);
}

void result_line::add_tally(const tally& t, uint64_t n, uint64_t completed) {
  add("ok", t.ok);
  add("bad", t.bad);
  add("duplicates", t.duplicates);
  add("undecodable", t.undecodable);
  add("missing", n - completed);
}

void result_line::print(const std::string& mode) const {
  std::printf("RESULT mode=%s", mode.c_str());
  for (auto& [k, v] : fields_)
    std::printf(" %s=%s", k.c_str(), v.c_str());
  std::printf("\n");
  std::fflush(stdout);
}

// ------------------------------------------------------------- printing

void print_tally(const tally& t, uint64_t n, uint64_t completed) {
  std::printf("  replies: %llu ok, %llu failed checks, %llu duplicates, %llu "
              "undecodable, %llu missing\n",
              static_cast<unsigned long long>(t.ok),
              static_cast<unsigned long long>(t.bad),
              static_cast<unsigned long long>(t.duplicates),
              static_cast<unsigned long long>(t.undecodable),
              static_cast<unsigned long long>(n - completed));
  for (auto& [k, v] : t.kinds)
    std::printf("    %llu x %s\n", static_cast<unsigned long long>(v),
                k.c_str());
}

void print_percentiles(const char* what, const percentiles& p) {
  std::printf("  %s (us): p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max "
              "%.1f  mean %.1f  (n=%zu)\n",
              what, p.p50, p.p90, p.p99, p.p999, p.max, p.mean, p.n);
}

bool all_replies_ok(const tally& t, uint64_t n, const daemon_summary& s) {
  return t.ok == n && t.duplicates == 0 && t.undecodable == 0 && s.found &&
         s.casts == n;
}

cpu_per_request measure_cpu(const daemon_summary& s, uint64_t n) {
  cpu_per_request c;
  c.daemon_us = s.cpu_seconds * 1e6 / static_cast<double>(n);
  c.client_us = self_cpu_seconds() * 1e6 / static_cast<double>(n);
  return c;
}

void print_cpu(const char* noun, const char* client, const cpu_per_request& c) {
  std::printf("  CPU per %s: minidns %.1f us, %s %.1f us\n", noun, c.daemon_us,
              client, c.client_us);
}

void add_throughput(result_line& res, uint64_t n, uint64_t window,
                    double seconds, double rate, const cpu_per_request& c) {
  res.add("n", n);
  res.add("window", window);
  res.add("seconds", seconds);
  res.add("rate", rate);
  res.add("daemon_cpu_us_per_request", c.daemon_us);
  res.add("client_cpu_us_per_request", c.client_us);
}

int finish(result_line& res, const daemon_summary& s, const char* mode,
           bool clean) {
  res.add_daemon(s);
  res.print(mode);
  return clean ? 0 : 3;
}

} // namespace minidns::bench
