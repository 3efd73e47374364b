#pragma once
/// The Poll fixture, shared by test_poll.cpp and test_poll_casts.cpp. gtest
/// needs one fixture class for all the tests of a suite, so it lives here
/// in a named namespace rather than in each file's anonymous one.

#include "fixture.hpp"

#include <cstdint>
#include <string>

namespace minidns::it {

class Poll : public daemon_test {
protected:
  /// Polls a port nobody listens on, with 5 s timeouts and two retries, and
  /// checks that ICMP port unreachable ended each attempt early: the ERROR
  /// comes long before the 15 s that three timeouts would take, and the
  /// daemon counted three ICMP errors.
  void closed_port_fails_fast(bool ipv6);
};

inline void Poll::closed_port_fails_fast(bool ipv6) {
  uint16_t closed;
  {
    responder gone(ipv6);
    closed = gone.port();
  } // closed: queries to it get ICMP port unreachable
  auto dest = (ipv6 ? "[::1]:" : "127.0.0.1:") + std::to_string(closed);
  auto t0 = clock_type::now();
  auto got = poll_once(*pm, poll_cast("closed.test.", 1, dest, 5.0, 0, 2));
  auto took = clock_type::now() - t0;
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "ERROR") << got->json();
  EXPECT_EQ(got->r.detail, "port unreachable") << got->json();
  EXPECT_LT(took, 2500ms);
  responder r;
  EXPECT_TRUE(barrier(r).empty());
  EXPECT_TRUE(
      wait_for_metric("minidns_dns_icmp_errors_total{matched=\"true\"}", 3));
  EXPECT_EQ(metric("minidns_dns_icmp_errors_total{matched=\"false\"}"), 0);
}

} // namespace minidns::it
