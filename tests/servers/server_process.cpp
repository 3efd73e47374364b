#include "server_process.hpp"

#include "servers.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <signal.h>
#include <sstream>
#include <stdexcept>
#include <sys/prctl.h>
#include <sys/wait.h>

namespace minidns::servers {

namespace fs = std::filesystem;

std::string errno_text(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

std::string find_program(const std::string& name, const std::string& package) {
  std::vector<std::string> dirs;
  if (const char* path = std::getenv("PATH")) {
    std::stringstream ss(path);
    for (std::string d; std::getline(ss, d, ':');)
      if (!d.empty())
        dirs.push_back(d);
  }
  dirs.insert(dirs.end(), {"/usr/sbin", "/sbin", "/usr/local/sbin"});
  for (const auto& d : dirs) {
    auto p = fs::path(d) / name;
    if (::access(p.c_str(), X_OK) == 0)
      return p.string();
  }
  throw std::runtime_error(name + " not found: install Debian's " + package +
                           " package (scripts/setup.sh does)");
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const fs::path& p, const std::string& text) {
  // Write then rename, so that a server never reads half a file.
  auto tmp = p;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out)
      throw std::runtime_error("cannot write " + tmp.string());
  }
  fs::rename(tmp, p);
}

pid_t spawn(const std::vector<std::string>& argv, const fs::path& log) {
  std::vector<char*> args;
  for (const auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  fd_guard null_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  fd_guard log_fd(
      ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  int err_pipe[2];
  if (null_fd.fd < 0 || log_fd.fd < 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0)
    throw std::runtime_error(errno_text("cannot start " + argv[0]));
  fd_guard err_read(err_pipe[0]), err_write(err_pipe[1]);

  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0)
    throw std::runtime_error(errno_text("fork"));
  if (pid == 0) {
    // Only async-signal-safe calls from here to execv.
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (::getppid() != parent)
      ::_exit(127);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig : {SIGTERM, SIGINT, SIGPIPE, SIGHUP, SIGCHLD})
      ::sigaction(sig, &dfl, nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (::dup2(null_fd.fd, 0) >= 0 && ::dup2(log_fd.fd, 1) >= 0 &&
        ::dup2(log_fd.fd, 2) >= 0)
      ::execv(args[0], args.data());
    int e = errno;
    (void)!::write(err_write.fd, &e, sizeof(e));
    ::_exit(127);
  }
  ::setpgid(pid, pid); // also here: no window where the group is not there
  ::close(err_write.fd);
  err_write.fd = -1;
  int e = 0;
  ssize_t n;
  while ((n = ::read(err_read.fd, &e, sizeof(e))) < 0 && errno == EINTR) {
  }
  if (n == static_cast<ssize_t>(sizeof(e))) {
    ::waitpid(pid, nullptr, 0);
    throw std::runtime_error("cannot start " + argv[0] + ": " +
                             std::strerror(e));
  }
  return pid;
}

std::string tail(const std::string& text, size_t n) {
  size_t pos = text.size();
  for (size_t i = 0; i <= n && pos > 0; ++i) {
    auto p = text.rfind('\n', pos - 1);
    if (p == std::string::npos)
      return text;
    if (i < n)
      pos = p;
    else
      return text.substr(p + 1);
  }
  return text.substr(pos);
}

void become_subreaper() {
  static const bool done = [] {
    ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    return true;
  }();
  (void)done;
}

} // namespace minidns::servers
