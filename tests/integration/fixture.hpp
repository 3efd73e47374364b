#pragma once
/// What the integration tests share: cast builders, reply decoding and the
/// fixture that starts a daemon per test with a pool manager connected.
///
/// The tests (test_*.cpp, one file per fixture) run the real minidns daemon
/// (and minidns-ctl) on loopback, driven by ZeroMQ DEALERs and answered by a
/// scripted DNS responder. Each test exercises one rule of docs/protocol.md
/// (or of the daemon's behaviour around it) so that breaking the rule fails
/// the test.
///
/// Each daemon serves its Prometheus page on a free loopback port
/// (daemon_process): tests read minidns's counters there, while it runs,
/// as operators do.
///
/// Nothing here sleeps to wait for an event: tests wait for replies, log
/// lines, received queries or metrics with deadlines. To show that something
/// did NOT happen (no resend, no extra reply), a test sends a "barrier" poll
/// after the event and waits for its reply: anything minidns would have done
/// before it has been seen by then. Only loopback addresses get traffic.

#include "harness.hpp"
#include "messages/cast.hpp"
#include "responder.hpp"
#include "support/msgpack_build.hpp"

#include <algorithm>
#include <fstream>
#include <functional>
#include <gtest/gtest.h>
#include <iostream>
#include <memory>
#include <msgpack.hpp>
#include <string>
#include <unistd.h>
#include <vector>

