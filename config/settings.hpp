#pragma once
/// minidns's settings: their one list with defaults, the CAF config class
/// that reads them from INI files and the command line, and the validation
/// CAF does not do. config/minidns.ini beside this file documents each.

#include "actors/zmq/key_files.hpp"
#include "net/prefix.hpp"
#include "net/tsig.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/timestamp.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace minidns {

/// Every setting of the [minidns] group, with its default.
struct settings {
  std::string endpoint = "tcp://127.0.0.1:5358"; ///< ZeroMQ ROUTER bind
  uint64_t udp_sockets = 4;          ///< UDP sockets per address family
  uint64_t socket_buffer = 4 << 20;  ///< SO_RCVBUF/SO_SNDBUF, bytes
  std::string source_v4 = "0.0.0.0"; ///< source address of IPv4 queries
  std::string source_v6 = "::";      ///< source address of IPv6 queries
  bool ipv6 = true;                  ///< open IPv6 sockets
  uint64_t max_in_flight = 100000;   ///< casts being worked on at once
  /// Queries outstanding to one destination (address and port); 0: no cap.
  uint64_t max_outstanding_per_destination = 500;
  /// Casts read from one pool manager and waiting to start; past it, its
  /// casts are answered `busy` at once.
  uint64_t max_queued_per_pool_manager = 10000;
  uint64_t notify_rate = 0; ///< NOTIFYs per second per destination; 0: none
  uint64_t poll_rate = 0;   ///< SOA queries per second per destination
  /// Identical SOA queries in flight at once (zone, destination, key,
  /// transport) are asked once and their answer shared.
  bool share_queries = true;
  /// DNS over TCP after a truncated reply: connections per destination,
  /// and how long an idle one stays open.
  uint64_t tcp_connections_per_destination = 2;
  caf::timespan tcp_idle_timeout = std::chrono::seconds(5);
  caf::timespan drain_timeout = std::chrono::seconds(5); ///< on SIGTERM
  caf::timespan linger = std::chrono::seconds(2); ///< unsent replies at exit
  uint64_t zmq_hwm = 100000;       ///< ZeroMQ high-water mark, messages
  std::string log_level = "info";  ///< trace ... critical, off
  std::string log_format = "text"; ///< text or json (one object per line)
  /// CIDR prefixes casts may aim at; empty allows every destination.
  std::vector<std::string> allow_destinations;
  /// CIDR prefixes of servers asked over TCP unless a cast says otherwise.
  std::vector<std::string> tcp_destinations;
  /// TSIG keys in BIND's `key` syntax (tsig-keygen's output); empty: none.
  std::string tsig_keys_file;
  /// "PREFIX KEYNAME" entries: the key for casts to that prefix that name
  /// none themselves (the first matching entry wins).
  std::vector<std::string> tsig_destinations;
  /// The server's CURVE key pair file; empty: no CURVE.
  std::string curve_key_file;
  /// Public keys of the pool managers allowed to connect, one per line.
  std::string curve_clients_file;
  /// How long replies for a disconnected pool manager wait for it.
  caf::timespan reply_hold = std::chrono::seconds(60);
  /// Most replies held for disconnected pool managers, all of them.
  uint64_t reply_hold_max = 100000;
  /// HOST:PORT of the Prometheus /metrics endpoint; empty: off.
  std::string metrics_endpoint;
};

