// minidns against real authoritative servers: NSD, Knot and BIND from
// Debian's packages, started by the tests on loopback and ephemeral ports
// (servers.hpp), driven by a pool manager over ZeroMQ (the integration
// harness). What the scripted responder of the integration tests proves
// rule by rule, these tests show with the servers operators run.
//
// The topology of most tests: NSD is the primary of the zones, on
// 127.0.0.3; Knot, BIND and a second NSD are its secondaries, on 127.0.0.1,
// and accept NOTIFYs from 127.0.0.1 only (minidns's source address unless
// it is told otherwise). The primary notifies nobody and the zones' SOA
// timers are a day long, so a secondary learns of a new serial only from
// minidns's NOTIFY.

#include "../integration/harness.hpp"
#include "apps/minidns-ctl/client_codec.hpp"
#include "servers.hpp"

#include <chrono>
#include <cstdint>
#include <gtest/gtest.h>
#include <iostream>
#include <map>
#include <memory>
#include <msgpack.hpp>
#include <optional>
#include <regex>
#include <string>
#include <vector>

namespace {

using namespace minidns;
using servers::dns_server;
using servers::server_kind;
using std::chrono::milliseconds;

/// The retry budget of every cast: 0.5 s per attempt, 0.5 s between
/// attempts, 20 resends (about 10 s for a poll that never succeeds).
constexpr double cast_timeout = 0.5;
constexpr double cast_retry_interval = 0.5;
constexpr uint32_t cast_max_retries = 20;

/// The address minidns sends from by default on loopback, allowed to
/// notify the secondaries.
const std::string allowed_source = "127.0.0.1";
/// An address the secondaries do not allow to notify them.
const std::string other_source = "127.0.0.2";
/// The primary's address, distinct from minidns's, so that the secondaries
/// must allow minidns explicitly (BIND accepts NOTIFYs from a zone's
/// primaries without being told).
const std::string primary_address = "127.0.0.3";

/// The msgpack encoding of an unsigned integer (a request_id).
std::string msgpack_uint(uint64_t n) {
  msgpack::sbuffer b;
  msgpack::pack(b, n);
  return std::string(b.data(), b.size());
}

std::string notify_cast(const std::string& zone,
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
std::vector<std::optional<messages::reply>>
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

/// Checks one poll's reply.
void expect_status(const std::optional<messages::reply>& r,
                   const std::string& status,
                   std::optional<uint32_t> actual_serial,
                   const std::string& detail, const std::string& what) {
  ASSERT_TRUE(r.has_value()) << what << ": no reply";
  EXPECT_EQ(r->method, "update_status") << what;
  EXPECT_EQ(r->status, status) << what << ": " << r->detail;
  EXPECT_EQ(r->actual_serial, actual_serial) << what;
  EXPECT_EQ(r->detail, detail) << what;
}

/// The number after `key` in minidns's exit summary ("minidns stopped:
/// casts N invalid N replies N ...; queries sent N ...").
std::optional<uint64_t> summary_count(const it::daemon_process& md,
                                      const std::string& key) {
  std::string line;
  if (!md.wait_for_line("minidns stopped: ", milliseconds(0), &line))
    return std::nullopt;
  std::smatch m;
  if (!std::regex_search(line, m, std::regex(key + " ([0-9]+)")))
    return std::nullopt;
  return std::stoull(m[1].str());
}

/// The log line minidns writes when a NOTIFY to `destination` is refused
/// with `rcode`.
std::string refusal_line(const std::string& zone,
                         const std::string& destination,
                         const std::string& rcode) {
  return "notify " + zone + " -> " + destination + ": refused with " + rcode +
         "; not resending";
}

/// The log line (debug) minidns writes when a NOTIFY is answered NOERROR.
std::string ack_line(const std::string& zone, const std::string& destination) {
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
  /// arguments.
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

using Propagation = Topology;

// The primary raises the serial. Without a NOTIFY no secondary learns of
// it within a poll's budget; after minidns's NOTIFY (answered NOERROR) each
// one transfers the zone and the same poll succeeds.
TEST_F(Propagation, NotifyMakesEverySecondaryTransferTheNewSerial) {
  const std::string zone = "prop.test.";
  start_topology(zone, 1);
  auto& md = start_minidns();
  it::pool_manager pm(md.endpoint());

  primary_->set_serial(zone, 2);

  std::vector<poll_case> polls;
  for (auto* s : secondaries_)
    polls.push_back({zone, 2, s->destination()});

  // Without the NOTIFY: the secondaries keep serving serial 1.
  auto before = run_polls(pm, polls);
  for (size_t i = 0; i < polls.size(); ++i)
    expect_status(before[i], "ERROR", 1, "lower serial",
                  secondaries_[i]->describe() + ", before the NOTIFY");

  for (auto* s : secondaries_)
    pm.send(notify_cast(zone, s->destination()));
  for (auto* s : secondaries_)
    EXPECT_TRUE(
        md.wait_for_line(ack_line(zone, s->destination()), milliseconds(10000)))
        << s->describe() << " did not answer the NOTIFY with NOERROR";

  auto after = run_polls(pm, polls);
  for (size_t i = 0; i < polls.size(); ++i) {
    expect_status(after[i], "SUCCESS", 2, "matched",
                  secondaries_[i]->describe() + ", after the NOTIFY");
    EXPECT_TRUE(secondaries_[i]->wait_serial(zone, 2, milliseconds(1000)))
        << secondaries_[i]->describe() << " does not serve serial 2";
  }
  EXPECT_EQ(md.count_lines("refused"), 0u) << md.log();
}

using Refusals = Topology;

/// Stops minidns and checks that it sent `n` queries, each answered, and
/// that no request was left waiting (a refused NOTIFY ends at once).
void expect_one_query_each(it::daemon_process& md, uint64_t n) {
  EXPECT_EQ(md.stop(), 0);
  EXPECT_EQ(md.count_lines("draining: 0 request(s) in flight"), 1u) << md.log();
  EXPECT_EQ(summary_count(md, "queries sent"), n) << md.log();
  EXPECT_EQ(summary_count(md, "accepted"), n) << md.log();
}

// A NOTIFY for a zone the server does not serve: Knot and BIND answer
// NOTAUTH, NSD NXDOMAIN without a question section. minidns takes each
// answer as final: one query each, a log line, no resend.
TEST_F(Refusals, NotifyForAZoneTheServerDoesNotServe) {
  start_topology("prop.test.", 1);
  auto& md = start_minidns();
  it::pool_manager pm(md.endpoint());
  const std::string zone = "nosuch.test.";

  std::vector<dns_server*> targets{primary_};
  targets.insert(targets.end(), secondaries_.begin(), secondaries_.end());
  for (auto* s : targets)
    pm.send(notify_cast(zone, s->destination()));

  for (auto* s : targets) {
    const bool nsd = s->kind() == server_kind::nsd;
    const std::string rcode = nsd ? "NXDOMAIN" : "NOTAUTH";
    EXPECT_TRUE(md.wait_for_line(refusal_line(zone, s->destination(), rcode),
                                 milliseconds(10000)))
        << s->describe() << ": expected " << rcode;
    // The server's own answer, seen without minidns.
    auto a =
        servers::query(s->address(), s->port(), zone, true, milliseconds(2000));
    ASSERT_TRUE(a.has_value()) << s->describe();
    EXPECT_EQ(a->rcode, nsd ? 3 : 9) << s->describe();
    EXPECT_EQ(a->has_question, !nsd) << s->describe();
  }
  expect_one_query_each(md, targets.size());
}

// A NOTIFY from an address the secondary does not allow (minidns sourcing
// from 127.0.0.2): BIND and NSD answer REFUSED, Knot NOTAUTH; NSD as the
// zone's primary refuses NOTIFYs from anyone. The same NOTIFYs from the
// allowed address are acknowledged, so the address is what they refuse.
TEST_F(Refusals, NotifyFromAnAddressTheServerDoesNotAllow) {
  const std::string zone = "prop.test.";
  start_topology(zone, 1);
  auto& refused = start_minidns({"--minidns.source-v4=" + other_source});
  auto& allowed = start_minidns();
  it::pool_manager refused_pm(refused.endpoint());
  it::pool_manager allowed_pm(allowed.endpoint());

  std::vector<dns_server*> targets{primary_};
  targets.insert(targets.end(), secondaries_.begin(), secondaries_.end());
  for (auto* s : targets) {
    refused_pm.send(notify_cast(zone, s->destination()));
    allowed_pm.send(notify_cast(zone, s->destination()));
  }

  for (auto* s : targets) {
    const bool knot = s->kind() == server_kind::knot;
    const std::string rcode = knot ? "NOTAUTH" : "REFUSED";
    EXPECT_TRUE(refused.wait_for_line(
        refusal_line(zone, s->destination(), rcode), milliseconds(10000)))
        << s->describe() << ": expected " << rcode << " for " << other_source;
    if (s == primary_)
      EXPECT_TRUE(allowed.wait_for_line(
          refusal_line(zone, s->destination(), "REFUSED"), milliseconds(10000)))
          << s->describe() << ": a primary refuses NOTIFYs";
    else
      EXPECT_TRUE(allowed.wait_for_line(ack_line(zone, s->destination()),
                                        milliseconds(10000)))
          << s->describe() << ": NOTIFY from " << allowed_source
          << " not acknowledged";
  }
  expect_one_query_each(refused, targets.size());
}

/// A server that polls are sent to.
enum class target {
  nsd_primary,
  nsd_secondary,
  knot_secondary,
  bind_secondary
};

std::string target_name(target t) {
  switch (t) {
  case target::nsd_primary:
    return "NsdPrimary";
  case target::nsd_secondary:
    return "NsdSecondary";
  case target::knot_secondary:
    return "KnotSecondary";
  case target::bind_secondary:
    return "BindSecondary";
  }
  return "Unknown";
}

std::string param_name(const ::testing::TestParamInfo<target>& info) {
  return target_name(info.param);
}

/// Shows the target's name in ctest's list instead of its bytes.
void PrintTo(target t, std::ostream* os) {
  *os << target_name(t);
}

class Polls : public ServerTest, public ::testing::WithParamInterface<target> {
protected:
  static constexpr uint32_t serial = 2024010101;
  /// Served with a serial just past the RFC 1982 wrap.
  static constexpr uint32_t wrapped_serial = 5;

  /// The server under test, serving poll.test. and wrap.test.
  dns_server& start_target() {
    std::map<std::string, uint32_t> zones{{"poll.test.", serial},
                                          {"wrap.test.", wrapped_serial}};
    auto& primary = start_primary(zones);
    switch (GetParam()) {
    case target::nsd_primary:
      return primary;
    case target::nsd_secondary:
      return start_secondary(server_kind::nsd, primary, zones);
    case target::knot_secondary:
      return start_secondary(server_kind::knot, primary, zones);
    case target::bind_secondary:
      return start_secondary(server_kind::bind, primary, zones);
    }
    throw std::logic_error("unknown target");
  }
};

// Equal, newer (also across the serial wrap) and older serials, and a zone
// the server does not have (every one of them answers REFUSED).
TEST_P(Polls, SerialsAndAnUnknownZone) {
  auto& s = start_target();
  auto& md = start_minidns();
  it::pool_manager pm(md.endpoint());
  const auto dest = s.destination();
  // Polls that cannot succeed get a short budget.
  auto r = run_polls(pm, {{"poll.test.", serial, dest},
                          {"poll.test.", serial - 1, dest},
                          {"wrap.test.", wrapped_serial - 10, dest},
                          {"poll.test.", serial + 1, dest, 2},
                          {"nosuch.test.", serial, dest, 2}});
  ASSERT_EQ(r.size(), 5u);
  expect_status(r[0], "SUCCESS", serial, "matched", "equal serial");
  expect_status(r[1], "SUCCESS", serial, "newer", "newer serial");
  expect_status(r[2], "SUCCESS", wrapped_serial, "newer",
                "newer serial across the wrap");
  expect_status(r[3], "ERROR", serial, "lower serial", "older serial");
  expect_status(r[4], "ERROR", std::nullopt, "rcode REFUSED", "unknown zone");
  // Logged before the reply is sent, but read from minidns's stderr by
  // another thread: give it a moment.
  EXPECT_TRUE(md.wait_for_line("ERROR after 3 attempt(s): lower serial",
                               milliseconds(5000)));
}

TEST_P(Polls, OverIPv6) {
  if (!servers::ipv6_loopback_available())
    GTEST_SKIP() << "no IPv6 on loopback (::1)";
  auto& s = start_target();
  auto& md = start_minidns();
  it::pool_manager pm(md.endpoint());
  const auto dest = s.destination_v6();
  auto r = run_polls(pm, {{"poll.test.", serial, dest},
                          {"poll.test.", serial - 1, dest},
                          {"poll.test.", serial + 1, dest, 2}});
  ASSERT_EQ(r.size(), 3u);
  expect_status(r[0], "SUCCESS", serial, "matched", dest + " equal serial");
  expect_status(r[1], "SUCCESS", serial, "newer", dest + " newer serial");
  expect_status(r[2], "ERROR", serial, "lower serial", dest + " older serial");
}

INSTANTIATE_TEST_SUITE_P(Servers, Polls,
                         ::testing::Values(target::nsd_primary,
                                           target::nsd_secondary,
                                           target::knot_secondary,
                                           target::bind_secondary),
                         param_name);

using Scale = ServerTest;

// 10,000 polls over 1,000 zones served by NSD, sent at once: every poll is
// answered exactly once, with SUCCESS and the zone's serial.
TEST_F(Scale, TenThousandPollsOverAThousandZones) {
  constexpr size_t zones = 1000, polls_per_zone = 10;
  std::map<std::string, uint32_t> served;
  std::vector<std::string> names;
  for (size_t z = 0; z < zones; ++z) {
    names.push_back("z" + std::to_string(z) + ".scale.test.");
    served[names.back()] = static_cast<uint32_t>(1000 + z);
  }
  auto& nsd = start_primary(served);
  auto& md = start_minidns({}, "info");
  it::pool_manager pm(md.endpoint());

  std::vector<poll_case> polls;
  for (size_t k = 0; k < zones * polls_per_zone; ++k) {
    const auto& zone = names[k % zones];
    // Every other poll asks for an older serial than served: "newer".
    uint32_t asked = served[zone] - static_cast<uint32_t>((k / zones) % 2);
    polls.push_back({zone, asked, nsd.destination()});
  }
  auto start = std::chrono::steady_clock::now();
  auto replies = run_polls(pm, polls, milliseconds(120000));
  auto took = std::chrono::duration_cast<milliseconds>(
      std::chrono::steady_clock::now() - start);

  size_t success = 0;
  for (size_t k = 0; k < polls.size(); ++k) {
    const auto& r = replies[k];
    if (r && r->status == "SUCCESS" &&
        r->actual_serial == served[polls[k].zone]) {
      ++success;
      continue;
    }
    if (k - success <= 20) // report the first few only
      ADD_FAILURE() << "poll " << k << " (" << polls[k].zone << " "
                    << polls[k].serial
                    << "): " << (r ? r->status + " " + r->detail : "no reply");
  }
  EXPECT_EQ(success, polls.size());

  // No reply beyond one per poll: minidns counts what it sent, and nothing
  // else arrives once it has flushed everything and exited.
  EXPECT_EQ(md.stop(), 0);
  EXPECT_EQ(summary_count(md, "replies"), polls.size()) << md.log();
  EXPECT_FALSE(pm.receive_raw(milliseconds(200)).has_value());
  auto sent = summary_count(md, "queries sent");
  ASSERT_TRUE(sent.has_value());
  EXPECT_GE(*sent, polls.size());
  std::cout << "[ scale    ] " << polls.size() << " polls in " << took.count()
            << " ms; " << *sent << " queries sent (" << (*sent - polls.size())
            << " resends)\n";
  RecordProperty("milliseconds", static_cast<int>(took.count()));
  RecordProperty("queries_sent", static_cast<int>(*sent));
}

} // namespace
