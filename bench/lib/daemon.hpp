#pragma once
/// The minidns under test: started fresh for every run (so that its
/// counters and peak RSS belong to that run alone), watched through /proc,
/// stopped with SIGTERM and its exit summary read back from its log.

#include <cstdint>
#include <memory>
#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace minidns::bench {

/// The counters of minidns's exit summary, plus what /proc said just before
/// SIGTERM.
struct daemon_summary {
  bool found = false; ///< the "minidns stopped: ..." line was read
  unsigned long long casts = 0, invalid = 0, replies = 0, undeliverable = 0,
                     sent = 0, send_errors = 0, datagrams = 0, accepted = 0,
                     unmatched = 0, mismatched = 0;
  unsigned long long warn_lines = 0; ///< log lines at warn or above
  unsigned long long hwm_kb = 0;     ///< VmHWM just before SIGTERM
  double cpu_seconds = 0; ///< user + system CPU time just before SIGTERM
  unsigned long long threads = 0; ///< threads just before SIGTERM
};

/// User + system CPU seconds of a process (all its threads) so far.
double proc_cpu_seconds(pid_t pid);

/// A field of /proc/PID/status in kB (or a count), `key` with its colon
/// ("VmRSS:", "VmHWM:", "Threads:"); 0 when the process is gone.
uint64_t proc_status_kb(pid_t pid, const char* key);

/// A minidns process started for one run, its stderr in a log file.
class daemon_process {
public:
  /// Starts `binary` with `args`, its stderr to `log_path`, and waits (up to
  /// 20 s) for "minidns ready: endpoint ..." in the log; dies when minidns
  /// exits or is not ready by then. The child dies with the bench.
  daemon_process(const std::string& binary, std::vector<std::string> args,
                 const std::string& log_path);
  /// SIGKILLs minidns when stop() was not called.
  ~daemon_process();
  daemon_process(const daemon_process&) = delete;
  daemon_process& operator=(const daemon_process&) = delete;

  /// The process id; -1 once stopped.
  pid_t pid() const { return pid_; }
  /// The ZeroMQ endpoint minidns bound ("tcp://127.0.0.1:PORT").
  const std::string& endpoint() const { return endpoint_; }

  /// SIGTERM, wait for the exit (SIGKILL after `patience` seconds), parse
  /// the summary.
  daemon_summary stop(double patience);

  /// The log file.
  const std::string& log_path() const { return log_path_; }

  /// The port of "metrics on http://127.0.0.1:PORT/metrics" in the log's
  /// head; 0 when minidns serves no metrics.
  int metrics_port() const;

private:
  std::string read_log(size_t offset, size_t max) const;
  unsigned long long count_warnings() const;

  std::string log_path_;
  pid_t pid_ = -1;
  std::string endpoint_;
};

/// A tool attached to minidns for the length of a run: `perf record -o
/// FILE ARGS -p PID`, or any command given as words, to which `-p PID` is
/// appended (e.g. "strace -c -f -o FILE"). Stopped with SIGINT.
class attached_tool {
public:
  /// Starts `words` + "-p TARGET" and gives it 300 ms to attach.
  attached_tool(pid_t target, std::vector<std::string> words);
  /// SIGINT, then waits for the tool to exit.
  ~attached_tool();
  attached_tool(const attached_tool&) = delete;
  attached_tool& operator=(const attached_tool&) = delete;

private:
  pid_t pid_ = -1;
};

/// How the modes that drive a minidns start, watch and stop it (the
/// --minidns, --log-dir, --perf, --perf-args, --attach, --keep-log and
/// --stop-timeout options).
struct daemon_settings {
  std::string binary = "build/minidns"; ///< the minidns to run
  std::string log_dir = "/tmp";         ///< where its log goes
  std::string perf_out;                 ///< perf record's output; "": none
  std::string perf_args = "-F 499 -g";  ///< perf record's options
  std::string attach;       ///< another tool to attach (words); "": none
  bool keep_log = false;    ///< keep the log even when the summary was read
  double stop_timeout = 60; ///< seconds from SIGTERM to SIGKILL
};

/// Starts and stops the minidns of one run and prints what it did.
class daemon_runner {
public:
  /// Uses `settings` for every start and stop.
  explicit daemon_runner(daemon_settings settings)
      : settings_(std::move(settings)) {}

  /// Starts minidns on tcp://127.0.0.1:* at log level info with `extra`
  /// options; the log is LOG_DIR/minidns-MODE-PID.log. Prints "  minidns
  /// pid ... at ENDPOINT, log ...".
  std::unique_ptr<daemon_process> start(const std::vector<std::string>& extra,
                                        const std::string& mode) const;

  /// Attaches `perf record` (--perf) or another tool (--attach) to minidns
  /// until the result is destroyed.
  std::vector<std::unique_ptr<attached_tool>>
  attach_tools(const daemon_process& d) const;

  /// Stops minidns (daemon_process::stop), prints its counters on one line
  /// and removes its log unless --keep-log or the summary is missing.
  daemon_summary stop(daemon_process& d) const;

private:
  daemon_settings settings_;
};

} // namespace minidns::bench
