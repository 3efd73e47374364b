// The files and command lines of NSD, Knot and BIND for the server tests.

#include "server_process.hpp"
#include "servers.hpp"

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace minidns::servers {

namespace fs = std::filesystem;

namespace {

/// Whether the kernel enforces AppArmor profiles.
bool apparmor_enabled() {
  std::ifstream in("/sys/module/apparmor/parameters/enabled");
  std::string v;
  return in >> v && v == "Y";
}

/// The named to run for a server in `dir`: Debian's AppArmor profile for
/// /usr/sbin/named (enforced where AppArmor is on) confines it to
/// /etc/bind, /var/cache/bind and the like, and profiles attach by path, so
/// there a copy of the binary in `dir` is run instead, free to read its
/// configuration from `dir`.
std::string named_binary(const fs::path& dir) {
  auto named = find_program("named", "bind9");
  if (!apparmor_enabled())
    return named;
  auto copy = dir / "named";
  fs::copy_file(named, copy, fs::copy_options::overwrite_existing);
  return copy.string();
}

/// nsd.conf for `cfg`, listening on `port_number`, with every file in `dir`.
std::string nsd_conf(const server_config& cfg, const fs::path& dir,
                     uint16_t port_number) {
  const std::string d = dir.string();
  const std::string port = std::to_string(port_number);
  const std::string primary =
      cfg.primary_address + "@" + std::to_string(cfg.primary_port);
  std::ostringstream c;
  c << "server:\n"
    << "  ip-address: " << cfg.address << "\n";
  if (cfg.ipv6)
    c << "  ip-address: ::1\n";
  c << "  port: " << port << "\n"
    << "  username: \"\"\n" // do not drop privileges
    << "  zonesdir: \"" << d << "\"\n"
    << "  database: \"\"\n"
    << "  zonelistfile: \"" << d << "/zone.list\"\n"
    << "  xfrdfile: \"" << d << "/xfrd.state\"\n"
    << "  xfrdir: \"" << d << "\"\n"
    << "  pidfile: \"" << d << "/nsd.pid\"\n"
    << "  server-count: 1\n"
    << "  verbosity: 2\n"
    // Response rate limiting (on by default) answers some queries with
    // TC=1 under load: off unless the test asks for it.
    << "  rrl-ratelimit: " << cfg.rrl_ratelimit << "\n"
    << "  rrl-whitelist-ratelimit: " << cfg.rrl_ratelimit << "\n"
    << "  rrl-slip: " << cfg.rrl_slip << "\n"
    << "remote-control:\n"
    << "  control-enable: no\n";
  for (const auto& k : cfg.tsig_keys)
    c << "key:\n"
      << "  name: \"" << k.name << "\"\n"
      << "  algorithm: " << k.algorithm << "\n"
      << "  secret: \"" << k.secret << "\"\n";
  const std::string notify_key =
      cfg.tsig_keys.empty() ? "NOKEY" : cfg.tsig_keys.front().name;
  for (const auto& [zone, serial] : cfg.primary_zones)
    c << "zone:\n"
      << "  name: \"" << zone << "\"\n"
      << "  zonefile: \"" << zone << "zone\"\n"
      << "  provide-xfr: 127.0.0.0/8 NOKEY\n"
      << "  provide-xfr: ::1 NOKEY\n";
  for (const auto& [zone, serial] : cfg.secondary_zones) {
    c << "zone:\n"
      << "  name: \"" << zone << "\"\n"
      << "  zonefile: \"" << zone << "zone\"\n"
      << "  request-xfr: " << primary << " NOKEY\n";
    for (const auto& a : cfg.allow_notify)
      c << "  allow-notify: " << a << " " << notify_key << "\n";
  }
  return c.str();
}

/// knot.conf for `cfg`, listening on `port_number`, with every file in `dir`.
std::string knot_conf(const server_config& cfg, const fs::path& dir,
                      uint16_t port_number) {
  const std::string d = dir.string();
  const std::string port = std::to_string(port_number);
  const std::string primary =
      cfg.primary_address + "@" + std::to_string(cfg.primary_port);
  std::ostringstream c;
  c << "server:\n"
    << "  rundir: \"" << d << "\"\n"
    << "  pidfile: \"" << d << "/knot.pid\"\n"
    << "  listen: [ " << cfg.address << "@" << port
    << (cfg.ipv6 ? ", ::1@" + port : std::string()) << " ]\n"
    << "  udp-workers: 1\n"
    << "  tcp-workers: 1\n"
    << "  background-workers: 1\n"
    << "log:\n"
    << "  - target: stderr\n"
    << "    any: info\n"
    << "database:\n"
    << "  storage: \"" << d << "\"\n";
  if (!cfg.tsig_keys.empty()) {
    c << "key:\n";
    for (const auto& k : cfg.tsig_keys)
      c << "  - id: " << k.name << "\n"
        << "    algorithm: " << k.algorithm << "\n"
        << "    secret: " << k.secret << "\n";
  }
  if (!cfg.secondary_zones.empty()) {
    c << "remote:\n"
      << "  - id: primary\n"
      << "    address: " << primary << "\n"
      << "acl:\n"
      << "  - id: notify_from_minidns\n"
      << "    address: [ ";
    for (size_t i = 0; i < cfg.allow_notify.size(); ++i)
      c << (i ? ", " : "") << cfg.allow_notify[i];
    c << " ]\n"
      << "    action: notify\n";
    if (!cfg.tsig_keys.empty())
      c << "    key: " << cfg.tsig_keys.front().name << "\n";
  }
  c << "template:\n"
    << "  - id: default\n"
    << "    storage: \"" << d << "\"\n"
    << "    file: \"%s.zone\"\n"
    << "    zonefile-sync: -1\n"
    << "    journal-content: none\n"
    << "zone:\n";
  for (const auto& [zone, serial] : cfg.primary_zones)
    c << "  - domain: \"" << zone << "\"\n";
  for (const auto& [zone, serial] : cfg.secondary_zones)
    c << "  - domain: \"" << zone << "\"\n"
      << "    master: primary\n"
      << "    acl: notify_from_minidns\n";
  return c.str();
}

/// named.conf for `cfg`, listening on `port_number`, with every file in `dir`.
std::string named_conf(const server_config& cfg, const fs::path& dir,
                       uint16_t port_number) {
  const std::string d = dir.string();
  const std::string port = std::to_string(port_number);
  std::ostringstream c;
  c << "options {\n"
    << "  directory \"" << d << "\";\n"
    << "  pid-file \"" << d << "/named.pid\";\n"
    << "  session-keyfile \"" << d << "/session.key\";\n"
    << "  managed-keys-directory \"" << d << "\";\n"
    << "  listen-on port " << port << " { " << cfg.address << "; };\n";
  if (cfg.ipv6)
    c << "  listen-on-v6 port " << port << " { ::1; };\n";
  else
    c << "  listen-on-v6 { none; };\n";
  c << "  recursion no;\n"
    << "  dnssec-validation no;\n"
    // Secondaries would notify the zone's NS hosts on port 53.
    << "  notify no;\n"
    << "  allow-transfer { 127.0.0.0/8; ::1; };\n";
  if (!cfg.tsig_keys.empty() && !cfg.queries_need_key_from.empty()) {
    c << "  allow-query { key " << cfg.tsig_keys.front().name << "; ";
    for (const auto& a : cfg.queries_need_key_from)
      c << "!" << a << "; ";
    c << "any; };\n";
  }
  c << "};\n"
    << "controls { };\n"; // no rndc channel on port 953
  for (const auto& k : cfg.tsig_keys)
    c << "key \"" << k.name << "\" {\n"
      << "  algorithm " << k.algorithm << ";\n"
      << "  secret \"" << k.secret << "\";\n"
      << "};\n";
  for (const auto& [zone, serial] : cfg.primary_zones)
    c << "zone \"" << zone << "\" {\n"
      << "  type primary;\n"
      << "  file \"" << zone << "zone\";\n"
      << "};\n";
  for (const auto& [zone, serial] : cfg.secondary_zones) {
    c << "zone \"" << zone << "\" {\n"
      << "  type secondary;\n"
      << "  primaries { " << cfg.primary_address << " port " << cfg.primary_port
      << "; };\n"
      << "  file \"" << zone << "bak\";\n"
      << "  allow-notify { ";
    if (cfg.tsig_keys.empty())
      for (const auto& a : cfg.allow_notify)
        c << a << "; ";
    else
      c << "key " << cfg.tsig_keys.front().name << "; ";
    c << "};\n"
      << "};\n";
  }
  return c.str();
}

} // namespace

std::string zone_file(const std::string& zone, uint32_t serial) {
  std::ostringstream z;
  z << "$ORIGIN " << zone << "\n"
    << "$TTL 300\n"
    << "@ IN SOA ns1." << zone << " hostmaster." << zone << " " << serial
    << " 86400 86400 2419200 300\n"
    << "@ IN NS ns1." << zone << "\n"
    << "ns1 IN A 127.0.0.1\n"
    << "www IN A 192.0.2.1\n";
  return z.str();
}

const char* to_string(server_kind kind) {
  switch (kind) {
  case server_kind::nsd:
    return "NSD";
  case server_kind::knot:
    return "Knot";
  case server_kind::bind:
    return "BIND";
  }
  return "?";
}

std::vector<std::string> dns_server::command() const {
  switch (cfg_.kind) {
  case server_kind::nsd:
    // -d: stay in the foreground (NSD still forks its server and xfrd
    // processes, into our process group).
    return {find_program("nsd", "nsd"), "-d", "-c",
            (dir_ / "nsd.conf").string()};
  case server_kind::knot:
    // Without -d knotd stays in the foreground.
    return {find_program("knotd", "knot"), "-c", (dir_ / "knot.conf").string(),
            "-s", (dir_ / "knot.sock").string()};
  case server_kind::bind:
    // -g: foreground, log to stderr; -n 1: one worker thread; -X none:
    // no lock file in /run.
    return {named_binary(dir_),
            "-c",
            (dir_ / "named.conf").string(),
            "-g",
            "-n",
            "1",
            "-X",
            "none"};
  }
  return {};
}

void dns_server::write_files() {
  for (const auto& [zone, serial] : cfg_.primary_zones)
    write_file(dir_ / (zone + "zone"), zone_file(zone, serial));
  switch (cfg_.kind) {
  case server_kind::nsd:
    write_file(dir_ / "nsd.conf", nsd_conf(cfg_, dir_, port_));
    break;
  case server_kind::knot:
    write_file(dir_ / "knot.conf", knot_conf(cfg_, dir_, port_));
    break;
  case server_kind::bind:
    write_file(dir_ / "named.conf", named_conf(cfg_, dir_, port_));
    break;
  }
}

} // namespace minidns::servers
