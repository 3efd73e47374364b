#include "bench/lib/daemon.hpp"

#include "bench/lib/common.hpp"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <sstream>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace minidns::bench {

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

// ------------------------------------------------------- daemon_process

daemon_process::daemon_process(const std::string& binary,
                               std::vector<std::string> args,
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

daemon_process::~daemon_process() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

daemon_summary daemon_process::stop(double patience) {
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
  size_t size =
      ::stat(log_path_.c_str(), &st) == 0 ? static_cast<size_t>(st.st_size) : 0;
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

int daemon_process::metrics_port() const {
  static const std::string key = "metrics on http://127.0.0.1:";
  auto head = read_log(0, 16384);
  auto at = head.find(key);
  return at == std::string::npos ? 0
                                 : std::atoi(head.c_str() + at + key.size());
}

std::string daemon_process::read_log(size_t offset, size_t max) const {
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
unsigned long long daemon_process::count_warnings() const {
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

// -------------------------------------------------------- attached_tool

attached_tool::attached_tool(pid_t target, std::vector<std::string> words) {
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

attached_tool::~attached_tool() {
  if (pid_ > 0) {
    ::kill(pid_, SIGINT);
    ::waitpid(pid_, nullptr, 0);
  }
}

// -------------------------------------------------------- daemon_runner

std::unique_ptr<daemon_process>
daemon_runner::start(const std::vector<std::string>& extra,
                     const std::string& mode) const {
  std::vector<std::string> args{"--minidns.endpoint=tcp://127.0.0.1:*",
                                "--minidns.log-level=info"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto log = settings_.log_dir + "/minidns-" + mode + "-" +
             std::to_string(::getpid()) + ".log";
  auto d = std::make_unique<daemon_process>(settings_.binary, args, log);
  std::printf("  minidns pid %d at %s, log %s\n", static_cast<int>(d->pid()),
              d->endpoint().c_str(), log.c_str());
  return d;
}

std::vector<std::unique_ptr<attached_tool>>
daemon_runner::attach_tools(const daemon_process& d) const {
  std::vector<std::unique_ptr<attached_tool>> tools;
  if (!settings_.perf_out.empty()) {
    auto w = words_of("perf record -o " + settings_.perf_out + " " +
                      settings_.perf_args);
    tools.push_back(std::make_unique<attached_tool>(d.pid(), w));
  }
  if (!settings_.attach.empty())
    tools.push_back(
        std::make_unique<attached_tool>(d.pid(), words_of(settings_.attach)));
  return tools;
}

daemon_summary daemon_runner::stop(daemon_process& d) const {
  auto s = d.stop(settings_.stop_timeout);
  if (!s.found)
    std::printf("  minidns exit summary not found in %s\n",
                d.log_path().c_str());
  else
    std::printf("  minidns: casts %llu invalid %llu replies %llu "
                "undeliverable %llu; queries sent %llu send-errors %llu; "
                "datagrams %llu accepted %llu unmatched %llu mismatched %llu; "
                "%llu warning lines; VmHWM %llu kB; %.2f CPU s, %llu "
                "threads\n",
                s.casts, s.invalid, s.replies, s.undeliverable, s.sent,
                s.send_errors, s.datagrams, s.accepted, s.unmatched,
                s.mismatched, s.warn_lines, s.hwm_kb, s.cpu_seconds, s.threads);
  if (!settings_.keep_log && s.found)
    ::unlink(d.log_path().c_str());
  return s;
}

} // namespace minidns::bench
