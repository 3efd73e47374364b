/// minidns_bench: the load-generating pool manager of bench/run.sh.
///
/// It starts a fresh minidns for every run (so that the daemon's counters
/// and its peak RSS belong to that run alone), connects one ZeroMQ DEALER,
/// keeps a window of casts in flight or paces them, timestamps every cast
/// and every reply, checks every reply (method, status, serial, detail,
/// request_id, duplicates) and prints one `RESULT key=value ...` line for
/// run.sh, plus the daemon's own counters from its exit summary.
///
/// Modes:
///   zones    write 1,000 zone files, an nsd.conf and a dnsperf query file
///   check    ask NSD directly for every zone's SOA (sanity check)
///   poll     N polls to NSD, window W; every one must be SUCCESS/matched
///   notify   N notifies to an in-process NOERROR responder, window W
///            (in flight = casts sent - NOTIFYs the responder has received)
///   latency  polls to NSD paced at --rate for --duration, with direct SOA
///            probes to NSD interleaved to measure the server's round trip
///   scale    N polls at once to a silent in-process UDP socket, timeout T;
///            peak RSS of minidns per request in flight, timer lateness

#include "apps/minidns-ctl/client_codec.hpp"
#include "bench/responder.hpp"
#include "net/dns_message.hpp"
#include "net/dns_name.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <httplib.h>
#include <iterator>
#include <map>
#include <memory>
#include <netinet/in.h>
#include <optional>
#include <poll.h>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>
#include <zmq.h>

namespace {

using minidns::messages::method;

// ---------------------------------------------------------------- clocks

/// Monotonic time in ns (vDSO, no syscall).
int64_t now_ns() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return int64_t{t.tv_sec} * 1000000000 + t.tv_nsec;
}

/// Wall-clock time in ns: the clock of the kernel's SO_TIMESTAMPNS.
int64_t wall_ns() {
  timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return int64_t{t.tv_sec} * 1000000000 + t.tv_nsec;
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "minidns_bench: %s\n", what.c_str());
  std::exit(1);
}

// --------------------------------------------------------------- options

/// --key=value options; a bare --flag is "1".
class options {
public:
  options(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      if (a.rfind("--", 0) != 0)
        die("unexpected argument '" + a + "' (options are --key=value)");
      auto eq = a.find('=');
      std::string key = a.substr(2, eq == std::string::npos ? eq : eq - 2);
      std::string value = eq == std::string::npos ? "1" : a.substr(eq + 1);
      if (key == "daemon-arg")
        daemon_args.push_back(value);
      else
        values_[key] = value;
    }
  }

  std::string str(const std::string& key, const std::string& dflt) {
    used_.push_back(key);
    auto i = values_.find(key);
    return i == values_.end() ? dflt : i->second;
  }

  std::string required(const std::string& key) {
    auto v = str(key, "");
    if (v.empty())
      die("--" + key + " is required");
    return v;
  }

  double num(const std::string& key, double dflt) {
    auto v = str(key, "");
    if (v.empty())
      return dflt;
    char* end = nullptr;
    double d = std::strtod(v.c_str(), &end);
    if (end == v.c_str() || *end != '\0')
      die("--" + key + ": not a number: '" + v + "'");
    return d;
  }

  uint64_t count(const std::string& key, uint64_t dflt) {
    double d = num(key, static_cast<double>(dflt));
    if (d < 0)
      die("--" + key + ": must be >= 0");
    return static_cast<uint64_t>(d);
  }

  /// Dies on options no mode asked for (typos).
  void check_unused() const {
    for (auto& [k, v] : values_)
      if (std::find(used_.begin(), used_.end(), k) == used_.end())
        die("unknown option --" + k);
  }

  std::vector<std::string> daemon_args; ///< extra --minidns.X=Y for minidns

private:
  std::map<std::string, std::string> values_;
  std::vector<std::string> used_;
};

// ---------------------------------------------------------------- zones

/// Zone i of the benchmark: "z0042.bench.", serial base + i, so that every
/// poll's expected serial differs from its neighbours'.
std::string zone_name(unsigned i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "z%04u.bench.", i);
  return buf;
}

constexpr uint32_t serial_base = 2024000000;

uint32_t zone_serial(unsigned i) {
  return serial_base + i;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  if (!f)
    die("cannot write " + path);
}

/// Writes DIR/nsd.conf (NSD in the foreground as the current user, every
/// file in DIR, one server process, no rate limiting), DIR/zones/*.zone and
/// DIR/queries.txt for dnsperf.
int mode_zones(options& o) {
  auto dir = o.required("dir");
  auto zones = static_cast<unsigned>(o.count("zones", 1000));
  auto port = o.required("nsd-port");
  o.check_unused();
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
  return 0;
}

/// Prints a port that is free for UDP and TCP on 127.0.0.1 (found by
/// binding port 0, then closed for the server to take).
int mode_free_port(options& o) {
  o.check_unused();
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

// ---------------------------------------------------------- UDP helpers

/// Parses "a.b.c.d:port".
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

/// A connected UDP socket for direct SOA queries to the server.
class direct_prober {
public:
  explicit direct_prober(const std::string& dest) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    auto sin = parse_v4(dest);
    if (fd_ < 0 ||
        ::connect(fd_, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) != 0)
      die("prober: cannot connect to " + dest);
  }
  ~direct_prober() { ::close(fd_); }

  int fd() const { return fd_; }

  /// Sends a SOA query for zone `i`.
  void send(unsigned i) {
    std::string err;
    zone_ = i;
    wire_ = minidns::net::name_to_wire(zone_name(i), err).value_or("");
    id_ = static_cast<uint16_t>(id_ * 31421 + 6927);
    uint8_t buf[minidns::net::max_query_size];
    auto len = minidns::net::build_query(minidns::net::query_kind::soa, id_,
                                         wire_, buf, sizeof(buf));
    sent_ns_ = now_ns();
    outstanding_ = ::send(fd_, buf, len, 0) == static_cast<ssize_t>(len);
  }

  /// Reads every datagram queued on the socket (stale replies to earlier
  /// queries included); returns the round trip in ns when one is the answer
  /// to the outstanding query with the zone's serial, -1 otherwise (with
  /// the reason in last_problem()).
  int64_t receive() {
    int64_t rtt = -1;
    for (;;) {
      uint8_t buf[4096];
      auto n = ::recv(fd_, buf, sizeof(buf), MSG_DONTWAIT);
      int64_t t = now_ns();
      if (n <= 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK)
          problem_ = std::string("recv: ") + std::strerror(errno);
        return rtt;
      }
      if (!outstanding_) {
        problem_ = "a reply with no query outstanding";
        continue;
      }
      auto info = minidns::net::check_reply(
          buf, static_cast<size_t>(n),
          {minidns::net::query_kind::soa, id_, wire_});
      if (info.match == minidns::net::reply_match::wrong_id) {
        problem_ = "a late reply to an earlier query";
        continue;
      }
      if (info.match != minidns::net::reply_match::accepted ||
          info.soa != minidns::net::soa_state::found ||
          info.serial != zone_serial(zone_)) {
        problem_ = "reply not accepted (match " +
                   std::to_string(static_cast<int>(info.match)) + ", rcode " +
                   std::to_string(info.rcode) + ", soa " +
                   std::to_string(static_cast<int>(info.soa)) + ", serial " +
                   std::to_string(info.serial) + ")";
        ++bad_;
        continue;
      }
      outstanding_ = false;
      rtt = t - sent_ns_;
    }
  }

  const std::string& last_problem() const { return problem_; }

  bool outstanding() const { return outstanding_; }
  int64_t sent_ns() const { return sent_ns_; }
  void abandon() {
    outstanding_ = false;
    ++lost_;
  }
  uint64_t bad() const { return bad_; }
  uint64_t lost() const { return lost_; }

