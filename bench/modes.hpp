#pragma once
/// The modes of minidns_bench, one file each: what each reads from the
/// command line and its body. minidns_bench.cpp dispatches on --mode.

#include "bench/options.hpp"

namespace minidns::bench {

/// --mode=free-port: prints a port that is free for UDP and TCP on
/// 127.0.0.1 (mode_setup.cpp).
extern const mode_spec free_port_mode;

/// --mode=zones: writes NSD's configuration, zone files and dnsperf's query
/// file (mode_setup.cpp).
extern const mode_spec zones_mode;

/// --mode=check: every zone's SOA straight from NSD (mode_setup.cpp).
extern const mode_spec check_mode;

/// --mode=poll: poll throughput against NSD (mode_poll.cpp).
extern const mode_spec poll_mode;

/// --mode=notify: NOTIFY rate against the in-process responder
/// (mode_notify.cpp).
extern const mode_spec notify_mode;

/// --mode=latency: time minidns adds at a paced rate (mode_latency.cpp).
extern const mode_spec latency_mode;

/// --mode=scale: polls at once to a silent port (mode_scale.cpp).
extern const mode_spec scale_mode;

/// --mode=timeline: a long paced run of mixed outcomes, one CSV row per
/// second (mode_timeline.cpp).
extern const mode_spec timeline_mode;

} // namespace minidns::bench
