#pragma once
/// Internal to tests/servers: starting server processes and the file and
/// descriptor chores around them, shared by servers.cpp (the running
/// servers) and server_configs.cpp (their configuration files). The tests
/// use servers.hpp.

#include <cstddef>
#include <filesystem>
#include <string>
#include <sys/types.h>
#include <unistd.h>
#include <vector>

namespace minidns::servers {

/// "`what`: " and the text of errno.
std::string errno_text(const std::string& what);

/// A file descriptor closed on scope exit.
struct fd_guard {
  int fd = -1;
  explicit fd_guard(int f) : fd(f) {}
  ~fd_guard() {
    if (fd >= 0)
      ::close(fd);
  }
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
};

/// The first of `names` found in $PATH, /usr/sbin or /sbin (servers live in
/// sbin, which is not in every user's PATH).
std::string find_program(const std::string& name, const std::string& package);

std::string read_file(const std::filesystem::path& p);

/// Writes `text` to `p` through a temporary file and a rename, so that a
/// server never reads half a file.
void write_file(const std::filesystem::path& p, const std::string& text);

/// Starts `argv` in a process group of its own, stdin from /dev/null and
/// stdout and stderr appended to `log`, signals unblocked and at their
/// defaults. The child gets SIGKILL when the thread that started it ends
/// (PR_SET_PDEATHSIG), so that a test process that dies (a crash, a ctest
/// timeout) leaves no server behind.
pid_t spawn(const std::vector<std::string>& argv,
            const std::filesystem::path& log);

/// The last `n` lines of `text`.
std::string tail(const std::string& text, size_t n);

} // namespace minidns::servers
