/// minidns: tells DNS servers that their zones changed (RFC 1996 NOTIFY) and
/// checks that they caught up (SOA serials, RFC 1982), driven by pool
/// managers over ZeroMQ.

#include "actors/scheduler.hpp"
#include "actors/service.hpp"
#include "config/settings.hpp"

#include <caf/all.hpp>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <malloc.h>
#include <spdlog/spdlog.h>

int main(int argc, char** argv) {
  // Signals are taken synchronously by the main thread, never by CAF's or
  // ZeroMQ's threads: block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  // Requests come and go by the hundred thousand: keep freed heap for the
  // next ones instead of returning it to the kernel and faulting it back in
  // (growing the heap was a tenth of the CPU in the profile).
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  mallopt(M_TOP_PAD, 64 << 20);

  minidns::config cfg;
  auto problems = cfg.load(argc, argv);
  if (!problems.empty()) {
    for (auto& p : problems)
      std::cerr << "minidns: " << p << '\n';
    std::cerr << "minidns: refusing to start (see --help)\n";
    return 2;
  }
  if (cfg.cli_helptext_printed)
    return 0;
  minidns::setup_logging(cfg.values.log_level, cfg.values.log_format);
  minidns::use_lean_clock(cfg);

  caf::actor_system sys{cfg};
  minidns::service svc;
  try {
    svc = minidns::start_service(sys, cfg.values);
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }
  spdlog::info("minidns ready: endpoint {} max-in-flight {}", svc.endpoint,
               cfg.values.max_in_flight);

  bool draining = false;
  for (;;) {
    if (svc.stopped.wait_for(std::chrono::seconds(0)) ==
        std::future_status::ready)
      break;
    timespec tick{0, 50 * 1000 * 1000};
    int sig = sigtimedwait(&signals, nullptr, &tick);
    if (sig == SIGTERM || sig == SIGINT) {
      spdlog::info("{}: {}", sig == SIGTERM ? "SIGTERM" : "SIGINT",
                   draining ? "ending requests now" : "draining");
      draining = true;
      caf::anon_send(svc.bridge, minidns::drain_atom::value);
    }
  }
  caf::anon_send(svc.udp, minidns::stop_atom::value);
  spdlog::info("minidns stopped: {}", minidns::summary(svc));
  return 0;
}
