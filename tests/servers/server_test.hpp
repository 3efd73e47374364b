#pragma once
/// minidns against real authoritative servers: NSD, Knot and BIND from
/// Debian's packages, started by the tests on loopback and ephemeral ports
/// (servers.hpp), driven by a pool manager over ZeroMQ (the integration
/// harness). What the scripted responder of the integration tests proves
/// rule by rule, these tests show with the servers operators run.
///
/// The topology of most tests: NSD is the primary of the zones, on
/// 127.0.0.3; Knot, BIND and a second NSD are its secondaries, on 127.0.0.1,
/// and accept NOTIFYs from 127.0.0.1 only (minidns's source address unless
/// it is told otherwise). The primary notifies nobody and the zones' SOA
/// timers are a day long, so a secondary learns of a new serial only from
/// minidns's NOTIFY.
///
/// The fixtures and helpers of those tests (test_servers_*.cpp).

#include "../integration/harness.hpp"
#include "apps/minidns-ctl/client_codec.hpp"
#include "servers.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <gtest/gtest.h>
#include <iostream>
#include <map>
#include <memory>
#include <msgpack.hpp>
#include <optional>
#include <string>
#include <vector>

namespace minidns::server_tests {

using servers::dns_server;
using servers::server_kind;
using std::chrono::milliseconds;

/// The retry budget of every cast: 0.5 s per attempt, 0.5 s between
/// attempts, 20 resends (about 10 s for a poll that never succeeds).
inline constexpr double cast_timeout = 0.5;
inline constexpr double cast_retry_interval = 0.5;
inline constexpr uint32_t cast_max_retries = 20;

/// The address minidns sends from by default on loopback, allowed to
/// notify the secondaries.
inline const std::string allowed_source = "127.0.0.1";
/// An address the secondaries do not allow to notify them.
inline const std::string other_source = "127.0.0.2";
/// The primary's address, distinct from minidns's, so that the secondaries
/// must allow minidns explicitly (BIND accepts NOTIFYs from a zone's
/// primaries without being told).
inline const std::string primary_address = "127.0.0.3";

/// The msgpack encoding of an unsigned integer (a request_id).
inline std::string msgpack_uint(uint64_t n) {
  msgpack::sbuffer b;
  msgpack::pack(b, n);
  return std::string(b.data(), b.size());
}

inline std::string notify_cast(const std::string& zone,
                               const std::string& destination) {
  return messages::encode_cast(messages::method::notify_zone_changed, zone,
                               std::nullopt, destination, cast_timeout,
                               cast_retry_interval, cast_max_retries);
}

/// One poll of a batch.
struct poll_case {
  std::string zone;
  uint32_t serial = 0;
  std::string destination;
  uint32_t max_retries = cast_max_retries;
};

/// Sends every poll at once through `pm` (request_id = index in `polls`)
/// and waits, up to `deadline`, for one reply to each. A reply to an
/// unknown or already answered request_id is a test failure. Missing
/// replies stay nullopt.
inline std::vector<std::optional<messages::reply>>
run_polls(it::pool_manager& pm, const std::vector<poll_case>& polls,
          milliseconds deadline = milliseconds(60000)) {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < polls.size(); ++i) {
    auto id = msgpack_uint(i);
    index[id] = i;
    pm.send(messages::encode_cast(
        messages::method::poll_for_serial_number, polls[i].zone,
        polls[i].serial, polls[i].destination, cast_timeout,
        cast_retry_interval, polls[i].max_retries, {}, id));
  }
  std::vector<std::optional<messages::reply>> replies(polls.size());
  size_t got = 0;
  auto end = std::chrono::steady_clock::now() + deadline;
  while (got < polls.size()) {
    auto left = std::chrono::duration_cast<milliseconds>(
        end - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      break;
    auto r = pm.receive(left);
    if (!r)
      break;
    auto i = index.find(r->raw_request_id);
    if (i == index.end()) {
      ADD_FAILURE() << "reply with an unknown request_id: " << r->method << " "
                    << r->error;
      continue;
    }
    if (replies[i->second]) {
      ADD_FAILURE() << "second reply to poll " << i->second << " ("
                    << polls[i->second].zone << " at "
                    << polls[i->second].destination << ")";
      continue;
    }
    replies[i->second] = std::move(*r);
    ++got;
  }
  EXPECT_EQ(got, polls.size()) << "polls left without a reply";
  return replies;
}

/// Counts the replies that are SUCCESS with `serial`; reports the first
/// few others as test failures.
inline size_t
count_successes(const std::vector<std::optional<messages::reply>>& replies,
                uint32_t serial) {
  size_t success = 0;
  for (size_t k = 0; k < replies.size(); ++k) {
    const auto& r = replies[k];
    if (r && r->status == "SUCCESS" && r->actual_serial == serial) {
      ++success;
      continue;
    }
    if (k - success <= 10)
      ADD_FAILURE() << "poll " << k << ": "
                    << (r ? r->status + " " + r->detail : "no reply");
  }
  return success;
}

/// Checks one poll's reply.
inline void expect_status(const std::optional<messages::reply>& r,
                          const std::string& status,
                          std::optional<uint32_t> actual_serial,
                          const std::string& detail, const std::string& what) {
  ASSERT_TRUE(r.has_value()) << what << ": no reply";
  EXPECT_EQ(r->method, "update_status") << what;
  EXPECT_EQ(r->status, status) << what << ": " << r->detail;
  EXPECT_EQ(r->actual_serial, actual_serial) << what;
  EXPECT_EQ(r->detail, detail) << what;
}

/// Scrapes `md`'s /metrics until `read(page)` is `expected`, for at most
/// `timeout` (minidns publishes a counter a moment after the reply that a
/// test waited for). `what` names the figure. For EXPECT_TRUE.
inline ::testing::AssertionResult
metric_reaches(const it::daemon_process& md, const std::string& what,
               const std::function<double(const std::string&)>& read,
               double expected, milliseconds timeout = milliseconds(10000)) {
  std::string page;
  if (md.wait_for_metric(read, expected, timeout, &page))
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << what << " is " << (page.empty() ? -1 : read(page)) << ", not "
         << expected << ", after " << timeout.count() << " ms; /metrics:\n"
         << page;
}

/// The same for one series ("name" or `name{label="x"}`).
inline ::testing::AssertionResult
metric_reaches(const it::daemon_process& md, const std::string& series,
               double expected, milliseconds timeout = milliseconds(10000)) {
  return metric_reaches(
      md, series,
      [&series](const std::string& p) { return it::metric_value(p, series); },
      expected, timeout);
}

/// The same for a family summed over its label sets (every rcode, kind).
inline ::testing::AssertionResult
metric_total_reaches(const it::daemon_process& md, const std::string& name,
                     double expected,
                     milliseconds timeout = milliseconds(10000)) {
  return metric_reaches(
      md, "sum of " + name,
      [&name](const std::string& p) { return it::metric_sum(p, name); },
      expected, timeout);
}

/// The log line minidns writes when a NOTIFY to `destination` is refused
/// with `rcode`.
inline std::string refusal_line(const std::string& zone,
                                const std::string& destination,
                                const std::string& rcode) {
  return "notify " + zone + " -> " + destination + ": refused with " + rcode +
         "; not resending";
}

/// The log line (debug) minidns writes when a NOTIFY is answered NOERROR.
inline std::string ack_line(const std::string& zone,
                            const std::string& destination) {
  return "notify " + zone + " -> " + destination + ": acknowledged";
}

class ServerTest : public ::testing::Test {
protected:
  /// Starts a server in a directory of its own under the test's.
  dns_server& start(servers::server_config cfg) {
    auto name = std::string(servers::to_string(cfg.kind)) + "-" +
                std::to_string(servers_.size());
    servers_.push_back(
        std::make_unique<dns_server>(std::move(cfg), dir_.path() / name));
    return *servers_.back();
  }

