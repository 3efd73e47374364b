// Integration tests of poll_for_serial_number, continued from test_poll.cpp:
// the cast's fields echoed byte for byte and at their limits, root and
// escaped names, IPv6 destinations, send failures (no IPv6, ICMP port
// unreachable) and the rate-limited failure log lines.
// How these tests work (barriers, no sleeps): fixture.hpp.

#include "poll_fixture.hpp"

#include <cstdint>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

using namespace minidns;
using namespace minidns::it;

TEST_F(Poll, EchoesContextDomainDestinationAndRequestIdByteForByte) {
  start();
  responder r;
  zone_script s;
  s.serial = 77;
  r.script("echo.test.", s);
  const std::string context =
      mp_map({{"request_id", mp_str("req-0001")},
              {"user", mp_str8("designate")},
              {"list", mp_array({mp_int(1), mp_f32(2.5f), mp_nil, mp_true,
                                 mp_bin(std::string("\x00\xff", 2)),
                                 "\xd4\x05\x2a" /* fixext1 */})}});
  const std::string dom = mp_map_raw({{mp_str("name"), mp_str("Echo.Test")},
                                      {mp_str("id"), mp_str("6a1b")},
                                      {mp_int(5), mp_str("int key")},
                                      {mp_str("serial"), mp_uint(77)},
                                      {mp_str("ratio"), mp_f32(0.25f)}});
  // IPv4-mapped: used as 127.0.0.1, echoed as written.
  const std::string dest = "[::ffff:127.0.0.1]:" + std::to_string(r.port());
  const std::string rid = mp_str8("rid-1");
  auto f = poll_fields(dest);
  f.set("context", context)
      .set("domain", dom)
      .set("destination", mp_str(dest))
      .set("request_id", rid)
      .set("future_key", mp_str("ignored"));
  auto got = poll_once(*pm, f.encode());
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "SUCCESS") << got->json();
  EXPECT_EQ(got->r.actual_serial, 77u);
  EXPECT_EQ(got->r.raw_context, context);
  EXPECT_EQ(got->r.raw_domain, dom);
  EXPECT_EQ(got->r.raw_destination, mp_str(dest));
  EXPECT_EQ(got->r.raw_request_id, rid);
  EXPECT_EQ(reply_keys(got->raw),
            (std::vector<std::string>{"method", "context", "domain",
                                      "destination", "request_id", "status",
                                      "actual_serial", "detail"}))
      << "unknown keys are not echoed; keys in the documented order";
  auto qs = r.queries_for("echo.test.");
  ASSERT_EQ(qs.size(), 1u);
  EXPECT_EQ(qs[0].qname, "Echo.Test.");
}

TEST_F(Poll, ReplyWithoutRequestIdHasSevenKeys) {
  start();
  responder r;
  auto got = poll_once(*pm, poll_cast("plain.test.", 1, r.destination()));
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->r.raw_request_id.empty());
  EXPECT_EQ(
      reply_keys(got->raw),
      (std::vector<std::string>{"method", "context", "domain", "destination",
                                "status", "actual_serial", "detail"}));
  EXPECT_EQ(got->r.raw_context, mp_nil) << "encode_cast sends nil";
}

TEST_F(Poll, Ipv6Destination) {
  if (!responder::ipv6_available())
    GTEST_SKIP() << "::1 cannot be bound here";
  start();
  responder r6(true);
  zone_script s;
  s.serial = 42;
  r6.script("v6.test.", s);
  ASSERT_TRUE(starts_with(r6.destination(), "[::1]:"));
  auto got = poll_once(*pm, poll_cast("v6.test.", 42, r6.destination()));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "SUCCESS") << got->json();
  EXPECT_EQ(got->r.actual_serial, 42u);
  EXPECT_EQ(got->r.raw_destination, mp_str(r6.destination()));
  EXPECT_EQ(r6.count_for("v6.test."), 1u);
}

TEST_F(Poll, BoundaryValuesAreAccepted) {
  start();
  responder r;
  zone_script s;
  s.serial = 4294967295u;
  r.script("bounds.test.", s);
  // The largest values allowed: timeout and retry_interval 3600 s,
  // max_retries 10000, serial 2^32 - 1. Answered at once, so the budget
  // is not used.
  auto f = poll_fields(r.destination(), "bounds.test.", 4294967295u);
  f.set("timeout", mp_int(3600))
      .set("retry_interval", mp_f32(3600.0f))
      .set("max_retries", mp_int(10000));
  auto got = poll_once(*pm, f.encode());
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "SUCCESS") << got->json();
  EXPECT_EQ(got->r.actual_serial, 4294967295u);
  // Ints and float32 are numbers too; a tiny timeout is still valid.
  f = poll_fields(r.destination(), "bounds.test.", 4294967295u);
  f.set("timeout", mp_f32(0.5f)).set("retry_interval", mp_int(0));
  got = poll_once(*pm, f.encode());
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "SUCCESS") << got->json();
  f = poll_fields(r.destination(), "bounds.test.", 4294967295u);
  f.set("timeout", mp_f64(1e-9)).set("retry_interval", mp_f64(1e-9));
  got = poll_once(*pm, f.encode());
  ASSERT_TRUE(got);
  EXPECT_NE(got->r.detail, "invalid cast") << got->json();
  EXPECT_TRUE(got->r.error.empty()) << got->json();
}