namespace minidns::it {

using namespace std::chrono_literals;
using namespace minidns::test;
using messages::method;
using clock_type = std::chrono::steady_clock;

/// How long a test waits for a reply that must come.
constexpr auto reply_wait = 10000ms;

// ---------------------------------------------------------------------------
// Building msgpack by hand, so that casts can be broken on purpose.

inline std::string domain(std::string_view name,
                          std::optional<uint64_t> serial) {
  std::vector<kv> d{{"name", mp_str(name)}};
  if (serial)
    d.emplace_back("serial", mp_uint(*serial));
  return mp_map(d);
}

/// A valid poll cast, field by field.
inline fields poll_fields(const std::string& dest,
                          const std::string& zone = "f.test.",
                          uint32_t serial = 1) {
  return fields{{{"method", mp_str("poll_for_serial_number")},
                 {"context", mp_str("ctx")},
                 {"domain", domain(zone, serial)},
                 {"destination", mp_str(dest)},
                 {"timeout", mp_f64(1.0)},
                 {"retry_interval", mp_f64(0)},
                 {"max_retries", mp_int(0)}}};
}

/// A valid notify cast, field by field.
inline fields notify_fields(const std::string& dest,
                            const std::string& zone = "f.test.") {
  auto f = poll_fields(dest, zone);
  f.set("method", mp_str("notify_zone_changed"));
  f.set("domain", domain(zone, std::nullopt));
  return f;
}

/// A poll built the way minidns-ctl builds it.
inline std::string poll_cast(const std::string& zone, uint32_t serial,
                             const std::string& dest, double timeout = 1.0,
                             double retry_interval = 0,
                             uint32_t max_retries = 0,
                             const std::string& raw_request_id = {},
                             const std::string& raw_context = {}) {
  return messages::encode_cast(method::poll_for_serial_number, zone, serial,
                               dest, timeout, retry_interval, max_retries,
                               raw_context, raw_request_id);
}

inline std::string notify_cast(const std::string& zone, const std::string& dest,
                               double timeout = 0.5, double retry_interval = 0,
                               uint32_t max_retries = 0,
                               const std::string& raw_request_id = {}) {
  return messages::encode_cast(method::notify_zone_changed, zone, std::nullopt,
                               dest, timeout, retry_interval, max_retries, {},
                               raw_request_id);
}

/// The top-level keys of a reply frame, in order ("<non-string>" for
/// others), read with msgpack-c rather than decode_reply.
inline std::vector<std::string> reply_keys(const std::string& frame) {
  std::vector<std::string> keys;
  auto oh = msgpack::unpack(frame.data(), frame.size());
  const auto& o = oh.get();
  if (o.type != msgpack::type::MAP)
    return keys;
  for (uint32_t i = 0; i < o.via.map.size; ++i) {
    const auto& k = o.via.map.ptr[i].key;
    keys.push_back(k.type == msgpack::type::STR
                       ? std::string(k.via.str.ptr, k.via.str.size)
                       : "<non-string>");
  }
  return keys;
}

inline int64_t as_int(const std::string& raw) {
  auto oh = msgpack::unpack(raw.data(), raw.size());
  return oh.get().as<int64_t>();
}

inline std::string as_str(const std::string& raw) {
  auto oh = msgpack::unpack(raw.data(), raw.size());
  return oh.get().as<std::string>();
}

inline bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

/// A reply as received: the frame and its decoding.
struct reply_frame {
  std::string raw;
  messages::reply r;
  std::string json() const {
    return messages::msgpack_to_json(raw.data(), raw.size());
  }
};

inline std::optional<reply_frame> receive(pool_manager& pm,
                                          milliseconds timeout = reply_wait) {
  auto raw = pm.receive_raw(timeout);
  if (!raw)
    return std::nullopt;
  auto r = decode_or_throw(*raw);
  return reply_frame{std::move(*raw), std::move(r)};
}

inline std::string summary(const std::vector<reply_frame>& replies) {
  std::string out;
  for (const auto& r : replies)
    out += r.json() + "\n";
  return out;
}

inline std::string summary(const std::vector<query_record>& queries) {
  std::string out;
  for (const auto& q : queries)
    out += "  id " + std::to_string(q.id) + " opcode " +
           std::to_string(q.opcode) + " flags " + std::to_string(q.flags) +
           " qname " + q.qname + " from port " + std::to_string(q.source_port) +
           "\n";
  return out;
}

/// Sends a poll and returns its reply (failing the test when none comes).
inline std::optional<reply_frame> poll_once(pool_manager& pm,
                                            const std::string& cast) {
  pm.send(cast);
  auto got = receive(pm);
  EXPECT_TRUE(got) << "no reply to the poll";
  return got;
}

/// Writes `text` to a new file in the test temp dir; returns its path.
inline std::string write_config(const std::string& name,
                                const std::string& text) {
  auto path = ::testing::TempDir() + "minidns-it-" +
              std::to_string(::getpid()) + "-" + name + ".conf";
  std::ofstream(path) << text;
  return path;
}

// ---------------------------------------------------------------------------
// The fixture: a daemon per test and a pool manager connected to it.

class daemon_test : public ::testing::Test {
protected:
  /// Starts minidns with `args` (plus a 1 s drain timeout unless `args`
  /// set one) and connects the pool manager `pm`.
  void start(std::vector<std::string> args = {}) {
    bool has_drain = std::any_of(args.begin(), args.end(), [](auto& a) {
      return starts_with(a, "--minidns.drain-timeout=");
    });
    if (!has_drain)
      args.emplace_back("--minidns.drain-timeout=1s");
    mdns = std::make_unique<daemon_process>(args);
    pm = std::make_unique<pool_manager>(mdns->endpoint());
  }

  void TearDown() override {
    if (!mdns)
      return;
    pm.reset();
    int status = mdns->stop(SIGTERM);
    EXPECT_EQ(status, 0) << "minidns did not exit cleanly on SIGTERM";
    if (HasFailure()) {
      // The end of the daemon's log, to see what it did.
      auto log = mdns->log();
      if (log.size() > 8000)
        log = "...\n" + log.substr(log.size() - 8000);
      std::cerr << "--- minidns log ---\n" << log << "-------------------\n";
    }
  }

  /// Polls a zone `r` answers at once (through `via`, `pm` by default) and
  /// waits for its SUCCESS. Returns the other replies that came first.
  /// Whatever minidns did before it read the barrier cast (queries sent,
  /// replies sent) has been seen when this returns.
  std::vector<reply_frame> barrier(responder& r, pool_manager* via = nullptr) {
    return wait_for_probe(r, "barrier.test.", zone_script{}, 1.0, via);
  }

