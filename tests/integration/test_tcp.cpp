// DNS over TCP (RFC 7766) against scripted TCP servers (tcp_responder):
// casts that ask for TCP, the config's TCP destinations, truncated UDP
// answers asked again over TCP, and what a server can do wrong on a
// connection: close it with a query outstanding, send a message with the
// query's ID that is not its answer, or never answer at all. How these
// tests work (barriers, no sleeps): fixture.hpp.

#include "fixture.hpp"
#include "tcp_responder.hpp"

#include <string>

namespace {

using namespace minidns;
using namespace minidns::it;

class Tcp : public daemon_test {};

/// A single-attempt poll with `timeout` seconds and the raw `transport`
/// value (none when empty).
std::string tcp_poll(const std::string& zone, uint32_t serial,
                     const std::string& dest, double timeout = 2.0,
                     uint32_t max_retries = 0,
                     const std::string& transport = "tcp") {
  auto f = poll_fields(dest, zone, serial);
  f.set("timeout", mp_f64(timeout));
  f.set("max_retries", mp_int(max_retries));
  if (!transport.empty())
    f.set("transport", mp_str(transport));
  return f.encode();
}

TEST_F(Tcp, ACastThatAsksForTcpIsAnsweredOverTcp) {
  start();
  tcp_responder server(0, tcp_responder::mode::answer, 9);
  pm->send(tcp_poll("tcp.test.", 9, server.destination()));
  auto got = receive(*pm);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "SUCCESS") << got->json();
  EXPECT_EQ(got->r.actual_serial, 9u);
  EXPECT_EQ(server.queries(), 1u) << "no UDP listens there: TCP answered";
  EXPECT_EQ(metric("minidns_dns_tcp_queries_total"), 1);
}

TEST_F(Tcp, TcpDestinationsAreAskedOverTcpUnlessTheCastSaysUdp) {
  start({"--minidns.tcp-destinations=[\"127.0.0.0/8\"]"});
  tcp_responder server(0, tcp_responder::mode::answer, 4);
  pm->send(tcp_poll("default.test.", 4, server.destination(), 2.0, 0, ""));
  auto got = receive(*pm);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "SUCCESS") << got->json();
  EXPECT_EQ(server.queries(), 1u);
  // The cast's own transport wins: UDP to a port where only TCP listens.
  pm->send(tcp_poll("udp.test.", 4, server.destination(), 0.5, 0, "udp"));
  got = receive(*pm);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "ERROR") << got->json();
  EXPECT_EQ(got->r.detail, "port unreachable") << got->json();
  EXPECT_EQ(server.queries(), 1u);
}

TEST_F(Tcp, TruncatedUdpAnswerIsAskedAgainOverTcpOnce) {
  start();
  responder udp;
  zone_script s;
  s.tc = true;
  s.serial = 5;
  udp.script("tc.test.", s);
  tcp_responder server(udp.port(), tcp_responder::mode::answer, 5);
  pm->send(tcp_poll("tc.test.", 5, udp.destination(), 2.0, 0, ""));
  auto got = receive(*pm);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "SUCCESS") << got->json();
  EXPECT_EQ(got->r.actual_serial, 5u);
  barrier(udp);
  EXPECT_EQ(udp.count_for("tc.test."), 1u);
  EXPECT_EQ(server.queries(), 1u);
}

TEST_F(Tcp, AServerThatClosesWithAQueryOutstandingIsAskedAgainOnce) {
  start();
  tcp_responder server(0, tcp_responder::mode::close_first, 3);
  pm->send(tcp_poll("closed.test.", 3, server.destination()));
  auto got = receive(*pm);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "SUCCESS")
      << got->json() << ": one attempt, asked again on a new connection";
  EXPECT_EQ(server.connections(), 2u);
  EXPECT_EQ(server.queries(), 2u);
}

TEST_F(Tcp, AMessageWithTheQueryIdThatIsNoAnswerDoesNotTakeItsPlace) {
  start();
  tcp_responder server(0, tcp_responder::mode::garbage_first, 6);
  pm->send(tcp_poll("garbage.test.", 6, server.destination()));
  auto got = receive(*pm);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "SUCCESS") << got->json();
  EXPECT_EQ(got->r.actual_serial, 6u);
  EXPECT_TRUE(wait_for_metric(
      "minidns_dns_replies_dropped_total{reason=\"mismatched\"}", 1));
}

TEST_F(Tcp, ASilentServerTimesOutAndItsConnectionsClose) {
  // Idle connections would close after a minute: these close because the
  // server never said a word.
  start({"--minidns.tcp-idle-timeout=60s"});
  tcp_responder server(0, tcp_responder::mode::silent);
  pm->send(tcp_poll("silent.test.", 1, server.destination(), 0.3, 1));
  auto got = receive(*pm);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.status, "ERROR") << got->json();
  EXPECT_EQ(got->r.detail, "timeout") << got->json();
  EXPECT_EQ(server.queries(), 2u);
  // The second attempt did not queue behind the first on its connection.
  EXPECT_EQ(server.connections(), 2u);
  EXPECT_TRUE(wait_for_metric("minidns_dns_tcp_connections", 0, 3000ms));
}

} // namespace
