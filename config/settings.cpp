#include "config/settings.hpp"

#include "config/tsig_keys.hpp"
#include "messages/register.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <caf/config_value.hpp>
#include <caf/settings.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

namespace minidns {

namespace {

/// The type each [minidns] key must have in a config file.
enum class kind { integer, boolean, string, duration, string_list };

/// The config-file type of a setting's member.
kind kind_of(const uint64_t&) {
  return kind::integer;
}
kind kind_of(const bool&) {
  return kind::boolean;
}
kind kind_of(const std::string&) {
  return kind::string;
}
kind kind_of(const caf::timespan&) {
  return kind::duration;
}
kind kind_of(const std::vector<std::string>&) {
  return kind::string_list;
}

const std::map<std::string, kind>& known_keys() {
  static const std::map<std::string, kind> keys = [] {
    std::map<std::string, kind> out;
    settings defaults;
    for_each_setting(defaults,
                     [&](const char* name, const auto& member, const char*) {
                       out.emplace(name, kind_of(member));
                     });
    return out;
  }();
  return keys;
}

/// A default as the config file writes it.
std::string default_text(uint64_t v) {
  return std::to_string(v);
}
std::string default_text(bool v) {
  return v ? "true" : "false";
}
std::string default_text(const std::string& v) {
  return "\"" + v + "\"";
}
std::string default_text(caf::timespan v) {
  auto ns = v.count();
  if (ns % 1'000'000'000 == 0)
    return std::to_string(ns / 1'000'000'000) + "s";
  if (ns % 1'000'000 == 0)
    return std::to_string(ns / 1'000'000) + "ms";
  return std::to_string(ns) + "ns";
}
std::string default_text(const std::vector<std::string>& v) {
  std::string out = "[";
  for (auto& x : v)
    out += (out.size() > 1 ? ", " : "") + default_text(x);
  return out + "]";
}

bool has_kind(const caf::config_value& v, kind k) {
  switch (k) {
  case kind::integer:
    return caf::holds_alternative<caf::config_value::integer>(v);
  case kind::boolean:
    return caf::holds_alternative<bool>(v);
  case kind::string:
    return caf::holds_alternative<std::string>(v);
  case kind::duration:
    return caf::holds_alternative<caf::timespan>(v);
  case kind::string_list: {
    auto* xs = caf::get_if<caf::config_value::list>(&v);
    if (xs == nullptr)
      return false;
    for (auto& x : *xs)
      if (!caf::holds_alternative<std::string>(x))
        return false;
    return true;
  }
  }
  return false;
}

const char* describe(kind k) {
  switch (k) {
  case kind::integer:
    return "an integer";
  case kind::boolean:
    return "true or false";
  case kind::string:
    return "a quoted string";
  case kind::duration:
    return "a duration such as 5s or 500ms";
  case kind::string_list:
    return "a list of quoted strings such as [\"192.0.2.0/24\"]";
  }
  return "?";
}

/// Finds "--config-file=PATH" the way CAF does, so the file can be read raw.
std::optional<std::string> config_file_arg(int argc, char** argv) {
  const std::string prefix = "--config-file=";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.compare(0, prefix.size(), prefix) == 0)
      return arg.substr(prefix.size());
  }
  return std::nullopt;
}

bool is_ip(const std::string& text, int family) {
  unsigned char buf[16];
  return inet_pton(family, text.c_str(), buf) == 1;
}

/// The whole file, or nullopt with `why` set.
std::optional<std::string> read_file(const std::string& path,
                                     std::string& why) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    why = "cannot read '" + path + "': " + std::strerror(errno);
    return std::nullopt;
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

} // namespace

config::config() {
  register_message_types(*this);
  // Measured (bench/RESULTS.md): CAF's work-stealing scheduler spins on
  // this load and, with 300,000 requests in flight, sent 513 queries a
  // second; the sharing scheduler sent 47,000 and ran polls and NOTIFYs
  // 1.3 to 1.6 times faster. The config file or command line may still
  // choose another policy.
  set("scheduler.policy", caf::atom("sharing"));
  // CAF would start max(cores, 4) workers. Request actors run on the UDP
  // thread (actors/request.hpp), so workers only take shutdowns and the
  // bridge's messages: two are plenty, and fewer threads contend for the cores
  // that the UDP and ZeroMQ threads need (bench/RESULTS.md).
  set("scheduler.max-threads", 2);
  opt_group group{custom_options_, "minidns"};
  for_each_setting(values,
                   [&](const char* name, auto& member, const char* help) {
                     group.add(member, name, help);
                   });
}

std::string help_text() {
  std::string out =
      "Usage: minidns [--config-file=PATH] [--minidns.NAME=VALUE ...]\n"
      "\n"
      "Tells DNS servers that their zones changed (NOTIFY) and checks that "
      "they\ncaught up (SOA serials), for pool managers that send casts over "
      "ZeroMQ.\n"
      "\n"
      "Settings: the [minidns] group of the config file, or --minidns.NAME="
      "VALUE\non the command line. config/minidns.ini (installed as\n"
      "/etc/minidns/minidns.ini) documents each; the defaults are shown.\n"
      "Durations take a unit (ms, s, min, h); strings in the file are "
      "quoted.\n\n";
  settings defaults;
  for_each_setting(defaults,
                   [&](const char* name, const auto& member, const char* help) {
                     out += "  --minidns." + std::string(name) + "=" +
                            default_text(member) + "\n      " + help + "\n";
                   });
  out += "\nOther options:\n"
         "  --config-file=PATH   read settings from PATH (CAF's INI format)\n"
         "  --dump-config        print the effective configuration and exit\n"
         "  --long-help          every option, CAF's own (scheduler.*) too\n"
         "  --help, -h           this text\n"
         "\nA bad, badly typed or unknown setting stops minidns with exit "
         "status 2\nand a message naming it. SIGTERM drains and exits 0.\n";
  return out;
}

std::vector<std::string> check_file_types(const caf::settings& raw) {
  std::vector<std::string> problems;
  auto group = raw.find("minidns");
  if (group == raw.end())
    return problems;
  auto* entries = caf::get_if<caf::settings>(&group->second);
  if (entries == nullptr) {
    problems.emplace_back("minidns: expected a group of settings");
    return problems;
  }
  for (auto& [key, value] : *entries) {
    auto k = known_keys().find(key);
    if (k == known_keys().end()) {
      problems.push_back("minidns." + key + ": unknown setting");
      continue;
    }
    if (!has_kind(value, k->second))
      problems.push_back("minidns." + key + ": expected " +
                         describe(k->second) + ", got " +
                         caf::to_string(value));
  }
  return problems;
}

std::vector<std::string> validate(const settings& s) {
  std::vector<std::string> problems;
  auto bad = [&](const char* key, const std::string& why) {
    problems.push_back(std::string("minidns.") + key + ": " + why);
  };
  auto scheme_ok = [](const std::string& e) {
    for (const char* p : {"tcp://", "ipc://", "inproc://"})
      if (e.compare(0, std::strlen(p), p) == 0 && e.size() > std::strlen(p))
        return true;
    return false;
  };
  if (!scheme_ok(s.endpoint))
    bad("endpoint",
        "expected tcp://HOST:PORT or ipc://PATH, got '" + s.endpoint + "'");
  if (s.udp_sockets < 1 || s.udp_sockets > 4096)
    bad("udp-sockets",
        "out of range 1..4096: " + std::to_string(s.udp_sockets));
  if (s.socket_buffer < 4096 || s.socket_buffer > (1u << 30))
    bad("socket-buffer",
        "out of range 4096..1073741824: " + std::to_string(s.socket_buffer));
  if (!is_ip(s.source_v4, AF_INET))
    bad("source-v4", "not an IPv4 address: '" + s.source_v4 + "'");
  if (!is_ip(s.source_v6, AF_INET6))
    bad("source-v6", "not an IPv6 address: '" + s.source_v6 + "'");
  if (s.max_queued_per_pool_manager < 1 ||
      s.max_queued_per_pool_manager > 100000000)
    bad("max-queued-per-pool-manager",
        "out of range 1..100000000: " +
            std::to_string(s.max_queued_per_pool_manager));
  if (s.max_in_flight < 1 || s.max_in_flight > 100000000)
    bad("max-in-flight",
        "out of range 1..100000000: " + std::to_string(s.max_in_flight));
  if (s.max_outstanding_per_destination > 1000000)
    bad("max-outstanding-per-destination",
        "out of range 0..1000000: " +
            std::to_string(s.max_outstanding_per_destination));
  if (s.notify_rate > 1000000)
    bad("notify-rate",
        "out of range 0..1000000: " + std::to_string(s.notify_rate));
  if (s.poll_rate > 1000000)
    bad("poll-rate", "out of range 0..1000000: " + std::to_string(s.poll_rate));
  if (s.tcp_connections_per_destination < 1 ||
      s.tcp_connections_per_destination > 64)
    bad("tcp-connections-per-destination",
        "out of range 1..64: " +
            std::to_string(s.tcp_connections_per_destination));
  if (s.tcp_idle_timeout.count() < 0 ||
      s.tcp_idle_timeout > std::chrono::minutes(10))
    bad("tcp-idle-timeout", "out of range 0s..10min");
  if (s.drain_timeout.count() < 0 || s.drain_timeout > std::chrono::hours(1))
    bad("drain-timeout", "out of range 0s..1h");
  if (s.linger.count() < 0 || s.linger > std::chrono::minutes(10))
    bad("linger", "out of range 0s..10min");
  if (s.zmq_hwm > 100000000)
    bad("zmq-hwm", "out of range 0..100000000: " + std::to_string(s.zmq_hwm));
  static const char* levels[] = {"trace", "debug",    "info", "warn",
                                 "error", "critical", "off"};
  if (std::find_if(std::begin(levels), std::end(levels), [&](const char* l) {
        return s.log_level == l;
      }) == std::end(levels))
    bad("log-level", "expected trace, debug, info, warn, error, critical or "
                     "off, got '" +
                         s.log_level + "'");
  if (s.log_format != "text" && s.log_format != "json")
    bad("log-format", "expected text or json, got '" + s.log_format + "'");
  for (auto& text : s.allow_destinations) {
    std::string why;
    if (!net::parse_prefix(text, why))
      bad("allow-destinations", why);
  }
  for (auto& text : s.tcp_destinations) {
    std::string why;
    if (!net::parse_prefix(text, why))
      bad("tcp-destinations", why);
  }
  if (s.reply_hold.count() < 0 || s.reply_hold > std::chrono::hours(24))
    bad("reply-hold", "out of range 0s..24h");
  if (s.reply_hold_max > 100000000)
    bad("reply-hold-max",
        "out of range 0..100000000: " + std::to_string(s.reply_hold_max));
  if (!s.metrics_endpoint.empty()) {
    std::string why;
    if (!parse_listen_address(s.metrics_endpoint, why))
      bad("metrics-endpoint", why);
  }
  load_curve(s, problems);
  load_tsig(s, problems);
  return problems;
}

std::optional<listen_address> parse_listen_address(const std::string& text,
                                                   std::string& why) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size()) {
    why = "expected IPV4:PORT or [IPV6]:PORT, got '" + text + "'";
    return std::nullopt;
  }
  listen_address out;
  auto host = text.substr(0, colon);
  auto port = text.substr(colon + 1);
  bool v6 = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (v6)
    host = host.substr(1, host.size() - 2);
  unsigned char buf[16];
  if (inet_pton(v6 ? AF_INET6 : AF_INET, host.c_str(), buf) != 1) {
    why = "expected IPV4:PORT or [IPV6]:PORT, got '" + text + "'";
    return std::nullopt;
  }
  if (port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(port) > 65535) {
    why = "port not in 0..65535: '" + port + "'";
    return std::nullopt;
  }
  out.host = host;
  out.port = static_cast<uint16_t>(std::stoul(port));
  out.loopback = v6 ? host == "::1" : buf[0] == 127;
  return out;
}

