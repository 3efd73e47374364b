#pragma once
/// Renders minidns's metrics in the Prometheus text exposition format
/// (version 0.0.4). No sockets, no CAF; the process's RSS is read from /proc.

#include "metrics/registry.hpp"

#include <string>

namespace minidns::metrics {

/// The whole /metrics page.
std::string render(const registry& r);

/// The process's resident memory (/proc/self/statm); 0 when unreadable.
uint64_t resident_bytes();

} // namespace minidns::metrics
