#pragma once
/// minidns_bench's command line, parsed with CLI11: one set of --NAME=VALUE
/// options for every mode, each mode reading the ones it names (see
/// mode_spec) and rejecting the others.

#include "bench/lib/daemon.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace minidns::bench {

/// The command line. Options whose default depends on the mode are
/// optional; the mode supplies the default.
struct options {
  std::string mode;  ///< --mode
  bool help = false; ///< --help was given (and printed)

  daemon_settings daemon; ///< --minidns, --log-dir, --perf, --perf-args,
                          ///< --attach, --keep-log, --stop-timeout
  std::vector<std::string> daemon_args; ///< every --daemon-arg, in order

  std::string dest;     ///< --dest a.b.c.d:port (NSD)
  std::string dir;      ///< --dir (zones)
  std::string nsd_port; ///< --nsd-port (zones)
  std::string dump;     ///< --dump FILE (scale); "": none

  std::string csv; ///< --csv FILE (timeline); "": none
  /// --mix (timeline): percent of casts answered, silent, refused, lagging.
  std::string mix = "70,10,10,10";

  std::optional<uint64_t> count; ///< --count (mode's default)
  uint64_t window = 2000;        ///< --window
  uint64_t zones = 1000;         ///< --zones
  uint64_t max_retries = 3;      ///< --max-retries
  uint64_t probe_every = 10;     ///< --probe-every (latency)
  uint64_t sndhwm = 10000;       ///< --sndhwm (scale)

  std::optional<double> timeout;    ///< --timeout (mode's default)
  std::optional<double> time_limit; ///< --time-limit (mode's default)
  double rate = 10000;              ///< --rate (latency, timeline)
  double duration = 5;              ///< --duration (latency, timeline)
  double overload_rate = 0;         ///< --overload-rate (timeline); 0: none
  double overload_from = 0;         ///< --overload-from (timeline), s
  double overload_to = 0;           ///< --overload-to (timeline), s
  std::optional<double> tick_us;    ///< --tick-us (mode's default)
  double wait = 10;                 ///< --wait (check)

  /// The long names (without "--") of the options on the command line.
  std::vector<std::string> given;
};

/// One --mode: its name, the options it reads besides --mode, its body.
struct mode_spec {
  const char* name;               ///< the value of --mode
  std::vector<std::string> reads; ///< long names without "--"
  bool starts_daemon;             ///< also reads the daemon options
  int (*run)(const options& o);   ///< the exit status
};

/// The options of the modes that start a minidns (starts_daemon).
extern const std::vector<std::string> daemon_option_names;

/// Parses argv. Prints the help text and sets `help` for --help (or -h).
/// Throws std::runtime_error with the message on a usage error.
options parse_options(int argc, char** argv);

/// Throws std::runtime_error naming the first option on the command line
/// that `mode` does not read.
void check_options_apply(const options& o, const mode_spec& mode);

/// `value`, or dies with "--NAME is required" when it is empty.
const std::string& required(const std::string& value, const char* name);

} // namespace minidns::bench
