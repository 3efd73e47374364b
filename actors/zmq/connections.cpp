#include "actors/zmq/connections.hpp"

#include "actors/zmq/auth.hpp"

#include <algorithm>
#include <cstring>
#include <spdlog/spdlog.h>
#include <stdexcept>

namespace minidns {

namespace {

/// Where libzmq looks for the ZAP handler (RFC 27).
constexpr const char* zap_endpoint = "inproc://zeromq.zap.01";
constexpr const char* monitor_endpoint = "inproc://minidns-router-monitor";
constexpr int monitored_events =
    ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED |
    ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
    ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;

} // namespace

void receive_all(zmq::socket_t& s, std::vector<zmq::message_t>& parts) {
  parts.clear();
  zmq::message_t part;
  if (!s.recv(part, zmq::recv_flags::dontwait))
    return;
  bool more = part.more();
  parts.push_back(std::move(part));
  while (more) {
    zmq::message_t next;
    if (!s.recv(next, zmq::recv_flags::dontwait))
      break; // cannot happen: ZeroMQ delivers messages whole
    more = next.more();
    parts.push_back(std::move(next));
  }
}

connection_watch::connection_watch(zmq::context_t& ctx, zmq::socket_t& router,
                                   const std::optional<curve::key_pair>& curve,
                                   const std::vector<std::string>& clients,
                                   metrics::zmq_counters& counts)
    : curve_(curve.has_value()), monitor_(ctx, zmq::socket_type::pair),
      counts_(counts) {
  if (curve) {
    // The ROUTER becomes a CURVE server; the ZAP handler lets in only the
    // listed public keys.
    for (auto& k : clients) {
      uint8_t bin[32];
      if (zmq_z85_decode(bin, k.c_str()) == nullptr)
        throw std::runtime_error("minidns.curve-clients-file: bad key " + k);
      allowed_keys_.emplace(reinterpret_cast<char*>(bin), 32);
    }
    zap_.emplace(ctx, zmq::socket_type::rep);
    zap_->set(zmq::sockopt::linger, 0);
    zap_->bind(zap_endpoint);
    router.set(zmq::sockopt::curve_server, 1);
    // 41 bytes: the Z85 text with its terminating NUL.
    if (zmq_setsockopt(router.handle(), ZMQ_CURVE_SECRETKEY,
                       curve->secret_key.c_str(), 41) != 0)
      throw std::runtime_error("minidns.curve-key-file: secret key refused: " +
                               std::string(zmq_strerror(zmq_errno())));
    router.set(zmq::sockopt::zap_domain, "minidns");
  }
  // Handshakes, refusals and reconnections, for the counters and for
  // replies held for pool managers that come back.
  if (zmq_socket_monitor(router.handle(), monitor_endpoint, monitored_events) !=
      0)
    throw std::runtime_error(std::string("zmq_socket_monitor: ") +
                             zmq_strerror(zmq_errno()));
  monitor_.set(zmq::sockopt::linger, 0);
  monitor_.connect(monitor_endpoint);
}

void connection_watch::serve_zap() {
  for (;;) {
    receive_all(*zap_, scratch_);
    if (scratch_.empty())
      return;
    std::vector<std::string> frames;
    for (auto& m : scratch_)
      frames.push_back(m.to_string());
    auto v = decide_zap(frames, allowed_keys_);
    if (v.allowed) {
      spdlog::debug("pool manager {} authenticated as {}", frames[3], v.user);
    } else {
      auto n = ++zap_denied_;
      if (is_power_of_two(n))
        spdlog::warn("refused a pool manager from {}: {} ({} refused so far)",
                     frames.size() > 3 ? frames[3] : std::string{}, v.why, n);
    }
    try {
      for (size_t k = 0; k < v.reply.size(); ++k)
        zap_->send(zmq::buffer(v.reply[k]), k + 1 < v.reply.size()
                                                ? zmq::send_flags::sndmore
                                                : zmq::send_flags::none);
    } catch (const zmq::error_t& e) {
      spdlog::error("ZAP reply: {}", e.what());
    }
  }
}

bool connection_watch::read_monitor() {
  bool handshake = false;
  for (;;) {
    receive_all(monitor_, scratch_);
    if (scratch_.empty())
      return handshake;
    if (scratch_[0].size() < 6)
      continue;
    uint16_t event;
    std::memcpy(&event, scratch_[0].data(), 2);
    switch (event) {
    case ZMQ_EVENT_ACCEPTED:
      counts_.connected.fetch_add(1, std::memory_order_relaxed);
      break;
    case ZMQ_EVENT_DISCONNECTED:
      counts_.connected.fetch_sub(1, std::memory_order_relaxed);
      break;
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
      handshake = true;
      break;
    default: {
      auto n = counts_.refused.fetch_add(1, std::memory_order_relaxed) + 1;
      // Refused keys are logged by the ZAP handler, with the key.
      if (is_power_of_two(n) && event != ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
        spdlog::warn("a connection failed the ZeroMQ {} handshake ({}); {} "
                     "refused so far",
                     curve_ ? "CURVE" : "NULL",
                     event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                         ? "protocol error or wrong mechanism"
                         : "closed before it was done",
                     n);
    }
    }
  }
}

} // namespace minidns
