#pragma once
/// minidns-ctl's command line: the options (parsed with CLI11) and the
/// command with its arguments, and the --help text.

#include "actors/zmq/key_files.hpp"
#include "apps/minidns-ctl/common.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace minidns::ctl {

/// The command line, checked.
struct options {
  std::string endpoint = "tcp://127.0.0.1:5358"; ///< minidns's ZeroMQ endpoint
  cast_params params;     ///< --timeout, --retry-interval, --max-retries,
                          ///< --delay, --transport
  double grace = 1;       ///< seconds to wait for error replies at the end
  uint64_t window = 1000; ///< polls awaiting a reply at once
  std::optional<double> progress;      ///< seconds between progress lines
  std::string curve_server_key;        ///< Z85; empty: no CURVE
  curve::key_pair curve_keys;          ///< this client's, with curve_server_key
  bool help = false;                   ///< --help: nothing else was parsed
  std::vector<std::string> positional; ///< the command and its arguments
};

/// Parses argv. Options may come before or after the command, as
/// --NAME=VALUE or --NAME VALUE; "--" ends them. --help (or -h) anywhere
/// before "--" wins over everything else. Throws usage_error naming the
/// option, or std::runtime_error.
options parse_options(int argc, char** argv);

/// The text --help prints.
std::string help_text();

} // namespace minidns::ctl
