/// The destination allowlist: CIDR parsing and matching.

#include "net/prefix.hpp"

#include <gtest/gtest.h>

using namespace minidns::net;

namespace {

endpoint ep(const std::string& text) {
  std::string err;
  auto e = parse_destination(text, err);
  EXPECT_TRUE(e) << err;
  return e.value_or(endpoint{});
}

ip_prefix pfx(const std::string& text) {
  std::string err;
  auto p = parse_prefix(text, err);
  EXPECT_TRUE(p) << text << ": " << err;
  return p.value_or(ip_prefix{});
}

std::string refusal(const std::string& text) {
  std::string err;
  auto p = parse_prefix(text, err);
  EXPECT_FALSE(p) << text;
  return err;
}

} // namespace

TEST(Prefix, Ipv4Prefixes) {
  auto p = pfx("192.0.2.0/24");
  EXPECT_TRUE(p.contains(ep("192.0.2.0")));
  EXPECT_TRUE(p.contains(ep("192.0.2.255:5353")));
  EXPECT_FALSE(p.contains(ep("192.0.3.0")));
  EXPECT_FALSE(p.contains(ep("[::ffff:192.0.3.1]:53")));
  auto odd = pfx("10.0.0.0/9");
  EXPECT_TRUE(odd.contains(ep("10.127.255.255")));
  EXPECT_FALSE(odd.contains(ep("10.128.0.0")));
}

TEST(Prefix, HostAndZeroLengthPrefixes) {
  EXPECT_TRUE(pfx("127.0.0.1").contains(ep("127.0.0.1:53")));
  EXPECT_FALSE(pfx("127.0.0.1").contains(ep("127.0.0.2")));
  EXPECT_TRUE(pfx("0.0.0.0/0").contains(ep("203.0.113.9")));
  EXPECT_FALSE(pfx("0.0.0.0/0").contains(ep("::1")));
  EXPECT_TRUE(pfx("::/0").contains(ep("[2001:db8::1]:53")));
}

TEST(Prefix, Ipv6Prefixes) {
  auto p = pfx("2001:db8::/32");
  EXPECT_TRUE(p.contains(ep("[2001:db8:ffff::1]:53")));
  EXPECT_FALSE(p.contains(ep("2001:db9::1")));
  EXPECT_FALSE(p.contains(ep("192.0.2.1")));
  EXPECT_TRUE(pfx("::1/128").contains(ep("[::1]:5300")));
  EXPECT_TRUE(pfx("fe80::/10").contains(ep("febf::1")));
  EXPECT_FALSE(pfx("fe80::/10").contains(ep("fec0::1")));
}

TEST(Prefix, MalformedPrefixesAreRefusedWithAReason) {
  EXPECT_NE(refusal("example.com").find("not an IP"), std::string::npos);
  EXPECT_NE(refusal("192.0.2.0/33").find("0..32"), std::string::npos);
  EXPECT_NE(refusal("::/129").find("0..128"), std::string::npos);
  EXPECT_NE(refusal("192.0.2.0/").find("prefix length"), std::string::npos);
  EXPECT_NE(refusal("192.0.2.0/2x").find("prefix length"), std::string::npos);
  EXPECT_NE(refusal("192.0.2.0/-1").find("prefix length"), std::string::npos);
  EXPECT_NE(refusal("192.0.2.1/24").find("host bits"), std::string::npos);
  EXPECT_NE(refusal("2001:db8::1/32").find("host bits"), std::string::npos);
  refusal("");
}

TEST(Prefix, EmptyListAllowsEverythingElseOnlyTheListed) {
  EXPECT_TRUE(prefix_list{}.allows(ep("203.0.113.1")));
  prefix_list list{{pfx("127.0.0.0/8"), pfx("::1")}};
  EXPECT_TRUE(list.allows(ep("127.1.2.3:53")));
  EXPECT_TRUE(list.allows(ep("::1")));
  EXPECT_FALSE(list.allows(ep("192.0.2.1")));
  EXPECT_FALSE(list.allows(ep("::2")));
}
