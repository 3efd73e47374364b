#pragma once
/// Real authoritative DNS servers (NSD, Knot, BIND from Debian's packages)
/// for the server tests: each one runs in the foreground as the current
/// user, on loopback and an ephemeral port, with a generated configuration
/// and every file it writes in a directory of its own. The tests own the
/// processes and kill and reap them, children included, when done.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace minidns::servers {

using std::chrono::milliseconds;

/// A fresh directory under $TMPDIR (or /tmp), removed with its contents by
/// the destructor.
class scratch_dir {
public:
  scratch_dir();
  ~scratch_dir();
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;

  const std::filesystem::path& path() const { return path_; }

private:
  std::filesystem::path path_;
};

/// Whether ::1 can be bound (IPv6 enabled on loopback).
bool ipv6_loopback_available();

/// A port that is free, when asked, for UDP and TCP on every loopback
/// address (found by binding port 0, then closed for the server to take).
uint16_t free_port();

/// What a server answered to a query.
struct dns_answer {
  uint8_t rcode = 0;
  bool aa = false;
  bool tc = false;
  /// Whether the answer has a question section (NSD strips it from some
  /// error answers).
  bool has_question = false;
  /// The serial of the SOA owned by the zone in the answer section.
  std::optional<uint32_t> serial;
};

/// Asks `address`:`port` (an IPv4 or IPv6 literal) for `zone`'s SOA over
/// UDP, without recursion, or with `notify` sends a NOTIFY (opcode 4, AA)
/// for it instead; waits up to `timeout` for the answer. Built and parsed
/// with ldns, independently of minidns. nullopt on timeout.
std::optional<dns_answer> query(const std::string& address, uint16_t port,
                                const std::string& zone, bool notify,
                                milliseconds timeout);

/// The text of a zone file for `zone` (absolute, with the final dot) with
/// `serial` and refresh and retry timers of a day, so that secondaries
/// never look for a new serial on their own during a test.
std::string zone_file(const std::string& zone, uint32_t serial);

/// One of the three server implementations.
enum class server_kind { nsd, knot, bind };

/// "NSD", "Knot" or "BIND".
const char* to_string(server_kind kind);

/// A TSIG key as BIND's key statement has it.
struct tsig_key_spec {
  std::string name;      ///< "pm-key"
  std::string algorithm; ///< "hmac-sha256"
  std::string secret;    ///< base64
};

/// What a server serves and to whom it listens.
struct server_config {
  server_kind kind = server_kind::nsd;
  /// The IPv4 loopback address to listen on.
  std::string address = "127.0.0.1";
  /// Also listen on ::1 (ignored when IPv6 loopback is unavailable).
  bool ipv6 = true;
  /// The port to listen on; 0: a free one.
  uint16_t port = 0;
  /// Zones served as primary from zone files: name -> SOA serial.
  std::map<std::string, uint32_t> primary_zones;
  /// Zones served as secondary of `primary_address`:`primary_port`: name
  /// -> the serial the server must have transferred before it counts as
  /// ready.
  std::map<std::string, uint32_t> secondary_zones;
  std::string primary_address;
  uint16_t primary_port = 0;
  /// Source addresses allowed to send NOTIFYs for the secondary zones.
  std::vector<std::string> allow_notify;
  /// NSD only: response rate limiting (answers per second per client
  /// /24; 0: off) and its slip (every slip-th limited answer is an empty
  /// one with TC=1; 1: all of them).
  unsigned rrl_ratelimit = 0;
  unsigned rrl_slip = 2;
  /// TSIG keys the server knows: it checks signed queries with them and
  /// signs its answers. When not empty, NOTIFYs for the secondary zones
  /// are allowed only when signed with the first one.
  std::vector<tsig_key_spec> tsig_keys;
  /// BIND only, with `tsig_keys`: queries from these addresses are
  /// answered only when signed with the first key (REFUSED otherwise);
  /// other addresses (the tests' own readiness checks) need none.
  std::vector<std::string> queries_need_key_from;
};

/// A running server. The constructor writes the configuration and zone
/// files into `dir` (created), starts the server in the foreground in a
/// process group of its own, and waits (by querying it) until it serves
/// every zone with its serial; it throws std::runtime_error, with the
/// server's log, when the server fails to start or does not get ready.
class dns_server {
public:
  dns_server(server_config cfg, std::filesystem::path dir);
  ~dns_server();
  dns_server(const dns_server&) = delete;
  dns_server& operator=(const dns_server&) = delete;

  server_kind kind() const { return cfg_.kind; }
  /// What it was started with.
  const server_config& config() const { return cfg_; }
  const std::string& address() const { return cfg_.address; }
  uint16_t port() const { return port_; }
  /// "ADDRESS:PORT", the IPv4 destination for a cast.
  std::string destination() const;
  /// "[::1]:PORT", the IPv6 destination for a cast.
  std::string destination_v6() const;
  /// "NSD at 127.0.0.3:PORT" and the like, for messages.
  std::string describe() const;

  /// Primary zones only, NSD only: rewrites the zone file with `serial`,
  /// has NSD reload it (SIGHUP) and waits until it serves the new serial.
  void set_serial(const std::string& zone, uint32_t serial);

  /// Waits until the server answers `zone`'s SOA with AA and `serial`.
  /// False (after `timeout`) otherwise or when the server has exited.
  bool wait_serial(const std::string& zone, uint32_t serial,
                   milliseconds timeout);

  /// Everything the server logged so far (stdout and stderr).
  std::string log() const;

  /// Stops the server: SIGTERM, then SIGKILL to its whole process group
  /// when it takes longer than a few seconds; reaps it and its children.
  void stop();

private:
  void write_files();
  std::vector<std::string> command() const;
  bool exited();

  server_config cfg_;
  std::filesystem::path dir_;
  std::filesystem::path log_path_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
  bool reaped_ = false;
};

/// Makes the test process adopt orphaned descendants
/// (PR_SET_CHILD_SUBREAPER), so that the children a server forks (NSD's
/// server and xfrd processes) can be reaped even when the server's main
/// process dies first. Idempotent.
void become_subreaper();

} // namespace minidns::servers