private:
  int fd_ = -1;
  unsigned zone_ = 0;
  std::string wire_;
  uint16_t id_ = 1;
  int64_t sent_ns_ = 0;
  bool outstanding_ = false;
  uint64_t bad_ = 0, lost_ = 0;
  std::string problem_ = "no reply";
};

/// Asks NSD for every zone's SOA, one at a time; all must answer with the
/// zone's serial.
int mode_check(options& o) {
  auto dest = o.required("dest");
  auto zones = static_cast<unsigned>(o.count("zones", 1000));
  double wait = o.num("wait", 10);
  o.check_unused();
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

// --------------------------------------------------------------- daemon

/// The counters of minidns's exit summary.
struct daemon_summary {
  bool found = false;
  unsigned long long casts = 0, invalid = 0, replies = 0, undeliverable = 0,
                     sent = 0, send_errors = 0, datagrams = 0, accepted = 0,
                     unmatched = 0, mismatched = 0;
  unsigned long long warn_lines = 0; ///< log lines at warn or above
  unsigned long long hwm_kb = 0;     ///< VmHWM just before SIGTERM
  double cpu_seconds = 0; ///< user + system CPU time just before SIGTERM
  unsigned long long threads = 0; ///< threads just before SIGTERM
};

/// User + system CPU seconds of a process (all its threads) so far.
double proc_cpu_seconds(pid_t pid) {
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/%d/stat", static_cast<int>(pid));
  std::ifstream f(path);
  std::string text((std::istreambuf_iterator<char>(f)),
                   std::istreambuf_iterator<char>());
  // Fields after the parenthesised command name; utime and stime are the
  // 14th and 15th fields of the line.
  auto close = text.rfind(')');
  if (close == std::string::npos)
    return 0;
  std::istringstream rest(text.substr(close + 2));
  std::string skip;
  for (int i = 3; i < 14; ++i)
    rest >> skip;
  unsigned long long utime = 0, stime = 0;
  rest >> utime >> stime;
  return static_cast<double>(utime + stime) /
         static_cast<double>(::sysconf(_SC_CLK_TCK));
}

/// CPU seconds this process (the bench client) has used so far.
double self_cpu_seconds() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

/// Reads VmRSS or VmHWM (kB) of a process; 0 when gone.
uint64_t proc_status_kb(pid_t pid, const char* key) {
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/%d/status", static_cast<int>(pid));
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  char buf[4096];
  auto n = ::read(fd, buf, sizeof(buf) - 1);
  ::close(fd);
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  const char* p = std::strstr(buf, key);
  if (p == nullptr)
    return 0;
  return std::strtoull(p + std::strlen(key) + 1, nullptr, 10);
}

/// A minidns process started for one run, its stderr in a log file.
class daemon_process {
public:
  daemon_process(const std::string& binary, std::vector<std::string> args,
                 const std::string& log_path)
      : log_path_(log_path) {
    args.insert(args.begin(), binary);
    pid_ = ::fork();
    if (pid_ < 0)
      die("fork failed");
    if (pid_ == 0) {
      int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        ::dup2(fd, 2);
        ::close(fd);
      }
      int null = ::open("/dev/null", O_RDWR);
      ::dup2(null, 0);
      ::dup2(null, 1);
      // Die with the bench, whatever kills it.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      std::vector<char*> argv;
      for (auto& a : args)
        argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(binary.c_str(), argv.data());
      std::perror("exec minidns");
      ::_exit(127);
    }
    // Wait for "minidns ready: endpoint tcp://127.0.0.1:PORT ...".
    int64_t give_up = now_ns() + 20 * int64_t{1000000000};
    while (endpoint_.empty()) {
      auto head = read_log(0, 16384);
      auto at = head.find("minidns ready: endpoint ");
      if (at != std::string::npos) {
        auto start = at + std::strlen("minidns ready: endpoint ");
        auto end = head.find(' ', start);
        if (end != std::string::npos)
          endpoint_ = head.substr(start, end - start);
      }
      int status;
      if (endpoint_.empty() && ::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        die("minidns exited at start:\n" + head);
      }
      if (endpoint_.empty() && now_ns() > give_up)
        die("minidns not ready after 20 s:\n" + head);
      if (endpoint_.empty())
        ::usleep(5000);
    }
  }

  ~daemon_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  pid_t pid() const { return pid_; }
  const std::string& endpoint() const { return endpoint_; }

  /// SIGTERM, wait for the exit (SIGKILL after `patience` seconds), parse
  /// the summary.
  daemon_summary stop(double patience) {
    daemon_summary s;
    if (pid_ <= 0)
      return s;
    s.hwm_kb = proc_status_kb(pid_, "VmHWM:");
    s.threads = proc_status_kb(pid_, "Threads:");
    s.cpu_seconds = proc_cpu_seconds(pid_);
    ::kill(pid_, SIGTERM);
    int64_t give_up = now_ns() + static_cast<int64_t>(patience * 1e9);
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) != pid_) {
      if (now_ns() > give_up) {
        std::fprintf(stderr,
                     "minidns did not exit within %.0f s of SIGTERM; killing "
                     "it\n",
                     patience);
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      ::usleep(10000);
    }
    pid_ = -1;
    struct stat st;
    size_t size = ::stat(log_path_.c_str(), &st) == 0
                      ? static_cast<size_t>(st.st_size)
                      : 0;
    auto tail = read_log(size > 8192 ? size - 8192 : 0, 8192);
    auto at = tail.rfind("minidns stopped: ");
    if (at != std::string::npos) {
      // Counters by name, so that new ones in the line do not matter.
      auto line = tail.substr(at, tail.find('\n', at) - at);
      size_t read = 0;
      auto counter = [&](const char* name, unsigned long long& out) {
        auto key = std::string(" ") + name + " ";
        auto pos = line.find(key);
        if (pos != std::string::npos &&
            std::sscanf(line.c_str() + pos + key.size(), "%llu", &out) == 1)
          ++read;
      };
      counter("casts", s.casts);
      counter("invalid", s.invalid);
      counter("replies", s.replies);
      counter("undeliverable", s.undeliverable);
      counter("sent", s.sent);
      counter("send-errors", s.send_errors);
      counter("datagrams", s.datagrams);
      counter("accepted", s.accepted);
      counter("unmatched", s.unmatched);
      counter("mismatched", s.mismatched);
      s.found = read == 10;
    }
    s.warn_lines = count_warnings();
    return s;
  }

  const std::string& log_path() const { return log_path_; }

  /// The port of "metrics on http://127.0.0.1:PORT/metrics" in the log's
  /// head; 0 when minidns serves no metrics.
  int metrics_port() const {
    static const std::string key = "metrics on http://127.0.0.1:";
    auto head = read_log(0, 16384);
    auto at = head.find(key);
    return at == std::string::npos ? 0
                                   : std::atoi(head.c_str() + at + key.size());
  }