/// The one list of the [minidns] settings: calls `f(name, member, help)`
/// for each member of `s` (a `settings`, const or not). The config file's
/// known keys and types, the command-line options and `--help` all come
/// from here.
template <class Settings, class F>
void for_each_setting(Settings& s, F&& f) {
  f("endpoint", s.endpoint,
    "ZeroMQ endpoint the ROUTER socket binds (tcp://host:port, ipc://)");
  f("udp-sockets", s.udp_sockets, "UDP sockets per address family (1..4096)");
  f("socket-buffer", s.socket_buffer,
    "SO_RCVBUF and SO_SNDBUF of each UDP socket, bytes");
  f("source-v4", s.source_v4, "source address of IPv4 queries");
  f("source-v6", s.source_v6, "source address of IPv6 queries");
  f("ipv6", s.ipv6, "open IPv6 sockets");
  f("max-in-flight", s.max_in_flight,
    "casts worked on at once for one pool manager (N pool managers with work "
    "get max-in-flight/N each); past it, casts wait");
  f("max-queued-per-pool-manager", s.max_queued_per_pool_manager,
    "casts of one pool manager waiting to start; past it they are answered "
    "busy at once (1..100000000)");
  f("max-outstanding-per-destination", s.max_outstanding_per_destination,
    "queries outstanding to one address and port; more wait in its queue "
    "(0: no cap)");
  f("notify-rate", s.notify_rate,
    "NOTIFYs per second to one destination (0: no limit; BIND's is 20)");
  f("poll-rate", s.poll_rate,
    "SOA queries per second to one destination (0: no limit)");
  f("share-queries", s.share_queries,
    "polls of the same zone, server, key and transport running at once "
    "share one SOA query in flight");
  f("tcp-connections-per-destination", s.tcp_connections_per_destination,
    "TCP connections to one destination (replies with TC=1 are asked again "
    "over TCP), 1..64");
  f("tcp-idle-timeout", s.tcp_idle_timeout,
    "how long an idle TCP connection to a server stays open");
  f("tcp-destinations", s.tcp_destinations,
    "CIDR prefixes of servers asked over TCP when a cast names no "
    "transport");
  f("tsig-keys-file", s.tsig_keys_file,
    "TSIG keys in BIND's key syntax, as tsig-keygen writes them; casts name "
    "one in tsig_key");
  f("tsig-destinations", s.tsig_destinations,
    "\"PREFIX KEYNAME\" entries: the TSIG key for casts to that prefix "
    "that name none (first match wins)");
  f("drain-timeout", s.drain_timeout,
    "time given to requests in flight on SIGTERM");
  f("linger", s.linger, "time to deliver the last replies at exit");
  f("zmq-hwm", s.zmq_hwm, "ZeroMQ high-water mark, in messages");
  f("log-level", s.log_level,
    "trace, debug, info, warn, error, critical or off");
  f("log-format", s.log_format,
    "text, or json for one JSON object per line (log shippers)");
  f("allow-destinations", s.allow_destinations,
    "CIDR prefixes casts may aim at; empty allows all");
  f("curve-key-file", s.curve_key_file,
    "CURVE key pair of the server (minidns-ctl keygen); empty: off");
  f("curve-clients-file", s.curve_clients_file,
    "public keys of the pool managers allowed to connect");
  f("reply-hold", s.reply_hold,
    "how long replies wait for a pool manager that disconnected");
  f("reply-hold-max", s.reply_hold_max,
    "most replies held for disconnected pool managers");
  f("metrics-endpoint", s.metrics_endpoint,
    "HOST:PORT of the Prometheus /metrics endpoint; empty: off");
}

/// What `minidns --help` prints: usage, every [minidns] setting with its
/// default and what it does, and where the annotated config file is.
std::string help_text();

/// A parsed listening address (minidns.metrics-endpoint).
struct listen_address {
  std::string host;  ///< an IP address, without brackets
  uint16_t port = 0; ///< 0: any free port
  bool loopback = false;
};

/// Parses "IPV4:PORT" or "[IPV6]:PORT"; nullopt with `why` set when it is
/// not one.
std::optional<listen_address> parse_listen_address(const std::string& text,
                                                   std::string& why);

/// CURVE settings read from the key files.
struct curve_settings {
  curve::key_pair server;           ///< the server's key pair
  std::vector<std::string> clients; ///< allowed public keys, Z85
};

/// The CAF configuration of the minidns daemon: CAF's own settings plus the
/// [minidns] group, bound to a `settings` member.
class config : public caf::actor_system_config {
public:
  config();

  /// Parses the command line and the config file, then checks every
  /// [minidns] setting's type and range. Returns the problems, each naming
  /// its setting; empty when all is well.
  std::vector<std::string> load(int argc, char** argv);

  settings values;
};

/// The parsed allowlist of a validated `settings`.
net::prefix_list allowed_destinations(const settings& s);

/// minidns.tcp-destinations as a prefix list (checked by load()).
net::prefix_list tcp_destinations(const settings& s);

/// The TSIG keys of minidns.tsig-keys-file and the default key per
/// destination prefix (minidns.tsig-destinations), as index + 1 into
/// `keys`.
struct tsig_settings {
  std::shared_ptr<const net::tsig_keyring> keys;
  std::vector<std::pair<net::ip_prefix, uint16_t>> defaults;
};

/// Reads minidns.tsig-keys-file and checks minidns.tsig-destinations
/// against it; problems (naming the setting and the file) go to
/// `problems`. An empty keyring when no file is set.
tsig_settings load_tsig(const settings& s, std::vector<std::string>& problems);

/// Reads the CURVE key files of a `settings`: nullopt when CURVE is off.
/// Problems (unreadable file, bad key, one file without the other) are
/// appended to `problems`, each naming its setting.
std::optional<curve_settings> load_curve(const settings& s,
                                         std::vector<std::string>& problems);

/// Whether a ZeroMQ endpoint is reachable from this host only: ipc://,
/// inproc://, or tcp:// on a loopback address (127.0.0.0/8, ::1,
/// localhost).
bool is_local_endpoint(const std::string& endpoint);

/// Checks ranges and formats of `s`; returns one message per problem.
std::vector<std::string> validate(const settings& s);

/// Checks the raw entries of a parsed config file's [minidns] group: every
/// key known and of the right type. Returns one message per problem.
std::vector<std::string> check_file_types(const caf::settings& raw);

} // namespace minidns