std::optional<curve_settings> load_curve(const settings& s,
                                         std::vector<std::string>& problems) {
  auto bad = [&](const char* key, const std::string& why) {
    problems.push_back(std::string("minidns.") + key + ": " + why);
  };
  if (s.curve_key_file.empty() && s.curve_clients_file.empty())
    return std::nullopt;
  if (s.curve_key_file.empty()) {
    bad("curve-key-file", "required with minidns.curve-clients-file");
    return std::nullopt;
  }
  if (s.curve_clients_file.empty()) {
    bad("curve-clients-file", "required with minidns.curve-key-file (the "
                              "pool managers allowed to connect)");
    return std::nullopt;
  }
  curve_settings out;
  std::string why;
  bool ok = true;
  if (auto text = read_file(s.curve_key_file, why)) {
    auto f = curve::parse_key_file(*text, true);
    if (f.keys)
      out.server = std::move(*f.keys);
    else
      bad("curve-key-file", s.curve_key_file + ": " + f.error), ok = false;
  } else {
    bad("curve-key-file", why), ok = false;
  }
  if (auto text = read_file(s.curve_clients_file, why)) {
    auto l = curve::parse_key_list(*text);
    if (!l.error.empty())
      bad("curve-clients-file", s.curve_clients_file + ": " + l.error),
          ok = false;
    else if (l.keys.empty())
      bad("curve-clients-file",
          s.curve_clients_file + ": no keys; no pool manager could connect"),
          ok = false;
    else
      out.clients = std::move(l.keys);
  } else {
    bad("curve-clients-file", why), ok = false;
  }
  if (!ok)
    return std::nullopt;
  return out;
}