  /// Like barrier(), but the poll goes to a silent zone with `seconds` of
  /// timeout, so it returns no sooner than that: a quiet period in which
  /// any (wrong) resend minidns had scheduled would be seen.
  std::vector<reply_frame> quiet_period(responder& r, double seconds) {
    zone_script silent;
    silent.silent = true;
    return wait_for_probe(r, "quiet.test.", silent, seconds, nullptr);
  }

  /// The daemon's /metrics page now (a test failure when none comes).
  std::string scrape() {
    auto page = mdns->scrape();
    EXPECT_FALSE(page.empty()) << "no answer from /metrics";
    return page;
  }

  /// One series now ("name" or `name{label="x"}`, as rendered); -1 when
  /// the page has none.
  double metric(const std::string& series) {
    return metric_value(scrape(), series);
  }

  /// A metric family summed over its label sets now (say, every rcode of
  /// minidns_dns_replies_total); -1 when the page has none.
  double metric_total(const std::string& name) {
    return metric_sum(scrape(), name);
  }

  /// Scrapes /metrics until `series` is `expected`, for at most `timeout`:
  /// the daemon publishes a counter a moment after the reply or log line
  /// that a test waited for. For EXPECT_TRUE.
  ::testing::AssertionResult
  wait_for_metric(const std::string& series, double expected,
                  milliseconds timeout = reply_wait) {
    return wait_for_metric(
        series,
        [&series](const std::string& p) { return metric_value(p, series); },
        expected, timeout);
  }

  /// The same for a family summed over its label sets.
  ::testing::AssertionResult
  wait_for_metric_total(const std::string& name, double expected,
                        milliseconds timeout = reply_wait) {
    return wait_for_metric(
        "sum of " + name,
        [&name](const std::string& p) { return metric_sum(p, name); }, expected,
        timeout);
  }

  /// The same for any figure `read` from the page; `what` names it.
  ::testing::AssertionResult
  wait_for_metric(const std::string& what,
                  const std::function<double(const std::string&)>& read,
                  double expected, milliseconds timeout = reply_wait) {
    std::string page;
    if (mdns->wait_for_metric(read, expected, timeout, &page))
      return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << what << " is " << (page.empty() ? -1 : read(page)) << ", not "
           << expected << ", after " << timeout.count() << " ms; /metrics:\n"
           << page;
  }

  /// Disconnects `pm`, stops the daemon with SIGTERM (expecting exit 0)
  /// and returns its last log line, the counters ("minidns stopped: ...").
  /// Tests read counters from /metrics while the daemon runs (scrape());
  /// this line is for the log's own tests.
  std::string stop_and_summary() {
    pm.reset();
    EXPECT_EQ(mdns->stop(SIGTERM), 0);
    std::string line;
    EXPECT_TRUE(mdns->wait_for_line("minidns stopped:", 0ms, &line));
    return line;
  }

  std::unique_ptr<daemon_process> mdns;
  std::unique_ptr<pool_manager> pm;

private:
  std::vector<reply_frame> wait_for_probe(responder& r, const std::string& zone,
                                          zone_script script, double timeout,
                                          pool_manager* via) {
    pool_manager& p = via != nullptr ? *via : *pm;
    bool silent = script.silent;
    r.script(zone, std::move(script));
    auto rid = mp_str("probe-" + std::to_string(++probes_));
    p.send(
        poll_cast(zone, 1, r.destination(), timeout, 0, silent ? 0 : 2, rid));
    std::vector<reply_frame> others;
    auto deadline = clock_type::now() + reply_wait;
    for (;;) {
      auto left = std::chrono::duration_cast<milliseconds>(deadline -
                                                           clock_type::now());
      auto got = receive(p, std::max(left, milliseconds(0)));
      if (!got) {
        ADD_FAILURE() << "no reply to the probe poll of " << zone;
        break;
      }
      if (got->r.raw_request_id != rid) {
        others.push_back(std::move(*got));
        continue;
      }
      EXPECT_EQ(got->r.status, silent ? "ERROR" : "SUCCESS") << got->json();
      break;
    }
    return others;
  }

  unsigned probes_ = 0;
};

} // namespace minidns::it
