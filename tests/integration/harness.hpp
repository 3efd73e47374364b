#pragma once
/// Running the real binaries for the integration tests: the minidns daemon
/// with its log captured line by line, one-shot programs (minidns-ctl, the
/// daemon refusing a configuration), and a pool manager speaking ZeroMQ.

#include "apps/minidns-ctl/client_codec.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <sys/types.h>
#include <thread>
#include <utility>
#include <vector>
#include <zmq.hpp>

namespace minidns::it {

using std::chrono::milliseconds;

/// Path of the minidns daemon under test.
inline const char* const minidns_binary = MINIDNS_BINARY;
/// Path of minidns-ctl under test.
inline const char* const minidns_ctl_binary = MINIDNS_CTL_BINARY;

/// The outcome of a program run to its end.
struct run_result {
  /// The exit code; 128 + N when killed by signal N; -1 when the program
  /// outlived its deadline (it was then killed).
  int status = -1;
  std::string out; ///< everything written to stdout
  std::string err; ///< everything written to stderr
};

/// Runs `argv` (argv[0] is the program's path) with stdin from /dev/null,
/// collects its output and waits for it to end, killing it with SIGKILL
/// after `timeout`.
run_result run_program(const std::vector<std::string>& argv,
                       milliseconds timeout);

/// An HTTP response.
struct http_response {
  int status = 0;           ///< from the status line
  std::string content_type; ///< the Content-Type header's value
  std::string body;
};

/// GET http://`host`:`port``path` (host a numeric IPv4 or IPv6 address),
/// HTTP/1.1 with "Connection: close"; nullopt when no complete response
/// came within `timeout`.
std::optional<http_response> http_get(const std::string& host, uint16_t port,
                                      const std::string& path,
                                      milliseconds timeout);

/// The value of one series of a Prometheus text page: `series` is a sample
/// name with its labels exactly as rendered ("name" or `name{a="x"}`).
/// -1 when the page has no such sample.
inline double metric_value(const std::string& page, const std::string& series) {
  for (size_t at = 0; (at = page.find(series + " ", at)) != std::string::npos;
       ++at)
    if (at == 0 || page[at - 1] == '\n')
      return std::stod(page.substr(at + series.size() + 1));
  return -1;
}

/// The sum of all samples of the family `name` over its label sets (for
/// example every rcode of minidns_dns_replies_total); -1 when it has none.
inline double metric_sum(const std::string& page, const std::string& name) {
  double sum = -1;
  for (size_t at = 0; at < page.size();) {
    auto eol = std::min(page.find('\n', at), page.size());
    auto line = page.substr(at, eol - at);
    at = eol + 1;
    if (line.compare(0, name.size(), name) != 0 || line.size() <= name.size() ||
        (line[name.size()] != '{' && line[name.size()] != ' '))
      continue;
    // The value is the last field (label values may hold spaces).
    sum = std::max(sum, 0.0) + std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

/// The minidns daemon, started with `--minidns.endpoint=tcp://127.0.0.1:*`,
/// `--minidns.metrics-endpoint=127.0.0.1:0` (unless `extra_args` set a
/// metrics endpoint) and extra arguments. Its stderr and stdout are read by
/// a thread into lines that tests can wait for; its counters are read from
/// its /metrics page. The destructor kills a daemon still running.
class daemon_process {
public:
  /// Starts the daemon. With `wait_ready`, waits (up to 10 s) for the
  /// "minidns ready" line and reads the bound endpoint from it; throws
  /// std::runtime_error (with the log) when it does not come.
  explicit daemon_process(std::vector<std::string> extra_args = {},
                          bool wait_ready = true);
  ~daemon_process();
  daemon_process(const daemon_process&) = delete;
  daemon_process& operator=(const daemon_process&) = delete;

  /// The endpoint from the ready line ("tcp://127.0.0.1:PORT").
  const std::string& endpoint() const { return endpoint_; }
  pid_t pid() const { return pid_; }

  /// Waits until a line containing `needle` has been logged (at any time
  /// since the start). Sets `*line` to the first such line. False on
  /// timeout or when the log ended without one.
  bool wait_for_line(const std::string& needle, milliseconds timeout,
                     std::string* line = nullptr) const;
  /// Waits until `n` lines containing `needle` have been logged. False on
  /// timeout or when the log ended first.
  bool wait_for_lines(const std::string& needle, size_t n,
                      milliseconds timeout) const;
  /// How many lines logged so far contain `needle`.
  size_t count_lines(const std::string& needle) const;
  /// The whole log so far, one line per line.
  std::string log() const;

  /// The /metrics address from the "metrics on http://HOST:PORT/metrics"
  /// line, as host and port; port 0 when the daemon serves no metrics.
  std::pair<std::string, uint16_t> metrics_address() const;
  /// The /metrics page now; empty when it did not answer 200 in 10 s.
  std::string scrape() const;
  /// One series on a fresh scrape, as metric_value(); -1 when absent.
  double metric(const std::string& series) const {
    return metric_value(scrape(), series);
  }
  /// Scrapes /metrics again and again until `read(page)` is `expected`;
  /// false when `timeout` passes first. `*page` gets the last page read.
  /// For counters that the daemon publishes a moment after the reply or
  /// log line a test waited for.
  bool wait_for_metric(const std::function<double(const std::string&)>& read,
                       double expected, milliseconds timeout,
                       std::string* page = nullptr) const;
  /// The same for one series (as metric_value()).
  bool wait_for_metric(const std::string& series, double expected,
                       milliseconds timeout,
                       std::string* page = nullptr) const {
    return wait_for_metric(
        [&series](const std::string& p) { return metric_value(p, series); },
        expected, timeout, page);
  }

  /// Sends a signal to the daemon.
  void signal(int sig);
  /// Waits for the daemon to exit and returns its status as in
  /// run_result; nullopt when it is still running after `timeout`.
  std::optional<int> wait_exit(milliseconds timeout);
  /// Sends `sig` and waits (up to `timeout`) for the exit; returns the
  /// status as in run_result. A daemon that does not exit in time is
  /// killed and -1 is returned.
  int stop(int sig = SIGTERM,
           milliseconds timeout = std::chrono::milliseconds(10000));

private:
  void read_output(int fd);

  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = -1;
  std::string endpoint_;
  std::thread reader_;

  mutable std::mutex mtx_;
  mutable std::condition_variable cv_;
  std::vector<std::string> lines_;
  bool eof_ = false;
};

/// Decodes a reply frame; throws std::runtime_error, with the frame as
/// JSON, when it is not a reply (a test failure, not a skip).
messages::reply decode_or_throw(const std::string& raw);

/// How a pool manager connects.
struct pm_options {
  int rcvhwm = 0;         ///< receive high-water mark, messages (0: none)
  std::string routing_id; ///< empty: ZeroMQ picks one
  /// CURVE: the server's public key and the client's key pair (Z85); all
  /// empty for a plain connection.
  std::string server_key, public_key, secret_key;
};

/// A pool manager: a ZeroMQ DEALER connected to minidns.
class pool_manager {
public:
  /// Connects to `endpoint`. `rcvhwm` is the DEALER's receive high-water
  /// mark in messages (0: none).
  explicit pool_manager(const std::string& endpoint, int rcvhwm = 0);
  /// Connects to `endpoint` as `opts` say.
  pool_manager(const std::string& endpoint, const pm_options& opts);
  pool_manager(const pool_manager&) = delete;
  pool_manager& operator=(const pool_manager&) = delete;

  /// Sends one frame (a cast, or any bytes).
  void send(const std::string& frame);
  /// Sends one message of several frames.
  void send_frames(const std::vector<std::string>& frames);

  /// Receives one message's frames; empty on timeout.
  std::vector<std::string> receive_frames(milliseconds timeout);
  /// Receives one single-frame reply as raw bytes; nullopt on timeout.
  /// Throws std::runtime_error when the message has several frames.
  std::optional<std::string> receive_raw(milliseconds timeout);
  /// Receives and decodes one reply; nullopt on timeout. Throws
  /// std::runtime_error when the reply cannot be decoded.
  std::optional<messages::reply> receive(milliseconds timeout);

private:
  zmq::context_t ctx_;
  zmq::socket_t sock_;
};

} // namespace minidns::it