  /// NSD on 127.0.0.3, primary of `zones` (name -> serial), allowing
  /// transfers from loopback and notifying nobody.
  dns_server& start_primary(std::map<std::string, uint32_t> zones) {
    servers::server_config cfg;
    cfg.kind = server_kind::nsd;
    cfg.address = primary_address;
    cfg.primary_zones = std::move(zones);
    return start(std::move(cfg));
  }

  /// A secondary on 127.0.0.1 of every zone of `primary`, accepting
  /// NOTIFYs from `allowed_source` only; ready once it has transferred
  /// them.
  dns_server& start_secondary(server_kind kind, const dns_server& primary,
                              std::map<std::string, uint32_t> zones) {
    servers::server_config cfg;
    cfg.kind = kind;
    cfg.address = "127.0.0.1";
    cfg.secondary_zones = std::move(zones);
    cfg.primary_address = primary.address();
    cfg.primary_port = primary.port();
    cfg.allow_notify = {allowed_source};
    return start(std::move(cfg));
  }

  /// minidns at debug level (it logs acknowledged NOTIFYs), with `extra`
  /// arguments, serving /metrics on a free loopback port (daemon_process).
  it::daemon_process& start_minidns(std::vector<std::string> extra = {},
                                    const std::string& level = "debug") {
    extra.push_back("--minidns.log-level=" + level);
    daemons_.push_back(std::make_unique<it::daemon_process>(extra));
    return *daemons_.back();
  }

  void TearDown() override {
    if (!HasFailure())
      return;
    for (const auto& d : daemons_)
      std::cerr << "----- minidns log -----\n" << d->log();
    for (const auto& s : servers_)
      std::cerr << "----- " << s->describe() << " log -----\n" << s->log();
  }

  // Declared first, destroyed last: after every process is gone.
  servers::scratch_dir dir_;
  std::vector<std::unique_ptr<dns_server>> servers_;
  std::vector<std::unique_ptr<it::daemon_process>> daemons_;
};

/// NSD as primary of `zone`, and Knot, BIND and NSD as its secondaries.
class Topology : public ServerTest {
protected:
  void start_topology(const std::string& zone, uint32_t serial) {
    primary_ = &start_primary({{zone, serial}});
    for (auto kind : {server_kind::knot, server_kind::bind, server_kind::nsd})
      secondaries_.push_back(
          &start_secondary(kind, *primary_, {{zone, serial}}));
  }

  dns_server* primary_ = nullptr;
  std::vector<dns_server*> secondaries_;
};

} // namespace minidns::server_tests
