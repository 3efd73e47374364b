/// The modes that prepare a run of bench/run.sh: free-port, zones, check.

#include "bench/lib/common.hpp"
#include "bench/lib/prober.hpp"
#include "bench/lib/zones.hpp"
#include "bench/modes.hpp"

#include <arpa/inet.h>
#include <cstdio>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace minidns::bench {
namespace {

/// Prints a port that is free for UDP and TCP on 127.0.0.1 (found by
/// binding port 0, then closed for the server to take).
int run_free_port(const options&) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    int t = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int u = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(sin);
    bool ok = ::bind(t, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) == 0 &&
              ::getsockname(t, reinterpret_cast<sockaddr*>(&sin), &len) == 0 &&
              ::bind(u, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) == 0;
    ::close(t);
    ::close(u);
    if (ok) {
      std::printf("%u\n", ntohs(sin.sin_port));
      return 0;
    }
  }
  die("no free port found");
}

/// Writes DIR/nsd.conf, DIR/zones/*.zone and DIR/queries.txt.
int run_zones(const options& o) {
  const auto& dir = required(o.dir, "dir");
  const auto& port = required(o.nsd_port, "nsd-port");
  write_nsd_setup(dir, port, static_cast<unsigned>(o.zones));
  return 0;
}

/// Asks NSD for every zone's SOA, one at a time; all must answer with the
/// zone's serial.
int run_check(const options& o) {
  const auto& dest = required(o.dest, "dest");
  auto zones = static_cast<unsigned>(o.zones);
  double wait = o.wait;
  direct_prober p(dest);
  int64_t give_up = now_ns() + static_cast<int64_t>(wait * 1e9);
  unsigned ok = 0;
  for (unsigned i = 0; i < zones;) {
    p.send(i);
    pollfd pfd{p.fd(), POLLIN, 0};
    int ready = ::poll(&pfd, 1, 200);
    if (ready == 1 && p.receive() >= 0) {
      ++ok;
      ++i;
      continue;
    }
    if (now_ns() > give_up) {
      std::fprintf(stderr,
                   "check: zone %s did not answer with serial %u within %.0f "
                   "s: %s\n",
                   zone_name(i).c_str(), zone_serial(i), wait,
                   ready == 1 ? p.last_problem().c_str() : "no reply");
      return 1;
    }
    ::usleep(50000); // the server may still be starting or loading
  }
  std::printf("check: %u zones answer with their serials\n", ok);
  return 0;
}

} // namespace

const mode_spec free_port_mode{"free-port", {}, false, run_free_port};
const mode_spec zones_mode{
    "zones", {"dir", "zones", "nsd-port"}, false, run_zones};
const mode_spec check_mode{
    "check", {"dest", "zones", "wait"}, false, run_check};

} // namespace minidns::bench
