#pragma once
/// The /metrics HTTP endpoint, on a thread of its own (cpp-httplib).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace minidns::metrics {

/// Serves GET /metrics with whatever `render` returns; 404 elsewhere.
class http_server {
public:
  /// Binds `host`:`port` (0: any free port) and starts serving. Throws
  /// std::runtime_error naming minidns.metrics-endpoint when it cannot.
  http_server(const std::string& host, uint16_t port,
              std::function<std::string()> render);
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// The port actually bound.
  uint16_t port() const { return port_; }

private:
  struct impl;
  std::unique_ptr<impl> impl_;
  uint16_t port_ = 0;
};

} // namespace minidns::metrics