bool is_local_endpoint(const std::string& endpoint) {
  auto starts = [&](const char* p) {
    return endpoint.compare(0, std::strlen(p), p) == 0;
  };
  if (starts("ipc://") || starts("inproc://"))
    return true;
  if (!starts("tcp://"))
    return false;
  auto rest = endpoint.substr(6);
  // The host is everything before the last ':' (the port), without the
  // brackets of an IPv6 address.
  auto colon = rest.rfind(':');
  if (colon == std::string::npos)
    return false;
  auto host = rest.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host == "localhost" || host == "::1")
    return true;
  in_addr a4;
  if (inet_pton(AF_INET, host.c_str(), &a4) == 1)
    return (ntohl(a4.s_addr) >> 24) == 127;
  return false;
}

namespace {

net::prefix_list to_prefixes(const std::vector<std::string>& texts) {
  std::vector<net::ip_prefix> prefixes;
  for (auto& text : texts) {
    std::string why;
    if (auto p = net::parse_prefix(text, why))
      prefixes.push_back(*p);
  }
  return net::prefix_list{std::move(prefixes)};
}

} // namespace

net::prefix_list allowed_destinations(const settings& s) {
  return to_prefixes(s.allow_destinations);
}

net::prefix_list tcp_destinations(const settings& s) {
  return to_prefixes(s.tcp_destinations);
}