private:
  std::string read_log(size_t offset, size_t max) const {
    std::string out;
    int fd = ::open(log_path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return out;
    out.resize(max);
    auto n = ::pread(fd, out.data(), max, static_cast<off_t>(offset));
    ::close(fd);
    out.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return out;
  }

  /// Lines logged at warn, error or critical.
  unsigned long long count_warnings() const {
    std::ifstream f(log_path_);
    std::string line;
    unsigned long long n = 0;
    while (std::getline(f, line))
      if (line.find(" warning ") != std::string::npos ||
          line.find(" error ") != std::string::npos ||
          line.find(" critical ") != std::string::npos)
        ++n;
    return n;
  }

  std::string log_path_;
  pid_t pid_ = -1;
  std::string endpoint_;
};

/// A tool attached to minidns for the length of a run: `perf record -o
/// FILE ARGS -p PID`, or any command given as words, to which `-p PID` is
/// appended (e.g. "strace -c -f -o FILE"). Stopped with SIGINT.
class attached_tool {
public:
  attached_tool(pid_t target, std::vector<std::string> words) {
    words.push_back("-p");
    words.push_back(std::to_string(target));
    pid_ = ::fork();
    if (pid_ == 0) {
      int null = ::open("/dev/null", O_RDWR);
      ::dup2(null, 0);
      ::dup2(null, 1);
      ::dup2(null, 2);
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      std::vector<char*> argv;
      for (auto& w : words)
        argv.push_back(const_cast<char*>(w.c_str()));
      argv.push_back(nullptr);
      ::execvp(argv[0], argv.data());
      ::_exit(127);
    }
    ::usleep(300000); // let it attach
  }
  ~attached_tool() {
    if (pid_ > 0) {
      ::kill(pid_, SIGINT);
      ::waitpid(pid_, nullptr, 0);
    }
  }

private:
  pid_t pid_ = -1;
};

/// Splits a command line at spaces.
std::vector<std::string> words_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string w; in >> w;)
    out.push_back(w);
  return out;
}

// ---------------------------------------------------------------- casts

/// A cast frame encoded once with minidns's own codec, whose request_id
/// (a msgpack uint32, always the last value) is patched for every send.
struct cast_template {
  std::string frame;
  size_t id_offset = 0;

  void set_id(uint32_t id) {
    frame[id_offset] = static_cast<char>(id >> 24);
    frame[id_offset + 1] = static_cast<char>(id >> 16);
    frame[id_offset + 2] = static_cast<char>(id >> 8);
    frame[id_offset + 3] = static_cast<char>(id);
  }
};

cast_template make_template(method m, const std::string& zone,
                            std::optional<uint32_t> serial,
                            const std::string& dest, double timeout,
                            double retry_interval, uint32_t max_retries) {
  static const std::string rid("\xce\x00\x00\x00\x00", 5);
  cast_template t;
  t.frame = minidns::messages::encode_cast(
      m, zone, serial, dest, timeout, retry_interval, max_retries, {}, rid);
  if (t.frame.size() < 5 || t.frame.compare(t.frame.size() - 5, 5, rid) != 0)
    die("encode_cast did not put request_id last");
  t.id_offset = t.frame.size() - 4;
  return t;
}

// -------------------------------------------------------------- results

/// Percentiles of a sample, in microseconds.
struct percentiles {
  size_t n = 0;
  double p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0, mean = 0;
};

percentiles summarize(std::vector<int64_t> ns) {
  percentiles p;
  p.n = ns.size();
  if (ns.empty())
    return p;
  std::sort(ns.begin(), ns.end());
  auto at = [&](double q) {
    auto i = static_cast<size_t>(q * static_cast<double>(ns.size() - 1) + 0.5);
    return static_cast<double>(ns[i]) / 1e3;
  };
  p.p50 = at(0.5);
  p.p90 = at(0.9);
  p.p99 = at(0.99);
  p.p999 = at(0.999);
  p.max = static_cast<double>(ns.back()) / 1e3;
  double sum = 0;
  for (auto v : ns)
    sum += static_cast<double>(v);
  p.mean = sum / static_cast<double>(ns.size()) / 1e3;
  return p;
}

/// The fields of the RESULT line, in order.
class result_line {
public:
  template <class T>
  void add(const std::string& key, T value) {
    std::ostringstream s;
    s.setf(std::ios::fixed);
    s.precision(std::is_floating_point<T>::value ? 3 : 0);
    s << value;
    fields_.emplace_back(key, s.str());
  }
  void add_daemon(const daemon_summary& d) {
    add("daemon_summary", d.found ? 1 : 0);
    add("daemon_casts", d.casts);
    add("daemon_invalid", d.invalid);
    add("daemon_replies", d.replies);
    add("daemon_undeliverable", d.undeliverable);
    add("daemon_queries_sent", d.sent);
    add("daemon_send_errors", d.send_errors);
    add("daemon_datagrams", d.datagrams);
    add("daemon_accepted", d.accepted);
    add("daemon_unmatched", d.unmatched);
    add("daemon_mismatched", d.mismatched);
    add("daemon_warn_lines", d.warn_lines);
    add("daemon_hwm_kb", d.hwm_kb);
    add("daemon_cpu_seconds", d.cpu_seconds);
    add("daemon_threads", d.threads);
  }
  void print(const std::string& mode) const {
    std::printf("RESULT mode=%s", mode.c_str());
    for (auto& [k, v] : fields_)
      std::printf(" %s=%s", k.c_str(), v.c_str());
    std::printf("\n");
    std::fflush(stdout);
  }

private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

// ----------------------------------------------------------- the client

/// What happened to the replies of one run.
struct tally {
  uint64_t ok = 0;          ///< replies that passed every check
  uint64_t bad = 0;         ///< replies that failed a check
  uint64_t duplicates = 0;  ///< second reply for one request_id
  uint64_t undecodable = 0; ///< not a reply frame, or unknown request_id
  std::map<std::string, uint64_t> kinds; ///< bad replies by status/detail
};

/// One DEALER connected to minidns.
class dealer {
public:
  explicit dealer(const std::string& endpoint, int sndhwm) {
    ctx_ = zmq_ctx_new();
    sock_ = zmq_socket(ctx_, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(sock_, ZMQ_LINGER, &zero, sizeof(zero));
    zmq_setsockopt(sock_, ZMQ_SNDHWM, &sndhwm, sizeof(sndhwm));
    // Never drop a reply on our side.
    zmq_setsockopt(sock_, ZMQ_RCVHWM, &zero, sizeof(zero));
    if (zmq_connect(sock_, endpoint.c_str()) != 0)
      die("zmq_connect " + endpoint + ": " + zmq_strerror(zmq_errno()));
  }
  ~dealer() {
    zmq_close(sock_);
    zmq_ctx_term(ctx_);
  }
  void* socket() const { return sock_; }

  /// Sends without blocking; false when ZeroMQ's queue is full.
  bool try_send(const std::string& frame) {
    if (zmq_send(sock_, frame.data(), frame.size(), ZMQ_DONTWAIT) >= 0)
      return true;
    if (zmq_errno() == EAGAIN)
      return false;
    die(std::string("zmq_send: ") + zmq_strerror(zmq_errno()));
  }

private:
  void* ctx_ = nullptr;
  void* sock_ = nullptr;
};

/// Per-request timestamps and reply checks for N requests.
class tracker {
public:
  explicit tracker(size_t n) : sent_(n, 0), done_(n, 0) {}

