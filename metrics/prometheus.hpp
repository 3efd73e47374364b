#pragma once
/// Renders minidns's metrics in the Prometheus text exposition format
/// (version 0.0.4). Pure: no sockets, no CAF.

#include "metrics/registry.hpp"
#include "metrics/stats.hpp"

#include <string>

namespace minidns::metrics {

/// The whole /metrics page.
std::string render(const registry& r, const udp_io_stats& udp,
                   const zmq_bridge_stats& zmq);

} // namespace minidns::metrics
