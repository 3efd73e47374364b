/// minidns_bench: the load-generating pool manager of bench/run.sh.
///
/// It starts a fresh minidns for every run (so that the daemon's counters
/// and its peak RSS belong to that run alone), connects one ZeroMQ DEALER,
/// keeps a window of casts in flight or paces them, timestamps every cast
/// and every reply, checks every reply (method, status, serial, detail,
/// request_id, duplicates) and prints one `RESULT key=value ...` line for
/// run.sh, plus the daemon's own counters from its exit summary.
///
/// Modes (one file each; what they share is in bench/lib/):
///   free-port, zones, check   mode_setup.cpp: a free port, NSD's files,
///                             every zone's SOA straight from NSD
///   poll     mode_poll.cpp: N polls to NSD, window W; every one must be
///            SUCCESS/matched
///   notify   mode_notify.cpp: N notifies to an in-process NOERROR
///            responder, window W (in flight = casts sent - NOTIFYs the
///            responder has received)
///   latency  mode_latency.cpp: polls to NSD paced at --rate for
///            --duration, with direct SOA probes to NSD interleaved to
///            measure the server's round trip
///   scale    mode_scale.cpp: N polls at once to a silent in-process UDP
///            socket, timeout T; peak RSS of minidns per request in flight,
///            timer lateness
///   timeline mode_timeline.cpp: polls paced at --rate (and an optional
///            overload) for --duration, mixed: NSD (SUCCESS), silent
///            sockets (timeout), a scripted responder (REFUSED, lower
///            serial); one CSV row per second, a soak summary at the end
///
/// This file parses the command line (options.cpp, CLI11) and dispatches
/// on --mode. Exit status: 0 clean, 1 error (usage included), 2 no or
/// unknown --mode, 3 a check failed.

#include "bench/lib/common.hpp"
#include "bench/modes.hpp"

#include <csignal>
#include <cstdio>
#include <exception>
#include <string>

int main(int argc, char** argv) {
  using namespace minidns::bench;
  std::signal(SIGPIPE, SIG_IGN);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  try {
    auto o = parse_options(argc, argv);
    if (o.help)
      return 0;
    for (const mode_spec* m :
         {&free_port_mode, &zones_mode, &check_mode, &poll_mode, &notify_mode,
          &latency_mode, &scale_mode, &timeline_mode}) {
      if (o.mode == m->name) {
        check_options_apply(o, *m);
        return m->run(o);
      }
    }
  } catch (const std::exception& e) {
    die(e.what());
  }
  std::fprintf(stderr, "usage: minidns_bench "
                       "--mode=free-port|zones|check|poll|notify|latency|scale|"
                       "timeline "
                       "[--key=value ...]\n  see minidns_bench --help and "
                       "bench/README.md\n");
  return 2;
}