  void sent(uint32_t id, int64_t t) { sent_[id] = t; }
  int64_t sent_at(uint32_t id) const { return sent_[id]; }
  int64_t done_at(uint32_t id) const { return done_[id]; }

  /// Reads every reply queued on the DEALER without blocking, checks it
  /// with `check` (returns an empty string when the reply is right, else
  /// what is wrong) and stamps it with `clock()`. Returns the number of
  /// replies read.
  template <class Check, class Clock>
  size_t drain(void* sock, Check&& check, Clock&& clock) {
    size_t got = 0;
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    while (zmq_msg_recv(&msg, sock, ZMQ_DONTWAIT) >= 0) {
      int64_t t = clock();
      ++got;
      ++received_;
      std::string err;
      auto r = minidns::messages::decode_reply(zmq_msg_data(&msg),
                                               zmq_msg_size(&msg), err);
      auto& rid = r ? r->raw_request_id : err;
      if (!r || rid.size() != 5 || static_cast<uint8_t>(rid[0]) != 0xce) {
        ++counts.undecodable;
        ++counts.kinds[r ? "reply without our request_id: " + r->method + " " +
                               r->error
                         : "undecodable: " + err];
        continue;
      }
      uint32_t id = static_cast<uint32_t>(static_cast<uint8_t>(rid[1])) << 24 |
                    static_cast<uint32_t>(static_cast<uint8_t>(rid[2])) << 16 |
                    static_cast<uint32_t>(static_cast<uint8_t>(rid[3])) << 8 |
                    static_cast<uint32_t>(static_cast<uint8_t>(rid[4]));
      if (id >= sent_.size() || sent_[id] == 0) {
        ++counts.undecodable;
        ++counts.kinds["reply to a request_id never sent"];
        continue;
      }
      if (done_[id] != 0) {
        ++counts.duplicates;
        continue;
      }
      done_[id] = t;
      ++completed_;
      auto problem = check(id, *r);
      if (problem.empty()) {
        ++counts.ok;
      } else {
        ++counts.bad;
        ++counts.kinds[problem];
      }
    }
    zmq_msg_close(&msg);
    return got;
  }

  /// Requests with a first reply.
  uint64_t completed() const { return completed_; }
  uint64_t received() const { return received_; }

  /// Latencies (reply minus send) of the completed requests, ns.
  std::vector<int64_t> latencies() const {
    std::vector<int64_t> v;
    v.reserve(completed_);
    for (size_t i = 0; i < sent_.size(); ++i)
      if (done_[i] != 0 && sent_[i] != 0)
        v.push_back(done_[i] - sent_[i]);
    return v;
  }

  tally counts;

private:
  std::vector<int64_t> sent_, done_;
  uint64_t completed_ = 0, received_ = 0;
};

/// Checks an update_status for a poll of zone `zone` that should succeed.
std::string check_success(const minidns::messages::reply& r, unsigned zone) {
  if (r.method != "update_status")
    return "method " + r.method + ": " + r.error;
  if (r.status != "SUCCESS")
    return "status " + r.status + " (" + r.detail + ")";
  if (!r.actual_serial || *r.actual_serial != zone_serial(zone))
    return "wrong actual_serial";
  if (r.detail != "matched")
    return "detail " + r.detail;
  return {};
}

void print_tally(const tally& t, uint64_t n, uint64_t completed) {
  std::printf("  replies: %llu ok, %llu failed checks, %llu duplicates, %llu "
              "undecodable, %llu missing\n",
              static_cast<unsigned long long>(t.ok),
              static_cast<unsigned long long>(t.bad),
              static_cast<unsigned long long>(t.duplicates),
              static_cast<unsigned long long>(t.undecodable),
              static_cast<unsigned long long>(n - completed));
  for (auto& [k, v] : t.kinds)
    std::printf("    %llu x %s\n", static_cast<unsigned long long>(v),
                k.c_str());
}

void print_percentiles(const char* what, const percentiles& p) {
  std::printf("  %s (us): p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max "
              "%.1f  mean %.1f  (n=%zu)\n",
              what, p.p50, p.p90, p.p99, p.p999, p.max, p.mean, p.n);
}

void add_percentiles(result_line& res, const std::string& prefix,
                     const percentiles& p) {
  res.add(prefix + "_p50_us", p.p50);
  res.add(prefix + "_p90_us", p.p90);
  res.add(prefix + "_p99_us", p.p99);
  res.add(prefix + "_p999_us", p.p999);
  res.add(prefix + "_max_us", p.max);
}

/// GET http://127.0.0.1:PORT/PATH; the body, or empty on any failure.
std::string http_get(int port, const std::string& path) {
  httplib::Client cli("127.0.0.1", port);
  cli.set_read_timeout(5, 0);
  auto res = cli.Get(path);
  return res && res->status == 200 ? res->body : std::string{};
}

/// One Prometheus histogram series read back from the text: its count,
/// sum, and the upper bound of the bucket that holds quantile q.
struct histogram_reading {
  uint64_t count = 0;
  double sum = 0;
  double bucket_of_q = 0; ///< +Inf as infinity; 0 when empty
};

/// Reads `name`{`labels`,le=...} buckets, _count and _sum from `page`.
histogram_reading read_histogram(const std::string& page,
                                 const std::string& name,
                                 const std::string& labels, double q) {
  histogram_reading h;
  std::vector<std::pair<double, uint64_t>> buckets; // (le, cumulative)
  std::istringstream in(page);
  std::string line;
  auto bucket = name + "_bucket{" + labels + ",le=\"";
  auto count = name + "_count{" + labels + "} ";
  auto sum = name + "_sum{" + labels + "} ";
  while (std::getline(in, line)) {
    if (line.compare(0, bucket.size(), bucket) == 0) {
      auto le = line.substr(bucket.size(),
                            line.find('"', bucket.size()) - bucket.size());
      auto v = std::strtoull(line.c_str() + line.rfind(' ') + 1, nullptr, 10);
      buckets.emplace_back(le == "+Inf" ? HUGE_VAL : std::atof(le.c_str()), v);
    } else if (line.compare(0, count.size(), count) == 0) {
      h.count = std::strtoull(line.c_str() + count.size(), nullptr, 10);
    } else if (line.compare(0, sum.size(), sum) == 0) {
      h.sum = std::atof(line.c_str() + sum.size());
    }
  }
  for (auto& [le, cumulative] : buckets)
    if (h.count > 0 &&
        static_cast<double>(cumulative) >= q * static_cast<double>(h.count)) {
      h.bucket_of_q = le;
      break;
    }
  return h;
}

/// Common settings of the modes that start a daemon.
struct run_setup {
  std::string binary;
  std::string log_dir;
  std::string perf_out, perf_args, attach;
  bool keep_log = false;
  double stop_timeout = 60;

  explicit run_setup(options& o) {
    stop_timeout = o.num("stop-timeout", 60);
    binary = o.str("minidns", "build/minidns");
    log_dir = o.str("log-dir", "/tmp");
    perf_out = o.str("perf", "");
    perf_args = o.str("perf-args", "-F 499 -g");
    attach = o.str("attach", "");
    keep_log = o.count("keep-log", 0) != 0;
  }

