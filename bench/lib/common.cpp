#include "bench/lib/common.hpp"

#include <arpa/inet.h>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>

namespace minidns::bench {

int64_t now_ns() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return int64_t{t.tv_sec} * 1000000000 + t.tv_nsec;
}

int64_t wall_ns() {
  timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return int64_t{t.tv_sec} * 1000000000 + t.tv_nsec;
}

void die(const std::string& what) {
  std::fprintf(stderr, "minidns_bench: %s\n", what.c_str());
  std::exit(1);
}

sockaddr_in parse_v4(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos)
    die("expected a.b.c.d:port, got '" + text + "'");
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(static_cast<uint16_t>(
      std::strtoul(text.c_str() + colon + 1, nullptr, 10)));
  if (inet_pton(AF_INET, text.substr(0, colon).c_str(), &sin.sin_addr) != 1)
    die("not an IPv4 address: '" + text + "'");
  return sin;
}

std::vector<std::string> words_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string w; in >> w;)
    out.push_back(w);
  return out;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  if (!f)
    die("cannot write " + path);
}

double self_cpu_seconds() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

} // namespace minidns::bench