tsig_settings load_tsig(const settings& s, std::vector<std::string>& problems) {
  tsig_settings out;
  auto ring = std::make_shared<net::tsig_keyring>();
  if (!s.tsig_keys_file.empty()) {
    std::string why;
    if (auto r = read_tsig_key_file(s.tsig_keys_file, why))
      *ring = std::move(*r);
    else
      problems.push_back("minidns.tsig-keys-file: " + why);
  }
  for (const auto& entry : s.tsig_destinations) {
    auto bad = [&](const std::string& why) {
      problems.push_back("minidns.tsig-destinations: '" + entry + "': " + why);
    };
    auto space = entry.find(' ');
    if (space == std::string::npos) {
      bad("expected \"PREFIX KEYNAME\"");
      continue;
    }
    std::string why;
    auto prefix = net::parse_prefix(entry.substr(0, space), why);
    if (!prefix) {
      bad(why);
      continue;
    }
    auto name = entry.substr(entry.find_first_not_of(' ', space));
    auto id = ring->find(name);
    if (id == 0) {
      bad("no key '" + name + "' in minidns.tsig-keys-file");
      continue;
    }
    out.defaults.emplace_back(*prefix, id);
  }
  out.keys = std::move(ring);
  return out;
}

std::vector<std::string> config::load(int argc, char** argv) {
  std::vector<std::string> problems;
  // CAF's --help lists only its four global options: minidns's own help
  // lists minidns's settings (--long-help still shows CAF's).
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h" || arg == "-?") {
      std::cout << help_text() << std::flush;
      cli_helptext_printed = true;
      return problems;
    }
  }
  // CAF takes boolean options only as bare flags ("--minidns.ipv6"); accept
  // "--minidns.NAME=true|false" too, as for every other setting.
  std::vector<char*> args{argv, argv + argc};
  std::vector<std::pair<std::string, bool>> flags;
  for (auto i = args.begin() + 1; i != args.end();) {
    std::string arg = *i;
    auto eq = arg.find('=');
    const std::string prefix = "--minidns.";
    auto key = eq == std::string::npos || arg.compare(0, prefix.size(), prefix)
                   ? std::string{}
                   : arg.substr(prefix.size(), eq - prefix.size());
    auto k = known_keys().find(key);
    if (k == known_keys().end() || k->second != kind::boolean) {
      ++i;
      continue;
    }
    auto value = arg.substr(eq + 1);
    if (value != "true" && value != "false")
      problems.push_back("minidns." + key + ": expected true or false, got '" +
                         value + "'");
    flags.emplace_back(key, value == "true");
    i = args.erase(i);
  }
  if (!problems.empty())
    return problems;
  argc = static_cast<int>(args.size());
  argv = args.data();
  auto file = config_file_arg(argc, argv);
  if (file) {
    // CAF drops badly typed values from its view of the file and keeps the
    // defaults; read the file raw to catch them.
    auto raw = parse_config_file(file->c_str());
    if (!raw) {
      problems.push_back("config file " + *file + ": " +
                         caf::to_string(raw.error()));
      return problems;
    }
    problems = check_file_types(*raw);
    if (!problems.empty())
      return problems;
  }
  if (auto err = parse(argc, argv)) {
    problems.push_back("command line: " + caf::to_string(err));
    return problems;
  }
  if (cli_helptext_printed)
    return problems;
  for (auto& [key, value] : flags)
    for_each_setting(values, [&, k = key, v = value](const char* name,
                                                     auto& member, auto&&) {
      if constexpr (std::is_same_v<std::decay_t<decltype(member)>, bool>)
        if (k == name)
          member = v;
    });
  for (auto& arg : remainder)
    problems.push_back("command line: unexpected argument '" + arg + "'");
  auto more = validate(values);
  problems.insert(problems.end(), more.begin(), more.end());
  return problems;
}

} // namespace minidns
