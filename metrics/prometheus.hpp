#pragma once
/// Renders minidns's metrics in the Prometheus text exposition format
/// (version 0.0.4). Pure: no sockets, no CAF.

#include "metrics/registry.hpp"

#include <string>

namespace minidns::metrics {

/// The whole /metrics page.
std::string render(const registry& r);

} // namespace minidns::metrics
