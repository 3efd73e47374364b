#include "metrics/http_server.hpp"

#include <httplib.h>
#include <pthread.h>
#include <stdexcept>
#include <thread>

namespace minidns::metrics {

struct http_server::impl {
  httplib::Server server;
  std::thread thread;
};

http_server::http_server(const std::string& host, uint16_t port,
                         std::function<std::string()> render)
    : impl_(std::make_unique<impl>()) {
  auto& svr = impl_->server;
  // Scrapes are rare and cheap: one thread is plenty.
  svr.new_task_queue = [] { return new httplib::ThreadPool(1); };
  svr.Get("/metrics", [render = std::move(render)](const httplib::Request&,
                                                   httplib::Response& res) {
    res.set_content(render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  std::string bind_host = host;
  if (bind_host.size() > 2 && bind_host.front() == '[')
    bind_host = bind_host.substr(1, bind_host.size() - 2);
  int bound = -1;
  if (port == 0)
    bound = svr.bind_to_any_port(bind_host);
  else if (svr.bind_to_port(bind_host, port))
    bound = port;
  if (bound <= 0)
    throw std::runtime_error("minidns.metrics-endpoint: cannot bind " + host +
                             ":" + std::to_string(port));
  port_ = static_cast<uint16_t>(bound);
  impl_->thread = std::thread([this] {
    pthread_setname_np(pthread_self(), "minidns-http");
    impl_->server.listen_after_bind();
  });
}

http_server::~http_server() {
  impl_->server.stop();
  if (impl_->thread.joinable())
    impl_->thread.join();
}

} // namespace minidns::metrics
