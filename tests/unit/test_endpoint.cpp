#include "net/endpoint.hpp"

#include <arpa/inet.h>
#include <cstring>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>

namespace {

using minidns::net::endpoint;
using minidns::net::parse_destination;

endpoint parse_ok(const std::string& text) {
  std::string error;
  const auto ep = parse_destination(text, error);
  EXPECT_TRUE(ep.has_value()) << text << ": " << error;
  return ep.value_or(endpoint{});
}

std::string parse_error(const std::string& text) {
  std::string error;
  const auto ep = parse_destination(text, error);
  EXPECT_FALSE(ep.has_value()) << text << " parsed as " << ep->to_string();
  EXPECT_FALSE(error.empty()) << text;
  return error;
}

endpoint v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port) {
  endpoint ep;
  ep.addr[0] = a;
  ep.addr[1] = b;
  ep.addr[2] = c;
  ep.addr[3] = d;
  ep.port = port;
  return ep;
}

endpoint v6(const char* literal, uint16_t port) {
  endpoint ep;
  ep.v6 = true;
  EXPECT_EQ(inet_pton(AF_INET6, literal, ep.addr.data()), 1) << literal;
  ep.port = port;
  return ep;
}

TEST(Endpoint, Ipv4DefaultsToPort53) {
  EXPECT_EQ(parse_ok("192.0.2.1"), v4(192, 0, 2, 1, 53));
}

TEST(Endpoint, Ipv4WithPort) {
  EXPECT_EQ(parse_ok("192.0.2.1:5353"), v4(192, 0, 2, 1, 5353));
  EXPECT_EQ(parse_ok("10.0.0.1:1"), v4(10, 0, 0, 1, 1));
  EXPECT_EQ(parse_ok("10.0.0.1:65535"), v4(10, 0, 0, 1, 65535));
  EXPECT_EQ(parse_ok("0.0.0.0:53"), v4(0, 0, 0, 0, 53));
  EXPECT_EQ(parse_ok("255.255.255.255"), v4(255, 255, 255, 255, 53));
}

TEST(Endpoint, BareIpv6HasNoPort) {
  EXPECT_EQ(parse_ok("::1"), v6("::1", 53));
  EXPECT_EQ(parse_ok("2001:db8::1"), v6("2001:db8::1", 53));
  // Looks like "::1" port 53, but a bare IPv6 address never has a port.
  EXPECT_EQ(parse_ok("::1:53"), v6("::1:53", 53));
  EXPECT_EQ(parse_ok("::"), v6("::", 53));
}

TEST(Endpoint, BracketedIpv6) {
  EXPECT_EQ(parse_ok("[::1]"), v6("::1", 53));
  EXPECT_EQ(parse_ok("[::1]:5353"), v6("::1", 5353));
  EXPECT_EQ(parse_ok("[2001:db8::1]:53"), v6("2001:db8::1", 53));
  EXPECT_EQ(parse_ok("[2001:DB8::A]:53"), v6("2001:db8::a", 53));
}

TEST(Endpoint, FullLengthIpv6) {
  const char* full = "2001:0db8:0000:0000:0000:ff00:0042:8329";
  const endpoint expected = v6("2001:db8::ff00:42:8329", 53);
  EXPECT_EQ(parse_ok(full), expected);
  EXPECT_EQ(parse_ok(std::string("[") + full + "]:53"), expected);
  EXPECT_EQ(parse_ok("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"),
            v6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535));
}

TEST(Endpoint, V4MappedNormalisesToIpv4) {
  EXPECT_EQ(parse_ok("::ffff:192.0.2.7"), v4(192, 0, 2, 7, 53));
  EXPECT_EQ(parse_ok("[::ffff:192.0.2.7]:8053"), v4(192, 0, 2, 7, 8053));
  EXPECT_EQ(parse_ok("::ffff:c000:0207"), v4(192, 0, 2, 7, 53));
  // Not mapped: IPv4-compatible (deprecated) and NAT64 stay IPv6.
  EXPECT_TRUE(parse_ok("::192.0.2.7").v6);
  EXPECT_TRUE(parse_ok("64:ff9b::192.0.2.7").v6);
}

