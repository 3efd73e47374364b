#pragma once
/// Small helpers every part of the bench client uses: clocks, fatal errors,
/// addresses, files and CPU time.

#include <cstdint>
#include <netinet/in.h>
#include <string>
#include <vector>

namespace minidns::bench {

/// Monotonic time in ns (vDSO, no syscall).
int64_t now_ns();

/// Wall-clock time in ns: the clock of the kernel's SO_TIMESTAMPNS.
int64_t wall_ns();

/// Prints "minidns_bench: WHAT" on stderr and exits with status 1.
[[noreturn]] void die(const std::string& what);

/// Parses "a.b.c.d:port"; dies when it is not one.
sockaddr_in parse_v4(const std::string& text);

/// Splits a command line at spaces.
std::vector<std::string> words_of(const std::string& text);

/// Writes `text` to `path` (truncating it); dies when it cannot.
void write_text(const std::string& path, const std::string& text);

/// CPU seconds this process (the bench client) has used so far.
double self_cpu_seconds();

} // namespace minidns::bench
