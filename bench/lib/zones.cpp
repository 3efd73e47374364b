#include "bench/lib/zones.hpp"

#include "bench/lib/common.hpp"

#include <cstdio>
#include <sstream>
#include <sys/stat.h>

namespace minidns::bench {

std::string zone_name(unsigned i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "z%04u.bench.", i);
  return buf;
}

void write_nsd_setup(const std::string& dir, const std::string& port,
                     unsigned zones) {
  ::mkdir((dir + "/zones").c_str(), 0755);
  std::ostringstream conf, queries;
  conf << "server:\n"
       << "  ip-address: 127.0.0.1\n"
       << "  port: " << port << "\n"
       << "  username: \"\"\n"
       << "  chroot: \"\"\n"
       << "  zonesdir: \"" << dir << "/zones\"\n"
       << "  database: \"\"\n"
       << "  zonelistfile: \"" << dir << "/zone.list\"\n"
       << "  xfrdfile: \"" << dir << "/xfrd.state\"\n"
       << "  xfrdir: \"" << dir << "\"\n"
       << "  pidfile: \"" << dir << "/nsd.pid\"\n"
       << "  logfile: \"" << dir << "/nsd.log\"\n"
       << "  server-count: 1\n"
       << "  verbosity: 1\n"
       << "  rrl-ratelimit: 0\n"
       << "  rrl-whitelist-ratelimit: 0\n"
       << "  refuse-any: yes\n"
       << "remote-control:\n"
       << "  control-enable: no\n";
  for (unsigned i = 0; i < zones; ++i) {
    auto name = zone_name(i);
    std::ostringstream z;
    z << "$ORIGIN " << name << "\n$TTL 300\n"
      << "@ IN SOA ns1." << name << " hostmaster." << name << " "
      << zone_serial(i) << " 86400 86400 2419200 300\n"
      << "@ IN NS ns1." << name << "\n"
      << "ns1 IN A 127.0.0.1\n";
    write_text(dir + "/zones/" + name + "zone", z.str());
    conf << "zone:\n  name: \"" << name << "\"\n  zonefile: \"" << name
         << "zone\"\n";
    queries << name << " SOA\n";
  }
  write_text(dir + "/nsd.conf", conf.str());
  write_text(dir + "/queries.txt", queries.str());
}

} // namespace minidns::bench