TEST(Endpoint, ToString) {
  EXPECT_EQ(parse_ok("192.0.2.1").to_string(), "192.0.2.1:53");
  EXPECT_EQ(parse_ok("[2001:db8::1]:5353").to_string(), "[2001:db8::1]:5353");
  EXPECT_EQ(parse_ok("::ffff:1.2.3.4").to_string(), "1.2.3.4:53");
}

TEST(Endpoint, ToStringParsesBack) {
  for (const char* text :
       {"192.0.2.1:53", "[::1]:5353", "[2001:db8::ff00:42:8329]:1",
        "127.0.0.1:65535", "[fe80::1]:53"}) {
    const endpoint ep = parse_ok(text);
    EXPECT_EQ(ep.to_string(), text);
    EXPECT_EQ(parse_ok(ep.to_string()), ep);
  }
}

TEST(Endpoint, RejectsEmptyAndWhitespace) {
  EXPECT_NE(parse_error("").find("empty"), std::string::npos);
  for (const char* text : {" ", " 1.2.3.4", "1.2.3.4 ", "1.2.3.4: 53",
                           "1.2.3.4:53\n", "[::1] :53", "\t::1"})
    EXPECT_NE(parse_error(text).find("whitespace"), std::string::npos) << text;
}

TEST(Endpoint, RejectsHostNames) {
  EXPECT_EQ(parse_error("foo.example"), "not an IP literal: 'foo.example'");
  EXPECT_EQ(parse_error("localhost:53"), "not an IP literal: 'localhost'");
  parse_error("[localhost]:53");
  parse_error("ns1");
}

TEST(Endpoint, RejectsMalformedIpv4) {
  for (const char* text :
       {"1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.-4", "1..2.3", "01.2.3.4",
        "0x7f.0.0.1", "1.2.3.4.", "127.1"})
    parse_error(text);
}

TEST(Endpoint, RejectsMalformedIpv6) {
  for (const char* text : {":::1", "1:2:3:4:5:6:7:8:9", "2001:db8::g",
                           "[2001:db8:::1]", "[12345::1]:53", ":1"})
    parse_error(text);
}

TEST(Endpoint, RejectsPortOutOfRange) {
  for (const char* text : {"1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:99999",
                           "[::1]:0", "[::1]:70000"})
    EXPECT_NE(parse_error(text).find("port out of range 1..65535"),
              std::string::npos)
        << text;
}

TEST(Endpoint, RejectsOverlongPortWithoutOverflow) {
  // 2^32 + 53 would wrap to 53 in a careless 32-bit parser.
  for (const char* text :
       {"1.2.3.4:4294967349", "1.2.3.4:000053", "[::1]:18446744073709551669"})
    EXPECT_NE(parse_error(text).find("port out of range"), std::string::npos)
        << text;
}

TEST(Endpoint, RejectsNonNumericPorts) {
  for (const char* text :
       {"1.2.3.4:+53", "1.2.3.4:-53", "1.2.3.4:5x", "1.2.3.4:0x35", "[::1]:dns",
        "[::1]:+1", "1.2.3.4:5.3"})
    EXPECT_NE(parse_error(text).find("not a decimal number"), std::string::npos)
        << text;
}

TEST(Endpoint, RejectsEmptyPort) {
  EXPECT_NE(parse_error("1.2.3.4:").find("missing port"), std::string::npos);
  EXPECT_NE(parse_error("[::1]:").find("missing port"), std::string::npos);
}

TEST(Endpoint, RejectsScopeIds) {
  EXPECT_NE(parse_error("fe80::1%eth0").find("scope"), std::string::npos);
  EXPECT_NE(parse_error("[fe80::1%eth0]:53").find("scope"), std::string::npos);
  EXPECT_NE(parse_error("fe80::1%1").find("scope"), std::string::npos);
}

TEST(Endpoint, RejectsBracketedIpv4) {
  EXPECT_NE(parse_error("[1.2.3.4]").find("only for IPv6"), std::string::npos);
  EXPECT_NE(parse_error("[1.2.3.4]:53").find("only for IPv6"),
            std::string::npos);
}

