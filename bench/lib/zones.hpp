#pragma once
/// The benchmark's zones (z0000.bench. .. z0999.bench.) and the files that
/// make NSD serve them.

#include <cstdint>
#include <string>

namespace minidns::bench {

/// The serial of zone 0; zone i has serial_base + i.
constexpr uint32_t serial_base = 2024000000;

/// Zone i of the benchmark: "z0042.bench.".
std::string zone_name(unsigned i);

/// Zone i's serial, so that every poll's expected serial differs from its
/// neighbours'.
inline uint32_t zone_serial(unsigned i) {
  return serial_base + i;
}

/// Writes DIR/nsd.conf (NSD on 127.0.0.1:`port` in the foreground as the
/// current user, every file in DIR, one server process, no rate limiting),
/// DIR/zones/*.zone for `zones` zones and DIR/queries.txt (one SOA query per
/// zone) for dnsperf. Dies when a file cannot be written.
void write_nsd_setup(const std::string& dir, const std::string& port,
                     unsigned zones);

} // namespace minidns::bench
