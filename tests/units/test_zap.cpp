/// The ZAP handler's decision (ZeroMQ RFC 27), on hand-made requests.

#include "actors/zmq/auth.hpp"

#include <gtest/gtest.h>

using namespace minidns;

namespace {

std::string key(char fill) {
  return std::string(32, fill);
}

std::vector<std::string> request(const std::string& mechanism,
                                 const std::string& credential) {
  std::vector<std::string> r{"1.0",      "req-7",    "minidns",
                             "10.0.0.9", "identity", mechanism};
  if (!credential.empty())
    r.push_back(credential);
  return r;
}

TEST(Zap, AListedKeyIsLetInWithItsZ85AsTheUser) {
  std::unordered_set<std::string> allowed{key('a')};
  auto v = decide_zap(request("CURVE", key('a')), allowed);
  EXPECT_TRUE(v.allowed);
  EXPECT_EQ(v.user, z85_key(key('a').data()));
  EXPECT_EQ(v.user.size(), 40u);
  ASSERT_EQ(v.reply.size(), 6u);
  EXPECT_EQ(v.reply[0], "1.0");
  EXPECT_EQ(v.reply[1], "req-7") << "the request id is echoed";
  EXPECT_EQ(v.reply[2], "200");
  EXPECT_EQ(v.reply[4], v.user);
}

TEST(Zap, AnUnlistedKeyIsRefusedNamingTheFile) {
  std::unordered_set<std::string> allowed{key('a')};
  auto v = decide_zap(request("CURVE", key('b')), allowed);
  EXPECT_FALSE(v.allowed);
  EXPECT_EQ(v.reply.at(2), "400");
  EXPECT_NE(v.why.find("minidns.curve-clients-file"), std::string::npos);
  EXPECT_NE(v.why.find(z85_key(key('b').data())), std::string::npos);
}

TEST(Zap, OtherMechanismsAndMalformedRequestsAreRefused) {
  std::unordered_set<std::string> allowed{key('a')};
  EXPECT_FALSE(decide_zap(request("NULL", ""), allowed).allowed);
  EXPECT_FALSE(decide_zap(request("PLAIN", key('a')), allowed).allowed);
  EXPECT_FALSE(decide_zap(request("CURVE", ""), allowed).allowed);
  EXPECT_FALSE(decide_zap(request("CURVE", "short"), allowed).allowed);
  auto bad_version = request("CURVE", key('a'));
  bad_version[0] = "2.0";
  EXPECT_FALSE(decide_zap(bad_version, allowed).allowed);
  auto v = decide_zap({"1.0"}, allowed);
  EXPECT_FALSE(v.allowed);
  EXPECT_EQ(v.reply.size(), 6u) << "a malformed request still gets a reply";
  EXPECT_EQ(v.reply[2], "400");
}

} // namespace