TEST(Endpoint, RejectsBadBrackets) {
  EXPECT_NE(parse_error("[::1").find("missing ']'"), std::string::npos);
  EXPECT_NE(parse_error("[::1:53").find("missing ']'"), std::string::npos);
  parse_error("[]");
  parse_error("[]:53");
  parse_error("::1]");
  parse_error("::1]:53");
  parse_error("[::1]53");
  parse_error("[::1]]:53");
  parse_error("[[::1]]:53");
  parse_error("[::1]:53:53");
  parse_error(":53");
  parse_error("1.2.3.4:53:53");
}

TEST(Endpoint, RejectsEmbeddedNulAndControlBytes) {
  // inet_pton stops at a NUL: these must not parse as their prefix.
  parse_error(std::string("1.2.3.4\0", 8));
  parse_error(std::string("1.2.3.4\0:53", 11));
  parse_error(std::string("::1\0", 4));
  parse_error(std::string("[::1\0]:53", 9));
  parse_error("1.2.3.4\x7f");
  parse_error("1.2.3.4:5\xc3\xa9");
}

TEST(Endpoint, SockaddrRoundTripIpv4) {
  const endpoint ep = parse_ok("192.0.2.9:5300");
  sockaddr_storage ss;
  const unsigned len = ep.to_sockaddr(ss);
  ASSERT_EQ(len, sizeof(sockaddr_in));
  const auto* sin = reinterpret_cast<const sockaddr_in*>(&ss);
  EXPECT_EQ(sin->sin_family, AF_INET);
  EXPECT_EQ(ntohs(sin->sin_port), 5300);
  char buf[INET_ADDRSTRLEN];
  ASSERT_NE(inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf), nullptr);
  EXPECT_STREQ(buf, "192.0.2.9");
  const auto back =
      endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), len);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, ep);
}

TEST(Endpoint, SockaddrRoundTripIpv6) {
  const endpoint ep = parse_ok("[2001:db8::53]:853");
  sockaddr_storage ss;
  const unsigned len = ep.to_sockaddr(ss);
  ASSERT_EQ(len, sizeof(sockaddr_in6));
  const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&ss);
  EXPECT_EQ(sin6->sin6_family, AF_INET6);
  EXPECT_EQ(ntohs(sin6->sin6_port), 853);
  EXPECT_EQ(sin6->sin6_scope_id, 0u);
  char buf[INET6_ADDRSTRLEN];
  ASSERT_NE(inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof buf), nullptr);
  EXPECT_STREQ(buf, "2001:db8::53");
  const auto back =
      endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), len);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, ep);
}

TEST(Endpoint, FromSockaddrMapsV4MappedToIpv4) {
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(53);
  ASSERT_EQ(inet_pton(AF_INET6, "::ffff:198.51.100.4", &sin6.sin6_addr), 1);
  const auto ep = endpoint::from_sockaddr(
      reinterpret_cast<const sockaddr*>(&sin6), sizeof sin6);
  ASSERT_TRUE(ep);
  EXPECT_EQ(*ep, v4(198, 51, 100, 4, 53));
}

TEST(Endpoint, FromSockaddrRejectsOtherFamiliesAndShortLengths) {
  sockaddr_storage ss{};
  ss.ss_family = AF_UNIX;
  EXPECT_FALSE(endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&ss),
                                       sizeof ss));
  EXPECT_FALSE(endpoint::from_sockaddr(nullptr, 0));

  const endpoint ep4 = parse_ok("1.2.3.4");
  ep4.to_sockaddr(ss);
  EXPECT_FALSE(endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&ss),
                                       sizeof(sockaddr_in) - 1));
  const endpoint ep6 = parse_ok("::1");
  ep6.to_sockaddr(ss);
  EXPECT_FALSE(endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&ss),
                                       sizeof(sockaddr_in6) - 1));
}

TEST(Endpoint, EqualityComparesAllFields) {
  EXPECT_EQ(parse_ok("1.2.3.4:53"), parse_ok("1.2.3.4"));
  EXPECT_NE(parse_ok("1.2.3.4:53"), parse_ok("1.2.3.4:54"));
  EXPECT_NE(parse_ok("1.2.3.4"), parse_ok("1.2.3.5"));
  // 102:304:: is IPv6 with the same first four address bytes as IPv4
  // 1.2.3.4; the family must tell them apart.
  EXPECT_NE(parse_ok("102:304::"), parse_ok("1.2.3.4"));
}

} // namespace
