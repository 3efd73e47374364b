#pragma once
/// What a run prints: latency percentiles, the reply tally, CPU per
/// request, and the one `RESULT mode=M key=value ...` line that
/// bench/run.sh reads (its keys and their formats are the contract).

#include "bench/lib/client.hpp"
#include "bench/lib/daemon.hpp"

#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace minidns::bench {

/// Percentiles of a sample, in microseconds.
struct percentiles {
  size_t n = 0; ///< sample size
  double p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0, mean = 0; ///< us
};

/// Percentiles (nearest rank) of a sample in ns.
percentiles summarize(std::vector<int64_t> ns);

/// The fields of the RESULT line, in order.
class result_line {
public:
  /// Adds key=value: floating point with 3 decimals, integers as they are.
  template <class T>
  void add(const std::string& key, T value) {
    std::ostringstream s;
    s.setf(std::ios::fixed);
    s.precision(std::is_floating_point<T>::value ? 3 : 0);
    s << value;
    fields_.emplace_back(key, s.str());
  }

  /// Adds daemon_summary, daemon_casts, ... daemon_threads.
  void add_daemon(const daemon_summary& d);

  /// Adds PREFIX_p50_us, _p90_us, _p99_us, _p999_us and _max_us.
  void add_percentiles(const std::string& prefix, const percentiles& p);

  /// Adds ok, bad, duplicates, undecodable and missing (n - completed).
  void add_tally(const tally& t, uint64_t n, uint64_t completed);

  /// Prints "RESULT mode=MODE key=value ..." and flushes stdout.
  void print(const std::string& mode) const;

private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

/// Prints the reply counts of a run of `n` requests and, indented, the
/// failed checks by kind.
void print_tally(const tally& t, uint64_t n, uint64_t completed);

/// Prints "  WHAT (us): p50 ... (n=N)".
void print_percentiles(const char* what, const percentiles& p);

/// Whether each of `n` requests got one reply that passed its check, and
/// minidns's exit summary was read and counts `n` casts.
bool all_replies_ok(const tally& t, uint64_t n, const daemon_summary& s);

/// CPU time per request of a run, in microseconds.
struct cpu_per_request {
  double daemon_us = 0; ///< minidns's (from its summary)
  double client_us = 0; ///< this process's, so far
};

/// CPU per request over `n` requests: minidns's from `s`, the client's from
/// its own CPU time now.
cpu_per_request measure_cpu(const daemon_summary& s, uint64_t n);

/// Prints "  CPU per NOUN: minidns X us, CLIENT Y us".
void print_cpu(const char* noun, const char* client, const cpu_per_request& c);

/// The fields the throughput modes (poll, notify) start their RESULT line
/// with: n, window, seconds, rate, daemon_cpu_us_per_request and
/// client_cpu_us_per_request.
void add_throughput(result_line& res, uint64_t n, uint64_t window,
                    double seconds, double rate, const cpu_per_request& c);

/// Ends a run: adds minidns's summary to `res`, prints it as mode `mode`'s
/// RESULT line and returns the exit status (0 when `clean`, else 3).
int finish(result_line& res, const daemon_summary& s, const char* mode,
           bool clean);

} // namespace minidns::bench
