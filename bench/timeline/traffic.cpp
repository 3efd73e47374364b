#include "bench/timeline/traffic.hpp"

#include "bench/lib/client.hpp"
#include "bench/lib/common.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace minidns::bench {

std::string script_zone(unsigned j) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "r%05u.soak.", j);
  return buf;
}

uint32_t script_serial(unsigned j) {
  return 2025000000u + j;
}

bool script_index(const uint8_t* d, size_t len, unsigned& j) {
  if (len < 12 + 7 || d[12] != 6 || (d[13] | 0x20) != 'r')
    return false;
  j = 0;
  for (size_t i = 14; i < 19; ++i) {
    if (d[i] < '0' || d[i] > '9')
      return false;
    j = j * 10 + (d[i] - '0');
  }
  return true;
}

silent_sockets::silent_sockets(size_t n) {
  for (size_t i = 0; i < n; ++i) {
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t slen = sizeof(sin);
    if (fd < 0 ||
        ::bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &slen) != 0)
      die(std::string("silent socket: ") + std::strerror(errno));
    fds_.push_back(fd);
    ports_.push_back(ntohs(sin.sin_port));
  }
}

silent_sockets::~silent_sockets() {
  for (int fd : fds_)
    ::close(fd);
}

std::string silent_sockets::dest(size_t i) const {
  return "127.0.0.1:" + std::to_string(ports_[i % ports_.size()]);
}

std::array<uint8_t, 100> parse_mix(const std::string& text,
                                   std::array<unsigned, classes>& pct) {
  if (std::sscanf(text.c_str(), "%u,%u,%u,%u", &pct[0], &pct[1], &pct[2],
                  &pct[3]) != 4 ||
      pct[0] + pct[1] + pct[2] + pct[3] != 100)
    die("--mix: four percentages (answered,silent,refused,lagging) that sum "
        "to 100, got '" +
        text + "'");
  // Smooth weighted round robin: every class as evenly spread as it can be.
  std::array<uint8_t, 100> slots{};
  std::array<int, classes> credit{};
  for (auto& slot : slots) {
    size_t best = 0;
    for (size_t c = 0; c < classes; ++c) {
      credit[c] += static_cast<int>(pct[c]);
      if (credit[c] > credit[best])
        best = c;
    }
    credit[best] -= 100;
    slot = static_cast<uint8_t>(best);
  }
  return slots;
}

std::string check_class(const messages::reply& r, uint8_t cls, unsigned zone,
                        unsigned zones) {
  if (cls == answered)
    return check_success(r, zone);
  if (r.method != "update_status")
    return "method " + r.method + ": " + r.error;
  const char* want = cls == silent    ? "timeout"
                     : cls == refused ? "rcode REFUSED"
                                      : "lower serial";
  if (r.status != "ERROR" || r.detail != want)
    return "status " + r.status + " (" + r.detail + ")";
  if (cls == lagging) {
    if (!r.actual_serial ||
        *r.actual_serial != script_serial(2 * zones + zone) - 1)
      return "wrong actual_serial";
  } else if (r.actual_serial) {
    return "actual_serial set";
  }
  return {};
}

} // namespace minidns::bench