TEST_F(Poll, RootZoneAndEscapedNames) {
  start();
  responder r;
  zone_script s;
  s.serial = 3;
  r.script(".", s);
  r.script("a\\.b.test.", s);
  r.script("Abc.test.", s);
  auto got = poll_once(*pm, poll_cast(".", 3, r.destination()));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "SUCCESS") << got->json();
  ASSERT_EQ(r.count_for("."), 1u);
  EXPECT_EQ(r.queries_for(".").at(0).raw.size(), 12u + 1 + 4)
      << "the root is one zero octet";
  // "a\.b" is one label holding a dot; \065 is 'A'.
  got = poll_once(*pm, poll_cast("a\\.b.test.", 3, r.destination()));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "SUCCESS") << got->json();
  EXPECT_EQ(r.count_for("a\\.b.test."), 1u);
  got = poll_once(*pm, poll_cast("\\065bc.test", 3, r.destination()));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "SUCCESS") << got->json();
  ASSERT_EQ(r.count_for("abc.test."), 1u);
  EXPECT_EQ(r.queries_for("abc.test.").at(0).qname, "Abc.test.");
}

TEST_F(Poll, Ipv6DisabledIsASendFailure) {
  // No IPv6 sockets: an IPv6 destination cannot be sent to; nothing goes
  // on the wire at all. (CAF takes bool options on the command line as
  // flags only: "--minidns.ipv6=false" is refused, so a file it is.)
  auto path = write_config("no-ipv6", "[minidns]\nipv6 = false\n");
  start({"--config-file=" + path});
  ::unlink(path.c_str());
  auto got = poll_once(*pm, poll_cast("nov6.test.", 1, "[::1]:9", 0.05, 0, 2));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "ERROR") << got->json();
  EXPECT_EQ(got->r.detail, "address family not supported") << got->json();
  EXPECT_FALSE(got->r.actual_serial);
}

TEST_F(Poll, ClosedPortEndsEachAttemptOnIcmp) {
  start();
  closed_port_fails_fast(false);
}

TEST_F(Poll, ClosedIpv6PortEndsEachAttemptOnIcmp) {
  if (!responder::ipv6_available())
    GTEST_SKIP() << "no ::1 on this machine";
  start();
  closed_port_fails_fast(true);
}

TEST_F(Poll, FailureLinesAreRateLimitedAndCounted) {
  // A dead server fails every poll of its zones: 300 ERRORs within about
  // a second log at most 50 lines a second; the next line, in a later
  // second, says how many were held back.
  start();
  responder r;
  zone_script silent;
  silent.silent = true;
  r.default_script(silent);
  constexpr int n = 300;
  for (int i = 0; i < n; ++i)
    pm->send(poll_cast("dead" + std::to_string(i) + ".test.", 1,
                       r.destination(), 0.05, 0, 0));
  for (int i = 0; i < n; ++i)
    ASSERT_TRUE(receive(*pm)) << "only " << i << " replies";
  // 1.1 s later, in another second: one more line, with the count of
  // what is still held back (nothing, when the 300 straddled two seconds
  // and the first line of the second one carried the count).
  auto got = poll_once(*pm, poll_cast("last.test.", 1, r.destination(), 1.1));
  ASSERT_TRUE(got);
  std::string line;
  ASSERT_TRUE(mdns->wait_for_line("last.test.", reply_wait, &line));
  // Counted now: a request logs its line just after its reply leaves, so
  // right after the 300 replies some lines may not be written yet (a CI
  // run counted 0). The last line comes after all of them.
  auto logged = mdns->count_lines("ERROR after") - 1; // not last.test.'s
  EXPECT_GE(logged, 1u);
  EXPECT_LE(logged, 100u); // the 300 may straddle two seconds
  // Every ERROR is either logged or counted in a later line.
  size_t held_back = 0;
  std::istringstream log{mdns->log()};
  for (std::string l; std::getline(log, l);)
    if (auto at = l.find(" similar line(s) not logged");
        at != std::string::npos)
      held_back += std::stoul(l.substr(l.rfind('(', at) + 1));
  EXPECT_GE(held_back, size_t{n} - 100) << mdns->log();
  EXPECT_EQ(held_back + logged, size_t{n}) << mdns->log();
}

} // namespace

namespace {

using namespace minidns;
using namespace minidns::it;

// `delay` (docs/protocol.md): the first attempt leaves that long after the
// cast was taken; the budget runs as usual from there.
TEST_F(Poll, DelayHoldsTheFirstAttemptBack) {
  start();
  responder r;
  zone_script s;
  s.serial = 5;
  r.script("later.test.", s);
  auto cast = poll_fields(r.destination(), "later.test.", 5)
                  .set("delay", mp_f64(0.4))
                  .encode();
  auto sent = std::chrono::steady_clock::now();
  pm->send(cast);
  auto got = receive(*pm);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "SUCCESS");
  EXPECT_EQ(got->r.actual_serial, 5u);
  auto queries = r.queries_for("later.test.");
  ASSERT_EQ(queries.size(), 1u);
  // The query reached the server no earlier than the delay after the cast
  // left the pool manager (the responder's clock reads it after arrival).
  EXPECT_GE(queries[0].when - sent, 400ms) << "the query left before it";
}

TEST_F(Poll, ABadDelayIsRefusedNamingIt) {
  start();
  responder r;
  auto got = poll_once(*pm, poll_fields(r.destination(), "bad.test.")
                                .set("delay", mp_f64(3601))
                                .encode());
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.error, "delay: must be at most 3600 seconds");
  EXPECT_EQ(r.count(), 0u) << "no query for an invalid cast";
}

} // namespace