  std::unique_ptr<daemon_process> start(const std::vector<std::string>& extra,
                                        const std::string& mode) {
    std::vector<std::string> args{"--minidns.endpoint=tcp://127.0.0.1:*",
                                  "--minidns.log-level=info"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto log = log_dir + "/minidns-" + mode + "-" + std::to_string(::getpid()) +
               ".log";
    auto d = std::make_unique<daemon_process>(binary, args, log);
    std::printf("  minidns pid %d at %s, log %s\n", static_cast<int>(d->pid()),
                d->endpoint().c_str(), log.c_str());
    return d;
  }

  /// Attaches `perf record` (--perf) or another tool (--attach) to minidns
  /// until the result is destroyed.
  std::vector<std::unique_ptr<attached_tool>>
  attach_tools(const daemon_process& d) const {
    std::vector<std::unique_ptr<attached_tool>> tools;
    if (!perf_out.empty()) {
      auto w = words_of("perf record -o " + perf_out + " " + perf_args);
      tools.push_back(std::make_unique<attached_tool>(d.pid(), w));
    }
    if (!attach.empty())
      tools.push_back(
          std::make_unique<attached_tool>(d.pid(), words_of(attach)));
    return tools;
  }

  daemon_summary stop(std::unique_ptr<daemon_process>& d) {
    auto s = d->stop(stop_timeout);
    if (!s.found)
      std::printf("  minidns exit summary not found in %s\n",
                  d->log_path().c_str());
    else
      std::printf(
          "  minidns: casts %llu invalid %llu replies %llu "
          "undeliverable %llu; queries sent %llu send-errors %llu; "
          "datagrams %llu accepted %llu unmatched %llu mismatched %llu; "
          "%llu warning lines; VmHWM %llu kB; %.2f CPU s, %llu "
          "threads\n",
          s.casts, s.invalid, s.replies, s.undeliverable, s.sent, s.send_errors,
          s.datagrams, s.accepted, s.unmatched, s.mismatched, s.warn_lines,
          s.hwm_kb, s.cpu_seconds, s.threads);
    if (!keep_log && s.found)
      ::unlink(d->log_path().c_str());
    return s;
  }
};

// ------------------------------------------------------------ poll mode

/// N polls to NSD with a window of W casts in flight; every reply must be
/// SUCCESS with the zone's serial.
int mode_poll(options& o) {
  run_setup setup(o);
  auto dest = o.required("dest");
  auto n = o.count("count", 300000);
  auto window = o.count("window", 2000);
  auto zones = static_cast<unsigned>(o.count("zones", 1000));
  double timeout = o.num("timeout", 2);
  auto retries = static_cast<uint32_t>(o.count("max-retries", 3));
  double limit = o.num("time-limit", 120);
  o.check_unused();

  std::vector<cast_template> casts;
  for (unsigned z = 0; z < zones; ++z)
    casts.push_back(make_template(method::poll_for_serial_number, zone_name(z),
                                  zone_serial(z), dest, timeout, 0, retries));
  auto d = setup.start(o.daemon_args, "poll");
  auto perf = setup.attach_tools(*d);
  tracker tr(n);
  {
    dealer dl(d->endpoint(), 100000);
    auto check = [&](uint32_t id, const minidns::messages::reply& r) {
      return check_success(r, id % zones);
    };
    uint64_t sent = 0;
    int64_t start = now_ns();
    int64_t give_up = start + static_cast<int64_t>(limit * 1e9);
    uint64_t max_in_flight = 0;
    while (tr.completed() < n && now_ns() < give_up) {
      bool blocked = false;
      while (sent < n && sent - tr.completed() < window) {
        auto& c = casts[sent % zones];
        c.set_id(static_cast<uint32_t>(sent));
        if (!dl.try_send(c.frame)) {
          blocked = true;
          break;
        }
        tr.sent(static_cast<uint32_t>(sent), now_ns());
        ++sent;
      }
      max_in_flight = std::max(max_in_flight, sent - tr.completed());
      if (tr.drain(dl.socket(), check, now_ns) == 0) {
        zmq_pollitem_t item{
            dl.socket(), 0,
            static_cast<short>(ZMQ_POLLIN | (blocked ? ZMQ_POLLOUT : 0)), 0};
        zmq_poll(&item, 1, 100);
      }
    }
    int64_t end = now_ns();
    perf.clear();
    auto lat = summarize(tr.latencies());
    double secs = static_cast<double>(end - start) / 1e9;
    double rate = static_cast<double>(tr.counts.ok) / secs;
    std::printf("poll: %llu polls, window %llu: %.3f s, %.0f polls/s (all "
                "checks passed: %llu)\n",
                static_cast<unsigned long long>(n),
                static_cast<unsigned long long>(window), secs, rate,
                static_cast<unsigned long long>(tr.counts.ok));
    print_percentiles("cast-to-status latency", lat);
    print_tally(tr.counts, n, tr.completed());
    auto s = setup.stop(d);
    double client_cpu = self_cpu_seconds();
    std::printf("  CPU per poll: minidns %.1f us, this client %.1f us\n",
                s.cpu_seconds * 1e6 / static_cast<double>(n),
                client_cpu * 1e6 / static_cast<double>(n));
    result_line res;
    res.add("n", n);
    res.add("window", window);
    res.add("seconds", secs);
    res.add("rate", rate);
    res.add("daemon_cpu_us_per_request",
            s.cpu_seconds * 1e6 / static_cast<double>(n));
    res.add("client_cpu_us_per_request",
            client_cpu * 1e6 / static_cast<double>(n));
    res.add("ok", tr.counts.ok);
    res.add("bad", tr.counts.bad);
    res.add("duplicates", tr.counts.duplicates);
    res.add("undecodable", tr.counts.undecodable);
    res.add("missing", n - tr.completed());
    res.add("max_in_flight", max_in_flight);
    add_percentiles(res, "lat", lat);
    res.add_daemon(s);
    res.print("poll");
    bool clean = tr.counts.ok == n && tr.counts.duplicates == 0 &&
                 tr.counts.undecodable == 0 && s.found && s.casts == n;
    return clean ? 0 : 3;
  }
}

// ---------------------------------------------------------- notify mode

/// N notifies to an in-process NOERROR responder. Notifies that are carried
/// out get no reply, so the window is counted on the responder's side:
/// in flight = casts sent - NOTIFYs the responder has received. The rate is
/// N over the time from the first cast to the responder's answer to the
/// N-th NOTIFY; the daemon's counters then show that every answer was
/// accepted and nothing was resent.
int mode_notify(options& o) {
  run_setup setup(o);
  auto n = o.count("count", 300000);
  auto window = o.count("window", 2000);
  auto zones = static_cast<unsigned>(o.count("zones", 1000));
  double timeout = o.num("timeout", 2);
  auto retries = static_cast<uint32_t>(o.count("max-retries", 3));
  double limit = o.num("time-limit", 120);
  o.check_unused();

  minidns::bench::responder resp("127.0.0.1", 0, false);
  int efd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  resp.notify_fd(efd);
  std::thread rt([&] { resp.run(); });
  auto dest = "127.0.0.1:" + std::to_string(resp.port());
  std::vector<cast_template> casts;
  for (unsigned z = 0; z < zones; ++z)
    casts.push_back(make_template(method::notify_zone_changed, zone_name(z),
                                  std::nullopt, dest, timeout, 0, retries));
  auto d = setup.start(o.daemon_args, "notify");
  auto perf = setup.attach_tools(*d);
  tracker tr(n);
  auto check = [](uint32_t, const minidns::messages::reply& r) {
    return "unexpected reply to a notify: " + r.method + " " + r.error;
  };
  uint64_t sent = 0;
  int64_t start = now_ns();
  int64_t give_up = start + static_cast<int64_t>(limit * 1e9);
  {
    dealer dl(d->endpoint(), 100000);
    while (resp.received() < n && now_ns() < give_up) {
      bool blocked = false;
      uint64_t seen = resp.received();
      while (sent < n && sent - std::min(seen, sent) < window) {
        auto& c = casts[sent % zones];
        c.set_id(static_cast<uint32_t>(sent));
        if (!dl.try_send(c.frame)) {
          blocked = true;
          break;
        }
        tr.sent(static_cast<uint32_t>(sent), now_ns());
        ++sent;
      }
      tr.drain(dl.socket(), check, now_ns);
      if (resp.received() == seen) {
        zmq_pollitem_t items[] = {
            {dl.socket(), 0,
             static_cast<short>(ZMQ_POLLIN | (blocked ? ZMQ_POLLOUT : 0)), 0},
            {nullptr, efd, ZMQ_POLLIN, 0}};
        zmq_poll(items, 2, 100);
        uint64_t v;
        [[maybe_unused]] auto r = ::read(efd, &v, sizeof(v));
      }
    }
    int64_t end = resp.last_answer_ns();
    // Give minidns a moment to take the last answers, and any error reply
    // time to arrive.
    int64_t settle = now_ns() + 500000000;
    while (now_ns() < settle) {
      zmq_pollitem_t item{dl.socket(), 0, ZMQ_POLLIN, 0};
      zmq_poll(&item, 1, 50);
      tr.drain(dl.socket(), check, now_ns);
    }
    perf.clear();
    auto s = setup.stop(d);
    resp.stop();
    rt.join();
    ::close(efd);
    auto c = resp.counts();
    double secs = static_cast<double>(end - start) / 1e9;
    double rate = static_cast<double>(std::min<uint64_t>(c.notifies, n)) / secs;
    std::printf("notify: %llu notifies, window %llu: %.3f s, %.0f NOTIFYs/s "
                "answered by the responder\n",
                static_cast<unsigned long long>(n),
                static_cast<unsigned long long>(window), secs, rate);
    std::printf("  responder: received %llu (NOTIFY %llu, other %llu), "
                "answered %llu\n",
                static_cast<unsigned long long>(c.received),
                static_cast<unsigned long long>(c.notifies),
                static_cast<unsigned long long>(c.received - c.notifies),
                static_cast<unsigned long long>(c.answered));
    std::printf("  error replies from minidns: %llu\n",
                static_cast<unsigned long long>(tr.received()));
    // Every NOTIFY answered is accepted by minidns, none resent, no error.
    bool clean = c.notifies == n && c.received == n && c.answered == n &&
                 tr.received() == 0 && s.found && s.casts == n && s.sent == n &&
                 s.accepted == n && s.send_errors == 0 && s.warn_lines == 0;
    double client_cpu = self_cpu_seconds();
    std::printf("  CPU per notify: minidns %.1f us, this client (with the "
                "responder) %.1f us\n",
                s.cpu_seconds * 1e6 / static_cast<double>(n),
                client_cpu * 1e6 / static_cast<double>(n));
    result_line res;
    res.add("n", n);
    res.add("window", window);
    res.add("seconds", secs);
    res.add("rate", rate);
    res.add("daemon_cpu_us_per_request",
            s.cpu_seconds * 1e6 / static_cast<double>(n));
    res.add("client_cpu_us_per_request",
            client_cpu * 1e6 / static_cast<double>(n));
    res.add("responder_received", c.received);
    res.add("responder_notifies", c.notifies);
    res.add("responder_answered", c.answered);
    res.add("error_replies", tr.received());
    res.add("clean", clean ? 1 : 0);
    res.add_daemon(s);
    res.print("notify");
    return clean ? 0 : 3;
  }
}

// --------------------------------------------------------- latency mode

/// Polls to NSD paced at --rate per second for --duration seconds. Every
/// --probe-every casts, one direct SOA query goes to NSD from this process
/// (when none is outstanding) to measure the server's round trip under the
/// same load. The time minidns adds is reply minus cast minus the median
/// of those round trips.
int mode_latency(options& o) {
  run_setup setup(o);
  auto dest = o.required("dest");
  double rate = o.num("rate", 10000);
  double duration = o.num("duration", 5);
  auto zones = static_cast<unsigned>(o.count("zones", 1000));
  double timeout = o.num("timeout", 2);
  auto retries = static_cast<uint32_t>(o.count("max-retries", 3));
  auto probe_every = o.count("probe-every", 10);
  double tick_us = o.num("tick-us", 100);
  o.check_unused();
  if (rate <= 0 || duration <= 0)
    die("--rate and --duration must be > 0");
  auto n = static_cast<uint64_t>(rate * duration);

  std::vector<cast_template> casts;
  for (unsigned z = 0; z < zones; ++z)
    casts.push_back(make_template(method::poll_for_serial_number, zone_name(z),
                                  zone_serial(z), dest, timeout, 0, retries));
  direct_prober probe(dest);
  auto d = setup.start(o.daemon_args, "latency");
  // Sleep with ~1 us slack rather than the default 50 us.
  ::prctl(PR_SET_TIMERSLACK, 1UL);
  int tfd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  tracker tr(n);
  std::vector<int64_t> rtts;
  uint64_t late_sends = 0; // casts sent more than one tick after their time
  {
    dealer dl(d->endpoint(), 100000);
    auto check = [&](uint32_t id, const minidns::messages::reply& r) {
      return check_success(r, id % zones);
    };
    auto tick = static_cast<int64_t>(tick_us * 1e3);
    int64_t start = now_ns() + 10000000;
    itimerspec its{};
    its.it_value.tv_sec = start / 1000000000;
    its.it_value.tv_nsec = start % 1000000000;
    its.it_interval.tv_sec = tick / 1000000000;
    its.it_interval.tv_nsec = tick % 1000000000;
    ::timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, nullptr);
    double ns_per_cast = 1e9 / rate;
    uint64_t sent = 0;
    int64_t give_up =
        start + static_cast<int64_t>((duration + 4 * timeout + 5) * 1e9);
    while (tr.completed() < n && now_ns() < give_up) {
      zmq_pollitem_t items[] = {{dl.socket(), 0, ZMQ_POLLIN, 0},
                                {nullptr, tfd, ZMQ_POLLIN, 0},
                                {nullptr, probe.fd(), ZMQ_POLLIN, 0}};
      zmq_poll(items, 3, 100);
      int64_t t = now_ns();
      if (items[1].revents & ZMQ_POLLIN) {
        uint64_t expirations;
        [[maybe_unused]] auto r =
            ::read(tfd, &expirations, sizeof(expirations));
        auto due = std::min<uint64_t>(
            n, static_cast<uint64_t>(
                   static_cast<double>(t - start) / ns_per_cast + 1));
        while (sent < due) {
          auto& c = casts[sent % zones];
          c.set_id(static_cast<uint32_t>(sent));
          if (!dl.try_send(c.frame))
            break;
          int64_t ts = now_ns();
          if (ts - start -
                  static_cast<int64_t>(static_cast<double>(sent) *
                                       ns_per_cast) >
              2 * tick)
            ++late_sends;
          tr.sent(static_cast<uint32_t>(sent), ts);
          if (sent % probe_every == 0) {
            if (probe.outstanding() && ts - probe.sent_ns() > 1000000000)
              probe.abandon();
            if (!probe.outstanding())
              probe.send(static_cast<unsigned>((sent / probe_every) % zones));
          }
          ++sent;
        }
        if (sent == n) {
          its = {};
          ::timerfd_settime(tfd, 0, &its, nullptr);
        }
      }
      if (items[2].revents & ZMQ_POLLIN) {
        auto rtt = probe.receive();
        if (rtt >= 0)
          rtts.push_back(rtt);
      }
      tr.drain(dl.socket(), check, now_ns);
    }
  }
  ::close(tfd);
  auto s = setup.stop(d);
  auto e2e_ns = tr.latencies();
  auto rtt = summarize(rtts);
  auto rtt_median_ns = static_cast<int64_t>(rtt.p50 * 1e3);
  std::vector<int64_t> added_ns;
  added_ns.reserve(e2e_ns.size());
  for (auto v : e2e_ns)
    added_ns.push_back(v - rtt_median_ns);
  auto e2e = summarize(e2e_ns);
  auto added = summarize(added_ns);
  std::printf("latency: %llu polls at %.0f/s over %.1f s (%llu sent late by "
              "more than two ticks)\n",
              static_cast<unsigned long long>(n), rate, duration,
              static_cast<unsigned long long>(late_sends));
  print_percentiles("cast-to-status", e2e);
  print_percentiles("server round trip (direct probes)", rtt);
  print_percentiles("added by minidns (e2e - median RTT)", added);
  std::printf("  probes: %zu answered, %llu lost, %llu bad\n", rtts.size(),
              static_cast<unsigned long long>(probe.lost()),
              static_cast<unsigned long long>(probe.bad()));
  print_tally(tr.counts, n, tr.completed());
  result_line res;
  res.add("n", n);
  res.add("rate", rate);
  res.add("late_sends", late_sends);
  res.add("ok", tr.counts.ok);
  res.add("bad", tr.counts.bad);
  res.add("duplicates", tr.counts.duplicates);
  res.add("undecodable", tr.counts.undecodable);
  res.add("missing", n - tr.completed());
  add_percentiles(res, "e2e", e2e);
  add_percentiles(res, "rtt", rtt);
  res.add("rtt_n", rtt.n);
  add_percentiles(res, "added", added);
  res.add_daemon(s);
  res.print("latency");
  bool clean = tr.counts.ok == n && tr.counts.duplicates == 0 &&
               tr.counts.undecodable == 0 && s.found && s.casts == n;
  return clean ? 0 : 3;
}

// ----------------------------------------------------------- scale mode

/// N polls with --timeout to a silent UDP socket of this process, sent as
/// fast as minidns takes them. Each poll has its own zone
/// ("q0000042.scale.") so that the silent socket can tell which request a
/// query belongs to and record the kernel's timestamp of its arrival: the
/// attempt's departure, from which its timeout is due. Lateness is reply
/// time minus (query arrival + timeout) (wall clock, the kernel's
/// timestamps' clock), and, as an upper bound, reply time minus (cast sent
/// + timeout). Peak RSS per request is (VmHWM at the end - VmRSS before
/// the first cast) / the most requests in flight at once inside minidns
/// (queries seen by the silent socket minus statuses received).
int mode_scale(options& o) {
  run_setup setup(o);
  auto n = o.count("count", 1000000);
  double timeout = o.num("timeout", 10);
  double limit = o.num("time-limit", 180);
  auto sndhwm = static_cast<int>(o.count("sndhwm", 10000));
  auto dump = o.str("dump", "");
  o.check_unused();
  if (n > 10000000)
    die("--count: at most 10,000,000");

  // The silent destination: reads and timestamps queries, never answers.
  std::vector<int64_t> arrival(n, 0);
  std::atomic<uint64_t> seen{0}, dup_queries{0}, foreign{0};
  minidns::bench::responder silent("127.0.0.1", 0, true);
  silent.on_datagram([&](const uint8_t* p, size_t len, int64_t ts) {
    // Header, then the first label: 8 octets "q" + 7 digits.
    if (len < 12 + 9 || p[12] != 8 || p[13] != 'q') {
      foreign.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    uint64_t id = 0;
    for (int i = 14; i < 21; ++i) {
      if (p[i] < '0' || p[i] > '9') {
        foreign.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      id = id * 10 + static_cast<uint64_t>(p[i] - '0');
    }
    if (id >= n) {
      foreign.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (arrival[id] != 0) {
      dup_queries.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    arrival[id] = ts != 0 ? ts : wall_ns();
    seen.fetch_add(1, std::memory_order_release);
  });
  std::thread st([&] { silent.run(); });
  auto dest = "127.0.0.1:" + std::to_string(silent.port());

  // One template; the 7 digits of the zone name are patched with the id.
  auto tmpl = make_template(method::poll_for_serial_number, "q0000000.scale.",
                            1, dest, timeout, 0, 0);
  auto digits = tmpl.frame.find("q0000000");
  if (digits == std::string::npos)
    die("zone name not found in the cast");
  ++digits;

  // Its /metrics, to read minidns's own timer lateness at the end.
  auto daemon_args = o.daemon_args;
  daemon_args.push_back("--minidns.metrics-endpoint=127.0.0.1:0");
  auto d = setup.start(daemon_args, "scale");
  ::usleep(200000);
  uint64_t baseline_kb = proc_status_kb(d->pid(), "VmRSS:");
  auto perf = setup.attach_tools(*d);
  tracker tr(n);
  auto check = [](uint32_t, const minidns::messages::reply& r) -> std::string {
    if (r.method != "update_status")
      return "method " + r.method + ": " + r.error;
    if (r.status != "ERROR" || r.detail != "timeout")
      return "status " + r.status + " (" + r.detail + ")";
    if (r.actual_serial)
      return "actual_serial set";
    return {};
  };
  uint64_t sent = 0, peak_client = 0, peak_inside = 0, peak_rss_kb = 0;
  int64_t first_send = 0, last_send = 0;
  int64_t timeout_ns = static_cast<int64_t>(timeout * 1e9);
  {
    dealer dl(d->endpoint(), sndhwm);
    int64_t start = now_ns();
    int64_t give_up = start + static_cast<int64_t>(limit * 1e9);
    int64_t next_sample = 0;
    first_send = wall_ns();
    while (tr.completed() < n && now_ns() < give_up) {
      bool blocked = false;
      for (int burst = 0; sent < n && burst < 256; ++burst) {
        auto id = static_cast<uint32_t>(sent);
        char* p = tmpl.frame.data() + digits;
        for (int i = 6, v = static_cast<int>(id); i >= 0; --i, v /= 10)
          p[i] = static_cast<char>('0' + v % 10);
        tmpl.set_id(id);
        if (!dl.try_send(tmpl.frame)) {
          blocked = true;
          break;
        }
        tr.sent(id, wall_ns());
        ++sent;
        if (sent == n)
          last_send = wall_ns();
      }
      size_t got = tr.drain(dl.socket(), check, wall_ns);
      uint64_t inside = seen.load(std::memory_order_acquire);
      inside = inside > tr.completed() ? inside - tr.completed() : 0;
      peak_inside = std::max(peak_inside, inside);
      peak_client = std::max(peak_client, sent - tr.completed());
      int64_t t = now_ns();
      if (t >= next_sample) {
        peak_rss_kb = std::max(peak_rss_kb, proc_status_kb(d->pid(), "VmRSS:"));
        next_sample = t + 100000000;
      }
      if (got == 0 && (blocked || sent == n)) {
        zmq_pollitem_t item{
            dl.socket(), 0,
            static_cast<short>(ZMQ_POLLIN | (blocked ? ZMQ_POLLOUT : 0)), 0};
        zmq_poll(&item, 1, 20);
      }
    }
  }
  uint64_t hwm_kb = proc_status_kb(d->pid(), "VmHWM:");
  auto page = d->metrics_port() > 0 ? http_get(d->metrics_port(), "/metrics")
                                    : std::string{};
  perf.clear();
  auto s = setup.stop(d);
  silent.stop();
  st.join();

  std::vector<int64_t> late_query, late_cast;
  late_query.reserve(n);
  late_cast.reserve(n);
  uint64_t no_arrival = 0;
  for (uint32_t i = 0; i < n; ++i) {
    if (tr.done_at(i) == 0)
      continue;
    late_cast.push_back(tr.done_at(i) - (tr.sent_at(i) + timeout_ns));
    if (arrival[i] != 0)
      late_query.push_back(tr.done_at(i) - (arrival[i] + timeout_ns));
    else
      ++no_arrival;
  }
  auto lq = summarize(late_query);
  auto lc = summarize(late_cast);
  if (!dump.empty()) {
    // One line per request: cast sent, query seen, status received (wall
    // clock, ns since the first cast).
    std::ofstream f(dump);
    for (uint32_t i = 0; i < n; ++i)
      f << i << ' ' << tr.sent_at(i) - first_send << ' '
        << (arrival[i] != 0 ? arrival[i] - first_send : -1) << ' '
        << (tr.done_at(i) != 0 ? tr.done_at(i) - first_send : -1) << '\n';
  }
  double send_secs = static_cast<double>(last_send - first_send) / 1e9;
  // How fast minidns actually took the casts: first to last query out.
  int64_t first_query = INT64_MAX, last_query = 0;
  for (auto a : arrival)
    if (a != 0) {
      first_query = std::min(first_query, a);
      last_query = std::max(last_query, a);
    }
  double intake_secs =
      last_query > 0 ? static_cast<double>(last_query - first_query) / 1e9 : 0;
  double per_req =
      peak_inside > 0
          ? static_cast<double>(hwm_kb - std::min(hwm_kb, baseline_kb)) *
                1024.0 / static_cast<double>(peak_inside)
          : 0;
  std::printf(
      "scale: %llu polls, timeout %.1f s: handed to ZeroMQ in %.2f "
      "s; first to last query out of minidns %.2f s (%.0f/s)\n",
      static_cast<unsigned long long>(n), timeout, send_secs, intake_secs,
      intake_secs > 0 ? static_cast<double>(seen.load()) / intake_secs : 0.0);
  std::printf("  in flight at once: %llu inside minidns (queries seen minus "
              "statuses), %llu counted by the client\n",
              static_cast<unsigned long long>(peak_inside),
              static_cast<unsigned long long>(peak_client));
  std::printf("  minidns RSS: baseline %llu kB, VmHWM %llu kB: %.0f bytes "
              "per request in flight\n",
              static_cast<unsigned long long>(baseline_kb),
              static_cast<unsigned long long>(hwm_kb), per_req);
  std::printf("  queries at the silent socket: %llu (duplicates %llu, "
              "foreign %llu); statuses without a query seen: %llu\n",
              static_cast<unsigned long long>(seen.load()),
              static_cast<unsigned long long>(dup_queries.load()),
              static_cast<unsigned long long>(foreign.load()),
              static_cast<unsigned long long>(no_arrival));
  print_percentiles("lateness from query departure", lq);
  // minidns's own part: its UDP thread's timer fired minus due.
  auto own = read_histogram(page, "minidns_dns_attempt_timer_lateness_seconds",
                            "kind=\"soa\"", 0.99);
  std::string pauses = "?";
  const std::string pauses_key = "\nminidns_cast_intake_pauses_total ";
  if (auto at = page.find(pauses_key); at != std::string::npos) {
    auto from = at + pauses_key.size();
    pauses = page.substr(from, page.find('\n', from) - from);
  }
  if (own.count == 0)
    std::printf("  minidns's own timer lateness: not read from /metrics\n");
  else
    std::printf("  minidns's own timer lateness (fired minus due, its "
                "/metrics): p99 <= %.1f ms (bucket), mean %.2f ms "
                "(n=%llu); intake pauses %s\n",
                own.bucket_of_q * 1e3,
                own.sum / static_cast<double>(own.count) * 1e3,
                static_cast<unsigned long long>(own.count), pauses.c_str());
  print_percentiles("lateness from cast sent (upper bound)", lc);
  print_tally(tr.counts, n, tr.completed());
  result_line res;
  res.add("n", n);
  res.add("timeout", timeout);
  res.add("send_seconds", send_secs);
  res.add("intake_seconds", intake_secs);
  res.add("peak_in_flight", peak_inside);
  res.add("peak_in_flight_client", peak_client);
  res.add("baseline_kb", baseline_kb);
  res.add("hwm_kb", hwm_kb);
  res.add("bytes_per_request", per_req);
  res.add("own_late_p99_le_ms", own.bucket_of_q * 1e3);
  res.add("own_late_mean_ms",
          own.count > 0 ? own.sum / static_cast<double>(own.count) * 1e3 : 0);
  res.add("queries_seen", seen.load());
  res.add("dup_queries", dup_queries.load());
  res.add("ok", tr.counts.ok);
  res.add("bad", tr.counts.bad);
  res.add("duplicates", tr.counts.duplicates);
  res.add("undecodable", tr.counts.undecodable);
  res.add("missing", n - tr.completed());
  add_percentiles(res, "late_query", lq);
  add_percentiles(res, "late_cast", lc);
  res.add_daemon(s);
  res.print("scale");
  bool clean = tr.counts.ok == n && tr.counts.duplicates == 0 &&
               tr.counts.undecodable == 0 && s.found && s.casts == n;
  return clean ? 0 : 3;
}

} // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  options o(argc, argv);
  auto mode = o.str("mode", "");
  try {
    if (mode == "free-port")
      return mode_free_port(o);
    if (mode == "zones")
      return mode_zones(o);
    if (mode == "check")
      return mode_check(o);
    if (mode == "poll")
      return mode_poll(o);
    if (mode == "notify")
      return mode_notify(o);
    if (mode == "latency")
      return mode_latency(o);
    if (mode == "scale")
      return mode_scale(o);
  } catch (const std::exception& e) {
    die(e.what());
  }
  std::fprintf(stderr, "usage: minidns_bench "
                       "--mode=free-port|zones|check|poll|notify|latency|scale "
                       "[--key=value ...]\n  see the comment at the top of "
                       "bench/minidns_bench.cpp and bench/README.md\n");
  return 2;
}
