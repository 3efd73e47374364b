#include "actors/service.hpp"

#include "actors/udp_io.hpp"
#include "actors/zmq_bridge.hpp"
#include "messages/json.hpp"
#include "metrics/http_server.hpp"
#include "metrics/prometheus.hpp"

#include <caf/all.hpp>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace minidns {

service start_service(caf::actor_system& sys, const settings& s) {
  udp_io_options uo;
  uo.system = &sys;
  uo.sockets_per_family = s.udp_sockets;
  uo.socket_buffer = static_cast<int>(s.socket_buffer);
  uo.source_v4 = s.source_v4;
  uo.source_v6 = s.source_v6;
  uo.ipv6 = s.ipv6;
  uo.max_outstanding_per_destination =
      static_cast<uint32_t>(s.max_outstanding_per_destination);
  uo.notify_rate = static_cast<double>(s.notify_rate);
  uo.poll_rate = static_cast<double>(s.poll_rate);
  uo.tcp_per_destination =
      static_cast<uint32_t>(s.tcp_connections_per_destination);
  uo.tcp_idle = s.tcp_idle_timeout;
  uo.share_queries = s.share_queries;
  std::vector<std::string> tsig_problems;
  auto tsig = load_tsig(s, tsig_problems);
  if (!tsig_problems.empty())
    throw std::runtime_error(tsig_problems.front());
  for (const auto& k : tsig.keys->keys)
    if (k.algorithm == net::tsig_algorithm::hmac_md5)
      spdlog::warn("TSIG key {} uses hmac-md5, which is weak: make a new one "
                   "with tsig-keygen -a hmac-sha256",
                   k.name);
  if (!tsig.keys->keys.empty())
    spdlog::info("TSIG: {} key(s) from {}", tsig.keys->keys.size(),
                 s.tsig_keys_file);
  uo.tsig_keys = tsig.keys;
  zmq_bridge_options zo;
  zo.endpoint = s.endpoint;
  zo.max_in_flight = s.max_in_flight;
  zo.max_queued_per_pool_manager = s.max_queued_per_pool_manager;
  zo.hwm = s.zmq_hwm;
  zo.linger = std::chrono::duration_cast<std::chrono::milliseconds>(s.linger);
  zo.allowed = allowed_destinations(s);
  zo.tcp_destinations = tcp_destinations(s);
  zo.tsig_keys = tsig.keys;
  zo.tsig_defaults = std::move(tsig.defaults);
  zo.reply_hold =
      std::chrono::duration_cast<std::chrono::milliseconds>(s.reply_hold);
  zo.reply_hold_max = s.reply_hold_max;
  std::vector<std::string> problems;
  if (auto curve = load_curve(s, problems)) {
    zo.curve = std::move(curve->server);
    zo.curve_clients = std::move(curve->clients);
    spdlog::info("CURVE on: {} pool manager key(s) allowed; server public "
                 "key {}",
                 zo.curve_clients.size(), zo.curve->public_key);
  } else if (!problems.empty()) {
    throw std::runtime_error(problems.front());
  } else if (is_local_endpoint(s.endpoint)) {
    spdlog::info("CURVE off: endpoint {} is reachable from this host only",
                 s.endpoint);
  } else {
    spdlog::warn("CURVE off and endpoint {} is not loopback: anyone who "
                 "reaches it can make minidns send DNS queries (set "
                 "minidns.curve-key-file and minidns.curve-clients-file)",
                 s.endpoint);
  }
  if (zo.allowed.empty())
    spdlog::info("every destination allowed (minidns.allow-destinations is "
                 "empty)");
  else {
    std::string list;
    for (auto& p : s.allow_destinations)
      list += (list.empty() ? "" : ", ") + p;
    spdlog::info("destinations limited to {}", list);
  }
  // Bind ZeroMQ first: a taken endpoint is the likeliest start-up failure.
  auto zmq_loop = bind_zmq_bridge_loop(zo);
  auto udp_loop = start_udp_io_loop(uo);
  service svc;
  svc.udp_loop = udp_loop;
  svc.zmq_loop = zmq_loop;
  svc.endpoint = bound_endpoint(*zmq_loop);
  auto done = std::make_shared<std::promise<void>>();
  svc.stopped = done->get_future();
  if (!s.metrics_endpoint.empty()) {
    std::string why;
    auto where = parse_listen_address(s.metrics_endpoint, why);
    if (!where)
      throw std::runtime_error("minidns.metrics-endpoint: " + why);
    svc.metrics =
        std::make_shared<metrics::http_server>(where->host, where->port, [] {
          return metrics::render(metrics::global());
        });
    auto host = s.metrics_endpoint.substr(0, s.metrics_endpoint.rfind(':'));
    svc.metrics_url = "http://" + host + ":" +
                      std::to_string(svc.metrics->port()) + "/metrics";
    if (where->loopback)
      spdlog::info("metrics on {}", svc.metrics_url);
    else
      spdlog::warn("metrics on {}, reachable from other hosts",
                   svc.metrics_url);
  }
  auto port = as_query_port(udp_loop);
  svc.udp = sys.spawn(udp_io, std::move(udp_loop));
  svc.bridge = sys.spawn(zmq_bridge, std::move(zmq_loop), std::move(port),
                         s.drain_timeout, [done] { done->set_value(); });
  return svc;
}

std::string summary(const service&) {
  auto& m = metrics::global();
  auto get = [](const std::atomic<uint64_t>& c) {
    return c.load(std::memory_order_relaxed);
  };
  auto& z = m.zmq;
  auto& u = m.udp;
  return fmt::format("casts {} invalid {} replies {} undeliverable {} "
                     "held-delivered {} refused {} intake-pauses {}; "
                     "queries sent {} send-errors {} send-waits {}; datagrams "
                     "{} accepted {} unmatched {} mismatched {}; icmp {} "
                     "icmp-unmatched {}",
                     m.casts_total(), m.invalid_total(), get(z.replies),
                     get(z.undeliverable), get(z.held_delivered),
                     get(z.refused), get(z.intake_pauses), m.queries_total(),
                     get(u.send_errors), get(u.send_waits), get(u.received),
                     m.accepted_total(), get(u.unmatched), get(u.mismatched),
                     get(u.icmp_matched), get(u.icmp_unmatched));
}

namespace {

/// The message as the inside of a JSON string, for the %* flag.
class json_message_flag : public spdlog::custom_flag_formatter {
public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string out;
    messages::append_json_string(
        out, std::string_view(msg.payload.data(), msg.payload.size()));
    // Without the quotes: the pattern has them.
    dest.append(out.data() + 1, out.data() + out.size() - 1);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<json_message_flag>();
  }
};

} // namespace

void setup_logging(const std::string& level, const std::string& format) {
  auto logger = spdlog::stderr_logger_mt("minidns");
  if (format == "json") {
    auto f = std::make_unique<spdlog::pattern_formatter>();
    f->add_flag<json_message_flag>('*').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","msg":"%*"})");
    logger->set_formatter(std::move(f));
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
  }
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

} // namespace minidns
