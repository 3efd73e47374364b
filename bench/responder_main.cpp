/// minidns_responder: the benchmark's NOERROR responder as a program of its
/// own, e.g. to measure it with dnsperf. Answers every query on
/// 127.0.0.1:PORT until SIGINT or SIGTERM, then prints its counters.
///
///     minidns_responder [--port=N] [--silent]

#include "bench/responder.hpp"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

namespace {

minidns::bench::responder* the_responder = nullptr;

extern "C" void on_signal(int) {
  if (the_responder != nullptr)
    the_responder->stop();
}

} // namespace

int main(int argc, char** argv) {
  uint16_t port = 0;
  bool silent = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--port=", 0) == 0) {
      port = static_cast<uint16_t>(std::strtoul(a.c_str() + 7, nullptr, 10));
    } else if (a == "--silent") {
      silent = true;
    } else {
      std::fprintf(stderr, "usage: minidns_responder [--port=N] [--silent]\n");
      return 2;
    }
  }
  try {
    minidns::bench::responder r("127.0.0.1", port, silent);
    the_responder = &r;
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    std::printf("minidns_responder: listening on 127.0.0.1:%u\n", r.port());
    std::fflush(stdout);
    r.run();
    auto c = r.counts();
    std::printf("minidns_responder: received %llu answered %llu notifies %llu "
                "queries %llu malformed %llu\n",
                static_cast<unsigned long long>(c.received),
                static_cast<unsigned long long>(c.answered),
                static_cast<unsigned long long>(c.notifies),
                static_cast<unsigned long long>(c.queries),
                static_cast<unsigned long long>(c.malformed));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "minidns_responder: %s\n", e.what());
    return 1;
  }
  return 0;
}
