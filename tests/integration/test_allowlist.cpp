// Integration tests of the allowlist: minidns.allow-destinations keeps
// minidns from being a packet cannon aimed anywhere.
// How these tests work (barriers, no sleeps): fixture.hpp.

#include "fixture.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

namespace {

using namespace minidns;
using namespace minidns::it;

class Allowlist : public daemon_test {};

TEST_F(Allowlist, CastsToOtherDestinationsAreRefusedAndNothingIsSent) {
  responder r; // on 127.0.0.1, inside the list
  // A server outside the list: 127.0.0.9 is loopback too, but not listed.
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(0x7F000009);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)), 0);
  socklen_t len = sizeof(sin);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len);
  auto outside = "127.0.0.9:" + std::to_string(ntohs(sin.sin_port));
  auto cfg = write_config(
      "allowlist",
      "[minidns]\nallow-destinations=[\"127.0.0.1/32\", \"::1\"]\n");
  start({"--config-file=" + cfg});

  auto got = poll_once(*pm, poll_cast("deny.test.", 1, outside, 0.2));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.method, "update_status");
  EXPECT_EQ(got->r.status, "ERROR");
  EXPECT_FALSE(got->r.actual_serial);
  EXPECT_EQ(got->r.error, "destination: " + outside +
                              " is not in minidns.allow-destinations");

  pm->send(notify_cast("deny.test.", outside));
  got = receive(*pm);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->r.method, "error");
  EXPECT_EQ(got->r.error.rfind("destination: ", 0), 0u) << got->r.error;

  // A destination inside the list still works; once its reply is in,
  // anything minidns sent to the outside server would have arrived.
  barrier(r);
  char buf[512];
  EXPECT_LT(::recv(fd, buf, sizeof(buf), 0), 0)
      << "a packet left for " << outside;
  ::close(fd);
}

} // namespace
