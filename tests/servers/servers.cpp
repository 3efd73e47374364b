#include "servers.hpp"

#include "server_process.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstdlib>
#include <ldns/ldns.h>
#include <memory>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace minidns::servers {

namespace fs = std::filesystem;
using clock = std::chrono::steady_clock;

namespace {

/// An IPv4 or IPv6 socket address from a literal and a port.
struct sock_addr {
  sockaddr_storage storage{};
  socklen_t len = 0;
  int family() const { return storage.ss_family; }
  const sockaddr* get() const {
    return reinterpret_cast<const sockaddr*>(&storage);
  }
};

sock_addr make_addr(const std::string& address, uint16_t port) {
  sock_addr a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
  if (::inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    a.len = sizeof(sockaddr_in);
  } else if (::inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    a.len = sizeof(sockaddr_in6);
  } else {
    throw std::invalid_argument("not an IP literal: " + address);
  }
  return a;
}

/// Binds a socket of `type` to `address`:`port`; returns the bound port,
/// or 0 when the bind fails. The socket is closed again.
uint16_t try_bind(const std::string& address, int type, uint16_t port) {
  auto addr = make_addr(address, port);
  fd_guard s(::socket(addr.family(), type | SOCK_CLOEXEC, 0));
  if (s.fd < 0)
    return 0;
  if (addr.family() == AF_INET6) {
    int off = 0; // the wildcard then covers IPv4 too
    ::setsockopt(s.fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
  }
  if (::bind(s.fd, addr.get(), addr.len) != 0)
    return 0;
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  if (::getsockname(s.fd, reinterpret_cast<sockaddr*>(&bound), &len) != 0)
    return 0;
  return bound.ss_family == AF_INET6
             ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
             : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
}

} // namespace

scratch_dir::scratch_dir() {
  const char* base = std::getenv("TMPDIR");
  std::string templ =
      std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
      "/minidns-srv-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr)
    throw std::runtime_error(errno_text("mkdtemp " + templ));
  path_ = templ;
}

scratch_dir::~scratch_dir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

bool ipv6_loopback_available() {
  static const bool available = try_bind("::1", SOCK_DGRAM, 0) != 0;
  return available;
}

uint16_t free_port() {
  // Bind the wildcard (dual-stack when IPv6 is there): a port free on the
  // wildcard is free on every loopback address.
  const std::string any = ipv6_loopback_available() ? "::" : "0.0.0.0";
  for (int i = 0; i < 100; ++i) {
    uint16_t port = try_bind(any, SOCK_DGRAM, 0);
    if (port != 0 && try_bind(any, SOCK_STREAM, port) == port)
      return port;
  }
  throw std::runtime_error("no free port for UDP and TCP");
}

std::optional<dns_answer> query(const std::string& address, uint16_t port,
                                const std::string& zone, bool notify,
                                milliseconds timeout) {
  using rdf_ptr = std::unique_ptr<ldns_rdf, decltype(&ldns_rdf_deep_free)>;
  using pkt_ptr = std::unique_ptr<ldns_pkt, decltype(&ldns_pkt_free)>;
  rdf_ptr name(ldns_dname_new_frm_str(zone.c_str()), &ldns_rdf_deep_free);
  if (!name)
    throw std::invalid_argument("bad zone name: " + zone);
  pkt_ptr q(ldns_pkt_query_new(ldns_rdf_clone(name.get()), LDNS_RR_TYPE_SOA,
                               LDNS_RR_CLASS_IN, 0),
            &ldns_pkt_free);
  ldns_pkt_set_random_id(q.get());
  if (notify) {
    ldns_pkt_set_opcode(q.get(), LDNS_PACKET_NOTIFY);
    ldns_pkt_set_aa(q.get(), true);
  }
  uint8_t* wire = nullptr;
  size_t wire_len = 0;
  if (ldns_pkt2wire(&wire, q.get(), &wire_len) != LDNS_STATUS_OK)
    throw std::runtime_error("ldns_pkt2wire failed");
  std::unique_ptr<uint8_t, decltype(&std::free)> wire_guard(wire, &std::free);

  auto dest = make_addr(address, port);
  fd_guard s(::socket(dest.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (s.fd < 0)
    throw std::runtime_error(errno_text("socket"));
  if (::connect(s.fd, dest.get(), dest.len) != 0 ||
      ::send(s.fd, wire, wire_len, 0) != static_cast<ssize_t>(wire_len))
    return std::nullopt; // e.g. ECONNREFUSED from an earlier ICMP

  auto deadline = clock::now() + timeout;
  for (;;) {
    auto left =
        std::chrono::duration_cast<milliseconds>(deadline - clock::now());
    if (left.count() <= 0)
      return std::nullopt;
    pollfd p{s.fd, POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return std::nullopt;
    uint8_t buf[65536];
    auto got = ::recv(s.fd, buf, sizeof(buf), 0);
    if (got < 0)
      return std::nullopt; // ICMP port unreachable: nobody listens yet
    ldns_pkt* raw = nullptr;
    if (ldns_wire2pkt(&raw, buf, static_cast<size_t>(got)) != LDNS_STATUS_OK)
      continue;
    pkt_ptr r(raw, &ldns_pkt_free);
    if (!ldns_pkt_qr(r.get()) || ldns_pkt_id(r.get()) != ldns_pkt_id(q.get()))
      continue;
    dns_answer a;
    a.rcode = static_cast<uint8_t>(ldns_pkt_get_rcode(r.get()));
    a.aa = ldns_pkt_aa(r.get());
    a.tc = ldns_pkt_tc(r.get());
    a.has_question = ldns_pkt_qdcount(r.get()) > 0;
    ldns_rr_list* answer = ldns_pkt_answer(r.get());
    for (size_t i = 0; i < ldns_rr_list_rr_count(answer); ++i) {
      ldns_rr* rr = ldns_rr_list_rr(answer, i);
      if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA &&
          ldns_dname_compare(ldns_rr_owner(rr), name.get()) == 0 &&
          ldns_rr_rd_count(rr) == 7)
        a.serial = ldns_rdf2native_int32(ldns_rr_rdf(rr, 2));
    }
    return a;
  }
}

dns_server::dns_server(server_config cfg, fs::path dir)
    : cfg_(std::move(cfg)), dir_(std::move(dir)), log_path_(dir_ / "log") {
  become_subreaper();
  if (!ipv6_loopback_available())
    cfg_.ipv6 = false;
  fs::create_directories(dir_);
  // A port found free can be taken by someone else before the server binds
  // it; then the server exits and is started again on another port.
  std::string failures;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    port_ = cfg_.port != 0 ? cfg_.port : free_port();
    write_files();
    pid_ = spawn(command(), log_path_);
    reaped_ = false;
    bool ready = true;
    try {
      for (const auto* zones : {&cfg_.primary_zones, &cfg_.secondary_zones})
        for (const auto& [zone, serial] : *zones)
          if (ready && !wait_serial(zone, serial, milliseconds(30000)))
            ready = false;
    } catch (...) {
      stop();
      throw;
    }
    if (ready)
      return;
    bool died = exited();
    stop();
    failures += "--- attempt " + std::to_string(attempt) + " on port " +
                std::to_string(port_) + (died ? " (exited)" : " (not ready)") +
                ":\n" + tail(log(), 40) + "\n";
    if (!died)
      break; // running but not serving: another port will not help
  }
  throw std::runtime_error(describe() + " did not get ready; its log:\n" +
                           failures);
}

dns_server::~dns_server() {
  stop();
}

std::string dns_server::destination() const {
  return cfg_.address + ":" + std::to_string(port_);
}

std::string dns_server::destination_v6() const {
  return "[::1]:" + std::to_string(port_);
}

std::string dns_server::describe() const {
  return std::string(to_string(cfg_.kind)) + " at " + destination();
}

void dns_server::set_serial(const std::string& zone, uint32_t serial) {
  if (cfg_.kind != server_kind::nsd || cfg_.primary_zones.count(zone) == 0)
    throw std::logic_error("set_serial: only for NSD's primary zones");
  cfg_.primary_zones[zone] = serial;
  write_file(dir_ / (zone + "zone"), zone_file(zone, serial));
  // NSD 4 rereads changed zone files on SIGHUP.
  ::kill(pid_, SIGHUP);
  if (!wait_serial(zone, serial, milliseconds(10000)))
    throw std::runtime_error(describe() + " did not load serial " +
                             std::to_string(serial) + " of " + zone +
                             "; its log:\n" + tail(log(), 40));
}

bool dns_server::wait_serial(const std::string& zone, uint32_t serial,
                             milliseconds timeout) {
  // Polling an external server: a query every 50 ms at most, bounded.
  auto deadline = clock::now() + timeout;
  while (clock::now() < deadline) {
    if (exited())
      return false;
    auto a = query(cfg_.address, port_, zone, false, milliseconds(200));
    if (a && a->rcode == 0 && a->aa && a->serial == serial)
      return true;
    std::this_thread::sleep_for(milliseconds(50));
  }
  return false;
}

std::string dns_server::log() const {
  return read_file(log_path_);
}

bool dns_server::exited() {
  if (reaped_ || pid_ <= 0)
    return true;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_)
    reaped_ = true;
  return reaped_;
}

void dns_server::stop() {
  if (pid_ <= 0)
    return;
  if (!exited()) {
    ::kill(pid_, SIGTERM);
    auto deadline = clock::now() + std::chrono::seconds(10);
    while (!exited() && clock::now() < deadline)
      std::this_thread::sleep_for(milliseconds(10));
  }
  // Whatever is left of the group (the main process, if it ignored
  // SIGTERM, or children it left behind) is killed; the orphans are ours
  // to reap (become_subreaper).
  ::kill(-pid_, SIGKILL);
  auto deadline = clock::now() + std::chrono::seconds(10);
  for (;;) {
    int status = 0;
    while (::waitpid(-pid_, &status, WNOHANG) > 0) {
    }
    if (::kill(-pid_, 0) != 0 && errno == ESRCH)
      break;
    if (clock::now() >= deadline)
      break;
    std::this_thread::sleep_for(milliseconds(10));
  }
  reaped_ = true;
  pid_ = -1;
}

} // namespace minidns::servers
